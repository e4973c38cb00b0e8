/* Unit tests: bg_policy -- table-driven: config text, sending domain,
 * category, classifier decision, temporary flag -> mode, threshold, window,
 * expiry; and the exempt lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bg_config.h"
#include "bg_policy.h"

#define D 86400LL

static const char conf[] =
    "suppress_soft_threshold = 5\n"
    "suppress_expire_address = 90d\n"
    "suppress_exempt = postmaster@*, vip@example.net, .partner.example\n"
    "suppress.content-rejected = address\n"
    "[domain example.com]\n"
    "suppress.mailbox-full = none\n"
    "suppress_soft_window = 2d\n"
    "suppress_expire_address = 0\n"
    "suppress_exempt = friend.example\n"
    "[domain quiet.example]\n"
    "suppress = no\n"
    "[domain .lists.example]\n"
    "suppress.unknown-domain = address\n"
    "suppress_soft_threshold = 0\n";

static void rules_table(void **state)
{
    (void)state;
    static const struct {
        const char *label, *conf, *domain, *category;
        bg_suppress base;
        int temporary;
        bg_suppress mode;
        int threshold;
        long long window, expires;
    } t[] = {
        /* defaults, no config at all */
        {"default address", NULL, "a.example", "unknown-user", BG_SUP_ADDRESS, 0, BG_SUP_ADDRESS, 3, 7 * D, 365 * D},
        {"default domain", NULL, "a.example", "unknown-domain", BG_SUP_DOMAIN, 0, BG_SUP_DOMAIN, 3, 7 * D, 30 * D},
        {"default count", NULL, "a.example", "mailbox-full", BG_SUP_COUNT, 1, BG_SUP_COUNT, 3, 7 * D, 30 * D},
        {"default none", NULL, "a.example", "spf-failure", BG_SUP_NONE, 0, BG_SUP_NONE, 3, 7 * D, 0},
        {"4xx never hard", NULL, "a.example", "unknown-user", BG_SUP_ADDRESS, 1, BG_SUP_COUNT, 3, 7 * D, 30 * D},
        {"4xx domain -> count", NULL, "a.example", "unknown-domain", BG_SUP_DOMAIN, 1, BG_SUP_COUNT, 3, 7 * D, 30 * D},
        /* global overrides */
        {"global threshold", conf, "other.example", "mailbox-full", BG_SUP_COUNT, 1, BG_SUP_COUNT, 5, 7 * D, 30 * D},
        {"global expiry", conf, "other.example", "unknown-user", BG_SUP_ADDRESS, 0, BG_SUP_ADDRESS, 5, 7 * D, 90 * D},
        {"global category", conf, "other.example", "content-rejected", BG_SUP_NONE, 0, BG_SUP_ADDRESS, 5, 7 * D, 90 * D},
        {"category override still 4xx-capped", conf, "other.example", "content-rejected", BG_SUP_NONE, 1, BG_SUP_COUNT, 5, 7 * D, 30 * D},
        /* domain section */
        {"domain: mailbox-full off", conf, "example.com", "mailbox-full", BG_SUP_COUNT, 1, BG_SUP_NONE, 5, 2 * D, 0},
        {"domain: never expires", conf, "example.com", "unknown-user", BG_SUP_ADDRESS, 0, BG_SUP_ADDRESS, 5, 2 * D, 0},
        {"domain: case-insensitive", conf, "EXAMPLE.COM", "mailbox-full", BG_SUP_COUNT, 1, BG_SUP_NONE, 5, 2 * D, 0},
        {"subdomain not in exact section", conf, "sub.example.com", "mailbox-full", BG_SUP_COUNT, 1, BG_SUP_COUNT, 5, 7 * D, 30 * D},
        {"suppress = no", conf, "quiet.example", "unknown-user", BG_SUP_ADDRESS, 0, BG_SUP_NONE, 5, 7 * D, 0},
        {"dot section: subdomain", conf, "a.lists.example", "unknown-domain", BG_SUP_DOMAIN, 0, BG_SUP_ADDRESS, 1, 7 * D, 90 * D},
        {"dot section: itself", conf, "lists.example", "unknown-domain", BG_SUP_DOMAIN, 0, BG_SUP_ADDRESS, 1, 7 * D, 90 * D},
        {NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0},
    };
    for (int i = 0; t[i].label; i++) {
        bg_config *c = NULL;
        if (t[i].conf) {
            char err[200];
            c = bg_config_parse(t[i].conf, strlen(t[i].conf), "t", err, sizeof err);
            assert_non_null(c);
        }
        bg_policy *p = bg_policy_new(c);
        assert_non_null(p);
        bg_store_rule r;
        bg_policy_rule(p, t[i].domain, t[i].category, t[i].base, t[i].temporary, &r);
        if (r.mode != t[i].mode || r.soft_threshold != t[i].threshold ||
            r.soft_window != t[i].window || r.expires_after != t[i].expires)
            fail_msg("%s: mode %d threshold %d window %lld expires %lld", t[i].label, r.mode,
                     r.soft_threshold, r.soft_window, r.expires_after);
        bg_policy_free(p);
        bg_config_free(c);
    }
    bg_policy_free(NULL);
}

static void exempt_table(void **state)
{
    (void)state;
    char err[200];
    bg_config *c = bg_config_parse(conf, strlen(conf), "t", err, sizeof err);
    assert_non_null(c);
    bg_policy *p = bg_policy_new(c);
    static const struct {
        const char *domain, *rcpt;
        int want;
    } t[] = {
        {"other.example", "postmaster@anything.example", 1},
        {"other.example", "Postmaster@Anything.example", 1},
        {"other.example", "postmasterx@anything.example", 0},
        {"other.example", "vip@example.net", 1},
        {"other.example", "vip2@example.net", 0},
        {"other.example", "x@partner.example", 1},
        {"other.example", "x@mx.partner.example", 1},
        {"other.example", "x@notpartner.example", 0},
        {"other.example", "x@friend.example", 0},
        {"example.com", "x@friend.example", 1},       /* the section's own list ... */
        {"example.com", "vip@example.net", 0},        /* ... replaces the global one */
        {"other.example", "", 0},
        {NULL, NULL, 0},
    };
    for (int i = 0; t[i].domain; i++)
        if (bg_policy_exempt(p, t[i].domain, t[i].rcpt) != t[i].want)
            fail_msg("exempt %s for %s: want %d", t[i].rcpt, t[i].domain, t[i].want);
    assert_string_equal(bg_policy_db_path(p), BG_STORE_DEFAULT_PATH);
    assert_int_equal(bg_policy_timeout_ms(p), BG_STORE_DEFAULT_TIMEOUT_MS);
    assert_int_equal(bg_policy_event_retention(p), BG_POLICY_EVENT_RETENTION);
    assert_int_equal(bg_policy_enabled(p, "quiet.example"), 0);
    assert_int_equal(bg_policy_enabled(p, "example.com"), 1);
    bg_policy_free(p);
    bg_config_free(c);

    static const char g[] = "suppress_db = /tmp/x.db\nsuppress_timeout_ms = 5\nsuppress_event_retention = 2d\n";
    c = bg_config_parse(g, strlen(g), "g", err, sizeof err);
    p = bg_policy_new(c);
    assert_string_equal(bg_policy_db_path(p), "/tmp/x.db");
    assert_int_equal(bg_policy_timeout_ms(p), 10);
    assert_int_equal(bg_policy_event_retention(p), 2 * D);
    bg_policy_free(p);
    bg_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_table),
        cmocka_unit_test(exempt_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
