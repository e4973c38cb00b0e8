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
 *   bg_store_fleet.c   a fleet host's view: writes to the journal, checks
 *                      on the replica, proofs from the central store
 *   bg_store_copy.c    whole tables from one store into another (migrate)
 *   bg_store_count.c   delivery counters (report) and the bounce-rate guard
 *
 * Every statement goes through bg_db (bg_db.h): the same SQL and the same
 * logic run on SQLite and on PostgreSQL. Result codes are SQLite's on
 * both. Code written against the SQLite API maps one to one:
 * sqlite3_stmt -> bg_db_stmt, sqlite3_step -> bg_db_step,
 * sqlite3_bind_int64 -> bg_store_bind_int, sqlite3_column_int64 ->
 * bg_db_column_int64, sqlite3_changes(s->db) -> bg_db_changes(s->db),
 * sqlite3_prepare_v2 + finalize -> bg_db_prepare(s->db, sql, 0, &rc) +
 * bg_db_finalize.
 */
#ifndef BG_STORE_INT_H
#define BG_STORE_INT_H

#include <stddef.h>
#include "bg_db.h"
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
/* ST_CHANGE_INSERT with RETURNING seq, for PostgreSQL (AUX_CHANGE_PG). */
extern const char bg_store_sql_change_returning[];
/* 1: a statement whose outcome the store never reads (bg_db_pipeline). */
extern const unsigned char bg_store_sql_defer[ST_N];

/* One schema migration: the SQL that brings the schema to version, and
 * its PostgreSQL form when the DDL differs (NULL: the same text). The
 * table ends with {0, NULL, NULL}. */
typedef struct bg_store_migration {
    int version;
    const char *sql;
    const char *pg;
} bg_store_migration;
extern const bg_store_migration bg_store_migrations[];

/* The oldest schema a read-only handle reads without migrating. */
#define BG_STORE_READ_COMPAT 1

struct bg_store_fleet;

/* Statements outside the store's table, cached per handle by number
 * (bg_store_aux): the journal (bg_store_journal.c) and the sync's
 * replica and host marks (bg_store_sync.c). */
enum {
    AUX_J_APPEND,
    AUX_J_READ,
    AUX_J_FORGET,
    AUX_J_COUNT,
    AUX_J_SENT_TO,
    AUX_J_IP,
    AUX_J_DEFERRAL,
    AUX_J_MAILED,
    AUX_J_SENT_RCPTS,
    AUX_J_WAS_SENT,
    AUX_R_DELETE,
    AUX_R_CURSOR_GET,
    AUX_R_CURSOR_SET,
    AUX_H_GET,
    AUX_H_SET,
    AUX_CHANGE_PG,
    BG_STORE_AUX_N
};

struct bg_store {
    bg_db *db;             /* NULL for a fleet view (fleet set) */
    bg_db_stmt *st[ST_N];
    int pg;                /* the backend is PostgreSQL */
    struct bg_store_fleet *fleet; /* a fleet host's view (bg_store_fleet.c) */
    bg_db_stmt *aux[BG_STORE_AUX_N]; /* the journal's, the replica's and the sync's
                                       * statements (bg_store_aux) */
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

/* SQLite result code (both backends) -> status. */
bg_store_status bg_store_map(int rc);
/* Start the time budget of one public call. */
void bg_store_arm(bg_store *s);
/* 1 (after a short sleep) when rc is a BUSY and the deadline has not passed. */
int bg_store_again(bg_store *s, int rc);
/* Copy bounded, control characters blanked, UTF-8 never cut; NULL = "". */
void bg_store_clean(char *out, size_t outsz, const char *in);
/* A prepared statement, reset and unbound; NULL with *rc on error. */
bg_db_stmt *bg_store_stmt(bg_store *s, int id, int *rc);
void bg_store_bind(bg_db_stmt *q, int i, const char *v);
void bg_store_bind_int(bg_db_stmt *q, int i, long long v);
/* Step a statement that returns no rows (or ignore them); the SQLite code. */
int bg_store_step(bg_db_stmt *q);
/* An auxiliary statement (id from the AUX_ list, sql its constant text),
 * prepared once per handle, reset and unbound. */
bg_db_stmt *bg_store_aux(bg_store *s, int id, const char *sql, int *rc);
/* Inside a transaction begun with bg_store_begin: on, PostgreSQL sends
 * the statements whose outcome the store never reads without waiting
 * (bg_db_pipeline); the sync's batches. bg_store_commit and
 * bg_store_rollback turn it off first. An SQLite code. */
int bg_store_pipeline(bg_store *s, int on);
/* Start a transaction that changes tables themselves (migrations, the
 * fleet's bookkeeping): BEGIN EXCLUSIVE -- SQLite's write lock (in WAL
 * mode what IMMEDIATE takes), PostgreSQL's writer lock taken before the
 * transaction so that it sees the tables the writer before made. End it
 * with bg_store_tx(s, ST_COMMIT or ST_ROLLBACK). */
int bg_store_begin_schema(bg_store *s);
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
void bg_store_col(bg_db_stmt *q, int i, char *out, size_t outsz);
void bg_store_row_read(bg_db_stmt *q, bg_store_row *r);
int bg_store_row_write(bg_store *s, const bg_store_row *r);
int bg_store_row_fetch(bg_store *s, const char *domain, const char *key, bg_store_row *r);
/* The bg_event kind of an event under rule: fail, soft, fail-info or
 * defer-info (bg_store_record explains why). */
const char *bg_store_event_kind(const bg_store_rule *rule, int deferred);
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
                         const char *note, void (*fill)(bg_db_stmt *q, const void *ctx),
                         const void *ctx);
/* The note for a change: a (may be "") then b, "; " between, bounded. */
void bg_store_note_join(char out[BG_STORE_NOTE_MAX], const char *a, const char *b);

/* ---- a fleet (bg_store_fleet.c, bg_store_journal.c, bg_store_sync.c) ----
 *
 * The journal is a store file (its own, beside the replica) with one
 * more table, bg_journal: the events of this host's Exim processes, in
 * the order they committed, waiting for the sync to ship them to the
 * central store. An entry is what bg_store_record, bg_store_delivered or
 * bg_store_note_ip was given, with the rule the host's policy chose. */
/* BG_J_COUNT, a delivery counter (bg_store_count_add): sender_domain,
 * kind = the outcome's name, category, note = the operator's id,
 * reply_code = how many. */
typedef enum { BG_J_RECORD = 0, BG_J_DELIVERED, BG_J_IP, BG_J_COUNT } bg_journal_op;

typedef struct bg_journal_entry {
    long long jseq;                       /* 1, 2, ... never reused */
    bg_journal_op op;
    long long at;                         /* unix seconds of the event */
    char message_id[BG_MSGID_MAX];
    char recipient[BG_ADDR_MAX];
    char sender_domain[BG_DOMAIN_MAX];
    char kind[16];                        /* the bg_event kind it makes (proof reads) */
    int deferred;
    char category[BG_CATEGORY_ID_MAX];
    char status[BG_STATUS_MAX];
    int reply_code;
    char diagnostic[BG_STORE_DIAG_MAX];
    char sending_ip[BG_IP_MAX];
    char remote_host[BG_IP_MAX];
    bg_store_source source;
    char note[BG_STORE_NOTE_MAX];
    bg_store_rule rule;
} bg_journal_entry;

/* Create the journal's tables (a writable handle); its id in id (32 hex
 * digits, made once per journal file). An SQLite code. */
int bg_store_journal_init(bg_store *j, char id[40]);
/* Append one entry (jseq is assigned). One transaction. */
int bg_store_journal_append(bg_store *j, const bg_journal_entry *e);
/* Entries with jseq > after, oldest first, at most max, to fn (non-zero
 * stops). */
int bg_store_journal_read(bg_store *j, long long after, int max,
                          int (*fn)(const bg_journal_entry *e, void *ctx), void *ctx);
/* Forget the entries up to jseq (shipped). */
int bg_store_journal_forget(bg_store *j, long long upto);
/* The highest number the journal ever gave (0: none yet). */
int bg_store_journal_top(bg_store *j, long long *top);
/* Give the journal a new id (it went back in time: its numbers would
 * repeat ones the central store applied under the old id). */
int bg_store_journal_new_id(bg_store *j, char id[40]);
/* How many entries wait, and the time of the oldest (0 when none). */
int bg_store_journal_count(bg_store *j, long long *n, long long *oldest_at);
/* The proof reads over the entries not yet shipped, as the store's
 * functions of the same names read bg_event (*found / out set; SQLite
 * codes). */
int bg_store_journal_sent_to(bg_store *j, const char *domain, const char *msgid, const char *rcpt,
                             int *found, char remote_host[BG_IP_MAX]);
int bg_store_journal_was_sent(bg_store *j, const char *msgid, const char *rcpt, int *found);
int bg_store_journal_sending_ip(bg_store *j, const char *msgid, const char *rcpt, char out[BG_IP_MAX]);
int bg_store_journal_deferral(bg_store *j, const char *msgid, const char *rcpt,
                              char category[BG_CATEGORY_ID_MAX], long long *seen_at);
int bg_store_journal_mailed(bg_store *j, const char *domain, const char *rcpt, long long since,
                            int *found);
/* Recipients a not yet shipped delivery of msgid went to: fn per one. */
int bg_store_journal_sent_rcpts(bg_store *j, const char *domain, const char *msgid,
                                int (*fn)(const char *rcpt, const char *host, void *ctx), void *ctx);

/* The fleet view's routes (bg_store_fleet.c): each public function of
 * the store that a fleet handle answers otherwise starts with one of
 * these (s->fleet set). */
void bg_store_fleet_free(struct bg_store_fleet *f);
const char *bg_store_fleet_errmsg(const struct bg_store_fleet *f);
bg_store_status bg_store_fleet_record(bg_store *s, const bg_store_event *ev, const bg_store_rule *rule,
                                      bg_store_result *res);
bg_store_status bg_store_fleet_delivered(bg_store *s, const char *sender_domain, const char *recipient,
                                         const char *message_id, const char *sending_ip,
                                         const char *remote_host, long long now);
bg_store_status bg_store_fleet_count(bg_store *s, const char *sender_domain, const char *provider,
                                     const char *outcome, const char *category, long long n, long long now);
bg_store_status bg_store_fleet_note_ip(bg_store *s, const char *message_id, const char *sender_domain,
                                       const char *sending_ip, long long now);
/* The proof reads (values already normalised): the journal's entries not
 * yet shipped first, then the central store. */
bg_store_status bg_store_fleet_sent_to(bg_store *s, const char *domain, const char *msgid,
                                       const char *rcpt, int *found, char remote_host[BG_IP_MAX]);
bg_store_status bg_store_fleet_was_sent(bg_store *s, const char *msgid, const char *rcpt, int *found);
bg_store_status bg_store_fleet_sending_ip(bg_store *s, const char *msgid, const char *rcpt,
                                          char out[BG_IP_MAX]);
bg_store_status bg_store_fleet_deferral(bg_store *s, const char *msgid, const char *rcpt,
                                        char category[BG_CATEGORY_ID_MAX], long long *seen_at);
bg_store_status bg_store_fleet_mailed(bg_store *s, const char *domain, const char *rcpt, long long since,
                                      int budget_ms, int *found);
struct bg_store_sent_rcpt;
bg_store_status bg_store_fleet_sent_rcpts(bg_store *s, const char *domain, const char *msgid,
                                          struct bg_store_sent_rcpt *out, size_t max, size_t *n);
/* The central store for a proof read, opened on first use within the
 * timeout; NULL (and *st) when it cannot be reached -- then not again in
 * this process. */
bg_store *bg_store_fleet_central(bg_store *s, bg_store_status *st);
/* The journal (opened on first use); NULL with *st. */
bg_store *bg_store_fleet_journal(bg_store *s, bg_store_status *st);

#endif
