/* bg_store_sent: two questions about what this server delivered, asked by
 * the complaint and unsubscribe proofs (bg_feedback). They read the
 * transport's delivery records (bg_event rows of kind 'sent', kept for
 * suppress_event_retention) through an open store handle.
 *
 * Kept apart from bg_store_proof.c: the statements are not in the
 * handle's statement table (they are asked rarely: once per complaint or
 * unsubscribe request), so they are prepared per call.
 */
#ifndef BG_STORE_SENT_H
#define BG_STORE_SENT_H

#include "bg_store.h"

/* One delivery of a message. */
typedef struct bg_store_sent_rcpt {
    char recipient[BG_ADDR_MAX];
    char remote_host[BG_IP_MAX]; /* the host that accepted it ("" before schema 3) */
} bg_store_sent_rcpt;

/* The recipients this server delivered the message message_id to from
 * sender_domain: at most max of them into out (in the store's order),
 * their number (all of them, also beyond max) in *n. Malformed arguments
 * give *n = 0 and BG_STORE_OK. A key lookup (the event table's primary
 * key starts with the Message-ID). */
bg_store_status bg_store_sent_rcpts(bg_store *s, const char *sender_domain, const char *message_id,
                                    bg_store_sent_rcpt *out, size_t max, size_t *n);

/* Did this server deliver any message from sender_domain to recipient
 * (recorded since the unix time since; 0 = any kept record)? *found 1 or
 * 0. This one reads the whole event table (no index has the recipient
 * first), so it is bounded by its own budget, budget_ms (<= 0: the
 * handle's timeout): past it, BG_STORE_BUSY. */
bg_store_status bg_store_mailed(bg_store *s, const char *sender_domain, const char *recipient,
                                long long since, int budget_ms, int *found);

#endif
