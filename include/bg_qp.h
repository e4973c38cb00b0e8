/* bg_qp: quoted-printable bodies (RFC 2045) for the rewritten parts.
 *
 * The renderer's text/plain and text/html parts are UTF-8 in
 * quoted-printable: 7-bit safe through any relay, lines of at most 76
 * characters, and a '-' at the start of a line is encoded so no line of the
 * output can look like a MIME boundary delimiter.
 */
#ifndef BG_QP_H
#define BG_QP_H

#include <stddef.h>
#include "bg_buf.h"

/* Append text (len bytes, LF line ends) quoted-printable encoded, with eol
 * ("\n" or "\r\n") as line end. Every output line is at most 76 bytes. */
void bg_qp_encode(bg_buf *out, const char *text, size_t len, const char *eol);

#endif
