/* bg_status: RFC 3463 enhanced status codes and SMTP reply codes in text.
 *
 * A status code fits in a fixed array (class.subject.detail, each at most
 * 3 digits): no allocation. Finders return the length they accepted, or 0.
 */
#ifndef BG_STATUS_H
#define BG_STATUS_H

#include <stddef.h>

#define BG_STATUS_MAX 12 /* "5.123.456" + NUL fits */

/* Length of a valid enhanced status code at the start of s (class 2, 4 or
 * 5; subject 1-3 digits; detail 1-3 digits), 0 when there is none. */
size_t bg_status_valid(const char *s);

/* Find the first enhanced status code in text (a whole token: not part of
 * an IP address, version number or date). Copies it to out, returns its
 * offset + 1, or 0 when there is none (out = ""). */
size_t bg_status_find(const char *text, char out[BG_STATUS_MAX]);

/* Find an SMTP reply code (2xx-5xx followed by space, '-' or end) at the
 * start of text or after typical prefixes ("smtp;", "host x said:").
 * Returns the code, or 0. */
int bg_reply_find(const char *text);

/* 1 when the code is generic: "X.0.0" (Exim writes 5.0.0 / 4.0.0). */
int bg_status_generic(const char *status);

/* Class digit of a status ('2', '4', '5') or 0. */
int bg_status_class(const char *status);

#endif
