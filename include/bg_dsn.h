/* bg_dsn: the machine-readable parts of a report, for bg_bounce_read.
 *
 * RFC 3464 / RFC 6533 delivery-status fields, ARF feedback-report fields,
 * the returned original message (a MIME part or an inline copy in a
 * plain-text bounce) and per-recipient explanations in the human text.
 * Internal to the reader: bg_bounce_read is the public entry point.
 */
#ifndef BG_DSN_H
#define BG_DSN_H

#include <stddef.h>
#include "bg_bounce.h"

/* Read the delivery-status fields in p[off, end) into b (per-message
 * fields and one recipient per group). With spans set, p is the input
 * message and each recipient's status_field points into it. Returns the
 * number of recipients added. */
size_t bg_dsn_parse(bg_bounce *b, const char *p, size_t off, size_t end, char eol, int spans);

/* Delivery-status fields written into a text part (a report whose MIME
 * structure is broken or was flattened): parse from the first
 * Reporting-MTA / Final-Recipient / Original-Recipient line of the LF
 * text. Returns the number of recipients added. */
size_t bg_dsn_embedded(bg_bounce *b, const char *text, size_t len);

/* Read an ARF message/feedback-report body: one recipient per
 * Original-Rcpt-To (or Removal-Recipient), diagnostic = feedback type.
 * Returns the number of recipients added; *feedback_type gets the type. */
size_t bg_dsn_arf(bg_bounce *b, const char *p, size_t off, size_t end, char eol,
                  char *feedback_type, size_t ftlen);

/* Fill o from the header block at p[off, end) (a returned message or its
 * headers). Returns 1 when a header block was found. */
int bg_dsn_original(bg_original *o, const char *p, size_t off, size_t end, char eol);

/* Find an inline copy of the original message in a plain-text bounce
 * (LF text, e.g. Exim's "------ This is a copy of the message, including
 * all the headers. ------") and fill o from its headers. Returns 1 when
 * found. */
int bg_dsn_inline_original(bg_original *o, const char *text, size_t len);

/* For recipients whose diagnostic is empty, take the explanation that
 * follows their address in the human text (Exim lists each address with
 * indented error lines). Returns the number filled. */
size_t bg_dsn_text_diag(bg_bounce *b, const char *text, size_t len);

#endif
