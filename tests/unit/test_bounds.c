/* Resource bounds (issue 6): hostile sizes and shapes finish in bounded
 * time and memory, and the decision is the one the limits promise.
 *
 * The limits the core enforces, and the case that tests each:
 *   reader max_size (bg_limits, default 32 MiB; Exim's max_size 4M)
 *                        100 MB bounce: BG_READ_TOO_LARGE at once
 *   MIME max_depth 16    10,000 nested multiparts: the walk stops at 16
 *   MIME max_parts 1000  100,000 sibling parts: the walk stops at 1000
 *   max_rcpts 1000       1,000,000 per-recipient blocks: 1000 kept
 *   BG_HDRS_MAX 20000    100,000 header fields: the rest skipped
 *   field sizes (BG_DIAG_MAX, BG_HDR_MAX, BG_FIELD_MAX; the renderer's
 *   150-byte Subject and 900-byte header values)
 *                        1 MB header lines (top-level Subject, the
 *                        returned message's Subject, a Diagnostic-Code)
 * Each case runs in a child process (fork) so that its peak RSS is its
 * own (wait4); the input is generated in the child at run time (never a
 * committed file). The child does what the Exim adapter does (the
 * engine: read, classify, render, fold) and reports the decision; the parent asserts it and
 * prints wall time, CPU time and peak RSS. Time is printed, never
 * asserted (a shared machine); memory is asserted against a generous
 * bound on top of the input's own size.
 * Under Valgrind (make valgrind runs every test) the sizes are divided by
 * 50: the decisions are the same, the figures are not the ones to quote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_classify.h"
#include "bg_config.h"
#include "bg_engine.h"
#include "bg_header.h"
#include "bg_mime.h"
#include "bg_render.h"

#if defined(__SANITIZE_ADDRESS__)
#define BG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BG_ASAN 1
#endif
#endif
#ifndef BG_ASAN
#define BG_ASAN 0
#endif

/* Extra memory (over the input) a case may use: generous, and more under
 * ASan, whose shadow and redzones count in the RSS. */
#define BG_BOUND_MB (BG_ASAN ? 768L : 256L)

static size_t scale = 1; /* 50 under Valgrind */

/* What a child reports. */
typedef struct outcome {
    int ran;
    size_t input_len;
    int read_status;      /* bg_read_status */
    int have_bounce;
    int kind;             /* bg_msg_kind */
    size_t nrcpt;
    int mime_limited;     /* the MIME walk hit a bound */
    size_t mime_parts;
    size_t hdr_fields;
    size_t max_field;     /* longest string field of the bounce */
    int render_status;    /* -1 = not rendered */
    size_t out_len;
    size_t max_edit;      /* longest header field the engine wrote (folded line) */
    double wall_s, cpu_s;
    long rss_input_kb;    /* peak RSS after generating the input */
} outcome;

typedef void (*gen_fn)(bg_buf *b);

static bg_engine *engine; /* the built-in defaults, as in Exim without a config file */

static double now_s(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t longest(size_t cur, const char *s)
{
    size_t n = strlen(s);
    return n > cur ? n : cur;
}

/* In the child: generate, then read, classify and render as the adapter
 * does, recording the decision and the cost. */
static void child(gen_fn gen, const bg_limits *lim, outcome *o)
{
    bg_buf msg;
    bg_buf_init(&msg);
    gen(&msg);
    if (bg_buf_failed(&msg))
        _exit(3);
    o->input_len = msg.len;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    o->rss_input_kb = ru.ru_maxrss;
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);

    /* the engine, as local_scan runs it: read with the limits, classify,
     * render, fold the header lines */
    bg_engine_request rq = {.msg = msg.p, .len = msg.len, .limits = lim, .sender_domain = ""};
    bg_engine_result res;
    bg_engine_outcome eo = bg_engine_run(engine, &rq, &res);
    const bg_bounce *b = res.bounce;
    o->read_status = (int)res.read_status;
    o->render_status = -1;
    if (b) {
        o->have_bounce = 1;
        o->kind = (int)b->kind;
        o->nrcpt = b->nrcpt;
        o->max_field = longest(longest(longest(0, b->subject), b->orig.subject), b->from);
        for (size_t i = 0; i < b->nrcpt; i++)
            o->max_field = longest(longest(o->max_field, b->rcpts[i].diagnostic),
                                   b->rcpts[i].recipient);
        /* what the walker saw, with the reader's default bounds */
        bg_mime m;
        char eol = bg_eol_detect(msg.p, msg.len);
        if (bg_mime_walk(&m, msg.p, b->headers.off, msg.len, eol, 0, 0) > 0) {
            o->mime_limited = m.limited;
            o->mime_parts = m.n;
        }
        bg_mime_free(&m);
        bg_hdrs h;
        o->hdr_fields = bg_hdrs_parse(&h, msg.p, b->headers.off, msg.len, eol);
        bg_hdrs_free(&h);
        o->render_status = eo == BG_ENGINE_REWRITTEN   ? BG_RENDER_OK
                           : eo == BG_ENGINE_UNCHANGED ? BG_RENDER_NOT_APPLICABLE
                                                       : BG_RENDER_ERROR;
        o->out_len = res.render.body.len;
        for (size_t i = 0; i < res.nheaders; i++)
            if (res.headers[i].line && res.headers[i].len > o->max_edit)
                o->max_edit = res.headers[i].len;
    }
    bg_engine_result_free(&res);
    o->wall_s = now_s(CLOCK_MONOTONIC) - w0;
    o->cpu_s = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    o->ran = 1;
    bg_buf_free(&msg);
}

static const char *const st_names[] = {"ok", "empty", "too-large", "binary", "nomem"};
static const char *const rs_names[] = {"rewritten", "not-applicable", "error"};

/* Run one case in a child; print and return its outcome. */
static outcome run_case(const char *name, gen_fn gen, const bg_limits *lim)
{
    outcome *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child(gen, lim, sh);
        _exit(0);
    }
    int status = 0;
    struct rusage ru;
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: child died (status 0x%x)", name, status);
    outcome o = *sh;
    munmap(sh, sizeof *sh);
    assert_true(o.ran);
    long peak_mb = ru.ru_maxrss / 1024, input_mb = o.rss_input_kb / 1024;
    printf("bounds: %-34s input %8.1f MB  read %-9s rcpts %-5zu parts %-5zu%s render %-14s"
           " out %7.1f MB  wall %6.2f s  cpu %6.2f s  peak RSS %4ld MB (%ld MB over the input)%s\n",
           name, (double)o.input_len / 1e6, st_names[o.read_status], o.nrcpt, o.mime_parts,
           o.mime_limited ? "+" : " ",
           o.render_status < 0 ? "-" : rs_names[o.render_status], (double)o.out_len / 1e6,
           o.wall_s, o.cpu_s, peak_mb, peak_mb - input_mb, scale > 1 ? " [valgrind: 1/50]" : "");
    if (peak_mb - input_mb > BG_BOUND_MB)
        fail_msg("%s: %ld MB over the input (bound %ld MB)", name, peak_mb - input_mb,
                 BG_BOUND_MB);
    return o;
}

/* ---- generators -------------------------------------------------------- */

static void dsn_head(bg_buf *b, const char *boundary)
{
    bg_buf_printf(b, "Return-path: <>\n"
                     "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
                     "To: alice@example.org\n"
                     "Subject: Mail delivery failed: returning message to sender\n"
                     "Auto-Submitted: auto-replied\n"
                     "MIME-Version: 1.0\n"
                     "Content-Type: multipart/report; report-type=delivery-status;"
                     " boundary=\"%s\"\n\n",
                  boundary);
}

static void status_block(bg_buf *b, size_t i)
{
    bg_buf_printf(b, "Final-Recipient: rfc822;u%zu@example.net\nAction: failed\nStatus: 5.1.1\n\n",
                  i);
}

/* 10,000 multipart levels, the delivery-status part at the bottom. */
static void gen_nested_deep_status(bg_buf *b)
{
    size_t levels = 10000 / scale;
    bg_buf_adds(b, "From: Mailer-Daemon@mx.example.org\nTo: alice@example.org\n"
                   "Subject: Undelivered Mail\nMIME-Version: 1.0\n");
    for (size_t i = 0; i < levels; i++)
        bg_buf_printf(b, "Content-Type: multipart/mixed; boundary=\"b%zu\"\n\n--b%zu\n", i, i);
    bg_buf_adds(b, "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n");
    status_block(b, 0);
    for (size_t i = levels; i-- > 0;)
        bg_buf_printf(b, "--b%zu--\n", i);
}

/* A normal report whose human-readable part is 10,000 levels deep. */
static void gen_nested_deep_human(bg_buf *b)
{
    size_t levels = 10000 / scale;
    dsn_head(b, "top");
    bg_buf_adds(b, "--top\n");
    for (size_t i = 0; i < levels; i++)
        bg_buf_printf(b, "Content-Type: multipart/mixed; boundary=\"b%zu\"\n\n--b%zu\n", i, i);
    bg_buf_adds(b, "Content-Type: text/plain\n\nThe message could not be delivered.\n");
    for (size_t i = levels; i-- > 0;)
        bg_buf_printf(b, "--b%zu--\n", i);
    bg_buf_adds(b, "--top\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n");
    status_block(b, 0);
    bg_buf_adds(b, "--top--\n");
}

/* 100,000 sibling parts in a report. */
static void gen_many_parts(bg_buf *b)
{
    size_t n = 100000 / scale;
    dsn_head(b, "top");
    bg_buf_adds(b, "--top\nContent-Type: text/plain\n\nfailed\n"
                   "--top\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n");
    status_block(b, 0);
    for (size_t i = 0; i < n; i++)
        bg_buf_adds(b, "--top\nContent-Type: text/plain\n\nx\n");
    bg_buf_adds(b, "--top--\n");
}

/* One delivery-status part with 1,000,000 per-recipient blocks. */
static void gen_million_rcpts(bg_buf *b)
{
    size_t n = 1000000 / scale;
    dsn_head(b, "top");
    bg_buf_adds(b, "--top\nContent-Type: text/plain\n\nfailed\n"
                   "--top\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n");
    for (size_t i = 0; i < n; i++)
        status_block(b, i);
    bg_buf_adds(b, "--top--\n");
}

/* A normal report with its returned message padded to 100 MB. */
static void gen_100mb(bg_buf *b)
{
    size_t total = (100u << 20) / scale;
    dsn_head(b, "top");
    bg_buf_adds(b, "--top\nContent-Type: text/plain\n\nfailed\n"
                   "--top\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n");
    status_block(b, 0);
    bg_buf_adds(b, "--top\nContent-Type: message/rfc822\n\n"
                   "From: alice@example.org\nTo: u0@example.net\nSubject: big\n\n");
    char line[101];
    memset(line, 'x', 99);
    line[99] = '\n';
    line[100] = '\0';
    while (b->len < total && !bg_buf_failed(b))
        bg_buf_add(b, line, 100);
    bg_buf_adds(b, "\n--top--\n");
}

/* 100,000 header fields on top. */
static void gen_many_fields(bg_buf *b)
{
    size_t n = 100000 / scale;
    for (size_t i = 0; i < n; i++)
        bg_buf_printf(b, "Received: from h%zu.example by mx.example.org; Mon, 1 Jan 2026\n", i);
    dsn_head(b, "top");
    bg_buf_adds(b, "--top\nContent-Type: text/plain\n\nfailed\n"
                   "--top\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n");
    status_block(b, 0);
    bg_buf_adds(b, "--top--\n");
}

static void add_long(bg_buf *b, char c)
{
    size_t n = (1u << 20) / scale;
    for (size_t i = 0; i < n; i++)
        bg_buf_addc(b, i % 64 == 63 ? ' ' : c);
}

/* A 1 MB top-level Subject line. */
static void gen_long_subject(bg_buf *b)
{
    bg_buf_adds(b, "Subject: ");
    add_long(b, 'a');
    bg_buf_adds(b, "\n");
    bg_buf tmp;
    bg_buf_init(&tmp);
    dsn_head(&tmp, "top");
    /* dsn_head's own Subject comes after: drop it */
    const char *p = bg_buf_str(&tmp);
    const char *s = strstr(p, "Subject:"), *e = strchr(s, '\n') + 1;
    bg_buf_add(b, p, (size_t)(s - p));
    bg_buf_adds(b, e);
    bg_buf_free(&tmp);
    bg_buf_adds(b, "--top\nContent-Type: text/plain\n\nfailed\n"
                   "--top\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n");
    status_block(b, 0);
    bg_buf_adds(b, "--top--\n");
}

/* A 1 MB Subject in the returned message and a 1 MB Diagnostic-Code. */
static void gen_long_inner(bg_buf *b)
{
    dsn_head(b, "top");
    bg_buf_adds(b, "--top\nContent-Type: text/plain\n\nfailed\n"
                   "--top\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
                   "Final-Recipient: rfc822;u0@example.net\nAction: failed\nStatus: 5.0.0\n"
                   "Diagnostic-Code: smtp; 550 5.1.1 ");
    add_long(b, 'd');
    bg_buf_adds(b, "\n\n--top\nContent-Type: message/rfc822\n\n"
                   "From: alice@example.org\nTo: u0@example.net\nSubject: ");
    add_long(b, 's');
    bg_buf_adds(b, "\n\nbody\n--top--\n");
}

/* A 1 MB line without any line end, as the whole message. */
static void gen_one_line(bg_buf *b)
{
    bg_buf_adds(b, "Subject: ");
    add_long(b, 'z');
}

/* ---- cases --------------------------------------------------------------- */

static void bounds_nested(void **state)
{
    (void)state;
    outcome o = run_case("nested 10000 (status at the bottom)", gen_nested_deep_status, NULL);
    /* the walk stops at depth 16: the status part is never reached as a
     * part, and its fields lie beyond the 256 KiB of text the scraper
     * reads: no recipient, it passes unchanged (a smaller message of the
     * same shape, as under Valgrind, is found by the text scraper) */
    assert_int_equal(o.read_status, BG_READ_OK);
    assert_true(o.mime_limited);
    assert_true(o.mime_parts <= 17);
    if (scale == 1) {
        assert_int_equal(o.nrcpt, 0);
        assert_int_not_equal(o.render_status, BG_RENDER_OK);
    }

    o = run_case("nested 10000 (deep human part)", gen_nested_deep_human, NULL);
    /* the report's own parts are found; the deep part is replaced whole */
    assert_int_equal(o.read_status, BG_READ_OK);
    assert_true(o.mime_limited);
    assert_int_equal(o.kind, BG_MSG_FAILURE);
    assert_int_equal(o.nrcpt, 1);
    assert_int_equal(o.render_status, BG_RENDER_OK);
    assert_true(o.out_len < o.input_len + (64u << 10));
}

static void bounds_parts(void **state)
{
    (void)state;
    outcome o = run_case("100000 sibling parts", gen_many_parts, NULL);
    assert_int_equal(o.read_status, BG_READ_OK);
    assert_true(o.mime_limited);
    assert_int_equal(o.mime_parts, 1000);
    assert_int_equal(o.kind, BG_MSG_FAILURE);
    assert_int_equal(o.render_status, BG_RENDER_OK); /* edited in place, parts copied */
}

static void bounds_million_rcpts(void **state)
{
    (void)state;
    /* default limits: over 32 MiB, refused before any parsing */
    outcome o = run_case("1000000 recipients, default limit", gen_million_rcpts, NULL);
    if (scale == 1) {
        assert_int_equal(o.read_status, BG_READ_TOO_LARGE);
        assert_int_equal(o.have_bounce, 0);
    }
    /* an admin who raised max_size: 1000 recipients kept, the rest read
     * past; the rewrite edits those 1000 and copies the rest */
    bg_limits big = {256u << 20, 0, 0, 0};
    o = run_case("1000000 recipients, max_size 256M", gen_million_rcpts, &big);
    assert_int_equal(o.read_status, BG_READ_OK);
    assert_int_equal(o.nrcpt, 1000);
    assert_int_equal(o.kind, BG_MSG_FAILURE);
    assert_int_equal(o.render_status, BG_RENDER_OK);
}

static void bounds_100mb(void **state)
{
    (void)state;
    bg_limits exim = {4u << 20, 0, 0, 0}; /* the adapter's default max_size */
    outcome o = run_case("100 MB, Exim max_size 4M", gen_100mb, &exim);
    if (scale == 1) {
        assert_int_equal(o.read_status, BG_READ_TOO_LARGE);
        assert_int_equal(o.have_bounce, 0);
    }
    o = run_case("100 MB, reader default 32M", gen_100mb, NULL);
    if (scale == 1) {
        assert_int_equal(o.read_status, BG_READ_TOO_LARGE);
        assert_int_equal(o.have_bounce, 0);
    }
    bg_limits big = {256u << 20, 0, 0, 0};
    o = run_case("100 MB, max_size 256M", gen_100mb, &big);
    assert_int_equal(o.read_status, BG_READ_OK);
    assert_int_equal(o.kind, BG_MSG_FAILURE);
    assert_int_equal(o.render_status, BG_RENDER_OK);
}

static void bounds_header_fields(void **state)
{
    (void)state;
    outcome o = run_case("100000 header fields", gen_many_fields, NULL);
    assert_int_equal(o.read_status, BG_READ_OK);
    /* indexed up to the bound (it was 32768: the array doubled past it);
     * the Content-Type beyond it is not seen, so the body is read as
     * text and wrapped whole, byte for byte */
    if (scale == 1)
        assert_int_equal(o.hdr_fields, BG_HDRS_MAX);
    assert_true(o.hdr_fields <= BG_HDRS_MAX);
    assert_int_equal(o.render_status, BG_RENDER_OK);
}

static void bounds_long_lines(void **state)
{
    (void)state;
    outcome o = run_case("1 MB top-level Subject", gen_long_subject, NULL);
    assert_int_equal(o.read_status, BG_READ_OK);
    assert_int_equal(o.kind, BG_MSG_FAILURE);
    assert_true(o.max_field < BG_HDR_MAX);
    /* rewritten: the old Subject is replaced by ours, bounded */
    assert_int_equal(o.render_status, BG_RENDER_OK);
    assert_true(o.max_edit > 0 && o.max_edit < 2000);

    o = run_case("1 MB inner Subject + Diagnostic", gen_long_inner, NULL);
    assert_int_equal(o.read_status, BG_READ_OK);
    assert_int_equal(o.nrcpt, 1);
    assert_true(o.max_field < BG_DIAG_MAX);
    assert_int_equal(o.render_status, BG_RENDER_OK);
    assert_true(o.max_edit > 0 && o.max_edit < 2000);

    o = run_case("1 MB single line, no line end", gen_one_line, NULL);
    assert_int_not_equal(o.render_status, BG_RENDER_OK);
}

/* Under Valgrind the sizes shrink (make valgrind runs every unit test). */
static int setup(void **state)
{
    (void)state;
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload"))
        scale = 50;
    engine = bg_engine_new(NULL);
    return engine && bg_engine_rules(engine) && bg_engine_langs(engine, NULL) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bg_engine_free(engine);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bounds_nested),
        cmocka_unit_test(bounds_parts),
        cmocka_unit_test(bounds_million_rcpts),
        cmocka_unit_test(bounds_100mb),
        cmocka_unit_test(bounds_header_fields),
        cmocka_unit_test(bounds_long_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
