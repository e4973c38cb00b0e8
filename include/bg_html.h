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

/* What a line end (LF or CRLF) becomes. */
enum {
    BG_HTML_LF_BLANK = 0, /* a blank: one-line text */
    BG_HTML_LF_BR = 1,    /* "<br>" and a line end: paragraphs */
    BG_HTML_LF_KEEP = 2   /* a line end: inside <pre> */
};

/* Append s (len bytes, UTF-8) escaped for HTML text and attribute values:
 * & < > " ' become entities; control characters other than tab and line
 * ends become U+FFFD; a line end becomes what br says (BG_HTML_LF_*).
 * Invalid UTF-8 bytes become U+FFFD. */
void bg_html_escape(bg_buf *out, const char *s, size_t len, int br);

/* The same for a NUL-terminated string. */
void bg_html_escapes(bg_buf *out, const char *s, int br);

#endif
