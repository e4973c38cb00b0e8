/* bg_json: JSON string literals from untrusted bytes. */
#include "bg_json.h"

#include <stdio.h>
#include <string.h>

/* Length of a valid UTF-8 sequence at s (1-4), or 0. */
static size_t bg_utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (s[0] == 0xe0 && s[1] < 0xa0)
            return 0;
        if (s[0] == 0xed && s[1] >= 0xa0)
            return 0;
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if (s[0] == 0xf0 && s[1] < 0x90)
            return 0;
        if (s[0] == 0xf4 && s[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

int bg_json_str(bg_buf *b, const char *s)
{
    if (!s)
        return bg_buf_adds(b, "null");
    bg_buf_addc(b, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            bg_buf_addc(b, '\\');
            bg_buf_addc(b, (char)c);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n': bg_buf_adds(b, "\\n"); break;
            case '\r': bg_buf_adds(b, "\\r"); break;
            case '\t': bg_buf_adds(b, "\\t"); break;
            default: bg_buf_printf(b, "\\u%04x", c); break;
            }
            p++;
        } else {
            size_t n = bg_utf8_len(p);
            if (n == 0) {
                bg_buf_adds(b, "\\ufffd");
                p++;
            } else {
                bg_buf_add(b, p, n);
                p += n;
            }
        }
    }
    return bg_buf_addc(b, '"');
}
