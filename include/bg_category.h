/* bg_category: the failure categories of docs/taxonomy.md, as data.
 *
 * The ids are the public vocabulary (X-Bounce-Category, classify --json,
 * the suppression database, the guidance catalogue). One table, ended by a
 * sentinel row, read by the functions below.
 */
#ifndef BG_CATEGORY_H
#define BG_CATEGORY_H

#include <stddef.h>

/* What the suppression database does with the recipient by default. */
typedef enum {
    BG_SUP_NONE = 0,
    BG_SUP_COUNT,   /* a soft event; suppress after N within a window */
    BG_SUP_ADDRESS, /* suppress the address now */
    BG_SUP_DOMAIN   /* suppress the whole recipient domain now */
} bg_suppress;

/* Who has to do something. */
typedef enum {
    BG_ACTS_SENDER = 0,
    BG_ACTS_ADMIN,
    BG_ACTS_RECIPIENT,
    BG_ACTS_NOBODY
} bg_acts;

typedef struct bg_category {
    const char *id;          /* "unknown-user" */
    const char *meaning;     /* one line from the taxonomy */
    bg_acts acts;
    bg_suppress suppress;    /* default suppression */
    int transient;           /* 1 when the cause usually heals (mailbox-full, rate-limited, ...) */
    int failure;             /* 0 for auto-reply and delivered (not failures) */
} bg_category;

/* Look a category up by id; NULL when unknown. */
const bg_category *bg_category_find(const char *id);
/* The table and its length (without the sentinel). */
const bg_category *bg_category_table(size_t *n);
/* The fallback category "unknown". Never NULL. */
const bg_category *bg_category_unknown(void);

const char *bg_suppress_name(bg_suppress s); /* "none", "count", "address", "domain" */
const char *bg_acts_name(bg_acts a);         /* "sender", "admin", "recipient", "nobody" */
/* Parse a suppression name; returns -1 when unknown. */
int bg_suppress_parse(const char *name);

#endif
