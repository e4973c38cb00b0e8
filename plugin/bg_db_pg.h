/* bg_db_pg: the PostgreSQL side of bg_db (libpq through dlopen). Only
 * bg_db.c includes this; everything else goes through bg_db.h. */
#ifndef BG_DB_PG_H
#define BG_DB_PG_H

#include <stddef.h>

typedef struct bg_pg bg_pg;
typedef struct bg_pg_stmt bg_pg_stmt;

/* An SQLite result code; *out set on SQLITE_OK. */
int bg_pg_open(const char *conninfo, const long long *deadline_us, bg_pg **out, char *err,
               size_t errlen);
void bg_pg_close(bg_pg *c);
void bg_pg_set_deadline(bg_pg *c, const long long *deadline_us);
const char *bg_pg_errmsg(const bg_pg *c);
int bg_pg_alive(const bg_pg *c);
int bg_pg_tls(const bg_pg *c);
long long bg_pg_changes(const bg_pg *c);
int bg_pg_exec(bg_pg *c, const char *sql);

bg_pg_stmt *bg_pg_prepare(bg_pg *c, const char *sql, int nparams, int persistent, int *rc);
void bg_pg_finalize(bg_pg_stmt *q);
void bg_pg_reset(bg_pg_stmt *q);
void bg_pg_clear(bg_pg_stmt *q);
void bg_pg_bind(bg_pg_stmt *q, int i, const char *text, int is_int);
int bg_pg_step(bg_pg_stmt *q);
const char *bg_pg_column(bg_pg_stmt *q, int i);
int bg_pg_pipeline(bg_pg *c, int on);
void bg_pg_set_deferrable(bg_pg_stmt *q, int on);
int bg_pg_send(bg_pg_stmt *q);

#endif
