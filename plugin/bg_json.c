/* bg_json: JSON string literals from untrusted bytes. */
#include "bg_json.h"

#include <stdio.h>
#include <string.h>

#include "bg_utf8.h"

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
            size_t n = bg_utf8_len(p, strnlen((const char *)p, 4));
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
