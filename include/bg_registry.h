/* bg_registry: the IANA SMTP Enhanced Status Codes registry as data.
 *
 * conf/status-codes.conf (compiled in) lists every code of the registry
 * with its meaning, its defining RFC, the side at fault and what the code
 * alone says about the category. The classifier reads two things from it:
 * a rule per code (bg_registry_rules_text, merged into the built-in rules
 * at their PRECEDENCE level), and the side of a code (a code about the
 * sender's address or our own server never suppresses a recipient).
 */
#ifndef BG_REGISTRY_H
#define BG_REGISTRY_H

#include <stddef.h>
#include "bg_buf.h"
#include "bg_category.h"

/* Who is at fault. */
typedef enum {
    BG_SIDE_UNKNOWN = 0,
    BG_SIDE_SENDER,    /* the sender's address, domain or message */
    BG_SIDE_OURS,      /* our server: IP, name, authentication, TLS, setup */
    BG_SIDE_RECIPIENT, /* the recipient's address or mailbox */
    BG_SIDE_REMOTE,    /* the receiving server or its organisation */
    BG_SIDE_NETWORK    /* the path between: DNS, connections, time */
} bg_side;

const char *bg_side_name(bg_side s); /* "unknown", "sender", "ours", ... */
int bg_side_parse(const char *name);  /* a bg_side, or -1 */

#define BG_REGISTRY_MAX 160
#define BG_REGISTRY_MEANING_MAX 96

/* One code of the registry ("X.subject.detail"). */
typedef struct bg_registry_entry {
    unsigned subject, detail;
    bg_side side;
    const bg_category *cat5;  /* for a 5.x.x code; NULL = the code says nothing */
    const bg_category *cat4;  /* for a 4.x.x code */
    int weight;               /* rule priority (80, 40, 20), 0 = decides nothing */
    char rfc[16];             /* "RFC3463" */
    char meaning[BG_REGISTRY_MEANING_MAX];
} bg_registry_entry;

/* The compiled-in registry, parsed once per process (thread-safe). NULL
 * with *n = 0 when the build has none or it does not parse (the error is
 * logged once). */
const bg_registry_entry *bg_registry_table(size_t *n);

/* The entry of a status code ("5.7.27", class ignored), or NULL. */
const bg_registry_entry *bg_registry_find(const char *status);

/* The side of a status code, BG_SIDE_UNKNOWN when it is not registered. */
bg_side bg_registry_side(const char *status);

/* Parse a registry text into out (at most max entries). Returns the
 * number of entries, or -1 with "line N: reason" in err. Entries missing a
 * side or a category are errors: every code needs both. */
long bg_registry_parse(const char *text, bg_registry_entry *out, size_t max, char *err,
                       size_t errlen);

/* The registry's codes as rules in the syntax of conf/rules.conf (one rule
 * per code and class that decides something, named "code-5.1.1"). */
int bg_registry_rules_text(bg_buf *out);

#endif
