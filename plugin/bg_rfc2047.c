/* bg_rfc2047: one-line, valid UTF-8, bounded header values (see bg_rfc2047.h).
 *
 * Remote text never reaches a header raw: it is cleaned here (control
 * characters, CR and LF become blanks; broken UTF-8 becomes '?'), cut to a
 * bound at a character boundary, and base64-encoded as RFC 2047 words
 * when it is not plain ASCII. Nothing here decodes.
 */
#include "bg_rfc2047.h"

#include <string.h>

/* One-line, valid UTF-8, bounded copy of untrusted text. */
void bg_utf8_clean(bg_buf *out, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t avail = strlen(s), used = 0;
    int blank = 1; /* drop leading blanks and collapse runs */
    size_t pending_blank = 0;
    while (avail) {
        size_t n = bg_utf8_len(p, avail);
        int is_blank = 0;
        if (n == 0) {
            n = 1; /* broken byte */
        } else if (n == 1 && (p[0] < 0x20 || p[0] == 0x7F || p[0] == ' ')) {
            is_blank = 1;
        }
        if (is_blank) {
            if (!blank)
                pending_blank = 1;
            blank = 1;
        } else {
            size_t need = (n == 1 && bg_utf8_len(p, avail) == 0) ? 1 : n;
            if (max && used + pending_blank + need > max)
                break;
            if (pending_blank)
                bg_buf_addc(out, ' ');
            used += pending_blank;
            pending_blank = 0;
            if (bg_utf8_len(p, avail) == 0)
                bg_buf_addc(out, '?');
            else
                bg_buf_add(out, p, n);
            used += need;
            blank = 0;
        }
        p += n;
        avail -= n;
    }
}

static const char bg_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Plain base64 of n bytes (with padding). */
static void bg_b64_encode(bg_buf *out, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        bg_buf_addc(out, bg_b64[(v >> 18) & 63]);
        bg_buf_addc(out, bg_b64[(v >> 12) & 63]);
        bg_buf_addc(out, i + 1 < n ? bg_b64[(v >> 6) & 63] : '=');
        bg_buf_addc(out, i + 2 < n ? bg_b64[v & 63] : '=');
    }
}

/* Raw bytes per encoded word: "=?UTF-8?B?" + 60 base64 chars + "?=" = 72. */
#define BG_RFC2047_CHUNK 45

/* A header value: plain when ASCII, else UTF-8 B-encoded words. */
void bg_rfc2047_encode(bg_buf *out, const char *text, size_t max)
{
    bg_buf clean;
    bg_buf_init(&clean);
    bg_utf8_clean(&clean, text, max);
    const unsigned char *p = (const unsigned char *)bg_buf_str(&clean);
    size_t len = clean.len;
    int ascii = 1;
    for (size_t i = 0; i < len; i++)
        if (p[i] >= 0x7F)
            ascii = 0;
    /* An ASCII text that happens to look like an encoded word is encoded
     * too, so a reader never decodes what was meant literally. */
    if (ascii && !strstr((const char *)p, "=?")) {
        bg_buf_add(out, p, len);
        bg_buf_free(&clean);
        return;
    }
    size_t i = 0;
    int first = 1;
    while (i < len) {
        size_t take = 0;
        while (i + take < len) {
            size_t n = bg_utf8_len(p + i + take, len - i - take);
            if (n == 0)
                n = 1;
            if (take + n > BG_RFC2047_CHUNK)
                break;
            take += n;
        }
        if (!first)
            bg_buf_addc(out, ' ');
        bg_buf_adds(out, "=?UTF-8?B?");
        bg_b64_encode(out, p + i, take);
        bg_buf_adds(out, "?=");
        first = 0;
        i += take;
    }
    bg_buf_free(&clean);
}
