/* bg_classify: from what a server said to a category and a decision.
 *
 * The rules (bg_rules) find the cause; this module applies the decision
 * rules of docs/taxonomy.md. Every verdict names the rule that made it. Decisions follow the rules at
 * the bottom of docs/taxonomy.md: words beat a generic code; a 4xx or a
 * delay never suppresses at once; only address problems suppress.
 */
#ifndef BG_CLASSIFY_H
#define BG_CLASSIFY_H

#include <stddef.h>
#include "bg_bounce.h"
#include "bg_category.h"
#include "bg_registry.h"
#include "bg_rules.h"

/* A classification. */
typedef struct bg_verdict {
    const bg_category *category;   /* never NULL after classify */
    char status[BG_STATUS_MAX];    /* the real enhanced code: from the diagnostic when the
                                      Status field is generic (X.0.0) or absent; "" if none */
    int reply_code;                /* SMTP reply code found, 0 if none */
    int permanent;                 /* 1 = will not heal by retrying this message */
    bg_suppress suppress;          /* decision after the taxonomy's rules */
    char rule[BG_RULE_NAME_MAX];   /* the rule that decided ("builtin:..." / "admin:...") */
    bg_side side;                  /* who is at fault: the rule's, else the category's; a
                                      sender-side or our-side status code overrides */
    int gave_up;                   /* 1 when the report says the server stopped retrying
                                      (retry timeout, expired): timing, not the cause */
    long long tried_since;         /* unix time the message reached the reporting server
                                      (Arrival-Date, else its Received: date), 0 = unknown */
    long long tried_for;           /* seconds from then to the report (Last-Attempt-Date,
                                      else its Date:), 0 = unknown; set for a give-up or a delay */
} bg_verdict;

/* For a delay warning that does not say when the server gives up (Exim
 * writes no Will-Retry-Until): when it will, from the arrival time of the
 * verdict's timing plus give_up seconds (bounceguide.conf retry_give_up;
 * Debian's default retry rule gives up 4 days after the first failure).
 * 0 when the arrival is unknown, give_up is not positive, or that time is
 * already past at the report (the server's rule is longer than assumed). */
long long bg_classify_retry_until(const bg_verdict *v, long long give_up);

/* Classify one recipient of a report. kind is the message's kind (a
 * feedback report gives complaint, an auto-reply auto-reply, ...). */
void bg_classify_rcpt(const bg_rules *r, const bg_bounce *b, const bg_rcpt *rc,
                      bg_verdict *out);

/* A give-up whose report names no cause (verdict "expired"): take the
 * cause recorded elsewhere (the store's last deferral, category id), with
 * the taxonomy's rules: at most a soft event, never for a sender-side or
 * our-side fault. Does nothing unless v is an expired give-up and cause is
 * a known failure category that names a cause. origin names it in
 * v->rule ("store:last-deferral"). Returns 1 when v changed. */
int bg_classify_take_cause(bg_verdict *v, const char *cause, const char *origin);

/* Classify a bare reply as Exim's transport event gives it
 * ("SMTP error from remote mail server after RCPT TO:<x@y>: 550 5.1.1 ...").
 * deferred = 1 for a temporary failure event. */
void bg_classify_text(const bg_rules *r, const char *text, int deferred,
                      bg_verdict *out);

/* The same, knowing the remote host that answered (Exim's $host: the MX
 * name), so that a provider's rule (`mta DOMAIN`) holds on the delivery
 * path as it does in a report's Remote-MTA. remote_mta "" when unknown. */
void bg_classify_reply(const bg_rules *r, const char *text, int deferred,
                       const char *remote_mta, bg_verdict *out);

#endif
