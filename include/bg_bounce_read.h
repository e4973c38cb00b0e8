/* bg_bounce_read: the reader, from one whole message to a bg_bounce.
 *
 * It takes one RFC 5322 message (LF or CRLF line ends) and finds out what
 * kind of report it is and, per recipient, what the reporting server said:
 * the delivery-status part (bg_dsn), else the plain text (bg_scrape). It
 * does not judge (bg_classify) and does not rewrite (bg_render). Input is
 * hostile: every length is checked.
 */
#ifndef BG_BOUNCE_READ_H
#define BG_BOUNCE_READ_H

#include <stddef.h>
#include "bg_bounce.h"

/* Limits on what the reader accepts; zero fields take the defaults. */
typedef struct bg_limits {
    size_t max_size;       /* whole message, default 32 MiB */
    unsigned max_depth;    /* MIME nesting, default 16 */
    unsigned max_parts;    /* MIME parts in all, default 1000 */
    unsigned max_rcpts;    /* recipients kept, default 1000 */
} bg_limits;

/* Error detail for a message that cannot be read at all. */
typedef enum {
    BG_READ_OK = 0,
    BG_READ_EMPTY,      /* zero bytes or only whitespace */
    BG_READ_TOO_LARGE,  /* over limits.max_size */
    BG_READ_BINARY,     /* NUL bytes or no header block: not a mail message */
    BG_READ_NOMEM
} bg_read_status;

/* Parse one message. Returns a bounce (kind BG_MSG_NOT_BOUNCE when it is
 * not a report) or NULL with *status saying why it could not be read.
 * limits may be NULL. Truncated or broken MIME is read as far as it goes. */
bg_bounce *bg_bounce_read(const char *msg, size_t len, const bg_limits *limits,
                          bg_read_status *status);

/* Text for a read status. */
const char *bg_read_status_text(bg_read_status s);

#endif
