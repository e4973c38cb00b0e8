/* bg_store: the suppression database on SQLite or PostgreSQL (bg_db).
 *
 * Layout: bg_schema (version), bg_suppression (one row per sending domain
 * and recipient), bg_event (one row per message id, recipient and kind:
 * dedupe, sent-message proof, sending IP), bg_soft (the times of the soft
 * events still inside a row's sliding window, one row per key and second
 * with a count), bg_change and bg_change_seq (the change log: every change
 * to what is in force, numbered; bg_store_change.c). Every statement is a constant
 * text prepared once per handle with its parameters bound -- no remote text
 * ever becomes SQL. The same SQL runs on PostgreSQL (bg_db: suppress_db
 * = postgresql://...), the store a fleet's hosts share; SQLite-only
 * pragmas, the file's owner and mode are confined to open().
 *
 * Waits are bounded: a busy handler with short sleeps gives up once the
 * deadline set at the start of each public call has passed.
 * This module decides nothing about policy (bg_policy does) and logs
 * nothing (callers log the returned status once).
 */
#include "bg_store_int.h"
#include "bg_store_fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const bg_status_texts[] = {
    [BG_STORE_OK] = "ok",
    [BG_STORE_DUPLICATE] = "already recorded",
    [BG_STORE_NOTFOUND] = "not found",
    [BG_STORE_BUSY] = "database locked beyond the timeout",
    [BG_STORE_CORRUPT] = "database file is corrupt or not a database",
    [BG_STORE_READONLY] = "database is not writable",
    [BG_STORE_IO] = "cannot open or create the database",
    [BG_STORE_SCHEMA] = "database schema is newer than this program",
    [BG_STORE_INVALID] = "invalid argument",
    [BG_STORE_NOMEM] = "out of memory",
    [BG_STORE_ERROR] = "database error",
    [BG_STORE_UNREACHABLE] = "central store unreachable",
};

/* Text for a status (never NULL). */
const char *bg_store_status_text(bg_store_status st)
{
    if ((unsigned)st < sizeof bg_status_texts / sizeof bg_status_texts[0])
        return bg_status_texts[st];
    return "unknown status";
}

static const char *const bg_source_names[] = {"transport", "bounce",  "inbound", "admin",
                                              "complaint", "import", "expire",  NULL};

/* Name of a source as stored. */
const char *bg_store_source_name(bg_store_source s)
{
    if ((unsigned)s < sizeof bg_source_names / sizeof bg_source_names[0] - 1)
        return bg_source_names[s];
    return "admin";
}

/* Parse a stored source name. */
int bg_store_source_parse(const char *name)
{
    for (int i = 0; name && bg_source_names[i]; i++)
        if (strcmp(name, bg_source_names[i]) == 0)
            return i;
    return -1;
}

/* Map an SQLite result code to our status. */
bg_store_status bg_store_map(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return BG_STORE_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return BG_STORE_BUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return BG_STORE_CORRUPT;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return BG_STORE_READONLY;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
        return BG_STORE_IO;
    case SQLITE_NOMEM:
        return BG_STORE_NOMEM;
    default:
        return BG_STORE_ERROR;
    }
}

/* Monotonic microseconds, for the busy deadline. */
static long long bg_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Start the time budget of one public call. */
void bg_store_arm(bg_store *s)
{
    s->deadline_us = bg_mono_us() + (long long)s->timeout_ms * 1000LL;
}

/* SQLite's busy callback: short, jittered sleeps (many writers contend for
 * microseconds each, so millisecond back-off would waste most of the time)
 * until the call's deadline. Returns 0 to give up. */
static int bg_store_busy(void *ctx, int n)
{
    bg_store *s = ctx;
    long long now = bg_mono_us();
    long long left = s->deadline_us - now;
    if (left <= 0)
        return 0;
    long long us = n < 20 ? 50 + (n * 37 + (long long)(now & 63)) % 150
                          : (n < 200 ? 300 + (now & 255) : 1000 + (now & 511));
    if (us > left)
        us = left;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

/* SQLite answers some lock conflicts with SQLITE_BUSY at once, without the
 * busy handler (a journal-mode change or recovery by another process, the
 * deadlock rule of rollback mode). 1 (after a short sleep) when rc is such
 * a BUSY and the call's deadline has not passed: the caller tries again. */
int bg_store_again(bg_store *s, int rc)
{
    if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
        return 0;
    long long left = s->deadline_us - bg_mono_us();
    if (left <= 0)
        return 0;
    long long us = left < 1000 ? left : 1000;
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

/* Copy a string bounded, replacing control characters by spaces and never
 * cutting a UTF-8 sequence in two. NULL copies "". */
void bg_store_clean(char *out, size_t outsz, const char *in)
{
    size_t o = 0;
    if (in) {
        for (size_t i = 0; in[i] && o + 1 < outsz;) {
            unsigned char c = (unsigned char)in[i];
            size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
            if (o + n >= outsz)
                break;
            if (n == 1) {
                out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
                i++;
                continue;
            }
            size_t k = 1;
            while (k < n && ((unsigned char)in[i + k] & 0xc0) == 0x80)
                k++;
            if (k < n) { /* truncated sequence: drop the lead byte */
                i++;
                continue;
            }
            memcpy(out + o, in + i, n);
            o += n;
            i += n;
        }
    }
    out[o] = '\0';
}

/* A prepared statement, reset and unbound, ready for binding. */
bg_db_stmt *bg_store_stmt(bg_store *s, int id, int *rc)
{
    if (!s->st[id]) {
        s->st[id] = bg_db_prepare(s->db, bg_store_sql[id], 1, rc);
        if (!s->st[id])
            return NULL;
        bg_db_set_deferrable(s->st[id], bg_store_sql_defer[id]);
    }
    bg_db_reset(s->st[id]);
    bg_db_clear_bindings(s->st[id]);
    *rc = SQLITE_OK;
    return s->st[id];
}

void bg_store_bind(bg_db_stmt *q, int i, const char *v)
{
    bg_db_bind_text(q, i, v);
}

void bg_store_bind_int(bg_db_stmt *q, int i, long long v)
{
    bg_db_bind_int64(q, i, v);
}

/* Run a statement that returns no rows; returns the SQLite code. */
int bg_store_step(bg_db_stmt *q)
{
    int rc = bg_db_step(q);
    bg_db_reset(q);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

bg_db_stmt *bg_store_aux(bg_store *s, int id, const char *sql, int *rc)
{
    if (!s->aux[id]) {
        s->aux[id] = bg_db_prepare(s->db, sql, 1, rc);
        if (!s->aux[id])
            return NULL;
    }
    bg_db_reset(s->aux[id]);
    bg_db_clear_bindings(s->aux[id]);
    *rc = SQLITE_OK;
    return s->aux[id];
}

int bg_store_begin_schema(bg_store *s)
{
    int rc;
    bg_db_stmt *q = bg_db_prepare(s->db, "BEGIN EXCLUSIVE", 0, &rc);
    if (!q)
        return rc;
    rc = bg_db_step(q);
    bg_db_finalize(q);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Run one of the fixed transaction statements. */
int bg_store_tx(bg_store *s, int id)
{
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, id, &rc);
    if (!q)
        return rc;
    return bg_store_step(q);
}

/* Prepare the statements a write will use before it takes the write lock.
 * In a fresh process (every Exim delivery) a prepare parses SQL and reads
 * the schema from cold pages, milliseconds on a loaded machine; done inside
 * BEGIN IMMEDIATE, that time held every other writer off. Best effort: a
 * statement that fails here is prepared (and its error reported) in the
 * transaction as before. */
void bg_store_prepare(bg_store *s, const int *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        (void)bg_store_stmt(s, ids[i], &rc);
    }
}

/* ---- open, create, migrate ---- */

/* Give a file or directory created by root to the Exim user. */
static void bg_store_give(int fd, const char *path)
{
    if (geteuid() != 0)
        return;
    struct passwd *pw = getpwnam(BG_STORE_OWNER);
    if (!pw)
        return;
    if (fd >= 0) {
        if (fchown(fd, pw->pw_uid, pw->pw_gid) != 0) { /* best effort */
        }
    } else if (chown(path, pw->pw_uid, pw->pw_gid) != 0) {
    }
}

/* Create the directory (0750) and an empty file (0640) when missing.
 * 0, or -1 with errno. */
static int bg_store_create_file(const char *path)
{
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        struct stat st;
        if (stat(dir, &st) != 0) {
            if (errno != ENOENT || mkdir(dir, 0750) != 0) {
                if (errno != EEXIST)
                    return -1;
            } else {
                if (chmod(dir, 0750) != 0) { /* umask may have narrowed it: best effort */
                }
                bg_store_give(-1, dir);
            }
        }
    }
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    if (fchmod(fd, 0640) != 0) { /* Exim runs with umask 0: set it explicitly */
    }
    bg_store_give(fd, path);
    close(fd);
    return 0;
}

/* The schema version (0 when the file is new). -1 on error (rc set).
 * One statement on SQLite: this runs in every process that opens the
 * store. PostgreSQL fails a whole transaction on a missing table, so
 * there the table is looked up first. */
static int bg_store_version(bg_store *s, int *rc)
{
    bg_db_stmt *q;
    if (s->pg) {
        q = bg_db_prepare(s->db, "SELECT CASE WHEN to_regclass('bg_schema') IS NULL THEN 0 ELSE 1 END", 0, rc);
        if (!q)
            return -1;
        int r = bg_db_step(q);
        long long there = r == SQLITE_ROW ? bg_db_column_int64(q, 0) : -1;
        bg_db_finalize(q);
        if (there <= 0) {
            *rc = there < 0 ? r : SQLITE_OK;
            return there < 0 ? -1 : 0;
        }
    }
    q = bg_db_prepare(s->db, "SELECT MAX(version) FROM bg_schema", 0, rc);
    if (!q) {
        /* a new (empty) file has no bg_schema table: version 0. Anything
         * else -- not a database, locked, unreadable -- is an error. */
        const char *m = bg_db_errmsg(s->db);
        if (*rc == SQLITE_ERROR && strstr(m, "no such table")) {
            *rc = SQLITE_OK;
            return 0;
        }
        return -1;
    }
    int v = -1;
    int r = bg_db_step(q);
    if (r == SQLITE_ROW)
        v = (int)bg_db_column_int64(q, 0);
    else
        *rc = r;
    bg_db_finalize(q);
    return v;
}

/* A new change log's identity: 32 hex digits (random; time and pid if the
 * kernel has no randomness to give). */
static void bg_store_new_log_id(char out[40])
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long a = (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
        unsigned long long b = (unsigned long long)getpid() * 0x9e3779b97f4a7c15ULL ^ a;
        memcpy(r, &a, 8);
        memcpy(r + 8, &b, 8);
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* Run one statement with (text, integer) parameters; an SQLite code. */
static int bg_store_run(bg_store *s, const char *sql, const char *text, long long num)
{
    int rc;
    bg_db_stmt *q = bg_db_prepare(s->db, sql, 0, &rc);
    if (!q)
        return rc;
    if (text)
        bg_db_bind_text(q, 1, text);
    else
        bg_db_bind_int64(q, 1, num);
    if (bg_db_param_count(q) >= 2)
        bg_db_bind_int64(q, 2, (long long)time(NULL));
    rc = bg_db_step(q);
    bg_db_finalize(q);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Bring the schema to BG_STORE_SCHEMA_VERSION in one transaction (on
 * PostgreSQL too: its DDL is transactional; BEGIN IMMEDIATE takes the
 * writer lock there, so two hosts creating the tables take turns). */
static int bg_store_migrate(bg_store *s)
{
    int rc;
    if (!s->pg && (rc = bg_db_exec(s->db, "PRAGMA journal_mode=WAL")) != SQLITE_OK)
        return rc;
    rc = bg_store_begin_schema(s);
    if (rc != SQLITE_OK)
        return rc;
    int v = bg_store_version(s, &rc); /* again, under the lock: another process may have won */
    if (v < 0)
        goto fail;
    /* every step due runs; bg_schema gets one row per migration run (a new
     * file: one row with the current version) */
    int reached = v;
    for (int i = 0; bg_store_migrations[i].sql; i++) {
        const bg_store_migration *m = &bg_store_migrations[i];
        if (m->version <= v)
            continue;
        rc = bg_db_exec(s->db, s->pg && m->pg ? m->pg : m->sql);
        if (rc != SQLITE_OK)
            goto fail;
        reached = m->version;
    }
    if (v < 4 && reached >= 4) { /* the change log starts: give it its name */
        char id[40];
        bg_store_new_log_id(id);
        rc = bg_store_run(s, "UPDATE bg_change_seq SET log_id = ?1 WHERE id = 1", id, 0);
        if (rc != SQLITE_OK)
            goto fail;
    }
    if (reached > v) {
        rc = bg_store_run(s, "INSERT INTO bg_schema (version, applied_at) VALUES (?1, ?2)", NULL, reached);
        if (rc != SQLITE_OK)
            goto fail;
    }
    rc = bg_store_tx(s, ST_COMMIT);
    if (rc == SQLITE_OK)
        return SQLITE_OK;
fail:
    bg_store_tx(s, ST_ROLLBACK);
    return rc == SQLITE_OK ? SQLITE_ERROR : rc;
}

static void bg_store_fail(bg_store_status *st, char *err, size_t errlen, bg_store_status code,
                          const char *path, const char *detail)
{
    if (st)
        *st = code;
    if (err && errlen)
        snprintf(err, errlen, "%s: %s%s%s", path, bg_store_status_text(code), detail ? ": " : "",
                 detail ? detail : "");
}

/* The schema: refuse a newer one, read an older one read-only, migrate
 * it otherwise (both backends). 0, or -1 after bg_store_fail. */
static int bg_store_schema(bg_store *s, const char *name, bg_store_status *st, char *err, size_t errlen)
{
    int v, rc;
    while ((v = bg_store_version(s, &rc)) < 0 && bg_store_again(s, rc)) {
    }
    if (v < 0) {
        bg_store_fail(st, err, errlen, bg_store_map(rc), name, bg_db_errmsg(s->db));
        return -1;
    }
    if (v > BG_STORE_SCHEMA_VERSION) {
        bg_store_fail(st, err, errlen, BG_STORE_SCHEMA, name, NULL);
        return -1;
    }
    /* a handle that cannot write reads an older schema as it is: every
     * read statement works on schema 1 (bg_soft is only written; the
     * inbound proof reads remote_host only from schema 3 on), so the RCPT
     * check, list and show go on until a writer has migrated */
    s->schema = v;
    if (v < BG_STORE_SCHEMA_VERSION && !(s->rdonly && v >= BG_STORE_READ_COMPAT)) {
        if (s->rdonly) {
            bg_store_fail(st, err, errlen, v == 0 ? BG_STORE_NOTFOUND : BG_STORE_READONLY, name,
                          v == 0 ? "no suppression tables yet" : "old schema, open read-write to migrate");
            return -1;
        }
        while ((rc = bg_store_migrate(s)) != SQLITE_OK && bg_store_again(s, rc)) {
        }
        if (rc != SQLITE_OK) {
            bg_store_fail(st, err, errlen, bg_store_map(rc), name, bg_db_errmsg(s->db));
            return -1;
        }
        s->schema = BG_STORE_SCHEMA_VERSION;
    }
    return 0;
}

/* A central store on PostgreSQL: connect within the timeout, create or
 * migrate the schema (BG_STORE_CREATE without RDONLY). Nothing of the
 * file's owner or mode applies; who may write is PostgreSQL's grants. */
static bg_store *bg_store_open_pg(const char *conninfo, int timeout_ms, int flags, bg_store_status *st,
                                  char *err, size_t errlen)
{
    char name[512];
    bg_store_redact(conninfo, name, sizeof name);
    bg_store *s = calloc(1, sizeof *s);
    if (!s) {
        bg_store_fail(st, err, errlen, BG_STORE_NOMEM, name, NULL);
        return NULL;
    }
    s->pg = 1;
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : BG_STORE_DEFAULT_TIMEOUT_MS;
    s->rdonly = (flags & BG_STORE_RDONLY) != 0;
    bg_store_arm(s);
    char why[512] = "";
    int rc = bg_db_open_pg(conninfo, &s->deadline_us, &s->db, why, sizeof why);
    if (rc != SQLITE_OK) {
        bg_store_fail(st, err, errlen, rc == SQLITE_BUSY ? BG_STORE_BUSY : BG_STORE_IO, name, why);
        free(s);
        return NULL;
    }
    if (bg_store_schema(s, name, st, err, errlen) < 0) {
        bg_store_close(s);
        return NULL;
    }
    if (st)
        *st = BG_STORE_OK;
    if (err && errlen)
        err[0] = '\0';
    return s;
}

bg_store *bg_store_open(const char *path, int timeout_ms, int flags, bg_store_status *st,
                        char *err, size_t errlen)
{
    if (!path || !*path)
        path = BG_STORE_DEFAULT_PATH;
    if (bg_db_is_pg(path))
        return bg_store_open_pg(path, timeout_ms, flags, st, err, errlen);
    int rdonly = (flags & BG_STORE_RDONLY) != 0;
    if ((flags & BG_STORE_CREATE) && !rdonly && bg_store_create_file(path) != 0) {
        bg_store_fail(st, err, errlen, errno == EACCES || errno == EROFS ? BG_STORE_READONLY : BG_STORE_IO,
                      path, strerror(errno));
        return NULL;
    }
    bg_store *s = calloc(1, sizeof *s);
    if (!s) {
        bg_store_fail(st, err, errlen, BG_STORE_NOMEM, path, NULL);
        return NULL;
    }
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : BG_STORE_DEFAULT_TIMEOUT_MS;
    s->rdonly = rdonly;
    bg_store_arm(s);
    int oflags = (rdonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(path, &h, oflags, NULL);
    if (rc != SQLITE_OK) {
        bg_store_fail(st, err, errlen, rc == SQLITE_CANTOPEN ? BG_STORE_IO : bg_store_map(rc), path,
                      h ? sqlite3_errmsg(h) : NULL);
        sqlite3_close(h);
        free(s);
        return NULL;
    }
    s->db = bg_db_from_sqlite(h);
    if (!s->db) {
        sqlite3_close(h);
        free(s);
        bg_store_fail(st, err, errlen, BG_STORE_NOMEM, path, NULL);
        return NULL;
    }
    sqlite3_extended_result_codes(h, 0);
    sqlite3_busy_handler(h, bg_store_busy, s);
    if (!rdonly && sqlite3_db_readonly(h, "main") == 1)
        s->rdonly = 1; /* the file is not writable for us: reads still work */
    if (bg_store_schema(s, path, st, err, errlen) < 0) {
        bg_store_close(s);
        return NULL;
    }
    /* WAL without an fsync per commit: a power cut may lose the last events,
     * never the database. */
    sqlite3_exec(h, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    /* Exim's processes live for one message and never close the store, and
     * SQLite's own checkpoint-on-commit does not happen in them, so the WAL
     * would only grow -- and every open replays all of it (SQLite's
     * recovery: ~5 ms per bounce at 4 MB). A writer that finds it over
     * 256 KB folds it into the database. PASSIVE: it copies what no reader
     * still needs and never waits -- a TRUNCATE checkpoint holds the writer
     * lock while it waits for readers to leave the WAL, and with RCPT checks
     * reading all the time it held every writer up for the whole timeout.
     * Once all of it is in, the next commit starts the WAL over, and
     * journal_size_limit cuts the file back to 256 KB then. */
    if (!s->rdonly) {
        char wal[4200];
        struct stat ws;
        sqlite3_exec(h, "PRAGMA journal_size_limit=262144", NULL, NULL, NULL);
        snprintf(wal, sizeof wal, "%s-wal", path);
        if (stat(wal, &ws) == 0 && ws.st_size > 256 * 1024)
            sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    }
    if (st)
        *st = BG_STORE_OK;
    if (err && errlen)
        err[0] = '\0';
    return s;
}

void bg_store_close(bg_store *s)
{
    if (!s)
        return;
    if (s->fleet)
        bg_store_fleet_free(s->fleet);
    for (int i = 0; i < ST_N; i++)
        bg_db_finalize(s->st[i]);
    for (int i = 0; i < BG_STORE_AUX_N; i++)
        bg_db_finalize(s->aux[i]);
    bg_db_close(s->db);
    free(s);
}

const char *bg_store_errmsg(const bg_store *s)
{
    if (s && s->fleet)
        return bg_store_fleet_errmsg(s->fleet);
    return s && s->db ? bg_db_errmsg(s->db) : "";
}

/* Start a write transaction unless the caller holds one. */
int bg_store_tx_begin(bg_store *s)
{
    if (s->in_tx)
        return SQLITE_OK;
    int rc;
    while ((rc = bg_store_tx(s, ST_BEGIN)) != SQLITE_OK && bg_store_again(s, rc)) {
    }
    return rc;
}

/* Commit (rc OK) or roll back what bg_store_tx_begin started. */
int bg_store_tx_end(bg_store *s, int rc)
{
    if (s->in_tx)
        return rc;
    if (rc == SQLITE_OK) {
        rc = bg_store_tx(s, ST_COMMIT);
        if (rc == SQLITE_OK)
            return rc;
    }
    bg_store_tx(s, ST_ROLLBACK);
    return rc;
}

long long bg_store_now(long long now)
{
    return now > 0 ? now : (long long)time(NULL);
}

bg_store_status bg_store_begin(bg_store *s)
{
    if (!s || s->in_tx)
        return BG_STORE_INVALID;
    if (s->fleet) { /* a fleet view: one transaction of its journal (an event and its count) */
        bg_store_status st;
        bg_store *j = bg_store_fleet_journal(s, &st);
        if (j)
            st = bg_store_begin(j);
        s->in_tx = st == BG_STORE_OK;
        return st;
    }
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_arm(s);
    int rc = bg_store_tx(s, ST_BEGIN);
    if (rc == SQLITE_OK)
        s->in_tx = 1;
    return bg_store_map(rc);
}

int bg_store_pipeline(bg_store *s, int on)
{
    return bg_db_pipeline(s->db, on);
}

bg_store_status bg_store_commit(bg_store *s)
{
    if (!s || !s->in_tx)
        return BG_STORE_INVALID;
    if (s->fleet) {
        s->in_tx = 0;
        bg_store_status st;
        bg_store *j = bg_store_fleet_journal(s, &st);
        return j ? bg_store_commit(j) : st;
    }
    bg_store_arm(s);
    int rc = bg_db_pipeline(s->db, 0); /* what was sent without waiting must have worked */
    if (rc != SQLITE_OK) {
        bg_store_tx(s, ST_ROLLBACK);
        s->in_tx = 0;
        return bg_store_map(rc);
    }
    rc = bg_store_tx(s, ST_COMMIT);
    if (rc != SQLITE_OK) {
        bg_store_tx(s, ST_ROLLBACK);
    }
    s->in_tx = 0;
    return bg_store_map(rc);
}

void bg_store_rollback(bg_store *s)
{
    if (!s || !s->in_tx)
        return;
    if (s->fleet) {
        s->in_tx = 0;
        bg_store_status st;
        bg_store *j = bg_store_fleet_journal(s, &st);
        if (j)
            bg_store_rollback(j);
        return;
    }
    bg_db_pipeline(s->db, 0);
    bg_store_tx(s, ST_ROLLBACK);
    s->in_tx = 0;
}
