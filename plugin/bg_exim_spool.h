/* bg_exim_spool: replace the body inside Exim's -D spool file, all or nothing.
 *
 * Pure POSIX (no Exim symbol), so a unit test can drive it with a real
 * file and real write failures. Only the Exim adapter uses it.
 */
#ifndef BG_EXIM_SPOOL_H
#define BG_EXIM_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

/* Replace the bytes from start to the end of the file (old, oldlen: what is
 * there now, kept by the caller) with nw (newlen bytes): reserve the space
 * first, write, truncate to the new end, fsync. On any failure the old
 * bytes and length are put back. Returns 0 when the new body is in place,
 * -1 when the file is as it was, -2 when even the restore failed (the
 * caller logs that loudly). err gets one line either way on failure. */
int bg_exim_spool_replace(int fd, off_t start, const char *old, size_t oldlen,
                          const char *nw, size_t newlen, char *err, size_t errlen);

/* Line count of a body the way Exim counts body_linecount: the number of
 * line ends, plus one for a last line without one. */
int bg_exim_spool_linecount(const char *body, size_t len);

#endif
