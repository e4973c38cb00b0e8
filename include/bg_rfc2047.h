/* bg_rfc2047: safe header values and encoded words.
 *
 * A value that ends up in a header (the new Subject) is built from remote
 * text: it must be one line, valid UTF-8, bounded, and RFC 2047 encoded
 * when not plain ASCII. Also the UTF-8 cleaner the renderer uses for every
 * remote string.
 */
#ifndef BG_RFC2047_H
#define BG_RFC2047_H

#include <stddef.h>
#include "bg_buf.h"
#include "bg_utf8.h" /* bg_utf8_len, for the renderer */

/* Append s (NUL-terminated) with invalid UTF-8 sequences replaced by '?'
 * and control characters (CR, LF, TAB and the rest) replaced by one blank;
 * runs of blanks collapse to one; leading/trailing blanks dropped. At most
 * max bytes are appended, cut at a character boundary (max 0 = no limit). */
void bg_utf8_clean(bg_buf *out, const char *s, size_t max);

/* Append a header value for text (NUL-terminated, cleaned as above first,
 * at most max bytes of text): as is when printable ASCII, else as
 * "=?UTF-8?B?...?=" words of at most 75 characters separated by a blank,
 * never splitting a character. The result is one line. */
void bg_rfc2047_encode(bg_buf *out, const char *text, size_t max);

#endif
