/* bg_store_admin: the administrator's side of the store (bounceguide
 * suppress): whole rows in and out, removal, listing, expiry, counts. */
#include "bg_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Write a whole row (admin, import) and make bg_soft agree with its soft
 * count: the events behind an imported count are not known one by one, so
 * they go in the way migration 2 seeds them (first at soft_window_start,
 * last at last_seen, the rest at the first's time). */
static int bg_row_put_write(bg_store *s, bg_store_row *r)
{
    int rc = bg_store_row_write(s, r);
    if (rc == SQLITE_OK)
        rc = bg_store_soft_drop(s, r->sender_domain, r->recipient);
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
        bg_db_stmt *q = bg_store_stmt(s, ST_SOFT_ADD, &rc);
        if (!q)
            break;
        bg_store_bind(q, 1, r->sender_domain);
        bg_store_bind(q, 2, r->recipient);
        bg_store_bind_int(q, 3, seed[i].at);
        bg_store_bind_int(q, 4, seed[i].n);
        rc = bg_store_step(q);
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
    int src = bg_store_source_parse(r.source);
    if (src < 0 || src == BG_SRC_EXPIRE)
        return BG_STORE_INVALID;
    bg_store_clean(r.sender_domain, sizeof r.sender_domain, domain);
    snprintf(r.recipient, sizeof r.recipient, "%s", key);
    bg_store_clean(r.diagnostic, sizeof r.diagnostic, row->diagnostic);
    bg_store_clean(r.status, sizeof r.status, row->status);
    bg_store_clean(r.last_message_id, sizeof r.last_message_id, row->last_message_id);
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_arm(s);
    long long now = bg_store_now(0);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    bg_store_row old;
    int found = bg_store_row_fetch(s, r.sender_domain, r.recipient, &old);
    if (found != SQLITE_ROW && found != SQLITE_DONE) {
        rc = found;
    } else {
        rc = bg_row_put_write(s, &r);
        if (rc == SQLITE_OK) {
            /* every administrator's write is logged: added where nothing
             * was in force, updated over a row in force, lifted when it
             * puts a row in force out of force */
            int was = found == SQLITE_ROW && bg_store_row_active(&old, now);
            int is = bg_store_row_active(&r, now);
            rc = bg_store_change_add(s, !was ? "added" : is ? "updated" : "lifted", &r, is, now,
                                     s->actor.set ? s->actor.source : BG_SRC_ADMIN, r.last_message_id,
                                     s->actor.reason, NULL);
        }
    }
    return bg_store_map(bg_store_tx_end(s, rc));
}

/* Filters of the bulk change-log statements (from parameter 7 on). */
typedef struct bg_change_key {
    const char *domain, *key;
    long long now;
} bg_change_key;

static void bg_fill_key(bg_db_stmt *q, const void *ctx)
{
    const bg_change_key *k = ctx;
    if (k->domain) {
        bg_store_bind(q, 7, k->domain);
        bg_store_bind(q, 8, k->key);
    } else {
        bg_store_bind(q, 7, k->key);
    }
}

static void bg_fill_now(bg_db_stmt *q, const void *ctx)
{
    bg_store_bind_int(q, 7, ((const bg_change_key *)ctx)->now);
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
    /* each row goes into the log as it was, then goes */
    bg_change_key ck = {all ? NULL : domain, k, 0};
    rc = bg_store_change_rows(s, all ? ST_CHANGE_LOG_ALL : ST_CHANGE_LOG_ONE, "removed", bg_store_now(0),
                              s->actor.set ? s->actor.source : BG_SRC_ADMIN, s->actor.reason,
                              bg_fill_key, &ck);
    bg_db_stmt *q = rc == SQLITE_OK ? bg_store_stmt(s, all ? ST_REMOVE_ALL : ST_REMOVE_ONE, &rc) : NULL;
    if (q) {
        if (all) {
            bg_store_bind(q, 1, k);
        } else {
            bg_store_bind(q, 1, domain);
            bg_store_bind(q, 2, k);
        }
        rc = bg_store_step(q);
        if (rc == SQLITE_OK && removed)
            *removed = (int)bg_db_changes(s->db);
        if (rc == SQLITE_OK)
            rc = bg_store_soft_drop(s, all ? NULL : domain, k);
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
    bg_db_stmt *q = bg_store_stmt(s, ST_LIST, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind(q, 1, domain);
    bg_store_bind(q, 2, category);
    bg_store_bind(q, 3, rcpt);
    bg_store_bind_int(q, 4, active_only ? 1 : 0);
    bg_store_bind_int(q, 5, bg_store_now(now));
    bg_store_row r;
    while ((rc = bg_db_step(q)) == SQLITE_ROW) {
        bg_store_row_read(q, &r);
        if (fn(&r, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    bg_db_reset(q);
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
    now = bg_store_now(now);
    bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    /* the rows whose end has passed go into the log first (source expire);
     * soft rows still counting were never in force and go unlogged */
    bg_change_key ck = {NULL, NULL, now};
    rc = bg_store_change_rows(s, ST_CHANGE_LOG_EXPIRED, "expired", now, BG_SRC_EXPIRE, "",
                              bg_fill_now, &ck);
    /* soft events whose row is gone (or is no longer a soft row) go with
     * it; those of live soft rows are pruned by the row's own next event */
    static const int ids[] = {ST_EXPIRE_ROWS, ST_EXPIRE_SOFT, ST_EXPIRE_SOFT_ORPHANS,
                              ST_EXPIRE_EVENTS, -1};
    for (int i = 0; ids[i] >= 0 && rc == SQLITE_OK; i++) {
        if (ids[i] == ST_EXPIRE_EVENTS && event_retention <= 0)
            continue;
        bg_db_stmt *q = bg_store_stmt(s, ids[i], &rc);
        if (!q)
            break;
        long long cut = now;
        if (ids[i] != ST_EXPIRE_ROWS)
            cut = now - (event_retention > 0 ? event_retention : 0);
        if (bg_db_param_count(q) > 0)
            bg_store_bind_int(q, 1, cut);
        rc = bg_store_step(q);
        if (rc == SQLITE_OK && ids[i] != ST_EXPIRE_SOFT_ORPHANS) {
            if (ids[i] == ST_EXPIRE_EVENTS)
                events += (int)bg_db_changes(s->db);
            else
                rows += (int)bg_db_changes(s->db);
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
    bg_db_stmt *q = bg_store_stmt(s, id, &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, domain);
    if (bg_db_param_count(q) >= 2)
        bg_store_bind_int(q, 2, now);
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW) {
        *out = bg_db_column_int64(q, 0);
        rc = SQLITE_OK;
    }
    bg_db_reset(q);
    return rc;
}

/* One integer from a statement without parameters (size figures only). */
static long long bg_store_num(bg_store *s, const char *sql)
{
    int rc;
    long long v = 0;
    bg_db_stmt *q = bg_db_prepare(s->db, sql, 0, &rc);
    if (q && bg_db_step(q) == SQLITE_ROW)
        v = bg_db_column_int64(q, 0);
    bg_db_finalize(q);
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
    now = bg_store_now(now);
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
    if (s->pg) { /* the database's size, in PostgreSQL's 8 KB pages */
        out->page_size = 8192;
        out->page_count = bg_store_num(s, "SELECT pg_database_size(current_database()) / 8192");
    } else {
        out->page_count = bg_store_num(s, "PRAGMA page_count");
        out->page_size = bg_store_num(s, "PRAGMA page_size");
    }
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
    bg_db_stmt *q = bg_store_stmt(s, ST_COUNT_CAT, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind(q, 1, domain);
    bg_store_bind_int(q, 2, bg_store_now(now));
    while ((rc = bg_db_step(q)) == SQLITE_ROW) {
        char d[BG_DOMAIN_MAX], c[BG_CATEGORY_ID_MAX];
        bg_store_col(q, 0, d, sizeof d);
        bg_store_col(q, 1, c, sizeof c);
        if (fn(d, c, bg_db_column_int64(q, 2), ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    bg_db_reset(q);
    return rc == SQLITE_DONE ? BG_STORE_OK : bg_store_map(rc);
}

