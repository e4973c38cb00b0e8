/* Injection tests: remote text is hostile (issue 6, "Hostile input").
 *
 * Each case builds a bounce with a payload in one place a stranger
 * controls (diagnostic text, recipient address, the returned message's
 * Subject, Remote-MTA, a plain-text bounce body), runs the real rewriter
 * (bg_engine_run, as local_scan does, and bg_engine_apply with the header
 * lines Exim would add) and parses the result with the core's own header
 * and MIME readers:
 * - CR, LF and NUL never make a header (top level or in a part we wrote)
 *   or a MIME boundary: the header edits are single printable lines, the
 *   folded lines are printable, folded only at blanks and bounded, the
 *   output's header block ends where the new body starts, no marker field
 *   appears in a header block that the input did not have there, and the
 *   MIME tree is ours (report parts kept, alternative = plain + html);
 * - HTML and <script> come out escaped in the HTML part;
 * - Exim expansion syntax comes out verbatim: the core never expands;
 * - quotes and SQL in addresses are stored verbatim in a real SQLite
 *   store file and harm nothing.
 * Also regressions for bugs the fuzzers found (CR-only input; an empty
 * rules text).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
#include "bg_store.h"

static bg_rules *rules;
static bg_engine *engine; /* the adapter's engine, with a hostile config file */
static char conf_path[] = "/tmp/bg-inject-conf.XXXXXX";

static int setup(void **state)
{
    static const char conf[] = "organisation = <b>Org</b> ${run{/bin/touch /tmp/bg-org}}\n"
                               "helpdesk = $primary_hostname\n";
    rules = bg_rules_load(NULL);
    int fd = mkstemp(conf_path);
    if (fd < 0 || write(fd, conf, sizeof conf - 1) != (ssize_t)(sizeof conf - 1))
        return -1;
    close(fd);
    bg_engine_opts o = {.config_path = conf_path};
    engine = bg_engine_new(&o);
    return rules && engine && bg_engine_config(engine) ? 0 : -1;
}

static int teardown(void **state)
{
    bg_rules_free(rules);
    bg_engine_free(engine);
    unlink(conf_path);
    return 0;
}

/* ---- the rewriter, run as the adapter runs it --------------------------- */

typedef struct rw {
    const bg_bounce *b;     /* res.bounce */
    bg_render_output *out;  /* &res.render: body and edits */
    bg_render_status st;    /* the engine's outcome, as the renderer says it */
    bg_engine_result res;   /* res.lines: the header lines Exim would add */
    bg_buf dst;        /* the whole new message */
    bg_mime m;         /* its MIME tree */
    bg_buf plain;      /* our text/plain part, decoded */
    bg_buf html;       /* our text/html part, transfer-decoded (HTML source) */
    const char *err;
} rw;

static void rw_free(rw *r)
{
    bg_engine_result_free(&r->res);
    bg_buf_free(&r->dst);
    bg_mime_free(&r->m);
    bg_buf_free(&r->plain);
    bg_buf_free(&r->html);
}

/* Through the engine as local_scan runs it (read, classify, render, the
 * folded header lines), then the whole new message (bg_engine_apply);
 * walk and decode our parts. */
static void rw_run(rw *r, const char *msg, size_t len)
{
    memset(r, 0, sizeof *r);
    bg_buf_init(&r->dst);
    bg_buf_init(&r->plain);
    bg_buf_init(&r->html);
    bg_engine_request rq = {.msg = msg, .len = len, .sender_domain = ""};
    bg_engine_outcome o = bg_engine_run(engine, &rq, &r->res);
    r->b = r->res.bounce;
    r->out = &r->res.render;
    r->err = r->res.why;
    assert_non_null(r->b);
    r->st = o == BG_ENGINE_REWRITTEN ? BG_RENDER_OK
            : o == BG_ENGINE_UNCHANGED ? BG_RENDER_NOT_APPLICABLE
                                       : BG_RENDER_ERROR;
    if (r->st != BG_RENDER_OK)
        return;
    assert_int_equal(bg_engine_apply(msg, len, &r->res, &r->dst), 0);
    assert_true(bg_mime_walk(&r->m, r->dst.p, 0, r->dst.len, '\n', 64, 10000) > 0);
    for (size_t i = 0; i < r->m.n; i++) {
        const bg_mime_part *pt = &r->m.parts[i];
        if (pt->parent < 0 || strncmp(r->m.parts[pt->parent].boundary, "=_bg-alt-", 9))
            continue;
        if (!strcmp(pt->type, "text/plain"))
            bg_mime_text(r->dst.p, pt, &r->plain, 1u << 20);
        else if (!strcmp(pt->type, "text/html"))
            bg_mime_decode(r->dst.p + pt->body_off, pt->end - pt->body_off, pt->enc, &r->html,
                           1u << 20);
    }
    assert_true(r->plain.len > 0);
    assert_true(r->html.len > 0);
}

/* The header lines Exim would add (the engine's, folded): printable ASCII,
 * each field's first line "Name: ", continuation lines starting with a
 * blank, LF only at line ends, no line over 78 characters where a blank
 * allows a fold, none over 998. */
static void assert_lines_clean(const char *label, const bg_engine_result *res)
{
    for (size_t i = 0; i < res->nheaders; i++) {
        const bg_engine_header *h = &res->headers[i];
        if (!h->line)
            continue;
        size_t nl = strlen(h->name);
        if (h->len < nl + 2 || strncmp(h->line, h->name, nl) != 0 || h->line[nl] != ':' ||
            h->line[h->len - 1] != '\n')
            fail_msg("%s: header line %zu is not '%s: ...\\n'", label, i, h->name);
        size_t start = 0;
        for (size_t k = 0; k < h->len; k++) {
            unsigned char c = (unsigned char)h->line[k];
            if (c == '\n') {
                /* a line over 78 is only one word that could not fold */
                size_t l = k - start, from = start ? start + 1 : nl + 2;
                int blank = from < k && memchr(h->line + from, ' ', k - from) != NULL;
                if (l > 998 || (l > 78 && blank))
                    fail_msg("%s: %s line of %zu characters", label, h->name, l);
                if (k + 1 < h->len && h->line[k + 1] != ' ')
                    fail_msg("%s: %s continuation line without a blank", label, h->name);
                start = k + 1;
            } else if (c < 0x20 || c > 0x7e) {
                fail_msg("%s: header %s has byte 0x%02x", label, h->name, c);
            }
        }
    }
}

/* Occurrences of marker at the start of a line inside the header blocks
 * (top level and every MIME part) of msg. */
static size_t header_marker_count(const char *msg, size_t len, const char *marker)
{
    bg_mime m;
    size_t n = 0, ml = strlen(marker);
    char eol = bg_eol_detect(msg, len);
    if (bg_mime_walk(&m, msg, 0, len, eol, 64, 10000) == 0)
        return (size_t)-1;
    for (size_t i = 0; i < m.n; i++) {
        size_t a = m.parts[i].off, z = m.parts[i].body_off;
        for (size_t k = a; k + ml <= z; k++)
            if ((k == a || msg[k - 1] == '\n' || msg[k - 1] == '\r') &&
                strncasecmp(msg + k, marker, ml) == 0)
                n++;
    }
    bg_mime_free(&m);
    return n;
}

/* Children of part idx. */
static size_t nchildren(const bg_mime *m, long idx, long *first)
{
    size_t n = 0;
    for (size_t i = (size_t)idx + 1; i < m->n; i++)
        if (m->parts[i].parent == idx) {
            if (n == 0 && first)
                *first = (long)i;
            n++;
        }
    return n;
}

/* Nothing was injected: see the file's lead comment. */
static void assert_no_injection(const char *label, const char *msg, size_t len, rw *r)
{
    static const char *const markers[] = {"X-Injected", "Bcc:", "--HOSTILE", "--=_bg-",
                                          "Content-Type: text/html", NULL};
    if (r->st != BG_RENDER_OK)
        fail_msg("%s: not rewritten (%s)", label, r->err);
    /* the edits: printable single lines; the lines Exim adds: clean */
    for (size_t i = 0; i < r->out->nedits; i++) {
        const char *v = r->out->edits[i].value;
        for (size_t k = 0; v && v[k]; k++)
            if ((unsigned char)v[k] < 0x20 || (unsigned char)v[k] > 0x7e)
                fail_msg("%s: header %s has byte 0x%02x", label, r->out->edits[i].name,
                         (unsigned char)v[k]);
    }
    assert_lines_clean(label, &r->res);
    /* the top-level block ends where our body starts, with the input's
     * fields minus the removed ones plus ours */
    bg_hdrs ih, oh;
    bg_hdrs_parse(&ih, msg, r->b->headers.off, r->b->headers.off + r->b->headers.len, '\n');
    bg_hdrs_parse(&oh, r->dst.p, 0, r->dst.len, '\n');
    assert_int_equal(oh.body_off, r->dst.len - r->out->body.len);
    size_t kept = 0, added = 0;
    for (size_t i = 0; i < ih.n; i++) {
        int removed = 0;
        for (size_t e = 0; e < r->out->nedits; e++)
            if (r->out->edits[e].remove && strlen(r->out->edits[e].name) == ih.f[i].name_len &&
                !strncasecmp(r->out->edits[e].name, msg + ih.f[i].off, ih.f[i].name_len))
                removed = 1;
        kept += !removed;
    }
    for (size_t e = 0; e < r->out->nedits; e++)
        added += r->out->edits[e].value != NULL;
    if (oh.n != kept + added)
        fail_msg("%s: %zu header fields, expected %zu + %zu", label, oh.n, kept, added);
    bg_hdrs_free(&ih);
    bg_hdrs_free(&oh);
    /* no marker field in a header block unless the input had it there */
    for (size_t i = 0; markers[i]; i++) {
        size_t before = header_marker_count(msg, len, markers[i]);
        size_t after = header_marker_count(r->dst.p, r->dst.len, markers[i]);
        if (!strcmp(markers[i], "--=_bg-"))
            before = after = 0; /* ours are checked by structure below */
        if (!strncmp(markers[i], "Content-Type", 12))
            before++; /* our own HTML part's header */
        if (after != before)
            fail_msg("%s: '%s' in header blocks: %zu before, %zu after", label, markers[i],
                     before, after);
    }
    /* the structure is ours: a report keeps its parts, the guidance is one
     * multipart/alternative of exactly text/plain + text/html */
    long alt = -1;
    for (size_t i = 0; i < r->m.n; i++)
        if (!strncmp(r->m.parts[i].boundary, "=_bg-alt-", 9))
            alt = (long)i;
    assert_true(alt >= 0);
    long k0 = -1;
    assert_int_equal(nchildren(&r->m, alt, &k0), 2);
    assert_string_equal(r->m.parts[k0].type, "text/plain");
    int dsn = r->b->boundary[0] && r->b->part_human.len && r->b->part_status.len;
    if (dsn) {
        bg_mime im;
        assert_true(bg_mime_walk(&im, msg, 0, len, '\n', 64, 10000) > 0);
        assert_int_equal(nchildren(&r->m, 0, NULL), nchildren(&im, 0, NULL));
        bg_mime_free(&im);
    } else {
        assert_string_equal(r->m.parts[0].type, "multipart/mixed");
        assert_int_equal(nchildren(&r->m, 0, NULL), 2);
    }
}

/* ---- bounce builders ------------------------------------------------------ */

/* An RFC 3464 report; each argument is inserted raw (may hold CR, LF, NUL:
 * lengths are explicit). */
typedef struct piece {
    const char *s;
    size_t n;
} piece;
#define P(lit) ((piece){lit, sizeof lit - 1})

static char *build_dsn(piece rcpt, piece mta, piece diag, piece subj, size_t *len)
{
    bg_buf b;
    bg_buf_init(&b);
    bg_buf_adds(&b, "Return-path: <>\n"
                    "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
                    "To: alice@example.org\n"
                    "Subject: Mail delivery failed: returning message to sender\n"
                    "Auto-Submitted: auto-replied\n"
                    "MIME-Version: 1.0\n"
                    "Content-Type: multipart/report; report-type=delivery-status; "
                    "boundary=\"HOSTILE\"\n"
                    "Message-Id: <E1-inject@mx.example.org>\n"
                    "\n"
                    "--HOSTILE\n"
                    "Content-Type: text/plain; charset=utf-8\n"
                    "\n"
                    "This message was created automatically by mail delivery software.\n"
                    "\n"
                    "--HOSTILE\n"
                    "Content-Type: message/delivery-status\n"
                    "\n"
                    "Reporting-MTA: dns; mx.example.org\n"
                    "\n"
                    "Final-Recipient: rfc822; ");
    bg_buf_add(&b, rcpt.s, rcpt.n);
    bg_buf_adds(&b, "\nAction: failed\nStatus: 5.0.0\nRemote-MTA: dns; ");
    bg_buf_add(&b, mta.s, mta.n);
    bg_buf_adds(&b, "\nDiagnostic-Code: smtp; ");
    bg_buf_add(&b, diag.s, diag.n);
    bg_buf_adds(&b, "\n\n--HOSTILE\n"
                    "Content-Type: message/rfc822\n"
                    "\n"
                    "From: Alice <alice@example.org>\n"
                    "To: bob@example.net\n"
                    "Subject: ");
    bg_buf_add(&b, subj.s, subj.n);
    bg_buf_adds(&b, "\nMessage-ID: <orig-1@example.org>\n"
                    "\n"
                    "body\n"
                    "--HOSTILE--\n");
    assert_false(bg_buf_failed(&b));
    *len = b.len;
    return bg_buf_take(&b);
}

/* A plain-text bounce from another server (wrapped, not edited). */
static char *build_plain(piece text, size_t *len)
{
    bg_buf b;
    bg_buf_init(&b);
    bg_buf_adds(&b, "From: MAILER-DAEMON@mx.example.net\n"
                    "To: alice@example.org\n"
                    "Subject: Undeliverable mail\n"
                    "\n"
                    "Delivery to the following recipient failed permanently:\n"
                    "\n"
                    "    bob@example.net\n"
                    "\n"
                    "Technical details of permanent failure:\n");
    bg_buf_add(&b, text.s, text.n);
    bg_buf_adds(&b, "\n");
    *len = b.len;
    return bg_buf_take(&b);
}

#define OK_RCPT P("bob@example.net")
#define OK_MTA P("mx.example.net")
#define OK_DIAG P("550 5.1.1 <bob@example.net>: user unknown")
#define OK_SUBJ P("hello")

/* ---- CR, LF, NUL ------------------------------------------------------------ */

typedef struct inj_case {
    const char *label;
    piece rcpt, mta, diag, subj;
    const char *visible; /* a token of the payload that must reach our text */
} inj_case;

static void inject_crlf_nul(void **state)
{
    const inj_case cases[] = {
        {"diag CR LF header", OK_RCPT, OK_MTA,
         P("550 5.1.1 user unknown\rX-Injected: cr\r\n Bcc: victim@example.com"), OK_SUBJ,
         "victim@example.com"},
        {"diag folded boundary", OK_RCPT, OK_MTA,
         P("550 5.1.1 unknown\n \n --HOSTILE\n Content-Type: text/html\n\n<p>x"), OK_SUBJ,
         "unknown"},
        {"diag bare LF boundary", OK_RCPT, OK_MTA,
         P("550 5.1.1 unknown TOKEN1\n--HOSTILE\nContent-Type: text/html\nX-Injected: 1\n"),
         OK_SUBJ, "TOKEN1"},
        {"diag NUL", OK_RCPT, OK_MTA, P("550 5.1.1 user\0X-Injected: nul TOKEN2\0\r\nBcc: x@y"),
         OK_SUBJ, "TOKEN2"},
        {"diag our boundary", OK_RCPT, OK_MTA,
         P("550 5.1.1 unknown TOKEN3\r--=_bg-alt-0000000000000000\r\rContent-Type: text/html"),
         OK_SUBJ, "TOKEN3"},
        {"rcpt CR", P("bob\rX-Injected: rcpt@example.net"), OK_MTA, OK_DIAG, OK_SUBJ, "bob"},
        {"rcpt NUL", P("bob\0X-Injected: nul@example.net"), OK_MTA, OK_DIAG, OK_SUBJ, "bob"},
        {"rcpt quoted CRLF", P("\"bob\r\nBcc: victim@example.com\"@example.net"), OK_MTA,
         OK_DIAG, OK_SUBJ, "bob"},
        {"mta CR", OK_RCPT, P("mx.example.net\rX-Injected: mta"), OK_DIAG, OK_SUBJ,
         "mx.example.net"},
        {"subject encoded CRLF", OK_RCPT, OK_MTA, OK_DIAG,
         P("=?UTF-8?Q?hi=0D=0AX-Injected:_1=0D=0ABcc:_victim@example.com=0A=0A--HOSTILE?="),
         "hi"},
        {"subject encoded NUL", OK_RCPT, OK_MTA, OK_DIAG,
         P("=?UTF-8?B?aGkAWC1JbmplY3RlZDogbnVsDQpCY2M6IHZAZXhhbXBsZS5jb20=?="), "hi"},
        {"subject raw CR", OK_RCPT, OK_MTA, OK_DIAG, P("TOKEN4\rX-Injected: raw\r--HOSTILE"),
         "TOKEN4"},
        {"subject long unbroken", OK_RCPT, OK_MTA, OK_DIAG,
         P("=?UTF-8?Q?" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
           "=0D=0AX-Injected:_long?="),
         "aaaa"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const inj_case *c = &cases[i];
        size_t len;
        char *msg = build_dsn(c->rcpt, c->mta, c->diag, c->subj, &len);
        rw r;
        rw_run(&r, msg, len);
        assert_no_injection(c->label, msg, len, &r);
        if (!strstr(bg_buf_str(&r.plain), c->visible))
            fail_msg("%s: '%s' not in the text part", c->label, c->visible);
        /* the guidance never holds a raw CR (plain text is LF-only) */
        assert_null(memchr(r.plain.p, '\r', r.plain.len));
        rw_free(&r);
        free(msg);
    }
}

/* Plain-text bounces are wrapped: the payload stays inside the original
 * body, byte for byte, and creates nothing around it. */
static void inject_plain_bounce(void **state)
{
    const struct {
        const char *label;
        piece text;
    } cases[] = {
        {"plain CRLF headers", P("550 5.1.1 unknown\r\nX-Injected: 1\r\nBcc: v@example.com")},
        {"plain mix boundary", P("550 5.1.1 unknown\n--=_bg-mix-0000000000000000\n\n<script>")},
        {"plain NUL", P("550 5.1.1 user\0unknown\nX-Injected: nul")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len;
        char *msg = build_plain(cases[i].text, &len);
        rw r;
        rw_run(&r, msg, len);
        assert_no_injection(cases[i].label, msg, len, &r);
        /* the original body is inside, unchanged */
        assert_non_null(memmem(r.dst.p, r.dst.len, msg + r.b->body.off, r.b->body.len));
        rw_free(&r);
        free(msg);
    }
}

/* ---- HTML --------------------------------------------------------------------- */

static void inject_html_escaped(void **state)
{
    const struct {
        const char *label;
        piece rcpt, mta, diag, subj;
        const char *escaped; /* must appear in the HTML source */
    } cases[] = {
        {"diag script", OK_RCPT, OK_MTA,
         P("550 5.1.1 unknown <script>alert('x')</script>"), OK_SUBJ,
         "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"},
        {"diag img", OK_RCPT, OK_MTA, P("550 5.1.1 <img src=x onerror=alert(1)> unknown"),
         OK_SUBJ, "&lt;img src=x onerror=alert(1)&gt;"},
        {"diag closing tags", OK_RCPT, OK_MTA,
         P("550 5.1.1 </pre></td></table><a href=\"javascript:alert(2)\">x</a> &amp;"),
         OK_SUBJ, "&lt;/pre&gt;&lt;/td&gt;&lt;/table&gt;&lt;a href=&quot;javascript:"},
        {"rcpt script", P("\"<script>alert(1)</script>\"@example.net"), OK_MTA, OK_DIAG,
         OK_SUBJ, "&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"mta tag", OK_RCPT, P("<b>mx</b>.example.net"), OK_DIAG, OK_SUBJ,
         "&lt;b&gt;mx&lt;/b&gt;"},
        {"subject script", OK_RCPT, OK_MTA, OK_DIAG,
         P("=?UTF-8?Q?<script>alert(3)</script>?="), "&lt;script&gt;alert(3)&lt;/script&gt;"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len;
        char *msg = build_dsn(cases[i].rcpt, cases[i].mta, cases[i].diag, cases[i].subj, &len);
        rw r;
        rw_run(&r, msg, len);
        assert_no_injection(cases[i].label, msg, len, &r);
        const char *h = bg_buf_str(&r.html);
        if (!strstr(h, cases[i].escaped))
            fail_msg("%s: '%s' not in the HTML part", cases[i].label, cases[i].escaped);
        /* no live tag from the remote text: only the renderer's own tags */
        static const char *const live[] = {"<script", "<img", "javascript:alert(2)\">", "<b>",
                                           NULL};
        for (size_t k = 0; live[k]; k++)
            if (bg_memcasemem(h, r.html.len, live[k]))
                fail_msg("%s: live '%s' in the HTML part", cases[i].label, live[k]);
        /* the branding from the config is escaped too */
        assert_non_null(strstr(h, "&lt;b&gt;Org&lt;/b&gt;"));
        rw_free(&r);
        free(msg);
    }
}

/* ---- Exim expansion syntax -------------------------------------------------- */

static void inject_expansion_verbatim(void **state)
{
    const struct {
        const char *label;
        piece rcpt, mta, diag, subj;
        const char *text; /* appears as it is in the plain part */
    } cases[] = {
        {"diag run", OK_RCPT, OK_MTA, P("550 5.1.1 unknown ${run{/bin/touch /tmp/pwned}}"),
         OK_SUBJ, "${run{/bin/touch /tmp/pwned}}"},
        {"diag variable", OK_RCPT, OK_MTA, P("550 5.1.1 unknown at $primary_hostname"), OK_SUBJ,
         "$primary_hostname"},
        {"diag readfile", OK_RCPT, OK_MTA, P("550 5.1.1 ${readfile{/etc/passwd}} unknown"),
         OK_SUBJ, "${readfile{/etc/passwd}}"},
        {"diag dlfunc", OK_RCPT, OK_MTA,
         P("550 5.1.1 ${dlfunc{/tmp/x.so}{f}} ${perl{x}} ${lookup{a}lsearch{/etc/passwd}}"),
         OK_SUBJ, "${dlfunc{/tmp/x.so}{f}} ${perl{x}} ${lookup{a}lsearch{/etc/passwd}}"},
        {"rcpt run", P("\"${run{/bin/id}}\"@example.net"), OK_MTA, OK_DIAG, OK_SUBJ,
         "${run{/bin/id}}"},
        {"subject run", OK_RCPT, OK_MTA, OK_DIAG, P("${run{/bin/touch /tmp/pwned-subj}}"),
         "${run{/bin/touch /tmp/pwned-subj}}"},
        {"mta variable", OK_RCPT, P("$sender_host_address.example.net"), OK_DIAG, OK_SUBJ,
         "$sender_host_address.example.net"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len;
        char *msg = build_dsn(cases[i].rcpt, cases[i].mta, cases[i].diag, cases[i].subj, &len);
        rw r;
        rw_run(&r, msg, len);
        assert_no_injection(cases[i].label, msg, len, &r);
        if (!strstr(bg_buf_str(&r.plain), cases[i].text))
            fail_msg("%s: '%s' not verbatim in the text part", cases[i].label, cases[i].text);
        /* in HTML the same text, only &<>"' escaped ($ { } are not special) */
        bg_buf esc;
        bg_buf_init(&esc);
        for (const char *p = cases[i].text; *p; p++) {
            if (*p == '<')
                bg_buf_adds(&esc, "&lt;");
            else if (*p == '>')
                bg_buf_adds(&esc, "&gt;");
            else if (*p == '&')
                bg_buf_adds(&esc, "&amp;");
            else if (*p == '"')
                bg_buf_adds(&esc, "&quot;");
            else if (*p == '\'')
                bg_buf_adds(&esc, "&#39;");
            else
                bg_buf_addc(&esc, *p);
        }
        if (!strstr(bg_buf_str(&r.html), bg_buf_str(&esc)))
            fail_msg("%s: '%s' not in the HTML part", cases[i].label, bg_buf_str(&esc));
        bg_buf_free(&esc);
        /* the config's values too: never expanded */
        assert_non_null(strstr(bg_buf_str(&r.plain), "${run{/bin/touch /tmp/bg-org}}"));
        rw_free(&r);
        free(msg);
    }
}

/* ---- SQL ------------------------------------------------------------------------ */

typedef struct collect {
    int n;
    char seen[8][BG_ADDR_MAX];
} collect;

static int collect_row(const bg_store_row *row, void *ctx)
{
    collect *c = ctx;
    if (c->n < 8)
        snprintf(c->seen[c->n], BG_ADDR_MAX, "%s", row->recipient);
    c->n++;
    return 0;
}

static void inject_sql_verbatim(void **state)
{
    char dir[] = "/tmp/bg-inject.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[200];
    snprintf(path, sizeof path, "%s/suppression.db", dir);
    bg_store_status st;
    char err[300];
    bg_store *s = bg_store_open(path, 500, BG_STORE_CREATE, &st, err, sizeof err);
    assert_non_null(s);
    const bg_store_rule rule = {BG_SUP_ADDRESS, 0, 0, 0};
    /* a bystander row first: it must survive everything below */
    bg_store_event ev = {.sender_domain = "example.org", .recipient = "carol@example.net",
                         .message_id = "<m0@example.org>", .category = "unknown-user",
                         .status = "5.1.1", .reply_code = 550, .diagnostic = "user unknown",
                         .source = BG_SRC_BOUNCE, .now = 1000};
    assert_int_equal(bg_store_record(s, &ev, &rule, NULL), BG_STORE_OK);
    static const char *const addrs[] = {
        "o'brien@example.net",
        "x';DROP_TABLE_bg_suppression;--@example.net",
        "\"';DROP\\\"TABLE\\\\bg_event;--\"@example.net",
        "robert');delete/**/from/**/bg_suppression;--@example.net",
        "a\"b\\c'd@example.net",
        "%_*?@example.net",
        NULL,
    };
    static const char *const diags[] = {"'; DROP TABLE suppression; --", "\" OR 1=1 --",
                                         "\\'); DELETE FROM bg_event; --"};
    for (size_t i = 0; addrs[i]; i++) {
        char id[64];
        snprintf(id, sizeof id, "<m%zu@example.org>", i + 1);
        bg_store_event e = ev;
        e.recipient = addrs[i];
        e.message_id = id;
        e.diagnostic = diags[i % 3];
        e.now = 2000 + (long long)i;
        bg_store_result res;
        st = bg_store_record(s, &e, &rule, &res);
        if (st != BG_STORE_OK)
            fail_msg("%s: %s (%s)", addrs[i], bg_store_status_text(st), bg_store_errmsg(s));
        assert_true(res.suppressed);
        /* the exact address (lower-cased by the store) is found, nothing else */
        char key[BG_ADDR_MAX];
        assert_int_equal(bg_store_norm_recipient(addrs[i], key), 0);
        assert_string_equal(res.key, key);
        int hit = 0;
        bg_store_row row;
        assert_int_equal(bg_store_check(s, "example.org", addrs[i], 3000, &hit, &row),
                         BG_STORE_OK);
        assert_int_equal(hit, 1);
        assert_string_equal(row.recipient, key);
        assert_string_equal(row.diagnostic, diags[i % 3]);
        /* a near miss is not found: no wildcard, no quoting trouble */
        char near[BG_ADDR_MAX + 2];
        snprintf(near, sizeof near, "x%s", addrs[i]);
        assert_int_equal(bg_store_check(s, "example.org", near, 3000, &hit, NULL), BG_STORE_OK);
        assert_int_equal(hit, 0);
    }
    /* everything is still there: both tables, the bystander, every row */
    collect c = {0};
    assert_int_equal(bg_store_list(s, "example.org", NULL, NULL, 0, 3000, collect_row, &c),
                     BG_STORE_OK);
    assert_int_equal(c.n, 7);
    int hit = 0;
    assert_int_equal(bg_store_check(s, "example.org", "carol@example.net", 3000, &hit, NULL),
                     BG_STORE_OK);
    assert_int_equal(hit, 1);
    /* a LIKE-style filter value is matched as a plain string */
    collect c2 = {0};
    assert_int_equal(bg_store_list(s, "example.org", NULL, "%_*?@example.net", 0, 3000,
                                   collect_row, &c2),
                     BG_STORE_OK);
    assert_int_equal(c2.n, 1);
    bg_store_close(s);
    /* and the file, read with SQLite directly, has both tables intact */
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM bg_suppression),"
                                        " (SELECT count(*) FROM bg_event)",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 7);
    assert_true(sqlite3_column_int(q, 1) >= 7);
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    sqlite3_close(db);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- regressions from the fuzzers ------------------------------------------------ */

/* fuzz_rewrite: a CR-only bounce was rewritten with LF headers and parts
 * mixed into CR lines, and bg_render_apply kept the whole CR header block
 * as one field (two Subject headers, the original's not removed). Now it
 * is declined and passes unchanged. */
static void regress_cr_only(void **state)
{
    size_t len;
    char *msg = build_dsn(OK_RCPT, OK_MTA, OK_DIAG, OK_SUBJ, &len);
    for (size_t i = 0; i < len; i++)
        if (msg[i] == '\n')
            msg[i] = '\r';
    rw r;
    rw_run(&r, msg, len);
    assert_int_equal(r.b->kind, BG_MSG_FAILURE);
    assert_int_equal(r.st, BG_RENDER_NOT_APPLICABLE);
    assert_int_equal(r.out->body.len, 0);
    assert_int_equal(r.out->nedits, 0);
    rw_free(&r);
    free(msg);
}

/* fuzz_rewrite: when the report's own text came after a delivery-status
 * part (a forwarded report inside another), sorting the edits by offset
 * moved them while their texts pointed into the array: the X-Bounce-Category
 * line became NUL bytes in the delivered bounce. */
static void regress_status_part_before_human_part(void **state)
{
    static const char msg[] =
        "Return-Path: <>\nFrom: Mail Delivery System <mailer-daemon@mx.example.org>\n"
        "To: sender@example.org\nSubject: Delivery status notification: failed\n"
        "Date: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <r1@mx.example.org>\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"AA\"\n\n"
        "--AA\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; jo@example.net\nAction: failed\nStatus: 5.0.0\n\n"
        "--AA\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\n\n"
        "--BB\nContent-Type: text/plain\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "  ann@example.com\n    host mx.example.com: 550 5.1.1 <ann@example.com>: User unknown\n\n"
        "--BB\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; ann@example.com\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <ann@example.com>: User unknown\n\n--BB--\n\n--AA--\n";
    rw r;
    rw_run(&r, msg, sizeof msg - 1);
    assert_int_equal(r.st, BG_RENDER_OK);
    assert_null(memchr(r.dst.p, '\0', r.dst.len));
    const char *st = strstr(r.dst.p, "Status: 5.0.0\nX-Bounce-Category: ");
    assert_non_null(st);
    rw_free(&r);
}

/* fuzz_rules: an empty rules text passed NULL to qsort (undefined
 * behaviour, caught by UBSan in make unit-asan). */
static void regress_empty_rules(void **state)
{
    char err[200];
    bg_rules *r = bg_rules_parse(NULL, "", 0, "t", err, sizeof err);
    assert_non_null(r);
    assert_int_equal(bg_rules_count(r), 0);
    bg_verdict v;
    bg_classify_text(r, "550 5.1.1 user unknown", 0, &v);
    assert_non_null(v.category);
    bg_rules_free(r);
    r = bg_rules_parse(NULL, "# only a comment\n", 17, "t", err, sizeof err);
    assert_non_null(r);
    bg_rules_free(r);
}

/* test_inject (quotes in addresses): the reader cut "o'brien@example.net"
 * to "brien@example.net" and a quoted local part to "@example.net", so the
 * wrong address (or none) was suppressed. */
static void regress_quoted_addresses(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"rfc822; o'brien@example.net", "o'brien@example.net"},
        {"rfc822; \"a b\"@example.net", "\"a b\"@example.net"},
        {"rfc822; <\"a b\"@example.net>", "\"a b\"@example.net"},
        {"rfc822; \"${run{/bin/id}}\"@example.net", "\"${run{/bin/id}}\"@example.net"},
        {"rfc822; \"';DROP TABLE x;--\"@example.net", "\"';DROP TABLE x;--\"@example.net"},
        /* unchanged behaviour around them */
        {"user 'bob@example.net' unknown", "bob@example.net"},
        {"\"Doe, John\" <john@example.org>", "john@example.org"},
        {"rfc822; user@example.com", "user@example.com"},
        {NULL, NULL},
    };
    for (size_t i = 0; cases[i].in; i++) {
        char out[BG_ADDR_MAX];
        bg_addr_extract(cases[i].in, strlen(cases[i].in), out, sizeof out);
        if (strcmp(out, cases[i].out))
            fail_msg("[%s]: got [%s] want [%s]", cases[i].in, out, cases[i].out);
    }
    /* and through the whole reader into a real store row */
    size_t len;
    char *msg = build_dsn(P("o'brien@example.net"), OK_MTA, OK_DIAG, OK_SUBJ, &len);
    bg_read_status rs;
    bg_bounce *b = bg_bounce_read(msg, len, NULL, &rs);
    assert_non_null(b);
    assert_int_equal(b->nrcpt, 1);
    assert_string_equal(b->rcpts[0].recipient, "o'brien@example.net");
    bg_bounce_free(b);
    free(msg);
}

/* fuzz_classify: a Status written with junk after the code ("4.4.7xyz",
 * kept as written by the reader) came back as the verdict's "real enhanced
 * code", invalid, on its way to the store and the rendered text. */
static void regress_status_junk(void **state)
{
    static const struct {
        const char *status, *diag, *want;
    } cases[] = {
        {"4.4.7??????", "554 4.4.7 Message expired", "4.4.7"},
        {"5.1.1;x", "", "5.1.1"},
        {"5.0.0junk", "550 5.2.2 mailbox full", "5.2.2"},
        {"5.0.0junk", "no code here", "5.0.0"},
        {"junk", "no code here", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bg_bounce b;
        bg_rcpt rc;
        memset(&b, 0, sizeof b);
        memset(&rc, 0, sizeof rc);
        b.kind = BG_MSG_FAILURE;
        b.nrcpt = 1;
        b.rcpts = &rc;
        snprintf(rc.status, sizeof rc.status, "%s", cases[i].status);
        snprintf(rc.diagnostic, sizeof rc.diagnostic, "%s", cases[i].diag);
        snprintf(rc.action, sizeof rc.action, "failed");
        bg_verdict v;
        bg_classify_rcpt(rules, &b, &rc, &v);
        if (strcmp(v.status, cases[i].want))
            fail_msg("Status [%s]: got [%s] want [%s]", cases[i].status, v.status,
                     cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inject_crlf_nul),
        cmocka_unit_test(inject_plain_bounce),
        cmocka_unit_test(inject_html_escaped),
        cmocka_unit_test(inject_expansion_verbatim),
        cmocka_unit_test(inject_sql_verbatim),
        cmocka_unit_test(regress_cr_only),
        cmocka_unit_test(regress_status_part_before_human_part),
        cmocka_unit_test(regress_empty_rules),
        cmocka_unit_test(regress_quoted_addresses),
        cmocka_unit_test(regress_status_junk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
