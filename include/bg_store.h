/* bg_store: the per-sending-domain suppression database (SQLite, or
 * PostgreSQL for a fleet: include/bg_store_fleet.h).
 *
 * One row per (sending domain, recipient), where the recipient is an address
 * or, for a domain-wide suppression, a bare domain. A second table keeps
 * delivery events keyed by (message id, recipient, kind): it makes the same
 * failure seen twice (transport event and local_scan) count once, proves that
 * a returned Message-ID was sent by this server, and keeps the sending IP of
 * each attempt for the authentication diagnosis. A third keeps the times of
 * the soft events inside each row's sliding soft window. A fourth, the
 * change log (schema 4), records every change to what is in force -- who,
 * when, why -- under a sequence number that never goes back, for
 * `suppress history`, `suppress changes` and replicas (docs/suppression.md).
 *
 * The store does not decide: what a category does (suppress the address, the
 * domain, count a soft event, nothing) comes from bg_policy as a
 * bg_store_rule. The SQL is plain (INSERT ... ON CONFLICT, integer unix
 * times, no SQLite functions in the logic) and the same statements run on
 * PostgreSQL: bg_store_open takes a file or a postgresql:// URL
 * (docs/suppression.md).
 *
 * Every call is bounded by the busy timeout given at open; nothing here
 * waits longer. Errors come back as a status; the caller logs them.
 */
#ifndef BG_STORE_H
#define BG_STORE_H

#include <stddef.h>
#include "bg_bounce.h"
#include "bg_category.h"
#include "bg_status.h"

#define BG_STORE_DEFAULT_PATH "/var/spool/exim4/bounceguide/suppression.db"
#define BG_STORE_DEFAULT_TIMEOUT_MS 250
#define BG_STORE_OWNER "Debian-exim"   /* owner of a file created by root */
#define BG_STORE_SCHEMA_VERSION 5 /* 2: bg_soft, the sliding soft window; 3: bg_event.remote_host, 'soft' events; 4: bg_change, the change log; 5: bg_count, bg_guard (bg_store_count.h) */

#define BG_DOMAIN_MAX 256      /* a domain name (253) + NUL, rounded */
#define BG_STORE_DIAG_MAX 512  /* diagnostic text kept per row */
#define BG_CATEGORY_ID_MAX 32
#define BG_MSGID_MAX 256
#define BG_IP_MAX 64
#define BG_STORE_NOTE_MAX 320  /* why a change happened (reason, proof) */
#define BG_STORE_ACTOR_MAX 64  /* who: a user name (and the sudo caller) */

typedef struct bg_store bg_store; /* opaque: one connection (SQLite or PostgreSQL),
                                   * or a fleet host's view (bg_store_fleet.h) */

typedef enum {
    BG_STORE_OK = 0,
    BG_STORE_DUPLICATE, /* the event was already recorded: nothing changed */
    BG_STORE_NOTFOUND,
    BG_STORE_BUSY,      /* locked beyond the timeout */
    BG_STORE_CORRUPT,   /* not a database, or a damaged one */
    BG_STORE_READONLY,  /* cannot write (permissions, read-only open) */
    BG_STORE_IO,        /* cannot open or create the file */
    BG_STORE_SCHEMA,    /* written by a newer version */
    BG_STORE_INVALID,   /* bad argument (empty domain, malformed address) */
    BG_STORE_NOMEM,
    BG_STORE_ERROR,     /* anything else SQLite reports */
    BG_STORE_UNREACHABLE /* a fleet's central store (PostgreSQL) cannot be reached now */
} bg_store_status;

const char *bg_store_status_text(bg_store_status st);

/* Where a row, an event or a change came from. */
typedef enum {
    BG_SRC_TRANSPORT = 0, /* the transport's event_action */
    BG_SRC_BOUNCE,        /* a bounce this Exim generated (local_scan) */
    BG_SRC_INBOUND,       /* a bounce from another server, with proof */
    BG_SRC_ADMIN,         /* bounceguide suppress add / remove */
    BG_SRC_COMPLAINT,     /* an ARF feedback report about our mail */
    BG_SRC_IMPORT,        /* bounceguide suppress import */
    BG_SRC_EXPIRE         /* bounceguide suppress expire (changes only, never a row) */
} bg_store_source;

/* "transport", "bounce", "inbound", "admin", "complaint", "import", "expire" */
const char *bg_store_source_name(bg_store_source s);
int bg_store_source_parse(const char *name); /* -1 when unknown */

/* Open flags. */
#define BG_STORE_CREATE 1   /* create directory, file and schema when missing */
#define BG_STORE_RDONLY 2   /* never write (CLI list/show/export as any user) */

/* Open (and create with owner Debian-exim when running as root, directory
 * 0750, file 0640) the database at path; WAL mode; busy waits bounded by
 * timeout_ms (<= 0 takes the default). Migrates an older schema. Returns
 * NULL with *st (when given) and err (when given) set. A path that is a
 * postgresql:// URL or a libpq "key=value" string opens that database
 * instead (libpq loaded on first use; connecting and every wait bounded
 * by timeout_ms; BG_STORE_CREATE creates or migrates the schema; err
 * never shows a password). */
bg_store *bg_store_open(const char *path, int timeout_ms, int flags, bg_store_status *st,
                        char *err, size_t errlen);
void bg_store_close(bg_store *s);

/* The last SQLite error text of the handle ("" when none). */
const char *bg_store_errmsg(const bg_store *s);

/* What the policy says to do with one event (see bg_policy). */
typedef struct bg_store_rule {
    bg_suppress mode;          /* NONE: only the event is kept */
    int soft_threshold;        /* COUNT: suppress at this many events ... */
    long long soft_window;     /* ... within any span of this many seconds
                                * (sliding: at time t the events in
                                * (t - soft_window, t] count) */
    long long expires_after;   /* seconds a suppression lasts, 0 = never expires */
} bg_store_rule;

/* One failure or deferral of one recipient. Strings may be NULL (= ""). */
typedef struct bg_store_event {
    const char *sender_domain; /* domain of the envelope sender */
    const char *recipient;     /* the failed address */
    const char *message_id;    /* the Message-ID header (or Exim id): the dedupe key */
    int deferred;              /* 1 = temporary (4xx, delayed) */
    const char *category;      /* taxonomy id */
    const char *status;        /* enhanced status, "" if none */
    int reply_code;
    const char *diagnostic;    /* bounded and stripped of control characters here */
    const char *sending_ip;    /* $sending_ip_address, "" if unknown */
    bg_store_source source;
    long long now;             /* unix seconds; 0 = time(NULL) */
    const char *note;          /* why it counts (an inbound report's proof), kept
                                * with the change it makes; NULL = "" */
} bg_store_event;

/* What a record did. */
typedef struct bg_store_result {
    int duplicate;             /* the event was seen before: nothing counted */
    int written;               /* a suppression row was inserted or updated */
    int suppressed;            /* the row suppresses now */
    int newly_suppressed;      /* ... and did not before this event */
    int soft_count;            /* the row's soft count after the event */
    char key[BG_ADDR_MAX];     /* the row's recipient (address or domain) */
    long long change_seq;      /* the change it logged (0: none, see bg_store_changes) */
    int journaled;             /* a fleet host: the event waits in the journal for
                                * the sync; the central store decides (the fields
                                * above but key are then 0) */
} bg_store_result;

/* Record one event under rule. Dedupes on (message id, recipient, kind)
 * when message_id is not empty. kind: "soft" for a BG_SUP_COUNT rule
 * (deferred or failed: a message's soft events count once toward the
 * threshold), "fail" for a hard one, and events under a BG_SUP_NONE rule
 * kept apart (fail-info, defer-info) so that they never hide a counting
 * event of the same message. res may be NULL. One transaction. */
bg_store_status bg_store_record(bg_store *s, const bg_store_event *ev, const bg_store_rule *rule,
                                bg_store_result *res);

/* Record a successful delivery: remembers that this message went from
 * sender_domain to recipient, accepted by remote_host (the IP of the host
 * that took it; the proof for inbound reports, bg_store_sent_to), the
 * sending IP, and clears the recipient's soft count (lifting a soft
 * suppression). sending_ip, remote_host may be NULL or "". now 0 =
 * time(NULL). */
bg_store_status bg_store_delivered(bg_store *s, const char *sender_domain, const char *recipient,
                                   const char *message_id, const char *sending_ip,
                                   const char *remote_host, long long now);

/* One suppression row, as stored. */
typedef struct bg_store_row {
    char sender_domain[BG_DOMAIN_MAX];
    char recipient[BG_ADDR_MAX];        /* address, or a bare domain */
    char scope[16];                     /* "address", "domain", "soft" */
    char category[BG_CATEGORY_ID_MAX];
    char status[BG_STATUS_MAX];
    int reply_code;
    char diagnostic[BG_STORE_DIAG_MAX];
    long long first_seen;
    long long last_seen;
    int soft_count;                     /* soft events in the sliding window at last_seen */
    long long soft_window_start;        /* the oldest of them (0 = none) */
    long long suppressed_since;         /* 0 = not suppressed (soft events only) */
    long long expires_at;               /* 0 = never */
    char source[16];
    char last_message_id[BG_MSGID_MAX];
} bg_store_row;

/* 1 when the row refuses mail at time now: suppressed and not expired. */
int bg_store_row_active(const bg_store_row *r, long long now);

/* Is recipient suppressed for mail from sender_domain at time now (0 =
 * time(NULL))? Looks at the address row and the recipient-domain row.
 * BG_STORE_OK with *hit = 1 and out filled (out may be NULL), or *hit = 0.
 * Expired rows never count. */
bg_store_status bg_store_check(bg_store *s, const char *sender_domain, const char *recipient,
                               long long now, int *hit, bg_store_row *out);

/* The row for exactly (sender_domain, recipient-or-domain). */
bg_store_status bg_store_get(bg_store *s, const char *sender_domain, const char *key,
                             bg_store_row *out);

/* Insert or replace a whole row (admin add, import). Fields are
 * validated: domain syntax, address syntax, known category, scope and
 * source. Logs added/updated/lifted with the handle's actor. */
bg_store_status bg_store_put(bg_store *s, const bg_store_row *row);

/* Remove rows for key (address or domain); sender_domain NULL or "" = every
 * sending domain. *removed gets the count. Logs each as removed, with the
 * handle's actor. */
bg_store_status bg_store_remove(bg_store *s, const char *sender_domain, const char *key,
                                int *removed);

/* Rows matching the filters (NULL or "" = any), ordered by sending domain
 * and recipient. active_only: only rows refusing mail at now. fn returns
 * non-zero to stop. */
typedef int (*bg_store_row_fn)(const bg_store_row *row, void *ctx);
bg_store_status bg_store_list(bg_store *s, const char *sender_domain, const char *category,
                              const char *recipient, int active_only, long long now,
                              bg_store_row_fn fn, void *ctx);

/* Delete rows expired before now and soft rows whose window is over and
 * which do not suppress; delete events older than now - event_retention.
 * Logs each expired suppression (not the counting rows, never in force). */
bg_store_status bg_store_expire(bg_store *s, long long now, long long event_retention,
                                int *rows_removed, int *events_removed);

/* Counts for stats. */
typedef struct bg_store_stats {
    long long rows, active, soft_pending, expired;
    long long events, events_sent;
    long long page_count, page_size;
} bg_store_stats;
bg_store_status bg_store_get_stats(bg_store *s, const char *sender_domain, long long now,
                                   bg_store_stats *out);

/* Per (sending domain, category) active counts; fn(domain, category, n, ctx). */
typedef int (*bg_store_count_fn)(const char *sender_domain, const char *category, long long n,
                                 void *ctx);
bg_store_status bg_store_count_by_category(bg_store *s, const char *sender_domain, long long now,
                                           bg_store_count_fn fn, void *ctx);

/* 1 when this server sent (delivered) a message with this Message-ID; with
 * recipient not NULL/"" only when it was delivered to that recipient. */
bg_store_status bg_store_was_sent(bg_store *s, const char *message_id, const char *recipient,
                                  int *found);

/* The proof an inbound report needs: did this server deliver the message
 * message_id from sender_domain to recipient (bg_store_delivered)? *found
 * 1 or 0; remote_host (may be NULL) gets the IP of the host that accepted
 * it, "" when not recorded (older rows). BG_STORE_OK unless the store
 * fails; malformed arguments give *found 0. */
bg_store_status bg_store_sent_to(bg_store *s, const char *sender_domain, const char *message_id,
                                 const char *recipient, int *found, char remote_host[BG_IP_MAX]);

/* The sending IP recorded for (message id, recipient): the recipient's own
 * events first (a failure before a delivery), else the IP noted for the
 * message at smtp:ehlo. For the auth diagnosis. out gets "" and
 * BG_STORE_NOTFOUND when none. */
bg_store_status bg_store_sending_ip(bg_store *s, const char *message_id, const char *recipient,
                                    char out[BG_IP_MAX]);

/* Remember the local IP a message is being sent from, for every recipient
 * of it (the transport's smtp:ehlo event: Exim knows $sending_ip_address
 * in the transport process, not when it raises msg:delivery or
 * msg:fail:delivery). bg_store_sending_ip falls back to it. */
bg_store_status bg_store_note_ip(bg_store *s, const char *message_id, const char *sender_domain,
                                 const char *sending_ip, long long now);

/* Explicit transactions for bulk work (import): everything between begin
 * and commit is one transaction; rollback drops it. */
bg_store_status bg_store_begin(bg_store *s);
bg_store_status bg_store_commit(bg_store *s);
void bg_store_rollback(bg_store *s);

/* ---- the change log (schema 4) ----
 *
 * Every change to what is in force is one bg_change row, written in the
 * transaction of the change itself, under a sequence number (seq) that
 * only grows: 1, 2, 3, ... without gaps or reuse, in commit order, so a
 * reader that saw seq N asks for seq > N and misses nothing. What is
 * logged (docs/suppression.md, "The change log"):
 *
 *   suppressed  a row now refuses mail and did not (Exim's paths: a hard
 *               failure, the soft threshold crossed, a re-suppression)
 *   added       an administrator wrote a row where none was in force
 *               (add, import; active tells whether it refuses)
 *   updated     a row in force stays in force with another category,
 *               scope or end (a new failure renews it; add/import over it)
 *   lifted      a row stops refusing but stays (a delivery clears a soft
 *               suppression; an import writes it not in force)
 *   removed     an administrator deleted a row (suppress remove)
 *   expired     suppress expire deleted a row whose end had passed
 *
 * Not logged: duplicates, events that change no row (info kinds), soft
 * events that leave a row counting (not in force), a delivery that only
 * resets a count, a new reply text alone. Facts are the row's after the
 * change (suppressed, added, updated) or as it was (lifted, removed,
 * expired); active is 1 when the row refuses mail after the change. */
typedef struct bg_store_change {
    long long seq;
    long long at;                        /* unix seconds of the change */
    char op[16];
    char sender_domain[BG_DOMAIN_MAX];
    char recipient[BG_ADDR_MAX];         /* address, or a bare domain */
    char scope[16];
    char category[BG_CATEGORY_ID_MAX];
    char status[BG_STATUS_MAX];
    int reply_code;
    char diagnostic[BG_STORE_DIAG_MAX];  /* the remote reply (bounded) */
    long long suppressed_since;          /* 0 = not suppressed */
    long long expires_at;                /* 0 = never */
    int soft_count;
    int active;                          /* the row refuses mail after the change */
    char source[16];                     /* bg_store_source_name */
    long long actor_uid;                 /* -1: none (Exim's own paths) */
    char actor[BG_STORE_ACTOR_MAX];      /* user name, "" = none */
    char message_id[BG_MSGID_MAX];       /* the message that caused it, "" = none */
    char note[BG_STORE_NOTE_MAX];        /* reason, proof, what changed */
} bg_store_change;

/* Who makes the changes of a handle (the command): the source of admin
 * changes (BG_SRC_ADMIN or BG_SRC_IMPORT; expiry is always
 * BG_SRC_EXPIRE), the caller's uid and name, and the reason given. Kept
 * with every change the handle logs from then on; NULL forgets it. Exim
 * never sets one: its changes carry their source (transport, bounce,
 * inbound, complaint) and no actor. */
typedef struct bg_store_actor {
    bg_store_source source;
    long long uid;          /* -1 = unknown */
    const char *user;       /* NULL = "" */
    const char *reason;     /* NULL = "" */
} bg_store_actor;
void bg_store_set_actor(bg_store *s, const bg_store_actor *a);

/* Where the log stands. seq > last_seq does not exist yet; seq <=
 * pruned_seq was pruned (older than pruned_at) -- a reader whose cursor
 * is below pruned_seq has missed changes and must start again from a
 * snapshot (the rows in force, bg_store_list, then changes > the
 * last_seq read before it). log_id names this log: a database made anew
 * (or restored from an older copy) starts another. */
typedef struct bg_store_change_bounds {
    long long last_seq;
    long long pruned_seq;
    long long pruned_at;
    char log_id[40];
} bg_store_change_bounds;
/* BG_STORE_NOTFOUND (zeros) on a database without a change log (an older
 * schema opened read-only). */
bg_store_status bg_store_change_bounds_get(bg_store *s, bg_store_change_bounds *out);

/* Which changes to read: seq in (after_seq, up_to_seq] (up_to_seq 0 = no
 * bound), at >= since (0 = any), sending domain (NULL/"" = any),
 * recipient (NULL/"" = any; an address also matches the row for its
 * domain, which covers it), at most limit (0 = all), by seq. */
typedef struct bg_store_change_query {
    long long after_seq;
    long long up_to_seq;
    long long since;
    const char *sender_domain;
    const char *recipient;
    long long limit;
} bg_store_change_query;

/* Stream the changes matching q to fn (non-zero stops). BG_STORE_NOTFOUND
 * without a change log (older schema, read-only). */
typedef int (*bg_store_change_fn)(const bg_store_change *c, void *ctx);
bg_store_status bg_store_changes(bg_store *s, const bg_store_change_query *q, bg_store_change_fn fn,
                                 void *ctx);

/* Delete the changes older than now - retention, as a prefix of the log
 * (the lowest seqs; retention <= 0 keeps all), and remember where the
 * log now starts. *removed gets the count. The sequence goes on. */
bg_store_status bg_store_expire_changes(bg_store *s, long long now, long long retention,
                                        int *removed);

/* Helpers shared with the CLI and the adapter. */
/* Normalise a Message-ID: strip blanks and one pair of <>; bounded. */
void bg_store_norm_msgid(const char *in, char out[BG_MSGID_MAX]);
/* Lower-case an address or domain into out; 0, or -1 when malformed
 * (empty, over-long, control characters, no domain, bad domain syntax). */
int bg_store_norm_recipient(const char *in, char out[BG_ADDR_MAX]);
/* 1 when s is a syntactically valid domain name (LDH labels, 1-63 each,
 * at least two labels, at most 253). */
int bg_store_domain_valid(const char *s);
/* Format unix time as "2026-11-20" or "2026-11-20T10:00:00Z". */
void bg_store_fmt_date(long long t, char out[32]);
void bg_store_fmt_time(long long t, char out[32]);
/* Parse ISO 8601 ("2026-11-20", "2026-11-20T10:00:00Z", "... 10:00:00"),
 * RFC 5322 ("Fri, 20 Nov 2026 10:00:00 +0000"/"UTC") or unix seconds.
 * 0 with *out set, or -1. */
int bg_store_parse_time(const char *s, long long *out);

/* (classify, issue 16) The category of the deferral the transport's event
 * hook recorded for (message_id, recipient), and when (the first deferral:
 * rows are written once per message). BG_STORE_NOTFOUND when none. */
bg_store_status bg_store_last_deferral(bg_store *s, const char *message_id, const char *recipient,
                                       char category[BG_CATEGORY_ID_MAX], long long *seen_at);

#endif
