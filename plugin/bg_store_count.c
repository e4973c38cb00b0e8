/* bg_store_count: delivery counters (schema 5) -- what `bounceguide
 * report` sums and what the bounce-rate guard reads -- and the guard's
 * resets. See include/bg_store_count.h.
 *
 * A count is one upsert on the counter's key; the event hook runs it in
 * the transaction of the event it counts (bg_store_count_begin), so an
 * event costs one more b-tree write and no more commits. Reads are sums
 * over a key range (the guard: one domain's recent hours) or over the
 * table (a report). Nothing here decides: the guard's limit is the
 * policy's (bg_policy), the flags are the report's.
 */
#include "bg_store_count.h"
#include "bg_store_int.h"

#include <stdio.h>
#include <string.h>

static const char *const bg_outcome_names[BG_OUT_N] = {"delivered", "bounced", "deferred", "complaint"};

const char *bg_store_outcome_name(bg_store_outcome o)
{
    return (unsigned)o < BG_OUT_N ? bg_outcome_names[o] : "";
}

int bg_store_outcome_parse(const char *name)
{
    for (int i = 0; name && i < BG_OUT_N; i++)
        if (strcmp(name, bg_outcome_names[i]) == 0)
            return i;
    return -1;
}

/* The counters exist from schema 5 on (an older file opened read-only
 * has none). */
static int bg_count_ready(const bg_store *s)
{
    return s->schema >= 5;
}

/* Where a read goes: the store itself, or for a fleet host's view the
 * central store (opened within the timeout, once per process: a guard
 * or a report on a fleet host waits on the network at most that long). */
static bg_store *bg_count_target(bg_store *s, bg_store_status *st)
{
    *st = BG_STORE_OK;
    return s->fleet ? bg_store_fleet_central(s, st) : s;
}

static long long bg_count_hour(long long t)
{
    return t - t % BG_STORE_COUNT_BUCKET;
}

bg_store_status bg_store_count_begin(bg_store *s)
{
    if (!s)
        return BG_STORE_INVALID;
    if (s->fleet) /* a fleet host: the event and its count are journal entries */
        return bg_store_begin(s);
    /* the statements of bg_store_record, bg_store_delivered and the
     * count: a fresh Exim process parses them here, not under the lock */
    static const int used[] = {ST_BEGIN,      ST_COMMIT,    ST_ROLLBACK,  ST_EVENT_INSERT,  ST_EVENT_SENT,
                               ST_ROW_GET,    ST_ROW_UPSERT, ST_SOFT_CLEAR, ST_SOFT_DROP,   ST_SOFT_ADD,
                               ST_SOFT_SUM,   ST_SOFT_PRUNE, ST_SEQ_NEXT,  ST_CHANGE_INSERT, ST_COUNT_ADD};
    size_t n = sizeof used / sizeof used[0] - (bg_count_ready(s) ? 0 : 1);
    for (size_t i = 0; i < n; i++) /* only what this handle has not prepared yet */
        if (!s->st[used[i]])
            bg_store_prepare(s, &used[i], 1);
    return bg_store_begin(s);
}

bg_store_status bg_store_count_add(bg_store *s, const char *sender_domain, const char *provider,
                                   bg_store_outcome o, const char *category, long long n,
                                   long long now)
{
    if (!s || (unsigned)o >= BG_OUT_N || n <= 0)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX];
    if (bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@') ||
        !bg_provider_by_id(provider))
        return BG_STORE_INVALID;
    char cat[BG_CATEGORY_ID_MAX];
    bg_store_clean(cat, sizeof cat, category);
    if (s->fleet) /* into the journal; the sync adds it to the central store */
        return bg_store_fleet_count(s, domain, provider, bg_outcome_names[o], cat, n, now);
    if (!bg_count_ready(s))
        return BG_STORE_NOTFOUND;
    if (s->rdonly)
        return BG_STORE_READONLY;
    if (!s->in_tx)
        bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    bg_db_stmt *q = bg_store_stmt(s, ST_COUNT_ADD, &rc);
    if (q) {
        bg_store_bind(q, 1, domain);
        bg_store_bind_int(q, 2, bg_count_hour(bg_store_now(now)));
        bg_store_bind(q, 3, provider);
        bg_store_bind(q, 4, bg_outcome_names[o]);
        bg_store_bind(q, 5, cat);
        bg_store_bind_int(q, 6, n);
        rc = bg_store_step(q);
    }
    return bg_store_map(bg_store_tx_end(s, rc));
}

bg_store_status bg_store_count_report(bg_store *s, bg_store_count_by by, long long since,
                                      long long until, const char *sender_domain,
                                      bg_store_count_group_fn fn, void *ctx)
{
    static const int ids[] = {ST_COUNT_BY_DOMAIN, ST_COUNT_BY_PROVIDER, ST_COUNT_BY_CATEGORY,
                              ST_COUNT_BY_DAY};
    if (!s || (unsigned)by >= sizeof ids / sizeof ids[0] || !fn)
        return BG_STORE_INVALID;
    bg_store_status cst;
    if (!(s = bg_count_target(s, &cst)))
        return cst;
    if (!bg_count_ready(s))
        return BG_STORE_NOTFOUND;
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, ids[by], &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind_int(q, 1, bg_count_hour(since > 0 ? since : 0));
    bg_store_bind_int(q, 2, until > 0 ? until : (long long)1 << 62);
    bg_store_bind(q, 3, sender_domain);
    /* the rows come by key, then outcome: one group per key */
    bg_store_count_group g;
    memset(&g, 0, sizeof g);
    int have = 0, stop = 0;
    while (!stop && (rc = bg_db_step(q)) == SQLITE_ROW) {
        const char *k = bg_db_column_text(q, 0);
        if (!k)
            k = "";
        if (have && strcmp(g.key, k) != 0) {
            stop = fn(&g, ctx);
            memset(&g, 0, sizeof g);
            have = 0;
            if (stop)
                break;
        }
        if (!have) {
            snprintf(g.key, sizeof g.key, "%s", k);
            have = 1;
        }
        int o = bg_store_outcome_parse(bg_db_column_text(q, 1));
        if (o >= 0)
            g.n[o] += bg_db_column_int64(q, 2);
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        rc = SQLITE_OK;
    if (rc == SQLITE_OK && have && !stop)
        fn(&g, ctx);
    bg_db_reset(q);
    return bg_store_map(rc);
}

bg_store_status bg_store_count_peak(bg_store *s, const char *provider, long long since,
                                    long long until, const char *sender_domain,
                                    bg_store_count_peak_fn fn, void *ctx)
{
    if (!s || !fn || !provider)
        return BG_STORE_INVALID;
    bg_store_status cst;
    if (!(s = bg_count_target(s, &cst)))
        return cst;
    if (!bg_count_ready(s))
        return BG_STORE_NOTFOUND;
    bg_store_arm(s);
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, ST_COUNT_PEAK, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind_int(q, 1, bg_count_hour(since > 0 ? since : 0));
    bg_store_bind_int(q, 2, until > 0 ? until : (long long)1 << 62);
    bg_store_bind(q, 3, sender_domain);
    bg_store_bind(q, 4, provider);
    char dom[BG_DOMAIN_MAX] = "";
    long long best = -1, best_day = 0;
    int stop = 0;
    while (!stop && (rc = bg_db_step(q)) == SQLITE_ROW) {
        const char *d = bg_db_column_text(q, 0);
        if (!d)
            d = "";
        if (best >= 0 && strcmp(dom, d) != 0) {
            stop = fn(dom, best_day, best, ctx);
            best = -1;
        }
        snprintf(dom, sizeof dom, "%s", d);
        long long n = bg_db_column_int64(q, 2);
        if (n > best) {
            best = n;
            best_day = bg_db_column_int64(q, 1);
        }
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        rc = SQLITE_OK;
    if (rc == SQLITE_OK && best >= 0 && !stop)
        fn(dom, best_day, best, ctx);
    bg_db_reset(q);
    return bg_store_map(rc);
}

bg_store_status bg_store_count_expire(bg_store *s, long long before, int *removed)
{
    if (removed)
        *removed = 0;
    if (!s)
        return BG_STORE_INVALID;
    bg_store_status cst;
    if (!(s = bg_count_target(s, &cst)))
        return cst;
    if (!bg_count_ready(s))
        return BG_STORE_OK; /* nothing to prune */
    if (s->rdonly)
        return BG_STORE_READONLY;
    bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    bg_db_stmt *q = bg_store_stmt(s, ST_COUNT_PRUNE, &rc);
    if (q) {
        bg_store_bind_int(q, 1, before);
        rc = bg_store_step(q);
        if (rc == SQLITE_OK && removed)
            *removed = (int)bg_db_changes(s->db);
    }
    if (rc == SQLITE_OK)
        rc = bg_store_tx(s, ST_COUNT_ANALYZE); /* about 0.3 s per million rows, once a day */
    return bg_store_map(bg_store_tx_end(s, rc));
}

/* Deliveries and bounces of a domain in the hours [from, to]. */
static int bg_guard_sum(bg_store *s, const char *domain, long long from, long long to,
                        long long *delivered, long long *bounced)
{
    *delivered = *bounced = 0;
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, ST_COUNT_GUARD, &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, domain);
    bg_store_bind_int(q, 2, from);
    bg_store_bind_int(q, 3, to);
    while ((rc = bg_db_step(q)) == SQLITE_ROW) {
        int o = bg_store_outcome_parse(bg_db_column_text(q, 0));
        if (o == BG_OUT_DELIVERED)
            *delivered = bg_db_column_int64(q, 1);
        else if (o == BG_OUT_BOUNCED)
            *bounced = bg_db_column_int64(q, 1);
    }
    bg_db_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The last reset of a domain: SQLITE_ROW (filled), SQLITE_DONE (none). */
static int bg_guard_get(bg_store *s, const char *domain, long long *reset_at, long long *base_bucket,
                        long long *base_delivered, long long *base_bounced, bg_store_guard *out)
{
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, ST_GUARD_GET, &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, domain);
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW) {
        *reset_at = bg_db_column_int64(q, 0);
        *base_bucket = bg_db_column_int64(q, 1);
        *base_delivered = bg_db_column_int64(q, 2);
        *base_bounced = bg_db_column_int64(q, 3);
        if (out) {
            bg_store_col(q, 4, out->actor, sizeof out->actor);
            bg_store_col(q, 5, out->note, sizeof out->note);
        }
    }
    bg_db_reset(q);
    return rc;
}

bg_store_status bg_store_guard_counts(bg_store *s, const char *sender_domain, long long window,
                                      long long now, bg_store_guard *out)
{
    if (!s || !out || window <= 0)
        return BG_STORE_INVALID;
    memset(out, 0, sizeof *out);
    bg_store_status cst;
    if (!(s = bg_count_target(s, &cst)))
        return cst;
    char domain[BG_ADDR_MAX];
    if (bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@'))
        return BG_STORE_INVALID;
    if (!bg_count_ready(s))
        return BG_STORE_NOTFOUND;
    now = bg_store_now(now);
    bg_store_arm(s);
    long long from = bg_count_hour(now - window), reset_at = 0, base_bucket = 0, bd = 0, bb = 0;
    int rc = bg_guard_get(s, domain, &reset_at, &base_bucket, &bd, &bb, out);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return bg_store_map(rc);
    out->from = from;
    if (rc == SQLITE_ROW) {
        out->reset_at = reset_at;
        if (base_bucket >= from) { /* the reset is inside the window: count from it */
            from = base_bucket;
            out->from = reset_at;
        } else {
            bd = bb = 0; /* its hour has left the window */
        }
    } else {
        bd = bb = 0;
    }
    rc = bg_guard_sum(s, domain, from, bg_count_hour(now), &out->delivered, &out->bounced);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    /* the hour of the reset counts what came after it only */
    out->delivered = out->delivered > bd ? out->delivered - bd : 0;
    out->bounced = out->bounced > bb ? out->bounced - bb : 0;
    return BG_STORE_OK;
}

bg_store_status bg_store_guard_reset(bg_store *s, const char *sender_domain, long long now)
{
    if (!s)
        return BG_STORE_INVALID;
    bg_store_status cst;
    if (!(s = bg_count_target(s, &cst)))
        return cst;
    char domain[BG_ADDR_MAX];
    if (bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@'))
        return BG_STORE_INVALID;
    if (!bg_count_ready(s))
        return BG_STORE_NOTFOUND;
    if (s->rdonly)
        return BG_STORE_READONLY;
    now = bg_store_now(now);
    bg_store_arm(s);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    long long hour = bg_count_hour(now), d = 0, b = 0;
    rc = bg_guard_sum(s, domain, hour, hour, &d, &b);
    bg_db_stmt *q = rc == SQLITE_OK ? bg_store_stmt(s, ST_GUARD_SET, &rc) : NULL;
    if (q) {
        char actor[BG_STORE_ACTOR_MAX] = "";
        if (s->actor.set)
            snprintf(actor, sizeof actor, "%s", s->actor.user);
        bg_store_bind(q, 1, domain);
        bg_store_bind_int(q, 2, now);
        bg_store_bind_int(q, 3, hour);
        bg_store_bind_int(q, 4, d);
        bg_store_bind_int(q, 5, b);
        bg_store_bind(q, 6, actor);
        bg_store_bind(q, 7, s->actor.set ? s->actor.reason : "");
        rc = bg_store_step(q);
    }
    return bg_store_map(bg_store_tx_end(s, rc));
}
