/* bg_base64: the one base64 decoder (see bg_base64.h). */
#include "bg_base64.h"

int bg_base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

size_t bg_base64_decode(bg_base64 *st, const char *in, size_t len, char *out, size_t outlen,
                        size_t *used)
{
    size_t o = 0, i = 0;
    for (; i < len && o < outlen; i++) {
        int v = bg_base64_value((unsigned char)in[i]);
        if (v < 0)
            continue;
        st->acc = (st->acc << 6) | (unsigned)v;
        st->bits += 6;
        if (st->bits >= 8) {
            st->bits -= 8;
            out[o++] = (char)((st->acc >> st->bits) & 0xff);
        }
    }
    if (used)
        *used = i;
    return o;
}
