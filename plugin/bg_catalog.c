/* bg_catalog: the guidance texts, built in and overridable.
 *
 * The built-in catalogue (conf/guidance/LANG.conf, compiled in) is the
 * prototype; an administrator's file of the same syntax replaces single
 * keys. A broken or missing override logs one line and is ignored, so a bad
 * admin file never stops mail (Postfix's bounce templates behave the same).
 * This module knows nothing about bounces: it stores lines and fills
 * placeholders. Syntax: see the top of conf/guidance/en.conf.
 */
#include "bg_catalog.h"
#include "bg_catalog_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bg_catalog_check.h"
#include "bg_embedded.h"
#include "bg_log.h"

#define BG_CAT_LINE_MAX 4096    /* one text line, continuations included */
#define BG_CAT_FILE_MAX (1u << 20)

/* Placeholders a catalogue may name (anything else is a syntax error, so a
 * typo in an override is caught at load time, not shown to users). */
static const char *const bg_catalog_placeholders[] = {
    "recipient", "domain",       "code",         "reply_code",  "remote_mta",
    "organisation", "helpdesk",  "retry_until",  "sender_domain", "subject",
    "reason",    "category",     "rule",         "count",       "dkim_domain",
    "dkim_selector", "first_recipient",
    "more", "tried_for", "tried_since", "n", /* timing (classify) and duration_* counts */
    "day", "month", "year", "time", /* date and date_time (bg_catalog_fmt) */
    "label", /* label_colon */
    /* the suppression row behind a suppressed-here refusal (bg_exim_store.c) */
    "suppressed_since", "suppressed_until", "suppressed_reply", "suppressed_category",
    "lift_command", NULL,
};

/* Placeholders of the authentication diagnosis (section [auth], filled by
 * bg_auth_words from the findings of bg_auth_build). */
static const char *const bg_catalog_auth_placeholders[] = {
    "ms", "ip", "ip_source", "local_ip", "addr_class", "smarthost", "topo_source",
    "configtype", "name_class", "from_domain", "helo", "spf_result", "record",
    "mechanism", "why", "detail", "mech", "hint_ip", "record_domain", "p", "sp", "adkim",
    "aspf", "pct", "align_rule", "policy", "pass_how", "key_name", "key_type", "key_bits",
    "sign_domain", "sign_selector", "sign_source", "ptr_name", "rr_type", NULL,
};

typedef struct bg_cat_key {
    char name[BG_CAT_NAME_MAX];
    char **lines;
    size_t n, cap;
} bg_cat_key;

typedef struct bg_cat_section {
    char name[BG_CAT_NAME_MAX];
    bg_cat_key *keys;
    size_t n, cap;
} bg_cat_section;

/* Where one [section] of an unparsed text starts and ends. */
typedef struct bg_cat_range {
    char name[BG_CAT_NAME_MAX];
    size_t start, end;
    int done;
} bg_cat_range;

/* Parsed sections, and for a lazy catalogue the text they come from: the
 * built-in text is parsed a section at a time, on first lookup, because
 * Exim runs the plugin in a fresh process for every bounce, which needs
 * two or three of the ~40 sections (parsing all of them was most of the
 * cost of loading). Lookups fill the catalogue in: like Exim itself, one
 * thread per catalogue. */
struct bg_catalog {
    bg_cat_section *s;
    size_t n, cap;
    const char *lazy; /* NULL = fully parsed */
    const char *lazy_origin;
    bg_cat_range *rng;
    size_t nrng, caprng;
};

/* Grow an array of elem-sized items to hold one more. */
static int bg_cat_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return -1;
    memset((char *)p + *cap * elem, 0, (nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return 0;
}

/* Drop the lines of a key (an override replaces them all). */
static void bg_cat_key_clear(bg_cat_key *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->lines[i]);
    free(k->lines);
    k->lines = NULL;
    k->n = k->cap = 0;
}

/* Free a catalogue; NULL is fine. */
void bg_catalog_free(bg_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        for (size_t j = 0; j < c->s[i].n; j++)
            bg_cat_key_clear(&c->s[i].keys[j]);
        free(c->s[i].keys);
    }
    free(c->s);
    free(c->rng);
    free(c);
}

static int bg_cat_parse_into(bg_catalog *c, const char *text, size_t len, const char *origin,
                             char *err, size_t errlen);
static bg_cat_section *bg_cat_find_raw(const bg_catalog *c, const char *name);
static void bg_cat_trim(const char **s, size_t *n);

/* Parse the not yet parsed ranges of a lazy catalogue named name (NULL:
 * all of them); when all are done the catalogue is an ordinary one. A
 * range that does not parse (the built-in text is tested, so only memory
 * running out) is left out with one log line. */
static void bg_cat_lazy_load(const bg_catalog *cc, const char *name)
{
    bg_catalog *c = (bg_catalog *)cc; /* filling in is not a visible change */
    if (!c->lazy)
        return;
    int left = 0;
    for (size_t i = 0; i < c->nrng; i++) {
        bg_cat_range *r = &c->rng[i];
        if (r->done || (name && strcmp(r->name, name) != 0)) {
            left |= !r->done;
            continue;
        }
        char err[300];
        r->done = 1;
        if (bg_cat_parse_into(c, c->lazy + r->start, r->end - r->start, c->lazy_origin, err,
                              sizeof err) < 0)
            bg_logf(BG_LOG_ERROR, "guidance: built-in catalogue: %s", err);
    }
    if (!left) {
        c->lazy = NULL;
        free(c->rng);
        c->rng = NULL;
        c->nrng = c->caprng = 0;
    }
}

uint64_t bg_catalog_hash(const char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Sections start at lines beginning with '['; each runs to the next. */
int bg_catalog_sections_of(const char *text, size_t len,
                           int (*fn)(const char *name, size_t start, size_t end, void *ctx),
                           void *ctx)
{
    char name[BG_CAT_NAME_MAX] = "";
    size_t pos = 0, start = 0;
    int have = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        const char *close = n > 2 && line[0] == '[' ? memchr(line, ']', n) : NULL;
        if (close) {
            if (have && fn(name, start, pos, ctx) < 0)
                return -1;
            const char *nm = line + 1;
            size_t nn = (size_t)(close - nm);
            bg_cat_trim(&nm, &nn);
            snprintf(name, sizeof name, "%.*s", (int)(nn < BG_CAT_NAME_MAX ? nn : 0), nm);
            start = pos;
            have = 1;
        }
        pos += n + (nl ? 1 : 0);
    }
    return have ? fn(name, start, len, ctx) : 0;
}

/* Add one range to a lazy catalogue. */
static int bg_cat_add_range(const char *name, size_t start, size_t end, void *ctx)
{
    bg_catalog *c = ctx;
    if (bg_cat_grow((void **)&c->rng, &c->caprng, c->nrng, sizeof *c->rng) < 0)
        return -1;
    bg_cat_range *r = &c->rng[c->nrng++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->start = start;
    r->end = end;
    return 0;
}

/* The build's facts about a compiled-in catalogue, or NULL. */
static const bg_catalog_image *bg_cat_image(const char *name)
{
    if (bg_catalog_images == NULL)
        return NULL;
    for (const bg_catalog_image *im = bg_catalog_images; im->name; im++)
        if (strcmp(im->name, name) == 0)
            return im;
    return NULL;
}

/* A lazy catalogue over text (which must outlive it): only the index of
 * its sections is made now -- taken from the build's image when im is
 * given, else found by one pass over the text. NULL when memory runs out. */
static bg_catalog *bg_cat_lazy_new(const char *text, size_t len, const bg_catalog_image *im,
                                   const char *origin)
{
    bg_catalog *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->lazy = text;
    c->lazy_origin = origin;
    int rc = 0;
    if (im) {
        for (size_t i = 0; i < im->nsec && rc == 0; i++)
            rc = bg_cat_add_range(im->sec[i].name, im->sec[i].start, im->sec[i].end, c);
    } else {
        rc = bg_catalog_sections_of(text, len, bg_cat_add_range, c);
    }
    if (rc < 0) {
        bg_catalog_free(c);
        return NULL;
    }
    return c;
}

/* A section by name, NULL when absent; parsed first if the catalogue is
 * lazy. A parsed section of a lazy catalogue means all of its ranges are
 * in (bg_cat_lazy_load takes every range of a name at once), so a found
 * section needs no walk over the ~40 ranges: the renderer asks for the
 * same few sections a hundred times per bounce. */
static bg_cat_section *bg_cat_find_section(const bg_catalog *c, const char *name)
{
    bg_cat_section *s = bg_cat_find_raw(c, name);
    if (s != NULL || c->lazy == NULL)
        return s;
    bg_cat_lazy_load(c, name);
    return bg_cat_find_raw(c, name);
}

/* A parsed section by name, NULL when absent (few sections: a linear scan is cheapest). */
static bg_cat_section *bg_cat_find_raw(const bg_catalog *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->s[i].name, name) == 0)
            return &c->s[i];
    return NULL;
}

/* A key of a section, NULL when absent. */
static bg_cat_key *bg_cat_find_key(const bg_cat_section *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].name, name) == 0)
            return &s->keys[i];
    return NULL;
}

/* Find or add a section. */
static bg_cat_section *bg_cat_section_get(bg_catalog *c, const char *name)
{
    bg_cat_section *s = bg_cat_find_raw(c, name);
    if (s)
        return s;
    if (bg_cat_grow((void **)&c->s, &c->cap, c->n, sizeof *c->s) < 0)
        return NULL;
    s = &c->s[c->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

/* Find or add a key. */
static bg_cat_key *bg_cat_key_get(bg_cat_section *s, const char *name)
{
    bg_cat_key *k = bg_cat_find_key(s, name);
    if (k)
        return k;
    if (bg_cat_grow((void **)&s->keys, &s->cap, s->n, sizeof *s->keys) < 0)
        return NULL;
    k = &s->keys[s->n++];
    snprintf(k->name, sizeof k->name, "%s", name);
    return k;
}

/* Append one text line to a key. */
static int bg_cat_key_add(bg_cat_key *k, const char *line, size_t len)
{
    if (bg_cat_grow((void **)&k->lines, &k->cap, k->n, sizeof *k->lines) < 0)
        return -1;
    char *p = malloc(len + 1);
    if (!p)
        return -1;
    memcpy(p, line, len);
    p[len] = '\0';
    k->lines[k->n++] = p;
    return 0;
}

/* Length of a known placeholder name at s (after '{' and up to '}'), 0 if
 * s does not start one. */
static size_t bg_cat_placeholder(const char *s, size_t avail)
{
    static const char *const *const lists[] = {bg_catalog_placeholders,
                                               bg_catalog_auth_placeholders};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (size_t i = 0; lists[l][i]; i++) {
            size_t n = strlen(lists[l][i]);
            if (n < avail && memcmp(s, lists[l][i], n) == 0 && s[n] == '}')
                return n;
        }
    return 0;
}

/* Check a text line's placeholders; 0 or -1 with the reason in why. */
static int bg_cat_check_line(const char *s, size_t len, char *why, size_t whylen)
{
    for (size_t i = 0; i < len; i++) {
        /* control characters would reach the HTML part as markup markers */
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t') {
            snprintf(why, whylen, "control character 0x%02x in a text", (unsigned char)s[i]);
            return -1;
        }
        if (s[i] != '{')
            continue;
        if (i + 1 < len && s[i + 1] == '{') {
            i++;
            continue;
        }
        size_t n = bg_cat_placeholder(s + i + 1, len - i - 1);
        if (!n) {
            size_t e = i + 1;
            while (e < len && e - i < 24 && s[e] != '}' && s[e] != ' ')
                e++;
            snprintf(why, whylen, "unknown placeholder '%.*s' (write {{ for a brace)",
                     (int)(e - i + (e < len && s[e] == '}')), s + i);
            return -1;
        }
        i += n + 1;
    }
    return 0;
}

/* Section and key names: lower-case letters, digits, - and _. */
static int bg_cat_name_ok(const char *s, size_t len)
{
    if (len == 0 || len >= BG_CAT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
              s[i] == '_'))
            return 0;
    return 1;
}

/* The four values of "acts" (who has to act). */
static int bg_cat_acts_ok(const char *v)
{
    return strcmp(v, "sender") == 0 || strcmp(v, "recipient") == 0 ||
           strcmp(v, "admin") == 0 || strcmp(v, "nobody") == 0;
}

/* One logical line (with continuations joined) under construction. */
typedef struct bg_cat_pending {
    bg_cat_key *key;
    char text[BG_CAT_LINE_MAX];
    size_t len;
    unsigned lineno;
    int active;
} bg_cat_pending;

/* Store a finished logical line after checking it. */
static int bg_cat_flush(bg_cat_pending *p, const char *origin, char *err, size_t errlen)
{
    if (!p->active)
        return 0;
    p->active = 0;
    char why[160];
    if (bg_cat_check_line(p->text, p->len, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s:%u: %s", origin, p->lineno, why);
        return -1;
    }
    p->text[p->len] = '\0';
    if (strcmp(p->key->name, "acts") == 0 && !bg_cat_acts_ok(p->text)) {
        snprintf(err, errlen, "%s:%u: acts must be sender, recipient, admin or nobody", origin,
                 p->lineno);
        return -1;
    }
    if (bg_cat_key_add(p->key, p->text, p->len) < 0) {
        snprintf(err, errlen, "%s: out of memory", origin);
        return -1;
    }
    return 0;
}

/* Append text to the pending line, one blank between pieces. */
static int bg_cat_append(bg_cat_pending *p, const char *s, size_t n, const char *origin,
                         unsigned lineno, char *err, size_t errlen)
{
    if (p->len && n && p->len + 1 < sizeof p->text)
        p->text[p->len++] = ' ';
    if (p->len + n >= sizeof p->text) {
        snprintf(err, errlen, "%s:%u: text longer than %d bytes", origin, lineno,
                 BG_CAT_LINE_MAX - 1);
        return -1;
    }
    memcpy(p->text + p->len, s, n);
    p->len += n;
    return 0;
}

/* Trim blanks (and a CR) at both ends of a slice. */
static void bg_cat_trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

/* Parse text into c (a fresh catalogue). Keys seen are recorded in seen
 * (same shape) when not NULL, so an override replaces whole keys. */
static int bg_cat_parse_into(bg_catalog *c, const char *text, size_t len, const char *origin,
                             char *err, size_t errlen)
{
    bg_cat_section *sec = NULL;
    bg_cat_pending *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "%s: out of memory", origin);
        return -1;
    }
    unsigned lineno = 0;
    size_t pos = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n && line[n - 1] == '\r')
            n--;
        if (memchr(line, '\0', n)) {
            snprintf(err, errlen, "%s:%u: NUL byte", origin, lineno);
            rc = -1;
            break;
        }
        int cont = n && (line[0] == ' ' || line[0] == '\t');
        const char *s = line;
        size_t sn = n;
        bg_cat_trim(&s, &sn);
        if (sn == 0) { /* a blank line ends a continuation */
            rc = bg_cat_flush(p, origin, err, errlen);
            continue;
        }
        if (line[0] == '#')
            continue;
        if (cont) {
            if (!p->active) {
                snprintf(err, errlen, "%s:%u: continuation line without a key", origin, lineno);
                rc = -1;
                break;
            }
            rc = bg_cat_append(p, s, sn, origin, lineno, err, errlen);
            continue;
        }
        if ((rc = bg_cat_flush(p, origin, err, errlen)) != 0)
            break;
        if (s[0] == '[') {
            if (s[sn - 1] != ']') {
                snprintf(err, errlen, "%s:%u: unterminated section header", origin, lineno);
                rc = -1;
                break;
            }
            const char *nm = s + 1;
            size_t nn = sn - 2;
            bg_cat_trim(&nm, &nn);
            if (!bg_cat_name_ok(nm, nn)) {
                snprintf(err, errlen, "%s:%u: bad section name", origin, lineno);
                rc = -1;
                break;
            }
            char name[BG_CAT_NAME_MAX];
            snprintf(name, sizeof name, "%.*s", (int)nn, nm);
            if (!(sec = bg_cat_section_get(c, name))) {
                snprintf(err, errlen, "%s: out of memory", origin);
                rc = -1;
            }
            continue;
        }
        const char *eq = memchr(s, '=', sn);
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected 'key = text'", origin, lineno);
            rc = -1;
            break;
        }
        if (!sec) {
            snprintf(err, errlen, "%s:%u: key before the first [section]", origin, lineno);
            rc = -1;
            break;
        }
        const char *k = s;
        size_t kn = (size_t)(eq - s);
        bg_cat_trim(&k, &kn);
        if (!bg_cat_name_ok(k, kn)) {
            snprintf(err, errlen, "%s:%u: bad key name", origin, lineno);
            rc = -1;
            break;
        }
        char kname[BG_CAT_NAME_MAX];
        snprintf(kname, sizeof kname, "%.*s", (int)kn, k);
        const char *v = eq + 1;
        size_t vn = sn - (size_t)(eq + 1 - s);
        bg_cat_trim(&v, &vn);
        if (!(p->key = bg_cat_key_get(sec, kname))) {
            snprintf(err, errlen, "%s: out of memory", origin);
            rc = -1;
            break;
        }
        p->active = 1;
        p->len = 0;
        p->lineno = lineno;
        rc = bg_cat_append(p, v, vn, origin, lineno, err, errlen);
    }
    if (rc == 0)
        rc = bg_cat_flush(p, origin, err, errlen);
    free(p);
    return rc;
}

/* Copy every line of src into dst, replacing whole keys. */
static int bg_cat_merge(bg_catalog *dst, const bg_catalog *src)
{
    bg_cat_lazy_load(src, NULL);
    for (size_t i = 0; i < src->n; i++) {
        bg_cat_section *ds = bg_cat_section_get(dst, src->s[i].name);
        if (!ds)
            return -1;
        for (size_t j = 0; j < src->s[i].n; j++) {
            const bg_cat_key *sk = &src->s[i].keys[j];
            bg_cat_key *dk = bg_cat_key_get(ds, sk->name);
            if (!dk)
                return -1;
            bg_cat_key_clear(dk);
            for (size_t l = 0; l < sk->n; l++)
                if (bg_cat_key_add(dk, sk->lines[l], strlen(sk->lines[l])) < 0)
                    return -1;
        }
    }
    return 0;
}

/* Parse text alone, or on top of base (override semantics: whole keys). */
bg_catalog *bg_catalog_parse(const bg_catalog *base, const char *text, size_t len,
                             const char *origin, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    bg_catalog *mine = calloc(1, sizeof *mine);
    if (!mine) {
        snprintf(err, errlen, "%s: out of memory", origin);
        return NULL;
    }
    if (bg_cat_parse_into(mine, text, len, origin, err, errlen) < 0) {
        bg_catalog_free(mine);
        return NULL;
    }
    if (!base)
        return mine;
    bg_catalog *out = calloc(1, sizeof *out);
    if (!out || bg_cat_merge(out, base) < 0 || bg_cat_merge(out, mine) < 0) {
        snprintf(err, errlen, "%s: out of memory", origin);
        bg_catalog_free(out);
        bg_catalog_free(mine);
        return NULL;
    }
    bg_catalog_free(mine);
    return out;
}

/* Read a whole small file; NULL with err filled. */
static char *bg_cat_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    bg_buf b;
    bg_buf_init(&b);
    const char *why;
    int r = bg_buf_read_file(&b, path, BG_CAT_FILE_MAX, &why);
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", path, r == -3 ? "larger than 1 MiB" : why);
        bg_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return bg_buf_take(&b);
}

/* One warning per problem bg_catalog_check finds in an override (unknown
 * sections and keys, texts that could never show), at most 8. */
typedef struct bg_cat_warn_ctx {
    const char *path;
    size_t n;
} bg_cat_warn_ctx;

static void bg_cat_warn_one(const char *where, const char *problem, void *ctx)
{
    bg_cat_warn_ctx *w = ctx;
    if (w->n++ < 8)
        bg_logf(BG_LOG_WARN, "guidance override %.300s: %s: %s", w->path, where, problem);
}

static void bg_cat_warn_unknown(const char *path, const bg_catalog *ov)
{
    if (!ov)
        return;
    bg_cat_warn_ctx w = {path, 0};
    bg_catalog_check(ov, 0, bg_cat_warn_one, &w);
    if (w.n > 8)
        bg_logf(BG_LOG_WARN, "guidance override %.300s: %zu more problems (bounceguide guidance "
                             "check)", path, w.n - 8);
}

/* Entries from the admin override on top of c; a bad override logs one
 * line and is ignored, so mail keeps flowing with the catalogue's text. */
static bg_catalog *bg_cat_apply_override(bg_catalog *c, const char *override_path)
{
    if (!override_path || !*override_path)
        return c;
    char err[512];
    size_t len = 0;
    char *ov = bg_cat_read_file(override_path, &len, err, sizeof err);
    bg_catalog *m = ov ? bg_catalog_parse(c, ov, len, override_path, err, sizeof err) : NULL;
    bg_catalog *ov_cat = m ? bg_catalog_parse(NULL, ov, len, override_path, NULL, 0) : NULL;
    free(ov);
    if (!m) {
        bg_logf(BG_LOG_WARN, "guidance override ignored, built-in texts used: %s", err);
        return c;
    }
    bg_catalog_free(c);
    /* a misspelt section or key would be ignored without a word: say so */
    bg_cat_warn_unknown(override_path, ov_cat);
    bg_catalog_free(ov_cat);
    return m;
}

/* Built-in catalogue for lang, then the admin override. */
bg_catalog *bg_catalog_load(const char *lang, const char *override_path)
{
    char name[64], err[512];
    if (!lang || !*lang)
        lang = "en";
    snprintf(name, sizeof name, "guidance/%s.conf", lang);
    const char *text = strlen(lang) < 16 ? bg_embedded(name) : NULL;
    if (!text) {
        bg_logf(BG_LOG_WARN, "guidance: no built-in catalogue for language '%.16s', using en",
                lang);
        text = bg_embedded("guidance/en.conf");
        snprintf(name, sizeof name, "guidance/en.conf");
    }
    bg_catalog *c = NULL;
    const bg_catalog_image *im = text ? bg_cat_image(name) : NULL;
    if (text)
        c = bg_cat_lazy_new(text, im ? im->len : strlen(text), im, "guidance (built-in)");
    if (!c) {
        /* The built-in text is tested; this means memory ran out (or a
         * build without the catalogue): an empty catalogue still works. */
        if (text)
            bg_logf(BG_LOG_ERROR, "guidance: built-in catalogue: %s", err);
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
    }
    return bg_cat_apply_override(c, override_path);
}

/* 1 when lang is a plain language tag ("en", "pt-BR"): it becomes part
 * of a path. */
static int bg_cat_lang_ok(const char *lang)
{
    size_t n = strlen(lang);
    if (n == 0 || n > 15)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((lang[i] >= 'a' && lang[i] <= 'z') || (lang[i] >= 'A' && lang[i] <= 'Z') ||
              (lang[i] >= '0' && lang[i] <= '9') || lang[i] == '-' || lang[i] == '_'))
            return 0;
    return 1;
}

/* A catalogue exists for lang (installed under data_dir, or built in). */
int bg_catalog_available(const char *data_dir, const char *lang)
{
    if (!lang || !bg_cat_lang_ok(lang))
        return 0;
    char path[4200];
    if (!data_dir || !*data_dir) {
        snprintf(path, sizeof path, "guidance/%s.conf", lang);
        return bg_embedded(path) != NULL;
    }
    snprintf(path, sizeof path, "%s/guidance/%s.conf", data_dir, lang);
    return access(path, R_OK) == 0;
}

/* The installed catalogue for lang (English when lang has none), then the
 * override; NULL with err when there is no usable catalogue at all. */
bg_catalog *bg_catalog_load_dir(const char *data_dir, const char *lang, const char *override_path,
                                char *err, size_t errlen)
{
    char e[512] = "";
    if (!data_dir || !*data_dir)
        return bg_catalog_load(lang, override_path);
    if (!lang || !*lang)
        lang = "en";
    char path[4200];
    size_t len = 0;
    char *text = NULL;
    if (bg_cat_lang_ok(lang)) {
        snprintf(path, sizeof path, "%s/guidance/%s.conf", data_dir, lang);
        text = bg_cat_read_file(path, &len, e, sizeof e);
    }
    if (!text && strcmp(lang, "en") != 0) {
        bg_logf(BG_LOG_WARN, "guidance: no catalogue for language '%.16s' in %.300s, using en",
                lang, data_dir);
        snprintf(path, sizeof path, "%s/guidance/en.conf", data_dir);
        text = bg_cat_read_file(path, &len, e, sizeof e);
    }
    if (!text) {
        if (err && errlen)
            snprintf(err, errlen, "catalogue missing: %s", e);
        return NULL;
    }
    /* the installed copy of a compiled-in catalogue (same length and
     * hash): use the compiled-in text, which loads lazily */
    char ename[64];
    snprintf(ename, sizeof ename, "guidance/%s", strrchr(path, '/') + 1);
    const bg_catalog_image *im = strlen(ename) < sizeof ename - 1 ? bg_cat_image(ename) : NULL;
    const char *emb = im ? bg_embedded(ename) : NULL;
    if (emb && im->len == len && im->hash == bg_catalog_hash(text, len)) {
        free(text);
        bg_catalog *c = bg_cat_lazy_new(emb, len, im, "guidance (built-in)");
        if (!c) {
            if (err && errlen)
                snprintf(err, errlen, "catalogue: out of memory");
            return NULL;
        }
        return bg_cat_apply_override(c, override_path);
    }
    bg_catalog *c = bg_catalog_parse(NULL, text, len, path, e, sizeof e);
    free(text);
    if (!c) {
        if (err && errlen)
            snprintf(err, errlen, "catalogue broken: %s", e);
        return NULL;
    }
    return bg_cat_apply_override(c, override_path);
}

/* Lines of a key, from the section or else from [common]. */
size_t bg_catalog_lines(const bg_catalog *c, const char *section, const char *key,
                        const char *const **lines)
{
    *lines = NULL;
    if (!c)
        return 0;
    const bg_cat_section *s = section ? bg_cat_find_section(c, section) : NULL;
    const bg_cat_key *k = s ? bg_cat_find_key(s, key) : NULL;
    if (!k || k->n == 0) {
        s = bg_cat_find_section(c, "common");
        k = s ? bg_cat_find_key(s, key) : NULL;
    }
    if (!k)
        return 0;
    *lines = (const char *const *)k->lines;
    return k->n;
}

/* Whether the catalogue has a section of that name. */
int bg_catalog_has_section(const bg_catalog *c, const char *section)
{
    return c && bg_cat_find_section(c, section) != NULL;
}

/* Whether the section itself defines the key (no [common] fallback). */
int bg_catalog_has(const bg_catalog *c, const char *section, const char *key)
{
    const bg_cat_section *s = c ? bg_cat_find_section(c, section) : NULL;
    const bg_cat_key *k = s ? bg_cat_find_key(s, key) : NULL;
    return k && k->n > 0;
}

/* The value of placeholder name[0..n) in vars, NULL when unknown. */
static const char *bg_cat_var(const bg_catalog_var *vars, const char *name, size_t n)
{
    for (size_t i = 0; vars && vars[i].name; i++)
        if (strlen(vars[i].name) == n && memcmp(vars[i].name, name, n) == 0)
            return vars[i].value;
    return NULL;
}

/* Fill placeholders; a line naming an empty one is dropped (returns 0). */
int bg_catalog_expand(const char *line, const bg_catalog_var *vars, bg_buf *out)
{
    size_t mark = out->len;
    for (const char *s = line; *s; s++) {
        if (*s != '{') {
            size_t run = strcspn(s, "{");
            bg_buf_add(out, s, run);
            s += run - 1;
            continue;
        }
        if (s[1] == '{') {
            bg_buf_addc(out, '{');
            s++;
            continue;
        }
        const char *end = strchr(s, '}');
        const char *v = end ? bg_cat_var(vars, s + 1, (size_t)(end - s - 1)) : NULL;
        if (!v || !*v) {
            if (out->p && !out->failed) {
                out->len = mark;
                out->p[mark] = '\0';
            }
            return 0;
        }
        bg_buf_adds(out, v);
        s = end;
    }
    return 1;
}

/* The first line of a key that expands (single-text keys). */
int bg_catalog_text(const bg_catalog *c, const char *section, const char *key,
                    const bg_catalog_var *vars, bg_buf *out)
{
    const char *const *lines;
    size_t n = bg_catalog_lines(c, section, key, &lines);
    for (size_t i = 0; i < n; i++)
        if (bg_catalog_expand(lines[i], vars, out))
            return 1;
    return 0;
}

/* Every key of every section, in order. */
void bg_catalog_each(const bg_catalog *c,
                     void (*fn)(const char *section, const char *key, const char *const *lines,
                                size_t n, void *ctx),
                     void *ctx)
{
    if (!c)
        return;
    bg_cat_lazy_load(c, NULL);
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->s[i].n; j++)
            fn(c->s[i].name, c->s[i].keys[j].name, (const char *const *)c->s[i].keys[j].lines,
               c->s[i].keys[j].n, ctx);
}

/* Number of sections, for the coverage test. */
size_t bg_catalog_sections(const bg_catalog *c)
{
    if (c)
        bg_cat_lazy_load(c, NULL);
    return c ? c->n : 0;
}
