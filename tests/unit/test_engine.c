/* The engine (bg_engine, issue 14 "One engine"): the one folding function
 * (table-driven, hostile values included), the config as every Exim entry
 * point reads it (missing, broken, changed, warnings), the one classify
 * loop and the caller's hooks (the cause of a give-up, the record, the
 * diagnosis, the facts, the stages), and the outcome of one message. The
 * golden files and the injection tests also run through the engine
 * (test_render.c, test_inject.c); tests/e2e/test_inject.py compares what
 * the real Exim delivered with the engine's output for the same input.
 */
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
#include <unistd.h>

#include "bg_buf.h"
#include "bg_engine.h"
#include "bg_log.h"
#include "bg_render.h"

static const char *top(void)
{
    const char *t = getenv("BG_TOP");
    return t && *t ? t : BG_TOP;
}

static char *slurp(const char *path, size_t *len)
{
    bg_buf b;
    bg_buf_init(&b);
    const char *why;
    if (bg_buf_read_file(&b, path, 1u << 24, &why) != 0)
        return NULL;
    *len = b.len;
    return bg_buf_take(&b);
}

static char *golden(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/golden/%s", top(), name);
    char *m = slurp(path, len);
    if (!m)
        fail_msg("cannot read %s", path);
    return m;
}

/* Log lines the core writes, for the cases that count them. */
static int log_n;
static char log_last[512];
static void log_count(bg_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == BG_LOG_DEBUG)
        return;
    log_n++;
    snprintf(log_last, sizeof log_last, "%s", msg);
}

static char tmpdir[] = "/tmp/bg-test-engine-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write text to tmpdir/name; returns the path (static per name slot). */
static const char *put(const char *name, const char *text)
{
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* ---- the one folding function --------------------------------------------- */

static void fold_table(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value, *eol, *want; /* want NULL: refused */
    } t[] = {
        {"X-Bounce-Severity", "permanent", NULL, "X-Bounce-Severity: permanent\n"},
        {"X-A", "", NULL, "X-A:\n"},
        {"X-A", "a  b\t\tc ", "\r\n", "X-A: a b c\r\n"},
        /* CR, LF and the other controls never end the field */
        {"Subject", "hi\r\nBcc: victim@example.com\rX-Injected: 1\n\n--b", NULL,
         "Subject: hi Bcc: victim@example.com X-Injected: 1 --b\n"},
        {"Subject", "a\x01\x7f" "b\x1b[31mc", NULL, "Subject: a b [31mc\n"},
        /* not ASCII: RFC 2047 words (an encoded value is left as it is) */
        {"Subject", "Zustellung fehlgeschlagen: Größe", NULL,
         "Subject: =?UTF-8?B?WnVzdGVsbHVuZyBmZWhsZ2VzY2hsYWdlbjogR3LDtsOfZQ==?=\n"},
        {"Subject", "=?UTF-8?B?w7w=?= =?UTF-8?B?w6Q=?=", NULL,
         "Subject: =?UTF-8?B?w7w=?= =?UTF-8?B?w6Q=?=\n"},
        /* folded before column 78 at a blank; a word too long for a line
         * stays whole on its own */
        {"Subject",
         "Undeliverable to 3 recipients: Quarterly report for the board of directors and "
         "the auditors -- address not found, mailbox full",
         NULL,
         "Subject: Undeliverable to 3 recipients: Quarterly report for the board of\n"
         " directors and the auditors -- address not found, mailbox full\n"},
        {"X-B", "short "
                "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234"
                " end",
         NULL,
         "X-B: short\n"
         " 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234\n"
         " end\n"},
        /* names */
        {"", "x", NULL, NULL},
        {"Bad Name", "x", NULL, NULL},
        {"Bad:Name", "x", NULL, NULL},
        {"X-\xc3\xa4", "x", NULL, NULL},
        {"X-0123456789012345678901234567890123456789012345678901234567890123", "x", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        bg_buf b;
        bg_buf_init(&b);
        int rc = bg_render_fold_header(&b, t[i].name, t[i].value, t[i].eol);
        if (!t[i].want) {
            if (rc != -1)
                fail_msg("case %zu (%s): accepted", i, t[i].name);
        } else if (rc != 0 || strcmp(bg_buf_str(&b), t[i].want) != 0) {
            fail_msg("case %zu: got [%s] want [%s]", i, bg_buf_str(&b), t[i].want);
        }
        bg_buf_free(&b);
    }
}

/* Hostile sizes: a value of 100 KB in one word and in many words: every
 * line under 998 bytes, the value bounded, folded only at blanks. */
static void fold_bounds(void **state)
{
    (void)state;
    size_t n = 100000;
    char *one = malloc(n + 1), *many = malloc(n + 1);
    assert_non_null(one);
    assert_non_null(many);
    for (size_t i = 0; i < n; i++) {
        one[i] = 'a' + (char)(i % 26);
        many[i] = i % 7 == 6 ? ' ' : 'x';
    }
    one[n] = many[n] = '\0';
    const char *vals[] = {one, many};
    for (int k = 0; k < 2; k++) {
        bg_buf b;
        bg_buf_init(&b);
        assert_int_equal(bg_render_fold_header(&b, "X-Long", vals[k], NULL), 0);
        assert_true(b.len < 2100 + 2100 / 70);
        size_t col = 0, longest = 0;
        for (size_t i = 0; i < b.len; i++) {
            if (b.p[i] == '\n') {
                if (i + 1 < b.len)
                    assert_int_equal(b.p[i + 1], ' ');
                col = 0;
            } else if (++col > longest) {
                longest = col;
            }
        }
        assert_true(longest < 998);
        if (k == 1)
            assert_true(longest <= 78);
        bg_buf_free(&b);
    }
    free(one);
    free(many);
}

/* ---- the config as every entry point reads it ------------------------------- */

static void config_missing_and_broken(void **state)
{
    (void)state;
    bg_log_set(log_count, NULL);
    /* no file named: the defaults */
    bg_engine *e = bg_engine_new(NULL);
    assert_non_null(bg_engine_config(e));
    assert_string_equal(bg_engine_why(e), "");
    bg_engine_free(e);
    /* missing at the default path: the defaults; named elsewhere: broken */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.conf", tmpdir);
    bg_engine_opts o = {.config_path = missing, .missing_ok = 1};
    e = bg_engine_new(&o);
    assert_non_null(bg_engine_config(e));
    bg_engine_free(e);
    o.missing_ok = 0;
    e = bg_engine_new(&o);
    assert_null(bg_engine_config(e));
    assert_non_null(strstr(bg_engine_why(e), "No such file"));
    assert_null(bg_engine_rules(e));
    assert_null(bg_engine_langs(e, NULL));
    /* a message through a broken engine passes, saying why */
    size_t len;
    char *msg = golden("exim-three-rcpts.eml", &len);
    bg_engine_request rq = {.msg = msg, .len = len};
    bg_engine_result res;
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_PASSED);
    assert_non_null(strstr(res.why, "No such file"));
    assert_null(res.bounce);
    bg_engine_result_free(&res);
    bg_engine_free(e);
    /* syntax error, a value of the wrong type: broken, with the line */
    o.config_path = put("syntax.conf", "[domain x\n");
    e = bg_engine_new(&o);
    assert_null(bg_engine_config(e));
    assert_non_null(strstr(bg_engine_why(e), "config broken"));
    bg_engine_free(e);
    o.config_path = put("type.conf", "language = de\nmax_size = lots\n");
    e = bg_engine_new(&o);
    assert_null(bg_engine_config(e));
    assert_non_null(strstr(bg_engine_why(e), "type.conf:2"));
    /* fixed: usable again at the next refresh */
    put("type.conf", "language = de\nmax_size = 2M\n# a longer file, another size\n");
    int reloaded = 0;
    assert_non_null(bg_engine_refresh(e, &reloaded));
    assert_int_equal(reloaded, 1);
    assert_string_equal(bg_engine_why(e), "");
    bg_engine_free(e);
    free(msg);
    bg_log_set(NULL, NULL);
}

static void config_reload_and_warn(void **state)
{
    (void)state;
    bg_log_set(log_count, NULL);
    const char *path = put("reload.conf", "language = en\nno_such_key = 1\nalso_unknown = 2\n"
                                          "third = 3\nfourth = 4\n");
    bg_engine_opts o = {.config_path = path};
    bg_engine *e = bg_engine_new(&o);
    assert_non_null(bg_engine_config(e));
    unsigned g = bg_engine_generation(e);
    /* warnings: three by name and a count, once per load */
    log_n = 0;
    bg_engine_warn(e);
    assert_int_equal(log_n, 4);
    assert_non_null(strstr(log_last, "1 more"));
    bg_engine_warn(e);
    assert_int_equal(log_n, 4);
    /* unchanged: not read again */
    int reloaded = 1;
    bg_engine_refresh(e, &reloaded);
    assert_int_equal(reloaded, 0);
    assert_int_equal(bg_engine_generation(e), g);
    const bg_rules *r1 = bg_engine_rules(e);
    assert_non_null(r1);
    /* changed (another size, a later mtime): read again, rules made anew
     * from the new rules_file */
    const char *rules = put("rules.conf", "rule frobnicated\ncategory mailbox-full\n"
                                          "phrase frobnicated\n");
    char text[1200];
    snprintf(text, sizeof text, "language = en\nrules_file = %s\n", rules);
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    put("reload.conf", text);
    bg_engine_refresh(e, &reloaded);
    assert_int_equal(reloaded, 1);
    assert_int_equal(bg_engine_generation(e), g + 1);
    log_n = 0;
    bg_engine_warn(e);
    assert_int_equal(log_n, 0); /* the new file has no unknown key */
    bg_verdict v;
    assert_int_equal(bg_engine_classify_text(e, "550 your box is frobnicated", 0, "", &v), 0);
    assert_string_equal(v.category->id, "mailbox-full");
    assert_non_null(strstr(v.rule, "frobnicated"));
    /* the delivery path knows the MX that answered: a provider's rule
     * (mta docomo.ne.jp) holds there as in a report's Remote-MTA */
    static const char *data_stage =
        "SMTP error from remote mail server after end of data: 550 Unknown user a@docomo.ne.jp";
    assert_int_equal(bg_engine_classify_text(e, data_stage, 0, "mfsmax.docomo.ne.jp", &v), 0);
    assert_string_equal(v.category->id, "sender-rejected");
    assert_int_equal(bg_engine_classify_text(e, data_stage, 0, "mx.example.net", &v), 0);
    assert_string_equal(v.category->id, "unknown-user");
    static const char *rcpt_stage = "SMTP error from remote mail server after RCPT "
                                    "TO:<a@docomo.ne.jp>: 550 Unknown user a@docomo.ne.jp";
    assert_int_equal(bg_engine_classify_text(e, rcpt_stage, 0, "mfsmax.docomo.ne.jp", &v), 0);
    assert_string_equal(v.category->id, "unknown-user");
    bg_engine_free(e);
    bg_log_set(NULL, NULL);
}

/* ---- the classify loop and the hooks ---------------------------------------- */

typedef struct hook_log {
    int causes, classified, diagnosed, facts;
    char seen_msgid[300], seen_rcpt[300];
    int stages[8];
    int nstages;
    const char *cause;  /* what last_cause answers */
    bg_catalog_var vars[2];
} hook_log;

static void h_cause(void *ctx, const bg_config *cfg, const char *message_id,
                    const char *const *rcpts, size_t n, char (*cats)[BG_ENGINE_CAUSE_MAX])
{
    hook_log *h = ctx;
    assert_non_null(cfg);
    h->causes++;
    snprintf(h->seen_msgid, sizeof h->seen_msgid, "%s", message_id);
    snprintf(h->seen_rcpt, sizeof h->seen_rcpt, "%s", n ? rcpts[0] : "");
    for (size_t i = 0; i < n; i++)
        snprintf(cats[i], BG_ENGINE_CAUSE_MAX, "%s", h->cause);
}

static void h_classified(void *ctx, const bg_config *cfg, const bg_bounce *b, bg_verdict *v,
                         size_t n)
{
    (void)cfg;
    (void)b;
    (void)v;
    hook_log *h = ctx;
    assert_true(n > 0);
    h->classified++;
}

static void h_diagnose(void *ctx, const bg_config *cfg, const bg_lang_pick *lang,
                       const bg_bounce *b, const bg_verdict *v, size_t n, bg_render_extra *extra)
{
    (void)cfg;
    (void)b;
    (void)v;
    hook_log *h = ctx;
    assert_non_null(lang->catalog);
    h->diagnosed++;
    for (size_t i = 0; i < n; i++)
        extra[i].admin_text = "DIAGNOSIS-FROM-THE-HOOK";
}

static void h_facts(void *ctx, const bg_config *cfg, const bg_lang_pick *lang, const bg_bounce *b,
                    const bg_verdict *v, size_t n, bg_render_extra *extra)
{
    (void)cfg;
    (void)lang;
    (void)b;
    (void)v;
    (void)extra;
    (void)n;
    hook_log *h = ctx;
    h->facts++;
}

static void h_stage(void *ctx, int stage)
{
    hook_log *h = ctx;
    if (h->nstages < 8)
        h->stages[h->nstages++] = stage;
}

/* "retry timeout exceeded" alone: the caller's cause, taken with the
 * taxonomy's rules and named in the verdict's rule; every hook once, in
 * order. */
static void hooks_cause_and_order(void **state)
{
    (void)state;
    size_t len;
    char *msg = golden("exim-retry-timeout.eml", &len);
    bg_engine *e = bg_engine_new(NULL);
    hook_log h = {.cause = "mailbox-full"};
    bg_engine_hooks hooks = {.ctx = &h, .last_cause = h_cause, .cause_origin = "test:cause",
                             .classified = h_classified, .diagnose = h_diagnose,
                             .facts = h_facts, .stage = h_stage};
    bg_engine_request rq = {.msg = msg, .len = len, .sender = "alice@example.org",
                            .sender_domain = "example.org", .hooks = &hooks};
    bg_engine_result res;
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_REWRITTEN);
    assert_int_equal(h.causes, 1);
    assert_string_equal(h.seen_msgid, "<20261119091355.99@example.org>");
    assert_string_equal(h.seen_rcpt, "frank@slow.example");
    assert_string_equal(res.verdicts[0].category->id, "mailbox-full");
    assert_string_equal(res.verdicts[0].rule, "test:cause");
    assert_int_equal(h.classified, 1);
    assert_int_equal(h.diagnosed, 1);
    assert_int_equal(h.facts, 1);
    assert_int_equal(h.nstages, 3);
    assert_int_equal(h.stages[0], BG_ENGINE_STAGE_READ);
    assert_int_equal(h.stages[1], BG_ENGINE_STAGE_CLASSIFY);
    assert_int_equal(h.stages[2], BG_ENGINE_STAGE_LOADED);
    /* the diagnosis reaches the administrator's section */
    assert_non_null(strstr(res.render.body.p, "DIAGNOSIS-FROM-THE-HOOK"));
    bg_engine_result_free(&res);
    /* no cause known: expired stays */
    memset(&h, 0, sizeof h);
    h.cause = "";
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_REWRITTEN);
    assert_int_equal(h.causes, 1);
    assert_string_equal(res.verdicts[0].category->id, "expired");
    bg_engine_result_free(&res);
    /* a sender-side cause is never taken (taxonomy) */
    h.cause = "sender-blocklisted";
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_REWRITTEN);
    assert_string_equal(bg_suppress_name(res.verdicts[0].suppress), "none");
    bg_engine_result_free(&res);
    /* record only (enabled = no): classified and recorded, not rendered */
    memset(&h, 0, sizeof h);
    h.cause = "";
    rq.record_only = 1;
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_UNCHANGED);
    assert_int_equal(h.classified, 1);
    assert_int_equal(h.diagnosed, 0);
    assert_int_equal(res.render.body.len, 0);
    assert_int_equal(res.nheaders, 0);
    bg_engine_result_free(&res);
    bg_engine_free(e);
    free(msg);
}

/* The one classify loop is bg_classify_rcpt per recipient (and for a
 * report without recipients, one verdict for it). */
static void classify_loop(void **state)
{
    (void)state;
    size_t len;
    char *msg = golden("exim-three-rcpts.eml", &len);
    bg_engine *e = bg_engine_new(NULL);
    bg_read_status rs;
    bg_bounce *b = bg_bounce_read(msg, len, NULL, &rs);
    assert_non_null(b);
    bg_verdict v[3], w;
    assert_int_equal(bg_engine_classify(e, b, v, NULL), 3);
    bg_rules *r = bg_rules_load(NULL);
    for (size_t i = 0; i < 3; i++) {
        bg_classify_rcpt(r, b, &b->rcpts[i], &w);
        assert_ptr_equal(w.category, v[i].category);
        assert_string_equal(w.rule, v[i].rule);
        assert_string_equal(w.status, v[i].status);
    }
    bg_bounce_free(b);
    free(msg);
    msg = golden("exim-success.eml", &len);
    b = bg_bounce_read(msg, len, NULL, &rs);
    assert_non_null(b);
    size_t want = b->nrcpt ? b->nrcpt : 1;
    bg_verdict *vs = calloc(want, sizeof *vs);
    assert_int_equal(bg_engine_classify(e, b, vs, NULL), want);
    assert_non_null(vs[0].category);
    free(vs);
    bg_bounce_free(b);
    bg_rules_free(r);
    bg_engine_free(e);
    free(msg);
}

/* ---- one message: outcomes -------------------------------------------------- */

static void outcomes(void **state)
{
    (void)state;
    bg_engine *e = bg_engine_new(NULL);
    bg_engine_result res;
    size_t len;
    /* not a report */
    char *msg = golden("exim-success.eml", &len);
    bg_engine_request rq = {.msg = msg, .len = len};
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_UNCHANGED);
    assert_string_equal(res.why, "not a failure or delay report");
    assert_int_equal(bg_engine_apply(msg, len, &res, &(bg_buf){0}), -1);
    bg_engine_result_free(&res);
    free(msg);
    /* unreadable: passed, not an error of ours */
    rq.msg = "";
    rq.len = 0;
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_PASSED);
    assert_int_equal(res.error, 0);
    assert_non_null(strstr(res.why, "cannot read the message"));
    bg_engine_result_free(&res);
    /* already enriched: unchanged */
    msg = golden("exim-three-rcpts.eml", &len);
    rq.msg = msg;
    rq.len = len;
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_REWRITTEN);
    bg_buf once;
    bg_buf_init(&once);
    assert_int_equal(bg_engine_apply(msg, len, &res, &once), 0);
    /* the lines are the edits, folded: the same bytes bg_render_apply writes */
    bg_buf via_render;
    bg_buf_init(&via_render);
    assert_int_equal(bg_render_apply(msg, len, res.bounce, &res.render, &via_render), 0);
    assert_int_equal(once.len, via_render.len);
    assert_memory_equal(once.p, via_render.p, once.len);
    /* every removed field is named, every added line starts with its name */
    size_t added = 0;
    for (size_t i = 0; i < res.nheaders; i++) {
        if (!res.headers[i].line)
            continue;
        added++;
        assert_int_equal(strncmp(res.headers[i].line, res.headers[i].name,
                                 strlen(res.headers[i].name)), 0);
    }
    assert_true(added >= 3);
    bg_engine_result_free(&res);
    rq.msg = once.p;
    rq.len = once.len;
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_UNCHANGED);
    assert_non_null(strstr(res.why, "already enriched"));
    bg_engine_result_free(&res);
    /* the forced language */
    rq.msg = msg;
    rq.len = len;
    rq.lang = "fr";
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_REWRITTEN);
    assert_string_equal(res.lang.sender, "fr");
    assert_string_equal(res.lang.source, "forced");
    bg_engine_result_free(&res);
    bg_buf_free(&once);
    bg_buf_free(&via_render);
    free(msg);
    bg_engine_free(e);
}

/* No catalogue (a data_dir without guidance/): the message passes
 * unchanged with one line, after the record hook ran. */
static void no_catalogue(void **state)
{
    (void)state;
    bg_log_set(log_count, NULL);
    char conf[1200];
    snprintf(conf, sizeof conf, "data_dir = %s/nope\n", tmpdir);
    bg_engine_opts o = {.config_path = put("nocat.conf", conf)};
    bg_engine *e = bg_engine_new(&o);
    assert_non_null(bg_engine_config(e));
    size_t len;
    char *msg = golden("exim-three-rcpts.eml", &len);
    hook_log h = {.cause = ""};
    bg_engine_hooks hooks = {.ctx = &h, .classified = h_classified};
    bg_engine_request rq = {.msg = msg, .len = len, .hooks = &hooks};
    bg_engine_result res;
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_PASSED);
    assert_int_equal(h.classified, 1);
    assert_non_null(strstr(res.why, "nope"));
    assert_int_equal(res.nheaders, 0);
    bg_engine_result_free(&res);
    /* asked once per load, not once per message */
    log_n = 0;
    assert_int_equal(bg_engine_run(e, &rq, &res), BG_ENGINE_PASSED);
    assert_int_equal(log_n, 0);
    bg_engine_result_free(&res);
    bg_engine_free(e);
    free(msg);
    bg_log_set(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fold_table),
        cmocka_unit_test(fold_bounds),
        cmocka_unit_test(config_missing_and_broken),
        cmocka_unit_test(config_reload_and_warn),
        cmocka_unit_test(hooks_cause_and_order),
        cmocka_unit_test(classify_loop),
        cmocka_unit_test(outcomes),
        cmocka_unit_test(no_catalogue),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
