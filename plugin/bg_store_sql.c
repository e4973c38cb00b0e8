/* bg_store_sql: the suppression store's SQL -- every statement the store
 * runs, and the schema migrations. Constant texts with ?N parameters: no
 * value ever becomes SQL. Plain SQL that PostgreSQL also takes, except the
 * storage clause WITHOUT ROWID (docs/suppression.md). */
#include "bg_store_int.h"

#define BG_ROW_COLS                                                                        \
    "sender_domain, recipient, scope, category, status, reply_code, diagnostic, "          \
    "first_seen, last_seen, soft_count, soft_window_start, suppressed_since, expires_at, " \
    "source, last_message_id"

/* Rows refusing mail at ?now: the one definition of "active". */
#define BG_ACTIVE(now) "suppressed_since > 0 AND (expires_at = 0 OR expires_at > " now ")"

const char *const bg_store_sql[ST_N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_EVENT_INSERT] =
        "INSERT INTO bg_event (message_id, recipient, kind, sender_domain, category, source, "
        "sending_ip, seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT (message_id, recipient, kind) DO NOTHING",
    [ST_EVENT_SENT] =
        "INSERT INTO bg_event (message_id, recipient, kind, sender_domain, category, source, "
        "sending_ip, seen_at, remote_host) VALUES (?1, ?2, 'sent', ?3, 'delivered', 'transport', ?4, ?5, ?6) "
        "ON CONFLICT (message_id, recipient, kind) DO UPDATE SET seen_at = excluded.seen_at, "
        "sending_ip = excluded.sending_ip, remote_host = excluded.remote_host, "
        "sender_domain = excluded.sender_domain",
    [ST_ROW_GET] = "SELECT " BG_ROW_COLS " FROM bg_suppression "
                   "WHERE sender_domain = ?1 AND recipient = ?2",
    [ST_ROW_UPSERT] =
        "INSERT INTO bg_suppression (" BG_ROW_COLS ") "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
        "ON CONFLICT (sender_domain, recipient) DO UPDATE SET scope = excluded.scope, "
        "category = excluded.category, status = excluded.status, "
        "reply_code = excluded.reply_code, diagnostic = excluded.diagnostic, "
        "first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
        "soft_count = excluded.soft_count, soft_window_start = excluded.soft_window_start, "
        "suppressed_since = excluded.suppressed_since, expires_at = excluded.expires_at, "
        "source = excluded.source, last_message_id = excluded.last_message_id",
    /* at most two rows (the address, its domain): the caller keeps the
     * older; an ORDER BY here made SQLite build a sorter per RCPT */
    [ST_CHECK] = "SELECT " BG_ROW_COLS " FROM bg_suppression "
                 "WHERE sender_domain = ?1 AND recipient IN (?2, ?3) AND " BG_ACTIVE("?4"),
    [ST_SOFT_CLEAR] = "UPDATE bg_suppression SET soft_count = 0, soft_window_start = 0, "
                      "suppressed_since = 0, expires_at = 0, last_seen = ?3 "
                      "WHERE sender_domain = ?1 AND recipient = ?2 AND scope = 'soft' "
                      "AND (soft_count > 0 OR suppressed_since > 0)",
    [ST_REMOVE_ONE] = "DELETE FROM bg_suppression WHERE sender_domain = ?1 AND recipient = ?2",
    [ST_REMOVE_ALL] = "DELETE FROM bg_suppression WHERE recipient = ?1",
    [ST_LIST] = "SELECT " BG_ROW_COLS " FROM bg_suppression "
                "WHERE (?1 = '' OR sender_domain = ?1) AND (?2 = '' OR category = ?2) "
                "AND (?3 = '' OR recipient = ?3) AND (?4 = 0 OR (" BG_ACTIVE("?5") ")) "
                "ORDER BY sender_domain, recipient",
    [ST_EXPIRE_ROWS] = "DELETE FROM bg_suppression WHERE expires_at > 0 AND expires_at <= ?1",
    [ST_EXPIRE_SOFT] = "DELETE FROM bg_suppression WHERE scope = 'soft' "
                       "AND suppressed_since = 0 AND last_seen <= ?1",
    [ST_EXPIRE_EVENTS] = "DELETE FROM bg_event WHERE seen_at <= ?1",
    [ST_STAT_ROWS] = "SELECT COUNT(*) FROM bg_suppression WHERE (?1 = '' OR sender_domain = ?1)",
    [ST_STAT_ACTIVE] = "SELECT COUNT(*) FROM bg_suppression WHERE (?1 = '' OR sender_domain = ?1) "
                       "AND " BG_ACTIVE("?2"),
    [ST_STAT_SOFT] = "SELECT COUNT(*) FROM bg_suppression WHERE (?1 = '' OR sender_domain = ?1) "
                     "AND scope = 'soft' AND suppressed_since = 0",
    [ST_STAT_EXPIRED] = "SELECT COUNT(*) FROM bg_suppression WHERE (?1 = '' OR sender_domain = ?1) "
                        "AND suppressed_since > 0 AND expires_at > 0 AND expires_at <= ?2",
    [ST_STAT_EVENTS] = "SELECT COUNT(*) FROM bg_event WHERE (?1 = '' OR sender_domain = ?1)",
    [ST_STAT_SENT] = "SELECT COUNT(*) FROM bg_event WHERE (?1 = '' OR sender_domain = ?1) "
                     "AND kind = 'sent'",
    [ST_COUNT_CAT] = "SELECT sender_domain, category, COUNT(*) FROM bg_suppression "
                     "WHERE (?1 = '' OR sender_domain = ?1) AND " BG_ACTIVE("?2")
                     " GROUP BY sender_domain, category ORDER BY sender_domain, category",
    [ST_WAS_SENT_ANY] = "SELECT 1 FROM bg_event WHERE message_id = ?1 AND kind = 'sent' LIMIT 1",
    [ST_WAS_SENT_RCPT] = "SELECT 1 FROM bg_event WHERE message_id = ?1 AND recipient = ?2 "
                         "AND kind = 'sent'",
    /* the inbound proof: this message, from this sending domain, to this
     * recipient, accepted by remote_host (schema 3) */
    [ST_SENT_TO] = "SELECT remote_host FROM bg_event WHERE message_id = ?1 AND recipient = ?2 "
                   "AND kind = 'sent' AND sender_domain = ?3",
    [ST_SENT_TO_V2] = "SELECT '' FROM bg_event WHERE message_id = ?1 AND recipient = ?2 "
                      "AND kind = 'sent' AND sender_domain = ?3",
    [ST_SENDING_IP] = "SELECT sending_ip FROM bg_event WHERE message_id = ?1 "
                      "AND recipient IN (?2, '') AND sending_ip <> '' "
                      "ORDER BY CASE WHEN recipient = ?2 THEN 0 ELSE 1 END, "
                      "CASE kind WHEN 'sent' THEN 1 ELSE 0 END, seen_at DESC LIMIT 1",
    [ST_NOTE_IP] =
        "INSERT INTO bg_event (message_id, recipient, kind, sender_domain, category, source, "
        "sending_ip, seen_at) VALUES (?1, '', 'ip', ?2, '', 'transport', ?3, ?4) "
        "ON CONFLICT (message_id, recipient, kind) DO UPDATE SET sending_ip = excluded.sending_ip, "
        "seen_at = excluded.seen_at",
    /* the sliding soft window: bg_soft holds the truth, the row's
     * soft_count and soft_window_start are what it said at the last event */
    [ST_SOFT_ADD] = "INSERT INTO bg_soft (sender_domain, recipient, seen_at, n) VALUES (?1, ?2, ?3, ?4) "
                    "ON CONFLICT (sender_domain, recipient, seen_at) DO UPDATE SET n = bg_soft.n + excluded.n",
    [ST_SOFT_SUM] = "SELECT COALESCE(SUM(CASE WHEN seen_at > ?3 THEN n ELSE 0 END), 0), "
                    "COALESCE(MIN(CASE WHEN seen_at > ?3 THEN seen_at END), 0), "
                    "COALESCE(SUM(CASE WHEN seen_at > ?3 THEN 0 ELSE 1 END), 0) "
                    "FROM bg_soft WHERE sender_domain = ?1 AND recipient = ?2",
    [ST_SOFT_PRUNE] = "DELETE FROM bg_soft WHERE sender_domain = ?1 AND recipient = ?2 AND seen_at <= ?3",
    [ST_SOFT_DROP] = "DELETE FROM bg_soft WHERE sender_domain = ?1 AND recipient = ?2",
    [ST_SOFT_DROP_ALL] = "DELETE FROM bg_soft WHERE recipient = ?1",
    [ST_EXPIRE_SOFT_ORPHANS] = "DELETE FROM bg_soft WHERE NOT EXISTS (SELECT 1 FROM bg_suppression r "
                               "WHERE r.sender_domain = bg_soft.sender_domain "
                               "AND r.recipient = bg_soft.recipient AND r.scope = 'soft')",
};

/* Schema migrations, in order; each step's SQL runs in one transaction and
 * brings the schema to its version. Plain DDL that PostgreSQL also takes
 * (BIGINT is an integer in SQLite) except the storage clause WITHOUT ROWID,
 * which the PostgreSQL DDL drops (docs/suppression.md). The primary keys are
 * the only indexes: every hot statement is a key lookup, and each extra
 * b-tree costs every write (admin scans and expiry may read the table).
 *
 * Version 2 (sliding soft window) adds bg_soft and seeds it from the
 * version-1 rows, which kept only the count, the first event of a fixed
 * window (soft_window_start) and the last one (last_seen): the first and
 * the last event go in at their own times and the ones between at the
 * first's -- a lower bound, so a migrated row never suppresses earlier
 * than its real events would have.
 *
 * Version 3 (inbound proof, once per message) adds bg_event.remote_host,
 * the host that accepted a delivery ('sent' events), and renames the
 * counting 'defer' events to 'soft': a message's soft events count once
 * whether it was deferred, failed or both (the 'defer' kind only ever held
 * counting deferrals; the uncounted ones are 'defer-info'). */
const bg_store_migration bg_store_migrations[] = {
    {1, "CREATE TABLE IF NOT EXISTS bg_schema (version INTEGER NOT NULL, applied_at BIGINT NOT NULL);"
        "CREATE TABLE bg_suppression ("
        " sender_domain TEXT NOT NULL,"
        " recipient TEXT NOT NULL,"
        " scope TEXT NOT NULL,"
        " category TEXT NOT NULL,"
        " status TEXT NOT NULL DEFAULT '',"
        " reply_code INTEGER NOT NULL DEFAULT 0,"
        " diagnostic TEXT NOT NULL DEFAULT '',"
        " first_seen BIGINT NOT NULL,"
        " last_seen BIGINT NOT NULL,"
        " soft_count INTEGER NOT NULL DEFAULT 0,"
        " soft_window_start BIGINT NOT NULL DEFAULT 0,"
        " suppressed_since BIGINT NOT NULL DEFAULT 0,"
        " expires_at BIGINT NOT NULL DEFAULT 0,"
        " source TEXT NOT NULL,"
        " last_message_id TEXT NOT NULL DEFAULT '',"
        " PRIMARY KEY (sender_domain, recipient)) WITHOUT ROWID;"
        "CREATE TABLE bg_event ("
        " message_id TEXT NOT NULL,"
        " recipient TEXT NOT NULL,"
        " kind TEXT NOT NULL,"
        " sender_domain TEXT NOT NULL,"
        " category TEXT NOT NULL DEFAULT '',"
        " source TEXT NOT NULL,"
        " sending_ip TEXT NOT NULL DEFAULT '',"
        " seen_at BIGINT NOT NULL,"
        " PRIMARY KEY (message_id, recipient, kind)) WITHOUT ROWID;"},
    {2, "CREATE TABLE bg_soft ("
        " sender_domain TEXT NOT NULL,"
        " recipient TEXT NOT NULL,"
        " seen_at BIGINT NOT NULL,"
        " n INTEGER NOT NULL,"
        " PRIMARY KEY (sender_domain, recipient, seen_at)) WITHOUT ROWID;"
        "INSERT INTO bg_soft (sender_domain, recipient, seen_at, n)"
        " SELECT sender_domain, recipient, soft_window_start,"
        " CASE WHEN soft_count >= 2 AND last_seen > soft_window_start THEN soft_count - 1"
        " ELSE soft_count END"
        " FROM bg_suppression WHERE scope = 'soft' AND soft_count > 0 AND soft_window_start > 0;"
        "INSERT INTO bg_soft (sender_domain, recipient, seen_at, n)"
        " SELECT sender_domain, recipient, last_seen, 1"
        " FROM bg_suppression WHERE scope = 'soft' AND soft_count >= 2 AND soft_window_start > 0"
        " AND last_seen > soft_window_start;"},
    {3, "ALTER TABLE bg_event ADD COLUMN remote_host TEXT NOT NULL DEFAULT '';"
        "UPDATE bg_event SET kind = 'soft' WHERE kind = 'defer';"},
    {0, NULL},
};
