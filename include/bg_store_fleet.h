/* bg_store_fleet: several Exim hosts sharing one suppression store on
 * PostgreSQL (docs/suppression.md, "A fleet").
 *
 *   central   the PostgreSQL database (suppress_db = postgresql://...):
 *             the one truth -- rows, events, soft windows, the change
 *             log -- written by the same store code as a SQLite file
 *   journal   per host, a local SQLite file: Exim's processes append
 *             their events there (never to the network) and return
 *   replica   per host, a local SQLite store holding the rows in force:
 *             the RCPT check reads it (microseconds, PostgreSQL up or
 *             down)
 *   sync      per host, `bounceguide suppress sync`: ships the journal
 *             to the central store, exactly once (the central store keeps
 *             the highest entry it applied per journal, in the same
 *             transaction), and follows the central change log into the
 *             replica (a snapshot when the log is new or was pruned past
 *             the replica's cursor)
 *
 * Exim's processes open a fleet view (bg_store_open_fleet): a bg_store
 * whose writes go to the journal, whose checks read the replica and
 * whose proof reads (was this message sent to that recipient?) read the
 * journal, then the central store within the timeout, once per process.
 */
#ifndef BG_STORE_FLEET_H
#define BG_STORE_FLEET_H

#include <stddef.h>
#include "bg_store.h"

#define BG_STORE_DEFAULT_REPLICA "/var/spool/exim4/bounceguide/replica.db"
#define BG_STORE_DEFAULT_JOURNAL "/var/spool/exim4/bounceguide/journal.db"

typedef struct bg_store_fleet_paths {
    const char *central; /* suppress_db: a postgresql:// URL or a conninfo */
    const char *replica; /* suppress_replica ("" = the default) */
    const char *journal; /* suppress_journal ("" = the default) */
} bg_store_fleet_paths;

/* 1 when suppress_db names a central store (PostgreSQL), not a file. */
int bg_store_is_central(const char *db);

/* db with any password replaced by "***" (URL user:password@, password=
 * in a URL's query or a conninfo), for log lines and messages. */
void bg_store_redact(const char *db, char *out, size_t outsz);

/* A fleet host's handle for Exim: the replica opened (flags as for
 * bg_store_open), the journal and the central store on first use. */
bg_store *bg_store_open_fleet(const bg_store_fleet_paths *p, int timeout_ms, int flags,
                              bg_store_status *st, char *err, size_t errlen);

/* The store Exim should use for suppress_db: a file (bg_store_open) or,
 * for a central store, the fleet view with these replica and journal
 * paths. */
bg_store *bg_store_open_for(const bg_store_fleet_paths *p, int timeout_ms, int flags,
                            bg_store_status *st, char *err, size_t errlen);

/* What the last failure of a fleet handle was about ("journal PATH",
 * "central store URL"); "" for a plain store. */
const char *bg_store_where(const bg_store *s);

/* ---- the sync (bg_store_sync.c) ---- */

typedef struct bg_store_sync bg_store_sync;

typedef struct bg_store_sync_stats {
    long long shipped;       /* journal entries applied to the central store */
    long long duplicates;    /* ... that another host (or a retry) had applied */
    long long dropped;       /* ... the central store refused for good (logged) */
    long long suppressed;    /* ... that suppressed a recipient */
    long long pulled;        /* changes applied to the replica */
    long long snapshot_rows; /* rows copied by a snapshot (0: none) */
    long long journal_left;  /* entries still waiting */
    long long lag_max_s;     /* the oldest pulled change was made this long ago */
    long long cursor;        /* the replica's place in the central log */
} bg_store_sync_stats;

/* A new suppression the sync applied (for its log). */
typedef void (*bg_store_sync_note_fn)(const char *sender_domain, const char *key, const char *category,
                                      void *ctx);

/* Nothing is opened yet. timeout_ms bounds every wait of every call. */
bg_store_sync *bg_store_sync_new(const bg_store_fleet_paths *p, int timeout_ms);
void bg_store_sync_free(bg_store_sync *y);
/* Identify this host in the central store's marks (its name). */
void bg_store_sync_set_host(bg_store_sync *y, const char *host);
void bg_store_sync_on_suppressed(bg_store_sync *y, bg_store_sync_note_fn fn, void *ctx);
/* A journal entry dropped for good (not valid, or refused by the central
 * store on its own: why says which and why), for the sync's log. */
typedef void (*bg_store_sync_drop_fn)(const char *why, void *ctx);
void bg_store_sync_on_dropped(bg_store_sync *y, bg_store_sync_drop_fn fn, void *ctx);

/* Ship at most max journal entries (one central transaction). BG_STORE_OK
 * (also when there was nothing), else why it stopped; the journal keeps
 * what was not applied. */
bg_store_status bg_store_sync_ship(bg_store_sync *y, int max, bg_store_sync_stats *out);
/* Bring the replica up to the central log's end (a snapshot first when
 * needed). */
bg_store_status bg_store_sync_pull(bg_store_sync *y, bg_store_sync_stats *out);
/* The last problem ("" after a call that succeeded). */
const char *bg_store_sync_errmsg(const bg_store_sync *y);

/* Where this host stands, without touching the central store. */
typedef struct bg_store_sync_status {
    long long journal_entries, journal_oldest_at;
    char journal_id[40];
    char log_id[40];     /* the central log the replica follows ("" = none yet) */
    long long cursor;    /* the last change applied */
    long long synced_at; /* when the replica last caught up (0 = never) */
    long long rows;      /* rows in the replica */
} bg_store_sync_status;
bg_store_status bg_store_sync_status_get(bg_store_sync *y, bg_store_sync_status *out);

/* ---- migrate (bg_store_copy.c) ---- */

typedef struct bg_store_copy_stats {
    long long rows, rows_kept;       /* copied; already there (the target's kept) */
    long long events, soft, changes; /* copied */
    long long guards;                /* guard resets copied (the target's kept) */
    long long counts;                /* counter rows added (once per source file) */
    int log_kept;                    /* 1: the source's change log goes on in the target */
} bg_store_copy_stats;

/* Copy a store (a SQLite file) into another (the central store): rows,
 * events, soft-window times and, into an empty log or the same log, the
 * change log with its numbers and id. What is there already is kept (a
 * second run copies only what is missing: resumable, idempotent). Into
 * a log of its own, every row copied is logged as added (source import,
 * the handle's actor), so the fleet's replicas learn it. Batches of
 * batch rows per transaction; progress(table, n, ctx) after each. */
bg_store_status bg_store_copy(bg_store *from, bg_store *to, int batch, bg_store_copy_stats *out,
                              void (*progress)(const char *table, long long n, void *ctx), void *ctx);

#endif
