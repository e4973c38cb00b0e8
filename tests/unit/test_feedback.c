/* Unit tests: bg_feedback (complaints and unsubscribe requests into the
 * store) and bg_store_sent, against a real SQLite file and a zone
 * resolver -- the SPF path, which the e2e sandbox cannot reach (libspf2
 * passes every loopback client), is proven here.
 *
 * The world: example.com sends; example.net's MX is 192.0.2.25 and its
 * SPF allows 198.51.100.0/28; other.example's MX is 203.0.113.66. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bg_bounce_read.h"
#include "bg_config.h"
#include "bg_feedback.h"
#include "bg_policy.h"
#include "bg_store.h"
#include "bg_store_sent.h"

typedef struct fx {
    char dir[64];
    char path[128];
    bg_store *s;
    bg_dns *dns;
    bg_config *cfg;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bg_feedback_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    chmod(f->dir, 0755);
    snprintf(f->path, sizeof f->path, "%s/suppression.db", f->dir);
    bg_store_status st;
    char err[200];
    f->s = bg_store_open(f->path, 500, BG_STORE_CREATE, &st, err, sizeof err);
    assert_non_null(f->s);
    f->dns = bg_dns_new_zone();
    assert_non_null(f->dns);
    assert_int_equal(bg_dns_add(f->dns, "example.net", "MX", "mx1.example.net"), 0);
    assert_int_equal(bg_dns_add(f->dns, "mx1.example.net", "A", "192.0.2.25"), 0);
    assert_int_equal(bg_dns_add(f->dns, "example.net", "TXT", "v=spf1 ip4:198.51.100.0/28 -all"), 0);
    assert_int_equal(bg_dns_add(f->dns, "other.example", "MX", "mx.other.example"), 0);
    assert_int_equal(bg_dns_add(f->dns, "mx.other.example", "A", "203.0.113.66"), 0);
    assert_int_equal(bg_dns_add(f->dns, "other.example", "TXT", "v=spf1 -all"), 0);
    f->cfg = bg_config_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    bg_store_close(f->s);
    bg_dns_free(f->dns);
    bg_config_free(f->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void use_conf(fx *f, const char *text)
{
    char err[200];
    bg_config_free(f->cfg);
    f->cfg = bg_config_parse(text, strlen(text), "test", err, sizeof err);
    assert_non_null(f->cfg);
}

static void deliver(fx *f, const char *msgid, const char *rcpt, const char *accepted_by)
{
    assert_int_equal(bg_store_delivered(f->s, "example.com", rcpt, msgid, "192.0.2.10", accepted_by, 0),
                     BG_STORE_OK);
}

/* An ARF report: fields (Feedback-Type and Original-Rcpt-To lines), the
 * returned message's To: and Message-ID. */
static bg_bounce *arf(const char *fields, const char *orig_to, const char *msgid, char *buf, size_t n)
{
    snprintf(buf, n,
             "From: feedback@arf.example.net\n"
             "To: fbl@example.com\n"
             "Subject: complaint\n"
             "Content-Type: multipart/report; report-type=feedback-report; boundary=B\n\n"
             "--B\nContent-Type: text/plain\n\nAn abuse report.\n"
             "--B\nContent-Type: message/feedback-report\n\n%sVersion: 1\nUser-Agent: t/1\n\n"
             "--B\nContent-Type: text/rfc822-headers\n\n"
             "Return-Path: <news@example.com>\nFrom: News <news@example.com>\nTo: %s\n"
             "Subject: news\nMessage-ID: %s\n"
             "--B--\n",
             fields, orig_to, msgid);
    bg_limits lim = {0};
    bg_read_status rs;
    bg_bounce *b = bg_bounce_read(buf, strlen(buf), &lim, &rs);
    assert_non_null(b);
    assert_int_equal(b->kind, BG_MSG_FEEDBACK);
    return b;
}

/* Feed one report; the number recorded. */
static int complain(fx *f, const char *host, const char *fields, const char *orig_to, const char *msgid)
{
    char buf[4096], ft[64];
    int named = 0;
    bg_bounce *b = arf(fields, orig_to, msgid, buf, sizeof buf);
    bg_feedback_fields(buf, strlen(buf), b, ft, sizeof ft, &named);
    bg_complaint_in in = {.host = host, .env_rcpt = "fbl@example.com", .id = "t", .feedback_type = ft,
                          .named = named};
    bg_store_status st;
    bg_dns_start(f->dns, 1000);
    int n = bg_feedback_complaint(f->s, f->dns, f->cfg, b, &in, &st);
    assert_int_equal(st, BG_STORE_OK);
    bg_bounce_free(b);
    return n;
}

/* The row of (example.com, addr): 1 with *r, or 0. */
static int row(fx *f, const char *addr, bg_store_row *r)
{
    return bg_store_get(f->s, "example.com", addr, r) == BG_STORE_OK;
}

static void types_table(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        int complaint;
    } t[] = {
        {"abuse", 1}, {"ABUSE", 1}, {"fraud", 1}, {"other", 1}, {"", 1}, {NULL, 1},
        {"not-spam", 0}, {"auth-failure", 0}, {"virus", 0}, {"unsubscribe", 0}, {"opt-out", 0},
        {"made-up", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (bg_feedback_is_complaint(t[i].type) != t[i].complaint)
            fail_msg("row %zu: %s", i, t[i].type ? t[i].type : "(null)");
}

/* The Feedback-Type from the ARF part, its parameters cut off. */
static void type_from_message(void **state)
{
    (void)state;
    char buf[4096], ft[64];
    int named = 0;
    bg_bounce *b = arf("Feedback-Type: auth-failure (dmarc)\nOriginal-Rcpt-To: <a@example.net>\n",
                       "a@example.net", "<x@example.com>", buf, sizeof buf);
    bg_feedback_fields(buf, strlen(buf), b, ft, sizeof ft, &named);
    assert_string_equal(ft, "auth-failure");
    assert_int_equal(named, 1);
    bg_bounce_free(b);
    /* none in the part: "" (a complaint); the To: of the original is no naming */
    b = arf("User-Agent: x\n", "a@example.net", "<x@example.com>", buf, sizeof buf);
    bg_feedback_fields(buf, strlen(buf), b, ft, sizeof ft, &named);
    assert_string_equal(ft, "");
    assert_int_equal(named, 0);
    assert_int_equal(b->nrcpt, 1); /* the reader took the To: */
    bg_bounce_free(b);
    /* a redacted Original-Rcpt-To names nobody */
    b = arf("Feedback-Type: abuse\nOriginal-Rcpt-To: redacted\n", "redacted", "<x@example.com>", buf, sizeof buf);
    bg_feedback_fields(buf, strlen(buf), b, ft, sizeof ft, &named);
    assert_string_equal(ft, "abuse");
    assert_int_equal(named, 0);
    bg_bounce_free(b);
}

static void sent_queries(void **state)
{
    fx *f = *state;
    deliver(f, "<m1@example.com>", "Bob@Example.net", "192.0.2.99");
    deliver(f, "<m1@example.com>", "carol@other.example", "203.0.113.66");
    bg_store_sent_rcpt out[4];
    size_t n = 0;
    assert_int_equal(bg_store_sent_rcpts(f->s, "example.com", "m1@example.com", out, 4, &n), BG_STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(bg_store_sent_rcpts(f->s, "example.com", "m1@example.com", out, 1, &n), BG_STORE_OK);
    assert_int_equal(n, 2); /* counted beyond max */
    assert_int_equal(bg_store_sent_rcpts(f->s, "example.org", "m1@example.com", out, 4, &n), BG_STORE_OK);
    assert_int_equal(n, 0);
    int found = 0;
    assert_int_equal(bg_store_mailed(f->s, "example.com", "bob@example.net", 0, 0, &found), BG_STORE_OK);
    assert_int_equal(found, 1);
    assert_int_equal(bg_store_mailed(f->s, "example.org", "bob@example.net", 0, 0, &found), BG_STORE_OK);
    assert_int_equal(found, 0);
    assert_int_equal(bg_store_mailed(f->s, "example.com", "bob@example.net", time(NULL) + 60, 0, &found),
                     BG_STORE_OK);
    assert_int_equal(found, 0); /* only records since */
    assert_int_equal(bg_store_mailed(f->s, "example.com", "not an address", 0, 0, &found), BG_STORE_OK);
    assert_int_equal(found, 0);
}

/* Who may complain about whom: the reporting host speaks for the
 * recipient's domain (MX, SPF, the host that accepted our delivery). */
static void complaint_proofs(void **state)
{
    fx *f = *state;
    deliver(f, "<m1@example.com>", "bob@example.net", "192.0.2.99");
    deliver(f, "<m1@example.com>", "eve@other.example", "203.0.113.66");
    static const struct {
        const char *label, *host, *fields, *orig_to, *msgid, *who;
        int n;
    } t[] = {
        {"stranger", "203.0.113.9", "Feedback-Type: abuse\nOriginal-Rcpt-To: bob@example.net\n",
         "bob@example.net", "<m1@example.com>", "bob@example.net", 0},
        {"co-recipient's provider", "203.0.113.66", "Feedback-Type: abuse\nOriginal-Rcpt-To: bob@example.net\n",
         "bob@example.net", "<m1@example.com>", "bob@example.net", 0},
        {"never sent", "192.0.2.25", "Feedback-Type: abuse\nOriginal-Rcpt-To: bob@example.net\n",
         "bob@example.net", "<other@example.com>", "bob@example.net", 0},
        {"not a complaint", "192.0.2.25", "Feedback-Type: not-spam\nOriginal-Rcpt-To: bob@example.net\n",
         "bob@example.net", "<m1@example.com>", "bob@example.net", 0},
        {"SPF passes", "198.51.100.7", "Feedback-Type: abuse\nOriginal-Rcpt-To: bob@example.net\n",
         "bob@example.net", "<m1@example.com>", "bob@example.net", 1},
        {"duplicate", "192.0.2.25", "Feedback-Type: abuse\nOriginal-Rcpt-To: bob@example.net\n",
         "bob@example.net", "<m1@example.com>", "bob@example.net", 0},
        {"her own", "203.0.113.66", "Feedback-Type: abuse\nOriginal-Rcpt-To: eve@other.example\n",
         "eve@other.example", "<m1@example.com>", "eve@other.example", 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        bg_store_row r;
        int had = row(f, t[i].who, &r);
        int n = complain(f, t[i].host, t[i].fields, t[i].orig_to, t[i].msgid);
        if (n != t[i].n)
            fail_msg("%s: recorded %d, want %d", t[i].label, n, t[i].n);
        if (t[i].n == 0 && !had && row(f, t[i].who, &r))
            fail_msg("%s: a row for %s", t[i].label, t[i].who);
    }
    bg_store_row r;
    assert_true(row(f, "bob@example.net", &r));
    assert_string_equal(r.category, "complaint");
    assert_string_equal(r.scope, "address");
    assert_string_equal(r.source, "complaint");
    assert_int_equal(r.expires_at, 0); /* kept until removed */
    assert_true(bg_store_row_active(&r, time(NULL)));
    assert_non_null(strstr(r.diagnostic, "Feedback-Type abuse"));
    /* never a domain row */
    assert_false(row(f, "example.net", &r));
}

/* Redacted reports: the message's only recipient at a domain the host
 * speaks for; two such recipients, nobody; a host that speaks for none,
 * nobody. */
static void complaint_redacted(void **state)
{
    fx *f = *state;
    deliver(f, "<r1@example.com>", "ann@example.net", "192.0.2.99");
    deliver(f, "<r1@example.com>", "zed@other.example", "203.0.113.66");
    deliver(f, "<r2@example.com>", "cat@example.net", "192.0.2.99");
    deliver(f, "<r2@example.com>", "dan@example.net", "192.0.2.99");
    bg_store_row r;
    assert_int_equal(complain(f, "203.0.113.9", "Feedback-Type: abuse\n", "redacted", "<r1@example.com>"), 0);
    assert_false(row(f, "ann@example.net", &r));
    assert_int_equal(complain(f, "192.0.2.25", "Feedback-Type: abuse\n", "redacted", "<r1@example.com>"), 1);
    assert_true(row(f, "ann@example.net", &r));
    assert_false(row(f, "zed@other.example", &r));
    assert_int_equal(complain(f, "192.0.2.25", "Feedback-Type: abuse\n", "redacted", "<r2@example.com>"), 0);
    assert_false(row(f, "cat@example.net", &r));
    assert_false(row(f, "dan@example.net", &r));
}

/* A report that names a recipient speaks of that one only; the returned
 * To: is no naming (its first address may be a co-recipient). */
static void complaint_co_recipients(void **state)
{
    fx *f = *state;
    deliver(f, "<c1@example.com>", "bob@example.net", "192.0.2.99");
    deliver(f, "<c1@example.com>", "eve@other.example", "203.0.113.66");
    bg_store_row r;
    /* eve's provider names bob: nothing, and not eve either */
    assert_int_equal(complain(f, "203.0.113.66", "Feedback-Type: abuse\nOriginal-Rcpt-To: bob@example.net\n",
                              "bob@example.net, eve@other.example", "<c1@example.com>"),
                     0);
    assert_false(row(f, "bob@example.net", &r));
    assert_false(row(f, "eve@other.example", &r));
    /* no Original-Rcpt-To; the reader takes bob from To:: it is eve's */
    assert_int_equal(complain(f, "203.0.113.66", "Feedback-Type: abuse\n",
                              "bob@example.net, eve@other.example", "<c1@example.com>"),
                     1);
    assert_false(row(f, "bob@example.net", &r));
    assert_true(row(f, "eve@other.example", &r));
    assert_string_equal(r.category, "complaint");
}

/* The switch, the cap and the lifetime, per sending domain; DNS that
 * cannot tell counts one soft event. */
static void complaint_policy(void **state)
{
    fx *f = *state;
    deliver(f, "<p1@example.com>", "one@example.net", "192.0.2.99");
    deliver(f, "<p2@example.com>", "two@example.net", "192.0.2.99");
    deliver(f, "<p3@example.com>", "three@example.net", "192.0.2.99");
    bg_store_row r;
    use_conf(f, "[domain example.com]\nsuppress_complaints = no\n");
    assert_int_equal(complain(f, "192.0.2.25", "Feedback-Type: abuse\n", "one@example.net", "<p1@example.com>"), 0);
    assert_false(row(f, "one@example.net", &r));
    use_conf(f, "suppress_inbound_max_rcpts = 1\n");
    assert_int_equal(complain(f, "192.0.2.25",
                              "Feedback-Type: abuse\nOriginal-Rcpt-To: one@example.net\n"
                              "Original-Rcpt-To: x@example.net\n",
                              "one@example.net", "<p1@example.com>"),
                     0);
    assert_false(row(f, "one@example.net", &r));
    use_conf(f, "suppress_expire_complaint = 30d\n");
    assert_int_equal(complain(f, "192.0.2.25", "Feedback-Type: fraud\n", "two@example.net", "<p2@example.com>"), 1);
    assert_true(row(f, "two@example.net", &r));
    assert_true(r.expires_at > time(NULL) + 29 * 86400 && r.expires_at <= time(NULL) + 30 * 86400);
    /* DNS that cannot tell: one soft event, no suppression */
    use_conf(f, "");
    bg_dns_set_zone_latency(f->dns, 400);
    bg_dns_flush(f->dns);
    char buf[4096], ft[64];
    bg_bounce *b = arf("Feedback-Type: abuse\n", "three@example.net", "<p3@example.com>", buf, sizeof buf);
    bg_feedback_fields(buf, strlen(buf), b, ft, sizeof ft, NULL);
    bg_complaint_in in = {.host = "198.51.100.7", .env_rcpt = "", .id = "t", .feedback_type = ft};
    bg_store_status st;
    bg_dns_start(f->dns, 300);
    assert_int_equal(bg_feedback_complaint(f->s, f->dns, f->cfg, b, &in, &st), 1);
    bg_bounce_free(b);
    bg_dns_set_zone_latency(f->dns, 0);
    assert_true(row(f, "three@example.net", &r));
    assert_string_equal(r.scope, "soft");
    assert_false(bg_store_row_active(&r, time(NULL)));
}

/* Not over SMTP, a bad prvs signature, no Message-ID: nothing, and no
 * store needed to say so. */
static void complaint_refusals(void **state)
{
    fx *f = *state;
    char buf[4096];
    bg_bounce *b = arf("Feedback-Type: abuse\n", "bob@example.net", "<m1@example.com>", buf, sizeof buf);
    bg_store_status st;
    bg_complaint_in in = {.host = "", .env_rcpt = "", .id = "t", .feedback_type = "abuse"};
    assert_int_equal(bg_feedback_complaint(NULL, NULL, f->cfg, b, &in, &st), 0);
    in.host = "192.0.2.25";
    in.prvs = -1;
    in.prvs_why = "prvs: bad signature";
    assert_int_equal(bg_feedback_complaint(f->s, f->dns, f->cfg, b, &in, &st), 0);
    bg_bounce_free(b);
}

static int unsub(fx *f, const char *host, const char *env, const char *from)
{
    bg_unsub_in in = {.list_address = "unsubscribe@example.com", .env_sender = env, .from = from,
                      .host = host, .message_id = "<req@example.net>", .id = "t"};
    bg_store_status st;
    bg_dns_start(f->dns, 1000);
    int r = bg_feedback_unsubscribe(f->s, f->dns, f->cfg, &in, &st);
    assert_int_equal(st, BG_STORE_OK);
    return r;
}

static void unsubscribe_proofs(void **state)
{
    fx *f = *state;
    deliver(f, "<n1@example.com>", "bob@example.net", "192.0.2.99");
    deliver(f, "<n1@example.com>", "eve@example.net", "192.0.2.99");
    deliver(f, "<n2@example.com>", "sam@example.net", "192.0.2.99");
    deliver(f, "<n3@example.com>", "tim@example.net", "192.0.2.99");
    static const struct {
        const char *label, *host, *env, *from, *who;
        int want;
    } t[] = {
        {"not over SMTP", "", "bob@example.net", "bob@example.net", "bob@example.net", 0},
        {"null sender", "192.0.2.25", "", "bob@example.net", "bob@example.net", 0},
        {"stranger", "203.0.113.9", "bob@example.net", "Bob <bob@example.net>", "bob@example.net", 0},
        {"other provider's MX", "203.0.113.66", "bob@example.net", "bob@example.net", "bob@example.net", 0},
        {"From is not the envelope", "192.0.2.25", "eve@example.net", "Bob <bob@example.net>", "bob@example.net", 0},
        {"never mailed", "192.0.2.25", "nobody@example.net", "nobody@example.net", "nobody@example.net", 0},
        {"SPF passes", "198.51.100.7", "bob@example.net", "\"Bob\" <BOB@example.net>", "bob@example.net", 1},
        {"the same request again", "198.51.100.7", "bob@example.net", "bob@example.net", "bob@example.net", 1},
        {"a mail host", "192.0.2.25", "sam@example.net", "sam@example.net", "sam@example.net", 1},
        {"a prvs-signed envelope", "192.0.2.25", "prvs=0123abcdef=tim@example.net", "tim@example.net",
         "tim@example.net", 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int r = unsub(f, t[i].host, t[i].env, t[i].from);
        bg_store_row row_;
        int has = row(f, t[i].who, &row_);
        if (r != t[i].want || (t[i].want && !has) || (!t[i].want && has && i < 6))
            fail_msg("%s: %d (row %d), want %d", t[i].label, r, has, t[i].want);
    }
    bg_store_row r;
    assert_true(row(f, "bob@example.net", &r));
    assert_string_equal(r.category, "unsubscribed");
    assert_int_equal(r.expires_at, 0);
    assert_true(bg_store_row_active(&r, time(NULL)));
    assert_false(row(f, "eve@example.net", &r));
    /* the sending domain's switch and its lifetime */
    deliver(f, "<n4@example.com>", "uma@example.net", "192.0.2.99");
    use_conf(f, "[domain example.com]\nsuppress = no\n");
    assert_int_equal(unsub(f, "192.0.2.25", "uma@example.net", "uma@example.net"), 0);
    use_conf(f, "suppress_exempt = uma@example.net\n");
    assert_int_equal(unsub(f, "192.0.2.25", "uma@example.net", "uma@example.net"), 0);
    assert_false(row(f, "uma@example.net", &r));
    use_conf(f, "suppress_expire_unsubscribed = 2w\n");
    assert_int_equal(unsub(f, "192.0.2.25", "uma@example.net", "uma@example.net"), 1);
    assert_true(row(f, "uma@example.net", &r));
    assert_true(r.expires_at > time(NULL) + 13 * 86400);
}

/* The policy gives complaints and unsubscribes their own lifetimes. */
static void policy_lifetimes(void **state)
{
    (void)state;
    bg_policy *p = bg_policy_new(NULL);
    bg_store_rule r;
    bg_policy_rule(p, "example.com", "complaint", BG_SUP_ADDRESS, 0, &r);
    assert_int_equal(r.mode, BG_SUP_ADDRESS);
    assert_int_equal(r.expires_after, 0);
    bg_policy_rule(p, "example.com", "unsubscribed", BG_SUP_ADDRESS, 0, &r);
    assert_int_equal(r.expires_after, 0);
    bg_policy_rule(p, "example.com", "unknown-user", BG_SUP_ADDRESS, 0, &r);
    assert_int_equal(r.expires_after, 365 * 86400LL);
    bg_policy_free(p);
    char err[100];
    const char *txt = "suppress_expire_complaint = 400d\n[domain example.com]\nsuppress_expire_unsubscribed = 1d\n";
    bg_config *c = bg_config_parse(txt, strlen(txt), "t", err, sizeof err);
    p = bg_policy_new(c);
    bg_policy_rule(p, "example.com", "complaint", BG_SUP_ADDRESS, 0, &r);
    assert_int_equal(r.expires_after, 400 * 86400LL);
    bg_policy_rule(p, "example.com", "unsubscribed", BG_SUP_ADDRESS, 0, &r);
    assert_int_equal(r.expires_after, 86400LL);
    bg_policy_rule(p, "example.org", "unsubscribed", BG_SUP_ADDRESS, 0, &r);
    assert_int_equal(r.expires_after, 0);
    bg_policy_free(p);
    bg_config_free(c);
    /* the key table's defaults are the policy's */
    const bg_config_key *k = bg_config_keys_find("suppress_expire_complaint");
    assert_non_null(k);
    assert_string_equal(k->dflt, "0");
    assert_non_null(bg_config_keys_find("suppress_expire_unsubscribed"));
    assert_non_null(bg_config_keys_find("suppress_complaints"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(types_table),
        cmocka_unit_test(type_from_message),
        cmocka_unit_test_setup_teardown(sent_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(complaint_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(complaint_redacted, setup, teardown),
        cmocka_unit_test_setup_teardown(complaint_co_recipients, setup, teardown),
        cmocka_unit_test_setup_teardown(complaint_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(complaint_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(unsubscribe_proofs, setup, teardown),
        cmocka_unit_test(policy_lifetimes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
