/* bg_scrape_int: what the scraper's files share (not a public interface).
 *
 * The scraper is split into the dispatcher and generic heuristics
 * (bg_scrape.c) and the format table with format-specific extractors
 * (bg_scrape_fmt.c). Everything works on bounded views of the text: no
 * allocation per byte, every loop advances.
 */
#ifndef BG_SCRAPE_INT_H
#define BG_SCRAPE_INT_H

#include <stddef.h>
#include <stdint.h>
#include "bg_bounce.h"
#include "bg_scrape.h"

#define BG_SCRAPE_TEXT_MAX (1024u * 1024u) /* bytes of text looked at */
#define BG_SCRAPE_MARK_MAX (64u * 1024u)   /* bytes searched for format and end markers */

/* One line of the text: [p, p+len) without the LF; indent = leading blanks. */
typedef struct bg_scrape_line {
    const char *p;
    size_t len;
    size_t indent;
} bg_scrape_line;

/* Recipients already added, by address: a hash of rcpt index + 1 (0 =
 * empty), so that deduplication stays linear on hostile input. */
#define BG_SSEEN_SLOTS 4096u
typedef struct bg_scrape_seen {
    unsigned short slot[BG_SSEEN_SLOTS];
} bg_scrape_seen;

/* The text being scraped plus the report's headers. */
typedef struct bg_scrape_ctx {
    bg_scrape_seen *seen;
    const bg_scrape_input *in;
    const char *text; /* start of the text */
    const char *end;  /* end of the failure section (the returned message starts there) */
    const char *from;
    const char *subject;
} bg_scrape_ctx;

/* A diagnostic being assembled: whitespace collapsed, controls dropped. */
typedef struct bg_scrape_diag {
    char s[BG_DIAG_MAX];
    size_t len;
} bg_scrape_diag;

/* A format recogniser: any marker of text[] found near the start of the
 * text, or a from[] hint in From together with (when given) a subject[]
 * hint in Subject, selects it. extract may be NULL: the generic scraper
 * runs with the format's name. */
struct bg_scrape_format;
typedef size_t (*bg_scrape_extract_fn)(bg_bounce *b, const bg_scrape_ctx *c, const struct bg_scrape_format *f);
typedef struct bg_scrape_format {
    const char *name;
    const char *text[6];    /* phrases in the text (case-insensitive) */
    const char *from[4];    /* substrings of the From header */
    const char *subject[4]; /* substrings of the Subject header, with from[] */
    bg_scrape_extract_fn extract;
    int listed; /* it lists every recipient: no fallback to the returned message's To */
} bg_scrape_format;

/* The format table (sentinel row: name NULL), in bg_scrape_fmt.c. */
extern const bg_scrape_format bg_scrape_formats[];

/* --- helpers in bg_scrape.c --- */

/* Next line at *pos before end; 0 at the end. */
int bg_scrape_line_next(const char **pos, const char *end, bg_scrape_line *l);
/* Case-insensitive search of needle in [p, end); NULL when absent. */
const char *bg_scrape_find(const char *p, const char *end, const char *needle);
/* Append text to a diagnostic (collapsing whitespace). */
void bg_scrape_diag_add(bg_scrape_diag *d, const char *p, size_t len);
/* Add a recipient (deduplicated; merges a longer diagnostic into an
 * existing one). Returns it or NULL. */
bg_rcpt *bg_scrape_add_rcpt(const bg_scrape_ctx *c, bg_bounce *b, const char *addr, const char *diag);
/* A recipient whose reason d is complete: d trimmed, the recipient added,
 * and orig ("" when none) kept as its original recipient when the text
 * named the address it was expanded or generated from. */
void bg_scrape_add_reason(const bg_scrape_ctx *c, bg_bounce *b, const char *addr,
                          const char *orig, bg_scrape_diag *d);
/* The recipient already added for addr, or NULL. */
bg_rcpt *bg_scrape_known_rcpt(const bg_scrape_ctx *c, bg_bounce *b, const char *addr);
/* The failure section's reply lines, else its whole text (bounded). */
void bg_scrape_digest(const bg_scrape_ctx *c, bg_scrape_diag *d);
/* The generic line scraper over the failure section. */
size_t bg_scrape_generic(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f);
/* Fill status / remote MTA / action of recipients [from, nrcpt) from
 * their diagnostics. */
void bg_scrape_finish(bg_bounce *b, size_t from, const bg_scrape_ctx *c);

/* --- helpers in bg_scrape_fmt.c --- */

/* What a reason line is (bg_scrape_frame_line). */
enum { BG_SF_NONE, BG_SF_UNWRAP, BG_SF_DROP, BG_SF_DROP_WRAPS };
int bg_scrape_frame_line(const char *p, const char *e, char orig[BG_ADDR_MAX], const char **vp,
                         const char **ve);
/* 1 when [p, e) after an address is only "on <date and time>". */
int bg_scrape_date_tail(const char *p, const char *e);
/* 1 when the line [p, e) introduces a list whose reason is above it. */
int bg_scrape_reason_above(const char *p, const char *e);

#endif
