/* bg_store_proof: what the store remembers about messages it saw leave --
 * the Message-ID proof for inbound reports and the sending IP for the
 * authentication diagnosis. */
#include "bg_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bg_store_status bg_store_was_sent(bg_store *s, const char *message_id, const char *recipient,
                                  int *found)
{
    *found = 0;
    if (!s)
        return BG_STORE_INVALID;
    char msgid[BG_MSGID_MAX], rcpt[BG_ADDR_MAX] = "";
    bg_store_norm_msgid(message_id, msgid);
    if (!msgid[0])
        return BG_STORE_OK;
    int by_rcpt = recipient && *recipient;
    if (by_rcpt && bg_store_norm_recipient(recipient, rcpt) < 0)
        return BG_STORE_OK;
    if (s->fleet)
        return bg_store_fleet_was_sent(s, msgid, rcpt, found);
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, by_rcpt ? ST_WAS_SENT_RCPT : ST_WAS_SENT_ANY, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind(q, 1, msgid);
    if (by_rcpt)
        bg_store_bind(q, 2, rcpt);
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW) {
        *found = 1;
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    bg_db_reset(q);
    return bg_store_map(rc);
}

bg_store_status bg_store_sent_to(bg_store *s, const char *sender_domain, const char *message_id,
                                 const char *recipient, int *found, char remote_host[BG_IP_MAX])
{
    *found = 0;
    if (remote_host)
        remote_host[0] = '\0';
    if (!s)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX], msgid[BG_MSGID_MAX], rcpt[BG_ADDR_MAX];
    bg_store_norm_msgid(message_id, msgid);
    if (!msgid[0] || bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@') ||
        bg_store_norm_recipient(recipient, rcpt) < 0 || !strchr(rcpt, '@'))
        return BG_STORE_OK;
    if (s->fleet)
        return bg_store_fleet_sent_to(s, domain, msgid, rcpt, found, remote_host);
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, s->schema >= 3 ? ST_SENT_TO : ST_SENT_TO_V2, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind(q, 1, msgid);
    bg_store_bind(q, 2, rcpt);
    bg_store_bind(q, 3, domain);
    while ((rc = bg_db_step(q)) != SQLITE_ROW && rc != SQLITE_DONE && bg_store_again(s, rc))
        bg_db_reset(q);
    if (rc == SQLITE_ROW) {
        *found = 1;
        if (remote_host)
            bg_store_col(q, 0, remote_host, BG_IP_MAX);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    bg_db_reset(q);
    return bg_store_map(rc);
}

bg_store_status bg_store_sending_ip(bg_store *s, const char *message_id, const char *recipient,
                                    char out[BG_IP_MAX])
{
    out[0] = '\0';
    if (!s)
        return BG_STORE_INVALID;
    char msgid[BG_MSGID_MAX], rcpt[BG_ADDR_MAX];
    bg_store_norm_msgid(message_id, msgid);
    if (!msgid[0] || bg_store_norm_recipient(recipient, rcpt) < 0)
        return BG_STORE_INVALID;
    if (s->fleet)
        return bg_store_fleet_sending_ip(s, msgid, rcpt, out);
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, ST_SENDING_IP, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind(q, 1, msgid);
    bg_store_bind(q, 2, rcpt);
    rc = bg_db_step(q);
    bg_store_status st;
    if (rc == SQLITE_ROW) {
        bg_store_col(q, 0, out, BG_IP_MAX);
        st = BG_STORE_OK;
    } else {
        st = rc == SQLITE_DONE ? BG_STORE_NOTFOUND : bg_store_map(rc);
    }
    bg_db_reset(q);
    return st;
}

bg_store_status bg_store_note_ip(bg_store *s, const char *message_id, const char *sender_domain,
                                 const char *sending_ip, long long now)
{
    if (!s)
        return BG_STORE_INVALID;
    char msgid[BG_MSGID_MAX], domain[BG_ADDR_MAX], ip[BG_IP_MAX];
    bg_store_norm_msgid(message_id, msgid);
    bg_store_clean(ip, sizeof ip, sending_ip);
    if (!msgid[0] || !ip[0] || bg_store_norm_recipient(sender_domain, domain) < 0 ||
        strchr(domain, '@'))
        return BG_STORE_INVALID;
    if (s->rdonly)
        return BG_STORE_READONLY;
    if (s->fleet)
        return bg_store_fleet_note_ip(s, msgid, domain, ip, now);
    bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    bg_db_stmt *q = bg_store_stmt(s, ST_NOTE_IP, &rc);
    if (q) {
        bg_store_bind(q, 1, msgid);
        bg_store_bind(q, 2, domain);
        bg_store_bind(q, 3, ip);
        bg_store_bind_int(q, 4, bg_store_now(now));
        rc = bg_store_step(q);
    }
    return bg_store_map(bg_store_tx_end(s, rc));
}

/* A retry-timeout bounce whose text names no cause: local_scan asks what
 * the transport's event hook recorded for the same (message, recipient).
 * One read prepared per call (such bounces are rare), outside the
 * statement table. A message's soft events are written once ('soft',
 * ON CONFLICT DO NOTHING), so seen_at is the first deferral: since when. */
bg_store_status bg_store_last_deferral(bg_store *s, const char *message_id, const char *recipient,
                                       char category[BG_CATEGORY_ID_MAX], long long *seen_at)
{
    category[0] = '\0';
    *seen_at = 0;
    if (!s)
        return BG_STORE_INVALID;
    char msgid[BG_MSGID_MAX], rcpt[BG_ADDR_MAX];
    bg_store_norm_msgid(message_id, msgid);
    if (!msgid[0] || bg_store_norm_recipient(recipient, rcpt) < 0)
        return BG_STORE_INVALID;
    if (s->fleet)
        return bg_store_fleet_deferral(s, msgid, rcpt, category, seen_at);
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_db_prepare(s->db,
                                  "SELECT category, seen_at FROM bg_event WHERE message_id = ?1 AND "
                                  "recipient = ?2 AND kind IN ('soft', 'defer-info') AND "
                                  "source = 'transport' ORDER BY seen_at DESC LIMIT 1",
                                  0, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind(q, 1, msgid);
    bg_store_bind(q, 2, rcpt);
    rc = bg_db_step(q);
    bg_store_status st;
    if (rc == SQLITE_ROW) {
        bg_store_col(q, 0, category, BG_CATEGORY_ID_MAX);
        *seen_at = bg_db_column_int64(q, 1);
        st = BG_STORE_OK;
    } else {
        st = rc == SQLITE_DONE ? BG_STORE_NOTFOUND : bg_store_map(rc);
    }
    bg_db_finalize(q);
    return st;
}
