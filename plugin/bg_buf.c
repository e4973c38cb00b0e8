/* bg_buf: growable byte buffer with a sticky failure flag (see bg_buf.h). */
#include "bg_buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bg_buf_init(bg_buf *b)
{
    memset(b, 0, sizeof *b);
}

void bg_buf_free(bg_buf *b)
{
    if (!b)
        return;
    free(b->p);
    size_t limit = b->limit;
    bg_buf_init(b);
    b->limit = limit;
}

void bg_buf_reset(bg_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* Make room for extra more bytes plus the NUL. */
static int bg_buf_grow(bg_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra > ((size_t)-1) / 2 - b->len - 1 ||
        (b->limit && b->len + extra > b->limit)) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int bg_buf_add(bg_buf *b, const void *data, size_t len)
{
    if (bg_buf_grow(b, len) < 0)
        return -1;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

int bg_buf_adds(bg_buf *b, const char *s)
{
    return bg_buf_add(b, s, strlen(s));
}

int bg_buf_addc(bg_buf *b, char c)
{
    return bg_buf_add(b, &c, 1);
}

int bg_buf_vprintf(bg_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || bg_buf_grow(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int bg_buf_printf(bg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = bg_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

const char *bg_buf_str(const bg_buf *b)
{
    return b->p && !b->failed ? b->p : "";
}

int bg_buf_failed(const bg_buf *b)
{
    return b->failed;
}

char *bg_buf_take(bg_buf *b)
{
    if (b->failed) {
        bg_buf_free(b);
        return NULL;
    }
    char *p = b->p;
    if (!p)
        p = calloc(1, 1);
    bg_buf_init(b);
    return p;
}

int bg_buf_read_file(bg_buf *b, const char *path, size_t limit, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = strerror(errno);
        return -1;
    }
    size_t old_limit = b->limit;
    b->limit = b->len + limit;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (bg_buf_add(b, chunk, n) < 0)
            break;
    int bad = ferror(f);
    fclose(f);
    int over = bg_buf_failed(b) && b->len + sizeof chunk > b->limit;
    b->limit = old_limit;
    if (bad || bg_buf_failed(b)) {
        *why = bad ? "read error" : over ? "larger than the limit" : "out of memory";
        return over && !bad ? -3 : -2;
    }
    return 0;
}
