/* bg_cli_suppress_import: `bounceguide suppress import FILE` -- an ESP's
 * or our own CSV export into the store.
 *
 * The file is streamed twice through a 64 KiB buffer, so memory stays
 * the same whatever its size (a pipe is first copied to a temporary
 * file): the first pass checks every line and reports each bad one by
 * number -- then nothing is written --, the second writes the rows in one
 * transaction, each a change in the log (source import, the caller, the
 * file named). Header names are matched without case, blanks or
 * underscores, so our own export, Mailgun's (address, code, error,
 * created_at; complaints: address, created_at; unsubscribes: address,
 * tags, created_at), Amazon SES's (EmailAddress, Reason, LastUpdateTime)
 * and Postmark's (EmailAddress, SuppressionReason, Origin, CreatedAt) are
 * all read; bg_import_reasons maps their reason words to categories.
 * Everything of the file that an error message repeats is escaped: a
 * control character never reaches the terminal raw. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "bg_buf.h"
#include "bg_category.h"
#include "bg_classify.h"
#include "bg_cli.h"
#include "bg_cli_suppress_int.h"
#include "bg_config.h"
#include "bg_engine.h"
#include "bg_status.h"
#include "bg_store.h"

#define BG_CSV_MAX_RECORD (64 * 1024)
#define BG_CSV_MAX_FIELDS 32
#define BG_IMPORT_MAX_ERRORS 20

/* ---- escaping for messages ------------------------------------------------------ */

void bg_cli_esc(char *out, size_t outsz, const char *in, size_t max)
{
    size_t o = 0, i = 0;
    if (!outsz)
        return;
    for (; in && in[i] && i < max;) {
        unsigned char c = (unsigned char)in[i];
        char tmp[8];
        size_t n = 0, take = 1;
        if (c == '\t' || c == '\n' || c == '\r') {
            tmp[0] = '\\';
            tmp[1] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
            n = 2;
        } else if (c < 0x20 || c == 0x7f) {
            n = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);
        } else if (c < 0x80) {
            tmp[0] = (char)c;
            n = 1;
        } else {
            /* UTF-8: a whole, valid sequence that is not a C1 control
             * (U+0080..U+009F: some terminals obey them) is kept */
            size_t len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
            size_t k = 1;
            while (len && k < len && ((unsigned char)in[i + k] & 0xc0) == 0x80)
                k++;
            int c1 = len == 2 && c == 0xc2 && (unsigned char)in[i + 1] < 0xa0;
            if (len && k == len && !c1 && c >= 0xc2) {
                memcpy(tmp, in + i, len);
                n = take = len;
            } else {
                n = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);
            }
        }
        if (o + n >= outsz)
            break;
        memcpy(out + o, tmp, n);
        o += n;
        i += take;
    }
    if (in && in[i] && i >= max && o + 3 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* ---- CSV input, streamed --------------------------------------------------------- */

typedef struct bg_csv {
    FILE *f;
    unsigned char buf[65536];
    size_t pos, len;
    int line;         /* current physical line (1-based) */
    int record_line;  /* line where the last record started */
    char *fields[BG_CSV_MAX_FIELDS];
    int nfields;
    bg_buf store;
} bg_csv;

static int bg_csv_fill(bg_csv *c)
{
    if (c->pos < c->len)
        return 1;
    c->len = fread(c->buf, 1, sizeof c->buf, c->f);
    c->pos = 0;
    return c->len > 0;
}

static int bg_csv_peek(bg_csv *c)
{
    return bg_csv_fill(c) ? c->buf[c->pos] : -1;
}

static int bg_csv_getc(bg_csv *c)
{
    return bg_csv_fill(c) ? c->buf[c->pos++] : -1;
}

/* Start (again) at the beginning of the file. */
static void bg_csv_rewind(bg_csv *c)
{
    rewind(c->f);
    c->pos = c->len = 0;
    c->line = 1;
    c->record_line = 0;
    if (bg_csv_peek(c) == 0xef && c->len >= 3 && memcmp(c->buf, "\xef\xbb\xbf", 3) == 0)
        c->pos = 3; /* a UTF-8 byte order mark (spreadsheets write one) */
}

/* Read the next record: 1, 0 at the end, -1 on a malformed record (why set). */
static int bg_csv_next(bg_csv *c, const char **why)
{
    *why = "";
    bg_buf_reset(&c->store);
    c->nfields = 0;
    int ch;
    while ((ch = bg_csv_peek(c)) == '\n' || ch == '\r') { /* blank lines */
        if (ch == '\n')
            c->line++;
        c->pos++;
    }
    if (ch < 0)
        return 0;
    c->record_line = c->line;
    size_t starts[BG_CSV_MAX_FIELDS];
    starts[0] = 0;
    int nf = 1;
    int quoted = 0, was_quoted = 0;
    for (;;) {
        ch = bg_csv_getc(c);
        if (ch < 0) {
            if (quoted) {
                *why = "unterminated quoted field";
                return -1;
            }
            break;
        }
        if (ch == '\0') {
            *why = "NUL byte in a field";
            c->pos--; /* the skip to the end of the line starts here */
            return -1;
        }
        if (quoted) {
            if (ch == '"') {
                if (bg_csv_peek(c) == '"') {
                    bg_buf_addc(&c->store, '"');
                    c->pos++;
                } else {
                    quoted = 0;
                }
            } else {
                if (ch == '\n')
                    c->line++;
                bg_buf_addc(&c->store, (char)ch);
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
            if (ch == '\r' && bg_csv_peek(c) == '\n')
                c->pos++;
            c->line++;
            break;
        } else {
            if (was_quoted) {
                *why = "text after a closing quote";
                return -1;
            }
            bg_buf_addc(&c->store, (char)ch);
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
    int ch;
    while ((ch = bg_csv_getc(c)) >= 0 && ch != '\n') {
    }
    if (ch == '\n')
        c->line++;
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

/* A header name as compared: lower case, letters and digits only
 * ("Email Address", "email_address" and "EmailAddress" are one name). */
static void bg_csv_norm(char out[48], const char *in)
{
    size_t o = 0;
    for (; *in && o + 1 < 48; in++)
        if (isalnum((unsigned char)*in))
            out[o++] = (char)tolower((unsigned char)*in);
    out[o] = '\0';
}

enum {
    C_ADDR, C_CODE, C_ERROR, C_CREATED, C_DOMAIN, C_CAT, C_STATUS, C_SCOPE, C_LAST, C_EXPIRES,
    C_SOFT, C_SOURCE, C_MSGID, C_REASON, C_ORIGIN, C_TAGS, C_N
};

/* The header names of each column, normalised (bg_csv_norm), first match
 * wins: ours, then Mailgun's, SES's, Postmark's and common variants. */
static const char *const *const bg_csv_aliases[C_N] = {
    [C_ADDR] = (const char *const[]){"address", "emailaddress", "email", "recipient", NULL},
    [C_CODE] = (const char *const[]){"code", "replycode", NULL},
    [C_ERROR] = (const char *const[]){"error", "diagnostic", NULL},
    [C_CREATED] = (const char *const[]){"createdat", "created", "lastupdatetime", NULL},
    [C_DOMAIN] = (const char *const[]){"sendingdomain", "senderdomain", NULL},
    [C_CAT] = (const char *const[]){"category", NULL},
    [C_STATUS] = (const char *const[]){"status", NULL},
    [C_SCOPE] = (const char *const[]){"scope", NULL},
    [C_LAST] = (const char *const[]){"lastseen", NULL},
    [C_EXPIRES] = (const char *const[]){"expiresat", NULL},
    [C_SOFT] = (const char *const[]){"softcount", NULL},
    [C_SOURCE] = (const char *const[]){"source", NULL},
    [C_MSGID] = (const char *const[]){"lastmessageid", NULL},
    [C_REASON] = (const char *const[]){"reason", "suppressionreason", NULL},
    [C_ORIGIN] = (const char *const[]){"origin", NULL},
    [C_TAGS] = (const char *const[]){"tags", NULL},
};

/* What an ESP's reason word means here (normalised like header names).
 * category "" = a hard bounce whose cause the file does not say: the
 * error text is classified when there is one, else recipient-suppressed.
 * A reason that is none of these is taken as the error text (older
 * files of ours and Mailgun-like ones put the reply there). Sources:
 * Amazon SES API v2 SuppressedDestination.Reason (BOUNCE | COMPLAINT);
 * Postmark's suppressions API SuppressionReason (HardBounce |
 * SpamComplaint | ManualSuppression, with Origin Recipient for a
 * recipient's own unsubscribe); the words of other exports' reason
 * columns (hard_bounce, spam_complaint, unsubscribe, manual). */
static const struct {
    const char *word;
    const char *category;
} bg_import_reasons[] = {
    {"bounce", ""},
    {"hardbounce", ""},
    {"complaint", "complaint"},
    {"spamcomplaint", "complaint"},
    {"unsubscribe", "unsubscribed"},
    {"unsubscribed", "unsubscribed"},
    {"manualsuppression", "recipient-suppressed"}, /* Origin Recipient: unsubscribed */
    {"manual", "recipient-suppressed"},
    {NULL, NULL},
};

static int bg_csv_col(char **hdr, int n, const char *const names[])
{
    for (int k = 0; names[k]; k++)
        for (int i = 0; i < n; i++) {
            char h[48];
            bg_csv_norm(h, hdr[i]);
            if (strcmp(h, names[k]) == 0)
                return i;
        }
    return -1;
}

typedef struct bg_import {
    const bg_sup_opts *o;
    const bg_policy *p;
    bg_engine *engine;
    const char *file;     /* as given */
    char file_esc[300];   /* as shown */
    int col[C_N];
    int ncols;
    long long now;
    size_t rows;
    int errors;
} bg_import;

static void bg_import_err(bg_import *im, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bg_import_err(bg_import *im, int line, const char *fmt, ...)
{
    im->errors++;
    if (im->errors > BG_IMPORT_MAX_ERRORS)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bounceguide: %s:%d: ", im->file_esc, line);
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

/* The category an ESP's reason word gives (NULL: not a reason word). */
static const char *bg_import_reason(const char *reason, const char *origin)
{
    char w[48], o[48];
    bg_csv_norm(w, reason);
    bg_csv_norm(o, origin);
    for (int i = 0; bg_import_reasons[i].word; i++)
        if (strcmp(w, bg_import_reasons[i].word) == 0) {
            if (strcmp(w, "manualsuppression") == 0 && strcmp(o, "recipient") == 0)
                return "unsubscribed"; /* Postmark: the recipient unsubscribed */
            return bg_import_reasons[i].category;
        }
    return NULL;
}

/* Check one CSV record and turn it into a row. 0, or -1 (reported). */
static int bg_import_record(bg_import *im, int line, char **f, bg_store_row *r)
{
    static char empty[] = "";
    const bg_sup_opts *o = im->o;
    char *v[C_N];
    for (int k = 0; k < C_N; k++) {
        v[k] = im->col[k] >= 0 ? f[im->col[k]] : empty;
        bg_trim_inplace(v[k]);
    }
    char e[300];
#define ESC(s, max) (bg_cli_esc(e, sizeof e, (s), (max)), e)
    memset(r, 0, sizeof *r);
    char key[BG_ADDR_MAX];
    if (bg_store_norm_recipient(v[C_ADDR], key) < 0) {
        bg_import_err(im, line, "bad address or domain syntax: \"%s\"", ESC(v[C_ADDR], 100));
        return -1;
    }
    const char *dom = *v[C_DOMAIN] ? v[C_DOMAIN] : (o->domain ? o->domain : "");
    if (!*dom) {
        bg_import_err(im, line, "no sending domain (column sending_domain or --domain)");
        return -1;
    }
    if (!bg_store_domain_valid(dom)) {
        bg_import_err(im, line, "bad sending domain syntax: \"%s\"", ESC(dom, 100));
        return -1;
    }
    long code = 0, soft = 0;
    if (bg_int_field(v[C_CODE], 0, 599, 0, &code) < 0 || (code && code < 200)) {
        bg_import_err(im, line, "bad reply code: \"%s\"", ESC(v[C_CODE], 20));
        return -1;
    }
    if (bg_int_field(v[C_SOFT], 0, 1000000, 0, &soft) < 0) {
        bg_import_err(im, line, "bad soft_count: \"%s\"", ESC(v[C_SOFT], 20));
        return -1;
    }
    long long created = im->now, last = 0, expires = -1;
    if (*v[C_CREATED] && bg_store_parse_time(v[C_CREATED], &created) < 0) {
        bg_import_err(im, line, "bad created_at time: \"%s\"", ESC(v[C_CREATED], 60));
        return -1;
    }
    if (*v[C_LAST] && bg_store_parse_time(v[C_LAST], &last) < 0) {
        bg_import_err(im, line, "bad last_seen time: \"%s\"", ESC(v[C_LAST], 60));
        return -1;
    }
    if (*v[C_EXPIRES] && strcasecmp(v[C_EXPIRES], "never") != 0 &&
        bg_store_parse_time(v[C_EXPIRES], &expires) < 0) {
        bg_import_err(im, line, "bad expires_at time: \"%s\"", ESC(v[C_EXPIRES], 60));
        return -1;
    }
    if (strcasecmp(v[C_EXPIRES], "never") == 0)
        expires = 0;
    int is_addr = strchr(key, '@') != NULL;
    const char *scope = *v[C_SCOPE] ? v[C_SCOPE] : (is_addr ? "address" : "domain");
    if (strcmp(scope, "address") && strcmp(scope, "domain") && strcmp(scope, "soft")) {
        bg_import_err(im, line, "unknown scope \"%s\" (address, domain, soft)", ESC(scope, 20));
        return -1;
    }
    if ((strcmp(scope, "domain") == 0) == is_addr) {
        bg_import_err(im, line, "scope %s does not fit \"%s\"", scope, ESC(key, 100));
        return -1;
    }
    /* the error text: the error column, else a reason that is no ESP's
     * reason word (our older files put the reply there) */
    const char *reason_cat = *v[C_REASON] ? bg_import_reason(v[C_REASON], v[C_ORIGIN]) : NULL;
    const char *error = *v[C_ERROR] ? v[C_ERROR] : (reason_cat ? "" : v[C_REASON]);
    const char *cat = v[C_CAT];
    if (!*cat && reason_cat && *reason_cat)
        cat = reason_cat;
    if (!*cat && !*error && !reason_cat && o->category)
        cat = o->category; /* --category: for files that do not say */
    if (!*cat && !*error && !reason_cat && im->col[C_TAGS] >= 0)
        cat = "unsubscribed"; /* Mailgun's unsubscribes export (address, tags, created_at) */
    if (*cat) {
        if (!bg_category_find(cat)) {
            bg_import_err(im, line, "unknown category \"%s\"", ESC(cat, 40));
            return -1;
        }
    } else {
        char text[BG_STORE_DIAG_MAX + 16];
        snprintf(text, sizeof text, "%s%s%.500s", *v[C_CODE] ? v[C_CODE] : "", *v[C_CODE] ? " " : "",
                 error);
        bg_verdict vd;
        memset(&vd, 0, sizeof vd);
        cat = "unknown";
        if (*text && bg_engine_classify_text(im->engine, text, code / 100 == 4, "", &vd) == 0 && vd.category)
            cat = vd.category->id;
        if (strcmp(cat, "unknown") == 0)
            cat = o->category ? o->category : "recipient-suppressed"; /* an ESP's list without a reason */
    }
    if (*v[C_SOURCE] && bg_store_source_parse(v[C_SOURCE]) < 0) {
        bg_import_err(im, line, "unknown source \"%s\"", ESC(v[C_SOURCE], 20));
        return -1;
    }
    if (expires < 0) { /* the policy's lifetime, from now: the import is a decision made today */
        bg_store_rule rule;
        bg_suppress m = strcmp(scope, "domain") == 0 ? BG_SUP_DOMAIN
                        : strcmp(scope, "soft") == 0 ? BG_SUP_COUNT
                                                     : BG_SUP_ADDRESS;
        bg_policy_rule(im->p, dom, cat, m, 0, &rule);
        long long life = rule.mode == BG_SUP_NONE ? BG_POLICY_EXPIRE_ADDRESS : rule.expires_after;
        expires = life > 0 ? im->now + life : 0;
    }
    snprintf(r->sender_domain, sizeof r->sender_domain, "%.253s", dom);
    snprintf(r->recipient, sizeof r->recipient, "%s", key);
    snprintf(r->scope, sizeof r->scope, "%s", scope);
    snprintf(r->category, sizeof r->category, "%s", cat);
    if (*v[C_STATUS]) {
        if (!bg_status_valid(v[C_STATUS]) || strlen(v[C_STATUS]) >= BG_STATUS_MAX) {
            bg_import_err(im, line, "bad status \"%s\"", ESC(v[C_STATUS], 20));
            return -1;
        }
        snprintf(r->status, sizeof r->status, "%s", v[C_STATUS]);
    } else {
        bg_status_find(error, r->status);
    }
#undef ESC
    r->reply_code = (int)code;
    snprintf(r->diagnostic, sizeof r->diagnostic, "%s", bg_csv_text_value(error));
    r->first_seen = created;
    r->last_seen = last ? last : created;
    r->suppressed_since = created;
    r->soft_count = (int)soft;
    r->expires_at = expires;
    snprintf(r->source, sizeof r->source, "%s", *v[C_SOURCE] ? v[C_SOURCE] : "admin");
    snprintf(r->last_message_id, sizeof r->last_message_id, "%.250s", bg_csv_text_value(v[C_MSGID]));
    return 0;
}

/* The header line: the columns. 0, or -1 (reported). */
static int bg_import_header(bg_import *im, bg_csv *c)
{
    const char *why;
    int r = bg_csv_next(c, &why);
    if (r <= 0) {
        fprintf(stderr, "bounceguide: %s:%d: %s\n", im->file_esc, c->record_line ? c->record_line : 1,
                r == 0 ? "empty file: a header line (address,code,error,created_at,...) is needed" : why);
        return -1;
    }
    char *hdr[BG_CSV_MAX_FIELDS];
    for (int i = 0; i < c->nfields; i++) {
        hdr[i] = c->fields[i];
        bg_trim_inplace(hdr[i]);
    }
    for (int k = 0; k < C_N; k++)
        im->col[k] = bg_csv_col(hdr, c->nfields, bg_csv_aliases[k]);
    if (im->col[C_ADDR] < 0) {
        fprintf(stderr, "bounceguide: %s:%d: no address column in the header\n", im->file_esc,
                c->record_line);
        return -1;
    }
    im->ncols = c->nfields;
    return 0;
}

/* One pass over the records after the header: check each (s NULL) or
 * write each (s open, inside a transaction). 0, or -1 when a write
 * failed (*st set). */
static int bg_import_pass(bg_import *im, bg_csv *c, bg_store *s, bg_store_status *st)
{
    const char *why;
    int r;
    while ((r = bg_csv_next(c, &why)) != 0) {
        if (r < 0) {
            bg_import_err(im, c->record_line, "malformed CSV: %s", why);
            bg_csv_skip_line(c);
            continue;
        }
        if (c->nfields != im->ncols) {
            bg_import_err(im, c->record_line, "%d fields, the header has %d", c->nfields, im->ncols);
            continue;
        }
        bg_store_row row;
        if (bg_import_record(im, c->record_line, c->fields, &row) != 0)
            continue;
        im->rows++;
        if (s && !im->errors && (*st = bg_store_put(s, &row)) != BG_STORE_OK)
            return -1;
    }
    if (ferror(c->f)) {
        fprintf(stderr, "bounceguide: %s: read error: %s\n", im->file_esc, strerror(errno));
        im->errors++;
    }
    return 0;
}

/* The input as a file that can be read twice: a regular file as it is,
 * anything else (stdin, a pipe) copied to a temporary file first. */
static FILE *bg_import_open(const char *file, const char *shown)
{
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!in) {
        fprintf(stderr, "bounceguide: %s: %s\n", shown, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode) && in != stdin)
        return in;
    FILE *tmp = tmpfile();
    if (!tmp) {
        fprintf(stderr, "bounceguide: temporary file for %s: %s\n", shown, strerror(errno));
        if (in != stdin)
            fclose(in);
        return NULL;
    }
    char buf[65536];
    size_t n;
    int bad = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, tmp) != n) {
            bad = 1;
            break;
        }
    if (ferror(in) || bad || fflush(tmp) != 0) {
        fprintf(stderr, "bounceguide: %s: %s\n", shown, bad ? "cannot copy to a temporary file" : "read error");
        fclose(tmp);
        tmp = NULL;
    }
    if (in != stdin)
        fclose(in);
    return tmp;
}

int bg_sup_import(const bg_sup_opts *o, const bg_policy *p)
{
    if (o->nargs != 2) {
        fprintf(stderr, "bounceguide: import needs one FILE (\"-\" for stdin)\n");
        return 2;
    }
    if (o->category && !bg_category_find(o->category)) {
        fprintf(stderr, "bounceguide: unknown category \"%s\"\n", o->category);
        return 1;
    }
    bg_import im = {.o = o, .p = p, .file = o->args[1], .now = (long long)time(NULL)};
    bg_cli_esc(im.file_esc, sizeof im.file_esc, im.file, 250);
    /* the categories of rows without one come from the engine's rules:
     * the config's rules_file too, as inside Exim */
    bg_engine_opts eo = {.config_path = o->config ? o->config : BG_CLI_DEFAULT_CONFIG,
                         .missing_ok = o->config == NULL};
    im.engine = bg_engine_new(&eo);
    bg_csv *c = calloc(1, sizeof *c);
    int rc = 1;
    bg_store *s = NULL;
    if (!im.engine || !c) {
        fprintf(stderr, "bounceguide: out of memory\n");
        goto out;
    }
    bg_buf_init(&c->store);
    if (!(c->f = bg_import_open(im.file, im.file_esc)))
        goto out;
    bg_csv_rewind(c);
    if (bg_import_header(&im, c) < 0)
        goto out;
    bg_store_status st = BG_STORE_OK;
    bg_import_pass(&im, c, NULL, &st);
    if (im.errors) {
        if (im.errors > BG_IMPORT_MAX_ERRORS)
            fprintf(stderr, "bounceguide: ... %d more errors\n", im.errors - BG_IMPORT_MAX_ERRORS);
        fprintf(stderr, "bounceguide: %s: %d bad line(s); nothing imported\n", im.file_esc, im.errors);
        goto out;
    }
    if (o->dry_run) {
        printf("%zu row(s) would be imported\n", im.rows);
        rc = 0;
        goto out;
    }
    if (!(s = bg_sup_open(o, p, 1)))
        goto out;
    char note[BG_STORE_NOTE_MAX];
    snprintf(note, sizeof note, "import of %.200s%s%.100s", strcmp(im.file, "-") == 0 ? "stdin" : im.file,
             o->reason ? ": " : "", o->reason ? o->reason : "");
    bg_sup_actor(s, BG_SRC_IMPORT, note); /* each row is a change: who, and from which file */
    size_t checked = im.rows;
    im.rows = 0;
    st = bg_store_begin(s);
    if (st == BG_STORE_OK) {
        bg_csv_rewind(c);
        if (bg_import_header(&im, c) < 0 || bg_import_pass(&im, c, s, &st) < 0 || im.errors ||
            im.rows != checked) {
            if (st == BG_STORE_OK)
                fprintf(stderr, "bounceguide: %s changed while it was imported\n", im.file_esc);
            bg_store_rollback(s);
            if (st == BG_STORE_OK)
                st = BG_STORE_INVALID;
        } else {
            st = bg_store_commit(s);
        }
    }
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: import failed (%s%s%s); nothing imported\n", bg_store_status_text(st),
                *bg_store_errmsg(s) ? ": " : "", bg_store_errmsg(s));
    } else {
        printf("%zu row(s) imported\n", im.rows);
        rc = 0;
    }
out:
    bg_store_close(s);
    if (c) {
        if (c->f && c->f != stdin)
            fclose(c->f);
        bg_buf_free(&c->store);
        free(c);
    }
    bg_engine_free(im.engine);
    return rc;
}
