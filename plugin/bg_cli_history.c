/* bg_cli_history: `bounceguide suppress history|changes` -- the change log
 * (schema 4) for an auditor and for other systems.
 *
 *   history ADDRESS|DOMAIN [--domain D] [--format table|csv|json]
 *       every change of the recipient's rows (an address: also the row of
 *       its domain, which covers it), oldest first: when, what, source,
 *       who, why. JSON: an array of change objects.
 *   changes [--since SEQ|TIME|AGE] [--domain D] [--limit N] [--format ...]
 *       the log after a sequence number (digits), from a time (2026-11-20,
 *       2026-11-20T10:00:00Z) or an age (7d, 12h), for a sync. JSON: one
 *       object, streamed -- the log's name and bounds first, then
 *       "changes" (oldest first), then "next_since", the number to pass
 *       next time, and "more" (the --limit stopped it). Exit 3 when the
 *       changes after SEQ were pruned (or SEQ is past this log's end: a
 *       new or restored database): nothing is printed but the bounds, and
 *       the reader starts again from --snapshot.
 *   changes --snapshot [--domain D]
 *       the rows in force now as "snapshot" changes, and the number to
 *       follow them with (read before the rows, so nothing falls between;
 *       a change may come twice, which is harmless: each carries the
 *       whole state).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_buf.h"
#include "bg_cli_suppress_int.h"
#include "bg_config.h"
#include "bg_json.h"
#include "bg_store.h"

static const char *const bg_hist_csv_columns[] = {
    "seq",    "time",   "op",        "sending_domain", "recipient",  "scope", "category",
    "status", "reply_code", "reply", "suppressed_since", "expires_at", "soft_count", "active",
    "source", "actor_uid",  "actor", "message_id",       "note",       NULL,
};

typedef struct bg_hist_out {
    int fmt;
    long long n;
    long long last;     /* the last seq printed */
    bg_buf b;
    int failed;         /* a write failed */
} bg_hist_out;

/* Write and empty the buffer (rows go out as they come: the log may be
 * long, memory stays flat). */
static void bg_hist_flush(bg_hist_out *h)
{
    if (bg_buf_failed(&h->b))
        h->failed = 1;
    else if (h->b.len && fwrite(h->b.p, 1, h->b.len, stdout) != h->b.len)
        h->failed = 1;
    bg_buf_reset(&h->b);
}

/* s cut to at most max bytes on a UTF-8 boundary, "..." when cut. */
static void bg_hist_cut(char *out, size_t outsz, const char *s, size_t max)
{
    if (max + 1 > outsz)
        max = outsz - 1;
    size_t n = strlen(s), k = n;
    if (n > max) {
        k = max > 3 ? max - 3 : 0;
        while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
            k--;
    }
    memcpy(out, s, k);
    if (n > max) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

/* What the table says in its last column: the note, and for a new
 * suppression the remote reply that made it. */
static void bg_hist_detail(const bg_store_change *c, char *out, size_t outsz)
{
    char until[32] = "never", tmp[BG_STORE_NOTE_MAX + BG_STORE_DIAG_MAX + 64];
    if (c->expires_at)
        bg_store_fmt_date(c->expires_at, until);
    size_t o = 0;
    tmp[0] = '\0';
    if (c->active && (strcmp(c->op, "suppressed") == 0 || strcmp(c->op, "added") == 0 ||
                      strcmp(c->op, "snapshot") == 0))
        o += (size_t)snprintf(tmp + o, sizeof tmp - o, "until %s", until);
    if (c->note[0] && o < sizeof tmp)
        o += (size_t)snprintf(tmp + o, sizeof tmp - o, "%s%s", o ? "; " : "", c->note);
    if (c->diagnostic[0] && o < sizeof tmp &&
        (strcmp(c->op, "suppressed") == 0 || strcmp(c->op, "snapshot") == 0))
        o += (size_t)snprintf(tmp + o, sizeof tmp - o, "%s%s", o ? "; " : "", c->diagnostic);
    bg_hist_cut(out, outsz, o ? tmp : "-", 110);
}

static void bg_hist_json(bg_buf *b, const bg_store_change *c)
{
    char t[32];
    bg_store_fmt_time(c->at, t);
    bg_buf_printf(b, "{\"seq\":%lld,\"time\":", c->seq);
    bg_json_str(b, t);
    bg_buf_adds(b, ",\"op\":");
    bg_json_str(b, c->op);
    bg_buf_adds(b, ",\"sending_domain\":");
    bg_json_str(b, c->sender_domain);
    bg_buf_adds(b, ",\"recipient\":");
    bg_json_str(b, c->recipient);
    bg_buf_adds(b, ",\"scope\":");
    bg_json_str(b, c->scope);
    bg_buf_adds(b, ",\"category\":");
    bg_json_str(b, c->category);
    bg_buf_adds(b, ",\"status\":");
    bg_json_str(b, c->status);
    bg_buf_printf(b, ",\"reply_code\":%d,\"reply\":", c->reply_code);
    bg_json_str(b, c->diagnostic);
    bg_buf_adds(b, ",\"suppressed_since\":");
    if (c->suppressed_since) {
        bg_store_fmt_time(c->suppressed_since, t);
        bg_json_str(b, t);
    } else {
        bg_buf_adds(b, "null");
    }
    bg_buf_adds(b, ",\"expires_at\":");
    if (c->expires_at) {
        bg_store_fmt_time(c->expires_at, t);
        bg_json_str(b, t);
    } else {
        bg_buf_adds(b, "null");
    }
    bg_buf_printf(b, ",\"soft_count\":%d,\"active\":%s,\"source\":", c->soft_count,
                  c->active ? "true" : "false");
    bg_json_str(b, c->source);
    bg_buf_adds(b, ",\"actor\":");
    if (c->actor_uid >= 0) {
        bg_buf_printf(b, "{\"uid\":%lld,\"user\":", c->actor_uid);
        bg_json_str(b, c->actor);
        bg_buf_adds(b, "}");
    } else {
        bg_buf_adds(b, "null");
    }
    bg_buf_adds(b, ",\"message_id\":");
    bg_json_str(b, c->message_id);
    bg_buf_adds(b, ",\"note\":");
    bg_json_str(b, c->note);
    bg_buf_adds(b, "}");
}

static void bg_hist_csv(bg_buf *b, const bg_store_change *c)
{
    char seq[24], t[32], code[16] = "", since[32] = "", exp[32] = "never", soft[16], uid[24] = "";
    snprintf(seq, sizeof seq, "%lld", c->seq);
    bg_store_fmt_time(c->at, t);
    if (c->reply_code)
        snprintf(code, sizeof code, "%d", c->reply_code);
    if (c->suppressed_since)
        bg_store_fmt_time(c->suppressed_since, since);
    if (c->expires_at)
        bg_store_fmt_time(c->expires_at, exp);
    snprintf(soft, sizeof soft, "%d", c->soft_count);
    if (c->actor_uid >= 0)
        snprintf(uid, sizeof uid, "%lld", c->actor_uid);
    bg_csv_field(b, seq, 0);
    bg_csv_field(b, t, 0);
    bg_csv_field(b, c->op, 0);
    bg_csv_field(b, c->sender_domain, 0);
    bg_csv_field(b, c->recipient, 0);
    bg_csv_field(b, c->scope, 0);
    bg_csv_field(b, c->category, 0);
    bg_csv_field(b, c->status, 0);
    bg_csv_field(b, code, 0);
    bg_csv_text_field(b, c->diagnostic, 0);
    bg_csv_field(b, since, 0);
    bg_csv_field(b, exp, 0);
    bg_csv_field(b, soft, 0);
    bg_csv_field(b, c->active ? "1" : "0", 0);
    bg_csv_field(b, c->source, 0);
    bg_csv_field(b, uid, 0);
    bg_csv_text_field(b, c->actor, 0);
    bg_csv_text_field(b, c->message_id, 0);
    bg_csv_text_field(b, c->note, 1);
}

static int bg_hist_row(const bg_store_change *c, void *ctx)
{
    bg_hist_out *h = ctx;
    if (h->fmt == BG_FMT_JSON) {
        bg_buf_adds(&h->b, h->n ? ",\n  " : "\n  ");
        bg_hist_json(&h->b, c);
    } else if (h->fmt == BG_FMT_CSV) {
        bg_hist_csv(&h->b, c);
    } else {
        char t[32], by[BG_STORE_ACTOR_MAX + 24] = "-", detail[128];
        bg_store_fmt_time(c->at, t);
        if (c->actor[0])
            snprintf(by, sizeof by, "%s", c->actor);
        else if (c->actor_uid >= 0)
            snprintf(by, sizeof by, "uid %lld", c->actor_uid);
        bg_hist_detail(c, detail, sizeof detail);
        bg_buf_printf(&h->b, "%-6lld %-20s %-10s %-20s %-28s %-20s %-9s %-12s %s\n", c->seq, t, c->op,
                      c->sender_domain, c->recipient, c->category, c->source, by, detail);
    }
    h->n++;
    h->last = c->seq;
    if (h->b.len > 60000)
        bg_hist_flush(h);
    return h->failed;
}

/* The first lines: the table's or CSV's header. */
static void bg_hist_head(bg_hist_out *h)
{
    if (h->fmt == BG_FMT_CSV) {
        for (int i = 0; bg_hist_csv_columns[i]; i++)
            bg_csv_field(&h->b, bg_hist_csv_columns[i], !bg_hist_csv_columns[i + 1]);
    } else if (h->fmt == BG_FMT_TABLE) {
        bg_buf_printf(&h->b, "%-6s %-20s %-10s %-20s %-28s %-20s %-9s %-12s %s\n", "SEQ", "TIME", "OP",
                      "SENDING DOMAIN", "RECIPIENT", "CATEGORY", "SOURCE", "BY", "DETAIL");
    }
}

/* The store for reading the log; NULL (with a message) when it has none. */
static bg_store *bg_hist_open(const bg_sup_opts *o, const bg_policy *p, bg_store_change_bounds *b)
{
    bg_store *s = bg_sup_open(o, p, 0);
    if (!s)
        return NULL;
    bg_store_status st = bg_store_change_bounds_get(s, b);
    if (st == BG_STORE_NOTFOUND) {
        fprintf(stderr,
                "bounceguide: this database has no change log yet (an older schema); it starts when "
                "the first writer -- Exim, or add/remove/import/expire -- upgrades it\n");
    } else if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: %s\n", bg_store_status_text(st));
    } else {
        return s;
    }
    bg_store_close(s);
    return NULL;
}

int bg_sup_history(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs != 2) {
        fprintf(stderr, "bounceguide: history needs ADDRESS|DOMAIN\n");
        return 2;
    }
    int fmt = bg_sup_format(o, BG_FMT_TABLE);
    if (fmt < 0)
        return 2;
    char key[BG_ADDR_MAX];
    if (bg_store_norm_recipient(o->args[1], key) < 0) {
        fprintf(stderr, "bounceguide: \"%.100s\": not an address or domain\n", o->args[1]);
        return 1;
    }
    bg_store_change_bounds bounds;
    bg_store *s = bg_hist_open(o, p, &bounds);
    if (!s)
        return 1;
    bg_hist_out h = {.fmt = fmt};
    bg_buf_init(&h.b);
    bg_hist_head(&h);
    if (fmt == BG_FMT_JSON)
        bg_buf_adds(&h.b, "[");
    bg_store_change_query q = {.recipient = key, .sender_domain = o->domain};
    bg_store_status st = bg_store_changes(s, &q, bg_hist_row, &h);
    bg_store_close(s);
    if (fmt == BG_FMT_JSON)
        bg_buf_adds(&h.b, h.n ? "\n]\n" : "]\n");
    if (st != BG_STORE_OK) {
        bg_buf_free(&h.b);
        fprintf(stderr, "bounceguide: %s\n", bg_store_status_text(st));
        return 1;
    }
    if (fmt == BG_FMT_TABLE && !h.n) {
        bg_buf_reset(&h.b);
        char since[32] = "its start";
        if (bounds.pruned_at)
            bg_store_fmt_date(bounds.pruned_at, since);
        bg_buf_printf(&h.b, "no recorded changes for %s%s%s (the change log goes back to %s)\n", key,
                      o->domain ? " from " : "", o->domain ? o->domain : "", since);
    }
    bg_hist_flush(&h);
    bg_buf_free(&h.b);
    if (h.failed || fflush(stdout) != 0) {
        fprintf(stderr, "bounceguide: write error\n");
        return 1;
    }
    return h.n ? 0 : 1;
}

/* --since: digits are a sequence number, an age (7d, 12h, 30min, 2w) is
 * that long ago, anything else a time. 0, or -1 (message printed). */
static int bg_hist_since(const char *v, long long now, long long *seq, long long *t)
{
    *seq = 0;
    *t = 0;
    if (!v)
        return 0;
    const char *e = v;
    while (isdigit((unsigned char)*e))
        e++;
    if (e > v && !*e) {
        errno = 0;
        long long n = strtoll(v, NULL, 10);
        if (errno == 0 && n >= 0) {
            *seq = n;
            return 0;
        }
    } else if (e > v && (strcmp(e, "s") == 0 || strcmp(e, "min") == 0 || strcmp(e, "h") == 0 ||
                         strcmp(e, "d") == 0 || strcmp(e, "w") == 0)) {
        long long d;
        if (bg_config_parse_num(v, &d) == 0) {
            *t = now - d;
            return 0;
        }
    } else if (bg_store_parse_time(v, t) == 0) {
        return 0;
    }
    fprintf(stderr, "bounceguide: --since \"%.40s\": a sequence number (42), a time (2026-11-20, "
                    "2026-11-20T10:00:00Z) or an age (7d, 12h)\n", v);
    return -1;
}

/* The snapshot: rows in force as changes numbered with the log's end. */
typedef struct bg_hist_snap {
    bg_hist_out *h;
    long long seq;
} bg_hist_snap;

static int bg_hist_snap_row(const bg_store_row *r, void *ctx)
{
    bg_hist_snap *sn = ctx;
    bg_store_change c;
    memset(&c, 0, sizeof c);
    c.seq = sn->seq;
    c.at = r->last_seen;
    snprintf(c.op, sizeof c.op, "snapshot");
    snprintf(c.sender_domain, sizeof c.sender_domain, "%s", r->sender_domain);
    snprintf(c.recipient, sizeof c.recipient, "%s", r->recipient);
    snprintf(c.scope, sizeof c.scope, "%s", r->scope);
    snprintf(c.category, sizeof c.category, "%s", r->category);
    snprintf(c.status, sizeof c.status, "%s", r->status);
    c.reply_code = r->reply_code;
    snprintf(c.diagnostic, sizeof c.diagnostic, "%s", r->diagnostic);
    c.suppressed_since = r->suppressed_since;
    c.expires_at = r->expires_at;
    c.soft_count = r->soft_count;
    c.active = 1;
    snprintf(c.source, sizeof c.source, "%s", r->source);
    c.actor_uid = -1;
    snprintf(c.message_id, sizeof c.message_id, "%s", r->last_message_id);
    return bg_hist_row(&c, sn->h);
}

int bg_sup_changes(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs != 1) {
        fprintf(stderr, "bounceguide: changes takes no arguments\n");
        return 2;
    }
    int fmt = bg_sup_format(o, BG_FMT_TABLE);
    if (fmt < 0)
        return 2;
    long long now = (long long)time(NULL), after = 0, since = 0, limit = 0;
    if (o->snapshot && (o->since || o->limit)) {
        fprintf(stderr, "bounceguide: --snapshot takes no --since or --limit: it is every row in force\n");
        return 2;
    }
    if (bg_hist_since(o->since, now, &after, &since) < 0)
        return 2;
    if (o->limit) {
        char *e;
        errno = 0;
        limit = strtoll(o->limit, &e, 10);
        if (errno || *e || limit <= 0) {
            fprintf(stderr, "bounceguide: --limit \"%.20s\": a number above 0\n", o->limit);
            return 2;
        }
    }
    bg_store_change_bounds bd;
    bg_store *s = bg_hist_open(o, p, &bd);
    if (!s)
        return 1;
    /* a cursor whose next change was pruned, or past this log's end (a new
     * or restored database), cannot be followed: say so, print no changes */
    int by_seq = o->since && !since && !o->snapshot;
    int complete = !by_seq || (after >= bd.pruned_seq && after <= bd.last_seq);
    if (!o->snapshot && !by_seq && since && bd.pruned_seq && since <= bd.pruned_at)
        complete = 0; /* from a time the log no longer reaches back to: what it has */
    bg_hist_out h = {.fmt = fmt};
    bg_buf_init(&h.b);
    if (fmt == BG_FMT_JSON) {
        bg_buf_adds(&h.b, "{\"log_id\":");
        bg_json_str(&h.b, bd.log_id);
        bg_buf_printf(&h.b, ",\"last_seq\":%lld,\"pruned_seq\":%lld,\"complete\":%s,%s\"changes\":[",
                      bd.last_seq, bd.pruned_seq, complete ? "true" : "false",
                      o->snapshot ? "\"snapshot\":true," : "");
    }
    bg_hist_head(&h);
    bg_store_status st = BG_STORE_OK;
    long long next = by_seq ? after : bd.last_seq;
    int more = 0;
    if (o->snapshot) {
        /* the log's end was read before the rows: a change between the two
         * comes again after --since next, never falls between */
        bg_hist_snap sn = {&h, bd.last_seq};
        st = bg_store_list(s, o->domain, NULL, NULL, 1, now, bg_hist_snap_row, &sn);
    } else if (complete || !by_seq) {
        bg_store_change_query q = {.after_seq = after, .up_to_seq = bd.last_seq, .since = since,
                                   .sender_domain = o->domain, .limit = limit};
        st = bg_store_changes(s, &q, bg_hist_row, &h);
        /* without a limit everything up to last_seq was read (filters
         * included); with one that stopped it, go on after the last */
        next = bd.last_seq;
        if (limit && h.n >= limit && h.last < bd.last_seq) {
            next = h.last;
            more = 1;
        }
    }
    bg_store_close(s);
    if (st != BG_STORE_OK) {
        bg_buf_free(&h.b);
        fprintf(stderr, "bounceguide: %s\n", bg_store_status_text(st));
        return 1;
    }
    if (fmt == BG_FMT_JSON)
        bg_buf_printf(&h.b, "%s],\"next_since\":%lld,\"more\":%s}\n", h.n ? "\n" : "", next,
                      more ? "true" : "false");
    else if (fmt == BG_FMT_TABLE)
        bg_buf_printf(&h.b, "%lld change(s)%s; next: bounceguide suppress changes --since %lld\n", h.n,
                      more ? " (more follow)" : "", next);
    bg_hist_flush(&h);
    bg_buf_free(&h.b);
    if (h.failed || fflush(stdout) != 0) {
        fprintf(stderr, "bounceguide: write error\n");
        return 1;
    }
    if (!complete && by_seq) {
        if (after > bd.last_seq)
            fprintf(stderr, "bounceguide: --since %lld is past this change log's last change (%lld): "
                            "a new or restored database; start again from --snapshot\n", after, bd.last_seq);
        else
            fprintf(stderr, "bounceguide: the changes after %lld were pruned (the log starts after %lld); "
                            "start again from --snapshot\n", after, bd.pruned_seq);
        return 3;
    }
    if (!complete)
        fprintf(stderr, "bounceguide: the change log goes back only to changes after %lld\n", bd.pruned_seq);
    return 0;
}
