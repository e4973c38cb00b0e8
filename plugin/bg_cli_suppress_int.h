/* bg_cli_suppress_int: what the parts of `bounceguide suppress` share
 * (only plugin/bg_cli_suppress*.c, bg_cli_history.c and bg_cli_report.c,
 * for the actor, include this). The
 * command is split by concern:
 *
 *   bg_cli_suppress.c         options, the store and the actor, add,
 *                             expire, the dispatcher
 *   bg_cli_suppress_remove.c  remove: one, a file, or by filter
 *   bg_cli_suppress_list.c    list, show, export, stats; CSV output
 *   bg_cli_suppress_import.c  the CSV reader and import
 *   bg_cli_history.c          history and changes (the change log)
 *   bg_cli_sync.c             sync and migrate (a fleet's central store)
 */
#ifndef BG_CLI_SUPPRESS_INT_H
#define BG_CLI_SUPPRESS_INT_H

#include "bg_buf.h"
#include "bg_policy.h"
#include "bg_store.h"

/* The options of every verb (a verb ignores what it does not use, as
 * before; --format is refused where it means nothing). */
typedef struct bg_sup_opts {
    const char *db;
    const char *config;
    const char *domain;
    const char *category;
    const char *expires;
    const char *reason;
    const char *format; /* table | csv | json (every listing verb; --json = json) */
    const char *since;  /* changes: SEQ, TIME or an age (7d) */
    const char *limit;  /* changes: at most N */
    const char *from;   /* migrate: the SQLite store to copy */
    const char *to;     /* migrate: the central store (default suppress_db) */
    const char *batch;  /* migrate: rows per transaction */
    const char *interval; /* sync: instead of suppress_sync_interval */
    int all;
    int json;
    int dry_run;
    int snapshot;       /* changes: the rows in force instead */
    int once;           /* sync: one round */
    int status;         /* sync: where this host stands */
    const char *file;   /* remove: a file of addresses */
    const char *before; /* remove: rows suppressed before this time */
    const char *args[5]; /* args[0] = the command */
    int nargs;
} bg_sup_opts;

/* The store at --db or the config's suppress_db; write: read-write (and
 * created), else read-only (and it must exist). NULL with a message. */
bg_store *bg_sup_open(const bg_sup_opts *o, const bg_policy *p, int write);

/* Who runs the command, for the change log: the real uid and its name
 * ("root (sudo: alice)" under sudo), source admin or import, and the
 * reason given. */
void bg_sup_actor(bg_store *s, bg_store_source source, const char *reason);

/* CSV output: a field, quoted when needed, "\r\n" after the last; a
 * field of remote text (a leading = + - @ gets a quote: no spreadsheet
 * formula); and the import side, which takes that quote off. */
void bg_csv_field(bg_buf *b, const char *s, int last);
void bg_csv_text_field(bg_buf *b, const char *s, int last);
const char *bg_csv_text_value(const char *s);

/* Text of a file or of a remote party for a message: at most max bytes
 * of in, control characters (C0, DEL, C1) and bytes that are not UTF-8
 * as \xNN (\t, \n, \r), "..." when cut; never a raw escape sequence. */
void bg_cli_esc(char *out, size_t outsz, const char *in, size_t max);

/* The output format of a listing verb: --format, or --json, or dflt.
 * BG_FMT_* or -1 (an unknown name, reported). */
enum { BG_FMT_TABLE, BG_FMT_CSV, BG_FMT_JSON };
int bg_sup_format(const bg_sup_opts *o, int dflt);

/* The verbs (exit codes). */
int bg_sup_list(const bg_sup_opts *o, const bg_policy *p, int show);
int bg_sup_export(const bg_sup_opts *o, const bg_policy *p);
int bg_sup_stats(const bg_sup_opts *o, const bg_policy *p);
int bg_sup_import(const bg_sup_opts *o, const bg_policy *p);
int bg_sup_remove(const bg_sup_opts *o, const bg_policy *p);
int bg_sup_history(const bg_sup_opts *o, const bg_policy *p);
int bg_sup_changes(const bg_sup_opts *o, const bg_policy *p);
int bg_sup_sync(const bg_sup_opts *o, const bg_policy *p);
int bg_sup_migrate(const bg_sup_opts *o, const bg_policy *p);

#endif
