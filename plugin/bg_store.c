/* bg_store: the suppression database on SQLite.
 *
 * Layout: bg_schema (version), bg_suppression (one row per sending domain
 * and recipient), bg_event (one row per message id, recipient and kind:
 * dedupe, sent-message proof, sending IP), bg_soft (the times of the soft
 * events still inside a row's sliding window, one row per key and second
 * with a count), bg_change and bg_change_seq (the change log: every change
 * to what is in force, numbered; bg_store_change.c). Every statement is a constant
 * text prepared once per handle with its parameters bound -- no remote text
 * ever becomes SQL. The SQL is plain so that it also runs on PostgreSQL
 * (docs/suppression.md); SQLite-only pragmas are confined to open().
 *
 * Waits are bounded: a busy handler with short sleeps gives up once the
 * deadline set at the start of each public call has passed.
 * This module decides nothing about policy (bg_policy does) and logs
 * nothing (callers log the returned status once).
 */
#include "bg_store_int.h"

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
sqlite3_stmt *bg_store_stmt(bg_store *s, int id, int *rc)
{
    if (!s->st[id]) {
        *rc = sqlite3_prepare_v2(s->db, bg_store_sql[id], -1, &s->st[id], NULL);
        if (*rc != SQLITE_OK) {
            s->st[id] = NULL;
            return NULL;
        }
    }
    sqlite3_reset(s->st[id]);
    sqlite3_clear_bindings(s->st[id]);
    *rc = SQLITE_OK;
    return s->st[id];
}

void bg_store_bind(sqlite3_stmt *q, int i, const char *v)
{
    sqlite3_bind_text(q, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* Run a statement that returns no rows; returns the SQLite code. */
int bg_store_step(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Run one of the fixed transaction statements. */
int bg_store_tx(bg_store *s, int id)
{
    int rc;
    sqlite3_stmt *q = bg_store_stmt(s, id, &rc);
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
 * One statement: this runs in every process that opens the store. */
static int bg_store_version(bg_store *s, int *rc)
{
    sqlite3_stmt *q = NULL;
    *rc = sqlite3_prepare_v2(s->db, "SELECT MAX(version) FROM bg_schema", -1, &q, NULL);
    if (*rc != SQLITE_OK) {
        /* a new (empty) file has no bg_schema table: version 0. Anything
         * else -- not a database, locked, unreadable -- is an error. */
        const char *m = sqlite3_errmsg(s->db);
        if (*rc == SQLITE_ERROR && strstr(m, "no such table")) {
            *rc = SQLITE_OK;
            return 0;
        }
        return -1;
    }
    int v = -1;
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    else
        *rc = r;
    sqlite3_finalize(q);
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

/* Bring the schema to BG_STORE_SCHEMA_VERSION in one transaction. */
static int bg_store_migrate(bg_store *s)
{
    int rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    int v = bg_store_version(s, &rc); /* again, under the lock: another process may have won */
    if (v < 0)
        goto fail;
    /* every step due runs; bg_schema gets one row per migration run (a new
     * file: one row with the current version) */
    int reached = v;
    for (int i = 0; bg_store_migrations[i].sql; i++) {
        if (bg_store_migrations[i].version <= v)
            continue;
        rc = sqlite3_exec(s->db, bg_store_migrations[i].sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            goto fail;
        reached = bg_store_migrations[i].version;
    }
    if (v < 4 && reached >= 4) { /* the change log starts: give it its name */
        char id[40];
        bg_store_new_log_id(id);
        sqlite3_stmt *q = NULL;
        rc = sqlite3_prepare_v2(s->db, "UPDATE bg_change_seq SET log_id = ?1 WHERE id = 1", -1, &q, NULL);
        if (rc != SQLITE_OK)
            goto fail;
        sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(q);
        sqlite3_finalize(q);
        if (rc != SQLITE_DONE)
            goto fail;
        rc = SQLITE_OK;
    }
    if (reached > v) {
        sqlite3_stmt *q = NULL;
        rc = sqlite3_prepare_v2(s->db, "INSERT INTO bg_schema (version, applied_at) VALUES (?1, ?2)",
                                -1, &q, NULL);
        if (rc != SQLITE_OK)
            goto fail;
        sqlite3_bind_int(q, 1, reached);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)time(NULL));
        rc = sqlite3_step(q);
        sqlite3_finalize(q);
        if (rc != SQLITE_DONE)
            goto fail;
    }
    rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return SQLITE_OK;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
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

bg_store *bg_store_open(const char *path, int timeout_ms, int flags, bg_store_status *st,
                        char *err, size_t errlen)
{
    if (!path || !*path)
        path = BG_STORE_DEFAULT_PATH;
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
    int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
    if (rc != SQLITE_OK) {
        bg_store_fail(st, err, errlen, rc == SQLITE_CANTOPEN ? BG_STORE_IO : bg_store_map(rc), path,
                      s->db ? sqlite3_errmsg(s->db) : NULL);
        bg_store_close(s);
        return NULL;
    }
    sqlite3_extended_result_codes(s->db, 0);
    sqlite3_busy_handler(s->db, bg_store_busy, s);
    if (!rdonly && sqlite3_db_readonly(s->db, "main") == 1)
        s->rdonly = 1; /* the file is not writable for us: reads still work */
    int v;
    while ((v = bg_store_version(s, &rc)) < 0 && bg_store_again(s, rc)) {
    }
    if (v < 0) {
        bg_store_fail(st, err, errlen, bg_store_map(rc), path, sqlite3_errmsg(s->db));
        bg_store_close(s);
        return NULL;
    }
    if (v > BG_STORE_SCHEMA_VERSION) {
        bg_store_fail(st, err, errlen, BG_STORE_SCHEMA, path, NULL);
        bg_store_close(s);
        return NULL;
    }
    /* a handle that cannot write reads an older schema as it is: every
     * read statement works on schema 1 (bg_soft is only written; the
     * inbound proof reads remote_host only from schema 3 on), so the RCPT
     * check, list and show go on until a writer has migrated */
    s->schema = v;
    if (v < BG_STORE_SCHEMA_VERSION && !(s->rdonly && v >= BG_STORE_READ_COMPAT)) {
        if (s->rdonly) {
            bg_store_fail(st, err, errlen, v == 0 ? BG_STORE_NOTFOUND : BG_STORE_READONLY, path,
                          v == 0 ? "no suppression tables yet" : "old schema, open read-write to migrate");
            bg_store_close(s);
            return NULL;
        }
        while ((rc = bg_store_migrate(s)) != SQLITE_OK && bg_store_again(s, rc)) {
        }
        if (rc != SQLITE_OK) {
            bg_store_fail(st, err, errlen, bg_store_map(rc), path, sqlite3_errmsg(s->db));
            bg_store_close(s);
            return NULL;
        }
        s->schema = BG_STORE_SCHEMA_VERSION;
    }
    /* WAL without an fsync per commit: a power cut may lose the last events,
     * never the database. */
    sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
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
        sqlite3_exec(s->db, "PRAGMA journal_size_limit=262144", NULL, NULL, NULL);
        snprintf(wal, sizeof wal, "%s-wal", path);
        if (stat(wal, &ws) == 0 && ws.st_size > 256 * 1024)
            sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
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
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

const char *bg_store_errmsg(const bg_store *s)
{
    return s && s->db ? sqlite3_errmsg(s->db) : "";
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
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_arm(s);
    int rc = bg_store_tx(s, ST_BEGIN);
    if (rc == SQLITE_OK)
        s->in_tx = 1;
    return bg_store_map(rc);
}

bg_store_status bg_store_commit(bg_store *s)
{
    if (!s || !s->in_tx)
        return BG_STORE_INVALID;
    bg_store_arm(s);
    int rc = bg_store_tx(s, ST_COMMIT);
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
    bg_store_tx(s, ST_ROLLBACK);
    s->in_tx = 0;
}
