/* bg_db_pg: bg_db on PostgreSQL, through libpq opened with dlopen.
 *
 * libpq is not linked: the .so and the command work without it (a
 * SQLite store needs nothing of it), and only a configuration that names
 * a PostgreSQL database loads it, once per process. The types come from
 * libpq's own header (libpq-dev at build time).
 *
 * Every wait is bounded: the connection is made with PQconnectStartParams
 * and PQconnectPoll under poll(), each query is sent without blocking and
 * its replies read under poll(), all until the caller's deadline. Past
 * it, the connection is dropped (a cancel request would itself need a new
 * connection to a server that does not answer) and the call returns
 * SQLITE_BUSY; the connection stays dead (SQLITE_IOERR) until reopened.
 *
 * Statements are prepared on the server once per connection, at their
 * first run, with the types of the values bound then (text or int8), and
 * run in single-row mode, so a long listing streams. Text values that are
 * not UTF-8 have their bad bytes replaced (PostgreSQL refuses them, and
 * one bad diagnostic must not stop a journal).
 */
#include "bg_db_pg.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <postgresql/libpq-fe.h>

#define BG_PQ_SONAME "libpq.so.5"
#define BG_PG_TEXTOID 25
#define BG_PG_INT8OID 20
/* The store's one writer lock, an advisory lock on one key. BEGIN
 * IMMEDIATE takes it inside the transaction (one round trip; released at
 * its end): every statement after it reads what the writer before
 * committed (READ COMMITTED: a snapshot per statement). BEGIN EXCLUSIVE,
 * for changes to the tables themselves (the schema), takes it before the
 * transaction starts and gives it back after COMMIT or ROLLBACK: a
 * transaction that waited for it inside would still see the catalog as
 * it was when it began, and miss the tables the writer before it made. */
#define BG_PG_QUEUE 64 /* answers a pipeline may owe before they are read */
#define BG_PG_LOCK_KEY "7161677100150"
#define BG_PG_WRITER_XACT "BEGIN; SELECT pg_advisory_xact_lock(" BG_PG_LOCK_KEY ")"
#define BG_PG_WRITER_LOCK "SELECT pg_advisory_lock(" BG_PG_LOCK_KEY ")"
#define BG_PG_WRITER_UNLOCK "SELECT pg_advisory_unlock(" BG_PG_LOCK_KEY ")"

static struct {
    __typeof__(&PQconnectStartParams) connectStartParams;
    __typeof__(&PQconnectPoll) connectPoll;
    __typeof__(&PQstatus) status;
    __typeof__(&PQsocket) socket;
    __typeof__(&PQfinish) finish;
    __typeof__(&PQerrorMessage) errorMessage;
    __typeof__(&PQsetnonblocking) setnonblocking;
    __typeof__(&PQflush) flush;
    __typeof__(&PQsendPrepare) sendPrepare;
    __typeof__(&PQsendQueryPrepared) sendQueryPrepared;
    __typeof__(&PQsendQueryParams) sendQueryParams;
    __typeof__(&PQsendQuery) sendQuery;
    __typeof__(&PQsetSingleRowMode) setSingleRowMode;
    __typeof__(&PQconsumeInput) consumeInput;
    __typeof__(&PQisBusy) isBusy;
    __typeof__(&PQgetResult) getResult;
    __typeof__(&PQresultStatus) resultStatus;
    __typeof__(&PQresultErrorField) resultErrorField;
    __typeof__(&PQresultErrorMessage) resultErrorMessage;
    __typeof__(&PQclear) clear;
    __typeof__(&PQgetvalue) getvalue;
    __typeof__(&PQnfields) nfields;
    __typeof__(&PQntuples) ntuples;
    __typeof__(&PQcmdTuples) cmdTuples;
    __typeof__(&PQsslInUse) sslInUse;
    __typeof__(&PQsetNoticeProcessor) setNoticeProcessor;
    __typeof__(&PQenterPipelineMode) enterPipelineMode;
    __typeof__(&PQexitPipelineMode) exitPipelineMode;
    __typeof__(&PQpipelineSync) pipelineSync;
    __typeof__(&PQsendFlushRequest) sendFlushRequest;
    int ok;
    char why[200];
} bg_pq;
static pthread_once_t bg_pq_once = PTHREAD_ONCE_INIT;

#define BG_PQ_SYM(h, field, name)                                                  \
    do {                                                                           \
        *(void **)(&bg_pq.field) = dlsym(h, name);                                 \
        if (!bg_pq.field) {                                                        \
            snprintf(bg_pq.why, sizeof bg_pq.why, "%s: no %s", BG_PQ_SONAME, name); \
            return;                                                                \
        }                                                                          \
    } while (0)

/* Open libpq once per process; on failure bg_pq.why says why. */
static void bg_pq_load(void)
{
    void *h = dlopen(BG_PQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(bg_pq.why, sizeof bg_pq.why, "%s (install libpq5 for a PostgreSQL store)",
                 e ? e : BG_PQ_SONAME ": cannot load");
        return;
    }
    BG_PQ_SYM(h, connectStartParams, "PQconnectStartParams");
    BG_PQ_SYM(h, connectPoll, "PQconnectPoll");
    BG_PQ_SYM(h, status, "PQstatus");
    BG_PQ_SYM(h, socket, "PQsocket");
    BG_PQ_SYM(h, finish, "PQfinish");
    BG_PQ_SYM(h, errorMessage, "PQerrorMessage");
    BG_PQ_SYM(h, setnonblocking, "PQsetnonblocking");
    BG_PQ_SYM(h, flush, "PQflush");
    BG_PQ_SYM(h, sendPrepare, "PQsendPrepare");
    BG_PQ_SYM(h, sendQueryPrepared, "PQsendQueryPrepared");
    BG_PQ_SYM(h, sendQueryParams, "PQsendQueryParams");
    BG_PQ_SYM(h, sendQuery, "PQsendQuery");
    BG_PQ_SYM(h, setSingleRowMode, "PQsetSingleRowMode");
    BG_PQ_SYM(h, consumeInput, "PQconsumeInput");
    BG_PQ_SYM(h, isBusy, "PQisBusy");
    BG_PQ_SYM(h, getResult, "PQgetResult");
    BG_PQ_SYM(h, resultStatus, "PQresultStatus");
    BG_PQ_SYM(h, resultErrorField, "PQresultErrorField");
    BG_PQ_SYM(h, resultErrorMessage, "PQresultErrorMessage");
    BG_PQ_SYM(h, clear, "PQclear");
    BG_PQ_SYM(h, getvalue, "PQgetvalue");
    BG_PQ_SYM(h, nfields, "PQnfields");
    BG_PQ_SYM(h, ntuples, "PQntuples");
    BG_PQ_SYM(h, cmdTuples, "PQcmdTuples");
    BG_PQ_SYM(h, sslInUse, "PQsslInUse");
    BG_PQ_SYM(h, setNoticeProcessor, "PQsetNoticeProcessor");
    BG_PQ_SYM(h, enterPipelineMode, "PQenterPipelineMode");
    BG_PQ_SYM(h, exitPipelineMode, "PQexitPipelineMode");
    BG_PQ_SYM(h, pipelineSync, "PQpipelineSync");
    BG_PQ_SYM(h, sendFlushRequest, "PQsendFlushRequest");
    bg_pq.ok = 1; /* the library stays loaded for the life of the process */
}

struct bg_pg {
    PGconn *conn;              /* NULL once dropped */
    const long long *deadline; /* monotonic us; NULL = 60 s from each wait */
    unsigned gen;              /* statement names are per connection */
    unsigned next_name;
    bg_pg_stmt *active;        /* the statement whose replies are being read */
    int locked;                /* holds the writer lock as a session lock (BEGIN
                                * EXCLUSIVE .. COMMIT/ROLLBACK) */
    int pipelined;             /* in libpq's pipeline mode (bg_pg_pipeline) */
    bg_pg_stmt *queue[BG_PG_QUEUE]; /* queries sent, answers not read yet, in order
                                * (NULL: an answer nobody reads) */
    int qh, qn;
    int pending_rc;            /* the first failure in the pipeline (SQLite code) */
    int unflushed;             /* queries sent since the last flush request */
    long long changes;
    char err[512];
};

struct bg_pg_stmt {
    bg_pg *c;
    char *sql;
    int begin_immediate;
    int begin_exclusive;
    int end_tx;            /* COMMIT or ROLLBACK: the writer lock goes after it */
    int nparams;
    int persistent;
    unsigned prepared_gen; /* 0: not prepared on this connection */
    char name[24];
    char **vals;
    Oid *types;
    PGresult *row;
    int rowi;              /* the current row of row (pipelined: all rows at once) */
    int running;
    int deferrable;        /* its outcome is never read: pipelined, it is not waited for */
    int sent, answered;    /* pipelined: sent, its answer not read / read, not stepped */
    int prc;               /* pipelined: its failure */
    long long pchanges;    /* pipelined: the rows it changed */
};

/* The server's notices ("relation already exists, skipping") would go to
 * stderr: Exim's, or a sync's log. They say nothing we act on. */
static void bg_pg_notice(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

static long long bg_pg_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Keep a message, one line, bounded. */
static void bg_pg_seterr(bg_pg *c, const char *a, const char *b)
{
    snprintf(c->err, sizeof c->err, "%s%s%s", a ? a : "", a && b && *b ? ": " : "", b ? b : "");
    for (char *p = c->err; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    size_t n = strlen(c->err);
    while (n > 0 && c->err[n - 1] == ' ')
        c->err[--n] = '\0';
}

/* Give the connection up (a timeout, a broken link): later calls fail
 * with SQLITE_IOERR until the store is opened again. */
static void bg_pg_drop(bg_pg *c, const char *why)
{
    if (why) /* first: why may be libpq's text, freed with the connection */
        bg_pg_seterr(c, why, NULL);
    if (c->conn)
        bg_pq.finish(c->conn);
    c->conn = NULL;
    c->active = NULL;
}

/* Wait until the socket is ready (POLLIN or POLLOUT) or the deadline.
 * 0 ready, SQLITE_BUSY past the deadline, SQLITE_IOERR on error. */
static int bg_pg_wait_fd(int fd, short events, const long long *deadline)
{
    long long end = deadline ? *deadline : bg_pg_mono_us() + 60000000LL;
    for (;;) {
        long long left = end - bg_pg_mono_us();
        if (left <= 0)
            return SQLITE_BUSY;
        struct pollfd p = {fd, events, 0};
        int ms = (int)((left + 999) / 1000);
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return SQLITE_IOERR;
    }
}

int bg_pg_open(const char *conninfo, const long long *deadline_us, bg_pg **out, char *err,
               size_t errlen)
{
    *out = NULL;
    pthread_once(&bg_pq_once, bg_pq_load);
    if (!bg_pq.ok) {
        snprintf(err, errlen, "%s", bg_pq.why);
        return SQLITE_CANTOPEN;
    }
    bg_pg *c = calloc(1, sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    const char *keys[] = {"dbname", "application_name", "client_encoding", NULL};
    const char *vals[] = {conninfo, "bounceguide", "UTF8", NULL};
    c->conn = bg_pq.connectStartParams(keys, vals, 1);
    if (!c->conn) {
        free(c);
        return SQLITE_NOMEM;
    }
    int rc = SQLITE_OK;
    if (bg_pq.status(c->conn) == CONNECTION_BAD) {
        rc = SQLITE_CANTOPEN;
    } else {
        PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
        while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
            int w = bg_pg_wait_fd(bg_pq.socket(c->conn),
                                  ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline_us);
            if (w != 0) {
                rc = w;
                break;
            }
            ps = bg_pq.connectPoll(c->conn);
        }
        if (rc == SQLITE_OK && ps == PGRES_POLLING_FAILED)
            rc = SQLITE_CANTOPEN;
    }
    if (rc == SQLITE_OK && bg_pq.setnonblocking(c->conn, 1) != 0)
        rc = SQLITE_CANTOPEN;
    if (rc == SQLITE_OK)
        bg_pq.setNoticeProcessor(c->conn, bg_pg_notice, NULL);
    if (rc != SQLITE_OK) {
        bg_pg_seterr(c, rc == SQLITE_BUSY ? "no answer before the timeout" : bg_pq.errorMessage(c->conn),
                     NULL);
        snprintf(err, errlen, "%s", c->err);
        bg_pq.finish(c->conn);
        free(c);
        return rc;
    }
    c->gen = 1;
    c->deadline = deadline_us;
    *out = c;
    return SQLITE_OK;
}

void bg_pg_close(bg_pg *c)
{
    if (!c)
        return;
    if (c->conn)
        bg_pq.finish(c->conn);
    free(c);
}

void bg_pg_set_deadline(bg_pg *c, const long long *deadline_us)
{
    c->deadline = deadline_us;
}

const char *bg_pg_errmsg(const bg_pg *c)
{
    return c ? c->err : "";
}

int bg_pg_alive(const bg_pg *c)
{
    return c && c->conn && bg_pq.status(c->conn) == CONNECTION_OK;
}

int bg_pg_tls(const bg_pg *c)
{
    return c && c->conn && bg_pq.sslInUse(c->conn);
}

long long bg_pg_changes(const bg_pg *c)
{
    return c->changes;
}

/* SQLSTATE -> SQLite code. */
static int bg_pg_map(const PGresult *r, const bg_pg *c)
{
    const char *st = r ? bg_pq.resultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!st || !c->conn || bg_pq.status(c->conn) != CONNECTION_OK)
        return SQLITE_IOERR;
    if (!strcmp(st, "40001") || !strcmp(st, "40P01") || !strcmp(st, "55P03") ||
        !strcmp(st, "57014") || !strcmp(st, "53300"))
        return SQLITE_BUSY;
    if (!strncmp(st, "08", 2) || !strncmp(st, "57P", 3) || !strncmp(st, "53", 2))
        return SQLITE_IOERR;
    if (!strcmp(st, "42501") || !strncmp(st, "28", 2))
        return SQLITE_PERM;
    if (!strcmp(st, "25006"))
        return SQLITE_READONLY;
    if (!strcmp(st, "23505"))
        return SQLITE_CONSTRAINT;
    return SQLITE_ERROR;
}

/* Send what libpq holds (non-blocking mode), within the deadline. */
static int bg_pg_flush(bg_pg *c)
{
    for (;;) {
        int f = bg_pq.flush(c->conn);
        if (f == 0)
            return SQLITE_OK;
        if (f < 0) {
            bg_pg_drop(c, bg_pq.errorMessage(c->conn));
            return SQLITE_IOERR;
        }
        int w = bg_pg_wait_fd(bg_pq.socket(c->conn), POLLOUT | POLLIN, c->deadline);
        if (w != 0) {
            bg_pg_drop(c, w == SQLITE_BUSY ? "PostgreSQL did not answer before the timeout" : "poll failed");
            return w;
        }
        if (!bg_pq.consumeInput(c->conn)) {
            bg_pg_drop(c, bg_pq.errorMessage(c->conn));
            return SQLITE_IOERR;
        }
    }
}

/* The next result of the query in flight (NULL: none left), within the
 * deadline. An SQLite code. */
static int bg_pg_result(bg_pg *c, PGresult **out)
{
    *out = NULL;
    while (bg_pq.isBusy(c->conn)) {
        int w = bg_pg_wait_fd(bg_pq.socket(c->conn), POLLIN, c->deadline);
        if (w != 0) {
            bg_pg_drop(c, w == SQLITE_BUSY ? "PostgreSQL did not answer before the timeout" : "poll failed");
            return w;
        }
        if (!bg_pq.consumeInput(c->conn)) {
            bg_pg_drop(c, bg_pq.errorMessage(c->conn));
            return SQLITE_IOERR;
        }
    }
    *out = bg_pq.getResult(c->conn);
    return SQLITE_OK;
}

/* Read and drop every result left of the query in flight. */
static int bg_pg_drain(bg_pg *c)
{
    int rc = SQLITE_OK;
    for (;;) {
        PGresult *r;
        int w = bg_pg_result(c, &r);
        if (w != SQLITE_OK)
            return w;
        if (!r)
            break;
        ExecStatusType t = bg_pq.resultStatus(r);
        if (t == PGRES_FATAL_ERROR && rc == SQLITE_OK) {
            rc = bg_pg_map(r, c);
            bg_pg_seterr(c, bg_pq.resultErrorMessage(r), NULL);
        }
        bg_pq.clear(r);
    }
    return rc;
}

/* Finish the statement whose replies are being read (another wants the
 * connection, or it is reset). */
static void bg_pg_settle(bg_pg *c)
{
    bg_pg_stmt *a = c->active;
    if (!a)
        return;
    c->active = NULL;
    a->running = 0;
    if (a->row) {
        bg_pq.clear(a->row);
        a->row = NULL;
    }
    if (c->conn)
        bg_pg_drain(c);
}

int bg_pg_exec(bg_pg *c, const char *sql)
{
    if (!c->conn)
        return SQLITE_IOERR;
    if (c->pipelined)
        return SQLITE_MISUSE;
    bg_pg_settle(c);
    if (!bg_pq.sendQuery(c->conn, sql)) {
        bg_pg_drop(c, bg_pq.errorMessage(c->conn));
        return SQLITE_IOERR;
    }
    int rc = bg_pg_flush(c);
    if (rc != SQLITE_OK)
        return rc;
    return bg_pg_drain(c);
}

/* ?N -> $N outside quotes. */
static char *bg_pg_translate(const char *sql)
{
    size_t n = strlen(sql);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    char quote = 0;
    size_t o = 0;
    for (const char *p = sql; *p; p++) {
        char ch = *p;
        if (quote) {
            if (ch == quote)
                quote = 0;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if (ch == '?' && p[1] >= '0' && p[1] <= '9') {
            ch = '$';
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return out;
}

bg_pg_stmt *bg_pg_prepare(bg_pg *c, const char *sql, int nparams, int persistent, int *rc)
{
    bg_pg_stmt *q = calloc(1, sizeof *q);
    if (!q) {
        *rc = SQLITE_NOMEM;
        return NULL;
    }
    q->c = c;
    q->nparams = nparams;
    q->persistent = persistent;
    q->begin_immediate = strcmp(sql, "BEGIN IMMEDIATE") == 0;
    q->begin_exclusive = strcmp(sql, "BEGIN EXCLUSIVE") == 0;
    q->end_tx = strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0;
    q->sql = bg_pg_translate(sql);
    if (nparams > 0) {
        q->vals = calloc((size_t)nparams, sizeof *q->vals);
        q->types = calloc((size_t)nparams, sizeof *q->types);
    }
    if (!q->sql || (nparams > 0 && (!q->vals || !q->types))) {
        bg_pg_finalize(q);
        *rc = SQLITE_NOMEM;
        return NULL;
    }
    snprintf(q->name, sizeof q->name, "bg%u", ++c->next_name);
    *rc = SQLITE_OK;
    return q;
}

/* Clear the bound values. */
static void bg_pg_unbind(bg_pg_stmt *q)
{
    for (int i = 0; i < q->nparams; i++) {
        free(q->vals[i]);
        q->vals[i] = NULL;
    }
}

/* q's answer, if still owed by a pipeline, goes to nobody. */
static void bg_pg_forget(bg_pg_stmt *q)
{
    bg_pg *c = q->c;
    for (int k = 0; k < c->qn; k++)
        if (c->queue[(c->qh + k) % BG_PG_QUEUE] == q)
            c->queue[(c->qh + k) % BG_PG_QUEUE] = NULL;
    q->sent = q->answered = 0;
    q->prc = 0;
}

void bg_pg_finalize(bg_pg_stmt *q)
{
    if (!q)
        return;
    bg_pg_forget(q);
    if (q->c->active == q)
        bg_pg_settle(q->c);
    if (q->row)
        bg_pq.clear(q->row);
    if (q->vals)
        bg_pg_unbind(q);
    free(q->vals);
    free(q->types);
    free(q->sql);
    free(q);
}

void bg_pg_reset(bg_pg_stmt *q)
{
    bg_pg_forget(q);
    if (q->c->active == q)
        bg_pg_settle(q->c);
    if (q->row) {
        bg_pq.clear(q->row);
        q->row = NULL;
    }
    q->running = 0;
}

void bg_pg_clear(bg_pg_stmt *q)
{
    bg_pg_unbind(q);
}

/* Copy text as valid UTF-8: a byte that starts no complete sequence
 * becomes '?'. */
static char *bg_pg_utf8(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t i = 0, k = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        size_t len = ch < 0x80 ? 1 : (ch >= 0xc2 && ch <= 0xdf) ? 2 : (ch >> 4) == 0xe ? 3
                                  : (ch >= 0xf0 && ch <= 0xf4) ? 4 : 0;
        int good = len > 0 && i + len <= n;
        for (size_t j = 1; good && j < len; j++)
            good = ((unsigned char)s[i + j] & 0xc0) == 0x80;
        if (good && len == 3) { /* no overlongs, no surrogates */
            unsigned char c1 = (unsigned char)s[i + 1];
            good = !(ch == 0xe0 && c1 < 0xa0) && !(ch == 0xed && c1 >= 0xa0);
        } else if (good && len == 4) {
            unsigned char c1 = (unsigned char)s[i + 1];
            good = !(ch == 0xf0 && c1 < 0x90) && !(ch == 0xf4 && c1 >= 0x90);
        }
        if (!good) {
            o[k++] = '?';
            i++;
            continue;
        }
        memcpy(o + k, s + i, len);
        k += len;
        i += len;
    }
    o[k] = '\0';
    return o;
}

void bg_pg_bind(bg_pg_stmt *q, int i, const char *text, int is_int)
{
    if (i < 1 || i > q->nparams)
        return;
    free(q->vals[i - 1]);
    q->vals[i - 1] = is_int ? strdup(text) : bg_pg_utf8(text);
    Oid t = is_int ? BG_PG_INT8OID : BG_PG_TEXTOID;
    if (q->prepared_gen == q->c->gen && q->types[i - 1] != t)
        q->prepared_gen = 0; /* another type than it was prepared with */
    q->types[i - 1] = t;
}

/* Prepare q on the server (its first run on this connection). */
static int bg_pg_server_prepare(bg_pg_stmt *q)
{
    bg_pg *c = q->c;
    snprintf(q->name, sizeof q->name, "bg%u", ++c->next_name);
    if (!bg_pq.sendPrepare(c->conn, q->name, q->sql, q->nparams, q->types)) {
        bg_pg_drop(c, bg_pq.errorMessage(c->conn));
        return SQLITE_IOERR;
    }
    int rc = bg_pg_flush(c);
    if (rc != SQLITE_OK)
        return rc;
    PGresult *r;
    rc = bg_pg_result(c, &r);
    if (rc != SQLITE_OK)
        return rc;
    if (r && bg_pq.resultStatus(r) != PGRES_COMMAND_OK) {
        rc = bg_pg_map(r, c);
        bg_pg_seterr(c, bg_pq.resultErrorMessage(r), NULL);
    }
    if (r)
        bg_pq.clear(r);
    int d = bg_pg_drain(c);
    if (rc == SQLITE_OK)
        rc = d;
    if (rc == SQLITE_OK)
        q->prepared_gen = c->gen;
    return rc;
}

/* Start q: send it and turn single-row mode on. */
static int bg_pg_start(bg_pg_stmt *q)
{
    bg_pg *c = q->c;
    bg_pg_settle(c);
    c->changes = 0;
    int ok;
    if (q->begin_immediate) {
        ok = bg_pq.sendQuery(c->conn, BG_PG_WRITER_XACT);
    } else if (q->begin_exclusive) {
        c->locked = 1; /* until COMMIT or ROLLBACK (or the connection) ends */
        int rc = bg_pg_exec(c, BG_PG_WRITER_LOCK);
        if (rc != SQLITE_OK)
            return rc;
        ok = bg_pq.sendQuery(c->conn, "BEGIN");
    } else if (q->end_tx) {
        ok = bg_pq.sendQuery(c->conn, q->sql);
    } else if (q->persistent) {
        if (q->prepared_gen != c->gen) {
            int rc = bg_pg_server_prepare(q);
            if (rc != SQLITE_OK)
                return rc;
        }
        ok = bg_pq.sendQueryPrepared(c->conn, q->name, q->nparams, (const char *const *)q->vals, NULL,
                                     NULL, 0);
        q->rowi = 0;
    } else {
        ok = bg_pq.sendQueryParams(c->conn, q->sql, q->nparams, q->types, (const char *const *)q->vals,
                                   NULL, NULL, 0);
    }
    if (!ok) {
        bg_pg_drop(c, bg_pq.errorMessage(c->conn));
        return SQLITE_IOERR;
    }
    if (!q->begin_immediate && !q->begin_exclusive && !q->end_tx)
        bg_pq.setSingleRowMode(c->conn);
    int rc = bg_pg_flush(c);
    if (rc != SQLITE_OK)
        return rc;
    q->running = 1;
    c->active = q;
    return SQLITE_OK;
}

static int bg_pg_step_once(bg_pg_stmt *q);

/* Give the writer lock back (after COMMIT or ROLLBACK, whatever they
 * answered: a failed COMMIT has ended the transaction too). */
static void bg_pg_unlock(bg_pg *c)
{
    if (!c->locked || !c->conn)
        return;
    c->locked = 0;
    if (bg_pg_exec(c, BG_PG_WRITER_UNLOCK) != SQLITE_OK && c->conn)
        bg_pg_drop(c, "the writer lock could not be given back"); /* the server frees it with the session */
}

/* One query's results in pipeline mode, up to its NULL: kept in q when q
 * waits for them (its first result with rows, the changes, a failure),
 * else only a failure counts (in pending_rc, the text in err). */
static int bg_pg_read_one(bg_pg *c, bg_pg_stmt *q)
{
    for (;;) {
        PGresult *r;
        int rc = bg_pg_result(c, &r);
        if (rc != SQLITE_OK)
            return rc;
        if (!r)
            return SQLITE_OK;
        ExecStatusType t = bg_pq.resultStatus(r);
        if (t == PGRES_TUPLES_OK || t == PGRES_COMMAND_OK) {
            const char *n = bg_pq.cmdTuples(r);
            if (q && n && *n)
                q->pchanges = strtoll(n, NULL, 10);
            if (q && t == PGRES_TUPLES_OK && !q->row && bg_pq.ntuples(r) > 0) {
                q->row = r;
                q->rowi = -1; /* bg_pg_step_pipelined moves to the first */
                continue;
            }
        } else {
            int e = t == PGRES_FATAL_ERROR ? bg_pg_map(r, c) : SQLITE_ERROR;
            if (!c->pending_rc) {
                c->pending_rc = e;
                bg_pg_seterr(c, bg_pq.resultErrorMessage(r), NULL);
            }
            if (q)
                q->prc = e;
        }
        bg_pq.clear(r);
    }
}

/* Read the queue's results in order until q has its own (q NULL: all). */
static int bg_pg_read_until(bg_pg *c, bg_pg_stmt *q)
{
    while (c->qn > 0) {
        bg_pg_stmt *h = c->queue[c->qh];
        c->qh = (c->qh + 1) % BG_PG_QUEUE;
        c->qn--;
        int rc = bg_pg_read_one(c, h);
        if (h)
            h->sent = 0, h->answered = 1;
        if (rc != SQLITE_OK)
            return rc;
        if (q && h == q)
            return SQLITE_OK;
    }
    return SQLITE_OK;
}

/* Put a sent query in the queue (NULL: nobody reads its result); a full
 * queue is read first. */
static int bg_pg_enqueue(bg_pg *c, bg_pg_stmt *q)
{
    if (c->qn == BG_PG_QUEUE) {
        int rc = bg_pq.sendFlushRequest(c->conn) ? bg_pg_flush(c) : SQLITE_IOERR;
        c->unflushed = 0;
        if (rc == SQLITE_OK)
            rc = bg_pg_read_until(c, c->queue[(c->qh + c->qn - 1) % BG_PG_QUEUE]);
        if (rc != SQLITE_OK)
            return rc;
    }
    c->queue[(c->qh + c->qn) % BG_PG_QUEUE] = q;
    c->qn++;
    return SQLITE_OK;
}

/* Send q in pipeline mode (prepared on the server first when it was not
 * on this connection); its answer is read later, in order. */
static int bg_pg_send_pipelined(bg_pg_stmt *q)
{
    bg_pg *c = q->c;
    if (q->begin_immediate || q->begin_exclusive || q->end_tx)
        return SQLITE_MISUSE; /* transactions begin and end outside a pipeline */
    if (q->persistent && q->prepared_gen != c->gen) {
        snprintf(q->name, sizeof q->name, "bg%u", ++c->next_name);
        if (!bg_pq.sendPrepare(c->conn, q->name, q->sql, q->nparams, q->types)) {
            bg_pg_drop(c, bg_pq.errorMessage(c->conn));
            return SQLITE_IOERR;
        }
        int rc = bg_pg_enqueue(c, NULL);
        if (rc != SQLITE_OK)
            return rc;
        q->prepared_gen = c->gen; /* a failure ends the pipeline, which forgets them all */
    }
    int ok = q->persistent ? bg_pq.sendQueryPrepared(c->conn, q->name, q->nparams, (const char *const *)q->vals,
                                                     NULL, NULL, 0)
                           : bg_pq.sendQueryParams(c->conn, q->sql, q->nparams, q->types,
                                                   (const char *const *)q->vals, NULL, NULL, 0);
    if (!ok) {
        bg_pg_drop(c, bg_pq.errorMessage(c->conn));
        return SQLITE_IOERR;
    }
    if (q->row) {
        bg_pq.clear(q->row);
        q->row = NULL;
    }
    q->prc = 0;
    q->pchanges = 0;
    q->answered = 0;
    q->sent = !q->deferrable;
    c->unflushed = 1;
    return bg_pg_enqueue(c, q->deferrable ? NULL : q);
}

/* A step in pipeline mode: a deferrable statement is sent and not waited
 * for; any other is sent (unless bg_pg_send sent it ahead) and its answer
 * read, with everything sent before it, in one round trip; its rows
 * (small: the batch's reads are key lookups) come at once. A failure of
 * a deferred statement is the failure of the next one waited for. */
static int bg_pg_step_pipelined(bg_pg_stmt *q)
{
    bg_pg *c = q->c;
    if (q->answered) { /* its answer is here: the next row of it */
        if (c->pending_rc)
            return c->pending_rc;
        c->changes = q->pchanges;
        if (q->row && ++q->rowi < bg_pq.ntuples(q->row))
            return SQLITE_ROW;
        if (q->row) {
            bg_pq.clear(q->row);
            q->row = NULL;
        }
        q->answered = 0;
        return q->prc ? q->prc : SQLITE_DONE;
    }
    if (!q->sent) {
        int rc = bg_pg_send_pipelined(q);
        if (rc != SQLITE_OK)
            return rc;
        if (q->deferrable) {
            c->changes = -1; /* not known: nobody reads it */
            return SQLITE_DONE;
        }
    }
    int rc = SQLITE_OK;
    if (c->unflushed) { /* ask for the answers of everything sent so far */
        rc = bg_pq.sendFlushRequest(c->conn) ? bg_pg_flush(c) : SQLITE_IOERR;
        c->unflushed = 0;
    }
    if (rc == SQLITE_OK)
        rc = bg_pg_read_until(c, q);
    if (rc != SQLITE_OK)
        return rc;
    return bg_pg_step_pipelined(q);
}

int bg_pg_send(bg_pg_stmt *q)
{
    if (!q->c->pipelined || q->deferrable || q->sent)
        return SQLITE_OK; /* not pipelining: the step runs it */
    if (!q->c->conn)
        return SQLITE_IOERR;
    return bg_pg_send_pipelined(q);
}

int bg_pg_pipeline(bg_pg *c, int on)
{
    if (!c->conn)
        return on ? SQLITE_IOERR : SQLITE_OK;
    if (on) {
        if (c->pipelined)
            return SQLITE_OK;
        bg_pg_settle(c);
        if (!bg_pq.enterPipelineMode(c->conn))
            return SQLITE_ERROR;
        c->pipelined = 1;
        c->unflushed = 0;
        c->qh = c->qn = 0;
        c->pending_rc = 0;
        return SQLITE_OK;
    }
    if (!c->pipelined)
        return SQLITE_OK;
    c->pipelined = 0;
    int rc = SQLITE_OK;
    if (!bg_pq.pipelineSync(c->conn)) {
        bg_pg_drop(c, bg_pq.errorMessage(c->conn));
        return SQLITE_IOERR;
    }
    rc = bg_pg_flush(c);
    if (rc == SQLITE_OK)
        rc = bg_pg_read_until(c, NULL);
    while (rc == SQLITE_OK) { /* up to the sync point */
        PGresult *r;
        rc = bg_pg_result(c, &r);
        if (rc != SQLITE_OK || !r)
            continue;
        ExecStatusType t = bg_pq.resultStatus(r);
        bg_pq.clear(r);
        if (t == PGRES_PIPELINE_SYNC)
            break;
    }
    if (rc == SQLITE_OK && !bg_pq.exitPipelineMode(c->conn)) {
        bg_pg_drop(c, bg_pq.errorMessage(c->conn));
        rc = SQLITE_IOERR;
    }
    if (rc == SQLITE_OK)
        rc = c->pending_rc;
    if (rc != SQLITE_OK)
        c->gen++; /* what the pipeline prepared may not exist: prepare again */
    c->pending_rc = 0;
    for (int k = 0; k < c->qn; k++) { /* answers never read (a broken link) */
        bg_pg_stmt *h = c->queue[(c->qh + k) % BG_PG_QUEUE];
        if (h)
            h->sent = h->answered = 0;
    }
    c->qh = c->qn = 0;
    return rc;
}

void bg_pg_set_deferrable(bg_pg_stmt *q, int on)
{
    q->deferrable = on;
}

int bg_pg_step(bg_pg_stmt *q)
{
    if (q->c->pipelined)
        return q->c->conn ? bg_pg_step_pipelined(q) : SQLITE_IOERR;
    int rc = bg_pg_step_once(q);
    if (q->end_tx && rc != SQLITE_ROW) {
        char keep[sizeof q->c->err];
        memcpy(keep, q->c->err, sizeof keep);
        bg_pg_unlock(q->c);
        if (rc != SQLITE_DONE)
            memcpy(q->c->err, keep, sizeof keep);
    }
    return rc;
}

static int bg_pg_step_once(bg_pg_stmt *q)
{
    bg_pg *c = q->c;
    if (!c->conn)
        return SQLITE_IOERR;
    if (q->row) {
        bg_pq.clear(q->row);
        q->row = NULL;
    }
    if (!q->running) {
        int rc = bg_pg_start(q);
        if (rc != SQLITE_OK)
            return rc;
    }
    for (;;) {
        PGresult *r;
        int rc = bg_pg_result(c, &r);
        if (rc != SQLITE_OK) {
            q->running = 0;
            return rc;
        }
        if (!r) { /* no more results: done */
            q->running = 0;
            c->active = NULL;
            return SQLITE_DONE;
        }
        switch (bg_pq.resultStatus(r)) {
        case PGRES_SINGLE_TUPLE:
            q->row = r;
            return SQLITE_ROW;
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK: {
            const char *t = bg_pq.cmdTuples(r);
            if (t && *t)
                c->changes = strtoll(t, NULL, 10);
            bg_pq.clear(r);
            continue; /* the NULL after the last result ends it */
        }
        default: {
            rc = bg_pg_map(r, c);
            bg_pg_seterr(c, bg_pq.resultErrorMessage(r), NULL);
            bg_pq.clear(r);
            q->running = 0;
            c->active = NULL;
            if (c->conn)
                bg_pg_drain(c);
            return rc;
        }
        }
    }
}

const char *bg_pg_column(bg_pg_stmt *q, int i)
{
    if (!q->row || i < 0 || i >= bg_pq.nfields(q->row) || q->rowi >= bg_pq.ntuples(q->row))
        return "";
    const char *v = bg_pq.getvalue(q->row, q->rowi, i);
    return v ? v : "";
}
