/* bg_mime: the MIME structure of a message, found in place.
 *
 * The walker lists every part (pre-order, document order) as offsets into
 * the input, with its content type, charset, boundary and transfer
 * encoding. Multiparts are followed at any depth up to a bound; message
 * parts (message/rfc822, ...) are listed but not entered.
 * A multipart without its closing boundary is read as far as it goes; a
 * missing boundary makes the part a leaf. Nothing is read past the end.
 * Decoders (quoted-printable, base64) write into a bg_buf with a limit.
 */
#ifndef BG_MIME_H
#define BG_MIME_H

#include <stddef.h>
#include "bg_buf.h"

typedef enum { BG_ENC_IDENTITY = 0, BG_ENC_QP, BG_ENC_BASE64 } bg_mime_enc;

/* One part: headers [off, hdr_end), body [body_off, end). */
typedef struct bg_mime_part {
    size_t off, hdr_end, body_off, end;
    unsigned depth;        /* 0 = the message itself */
    int parent;            /* index of the enclosing multipart, -1 for the root */
    int nchild;            /* direct children (multipart only) */
    int truncated;         /* a multipart whose closing boundary is missing */
    bg_mime_enc enc;
    char type[64];         /* lower-case "type/subtype"; default text/plain */
    char charset[40];      /* as given, "" when absent */
    char boundary[80];     /* multipart only; "" otherwise */
    char report_type[40];  /* multipart/report only, lower-case */
} bg_mime_part;

typedef struct bg_mime {
    bg_mime_part *parts;
    size_t n, cap;
    char eol;
    int limited; /* a depth or part bound was hit */
} bg_mime;

/* Walk the message p[off, len) (off = start of its header block). Returns
 * the number of parts, 0 only when memory ran out at the first part. */
size_t bg_mime_walk(bg_mime *m, const char *p, size_t off, size_t len, char eol,
                    unsigned max_depth, unsigned max_parts);

void bg_mime_free(bg_mime *m);

/* The value of parameter name in a structured header value (Content-Type,
 * Content-Disposition): plain, quoted, or RFC 2231 (name*=cs''%XX, and
 * name*0= / name*1*= sections in order). Returns the length written to
 * out ("" when absent). */
size_t bg_mime_param(const char *val, size_t len, const char *name, char *out, size_t outlen);

/* Append the decoded body (transfer encoding only) to out, stopping at
 * limit bytes of output. */
int bg_mime_decode(const char *p, size_t len, bg_mime_enc enc, bg_buf *out, size_t limit);

/* A text part's body as UTF-8 with LF line ends (transfer encoding and
 * charset undone, invalid UTF-8 and control characters removed), appended
 * to out up to limit bytes. */
int bg_mime_text(const char *p, const bg_mime_part *part, bg_buf *out, size_t limit);

/* Normalise line ends (CRLF and CR alone to LF) and clean in[0, len) into
 * out (see bg_text_clean with BG_CLEAN_LINES), up to limit bytes. */
int bg_text_lines(const char *in, size_t len, bg_buf *out, size_t limit);

#endif
