/* bg_store: the suppression database on SQLite.
 *
 * Layout: bg_schema (version), bg_suppression (one row per sending domain
 * and recipient), bg_event (one row per message id, recipient and kind:
 * dedupe, sent-message proof, sending IP), bg_soft (the times of the soft
 * events still inside a row's sliding window, one row per key and second
 * with a count). Every statement is a constant
 * text prepared once per handle with its parameters bound -- no remote text
 * ever becomes SQL. The SQL is plain so that it also runs on PostgreSQL
 * (docs/suppression.md); SQLite-only pragmas are confined to open().
 *
 * Waits are bounded: a busy handler with short sleeps gives up once the
 * deadline set at the start of each public call has passed.
 * This module decides nothing about policy (bg_policy does) and logs
 * nothing (callers log the returned status once).
 */
#include "bg_store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
    ST_SENDING_IP,
    ST_NOTE_IP,
    ST_SOFT_ADD,
    ST_SOFT_SUM,
    ST_SOFT_PRUNE,
    ST_SOFT_DROP,
    ST_SOFT_DROP_ALL,
    ST_EXPIRE_SOFT_ORPHANS,
    ST_N
};

#define BG_ROW_COLS                                                                        \
    "sender_domain, recipient, scope, category, status, reply_code, diagnostic, "          \
    "first_seen, last_seen, soft_count, soft_window_start, suppressed_since, expires_at, " \
    "source, last_message_id"

/* Rows refusing mail at ?now: the one definition of "active". */
#define BG_ACTIVE(now) "suppressed_since > 0 AND (expires_at = 0 OR expires_at > " now ")"

static const char *const bg_store_sql[ST_N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_EVENT_INSERT] =
        "INSERT INTO bg_event (message_id, recipient, kind, sender_domain, category, source, "
        "sending_ip, seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT (message_id, recipient, kind) DO NOTHING",
    [ST_EVENT_SENT] =
        "INSERT INTO bg_event (message_id, recipient, kind, sender_domain, category, source, "
        "sending_ip, seen_at) VALUES (?1, ?2, 'sent', ?3, 'delivered', 'transport', ?4, ?5) "
        "ON CONFLICT (message_id, recipient, kind) DO UPDATE SET seen_at = excluded.seen_at, "
        "sending_ip = excluded.sending_ip",
    [ST_ROW_GET] = "SELECT " BG_ROW_COLS " FROM bg_suppression "
                   "WHERE sender_domain = ?1 AND recipient = ?2",
    [ST_ROW_UPSERT] =
        "INSERT INTO bg_suppression (" BG_ROW_COLS ") "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
        "ON CONFLICT (sender_domain, recipient) DO UPDATE SET scope = excluded.scope, "
        "category = excluded.category, status = excluded.status, "
        "reply_code = excluded.reply_code, diagnostic = excluded.diagnostic, "
        "first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
        "soft_count = excluded.soft_count, soft_window_start = excluded.soft_window_start, "
        "suppressed_since = excluded.suppressed_since, expires_at = excluded.expires_at, "
        "source = excluded.source, last_message_id = excluded.last_message_id",
    [ST_CHECK] = "SELECT " BG_ROW_COLS " FROM bg_suppression "
                 "WHERE sender_domain = ?1 AND recipient IN (?2, ?3) AND " BG_ACTIVE("?4")
                 " ORDER BY suppressed_since LIMIT 1",
    [ST_SOFT_CLEAR] = "UPDATE bg_suppression SET soft_count = 0, soft_window_start = 0, "
                      "suppressed_since = 0, expires_at = 0, last_seen = ?3 "
                      "WHERE sender_domain = ?1 AND recipient = ?2 AND scope = 'soft' "
                      "AND (soft_count > 0 OR suppressed_since > 0)",
    [ST_REMOVE_ONE] = "DELETE FROM bg_suppression WHERE sender_domain = ?1 AND recipient = ?2",
    [ST_REMOVE_ALL] = "DELETE FROM bg_suppression WHERE recipient = ?1",
    [ST_LIST] = "SELECT " BG_ROW_COLS " FROM bg_suppression "
                "WHERE (?1 = '' OR sender_domain = ?1) AND (?2 = '' OR category = ?2) "
                "AND (?3 = '' OR recipient = ?3) AND (?4 = 0 OR (" BG_ACTIVE("?5") ")) "
                "ORDER BY sender_domain, recipient",
    [ST_EXPIRE_ROWS] = "DELETE FROM bg_suppression WHERE expires_at > 0 AND expires_at <= ?1",
    [ST_EXPIRE_SOFT] = "DELETE FROM bg_suppression WHERE scope = 'soft' "
                       "AND suppressed_since = 0 AND last_seen <= ?1",
    [ST_EXPIRE_EVENTS] = "DELETE FROM bg_event WHERE seen_at <= ?1",
    [ST_STAT_ROWS] = "SELECT COUNT(*) FROM bg_suppression WHERE (?1 = '' OR sender_domain = ?1)",
    [ST_STAT_ACTIVE] = "SELECT COUNT(*) FROM bg_suppression WHERE (?1 = '' OR sender_domain = ?1) "
                       "AND " BG_ACTIVE("?2"),
    [ST_STAT_SOFT] = "SELECT COUNT(*) FROM bg_suppression WHERE (?1 = '' OR sender_domain = ?1) "
                     "AND scope = 'soft' AND suppressed_since = 0",
    [ST_STAT_EXPIRED] = "SELECT COUNT(*) FROM bg_suppression WHERE (?1 = '' OR sender_domain = ?1) "
                        "AND suppressed_since > 0 AND expires_at > 0 AND expires_at <= ?2",
    [ST_STAT_EVENTS] = "SELECT COUNT(*) FROM bg_event WHERE (?1 = '' OR sender_domain = ?1)",
    [ST_STAT_SENT] = "SELECT COUNT(*) FROM bg_event WHERE (?1 = '' OR sender_domain = ?1) "
                     "AND kind = 'sent'",
    [ST_COUNT_CAT] = "SELECT sender_domain, category, COUNT(*) FROM bg_suppression "
                     "WHERE (?1 = '' OR sender_domain = ?1) AND " BG_ACTIVE("?2")
                     " GROUP BY sender_domain, category ORDER BY sender_domain, category",
    [ST_WAS_SENT_ANY] = "SELECT 1 FROM bg_event WHERE message_id = ?1 AND kind = 'sent' LIMIT 1",
    [ST_WAS_SENT_RCPT] = "SELECT 1 FROM bg_event WHERE message_id = ?1 AND recipient = ?2 "
                         "AND kind = 'sent'",
    [ST_SENDING_IP] = "SELECT sending_ip FROM bg_event WHERE message_id = ?1 "
                      "AND recipient IN (?2, '') AND sending_ip <> '' "
                      "ORDER BY CASE WHEN recipient = ?2 THEN 0 ELSE 1 END, "
                      "CASE kind WHEN 'sent' THEN 1 ELSE 0 END, seen_at DESC LIMIT 1",
    [ST_NOTE_IP] =
        "INSERT INTO bg_event (message_id, recipient, kind, sender_domain, category, source, "
        "sending_ip, seen_at) VALUES (?1, '', 'ip', ?2, '', 'transport', ?3, ?4) "
        "ON CONFLICT (message_id, recipient, kind) DO UPDATE SET sending_ip = excluded.sending_ip, "
        "seen_at = excluded.seen_at",
    /* the sliding soft window: bg_soft holds the truth, the row's
     * soft_count and soft_window_start are what it said at the last event */
    [ST_SOFT_ADD] = "INSERT INTO bg_soft (sender_domain, recipient, seen_at, n) VALUES (?1, ?2, ?3, ?4) "
                    "ON CONFLICT (sender_domain, recipient, seen_at) DO UPDATE SET n = bg_soft.n + excluded.n",
    [ST_SOFT_SUM] = "SELECT COALESCE(SUM(CASE WHEN seen_at > ?3 THEN n ELSE 0 END), 0), "
                    "COALESCE(MIN(CASE WHEN seen_at > ?3 THEN seen_at END), 0), "
                    "COALESCE(SUM(CASE WHEN seen_at > ?3 THEN 0 ELSE 1 END), 0) "
                    "FROM bg_soft WHERE sender_domain = ?1 AND recipient = ?2",
    [ST_SOFT_PRUNE] = "DELETE FROM bg_soft WHERE sender_domain = ?1 AND recipient = ?2 AND seen_at <= ?3",
    [ST_SOFT_DROP] = "DELETE FROM bg_soft WHERE sender_domain = ?1 AND recipient = ?2",
    [ST_SOFT_DROP_ALL] = "DELETE FROM bg_soft WHERE recipient = ?1",
    [ST_EXPIRE_SOFT_ORPHANS] = "DELETE FROM bg_soft WHERE NOT EXISTS (SELECT 1 FROM bg_suppression r "
                               "WHERE r.sender_domain = bg_soft.sender_domain "
                               "AND r.recipient = bg_soft.recipient AND r.scope = 'soft')",
};

/* Schema migrations, in order; each step's SQL runs in one transaction and
 * brings the schema to its version. Plain DDL that PostgreSQL also takes
 * (BIGINT is an integer in SQLite) except the storage clause WITHOUT ROWID,
 * which the PostgreSQL DDL drops (docs/suppression.md). The primary keys are
 * the only indexes: every hot statement is a key lookup, and each extra
 * b-tree costs every write (admin scans and expiry may read the table).
 *
 * Version 2 (sliding soft window) adds bg_soft and seeds it from the
 * version-1 rows, which kept only the count, the first event of a fixed
 * window (soft_window_start) and the last one (last_seen): the first and
 * the last event go in at their own times and the ones between at the
 * first's -- a lower bound, so a migrated row never suppresses earlier
 * than its real events would have. */
static const struct {
    int version;
    const char *sql;
} bg_store_migrations[] = {
    {1, "CREATE TABLE IF NOT EXISTS bg_schema (version INTEGER NOT NULL, applied_at BIGINT NOT NULL);"
        "CREATE TABLE bg_suppression ("
        " sender_domain TEXT NOT NULL,"
        " recipient TEXT NOT NULL,"
        " scope TEXT NOT NULL,"
        " category TEXT NOT NULL,"
        " status TEXT NOT NULL DEFAULT '',"
        " reply_code INTEGER NOT NULL DEFAULT 0,"
        " diagnostic TEXT NOT NULL DEFAULT '',"
        " first_seen BIGINT NOT NULL,"
        " last_seen BIGINT NOT NULL,"
        " soft_count INTEGER NOT NULL DEFAULT 0,"
        " soft_window_start BIGINT NOT NULL DEFAULT 0,"
        " suppressed_since BIGINT NOT NULL DEFAULT 0,"
        " expires_at BIGINT NOT NULL DEFAULT 0,"
        " source TEXT NOT NULL,"
        " last_message_id TEXT NOT NULL DEFAULT '',"
        " PRIMARY KEY (sender_domain, recipient)) WITHOUT ROWID;"
        "CREATE TABLE bg_event ("
        " message_id TEXT NOT NULL,"
        " recipient TEXT NOT NULL,"
        " kind TEXT NOT NULL,"
        " sender_domain TEXT NOT NULL,"
        " category TEXT NOT NULL DEFAULT '',"
        " source TEXT NOT NULL,"
        " sending_ip TEXT NOT NULL DEFAULT '',"
        " seen_at BIGINT NOT NULL,"
        " PRIMARY KEY (message_id, recipient, kind)) WITHOUT ROWID;"},
    {2, "CREATE TABLE bg_soft ("
        " sender_domain TEXT NOT NULL,"
        " recipient TEXT NOT NULL,"
        " seen_at BIGINT NOT NULL,"
        " n INTEGER NOT NULL,"
        " PRIMARY KEY (sender_domain, recipient, seen_at)) WITHOUT ROWID;"
        "INSERT INTO bg_soft (sender_domain, recipient, seen_at, n)"
        " SELECT sender_domain, recipient, soft_window_start,"
        " CASE WHEN soft_count >= 2 AND last_seen > soft_window_start THEN soft_count - 1"
        " ELSE soft_count END"
        " FROM bg_suppression WHERE scope = 'soft' AND soft_count > 0 AND soft_window_start > 0;"
        "INSERT INTO bg_soft (sender_domain, recipient, seen_at, n)"
        " SELECT sender_domain, recipient, last_seen, 1"
        " FROM bg_suppression WHERE scope = 'soft' AND soft_count >= 2 AND soft_window_start > 0"
        " AND last_seen > soft_window_start;"},
    {0, NULL},
};

/* The oldest schema a read-only handle reads without migrating. */
#define BG_STORE_READ_COMPAT 1

struct bg_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_N];
    int timeout_ms;
    long long deadline_us; /* monotonic; busy waits stop here */
    int in_tx;             /* inside bg_store_begin .. commit */
    int rdonly;
};

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

static const char *const bg_source_names[] = {"transport", "bounce", "inbound", "admin", NULL};

/* Name of a source as stored. */
const char *bg_store_source_name(bg_store_source s)
{
    if ((unsigned)s < 4)
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
static bg_store_status bg_store_map(int rc)
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
static void bg_store_arm(bg_store *s)
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
static int bg_store_again(bg_store *s, int rc)
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
static void bg_copy_clean(char *out, size_t outsz, const char *in)
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
static sqlite3_stmt *bg_stmt(bg_store *s, int id, int *rc)
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

static void bg_bind_text(sqlite3_stmt *q, int i, const char *v)
{
    sqlite3_bind_text(q, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* Run a statement that returns no rows; returns the SQLite code. */
static int bg_step_done(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Run one of the fixed transaction statements. */
static int bg_tx(bg_store *s, int id)
{
    int rc;
    sqlite3_stmt *q = bg_stmt(s, id, &rc);
    if (!q)
        return rc;
    return bg_step_done(q);
}

/* Prepare the statements a write will use before it takes the write lock.
 * In a fresh process (every Exim delivery) a prepare parses SQL and reads
 * the schema from cold pages, milliseconds on a loaded machine; done inside
 * BEGIN IMMEDIATE, that time held every other writer off. Best effort: a
 * statement that fails here is prepared (and its error reported) in the
 * transaction as before. */
static void bg_store_prepare(bg_store *s, const int *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        (void)bg_stmt(s, ids[i], &rc);
    }
}

/* ---- helpers shared with the CLI and the adapter ---- */

void bg_store_norm_msgid(const char *in, char out[BG_MSGID_MAX])
{
    size_t o = 0;
    if (in) {
        while (*in == ' ' || *in == '\t')
            in++;
        if (*in == '<')
            in++;
        for (; *in && o + 1 < BG_MSGID_MAX; in++) {
            unsigned char c = (unsigned char)*in;
            if (c <= 0x20 || c == 0x7f)
                continue;
            out[o++] = (char)c;
        }
        if (o > 0 && out[o - 1] == '>')
            o--;
    }
    out[o] = '\0';
}

int bg_store_domain_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > 253)
        return 0;
    int labels = 0;
    const char *p = s;
    while (*p) {
        const char *e = p;
        while (*e && *e != '.')
            e++;
        size_t l = (size_t)(e - p);
        if (l == 0 || l > 63 || p[0] == '-' || e[-1] == '-')
            return 0;
        for (const char *q = p; q < e; q++)
            if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
                return 0;
        labels++;
        if (!*e)
            break;
        p = e + 1;
        if (!*p) /* trailing dot */
            return 0;
    }
    return labels >= 2;
}

int bg_store_norm_recipient(const char *in, char out[BG_ADDR_MAX])
{
    out[0] = '\0';
    if (!in)
        return -1;
    while (*in == ' ' || *in == '\t')
        in++;
    size_t len = strlen(in);
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
        len--;
    if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
        in++;
        len -= 2;
    }
    if (len == 0 || len >= BG_ADDR_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c == 0x7f)
            return -1;
        out[i] = (char)tolower(c);
    }
    out[len] = '\0';
    char *at = strrchr(out, '@');
    const char *domain = at ? at + 1 : out;
    if (at && (at == out || at - out > 64 ||
               (out[0] != '"' && memchr(out, '@', (size_t)(at - out)) != NULL))) {
        out[0] = '\0'; /* empty or over-long local part, or a bare '@' inside it */
        return -1;
    }
    if (!bg_store_domain_valid(domain)) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

void bg_store_fmt_date(long long t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%d", &tm) == 0)
        snprintf(out, 32, "%lld", t);
}

void bg_store_fmt_time(long long t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", t);
}

/* Parse what follows a time: "", "Z", "UTC", "GMT", "+hh:mm", "+hhmm"
 * (blanks allowed). Offset in seconds east of UTC into *off; 0 or -1. */
static int bg_parse_zone(const char *p, long long *off)
{
    *off = 0;
    while (*p == ' ')
        p++;
    if (*p == '.') { /* fraction of a second */
        p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    while (*p == ' ')
        p++;
    if (!*p)
        return 0;
    if ((p[0] == 'Z' || p[0] == 'z') && !p[1])
        return 0;
    if (strcasecmp(p, "UTC") == 0 || strcasecmp(p, "GMT") == 0 || strcasecmp(p, "UT") == 0)
        return 0;
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p == '-' ? -1 : 1;
    p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    int hh = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    if (*p == ':')
        p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    int mm = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    while (*p == ' ')
        p++;
    if (*p == '(') /* RFC 5322 comment such as "(UTC)" */
        p += strlen(p);
    if (*p || hh > 23 || mm > 59)
        return -1;
    *off = sign * (hh * 3600LL + mm * 60LL);
    return 0;
}

int bg_store_parse_time(const char *s, long long *out)
{
    if (!s)
        return -1;
    while (*s == ' ')
        s++;
    if (!*s)
        return -1;
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    if (!*p && p - s <= 12) {
        *out = strtoll(s, NULL, 10);
        return 0;
    }
    static const char *const formats[] = {
        "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%a, %d %b %Y %H:%M:%S",
        "%d %b %Y %H:%M:%S", "%Y-%m-%d", NULL,
    };
    for (int i = 0; formats[i]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *rest = strptime(s, formats[i], &tm);
        if (!rest)
            continue;
        long long off;
        if (bg_parse_zone(rest, &off) < 0)
            continue;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
            continue;
        *out = (long long)t - off;
        return 0;
    }
    return -1;
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
     * read statement works on schema 1 (bg_soft is only written), so the
     * RCPT check, list and show go on until a writer has migrated */
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

/* ---- rows ---- */

int bg_store_row_active(const bg_store_row *r, long long now)
{
    return r->suppressed_since > 0 && (r->expires_at == 0 || r->expires_at > now);
}

static void bg_col_text(sqlite3_stmt *q, int i, char *out, size_t outsz)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    bg_copy_clean(out, outsz, (const char *)t);
}

/* Read the BG_ROW_COLS columns of the current result row. */
static void bg_row_read(sqlite3_stmt *q, bg_store_row *r)
{
    memset(r, 0, sizeof *r);
    bg_col_text(q, 0, r->sender_domain, sizeof r->sender_domain);
    bg_col_text(q, 1, r->recipient, sizeof r->recipient);
    bg_col_text(q, 2, r->scope, sizeof r->scope);
    bg_col_text(q, 3, r->category, sizeof r->category);
    bg_col_text(q, 4, r->status, sizeof r->status);
    r->reply_code = sqlite3_column_int(q, 5);
    bg_col_text(q, 6, r->diagnostic, sizeof r->diagnostic);
    r->first_seen = sqlite3_column_int64(q, 7);
    r->last_seen = sqlite3_column_int64(q, 8);
    r->soft_count = sqlite3_column_int(q, 9);
    r->soft_window_start = sqlite3_column_int64(q, 10);
    r->suppressed_since = sqlite3_column_int64(q, 11);
    r->expires_at = sqlite3_column_int64(q, 12);
    bg_col_text(q, 13, r->source, sizeof r->source);
    bg_col_text(q, 14, r->last_message_id, sizeof r->last_message_id);
}

/* Write a row with the upsert statement. */
static int bg_row_write(bg_store *s, const bg_store_row *r)
{
    int rc;
    sqlite3_stmt *q = bg_stmt(s, ST_ROW_UPSERT, &rc);
    if (!q)
        return rc;
    bg_bind_text(q, 1, r->sender_domain);
    bg_bind_text(q, 2, r->recipient);
    bg_bind_text(q, 3, r->scope);
    bg_bind_text(q, 4, r->category);
    bg_bind_text(q, 5, r->status);
    sqlite3_bind_int(q, 6, r->reply_code);
    bg_bind_text(q, 7, r->diagnostic);
    sqlite3_bind_int64(q, 8, r->first_seen);
    sqlite3_bind_int64(q, 9, r->last_seen);
    sqlite3_bind_int(q, 10, r->soft_count);
    sqlite3_bind_int64(q, 11, r->soft_window_start);
    sqlite3_bind_int64(q, 12, r->suppressed_since);
    sqlite3_bind_int64(q, 13, r->expires_at);
    bg_bind_text(q, 14, r->source);
    bg_bind_text(q, 15, r->last_message_id);
    return bg_step_done(q);
}

/* Read the row for (domain, key): SQLITE_ROW with *r filled, SQLITE_DONE
 * when there is none, else an error code. */
static int bg_row_fetch(bg_store *s, const char *domain, const char *key, bg_store_row *r)
{
    int rc;
    sqlite3_stmt *q = bg_stmt(s, ST_ROW_GET, &rc);
    if (!q)
        return rc;
    bg_bind_text(q, 1, domain);
    bg_bind_text(q, 2, key);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        bg_row_read(q, r);
    sqlite3_reset(q);
    return rc;
}

/* Start a write transaction unless the caller holds one. */
static int bg_store_tx_begin(bg_store *s)
{
    if (s->in_tx)
        return SQLITE_OK;
    int rc;
    while ((rc = bg_tx(s, ST_BEGIN)) != SQLITE_OK && bg_store_again(s, rc)) {
    }
    return rc;
}

/* Commit (rc OK) or roll back what bg_store_tx_begin started. */
static int bg_store_tx_end(bg_store *s, int rc)
{
    if (s->in_tx)
        return rc;
    if (rc == SQLITE_OK) {
        rc = bg_tx(s, ST_COMMIT);
        if (rc == SQLITE_OK)
            return rc;
    }
    bg_tx(s, ST_ROLLBACK);
    return rc;
}

static long long bg_now(long long now)
{
    return now > 0 ? now : (long long)time(NULL);
}

/* 1 when rule is a soft one and the row is an active hard suppression,
 * which a soft event never touches (nor counts toward). */
static int bg_store_keeps_hard(const bg_store_row *r, int exists, const bg_store_rule *rule,
                               long long now)
{
    int hard = rule->mode == BG_SUP_ADDRESS || rule->mode == BG_SUP_DOMAIN;
    return !hard && exists && bg_store_row_active(r, now) && strcmp(r->scope, "soft") != 0;
}

/* Add one soft event at now to bg_soft for (domain, key) and count the
 * events inside the sliding window (now - window, now]: an event exactly
 * one window old is out. fresh: the row was not a soft row (new, or an
 * expired hard one), so its old soft events (if any) are dropped first.
 * Events older than the window are deleted on the way. *n gets the count
 * and *start the oldest event time inside the window. Runs inside the
 * caller's write transaction, so concurrent writers cannot lose a count. */
static int bg_soft_count(bg_store *s, const char *domain, const char *key, int fresh,
                         long long now, long long window, int *n, long long *start)
{
    int rc;
    sqlite3_stmt *q;
    long long cut = now - (window > 0 ? window : 1);
    if (fresh) {
        if (!(q = bg_stmt(s, ST_SOFT_DROP, &rc)))
            return rc;
        bg_bind_text(q, 1, domain);
        bg_bind_text(q, 2, key);
        if ((rc = bg_step_done(q)) != SQLITE_OK)
            return rc;
    }
    if (!(q = bg_stmt(s, ST_SOFT_ADD, &rc)))
        return rc;
    bg_bind_text(q, 1, domain);
    bg_bind_text(q, 2, key);
    sqlite3_bind_int64(q, 3, now);
    sqlite3_bind_int(q, 4, 1);
    if ((rc = bg_step_done(q)) != SQLITE_OK)
        return rc;
    if (!(q = bg_stmt(s, ST_SOFT_SUM, &rc)))
        return rc;
    bg_bind_text(q, 1, domain);
    bg_bind_text(q, 2, key);
    sqlite3_bind_int64(q, 3, cut);
    rc = sqlite3_step(q);
    long long stale = 0, sum = 0;
    if (rc == SQLITE_ROW) {
        sum = sqlite3_column_int64(q, 0);
        *start = sqlite3_column_int64(q, 1);
        stale = sqlite3_column_int64(q, 2);
        rc = SQLITE_OK;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_OK)
        return rc;
    *n = sum > 0x7fffffff ? 0x7fffffff : (int)sum;
    if (stale > 0) {
        if (!(q = bg_stmt(s, ST_SOFT_PRUNE, &rc)))
            return rc;
        bg_bind_text(q, 1, domain);
        bg_bind_text(q, 2, key);
        sqlite3_bind_int64(q, 3, cut);
        rc = bg_step_done(q);
    }
    return rc;
}

/* Drop the soft events of (domain, key); domain NULL: of key for every
 * sending domain. */
static int bg_soft_drop(bg_store *s, const char *domain, const char *key)
{
    int rc;
    sqlite3_stmt *q = bg_stmt(s, domain ? ST_SOFT_DROP : ST_SOFT_DROP_ALL, &rc);
    if (!q)
        return rc;
    if (domain) {
        bg_bind_text(q, 1, domain);
        bg_bind_text(q, 2, key);
    } else {
        bg_bind_text(q, 1, key);
    }
    return bg_step_done(q);
}

/* The new state of a row after one event under rule (pure; no I/O).
 * soft_n and soft_start: what bg_soft_count found (soft rules only). */
static void bg_store_apply(bg_store_row *r, int exists, const bg_store_event *ev,
                           const bg_store_rule *rule, long long now, char *msgid, int soft_n,
                           long long soft_start, bg_store_result *res)
{
    int was_active = exists && bg_store_row_active(r, now);
    int hard = rule->mode == BG_SUP_ADDRESS || rule->mode == BG_SUP_DOMAIN;
    int keep_hard = bg_store_keeps_hard(r, exists, rule, now);
    if (!exists)
        r->first_seen = now;
    r->last_seen = now;
    snprintf(r->last_message_id, sizeof r->last_message_id, "%s", msgid);
    if (keep_hard) {
        /* a soft event never downgrades an active hard suppression */
    } else if (hard) {
        snprintf(r->scope, sizeof r->scope, "%s", rule->mode == BG_SUP_DOMAIN ? "domain" : "address");
        if (!was_active)
            r->suppressed_since = now;
        r->expires_at = rule->expires_after > 0 ? now + rule->expires_after : 0;
    } else {
        /* soft: the count inside the sliding window, from bg_soft */
        snprintf(r->scope, sizeof r->scope, "soft");
        r->soft_count = soft_n;
        r->soft_window_start = soft_start;
        if (r->soft_count >= (rule->soft_threshold > 0 ? rule->soft_threshold : 1)) {
            if (!was_active)
                r->suppressed_since = now;
            r->expires_at = rule->expires_after > 0 ? now + rule->expires_after : 0;
        } else if (!was_active) {
            r->suppressed_since = 0;
            r->expires_at = 0;
        }
    }
    if (!keep_hard) {
        bg_copy_clean(r->category, sizeof r->category, ev->category && *ev->category ? ev->category : "unknown");
        bg_copy_clean(r->status, sizeof r->status, ev->status);
        r->reply_code = ev->reply_code;
        bg_copy_clean(r->diagnostic, sizeof r->diagnostic, ev->diagnostic);
        snprintf(r->source, sizeof r->source, "%s", bg_store_source_name(ev->source));
    }
    res->written = 1;
    res->soft_count = r->soft_count;
    res->suppressed = bg_store_row_active(r, now);
    res->newly_suppressed = res->suppressed && !was_active;
}

bg_store_status bg_store_record(bg_store *s, const bg_store_event *ev, const bg_store_rule *rule,
                                bg_store_result *res)
{
    bg_store_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    if (!s || !ev || !rule)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX], rcpt[BG_ADDR_MAX], msgid[BG_MSGID_MAX];
    if (bg_store_norm_recipient(ev->sender_domain, domain) < 0 || strchr(domain, '@') ||
        bg_store_norm_recipient(ev->recipient, rcpt) < 0 || !strchr(rcpt, '@'))
        return BG_STORE_INVALID;
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_norm_msgid(ev->message_id, msgid);
    if (!msgid[0] && rule->mode == BG_SUP_NONE)
        return BG_STORE_OK; /* nothing to dedupe on and nothing to count */
    long long now = bg_now(ev->now);
    bg_store_arm(s);
    static const int used[] = {ST_BEGIN,    ST_COMMIT,    ST_ROLLBACK,  ST_EVENT_INSERT,
                               ST_ROW_GET,  ST_ROW_UPSERT, ST_SOFT_DROP, ST_SOFT_ADD,
                               ST_SOFT_SUM, ST_SOFT_PRUNE};
    bg_store_prepare(s, used, sizeof used / sizeof used[0]);

    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    if (msgid[0]) {
        sqlite3_stmt *q = bg_stmt(s, ST_EVENT_INSERT, &rc);
        if (!q)
            goto out;
        char ip[BG_IP_MAX];
        bg_copy_clean(ip, sizeof ip, ev->sending_ip);
        char cat[BG_CATEGORY_ID_MAX];
        bg_copy_clean(cat, sizeof cat, ev->category);
        bg_bind_text(q, 1, msgid);
        bg_bind_text(q, 2, rcpt);
        /* events that cannot count ("info") dedupe apart from counting
         * ones: a connection failure first must not hide a later 452 of
         * the same message */
        bg_bind_text(q, 3, rule->mode == BG_SUP_NONE ? (ev->deferred ? "defer-info" : "fail-info")
                                                     : (ev->deferred ? "defer" : "fail"));
        bg_bind_text(q, 4, domain);
        bg_bind_text(q, 5, cat);
        bg_bind_text(q, 6, bg_store_source_name(ev->source));
        bg_bind_text(q, 7, ip);
        sqlite3_bind_int64(q, 8, now);
        rc = bg_step_done(q);
        if (rc != SQLITE_OK)
            goto out;
        if (sqlite3_changes(s->db) == 0) {
            res->duplicate = 1;
            rc = bg_store_tx_end(s, SQLITE_OK);
            return rc == SQLITE_OK ? BG_STORE_DUPLICATE : bg_store_map(rc);
        }
    }
    if (rule->mode == BG_SUP_NONE) {
        rc = SQLITE_OK;
        goto out;
    }
    {
        const char *key = rcpt;
        if (rule->mode == BG_SUP_DOMAIN)
            key = strrchr(rcpt, '@') + 1;
        snprintf(res->key, sizeof res->key, "%s", key);
        bg_store_row r;
        memset(&r, 0, sizeof r);
        rc = bg_row_fetch(s, domain, key, &r);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            goto out;
        int exists = rc == SQLITE_ROW;
        if (!exists) {
            bg_copy_clean(r.sender_domain, sizeof r.sender_domain, domain);
            snprintf(r.recipient, sizeof r.recipient, "%s", key);
        }
        int soft_n = 0;
        long long soft_start = 0;
        if (rule->mode == BG_SUP_COUNT && !bg_store_keeps_hard(&r, exists, rule, now)) {
            rc = bg_soft_count(s, domain, key, !exists || strcmp(r.scope, "soft") != 0, now,
                               rule->soft_window, &soft_n, &soft_start);
            if (rc != SQLITE_OK)
                goto out;
        }
        bg_store_apply(&r, exists, ev, rule, now, msgid, soft_n, soft_start, res);
        rc = bg_row_write(s, &r);
    }
out:
    rc = bg_store_tx_end(s, rc);
    if (rc != SQLITE_OK)
        memset(res, 0, sizeof *res);
    return bg_store_map(rc);
}

bg_store_status bg_store_delivered(bg_store *s, const char *sender_domain, const char *recipient,
                                   const char *message_id, const char *sending_ip, long long now)
{
    if (!s)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX], rcpt[BG_ADDR_MAX], msgid[BG_MSGID_MAX], ip[BG_IP_MAX];
    if (bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@') ||
        bg_store_norm_recipient(recipient, rcpt) < 0 || !strchr(rcpt, '@'))
        return BG_STORE_INVALID;
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_norm_msgid(message_id, msgid);
    bg_copy_clean(ip, sizeof ip, sending_ip);
    now = bg_now(now);
    bg_store_arm(s);
    static const int used[] = {ST_BEGIN,      ST_COMMIT,     ST_ROLLBACK,
                               ST_EVENT_SENT, ST_SOFT_CLEAR, ST_SOFT_DROP};
    bg_store_prepare(s, used, sizeof used / sizeof used[0]);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    sqlite3_stmt *q;
    if (msgid[0]) {
        q = bg_stmt(s, ST_EVENT_SENT, &rc);
        if (!q)
            goto out;
        bg_bind_text(q, 1, msgid);
        bg_bind_text(q, 2, rcpt);
        bg_bind_text(q, 3, domain);
        bg_bind_text(q, 4, ip);
        sqlite3_bind_int64(q, 5, now);
        rc = bg_step_done(q);
        if (rc != SQLITE_OK)
            goto out;
    }
    q = bg_stmt(s, ST_SOFT_CLEAR, &rc);
    if (!q)
        goto out;
    bg_bind_text(q, 1, domain);
    bg_bind_text(q, 2, rcpt);
    sqlite3_bind_int64(q, 3, now);
    rc = bg_step_done(q);
    if (rc == SQLITE_OK && sqlite3_changes(s->db) > 0)
        rc = bg_soft_drop(s, domain, rcpt); /* the count restarts from nothing */
out:
    return bg_store_map(bg_store_tx_end(s, rc));
}

bg_store_status bg_store_check(bg_store *s, const char *sender_domain, const char *recipient,
                               long long now, int *hit, bg_store_row *out)
{
    *hit = 0;
    if (!s)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX], rcpt[BG_ADDR_MAX];
    if (bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@') ||
        bg_store_norm_recipient(recipient, rcpt) < 0)
        return BG_STORE_INVALID;
    const char *at = strrchr(rcpt, '@');
    bg_store_arm(s);
    int rc;
    sqlite3_stmt *q = bg_stmt(s, ST_CHECK, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_bind_text(q, 1, domain);
    bg_bind_text(q, 2, rcpt);
    bg_bind_text(q, 3, at ? at + 1 : rcpt);
    sqlite3_bind_int64(q, 4, bg_now(now));
    while ((rc = sqlite3_step(q)) != SQLITE_ROW && rc != SQLITE_DONE && bg_store_again(s, rc))
        sqlite3_reset(q);
    if (rc == SQLITE_ROW) {
        *hit = 1;
        if (out)
            bg_row_read(q, out);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(q);
    return bg_store_map(rc);
}

bg_store_status bg_store_get(bg_store *s, const char *sender_domain, const char *key,
                             bg_store_row *out)
{
    if (!s)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX], k[BG_ADDR_MAX];
    if (bg_store_norm_recipient(sender_domain, domain) < 0 || bg_store_norm_recipient(key, k) < 0)
        return BG_STORE_INVALID;
    bg_store_arm(s);
    int rc = bg_row_fetch(s, domain, k, out);
    if (rc == SQLITE_ROW)
        return BG_STORE_OK;
    if (rc == SQLITE_DONE)
        return BG_STORE_NOTFOUND;
    return bg_store_map(rc);
}

/* Write a whole row (admin, import) and make bg_soft agree with its soft
 * count: the events behind an imported count are not known one by one, so
 * they go in the way migration 2 seeds them (first at soft_window_start,
 * last at last_seen, the rest at the first's time). */
static int bg_row_put_write(bg_store *s, bg_store_row *r)
{
    int rc = bg_row_write(s, r);
    if (rc == SQLITE_OK)
        rc = bg_soft_drop(s, r->sender_domain, r->recipient);
    if (rc != SQLITE_OK || strcmp(r->scope, "soft") != 0 || r->soft_count <= 0)
        return rc;
    long long first = r->soft_window_start > 0 ? r->soft_window_start : r->last_seen;
    int split = r->soft_count >= 2 && r->last_seen > first;
    const struct {
        long long at;
        int n;
    } seed[2] = {{first, split ? r->soft_count - 1 : r->soft_count}, {r->last_seen, split ? 1 : 0}};
    for (int i = 0; i < 2 && rc == SQLITE_OK; i++) {
        if (seed[i].n <= 0)
            continue;
        sqlite3_stmt *q = bg_stmt(s, ST_SOFT_ADD, &rc);
        if (!q)
            break;
        bg_bind_text(q, 1, r->sender_domain);
        bg_bind_text(q, 2, r->recipient);
        sqlite3_bind_int64(q, 3, seed[i].at);
        sqlite3_bind_int(q, 4, seed[i].n);
        rc = bg_step_done(q);
    }
    return rc;
}

bg_store_status bg_store_put(bg_store *s, const bg_store_row *row)
{
    if (!s || !row)
        return BG_STORE_INVALID;
    bg_store_row r = *row;
    char domain[BG_ADDR_MAX], key[BG_ADDR_MAX];
    if (bg_store_norm_recipient(row->sender_domain, domain) < 0 || strchr(domain, '@') ||
        bg_store_norm_recipient(row->recipient, key) < 0 || !bg_category_find(row->category))
        return BG_STORE_INVALID;
    int is_addr = strchr(key, '@') != NULL;
    if (strcmp(r.scope, "domain") == 0 ? is_addr
        : (strcmp(r.scope, "address") == 0 || strcmp(r.scope, "soft") == 0) ? !is_addr
                                                                               : 1)
        return BG_STORE_INVALID;
    if (bg_store_source_parse(r.source) < 0)
        return BG_STORE_INVALID;
    bg_copy_clean(r.sender_domain, sizeof r.sender_domain, domain);
    snprintf(r.recipient, sizeof r.recipient, "%s", key);
    bg_copy_clean(r.diagnostic, sizeof r.diagnostic, row->diagnostic);
    bg_copy_clean(r.status, sizeof r.status, row->status);
    bg_copy_clean(r.last_message_id, sizeof r.last_message_id, row->last_message_id);
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc == SQLITE_OK)
        rc = bg_store_tx_end(s, bg_row_put_write(s, &r));
    return bg_store_map(rc);
}

bg_store_status bg_store_remove(bg_store *s, const char *sender_domain, const char *key,
                                int *removed)
{
    if (removed)
        *removed = 0;
    if (!s)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX] = "", k[BG_ADDR_MAX];
    if (bg_store_norm_recipient(key, k) < 0)
        return BG_STORE_INVALID;
    int all = !sender_domain || !*sender_domain;
    if (!all && (bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@')))
        return BG_STORE_INVALID;
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    sqlite3_stmt *q = bg_stmt(s, all ? ST_REMOVE_ALL : ST_REMOVE_ONE, &rc);
    if (q) {
        if (all) {
            bg_bind_text(q, 1, k);
        } else {
            bg_bind_text(q, 1, domain);
            bg_bind_text(q, 2, k);
        }
        rc = bg_step_done(q);
        if (rc == SQLITE_OK && removed)
            *removed = sqlite3_changes(s->db);
        if (rc == SQLITE_OK)
            rc = bg_soft_drop(s, all ? NULL : domain, k);
    }
    return bg_store_map(bg_store_tx_end(s, rc));
}

bg_store_status bg_store_list(bg_store *s, const char *sender_domain, const char *category,
                              const char *recipient, int active_only, long long now,
                              bg_store_row_fn fn, void *ctx)
{
    if (!s || !fn)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX] = "", rcpt[BG_ADDR_MAX] = "";
    if (sender_domain && *sender_domain && bg_store_norm_recipient(sender_domain, domain) < 0)
        return BG_STORE_INVALID;
    if (recipient && *recipient && bg_store_norm_recipient(recipient, rcpt) < 0)
        return BG_STORE_INVALID;
    bg_store_arm(s);
    int rc;
    sqlite3_stmt *q = bg_stmt(s, ST_LIST, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_bind_text(q, 1, domain);
    bg_bind_text(q, 2, category);
    bg_bind_text(q, 3, rcpt);
    sqlite3_bind_int(q, 4, active_only ? 1 : 0);
    sqlite3_bind_int64(q, 5, bg_now(now));
    bg_store_row r;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bg_row_read(q, &r);
        if (fn(&r, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? BG_STORE_OK : bg_store_map(rc);
}

bg_store_status bg_store_expire(bg_store *s, long long now, long long event_retention,
                                int *rows_removed, int *events_removed)
{
    int rows = 0, events = 0;
    if (rows_removed)
        *rows_removed = 0;
    if (events_removed)
        *events_removed = 0;
    if (!s)
        return BG_STORE_INVALID;
    if (s->rdonly)
        return BG_STORE_READONLY;
    now = bg_now(now);
    bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    /* soft events whose row is gone (or is no longer a soft row) go with
     * it; those of live soft rows are pruned by the row's own next event */
    static const int ids[] = {ST_EXPIRE_ROWS, ST_EXPIRE_SOFT, ST_EXPIRE_SOFT_ORPHANS,
                              ST_EXPIRE_EVENTS, -1};
    for (int i = 0; ids[i] >= 0 && rc == SQLITE_OK; i++) {
        if (ids[i] == ST_EXPIRE_EVENTS && event_retention <= 0)
            continue;
        sqlite3_stmt *q = bg_stmt(s, ids[i], &rc);
        if (!q)
            break;
        long long cut = now;
        if (ids[i] != ST_EXPIRE_ROWS)
            cut = now - (event_retention > 0 ? event_retention : 0);
        if (sqlite3_bind_parameter_count(q) > 0)
            sqlite3_bind_int64(q, 1, cut);
        rc = bg_step_done(q);
        if (rc == SQLITE_OK && ids[i] != ST_EXPIRE_SOFT_ORPHANS) {
            if (ids[i] == ST_EXPIRE_EVENTS)
                events += sqlite3_changes(s->db);
            else
                rows += sqlite3_changes(s->db);
        }
    }
    rc = bg_store_tx_end(s, rc);
    if (rc == SQLITE_OK) {
        if (rows_removed)
            *rows_removed = rows;
        if (events_removed)
            *events_removed = events;
    }
    return bg_store_map(rc);
}

/* One COUNT(*) with (domain, now) parameters. */
static int bg_count(bg_store *s, int id, const char *domain, long long now, long long *out)
{
    int rc;
    sqlite3_stmt *q = bg_stmt(s, id, &rc);
    if (!q)
        return rc;
    bg_bind_text(q, 1, domain);
    if (sqlite3_bind_parameter_count(q) >= 2)
        sqlite3_bind_int64(q, 2, now);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(q, 0);
        rc = SQLITE_OK;
    }
    sqlite3_reset(q);
    return rc;
}

/* A PRAGMA returning one integer (size figures only). */
static long long bg_pragma_num(bg_store *s, const char *sql)
{
    sqlite3_stmt *q = NULL;
    long long v = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

bg_store_status bg_store_get_stats(bg_store *s, const char *sender_domain, long long now,
                                   bg_store_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX] = "";
    if (sender_domain && *sender_domain && bg_store_norm_recipient(sender_domain, domain) < 0)
        return BG_STORE_INVALID;
    now = bg_now(now);
    bg_store_arm(s);
    int rc = bg_count(s, ST_STAT_ROWS, domain, now, &out->rows);
    if (rc == SQLITE_OK)
        rc = bg_count(s, ST_STAT_ACTIVE, domain, now, &out->active);
    if (rc == SQLITE_OK)
        rc = bg_count(s, ST_STAT_SOFT, domain, now, &out->soft_pending);
    if (rc == SQLITE_OK)
        rc = bg_count(s, ST_STAT_EXPIRED, domain, now, &out->expired);
    if (rc == SQLITE_OK)
        rc = bg_count(s, ST_STAT_EVENTS, domain, now, &out->events);
    if (rc == SQLITE_OK)
        rc = bg_count(s, ST_STAT_SENT, domain, now, &out->events_sent);
    out->page_count = bg_pragma_num(s, "PRAGMA page_count");
    out->page_size = bg_pragma_num(s, "PRAGMA page_size");
    return bg_store_map(rc);
}

bg_store_status bg_store_count_by_category(bg_store *s, const char *sender_domain, long long now,
                                           bg_store_count_fn fn, void *ctx)
{
    if (!s || !fn)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX] = "";
    if (sender_domain && *sender_domain && bg_store_norm_recipient(sender_domain, domain) < 0)
        return BG_STORE_INVALID;
    bg_store_arm(s);
    int rc;
    sqlite3_stmt *q = bg_stmt(s, ST_COUNT_CAT, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_bind_text(q, 1, domain);
    sqlite3_bind_int64(q, 2, bg_now(now));
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        char d[BG_DOMAIN_MAX], c[BG_CATEGORY_ID_MAX];
        bg_col_text(q, 0, d, sizeof d);
        bg_col_text(q, 1, c, sizeof c);
        if (fn(d, c, sqlite3_column_int64(q, 2), ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? BG_STORE_OK : bg_store_map(rc);
}

bg_store_status bg_store_was_sent(bg_store *s, const char *message_id, const char *recipient,
                                  int *found)
{
    *found = 0;
    if (!s)
        return BG_STORE_INVALID;
    char msgid[BG_MSGID_MAX], rcpt[BG_ADDR_MAX] = "";
    bg_store_norm_msgid(message_id, msgid);
    if (!msgid[0])
        return BG_STORE_OK;
    int by_rcpt = recipient && *recipient;
    if (by_rcpt && bg_store_norm_recipient(recipient, rcpt) < 0)
        return BG_STORE_OK;
    bg_store_arm(s);
    int rc;
    sqlite3_stmt *q = bg_stmt(s, by_rcpt ? ST_WAS_SENT_RCPT : ST_WAS_SENT_ANY, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_bind_text(q, 1, msgid);
    if (by_rcpt)
        bg_bind_text(q, 2, rcpt);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *found = 1;
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(q);
    return bg_store_map(rc);
}

bg_store_status bg_store_sending_ip(bg_store *s, const char *message_id, const char *recipient,
                                    char out[BG_IP_MAX])
{
    out[0] = '\0';
    if (!s)
        return BG_STORE_INVALID;
    char msgid[BG_MSGID_MAX], rcpt[BG_ADDR_MAX];
    bg_store_norm_msgid(message_id, msgid);
    if (!msgid[0] || bg_store_norm_recipient(recipient, rcpt) < 0)
        return BG_STORE_INVALID;
    bg_store_arm(s);
    int rc;
    sqlite3_stmt *q = bg_stmt(s, ST_SENDING_IP, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_bind_text(q, 1, msgid);
    bg_bind_text(q, 2, rcpt);
    rc = sqlite3_step(q);
    bg_store_status st;
    if (rc == SQLITE_ROW) {
        bg_col_text(q, 0, out, BG_IP_MAX);
        st = BG_STORE_OK;
    } else {
        st = rc == SQLITE_DONE ? BG_STORE_NOTFOUND : bg_store_map(rc);
    }
    sqlite3_reset(q);
    return st;
}

bg_store_status bg_store_note_ip(bg_store *s, const char *message_id, const char *sender_domain,
                                 const char *sending_ip, long long now)
{
    if (!s)
        return BG_STORE_INVALID;
    char msgid[BG_MSGID_MAX], domain[BG_ADDR_MAX], ip[BG_IP_MAX];
    bg_store_norm_msgid(message_id, msgid);
    bg_copy_clean(ip, sizeof ip, sending_ip);
    if (!msgid[0] || !ip[0] || bg_store_norm_recipient(sender_domain, domain) < 0 ||
        strchr(domain, '@'))
        return BG_STORE_INVALID;
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    sqlite3_stmt *q = bg_stmt(s, ST_NOTE_IP, &rc);
    if (q) {
        bg_bind_text(q, 1, msgid);
        bg_bind_text(q, 2, domain);
        bg_bind_text(q, 3, ip);
        sqlite3_bind_int64(q, 4, bg_now(now));
        rc = bg_step_done(q);
    }
    return bg_store_map(bg_store_tx_end(s, rc));
}

bg_store_status bg_store_begin(bg_store *s)
{
    if (!s || s->in_tx)
        return BG_STORE_INVALID;
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_arm(s);
    int rc = bg_tx(s, ST_BEGIN);
    if (rc == SQLITE_OK)
        s->in_tx = 1;
    return bg_store_map(rc);
}

bg_store_status bg_store_commit(bg_store *s)
{
    if (!s || !s->in_tx)
        return BG_STORE_INVALID;
    bg_store_arm(s);
    int rc = bg_tx(s, ST_COMMIT);
    if (rc != SQLITE_OK) {
        bg_tx(s, ST_ROLLBACK);
    }
    s->in_tx = 0;
    return bg_store_map(rc);
}

void bg_store_rollback(bg_store *s)
{
    if (!s || !s->in_tx)
        return;
    bg_tx(s, ST_ROLLBACK);
    s->in_tx = 0;
}

/* ---- read for bg_classify (issue 16, added by the classify helper) -------
 * A retry-timeout bounce whose text names no cause: local_scan asks what
 * the transport's event hook recorded for the same (message, recipient).
 * Kept apart from the statement table above: one read prepared per call
 * (such bounces are rare). The deferral rows are written once per message
 * (ON CONFLICT DO NOTHING), so seen_at is the first deferral: since when. */
bg_store_status bg_store_last_deferral(bg_store *s, const char *message_id, const char *recipient,
                                       char category[BG_CATEGORY_ID_MAX], long long *seen_at)
{
    category[0] = '\0';
    *seen_at = 0;
    if (!s)
        return BG_STORE_INVALID;
    char msgid[BG_MSGID_MAX], rcpt[BG_ADDR_MAX];
    bg_store_norm_msgid(message_id, msgid);
    if (!msgid[0] || bg_store_norm_recipient(recipient, rcpt) < 0)
        return BG_STORE_INVALID;
    bg_store_arm(s);
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT category, seen_at FROM bg_event WHERE message_id = ?1 AND "
                                "recipient = ?2 AND kind IN ('defer', 'defer-info') AND "
                                "source = 'transport' ORDER BY seen_at DESC LIMIT 1",
                                -1, &q, NULL);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    bg_bind_text(q, 1, msgid);
    bg_bind_text(q, 2, rcpt);
    rc = sqlite3_step(q);
    bg_store_status st;
    if (rc == SQLITE_ROW) {
        bg_col_text(q, 0, category, BG_CATEGORY_ID_MAX);
        *seen_at = sqlite3_column_int64(q, 1);
        st = BG_STORE_OK;
    } else {
        st = rc == SQLITE_DONE ? BG_STORE_NOTFOUND : bg_store_map(rc);
    }
    sqlite3_finalize(q);
    return st;
}
