/* bg_html: escaping text for an HTML body.
 *
 * Everything the renderer puts into HTML passes through here: catalogue
 * texts after placeholder filling and, above all, remote text (the server's
 * reply, addresses, subjects). bg_html_escape's result contains no markup
 * at all; bg_html_contact adds exactly one link whose target it checked.
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

/* bg_html_escape for remote text shown verbatim (in <pre>), with every
 * e-mail address of at most BG_HTML_NOBR_MAX characters in a no-wrap span,
 * so that it never breaks at its hyphens (a longer one wraps freely rather
 * than push a phone's page sideways). */
#define BG_HTML_NOBR_MAX 40
void bg_html_escape_addrs(bg_buf *out, const char *s, size_t len, int br);

/* Append a contact text (the help desk from the config: "IT desk,
 * help@example.com, ext. 4357" or "https://help.example.com/mail")
 * escaped, with its first e-mail address as a mailto: link or its first
 * https:// address as a link. Only address characters (letters, digits,
 * . _ % + - and one @) and URL characters without quotes, blanks or angle
 * brackets go into the link; the rest is escaped text. */
void bg_html_contact(bg_buf *out, const char *s, size_t len);

#endif
