/* bg_buf: a growable byte buffer.
 *
 * The one allocation pattern of the core: append bytes, read them back as a
 * NUL-terminated string. Once an allocation fails the buffer stays in the
 * failed state (bg_buf_failed) and further appends are no-ops, so callers can
 * build a whole text and check once at the end. It never aborts.
 */
#ifndef BG_BUF_H
#define BG_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct bg_buf {
    char *p;      /* always NUL-terminated when non-NULL */
    size_t len;   /* bytes used, excluding the NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* 0 = unbounded; otherwise appends past it fail */
    int failed;   /* sticky: an allocation or the limit failed */
} bg_buf;

/* Initialise an empty buffer (no allocation). */
void bg_buf_init(bg_buf *b);
/* Release the memory; the buffer is empty and usable again. NULL is fine. */
void bg_buf_free(bg_buf *b);
/* Drop the contents, keep the memory. */
void bg_buf_reset(bg_buf *b);
/* Append len bytes. Returns 0, or -1 when the buffer has failed. */
int bg_buf_add(bg_buf *b, const void *data, size_t len);
/* Append a NUL-terminated string. */
int bg_buf_adds(bg_buf *b, const char *s);
/* Append one byte. */
int bg_buf_addc(bg_buf *b, char c);
/* Append printf-style. */
int bg_buf_printf(bg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int bg_buf_vprintf(bg_buf *b, const char *fmt, va_list ap);
/* The contents as a string: "" for an empty buffer, never NULL. */
const char *bg_buf_str(const bg_buf *b);
/* Non-zero once an append has failed. */
int bg_buf_failed(const bg_buf *b);
/* Hand the allocation to the caller (who frees it) and reset the buffer.
 * Returns NULL when the buffer failed; an empty buffer gives "". */
char *bg_buf_take(bg_buf *b);

/* Read a whole file into b (appending), at most limit bytes. Returns 0;
 * -1 when it cannot be opened (*why = strerror), -2 on a read error or
 * when memory runs out, -3 when it is larger than limit (*why says so). */
int bg_buf_read_file(bg_buf *b, const char *path, size_t limit, const char **why);

#endif
