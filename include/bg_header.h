/* bg_header: RFC 5322 header blocks, RFC 2047 words, addresses, charsets.
 *
 * The lowest layer of the reader. A header block is indexed in place (no
 * copy of the message): each field is a set of offsets into the input, and
 * values are unfolded, decoded and sanitised only when asked for, into
 * caller-supplied fixed buffers. Line ends may be LF, CRLF or CR alone (one
 * style per message, found by bg_eol_detect). Every length is bounded; a
 * 1 MB header line costs one memchr. Nothing here allocates per byte.
 */
#ifndef BG_HEADER_H
#define BG_HEADER_H

#include <stddef.h>
#include "bg_buf.h"

#define BG_HDRS_INLINE 32     /* fields kept without allocating */
#define BG_HDRS_MAX 20000     /* fields indexed per block; more are skipped */

/* One header field: offsets into the input. */
typedef struct bg_hfield {
    size_t off;      /* first byte of the name */
    size_t name_len; /* name without trailing blanks */
    size_t val_off;  /* first byte after the colon */
    size_t end;      /* end of the field's last line, line end excluded */
} bg_hfield;

/* An indexed header block. Not copyable (f may point into inl). */
typedef struct bg_hdrs {
    const char *base;
    bg_hfield *f;
    size_t n, cap;
    size_t block_off;  /* first byte of the block */
    size_t block_end;  /* end of the block, without the blank line */
    size_t body_off;   /* first byte after the blank line (or where the block stopped) */
    char eol;          /* '\n' (LF and CRLF) or '\r' (CR alone) */
    bg_hfield inl[BG_HDRS_INLINE];
} bg_hdrs;

/* '\n' unless the text has no LF but has CR ('\r'). */
char bg_eol_detect(const char *p, size_t len);

/* The line starting at i (i < end): returns the end of its content (the
 * line end and a CR before LF excluded) and sets *next to the next line. */
size_t bg_line_end(const char *p, size_t i, size_t end, char eol, size_t *next);

/* Index the header block in p[off, end). Returns the number of fields; 0
 * when the first line is not a header field (then body_off = off). A block
 * ends at a blank line or at the first line that is neither a field nor a
 * continuation. */
size_t bg_hdrs_parse(bg_hdrs *h, const char *p, size_t off, size_t end, char eol);

/* Release what bg_hdrs_parse allocated. NULL is fine. */
void bg_hdrs_free(bg_hdrs *h);

/* Index of the first field called name (case-insensitive) at or after
 * from, or -1. */
long bg_hdrs_find(const bg_hdrs *h, const char *name, size_t from);

/* The field's value unfolded: line ends removed, control characters and
 * runs of blanks made one space, trimmed, cut at a UTF-8 boundary to fit
 * out (outlen > 0). Returns the length written. No RFC 2047 decoding. */
size_t bg_hdrs_raw(const bg_hdrs *h, size_t idx, char *out, size_t outlen);

/* bg_hdrs_raw then RFC 2047 decoding to UTF-8. */
size_t bg_hdrs_decoded(const bg_hdrs *h, size_t idx, char *out, size_t outlen);

/* Shortcuts by name: "" when absent. Return the length written. */
size_t bg_hdrs_get(const bg_hdrs *h, const char *name, char *out, size_t outlen);
size_t bg_hdrs_get_decoded(const bg_hdrs *h, const char *name, char *out, size_t outlen);

/* Decode RFC 2047 encoded words in an unfolded value to UTF-8, sanitised
 * and bounded like bg_hdrs_raw. Returns the length written. */
size_t bg_rfc2047_decode(const char *in, size_t len, char *out, size_t outlen);

/* Append len bytes in charset to out as UTF-8 (iconv for what is not
 * ASCII, UTF-8 or Latin-1; unknown charsets are copied as they are and
 * left to the sanitiser). Stops adding once out->len reaches limit.
 * Returns 0, or -1 when out failed. */
int bg_charset_to_utf8(const char *charset, const char *in, size_t len, bg_buf *out,
                       size_t limit);

/* Flags for bg_text_clean. */
#define BG_CLEAN_LINES 1 /* keep LF and TAB (multi-line text); else one line */

/* Copy src to out: invalid UTF-8 becomes '?', control characters are
 * removed (CR, LF and TAB become a space, or with BG_CLEAN_LINES LF/TAB
 * stay and CR goes), runs of blanks collapse (single-line mode only), the
 * result is trimmed and cut at a UTF-8 boundary to fit outlen-1 bytes.
 * out may be src (the output never runs ahead of the input). Returns the
 * length written. */
size_t bg_text_clean(char *out, size_t outlen, const char *src, size_t len, int flags);

/* Case-insensitive search for needle (ASCII) in s[0, len); NULL if none. */
const char *bg_memcasemem(const char *s, size_t len, const char *needle);

/* Value of a hex digit, -1 for anything else (quoted-printable, RFC 2231). */
int bg_hexval(unsigned char c);

#endif
