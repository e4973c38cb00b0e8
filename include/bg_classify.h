/* bg_classify: from what a server said to a category and a decision.
 *
 * Rules are data (conf/rules.conf, compiled in as the default; an admin
 * file of the same syntax extends or overrides it). Matching is one pass
 * over the text with a multi-pattern automaton, whatever the rule count.
 * Every verdict names the rule that made it. Decisions follow the rules at
 * the bottom of docs/taxonomy.md: words beat a generic code; a 4xx or a
 * delay never suppresses at once; only address problems suppress.
 */
#ifndef BG_CLASSIFY_H
#define BG_CLASSIFY_H

#include <stddef.h>
#include "bg_bounce.h"
#include "bg_category.h"

#define BG_RULE_NAME_MAX 64

typedef struct bg_rules bg_rules; /* opaque, immutable once built: share it */

/* Build the rule set from the built-in rules plus, when admin_path is not
 * NULL or "", the admin's file. A missing or broken admin file logs one
 * warning (bg_log) and the built-in rules are used alone. Returns NULL only
 * when memory runs out. */
bg_rules *bg_rules_load(const char *admin_path);

/* Build from a text in the rules syntax (origin names it in messages).
 * With base != NULL the text extends/overrides base. Returns NULL and fills
 * err (when given, errlen bytes) with "origin:line: reason" on a syntax
 * error. */
bg_rules *bg_rules_parse(const bg_rules *base, const char *text, size_t len,
                         const char *origin, char *err, size_t errlen);

void bg_rules_free(bg_rules *r);

/* Number of rules (for tests and `bounceguide rules`). */
size_t bg_rules_count(const bg_rules *r);

/* The built-in rules text (conf/rules.conf as compiled in). */
const char *bg_rules_builtin_text(void);

/* A classification. */
typedef struct bg_verdict {
    const bg_category *category;   /* never NULL after classify */
    char status[BG_STATUS_MAX];    /* the real enhanced code: from the diagnostic when the
                                      Status field is generic (X.0.0) or absent; "" if none */
    int reply_code;                /* SMTP reply code found, 0 if none */
    int permanent;                 /* 1 = will not heal by retrying this message */
    bg_suppress suppress;          /* decision after the taxonomy's rules */
    char rule[BG_RULE_NAME_MAX];   /* the rule that decided ("builtin:..." / "admin:...") */
} bg_verdict;

/* Classify one recipient of a report. kind is the message's kind (a
 * feedback report gives complaint, an auto-reply auto-reply, ...). */
void bg_classify_rcpt(const bg_rules *r, const bg_bounce *b, const bg_rcpt *rc,
                      bg_verdict *out);

/* Classify a bare reply as Exim's transport event gives it
 * ("SMTP error from remote mail server after RCPT TO:<x@y>: 550 5.1.1 ...").
 * deferred = 1 for a temporary failure event. */
void bg_classify_text(const bg_rules *r, const char *text, int deferred,
                      bg_verdict *out);

#endif
