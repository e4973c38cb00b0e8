/* bg_db: one connection and its statements over SQLite or PostgreSQL
 * (bg_db.h). The SQLite side is a direct pass-through; PostgreSQL lives
 * in bg_db_pg.c. This file decides nothing about the store. */
#include "bg_db.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_db_pg.h"

struct bg_db {
    bg_db_kind kind;
    sqlite3 *sq;
    bg_pg *pg;
};

struct bg_db_stmt {
    bg_db *db;
    sqlite3_stmt *sq;
    bg_pg_stmt *pg;
    int nparams;
};

int bg_db_is_pg(const char *path)
{
    if (!path || !*path || path[0] == '/' || path[0] == '.')
        return 0;
    if (strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0)
        return 1;
    /* a libpq conninfo: "host=... dbname=..." (a file name has no '='
     * before its first blank in any sane configuration) */
    const char *eq = strchr(path, '=');
    if (!eq)
        return 0;
    for (const char *p = path; p < eq; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return 0;
    return eq > path;
}

bg_db *bg_db_from_sqlite(sqlite3 *h)
{
    bg_db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->kind = BG_DB_SQLITE;
    db->sq = h;
    return db;
}

int bg_db_open_pg(const char *conninfo, const long long *deadline_us, bg_db **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    bg_db *db = calloc(1, sizeof *db);
    if (!db)
        return SQLITE_NOMEM;
    db->kind = BG_DB_PG;
    int rc = bg_pg_open(conninfo, deadline_us, &db->pg, err, errlen);
    if (rc != SQLITE_OK) {
        free(db);
        return rc;
    }
    *out = db;
    return SQLITE_OK;
}

bg_db_kind bg_db_kind_of(const bg_db *db)
{
    return db ? db->kind : BG_DB_SQLITE;
}

sqlite3 *bg_db_sqlite(const bg_db *db)
{
    return db ? db->sq : NULL;
}

void bg_db_close(bg_db *db)
{
    if (!db)
        return;
    if (db->sq)
        sqlite3_close(db->sq);
    bg_pg_close(db->pg);
    free(db);
}

const char *bg_db_errmsg(const bg_db *db)
{
    if (!db)
        return "";
    if (db->kind == BG_DB_PG)
        return bg_pg_errmsg(db->pg);
    return db->sq ? sqlite3_errmsg(db->sq) : "";
}

void bg_db_set_deadline(bg_db *db, const long long *deadline_us)
{
    if (db && db->kind == BG_DB_PG)
        bg_pg_set_deadline(db->pg, deadline_us);
}

int bg_db_alive(const bg_db *db)
{
    if (!db)
        return 0;
    return db->kind == BG_DB_PG ? bg_pg_alive(db->pg) : 1;
}

int bg_db_tls(const bg_db *db)
{
    return db && db->kind == BG_DB_PG ? bg_pg_tls(db->pg) : 0;
}

/* The highest ?N in sql, outside quoted text. */
static int bg_db_count_params(const char *sql)
{
    int max = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            continue;
        }
        if (*p == '?' && isdigit((unsigned char)p[1])) {
            int n = (int)strtol(p + 1, NULL, 10);
            if (n > max)
                max = n;
        }
    }
    return max;
}

bg_db_stmt *bg_db_prepare(bg_db *db, const char *sql, int persistent, int *rc)
{
    bg_db_stmt *q = calloc(1, sizeof *q);
    if (!q) {
        *rc = SQLITE_NOMEM;
        return NULL;
    }
    q->db = db;
    q->nparams = bg_db_count_params(sql);
    if (db->kind == BG_DB_PG) {
        q->pg = bg_pg_prepare(db->pg, sql, q->nparams, persistent, rc);
        if (!q->pg) {
            free(q);
            return NULL;
        }
        return q;
    }
    *rc = sqlite3_prepare_v2(db->sq, sql, -1, &q->sq, NULL);
    if (*rc != SQLITE_OK) {
        sqlite3_finalize(q->sq);
        free(q);
        return NULL;
    }
    return q;
}

void bg_db_finalize(bg_db_stmt *q)
{
    if (!q)
        return;
    if (q->sq)
        sqlite3_finalize(q->sq);
    bg_pg_finalize(q->pg);
    free(q);
}

void bg_db_reset(bg_db_stmt *q)
{
    if (q->sq)
        sqlite3_reset(q->sq);
    else
        bg_pg_reset(q->pg);
}

void bg_db_clear_bindings(bg_db_stmt *q)
{
    if (q->sq)
        sqlite3_clear_bindings(q->sq);
    else
        bg_pg_clear(q->pg);
}

int bg_db_param_count(const bg_db_stmt *q)
{
    return q->nparams;
}

void bg_db_bind_text(bg_db_stmt *q, int i, const char *v)
{
    if (q->sq)
        sqlite3_bind_text(q->sq, i, v ? v : "", -1, SQLITE_TRANSIENT);
    else
        bg_pg_bind(q->pg, i, v ? v : "", 0);
}

void bg_db_bind_int64(bg_db_stmt *q, int i, long long v)
{
    if (q->sq) {
        sqlite3_bind_int64(q->sq, i, (sqlite3_int64)v);
        return;
    }
    char num[24];
    snprintf(num, sizeof num, "%lld", v);
    bg_pg_bind(q->pg, i, num, 1);
}

int bg_db_step(bg_db_stmt *q)
{
    return q->sq ? sqlite3_step(q->sq) : bg_pg_step(q->pg);
}

const char *bg_db_column_text(bg_db_stmt *q, int i)
{
    if (q->sq) {
        const unsigned char *t = sqlite3_column_text(q->sq, i);
        return t ? (const char *)t : "";
    }
    return bg_pg_column(q->pg, i);
}

long long bg_db_column_int64(bg_db_stmt *q, int i)
{
    if (q->sq)
        return (long long)sqlite3_column_int64(q->sq, i);
    return strtoll(bg_pg_column(q->pg, i), NULL, 10);
}

long long bg_db_changes(const bg_db *db)
{
    if (db->kind == BG_DB_PG)
        return bg_pg_changes(db->pg);
    return (long long)sqlite3_changes(db->sq);
}

int bg_db_pipeline(bg_db *db, int on)
{
    return db && db->kind == BG_DB_PG ? bg_pg_pipeline(db->pg, on) : SQLITE_OK;
}

int bg_db_send(bg_db_stmt *q)
{
    return q && q->pg ? bg_pg_send(q->pg) : SQLITE_OK;
}

void bg_db_set_deferrable(bg_db_stmt *q, int on)
{
    if (q && q->pg)
        bg_pg_set_deferrable(q->pg, on);
}

long long bg_db_last_rowid(const bg_db *db)
{
    return db && db->sq ? (long long)sqlite3_last_insert_rowid(db->sq) : 0;
}

int bg_db_exec(bg_db *db, const char *sql)
{
    if (db->kind == BG_DB_PG)
        return bg_pg_exec(db->pg, sql);
    return sqlite3_exec(db->sq, sql, NULL, NULL, NULL);
}
