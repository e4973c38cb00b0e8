/* bg_store_record: what Exim writes and reads on the hot path -- one
 * failure or deferral under a rule (dedupe, sliding soft window, row
 * update), a delivery, and the RCPT check. Each call is one bounded
 * transaction (bg_store.c). */
#include "bg_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rows ---- */

int bg_store_row_active(const bg_store_row *r, long long now)
{
    return r->suppressed_since > 0 && (r->expires_at == 0 || r->expires_at > now);
}

void bg_store_col(bg_db_stmt *q, int i, char *out, size_t outsz)
{
    bg_store_clean(out, outsz, bg_db_column_text(q, i));
}

/* Read the BG_ROW_COLS columns of the current result row. */
void bg_store_row_read(bg_db_stmt *q, bg_store_row *r)
{
    memset(r, 0, sizeof *r);
    bg_store_col(q, 0, r->sender_domain, sizeof r->sender_domain);
    bg_store_col(q, 1, r->recipient, sizeof r->recipient);
    bg_store_col(q, 2, r->scope, sizeof r->scope);
    bg_store_col(q, 3, r->category, sizeof r->category);
    bg_store_col(q, 4, r->status, sizeof r->status);
    r->reply_code = (int)bg_db_column_int64(q, 5);
    bg_store_col(q, 6, r->diagnostic, sizeof r->diagnostic);
    r->first_seen = bg_db_column_int64(q, 7);
    r->last_seen = bg_db_column_int64(q, 8);
    r->soft_count = (int)bg_db_column_int64(q, 9);
    r->soft_window_start = bg_db_column_int64(q, 10);
    r->suppressed_since = bg_db_column_int64(q, 11);
    r->expires_at = bg_db_column_int64(q, 12);
    bg_store_col(q, 13, r->source, sizeof r->source);
    bg_store_col(q, 14, r->last_message_id, sizeof r->last_message_id);
}

/* Write a row with the upsert statement. */
int bg_store_row_write(bg_store *s, const bg_store_row *r)
{
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, ST_ROW_UPSERT, &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, r->sender_domain);
    bg_store_bind(q, 2, r->recipient);
    bg_store_bind(q, 3, r->scope);
    bg_store_bind(q, 4, r->category);
    bg_store_bind(q, 5, r->status);
    bg_store_bind_int(q, 6, r->reply_code);
    bg_store_bind(q, 7, r->diagnostic);
    bg_store_bind_int(q, 8, r->first_seen);
    bg_store_bind_int(q, 9, r->last_seen);
    bg_store_bind_int(q, 10, r->soft_count);
    bg_store_bind_int(q, 11, r->soft_window_start);
    bg_store_bind_int(q, 12, r->suppressed_since);
    bg_store_bind_int(q, 13, r->expires_at);
    bg_store_bind(q, 14, r->source);
    bg_store_bind(q, 15, r->last_message_id);
    return bg_store_step(q);
}

/* Read the row for (domain, key): SQLITE_ROW with *r filled, SQLITE_DONE
 * when there is none, else an error code. */
int bg_store_row_fetch(bg_store *s, const char *domain, const char *key, bg_store_row *r)
{
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, ST_ROW_GET, &rc);
    if (!q)
        return rc;
    bg_store_bind(q, 1, domain);
    bg_store_bind(q, 2, key);
    rc = bg_db_step(q);
    if (rc == SQLITE_ROW)
        bg_store_row_read(q, r);
    bg_db_reset(q);
    return rc;
}

/* 1 when rule is a soft one and the row is an active hard suppression,
 * which a soft event never touches (nor counts toward). */
static int bg_store_keeps_hard(const bg_store_row *r, int exists, const bg_store_rule *rule,
                               long long now)
{
    int hard = rule->mode == BG_SUP_ADDRESS || rule->mode == BG_SUP_DOMAIN;
    return !hard && exists && bg_store_row_active(r, now) && strcmp(r->scope, "soft") != 0;
}

/* The statement reading a key's soft events before this one is added:
 * their sum inside the window (cut, ...], the oldest of them, and how many
 * are older (bound here, stepped by bg_soft_count). */
static bg_db_stmt *bg_soft_sum(bg_store *s, const char *domain, const char *key, long long cut, int *rc)
{
    bg_db_stmt *q = bg_store_stmt(s, ST_SOFT_SUM, rc);
    if (q) {
        bg_store_bind(q, 1, domain);
        bg_store_bind(q, 2, key);
        bg_store_bind_int(q, 3, cut);
    }
    return q;
}

/* Add one soft event at now to bg_soft for (domain, key) and count the
 * events inside the sliding window (now - window, now]: an event exactly
 * one window old is out. fresh: the row was not a soft row (new, or an
 * expired hard one), so its old soft events (if any) are dropped first.
 * Events older than the window are deleted on the way. *n gets the count
 * and *start the oldest event time inside the window. qsum (bg_soft_sum,
 * with the same cut) reads the window as it was: read before the add so
 * that, in the sync's pipelined batch, it travels with the event and the
 * row (one round trip); the count is then that plus this event. Runs
 * inside the caller's write transaction, so concurrent writers cannot
 * lose a count. */
static int bg_soft_count(bg_store *s, const char *domain, const char *key, int fresh,
                         long long now, long long window, bg_db_stmt *qsum, int *n, long long *start)
{
    int rc;
    bg_db_stmt *q;
    long long cut = now - (window > 0 ? window : 1);
    long long stale = 0, sum = 0, first = 0;
    rc = bg_db_step(qsum);
    if (rc == SQLITE_ROW) {
        sum = bg_db_column_int64(qsum, 0);
        first = bg_db_column_int64(qsum, 1);
        stale = bg_db_column_int64(qsum, 2);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    bg_db_reset(qsum);
    if (rc != SQLITE_OK)
        return rc;
    if (fresh && (sum > 0 || stale > 0 || first > 0)) { /* rows to drop (none: one statement less) */
        if (!(q = bg_store_stmt(s, ST_SOFT_DROP, &rc)))
            return rc;
        bg_store_bind(q, 1, domain);
        bg_store_bind(q, 2, key);
        if ((rc = bg_store_step(q)) != SQLITE_OK)
            return rc;
        sum = stale = first = 0; /* all gone */
    }
    if (!(q = bg_store_stmt(s, ST_SOFT_ADD, &rc)))
        return rc;
    bg_store_bind(q, 1, domain);
    bg_store_bind(q, 2, key);
    bg_store_bind_int(q, 3, now);
    bg_store_bind_int(q, 4, 1);
    if ((rc = bg_store_step(q)) != SQLITE_OK)
        return rc;
    sum += 1; /* this event: at now, inside the window */
    *start = first == 0 || now < first ? now : first;
    *n = sum > 0x7fffffff ? 0x7fffffff : (int)sum;
    if (stale > 0) {
        if (!(q = bg_store_stmt(s, ST_SOFT_PRUNE, &rc)))
            return rc;
        bg_store_bind(q, 1, domain);
        bg_store_bind(q, 2, key);
        bg_store_bind_int(q, 3, cut);
        rc = bg_store_step(q);
    }
    return rc;
}

/* Drop the soft events of (domain, key); domain NULL: of key for every
 * sending domain. */
int bg_store_soft_drop(bg_store *s, const char *domain, const char *key)
{
    int rc;
    bg_db_stmt *q = bg_store_stmt(s, domain ? ST_SOFT_DROP : ST_SOFT_DROP_ALL, &rc);
    if (!q)
        return rc;
    if (domain) {
        bg_store_bind(q, 1, domain);
        bg_store_bind(q, 2, key);
    } else {
        bg_store_bind(q, 1, key);
    }
    return bg_store_step(q);
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
        bg_store_clean(r->category, sizeof r->category, ev->category && *ev->category ? ev->category : "unknown");
        bg_store_clean(r->status, sizeof r->status, ev->status);
        r->reply_code = ev->reply_code;
        bg_store_clean(r->diagnostic, sizeof r->diagnostic, ev->diagnostic);
        snprintf(r->source, sizeof r->source, "%s", bg_store_source_name(ev->source));
    }
    res->written = 1;
    res->soft_count = r->soft_count;
    res->suppressed = bg_store_row_active(r, now);
    res->newly_suppressed = res->suppressed && !was_active;
}

const char *bg_store_event_kind(const bg_store_rule *rule, int deferred)
{
    return rule->mode == BG_SUP_NONE ? (deferred ? "defer-info" : "fail-info")
           : rule->mode == BG_SUP_COUNT ? "soft"
                                        : "fail";
}

/* The change an event made to a row, for the log: suppressed (it refuses
 * now and did not), updated (in force before and after, with another
 * category, scope or end), lifted (in force before, not after); nothing
 * else -- a soft event that leaves the row counting, a soft event on a
 * hard row, a new reply text alone. The note says what moved it. */
static int bg_store_record_change(bg_store *s, const bg_store_row *before, int exists,
                                  const bg_store_row *r, const bg_store_event *ev,
                                  const bg_store_rule *rule, long long now, const char *msgid,
                                  bg_store_result *res)
{
    int was = exists && bg_store_row_active(before, now);
    int is = bg_store_row_active(r, now);
    const char *op = NULL;
    char why[BG_STORE_NOTE_MAX] = "";
    if (!was && is) {
        op = "suppressed";
        char d[32];
        if (strcmp(r->scope, "soft") == 0) {
            long long w = rule->soft_window;
            snprintf(d, sizeof d, "%lld%s", w % 86400 == 0 ? w / 86400 : w % 3600 == 0 ? w / 3600 : w,
                     w % 86400 == 0 ? "d" : w % 3600 == 0 ? "h" : "s");
            snprintf(why, sizeof why, "%d soft events within %s (threshold %d)", r->soft_count, d,
                     rule->soft_threshold);
        } else if (exists && before->suppressed_since > 0) {
            bg_store_fmt_date(before->suppressed_since, d);
            snprintf(why, sizeof why, "again: the suppression of %s had ended", d);
        }
    } else if (was && is) {
        size_t o = 0;
        if (strcmp(before->category, r->category) != 0)
            o += (size_t)snprintf(why + o, sizeof why - o, "category %s -> %s", before->category,
                                  r->category);
        if (o < sizeof why && strcmp(before->scope, r->scope) != 0)
            o += (size_t)snprintf(why + o, sizeof why - o, "%sscope %s -> %s", o ? "; " : "",
                                  before->scope, r->scope);
        if (o < sizeof why && before->expires_at != r->expires_at) {
            char d[32];
            bg_store_fmt_time(r->expires_at, d);
            o += (size_t)snprintf(why + o, sizeof why - o, "%suntil %s", o ? "; " : "",
                                  r->expires_at ? d : "never");
        }
        if (o)
            op = "updated";
    } else if (was && !is) {
        op = "lifted";
    }
    if (!op)
        return SQLITE_OK;
    char note[BG_STORE_NOTE_MAX];
    bg_store_note_join(note, why, ev->note);
    return bg_store_change_add(s, op, r, is, now, ev->source, msgid, note, &res->change_seq);
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
    if (s->fleet) /* a fleet host: into the journal, the central store decides */
        return bg_store_fleet_record(s, ev, rule, res);
    long long now = bg_store_now(ev->now);
    bg_store_arm(s);
    static const int used[] = {ST_BEGIN,    ST_COMMIT,     ST_ROLLBACK,  ST_EVENT_INSERT,
                               ST_ROW_GET,  ST_ROW_UPSERT, ST_SOFT_DROP, ST_SOFT_ADD,
                               ST_SOFT_SUM, ST_SOFT_PRUNE, ST_SEQ_NEXT,  ST_CHANGE_INSERT};
    bg_store_prepare(s, used, sizeof used / sizeof used[0]);

    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    const char *key = rcpt;
    if (rule->mode == BG_SUP_DOMAIN)
        key = strrchr(rcpt, '@') + 1;
    /* the row is read after the event is inserted; both are sent at once
     * (bg_db_send: one round trip in the sync's pipelined batch) */
    bg_db_stmt *qrow = NULL, *qsum = NULL;
    if (rule->mode != BG_SUP_NONE) {
        qrow = bg_store_stmt(s, ST_ROW_GET, &rc);
        if (!qrow)
            goto out;
        bg_store_bind(qrow, 1, domain);
        bg_store_bind(qrow, 2, key);
    }
    if (rule->mode == BG_SUP_COUNT) { /* the window before this event, read with the row */
        qsum = bg_soft_sum(s, domain, key, now - (rule->soft_window > 0 ? rule->soft_window : 1), &rc);
        if (!qsum)
            goto out;
    }
    if (msgid[0]) {
        bg_db_stmt *q = bg_store_stmt(s, ST_EVENT_INSERT, &rc);
        if (!q)
            goto out;
        char ip[BG_IP_MAX];
        bg_store_clean(ip, sizeof ip, ev->sending_ip);
        char cat[BG_CATEGORY_ID_MAX];
        bg_store_clean(cat, sizeof cat, ev->category);
        bg_store_bind(q, 1, msgid);
        bg_store_bind(q, 2, rcpt);
        /* the dedupe kind: a message's soft events (deferred, failed or
         * both: the transport's 452 and the retry-timeout bounce after it)
         * count once ("soft"); a hard failure is its own kind, so that a
         * 550 after earlier 452s of the same message still suppresses.
         * Events that cannot count ("info") dedupe apart from counting
         * ones: a connection failure first must not hide a later 452 of
         * the same message. */
        bg_store_bind(q, 3, bg_store_event_kind(rule, ev->deferred));
        bg_store_bind(q, 4, domain);
        bg_store_bind(q, 5, cat);
        bg_store_bind(q, 6, bg_store_source_name(ev->source));
        bg_store_bind(q, 7, ip);
        bg_store_bind_int(q, 8, now);
        if ((rc = bg_db_send(q)) == SQLITE_OK && qrow)
            rc = bg_db_send(qrow);
        if (rc == SQLITE_OK && qsum)
            rc = bg_db_send(qsum);
        if (rc == SQLITE_OK)
            rc = bg_store_step(q);
        if (rc != SQLITE_OK)
            goto out;
        if ((int)bg_db_changes(s->db) == 0) {
            res->duplicate = 1;
            if (qrow)
                bg_db_reset(qrow);
            if (qsum)
                bg_db_reset(qsum);
            rc = bg_store_tx_end(s, SQLITE_OK);
            return rc == SQLITE_OK ? BG_STORE_DUPLICATE : bg_store_map(rc);
        }
    }
    if (rule->mode == BG_SUP_NONE) {
        rc = SQLITE_OK;
        goto out;
    }
    {
        snprintf(res->key, sizeof res->key, "%s", key);
        bg_store_row r;
        memset(&r, 0, sizeof r);
        rc = bg_db_step(qrow);
        if (rc == SQLITE_ROW)
            bg_store_row_read(qrow, &r);
        bg_db_reset(qrow);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            goto out;
        int exists = rc == SQLITE_ROW;
        if (!exists) {
            bg_store_clean(r.sender_domain, sizeof r.sender_domain, domain);
            snprintf(r.recipient, sizeof r.recipient, "%s", key);
        }
        int soft_n = 0;
        long long soft_start = 0;
        if (rule->mode == BG_SUP_COUNT && !bg_store_keeps_hard(&r, exists, rule, now)) {
            rc = bg_soft_count(s, domain, key, !exists || strcmp(r.scope, "soft") != 0, now,
                               rule->soft_window, qsum, &soft_n, &soft_start);
            if (rc != SQLITE_OK)
                goto out;
        }
        bg_store_row before = r;
        bg_store_apply(&r, exists, ev, rule, now, msgid, soft_n, soft_start, res);
        rc = bg_store_row_write(s, &r);
        if (rc == SQLITE_OK)
            rc = bg_store_record_change(s, &before, exists, &r, ev, rule, now, msgid, res);
    }
out:
    if (qrow)
        bg_db_reset(qrow);
    if (qsum)
        bg_db_reset(qsum);
    rc = bg_store_tx_end(s, rc);
    if (rc != SQLITE_OK)
        memset(res, 0, sizeof *res);
    return bg_store_map(rc);
}

bg_store_status bg_store_delivered(bg_store *s, const char *sender_domain, const char *recipient,
                                   const char *message_id, const char *sending_ip,
                                   const char *remote_host, long long now)
{
    if (!s)
        return BG_STORE_INVALID;
    char domain[BG_ADDR_MAX], rcpt[BG_ADDR_MAX], msgid[BG_MSGID_MAX], ip[BG_IP_MAX], host[BG_IP_MAX];
    if (bg_store_norm_recipient(sender_domain, domain) < 0 || strchr(domain, '@') ||
        bg_store_norm_recipient(recipient, rcpt) < 0 || !strchr(rcpt, '@'))
        return BG_STORE_INVALID;
    if (s->rdonly)
        return BG_STORE_READONLY;
    if (s->fleet)
        return bg_store_fleet_delivered(s, domain, rcpt, message_id, sending_ip, remote_host, now);
    bg_store_norm_msgid(message_id, msgid);
    bg_store_clean(ip, sizeof ip, sending_ip);
    bg_store_clean(host, sizeof host, remote_host);
    now = bg_store_now(now);
    bg_store_arm(s);
    static const int used[] = {ST_BEGIN,      ST_COMMIT, ST_ROLLBACK, ST_EVENT_SENT,
                               ST_ROW_GET,    ST_SOFT_CLEAR, ST_SOFT_DROP};
    bg_store_prepare(s, used, sizeof used / sizeof used[0]);
    int rc = bg_store_tx_begin(s);
    if (rc != SQLITE_OK)
        return bg_store_map(rc);
    bg_db_stmt *q;
    if (msgid[0]) {
        q = bg_store_stmt(s, ST_EVENT_SENT, &rc);
        if (!q)
            goto out;
        bg_store_bind(q, 1, msgid);
        bg_store_bind(q, 2, rcpt);
        bg_store_bind(q, 3, domain);
        bg_store_bind(q, 4, ip);
        bg_store_bind_int(q, 5, now);
        bg_store_bind(q, 6, host);
        rc = bg_store_step(q);
        if (rc != SQLITE_OK)
            goto out;
    }
    /* one key probe, as the clearing UPDATE alone made: only a soft row
     * with a count or a suppression has anything to clear */
    bg_store_row r;
    rc = bg_store_row_fetch(s, domain, rcpt, &r);
    if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    rc = SQLITE_OK;
    if (strcmp(r.scope, "soft") != 0 || (r.soft_count <= 0 && r.suppressed_since <= 0))
        goto out;
    q = bg_store_stmt(s, ST_SOFT_CLEAR, &rc);
    if (!q)
        goto out;
    bg_store_bind(q, 1, domain);
    bg_store_bind(q, 2, rcpt);
    bg_store_bind_int(q, 3, now);
    rc = bg_store_step(q);
    if (rc == SQLITE_OK && (int)bg_db_changes(s->db) > 0) {
        rc = bg_store_soft_drop(s, domain, rcpt); /* the count restarts from nothing */
        /* a soft suppression in force is lifted (logged with what it was);
         * a count that only restarts is not a change to what is in force */
        if (rc == SQLITE_OK && bg_store_row_active(&r, now)) {
            char note[BG_STORE_NOTE_MAX];
            snprintf(note, sizeof note, "delivered%s%s%s: soft count cleared", host[0] ? " (accepted by " : "",
                     host, host[0] ? ")" : "");
            rc = bg_store_change_add(s, "lifted", &r, 0, now, BG_SRC_TRANSPORT, msgid, note, NULL);
        }
    }
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
    bg_db_stmt *q = bg_store_stmt(s, ST_CHECK, &rc);
    if (!q)
        return bg_store_map(rc);
    bg_store_bind(q, 1, domain);
    bg_store_bind(q, 2, rcpt);
    bg_store_bind(q, 3, at ? at + 1 : rcpt);
    bg_store_bind_int(q, 4, bg_store_now(now));
    /* the address row and the domain row may both refuse: the older wins */
    int n = 0;
    long long best = 0;
    for (;;) {
        rc = bg_db_step(q);
        if (rc == SQLITE_ROW) {
            long long since = bg_db_column_int64(q, 11); /* suppressed_since */
            if (n == 0 || since < best) {
                best = since;
                if (out)
                    bg_store_row_read(q, out);
            }
            n++;
            continue;
        }
        if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
            break;
        }
        if (n == 0 && bg_store_again(s, rc)) {
            bg_db_reset(q);
            continue;
        }
        break;
    }
    bg_db_reset(q);
    if (rc == SQLITE_OK)
        *hit = n > 0;
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
    int rc = bg_store_row_fetch(s, domain, k, out);
    if (rc == SQLITE_ROW)
        return BG_STORE_OK;
    if (rc == SQLITE_DONE)
        return BG_STORE_NOTFOUND;
    return bg_store_map(rc);
}

