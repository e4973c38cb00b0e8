/* bg_render_apply: the header side of the enriched bounce.
 *
 * The header edits a rendering asks for (a localised Subject, RFC 2047
 * encoded; X-Bounce-Category and X-Bounce-Severity), and bg_render_apply,
 * which writes the whole new message from the input, the edits and the new
 * body: removed fields left out, added ones folded at blanks before column
 * 78 (for the CLI and the tests; Exim applies the edits itself).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_render_int.h"
#include "bg_rfc2047.h"

/* Append a header edit (name, remove, copied value). */
int bg_render_add_edit(bg_render_output *out, const char *name, int remove,
                              const char *value)
{
    if (out->nedits >= BG_RENDER_MAX_EDITS)
        return -1;
    bg_header_edit *e = &out->edits[out->nedits];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->remove = remove;
    if (value && !(e->value = strdup(value)))
        return -1;
    out->nedits++;
    return 0;
}

/* Subject, X-Bounce-Category and X-Bounce-Severity. */
int bg_render_headers(const bg_render_ctx *c, bg_render_output *out)
{
    const bg_render_input *in = c->in;
    bg_buf cats, subj, enc;
    bg_buf_init(&cats);
    bg_buf_init(&subj);
    bg_buf_init(&enc);
    int permanent = 0, mixed = 0;
    for (size_t i = 0; i < c->nrc; i++) {
        const bg_verdict *v = &in->verdicts[c->rc[i].index];
        permanent |= v->permanent;
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->rc[j].section, c->rc[i].section) == 0)
                seen = 1;
        if (seen)
            continue;
        if (cats.len) {
            bg_buf_adds(&cats, ", ");
            mixed = 1;
        }
        bg_buf_adds(&cats, c->rc[i].section);
    }
    const char *key = c->all_delay     ? "subject_delay"
                      : mixed          ? "subject_mixed"
                      : c->nshown > 1  ? "subject_several"
                                       : "subject_failure";
    /* the catalogue's Subject; a catalogue without one keeps the report's */
    bg_render_text(c, &c->rc[0], key, NULL, BG_RT_PLAIN, &subj);
    bg_rfc2047_encode(&enc, bg_buf_str(&subj), BG_RENDER_HDR_MAX);
    const char *sev = c->all_delay ? "delay" : permanent ? "permanent" : "transient";
    int rc = 0;
    if (bg_buf_failed(&cats) || bg_buf_failed(&enc) ||
        (enc.len && bg_render_add_edit(out, "Subject", 1, bg_buf_str(&enc)) < 0) ||
        bg_render_add_edit(out, "X-Bounce-Category", 1, bg_buf_str(&cats)) < 0 ||
        bg_render_add_edit(out, "X-Bounce-Severity", 1, sev) < 0)
        rc = -1;
    bg_buf_free(&cats);
    bg_buf_free(&subj);
    bg_buf_free(&enc);
    return rc;
}

/* 1 when the header field starting at p (name up to ':') is removed. */
static int bg_render_removed(const bg_render_output *out, const char *p, size_t n)
{
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return 0;
    size_t nl = (size_t)(colon - p);
    while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
        nl--;
    for (size_t i = 0; i < out->nedits; i++)
        if (out->edits[i].remove && strlen(out->edits[i].name) == nl &&
            strncasecmp(out->edits[i].name, p, nl) == 0)
            return 1;
    return 0;
}

/* "Name: value" folded at blanks before column 78 (encoded words are
 * separated by blanks, so each stays whole on its line). */
static void bg_render_fold(bg_buf *dst, const char *name, const char *value, const char *eol)
{
    size_t col = strlen(name) + 1;
    bg_buf_adds(dst, name);
    bg_buf_addc(dst, ':');
    const char *s = value;
    while (*s) {
        size_t blanks = strspn(s, " ");
        const char *w = s + blanks;
        size_t n = strcspn(w, " ");
        if (!n)
            break;
        if (col > strlen(name) + 1 && col + 1 + n > 78) {
            bg_buf_adds(dst, eol);
            col = 0;
        }
        bg_buf_addc(dst, ' ');
        bg_buf_add(dst, w, n);
        col += 1 + n;
        s = w + n;
    }
    bg_buf_adds(dst, eol);
}

/* The whole new message: headers minus removed ones, added ones, body. */
int bg_render_apply(const char *msg, size_t len, const bg_bounce *b,
                    const bg_render_output *out, bg_buf *dst)
{
    if (!msg || !b || !out || !dst || !bg_render_span_ok(b->headers, len) || b->headers.len == 0)
        return -1;
    const char *eol = b->crlf ? "\r\n" : "\n";
    const char *p = msg + b->headers.off, *end = p + b->headers.len;
    while (p < end) {
        /* one field: its line and continuation lines */
        const char *q = p;
        for (;;) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            q = nl ? nl + 1 : end;
            if (q >= end || (*q != ' ' && *q != '\t'))
                break;
        }
        if (!bg_render_removed(out, p, (size_t)(q - p))) {
            bg_buf_add(dst, p, (size_t)(q - p));
            if (q == end && q[-1] != '\n')
                bg_buf_adds(dst, eol);
        }
        p = q;
    }
    for (size_t i = 0; i < out->nedits; i++)
        if (out->edits[i].value)
            bg_render_fold(dst, out->edits[i].name, out->edits[i].value, eol);
    bg_buf_adds(dst, eol);
    bg_buf_add(dst, out->body.p ? out->body.p : "", out->body.len);
    return bg_buf_failed(dst) ? -1 : 0;
}
