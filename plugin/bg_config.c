/* bg_config: parse the plugin's key = value config with [domain X] sections.
 *
 * Stored as a flat array of (section, key, value) in file order; lookups
 * scan it (a config has tens of lines, and lookups are per bounce, not per
 * byte). The last matching line wins.
 */
#include "bg_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_buf.h"
#include "bg_log.h"

#define BG_CONFIG_MAX_FILE (1024 * 1024)

typedef struct bg_config_entry {
    char *section; /* "" = global; ".example.com" = that domain and below */
    char *key;
    char *value;
    unsigned line; /* in the file (for bg_config_keys_check) */
} bg_config_entry;

struct bg_config {
    bg_config_entry *e;
    size_t n, cap;
};

bg_config *bg_config_new(void)
{
    return calloc(1, sizeof(bg_config));
}

void bg_config_free(bg_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].section);
        free(c->e[i].key);
        free(c->e[i].value);
    }
    free(c->e);
    free(c);
}

static char *bg_strndup_lower(const char *s, size_t n, int lower)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
    d[n] = '\0';
    return d;
}

static int bg_config_add(bg_config *c, const char *section, const char *k, size_t kl,
                         const char *v, size_t vl, unsigned line)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        bg_config_entry *e = realloc(c->e, cap * sizeof *e);
        if (!e)
            return -1;
        c->e = e;
        c->cap = cap;
    }
    bg_config_entry *e = &c->e[c->n];
    e->section = bg_strndup_lower(section, strlen(section), 1);
    e->key = bg_strndup_lower(k, kl, 1);
    e->value = bg_strndup_lower(v, vl, 0);
    if (!e->section || !e->key || !e->value) {
        free(e->section);
        free(e->key);
        free(e->value);
        return -1;
    }
    e->line = line;
    c->n++;
    return 0;
}

static void bg_trim(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

bg_config *bg_config_parse(const char *text, size_t len, const char *origin, char *err,
                           size_t errlen)
{
    bg_config *c = bg_config_new();
    if (!c) {
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", origin);
        return NULL;
    }
    char section[300] = "";
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p, *e = le;
        lineno++;
        p = nl ? nl + 1 : end;
        bg_trim(&s, &e);
        if (s == e || *s == '#' || *s == ';')
            continue;
        const char *why = NULL;
        if (*s == '[') {
            if (e[-1] != ']') {
                why = "unterminated section header";
            } else {
                const char *a = s + 1, *b = e - 1;
                bg_trim(&a, &b);
                if ((size_t)(b - a) > 7 && strncasecmp(a, "domain", 6) == 0 &&
                    isspace((unsigned char)a[6])) {
                    a += 7;
                    bg_trim(&a, &b);
                    if (b == a || (size_t)(b - a) >= sizeof section)
                        why = "bad domain in section header";
                    else {
                        memcpy(section, a, (size_t)(b - a));
                        section[b - a] = '\0';
                    }
                } else if ((size_t)(b - a) == 6 && strncasecmp(a, "global", 6) == 0) {
                    section[0] = '\0';
                } else {
                    why = "section must be [domain NAME] or [global]";
                }
            }
        } else {
            const char *eq = memchr(s, '=', (size_t)(e - s));
            if (!eq) {
                why = "expected 'key = value'";
            } else {
                const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
                bg_trim(&ks, &ke);
                bg_trim(&vs, &ve);
                if (ks == ke)
                    why = "empty key";
                for (const char *q = ks; !why && q < ke; q++)
                    if (!isalnum((unsigned char)*q) && *q != '_' && *q != '-' && *q != '.')
                        why = "bad character in key";
                if (!why && vs < ve && *vs == '"') {
                    if (ve - vs < 2 || ve[-1] != '"')
                        why = "unterminated quoted value";
                    else {
                        vs++;
                        ve--;
                    }
                }
                if (!why && bg_config_add(c, section, ks, (size_t)(ke - ks), vs,
                                          (size_t)(ve - vs), lineno) < 0)
                    why = "out of memory";
            }
        }
        if (why) {
            if (err && errlen)
                snprintf(err, errlen, "%s:%u: %s", origin, lineno, why);
            bg_config_free(c);
            return NULL;
        }
    }
    return c;
}

bg_config *bg_config_load(const char *path, char *err, size_t errlen)
{
    bg_buf b;
    bg_buf_init(&b);
    const char *why;
    int r = bg_buf_read_file(&b, path, BG_CONFIG_MAX_FILE, &why);
    if (r < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s%s", path, r == -1 ? "cannot open: " : "",
                     r == -3 ? "file too large (over 1 MiB)" : why);
        bg_buf_free(&b);
        return NULL;
    }
    bg_config *c = bg_config_parse(bg_buf_str(&b), b.len, path, err, errlen);
    bg_buf_free(&b);
    return c;
}

/* How well a section matches a domain: 0 = no, else a specificity score. */
static size_t bg_section_match(const char *section, const char *domain)
{
    if (!section[0])
        return 1;
    if (!domain || !domain[0])
        return 0;
    size_t sl = strlen(section), dl = strlen(domain);
    if (section[0] == '.') {
        /* ".example.com" matches example.com and any subdomain */
        if (dl == sl - 1 && strcasecmp(domain, section + 1) == 0)
            return 2 + sl;
        if (dl > sl && strcasecmp(domain + dl - sl, section) == 0)
            return 2 + sl;
        return 0;
    }
    return strcasecmp(section, domain) == 0 ? 3 + sl : 0;
}

const char *bg_config_get(const bg_config *c, const char *domain, const char *key,
                          const char *dflt)
{
    if (!c)
        return dflt;
    const char *best = NULL;
    size_t best_score = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (strcasecmp(c->e[i].key, key) != 0)
            continue;
        size_t s = bg_section_match(c->e[i].section, domain);
        if (s && s >= best_score) {
            best = c->e[i].value;
            best_score = s;
        }
    }
    return best ? best : dflt;
}

int bg_config_parse_num(const char *s, long long *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno)
        return -1;
    long long mul = 1;
    switch (tolower((unsigned char)*end)) {
    case '\0': break;
    case 'k': mul = 1024; break;
    case 'm': mul = 1024 * 1024; break; /* 'm' is MiB for sizes; use "min" for minutes */
    case 'g': mul = 1024LL * 1024 * 1024; break;
    case 's': mul = 1; break;
    case 'h': mul = 3600; break;
    case 'd': mul = 86400; break;
    case 'w': mul = 7 * 86400; break;
    default: return -1;
    }
    if (*end) {
        end++;
        if (mul == 1024 * 1024 && strncasecmp(end - 1, "min", 3) == 0) {
            mul = 60;
            end += 2;
        }
        if (tolower((unsigned char)end[-1]) == 'k' || tolower((unsigned char)end[-1]) == 'm' ||
            tolower((unsigned char)end[-1]) == 'g') {
            if (*end == 'b' || *end == 'B')
                end++;
        }
    }
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -1;
    if (v > 0 && mul > 1 && v > (long long)(9.2e18 / (double)mul))
        return -1;
    *out = v * mul;
    return 0;
}

long long bg_config_get_num(const bg_config *c, const char *domain, const char *key,
                            long long dflt)
{
    const char *v = bg_config_get(c, domain, key, NULL);
    if (!v)
        return dflt;
    long long n;
    if (bg_config_parse_num(v, &n) < 0) {
        bg_logf(BG_LOG_WARN, "config: %s = \"%.80s\" is not a number; using %lld", key, v,
                dflt);
        return dflt;
    }
    return n;
}

int bg_config_get_bool(const bg_config *c, const char *domain, const char *key, int dflt)
{
    const char *v = bg_config_get(c, domain, key, NULL);
    if (!v)
        return dflt;
    static const char *const yes[] = {"yes", "true", "on", "1", NULL};
    static const char *const no[] = {"no", "false", "off", "0", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    bg_logf(BG_LOG_WARN, "config: %s = \"%.80s\" is not yes/no; using %s", key, v,
            dflt ? "yes" : "no");
    return dflt;
}

size_t bg_config_domains(const bg_config *c, void (*fn)(const char *domain, void *ctx),
                         void *ctx)
{
    size_t count = 0;
    if (!c)
        return 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->e[i].section[0])
            continue;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(c->e[j].section, c->e[i].section) == 0;
        if (seen)
            continue;
        count++;
        if (fn)
            fn(c->e[i].section, ctx);
    }
    return count;
}

size_t bg_config_entries(const bg_config *c, bg_config_entry_fn fn, void *ctx)
{
    if (!c)
        return 0;
    for (size_t i = 0; i < c->n && fn; i++)
        fn(c->e[i].section, c->e[i].key, c->e[i].value, c->e[i].line, ctx);
    return c->n;
}
