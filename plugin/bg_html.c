/* bg_html: HTML escaping of untrusted text (see bg_html.h).
 *
 * The output of bg_html_escape is text only: no tag, entity or attribute
 * can come out of it, whatever the input. Invalid UTF-8 and control
 * characters become U+FFFD, so the part stays valid UTF-8.
 */
#include "bg_html.h"

#include <string.h>

#include "bg_rfc2047.h"

#define BG_HTML_REPLACEMENT "\xEF\xBF\xBD"

/* Escape len bytes of untrusted text (see bg_html.h). */
void bg_html_escape(bg_buf *out, const char *s, size_t len, int br)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* a run of plain printable ASCII goes in one append */
        size_t run = 0;
        while (i + run < len && p[i + run] >= 0x20 && p[i + run] < 0x7F && p[i + run] != '&' &&
               p[i + run] != '<' && p[i + run] != '>' && p[i + run] != '"' && p[i + run] != '\'')
            run++;
        if (run) {
            bg_buf_add(out, p + i, run);
            i += run;
            continue;
        }
        unsigned c = p[i];
        const char *ent = NULL;
        switch (c) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default: break;
        }
        if (ent) {
            bg_buf_adds(out, ent);
            i++;
            continue;
        }
        if (c == '\r' && i + 1 < len && p[i + 1] == '\n')
            i++, c = '\n';
        if (c == '\n' || c == '\r') {
            bg_buf_adds(out, br == BG_HTML_LF_BR ? "<br>\n" : br == BG_HTML_LF_KEEP ? "\n" : " ");
            i++;
            continue;
        }
        if (c == '\t') {
            bg_buf_addc(out, ' ');
            i++;
            continue;
        }
        if (c < 0x20 || c == 0x7F) {
            bg_buf_adds(out, BG_HTML_REPLACEMENT);
            i++;
            continue;
        }
        size_t n = bg_utf8_len(p + i, len - i);
        if (n == 0) {
            bg_buf_adds(out, BG_HTML_REPLACEMENT);
            i++;
            continue;
        }
        bg_buf_add(out, p + i, n);
        i += n;
    }
}

/* Escape a NUL-terminated string. */
void bg_html_escapes(bg_buf *out, const char *s, int br)
{
    bg_html_escape(out, s, strlen(s), br);
}
