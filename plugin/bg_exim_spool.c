/* bg_exim_spool: replace the body inside Exim's -D spool file, all or nothing.
 *
 * Exim hands local_scan the open data file; the body starts at a fixed
 * offset. A bounce must never be lost or half-written, so the new body is
 * only kept when every step succeeded; otherwise the original bytes go back.
 * This file knows nothing about Exim or MIME.
 */
#include "bg_exim_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* pwrite all of buf, retrying on EINTR and short writes. */
static int bg_exim_spool_pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Put the original body back after a failed step. 0 on success. */
static int bg_exim_spool_restore(int fd, off_t start, const char *old, size_t oldlen)
{
    if (bg_exim_spool_pwrite_all(fd, old, oldlen, start) != 0)
        return -1;
    if (ftruncate(fd, start + (off_t)oldlen) != 0)
        return -1;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        return -1;
    return 0;
}

int bg_exim_spool_replace(int fd, off_t start, const char *old, size_t oldlen,
                          const char *nw, size_t newlen, char *err, size_t errlen)
{
    const char *step;

    /* Reserve the blocks first (without changing the size): running out of
     * disk then happens before a single byte changed. Filesystems without
     * fallocate fall through to the write-and-restore path. */
    if (newlen > oldlen) {
        int rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, start, (off_t)newlen);
        if (rc != 0 && errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL) {
            snprintf(err, errlen, "cannot reserve %zu bytes in the spool file: %s", newlen,
                     strerror(errno));
            return -1;
        }
    }
    step = "write";
    if (bg_exim_spool_pwrite_all(fd, nw, newlen, start) != 0)
        goto fail;
    step = "truncate";
    if (ftruncate(fd, start + (off_t)newlen) != 0)
        goto fail;
    step = "fsync";
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        goto fail;
    return 0;

fail: {
    int e = errno;
    if (bg_exim_spool_restore(fd, start, old, oldlen) != 0) {
        snprintf(err, errlen, "spool %s failed (%s) and restoring the original failed (%s)",
                 step, strerror(e), strerror(errno));
        return -2;
    }
    snprintf(err, errlen, "spool %s failed (%s); original restored", step, strerror(e));
    return -1;
}
}

int bg_exim_spool_linecount(const char *body, size_t len)
{
    size_t n = 0;
    const char *p = body, *end = body + len;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    if (len > 0 && body[len - 1] != '\n')
        n++;
    return n > 0x7fffffff ? 0x7fffffff : (int)n;
}
