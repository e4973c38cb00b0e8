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

/* Encode one line (no line end) into out. */
static void bg_qp_line(bg_buf *out, const unsigned char *s, size_t n, const char *eol)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        int last = i + 1 == n;
        int literal = (c >= 33 && c <= 126 && c != '=') ||
                      ((c == ' ' || c == '\t') && !last);
        if (col == 0 && (c == '-' || c == '.'))
            literal = 0;
        size_t w = literal ? 1 : 3;
        /* room for this token plus a soft break '=' (unless it ends the line) */
        if (col + w > (last ? BG_QP_WIDTH : BG_QP_WIDTH - 1)) {
            bg_buf_addc(out, '=');
            bg_buf_adds(out, eol);
            col = 0;
            if (c == '-' || c == '.') {
                literal = 0;
                w = 3;
            }
        }
        if (literal) {
            bg_buf_addc(out, (char)c);
        } else {
            bg_buf_addc(out, '=');
            bg_buf_addc(out, bg_qp_hex[c >> 4]);
            bg_buf_addc(out, bg_qp_hex[c & 15]);
        }
        col += w;
    }
}

void bg_qp_encode(bg_buf *out, const char *text, size_t len, const char *eol)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t pos = 0;
    while (pos < len) {
        const unsigned char *nl = memchr(p + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (p + pos)) : len - pos;
        size_t m = n;
        if (m && p[pos + m - 1] == '\r')
            m--;
        bg_qp_line(out, p + pos, m, eol);
        if (nl)
            bg_buf_adds(out, eol);
        pos += n + (nl ? 1 : 0);
    }
}
