/* bg_store_copy: a whole store into another -- `bounceguide suppress
 * migrate --from FILE --to URL` moves a host's SQLite file into the
 * fleet's central store (include/bg_store_fleet.h).
 *
 * Table by table in key order, batch rows per target transaction, each
 * insert ON CONFLICT DO NOTHING: what the target has is kept, a second
 * run copies only what is missing (an interrupted copy resumes by running
 * it again), and two hosts' files can be merged into one store.
 *
 * The change log: into an empty log (a new central store) the source's
 * log goes on as it was -- its changes with their numbers, its id, its
 * counter, set first so that a change made in the target meanwhile
 * numbers after them. Into a log of its own (the central store already
 * runs), the source's history stays in the file and every row copied is
 * logged as added (source import): the replicas learn it from the log.
 */
#include "bg_store_fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_store_int.h"

/* One table: its columns (the key's first), which are integers, the key
 * width. The select pages by key (?1.. the last key, ?K+1 = 1 on the
 * first page) and is limited by ?K+2. */
typedef struct bg_copy_table {
    const char *name;
    const char *cols;
    int ncols, nkey;
    unsigned ints;  /* bit i: column i is an integer */
    const char *after; /* the key condition */
    const char *conflict;
} bg_copy_table;

#define BG_COPY_ROW_COLS                                                                   \
    "sender_domain, recipient, scope, category, status, reply_code, diagnostic, "          \
    "first_seen, last_seen, soft_count, soft_window_start, suppressed_since, expires_at, " \
    "source, last_message_id"
#define BG_COPY_CHANGE_COLS                                                                 \
    "seq, at, op, sender_domain, recipient, scope, category, status, reply_code, diagnostic, " \
    "suppressed_since, expires_at, soft_count, active, source, actor_uid, actor, message_id, note"

static const bg_copy_table bg_copy_tables[] = {
    {"bg_suppression", BG_COPY_ROW_COLS, 15, 2, (1u << 5) | (0x3fu << 7),
     "(sender_domain > ?1 OR (sender_domain = ?1 AND recipient > ?2))", "(sender_domain, recipient)"},
    {"bg_soft", "sender_domain, recipient, seen_at, n", 4, 3, (1u << 2) | (1u << 3),
     "(sender_domain > ?1 OR (sender_domain = ?1 AND (recipient > ?2 OR (recipient = ?2 AND seen_at > ?3))))",
     "(sender_domain, recipient, seen_at)"},
    {"bg_event", "message_id, recipient, kind, sender_domain, category, source, sending_ip, seen_at, remote_host",
     9, 3, 1u << 7,
     "(message_id > ?1 OR (message_id = ?1 AND (recipient > ?2 OR (recipient = ?2 AND kind > ?3))))",
     "(message_id, recipient, kind)"},
    {"bg_change", BG_COPY_CHANGE_COLS, 19, 1,
     (1u << 0) | (1u << 1) | (1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 15),
     "seq > ?1", "(seq)"},
    /* a guard's last reset per domain (schema 5): the target's is kept */
    {"bg_guard", "sender_domain, reset_at, base_bucket, base_delivered, base_bounced, actor, note", 7, 1,
     (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4), "sender_domain > ?1", "(sender_domain)"},
};

/* The delivery counters (schema 5) are not copied row by row: two hosts
 * count the same (domain, hour, operator, outcome, category), so a
 * source's counts are added to the target's, all in one transaction that
 * also notes the source's log id in bg_copy_done -- a second run finds
 * the note and adds nothing (exactly once per source file). */
#define BG_COPY_DONE_DDL                                                                    \
    "CREATE TABLE IF NOT EXISTS bg_copy_done (log_id TEXT NOT NULL, tab TEXT NOT NULL,"     \
    " at BIGINT NOT NULL, PRIMARY KEY (log_id, tab))"

static int bg_copy_counts(bg_store *from, bg_store *to, const char *log_id, long long *added)
{
    *added = 0;
    if (from->schema < 5 || to->schema < 5 || !log_id[0])
        return SQLITE_OK; /* no counters on one side, or a source without identity */
    bg_store_arm(to);
    int rc = bg_store_tx_begin(to);
    if (rc != SQLITE_OK)
        return rc;
    rc = bg_db_exec(to->db, BG_COPY_DONE_DDL);
    bg_db_stmt *qd = NULL, *qs = NULL, *qi = NULL;
    if (rc == SQLITE_OK)
        qd = bg_db_prepare(to->db,
                           "INSERT INTO bg_copy_done (log_id, tab, at) VALUES (?1, 'bg_count', ?2) "
                           "ON CONFLICT (log_id, tab) DO NOTHING",
                           0, &rc);
    if (qd) {
        bg_db_bind_text(qd, 1, log_id);
        bg_db_bind_int64(qd, 2, (long long)time(NULL));
        rc = bg_db_step(qd) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        if (rc == SQLITE_OK && bg_db_changes(to->db) == 0) { /* an earlier run added them */
            bg_db_finalize(qd);
            return bg_store_tx_end(to, SQLITE_OK);
        }
    }
    if (rc == SQLITE_OK)
        qs = bg_db_prepare(from->db, "SELECT sender_domain, bucket, provider, outcome, category, n FROM bg_count", 0,
                           &rc);
    if (qs) /* the event hook's own upsert, which adds to what is there */
        qi = bg_store_stmt(to, ST_COUNT_ADD, &rc);
    while (qi && rc == SQLITE_OK) {
        int r = bg_db_step(qs);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = r;
            break;
        }
        bg_db_reset(qi);
        bg_db_clear_bindings(qi);
        for (int i = 0; i < 6; i++) {
            if (i == 1 || i == 5)
                bg_db_bind_int64(qi, i + 1, bg_db_column_int64(qs, i));
            else
                bg_db_bind_text(qi, i + 1, bg_db_column_text(qs, i));
        }
        if (bg_db_step(qi) != SQLITE_DONE)
            rc = SQLITE_ERROR;
        else
            (*added)++;
    }
    bg_db_finalize(qd);
    bg_db_finalize(qs);
    if (qi)
        bg_db_reset(qi); /* the store's statement: kept for its next use */
    return bg_store_tx_end(to, rc);
}

/* The key of the last row copied. */
typedef struct bg_copy_key {
    char text[3][BG_ADDR_MAX + BG_MSGID_MAX];
    long long num[3];
    int first;
} bg_copy_key;

/* Copy one page of table t; *n gets the rows read (0: done). merge: log
 * the bg_suppression rows inserted as added. */
static int bg_copy_page(bg_store *from, bg_store *to, const bg_copy_table *t, int batch, bg_copy_key *k,
                        int merge, long long *n, long long *inserted, long long *kept)
{
    char sel[1400], ins[1400];
    /* ORDER BY the key columns: the first nkey of cols */
    char order[200] = "";
    const char *p = t->cols;
    for (int i = 0; i < t->nkey; i++) {
        size_t l = strcspn(p, ",");
        snprintf(order + strlen(order), sizeof order - strlen(order), "%s%.*s", i ? ", " : "", (int)l, p);
        p += l;
        while (*p == ',' || *p == ' ')
            p++;
    }
    snprintf(sel, sizeof sel, "SELECT %s FROM %s WHERE (?%d = 1 OR %s) ORDER BY %s LIMIT ?%d", t->cols, t->name,
             t->nkey + 1, t->after, order, t->nkey + 2);
    char vals[200] = "";
    for (int i = 1; i <= t->ncols; i++)
        snprintf(vals + strlen(vals), sizeof vals - strlen(vals), "%s?%d", i > 1 ? ", " : "", i);
    snprintf(ins, sizeof ins, "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT %s DO NOTHING", t->name, t->cols, vals,
             t->conflict);
    int rc;
    bg_db_stmt *qs = bg_db_prepare(from->db, sel, 0, &rc);
    if (!qs)
        return rc;
    bg_db_stmt *qi = bg_db_prepare(to->db, ins, 1, &rc);
    if (!qi) {
        bg_db_finalize(qs);
        return rc;
    }
    for (int i = 0; i < t->nkey; i++) {
        if (t->ints & (1u << i))
            bg_db_bind_int64(qs, i + 1, k->num[i]);
        else
            bg_db_bind_text(qs, i + 1, k->text[i]);
    }
    bg_db_bind_int64(qs, t->nkey + 1, k->first);
    bg_db_bind_int64(qs, t->nkey + 2, batch);
    bg_store_arm(from);
    bg_store_arm(to);
    *n = 0;
    rc = bg_store_tx_begin(to);
    long long now = (long long)time(NULL);
    while (rc == SQLITE_OK) {
        int r = bg_db_step(qs);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = r;
            break;
        }
        (*n)++;
        bg_db_reset(qi);
        bg_db_clear_bindings(qi);
        for (int i = 0; i < t->ncols; i++) {
            if (t->ints & (1u << i))
                bg_db_bind_int64(qi, i + 1, bg_db_column_int64(qs, i));
            else
                bg_db_bind_text(qi, i + 1, bg_db_column_text(qs, i));
        }
        for (int i = 0; i < t->nkey; i++) {
            if (t->ints & (1u << i))
                k->num[i] = bg_db_column_int64(qs, i);
            else
                snprintf(k->text[i], sizeof k->text[i], "%s", bg_db_column_text(qs, i));
        }
        int w = bg_db_step(qi);
        if (w != SQLITE_DONE) {
            rc = w;
            break;
        }
        if (bg_db_changes(to->db) == 0) {
            (*kept)++;
            continue;
        }
        (*inserted)++;
        if (merge && strcmp(t->name, "bg_suppression") == 0) {
            bg_store_row row;
            bg_store_row_read(qs, &row);
            rc = bg_store_change_add(to, "added", &row, bg_store_row_active(&row, now), now,
                                     to->actor.set ? to->actor.source : BG_SRC_IMPORT, row.last_message_id,
                                     to->actor.reason, NULL);
        }
    }
    k->first = 0;
    bg_db_finalize(qs);
    bg_db_finalize(qi);
    return bg_store_tx_end(to, rc);
}

/* Set the target's log to go on from the source's: its id, its counter
 * (never lowered), how far it was pruned. */
static int bg_copy_log_start(bg_store *to, const bg_store_change_bounds *src)
{
    int rc;
    bg_db_stmt *q = bg_db_prepare(to->db,
                                  "UPDATE bg_change_seq SET log_id = ?1, "
                                  "last_seq = CASE WHEN last_seq < ?2 THEN ?2 ELSE last_seq END, "
                                  "pruned_seq = CASE WHEN pruned_seq < ?3 THEN ?3 ELSE pruned_seq END, "
                                  "pruned_at = CASE WHEN pruned_at < ?4 THEN ?4 ELSE pruned_at END WHERE id = 1",
                                  0, &rc);
    if (!q)
        return rc;
    bg_db_bind_text(q, 1, src->log_id);
    bg_db_bind_int64(q, 2, src->last_seq);
    bg_db_bind_int64(q, 3, src->pruned_seq);
    bg_db_bind_int64(q, 4, src->pruned_at);
    rc = bg_db_step(q);
    bg_db_finalize(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Does the target's log hold any change? */
static int bg_copy_log_empty(bg_store *to, int *empty)
{
    int rc;
    *empty = 0;
    bg_db_stmt *q = bg_db_prepare(to->db, "SELECT COUNT(*) FROM bg_change", 0, &rc);
    if (!q)
        return rc;
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW)
        *empty = bg_db_column_int64(q, 0) == 0;
    bg_db_finalize(q);
    return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

bg_store_status bg_store_copy(bg_store *from, bg_store *to, int batch, bg_store_copy_stats *out,
                              void (*progress)(const char *table, long long n, void *ctx), void *ctx)
{
    memset(out, 0, sizeof *out);
    if (!from || !to || from->fleet || to->fleet)
        return BG_STORE_INVALID;
    if (to->rdonly)
        return BG_STORE_READONLY;
    if (batch <= 0)
        batch = 1000;
    bg_store_change_bounds sb, tb;
    bg_store_status st = bg_store_change_bounds_get(from, &sb);
    if (st != BG_STORE_OK)
        return st;
    /* which log: decided under the target's writer lock */
    bg_store_arm(to);
    int rc = bg_store_tx_begin(to);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    st = bg_store_change_bounds_get(to, &tb);
    rc = st == BG_STORE_OK ? SQLITE_OK : SQLITE_ERROR;
    int keep = 0;
    if (rc == SQLITE_OK && strcmp(tb.log_id, sb.log_id) == 0) {
        keep = 1; /* the same log: an earlier run started it */
    } else if (rc == SQLITE_OK && tb.last_seq == 0) {
        int empty;
        rc = bg_copy_log_empty(to, &empty);
        if (rc == SQLITE_OK && empty) {
            keep = 1;
            rc = bg_copy_log_start(to, &sb);
        }
    }
    rc = bg_store_tx_end(to, rc);
    if (rc != SQLITE_OK)
        return st != BG_STORE_OK ? st : bg_store_map(rc);
    out->log_kept = keep;
    for (size_t t = 0; t < sizeof bg_copy_tables / sizeof bg_copy_tables[0]; t++) {
        const bg_copy_table *tab = &bg_copy_tables[t];
        if (strcmp(tab->name, "bg_change") == 0 && !keep)
            continue;
        if (strcmp(tab->name, "bg_guard") == 0 && (from->schema < 5 || to->schema < 5))
            continue;
        bg_copy_key k;
        memset(&k, 0, sizeof k);
        k.first = 1;
        long long total = 0;
        for (;;) {
            long long n = 0, ins = 0, kept = 0;
            rc = bg_copy_page(from, to, tab, batch, &k, !keep, &n, &ins, &kept);
            if (rc != SQLITE_OK)
                return bg_store_map(rc);
            total += n;
            if (t == 0) {
                out->rows += ins;
                out->rows_kept += kept;
            } else if (t == 1) {
                out->soft += ins;
            } else if (t == 2) {
                out->events += ins;
            } else if (t == 3) {
                out->changes += ins;
            } else {
                out->guards += ins;
            }
            if (progress && n)
                progress(tab->name, total, ctx);
            if (n < batch)
                break;
        }
    }
    long long counts = 0;
    rc = bg_copy_counts(from, to, sb.log_id, &counts);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    out->counts = counts;
    if (progress && counts)
        progress("bg_count", counts, ctx);
    return BG_STORE_OK;
}
