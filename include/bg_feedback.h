/* bg_feedback: what a complaint (an ARF feedback report, RFC 5965) and an
 * unsubscribe request (mail to a List-Unsubscribe mailto: address, RFC
 * 2369) may change in the suppression store.
 *
 * Both are mail from outside: remote text from anyone. They follow the
 * proof rules of inbound bounces (bg_inbound.h, docs/security.md):
 *
 *   complaint    -- about a message this server delivered (the returned
 *                   Message-ID, from the sending domain, to that
 *                   recipient: bg_store_sent_rcpts), from a host that
 *                   speaks for the complaining recipient's domain (its MX
 *                   hosts, its SPF, the host that accepted our delivery);
 *                   suppresses that address (category complaint), never a
 *                   domain; at most a soft event when DNS cannot tell.
 *   unsubscribe  -- the requester is the envelope sender, the From: says
 *                   the same address, this sending domain delivered mail
 *                   to it (bg_store_mailed), and the connecting host
 *                   speaks for the requester's domain (MX or SPF pass):
 *                   then the address is suppressed for the sending domain
 *                   (category unsubscribed). Anything less records nothing.
 *
 * Every decision writes one log line (bg_logf) saying what was recorded
 * or why not. Nothing here knows Exim: the adapter passes the facts.
 */
#ifndef BG_FEEDBACK_H
#define BG_FEEDBACK_H

#include <stddef.h>
#include "bg_bounce.h"
#include "bg_config.h"
#include "bg_dns.h"
#include "bg_store.h"

/* 1 when a feedback report of this Feedback-Type is a complaint that
 * suppresses: abuse, fraud, other, and none given (a report without an ARF
 * part, Microsoft's JMRP form). 0 for not-spam, auth-failure (RFC 6591:
 * a DMARC/SPF/DKIM failure report, often about mail we never sent), virus
 * (the content, not the person), unsubscribe (Apple Mail's request: the
 * unsubscribe router's business) and any type we do not know. Case does
 * not matter. */
int bg_feedback_is_complaint(const char *feedback_type);

/* Two fields of a feedback report's message/feedback-report part in
 * msg[0, len): its Feedback-Type into type (else the reader's word, the
 * first recipient's diagnostic; "" when none), and *named (may be NULL) 1
 * when the part names a recipient itself (Original-Rcpt-To or
 * Removal-Recipient with an address) -- else the reader took the returned
 * message's To:, which may be a co-recipient, or nobody. */
void bg_feedback_fields(const char *msg, size_t len, const bg_bounce *b, char *type, size_t typelen,
                        int *named);

/* What the adapter knows about a complaint report. Strings "" when absent. */
typedef struct bg_complaint_in {
    const char *host;        /* IP of the client that sent it; "" = not over SMTP */
    const char *env_rcpt;    /* its envelope recipient, prvs tag taken off */
    int prvs;                /* -1: env_rcpt carried a bad or stale prvs signature */
    const char *prvs_why;    /* ... and why */
    const char *id;          /* the report's id (Exim's), for the log */
    const char *feedback_type;
    int named;               /* the report names its recipients itself (bg_feedback_fields) */
} bg_complaint_in;

/* Record a complaint report b (kind BG_MSG_FEEDBACK) under the config's
 * policy. s: an open writable store (NULL: only the refusals that need no
 * store are made and logged); dns: a
 * started resolver for the host check (NULL: no DNS, only the host that
 * accepted our delivery proves anything). Returns the number of
 * recipients recorded, or -1 when the store failed (*st says how; the
 * caller logs it). */
int bg_feedback_complaint(bg_store *s, bg_dns *dns, const bg_config *cfg, const bg_bounce *b,
                          const bg_complaint_in *in, bg_store_status *st);

/* An unsubscribe request, as the unsubscribe router sees it. */
typedef struct bg_unsub_in {
    const char *list_address; /* the address it was sent to (its domain is the sending domain) */
    const char *env_sender;   /* the envelope sender: the requester */
    const char *from;         /* the From: header's value */
    const char *host;         /* IP of the client that sent it; "" = not over SMTP */
    const char *message_id;   /* the request's Message-ID (dedupe); Exim's id when none */
    const char *id;           /* Exim's id, for the log */
    long long now;            /* 0 = time(NULL) */
} bg_unsub_in;

/* Record an unsubscribe request (s NULL: as for complaints). Returns 1 when the requester is now
 * unsubscribed (or was by this same request before), 0 when nothing was
 * recorded (logged why), -1 when the store failed (*st). */
int bg_feedback_unsubscribe(bg_store *s, bg_dns *dns, const bg_config *cfg, const bg_unsub_in *in,
                            bg_store_status *st);

/* Budget for reading the delivery records of an unsubscribe request (a
 * scan of the event table), in milliseconds. */
#define BG_FEEDBACK_SCAN_MS 2000

#endif
