/* bg_store_change: the change log (schema 4) -- one row per change to
 * what is in force, written inside the transaction of the change, read
 * by `suppress history`, `suppress changes` and replicas, pruned by age.
 *
 * The numbers come from a one-row counter (bg_change_seq) moved inside
 * the writer's transaction: SQLite runs one writer at a time, so numbers
 * follow commit order, a rolled-back change gives its number back, and
 * pruning old rows never lowers the counter. A reader that saw N asks for
 * > N and misses nothing. On PostgreSQL writers are one at a time too
 * (bg_db: BEGIN IMMEDIATE takes the store's writer lock) and the counter
 * row's lock would order them anyway (a SEQUENCE would not: its numbers
 * are taken before commit and can become visible out of order). Which changes are logged is decided
 * by the callers (bg_store_record.c, bg_store_admin.c); see bg_store.h.
 */
#include "bg_store_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bg_store_set_actor(bg_store *s, const bg_store_actor *a)
{
    if (!s)
        return;
    memset(&s->actor, 0, sizeof s->actor);
    s->actor.uid = -1;
    if (!a)
        return;
    s->actor.set = 1;
    s->actor.source = a->source == BG_SRC_IMPORT ? BG_SRC_IMPORT : BG_SRC_ADMIN;
    s->actor.uid = a->uid;
    bg_store_clean(s->actor.user, sizeof s->actor.user, a->user);
    bg_store_clean(s->actor.reason, sizeof s->actor.reason, a->reason);
}

void bg_store_note_join(char out[BG_STORE_NOTE_MAX], const char *a, const char *b)
{
    char tmp[2 * BG_STORE_NOTE_MAX];
    snprintf(tmp, sizeof tmp, "%s%s%s", a ? a : "", a && *a && b && *b ? "; " : "", b ? b : "");
    bg_store_clean(out, BG_STORE_NOTE_MAX, tmp);
}

/* Move the counter by n (inside the caller's write transaction). */
static int bg_change_count(bg_store *s, long long n)
{
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, ST_SEQ_NEXT, &rc);
    if (!q)
        return rc;
    bg_store_bind_int(q, 1, n);
    rc = bg_store_step(q);
    long long moved = bg_db_changes(s->db); /* -1: sent without waiting (bg_db_pipeline) */
    if (rc == SQLITE_OK && moved >= 0 && moved != 1)
        rc = SQLITE_CORRUPT; /* the counter row is gone: never number anew */
    return rc;
}

/* The actor's uid and name for a change from source (Exim's own paths
 * have none even on a handle that has one). */
static void bg_change_actor(const bg_store *s, bg_store_source source, long long *uid,
                            const char **user)
{
    *uid = -1;
    *user = "";
    if (s->actor.set && (source == BG_SRC_ADMIN || source == BG_SRC_IMPORT || source == BG_SRC_EXPIRE)) {
        *uid = s->actor.uid;
        *user = s->actor.user;
    }
}

int bg_store_change_add(bg_store *s, const char *op, const bg_store_row *r, int active, long long at,
                        bg_store_source source, const char *msgid, const char *note, long long *seq)
{
    int rc = bg_change_count(s, 1);
    if (rc != SQLITE_OK)
        return rc;
    bg_db_stmt *q = s->pg ? bg_store_aux(s, AUX_CHANGE_PG, bg_store_sql_change_returning, &rc)
                          : bg_store_stmt(s, ST_CHANGE_INSERT, &rc);
    if (!q)
        return rc;
    if (s->pg)
        bg_db_set_deferrable(q, 1); /* in the sync's batch nobody reads the number */
    long long uid;
    const char *user;
    bg_change_actor(s, source, &uid, &user);
    char n[BG_STORE_NOTE_MAX];
    bg_store_clean(n, sizeof n, note);
    bg_store_bind_int(q, 1, at);
    bg_store_bind(q, 2, op);
    bg_store_bind(q, 3, r->sender_domain);
    bg_store_bind(q, 4, r->recipient);
    bg_store_bind(q, 5, r->scope);
    bg_store_bind(q, 6, r->category);
    bg_store_bind(q, 7, r->status);
    bg_store_bind_int(q, 8, r->reply_code);
    bg_store_bind(q, 9, r->diagnostic);
    bg_store_bind_int(q, 10, r->suppressed_since);
    bg_store_bind_int(q, 11, r->expires_at);
    bg_store_bind_int(q, 12, r->soft_count);
    bg_store_bind_int(q, 13, active ? 1 : 0);
    bg_store_bind(q, 14, bg_store_source_name(source));
    bg_store_bind_int(q, 15, uid);
    bg_store_bind(q, 16, user);
    bg_store_bind(q, 17, msgid);
    bg_store_bind(q, 18, n);
    /* the number it got: the rowid (SQLite), RETURNING (PostgreSQL; not
     * known when sent without waiting) */
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW && seq)
        *seq = bg_db_column_int64(q, 0);
    else if (rc == SQLITE_DONE && seq && !s->pg)
        *seq = bg_db_last_rowid(s->db);
    bg_db_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int bg_store_change_rows(bg_store *s, int id, const char *op, long long at, bg_store_source source,
                         const char *note, void (*fill)(bg_db_stmt *q, const void *ctx),
                         const void *ctx)
{
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, id, &rc);
    if (!q)
        return rc;
    long long uid;
    const char *user;
    bg_change_actor(s, source, &uid, &user);
    bg_store_bind_int(q, 1, at);
    bg_store_bind(q, 2, op);
    bg_store_bind(q, 3, bg_store_source_name(source));
    bg_store_bind_int(q, 4, uid);
    bg_store_bind(q, 5, user);
    bg_store_bind(q, 6, note);
    fill(q, ctx);
    rc = bg_store_step(q);
    if (rc != SQLITE_OK)
        return rc;
    int n = (int)bg_db_changes(s->db);
    return n > 0 ? bg_change_count(s, n) : SQLITE_OK;
}

/* ---- reading ---- */

/* 1 when the handle's file has a change log. */
static int bg_change_present(const bg_store *s)
{
    return s->schema >= 4;
}

bg_store_status bg_store_change_bounds_get(bg_store *s, bg_store_change_bounds *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return BG_STORE_INVALID;
    if (!bg_change_present(s))
        return BG_STORE_NOTFOUND;
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, ST_CHANGE_BOUNDS, &rc);
    if (!q)
        return bg_store_map(rc);
    while ((rc = bg_db_step(q)) != SQLITE_ROW && rc != SQLITE_DONE && bg_store_again(s, rc))
        bg_db_reset(q);
    if (rc == SQLITE_ROW) {
        out->last_seq = bg_db_column_int64(q, 0);
        out->pruned_seq = bg_db_column_int64(q, 1);
        out->pruned_at = bg_db_column_int64(q, 2);
        bg_store_col(q, 3, out->log_id, sizeof out->log_id);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_CORRUPT; /* the counter row is part of the schema */
    }
    bg_db_reset(q);
    return bg_store_map(rc);
}

/* Read the BG_CHANGE_COLS columns of the current result row. */
static void bg_change_read(bg_db_stmt *q, bg_store_change *c)
{
    memset(c, 0, sizeof *c);
    c->seq = bg_db_column_int64(q, 0);
    c->at = bg_db_column_int64(q, 1);
    bg_store_col(q, 2, c->op, sizeof c->op);
    bg_store_col(q, 3, c->sender_domain, sizeof c->sender_domain);
    bg_store_col(q, 4, c->recipient, sizeof c->recipient);
    bg_store_col(q, 5, c->scope, sizeof c->scope);
    bg_store_col(q, 6, c->category, sizeof c->category);
    bg_store_col(q, 7, c->status, sizeof c->status);
    c->reply_code = (int)bg_db_column_int64(q, 8);
    bg_store_col(q, 9, c->diagnostic, sizeof c->diagnostic);
    c->suppressed_since = bg_db_column_int64(q, 10);
    c->expires_at = bg_db_column_int64(q, 11);
    c->soft_count = (int)bg_db_column_int64(q, 12);
    c->active = (int)bg_db_column_int64(q, 13) != 0;
    bg_store_col(q, 14, c->source, sizeof c->source);
    c->actor_uid = bg_db_column_int64(q, 15);
    bg_store_col(q, 16, c->actor, sizeof c->actor);
    bg_store_col(q, 17, c->message_id, sizeof c->message_id);
    bg_store_col(q, 18, c->note, sizeof c->note);
}

bg_store_status bg_store_changes(bg_store *s, const bg_store_change_query *cq, bg_store_change_fn fn,
                                 void *ctx)
{
    if (!s || !cq || !fn)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX] = "", rcpt[BG_ADDR_MAX] = "";
    if (cq->sender_domain && *cq->sender_domain &&
        (bg_store_norm_recipient(cq->sender_domain, domain) < 0 || strchr(domain, '@')))
        return BG_STORE_INVALID;
    if (cq->recipient && *cq->recipient && bg_store_norm_recipient(cq->recipient, rcpt) < 0)
        return BG_STORE_INVALID;
    if (!bg_change_present(s))
        return BG_STORE_NOTFOUND;
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, rcpt[0] ? ST_CHANGES_RCPT : ST_CHANGES, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind_int(q, 1, cq->after_seq > 0 ? cq->after_seq : 0);
    bg_store_bind_int(q, 2, cq->up_to_seq > 0 ? cq->up_to_seq : LLONG_MAX);
    bg_store_bind_int(q, 3, cq->since > 0 ? cq->since : LLONG_MIN);
    bg_store_bind(q, 4, domain);
    bg_store_bind_int(q, 5, cq->limit > 0 ? cq->limit : LLONG_MAX);
    if (rcpt[0]) {
        const char *at = strrchr(rcpt, '@');
        bg_store_bind(q, 6, rcpt);
        bg_store_bind(q, 7, at ? at + 1 : rcpt);
    }
    bg_store_change c;
    int n = 0;
    for (;;) {
        rc = bg_db_step(q);
        if (rc == SQLITE_ROW) {
            n++;
            bg_change_read(q, &c);
            if (fn(&c, ctx)) {
                rc = SQLITE_DONE;
                break;
            }
            continue;
        }
        if (n == 0 && bg_store_again(s, rc)) {
            bg_db_reset(q);
            continue;
        }
        break;
    }
    bg_db_reset(q);
    return rc == SQLITE_DONE ? BG_STORE_OK : bg_store_map(rc);
}

/* ---- pruning ---- */

bg_store_status bg_store_expire_changes(bg_store *s, long long now, long long retention,
                                        int *removed)
{
    if (removed)
        *removed = 0;
    if (!s)
        return BG_STORE_INVALID;
    if (s->rdonly)
        return BG_STORE_READONLY;
    if (retention <= 0)
        return BG_STORE_OK;
    now = bg_store_now(now);
    long long cut = now - retention;
    bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    long long upto = 0;
    int n = 0;
    bg_db_stmt *q = bg_store_stmt(s, ST_CHANGE_PRUNE_MAX, &rc);
    if (q) {
        bg_store_bind_int(q, 1, cut);
        rc = bg_db_step(q);
        if (rc == SQLITE_ROW) {
            upto = bg_db_column_int64(q, 0);
            rc = SQLITE_OK;
        }
        bg_db_reset(q);
    }
    if (rc == SQLITE_OK && upto > 0 && (q = bg_store_stmt(s, ST_CHANGE_PRUNE, &rc))) {
        bg_store_bind_int(q, 1, upto);
        rc = bg_store_step(q);
        if (rc == SQLITE_OK)
            n = (int)bg_db_changes(s->db);
        if (rc == SQLITE_OK && (q = bg_store_stmt(s, ST_CHANGE_PRUNED, &rc))) {
            bg_store_bind_int(q, 1, upto);
            bg_store_bind_int(q, 2, cut);
            rc = bg_store_step(q);
        }
    }
    rc = bg_store_tx_end(s, rc);
    if (rc == SQLITE_OK && removed)
        *removed = n;
    return bg_store_map(rc);
}
