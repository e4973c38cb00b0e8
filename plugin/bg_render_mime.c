/* bg_render_mime: the MIME side of the enriched bounce.
 *
 * Builds the multipart/alternative guidance part (text/plain and text/html,
 * quoted-printable, labelled with their Content-Language), finds boundaries
 * that cannot collide with the message, and puts the guidance in place:
 * in an RFC 3464 report by byte-range edits (the human part replaced, a
 * generic Status corrected, X-Bounce-Category added per recipient, every
 * other byte kept), in any other report by wrapping the original body,
 * unchanged, as the second part of a multipart/mixed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_qp.h"
#include "bg_render_int.h"
#include "bg_rfc2047.h"
#include "bg_status.h"

/* A span lies inside a buffer of len bytes. */
int bg_render_span_ok(bg_span s, size_t len)
{
    return s.off <= len && s.len <= len - s.off;
}

/* Cheap stable hash (FNV-1a) of the first bytes of the message: boundaries
 * are deterministic for a given input, which keeps golden files stable. */
static uint64_t bg_render_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    size_t n = len < 65536 ? len : 65536;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (uint64_t)len;
}

/* A fresh boundary: contains "=_" (which quoted-printable output cannot
 * contain), does not occur in the message, and is not a prefix of the outer
 * boundary or the other way round. */
int bg_render_boundary(char *out, size_t outlen, const char *msg, size_t len,
                              const char *outer, const char *tag)
{
    uint64_t h = bg_render_hash(msg, len);
    size_t olen = strlen(outer);
    for (unsigned salt = 0; salt < 64; salt++) {
        snprintf(out, outlen, "=_bg-%s-%016llx%02x", tag, (unsigned long long)h, salt);
        size_t n = strlen(out);
        if (memmem(msg, len, out, n))
            continue;
        if (olen && (strncmp(out, outer, n < olen ? n : olen) == 0))
            continue;
        return 0;
    }
    return -1;
}

/* Header field lookup in the raw header block: the unfolded value of the
 * first field called name, bounded; 1 when found. */
int bg_render_header(const char *msg, bg_span hs, const char *name, bg_buf *val)
{
    size_t nlen = strlen(name);
    const char *p = msg + hs.off, *end = msg + hs.off + hs.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        if ((size_t)(le - p) > nlen && strncasecmp(p, name, nlen) == 0) {
            const char *q = p + nlen;
            while (q < le && (*q == ' ' || *q == '\t'))
                q++;
            if (q < le && *q == ':') {
                q++;
                /* value: this line and continuation lines */
                for (;;) {
                    for (; q < le; q++)
                        if (*q != '\r')
                            bg_buf_addc(val, *q == '\t' ? ' ' : *q);
                    if (!eol || eol + 1 >= end || (eol[1] != ' ' && eol[1] != '\t'))
                        break;
                    q = eol + 1;
                    eol = memchr(q, '\n', (size_t)(end - q));
                    le = eol ? eol : end;
                }
                return 1;
            }
        }
        p = eol ? eol + 1 : end;
    }
    return 0;
}

/* 1 when tag is a plain language tag (letters, digits, hyphens). */
static int bg_render_tag_ok(const bg_buf *tag)
{
    if (tag->len == 0 || tag->len > 35)
        return 0;
    for (size_t i = 0; i < tag->len; i++) {
        unsigned char ch = (unsigned char)tag->p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-'))
            return 0;
    }
    return 1;
}

/* "Content-Language: de" (", en" when the administrator's section is in
 * another language) for our parts, RFC 3282; "" when the catalogues name
 * no usable tag. */
static void bg_render_content_language(const bg_render_ctx *c, bg_buf *out)
{
    if (!bg_render_tag_ok(&c->lang))
        return;
    bg_buf_printf(out, "Content-Language: %s", bg_buf_str(&c->lang));
    if (bg_render_tag_ok(&c->alang) && strcmp(bg_buf_str(&c->alang), bg_buf_str(&c->lang)) != 0)
        bg_buf_printf(out, ", %s", bg_buf_str(&c->alang));
    bg_buf_adds(out, c->eol);
}

/* The multipart/alternative part (headers + body), eol line ends, ending
 * with the close delimiter and eol. */
void bg_render_alternative(const bg_render_ctx *c, const char *boundary, bg_buf *p)
{
    const char *eol = c->eol;
    bg_buf text, html, cl;
    bg_buf_init(&text);
    bg_buf_init(&html);
    bg_buf_init(&cl);
    bg_render_plain(c, &text);
    bg_render_html(c, &html);
    bg_render_content_language(c, &cl);
    bg_buf_printf(p, "Content-Type: multipart/alternative;%s\tboundary=\"%s\"%s%s", eol, boundary,
                  eol, eol);
    bg_buf_printf(p, "--%s%sContent-Type: text/plain; charset=utf-8%s%s"
                     "Content-Transfer-Encoding: quoted-printable%s%s",
                  boundary, eol, eol, bg_buf_str(&cl), eol, eol);
    bg_qp_encode(p, text.p ? text.p : "", text.len, eol);
    bg_buf_printf(p, "%s--%s%sContent-Type: text/html; charset=utf-8%s%s"
                     "Content-Transfer-Encoding: quoted-printable%s%s",
                  eol, boundary, eol, eol, bg_buf_str(&cl), eol, eol);
    bg_qp_encode(p, html.p ? html.p : "", html.len, eol);
    bg_buf_printf(p, "%s--%s--%s", eol, boundary, eol);
    if (bg_buf_failed(&text) || bg_buf_failed(&html) || bg_buf_failed(&cl))
        p->failed = 1;
    bg_buf_free(&text);
    bg_buf_free(&html);
    bg_buf_free(&cl);
}

/* One byte-range replacement in the body. */
typedef struct bg_render_edit {
    size_t off, len;    /* range of the input replaced (len 0 = insertion) */
    const char *data;   /* NULL: the text is in small (an element's own
                         * storage: sorting the array moves it, so it is
                         * never pointed at) */
    size_t dlen;
    char small[96];     /* storage for short replacement texts */
} bg_render_edit;

/* Order body edits by offset (qsort). */
static int bg_render_edit_cmp(const void *a, const void *b)
{
    const bg_render_edit *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->len < y->len ? -1 : (x->len > y->len); /* insertion before replacement */
}

/* Edits for one recipient in the delivery-status part: the Status value
 * (when generic and a real code is known) and an X-Bounce-Category line
 * after the Status line. Returns the number of edits added (0-2). */
static size_t bg_render_status_edits(const bg_render_input *in, const bg_rcpt *rc,
                                     const bg_verdict *v, const char *eol, bg_render_edit *e)
{
    const char *msg = in->msg;
    const bg_bounce *b = in->bounce;
    bg_span sf = rc->status_field, ps = b->part_status;
    if (sf.len < 7 || !bg_render_span_ok(sf, in->len) || sf.off < ps.off ||
        sf.off + sf.len > ps.off + ps.len || strncasecmp(msg + sf.off, "Status", 6) != 0)
        return 0;
    size_t end = ps.off + ps.len;
    size_t p = sf.off + 6;
    while (p < end && (msg[p] == ' ' || msg[p] == '\t'))
        p++;
    if (p >= end || msg[p] != ':')
        return 0;
    p++;
    while (p < end && (msg[p] == ' ' || msg[p] == '\t'))
        p++;
    size_t vstart = p;
    while (p < end && msg[p] != '\r' && msg[p] != '\n')
        p++;
    size_t vend = p;
    while (vend > vstart && (msg[vend - 1] == ' ' || msg[vend - 1] == '\t'))
        vend--;
    /* the end of the field: after its line end and any continuation lines */
    size_t after = p;
    for (;;) {
        while (after < end && msg[after] != '\n')
            after++;
        if (after >= end)
            return 0; /* no line end inside the part: leave it alone */
        after++;
        if (after < end && (msg[after] == ' ' || msg[after] == '\t'))
            continue;
        break;
    }
    size_t n = 0;
    char cur[BG_STATUS_MAX];
    snprintf(cur, sizeof cur, "%.*s", (int)(vend - vstart < BG_STATUS_MAX ? vend - vstart : 0),
             msg + vstart);
    if (bg_status_generic(cur) && v->status[0] && bg_status_valid(v->status) == strlen(v->status) &&
        strcmp(cur, v->status) != 0) {
        e[n].off = vstart;
        e[n].len = vend - vstart;
        snprintf(e[n].small, sizeof e[n].small, "%s", v->status);
        e[n].data = NULL;
        e[n].dlen = strlen(e[n].small);
        n++;
    }
    const char *id = v->category && v->category->id ? v->category->id : "unknown";
    e[n].off = after;
    e[n].len = 0;
    snprintf(e[n].small, sizeof e[n].small, "X-Bounce-Category: %.40s%s", id, eol);
    e[n].data = NULL;
    e[n].dlen = strlen(e[n].small);
    n++;
    return n;
}

/* The body of an RFC 3464 report with the human part and Status lines
 * replaced. */
int bg_render_dsn_body(const bg_render_ctx *c, const bg_buf *alt, bg_buf *body)
{
    const bg_render_input *in = c->in;
    const bg_bounce *b = in->bounce;
    size_t nmax = 1 + 2 * b->nrcpt;
    bg_render_edit *e = calloc(nmax, sizeof *e);
    if (!e)
        return -1;
    size_t n = 0;
    /* the human part: keep whether its span ended with a line end */
    bg_span ph = b->part_human;
    size_t dlen = alt->len;
    int span_eol = ph.len && in->msg[ph.off + ph.len - 1] == '\n';
    if (!span_eol) /* the line end before the next delimiter belongs to it */
        dlen -= strlen(c->eol);
    e[n].off = ph.off;
    e[n].len = ph.len;
    e[n].data = alt->p;
    e[n].dlen = dlen;
    n++;
    for (size_t i = 0; i < b->nrcpt; i++)
        n += bg_render_status_edits(in, &b->rcpts[i], &in->verdicts[i], c->eol, &e[n]);
    qsort(e, n, sizeof *e, bg_render_edit_cmp);
    size_t pos = b->body.off, end = b->body.off + b->body.len;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].off < pos || e[i].off + e[i].len > end) {
            rc = -1; /* overlapping or outside the body: the structure is not what we think */
            break;
        }
        bg_buf_add(body, in->msg + pos, e[i].off - pos);
        bg_buf_add(body, e[i].data ? e[i].data : e[i].small, e[i].dlen);
        pos = e[i].off + e[i].len;
    }
    if (rc == 0)
        bg_buf_add(body, in->msg + pos, end - pos);
    free(e);
    return rc;
}

/* A header value that may be copied into a part header: printable ASCII,
 * bounded. */
static int bg_render_header_safe(const bg_buf *v)
{
    if (v->len == 0 || v->len > BG_RENDER_HDR_MAX)
        return 0;
    for (size_t i = 0; i < v->len; i++)
        if ((unsigned char)v->p[i] < 0x20 || (unsigned char)v->p[i] > 0x7E)
            return 0;
    return 1;
}

/* Wrap a body that is not an RFC 3464 report: multipart/mixed with the
 * guidance first and the original body, unchanged, second. */
int bg_render_wrap_body(const bg_render_ctx *c, const bg_buf *alt, const char *mix,
                               bg_buf *body, bg_render_output *out)
{
    const bg_render_input *in = c->in;
    const bg_bounce *b = in->bounce;
    const char *eol = c->eol;
    bg_buf ct, cte, v;
    bg_buf_init(&ct);
    bg_buf_init(&cte);
    bg_buf_init(&v);
    int rc = -1;
    if (bg_render_header(in->msg, b->headers, "Content-Type", &ct)) {
        bg_utf8_clean(&v, bg_buf_str(&ct), 0);
        if (!bg_render_header_safe(&v))
            goto done;
        bg_buf_reset(&ct);
        bg_buf_add(&ct, v.p, v.len);
    } else {
        bg_buf_adds(&ct, "text/plain; charset=us-ascii");
    }
    bg_buf_reset(&v);
    if (bg_render_header(in->msg, b->headers, "Content-Transfer-Encoding", &cte)) {
        bg_utf8_clean(&v, bg_buf_str(&cte), 0);
        if (!bg_render_header_safe(&v))
            goto done;
        bg_buf_reset(&cte);
        bg_buf_add(&cte, v.p, v.len);
    }
    /* the preamble, for readers without MIME: plain ASCII or none */
    bg_buf_reset(&v);
    bg_catalog_text(c->cat, "common", "mime_preamble", NULL, &v);
    int ascii = v.len > 0 && v.len <= BG_RENDER_HDR_MAX;
    for (size_t i = 0; ascii && i < v.len; i++)
        ascii = (unsigned char)v.p[i] >= 0x20 && (unsigned char)v.p[i] < 0x7F;
    if (ascii)
        bg_buf_printf(body, "%s%s%s", bg_buf_str(&v), eol, eol);
    bg_buf_printf(body, "--%s%s", mix, eol);
    bg_buf_add(body, alt->p, alt->len);
    bg_buf_printf(body, "%s--%s%sContent-Type: %s%s", eol, mix, eol, bg_buf_str(&ct), eol);
    if (cte.len)
        bg_buf_printf(body, "Content-Transfer-Encoding: %s%s", bg_buf_str(&cte), eol);
    /* the part's label in the reader's language, encoded for a header */
    bg_buf_reset(&v);
    bg_catalog_text(c->cat, "common", "report_description", NULL, &v);
    if (v.len) {
        bg_buf enc;
        bg_buf_init(&enc);
        bg_rfc2047_encode(&enc, bg_buf_str(&v), 200);
        bg_buf_printf(body, "Content-Description: %s%s", bg_buf_str(&enc), eol);
        bg_buf_free(&enc);
    }
    bg_buf_adds(body, eol);
    bg_buf_add(body, in->msg + b->body.off, b->body.len);
    bg_buf_printf(body, "%s--%s--%s", eol, mix, eol);
    bg_buf_reset(&v);
    bg_buf_printf(&v, "multipart/mixed; boundary=\"%s\"", mix);
    if (bg_render_add_edit(out, "MIME-Version", 1, "1.0") < 0 ||
        bg_render_add_edit(out, "Content-Transfer-Encoding", 1, NULL) < 0 ||
        bg_render_add_edit(out, "Content-Type", 1, bg_buf_str(&v)) < 0)
        goto done;
    rc = 0;
done:
    bg_buf_free(&ct);
    bg_buf_free(&cte);
    bg_buf_free(&v);
    return rc;
}
