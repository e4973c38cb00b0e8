/* bg_cli_report: `bounceguide report` and `bounceguide guard` -- what the
 * event hook counted (bg_store_count): deliveries, bounces, deferrals and
 * complaints and their rates per sending domain, receiving operator,
 * category or day, with the bulk-sender limits Gmail and Yahoo publish
 * flagged, and the bounce-rate guard's state and reset.
 *
 *   report [--since T] [--until T] [--by domain|provider|category|day]
 *          [--domain D] [--format table|json|prometheus] [--output FILE]
 *   guard status [DOMAIN]
 *   guard reset DOMAIN [--reason TEXT]
 *   and --db FILE, --config FILE
 *
 * A thin client of bg_store_count and bg_policy. The flags are data
 * (bg_report_limits) with where each limit is published.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bg_buf.h"
#include "bg_cli.h"
#include "bg_cli_suppress_int.h"
#include "bg_config.h"
#include "bg_json.h"
#include "bg_policy.h"
#include "bg_provider.h"
#include "bg_store.h"
#include "bg_store_count.h"

/* The limits the two largest mailbox providers publish for bulk senders
 * (read 2026-12):
 *   Gmail, "Email sender guidelines", support.google.com/a/answer/81126:
 *     keep the spam rate reported in Postmaster Tools below 0.10% and
 *     never let it reach 0.30%; the requirements for bulk senders apply
 *     to whoever sends close to 5,000 messages or more to personal Gmail
 *     accounts within 24 hours, counted over the primary domain, and
 *     once a bulk sender, always one (FAQ, support.google.com/a/answer/14229414).
 *   Yahoo, "Sender Best Practices", senders.yahooinc.com/best-practices:
 *     keep the spam complaint rate below 0.3%; Yahoo publishes no volume
 *     that makes a bulk sender.
 * What is counted here differs: complaints are the ones feedback loops
 * report (Yahoo's and Microsoft's; Gmail sends none per message), and
 * deliveries "to Google" include Workspace domains, which Gmail's bulk
 * rule does not count -- the flags say where to look, Postmaster Tools
 * and Yahoo's Sender Hub say what the providers see. */
static const struct {
    const char *id;
    double complaint_rate;  /* flag at or above this share of deliveries (0: none) */
    long long daily;        /* flag at or above this many deliveries a day to provider */
    const char *provider;
    const char *text;
} bg_report_limits[] = {
    {"complaint-rate-0.3", 0.003, 0, NULL,
     "spam-complaint rate %s reaches 0.3%%: Gmail and Yahoo both require bulk senders to stay "
     "below it (Gmail: support.google.com/a/answer/81126; Yahoo: senders.yahooinc.com/best-practices)"},
    {"complaint-rate-0.1", 0.001, 0, NULL,
     "spam-complaint rate %s reaches 0.1%%: Gmail asks senders to keep it below that "
     "(support.google.com/a/answer/81126)"},
    {"gmail-bulk-volume", 0, 5000, "google",
     "%s: a bulk sender to Gmail from 5,000 a day on (SPF, DKIM and "
     "DMARC, one-click unsubscribe, complaint rate under 0.3%%: support.google.com/a/answer/14229414); "
     "counted with Workspace domains"},
    {NULL, 0, 0, NULL, NULL},
};

static const char *const bg_by_names[] = {"domain", "provider", "category", "day", NULL};
enum { BG_RF_TABLE, BG_RF_JSON, BG_RF_PROM };

typedef struct bg_report {
    bg_store *s;
    const bg_policy *p;
    int by;
    int fmt;
    long long since, until, now;
    const char *domain;
    bg_buf out;
    int n;
    long long tot[BG_OUT_N];
} bg_report;

static double bg_rate(long long part, long long whole)
{
    return whole > 0 ? (double)part / (double)whole : 0.0;
}

/* ---- Prometheus text format (node_exporter's textfile collector) ---- */

/* A label value: backslash, double quote and line feed escaped. */
static void bg_prom_label(bg_buf *b, const char *v)
{
    bg_buf_addc(b, '"');
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            bg_buf_addc(b, '\\');
        if (*v == '\n') {
            bg_buf_adds(b, "\\n");
            continue;
        }
        bg_buf_addc(b, *v);
    }
    bg_buf_addc(b, '"');
}

static void bg_prom_head(bg_buf *b, const char *name, const char *help)
{
    bg_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* name{label="key"[,extra="v"]} value */
static void bg_prom_sample(bg_buf *b, const char *name, const char *label, const char *key,
                           const char *extra, const char *extra_v, double v)
{
    bg_buf_printf(b, "%s{%s=", name, label);
    bg_prom_label(b, key);
    if (extra) {
        bg_buf_printf(b, ",%s=", extra);
        bg_prom_label(b, extra_v);
    }
    if (v == (double)(long long)v)
        bg_buf_printf(b, "} %lld\n", (long long)v);
    else
        bg_buf_printf(b, "} %.6g\n", v);
}

/* ---- the groups ---- */

typedef struct bg_group {
    char key[BG_DOMAIN_MAX];
    long long n[BG_OUT_N];
    char flags[4][400];
    char flag_ids[4][32];
    int nflags;
    int guard_on, guard_holds;
    bg_policy_guard g;
    bg_store_guard gc;
} bg_group;

typedef struct bg_groups {
    bg_group *v;
    size_t n, cap;
} bg_groups;

static int bg_collect(const bg_store_count_group *g, void *ctx)
{
    bg_groups *gs = ctx;
    if (gs->n == gs->cap) {
        size_t nc = gs->cap ? gs->cap * 2 : 32;
        bg_group *nv = realloc(gs->v, nc * sizeof *nv);
        if (!nv)
            return 1;
        gs->v = nv;
        gs->cap = nc;
    }
    bg_group *x = &gs->v[gs->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->key, sizeof x->key, "%s", g->key);
    memcpy(x->n, g->n, sizeof x->n);
    return 0;
}

static int bg_peak(const char *domain, long long day, long long n, void *ctx)
{
    bg_groups *gs = ctx;
    for (size_t i = 0; i < gs->n; i++) {
        bg_group *x = &gs->v[i];
        if (strcmp(x->key, domain) != 0 || x->nflags >= 4)
            continue;
        for (int k = 0; bg_report_limits[k].id; k++) {
            if (!bg_report_limits[k].daily || n < bg_report_limits[k].daily)
                continue;
            char num[96], date[32];
            bg_store_fmt_date(day, date);
            snprintf(num, sizeof num, "%lld deliveries to Google on %s", n, date);
            snprintf(x->flags[x->nflags], sizeof x->flags[0], bg_report_limits[k].text, num);
            snprintf(x->flag_ids[x->nflags++], sizeof x->flag_ids[0], "%s", bg_report_limits[k].id);
            break;
        }
    }
    return 0;
}

/* The flags and the guard of each sending domain. */
static bg_store_status bg_report_domains(bg_report *r, bg_groups *gs)
{
    for (size_t i = 0; i < gs->n; i++) {
        bg_group *x = &gs->v[i];
        double cr = bg_rate(x->n[BG_OUT_COMPLAINT], x->n[BG_OUT_DELIVERED]);
        for (int k = 0; bg_report_limits[k].id; k++) {
            if (bg_report_limits[k].complaint_rate <= 0 || x->n[BG_OUT_DELIVERED] <= 0 ||
                cr < bg_report_limits[k].complaint_rate)
                continue;
            char num[32];
            snprintf(num, sizeof num, "%.3f%%", 100.0 * cr);
            snprintf(x->flags[x->nflags], sizeof x->flags[0], bg_report_limits[k].text, num);
            snprintf(x->flag_ids[x->nflags++], sizeof x->flag_ids[0], "%s", bg_report_limits[k].id);
            break; /* the strictest that holds */
        }
        x->guard_on = bg_policy_guard_get(r->p, x->key, &x->g);
        if (x->guard_on) {
            bg_store_status st = bg_store_guard_counts(r->s, x->key, x->g.window, r->now, &x->gc);
            if (st != BG_STORE_OK)
                return st;
            x->guard_holds = bg_policy_guard_holds(&x->g, x->gc.delivered, x->gc.bounced);
        }
    }
    for (int k = 0; bg_report_limits[k].id; k++)
        if (bg_report_limits[k].daily) {
            bg_store_status st = bg_store_count_peak(r->s, bg_report_limits[k].provider, r->since,
                                                     r->until, r->domain, bg_peak, gs);
            if (st != BG_STORE_OK)
                return st;
        }
    return BG_STORE_OK;
}

/* The guard's state in words (for the table and the JSON). */
static void bg_guard_words(const bg_group *x, char *out, size_t outsz)
{
    char since[32];
    bg_store_fmt_time(x->gc.from, since);
    long long total = x->gc.delivered + x->gc.bounced;
    snprintf(out, outsz, "%s: bounce rate %.1f%% (%lld of %lld) since %s, limit %.1f%% from %lld messages%s",
             x->guard_holds ? "HOLDS its mail (451 at RCPT, deferred in the queue)" : "lets mail through",
             100.0 * bg_rate(x->gc.bounced, total), x->gc.bounced, total, since, 100.0 * x->g.rate,
             x->g.min_volume, x->gc.reset_at ? " (counted from the last reset)" : "");
}

/* The key as shown: a day's date, a provider's name. */
static void bg_key_shown(const bg_report *r, const char *key, char *out, size_t outsz)
{
    if (r->by == BG_COUNT_BY_DAY) {
        bg_store_fmt_date(strtoll(key, NULL, 10), out);
    } else if (r->by == BG_COUNT_BY_CATEGORY) {
        snprintf(out, outsz, "%s", *key ? key : "(delivered)");
    } else {
        snprintf(out, outsz, "%s", key);
    }
}

static void bg_report_table(bg_report *r, const bg_groups *gs)
{
    bg_buf *b = &r->out;
    char t1[32], t2[32];
    bg_store_fmt_time(r->since, t1);
    bg_store_fmt_time(r->until ? r->until : r->now, t2);
    bg_buf_printf(b, "from %s to %s, by %s\n", t1, t2, bg_by_names[r->by]);
    int w = r->by == BG_COUNT_BY_PROVIDER ? 40 : 28;
    bg_buf_printf(b, "%-*s %10s %9s %8s %9s %10s %10s\n", w,
                  r->by == BG_COUNT_BY_DOMAIN ? "SENDING DOMAIN" : r->by == BG_COUNT_BY_PROVIDER ? "PROVIDER"
                  : r->by == BG_COUNT_BY_CATEGORY ? "CATEGORY" : "DAY (UTC)",
                  "DELIVERED", "BOUNCED", "BOUNCE%", "DEFERRED", "COMPLAINTS", "COMPLAINT%");
    for (size_t i = 0; i < gs->n; i++) {
        const bg_group *x = &gs->v[i];
        char key[BG_DOMAIN_MAX];
        bg_key_shown(r, x->key, key, sizeof key);
        const bg_provider *pv = r->by == BG_COUNT_BY_PROVIDER ? bg_provider_by_id(x->key) : NULL;
        bg_buf_printf(b, "%-*s %10lld %9lld %7.2f%% %9lld %10lld %9.3f%%\n", w, pv ? pv->name : key,
                      x->n[BG_OUT_DELIVERED], x->n[BG_OUT_BOUNCED],
                      100.0 * bg_rate(x->n[BG_OUT_BOUNCED], x->n[BG_OUT_DELIVERED] + x->n[BG_OUT_BOUNCED]),
                      x->n[BG_OUT_DEFERRED], x->n[BG_OUT_COMPLAINT],
                      100.0 * bg_rate(x->n[BG_OUT_COMPLAINT], x->n[BG_OUT_DELIVERED]));
    }
    bg_buf_printf(b, "%-*s %10lld %9lld %7.2f%% %9lld %10lld %9.3f%%\n", w, "TOTAL", r->tot[BG_OUT_DELIVERED],
                  r->tot[BG_OUT_BOUNCED],
                  100.0 * bg_rate(r->tot[BG_OUT_BOUNCED], r->tot[BG_OUT_DELIVERED] + r->tot[BG_OUT_BOUNCED]),
                  r->tot[BG_OUT_DEFERRED], r->tot[BG_OUT_COMPLAINT],
                  100.0 * bg_rate(r->tot[BG_OUT_COMPLAINT], r->tot[BG_OUT_DELIVERED]));
    for (size_t i = 0; i < gs->n; i++) {
        const bg_group *x = &gs->v[i];
        for (int k = 0; k < x->nflags; k++)
            bg_buf_printf(b, "! %s: %s\n", x->key, x->flags[k]);
        if (x->guard_on) {
            char words[400];
            bg_guard_words(x, words, sizeof words);
            bg_buf_printf(b, "%s %s: bounce-rate guard %s\n", x->guard_holds ? "!" : "-", x->key, words);
        }
    }
}

static void bg_json_counts(bg_buf *b, const long long *n)
{
    bg_buf_printf(b, "\"delivered\":%lld,\"bounced\":%lld,\"deferred\":%lld,\"complaints\":%lld,"
                     "\"bounce_rate\":%.6f,\"complaint_rate\":%.6f",
                  n[BG_OUT_DELIVERED], n[BG_OUT_BOUNCED], n[BG_OUT_DEFERRED], n[BG_OUT_COMPLAINT],
                  bg_rate(n[BG_OUT_BOUNCED], n[BG_OUT_DELIVERED] + n[BG_OUT_BOUNCED]),
                  bg_rate(n[BG_OUT_COMPLAINT], n[BG_OUT_DELIVERED]));
}

static void bg_report_json(bg_report *r, const bg_groups *gs)
{
    bg_buf *b = &r->out;
    char t1[32], t2[32];
    bg_store_fmt_time(r->since, t1);
    bg_store_fmt_time(r->until ? r->until : r->now, t2);
    bg_buf_printf(b, "{\"since\":\"%s\",\"until\":\"%s\",\"by\":\"%s\",\"groups\":[", t1, t2, bg_by_names[r->by]);
    for (size_t i = 0; i < gs->n; i++) {
        const bg_group *x = &gs->v[i];
        bg_buf_adds(b, i ? ",\n  {\"key\":" : "\n  {\"key\":");
        char key[BG_DOMAIN_MAX];
        bg_key_shown(r, x->key, key, sizeof key);
        bg_json_str(b, r->by == BG_COUNT_BY_CATEGORY && !*x->key ? "" : key);
        if (r->by == BG_COUNT_BY_PROVIDER) {
            const bg_provider *pv = bg_provider_by_id(x->key);
            bg_buf_adds(b, ",\"name\":");
            bg_json_str(b, pv ? pv->name : x->key);
        }
        bg_buf_addc(b, ',');
        bg_json_counts(b, x->n);
        if (r->by == BG_COUNT_BY_DOMAIN) {
            bg_buf_adds(b, ",\"flags\":[");
            for (int k = 0; k < x->nflags; k++) {
                bg_buf_adds(b, k ? ",{\"id\":" : "{\"id\":");
                bg_json_str(b, x->flag_ids[k]);
                bg_buf_adds(b, ",\"text\":");
                bg_json_str(b, x->flags[k]);
                bg_buf_addc(b, '}');
            }
            bg_buf_adds(b, "],\"guard\":");
            if (!x->guard_on) {
                bg_buf_adds(b, "null");
            } else {
                char since[32];
                bg_store_fmt_time(x->gc.from, since);
                bg_buf_printf(b, "{\"holds\":%s,\"limit\":%.6f,\"window\":%lld,\"min_volume\":%lld,"
                                 "\"since\":\"%s\",\"delivered\":%lld,\"bounced\":%lld,\"reset_at\":",
                              x->guard_holds ? "true" : "false", x->g.rate, x->g.window, x->g.min_volume, since,
                              x->gc.delivered, x->gc.bounced);
                if (x->gc.reset_at) {
                    char ra[32];
                    bg_store_fmt_time(x->gc.reset_at, ra);
                    bg_json_str(b, ra);
                } else {
                    bg_buf_adds(b, "null");
                }
                bg_buf_addc(b, '}');
            }
        }
        bg_buf_addc(b, '}');
    }
    bg_buf_adds(b, gs->n ? "\n],\"totals\":{" : "],\"totals\":{");
    bg_json_counts(b, r->tot);
    bg_buf_adds(b, "}}\n");
}

static void bg_report_prom(bg_report *r, const bg_groups *gs)
{
    bg_buf *b = &r->out;
    static const char *const labels[] = {"sending_domain", "provider", "category", "day"};
    const char *label = labels[r->by];
    bg_prom_head(b, "bounceguide_messages",
                 "Messages counted by bounceguide's event hook over the report's window, by outcome.");
    for (size_t i = 0; i < gs->n; i++)
        for (int o = 0; o < BG_OUT_N; o++) {
            char key[BG_DOMAIN_MAX];
            bg_key_shown(r, gs->v[i].key, key, sizeof key);
            bg_prom_sample(b, "bounceguide_messages", label, r->by == BG_COUNT_BY_CATEGORY ? gs->v[i].key : key,
                           "outcome", bg_store_outcome_name((bg_store_outcome)o), (double)gs->v[i].n[o]);
        }
    bg_prom_head(b, "bounceguide_bounce_ratio", "Bounced / (delivered + bounced) over the report's window.");
    for (size_t i = 0; i < gs->n; i++) {
        const long long *n = gs->v[i].n;
        char key[BG_DOMAIN_MAX];
        bg_key_shown(r, gs->v[i].key, key, sizeof key);
        bg_prom_sample(b, "bounceguide_bounce_ratio", label, r->by == BG_COUNT_BY_CATEGORY ? gs->v[i].key : key,
                       NULL, NULL, bg_rate(n[BG_OUT_BOUNCED], n[BG_OUT_DELIVERED] + n[BG_OUT_BOUNCED]));
    }
    bg_prom_head(b, "bounceguide_complaint_ratio", "Complaints / delivered over the report's window.");
    for (size_t i = 0; i < gs->n; i++) {
        const long long *n = gs->v[i].n;
        char key[BG_DOMAIN_MAX];
        bg_key_shown(r, gs->v[i].key, key, sizeof key);
        bg_prom_sample(b, "bounceguide_complaint_ratio", label, r->by == BG_COUNT_BY_CATEGORY ? gs->v[i].key : key,
                       NULL, NULL, bg_rate(n[BG_OUT_COMPLAINT], n[BG_OUT_DELIVERED]));
    }
    if (r->by == BG_COUNT_BY_DOMAIN) {
        bg_prom_head(b, "bounceguide_bulk_sender_flag",
                     "1 where a sending domain crosses a bulk-sender limit Gmail or Yahoo publish (rule).");
        for (size_t i = 0; i < gs->n; i++)
            for (int k = 0; k < gs->v[i].nflags; k++)
                bg_prom_sample(b, "bounceguide_bulk_sender_flag", "sending_domain", gs->v[i].key, "rule",
                               gs->v[i].flag_ids[k], 1);
        bg_prom_head(b, "bounceguide_guard_holding",
                     "1 while the bounce-rate guard holds a sending domain's mail, 0 when it lets it through.");
        for (size_t i = 0; i < gs->n; i++)
            if (gs->v[i].guard_on)
                bg_prom_sample(b, "bounceguide_guard_holding", "sending_domain", gs->v[i].key, NULL, NULL,
                               gs->v[i].guard_holds);
    }
    bg_prom_head(b, "bounceguide_report_window_seconds", "The span the report sums.");
    bg_buf_printf(b, "bounceguide_report_window_seconds %lld\n",
                  (r->until ? r->until : r->now) - r->since);
    bg_prom_head(b, "bounceguide_report_timestamp_seconds", "When the report was made (unix time).");
    bg_buf_printf(b, "bounceguide_report_timestamp_seconds %lld\n", r->now);
}

/* ---- options and the store ---- */

typedef struct bg_rep_opts {
    const char *db, *config, *since, *until, *by, *domain, *format, *output, *reason;
    const char *args[3];
    int nargs;
} bg_rep_opts;

static int bg_rep_parse(int argc, char **argv, int first, bg_rep_opts *o)
{
    static const bg_cli_opt valued[] = {
        {"--db", offsetof(bg_rep_opts, db)},          {"--config", offsetof(bg_rep_opts, config)},
        {"--since", offsetof(bg_rep_opts, since)},    {"--until", offsetof(bg_rep_opts, until)},
        {"--by", offsetof(bg_rep_opts, by)},          {"--domain", offsetof(bg_rep_opts, domain)},
        {"--sender-domain", offsetof(bg_rep_opts, domain)},
        {"--format", offsetof(bg_rep_opts, format)},  {"--output", offsetof(bg_rep_opts, output)},
        {"--reason", offsetof(bg_rep_opts, reason)},  {NULL, 0},
    };
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        int got = bg_cli_opt_value(valued, o, argc, argv, &i);
        if (got < 0)
            return -1;
        if (got)
            continue;
        if (strcmp(a, "--json") == 0)
            o->format = "json";
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return -2;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "bounceguide: unknown option %s\n", a);
            return -1;
        } else if (o->nargs < 3)
            o->args[o->nargs++] = a;
        else {
            fprintf(stderr, "bounceguide: too many arguments\n");
            return -1;
        }
    }
    return 0;
}

static bg_store *bg_rep_open(const bg_rep_opts *o, const bg_policy *p, int write)
{
    return bg_cli_store_open(o->db ? o->db : bg_policy_db_path(p), write);
}

/* Write the output to stdout, or to FILE through a temporary file renamed
 * over it (a collector never reads half a file). 0, or 1 (reported). */
static int bg_rep_write(const bg_buf *b, const char *output)
{
    if (bg_buf_failed(b)) {
        fprintf(stderr, "bounceguide: out of memory\n");
        return 1;
    }
    if (!output || strcmp(output, "-") == 0) {
        if (fwrite(b->p, 1, b->len, stdout) != b->len || fflush(stdout) != 0) {
            fprintf(stderr, "bounceguide: write error\n");
            return 1;
        }
        return 0;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", output, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int bad = !f || fwrite(b->p, 1, b->len, f) != b->len;
    if (f && fclose(f) != 0)
        bad = 1;
    if (bad || rename(tmp, output) != 0) {
        fprintf(stderr, "bounceguide: %s: %s\n", output, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

static int bg_report_run(const bg_rep_opts *o, const bg_policy *p)
{
    bg_report r;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.now = (long long)time(NULL);
    r.domain = o->domain;
    r.by = BG_COUNT_BY_DOMAIN;
    if (o->by) {
        r.by = -1;
        for (int i = 0; bg_by_names[i]; i++)
            if (strcmp(o->by, bg_by_names[i]) == 0)
                r.by = i;
        if (r.by < 0) {
            fprintf(stderr, "bounceguide: --by: domain, provider, category or day\n");
            return 2;
        }
    }
    r.fmt = BG_RF_TABLE;
    if (o->format) {
        if (strcmp(o->format, "json") == 0)
            r.fmt = BG_RF_JSON;
        else if (strcmp(o->format, "prometheus") == 0)
            r.fmt = BG_RF_PROM;
        else if (strcmp(o->format, "table") != 0) {
            fprintf(stderr, "bounceguide: --format: table, json or prometheus\n");
            return 2;
        }
    }
    r.since = r.now - 7 * 86400;
    if ((o->since && bg_cli_parse_when(o->since, r.now, &r.since) < 0) ||
        (o->until && bg_cli_parse_when(o->until, r.now, &r.until) < 0)) {
        fprintf(stderr, "bounceguide: --since/--until: a time (2026-11-20, 2026-11-20T10:00:00Z) or an age "
                        "(7d, 12h)\n");
        return 2;
    }
    r.since -= r.since % BG_STORE_COUNT_BUCKET; /* whole hours: what the counters hold */
    if (r.domain && !bg_store_domain_valid(r.domain)) {
        fprintf(stderr, "bounceguide: --domain: not a domain name\n");
        return 2;
    }
    if (o->nargs) {
        fprintf(stderr, "bounceguide: report takes no arguments\n");
        return 2;
    }
    r.s = bg_rep_open(o, p, 0);
    if (!r.s)
        return 1;
    bg_groups gs = {0};
    bg_store_status st = bg_store_count_report(r.s, (bg_store_count_by)r.by, r.since, r.until, r.domain,
                                               bg_collect, &gs);
    if (st == BG_STORE_OK && r.by == BG_COUNT_BY_DOMAIN)
        st = bg_report_domains(&r, &gs);
    int rc = 1;
    if (st == BG_STORE_NOTFOUND) {
        fprintf(stderr, "bounceguide: no counters in this database yet: the first Exim process that "
                        "writes after the upgrade (schema 5) starts them\n");
        goto out;
    }
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: %s\n", bg_store_status_text(st));
        goto out;
    }
    for (size_t i = 0; i < gs.n; i++)
        for (int k = 0; k < BG_OUT_N; k++)
            r.tot[k] += gs.v[i].n[k];
    bg_buf_init(&r.out);
    if (r.fmt == BG_RF_JSON)
        bg_report_json(&r, &gs);
    else if (r.fmt == BG_RF_PROM)
        bg_report_prom(&r, &gs);
    else
        bg_report_table(&r, &gs);
    rc = bg_rep_write(&r.out, o->output);
    bg_buf_free(&r.out);
out:
    free(gs.v);
    bg_store_close(r.s);
    return rc;
}

static int bg_report_usage(FILE *out, const char *cmd)
{
    if (strcmp(cmd, "guard") == 0)
        fprintf(out, "usage: bounceguide guard status [DOMAIN]          the bounce-rate guard of each sending domain\n"
                     "       bounceguide guard reset DOMAIN [--reason TEXT]  count from now on only (lets its mail go)\n"
                     "options: --db FILE, --config FILE\n");
    else
        fprintf(out, "usage: bounceguide report [--since T] [--until T] [--by domain|provider|category|day]\n"
                     "                          [--domain D] [--format table|json|prometheus] [--output FILE]\n"
                     "  deliveries, bounces, deferrals, complaints and their rates (default: the last 7 days,\n"
                     "  by sending domain); T: 2026-11-20, 2026-11-20T10:00:00Z or an age (7d, 12h)\n"
                     "options: --db FILE, --config FILE\n");
    return out == stdout ? 0 : 2;
}

/* guard status: one line per sending domain with counters in the last
 * guard window (or the one named). */
typedef struct bg_gs {
    const bg_policy *p;
    bg_store *s;
    long long now;
    int n;
    bg_store_status st;
} bg_gs;

static int bg_guard_status_one(const bg_store_count_group *g, void *ctx)
{
    bg_gs *c = ctx;
    bg_group x;
    memset(&x, 0, sizeof x);
    snprintf(x.key, sizeof x.key, "%s", g->key);
    x.guard_on = bg_policy_guard_get(c->p, x.key, &x.g);
    c->n++;
    if (!x.guard_on) {
        printf("%-28s off (guard_bounce_rate not set)\n", x.key);
        return 0;
    }
    c->st = bg_store_guard_counts(c->s, x.key, x.g.window, c->now, &x.gc);
    if (c->st != BG_STORE_OK)
        return 1;
    x.guard_holds = bg_policy_guard_holds(&x.g, x.gc.delivered, x.gc.bounced);
    char w[400];
    bg_guard_words(&x, w, sizeof w);
    printf("%-28s %s\n", x.key, w);
    if (x.gc.reset_at) {
        char t[32];
        bg_store_fmt_time(x.gc.reset_at, t);
        printf("%-28s last reset %s by %s%s%s\n", "", t, x.gc.actor[0] ? x.gc.actor : "?",
               x.gc.note[0] ? ": " : "", x.gc.note);
    }
    return 0;
}

static int bg_guard_run(const bg_rep_opts *o, const bg_policy *p)
{
    const char *verb = o->nargs ? o->args[0] : "status";
    if (strcmp(verb, "status") == 0) {
        if (o->nargs > 2) {
            fprintf(stderr, "bounceguide: guard status takes at most one DOMAIN\n");
            return 2;
        }
        const char *dom = o->nargs == 2 ? o->args[1] : o->domain;
        if (dom && !bg_store_domain_valid(dom)) {
            fprintf(stderr, "bounceguide: \"%.100s\": not a domain name\n", dom);
            return 2;
        }
        bg_gs c = {.p = p, .now = (long long)time(NULL), .st = BG_STORE_OK};
        c.s = bg_rep_open(o, p, 0);
        if (!c.s)
            return 1;
        /* the domains seen within the longest window anyone would set */
        bg_store_status st = bg_store_count_report(c.s, BG_COUNT_BY_DOMAIN, c.now - 30 * 86400, 0, dom,
                                                   bg_guard_status_one, &c);
        if (st == BG_STORE_OK)
            st = c.st;
        bg_store_close(c.s);
        if (st == BG_STORE_NOTFOUND) {
            fprintf(stderr, "bounceguide: no counters in this database yet\n");
            return 1;
        }
        if (st != BG_STORE_OK) {
            fprintf(stderr, "bounceguide: %s\n", bg_store_status_text(st));
            return 1;
        }
        if (!c.n)
            printf("no mail counted%s%s in the last 30 days\n", dom ? " for " : "", dom ? dom : "");
        return 0;
    }
    if (strcmp(verb, "reset") == 0) {
        if (o->nargs != 2 || !bg_store_domain_valid(o->args[1])) {
            fprintf(stderr, "bounceguide: guard reset needs a sending DOMAIN\n");
            return 2;
        }
        bg_store *s = bg_rep_open(o, p, 1);
        if (!s)
            return 1;
        bg_sup_actor(s, BG_SRC_ADMIN, o->reason); /* who reset it, and why */
        bg_store_status st = bg_store_guard_reset(s, o->args[1], 0);
        bg_store_close(s);
        if (st != BG_STORE_OK) {
            fprintf(stderr, "bounceguide: guard reset failed: %s\n", bg_store_status_text(st));
            return 1;
        }
        printf("the bounce-rate guard of %s counts from now on\n", o->args[1]);
        return 0;
    }
    fprintf(stderr, "bounceguide: unknown guard command \"%.40s\"\n", verb);
    return bg_report_usage(stderr, "guard");
}

/* `bounceguide report ...` and `bounceguide guard ...` */
int bg_cli_report(int argc, char **argv)
{
    bg_rep_opts o;
    memset(&o, 0, sizeof o);
    int pr = bg_rep_parse(argc, argv, 1, &o);
    if (pr == -2)
        return bg_report_usage(stdout, argv[0]);
    if (pr < 0)
        return 2;
    if (o.domain && !bg_store_domain_valid(o.domain)) {
        fprintf(stderr, "bounceguide: --domain: not a domain name\n");
        return 2;
    }
    bg_config *cfg = bg_cli_config_load(o.config);
    if (!cfg)
        return 1;
    bg_policy *p = bg_policy_new(cfg);
    int rc = 1;
    if (p)
        rc = strcmp(argv[0], "guard") == 0 ? bg_guard_run(&o, p) : bg_report_run(&o, p);
    bg_policy_free(p);
    bg_config_free(cfg);
    return rc;
}
