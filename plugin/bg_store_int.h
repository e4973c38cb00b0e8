/* bg_store_int: what the parts of the suppression store share (only
 * plugin/bg_store*.c include this). The store is split by concern:
 *
 *   bg_store.c         the handle: open, create, migrate, close, bounded
 *                      waits, transactions, the statement cache
 *   bg_store_sql.c     every SQL text and the schema migrations
 *   bg_store_record.c  the hot path: record an event, a delivery, the check
 *   bg_store_proof.c   what was sent: Message-ID proof, sending IP
 *   bg_store_admin.c   whole rows, removal, listing, expiry, counts
 *   bg_store_change.c  the change log: writing it, reading it, pruning it
 *   bg_store_text.c    address, Message-ID and time helpers (no SQLite)
 *   bg_store_count.c   delivery counters (report) and the bounce-rate guard
 *
 * A second backend (PostgreSQL) would replace bg_store.c and keep the SQL
 * and the logic; see docs/suppression.md.
 */
#ifndef BG_STORE_INT_H
#define BG_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include "bg_store.h"

/* The statements, by index into bg_store_sql. */
enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_EVENT_INSERT,
    ST_EVENT_SENT,
    ST_ROW_GET,
    ST_ROW_UPSERT,
    ST_CHECK,
    ST_SOFT_CLEAR,
    ST_REMOVE_ONE,
    ST_REMOVE_ALL,
    ST_LIST,
    ST_EXPIRE_ROWS,
    ST_EXPIRE_SOFT,
    ST_EXPIRE_EVENTS,
    ST_STAT_ROWS,
    ST_STAT_ACTIVE,
    ST_STAT_SOFT,
    ST_STAT_EXPIRED,
    ST_STAT_EVENTS,
    ST_STAT_SENT,
    ST_COUNT_CAT,
    ST_WAS_SENT_ANY,
    ST_WAS_SENT_RCPT,
    ST_SENT_TO,
    ST_SENT_TO_V2,
    ST_SENDING_IP,
    ST_NOTE_IP,
    ST_SOFT_ADD,
    ST_SOFT_SUM,
    ST_SOFT_PRUNE,
    ST_SOFT_DROP,
    ST_SOFT_DROP_ALL,
    ST_EXPIRE_SOFT_ORPHANS,
    ST_SEQ_NEXT,
    ST_CHANGE_INSERT,
    ST_CHANGE_LOG_ONE,
    ST_CHANGE_LOG_ALL,
    ST_CHANGE_LOG_EXPIRED,
    ST_CHANGE_BOUNDS,
    ST_CHANGES,
    ST_CHANGES_RCPT,
    ST_CHANGE_PRUNE_MAX,
    ST_CHANGE_PRUNE,
    ST_CHANGE_PRUNED,
    /* schema 5: counters and the guard (bg_store_count.c) */
    ST_COUNT_ADD,
    ST_COUNT_BY_DOMAIN,
    ST_COUNT_BY_PROVIDER,
    ST_COUNT_BY_CATEGORY,
    ST_COUNT_BY_DAY,
    ST_COUNT_PEAK,
    ST_COUNT_GUARD,
    ST_COUNT_PRUNE,
    ST_COUNT_ANALYZE,
    ST_GUARD_GET,
    ST_GUARD_SET,
    ST_N
};

extern const char *const bg_store_sql[ST_N];

/* One schema migration: the SQL that brings the schema to version. The
 * table ends with {0, NULL}. */
typedef struct bg_store_migration {
    int version;
    const char *sql;
} bg_store_migration;
extern const bg_store_migration bg_store_migrations[];

/* The oldest schema a read-only handle reads without migrating. */
#define BG_STORE_READ_COMPAT 1

struct bg_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_N];
    int timeout_ms;
    long long deadline_us; /* monotonic; busy waits stop here */
    int in_tx;             /* inside bg_store_begin .. commit */
    int rdonly;
    int schema;            /* the file's schema version when opened */
    struct {               /* who makes this handle's changes (bg_store_set_actor) */
        int set;
        bg_store_source source;
        long long uid;
        char user[BG_STORE_ACTOR_MAX];
        char reason[BG_STORE_NOTE_MAX];
    } actor;
};

/* SQLite result code -> status. */
bg_store_status bg_store_map(int rc);
/* Start the time budget of one public call. */
void bg_store_arm(bg_store *s);
/* 1 (after a short sleep) when rc is a BUSY and the deadline has not passed. */
int bg_store_again(bg_store *s, int rc);
/* Copy bounded, control characters blanked, UTF-8 never cut; NULL = "". */
void bg_store_clean(char *out, size_t outsz, const char *in);
/* A prepared statement, reset and unbound; NULL with *rc on error. */
sqlite3_stmt *bg_store_stmt(bg_store *s, int id, int *rc);
void bg_store_bind(sqlite3_stmt *q, int i, const char *v);
/* Step a statement that returns no rows (or ignore them); the SQLite code. */
int bg_store_step(sqlite3_stmt *q);
/* Run one of the fixed transaction statements. */
int bg_store_tx(bg_store *s, int id);
/* Prepare statements before taking the write lock (best effort). */
void bg_store_prepare(bg_store *s, const int *ids, size_t n);
/* Start a write transaction unless the caller holds one / end it. */
int bg_store_tx_begin(bg_store *s);
int bg_store_tx_end(bg_store *s, int rc);
/* now, or time(NULL) when now <= 0. */
long long bg_store_now(long long now);

/* Rows (bg_store_record.c). */
void bg_store_col(sqlite3_stmt *q, int i, char *out, size_t outsz);
void bg_store_row_read(sqlite3_stmt *q, bg_store_row *r);
int bg_store_row_write(bg_store *s, const bg_store_row *r);
int bg_store_row_fetch(bg_store *s, const char *domain, const char *key, bg_store_row *r);
/* Drop the soft events of (domain, key); domain NULL: for every domain. */
int bg_store_soft_drop(bg_store *s, const char *domain, const char *key);

/* The change log (bg_store_change.c), inside the caller's write
 * transaction. Log one change of row r: op, active (r refuses after it),
 * at, source, the triggering message id and a note ("" = none); the
 * handle's actor goes with it when set. *seq (may be NULL) gets its
 * number. An SQLite code. */
int bg_store_change_add(bg_store *s, const char *op, const bg_store_row *r, int active, long long at,
                        bg_store_source source, const char *msgid, const char *note, long long *seq);
/* Log every row the statement id (ST_CHANGE_LOG_*) selects as op, not
 * in force after it, before the caller deletes them; the filter's values
 * are bound by fill(q, ctx) from parameter 7 on. */
int bg_store_change_rows(bg_store *s, int id, const char *op, long long at, bg_store_source source,
                         const char *note, void (*fill)(sqlite3_stmt *q, const void *ctx),
                         const void *ctx);
/* The note for a change: a (may be "") then b, "; " between, bounded. */
void bg_store_note_join(char out[BG_STORE_NOTE_MAX], const char *a, const char *b);

#endif
