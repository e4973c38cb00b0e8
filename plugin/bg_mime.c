/* bg_mime: MIME parts found in place, parameters, transfer decoding
 * (see bg_mime.h).
 *
 * It knows nothing about reports: bg_bounce and bg_dsn decide what the
 * parts mean. Each nesting level scans its own bytes once, so the work is
 * at most depth x size, with depth bounded.
 */
#include "bg_mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_base64.h"
#include "bg_header.h"

/* The part list is the only allocation. */
void bg_mime_free(bg_mime *m)
{
    if (!m)
        return;
    free(m->parts);
    m->parts = NULL;
    m->n = m->cap = 0;
}

/* Room for one more part; its index or -1. */
static long bg_mime_push(bg_mime *m)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        bg_mime_part *np = realloc(m->parts, cap * sizeof *np);
        if (!np)
            return -1;
        m->parts = np;
        m->cap = cap;
    }
    memset(&m->parts[m->n], 0, sizeof m->parts[0]);
    return (long)m->n++;
}

/* Copy a lower-case token (stops at ';', blank or the end) into out. */
static void bg_mime_token_lower(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    for (; *s && *s != ';' && *s != ' ' && *s != '\t' && o + 1 < outlen; s++) {
        unsigned char c = (unsigned char)*s;
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[o] = '\0';
}

/* Read a part's headers: type, parameters, transfer encoding. Kept apart
 * from the recursion so its buffers do not stay on the stack. */
__attribute__((noinline)) static void bg_mime_fill(bg_mime_part *pt, const char *p, char eol,
                                                   const char *deftype)
{
    bg_hdrs h;
    bg_hdrs_parse(&h, p, pt->off, pt->end, eol);
    pt->hdr_end = h.block_end;
    pt->body_off = h.body_off;
    char v[1024];
    size_t vl = bg_hdrs_get(&h, "Content-Type", v, sizeof v);
    char type[64];
    bg_mime_token_lower(v, type, sizeof type);
    if (!strchr(type, '/') || type[0] == '/')
        strcpy(type, deftype);
    memcpy(pt->type, type, sizeof pt->type);
    if (vl) {
        bg_mime_param(v, vl, "charset", pt->charset, sizeof pt->charset);
        if (!strncmp(pt->type, "multipart/", 10))
            bg_mime_param(v, vl, "boundary", pt->boundary, sizeof pt->boundary);
        if (!strcmp(pt->type, "multipart/report")) {
            char rt[40];
            bg_mime_param(v, vl, "report-type", rt, sizeof rt);
            bg_mime_token_lower(rt, pt->report_type, sizeof pt->report_type);
        }
    }
    char cte[64], enc[32];
    bg_hdrs_get(&h, "Content-Transfer-Encoding", cte, sizeof cte);
    bg_mime_token_lower(cte, enc, sizeof enc);
    if (!strcmp(enc, "base64"))
        pt->enc = BG_ENC_BASE64;
    else if (!strcmp(enc, "quoted-printable"))
        pt->enc = BG_ENC_QP;
    bg_hdrs_free(&h);
}

/* Where the content before a delimiter line at i ends: the line end
 * before the delimiter belongs to the delimiter. */
static size_t bg_mime_part_end(const char *p, size_t start, size_t i, char eol)
{
    if (i <= start)
        return start;
    size_t e = i;
    if (p[e - 1] == eol)
        e--;
    if (eol == '\n' && e > start && p[e - 1] == '\r')
        e--;
    return e;
}

typedef struct bg_mime_ctx {
    bg_mime *m;
    const char *p;
    char eol;
    unsigned max_depth, max_parts;
} bg_mime_ctx;

/* Forward declaration: bg_mime_split recurses through it. */
static void bg_mime_part_walk(bg_mime_ctx *c, size_t off, size_t end, unsigned depth, int parent,
                              const char *deftype);

/* Split the body [i, end) of part idx at delimiter lines "--bnd" and walk
 * each child. Returns the number of children; *closed = 1 when the
 * closing delimiter was seen. */
static int bg_mime_split(bg_mime_ctx *c, long idx, size_t i, size_t end, unsigned depth,
                         const char *bnd, int *closed)
{
    const char *childtype =
        strcmp(c->m->parts[idx].type, "multipart/digest") ? "text/plain" : "message/rfc822";
    size_t bl = strlen(bnd), pstart = 0;
    const char *p = c->p;
    int inpart = 0, nchild = 0;
    *closed = 0;
    while (i < end) {
        size_t next, ce = bg_line_end(p, i, end, c->eol, &next);
        if (ce - i >= bl + 2 && p[i] == '-' && p[i + 1] == '-' && memcmp(p + i + 2, bnd, bl) == 0) {
            size_t k = i + 2 + bl;
            int close = 0;
            if (k + 2 <= ce && p[k] == '-' && p[k + 1] == '-') {
                close = 1;
                k += 2;
            }
            while (k < ce && (p[k] == ' ' || p[k] == '\t'))
                k++;
            if (k == ce) {
                if (inpart) {
                    bg_mime_part_walk(c, pstart, bg_mime_part_end(p, pstart, i, c->eol), depth + 1,
                                      (int)idx, childtype);
                    nchild++;
                }
                if (close) {
                    *closed = 1;
                    return nchild;
                }
                inpart = 1;
                pstart = next;
            }
        }
        i = next;
    }
    if (inpart) {
        bg_mime_part_walk(c, pstart, end, depth + 1, (int)idx, childtype);
        nchild++;
    }
    return nchild;
}

/* The declared boundary never occurs (a broken or anonymised message):
 * take the first "--token" line that occurs again as a delimiter. */
static int bg_mime_guess_boundary(const char *p, size_t i, size_t end, char eol, char *out,
                                  size_t outlen)
{
    int tries = 0;
    for (int lines = 0; i < end && lines < 200 && tries < 3; lines++) {
        size_t next, ce = bg_line_end(p, i, end, eol, &next);
        size_t n = ce - i;
        if (n >= 5 && n < outlen + 2 && p[i] == '-' && p[i + 1] == '-') {
            size_t k = i + 2;
            while (k < ce && (unsigned char)p[k] > 0x20 && (unsigned char)p[k] < 0x7f)
                k++;
            size_t bl = k - i - 2;
            if (k == ce && bl >= 3 && !(p[k - 1] == '-' && p[k - 2] == '-')) {
                /* it must come back later as "--token" (a few tries only:
                 * each one scans the rest of the body) */
                tries++;
                const char *again = memmem(p + next, end - next, p + i, bl + 2);
                if (again) {
                    memcpy(out, p + i + 2, bl);
                    out[bl] = '\0';
                    return 1;
                }
            }
        }
        i = next;
    }
    return 0;
}

/* List the part p[off, end) and, for a multipart, its children. */
static void bg_mime_part_walk(bg_mime_ctx *c, size_t off, size_t end, unsigned depth, int parent,
                              const char *deftype)
{
    bg_mime *m = c->m;
    if (m->n >= c->max_parts) {
        m->limited = 1;
        return;
    }
    long idx = bg_mime_push(m);
    if (idx < 0) {
        m->limited = 1;
        return;
    }
    bg_mime_part *pt = &m->parts[idx];
    pt->off = off;
    pt->end = end;
    pt->depth = depth;
    pt->parent = parent;
    bg_mime_fill(pt, c->p, c->eol, deftype);
    if (strncmp(pt->type, "multipart/", 10) != 0 || !pt->boundary[0])
        return;
    if (depth >= c->max_depth) {
        m->limited = 1;
        return;
    }
    char bnd[80];
    memcpy(bnd, pt->boundary, sizeof bnd);
    size_t body_off = pt->body_off;
    int closed = 0, nchild = bg_mime_split(c, idx, body_off, end, depth, bnd, &closed);
    if (nchild == 0 && bg_mime_guess_boundary(c->p, body_off, end, c->eol, bnd, sizeof bnd))
        nchild = bg_mime_split(c, idx, body_off, end, depth, bnd, &closed);
    pt = &m->parts[idx]; /* the array may have moved */
    pt->nchild = nchild;
    pt->truncated = nchild > 0 && !closed;
}

/* Zero limits take the defaults of bg_limits. */
size_t bg_mime_walk(bg_mime *m, const char *p, size_t off, size_t len, char eol,
                    unsigned max_depth, unsigned max_parts)
{
    memset(m, 0, sizeof *m);
    m->eol = eol;
    bg_mime_ctx c = {m, p, eol, max_depth ? max_depth : 16, max_parts ? max_parts : 1000};
    bg_mime_part_walk(&c, off, len, 0, -1, "text/plain");
    return m->n;
}

/* One pass over the parameters; RFC 2231 sections are taken in the order they come. */
size_t bg_mime_param(const char *val, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    char plain[512], ext[512], cs[48] = "";
    size_t pl = 0, el = 0;
    int have_plain = 0, have_ext = 0;
    const char *s = memchr(val, ';', len), *e = val + len;
    while (s && s < e) {
        while (s < e && (*s == ';' || *s == ' ' || *s == '\t'))
            s++;
        const char *a = s;
        while (s < e && *s != '=' && *s != ';' && *s != ' ' && *s != '\t')
            s++;
        const char *ae = s;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        if (s >= e || *s != '=') {
            while (s < e && *s != ';')
                s++;
            continue;
        }
        s++;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        /* the value: quoted string or token */
        char v[512];
        size_t vl = 0;
        if (s < e && *s == '"') {
            s++;
            while (s < e && *s != '"') {
                if (*s == '\\' && s + 1 < e)
                    s++;
                if (vl + 1 < sizeof v && (unsigned char)*s >= 0x20)
                    v[vl++] = *s;
                s++;
            }
            if (s < e)
                s++;
        } else {
            while (s < e && *s != ';' && *s != ' ' && *s != '\t') {
                if (vl + 1 < sizeof v && (unsigned char)*s >= 0x20)
                    v[vl++] = *s;
                s++;
            }
        }
        while (s < e && *s != ';')
            s++;
        size_t al = (size_t)(ae - a);
        if (al == nl && strncasecmp(a, name, nl) == 0) {
            if (!have_plain) {
                memcpy(plain, v, vl);
                pl = vl;
                have_plain = 1;
            }
            continue;
        }
        if (al <= nl || strncasecmp(a, name, nl) != 0 || a[nl] != '*')
            continue;
        /* RFC 2231: name*, name*N, name*N* */
        const char *x = a + nl + 1;
        int section = -1, encoded = 0;
        if (x == ae)
            encoded = 1;
        else {
            section = 0;
            while (x < ae && *x >= '0' && *x <= '9')
                section = section * 10 + (*x++ - '0');
            if (x < ae && *x == '*')
                encoded = 1;
        }
        const char *vs = v, *ve = v + vl;
        if (encoded && section <= 0) {
            /* charset'language'value */
            const char *q1 = memchr(vs, '\'', vl);
            const char *q2 = q1 ? memchr(q1 + 1, '\'', (size_t)(ve - q1 - 1)) : NULL;
            if (q2) {
                size_t cl = (size_t)(q1 - vs) < sizeof cs - 1 ? (size_t)(q1 - vs) : sizeof cs - 1;
                memcpy(cs, vs, cl);
                cs[cl] = '\0';
                vs = q2 + 1;
            }
        }
        have_ext = 1;
        for (const char *y = vs; y < ve && el + 1 < sizeof ext; y++) {
            if (encoded && *y == '%' && y + 2 < ve + 0 && bg_hexval((unsigned char)y[1]) >= 0 &&
                bg_hexval((unsigned char)y[2]) >= 0) {
                ext[el++] = (char)(bg_hexval((unsigned char)y[1]) * 16 +
                                   bg_hexval((unsigned char)y[2]));
                y += 2;
            } else
                ext[el++] = *y;
        }
    }
    if (outlen == 0)
        return 0;
    if (have_ext) {
        bg_buf b;
        bg_buf_init(&b);
        bg_charset_to_utf8(cs, ext, el, &b, outlen * 4);
        size_t r = bg_text_clean(out, outlen, bg_buf_str(&b), b.len, 0);
        bg_buf_free(&b);
        return r;
    }
    if (!have_plain) {
        out[0] = '\0';
        return 0;
    }
    /* plain values are copied as they are (a boundary must stay exact) */
    size_t n = pl < outlen - 1 ? pl : outlen - 1;
    memcpy(out, plain, n);
    out[n] = '\0';
    return n;
}

/* Decoders write through a stack chunk so the buffer grows in few steps. */
int bg_mime_decode(const char *p, size_t len, bg_mime_enc enc, bg_buf *out, size_t limit)
{
    if (out->len >= limit)
        return bg_buf_failed(out) ? -1 : 0;
    if (enc == BG_ENC_IDENTITY) {
        size_t room = limit - out->len;
        return bg_buf_add(out, p, len < room ? len : room);
    }
    char tmp[4096];
    size_t t = 0;
    if (enc == BG_ENC_BASE64) {
        bg_base64 st = {0, 0};
        for (size_t i = 0, used; i < len && out->len < limit; i += used) {
            size_t n = bg_base64_decode(&st, p + i, len - i, tmp, sizeof tmp, &used);
            bg_buf_add(out, tmp, n);
        }
    } else {
        for (size_t i = 0; i < len;) {
            unsigned char ch = (unsigned char)p[i];
            if (ch == '=') {
                if (i + 2 < len && bg_hexval((unsigned char)p[i + 1]) >= 0 &&
                    bg_hexval((unsigned char)p[i + 2]) >= 0) {
                    tmp[t++] = (char)(bg_hexval((unsigned char)p[i + 1]) * 16 +
                                      bg_hexval((unsigned char)p[i + 2]));
                    i += 3;
                } else {
                    /* soft line break: '=' then blanks then the line end */
                    size_t k = i + 1;
                    while (k < len && (p[k] == ' ' || p[k] == '\t'))
                        k++;
                    if (k < len && (p[k] == '\r' || p[k] == '\n')) {
                        if (p[k] == '\r' && k + 1 < len && p[k + 1] == '\n')
                            k++;
                        i = k + 1;
                    } else if (k >= len) {
                        i = len;
                    } else {
                        tmp[t++] = '=';
                        i++;
                    }
                }
            } else {
                tmp[t++] = (char)ch;
                i++;
            }
            if (t >= sizeof tmp - 4) {
                bg_buf_add(out, tmp, t);
                t = 0;
                if (out->len >= limit)
                    break;
            }
        }
    }
    if (t && out->len < limit)
        bg_buf_add(out, tmp, t);
    if (out->len > limit) {
        out->len = limit;
        out->p[limit] = '\0';
    }
    return bg_buf_failed(out) ? -1 : 0;
}

/* Line ends first (CR runs copied in bulk), then one clean pass in place. */
int bg_text_lines(const char *in, size_t len, bg_buf *out, size_t limit)
{
    size_t start = out->len;
    size_t i = 0;
    while (i < len && out->len < limit) {
        const char *cr = memchr(in + i, '\r', len - i);
        size_t run = cr ? (size_t)(cr - (in + i)) : len - i;
        size_t room = limit - out->len;
        bg_buf_add(out, in + i, run < room ? run : room);
        i += run;
        if (!cr || out->len >= limit)
            break;
        i++; /* the CR */
        if (i < len && in[i] == '\n')
            continue; /* CRLF: the LF is copied with the next run */
        bg_buf_addc(out, '\n');
    }
    if (bg_buf_failed(out) || !out->p)
        return bg_buf_failed(out) ? -1 : 0;
    size_t n = bg_text_clean(out->p + start, out->len - start + 1, out->p + start,
                             out->len - start, BG_CLEAN_LINES);
    out->len = start + n;
    out->p[out->len] = '\0';
    return 0;
}

/* ASCII-compatible charsets need no conversion before cleaning. */
static int bg_mime_charset_plain(const char *cs)
{
    return !cs[0] || !strcasecmp(cs, "us-ascii") || !strcasecmp(cs, "utf-8") ||
           !strcasecmp(cs, "utf8") || !strcasecmp(cs, "ascii");
}

/* The common case (7bit/8bit ASCII or UTF-8) needs no intermediate buffer. */
int bg_mime_text(const char *p, const bg_mime_part *part, bg_buf *out, size_t limit)
{
    const char *src = p + part->body_off;
    size_t len = part->end > part->body_off ? part->end - part->body_off : 0;
    if (part->enc == BG_ENC_IDENTITY && bg_mime_charset_plain(part->charset))
        return bg_text_lines(src, len < limit * 2 ? len : limit * 2, out, limit);
    bg_buf dec, conv;
    bg_buf_init(&dec);
    bg_buf_init(&conv);
    bg_mime_decode(src, len, part->enc, &dec, limit * 2);
    const bg_buf *t = &dec;
    if (!bg_mime_charset_plain(part->charset)) {
        bg_charset_to_utf8(part->charset, bg_buf_str(&dec), dec.len, &conv, limit * 2);
        t = &conv;
    }
    int r = bg_text_lines(bg_buf_str(t), t->len, out, limit);
    bg_buf_free(&dec);
    bg_buf_free(&conv);
    return r;
}
