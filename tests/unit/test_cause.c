/* Unit tests: the status-code registry, who is at fault, cause and timing.
 *
 * - every code of the IANA "SMTP Enhanced Status Codes" registry (as
 *   published, updated 2024-12) has an entry with a side and a category;
 * - a sender-side or our-side fault never suppresses a recipient;
 * - giving up after retries is timing: the verdict names the cause of the
 *   last deferral when the report gives one, "expired" only when it does
 *   not (docs/taxonomy.md).
 * Replies are written the way the servers write them (Exim's transport
 * event text, or the diagnostic of a retry-timeout bounce as Exim 4.96
 * writes it: the last reply, then ": retry timeout exceeded").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "bg_bounce.h"
#include "bg_classify.h"
#include "bg_registry.h"
#include "bg_store.h"
#include "bg_time.h"

static bg_rules *rules;

static int setup(void **state)
{
    (void)state;
    rules = bg_rules_load(NULL);
    return rules ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bg_rules_free(rules);
    return 0;
}

/* The registry's enumerated codes: subject and the highest detail. */
static const struct {
    unsigned subject, last;
} iana[] = {{0, 0}, {1, 10}, {2, 4}, {3, 6}, {4, 7}, {5, 6}, {6, 10}, {7, 30}};

static void registry_complete(void **state)
{
    (void)state;
    size_t n, want = 0;
    const bg_registry_entry *t = bg_registry_table(&n);
    assert_non_null(t);
    for (size_t s = 0; s < sizeof iana / sizeof iana[0]; s++)
        for (unsigned d = 0; d <= iana[s].last; d++) {
            char code[16];
            snprintf(code, sizeof code, "5.%u.%u", iana[s].subject, d);
            const bg_registry_entry *e = bg_registry_find(code);
            if (!e)
                print_error("registry: X.%u.%u has no entry\n", iana[s].subject, d);
            assert_non_null(e);
            assert_true(e->side != BG_SIDE_UNKNOWN);
            assert_true(e->meaning[0] && !strncmp(e->rfc, "RFC", 3) + !strcmp(e->rfc, "IANA"));
            assert_true(e->weight == 0 || e->cat5 || e->cat4);
            want++;
        }
    assert_int_equal(n, want);
    /* a few facts of the registry */
    assert_int_equal(bg_registry_side("5.7.27"), BG_SIDE_SENDER);
    assert_int_equal(bg_registry_side("5.1.8"), BG_SIDE_SENDER);
    assert_int_equal(bg_registry_side("4.7.23"), BG_SIDE_OURS);
    assert_int_equal(bg_registry_side("5.1.1"), BG_SIDE_RECIPIENT);
    assert_int_equal(bg_registry_side("5.9.9"), BG_SIDE_UNKNOWN);
    assert_string_equal(bg_registry_find("5.1.10")->rfc, "RFC7505");
    assert_string_equal(bg_registry_find("4.7.30")->rfc, "RFC8689");
}

static void registry_parse_errors(void **state)
{
    (void)state;
    static bg_registry_entry t[8];
    char err[200];
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"X.1.1 recipient unknown-user specific\n", "needs code side"},
        {"X.1.1 recipient unknown-user specific RFC3463\n", "no meaning"},
        {"X.1.1 nobody unknown-user specific RFC3463 Bad\n", "unknown side"},
        {"X.1.1 recipient no-such-cat specific RFC3463 Bad\n", "unknown category"},
        {"X.1.1 recipient unknown-user heavy RFC3463 Bad\n", "unknown weight"},
        {"X.1 recipient unknown-user specific RFC3463 Bad\n", "bad code"},
        {"X.1.1 recipient unknown specific RFC3463 Bad\n", "needs a category"},
        {"X.1.1 recipient unknown-user specific RFC3463 A\nX.1.1 sender unknown-user weak R B\n",
         "listed twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(bg_registry_parse(bad[i].text, t, 8, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            print_error("%s -> %s\n", bad[i].text, err);
        assert_non_null(strstr(err, bad[i].want));
    }
    assert_int_equal(bg_registry_parse("# c\n\nX.2.2 recipient mailbox-full decisive RFC3463 "
                                       "Mailbox full\nX.7.1 remote a|b weak RFC3463 x\n",
                                       t, 8, err, sizeof err),
                     -1);
    assert_int_equal(bg_registry_parse("X.7.1 remote policy-rejected|greylisted weak RFC3463 "
                                       "Delivery not authorized\n",
                                       t, 8, err, sizeof err),
                     1);
    assert_string_equal(t[0].cat5->id, "policy-rejected");
    assert_string_equal(t[0].cat4->id, "greylisted");
    assert_int_equal(t[0].weight, 20);
    assert_string_equal(t[0].meaning, "Delivery not authorized");
}

typedef struct tcase {
    const char *label;
    const char *text;  /* as Exim's transport event or a retry-timeout bounce gives it */
    int deferred;
    const char *category, *suppress, *side;
    int gave_up;
} tcase;

static const tcase cases[] = {
    /* ---- who is at fault ---- */
    {"RFC 7505 sender null MX, said plainly", "550 5.7.27 Sender address has null MX", 0,
     "sender-rejected", "none", "sender", 0},
    {"5.7.27 with words that would mean the recipient's domain",
     "550 5.7.27 <alice@ours.example>: domain does not accept mail", 0, "sender-rejected", "none",
     "sender", 0},
    {"5.1.8 sender domain not found", "553 5.1.8 <alice@ours.example>... Domain of sender "
     "address alice@ours.example does not exist", 0, "sender-rejected", "none", "sender", 0},
    {"5.1.7 bad sender syntax", "501 5.1.7 Bad sender address syntax", 0, "sender-rejected",
     "none", "sender", 0},
    {"Postfix: sender address rejected, domain not found (5.1.x about our domain)",
     "SMTP error from remote mail server after RCPT TO:<bob@theirs.example>: 450 4.1.8 "
     "<alice@ours.example>: Sender address rejected: Domain not found",
     1, "sender-rejected", "none", "sender", 0},
    {"Postfix 5.1.1 about the sender's address",
     "550 5.1.1 <alice@ours.example>: Sender address rejected: User unknown in local recipient "
     "table", 0, "sender-rejected", "none", "sender", 0},
    {"SPF code beats any word", "550 5.7.23 The message was rejected because of Sender Policy "
     "Framework violation: user unknown", 0, "spf-failure", "none", "ours", 0},
    {"auth credentials", "535 5.7.8 Error: authentication failed", 0, "auth-required", "none",
     "ours", 0},
    {"recipient unknown still suppresses", "550 5.1.1 <bob@theirs.example>: Recipient address "
     "rejected: User unknown", 0, "unknown-user", "address", "recipient", 0},
    {"recipient null MX (RFC 7505 X.1.10)", "556 5.1.10 Recipient address has null MX", 0,
     "unknown-domain", "domain", "recipient", 0},
    {"Microsoft reuses 5.1.10 for a missing mailbox",
     "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", 0,
     "unknown-user", "address", "recipient", 0},
    {"Yahoo reuses 5.7.9 for policy (its words: content)", "554 5.7.9 Message not accepted for "
     "policy reasons.  See https://postmaster.yahooinc.com/error-codes", 0, "content-rejected",
     "none", "sender", 0},
    {"5.7.9 alone: a policy refusal, not AUTH", "554 5.7.9 Rejected", 0, "policy-rejected", "none",
     "remote", 0},
    {"a mailing list refuses the sender (X.7.2)", "550 5.7.2 Mailing list expansion prohibited",
     0, "policy-rejected", "none", "sender", 0},
    {"UTF-8 address not permitted (X.6.7)", "553 5.6.7 Non-ASCII addresses not permitted for "
     "that recipient", 0, "malformed-message", "none", "sender", 0},
    {"REQUIRETLS (X.7.30)", "550 5.7.30 REQUIRETLS support required", 0, "tls-required", "none",
     "ours", 0},
    {"mail flood (X.7.28)", "421 4.7.28 Mail flood detected", 1, "rate-limited", "none", "ours",
     0},
    {"RRVS: mailbox owner changed (X.7.17)", "550 5.7.17 Mailbox owner has changed", 0,
     "mailbox-disabled", "address", "recipient", 0},

    /* ---- cause and timing ---- */
    {"retry timeout after a block on our IP (Exim 4.96)",
     "SMTP error from remote mail server after initial connection: 421 4.7.0 [TSS04] Messages "
     "from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints: retry "
     "timeout exceeded",
     0, "sender-blocklisted", "none", "ours", 1},
    {"retry timeout after a Spamhaus listing",
     "SMTP error from remote mail server after RCPT TO:<b@theirs.example>: 450 4.7.1 Client "
     "host rejected: blocked using zen.spamhaus.org: retry timeout exceeded",
     0, "sender-blocklisted", "none", "ours", 1},
    {"retry timeout after rate limiting",
     "SMTP error from remote mail server after RCPT TO:<b@theirs.example>: 421 4.7.0 Too many "
     "messages, rate limit exceeded, try again later: retry timeout exceeded",
     0, "rate-limited", "none", "ours", 1},
    {"retry timeout after greylisting past its window",
     "SMTP error from remote mail server after RCPT TO:<b@theirs.example>: 451 4.7.1 "
     "Greylisting in action, please come back later: retry timeout exceeded",
     0, "greylisted", "none", "remote", 1},
    {"retry timeout after a full mailbox",
     "SMTP error from remote mail server after RCPT TO:<b@theirs.example>: 452 4.2.2 Mailbox "
     "full: retry timeout exceeded",
     0, "mailbox-full", "count", "recipient", 1},
    {"retry timeout after a remote error",
     "SMTP error from remote mail server after RCPT TO:<b@theirs.example>: 451 4.3.0 Temporary "
     "local problem - please try later: retry timeout exceeded",
     0, "remote-server-error", "none", "remote", 1},
    {"retry timeout after a queue-full reply",
     "SMTP error from remote mail server after MAIL FROM:<a@ours.example>: 452 4.3.1 "
     "Insufficient system storage: retry timeout exceeded",
     0, "remote-server-error", "none", "remote", 1},
    {"retry timeout with nothing else: expired", "retry timeout exceeded", 0, "expired", "count",
     "network", 1},
    {"retry timeout after refused connections: expired",
     "Connection refused: retry timeout exceeded", 0, "expired", "count", "network", 1},
    {"retry timeout after timeouts: expired",
     "SMTP timeout after initial connection: retry timeout exceeded", 0, "expired", "count",
     "network", 1},
    {"Exim: hosts skipped past the cutoff", "all hosts have been failing for a long time and "
     "were last tried after this message arrived", 0, "expired", "count", "network", 1},
    {"Exim: retry time not reached past the cutoff", "retry time not reached for any host after "
     "a long failure period", 0, "expired", "count", "network", 1},
    {"a reply code alone does not name a cause", "451 Try later: retry timeout exceeded", 0,
     "expired", "count", "network", 1},
    {"a DNS failure is a cause", "host lookup did not complete: retry timeout exceeded", 0,
     "network-error", "none", "network", 1},
    {"4.4.7 alone", "554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 "
     "Connection timed out>", 0, "expired", "count", "network", 1},
    {"a cause without timing: no gave_up", "452 4.2.2 Mailbox full", 1, "mailbox-full", "count",
     "recipient", 0},
};

static void cause_and_side(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const tcase *c = &cases[i];
        bg_verdict v;
        bg_classify_text(rules, c->text, c->deferred, &v);
        if (strcmp(v.category->id, c->category) || strcmp(bg_suppress_name(v.suppress), c->suppress) ||
            strcmp(bg_side_name(v.side), c->side) || v.gave_up != c->gave_up) {
            print_error("case %zu (%s):\n  got  %s %s %s gave_up=%d (%s)\n  want %s %s %s "
                        "gave_up=%d\n",
                        i, c->label, v.category->id, bg_suppress_name(v.suppress),
                        bg_side_name(v.side), v.gave_up, v.rule, c->category, c->suppress,
                        c->side, c->gave_up);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* In a bounce: the text names the sender's own address, not the
 * recipient's, so it is about the sender whatever its words. */
static void sender_address_in_reply(void **state)
{
    (void)state;
    bg_rcpt rc;
    memset(&rc, 0, sizeof rc);
    snprintf(rc.recipient, sizeof rc.recipient, "bob@theirs.example");
    snprintf(rc.action, sizeof rc.action, "failed");
    snprintf(rc.status, sizeof rc.status, "5.0.0");
    snprintf(rc.diagnostic, sizeof rc.diagnostic,
             "SMTP error from remote mail server after RCPT TO:<bob@theirs.example>: 550 "
             "<alice@ours.example>: no such user here");
    bg_bounce b;
    memset(&b, 0, sizeof b);
    b.kind = BG_MSG_FAILURE;
    b.rcpts = &rc;
    b.nrcpt = 1;
    snprintf(b.orig.return_path, sizeof b.orig.return_path, "alice@ours.example");
    bg_verdict v;
    bg_classify_rcpt(rules, &b, &rc, &v);
    assert_string_equal(bg_side_name(v.side), "sender");
    assert_string_equal(bg_suppress_name(v.suppress), "none");
    /* the same words about the recipient: suppressed */
    snprintf(rc.diagnostic, sizeof rc.diagnostic,
             "SMTP error from remote mail server after RCPT TO:<bob@theirs.example>: 550 "
             "<bob@theirs.example>: no such user here");
    bg_classify_rcpt(rules, &b, &rc, &v);
    assert_string_equal(bg_suppress_name(v.suppress), "address");
    /* Sendmail writes Status 5.7.27 for a recipient host with a null MX;
     * the reply itself has no code: the recipient's domain */
    snprintf(rc.recipient, sizeof rc.recipient, "neko@libsisimai.example");
    snprintf(rc.status, sizeof rc.status, "5.7.27");
    snprintf(rc.diagnostic, sizeof rc.diagnostic, "550 Host does not accept mail");
    bg_classify_rcpt(rules, &b, &rc, &v);
    assert_string_equal(v.category->id, "unknown-domain");
    /* a delay warning never says the server gave up */
    snprintf(rc.action, sizeof rc.action, "delayed");
    snprintf(rc.status, sizeof rc.status, "4.0.0");
    snprintf(rc.diagnostic, sizeof rc.diagnostic, "retry timeout exceeded");
    b.kind = BG_MSG_DELAY;
    bg_classify_rcpt(rules, &b, &rc, &v);
    assert_int_equal(v.gave_up, 0);
}

/* The one date parser: the forms mail writes. */
static void time_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        long long want; /* -1 = refused */
    } t[] = {
        {"Mon, 23 Nov 2026 09:15:00 +0000", 1795425300},
        {"23 Nov 2026 09:15:00 +0000", 1795425300},
        {"Mon, 23 Nov 2026 10:15:00 +0100 (CET)", 1795425300},
        {"Mon, 23 Nov 2026 04:15 -0500", 1795425300},
        {"Mon, 23 Nov 2026 04:15:00 EST", 1795425300},
        {"Sat, 3 Oct 2020 20:12:06 +0900", 1601723526},
        {"2026-11-23T09:15:00Z", 1795425300},
        {"2026-11-23T10:15:00+01:00", 1795425300},
        {"2026-11-23 09:15:00", 1795425300},
        {"2026-11-23", 1795392000},
        {"Mon, 23 Nov 26 09:15:00 GMT", 1795425300},
        {"", -1},
        {"yesterday", -1},
        {"Mon, 31 Feb 2026 09:15:00 +0000", -1},
        {"2026-13-01", -1},
        {"Mon, 23 Nov 2026", -1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        long long v = 0;
        int rc = bg_time_parse(t[i].s, &v);
        if ((t[i].want < 0) != (rc < 0) || (rc == 0 && v != t[i].want))
            print_error("%s -> rc %d, %lld (want %lld)\n", t[i].s, rc, v, t[i].want);
        assert_int_equal(rc < 0, t[i].want < 0);
        if (rc == 0)
            assert_int_equal(v, t[i].want);
    }
    assert_int_equal(bg_time_parse(NULL, &(long long){0}), -1);
}

/* A retry-timeout bounce says how long we tried and since when. */
static void timing_facts(void **state)
{
    (void)state;
    bg_rcpt rc;
    memset(&rc, 0, sizeof rc);
    snprintf(rc.recipient, sizeof rc.recipient, "frank@slow.example");
    snprintf(rc.action, sizeof rc.action, "failed");
    snprintf(rc.status, sizeof rc.status, "5.0.0");
    snprintf(rc.diagnostic, sizeof rc.diagnostic, "SMTP error from remote mail server after "
             "initial connection: 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred "
             "due to unexpected volume or user complaints: retry timeout exceeded");
    bg_bounce b;
    memset(&b, 0, sizeof b);
    b.kind = BG_MSG_FAILURE;
    b.rcpts = &rc;
    b.nrcpt = 1;
    snprintf(b.date, sizeof b.date, "Mon, 23 Nov 2026 09:15:00 +0000");
    snprintf(b.orig.received, sizeof b.orig.received, "Thu, 19 Nov 2026 09:14:00 +0000");
    bg_verdict v;
    bg_classify_rcpt(rules, &b, &rc, &v);
    assert_string_equal(v.category->id, "sender-blocklisted");
    assert_true(v.gave_up);
    assert_int_equal(v.tried_since, 1795079640);
    assert_int_equal(v.tried_for, 4 * 86400 + 60);
    /* Last-Attempt-Date wins over the report's date; no dates, no timing */
    snprintf(rc.last_attempt, sizeof rc.last_attempt, "Sun, 22 Nov 2026 09:14:00 +0000");
    bg_classify_rcpt(rules, &b, &rc, &v);
    assert_int_equal(v.tried_for, 3 * 86400);
    b.orig.received[0] = '\0';
    bg_classify_rcpt(rules, &b, &rc, &v);
    assert_int_equal(v.tried_for, 0);
}

/* A give-up with no cause in its text takes the cause of the deferral the
 * transport's event hook recorded (the store's read for local_scan). */
static void cause_from_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/bg-test-cause-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/s.db", dir);
    bg_store_status st;
    bg_store *s = bg_store_open(path, 1000, BG_STORE_CREATE, &st, NULL, 0);
    assert_non_null(s);
    bg_verdict dv;
    bg_classify_text(rules, "SMTP error from remote mail server after initial connection: 421 "
                     "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to "
                     "unexpected volume or user complaints", 1, &dv);
    bg_store_event ev = {.sender_domain = "ours.example", .recipient = "bob@theirs.example",
                         .message_id = "<m1@ours.example>", .deferred = 1,
                         .category = dv.category->id, .status = dv.status,
                         .reply_code = dv.reply_code, .diagnostic = "421 ...",
                         .source = BG_SRC_TRANSPORT, .now = 1795079700};
    bg_store_rule rule = {.mode = BG_SUP_NONE};
    assert_int_equal(bg_store_record(s, &ev, &rule, NULL), BG_STORE_OK);
    char cat[BG_CATEGORY_ID_MAX];
    long long at = 0;
    assert_int_equal(bg_store_last_deferral(s, "<m1@ours.example>", "bob@theirs.example", cat, &at),
                     BG_STORE_OK);
    assert_string_equal(cat, "sender-blocklisted");
    assert_int_equal(at, 1795079700);
    char other[BG_CATEGORY_ID_MAX];
    assert_int_equal(bg_store_last_deferral(s, "<m2@ours.example>", "bob@theirs.example", other,
                                            &at),
                     BG_STORE_NOTFOUND);
    bg_store_close(s);
    unlink(path);
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);

    bg_verdict v;
    bg_classify_text(rules, "retry timeout exceeded", 0, &v);
    assert_string_equal(v.category->id, "expired");
    assert_int_equal(bg_classify_take_cause(&v, cat, "store:last-deferral"), 1);
    assert_string_equal(v.category->id, "sender-blocklisted");
    assert_string_equal(bg_suppress_name(v.suppress), "none");
    assert_string_equal(v.rule, "store:last-deferral");
    /* an address cause recorded as a deferral counts, never suppresses at once */
    bg_classify_text(rules, "retry timeout exceeded", 0, &v);
    assert_int_equal(bg_classify_take_cause(&v, "unknown-user", NULL), 1);
    assert_string_equal(bg_suppress_name(v.suppress), "count");
    /* only an expired give-up takes a cause; network errors name none */
    bg_classify_text(rules, "retry timeout exceeded", 0, &v);
    assert_int_equal(bg_classify_take_cause(&v, "network-error", NULL), 0);
    assert_int_equal(bg_classify_take_cause(&v, "no-such-category", NULL), 0);
    bg_classify_text(rules, "452 4.2.2 Mailbox full: retry timeout exceeded", 0, &v);
    assert_int_equal(bg_classify_take_cause(&v, "sender-blocklisted", NULL), 0);
    assert_string_equal(v.category->id, "mailbox-full");
}

/* A delay warning without Will-Retry-Until: until when we keep trying is
 * the arrival plus retry_give_up, and nothing when it cannot be known or is
 * already past at the report. */
static void retry_until_from_give_up(void **state)
{
    (void)state;
    bg_verdict v;
    memset(&v, 0, sizeof v);
    v.tried_since = 1795338515; /* 2026-11-22 09:08:35 UTC */
    v.tried_for = 86400;
    assert_int_equal(bg_classify_retry_until(&v, 4 * 86400), 1795338515 + 4 * 86400);
    assert_int_equal(bg_classify_retry_until(&v, 2 * 86400), 1795338515 + 2 * 86400);
    /* the server has already tried longer than the rule we assume */
    assert_int_equal(bg_classify_retry_until(&v, 3600), 0);
    assert_int_equal(bg_classify_retry_until(&v, 0), 0);
    assert_int_equal(bg_classify_retry_until(&v, -5), 0);
    assert_int_equal(bg_classify_retry_until(NULL, 86400), 0);
    v.tried_since = 0; /* arrival unknown */
    assert_int_equal(bg_classify_retry_until(&v, 4 * 86400), 0);
    v.tried_since = 9223372036854775000LL; /* no overflow */
    assert_int_equal(bg_classify_retry_until(&v, 4 * 86400), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_complete),
        cmocka_unit_test(registry_parse_errors),
        cmocka_unit_test(cause_and_side),
        cmocka_unit_test(sender_address_in_reply),
        cmocka_unit_test(time_parse),
        cmocka_unit_test(timing_facts),
        cmocka_unit_test(cause_from_store),
        cmocka_unit_test(retry_until_from_give_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
