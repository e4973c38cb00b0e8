/* bg_store_journal: a fleet host's journal -- the events its Exim
 * processes saw, kept in a local SQLite file until the sync has shipped
 * them to the central store (bg_store_sync.c).
 *
 * Why a journal and not PostgreSQL from Exim: every Exim delivery and
 * SMTP process is a new process; a connection to PostgreSQL per process
 * costs milliseconds and a server backend each, and a slow or stopped
 * server would hold mail up. Appending to a local file costs what the
 * single-host store costs, never touches the network, and works while
 * the central store is down (docs/suppression.md, "A fleet").
 *
 * The journal is a store file (the same open, owner, mode, WAL and
 * bounded waits) with two more tables: bg_journal, one row per event in
 * commit order under a number that is never reused (AUTOINCREMENT: the
 * central store remembers the highest number it applied per journal, so
 * a number given twice would be skipped), and bg_journal_meta, the
 * journal's random id -- the central store's key for that mark.
 */
#include "bg_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define BG_JOURNAL_DDL                                                                       \
    "CREATE TABLE IF NOT EXISTS bg_journal_meta (id INTEGER PRIMARY KEY, journal_id TEXT NOT NULL," \
    " created_at BIGINT NOT NULL);"                                                          \
    "CREATE TABLE IF NOT EXISTS bg_journal ("                                                \
    " jseq INTEGER PRIMARY KEY AUTOINCREMENT,"                                               \
    " op INTEGER NOT NULL, at BIGINT NOT NULL,"                                              \
    " message_id TEXT NOT NULL, recipient TEXT NOT NULL, sender_domain TEXT NOT NULL,"       \
    " kind TEXT NOT NULL, deferred INTEGER NOT NULL, category TEXT NOT NULL,"                \
    " status TEXT NOT NULL, reply_code INTEGER NOT NULL, diagnostic TEXT NOT NULL,"          \
    " sending_ip TEXT NOT NULL, remote_host TEXT NOT NULL, source INTEGER NOT NULL,"         \
    " note TEXT NOT NULL, mode INTEGER NOT NULL, soft_threshold INTEGER NOT NULL,"           \
    " soft_window BIGINT NOT NULL, expires_after BIGINT NOT NULL);"                          \
    "CREATE INDEX IF NOT EXISTS bg_journal_msgid ON bg_journal (message_id);"

#define BG_J_COLS                                                                              \
    "jseq, op, at, message_id, recipient, sender_domain, kind, deferred, category, status, "   \
    "reply_code, diagnostic, sending_ip, remote_host, source, note, mode, soft_threshold, "    \
    "soft_window, expires_after"

/* The journal's id, "" when its tables do not exist yet. */
static int bg_journal_get_id(bg_store *j, char id[40])
{
    int rc;
    id[0] = '\0';
    bg_db_stmt *q = bg_db_prepare(j->db, "SELECT journal_id FROM bg_journal_meta WHERE id = 1", 0, &rc);
    if (!q)
        return rc;
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW)
        bg_store_col(q, 0, id, 40);
    bg_db_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int bg_store_journal_init(bg_store *j, char id[40])
{
    bg_store_arm(j);
    int rc;
    while ((rc = bg_journal_get_id(j, id)) != SQLITE_OK && bg_store_again(j, rc)) {
    }
    if (rc == SQLITE_OK && id[0])
        return SQLITE_OK;
    if (j->rdonly)
        return rc == SQLITE_OK ? SQLITE_READONLY : rc;
    /* first use of this file: the tables and a new id, once (another
     * process may get there first: IF NOT EXISTS, DO NOTHING) */
    rc = bg_store_begin_schema(j);
    if (rc != SQLITE_OK)
        return rc;
    rc = bg_db_exec(j->db, BG_JOURNAL_DDL);
    if (rc == SQLITE_OK) {
        unsigned char r[16];
        char fresh[40];
        if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
            unsigned long long a = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
            memcpy(r, &a, 8);
            memcpy(r + 8, &a, 8);
        }
        for (int i = 0; i < 16; i++)
            snprintf(fresh + 2 * i, 3, "%02x", r[i]);
        bg_db_stmt *q = bg_db_prepare(j->db,
                                      "INSERT INTO bg_journal_meta (id, journal_id, created_at) "
                                      "VALUES (1, ?1, ?2) ON CONFLICT (id) DO NOTHING",
                                      0, &rc);
        if (q) {
            bg_db_bind_text(q, 1, fresh);
            bg_db_bind_int64(q, 2, (long long)time(NULL));
            rc = bg_db_step(q) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            bg_db_finalize(q);
        }
    }
    if (rc == SQLITE_OK)
        rc = bg_store_tx(j, ST_COMMIT);
    else
        bg_store_tx(j, ST_ROLLBACK);
    if (rc == SQLITE_OK)
        rc = bg_journal_get_id(j, id);
    return rc;
}

int bg_store_journal_append(bg_store *j, const bg_journal_entry *e)
{
    static const char sql[] =
        "INSERT INTO bg_journal (op, at, message_id, recipient, sender_domain, kind, deferred, "
        "category, status, reply_code, diagnostic, sending_ip, remote_host, source, note, mode, "
        "soft_threshold, soft_window, expires_after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
        "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";
    int rc;
    bg_db_stmt *q = bg_store_aux(j, AUX_J_APPEND, sql, &rc);
    if (!q)
        return rc;
    bg_store_bind_int(q, 1, e->op);
    bg_store_bind_int(q, 2, e->at);
    bg_store_bind(q, 3, e->message_id);
    bg_store_bind(q, 4, e->recipient);
    bg_store_bind(q, 5, e->sender_domain);
    bg_store_bind(q, 6, e->kind);
    bg_store_bind_int(q, 7, e->deferred);
    bg_store_bind(q, 8, e->category);
    bg_store_bind(q, 9, e->status);
    bg_store_bind_int(q, 10, e->reply_code);
    bg_store_bind(q, 11, e->diagnostic);
    bg_store_bind(q, 12, e->sending_ip);
    bg_store_bind(q, 13, e->remote_host);
    bg_store_bind_int(q, 14, e->source);
    bg_store_bind(q, 15, e->note);
    bg_store_bind_int(q, 16, e->rule.mode);
    bg_store_bind_int(q, 17, e->rule.soft_threshold);
    bg_store_bind_int(q, 18, e->rule.soft_window);
    bg_store_bind_int(q, 19, e->rule.expires_after);
    /* autocommit: one transaction, the busy handler bounds the wait */
    while ((rc = bg_store_step(q)) != SQLITE_OK && bg_store_again(j, rc)) {
    }
    return rc;
}

/* Read the BG_J_COLS of the current row. */
static void bg_journal_row(bg_db_stmt *q, bg_journal_entry *e)
{
    memset(e, 0, sizeof *e);
    e->jseq = bg_db_column_int64(q, 0);
    e->op = (bg_journal_op)bg_db_column_int64(q, 1);
    e->at = bg_db_column_int64(q, 2);
    bg_store_col(q, 3, e->message_id, sizeof e->message_id);
    bg_store_col(q, 4, e->recipient, sizeof e->recipient);
    bg_store_col(q, 5, e->sender_domain, sizeof e->sender_domain);
    bg_store_col(q, 6, e->kind, sizeof e->kind);
    e->deferred = (int)bg_db_column_int64(q, 7);
    bg_store_col(q, 8, e->category, sizeof e->category);
    bg_store_col(q, 9, e->status, sizeof e->status);
    e->reply_code = (int)bg_db_column_int64(q, 10);
    bg_store_col(q, 11, e->diagnostic, sizeof e->diagnostic);
    bg_store_col(q, 12, e->sending_ip, sizeof e->sending_ip);
    bg_store_col(q, 13, e->remote_host, sizeof e->remote_host);
    e->source = (bg_store_source)bg_db_column_int64(q, 14);
    bg_store_col(q, 15, e->note, sizeof e->note);
    e->rule.mode = (bg_suppress)bg_db_column_int64(q, 16);
    e->rule.soft_threshold = (int)bg_db_column_int64(q, 17);
    e->rule.soft_window = bg_db_column_int64(q, 18);
    e->rule.expires_after = bg_db_column_int64(q, 19);
}

int bg_store_journal_read(bg_store *j, long long after, int max,
                          int (*fn)(const bg_journal_entry *e, void *ctx), void *ctx)
{
    int rc;
    bg_store_arm(j);
    bg_db_stmt *q = bg_store_aux(j, AUX_J_READ,
                                 "SELECT " BG_J_COLS " FROM bg_journal WHERE jseq > ?1 ORDER BY jseq LIMIT ?2", &rc);
    if (!q)
        return rc;
    bg_store_bind_int(q, 1, after);
    bg_store_bind_int(q, 2, max > 0 ? max : 1000);
    bg_journal_entry e;
    int n = 0;
    for (;;) {
        rc = bg_db_step(q);
        if (rc == SQLITE_ROW) {
            n++;
            bg_journal_row(q, &e);
            if (fn(&e, ctx)) {
                rc = SQLITE_DONE;
                break;
            }
            continue;
        }
        if (n == 0 && bg_store_again(j, rc)) {
            bg_db_reset(q);
            continue;
        }
        break;
    }
    bg_db_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int bg_store_journal_forget(bg_store *j, long long upto)
{
    int rc;
    bg_store_arm(j);
    bg_db_stmt *q = bg_store_aux(j, AUX_J_FORGET, "DELETE FROM bg_journal WHERE jseq <= ?1", &rc);
    if (!q)
        return rc;
    bg_store_bind_int(q, 1, upto);
    while ((rc = bg_store_step(q)) != SQLITE_OK && bg_store_again(j, rc)) {
    }
    return rc;
}

int bg_store_journal_top(bg_store *j, long long *top)
{
    int rc;
    *top = 0;
    bg_store_arm(j);
    bg_db_stmt *q = bg_db_prepare(j->db, "SELECT seq FROM sqlite_sequence WHERE name = 'bg_journal'", 0, &rc);
    if (!q) /* no number given yet: sqlite_sequence is made with the first */
        return strstr(bg_db_errmsg(j->db), "no such table") ? SQLITE_OK : rc;
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW)
        *top = bg_db_column_int64(q, 0);
    bg_db_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int bg_store_journal_new_id(bg_store *j, char id[40])
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        unsigned long long a = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
        memcpy(r, &a, 8);
        memcpy(r + 8, &a, 8);
    }
    char fresh[40];
    for (int i = 0; i < 16; i++)
        snprintf(fresh + 2 * i, 3, "%02x", r[i]);
    int rc;
    bg_store_arm(j);
    bg_db_stmt *q = bg_db_prepare(j->db, "UPDATE bg_journal_meta SET journal_id = ?1 WHERE id = 1", 0, &rc);
    if (!q)
        return rc;
    bg_db_bind_text(q, 1, fresh);
    while ((rc = bg_db_step(q)) == SQLITE_BUSY && bg_store_again(j, rc))
        bg_db_reset(q);
    bg_db_finalize(q);
    if (rc != SQLITE_DONE)
        return rc;
    snprintf(id, 40, "%s", fresh);
    return SQLITE_OK;
}

int bg_store_journal_count(bg_store *j, long long *n, long long *oldest_at)
{
    int rc;
    *n = 0;
    *oldest_at = 0;
    bg_store_arm(j);
    bg_db_stmt *q = bg_store_aux(j, AUX_J_COUNT, "SELECT COUNT(*), COALESCE(MIN(at), 0) FROM bg_journal", &rc);
    if (!q)
        return rc;
    while ((rc = bg_db_step(q)) != SQLITE_ROW && rc != SQLITE_DONE && bg_store_again(j, rc))
        bg_db_reset(q);
    if (rc == SQLITE_ROW) {
        *n = bg_db_column_int64(q, 0);
        *oldest_at = bg_db_column_int64(q, 1);
        rc = SQLITE_OK;
    }
    bg_db_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- the proof reads ---- */

/* Run a read with text parameters a, b, c (NULL: not bound); the first
 * row's columns to out0 (text) and *out1 (integer). 1 when a row came, 0
 * when none, else minus an SQLite code. */
static int bg_journal_one(bg_store *j, int id, const char *sql, const char *a, const char *b,
                          const char *c, char *out0, size_t out0sz, long long *out1)
{
    int rc;
    bg_store_arm(j);
    bg_db_stmt *q = bg_store_aux(j, id, sql, &rc);
    if (!q)
        return -rc;
    if (a)
        bg_store_bind(q, 1, a);
    if (b)
        bg_store_bind(q, 2, b);
    if (c)
        bg_store_bind(q, 3, c);
    while ((rc = bg_db_step(q)) != SQLITE_ROW && rc != SQLITE_DONE && bg_store_again(j, rc))
        bg_db_reset(q);
    int found = rc == SQLITE_ROW;
    if (found && out0)
        bg_store_col(q, 0, out0, out0sz);
    if (found && out1)
        *out1 = bg_db_column_int64(q, 1);
    bg_db_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -rc;
}

/* A journal read's outcome as an SQLite code and *found. */
static int bg_journal_found(int r, int *found)
{
    *found = r > 0;
    return r < 0 ? -r : SQLITE_OK;
}

int bg_store_journal_sent_to(bg_store *j, const char *domain, const char *msgid, const char *rcpt,
                             int *found, char remote_host[BG_IP_MAX])
{
    char host[BG_IP_MAX] = "";
    int r = bg_journal_one(j, AUX_J_SENT_TO,
                           "SELECT remote_host FROM bg_journal WHERE message_id = ?1 AND recipient = ?2 "
                           "AND kind = 'sent' AND sender_domain = ?3 ORDER BY jseq DESC LIMIT 1",
                           msgid, rcpt, domain, host, sizeof host, NULL);
    if (r > 0 && remote_host)
        snprintf(remote_host, BG_IP_MAX, "%s", host);
    return bg_journal_found(r, found);
}

int bg_store_journal_was_sent(bg_store *j, const char *msgid, const char *rcpt, int *found)
{
    int r = bg_journal_one(j, AUX_J_WAS_SENT,
                           "SELECT 1 FROM bg_journal WHERE message_id = ?1 AND (?2 = '' OR recipient = ?2) "
                           "AND kind = 'sent' LIMIT 1",
                           msgid, rcpt ? rcpt : "", NULL, NULL, 0, NULL);
    return bg_journal_found(r, found);
}

int bg_store_journal_sending_ip(bg_store *j, const char *msgid, const char *rcpt, char out[BG_IP_MAX])
{
    int found;
    int rc = bg_journal_found(
        bg_journal_one(j, AUX_J_IP,
                       "SELECT sending_ip FROM bg_journal WHERE message_id = ?1 AND recipient IN (?2, '') "
                       "AND sending_ip <> '' ORDER BY CASE WHEN recipient = ?2 THEN 0 ELSE 1 END, "
                       "CASE kind WHEN 'sent' THEN 1 ELSE 0 END, jseq DESC LIMIT 1",
                       msgid, rcpt, NULL, out, BG_IP_MAX, NULL),
        &found);
    if (!found)
        out[0] = '\0';
    return rc == SQLITE_OK && !found ? SQLITE_DONE : rc;
}

int bg_store_journal_deferral(bg_store *j, const char *msgid, const char *rcpt,
                              char category[BG_CATEGORY_ID_MAX], long long *seen_at)
{
    int found;
    int rc = bg_journal_found(
        bg_journal_one(j, AUX_J_DEFERRAL,
                       "SELECT category, at FROM bg_journal WHERE message_id = ?1 AND recipient = ?2 "
                       "AND kind IN ('soft', 'defer-info') AND source = 0 ORDER BY jseq LIMIT 1",
                       msgid, rcpt, NULL, category, BG_CATEGORY_ID_MAX, seen_at),
        &found);
    return rc == SQLITE_OK && !found ? SQLITE_DONE : rc;
}

int bg_store_journal_mailed(bg_store *j, const char *domain, const char *rcpt, long long since,
                            int *found)
{
    int rc;
    *found = 0;
    bg_store_arm(j);
    bg_db_stmt *q = bg_store_aux(j, AUX_J_MAILED,
                                 "SELECT 1 FROM bg_journal WHERE recipient = ?1 AND kind = 'sent' "
                                 "AND sender_domain = ?2 AND at >= ?3 LIMIT 1",
                                 &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, rcpt);
    bg_store_bind(q, 2, domain);
    bg_store_bind_int(q, 3, since);
    while ((rc = bg_db_step(q)) != SQLITE_ROW && rc != SQLITE_DONE && bg_store_again(j, rc))
        bg_db_reset(q);
    *found = rc == SQLITE_ROW;
    bg_db_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int bg_store_journal_sent_rcpts(bg_store *j, const char *domain, const char *msgid,
                                int (*fn)(const char *rcpt, const char *host, void *ctx), void *ctx)
{
    int rc;
    bg_store_arm(j);
    bg_db_stmt *q = bg_store_aux(j, AUX_J_SENT_RCPTS,
                                 "SELECT recipient, remote_host FROM bg_journal WHERE message_id = ?1 "
                                 "AND kind = 'sent' AND sender_domain = ?2 ORDER BY jseq",
                                 &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, msgid);
    bg_store_bind(q, 2, domain);
    while ((rc = bg_db_step(q)) == SQLITE_ROW) {
        char r[BG_ADDR_MAX], h[BG_IP_MAX];
        bg_store_col(q, 0, r, sizeof r);
        bg_store_col(q, 1, h, sizeof h);
        if (fn(r, h, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    bg_db_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}
