/* bg_scrape: recipients and replies from bounces that are not RFC 3464.
 *
 * Older Exim, Postfix, Sendmail, qmail, Exchange/Office 365, Gmail, Yahoo
 * and the other formats of ../shared/corpus write the failure only in the
 * human-readable text. bg_bounce_read calls bg_scrape when a message has no
 * usable delivery-status part (or one without recipients); it appends
 * recipients (bg_bounce_add_rcpt) with recipient, diagnostic, and where the
 * text gives them status, action ("failed" or "delayed") and remote_mta,
 * and sets b->parser to the format's name.
 */
#ifndef BG_SCRAPE_H
#define BG_SCRAPE_H

#include <stddef.h>
#include "bg_bounce.h"

/* What the reader hands over: the decoded text of the human-readable
 * part(s), LF line ends, NUL-terminated; and header lookups of the report's
 * top-level header block (decoded, unfolded; "" when absent). */
typedef struct bg_scrape_input {
    const char *text;
    size_t len;
    const char *(*header)(const void *ctx, const char *name); /* e.g. "X-Failed-Recipients" */
    const void *ctx;
} bg_scrape_input;

/* Scrape recipients into b. Returns the number added (0 when the text is
 * not a bounce format we know, or names no recipient). */
size_t bg_scrape(bg_bounce *b, const bg_scrape_input *in);

#endif
