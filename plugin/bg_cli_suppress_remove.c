/* bg_cli_suppress_remove: `bounceguide suppress remove` -- lift one
 * recipient, the addresses of a file, or every row a filter selects:
 *
 *   remove ADDRESS|DOMAIN [--domain D] [--category C] [--before T]
 *   remove --file FILE    [--domain D] [--category C] [--before T]
 *   remove [--domain D] [--category C] [--before T]   (at least one)
 *   and --dry-run (show what would go), --reason TEXT
 *
 * The filters combine (all must hold). Every row goes through the store's
 * one removal path (bg_store_remove), so each is a `removed` change in the
 * log with the caller and the --reason. A file is checked whole first, as
 * import does: a bad line is reported by number, then nothing is removed;
 * the removals then go in one transaction. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_buf.h"
#include "bg_category.h"
#include "bg_cli.h"
#include "bg_cli_suppress_int.h"
#include "bg_store.h"

#define BG_RM_MAX_ERRORS 20

/* The rows chosen: (sending domain, recipient) pairs, NUL-separated. */
typedef struct bg_rm {
    const bg_sup_opts *o;
    long long before;   /* 0 = any */
    long long now;
    bg_buf keys;        /* "domain\0recipient\0" ... */
    size_t n;
    int dry_run;
} bg_rm;

/* When a row began: its suppression, else (a soft row still counting)
 * its first event. */
static long long bg_rm_since(const bg_store_row *r)
{
    return r->suppressed_since ? r->suppressed_since : r->first_seen;
}

static int bg_rm_pick(const bg_store_row *r, void *ctx)
{
    bg_rm *rm = ctx;
    if (rm->before && bg_rm_since(r) >= rm->before)
        return 0;
    if (rm->dry_run) {
        char since[32] = "-";
        bg_store_fmt_date(bg_rm_since(r), since);
        if (!rm->n)
            printf("%-24s %-32s %-20s %-10s %s\n", "SENDING DOMAIN", "RECIPIENT", "CATEGORY", "SINCE",
                   "STATE");
        printf("%-24s %-32s %-20s %-10s %s\n", r->sender_domain, r->recipient, r->category, since,
               bg_store_row_active(r, rm->now) ? "in force" : "not in force");
    } else {
        bg_buf_add(&rm->keys, r->sender_domain, strlen(r->sender_domain) + 1);
        bg_buf_add(&rm->keys, r->recipient, strlen(r->recipient) + 1);
    }
    rm->n++;
    return bg_buf_failed(&rm->keys);
}

/* The rows of one recipient (an address or a domain) the filters keep. */
static bg_store_status bg_rm_collect(bg_rm *rm, bg_store *s, const char *key)
{
    return bg_store_list(s, rm->o->domain, rm->o->category, key, 0, rm->now, bg_rm_pick, rm);
}

/* The recipients of a file: one address or domain per line (blank lines
 * and # comments skipped), or a CSV whose header names an address column
 * (an export). Every line is checked before anything is removed. 0, or
 * -1 (reported). */
static int bg_rm_file(bg_rm *rm, bg_store *s, const char *file)
{
    char shown[300];
    bg_cli_esc(shown, sizeof shown, file, 250);
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        fprintf(stderr, "bounceguide: %s: %s\n", shown, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, col = -1, header_seen = 0, errors = 0;
    bg_buf keys; /* the recipients, checked, before any lookup */
    bg_buf_init(&keys);
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, '\0', (size_t)len)) {
            if (++errors <= BG_RM_MAX_ERRORS)
                fprintf(stderr, "bounceguide: %s:%d: NUL byte in the line\n", shown, lineno);
            continue;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        if (!header_seen) { /* a header line: which field is the address */
            header_seen = 1;
            if (!strchr(p, '@')) {
                char tmp[1024];
                snprintf(tmp, sizeof tmp, "%s", p);
                int i = 0;
                for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save), i++) {
                    char nm[48];
                    size_t o = 0;
                    for (const char *q = t; *q && o + 1 < sizeof nm; q++)
                        if (isalnum((unsigned char)*q))
                            nm[o++] = (char)tolower((unsigned char)*q);
                    nm[o] = '\0';
                    if (col < 0 && (!strcmp(nm, "address") || !strcmp(nm, "email") ||
                                    !strcmp(nm, "emailaddress") || !strcmp(nm, "recipient")))
                        col = i;
                }
                if (col >= 0)
                    continue;
            }
        }
        /* the field: the whole line, or the address column of a CSV */
        char *fld = p;
        if (col >= 0 || strchr(p, ',')) {
            int want = col >= 0 ? col : 0;
            for (int i = 0; i < want && fld; i++) {
                fld = strchr(fld, ',');
                if (fld)
                    fld++;
            }
            if (!fld)
                fld = "";
            char *end = strchr(fld, ',');
            if (end)
                *end = '\0';
        }
        size_t fl = strlen(fld);
        while (fl && isspace((unsigned char)fld[fl - 1]))
            fld[--fl] = '\0';
        while (isspace((unsigned char)*fld))
            fld++;
        fl = strlen(fld);
        if (fl >= 2 && fld[0] == '"' && fld[fl - 1] == '"') {
            fld[fl - 1] = '\0';
            fld++;
        }
        char key[BG_ADDR_MAX];
        if (bg_store_norm_recipient(fld, key) < 0) {
            char e[300];
            bg_cli_esc(e, sizeof e, fld, 100);
            if (++errors <= BG_RM_MAX_ERRORS)
                fprintf(stderr, "bounceguide: %s:%d: not an address or domain: \"%s\"\n", shown, lineno, e);
            continue;
        }
        bg_buf_add(&keys, key, strlen(key) + 1);
    }
    int rerr = ferror(f);
    if (f != stdin)
        fclose(f);
    free(line);
    if (rerr) {
        fprintf(stderr, "bounceguide: %s: read error\n", shown);
        errors++;
    }
    if (bg_buf_failed(&keys)) {
        fprintf(stderr, "bounceguide: out of memory\n");
        errors++;
    }
    if (errors) {
        if (errors > BG_RM_MAX_ERRORS)
            fprintf(stderr, "bounceguide: ... %d more errors\n", errors - BG_RM_MAX_ERRORS);
        fprintf(stderr, "bounceguide: %s: %d bad line(s); nothing removed\n", shown, errors);
        bg_buf_free(&keys);
        return -1;
    }
    bg_store_status st = BG_STORE_OK;
    for (size_t off = 0; off < keys.len && st == BG_STORE_OK; off += strlen(keys.p + off) + 1)
        st = bg_rm_collect(rm, s, keys.p + off);
    bg_buf_free(&keys);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: %s\n", bg_store_status_text(st));
        return -1;
    }
    return 0;
}

int bg_sup_remove(const bg_sup_opts *o, const bg_policy *p)
{
    int by_key = o->nargs == 2;
    if (o->nargs > 2 || (by_key && o->file)) {
        fprintf(stderr, "bounceguide: remove takes ADDRESS|DOMAIN or --file FILE, not both\n");
        return 2;
    }
    if (!by_key && !o->file && !o->domain && !o->category && !o->before) {
        fprintf(stderr, "bounceguide: remove needs ADDRESS|DOMAIN, --file FILE, or a filter "
                        "(--domain, --category, --before)\n");
        return 2;
    }
    if (o->category && !bg_category_find(o->category)) {
        fprintf(stderr, "bounceguide: unknown category \"%s\"\n", o->category);
        return 1;
    }
    bg_rm rm = {.o = o, .now = (long long)time(NULL), .dry_run = o->dry_run};
    if (o->before && bg_cli_parse_when(o->before, rm.now, &rm.before) < 0) {
        char e[64];
        bg_cli_esc(e, sizeof e, o->before, 40);
        fprintf(stderr, "bounceguide: --before \"%s\": a time (2026-11-20, 2026-11-20T10:00:00Z) "
                        "or an age (30d: older than 30 days)\n", e);
        return 2;
    }
    char key[BG_ADDR_MAX];
    if (by_key && bg_store_norm_recipient(o->args[1], key) < 0) {
        char e[300];
        bg_cli_esc(e, sizeof e, o->args[1], 100);
        fprintf(stderr, "bounceguide: \"%s\": not an address or domain\n", e);
        return 1;
    }
    bg_store *s = bg_sup_open(o, p, !o->dry_run);
    if (!s)
        return 1;
    bg_buf_init(&rm.keys);
    int rc = 1;
    bg_store_status st = BG_STORE_OK;
    /* choose first (reads only), then remove: a scan never sees its own deletes */
    if (o->file) {
        if (bg_rm_file(&rm, s, o->file) < 0)
            goto out;
    } else {
        st = by_key ? bg_rm_collect(&rm, s, key)
                    : bg_store_list(s, o->domain, o->category, NULL, 0, rm.now, bg_rm_pick, &rm);
        if (st != BG_STORE_OK || bg_buf_failed(&rm.keys)) {
            fprintf(stderr, "bounceguide: %s\n", st != BG_STORE_OK ? bg_store_status_text(st) : "out of memory");
            goto out;
        }
    }
    if (o->dry_run) {
        printf("%zu row(s) would be removed\n", rm.n);
        rc = 0;
        goto out;
    }
    bg_sup_actor(s, BG_SRC_ADMIN, o->reason);
    int removed = 0;
    st = bg_store_begin(s);
    for (size_t off = 0; st == BG_STORE_OK && off < rm.keys.len;) {
        const char *dom = rm.keys.p + off;
        const char *rcpt = dom + strlen(dom) + 1;
        off = (size_t)(rcpt - rm.keys.p) + strlen(rcpt) + 1;
        int n = 0;
        st = bg_store_remove(s, dom, rcpt, &n);
        removed += n;
    }
    if (st == BG_STORE_OK)
        st = bg_store_commit(s);
    else
        bg_store_rollback(s);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: remove failed: %s; nothing removed\n", bg_store_status_text(st));
        goto out;
    }
    if (by_key)
        printf("removed %d row(s) for %s%s%s\n", removed, key, o->domain ? " from " : "",
               o->domain ? o->domain : "");
    else
        printf("removed %d row(s)\n", removed);
    rc = removed ? 0 : 1;
out:
    bg_buf_free(&rm.keys);
    bg_store_close(s);
    return rc;
}
