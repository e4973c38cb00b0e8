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
#include "bg_inbound.h"
#include "bg_policy.h"

#define D 86400LL

static const char conf[] =
    "suppress_soft_threshold = 5\n"
    "suppress_expire_address = 90d\n"
    "suppress_exempt = postmaster@*, vip@example.net, .partner.example\n"
    "suppress.content-rejected = address\n"
    "suppress.suppressed-here = address\n"
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
        /* issue 12 (3): our own refusal never changes a row, whatever is set */
        {"suppressed-here default", NULL, "a.example", "suppressed-here", BG_SUP_NONE, 0, BG_SUP_NONE, 3, 7 * D, 0},
        {"suppressed-here forced", conf, "other.example", "suppressed-here", BG_SUP_ADDRESS, 0, BG_SUP_NONE, 5, 7 * D, 0},
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
    assert_int_equal(bg_policy_change_retention(p), BG_POLICY_CHANGE_RETENTION);
    assert_int_equal(bg_policy_enabled(p, "quiet.example"), 0);
    assert_int_equal(bg_policy_enabled(p, "example.com"), 1);
    bg_policy_free(p);
    bg_config_free(c);

    static const char g[] = "suppress_db = /tmp/x.db\nsuppress_timeout_ms = 5\nsuppress_event_retention = 2d\n"
                            "suppress_change_retention = 0\n";
    c = bg_config_parse(g, strlen(g), "g", err, sizeof err);
    p = bg_policy_new(c);
    assert_string_equal(bg_policy_db_path(p), "/tmp/x.db");
    assert_int_equal(bg_policy_timeout_ms(p), 10);
    assert_int_equal(bg_policy_event_retention(p), 2 * D);
    assert_int_equal(bg_policy_change_retention(p), 0); /* keep every change */
    bg_policy_free(p);
    bg_config_free(c);
}

/* The inbound limits (issue 12, 1): what a report from another server may
 * still do after the policy, by how well its host speaks for the domain. */
static void inbound_limits(void **state)
{
    (void)state;
    static const struct {
        bg_suppress asked;
        bg_speaks speaks;
        bg_suppress got;
    } t[] = {
        {BG_SUP_ADDRESS, BG_SPEAKS_YES, BG_SUP_ADDRESS},
        {BG_SUP_DOMAIN, BG_SPEAKS_YES, BG_SUP_ADDRESS},    /* never a whole domain */
        {BG_SUP_COUNT, BG_SPEAKS_YES, BG_SUP_COUNT},
        {BG_SUP_NONE, BG_SPEAKS_YES, BG_SUP_NONE},
        {BG_SUP_ADDRESS, BG_SPEAKS_UNKNOWN, BG_SUP_COUNT}, /* soft unless proven */
        {BG_SUP_DOMAIN, BG_SPEAKS_UNKNOWN, BG_SUP_COUNT},
        {BG_SUP_COUNT, BG_SPEAKS_UNKNOWN, BG_SUP_COUNT},
        {BG_SUP_ADDRESS, BG_SPEAKS_NO, BG_SUP_NONE},
        {BG_SUP_DOMAIN, BG_SPEAKS_NO, BG_SUP_NONE},
        {BG_SUP_COUNT, BG_SPEAKS_NO, BG_SUP_NONE},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        bg_store_rule r = {t[i].asked, 3, 7 * D, 30 * D};
        bg_inbound_limit_rule(&r, t[i].speaks);
        if (r.mode != t[i].got)
            fail_msg("row %zu: %s/%s gave %s", i, bg_suppress_name(t[i].asked),
                     bg_speaks_name(t[i].speaks), bg_suppress_name(r.mode));
    }
}

/* Does the reporting host speak for the recipient's domain? Against a zone
 * resolver: MX hosts, implicit MX, SPF, the host that accepted our
 * delivery, and DNS that cannot tell. */
static void inbound_speaks(void **state)
{
    (void)state;
    bg_dns *d = bg_dns_new_zone();
    assert_non_null(d);
    assert_int_equal(bg_dns_add(d, "example.net", "MX", "mx1.example.net"), 0);
    assert_int_equal(bg_dns_add(d, "example.net", "MX", "mx2.example.net"), 0);
    assert_int_equal(bg_dns_add(d, "mx1.example.net", "A", "192.0.2.25"), 0);
    assert_int_equal(bg_dns_add(d, "mx2.example.net", "A", "192.0.2.26"), 0);
    assert_int_equal(bg_dns_add(d, "example.net", "TXT", "v=spf1 ip4:198.51.100.0/28 ip4:127.0.0.9 -all"), 0);
    assert_int_equal(bg_dns_add(d, "nomx.example", "A", "203.0.113.7"), 0);
    assert_int_equal(bg_dns_add(d, "nomx.example", "TXT", "v=spf1 -all"), 0);
    static const struct {
        const char *ip, *domain, *delivered_to;
        bg_speaks want;
    } t[] = {
        {"192.0.2.25", "example.net", "", BG_SPEAKS_YES},       /* an MX host */
        {"192.0.2.26", "example.net", "", BG_SPEAKS_YES},
        {"198.51.100.9", "example.net", "", BG_SPEAKS_YES},     /* its SPF */
        {"198.51.100.99", "example.net", "", BG_SPEAKS_NO},     /* a stranger */
        {"203.0.113.50", "example.net", "203.0.113.50", BG_SPEAKS_YES}, /* accepted our delivery */
        {"::ffff:203.0.113.50", "example.net", "203.0.113.50", BG_SPEAKS_YES},
        {"203.0.113.7", "nomx.example", "", BG_SPEAKS_YES},     /* implicit MX */
        {"203.0.113.8", "nomx.example", "", BG_SPEAKS_NO},
        {"not-an-ip", "example.net", "", BG_SPEAKS_NO},
        {"192.0.2.25", "", "", BG_SPEAKS_NO},
        /* libspf2 passes any loopback client: SPF is not asked for those */
        {"127.0.0.9", "example.net", "", BG_SPEAKS_NO},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char why[300];
        bg_dns_start(d, 1000);
        bg_speaks s = bg_inbound_speaks_for(d, t[i].ip, t[i].domain, t[i].delivered_to, why, sizeof why);
        if (s != t[i].want)
            fail_msg("row %zu (%s for %s): %s, want %s (%s)", i, t[i].ip, t[i].domain,
                     bg_speaks_name(s), bg_speaks_name(t[i].want), why);
    }
    /* DNS that cannot tell (budget spent) never says yes */
    bg_dns_set_zone_latency(d, 400);
    bg_dns_flush(d);
    bg_dns_start(d, 300);
    assert_int_equal(bg_inbound_speaks_for(d, "192.0.2.25", "example.net", "", NULL, 0), BG_SPEAKS_UNKNOWN);
    /* without DNS only the delivery host proves anything */
    assert_int_equal(bg_inbound_speaks_for(NULL, "192.0.2.25", "example.net", "", NULL, 0), BG_SPEAKS_UNKNOWN);
    assert_int_equal(bg_inbound_speaks_for(NULL, "192.0.2.25", "example.net", "192.0.2.25", NULL, 0),
                     BG_SPEAKS_YES);
    assert_true(bg_inbound_same_ip("2001:db8::1", "2001:DB8:0::1"));
    assert_false(bg_inbound_same_ip("192.0.2.1", "192.0.2.10"));
    bg_dns_free(d);
}

/* The key table's defaults are the ones the policy uses (one config, one
 * meaning: a missing file means the table's defaults everywhere). */
static void table_defaults(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        long long value;
    } t[] = {
        {"suppress_soft_threshold", BG_POLICY_SOFT_THRESHOLD},
        {"suppress_soft_window", BG_POLICY_SOFT_WINDOW},
        {"suppress_expire_address", BG_POLICY_EXPIRE_ADDRESS},
        {"suppress_expire_domain", BG_POLICY_EXPIRE_DOMAIN},
        {"suppress_expire_soft", BG_POLICY_EXPIRE_SOFT},
        {"suppress_event_retention", BG_POLICY_EVENT_RETENTION},
        {"suppress_change_retention", BG_POLICY_CHANGE_RETENTION},
        {"suppress_timeout_ms", BG_STORE_DEFAULT_TIMEOUT_MS},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const bg_config_key *k = bg_config_keys_find(t[i].key);
        assert_non_null(k);
        long long v = -1;
        assert_int_equal(bg_config_parse_num(k->dflt, &v), 0);
        if (v != t[i].value)
            fail_msg("%s: table default %s, policy %lld", t[i].key, k->dflt, t[i].value);
    }
    assert_string_equal(bg_config_keys_find("suppress_db")->dflt, BG_STORE_DEFAULT_PATH);
    assert_string_equal(bg_config_keys_find("suppress")->dflt, "yes");
    /* and the policy with no config at all gives them */
    bg_policy *p = bg_policy_new(NULL);
    assert_int_equal(bg_policy_enabled(p, "a.example"), 1);
    assert_string_equal(bg_policy_db_path(p), BG_STORE_DEFAULT_PATH);
    bg_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_table),
        cmocka_unit_test(exempt_table),
        cmocka_unit_test(inbound_limits),
        cmocka_unit_test(inbound_speaks),
        cmocka_unit_test(table_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
