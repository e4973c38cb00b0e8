/* bg_store_sync: one fleet host's sync between its local files and the
 * central store (include/bg_store_fleet.h): ship the journal, follow the
 * change log into the replica.
 *
 * Shipping is exactly once. A batch of journal entries is applied in one
 * central transaction (BEGIN IMMEDIATE: the store's writer lock) that
 * also moves this journal's mark in bg_fleet_host to the batch's last
 * entry; entries at or below the mark are skipped. Only after the commit
 * does the journal forget them, so a crash in between re-sends a batch
 * the mark then skips. Each entry goes through the store's own
 * bg_store_record / bg_store_delivered / bg_store_note_ip with the time
 * and the rule it was journaled with: the same dedupe (Message-ID,
 * recipient, kind) -- two hosts reporting one failure count once --, the
 * same sliding window, the same change log as on one host.
 *
 * Following is the change log's own protocol (docs/suppression.md,
 * "Syncing another system"): the replica keeps (log_id, seq) in
 * bg_replica; active changes are upserts, the others deletes; a new log
 * id, or a cursor the log was pruned past, starts again from a snapshot.
 * The replica is written in SQLite transactions beside the RCPT checks
 * reading it (WAL: readers never wait).
 *
 * The bookkeeping tables (bg_fleet_host in the central store, bg_replica
 * in a replica) are made here when first needed; they are not part of
 * the store's versioned schema.
 */
#include "bg_store_fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_store_count.h"
#include "bg_store_int.h"

#define BG_SYNC_PAGE 1000

struct bg_store_sync {
    char central_url[1024];
    char replica_path[1024];
    char journal_path[1024];
    char host[128];
    int timeout_ms;
    bg_store *journal;
    char journal_id[40];
    bg_store *replica;
    int replica_ready;
    bg_store *central;
    int central_ready;
    int one_by_one;     /* a batch failed for good: find the entry that did */
    bg_store_sync_note_fn note;
    void *note_ctx;
    bg_store_sync_drop_fn drop;
    void *drop_ctx;
    char err[900];
};

bg_store_sync *bg_store_sync_new(const bg_store_fleet_paths *p, int timeout_ms)
{
    bg_store_sync *y = calloc(1, sizeof *y);
    if (!y)
        return NULL;
    snprintf(y->central_url, sizeof y->central_url, "%s", p->central ? p->central : "");
    snprintf(y->replica_path, sizeof y->replica_path, "%s",
             p->replica && *p->replica ? p->replica : BG_STORE_DEFAULT_REPLICA);
    snprintf(y->journal_path, sizeof y->journal_path, "%s",
             p->journal && *p->journal ? p->journal : BG_STORE_DEFAULT_JOURNAL);
    y->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    return y;
}

void bg_store_sync_free(bg_store_sync *y)
{
    if (!y)
        return;
    bg_store_close(y->journal);
    bg_store_close(y->replica);
    bg_store_close(y->central);
    free(y);
}

void bg_store_sync_set_host(bg_store_sync *y, const char *host)
{
    snprintf(y->host, sizeof y->host, "%s", host ? host : "");
}

void bg_store_sync_on_suppressed(bg_store_sync *y, bg_store_sync_note_fn fn, void *ctx)
{
    y->note = fn;
    y->note_ctx = ctx;
}

void bg_store_sync_on_dropped(bg_store_sync *y, bg_store_sync_drop_fn fn, void *ctx)
{
    y->drop = fn;
    y->drop_ctx = ctx;
}

const char *bg_store_sync_errmsg(const bg_store_sync *y)
{
    return y->err;
}

/* Say what failed; returns st. */
static bg_store_status bg_sync_fail(bg_store_sync *y, bg_store_status st, const char *what, const char *detail)
{
    snprintf(y->err, sizeof y->err, "%.300s: %s%s%.500s", what, bg_store_status_text(st), detail && *detail ? ": " : "",
             detail ? detail : "");
    return st;
}

/* The journal, opened (and made) on first use. */
static bg_store *bg_sync_journal(bg_store_sync *y, bg_store_status *st)
{
    if (y->journal)
        return y->journal;
    char err[700];
    y->journal = bg_store_open(y->journal_path, y->timeout_ms, BG_STORE_CREATE, st, err, sizeof err);
    if (!y->journal) {
        bg_sync_fail(y, *st, "journal", err);
        return NULL;
    }
    int rc = bg_store_journal_init(y->journal, y->journal_id);
    if (rc != SQLITE_OK) {
        *st = bg_store_map(rc);
        bg_sync_fail(y, *st, y->journal_path, bg_db_errmsg(y->journal->db));
        bg_store_close(y->journal);
        y->journal = NULL;
        return NULL;
    }
    return y->journal;
}

/* The central store, connected (and its schema made) on first use and
 * again after it failed. */
static bg_store *bg_sync_central(bg_store_sync *y, bg_store_status *st)
{
    if (y->central && bg_db_alive(y->central->db))
        return y->central;
    bg_store_close(y->central);
    y->central = NULL;
    y->central_ready = 0;
    char err[700];
    y->central = bg_store_open(y->central_url, y->timeout_ms, BG_STORE_CREATE, st, err, sizeof err);
    if (!y->central) {
        bg_sync_fail(y, *st == BG_STORE_IO || *st == BG_STORE_BUSY ? BG_STORE_UNREACHABLE : *st,
                     "central store", err);
        *st = *st == BG_STORE_IO || *st == BG_STORE_BUSY ? BG_STORE_UNREACHABLE : *st;
        return NULL;
    }
    return y->central;
}

/* A central failure: the connection goes (the next call reconnects). */
static bg_store_status bg_sync_central_lost(bg_store_sync *y, bg_store_status st)
{
    const char *m = y->central ? bg_store_errmsg(y->central) : "";
    bg_sync_fail(y, st, "central store", m);
    if (y->central && !bg_db_alive(y->central->db)) {
        bg_store_close(y->central);
        y->central = NULL;
        y->central_ready = 0;
        if (st == BG_STORE_IO || st == BG_STORE_BUSY)
            st = BG_STORE_UNREACHABLE;
    }
    return st;
}

/* ---- shipping ---- */

typedef struct bg_sync_batch {
    bg_journal_entry *e;
    int n, cap;
} bg_sync_batch;

static int bg_sync_collect(const bg_journal_entry *e, void *ctx)
{
    bg_sync_batch *b = ctx;
    if (b->n >= b->cap)
        return 1;
    b->e[b->n++] = *e;
    return 0;
}

/* Make bg_fleet_host in the central store (once per connection), under
 * the writer lock (two hosts creating it at once would collide). */
static int bg_sync_host_table(bg_store_sync *y, bg_store *c)
{
    if (y->central_ready)
        return SQLITE_OK;
    bg_store_arm(c);
    int rc = bg_store_begin_schema(c);
    if (rc != SQLITE_OK)
        return rc;
    rc = bg_db_exec(c->db, "CREATE TABLE IF NOT EXISTS bg_fleet_host ("
                           " journal_id TEXT NOT NULL PRIMARY KEY,"
                           " host TEXT NOT NULL DEFAULT '',"
                           " last_jseq BIGINT NOT NULL,"
                           " shipped_at BIGINT NOT NULL DEFAULT 0,"
                           " events BIGINT NOT NULL DEFAULT 0)");
    if (rc == SQLITE_OK)
        rc = bg_store_tx(c, ST_COMMIT);
    else
        bg_store_tx(c, ST_ROLLBACK);
    if (rc == SQLITE_OK)
        y->central_ready = 1;
    return rc;
}

/* This journal's mark in the central store (0: none yet). */
static int bg_sync_mark_get(bg_store_sync *y, bg_store *c, long long *mark)
{
    int rc;
    *mark = 0;
    bg_db_stmt *q = bg_store_aux(c, AUX_H_GET, "SELECT last_jseq FROM bg_fleet_host WHERE journal_id = ?1", &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, y->journal_id);
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW)
        *mark = bg_db_column_int64(q, 0);
    bg_db_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int bg_sync_mark_set(bg_store_sync *y, bg_store *c, long long mark, long long n)
{
    int rc;
    bg_db_stmt *q = bg_store_aux(c, AUX_H_SET,
                                 "INSERT INTO bg_fleet_host (journal_id, host, last_jseq, shipped_at, events) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (journal_id) DO UPDATE SET "
                                 "host = excluded.host, last_jseq = excluded.last_jseq, "
                                 "shipped_at = excluded.shipped_at, events = bg_fleet_host.events + excluded.events",
                                 &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, y->journal_id);
    bg_store_bind(q, 2, y->host);
    bg_store_bind_int(q, 3, mark);
    bg_store_bind_int(q, 4, (long long)time(NULL));
    bg_store_bind_int(q, 5, n);
    return bg_store_step(q);
}

/* 1 when a failure may pass by itself (try the batch again later). */
static int bg_sync_transient(bg_store_status st)
{
    return st == BG_STORE_BUSY || st == BG_STORE_IO || st == BG_STORE_UNREACHABLE || st == BG_STORE_NOMEM ||
           st == BG_STORE_READONLY;
}

/* Apply one journal entry to the central store (inside the batch's
 * transaction). BG_STORE_OK, DUPLICATE, INVALID (bad data: nothing
 * written), else a failure that ends the batch. */
static bg_store_status bg_sync_apply(bg_store_sync *y, bg_store *c, const bg_journal_entry *e,
                                     bg_store_sync_stats *out)
{
    bg_store_status st;
    switch (e->op) {
    case BG_J_RECORD: {
        bg_store_event ev = {
            .sender_domain = e->sender_domain,
            .recipient = e->recipient,
            .message_id = e->message_id,
            .deferred = e->deferred,
            .category = e->category,
            .status = e->status,
            .reply_code = e->reply_code,
            .diagnostic = e->diagnostic,
            .sending_ip = e->sending_ip,
            .source = e->source,
            .now = e->at,
            .note = e->note,
        };
        bg_store_result res;
        st = bg_store_record(c, &ev, &e->rule, &res);
        if (st == BG_STORE_OK && res.newly_suppressed) {
            out->suppressed++;
            if (y->note)
                y->note(e->sender_domain, res.key, e->category, y->note_ctx);
        }
        break;
    }
    case BG_J_DELIVERED:
        st = bg_store_delivered(c, e->sender_domain, e->recipient, e->message_id, e->sending_ip,
                                e->remote_host, e->at);
        break;
    case BG_J_IP:
        st = bg_store_note_ip(c, e->message_id, e->sender_domain, e->sending_ip, e->at);
        break;
    case BG_J_COUNT: {
        int o = bg_store_outcome_parse(e->kind);
        st = o < 0 ? BG_STORE_INVALID
                   : bg_store_count_add(c, e->sender_domain, e->note, (bg_store_outcome)o, e->category,
                                        e->reply_code, e->at);
        if (st == BG_STORE_NOTFOUND) /* a central store before schema 5 counts nothing */
            st = BG_STORE_OK;
        break;
    }
    default:
        st = BG_STORE_INVALID;
    }
    return st;
}

bg_store_status bg_store_sync_ship(bg_store_sync *y, int max, bg_store_sync_stats *out)
{
    y->err[0] = '\0';
    bg_store_status st;
    bg_store *j = bg_sync_journal(y, &st);
    if (!j)
        return st;
    if (max <= 0)
        max = 500;
    if (y->one_by_one)
        max = 1;
    bg_sync_batch b = {calloc((size_t)max, sizeof *b.e), 0, max};
    if (!b.e)
        return BG_STORE_NOMEM;
    int rc = bg_store_journal_read(j, 0, max, bg_sync_collect, &b);
    if (rc != SQLITE_OK) {
        free(b.e);
        return bg_sync_fail(y, bg_store_map(rc), y->journal_path, bg_db_errmsg(j->db));
    }
    if (b.n == 0) {
        free(b.e);
        y->one_by_one = 0;
        return BG_STORE_OK;
    }
    bg_store *c = bg_sync_central(y, &st);
    if (!c) {
        free(b.e);
        return st;
    }
    rc = bg_sync_host_table(y, c);
    if (rc != SQLITE_OK) {
        free(b.e);
        return bg_sync_central_lost(y, bg_store_map(rc));
    }
    /* one transaction: the entries and the mark; the writes whose outcome
     * nobody reads go without waiting (one round trip per read instead
     * of one per statement; bg_db_pipeline) */
    st = bg_store_begin(c);
    if (st != BG_STORE_OK) {
        free(b.e);
        return bg_sync_central_lost(y, st);
    }
    if (!y->one_by_one) /* one at a time: each failure where it happens */
        bg_store_pipeline(c, 1);
    long long mark, top = 0;
    rc = bg_sync_mark_get(y, c, &mark);
    if (rc == SQLITE_OK && bg_store_journal_top(j, &top) == SQLITE_OK && top < mark) {
        /* the journal went back in time (an older copy restored, a power
         * cut that took its last commits): its numbers now repeat ones
         * applied under this id, and what it appends anew would be
         * skipped. Ship under a new id from the start; what it still
         * holds from before was either shipped (its Message-ID dedupes
         * it) or not. */
        bg_store_rollback(c);
        rc = bg_store_journal_new_id(j, y->journal_id);
        snprintf(y->err, sizeof y->err, "journal %.400s is behind the central store's mark (%lld < %lld): "
                 "shipping it under a new id", y->journal_path, top, mark);
        if (rc != SQLITE_OK) {
            free(b.e);
            return bg_sync_fail(y, bg_store_map(rc), y->journal_path, bg_db_errmsg(j->db));
        }
        st = bg_store_begin(c);
        if (st != BG_STORE_OK) {
            free(b.e);
            return bg_sync_central_lost(y, st);
        }
        if (!y->one_by_one)
            bg_store_pipeline(c, 1);
        mark = 0;
    }
    bg_store_sync_stats d;
    memset(&d, 0, sizeof d);
    long long last = b.e[b.n - 1].jseq;
    st = bg_store_map(rc);
    for (int i = 0; i < b.n && st == BG_STORE_OK; i++) {
        if (b.e[i].jseq <= mark) { /* applied before a crash or a lost reply */
            d.duplicates++;
            continue;
        }
        bg_store_status a = bg_sync_apply(y, c, &b.e[i], &d);
        if (a == BG_STORE_OK || a == BG_STORE_DUPLICATE) {
            d.shipped++;
            if (a == BG_STORE_DUPLICATE)
                d.duplicates++;
        } else if (a == BG_STORE_INVALID) {
            d.dropped++; /* not an event the store can take: nothing written */
            snprintf(y->err, sizeof y->err, "journal entry %lld (%s, %s) is not valid; dropped", b.e[i].jseq,
                     b.e[i].recipient, b.e[i].sender_domain);
            if (y->drop)
                y->drop(y->err, y->drop_ctx);
        } else {
            st = a;
            if (y->one_by_one && !bg_sync_transient(a)) {
                /* this one entry fails for good: log it, move past it */
                d.dropped++;
                snprintf(y->err, sizeof y->err, "journal entry %lld (%.200s, %.100s) refused by the central store: %.400s; dropped",
                         b.e[i].jseq, b.e[i].recipient, b.e[i].sender_domain, bg_store_errmsg(c));
                if (y->drop)
                    y->drop(y->err, y->drop_ctx);
                bg_store_rollback(c);
                if (bg_store_begin(c) == BG_STORE_OK) {
                    rc = bg_sync_mark_set(y, c, b.e[i].jseq, 0);
                    st = rc == SQLITE_OK ? bg_store_commit(c) : bg_store_map(rc);
                    if (rc != SQLITE_OK)
                        bg_store_rollback(c);
                }
                if (st == BG_STORE_OK)
                    bg_store_journal_forget(j, b.e[i].jseq);
                free(b.e);
                out->dropped += d.dropped;
                return st;
            }
        }
    }
    if (st == BG_STORE_OK) {
        rc = bg_sync_mark_set(y, c, last, d.shipped);
        st = rc == SQLITE_OK ? bg_store_commit(c) : bg_store_map(rc);
        if (rc != SQLITE_OK)
            bg_store_rollback(c);
    } else {
        const char *m = bg_store_errmsg(c);
        char why[600];
        snprintf(why, sizeof why, "%s", m);
        bg_store_rollback(c);
        if (!bg_sync_transient(st))
            y->one_by_one = 1; /* find the entry, one at a time */
        free(b.e);
        return bg_sync_central_lost(y, st);
    }
    free(b.e);
    if (st != BG_STORE_OK)
        return bg_sync_central_lost(y, st);
    /* committed: the journal may forget them (a crash before this only
     * makes the next batch skip them by the mark) */
    rc = bg_store_journal_forget(j, last);
    out->shipped += d.shipped;
    out->duplicates += d.duplicates;
    out->dropped += d.dropped;
    out->suppressed += d.suppressed;
    if (y->one_by_one && b.n == 1)
        y->one_by_one = 0;
    if (rc != SQLITE_OK)
        return bg_sync_fail(y, bg_store_map(rc), y->journal_path, bg_db_errmsg(j->db));
    return BG_STORE_OK;
}

/* ---- following ---- */

/* The replica, opened (made) on first use, with its cursor table. */
static bg_store *bg_sync_replica(bg_store_sync *y, bg_store_status *st)
{
    if (y->replica && y->replica_ready)
        return y->replica;
    char err[700];
    if (!y->replica) {
        y->replica = bg_store_open(y->replica_path, y->timeout_ms, BG_STORE_CREATE, st, err, sizeof err);
        if (!y->replica) {
            bg_sync_fail(y, *st, "replica", err);
            return NULL;
        }
    }
    bg_store_arm(y->replica);
    int rc = bg_db_exec(y->replica->db, "CREATE TABLE IF NOT EXISTS bg_replica (id INTEGER PRIMARY KEY,"
                                        " log_id TEXT NOT NULL, seq BIGINT NOT NULL, synced_at BIGINT NOT NULL,"
                                        " source TEXT NOT NULL DEFAULT '')");
    if (rc != SQLITE_OK) {
        *st = bg_store_map(rc);
        bg_sync_fail(y, *st, y->replica_path, bg_db_errmsg(y->replica->db));
        return NULL;
    }
    y->replica_ready = 1;
    return y->replica;
}

/* The replica's cursor: log id ("" when none) and seq. */
static int bg_sync_cursor_get(bg_store *r, char log_id[40], long long *seq, long long *synced_at)
{
    int rc;
    log_id[0] = '\0';
    *seq = 0;
    if (synced_at)
        *synced_at = 0;
    bg_db_stmt *q = bg_store_aux(r, AUX_R_CURSOR_GET, "SELECT log_id, seq, synced_at FROM bg_replica WHERE id = 1", &rc);
    if (!q)
        return rc;
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW) {
        bg_store_col(q, 0, log_id, 40);
        *seq = bg_db_column_int64(q, 1);
        if (synced_at)
            *synced_at = bg_db_column_int64(q, 2);
    }
    bg_db_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int bg_sync_cursor_set(bg_store_sync *y, bg_store *r, const char *log_id, long long seq)
{
    int rc;
    bg_db_stmt *q = bg_store_aux(r, AUX_R_CURSOR_SET,
                                 "INSERT INTO bg_replica (id, log_id, seq, synced_at, source) VALUES (1, ?1, ?2, ?3, ?4) "
                                 "ON CONFLICT (id) DO UPDATE SET log_id = excluded.log_id, seq = excluded.seq, "
                                 "synced_at = excluded.synced_at, source = excluded.source",
                                 &rc);
    if (!q)
        return rc;
    char src[600];
    bg_store_redact(y->central_url, src, sizeof src);
    bg_store_bind(q, 1, log_id);
    bg_store_bind_int(q, 2, seq);
    bg_store_bind_int(q, 3, (long long)time(NULL));
    bg_store_bind(q, 4, src);
    return bg_store_step(q);
}

/* The row a change leaves in force (active changes only). */
static void bg_sync_row(const bg_store_change *c, bg_store_row *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->sender_domain, sizeof r->sender_domain, "%s", c->sender_domain);
    snprintf(r->recipient, sizeof r->recipient, "%s", c->recipient);
    snprintf(r->scope, sizeof r->scope, "%s", c->scope);
    snprintf(r->category, sizeof r->category, "%s", c->category);
    snprintf(r->status, sizeof r->status, "%s", c->status);
    r->reply_code = c->reply_code;
    snprintf(r->diagnostic, sizeof r->diagnostic, "%s", c->diagnostic);
    r->first_seen = c->suppressed_since > 0 ? c->suppressed_since : c->at;
    r->last_seen = c->at;
    r->soft_count = c->soft_count;
    r->suppressed_since = c->suppressed_since;
    r->expires_at = c->expires_at;
    snprintf(r->source, sizeof r->source, "%s", c->source);
    snprintf(r->last_message_id, sizeof r->last_message_id, "%s", c->message_id);
}

/* Apply one change to the replica (inside its transaction). */
static int bg_sync_apply_change(bg_store *r, const bg_store_change *c)
{
    if (c->active) {
        bg_store_row row;
        bg_sync_row(c, &row);
        return bg_store_row_write(r, &row);
    }
    int rc;
    bg_db_stmt *q = bg_store_aux(r, AUX_R_DELETE,
                                 "DELETE FROM bg_suppression WHERE sender_domain = ?1 AND recipient = ?2", &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, c->sender_domain);
    bg_store_bind(q, 2, c->recipient);
    return bg_store_step(q);
}

typedef struct bg_sync_page {
    bg_store_change *c;
    int n, cap;
} bg_sync_page;

static int bg_sync_page_add(const bg_store_change *c, void *ctx)
{
    bg_sync_page *p = ctx;
    if (p->n >= p->cap)
        return 1;
    p->c[p->n++] = *c;
    return 0;
}

typedef struct bg_sync_snap {
    bg_store *r;
    long long n;
    int rc;
} bg_sync_snap;

static int bg_sync_snap_row(const bg_store_row *row, void *ctx)
{
    bg_sync_snap *s = ctx;
    bg_store_row w = *row;
    w.soft_window_start = 0;
    s->rc = bg_store_row_write(s->r, &w);
    if (s->rc != SQLITE_OK)
        return 1;
    s->n++;
    return 0;
}

/* Start again from the central rows in force: the log's end read first,
 * so a change made during the copy comes again after it. */
static bg_store_status bg_sync_snapshot(bg_store_sync *y, bg_store *c, bg_store *r,
                                        const bg_store_change_bounds *b, bg_store_sync_stats *out)
{
    bg_store_status st = bg_store_begin(r);
    if (st != BG_STORE_OK)
        return bg_sync_fail(y, st, y->replica_path, bg_store_errmsg(r));
    int rc = bg_db_exec(r->db, "DELETE FROM bg_suppression; DELETE FROM bg_soft");
    bg_sync_snap sn = {r, 0, SQLITE_OK};
    if (rc == SQLITE_OK) {
        st = bg_store_list(c, NULL, NULL, NULL, 1, 0, bg_sync_snap_row, &sn);
        if (st != BG_STORE_OK) {
            bg_store_rollback(r);
            return bg_sync_central_lost(y, st);
        }
        rc = sn.rc;
    }
    if (rc == SQLITE_OK)
        rc = bg_sync_cursor_set(y, r, b->log_id, b->last_seq);
    if (rc != SQLITE_OK) {
        bg_store_rollback(r);
        return bg_sync_fail(y, bg_store_map(rc), y->replica_path, bg_store_errmsg(r));
    }
    st = bg_store_commit(r);
    if (st != BG_STORE_OK)
        return bg_sync_fail(y, st, y->replica_path, bg_store_errmsg(r));
    out->snapshot_rows += sn.n;
    return BG_STORE_OK;
}

bg_store_status bg_store_sync_pull(bg_store_sync *y, bg_store_sync_stats *out)
{
    y->err[0] = '\0';
    bg_store_status st;
    bg_store *r = bg_sync_replica(y, &st);
    if (!r)
        return st;
    bg_store *c = bg_sync_central(y, &st);
    if (!c)
        return st;
    bg_store_change_bounds b;
    st = bg_store_change_bounds_get(c, &b);
    if (st != BG_STORE_OK)
        return bg_sync_central_lost(y, st);
    char log_id[40];
    long long seq;
    bg_store_arm(r);
    int rc = bg_sync_cursor_get(r, log_id, &seq, NULL);
    if (rc != SQLITE_OK)
        return bg_sync_fail(y, bg_store_map(rc), y->replica_path, bg_store_errmsg(r));
    if (strcmp(log_id, b.log_id) != 0 || seq < b.pruned_seq || seq > b.last_seq) {
        st = bg_sync_snapshot(y, c, r, &b, out);
        if (st != BG_STORE_OK)
            return st;
        seq = b.last_seq;
    }
    bg_sync_page p = {malloc(BG_SYNC_PAGE * sizeof *p.c), 0, BG_SYNC_PAGE};
    if (!p.c)
        return BG_STORE_NOMEM;
    long long now = (long long)time(NULL);
    while (seq < b.last_seq) {
        p.n = 0;
        bg_store_change_query q = {.after_seq = seq, .up_to_seq = b.last_seq, .limit = BG_SYNC_PAGE};
        st = bg_store_changes(c, &q, bg_sync_page_add, &p);
        if (st != BG_STORE_OK) {
            free(p.c);
            return bg_sync_central_lost(y, st);
        }
        if (p.n == 0) { /* pruned under us: the next pull snapshots */
            free(p.c);
            return bg_sync_fail(y, BG_STORE_NOTFOUND, "central change log", "changes missing");
        }
        st = bg_store_begin(r);
        if (st != BG_STORE_OK) {
            free(p.c);
            return bg_sync_fail(y, st, y->replica_path, bg_store_errmsg(r));
        }
        rc = SQLITE_OK;
        for (int i = 0; i < p.n && rc == SQLITE_OK; i++) {
            rc = bg_sync_apply_change(r, &p.c[i]);
            if (now - p.c[i].at > out->lag_max_s)
                out->lag_max_s = now - p.c[i].at;
        }
        if (rc == SQLITE_OK)
            rc = bg_sync_cursor_set(y, r, b.log_id, p.c[p.n - 1].seq);
        if (rc != SQLITE_OK) {
            bg_store_rollback(r);
            free(p.c);
            return bg_sync_fail(y, bg_store_map(rc), y->replica_path, bg_store_errmsg(r));
        }
        st = bg_store_commit(r);
        if (st != BG_STORE_OK) {
            free(p.c);
            return bg_sync_fail(y, st, y->replica_path, bg_store_errmsg(r));
        }
        out->pulled += p.n;
        seq = p.c[p.n - 1].seq;
    }
    free(p.c);
    if (seq == b.last_seq) { /* caught up: say when */
        bg_store_arm(r);
        if (bg_store_begin(r) == BG_STORE_OK) {
            if (bg_sync_cursor_set(y, r, b.log_id, seq) == SQLITE_OK)
                bg_store_commit(r);
            else
                bg_store_rollback(r);
        }
    }
    out->cursor = seq;
    return BG_STORE_OK;
}

bg_store_status bg_store_sync_status_get(bg_store_sync *y, bg_store_sync_status *out)
{
    memset(out, 0, sizeof *out);
    bg_store_status st;
    bg_store *j = bg_sync_journal(y, &st);
    if (!j)
        return st;
    snprintf(out->journal_id, sizeof out->journal_id, "%s", y->journal_id);
    int rc = bg_store_journal_count(j, &out->journal_entries, &out->journal_oldest_at);
    if (rc != SQLITE_OK)
        return bg_sync_fail(y, bg_store_map(rc), y->journal_path, bg_db_errmsg(j->db));
    bg_store *r = bg_sync_replica(y, &st);
    if (!r)
        return st;
    bg_store_arm(r);
    rc = bg_sync_cursor_get(r, out->log_id, &out->cursor, &out->synced_at);
    if (rc != SQLITE_OK)
        return bg_sync_fail(y, bg_store_map(rc), y->replica_path, bg_store_errmsg(r));
    bg_store_stats s;
    if (bg_store_get_stats(r, NULL, 0, &s) == BG_STORE_OK)
        out->rows = s.rows;
    return BG_STORE_OK;
}
