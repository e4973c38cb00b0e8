/* bg_cli_suppress_import: `bounceguide suppress import FILE` -- an ESP's
 * or our own CSV export into the store. The file is checked whole first;
 * any bad line is reported by number and nothing is written; the rows then
 * go in one transaction, each a change in the log (source import, the
 * caller and the file named). Header names: address (email, recipient),
 * code, error (reason, diagnostic), created_at (created), sending_domain
 * (sender_domain), category, status, scope, last_seen, expires_at,
 * soft_count, source, last_message_id. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bg_buf.h"
#include "bg_category.h"
#include "bg_classify.h"
#include "bg_cli.h"
#include "bg_cli_suppress_int.h"
#include "bg_config.h"
#include "bg_status.h"
#include "bg_store.h"

#define BG_CSV_MAX_RECORD (64 * 1024)
#define BG_CSV_MAX_FIELDS 32
#define BG_IMPORT_MAX_ERRORS 20

/* ---- CSV input ---------------------------------------------------------------- */

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

int bg_sup_import(const bg_sup_opts *o, const bg_policy *p)
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
    char note[BG_STORE_NOTE_MAX];
    snprintf(note, sizeof note, "import of %.200s%s%.100s", strcmp(file, "-") == 0 ? "stdin" : file,
             o->reason ? ": " : "", o->reason ? o->reason : "");
    bg_sup_actor(s, BG_SRC_IMPORT, note); /* each row is a change: who, and from which file */
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
