/* libFuzzer target for the bounce rewriter: arbitrary message in, the
 * rewritten bounce out, through the same core calls the Exim adapter and
 * `bounceguide render` make (bg_bounce_read, bg_classify_rcpt with the
 * built-in rules, bg_render with the built-in catalogue and a branded
 * config, bg_render_apply).
 *
 * When a rewrite is produced, its properties are checked and any
 * violation aborts:
 * - header edits: only the names the renderer documents (Subject,
 *   X-Bounce-Category, X-Bounce-Severity; MIME-Version and Content-Type
 *   when the body is wrapped; Content-Transfer-Encoding removed), values
 *   printable ASCII without CR, LF or NUL, bounded: no header injection;
 * - the top-level header block of the output is the input's fields, byte
 *   for byte and in order, minus the removed names, plus exactly one field
 *   per added name, and it ends exactly where the new body starts;
 * - the output parses as MIME with the core's own walker and reader;
 * - an RFC 3464 report stays a multipart/report with as many parts as
 *   before, its first part now a multipart/alternative of text/plain and
 *   text/html; the delivery-status part is the input's line for line
 *   except the documented Status correction (a generic X.0.0 value
 *   replaced by a valid code) and the inserted X-Bounce-Category lines;
 *   the original-message part is byte-identical;
 * - any other report is wrapped: multipart/mixed with the guidance
 *   (multipart/alternative) first and the input body, byte-identical, as
 *   the second and last part.
 * Output that is declined (NOT_APPLICABLE, ERROR) must be empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_classify.h"
#include "bg_config.h"
#include "bg_header.h"
#include "bg_mime.h"
#include "bg_render.h"
#include "bg_status.h"

/* A violated property: say which, then stop (libFuzzer keeps the input). */
#define BG_FUZZ_CHECK(c)                                                                          \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "fuzz_rewrite: property violated at line %d: %s\n", __LINE__, #c);  \
            __builtin_trap();                                                                     \
        }                                                                                         \
    } while (0)

static bg_rules *bg_fuzz_rules;
static bg_catalog *bg_fuzz_catalog;
static bg_config *bg_fuzz_config;

/* The names the renderer may add (with a value) or remove. */
static const char *const bg_fuzz_added[] = {"Subject", "X-Bounce-Category", "X-Bounce-Severity",
                                            "MIME-Version", "Content-Type", NULL};
static const char *const bg_fuzz_removed_only[] = {"Content-Transfer-Encoding", NULL};

/* Rules, catalogue and a config with branding, once per process. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char conf[] = "organisation = Example <b>Ltd</b>\n"
                               "helpdesk = help@example.com ${run{/bin/true}}\n";
    bg_fuzz_rules = bg_rules_load(NULL);
    bg_fuzz_catalog = bg_catalog_load("en", NULL);
    bg_fuzz_config = bg_config_parse(conf, sizeof conf - 1, "fuzz", NULL, 0);
    if (!bg_fuzz_rules || !bg_fuzz_catalog || !bg_fuzz_config)
        abort();
    return 0;
}

static int bg_fuzz_in(const char *name, size_t len, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], name, len) == 0)
            return 1;
    return 0;
}

/* One header edit: a known name, a single printable line. */
static void bg_fuzz_edit(const bg_header_edit *e)
{
    size_t nl = strnlen(e->name, sizeof e->name);
    BG_FUZZ_CHECK(nl < sizeof e->name);
    if (e->value) {
        BG_FUZZ_CHECK(bg_fuzz_in(e->name, nl, bg_fuzz_added));
        size_t vl = strlen(e->value);
        BG_FUZZ_CHECK(vl > 0 && vl < 4096);
        for (size_t i = 0; i < vl; i++)
            BG_FUZZ_CHECK((unsigned char)e->value[i] >= 0x20 &&
                          (unsigned char)e->value[i] < 0x7f);
    } else {
        BG_FUZZ_CHECK(e->remove);
        BG_FUZZ_CHECK(bg_fuzz_in(e->name, nl, bg_fuzz_added) ||
                      bg_fuzz_in(e->name, nl, bg_fuzz_removed_only));
    }
}

/* The edit for name that adds a value, or NULL. */
static const bg_header_edit *bg_fuzz_find_edit(const bg_render_output *out, const char *name,
                                               size_t len)
{
    for (size_t i = 0; i < out->nedits; i++)
        if (out->edits[i].value && strlen(out->edits[i].name) == len &&
            strncasecmp(out->edits[i].name, name, len) == 0)
            return &out->edits[i];
    return NULL;
}

/* 1 when a field called name[0, len) is removed by the edits. */
static int bg_fuzz_removed(const bg_render_output *out, const char *name, size_t len)
{
    for (size_t i = 0; i < out->nedits; i++)
        if (out->edits[i].remove && strlen(out->edits[i].name) == len &&
            strncasecmp(out->edits[i].name, name, len) == 0)
            return 1;
    return 0;
}

/* The output's header block: the input's kept fields in order, then one
 * field per added name; the body starts right after it. */
static void bg_fuzz_headers(const char *msg, const bg_bounce *b, char eol,
                            const bg_render_output *out, const bg_buf *dst)
{
    bg_hdrs ih, oh;
    bg_hdrs_parse(&ih, msg, b->headers.off, b->headers.off + b->headers.len, eol);
    bg_hdrs_parse(&oh, dst->p, 0, dst->len, eol);
    if (ih.n >= BG_HDRS_MAX || oh.n >= BG_HDRS_MAX) {
        bg_hdrs_free(&ih);
        bg_hdrs_free(&oh);
        return; /* over the indexing bound: fields were skipped on purpose */
    }
    /* the body is exactly the renderer's body: no header spilled into it */
    BG_FUZZ_CHECK(dst->len >= out->body.len);
    BG_FUZZ_CHECK(oh.body_off == dst->len - out->body.len);
    BG_FUZZ_CHECK(memcmp(dst->p + oh.body_off, out->body.p ? out->body.p : "", out->body.len) ==
                  0);
    size_t i = 0, added = 0;
    for (size_t k = 0; k < oh.n; k++) {
        const bg_hfield *of = &oh.f[k];
        const char *name = dst->p + of->off;
        const bg_header_edit *e = bg_fuzz_find_edit(out, name, of->name_len);
        if (e && !bg_fuzz_removed(out, name, of->name_len))
            __builtin_trap(); /* an added name is always removed first */
        if (e) {
            /* ours: the value unfolded is the edit's value */
            char v[4096];
            bg_hdrs_raw(&oh, k, v, sizeof v);
            BG_FUZZ_CHECK(strcmp(v, e->value) == 0);
            added++;
            continue;
        }
        /* the input's: the next field not removed, byte for byte */
        while (i < ih.n && bg_fuzz_removed(out, msg + ih.f[i].off, ih.f[i].name_len))
            i++;
        BG_FUZZ_CHECK(i < ih.n);
        size_t il = ih.f[i].end - ih.f[i].off, ol = of->end - of->off;
        BG_FUZZ_CHECK(il == ol && memcmp(msg + ih.f[i].off, name, il) == 0);
        i++;
    }
    while (i < ih.n && bg_fuzz_removed(out, msg + ih.f[i].off, ih.f[i].name_len))
        i++;
    BG_FUZZ_CHECK(i == ih.n); /* no input field lost */
    size_t want = 0;
    for (size_t k = 0; k < out->nedits; k++)
        want += out->edits[k].value != NULL;
    BG_FUZZ_CHECK(added == want); /* exactly one of each added field */
    bg_hdrs_free(&ih);
    bg_hdrs_free(&oh);
}

/* Index of the first part of type t (after index from), or -1. */
static long bg_fuzz_part(const bg_mime *m, const char *t, size_t from)
{
    for (size_t i = from; i < m->n; i++)
        if (!strcmp(m->parts[i].type, t))
            return (long)i;
    return -1;
}

/* Children of part idx in document order (up to max); returns the count. */
static size_t bg_fuzz_children(const bg_mime *m, long idx, long *kids, size_t max)
{
    size_t n = 0;
    for (size_t i = (size_t)idx + 1; i < m->n; i++)
        if (m->parts[i].parent == idx) {
            if (n < max)
                kids[n] = (long)i;
            n++;
        }
    return n;
}

/* Our guidance part: multipart/alternative of text/plain and text/html
 * under a boundary of ours. */
static void bg_fuzz_alternative(const bg_mime *m, long idx)
{
    BG_FUZZ_CHECK(idx >= 0 && (size_t)idx < m->n);
    const bg_mime_part *a = &m->parts[idx];
    BG_FUZZ_CHECK(!strcmp(a->type, "multipart/alternative"));
    BG_FUZZ_CHECK(!strncmp(a->boundary, "=_bg-alt-", 9));
    BG_FUZZ_CHECK(a->nchild == 2 && !a->truncated);
    long kids[2];
    BG_FUZZ_CHECK(bg_fuzz_children(m, idx, kids, 2) == 2);
    BG_FUZZ_CHECK(!strcmp(m->parts[kids[0]].type, "text/plain"));
    BG_FUZZ_CHECK(!strcmp(m->parts[kids[1]].type, "text/html"));
}

/* A "Status:" line whose value is generic (X.0.0) in the input and a valid
 * code in the output, the rest of the line unchanged. */
static int bg_fuzz_status_fixed(const char *il, size_t iln, const char *ol, size_t oln)
{
    if (iln < 7 || oln < 7 || strncasecmp(il, "Status", 6) || strncasecmp(ol, "Status", 6))
        return 0;
    size_t a = 0; /* common prefix up to the value */
    while (a < iln && a < oln && il[a] == ol[a] && il[a] != ':')
        a++;
    if (a >= iln || il[a] != ':' || ol[a] != ':')
        return 0;
    a++;
    while (a < iln && a < oln && il[a] == ol[a] && (il[a] == ' ' || il[a] == '\t'))
        a++;
    size_t ie = a, oe = a;
    while (ie < iln && il[ie] != ' ' && il[ie] != '\t' && il[ie] != '\r' && il[ie] != '\n')
        ie++;
    while (oe < oln && ol[oe] != ' ' && ol[oe] != '\t' && ol[oe] != '\r' && ol[oe] != '\n')
        oe++;
    char iv[BG_STATUS_MAX], ov[BG_STATUS_MAX];
    if (ie - a >= sizeof iv || oe - a >= sizeof ov)
        return 0;
    memcpy(iv, il + a, ie - a);
    iv[ie - a] = '\0';
    memcpy(ov, ol + a, oe - a);
    ov[oe - a] = '\0';
    if (!bg_status_generic(iv) || bg_status_valid(ov) != strlen(ov))
        return 0;
    /* the rest of the line (trailing blanks, CR) as it was */
    return iln - ie == oln - oe && memcmp(il + ie, ol + oe, iln - ie) == 0;
}

/* The delivery-status part: line for line, except Status corrections and
 * inserted X-Bounce-Category lines (at most one per recipient). */
static void bg_fuzz_status_part(const char *ip, size_t ilen, const char *op, size_t olen,
                                size_t nrcpt)
{
    size_t i = 0, o = 0, inserted = 0;
    while (o < olen) {
        const char *onl = memchr(op + o, '\n', olen - o);
        size_t oe = onl ? (size_t)(onl - op) + 1 : olen;
        const char *inl = i < ilen ? memchr(ip + i, '\n', ilen - i) : NULL;
        size_t ie = i < ilen ? (inl ? (size_t)(inl - ip) + 1 : ilen) : i;
        if (i < ilen && oe - o == ie - i && memcmp(op + o, ip + i, ie - i) == 0) {
            i = ie;
            o = oe;
            continue;
        }
        if (oe - o > 19 && !memcmp(op + o, "X-Bounce-Category: ", 19)) {
            size_t k = o + 19;
            while (k < oe && ((op[k] >= 'a' && op[k] <= 'z') || op[k] == '-'))
                k++;
            if (k < oe && op[k] == '\r')
                k++;
            BG_FUZZ_CHECK(k == oe - (onl != NULL) && k > o + 19);
            inserted++;
            o = oe;
            continue;
        }
        BG_FUZZ_CHECK(i < ilen && bg_fuzz_status_fixed(ip + i, ie - i, op + o, oe - o));
        i = ie;
        o = oe;
    }
    BG_FUZZ_CHECK(i == ilen);
    BG_FUZZ_CHECK(inserted <= nrcpt);
}

/* Everything the rewrite promises; see the file's lead comment. */
static void bg_fuzz_check(const char *msg, size_t len, const bg_bounce *b,
                          const bg_render_output *out, const bg_buf *dst)
{
    char eol = bg_eol_detect(msg, len);
    for (size_t i = 0; i < out->nedits; i++)
        bg_fuzz_edit(&out->edits[i]);
    bg_fuzz_headers(msg, b, eol, out, dst);

    /* the output parses with the core's own reader and walker */
    bg_limits big = {64u << 20, 0, 0, 0};
    bg_read_status st;
    bg_bounce *ob = bg_bounce_read(dst->p, dst->len, &big, &st);
    BG_FUZZ_CHECK(ob != NULL);
    bg_mime im, om;
    BG_FUZZ_CHECK(bg_mime_walk(&im, msg, b->headers.off, len, eol, 64, 100000) > 0);
    BG_FUZZ_CHECK(bg_mime_walk(&om, dst->p, 0, dst->len, eol, 64, 100000) > 0);

    int dsn = b->boundary[0] && b->part_human.len && b->part_status.len;
    if (dsn) {
        /* the top-level type stays; the report keeps its parts */
        BG_FUZZ_CHECK(!bg_fuzz_find_edit(out, "Content-Type", 12));
        BG_FUZZ_CHECK(!strcmp(om.parts[0].type, im.parts[0].type));
        long ir = bg_fuzz_part(&im, "multipart/report", 0);
        long orr = bg_fuzz_part(&om, "multipart/report", 0);
        BG_FUZZ_CHECK(ir >= 0 && orr >= 0);
        long ikids[1], okids[1];
        size_t inc = bg_fuzz_children(&im, ir, ikids, 1);
        size_t onc = bg_fuzz_children(&om, orr, okids, 1);
        BG_FUZZ_CHECK(inc == onc && onc >= 1);
        bg_fuzz_alternative(&om, okids[0]);
        /* the delivery-status part, and the original message part */
        BG_FUZZ_CHECK(ob->part_status.len > 0);
        bg_fuzz_status_part(msg + b->part_status.off, b->part_status.len,
                            dst->p + ob->part_status.off, ob->part_status.len, b->nrcpt);
        if (b->part_original.len) {
            BG_FUZZ_CHECK(ob->part_original.len == b->part_original.len);
            BG_FUZZ_CHECK(memcmp(dst->p + ob->part_original.off, msg + b->part_original.off,
                                 b->part_original.len) == 0);
        }
        /* no recipient lost when the result is read back (their fields are
         * not compared: the reader fills missing ones from the human part,
         * which is ours now; the bytes of the status part are checked
         * above). Not "the same number": for a broken status part the
         * reader also takes Original-Recipient lines from the human part,
         * and ours quotes the original explanation in both the text and
         * the HTML alternative, so such a line can be read twice. */
        if (b->format == BG_FMT_DSN && ob->format == BG_FMT_DSN)
            BG_FUZZ_CHECK(ob->nrcpt >= b->nrcpt);
    } else {
        /* wrapped: multipart/mixed, our guidance, then the body as it was */
        const bg_header_edit *ct = bg_fuzz_find_edit(out, "Content-Type", 12);
        BG_FUZZ_CHECK(ct && !strncmp(ct->value, "multipart/mixed; boundary=\"=_bg-mix-", 36));
        BG_FUZZ_CHECK(bg_fuzz_find_edit(out, "MIME-Version", 12));
        const bg_mime_part *root = &om.parts[0];
        BG_FUZZ_CHECK(!strcmp(root->type, "multipart/mixed"));
        BG_FUZZ_CHECK(!strncmp(root->boundary, "=_bg-mix-", 9));
        BG_FUZZ_CHECK(!root->truncated);
        long kids[2];
        BG_FUZZ_CHECK(bg_fuzz_children(&om, 0, kids, 2) == 2);
        bg_fuzz_alternative(&om, kids[0]);
        const bg_mime_part *orig = &om.parts[kids[1]];
        /* copied byte for byte; a MIME reader gives a trailing CR of the
         * body to the delimiter (CR + our LF = the CRLF before "--") */
        size_t plen = orig->end - orig->body_off;
        int cr = b->body.len && msg[b->body.off + b->body.len - 1] == '\r';
        BG_FUZZ_CHECK(plen == b->body.len || (cr && plen + 1 == b->body.len));
        BG_FUZZ_CHECK(orig->body_off + b->body.len <= dst->len);
        BG_FUZZ_CHECK(memcmp(dst->p + orig->body_off, msg + b->body.off, b->body.len) == 0);
    }
    bg_mime_free(&im);
    bg_mime_free(&om);
    bg_bounce_free(ob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *msg = (const char *)data;
    bg_limits lim = {4u << 20, 0, 0, 0};
    bg_read_status st;
    bg_bounce *b = bg_bounce_read(msg, size, &lim, &st);
    if (!b)
        return 0;
    bg_verdict *v = calloc(b->nrcpt ? b->nrcpt : 1, sizeof *v);
    if (!v) {
        bg_bounce_free(b);
        return 0;
    }
    for (size_t r = 0; r < b->nrcpt; r++)
        bg_classify_rcpt(bg_fuzz_rules, b, &b->rcpts[r], &v[r]);
    bg_render_input in = {
        .msg = msg,
        .len = size,
        .bounce = b,
        .verdicts = v,
        .extra = NULL,
        .catalog = bg_fuzz_catalog,
        .config = bg_fuzz_config,
        .sender_domain = "",
    };
    bg_render_output out;
    char err[300];
    bg_render_status rs = bg_render(&in, &out, err, sizeof err);
    if (rs != BG_RENDER_OK) {
        BG_FUZZ_CHECK(out.body.len == 0 && out.nedits == 0 && out.edits == NULL);
        BG_FUZZ_CHECK(err[0] != '\0');
    } else {
        BG_FUZZ_CHECK(out.body.len > 0 && !bg_buf_failed(&out.body));
        bg_buf dst;
        bg_buf_init(&dst);
        BG_FUZZ_CHECK(bg_render_apply(msg, size, b, &out, &dst) == 0);
        bg_fuzz_check(msg, size, b, &out, &dst);
        bg_buf_free(&dst);
    }
    bg_render_output_free(&out);
    free(v);
    bg_bounce_free(b);
    return 0;
}
