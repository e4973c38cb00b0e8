/* Unit tests: bg_ac (the multi-pattern matcher) and bg_rules (the rules
 * syntax, admin overrides, errors with line numbers, precedence). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bg_ac.h"
#include "bg_bounce.h"
#include "bg_classify.h"
#include "bg_log.h"
#include "../../plugin/bg_rules_int.h"

/* ---- bg_ac ---- */

typedef struct hits {
    char seen[64];
    size_t n;
} hits;

static int collect(unsigned id, size_t start, size_t end, void *ctx)
{
    hits *h = ctx;
    if (h->n + 4 < sizeof h->seen)
        h->n += (size_t)snprintf(h->seen + h->n, sizeof h->seen - h->n, "%u@%zu-%zu ", id,
                                 start, end);
    return 0;
}

static void ac_finds_all(void **state)
{
    (void)state;
    bg_ac *a = bg_ac_new();
    assert_non_null(a);
    assert_int_equal(bg_ac_add(a, "he", 2, 0), 0);
    assert_int_equal(bg_ac_add(a, "SHE", 3, 1), 0);
    assert_int_equal(bg_ac_add(a, "his", 3, 2), 0);
    assert_int_equal(bg_ac_add(a, "hers", 4, 3), 0);
    assert_int_equal(bg_ac_add(a, "he", 2, 4), 0); /* same text, other id */
    assert_int_equal(bg_ac_add(a, "", 0, 5), -1);
    assert_int_equal(bg_ac_build(a), 0);
    assert_int_equal(bg_ac_add(a, "x", 1, 6), -1); /* built: immutable */
    hits h = {{0}, 0};
    assert_int_equal(bg_ac_scan(a, "uSHErs", 6, collect, &h), 4);
    /* she@1-4, he@2-4 (twice), hers@2-6 */
    assert_non_null(strstr(h.seen, "1@1-4"));
    assert_non_null(strstr(h.seen, "0@2-4"));
    assert_non_null(strstr(h.seen, "4@2-4"));
    assert_non_null(strstr(h.seen, "3@2-6"));
    assert_null(strstr(h.seen, "2@"));
    assert_int_equal(bg_ac_scan(a, "xyz", 3, collect, &h), 0);
    assert_int_equal(bg_ac_patterns(a), 5);
    bg_ac_free(a);
    bg_ac_free(NULL);
}

/* Against a naive search: random small-alphabet patterns and texts, every
 * occurrence found exactly once, with case folded. */
typedef struct tally {
    unsigned *count;
} tally;

static int count_hit(unsigned id, size_t start, size_t end, void *ctx)
{
    (void)start;
    (void)end;
    ((tally *)ctx)->count[id]++;
    return 0;
}

static void ac_matches_naive(void **state)
{
    (void)state;
    enum { NPAT = 3000, TEXTLEN = 4000 };
    static char pats[NPAT][8];
    static unsigned want[NPAT], got[NPAT];
    unsigned seed = 12345;
    bg_ac *a = bg_ac_new();
    assert_non_null(a);
    for (unsigned i = 0; i < NPAT; i++) {
        unsigned len = 1 + (seed = seed * 1103515245u + 12345u) % 6;
        for (unsigned k = 0; k < len; k++)
            pats[i][k] = "abcABC -"[(seed = seed * 1103515245u + 12345u) >> 16 & 7];
        pats[i][len] = '\0';
        assert_int_equal(bg_ac_add(a, pats[i], len, i), 0);
    }
    assert_int_equal(bg_ac_build(a), 0);
    static char text[TEXTLEN + 1], lower[TEXTLEN + 1];
    for (unsigned k = 0; k < TEXTLEN; k++) {
        text[k] = "abcABCxyz -"[(seed = seed * 1103515245u + 12345u) >> 16 & 7];
        lower[k] = (char)(text[k] >= 'A' && text[k] <= 'Z' ? text[k] + 32 : text[k]);
    }
    for (unsigned i = 0; i < NPAT; i++) {
        char lp[8];
        size_t len = strlen(pats[i]);
        for (size_t k = 0; k <= len; k++)
            lp[k] = (char)(pats[i][k] >= 'A' && pats[i][k] <= 'Z' ? pats[i][k] + 32 : pats[i][k]);
        want[i] = 0;
        for (size_t off = 0; off + len <= TEXTLEN; off++)
            if (memcmp(lower + off, lp, len) == 0)
                want[i]++;
    }
    tally t = {got};
    bg_ac_scan(a, text, TEXTLEN, count_hit, &t);
    for (unsigned i = 0; i < NPAT; i++)
        if (want[i] != got[i])
            fail_msg("pattern %u '%s': %u hits, naive search %u", i, pats[i], got[i], want[i]);
    bg_ac_free(a);
}

/* ---- bg_rules ---- */

static const char admin_ok[] =
    "# an admin file\n"
    "rule my-corp-filter\n"
    "  category content-rejected\n"
    "  priority 95\n"
    "  phrase rejected by corpfilter\n"
    "\n"
    "rule unknown-user-words\n"
    "  category unknown-user\n"
    "  priority 60\n"
    "  phrase benutzer unbekannt\n"
    "disable greylisting\n";

static void rules_builtin_loads(void **state)
{
    (void)state;
    char err[300];
    const char *t = bg_rules_builtin_text();
    assert_true(strlen(t) > 1000);
    bg_rules *r = bg_rules_parse(NULL, t, strlen(t), "builtin", err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_true(bg_rules_count(r) >= 50);
    /* precedence order: priorities never rise */
    for (size_t i = 1; i < bg_rules_count(r); i++)
        assert_true(bg_rules_at(r, i - 1)->priority >= bg_rules_at(r, i)->priority);
    bg_rules_free(r);
    bg_rules_free(NULL);
}

static void rules_admin_overrides(void **state)
{
    (void)state;
    char err[300];
    bg_rules *base = bg_rules_load(NULL);
    assert_non_null(base);
    bg_rules *r = bg_rules_parse(base, admin_ok, strlen(admin_ok), "admin.conf", err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    /* one added, one replaced, one disabled */
    assert_int_equal(bg_rules_count(r), bg_rules_count(base));
    bg_verdict v;
    bg_classify_text(r, "550 5.7.1 message rejected by CorpFilter (spam score)", 0, &v);
    assert_string_equal(v.rule, "admin:my-corp-filter");
    bg_classify_text(r, "550 Benutzer   unbekannt", 0, &v);
    assert_string_equal(v.rule, "admin:unknown-user-words");
    assert_string_equal(v.category->id, "unknown-user");
    /* the replaced rule lost its built-in phrases */
    bg_classify_text(r, "550 no such user here", 0, &v);
    assert_string_not_equal(v.rule, "admin:unknown-user-words");
    /* the disabled rule is gone from the admin set, not from the base */
    bg_classify_text(r, "451 4.7.1 Greylisted, please try again", 1, &v);
    assert_string_not_equal(v.category->id, "greylisted");
    bg_classify_text(base, "451 4.7.1 Greylisted, please try again", 1, &v);
    assert_string_equal(v.category->id, "greylisted");
    bg_rules_free(r);
    bg_rules_free(base);
}

static void rules_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"category unknown-user\n", "t:1: 'category' outside a rule"},
        {"rule a\ncategory nope\n", "t:2: unknown category 'nope'"},
        {"rule a\ncategory not-a-bounce\nreply 550\n", "t:2: unknown category"},
        {"rule a\ncategory unknown-user\n", "t:1: rule 'a' needs a condition"},
        {"rule a\nphrase x\n\nrule b\n", "t:1: rule 'a' has no category"},
        {"rule a\ncategory unknown-user\nstatus 5.1\n", "t:3: bad status pattern '5.1'"},
        {"rule a\ncategory unknown-user\nstatus 6.1.1\n", "t:3: bad status pattern"},
        {"rule a\ncategory unknown-user\nreply 55\n", "t:3: bad reply pattern '55'"},
        {"rule a\ncategory unknown-user\npriority 1000\nreply 550\n", "t:3: priority must be"},
        {"rule a\ncategory unknown-user\nreply 550\nrule a\n", "t:4: rule 'a' defined twice"},
        {"rule a b\n", "t:1: bad rule name 'a b'"},
        {"rule a\ncategory unknown-user\nfrobnicate 1\n", "t:3: unknown keyword 'frobnicate'"},
        {"disable nothing-like-this\n", "t:1: disable: no rule named 'nothing-like-this'"},
        {"rule a\ncategory unknown-user\nphrase x | | y\n", "t:3: empty, too long or bad"},
        {"rule a\ncategory unknown-user\nsuppress often\nreply 550\n", "t:3: suppress must be"},
        {"rule a\ncategory unknown-user\nstage rcpt quit\nreply 550\n",
         "t:3: stage must be connect, helo, mail, rcpt or data, not 'quit'"},
        {NULL, NULL},
    };
    /* a huge admin file is refused, not compiled into a huge automaton */
    {
        size_t cap = 300000, n = 0;
        char *big = malloc(cap);
        assert_non_null(big);
        n += (size_t)snprintf(big, cap, "rule big\ncategory unknown-user\n");
        for (unsigned k = 0; n + 40 < cap; k++)
            n += (size_t)snprintf(big + n, cap - n, "phrase some long phrase number %u\n", k);
        char err[300] = "";
        bg_rules *r = bg_rules_parse(NULL, big, n, "t", err, sizeof err);
        free(big);
        assert_null(r);
        assert_non_null(strstr(err, "phrases too long in total"));
    }
    for (size_t i = 0; cases[i].text; i++) {
        char err[300] = "";
        bg_rules *r = bg_rules_parse(NULL, cases[i].text, strlen(cases[i].text), "t", err,
                                     sizeof err);
        if (r)
            fail_msg("case %zu parsed: %s", i, cases[i].text);
        if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("case %zu: got '%s' want '%s'", i, err, cases[i].err);
    }
}

static void rules_patterns(void **state)
{
    (void)state;
    assert_true(bg_rule_status_match("5.1.1", "5.1.1"));
    assert_false(bg_rule_status_match("5.1.1", "5.1.10"));
    assert_true(bg_rule_status_match("5.7.*", "5.7.26"));
    assert_false(bg_rule_status_match("5.7.*", "4.7.26"));
    assert_true(bg_rule_status_match("*.7.*", "4.7.26"));
    assert_true(bg_rule_status_match("5.*.*", "5.0.0"));
    assert_false(bg_rule_status_match("5.*.*", ""));
    assert_true(bg_rule_reply_match("55x", 554));
    assert_false(bg_rule_reply_match("55x", 450));
    assert_true(bg_rule_reply_match("4xx", 421));
    assert_false(bg_rule_reply_match("4xx", 0));
    /* shorthand forms normalise: "5.7." and "4.x.x" */
    const char *t = "rule a\ncategory policy-rejected\nstatus 5.7. 4.x.x\n";
    char err[200];
    bg_rules *r = bg_rules_parse(NULL, t, strlen(t), "t", err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_string_equal(bg_rules_at(r, 0)->status[0], "5.7.*");
    assert_string_equal(bg_rules_at(r, 0)->status[1], "4.*.*");
    bg_rules_free(r);
}

/* Words must match as whole words unless '*' says otherwise. */
static void rules_word_boundaries(void **state)
{
    (void)state;
    const char *t = "rule w\ncategory content-rejected\nphrase spam\n"
                    "rule s\ncategory sender-blocklisted\nphrase *blacklist*\n";
    char err[200];
    bg_rules *r = bg_rules_parse(NULL, t, strlen(t), "t", err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    bg_verdict v;
    bg_classify_text(r, "550 looks like SPAM.", 0, &v);
    assert_string_equal(v.rule, "builtin:w");
    bg_classify_text(r, "550 antispam gateway said no", 0, &v);
    assert_string_equal(v.rule, "default:unknown");
    bg_classify_text(r, "550 listed in our ipblacklists", 0, &v);
    assert_string_equal(v.rule, "builtin:s");
    bg_rules_free(r);
}

/* Conditions of different kinds all hold; admin beats built-in at equal
 * priority; suppress overrides the category default (a 4xx still counts). */
static void rules_conditions(void **state)
{
    (void)state;
    const char *t = "rule quirk\ncategory policy-rejected\npriority 70\nmta example.net\n"
                    "phrase unknown user\n"
                    "rule words\ncategory unknown-user\npriority 60\nphrase unknown user\n"
                    "rule code\ncategory unknown-user\npriority 40\nstatus 5.1.1\nreply 55x\n"
                    "rule weak\ncategory unknown-domain\npriority 92\nsuppress address\n"
                    "phrase may not exist\n";
    char err[200];
    bg_rules *r = bg_rules_parse(NULL, t, strlen(t), "t", err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    bg_bounce b;
    bg_rcpt rc;
    bg_verdict v;
    memset(&b, 0, sizeof b);
    memset(&rc, 0, sizeof rc);
    b.kind = BG_MSG_FAILURE;
    b.rcpts = &rc;
    b.nrcpt = 1;
    snprintf(rc.action, sizeof rc.action, "failed");
    snprintf(rc.diagnostic, sizeof rc.diagnostic, "550 Unknown user x");
    static const struct {
        const char *mta, *rule;
    } mtas[] = {{"mx1.example.net", "builtin:quirk"}, {"[mx.example.net.]", "builtin:quirk"},
                {"example.net", "builtin:quirk"},      {"badexample.net", "builtin:words"},
                {"example.net.evil.test", "builtin:words"}, {"", "builtin:words"},
                {NULL, NULL}};
    for (size_t i = 0; mtas[i].mta; i++) {
        snprintf(rc.remote_mta, sizeof rc.remote_mta, "%s", mtas[i].mta);
        bg_classify_rcpt(r, &b, &rc, &v);
        if (strcmp(v.rule, mtas[i].rule) != 0)
            fail_msg("mta '%s': %s, want %s", mtas[i].mta, v.rule, mtas[i].rule);
    }
    /* status AND reply: both needed */
    rc.remote_mta[0] = '\0';
    snprintf(rc.status, sizeof rc.status, "5.1.1");
    snprintf(rc.diagnostic, sizeof rc.diagnostic, "550 5.1.1 gone");
    bg_classify_rcpt(r, &b, &rc, &v);
    assert_string_equal(v.rule, "builtin:code");
    snprintf(rc.diagnostic, sizeof rc.diagnostic, "gone");
    bg_classify_rcpt(r, &b, &rc, &v);
    assert_string_equal(v.rule, "default:unknown");
    /* suppress override, and a 4xx lowers it to count */
    snprintf(rc.status, sizeof rc.status, "5.0.0");
    snprintf(rc.diagnostic, sizeof rc.diagnostic, "550 the domain may not exist");
    bg_classify_rcpt(r, &b, &rc, &v);
    assert_string_equal(v.category->id, "unknown-domain");
    assert_string_equal(bg_suppress_name(v.suppress), "address");
    snprintf(rc.diagnostic, sizeof rc.diagnostic, "450 the domain may not exist");
    bg_classify_rcpt(r, &b, &rc, &v);
    assert_string_equal(bg_suppress_name(v.suppress), "count");
    /* a stage condition holds only when the report names that stage */
    {
        const char *st = "rule at-data\ncategory sender-rejected\npriority 80\nstage data mail\n"
                         "phrase unknown user\n";
        bg_rules *s = bg_rules_parse(r, st, strlen(st), "s", err, sizeof err);
        if (!s)
            fail_msg("%s", err);
        static const struct {
            const char *diag, *human, *rule;
        } stg[] = {
            {"550 Unknown user x", "", "builtin:words"},
            {"550 Unknown user x", "said: 550 Unknown user x (in reply to end of DATA command)",
             "admin:at-data"},
            {"550 Unknown user x", "said: 550 Unknown user x (in reply to RCPT TO command)",
             "builtin:words"},
            {"SMTP error from remote mail server after MAIL FROM:<s@example.org>: 550 Unknown user x",
             "", "admin:at-data"},
            {"550 Unknown user x", ">>> DATA\n<<< 550 Unknown user x", "admin:at-data"},
            {NULL, NULL, NULL},
        };
        snprintf(rc.status, sizeof rc.status, "5.0.0");
        for (size_t i = 0; stg[i].diag; i++) {
            snprintf(rc.diagnostic, sizeof rc.diagnostic, "%s", stg[i].diag);
            b.human_text = (char *)stg[i].human;
            bg_classify_rcpt(s, &b, &rc, &v);
            if (strcmp(v.rule, stg[i].rule) != 0)
                fail_msg("stage case %zu: %s, want %s", i, v.rule, stg[i].rule);
        }
        b.human_text = NULL;
        bg_rules_free(s);
    }
    /* admin rule at the same priority goes first */
    const char *adm = "rule mine\ncategory mailbox-disabled\npriority 60\nphrase unknown user\n";
    bg_rules *a = bg_rules_parse(r, adm, strlen(adm), "a", err, sizeof err);
    if (!a)
        fail_msg("%s", err);
    snprintf(rc.diagnostic, sizeof rc.diagnostic, "550 Unknown user x");
    bg_classify_rcpt(a, &b, &rc, &v);
    assert_string_equal(v.rule, "admin:mine");
    bg_rules_free(a);
    bg_rules_free(r);
}

static char logged[1100];
static void log_sink(bg_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level >= BG_LOG_WARN)
        snprintf(logged, sizeof logged, "%s", msg);
}

/* A broken admin file: one warning naming file:line, built-in rules stay. */
static void rules_load_falls_back(void **state)
{
    (void)state;
    char path[] = "/tmp/bg-test-rules-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "rule x\ncategory unknown-user\nphrase fine\nbogus line\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (int)strlen(bad));
    close(fd);
    bg_log_set(log_sink, NULL);
    logged[0] = '\0';
    bg_rules *r = bg_rules_load(path);
    assert_non_null(r);
    assert_non_null(strstr(logged, ":4: unknown keyword 'bogus'"));
    assert_non_null(strstr(logged, path));
    bg_rules *b = bg_rules_load(NULL);
    assert_int_equal(bg_rules_count(r), bg_rules_count(b));
    logged[0] = '\0';
    bg_rules *m = bg_rules_load("/nonexistent/bg-rules.conf");
    assert_non_null(m);
    assert_non_null(strstr(logged, "/nonexistent/bg-rules.conf"));
    bg_log_set(NULL, NULL);
    unlink(path);
    bg_rules_free(r);
    bg_rules_free(b);
    bg_rules_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ac_finds_all),
        cmocka_unit_test(ac_matches_naive),
        cmocka_unit_test(rules_builtin_loads),
        cmocka_unit_test(rules_admin_overrides),
        cmocka_unit_test(rules_errors),
        cmocka_unit_test(rules_patterns),
        cmocka_unit_test(rules_word_boundaries),
        cmocka_unit_test(rules_conditions),
        cmocka_unit_test(rules_load_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
