/* bg_store_fleet: a fleet host's store as Exim's processes see it
 * (include/bg_store_fleet.h). The handle is the replica -- a local SQLite
 * store the sync keeps equal to the central rows in force -- so every
 * read of rows (the RCPT check, list) is a local key probe; writes go to
 * the journal; proof reads go to the journal, then to the central store.
 *
 * The central store is opened on the first proof read of a process and
 * at most once: when it cannot be reached within the timeout, the process
 * does without it (BG_STORE_UNREACHABLE, not BUSY, so the adapter does
 * not skip the local replica and journal for the rest of the process).
 */
#include "bg_store_fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_store_int.h"
#include "bg_store_sent.h"

struct bg_store_fleet {
    char central[1024];
    char journal_path[1024];
    int timeout_ms;
    int rdonly;
    bg_store *journal;
    bg_store_status journal_failed;
    char journal_id[40];
    bg_store *central_s;
    bg_store_status central_failed;
    char where[1200];
    char err[700];
};

int bg_store_is_central(const char *db)
{
    return bg_db_is_pg(db);
}

void bg_store_redact(const char *db, char *out, size_t outsz)
{
    if (!outsz)
        return;
    size_t n = db ? strlen(db) : 0;
    if (n >= outsz)
        n = outsz - 1;
    if (n)
        memcpy(out, db, n);
    out[n] = '\0';
    if (!bg_db_is_pg(out))
        return;
    /* URL: scheme://user:PASSWORD@host */
    char *scheme = strstr(out, "://");
    if (scheme) {
        char *auth = scheme + 3;
        char *at = strchr(auth, '@');
        char *slash = strchr(auth, '/');
        char *colon = strchr(auth, ':');
        if (at && (!slash || at < slash) && colon && colon < at) {
            char rest[1024];
            snprintf(rest, sizeof rest, "%s", at);
            snprintf(colon + 1, outsz - (size_t)(colon + 1 - out), "***%s", rest);
        }
    }
    /* password=... in a URL's query (&password=) or a conninfo */
    for (char *p = out; (p = strstr(p, "password")) != NULL; p++) {
        char *v = p + 8;
        while (*v == ' ')
            v++;
        if (*v != '=' || (p > out && p[-1] != ' ' && p[-1] != '?' && p[-1] != '&'))
            continue;
        v++;
        while (*v == ' ')
            v++;
        char *end = v;
        if (*v == '\'') { /* a quoted conninfo value */
            end = v + 1;
            while (*end && *end != '\'') {
                if (*end == '\\' && end[1])
                    end++;
                end++;
            }
            if (*end)
                end++;
        } else {
            while (*end && *end != ' ' && *end != '&')
                end++;
        }
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", end);
        snprintf(v, outsz - (size_t)(v - out), "***%s", rest);
        p = v;
    }
}

const char *bg_store_where(const bg_store *s)
{
    return s && s->fleet ? s->fleet->where : "";
}

void bg_store_fleet_free(struct bg_store_fleet *f)
{
    if (!f)
        return;
    bg_store_close(f->journal);
    bg_store_close(f->central_s);
    free(f);
}

const char *bg_store_fleet_errmsg(const struct bg_store_fleet *f)
{
    return f->err;
}

bg_store *bg_store_open_fleet(const bg_store_fleet_paths *p, int timeout_ms, int flags,
                              bg_store_status *st, char *err, size_t errlen)
{
    const char *replica = p->replica && *p->replica ? p->replica : BG_STORE_DEFAULT_REPLICA;
    struct bg_store_fleet *f = calloc(1, sizeof *f);
    if (!f) {
        if (st)
            *st = BG_STORE_NOMEM;
        return NULL;
    }
    bg_store *s = bg_store_open(replica, timeout_ms, flags, st, err, errlen);
    if (!s) {
        free(f);
        return NULL;
    }
    snprintf(f->central, sizeof f->central, "%s", p->central ? p->central : "");
    snprintf(f->journal_path, sizeof f->journal_path, "%s",
             p->journal && *p->journal ? p->journal : BG_STORE_DEFAULT_JOURNAL);
    f->timeout_ms = timeout_ms;
    f->rdonly = (flags & BG_STORE_RDONLY) != 0;
    s->fleet = f;
    return s;
}

bg_store *bg_store_open_for(const bg_store_fleet_paths *p, int timeout_ms, int flags,
                            bg_store_status *st, char *err, size_t errlen)
{
    if (bg_store_is_central(p->central))
        return bg_store_open_fleet(p, timeout_ms, flags, st, err, errlen);
    return bg_store_open(p->central, timeout_ms, flags, st, err, errlen);
}

bg_store *bg_store_fleet_journal(bg_store *s, bg_store_status *st)
{
    struct bg_store_fleet *f = s->fleet;
    if (f->journal) {
        *st = BG_STORE_OK;
        return f->journal;
    }
    if (f->journal_failed) { /* once per process: the first failure was reported */
        *st = f->journal_failed;
        return NULL;
    }
    snprintf(f->where, sizeof f->where, "journal %s", f->journal_path);
    f->journal = bg_store_open(f->journal_path, f->timeout_ms,
                               f->rdonly ? BG_STORE_RDONLY : BG_STORE_CREATE, st, f->err, sizeof f->err);
    if (f->journal) {
        int rc = bg_store_journal_init(f->journal, f->journal_id);
        if (rc != SQLITE_OK && !f->rdonly) {
            *st = bg_store_map(rc);
            snprintf(f->err, sizeof f->err, "%.300s: %.300s", f->journal_path, bg_db_errmsg(f->journal->db));
            bg_store_close(f->journal);
            f->journal = NULL;
        }
    }
    if (!f->journal) {
        if (*st != BG_STORE_BUSY) /* a lock may go: try again next time */
            f->journal_failed = *st;
        return NULL;
    }
    *st = BG_STORE_OK;
    return f->journal;
}

bg_store *bg_store_fleet_central(bg_store *s, bg_store_status *st)
{
    struct bg_store_fleet *f = s->fleet;
    if (f->central_s) {
        *st = BG_STORE_OK;
        return f->central_s;
    }
    char name[600];
    bg_store_redact(f->central, name, sizeof name);
    snprintf(f->where, sizeof f->where, "central store %s", name);
    if (f->central_failed) {
        *st = BG_STORE_UNREACHABLE;
        return NULL;
    }
    f->central_s = bg_store_open(f->central, f->timeout_ms, BG_STORE_RDONLY, st, f->err, sizeof f->err);
    if (!f->central_s) {
        /* no tables yet: nothing was ever recorded there (not a failure,
         * and worth asking again) */
        if (*st != BG_STORE_NOTFOUND) {
            f->central_failed = *st;
            *st = BG_STORE_UNREACHABLE;
        }
        return NULL;
    }
    return f->central_s;
}

/* ---- writes: the journal ---- */

/* Append e to the journal; the store status. */
static bg_store_status bg_fleet_append(bg_store *s, bg_journal_entry *e)
{
    bg_store_status st;
    bg_store *j = bg_store_fleet_journal(s, &st);
    if (!j)
        return st;
    bg_store_arm(j);
    int rc = bg_store_journal_append(j, e);
    if (rc != SQLITE_OK) {
        struct bg_store_fleet *f = s->fleet;
        snprintf(f->where, sizeof f->where, "journal %s", f->journal_path);
        snprintf(f->err, sizeof f->err, "%s", bg_db_errmsg(j->db));
    }
    return bg_store_map(rc);
}

bg_store_status bg_store_fleet_record(bg_store *s, const bg_store_event *ev, const bg_store_rule *rule,
                                      bg_store_result *res)
{
    bg_journal_entry e;
    memset(&e, 0, sizeof e);
    e.op = BG_J_RECORD;
    e.at = bg_store_now(ev->now);
    bg_store_norm_msgid(ev->message_id, e.message_id);
    char dom[BG_ADDR_MAX];
    if (bg_store_norm_recipient(ev->recipient, e.recipient) < 0 ||
        bg_store_norm_recipient(ev->sender_domain, dom) < 0)
        return BG_STORE_INVALID;
    snprintf(e.sender_domain, sizeof e.sender_domain, "%.253s", dom);
    snprintf(e.kind, sizeof e.kind, "%s", bg_store_event_kind(rule, ev->deferred));
    e.deferred = ev->deferred != 0;
    bg_store_clean(e.category, sizeof e.category, ev->category);
    bg_store_clean(e.status, sizeof e.status, ev->status);
    e.reply_code = ev->reply_code;
    bg_store_clean(e.diagnostic, sizeof e.diagnostic, ev->diagnostic);
    bg_store_clean(e.sending_ip, sizeof e.sending_ip, ev->sending_ip);
    e.source = ev->source;
    bg_store_clean(e.note, sizeof e.note, ev->note);
    e.rule = *rule;
    const char *key = e.recipient;
    if (rule->mode == BG_SUP_DOMAIN)
        key = strrchr(e.recipient, '@') + 1;
    bg_store_status st = bg_fleet_append(s, &e);
    if (st == BG_STORE_OK) {
        snprintf(res->key, sizeof res->key, "%s", key);
        res->journaled = 1;
    }
    return st;
}

bg_store_status bg_store_fleet_delivered(bg_store *s, const char *sender_domain, const char *recipient,
                                         const char *message_id, const char *sending_ip,
                                         const char *remote_host, long long now)
{
    bg_journal_entry e;
    memset(&e, 0, sizeof e);
    e.op = BG_J_DELIVERED;
    e.at = bg_store_now(now);
    snprintf(e.sender_domain, sizeof e.sender_domain, "%.253s", sender_domain);
    snprintf(e.recipient, sizeof e.recipient, "%s", recipient);
    bg_store_norm_msgid(message_id, e.message_id);
    snprintf(e.kind, sizeof e.kind, "sent");
    bg_store_clean(e.sending_ip, sizeof e.sending_ip, sending_ip);
    bg_store_clean(e.remote_host, sizeof e.remote_host, remote_host);
    e.source = BG_SRC_TRANSPORT;
    return bg_fleet_append(s, &e);
}

bg_store_status bg_store_fleet_count(bg_store *s, const char *sender_domain, const char *provider,
                                     const char *outcome, const char *category, long long n, long long now)
{
    bg_journal_entry e;
    memset(&e, 0, sizeof e);
    e.op = BG_J_COUNT;
    e.at = bg_store_now(now);
    snprintf(e.sender_domain, sizeof e.sender_domain, "%.253s", sender_domain);
    snprintf(e.kind, sizeof e.kind, "%s", outcome);
    snprintf(e.category, sizeof e.category, "%s", category);
    snprintf(e.note, sizeof e.note, "%s", provider);
    e.reply_code = n > 1000000 ? 1000000 : (int)n;
    e.source = BG_SRC_TRANSPORT;
    return bg_fleet_append(s, &e);
}

bg_store_status bg_store_fleet_note_ip(bg_store *s, const char *message_id, const char *sender_domain,
                                       const char *sending_ip, long long now)
{
    bg_journal_entry e;
    memset(&e, 0, sizeof e);
    e.op = BG_J_IP;
    e.at = bg_store_now(now);
    snprintf(e.sender_domain, sizeof e.sender_domain, "%.253s", sender_domain);
    snprintf(e.message_id, sizeof e.message_id, "%s", message_id);
    snprintf(e.kind, sizeof e.kind, "ip");
    snprintf(e.sending_ip, sizeof e.sending_ip, "%s", sending_ip);
    e.source = BG_SRC_TRANSPORT;
    return bg_fleet_append(s, &e);
}

/* ---- proof reads: the journal, then the central store ---- */

/* The answer when the central store is not there: a store without tables
 * holds nothing (found 0), else the failure. */
static bg_store_status bg_fleet_none(bg_store_status st)
{
    return st == BG_STORE_NOTFOUND ? BG_STORE_OK : st;
}

/* The journal for a read, or NULL (a journal that cannot be read holds
 * nothing to find: the central store may). */
static bg_store *bg_fleet_jr(bg_store *s)
{
    bg_store_status st;
    return bg_store_fleet_journal(s, &st);
}

bg_store_status bg_store_fleet_sent_to(bg_store *s, const char *domain, const char *msgid,
                                       const char *rcpt, int *found, char remote_host[BG_IP_MAX])
{
    bg_store *j = bg_fleet_jr(s);
    if (j && bg_store_journal_sent_to(j, domain, msgid, rcpt, found, remote_host) == SQLITE_OK && *found)
        return BG_STORE_OK;
    bg_store_status st;
    bg_store *c = bg_store_fleet_central(s, &st);
    return c ? bg_store_sent_to(c, domain, msgid, rcpt, found, remote_host) : bg_fleet_none(st);
}

bg_store_status bg_store_fleet_was_sent(bg_store *s, const char *msgid, const char *rcpt, int *found)
{
    bg_store *j = bg_fleet_jr(s);
    if (j && bg_store_journal_was_sent(j, msgid, rcpt, found) == SQLITE_OK && *found)
        return BG_STORE_OK;
    bg_store_status st;
    bg_store *c = bg_store_fleet_central(s, &st);
    return c ? bg_store_was_sent(c, msgid, rcpt, found) : bg_fleet_none(st);
}

bg_store_status bg_store_fleet_sending_ip(bg_store *s, const char *msgid, const char *rcpt,
                                          char out[BG_IP_MAX])
{
    bg_store *j = bg_fleet_jr(s);
    if (j && bg_store_journal_sending_ip(j, msgid, rcpt, out) == SQLITE_OK)
        return BG_STORE_OK;
    bg_store_status st;
    bg_store *c = bg_store_fleet_central(s, &st);
    return c ? bg_store_sending_ip(c, msgid, rcpt, out) : st == BG_STORE_NOTFOUND ? BG_STORE_NOTFOUND : st;
}

bg_store_status bg_store_fleet_deferral(bg_store *s, const char *msgid, const char *rcpt,
                                        char category[BG_CATEGORY_ID_MAX], long long *seen_at)
{
    bg_store *j = bg_fleet_jr(s);
    if (j && bg_store_journal_deferral(j, msgid, rcpt, category, seen_at) == SQLITE_OK)
        return BG_STORE_OK;
    bg_store_status st;
    bg_store *c = bg_store_fleet_central(s, &st);
    return c ? bg_store_last_deferral(c, msgid, rcpt, category, seen_at) : st;
}

bg_store_status bg_store_fleet_mailed(bg_store *s, const char *domain, const char *rcpt, long long since,
                                      int budget_ms, int *found)
{
    bg_store *j = bg_fleet_jr(s);
    if (j && bg_store_journal_mailed(j, domain, rcpt, since, found) == SQLITE_OK && *found)
        return BG_STORE_OK;
    bg_store_status st;
    bg_store *c = bg_store_fleet_central(s, &st);
    return c ? bg_store_mailed(c, domain, rcpt, since, budget_ms, found) : bg_fleet_none(st);
}

typedef struct bg_fleet_rcpts {
    bg_store_sent_rcpt *out;
    size_t max, n;
} bg_fleet_rcpts;

/* Add one recipient unless it is there already. */
static int bg_fleet_add_rcpt(const char *rcpt, const char *host, void *ctx)
{
    bg_fleet_rcpts *a = ctx;
    for (size_t i = 0; i < a->n && i < a->max; i++)
        if (strcmp(a->out[i].recipient, rcpt) == 0)
            return 0;
    if (a->n < a->max && a->out) {
        snprintf(a->out[a->n].recipient, sizeof a->out[a->n].recipient, "%s", rcpt);
        snprintf(a->out[a->n].remote_host, sizeof a->out[a->n].remote_host, "%s", host);
    }
    a->n++;
    return 0;
}

bg_store_status bg_store_fleet_sent_rcpts(bg_store *s, const char *domain, const char *msgid,
                                          struct bg_store_sent_rcpt *out, size_t max, size_t *n)
{
    /* the central store's deliveries, then the journal's not yet shipped
     * (a message's recipients may be in both) */
    bg_fleet_rcpts a = {out, max, 0};
    bg_store_status st;
    bg_store *c = bg_store_fleet_central(s, &st);
    if (c) {
        size_t cn = 0;
        st = bg_store_sent_rcpts(c, domain, msgid, out, max, &cn);
        if (st != BG_STORE_OK)
            return st;
        a.n = cn;
    }
    bg_store *j = bg_fleet_jr(s);
    if (j)
        bg_store_journal_sent_rcpts(j, domain, msgid, bg_fleet_add_rcpt, &a);
    *n = a.n;
    return c || a.n ? BG_STORE_OK : bg_fleet_none(st);
}
