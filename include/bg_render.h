/* bg_render: the enriched bounce.
 *
 * Takes the input message, what bg_bounce_read found and the verdicts, and
 * produces a new body plus header changes: the human-readable first part
 * becomes multipart/alternative (text/plain and text/html) with per-recipient
 * guidance for the sender, in the sender's language, and after it a
 * technical section for the administrator (possibly in another language);
 * every word comes from the catalogues;
 * the message/delivery-status part is kept, except that a generic X.0.0
 * Status gets the real code (and X-Bounce-Category per recipient); the
 * returned original message part is copied byte for byte. The top-level
 * Content-Type and boundary stay. Remote text is escaped for HTML and never
 * reaches a header unsanitised.
 */
#ifndef BG_RENDER_H
#define BG_RENDER_H

#include <stddef.h>
#include "bg_bounce.h"
#include "bg_buf.h"
#include "bg_catalog.h"
#include "bg_classify.h"
#include "bg_config.h"

/* Extra facts for the administrator section of one recipient (from the
 * authentication diagnosis, bg_auth). NULL or "" = none. Plain text, may
 * span lines; the renderer escapes it. admin_text is read as a list: a
 * line "- x" is an item, an indented "  - x" an item inside the one
 * above it (a nested list in HTML, indented in text), any other line a
 * paragraph (bg_auth_words writes that shape). */
typedef struct bg_render_extra {
    const char *admin_text;  /* findings and advice for the admin */
    const char *sender_text; /* optional one-line plain advice for the sender */
    /* more placeholders for this recipient's catalogue texts (the
     * suppression store's facts behind a suppressed-here refusal, see the
     * header of conf/guidance/en.conf), ended by {NULL, NULL}; NULL =
     * none. At most 6 are used. */
    const struct bg_catalog_var *vars;
} bg_render_extra;

typedef struct bg_render_input {
    const char *msg;            /* the whole input message */
    size_t len;
    const bg_bounce *bounce;    /* bg_bounce_read(msg, len) */
    const bg_verdict *verdicts; /* one per bounce->rcpts entry */
    const bg_render_extra *extra; /* one per recipient, or NULL */
    const bg_catalog *catalog;  /* the sender's language (bg_lang_choose picks it) */
    const bg_config *config;    /* branding: organisation, helpdesk (per sender domain) */
    const char *sender_domain;  /* domain of the bounced message's sender, for branding; may be "" */
    const bg_catalog *admin_catalog; /* the administrator's section; NULL = catalog */
} bg_render_input;

/* A header change: remove every header called name (when remove), then add
 * "name: value" (when value != NULL). Values are single-line, RFC 2047
 * encoded where not ASCII. */
typedef struct bg_header_edit {
    char name[64];
    int remove;
    char *value; /* malloc'd or NULL */
} bg_header_edit;

typedef struct bg_render_output {
    bg_buf body;             /* the new body (after the blank line), same line ends as the input */
    bg_header_edit *edits;   /* in order */
    size_t nedits;
} bg_render_output;

typedef enum {
    BG_RENDER_OK = 0,
    BG_RENDER_NOT_APPLICABLE, /* not a failure or delay report we rewrite: pass through */
    BG_RENDER_ERROR           /* internal problem (memory, structure); pass through, log */
} bg_render_status;

/* Render. On anything but BG_RENDER_OK, out is empty and the caller leaves
 * the message as it was. err (when given) says why in one line. */
bg_render_status bg_render(const bg_render_input *in, bg_render_output *out, char *err,
                           size_t errlen);
void bg_render_output_free(bg_render_output *out);

/* Apply out's header edits and body to the original message and write the
 * whole new message into dst: the input's header fields minus the removed
 * ones, the added ones (bg_render_fold_header), a blank line, the body. */
int bg_render_apply(const char *msg, size_t len, const bg_bounce *b,
                    const bg_render_output *out, bg_buf *dst);

/* The same with the added fields given as written lines (lines_len bytes,
 * each ending in the message's line end): bg_engine_apply passes the lines
 * it hands to Exim. */
int bg_render_apply_folded(const char *msg, size_t len, const bg_bounce *b,
                           const bg_render_output *out, const char *lines, size_t lines_len,
                           bg_buf *dst);

/* One header field as every client writes it (the one folding function):
 * "Name: value" and eol (NULL = "\n") appended to dst. Control characters
 * (CR, LF, TAB, DEL and the rest) are blanks, runs of blanks are one,
 * leading and trailing blanks go; a value with bytes outside ASCII is
 * RFC 2047 encoded first (UTF-8 B words, bg_rfc2047_encode); at most 2000
 * bytes of value, cut at a blank, and no word over 900 bytes; folded at
 * blanks (eol + blank) so that no line passes 78 characters where a blank
 * allows it (RFC 5322 2.1.1, 2.2.3). -1 when name is not a field name
 * (RFC 5322 ftext, under 64 bytes) or memory runs out. */
int bg_render_fold_header(bg_buf *dst, const char *name, const char *value, const char *eol);

#endif
