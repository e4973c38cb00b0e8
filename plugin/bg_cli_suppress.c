/* bg_cli_suppress: `bounceguide suppress` -- manage the suppression store.
 *
 *   list   [--domain D] [--category C] [--all] [--json]
 *   show   ADDRESS|DOMAIN [--domain D] [--json]
 *   add    ADDRESS|DOMAIN --domain D [--category C] [--expires DURATION|never] [--reason TEXT]
 *   remove ADDRESS|DOMAIN [--domain D]          (without --domain: every sending domain)
 *   export [--domain D] [--category C] [--all] [FILE]
 *   import FILE [--domain D] [--dry-run]
 *   expire
 *   stats  [--domain D] [--json]
 * and everywhere --db FILE, --config FILE.
 *
 * A thin client of bg_store/bg_policy. CSV columns: address, code, error,
 * created_at (what ESP exports use), then sending_domain, category, status,
 * scope, last_seen, expires_at, soft_count, source, last_message_id. An
 * import is checked whole first; any bad line is reported by number and
 * nothing is written; the rows then go in one transaction.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bg_buf.h"
#include "bg_category.h"
#include "bg_classify.h"
#include "bg_cli.h"
#include "bg_config.h"
#include "bg_json.h"
#include "bg_policy.h"
#include "bg_status.h"
#include "bg_store.h"

#define BG_CSV_MAX_RECORD (64 * 1024)
#define BG_CSV_MAX_FIELDS 32
#define BG_IMPORT_MAX_ERRORS 20

typedef struct bg_sup_opts {
    const char *db;
    const char *config;
    const char *domain;
    const char *category;
    const char *expires;
    const char *reason;
    int all;
    int json;
    int dry_run;
    const char *args[5]; /* args[0] = the command */
    int nargs;
} bg_sup_opts;

static int bg_sup_usage(FILE *out)
{
    fprintf(out,
            "usage: bounceguide suppress COMMAND [OPTIONS]\n"
            "  list   [--domain D] [--category C] [--all] [--json]   suppressions in force (--all: every row)\n"
            "  show   ADDRESS|DOMAIN [--domain D] [--json]           the rows for one recipient\n"
            "  add    ADDRESS|DOMAIN --domain D [--category C] [--expires 30d|never] [--reason TEXT]\n"
            "  remove ADDRESS|DOMAIN [--domain D]                    lift (every sending domain without --domain)\n"
            "  export [--domain D] [--category C] [--all] [FILE]     CSV: address,code,error,created_at,...\n"
            "  import FILE [--domain D] [--dry-run]                  CSV, all or nothing\n"
            "  expire                                                drop expired rows and old events\n"
            "  stats  [--domain D] [--json]\n"
            "options everywhere: --db FILE (default: suppress_db of the config, else %s)\n"
            "                    --config FILE (default %s)\n",
            BG_STORE_DEFAULT_PATH, BG_CLI_DEFAULT_CONFIG);
    return out == stdout ? 0 : 2;
}

/* Parse options after the command name. -1 on a usage error. */
static int bg_sup_parse(int argc, char **argv, bg_sup_opts *o)
{
    static const struct {
        const char *name;
        size_t off;
    } valued[] = {
        {"--db", offsetof(bg_sup_opts, db)},
        {"--config", offsetof(bg_sup_opts, config)},
        {"--domain", offsetof(bg_sup_opts, domain)},
        {"--category", offsetof(bg_sup_opts, category)},
        {"--expires", offsetof(bg_sup_opts, expires)},
        {"--reason", offsetof(bg_sup_opts, reason)},
        {NULL, 0},
    };
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int done = 0;
        for (int k = 0; valued[k].name; k++) {
            size_t n = strlen(valued[k].name);
            if (strncmp(a, valued[k].name, n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                const char *v = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
                if (!v) {
                    fprintf(stderr, "bounceguide: %s needs a value\n", valued[k].name);
                    return -1;
                }
                *(const char **)((char *)o + valued[k].off) = v;
                done = 1;
                break;
            }
        }
        if (done)
            continue;
        if (strcmp(a, "--all") == 0)
            o->all = 1;
        else if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--dry-run") == 0)
            o->dry_run = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return -2;
        else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "bounceguide: unknown option %s\n", a);
            return -1;
        } else if (o->nargs < 3)
            o->args[1 + o->nargs++] = a;
        else {
            fprintf(stderr, "bounceguide: too many arguments\n");
            return -1;
        }
    }
    return 0;
}

/* Config: the given file (must load) or the default one (may be absent);
 * broken (a bad value too) is refused, as inside Exim. */
static bg_config *bg_sup_config(const bg_sup_opts *o)
{
    return bg_cli_config_load(o->config);
}

static bg_store *bg_sup_open(const bg_sup_opts *o, const bg_policy *p, int write)
{
    const char *path = o->db ? o->db : bg_policy_db_path(p);
    if (!write && access(path, F_OK) != 0) {
        fprintf(stderr, "bounceguide: %s: no suppression database (nothing recorded yet?)\n", path);
        return NULL;
    }
    char err[600];
    bg_store_status st;
    bg_store *s = bg_store_open(path, 5000, write ? BG_STORE_CREATE : BG_STORE_RDONLY, &st, err, sizeof err);
    if (!s)
        fprintf(stderr, "bounceguide: %s\n", err);
    return s;
}

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
    int json;
    int n;
    long long now;
    int detail;
    bg_buf out;
} bg_sup_print;

static int bg_sup_print_row(const bg_store_row *r, void *ctx)
{
    bg_sup_print *pr = ctx;
    if (pr->json) {
        bg_buf_adds(&pr->out, pr->n ? ",\n  " : "\n  ");
        bg_sup_json_row(&pr->out, r, pr->now);
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
    return 0;
}

static int bg_sup_flush(bg_sup_print *pr, const char *empty)
{
    if (pr->json)
        bg_buf_adds(&pr->out, pr->n ? "\n]\n" : "]\n");
    if (bg_buf_failed(&pr->out)) {
        fprintf(stderr, "bounceguide: out of memory\n");
        bg_buf_free(&pr->out);
        return 1;
    }
    fputs(bg_buf_str(&pr->out), stdout);
    if (!pr->json && !pr->n && empty)
        printf("%s\n", empty);
    bg_buf_free(&pr->out);
    return 0;
}

/* ---- CSV -------------------------------------------------------------------- */

/* Append one CSV field, quoted when it needs it. */
static void bg_csv_field(bg_buf *b, const char *s, int last)
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

static void bg_csv_text_field(bg_buf *b, const char *s, int last)
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
static const char *bg_csv_text_value(const char *s)
{
    return s[0] == '\'' && bg_csv_formula_like(s + 1) ? s + 1 : s;
}

static const char *const bg_csv_columns[] = {
    "address", "code", "error", "created_at", "sending_domain", "category", "status",
    "scope", "last_seen", "expires_at", "soft_count", "source", "last_message_id", NULL,
};

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

/* A CSV reader over a buffer: one record per call. */
typedef struct bg_csv {
    const char *p, *end;
    int line;         /* current physical line (1-based) */
    int record_line;  /* line where the last record started */
    char *fields[BG_CSV_MAX_FIELDS];
    int nfields;
    bg_buf store;
} bg_csv;

/* Read the next record: 1, 0 at the end, -1 on a malformed record (why set). */
static int bg_csv_next(bg_csv *c, const char **why)
{
    *why = "";
    bg_buf_reset(&c->store);
    c->nfields = 0;
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) { /* blank lines */
        if (*c->p == '\n')
            c->line++;
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->record_line = c->line;
    size_t starts[BG_CSV_MAX_FIELDS];
    starts[0] = 0;
    int nf = 1;
    int quoted = 0, was_quoted = 0;
    for (;;) {
        if (c->p >= c->end) {
            if (quoted) {
                *why = "unterminated quoted field";
                return -1;
            }
            break;
        }
        char ch = *c->p++;
        if (quoted) {
            if (ch == '"') {
                if (c->p < c->end && *c->p == '"') {
                    bg_buf_addc(&c->store, '"');
                    c->p++;
                } else {
                    quoted = 0;
                }
            } else {
                if (ch == '\n')
                    c->line++;
                bg_buf_addc(&c->store, ch);
            }
        } else if (ch == '"') {
            if (c->store.len != starts[nf - 1] || was_quoted) {
                *why = "quote inside an unquoted field";
                return -1;
            }
            quoted = was_quoted = 1;
        } else if (ch == ',') {
            if (nf >= BG_CSV_MAX_FIELDS) {
                *why = "too many fields";
                return -1;
            }
            bg_buf_addc(&c->store, '\0');
            starts[nf++] = c->store.len;
            was_quoted = 0;
        } else if (ch == '\r' || ch == '\n') {
            if (ch == '\r' && c->p < c->end && *c->p == '\n')
                c->p++;
            c->line++;
            break;
        } else {
            if (was_quoted) {
                *why = "text after a closing quote";
                return -1;
            }
            bg_buf_addc(&c->store, ch);
        }
        if (c->store.len > BG_CSV_MAX_RECORD) {
            *why = "record longer than 64 KiB";
            return -1;
        }
    }
    bg_buf_addc(&c->store, '\0');
    if (bg_buf_failed(&c->store)) {
        *why = "out of memory";
        return -1;
    }
    for (int i = 0; i < nf; i++)
        c->fields[i] = c->store.p + starts[i];
    c->nfields = nf;
    return 1;
}

/* Skip to the end of a malformed record so the next one can be read. */
static void bg_csv_skip_line(bg_csv *c)
{
    while (c->p < c->end && *c->p != '\n')
        c->p++;
    if (c->p < c->end) {
        c->p++;
        c->line++;
    }
}

static void bg_trim_inplace(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

/* Column index by header name (aliases accepted); -1 when absent. */
static int bg_csv_col(char **hdr, int n, const char *const names[])
{
    for (int k = 0; names[k]; k++)
        for (int i = 0; i < n; i++)
            if (strcasecmp(hdr[i], names[k]) == 0)
                return i;
    return -1;
}

enum { C_ADDR, C_CODE, C_ERROR, C_CREATED, C_DOMAIN, C_CAT, C_STATUS, C_SCOPE, C_LAST, C_EXPIRES, C_SOFT, C_SOURCE, C_MSGID, C_N };

static const char *const *const bg_csv_aliases[C_N] = {
    (const char *const[]){"address", "email", "recipient", NULL},
    (const char *const[]){"code", "reply_code", NULL},
    (const char *const[]){"error", "reason", "diagnostic", NULL},
    (const char *const[]){"created_at", "created", NULL},
    (const char *const[]){"sending_domain", "sender_domain", NULL},
    (const char *const[]){"category", NULL},
    (const char *const[]){"status", NULL},
    (const char *const[]){"scope", NULL},
    (const char *const[]){"last_seen", NULL},
    (const char *const[]){"expires_at", NULL},
    (const char *const[]){"soft_count", NULL},
    (const char *const[]){"source", NULL},
    (const char *const[]){"last_message_id", NULL},
};

typedef struct bg_import {
    bg_store_row *rows;
    size_t n, cap;
    int errors;
} bg_import;

static void bg_import_err(bg_import *im, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void bg_import_err(bg_import *im, const char *file, int line, const char *fmt, ...)
{
    im->errors++;
    if (im->errors > BG_IMPORT_MAX_ERRORS)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bounceguide: %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Parse an integer field into *out within [lo, hi]; "" gives dflt. */
static int bg_int_field(const char *s, long lo, long hi, long dflt, long *out)
{
    if (!*s) {
        *out = dflt;
        return 0;
    }
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || *e || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Check one CSV record and turn it into a row. 0, or -1 (reported). */
static int bg_import_record(bg_import *im, const char *file, int line, char **f, const int *col,
                            const bg_sup_opts *o, const bg_policy *p, const bg_rules *rules,
                            long long now, bg_store_row *r)
{
    static char empty[] = "";
    char *v[C_N];
    for (int k = 0; k < C_N; k++) {
        v[k] = col[k] >= 0 ? f[col[k]] : empty;
        bg_trim_inplace(v[k]);
    }
    memset(r, 0, sizeof *r);
    char key[BG_ADDR_MAX];
    if (bg_store_norm_recipient(v[C_ADDR], key) < 0) {
        bg_import_err(im, file, line, "bad address or domain syntax: \"%.100s\"", v[C_ADDR]);
        return -1;
    }
    const char *dom = *v[C_DOMAIN] ? v[C_DOMAIN] : (o->domain ? o->domain : "");
    if (!*dom) {
        bg_import_err(im, file, line, "no sending domain (column sending_domain or --domain)");
        return -1;
    }
    if (!bg_store_domain_valid(dom)) {
        bg_import_err(im, file, line, "bad sending domain syntax: \"%.100s\"", dom);
        return -1;
    }
    long code = 0, soft = 0;
    if (bg_int_field(v[C_CODE], 0, 599, 0, &code) < 0 || (code && code < 200)) {
        bg_import_err(im, file, line, "bad reply code: \"%.20s\"", v[C_CODE]);
        return -1;
    }
    if (bg_int_field(v[C_SOFT], 0, 1000000, 0, &soft) < 0) {
        bg_import_err(im, file, line, "bad soft_count: \"%.20s\"", v[C_SOFT]);
        return -1;
    }
    long long created = now, last = 0, expires = -1;
    if (*v[C_CREATED] && bg_store_parse_time(v[C_CREATED], &created) < 0) {
        bg_import_err(im, file, line, "bad created_at time: \"%.60s\"", v[C_CREATED]);
        return -1;
    }
    if (*v[C_LAST] && bg_store_parse_time(v[C_LAST], &last) < 0) {
        bg_import_err(im, file, line, "bad last_seen time: \"%.60s\"", v[C_LAST]);
        return -1;
    }
    if (*v[C_EXPIRES] && strcasecmp(v[C_EXPIRES], "never") != 0 &&
        bg_store_parse_time(v[C_EXPIRES], &expires) < 0) {
        bg_import_err(im, file, line, "bad expires_at time: \"%.60s\"", v[C_EXPIRES]);
        return -1;
    }
    if (strcasecmp(v[C_EXPIRES], "never") == 0)
        expires = 0;
    int is_addr = strchr(key, '@') != NULL;
    const char *scope = *v[C_SCOPE] ? v[C_SCOPE] : (is_addr ? "address" : "domain");
    if (strcmp(scope, "address") && strcmp(scope, "domain") && strcmp(scope, "soft")) {
        bg_import_err(im, file, line, "unknown scope \"%.20s\" (address, domain, soft)", scope);
        return -1;
    }
    if ((strcmp(scope, "domain") == 0) == is_addr) {
        bg_import_err(im, file, line, "scope %s does not fit \"%.100s\"", scope, key);
        return -1;
    }
    const char *cat = v[C_CAT];
    bg_suppress base = BG_SUP_ADDRESS;
    if (*cat) {
        const bg_category *c = bg_category_find(cat);
        if (!c) {
            bg_import_err(im, file, line, "unknown category \"%.40s\"", cat);
            return -1;
        }
        base = c->suppress;
    } else {
        char text[BG_STORE_DIAG_MAX + 16];
        snprintf(text, sizeof text, "%s%s%.500s", *v[C_CODE] ? v[C_CODE] : "", *v[C_CODE] ? " " : "",
                 v[C_ERROR]);
        bg_verdict vd;
        memset(&vd, 0, sizeof vd);
        bg_classify_text(rules, text, code / 100 == 4, &vd);
        cat = vd.category ? vd.category->id : "unknown";
        base = vd.category ? vd.category->suppress : BG_SUP_ADDRESS;
        if (strcmp(cat, "unknown") == 0)
            cat = "recipient-suppressed"; /* an ESP's list without a reason */
    }
    if (*v[C_SOURCE] && bg_store_source_parse(v[C_SOURCE]) < 0) {
        bg_import_err(im, file, line, "unknown source \"%.20s\"", v[C_SOURCE]);
        return -1;
    }
    if (expires < 0) { /* the policy's lifetime, from now: the import is a decision made today */
        bg_store_rule rule;
        bg_suppress m = strcmp(scope, "domain") == 0 ? BG_SUP_DOMAIN
                        : strcmp(scope, "soft") == 0 ? BG_SUP_COUNT
                                                     : BG_SUP_ADDRESS;
        (void)base;
        bg_policy_rule(p, dom, cat, m, 0, &rule);
        long long life = rule.mode == BG_SUP_NONE ? BG_POLICY_EXPIRE_ADDRESS : rule.expires_after;
        expires = life > 0 ? now + life : 0;
    }
    snprintf(r->sender_domain, sizeof r->sender_domain, "%.253s", dom);
    snprintf(r->recipient, sizeof r->recipient, "%s", key);
    snprintf(r->scope, sizeof r->scope, "%s", scope);
    snprintf(r->category, sizeof r->category, "%s", cat);
    if (*v[C_STATUS]) {
        if (!bg_status_valid(v[C_STATUS]) || strlen(v[C_STATUS]) >= BG_STATUS_MAX) {
            bg_import_err(im, file, line, "bad status \"%.20s\"", v[C_STATUS]);
            return -1;
        }
        snprintf(r->status, sizeof r->status, "%s", v[C_STATUS]);
    } else {
        bg_status_find(v[C_ERROR], r->status);
    }
    r->reply_code = (int)code;
    snprintf(r->diagnostic, sizeof r->diagnostic, "%s", bg_csv_text_value(v[C_ERROR]));
    r->first_seen = created;
    r->last_seen = last ? last : created;
    r->suppressed_since = created;
    r->soft_count = (int)soft;
    r->expires_at = expires;
    snprintf(r->source, sizeof r->source, "%s", *v[C_SOURCE] ? v[C_SOURCE] : "admin");
    snprintf(r->last_message_id, sizeof r->last_message_id, "%.250s", bg_csv_text_value(v[C_MSGID]));
    return 0;
}

static int bg_sup_import(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs != 2) {
        fprintf(stderr, "bounceguide: import needs one FILE (\"-\" for stdin)\n");
        return 2;
    }
    const char *file = o->args[1];
    size_t len = 0;
    char *text = bg_cli_read_file(file, 256u << 20, &len);
    if (!text)
        return 1;
    bg_rules *rules = bg_rules_load(NULL);
    bg_csv c = {.p = text, .end = text + len, .line = 1};
    bg_buf_init(&c.store);
    bg_import im = {0};
    int rc = 1;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        c.p += 3;
    const char *why;
    int r = bg_csv_next(&c, &why);
    if (r <= 0) {
        fprintf(stderr, "bounceguide: %s:%d: %s\n", file, c.record_line ? c.record_line : 1,
                r == 0 ? "empty file: a header line (address,code,error,created_at,...) is needed" : why);
        goto out;
    }
    int col[C_N];
    char *hdr[BG_CSV_MAX_FIELDS];
    for (int i = 0; i < c.nfields; i++) {
        hdr[i] = c.fields[i];
        bg_trim_inplace(hdr[i]);
    }
    for (int k = 0; k < C_N; k++)
        col[k] = bg_csv_col(hdr, c.nfields, bg_csv_aliases[k]);
    if (col[C_ADDR] < 0) {
        fprintf(stderr, "bounceguide: %s:%d: no address column in the header\n", file, c.record_line);
        goto out;
    }
    int ncols = c.nfields;
    /* the header's strings live in c.store, which the next record reuses:
     * keep the column count and indexes only */
    long long now = (long long)time(NULL);
    for (;;) {
        r = bg_csv_next(&c, &why);
        if (r == 0)
            break;
        if (r < 0) {
            bg_import_err(&im, file, c.record_line, "malformed CSV: %s", why);
            bg_csv_skip_line(&c);
            continue;
        }
        if (c.nfields != ncols) {
            bg_import_err(&im, file, c.record_line, "%d fields, the header has %d", c.nfields, ncols);
            continue;
        }
        if (im.n == im.cap) {
            size_t nc = im.cap ? im.cap * 2 : 256;
            bg_store_row *nr = realloc(im.rows, nc * sizeof *nr);
            if (!nr) {
                fprintf(stderr, "bounceguide: out of memory\n");
                goto out;
            }
            im.rows = nr;
            im.cap = nc;
        }
        if (bg_import_record(&im, file, c.record_line, c.fields, col, o, p, rules, now,
                             &im.rows[im.n]) == 0)
            im.n++;
    }
    if (im.errors) {
        if (im.errors > BG_IMPORT_MAX_ERRORS)
            fprintf(stderr, "bounceguide: ... %d more errors\n", im.errors - BG_IMPORT_MAX_ERRORS);
        fprintf(stderr, "bounceguide: %s: %d bad line(s); nothing imported\n", file, im.errors);
        goto out;
    }
    if (o->dry_run) {
        printf("%zu row(s) would be imported\n", im.n);
        rc = 0;
        goto out;
    }
    bg_store *s = bg_sup_open(o, p, 1);
    if (!s)
        goto out;
    bg_store_status st = bg_store_begin(s);
    size_t i = 0;
    for (; st == BG_STORE_OK && i < im.n; i++)
        st = bg_store_put(s, &im.rows[i]);
    if (st == BG_STORE_OK)
        st = bg_store_commit(s);
    else
        bg_store_rollback(s);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: import failed (%s%s%s); nothing imported\n", bg_store_status_text(st),
                *bg_store_errmsg(s) ? ": " : "", bg_store_errmsg(s));
    } else {
        printf("%zu row(s) imported\n", im.n);
        rc = 0;
    }
    bg_store_close(s);
out:
    bg_buf_free(&c.store);
    bg_rules_free(rules);
    free(im.rows);
    free(text);
    return rc;
}

/* ---- commands ---------------------------------------------------------------- */

static int bg_sup_add(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs != 2 || !o->domain) {
        fprintf(stderr, "bounceguide: add needs ADDRESS|DOMAIN and --domain SENDING-DOMAIN\n");
        return 2;
    }
    bg_store_row r;
    memset(&r, 0, sizeof r);
    char key[BG_ADDR_MAX];
    if (bg_store_norm_recipient(o->args[1], key) < 0) {
        fprintf(stderr, "bounceguide: \"%s\": not an address or domain\n", o->args[1]);
        return 1;
    }
    if (!bg_store_domain_valid(o->domain)) {
        fprintf(stderr, "bounceguide: \"%s\": not a domain name\n", o->domain);
        return 1;
    }
    const char *cat = o->category ? o->category : "recipient-suppressed";
    if (!bg_category_find(cat)) {
        fprintf(stderr, "bounceguide: unknown category \"%s\"\n", cat);
        return 1;
    }
    long long now = (long long)time(NULL);
    long long expires = 0;
    if (o->expires && strcasecmp(o->expires, "never") != 0) {
        long long d;
        if (bg_config_parse_num(o->expires, &d) < 0 || d < 0) {
            fprintf(stderr, "bounceguide: --expires \"%s\": a duration like 30d, or never\n", o->expires);
            return 1;
        }
        expires = d ? now + d : 0;
    }
    snprintf(r.sender_domain, sizeof r.sender_domain, "%.253s", o->domain);
    snprintf(r.recipient, sizeof r.recipient, "%s", key);
    snprintf(r.scope, sizeof r.scope, "%s", strchr(key, '@') ? "address" : "domain");
    snprintf(r.category, sizeof r.category, "%s", cat);
    snprintf(r.diagnostic, sizeof r.diagnostic, "%.500s", o->reason ? o->reason : "added by an administrator");
    snprintf(r.source, sizeof r.source, "admin");
    r.first_seen = r.last_seen = r.suppressed_since = now;
    r.expires_at = expires;
    bg_store *s = bg_sup_open(o, p, 1);
    if (!s)
        return 1;
    bg_store_status st = bg_store_put(s, &r);
    bg_store_close(s);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: add failed: %s\n", bg_store_status_text(st));
        return 1;
    }
    printf("%s suppressed for mail from %s (%s)\n", key, r.sender_domain, cat);
    return 0;
}

static int bg_sup_remove(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs != 2) {
        fprintf(stderr, "bounceguide: remove needs ADDRESS|DOMAIN\n");
        return 2;
    }
    bg_store *s = bg_sup_open(o, p, 1);
    if (!s)
        return 1;
    int n = 0;
    bg_store_status st = bg_store_remove(s, o->domain, o->args[1], &n);
    bg_store_close(s);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: remove failed: %s\n", bg_store_status_text(st));
        return 1;
    }
    printf("removed %d row(s) for %s%s%s\n", n, o->args[1], o->domain ? " from " : "",
           o->domain ? o->domain : "");
    return n ? 0 : 1;
}

static int bg_sup_list(const bg_sup_opts *o, const bg_policy *p, int show)
{
    if (show ? o->nargs != 2 : o->nargs != 1) {
        fprintf(stderr, show ? "bounceguide: show needs ADDRESS|DOMAIN\n" : "bounceguide: list takes no arguments\n");
        return 2;
    }
    if (o->category && !bg_category_find(o->category)) {
        fprintf(stderr, "bounceguide: unknown category \"%s\"\n", o->category);
        return 1;
    }
    bg_store *s = bg_sup_open(o, p, 0);
    if (!s)
        return 1;
    bg_sup_print pr = {.json = o->json, .now = (long long)time(NULL), .detail = show};
    bg_buf_init(&pr.out);
    if (pr.json)
        bg_buf_adds(&pr.out, "[");
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

static int bg_sup_export(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs > 2) {
        fprintf(stderr, "bounceguide: export takes at most one FILE\n");
        return 2;
    }
    bg_store *s = bg_sup_open(o, p, 0);
    if (!s)
        return 1;
    bg_buf b;
    bg_buf_init(&b);
    for (int i = 0; bg_csv_columns[i]; i++)
        bg_csv_field(&b, bg_csv_columns[i], !bg_csv_columns[i + 1]);
    bg_store_status st = bg_store_list(s, o->domain, o->category, NULL, !o->all,
                                       (long long)time(NULL), bg_sup_csv_row, &b);
    bg_store_close(s);
    int rc = 1;
    if (st != BG_STORE_OK)
        fprintf(stderr, "bounceguide: %s\n", bg_store_status_text(st));
    else if (bg_buf_failed(&b))
        fprintf(stderr, "bounceguide: out of memory\n");
    else {
        FILE *f = o->nargs == 2 && strcmp(o->args[1], "-") != 0 ? fopen(o->args[1], "w") : stdout;
        if (!f)
            fprintf(stderr, "bounceguide: %s: %s\n", o->args[1], strerror(errno));
        else {
            fwrite(b.p, 1, b.len, f);
            rc = ferror(f) ? 1 : 0;
            if (f != stdout && fclose(f) != 0)
                rc = 1;
            if (rc)
                fprintf(stderr, "bounceguide: write error\n");
        }
    }
    bg_buf_free(&b);
    return rc;
}

static int bg_sup_expire(const bg_sup_opts *o, const bg_policy *p)
{
    bg_store *s = bg_sup_open(o, p, 1);
    if (!s)
        return 1;
    int rows = 0, events = 0;
    bg_store_status st = bg_store_expire(s, 0, bg_policy_event_retention(p), &rows, &events);
    bg_store_close(s);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: expire failed: %s\n", bg_store_status_text(st));
        return 1;
    }
    printf("expired %d row(s), %d old event(s)\n", rows, events);
    return 0;
}

typedef struct bg_sup_cat {
    bg_buf *b;
    int json;
    int n;
} bg_sup_cat;

static int bg_sup_stat_cat(const char *d, const char *c, long long n, void *ctx)
{
    bg_sup_cat *sc = ctx;
    if (sc->json) {
        bg_buf_adds(sc->b, sc->n ? "," : "");
        bg_buf_adds(sc->b, "{\"sending_domain\":");
        bg_json_str(sc->b, d);
        bg_buf_adds(sc->b, ",\"category\":");
        bg_json_str(sc->b, c);
        bg_buf_printf(sc->b, ",\"active\":%lld}", n);
    } else {
        bg_buf_printf(sc->b, "  %-30s %-22s %lld\n", d, c, n);
    }
    sc->n++;
    return 0;
}

static int bg_sup_stats(const bg_sup_opts *o, const bg_policy *p)
{
    bg_store *s = bg_sup_open(o, p, 0);
    if (!s)
        return 1;
    bg_store_stats st;
    long long now = (long long)time(NULL);
    bg_store_status rc = bg_store_get_stats(s, o->domain, now, &st);
    bg_buf b;
    bg_buf_init(&b);
    bg_sup_cat sc = {.b = &b, .json = o->json};
    if (o->json)
        bg_buf_printf(&b,
                      "{\"rows\":%lld,\"active\":%lld,\"soft_pending\":%lld,\"expired\":%lld,"
                      "\"events\":%lld,\"deliveries_recorded\":%lld,\"db_bytes\":%lld,\"by_category\":[",
                      st.rows, st.active, st.soft_pending, st.expired, st.events, st.events_sent,
                      st.page_count * st.page_size);
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
    if (o->json)
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

int bg_cli_suppress(int argc, char **argv)
{
    if (argc < 2)
        return bg_sup_usage(stderr);
    bg_sup_opts o;
    memset(&o, 0, sizeof o);
    int pr = bg_sup_parse(argc, argv, &o);
    if (pr == -2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0)
        return bg_sup_usage(stdout);
    if (pr < 0)
        return 2;
    o.args[0] = argv[1];
    o.nargs++;
    if (o.domain && !bg_store_domain_valid(o.domain)) {
        fprintf(stderr, "bounceguide: --domain \"%s\": not a domain name\n", o.domain);
        return 2;
    }
    bg_config *cfg = bg_sup_config(&o);
    if (!cfg)
        return 1;
    bg_policy *p = bg_policy_new(cfg);
    int rc = 2;
    const char *cmd = argv[1];
    if (!p)
        rc = 1;
    else if (strcmp(cmd, "list") == 0)
        rc = bg_sup_list(&o, p, 0);
    else if (strcmp(cmd, "show") == 0)
        rc = bg_sup_list(&o, p, 1);
    else if (strcmp(cmd, "add") == 0)
        rc = bg_sup_add(&o, p);
    else if (strcmp(cmd, "remove") == 0)
        rc = bg_sup_remove(&o, p);
    else if (strcmp(cmd, "export") == 0)
        rc = bg_sup_export(&o, p);
    else if (strcmp(cmd, "import") == 0)
        rc = bg_sup_import(&o, p);
    else if (strcmp(cmd, "expire") == 0)
        rc = bg_sup_expire(&o, p);
    else if (strcmp(cmd, "stats") == 0)
        rc = bg_sup_stats(&o, p);
    else {
        fprintf(stderr, "bounceguide: unknown suppress command \"%s\"\n", cmd);
        bg_sup_usage(stderr);
    }
    bg_policy_free(p);
    bg_config_free(cfg);
    return rc;
}
