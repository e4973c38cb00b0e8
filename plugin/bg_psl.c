/* bg_psl: organisational domains from the Public Suffix List.
 *
 * The list is held in one open-addressing hash table of rule names with
 * flags (normal, wildcard "*.x" stored under "x", exception "!x"). Lookups
 * walk the candidate suffixes of a name from the longest to the shortest;
 * the first match is the prevailing rule. It does not do IDNA: non-ASCII
 * rules are skipped. It never fetches the list from the network.
 */
#include "bg_psl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_log.h"

#define BG_PSL_NORMAL 1u
#define BG_PSL_WILDCARD 2u
#define BG_PSL_EXCEPTION 4u
#define BG_PSL_NAME_MAX 256

typedef struct bg_psl_slot {
    char *name; /* NULL = empty slot */
    unsigned flags;
} bg_psl_slot;

static bg_psl_slot *bg_psl_tab;
static size_t bg_psl_cap; /* power of two */
static size_t bg_psl_used;
static const char *bg_psl_src = "";

/* Used when the package file is missing: the multi-label suffixes most
 * mail domains sit under. Single labels are covered by the implicit "*". */
static const char *const bg_psl_builtin[] = {
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "sch.uk",
    "nhs.uk", "police.uk", "com.au", "net.au", "org.au", "edu.au", "gov.au", "asn.au",
    "id.au", "co.nz", "org.nz", "net.nz", "govt.nz", "ac.nz", "co.jp", "ne.jp", "or.jp",
    "ac.jp", "go.jp", "ad.jp", "ed.jp", "gr.jp", "lg.jp", "com.br", "net.br", "org.br",
    "gov.br", "edu.br", "co.za", "org.za", "gov.za", "ac.za", "com.cn", "net.cn", "org.cn",
    "gov.cn", "edu.cn", "co.in", "net.in", "org.in", "gov.in", "ac.in", "com.mx", "org.mx",
    "gob.mx", "co.il", "org.il", "ac.il", "com.tr", "org.tr", "gov.tr", "com.sg", "edu.sg",
    "gov.sg", "com.hk", "org.hk", "edu.hk", "co.kr", "or.kr", "ac.kr", "go.kr", "com.ar",
    "gob.ar", "com.tw", "org.tw", "edu.tw", "gov.tw", "com.my", "gov.my", "co.th", "ac.th",
    "go.th", "com.ph", "gov.ph", "co.id", "ac.id", "go.id", "or.id", "com.vn", "com.pl",
    "com.es", "gv.at", "co.at", "or.at", "ac.at", "com.ua", "co.ua", "com.ru", "com.co",
    "com.pe", "com.ve", "com.ec", "com.uy", "com.pk", "com.ng", "com.eg", "co.ke",
    "github.io", "blogspot.com", "herokuapp.com", "amazonaws.com", "cloudfront.net",
    "azurewebsites.net", "appspot.com", "netlify.app", "vercel.app", "pages.dev",
    NULL,
};

/* FNV-1a over the lower-cased name. */
static size_t bg_psl_hash(const char *s, size_t n)
{
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)tolower((unsigned char)s[i]);
        h *= 1099511628211ull;
    }
    return h;
}

/* Find the slot for name (exact, case-insensitive) or the empty slot where
 * it would go. */
static bg_psl_slot *bg_psl_slot_for(const char *s, size_t n)
{
    size_t i = bg_psl_hash(s, n) & (bg_psl_cap - 1);
    for (;;) {
        bg_psl_slot *sl = &bg_psl_tab[i];
        if (!sl->name || (strlen(sl->name) == n && strncasecmp(sl->name, s, n) == 0))
            return sl;
        i = (i + 1) & (bg_psl_cap - 1);
    }
}

static int bg_psl_grow(void)
{
    size_t ncap = bg_psl_cap ? bg_psl_cap * 2 : 1024;
    bg_psl_slot *old = bg_psl_tab;
    size_t ocap = bg_psl_cap;
    bg_psl_slot *nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return -1;
    bg_psl_tab = nt;
    bg_psl_cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].name) {
            bg_psl_slot *sl = bg_psl_slot_for(old[i].name, strlen(old[i].name));
            *sl = old[i];
        }
    }
    free(old);
    return 0;
}

/* Add one rule line as written in the list ("co.uk", "*.ck", "!www.ck"). */
static int bg_psl_add_rule(const char *rule)
{
    unsigned flag = BG_PSL_NORMAL;
    if (rule[0] == '!') {
        flag = BG_PSL_EXCEPTION;
        rule++;
    } else if (rule[0] == '*' && rule[1] == '.') {
        flag = BG_PSL_WILDCARD;
        rule += 2;
    }
    size_t n = strlen(rule);
    if (n == 0 || n >= BG_PSL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)rule[i] >= 0x80 || rule[i] == '*')
            return 0; /* IDN or inner wildcard: not used for ASCII names */
    if ((bg_psl_used + 1) * 2 > bg_psl_cap && bg_psl_grow() < 0)
        return -1;
    bg_psl_slot *sl = bg_psl_slot_for(rule, n);
    if (!sl->name) {
        sl->name = strdup(rule);
        if (!sl->name)
            return -1;
        for (char *p = sl->name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        bg_psl_used++;
    }
    sl->flags |= flag;
    return 1;
}

void bg_psl_free(void)
{
    for (size_t i = 0; i < bg_psl_cap; i++)
        free(bg_psl_tab[i].name);
    free(bg_psl_tab);
    bg_psl_tab = NULL;
    bg_psl_cap = bg_psl_used = 0;
    bg_psl_src = "";
}

static void bg_psl_load_builtin(void)
{
    for (size_t i = 0; bg_psl_builtin[i]; i++)
        if (bg_psl_add_rule(bg_psl_builtin[i]) < 0)
            break;
    bg_psl_src = "builtin";
}

int bg_psl_load(const char *path)
{
    if (!path || !*path)
        path = BG_PSL_DEFAULT_PATH;
    bg_psl_free();
    FILE *f = fopen(path, "r");
    if (!f) {
        bg_logf(BG_LOG_WARN, "psl: cannot read %s; using the built-in suffix list", path);
        bg_psl_load_builtin();
        return -1;
    }
    char line[512];
    int count = 0, failed = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (p[0] == '/' && p[1] == '/')
            continue;
        size_t n = strcspn(p, " \t\r\n");
        p[n] = '\0';
        if (n == 0)
            continue;
        int r = bg_psl_add_rule(p);
        if (r < 0) {
            failed = 1;
            break;
        }
        count += r;
    }
    fclose(f);
    if (failed || count == 0) {
        bg_logf(BG_LOG_WARN, "psl: %s gave no usable rules; using the built-in suffix list",
                path);
        bg_psl_free();
        bg_psl_load_builtin();
        return -1;
    }
    bg_psl_src = "file";
    return count;
}

const char *bg_psl_source(void)
{
    if (!bg_psl_tab)
        bg_psl_load(NULL);
    return bg_psl_src;
}

static unsigned bg_psl_flags(const char *s, size_t n)
{
    if (!bg_psl_tab || n == 0)
        return 0;
    bg_psl_slot *sl = bg_psl_slot_for(s, n);
    return sl->name ? sl->flags : 0;
}

const char *bg_psl_org_domain(const char *name, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return "";
    out[0] = '\0';
    if (!name)
        return out;
    if (!bg_psl_tab)
        bg_psl_load(NULL);
    char d[BG_PSL_NAME_MAX];
    size_t n = strlen(name);
    while (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n >= sizeof d || n >= outlen)
        return out;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)tolower((unsigned char)name[i]);
    d[n] = '\0';

    /* label start offsets, left to right */
    size_t starts[128];
    size_t nl = 0;
    starts[nl++] = 0;
    for (size_t i = 0; i < n && nl < 128; i++)
        if (d[i] == '.')
            starts[nl++] = i + 1;

    size_t ps = starts[nl - 1]; /* implicit "*" rule: the last label */
    for (size_t k = 0; k < nl; k++) {
        const char *cand = d + starts[k];
        size_t clen = n - starts[k];
        unsigned f = bg_psl_flags(cand, clen);
        if (f & BG_PSL_EXCEPTION) {
            ps = k + 1 < nl ? starts[k + 1] : starts[k];
            break;
        }
        if (f & BG_PSL_NORMAL) {
            ps = starts[k];
            break;
        }
        if (k + 1 < nl && (bg_psl_flags(d + starts[k + 1], n - starts[k + 1]) & BG_PSL_WILDCARD)) {
            ps = starts[k];
            break;
        }
    }
    /* organisational domain: one label more than the public suffix */
    size_t org = ps;
    for (size_t k = 0; k < nl; k++)
        if (starts[k] == ps) {
            org = k > 0 ? starts[k - 1] : ps;
            break;
        }
    memcpy(out, d + org, n - org + 1);
    return out;
}

int bg_psl_aligned(const char *a, const char *b, int strict)
{
    if (!a || !b || !*a || !*b)
        return 0;
    size_t la = strlen(a), lb = strlen(b);
    while (la > 0 && a[la - 1] == '.')
        la--;
    while (lb > 0 && b[lb - 1] == '.')
        lb--;
    if (la == lb && strncasecmp(a, b, la) == 0)
        return 1;
    if (strict)
        return 0;
    char oa[BG_PSL_NAME_MAX], ob[BG_PSL_NAME_MAX];
    bg_psl_org_domain(a, oa, sizeof oa);
    bg_psl_org_domain(b, ob, sizeof ob);
    return oa[0] && strcmp(oa, ob) == 0;
}
