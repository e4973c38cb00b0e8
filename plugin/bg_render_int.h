/* bg_render_int: what the renderer's files share (not a public header).
 *
 * bg_render.c gathers and cleans the facts of one bounce into a
 * bg_render_ctx and looks texts up in the catalogues; bg_render_plain.c and
 * bg_render_html.c write the two guidance parts from it; bg_render_mime.c
 * assembles the MIME parts and edits the report; bg_render_apply.c holds
 * the header edits and writes the whole new message.
 */
#ifndef BG_RENDER_INT_H
#define BG_RENDER_INT_H

#include <stddef.h>

#include "bg_buf.h"
#include "bg_catalog.h"
#include "bg_render.h"

#define BG_RENDER_MAX_RCPTS 50  /* recipients explained in detail; the rest are counted */
#define BG_RENDER_WIDTH 72      /* text/plain wrap column */
#define BG_RENDER_SUBJ_MAX 150  /* bytes of the original subject in the new Subject */
#define BG_RENDER_HDR_MAX 900   /* bytes of a header value before encoding */
#define BG_RENDER_HDR_VALUE_MAX 2000 /* bytes of a folded value (encoded), line ends not counted */
#define BG_RENDER_HDR_WORD_MAX 900   /* bytes of one unbroken word of a header value */
#define BG_RENDER_MAX_EDITS 16
#define BG_RENDER_MAX_VARS 40 /* 20 of the renderer, the caller's extras (bg_render_extra.vars), NULL */

/* Markers around placeholder values in texts for the HTML part: an
 * address that must not break at its hyphens, and the help-desk contact
 * that becomes a link. Remote text and catalogue text can hold neither
 * (bg_utf8_clean makes control characters blanks; the catalogue parser
 * refuses them), so only the renderer's own values carry them. */
#define BG_MARK_NOBR "\x01"
#define BG_MARK_NOBR_END "\x02"
#define BG_MARK_LINK "\x03"
#define BG_MARK_LINK_END "\x04"

/* The two readers of a bounce: the sender part and the administrator's
 * section, each with its own catalogue (bg_render_ctx.cat, .acat). Values
 * that are worded (durations, dates) are kept once per reader. */
enum { BG_RD_SENDER = 0, BG_RD_ADMIN = 1, BG_RD_COUNT = 2 };
#define BG_RENDER_XVALS 8 /* the caller's facts (bg_render_extra.vars) that can be dates */

/* How a text is looked up (bit flags). */
enum {
    BG_RT_PLAIN = 0,
    BG_RT_HTML = 1,  /* placeholder values carry the markers above */
    BG_RT_ADMIN = 2  /* the administrator's catalogue; {rule} is filled */
};

/* One explained recipient: its facts, cleaned and bounded. */
typedef struct bg_render_rc {
    size_t index;          /* into bounce->rcpts */
    int delay;             /* rendered as "still trying" */
    long same_as;          /* index of an earlier recipient with the same category, or -1 */
    const char *section;   /* category id (catalogue section) */
    bg_buf recipient, domain, code, reply_code, remote_mta, rule, diag;
    bg_buf recipient_m, domain_m; /* the same with BG_MARK_NOBR around them */
    /* per reader (BG_RD_*): until when we keep trying, and the timing
     * (bg_verdict), "" when unknown; dates in the sender's words, ISO
     * 8601 for the administrator */
    bg_buf retry_until[BG_RD_COUNT], tried_since[BG_RD_COUNT], tried_for[BG_RD_COUNT];
    bg_buf xval[BG_RD_COUNT][BG_RENDER_XVALS]; /* the caller's date facts, reworded ("" = as given) */
    bg_buf tried;          /* the admin row: "{tried_since} ({tried_for})" */
    int gave_up;           /* the report says the server stopped retrying */
} bg_render_rc;

/* Facts shared by every recipient. */
typedef struct bg_render_ctx {
    const bg_render_input *in;
    const bg_catalog *cat;  /* the sender's language */
    const bg_catalog *acat; /* the administrator's language (may be cat) */
    const char *eol;
    bg_buf organisation, helpdesk, sender_domain, subject, date, to, cc, dkim_d, dkim_s;
    bg_buf helpdesk_m, sender_domain_m; /* with markers, for the HTML part */
    bg_buf lang, alang;     /* html_lang of each catalogue ("" when it has none) */
    bg_render_rc *rc;
    size_t nrc;             /* recipients explained */
    size_t nshown;          /* recipients that failed/are delayed in all */
    char count[24], more[24];
    int all_delay;
    bg_buf reason;          /* {reason} for the Subject */
} bg_render_ctx;

/* A list text (do, delay_do, admin) expanded line by line. */
typedef struct bg_render_list {
    char *item[32];
    size_t n;
} bg_render_list;

/* bg_render.c: texts */
const char *bg_render_text(const bg_render_ctx *c, const bg_render_rc *r, const char *key,
                           const char *delay_key, int mode, bg_buf *scratch);
void bg_render_list_get(const bg_render_ctx *c, const bg_render_rc *r, const char *key, int mode,
                        bg_render_list *l);
void bg_render_list_add(bg_render_list *l, const char *s);
void bg_render_list_free(bg_render_list *l);
void bg_render_steps(const bg_render_ctx *c, const bg_render_rc *r, int mode, bg_render_list *l);
const char *bg_render_acts_key(const bg_render_ctx *c, const bg_render_rc *r);
const char *bg_render_timing(const bg_render_ctx *c, const bg_render_rc *r, int mode, bg_buf *s);
const char *bg_render_summary(const bg_render_ctx *c, int mode, bg_buf *s);
void bg_render_clean_block(bg_buf *out, const char *s);
const bg_render_extra *bg_render_extra_of(const bg_render_ctx *c, const bg_render_rc *r);
#define BG_FIND_PARA (-1)
int bg_render_next_finding(const char **p, int *level, bg_buf *text, int *seen_item);

/* bg_render_plain.c / bg_render_html.c: the two guidance parts */
void bg_render_plain(const bg_render_ctx *c, bg_buf *t);
void bg_render_html(const bg_render_ctx *c, bg_buf *h);

/* bg_render_mime.c: parts and report edits */
int bg_render_span_ok(bg_span s, size_t len);
int bg_render_header(const char *msg, bg_span hs, const char *name, bg_buf *val);
int bg_render_boundary(char *out, size_t outlen, const char *msg, size_t len, const char *outer,
                       const char *tag);
void bg_render_alternative(const bg_render_ctx *c, const char *boundary, bg_buf *p);
int bg_render_dsn_body(const bg_render_ctx *c, const bg_buf *alt, bg_buf *body);
int bg_render_wrap_body(const bg_render_ctx *c, const bg_buf *alt, const char *mix, bg_buf *body,
                        bg_render_output *out);

/* bg_render_apply.c: header edits */
int bg_render_add_edit(bg_render_output *out, const char *name, int remove, const char *value);
int bg_render_headers(const bg_render_ctx *c, bg_render_output *out);

#endif
