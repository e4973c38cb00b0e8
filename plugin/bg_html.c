/* bg_html: HTML escaping of untrusted text (see bg_html.h).
 *
 * The output of bg_html_escape is text only: no tag, entity or attribute
 * can come out of it, whatever the input. Invalid UTF-8 and control
 * characters become U+FFFD, so the part stays valid UTF-8.
 */
#include "bg_html.h"

#include <string.h>
#include <strings.h>

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

/* Characters of an address's local part and domain that a link takes. */
static int bg_html_local_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int bg_html_domain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-';
}

/* URL characters (RFC 3986 unreserved, reserved and %), without quotes. */
static int bg_html_url_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("-._~:/?#[]@!$&()*+,;=%", c));
}

/* The first e-mail address in s: 1 with its range, else 0. */
static int bg_html_find_address(const char *s, size_t len, size_t *start, size_t *end)
{
    for (size_t at = 0; at < len; at++) {
        if (s[at] != '@')
            continue;
        size_t a = at, e = at + 1;
        while (a > 0 && bg_html_local_char((unsigned char)s[a - 1]))
            a--;
        while (e < len && bg_html_domain_char((unsigned char)s[e]))
            e++;
        while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-'))
            e--;
        while (a < at && s[a] == '.')
            a++;
        const char *dot = memchr(s + at + 1, '.', e - at - 1);
        if (a < at && dot && dot > s + at + 1 && dot < s + e - 1) {
            *start = a;
            *end = e;
            return 1;
        }
    }
    return 0;
}

/* The first https:// address in s: 1 with its range, else 0. */
static int bg_html_find_url(const char *s, size_t len, size_t *start, size_t *end)
{
    for (size_t i = 0; i + 8 < len; i++) {
        if (strncasecmp(s + i, "https://", 8) != 0)
            continue;
        size_t e = i + 8;
        while (e < len && bg_html_url_char((unsigned char)s[e]))
            e++;
        while (e > i + 8 && strchr(".,;:!?)]", s[e - 1]))
            e--;
        if (e > i + 8) {
            *start = i;
            *end = e;
            return 1;
        }
    }
    return 0;
}

/* Escaped contact text with its first address or URL as a link. */
void bg_html_contact(bg_buf *out, const char *s, size_t len)
{
    size_t as = 0, ae = 0, us = 0, ue = 0;
    int a = bg_html_find_address(s, len, &as, &ae);
    int u = bg_html_find_url(s, len, &us, &ue);
    if (a && u && us < as)
        a = 0; /* the URL comes first (and may hold an @) */
    if (!a && !u) {
        bg_html_escape(out, s, len, BG_HTML_LF_BLANK);
        return;
    }
    size_t st = a ? as : us, en = a ? ae : ue;
    bg_html_escape(out, s, st, BG_HTML_LF_BLANK);
    bg_buf_adds(out, a ? "<a href=\"mailto:" : "<a href=\"");
    bg_html_escape(out, s + st, en - st, BG_HTML_LF_BLANK);
    bg_buf_adds(out, "\" style=\"color:#1a56db;white-space:nowrap;\">");
    bg_html_escape(out, s + st, en - st, BG_HTML_LF_BLANK);
    bg_buf_adds(out, "</a>");
    bg_html_escape(out, s + en, len - en, BG_HTML_LF_BLANK);
}

/* Escaped text with its addresses kept whole. */
void bg_html_escape_addrs(bg_buf *out, const char *s, size_t len, int br)
{
    size_t pos = 0, st, en;
    while (pos < len && bg_html_find_address(s + pos, len - pos, &st, &en)) {
        bg_html_escape(out, s + pos, st, br);
        if (en - st <= BG_HTML_NOBR_MAX) {
            bg_buf_adds(out, "<span style=\"white-space:nowrap;\">");
            bg_html_escape(out, s + pos + st, en - st, br);
            bg_buf_adds(out, "</span>");
        } else {
            bg_html_escape(out, s + pos + st, en - st, br);
        }
        pos += en;
    }
    bg_html_escape(out, s + pos, len - pos, br);
}
