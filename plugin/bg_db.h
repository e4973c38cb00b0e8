/* bg_db: the thin database layer under the suppression store -- one
 * connection, prepared statements, bind, step, columns -- over SQLite
 * (the default: a file) or PostgreSQL (a fleet's central store, libpq
 * opened with dlopen only when configured: bg_db_pg.c).
 *
 * The store's SQL is written once (bg_store_sql.c) with ?N parameters;
 * the PostgreSQL side turns ?N into $N and BEGIN IMMEDIATE into BEGIN
 * plus the store's one writer lock (a transaction advisory lock), so a
 * writer on either backend is alone while it writes, as SQLite's
 * BEGIN IMMEDIATE makes it. Result codes are SQLite's on both (SQLITE_OK,
 * SQLITE_ROW, SQLITE_DONE, SQLITE_BUSY after the deadline, SQLITE_IOERR
 * for a lost connection, ...), so the store maps one set of codes.
 *
 * Every wait for PostgreSQL (connecting, each reply) is bounded by the
 * caller's deadline (bg_db_set_deadline: the store's per-call budget);
 * past it the connection is dropped and the call returns SQLITE_BUSY.
 * Only the store (plugin/bg_store*.c, bg_journal.c) includes this.
 */
#ifndef BG_DB_H
#define BG_DB_H

#include <sqlite3.h>
#include <stddef.h>

typedef struct bg_db bg_db;
typedef struct bg_db_stmt bg_db_stmt;

typedef enum { BG_DB_SQLITE = 0, BG_DB_PG = 1 } bg_db_kind;

/* 1 when a suppress_db value names a PostgreSQL database: a
 * postgresql:// or postgres:// URL, or a libpq "key=value" string. */
int bg_db_is_pg(const char *path);

/* Wrap an open SQLite handle (the store opened and set it up). */
bg_db *bg_db_from_sqlite(sqlite3 *h);

/* Connect to PostgreSQL (a URL or a conninfo string), waiting at most
 * until *deadline_us (monotonic microseconds). An SQLite code: SQLITE_OK
 * with *out set; SQLITE_CANTOPEN when libpq is missing or the server
 * refuses or cannot be reached (err says why, never the password);
 * SQLITE_BUSY when the deadline passed. */
int bg_db_open_pg(const char *conninfo, const long long *deadline_us, bg_db **out, char *err,
                  size_t errlen);

bg_db_kind bg_db_kind_of(const bg_db *db);
/* The SQLite handle (NULL on PostgreSQL), for SQLite-only tuning. */
sqlite3 *bg_db_sqlite(const bg_db *db);
/* Frees the statements' server side with the connection. NULL is fine. */
void bg_db_close(bg_db *db);
/* The last error text ("" when none). */
const char *bg_db_errmsg(const bg_db *db);
/* Where every wait of this connection stops (monotonic microseconds);
 * the pointer is read at each wait. PostgreSQL only (SQLite waits in the
 * store's busy handler). */
void bg_db_set_deadline(bg_db *db, const long long *deadline_us);
/* 1 while the connection works (always on SQLite). */
int bg_db_alive(const bg_db *db);
/* PostgreSQL: 1 when the connection uses TLS. */
int bg_db_tls(const bg_db *db);

/* A statement. persistent: prepared once and kept (the store's table);
 * else run as a one-off (PostgreSQL: no server-side statement). NULL with
 * *rc on error. */
bg_db_stmt *bg_db_prepare(bg_db *db, const char *sql, int persistent, int *rc);
void bg_db_finalize(bg_db_stmt *q);
/* Ready to run again: ends a running query; the bindings stay. */
void bg_db_reset(bg_db_stmt *q);
/* Forget the bindings. */
void bg_db_clear_bindings(bg_db_stmt *q);
/* The highest ?N of the statement. */
int bg_db_param_count(const bg_db_stmt *q);
/* Bind ?i (from 1). NULL text binds "". */
void bg_db_bind_text(bg_db_stmt *q, int i, const char *v);
void bg_db_bind_int64(bg_db_stmt *q, int i, long long v);
/* SQLITE_ROW (a row is there), SQLITE_DONE, or an error code. */
int bg_db_step(bg_db_stmt *q);
/* Columns of the current row: text never NULL ("" for NULL). */
const char *bg_db_column_text(bg_db_stmt *q, int i);
long long bg_db_column_int64(bg_db_stmt *q, int i);
/* Rows the last INSERT/UPDATE/DELETE of the connection changed (-1: a
 * deferred statement, not known). */
long long bg_db_changes(const bg_db *db);
/* PostgreSQL, inside a transaction of many statements (the sync's
 * batch): on, a deferrable statement is sent without waiting for its
 * answer, which travels with the next statement waited for (libpq's
 * pipeline mode: one round trip instead of several); off reads what is
 * left and returns the first failure of them (then end the transaction
 * with ROLLBACK). SQLite: nothing to do. Transactions begin and end with
 * it off. */
int bg_db_pipeline(bg_db *db, int on);
/* Send a bound statement now, to be stepped later (pipelined: it goes
 * with the next statement waited for -- two reads, one round trip); no
 * effect otherwise (the step runs it). Step or reset it before binding
 * it again. */
int bg_db_send(bg_db_stmt *q);
/* A statement whose outcome (rows, changes) the caller never reads. */
void bg_db_set_deferrable(bg_db_stmt *q, int on);
/* SQLite: the rowid of the last row inserted (0 on PostgreSQL). */
long long bg_db_last_rowid(const bg_db *db);
/* Run SQL without parameters (DDL; several statements). */
int bg_db_exec(bg_db *db, const char *sql);

#endif
