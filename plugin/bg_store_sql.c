/* bg_store_sql: the suppression store's SQL -- every statement the store
 * runs, and the schema migrations. Constant texts with ?N parameters: no
 * value ever becomes SQL. One text for SQLite and PostgreSQL (bg_db turns
 * ?N into $N and BEGIN IMMEDIATE into BEGIN plus the writer lock); only
 * the DDL has a PostgreSQL form (docs/suppression.md). */
#include "bg_store_int.h"

#define BG_ROW_COLS                                                                        \
    "sender_domain, recipient, scope, category, status, reply_code, diagnostic, "          \
    "first_seen, last_seen, soft_count, soft_window_start, suppressed_since, expires_at, " \
    "source, last_message_id"

/* The change log's columns (schema 4). */
#define BG_CHANGE_COLS                                                                      \
    "seq, at, op, sender_domain, recipient, scope, category, status, reply_code, diagnostic, " \
    "suppressed_since, expires_at, soft_count, active, source, actor_uid, actor, message_id, note"

/* Log the bg_suppression rows a WHERE clause selects, numbered on from the
 * counter in key order (the caller then moves the counter by the number
 * inserted): ?1 at, ?2 op, ?3 source, ?4 actor uid, ?5 actor, ?6 note,
 * the filter from ?7. Not in force after it (removed, expired). */
#define BG_CHANGE_LOG_ROWS(where)                                                          \
    "INSERT INTO bg_change (" BG_CHANGE_COLS ") "                                          \
    "SELECT (SELECT last_seq FROM bg_change_seq WHERE id = 1) + "                          \
    "ROW_NUMBER() OVER (ORDER BY sender_domain, recipient), ?1, ?2, sender_domain, "       \
    "recipient, scope, category, status, reply_code, diagnostic, suppressed_since, "       \
    "expires_at, soft_count, 0, ?3, ?4, ?5, last_message_id, ?6 FROM bg_suppression WHERE " where

/* One change, numbered from the counter (moved just before it). */
#define BG_CHANGE_INSERT                                                                   \
    "INSERT INTO bg_change (" BG_CHANGE_COLS ") SELECT last_seq, ?1, ?2, ?3, ?4, ?5, "     \
    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18 "                        \
    "FROM bg_change_seq WHERE id = 1"

/* The same on PostgreSQL, which says the number it gave (RETURNING); SQLite
 * has the rowid (a RETURNING there costs concurrent writers a third of
 * their rate, measured with 8). */
const char bg_store_sql_change_returning[] = BG_CHANGE_INSERT " RETURNING seq";

/* A report's sums: the key, the outcome, the count; hours in [?1, ?2),
 * one sending domain or all (?3). */
#define BG_COUNT_GROUP(key, group)                                                           \
    "SELECT " key ", outcome, SUM(n) FROM bg_count WHERE bucket >= ?1 AND bucket < ?2 "      \
    "AND (?3 = '' OR sender_domain = ?3) GROUP BY " group ", outcome ORDER BY " group

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
    /* the change log: one counter row hands out the numbers inside the
     * writer's transaction, so they follow commit order without gaps (a
     * rolled-back change gives its number back with it) and never go back
     * when old changes are pruned */
    [ST_SEQ_NEXT] = "UPDATE bg_change_seq SET last_seq = last_seq + ?1 WHERE id = 1",
    [ST_CHANGE_INSERT] = BG_CHANGE_INSERT,
    [ST_CHANGE_LOG_ONE] = BG_CHANGE_LOG_ROWS("sender_domain = ?7 AND recipient = ?8"),
    [ST_CHANGE_LOG_ALL] = BG_CHANGE_LOG_ROWS("recipient = ?7"),
    [ST_CHANGE_LOG_EXPIRED] = BG_CHANGE_LOG_ROWS("expires_at > 0 AND expires_at <= ?7"),
    [ST_CHANGE_BOUNDS] = "SELECT last_seq, pruned_seq, pruned_at, log_id FROM bg_change_seq WHERE id = 1",
    [ST_CHANGES] = "SELECT " BG_CHANGE_COLS " FROM bg_change WHERE seq > ?1 AND seq <= ?2 "
                   "AND at >= ?3 AND (?4 = '' OR sender_domain = ?4) ORDER BY seq LIMIT ?5",
    /* one recipient (and the domain row that covers it): the recipient index */
    [ST_CHANGES_RCPT] = "SELECT " BG_CHANGE_COLS " FROM bg_change WHERE recipient IN (?6, ?7) "
                        "AND seq > ?1 AND seq <= ?2 AND at >= ?3 AND (?4 = '' OR sender_domain = ?4) "
                        "ORDER BY seq LIMIT ?5",
    /* pruning keeps the log a contiguous range of seqs: everything up to
     * the newest old change goes (a clock set back cannot leave holes) */
    [ST_CHANGE_PRUNE_MAX] = "SELECT COALESCE(MAX(seq), 0) FROM bg_change WHERE at <= ?1",
    [ST_CHANGE_PRUNE] = "DELETE FROM bg_change WHERE seq <= ?1",
    [ST_CHANGE_PRUNED] = "UPDATE bg_change_seq SET pruned_seq = ?1, pruned_at = ?2 "
                         "WHERE id = 1 AND pruned_seq < ?1",
    /* schema 5: delivery counters, one row per (domain, hour, operator,
     * outcome, category); a report sums them, the guard reads one domain's
     * recent hours (a key range) */
    [ST_COUNT_ADD] = "INSERT INTO bg_count (sender_domain, bucket, provider, outcome, category, n) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                     "ON CONFLICT (sender_domain, bucket, provider, outcome, category) "
                     "DO UPDATE SET n = bg_count.n + excluded.n",
    [ST_COUNT_BY_DOMAIN] = BG_COUNT_GROUP("sender_domain", "sender_domain"),
    [ST_COUNT_BY_PROVIDER] = BG_COUNT_GROUP("provider", "provider"),
    [ST_COUNT_BY_CATEGORY] = BG_COUNT_GROUP("category", "category"),
    [ST_COUNT_BY_DAY] = BG_COUNT_GROUP("CAST((bucket / 86400) * 86400 AS TEXT)", "(bucket / 86400)"),
    [ST_COUNT_PEAK] = "SELECT sender_domain, (bucket / 86400) * 86400, SUM(n) FROM bg_count "
                      "WHERE bucket >= ?1 AND bucket < ?2 AND (?3 = '' OR sender_domain = ?3) "
                      "AND provider = ?4 AND outcome = 'delivered' "
                      "GROUP BY sender_domain, (bucket / 86400) ORDER BY sender_domain",
    [ST_COUNT_GUARD] = "SELECT outcome, SUM(n) FROM bg_count WHERE sender_domain = ?1 "
                       "AND bucket >= ?2 AND bucket <= ?3 AND outcome IN ('delivered', 'bounced') "
                       "GROUP BY outcome",
    [ST_COUNT_PRUNE] = "DELETE FROM bg_count WHERE bucket < ?1",
    /* after the daily prune: the planner's statistics, with which a report
     * of recent hours skips from domain to domain in the key instead of
     * reading the table (PostgreSQL takes the same statement) */
    [ST_COUNT_ANALYZE] = "ANALYZE bg_count",
    [ST_GUARD_GET] = "SELECT reset_at, base_bucket, base_delivered, base_bounced, actor, note "
                     "FROM bg_guard WHERE sender_domain = ?1",
    [ST_GUARD_SET] = "INSERT INTO bg_guard (sender_domain, reset_at, base_bucket, base_delivered, "
                     "base_bounced, actor, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                     "ON CONFLICT (sender_domain) DO UPDATE SET reset_at = excluded.reset_at, "
                     "base_bucket = excluded.base_bucket, base_delivered = excluded.base_delivered, "
                     "base_bounced = excluded.base_bounced, actor = excluded.actor, note = excluded.note",
};

/* Statements whose outcome the store never reads (no rows used, no count
 * checked): inside the sync's batch on PostgreSQL they are sent without
 * waiting (bg_db_pipeline). */
const unsigned char bg_store_sql_defer[ST_N] = {
    [ST_SOFT_DROP] = 1, [ST_SOFT_ADD] = 1,   [ST_SOFT_PRUNE] = 1, [ST_ROW_UPSERT] = 1,
    [ST_EVENT_SENT] = 1, [ST_NOTE_IP] = 1,  [ST_SEQ_NEXT] = 1,   [ST_CHANGE_INSERT] = 1,
    [ST_COUNT_ADD] = 1,
};

/* Schema migrations, in order; each step's SQL runs in one transaction and
 * brings the schema to its version. Plain DDL that PostgreSQL also takes
 * (BIGINT is an integer in SQLite) except the storage clause WITHOUT ROWID
 * and the change log's key type (below; docs/suppression.md). The primary keys are
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
 * counting deferrals; the uncounted ones are 'defer-info').
 *
 * Version 4 (history, issue 13) adds the change log: bg_change, one row per
 * change to what is in force, keyed by its sequence number (INTEGER
 * PRIMARY KEY: SQLite's rowid; BIGINT PRIMARY KEY on PostgreSQL, where
 * INTEGER is 32 bits), with an index by recipient for `suppress history`;
 * and bg_change_seq, the one-row counter that hands out the numbers, where
 * pruning is remembered and the log's identity lives (log_id, set by
 * bg_store_migrate when this step runs: a new log per database). Nothing
 * is copied into it: the rows in force before the upgrade are where a
 * reader starts (a snapshot), their history is not known.
 *
 * Version 5 (reports, issue 13) adds bg_count, the delivery counters per
 * (sending domain, hour, receiving operator, outcome, category), keyed
 * with the sending domain first so that the guard's look at one domain's
 * recent hours is a key range (a report over all domains reads the whole
 * table: bench_store's figure), and bg_guard, an administrator's last
 * reset of a domain's bounce-rate guard. Plain DDL, nothing copied: the
 * counting starts with the upgrade (bg_store_count.c). */
/* The DDL that differs between the backends, as macro arguments: SQLite's
 * storage clause WITHOUT ROWID (PostgreSQL has no rowid to drop), and the
 * change log's key, SQLite's rowid alias INTEGER PRIMARY KEY (64 bits)
 * against PostgreSQL's BIGINT (its INTEGER is 32 bits). */
#define BG_MIG1(WR)                                                                          \
    "CREATE TABLE IF NOT EXISTS bg_schema (version INTEGER NOT NULL, applied_at BIGINT NOT NULL);" \
    "CREATE TABLE bg_suppression ("                                                          \
    " sender_domain TEXT NOT NULL,"                                                          \
    " recipient TEXT NOT NULL,"                                                              \
    " scope TEXT NOT NULL,"                                                                  \
    " category TEXT NOT NULL,"                                                               \
    " status TEXT NOT NULL DEFAULT '',"                                                      \
    " reply_code INTEGER NOT NULL DEFAULT 0,"                                                \
    " diagnostic TEXT NOT NULL DEFAULT '',"                                                  \
    " first_seen BIGINT NOT NULL,"                                                           \
    " last_seen BIGINT NOT NULL,"                                                            \
    " soft_count INTEGER NOT NULL DEFAULT 0,"                                                \
    " soft_window_start BIGINT NOT NULL DEFAULT 0,"                                          \
    " suppressed_since BIGINT NOT NULL DEFAULT 0,"                                           \
    " expires_at BIGINT NOT NULL DEFAULT 0,"                                                 \
    " source TEXT NOT NULL,"                                                                 \
    " last_message_id TEXT NOT NULL DEFAULT '',"                                             \
    " PRIMARY KEY (sender_domain, recipient))" WR ";"                                        \
    "CREATE TABLE bg_event ("                                                                \
    " message_id TEXT NOT NULL,"                                                             \
    " recipient TEXT NOT NULL,"                                                              \
    " kind TEXT NOT NULL,"                                                                   \
    " sender_domain TEXT NOT NULL,"                                                          \
    " category TEXT NOT NULL DEFAULT '',"                                                    \
    " source TEXT NOT NULL,"                                                                 \
    " sending_ip TEXT NOT NULL DEFAULT '',"                                                  \
    " seen_at BIGINT NOT NULL,"                                                              \
    " PRIMARY KEY (message_id, recipient, kind))" WR ";"

#define BG_MIG2(WR)                                                                          \
    "CREATE TABLE bg_soft ("                                                                 \
    " sender_domain TEXT NOT NULL,"                                                          \
    " recipient TEXT NOT NULL,"                                                              \
    " seen_at BIGINT NOT NULL,"                                                              \
    " n INTEGER NOT NULL,"                                                                   \
    " PRIMARY KEY (sender_domain, recipient, seen_at))" WR ";"                               \
    "INSERT INTO bg_soft (sender_domain, recipient, seen_at, n)"                             \
    " SELECT sender_domain, recipient, soft_window_start,"                                   \
    " CASE WHEN soft_count >= 2 AND last_seen > soft_window_start THEN soft_count - 1"       \
    " ELSE soft_count END"                                                                   \
    " FROM bg_suppression WHERE scope = 'soft' AND soft_count > 0 AND soft_window_start > 0;" \
    "INSERT INTO bg_soft (sender_domain, recipient, seen_at, n)"                             \
    " SELECT sender_domain, recipient, last_seen, 1"                                         \
    " FROM bg_suppression WHERE scope = 'soft' AND soft_count >= 2 AND soft_window_start > 0" \
    " AND last_seen > soft_window_start;"

#define BG_MIG4(SEQ)                                                                         \
    "CREATE TABLE bg_change ("                                                               \
    " seq " SEQ " PRIMARY KEY,"                                                              \
    " at BIGINT NOT NULL,"                                                                   \
    " op TEXT NOT NULL,"                                                                     \
    " sender_domain TEXT NOT NULL,"                                                          \
    " recipient TEXT NOT NULL,"                                                              \
    " scope TEXT NOT NULL,"                                                                  \
    " category TEXT NOT NULL DEFAULT '',"                                                    \
    " status TEXT NOT NULL DEFAULT '',"                                                      \
    " reply_code INTEGER NOT NULL DEFAULT 0,"                                                \
    " diagnostic TEXT NOT NULL DEFAULT '',"                                                  \
    " suppressed_since BIGINT NOT NULL DEFAULT 0,"                                           \
    " expires_at BIGINT NOT NULL DEFAULT 0,"                                                 \
    " soft_count INTEGER NOT NULL DEFAULT 0,"                                                \
    " active INTEGER NOT NULL DEFAULT 0,"                                                    \
    " source TEXT NOT NULL,"                                                                 \
    " actor_uid BIGINT NOT NULL DEFAULT -1,"                                                 \
    " actor TEXT NOT NULL DEFAULT '',"                                                       \
    " message_id TEXT NOT NULL DEFAULT '',"                                                  \
    " note TEXT NOT NULL DEFAULT '');"                                                       \
    "CREATE INDEX bg_change_recipient ON bg_change (recipient, seq);"                        \
    "CREATE TABLE bg_change_seq ("                                                           \
    " id INTEGER PRIMARY KEY,"                                                               \
    " last_seq BIGINT NOT NULL,"                                                             \
    " pruned_seq BIGINT NOT NULL,"                                                           \
    " pruned_at BIGINT NOT NULL,"                                                            \
    " log_id TEXT NOT NULL);"                                                                \
    "INSERT INTO bg_change_seq (id, last_seq, pruned_seq, pruned_at, log_id) VALUES (1, 0, 0, 0, '');"

#define BG_MIG5(WR)                                                                          \
    "CREATE TABLE bg_count ("                                                                \
    " sender_domain TEXT NOT NULL,"                                                          \
    " bucket BIGINT NOT NULL,"                                                               \
    " provider TEXT NOT NULL,"                                                               \
    " outcome TEXT NOT NULL,"                                                                \
    " category TEXT NOT NULL DEFAULT '',"                                                    \
    " n BIGINT NOT NULL,"                                                                    \
    " PRIMARY KEY (sender_domain, bucket, provider, outcome, category))" WR ";"               \
    "CREATE TABLE bg_guard ("                                                                \
    " sender_domain TEXT NOT NULL PRIMARY KEY,"                                              \
    " reset_at BIGINT NOT NULL,"                                                             \
    " base_bucket BIGINT NOT NULL,"                                                          \
    " base_delivered BIGINT NOT NULL,"                                                       \
    " base_bounced BIGINT NOT NULL,"                                                         \
    " actor TEXT NOT NULL DEFAULT '',"                                                       \
    " note TEXT NOT NULL DEFAULT '')" WR ";"

const bg_store_migration bg_store_migrations[] = {
    {1, BG_MIG1(" WITHOUT ROWID"), BG_MIG1("")},
    {2, BG_MIG2(" WITHOUT ROWID"), BG_MIG2("")},
    {3, "ALTER TABLE bg_event ADD COLUMN remote_host TEXT NOT NULL DEFAULT '';"
        "UPDATE bg_event SET kind = 'soft' WHERE kind = 'defer';", NULL},
    {4, BG_MIG4("INTEGER"), BG_MIG4("BIGINT")},
    {5, BG_MIG5(" WITHOUT ROWID"), BG_MIG5("")},
    {0, NULL, NULL},
};
