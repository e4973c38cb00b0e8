/* bg_utf8: the one UTF-8 validator of the core.
 *
 * Strict (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. Every module that walks remote text by characters uses it
 * (the header cleaner, the renderer, JSON and HTML escaping).
 */
#ifndef BG_UTF8_H
#define BG_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1-4), 0 when invalid or
 * truncated (avail bytes available). */
size_t bg_utf8_len(const unsigned char *s, size_t avail);

#endif
