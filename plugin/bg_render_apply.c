/* bg_render_apply: the header side of the enriched bounce.
 *
 * The header edits a rendering asks for (a localised Subject, RFC 2047
 * encoded; X-Bounce-Category and X-Bounce-Severity), and bg_render_apply,
 * which writes the whole new message from the input, the edits and the new
 * body: removed fields left out, added ones written by bg_render_fold_header,
 * the one function that folds a header field. bg_engine writes its header
 * lines with it too, and those lines are exactly what Exim's header_add
 * gets, the CLI prints and the golden files hold.
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

/* 1 when name is a plain header field name (RFC 5322 ftext, non-empty,
 * shorter than bg_header_edit.name). */
static int bg_render_field_name_ok(const char *name)
{
    size_t n = 0;
    for (const char *p = name; *p; p++, n++)
        if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127 || *p == ':')
            return 0;
    return n > 0 && n < sizeof ((bg_header_edit *)0)->name;
}

/* The one folding function (bg_render.h): clean the value, encode it when
 * it is not ASCII, bound it, and fold it at blanks before column 78. */
int bg_render_fold_header(bg_buf *dst, const char *name, const char *value, const char *eol)
{
    if (!dst || !name || !bg_render_field_name_ok(name))
        return -1;
    if (!value)
        value = "";
    if (!eol)
        eol = "\n";
    /* bytes outside ASCII: RFC 2047 words (an encoded value is ASCII, so
     * the Subject the renderer encoded is never encoded twice) */
    bg_buf enc;
    bg_buf_init(&enc);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p >= 0x80) {
            bg_rfc2047_encode(&enc, value, BG_RENDER_HDR_MAX);
            if (bg_buf_failed(&enc)) {
                bg_buf_free(&enc);
                return -1;
            }
            value = bg_buf_str(&enc);
            break;
        }
    }
    size_t nlen = strlen(name), col = nlen + 1, used = 0;
    bg_buf_add(dst, name, nlen);
    bg_buf_addc(dst, ':');
    const char *s = value;
    for (;;) {
        /* a word: the bytes up to the next blank or control character */
        while (*s && ((unsigned char)*s <= 32 || *s == 0x7f))
            s++;
        const char *w = s;
        while (*s && (unsigned char)*s > 32 && *s != 0x7f)
            s++;
        size_t n = (size_t)(s - w);
        if (!n)
            break;
        if (n > BG_RENDER_HDR_WORD_MAX)
            n = BG_RENDER_HDR_WORD_MAX; /* a line stays far below 998 bytes */
        if (used + 1 + n > BG_RENDER_HDR_VALUE_MAX)
            break; /* the value is cut at a blank, never inside a word */
        if (col > nlen + 1 && col + 1 + n > 78) {
            bg_buf_adds(dst, eol);
            col = 0;
        }
        bg_buf_addc(dst, ' ');
        bg_buf_add(dst, w, n);
        col += 1 + n;
        used += 1 + n;
    }
    bg_buf_adds(dst, eol);
    bg_buf_free(&enc);
    return bg_buf_failed(dst) ? -1 : 0;
}

/* The input's header block without the fields out's edits remove. */
static void bg_render_kept_headers(const char *msg, const bg_bounce *b,
                                   const bg_render_output *out, const char *eol, bg_buf *dst)
{
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
}

/* The whole new message: headers minus removed ones, added ones, body. */
int bg_render_apply(const char *msg, size_t len, const bg_bounce *b,
                    const bg_render_output *out, bg_buf *dst)
{
    if (!msg || !b || !out || !dst || !bg_render_span_ok(b->headers, len) || b->headers.len == 0)
        return -1;
    const char *eol = b->crlf ? "\r\n" : "\n";
    bg_render_kept_headers(msg, b, out, eol, dst);
    for (size_t i = 0; i < out->nedits; i++)
        if (out->edits[i].value &&
            bg_render_fold_header(dst, out->edits[i].name, out->edits[i].value, eol) < 0)
            return -1;
    bg_buf_adds(dst, eol);
    bg_buf_add(dst, out->body.p ? out->body.p : "", out->body.len);
    return bg_buf_failed(dst) ? -1 : 0;
}

/* The same with the added fields already written (bg_engine's lines). */
int bg_render_apply_folded(const char *msg, size_t len, const bg_bounce *b,
                           const bg_render_output *out, const char *lines, size_t lines_len,
                           bg_buf *dst)
{
    if (!msg || !b || !out || !dst || !bg_render_span_ok(b->headers, len) || b->headers.len == 0)
        return -1;
    const char *eol = b->crlf ? "\r\n" : "\n";
    bg_render_kept_headers(msg, b, out, eol, dst);
    bg_buf_add(dst, lines ? lines : "", lines ? lines_len : 0);
    bg_buf_adds(dst, eol);
    bg_buf_add(dst, out->body.p ? out->body.p : "", out->body.len);
    return bg_buf_failed(dst) ? -1 : 0;
}
