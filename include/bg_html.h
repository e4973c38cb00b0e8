/* bg_html: escaping text for an HTML body.
 *
 * Everything the renderer puts into HTML passes through here: catalogue
 * texts after placeholder filling and, above all, remote text (the server's
 * reply, addresses, subjects). The result contains no markup at all.
 */
#ifndef BG_HTML_H
#define BG_HTML_H

#include <stddef.h>
#include "bg_buf.h"

/* Append s (len bytes, UTF-8) escaped for HTML text and attribute values:
 * & < > " ' become entities; control characters other than tab and line
 * ends become U+FFFD; LF (or CRLF) becomes "<br>" when br is set, else a
 * blank. Invalid UTF-8 bytes become U+FFFD. */
void bg_html_escape(bg_buf *out, const char *s, size_t len, int br);

/* The same for a NUL-terminated string. */
void bg_html_escapes(bg_buf *out, const char *s, int br);

#endif
