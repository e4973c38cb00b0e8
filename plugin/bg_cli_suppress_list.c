/* bg_cli_suppress_list: `bounceguide suppress list|show|export|stats` --
 * the rows as a table, JSON or CSV, and their counts. A thin client of
 * bg_store; the CSV writer is shared with import and history. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_buf.h"
#include "bg_category.h"
#include "bg_cli_suppress_int.h"
#include "bg_json.h"
#include "bg_store.h"

/* ---- output --------------------------------------------------------------- */

static void bg_sup_json_row(bg_buf *b, const bg_store_row *r, long long now)
{
    char t1[32], t2[32], t3[32], t4[32];
    bg_store_fmt_time(r->first_seen, t1);
    bg_store_fmt_time(r->last_seen, t2);
    bg_store_fmt_time(r->suppressed_since, t3);
    bg_store_fmt_time(r->expires_at, t4);
    bg_buf_adds(b, "{\"sending_domain\":");
    bg_json_str(b, r->sender_domain);
    bg_buf_adds(b, ",\"recipient\":");
    bg_json_str(b, r->recipient);
    bg_buf_adds(b, ",\"scope\":");
    bg_json_str(b, r->scope);
    bg_buf_adds(b, ",\"category\":");
    bg_json_str(b, r->category);
    bg_buf_adds(b, ",\"status\":");
    bg_json_str(b, r->status);
    bg_buf_printf(b, ",\"reply_code\":%d,\"diagnostic\":", r->reply_code);
    bg_json_str(b, r->diagnostic);
    bg_buf_adds(b, ",\"first_seen\":");
    bg_json_str(b, t1);
    bg_buf_adds(b, ",\"last_seen\":");
    bg_json_str(b, t2);
    bg_buf_adds(b, ",\"suppressed_since\":");
    if (r->suppressed_since)
        bg_json_str(b, t3);
    else
        bg_buf_adds(b, "null");
    bg_buf_adds(b, ",\"expires_at\":");
    if (r->expires_at)
        bg_json_str(b, t4);
    else
        bg_buf_adds(b, "null");
    bg_buf_printf(b, ",\"soft_count\":%d,\"active\":%s,\"source\":", r->soft_count,
                  bg_store_row_active(r, now) ? "true" : "false");
    bg_json_str(b, r->source);
    bg_buf_adds(b, ",\"last_message_id\":");
    bg_json_str(b, r->last_message_id);
    bg_buf_adds(b, "}");
}

typedef struct bg_sup_print {
    int fmt;            /* BG_FMT_* */
    int n;
    long long now;
    int detail;         /* show: one block per row */
    FILE *f;            /* rows are written as they come: memory stays flat */
    int failed;
    bg_buf out;
} bg_sup_print;

static int bg_sup_csv_row(const bg_store_row *r, void *ctx);
static void bg_sup_csv_header(bg_buf *b);

/* Write what the buffer holds. */
static void bg_sup_drain(bg_sup_print *pr)
{
    if (bg_buf_failed(&pr->out))
        pr->failed = 1;
    else if (pr->out.len && fwrite(pr->out.p, 1, pr->out.len, pr->f) != pr->out.len)
        pr->failed = 1;
    bg_buf_reset(&pr->out);
}

static int bg_sup_print_row(const bg_store_row *r, void *ctx)
{
    bg_sup_print *pr = ctx;
    if (pr->fmt == BG_FMT_JSON) {
        bg_buf_adds(&pr->out, pr->n ? ",\n  " : "\n  ");
        bg_sup_json_row(&pr->out, r, pr->now);
    } else if (pr->fmt == BG_FMT_CSV) {
        bg_sup_csv_row(r, &pr->out);
    } else if (pr->detail) {
        char t1[32], t2[32], t3[32], t4[32];
        bg_store_fmt_time(r->first_seen, t1);
        bg_store_fmt_time(r->last_seen, t2);
        bg_store_fmt_time(r->suppressed_since, t3);
        bg_store_fmt_time(r->expires_at, t4);
        bg_buf_printf(&pr->out,
                      "%s%s for mail from %s\n  state:      %s\n  category:   %s (%s)\n"
                      "  status:     %s  reply %d\n  diagnostic: %s\n  first seen: %s\n"
                      "  last seen:  %s\n  suppressed: %s\n  expires:    %s\n  soft count: %d\n"
                      "  source:     %s\n  message id: %s\n",
                      pr->n ? "\n" : "", r->recipient, r->sender_domain,
                      bg_store_row_active(r, pr->now) ? "SUPPRESSED"
                      : r->suppressed_since            ? "expired"
                                                       : "counting (not suppressed)",
                      r->category, r->scope, r->status[0] ? r->status : "-", r->reply_code,
                      r->diagnostic[0] ? r->diagnostic : "-", t1, t2,
                      r->suppressed_since ? t3 : "-", r->expires_at ? t4 : "never", r->soft_count,
                      r->source, r->last_message_id[0] ? r->last_message_id : "-");
    } else {
        char since[32] = "-", exp[32] = "never";
        if (r->suppressed_since)
            bg_store_fmt_date(r->suppressed_since, since);
        if (r->expires_at)
            bg_store_fmt_date(r->expires_at, exp);
        if (!pr->n)
            bg_buf_printf(&pr->out, "%-24s %-32s %-20s %-7s %-10s %-10s %4s %s\n", "SENDING DOMAIN",
                          "RECIPIENT", "CATEGORY", "SCOPE", "SINCE", "EXPIRES", "SOFT", "SOURCE");
        bg_buf_printf(&pr->out, "%-24s %-32s %-20s %-7s %-10s %-10s %4d %s%s\n", r->sender_domain,
                      r->recipient, r->category, r->scope, since, exp, r->soft_count, r->source,
                      bg_store_row_active(r, pr->now) ? "" : " (not in force)");
    }
    pr->n++;
    if (pr->out.len >= 65536)
        bg_sup_drain(pr);
    return pr->failed;
}

static void bg_sup_print_start(bg_sup_print *pr)
{
    if (pr->fmt == BG_FMT_JSON)
        bg_buf_adds(&pr->out, "[");
    else if (pr->fmt == BG_FMT_CSV)
        bg_sup_csv_header(&pr->out);
}

/* End the output; 0, or 1 when a write failed (reported). */
static int bg_sup_flush(bg_sup_print *pr, const char *empty)
{
    if (pr->fmt == BG_FMT_JSON)
        bg_buf_adds(&pr->out, pr->n ? "\n]\n" : "]\n");
    else if (pr->fmt == BG_FMT_TABLE && !pr->n && empty)
        bg_buf_printf(&pr->out, "%s\n", empty);
    bg_sup_drain(pr);
    bg_buf_free(&pr->out);
    if (fflush(pr->f) != 0 || ferror(pr->f))
        pr->failed = 1;
    if (pr->failed) {
        fprintf(stderr, "bounceguide: write error\n");
        return 1;
    }
    return 0;
}

/* ---- CSV -------------------------------------------------------------------- */

/* Append one CSV field, quoted when it needs it. */
void bg_csv_field(bg_buf *b, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n") || (s[0] == ' ') ) {
        bg_buf_addc(b, '"');
        for (; *s; s++) {
            if (*s == '"')
                bg_buf_addc(b, '"');
            bg_buf_addc(b, *s);
        }
        bg_buf_addc(b, '"');
    } else {
        bg_buf_adds(b, s);
    }
    bg_buf_adds(b, last ? "\r\n" : ",");
}

/* Remote text opened in a spreadsheet must not become a formula: a text
 * field starting with = + - @ (or a quote before one of them) gets a
 * leading quote on export, which import takes off again. */
static int bg_csv_formula_like(const char *s)
{
    if (s[0] == '\'')
        s++;
    return s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
}

void bg_csv_text_field(bg_buf *b, const char *s, int last)
{
    if (!bg_csv_formula_like(s)) {
        bg_csv_field(b, s, last);
        return;
    }
    bg_buf tmp;
    bg_buf_init(&tmp);
    bg_buf_addc(&tmp, '\'');
    bg_buf_adds(&tmp, s);
    bg_csv_field(b, bg_buf_str(&tmp), last);
    if (bg_buf_failed(&tmp))
        b->failed = 1;
    bg_buf_free(&tmp);
}

/* The import side: drop the quote the export put in front. */
const char *bg_csv_text_value(const char *s)
{
    return s[0] == '\'' && bg_csv_formula_like(s + 1) ? s + 1 : s;
}

static const char *const bg_csv_columns[] = {
    "address", "code", "error", "created_at", "sending_domain", "category", "status",
    "scope", "last_seen", "expires_at", "soft_count", "source", "last_message_id", NULL,
};

static void bg_sup_csv_header(bg_buf *b)
{
    for (int i = 0; bg_csv_columns[i]; i++)
        bg_csv_field(b, bg_csv_columns[i], !bg_csv_columns[i + 1]);
}

static int bg_sup_csv_row(const bg_store_row *r, void *ctx)
{
    bg_buf *b = ctx;
    char code[16] = "", created[32], last[32], exp[32] = "never", soft[16];
    if (r->reply_code)
        snprintf(code, sizeof code, "%d", r->reply_code);
    bg_store_fmt_time(r->suppressed_since ? r->suppressed_since : r->first_seen, created);
    bg_store_fmt_time(r->last_seen, last);
    if (r->expires_at)
        bg_store_fmt_time(r->expires_at, exp);
    snprintf(soft, sizeof soft, "%d", r->soft_count);
    const char *f[] = {r->recipient, code, r->diagnostic, created, r->sender_domain, r->category,
                       r->status, r->scope, last, exp, soft, r->source, r->last_message_id};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        int end = i + 1 == sizeof f / sizeof f[0];
        if (f[i] == r->diagnostic || f[i] == r->last_message_id)
            bg_csv_text_field(b, f[i], end);
        else
            bg_csv_field(b, f[i], end);
    }
    return 0;
}


/* ---- commands ---------------------------------------------------------------- */

int bg_sup_format(const bg_sup_opts *o, int dflt)
{
    if (o->format && o->json && strcmp(o->format, "json") != 0) {
        fprintf(stderr, "bounceguide: --json and --format %.20s: choose one\n", o->format);
        return -1;
    }
    const char *f = o->format ? o->format : o->json ? "json" : NULL;
    if (!f)
        return dflt;
    if (strcmp(f, "table") == 0)
        return BG_FMT_TABLE;
    if (strcmp(f, "csv") == 0)
        return BG_FMT_CSV;
    if (strcmp(f, "json") == 0)
        return BG_FMT_JSON;
    char e[64];
    bg_cli_esc(e, sizeof e, f, 20);
    fprintf(stderr, "bounceguide: --format \"%s\": table, csv or json\n", e);
    return -1;
}

int bg_sup_list(const bg_sup_opts *o, const bg_policy *p, int show)
{
    if (show ? o->nargs != 2 : o->nargs != 1) {
        fprintf(stderr, show ? "bounceguide: show needs ADDRESS|DOMAIN\n" : "bounceguide: list takes no arguments\n");
        return 2;
    }
    int fmt = bg_sup_format(o, BG_FMT_TABLE);
    if (fmt < 0)
        return 2;
    if (o->category && !bg_category_find(o->category)) {
        fprintf(stderr, "bounceguide: unknown category \"%s\"\n", o->category);
        return 1;
    }
    bg_store *s = bg_sup_open(o, p, 0);
    if (!s)
        return 1;
    bg_sup_print pr = {.fmt = fmt, .now = (long long)time(NULL), .detail = show, .f = stdout};
    bg_buf_init(&pr.out);
    bg_sup_print_start(&pr);
    bg_store_status st;
    if (show) {
        st = bg_store_list(s, o->domain, o->category, o->args[1], 0, pr.now, bg_sup_print_row, &pr);
        /* an address is also covered by a row for its domain */
        const char *at = strrchr(o->args[1], '@');
        if (st == BG_STORE_OK && at)
            st = bg_store_list(s, o->domain, o->category, at + 1, 0, pr.now, bg_sup_print_row, &pr);
    } else {
        st = bg_store_list(s, o->domain, o->category, NULL, !o->all, pr.now, bg_sup_print_row, &pr);
    }
    bg_store_close(s);
    if (st != BG_STORE_OK) {
        bg_buf_free(&pr.out);
        fprintf(stderr, "bounceguide: %s\n", bg_store_status_text(st));
        return 1;
    }
    int found = pr.n;
    if (bg_sup_flush(&pr, show ? "no rows for this recipient" : "no suppressions"))
        return 1;
    return show && !found ? 1 : 0;
}

int bg_sup_export(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs > 2) {
        fprintf(stderr, "bounceguide: export takes at most one FILE\n");
        return 2;
    }
    int fmt = bg_sup_format(o, BG_FMT_CSV);
    if (fmt < 0)
        return 2;
    if (o->category && !bg_category_find(o->category)) {
        fprintf(stderr, "bounceguide: unknown category \"%s\"\n", o->category);
        return 1;
    }
    bg_store *s = bg_sup_open(o, p, 0);
    if (!s)
        return 1;
    FILE *f = o->nargs == 2 && strcmp(o->args[1], "-") != 0 ? fopen(o->args[1], "w") : stdout;
    if (!f) {
        char e[300];
        bg_cli_esc(e, sizeof e, o->args[1], 250);
        fprintf(stderr, "bounceguide: %s: %s\n", e, strerror(errno));
        bg_store_close(s);
        return 1;
    }
    bg_sup_print pr = {.fmt = fmt, .now = (long long)time(NULL), .f = f};
    bg_buf_init(&pr.out);
    bg_sup_print_start(&pr);
    bg_store_status st = bg_store_list(s, o->domain, o->category, NULL, !o->all, pr.now,
                                       bg_sup_print_row, &pr);
    bg_store_close(s);
    int rc = 0;
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: %s\n", bg_store_status_text(st));
        bg_buf_free(&pr.out);
        rc = 1;
    } else {
        rc = bg_sup_flush(&pr, "no suppressions");
    }
    if (f != stdout && fclose(f) != 0 && !rc) {
        fprintf(stderr, "bounceguide: write error\n");
        rc = 1;
    }
    return rc;
}

typedef struct bg_sup_cat {
    bg_buf *b;
    int fmt;
    int n;
} bg_sup_cat;

static int bg_sup_stat_cat(const char *d, const char *c, long long n, void *ctx)
{
    bg_sup_cat *sc = ctx;
    if (sc->fmt == BG_FMT_JSON) {
        bg_buf_adds(sc->b, sc->n ? "," : "");
        bg_buf_adds(sc->b, "{\"sending_domain\":");
        bg_json_str(sc->b, d);
        bg_buf_adds(sc->b, ",\"category\":");
        bg_json_str(sc->b, c);
        bg_buf_printf(sc->b, ",\"active\":%lld}", n);
    } else if (sc->fmt == BG_FMT_CSV) {
        char num[24];
        snprintf(num, sizeof num, "%lld", n);
        bg_csv_field(sc->b, d, 0);
        bg_csv_field(sc->b, c, 0);
        bg_csv_field(sc->b, num, 1);
    } else {
        bg_buf_printf(sc->b, "  %-30s %-22s %lld\n", d, c, n);
    }
    sc->n++;
    return 0;
}

/* stats: the totals and the rows in force per sending domain and
 * category; CSV is that breakdown alone (sending_domain,category,active:
 * one table, as a spreadsheet wants it). */
int bg_sup_stats(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs != 1) {
        fprintf(stderr, "bounceguide: stats takes no arguments\n");
        return 2;
    }
    int fmt = bg_sup_format(o, BG_FMT_TABLE);
    if (fmt < 0)
        return 2;
    bg_store *s = bg_sup_open(o, p, 0);
    if (!s)
        return 1;
    bg_store_stats st;
    long long now = (long long)time(NULL);
    bg_store_status rc = bg_store_get_stats(s, o->domain, now, &st);
    bg_buf b;
    bg_buf_init(&b);
    bg_sup_cat sc = {.b = &b, .fmt = fmt};
    if (fmt == BG_FMT_JSON)
        bg_buf_printf(&b,
                      "{\"rows\":%lld,\"active\":%lld,\"soft_pending\":%lld,\"expired\":%lld,"
                      "\"events\":%lld,\"deliveries_recorded\":%lld,\"db_bytes\":%lld,\"by_category\":[",
                      st.rows, st.active, st.soft_pending, st.expired, st.events, st.events_sent,
                      st.page_count * st.page_size);
    else if (fmt == BG_FMT_CSV)
        bg_buf_adds(&b, "sending_domain,category,active\r\n");
    else
        bg_buf_printf(&b,
                      "rows:                %lld\nin force:            %lld\nsoft, counting:      %lld\n"
                      "expired (not purged): %lld\nevents:              %lld (deliveries %lld)\n"
                      "database size:       %lld KiB\nin force by sending domain and category:\n",
                      st.rows, st.active, st.soft_pending, st.expired, st.events, st.events_sent,
                      st.page_count * st.page_size / 1024);
    if (rc == BG_STORE_OK)
        rc = bg_store_count_by_category(s, o->domain, now, bg_sup_stat_cat, &sc);
    bg_store_close(s);
    if (fmt == BG_FMT_JSON)
        bg_buf_adds(&b, "]}\n");
    if (rc != BG_STORE_OK || bg_buf_failed(&b)) {
        fprintf(stderr, "bounceguide: %s\n", rc != BG_STORE_OK ? bg_store_status_text(rc) : "out of memory");
        bg_buf_free(&b);
        return 1;
    }
    fputs(bg_buf_str(&b), stdout);
    bg_buf_free(&b);
    return 0;
}
