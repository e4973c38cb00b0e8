/* bg_store_sent: which recipients a message went to, and whether a
 * sending domain ever mailed a recipient (bg_store_sent.h). Read-only;
 * each statement is prepared for the call and finalized after it. */
#include "bg_store_sent.h"
#include "bg_store_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Prepare sql on the handle; NULL with *rc set on failure. */
static bg_db_stmt *bg_sent_prepare(bg_store *s, const char *sql, int *rc)
{
    return bg_db_prepare(s->db, sql, 0, rc);
}

bg_store_status bg_store_sent_rcpts(bg_store *s, const char *sender_domain, const char *message_id,
                                    bg_store_sent_rcpt *out, size_t max, size_t *n)
{
    *n = 0;
    if (!s)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX], msgid[BG_MSGID_MAX];
    bg_store_norm_msgid(message_id, msgid);
    if (!msgid[0] || bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@'))
        return BG_STORE_OK;
    if (s->fleet)
        return bg_store_fleet_sent_rcpts(s, domain, msgid, out, max, n);
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_sent_prepare(
        s,
        s->schema >= 3 ? "SELECT recipient, remote_host FROM bg_event WHERE message_id = ?1 "
                         "AND kind = 'sent' AND sender_domain = ?2"
                       : "SELECT recipient, '' FROM bg_event WHERE message_id = ?1 "
                         "AND kind = 'sent' AND sender_domain = ?2",
        &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind(q, 1, msgid);
    bg_store_bind(q, 2, domain);
    size_t k = 0;
    for (;;) {
        rc = bg_db_step(q);
        if (rc == SQLITE_ROW) {
            if (k < max && out) {
                bg_store_col(q, 0, out[k].recipient, sizeof out[k].recipient);
                bg_store_col(q, 1, out[k].remote_host, sizeof out[k].remote_host);
            }
            k++;
            continue;
        }
        if (rc == SQLITE_DONE)
            break;
        if (k == 0 && bg_store_again(s, rc)) {
            bg_db_reset(q);
            continue;
        }
        break;
    }
    bg_db_finalize(q);
    if (rc != SQLITE_DONE)
        return bg_store_map(rc);
    *n = k;
    return BG_STORE_OK;
}

/* The scan's deadline (monotonic microseconds) for the progress handler. */
static long long bg_sent_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int bg_sent_progress(void *ctx)
{
    return bg_sent_us() > *(const long long *)ctx; /* non-zero interrupts */
}

bg_store_status bg_store_mailed(bg_store *s, const char *sender_domain, const char *recipient,
                                long long since, int budget_ms, int *found)
{
    *found = 0;
    if (!s)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX], rcpt[BG_ADDR_MAX];
    if (bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@') ||
        bg_store_norm_recipient(recipient, rcpt) < 0 || !strchr(rcpt, '@'))
        return BG_STORE_OK;
    if (s->fleet)
        return bg_store_fleet_mailed(s, domain, rcpt, since, budget_ms, found);
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_sent_prepare(s,
                                      "SELECT 1 FROM bg_event WHERE recipient = ?1 AND kind = 'sent' "
                                      "AND sender_domain = ?2 AND seen_at >= ?3 LIMIT 1",
                                      &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind(q, 1, rcpt);
    bg_store_bind(q, 2, domain);
    bg_store_bind_int(q, 3, since > 0 ? since : 0);
    long long deadline = bg_sent_us() + (long long)(budget_ms > 0 ? budget_ms : s->timeout_ms) * 1000LL;
    sqlite3 *sq = bg_db_sqlite(s->db);
    if (sq)
        sqlite3_progress_handler(sq, 1000, bg_sent_progress, &deadline);
    else
        s->deadline_us = deadline; /* PostgreSQL: the scan's budget is the wait's */
    while ((rc = bg_db_step(q)) != SQLITE_ROW && rc != SQLITE_DONE && bg_store_again(s, rc))
        bg_db_reset(q);
    if (sq)
        sqlite3_progress_handler(sq, 0, NULL, NULL);
    bg_db_finalize(q);
    if (rc == SQLITE_ROW) {
        *found = 1;
        return BG_STORE_OK;
    }
    if (rc == SQLITE_INTERRUPT || (s->pg && rc == SQLITE_BUSY))
        return BG_STORE_BUSY;
    return bg_store_map(rc);
}
