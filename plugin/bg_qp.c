/* bg_qp: quoted-printable encoding (see bg_qp.h).
 *
 * Encodes line by line: '=' and every byte outside printable ASCII become
 * =XX, blanks before a line end are encoded, soft breaks keep each line at
 * 76 characters or fewer, and a '-' starting a line is encoded so the
 * output can never contain a boundary delimiter line.
 */
#include "bg_qp.h"

#include <string.h>

#define BG_QP_WIDTH 76

static const char bg_qp_hex[] = "0123456789ABCDEF";

/* Output staging: bytes are collected on the stack and appended in runs
 * (the renderer's cost is dominated by per-byte appends otherwise). */
typedef struct bg_qp_out {
    bg_buf *buf;
    char tmp[1024];
    size_t n;
} bg_qp_out;

/* Stage n bytes (n <= sizeof tmp), flushing to the buffer when the stage is full. */
static void bg_qp_put(bg_qp_out *o, const char *s, size_t n)
{
    if (o->n + n > sizeof o->tmp) {
        bg_buf_add(o->buf, o->tmp, o->n);
        o->n = 0;
    }
    memcpy(o->tmp + o->n, s, n);
    o->n += n;
}

/* A byte that is written as itself anywhere but at a line's end or start. */
static inline int bg_qp_plain(unsigned c)
{
    return (c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t';
}

/* Encode one line (no line end). */
static void bg_qp_line(bg_qp_out *o, const unsigned char *s, size_t n, const char *eol,
                       size_t eollen)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        /* fast path: a run of bytes that stay as they are, not the line's
         * last (trailing blanks are encoded) nor its first (a leading '-'
         * or '.' is), and no further than the soft-break column */
        if (col > 0 && col < BG_QP_WIDTH - 1 && i + 1 < n) {
            size_t lim = n - 1 - i, k = 0;
            if (lim > BG_QP_WIDTH - 1 - col)
                lim = BG_QP_WIDTH - 1 - col;
            while (k < lim && bg_qp_plain(s[i + k]))
                k++;
            if (k > 0) {
                bg_qp_put(o, (const char *)s + i, k);
                col += k;
                i += k - 1;
                continue;
            }
        }
        unsigned c = s[i];
        int last = i + 1 == n;
        int literal = bg_qp_plain(c) && !(last && (c == ' ' || c == '\t'));
        if (col == 0 && (c == '-' || c == '.'))
            literal = 0;
        size_t w = literal ? 1 : 3;
        /* room for this token plus a soft break '=' (unless it ends the line) */
        if (col + w > (last ? BG_QP_WIDTH : BG_QP_WIDTH - 1)) {
            bg_qp_put(o, "=", 1);
            bg_qp_put(o, eol, eollen);
            col = 0;
            if (c == '-' || c == '.') {
                literal = 0;
                w = 3;
            }
        }
        if (literal) {
            char ch = (char)c;
            bg_qp_put(o, &ch, 1);
        } else {
            char enc[3] = {'=', bg_qp_hex[c >> 4], bg_qp_hex[c & 15]};
            bg_qp_put(o, enc, 3);
        }
        col += w;
    }
}

/* Encode text line by line, CR before LF dropped, eol as the line end. */
void bg_qp_encode(bg_buf *out, const char *text, size_t len, const char *eol)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t pos = 0, eollen = strlen(eol);
    bg_qp_out o = {.buf = out, .n = 0};
    while (pos < len) {
        const unsigned char *nl = memchr(p + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (p + pos)) : len - pos;
        size_t m = n;
        if (m && p[pos + m - 1] == '\r')
            m--;
        bg_qp_line(&o, p + pos, m, eol, eollen);
        if (nl)
            bg_qp_put(&o, eol, eollen);
        pos += n + (nl ? 1 : 0);
    }
    bg_buf_add(out, o.tmp, o.n);
}
