/* bg_header: header blocks indexed in place, RFC 2047 words, addresses,
 * charset conversion and text sanitising (see bg_header.h).
 *
 * It does not know about MIME structure (bg_mime) or reports (bg_dsn).
 */
#include "bg_header.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_base64.h"
#include "bg_utf8.h"

/* Prefer LF; a text without any LF but with CR uses CR alone. */
char bg_eol_detect(const char *p, size_t len)
{
    if (memchr(p, '\n', len))
        return '\n';
    return memchr(p, '\r', len) ? '\r' : '\n';
}

/* One memchr per line keeps long lines linear. */
size_t bg_line_end(const char *p, size_t i, size_t end, char eol, size_t *next)
{
    const char *q = i < end ? memchr(p + i, eol, end - i) : NULL;
    size_t e = q ? (size_t)(q - p) : end;
    *next = q ? e + 1 : end;
    if (eol == '\n' && e > i && p[e - 1] == '\r')
        e--;
    return e;
}

/* Append a field, moving from the inline array to the heap when full. */
static void bg_hdrs_add(bg_hdrs *h, size_t off, size_t name_len, size_t val_off, size_t end)
{
    if (h->n == h->cap) {
        if (h->cap >= BG_HDRS_MAX)
            return;
        size_t cap = h->cap * 2 < BG_HDRS_MAX ? h->cap * 2 : BG_HDRS_MAX; /* not 32768 */
        bg_hfield *f;
        if (h->f == h->inl) {
            f = malloc(cap * sizeof *f);
            if (f)
                memcpy(f, h->inl, h->n * sizeof *f);
        } else
            f = realloc(h->f, cap * sizeof *f);
        if (!f)
            return;
        h->f = f;
        h->cap = cap;
    }
    bg_hfield *x = &h->f[h->n++];
    x->off = off;
    x->name_len = name_len;
    x->val_off = val_off;
    x->end = end;
}

/* Walk lines: fields, continuations, and stop at a blank or foreign line. */
size_t bg_hdrs_parse(bg_hdrs *h, const char *p, size_t off, size_t end, char eol)
{
    h->base = p;
    h->f = h->inl;
    h->n = 0;
    h->cap = BG_HDRS_INLINE;
    h->eol = eol;
    h->block_off = h->block_end = h->body_off = off;
    size_t i = off;
    int skipped = 0; /* a field was dropped at BG_HDRS_MAX: ignore its continuations */
    while (i < end) {
        size_t next, ce = bg_line_end(p, i, end, eol, &next);
        if (ce == i) {
            h->block_end = i;
            h->body_off = next;
            return h->n;
        }
        if (p[i] == ' ' || p[i] == '\t') {
            if (i == off) /* a block cannot start with a continuation */
                return 0;
            if (h->n > 0 && !skipped)
                h->f[h->n - 1].end = ce;
            i = next;
            continue;
        }
        size_t j = i;
        while (j < ce && (unsigned char)p[j] > 0x20 && (unsigned char)p[j] < 0x7f && p[j] != ':')
            j++;
        size_t k = j;
        while (k < ce && (p[k] == ' ' || p[k] == '\t'))
            k++;
        if (j == i || k >= ce || p[k] != ':') {
            h->block_end = h->body_off = i;
            return h->n;
        }
        size_t before = h->n;
        bg_hdrs_add(h, i, j - i, k + 1, ce);
        skipped = h->n == before;
        i = next;
    }
    h->block_end = h->body_off = end;
    return h->n;
}

/* Only a block that outgrew the inline array owns memory. */
void bg_hdrs_free(bg_hdrs *h)
{
    if (!h)
        return;
    if (h->f && h->f != h->inl)
        free(h->f);
    h->f = h->inl;
    h->n = 0;
    h->cap = BG_HDRS_INLINE;
}

/* Linear over the fields: blocks are small and looked up a few times. */
long bg_hdrs_find(const bg_hdrs *h, const char *name, size_t from)
{
    size_t nl = strlen(name);
    for (size_t i = from; i < h->n; i++)
        if (h->f[i].name_len == nl && strncasecmp(h->base + h->f[i].off, name, nl) == 0)
            return (long)i;
    return -1;
}

/* Unfold and sanitise in one pass, straight from the input. */
size_t bg_hdrs_raw(const bg_hdrs *h, size_t idx, char *out, size_t outlen)
{
    if (idx >= h->n) {
        if (outlen)
            out[0] = '\0';
        return 0;
    }
    const bg_hfield *f = &h->f[idx];
    return bg_text_clean(out, outlen, h->base + f->val_off, f->end - f->val_off, 0);
}

/* As bg_hdrs_raw, plus RFC 2047; the input read is bounded by the output size. */
size_t bg_hdrs_decoded(const bg_hdrs *h, size_t idx, char *out, size_t outlen)
{
    if (idx >= h->n) {
        if (outlen)
            out[0] = '\0';
        return 0;
    }
    const bg_hfield *f = &h->f[idx];
    size_t len = f->end - f->val_off;
    const char *v = h->base + f->val_off;
    /* bound the work for huge fields: the output holds at most outlen bytes */
    size_t maxin = outlen * 8 + 256;
    if (len > maxin)
        len = maxin;
    return bg_rfc2047_decode(v, len, out, outlen);
}

/* First field of that name, raw; "" when absent. */
size_t bg_hdrs_get(const bg_hdrs *h, const char *name, char *out, size_t outlen)
{
    long i = bg_hdrs_find(h, name, 0);
    if (i < 0) {
        if (outlen)
            out[0] = '\0';
        return 0;
    }
    return bg_hdrs_raw(h, (size_t)i, out, outlen);
}

/* First field of that name, decoded; "" when absent. */
size_t bg_hdrs_get_decoded(const bg_hdrs *h, const char *name, char *out, size_t outlen)
{
    long i = bg_hdrs_find(h, name, 0);
    if (i < 0) {
        if (outlen)
            out[0] = '\0';
        return 0;
    }
    return bg_hdrs_decoded(h, (size_t)i, out, outlen);
}

/* Runs of printable ASCII are copied in bulk; everything else is checked byte by byte. */
size_t bg_text_clean(char *out, size_t outlen, const char *src, size_t len, int flags)
{
    if (outlen == 0)
        return 0;
    const unsigned char *s = (const unsigned char *)src;
    size_t cap = outlen - 1, o = 0;
    int lines = flags & BG_CLEAN_LINES, pend = 0;
    for (size_t i = 0; i < len && o < cap;) {
        unsigned char c = s[i];
        if (c > 0x20 && c < 0x7f && !pend) {
            /* a run of printable ASCII (and, for lines, LF, TAB and
             * space): copy without further tests */
            size_t run = i, room = cap - o;
            if (lines)
                while (run < len && run - i < room &&
                       ((s[run] >= 0x20 && s[run] < 0x7f) || s[run] == '\n' || s[run] == '\t'))
                    run++;
            else
                while (run < len && run - i < room && s[run] > 0x20 && s[run] < 0x7f)
                    run++;
            memmove(out + o, s + i, run - i);
            o += run - i;
            i = run;
            continue;
        }
        if (c < 0x80) {
            i++;
            if (lines) {
                if (c == '\n' || c == '\t' || c >= 0x20) {
                    if (c != 0x7f)
                        out[o++] = (char)c;
                }
                continue;
            }
            if (c <= 0x20 || c == 0x7f) {
                pend = o > 0;
                continue;
            }
            if (pend) {
                if (o + 2 > cap)
                    break;
                out[o++] = ' ';
                pend = 0;
            }
            out[o++] = (char)c;
            continue;
        }
        size_t n = bg_utf8_len(s + i, len - i);
        const char *w = n ? (const char *)s + i : "?";
        size_t wl = n ? n : 1;
        if (o + wl + (size_t)pend > cap)
            break;
        if (pend) {
            out[o++] = ' ';
            pend = 0;
        }
        memmove(out + o, w, wl);
        o += wl;
        i += wl;
    }
    if (!lines)
        while (o > 0 && out[o - 1] == ' ')
            o--;
    out[o] = '\0';
    return o;
}

/* Lower-case an ASCII charset name into out, without quotes, RFC 2231
 * language suffix or blanks. */
static void bg_charset_norm(const char *cs, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *cs && o + 1 < outlen; cs++) {
        unsigned char c = (unsigned char)*cs;
        if (c == '*')
            break;
        if (c == '"' || c == '\'' || c <= 0x20)
            continue;
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[o] = '\0';
}

/* ASCII, UTF-8 and Latin-1 without iconv (most bounces); iconv for the rest, "?" for bad bytes. */
int bg_charset_to_utf8(const char *charset, const char *in, size_t len, bg_buf *out,
                       size_t limit)
{
    char cs[48];
    bg_charset_norm(charset ? charset : "", cs, sizeof cs);
    size_t room = out->len < limit ? limit - out->len : 0;
    if (room == 0)
        return bg_buf_failed(out) ? -1 : 0;
    if (!cs[0] || !strcmp(cs, "us-ascii") || !strcmp(cs, "ascii") || !strcmp(cs, "utf-8") ||
        !strcmp(cs, "utf8") || !strncmp(cs, "x-", 2) || !strcmp(cs, "unknown-8bit") ||
        !strcmp(cs, "default")) {
        return bg_buf_add(out, in, len < room ? len : room);
    }
    if (!strcmp(cs, "iso-8859-1") || !strcmp(cs, "latin1") || !strcmp(cs, "iso8859-1") ||
        !strcmp(cs, "iso_8859-1") || !strcmp(cs, "l1")) {
        for (size_t i = 0; i < len && out->len + 2 <= limit; i++) {
            unsigned char c = (unsigned char)in[i];
            if (c < 0x80)
                bg_buf_addc(out, (char)c);
            else {
                bg_buf_addc(out, (char)(0xc0 | (c >> 6)));
                bg_buf_addc(out, (char)(0x80 | (c & 0x3f)));
            }
        }
        return bg_buf_failed(out) ? -1 : 0;
    }
    /* Japanese bounces often label EUC-JP text as ISO-2022-JP (a 7-bit
     * charset): 8-bit bytes give the mislabel away */
    if (!strcmp(cs, "iso-2022-jp")) {
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)in[i] >= 0x80) {
                strcpy(cs, "euc-jp");
                break;
            }
    }
    iconv_t cd = iconv_open("UTF-8", cs);
    if (cd == (iconv_t)-1)
        return bg_buf_add(out, in, len < room ? len : room);
    char *ip = (char *)in;
    size_t il = len;
    char tmp[1024];
    while (il > 0 && out->len < limit) {
        char *op = tmp;
        size_t ol = sizeof tmp;
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        int err = r == (size_t)-1 ? errno : 0;
        size_t got = (size_t)(op - tmp);
        if (got > limit - out->len)
            got = limit - out->len;
        bg_buf_add(out, tmp, got);
        if (!err)
            break;
        if (err == E2BIG)
            continue;
        if (err == EILSEQ && il > 0) {
            bg_buf_addc(out, '?');
            ip++;
            il--;
            continue;
        }
        break; /* EINVAL: incomplete sequence at the end */
    }
    iconv_close(cd);
    return bg_buf_failed(out) ? -1 : 0;
}

/* Value of a hex digit, -1 for anything else (shared with bg_mime). */
int bg_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode one encoded word's text (Q or B) into dst (at most dstlen bytes). */
static size_t bg_word_decode(char enc, const char *t, size_t tl, char *dst, size_t dstlen)
{
    size_t o = 0;
    if (enc == 'q' || enc == 'Q') {
        for (size_t i = 0; i < tl && o < dstlen; i++) {
            unsigned char c = (unsigned char)t[i];
            if (c == '_')
                dst[o++] = ' ';
            else if (c == '=' && i + 2 < tl && bg_hexval((unsigned char)t[i + 1]) >= 0 &&
                     bg_hexval((unsigned char)t[i + 2]) >= 0) {
                dst[o++] = (char)(bg_hexval((unsigned char)t[i + 1]) * 16 +
                                  bg_hexval((unsigned char)t[i + 2]));
                i += 2;
            } else
                dst[o++] = (char)c;
        }
        return o;
    }
    bg_base64 st = {0, 0};
    return bg_base64_decode(&st, t, tl, dst, dstlen, NULL);
}

/* Try an encoded word at in[i]: "=?charset?X?text?=". On success append
 * its UTF-8 to acc and return the index after it; else return i. */
static size_t bg_word_try(const char *in, size_t len, size_t i, bg_buf *acc, size_t limit)
{
    size_t j = i + 2, cs = j;
    while (j < len && j - cs < 40 && in[j] != '?' && (unsigned char)in[j] > 0x20)
        j++;
    if (j >= len || in[j] != '?' || j == cs || j + 2 >= len || in[j + 2] != '?')
        return i;
    char enc = in[j + 1];
    if (enc != 'q' && enc != 'Q' && enc != 'b' && enc != 'B')
        return i;
    size_t t = j + 3, k = t;
    while (k + 1 < len && !(in[k] == '?' && in[k + 1] == '=') && k - t < 4096)
        k++;
    if (k + 1 >= len || in[k] != '?' || in[k + 1] != '=')
        return i;
    char charset[41];
    memcpy(charset, in + cs, j - cs);
    charset[j - cs] = '\0';
    char bytes[4096];
    size_t n = bg_word_decode(enc, in + t, k - t, bytes, sizeof bytes);
    bg_charset_to_utf8(charset, bytes, n, acc, limit);
    return k + 2;
}

/* Plain values skip the decoder; encoded words are joined in a buffer, then cleaned once. */
size_t bg_rfc2047_decode(const char *in, size_t len, char *out, size_t outlen)
{
    if (!memmem(in, len, "=?", 2))
        return bg_text_clean(out, outlen, in, len, 0);
    bg_buf acc;
    bg_buf_init(&acc);
    size_t limit = outlen * 4 + 64;
    size_t i = 0;
    int last_word = 0;
    while (i < len && acc.len < limit) {
        unsigned char c = (unsigned char)in[i];
        if (c == '=' && i + 1 < len && in[i + 1] == '?') {
            size_t after = bg_word_try(in, len, i, &acc, limit);
            if (after != i) {
                last_word = 1;
                i = after;
                continue;
            }
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            /* blanks between two encoded words vanish; other blanks stay */
            size_t ws = i;
            while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n'))
                i++;
            bg_buf none;
            bg_buf_init(&none);
            if (!(last_word && i + 1 < len && in[i] == '=' && in[i + 1] == '?' &&
                  bg_word_try(in, len, i, &none, 0) != i))
                bg_buf_add(&acc, in + ws, i - ws);
            continue;
        }
        bg_buf_addc(&acc, (char)c);
        last_word = 0;
        i++;
    }
    size_t r = bg_text_clean(out, outlen, bg_buf_str(&acc), acc.len, 0);
    bg_buf_free(&acc);
    return r;
}


/* ASCII lower-case map for the search below. */
static const unsigned char bg_lower[256] = {
#define L4(n) L1(n), L1(n + 1), L1(n + 2), L1(n + 3)
#define L1(n) (unsigned char)((n) >= 'A' && (n) <= 'Z' ? (n) + 32 : (n))
#define L16(n) L4(n), L4(n + 4), L4(n + 8), L4(n + 12)
    L16(0),   L16(16),  L16(32),  L16(48),  L16(64),  L16(80),  L16(96),  L16(112),
    L16(128), L16(144), L16(160), L16(176), L16(192), L16(208), L16(224), L16(240),
#undef L16
#undef L1
#undef L4
};

/* One table lookup per byte; the rest of the needle only on a match of
 * its first two bytes. */
const char *bg_memcasemem(const char *s, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    if (nl == 0)
        return s;
    if (nl > len)
        return NULL;
    const unsigned char *u = (const unsigned char *)s, *n = (const unsigned char *)needle;
    unsigned char f = bg_lower[n[0]], g = nl > 1 ? bg_lower[n[1]] : 0;
    size_t last = len - nl;
    for (size_t i = 0; i <= last; i++) {
        if (bg_lower[u[i]] != f || (nl > 1 && bg_lower[u[i + 1]] != g))
            continue;
        size_t k = 2;
        while (k < nl && bg_lower[u[i + k]] == bg_lower[n[k]])
            k++;
        if (k >= nl)
            return s + i;
    }
    return NULL;
}
