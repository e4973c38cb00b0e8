/* bg_base64: the one base64 decoder of the core.
 *
 * Lenient as mail needs: anything outside the alphabet (line ends,
 * blanks, '=' padding, garbage) is skipped; the URL-safe alphabet ('-',
 * '_') is accepted too. Decoding can run in pieces: the state carries the
 * bits of a split quantum. Used for MIME bodies and RFC 2047 "B" words.
 */
#ifndef BG_BASE64_H
#define BG_BASE64_H

#include <stddef.h>

typedef struct bg_base64 {
    unsigned acc;
    int bits;
} bg_base64; /* zero it to start */

/* Value of a base64 (or base64url) digit, -1 for anything else. */
int bg_base64_value(unsigned char c);

/* Decode in[0, len) into out (at most outlen bytes). Returns the bytes
 * written; *used (when not NULL) gets the input consumed, less than len
 * only when out is full. */
size_t bg_base64_decode(bg_base64 *st, const char *in, size_t len, char *out, size_t outlen,
                        size_t *used);

#endif
