/* bg_catalog_check: names and placeholders of a catalogue against what the
 * renderer reads (see bg_catalog_check.h).
 *
 * The reference is the built-in English catalogue: a section or key it has
 * is known, so keys added there by other modules ([auth], new [common]
 * labels) need no change here. On top of it, the keys any category may
 * have, and the [common] keys a category may replace. The tables below are
 * data; the walk is bg_catalog_each.
 */
#include "bg_catalog_check.h"

#include <stdio.h>
#include <string.h>

#include "bg_category.h"

/* Keys a category section may have (also allowed in [common], which gives
 * their defaults). */
static const char *const bg_cc_category_keys[] = {
    "subject", "headline", "delay_headline", "happened", "delay_happened",
    "do",      "delay_do", "acts",           "admin",    NULL,
};

/* [common] keys looked up with a recipient: a category may replace them. */
static const char *const bg_cc_rcpt_common_keys[] = {
    "same_as",         "delay_note",      "acts_sender",     "acts_recipient",
    "acts_admin",      "acts_nobody",     "acts_nobody_failed", "subject_failure",
    "subject_several", "subject_mixed",   "subject_delay",   NULL,
};

/* Placeholders that belong to one recipient: a [common] text shown
 * without a recipient (intro, labels, summary, footer, ...) never has them. */
static const char *const bg_cc_rcpt_placeholders[] = {
    "recipient", "domain", "code", "reply_code", "remote_mta", "retry_until",
    "category",  "rule",   "first_recipient", NULL,
};

/* [common] keys the renderer words by itself (bg_catalog_fmt, the text
 * part's labels): the only placeholders each can have, blank-separated.
 * Those placeholders have a value nowhere else. */
static const struct {
    const char *key, *vars;
} bg_cc_word_keys[] = {
    {"duration_under_minute", ""},
    {"duration_minute", "n"},     {"duration_minutes", "n"},
    {"duration_hour", "n"},       {"duration_hours", "n"},
    {"duration_day", "n"},        {"duration_days", "n"},
    {"date", "day month year"},   {"date_time", "day month year time"},
    {"date_day_one", ""},         {"date_month", ""},
    {"label_colon", "label"},     {NULL, NULL},
};
static const char *const bg_cc_word_placeholders[] = {"n", "day", "month", "year", "time",
                                                      "label", NULL};
#define BG_CC_MONTHS 12

typedef struct bg_cc {
    const bg_catalog *ref; /* the built-in English catalogue */
    const bg_catalog *c;
    int full;
    bg_catalog_check_fn fn;
    void *ctx;
    size_t n;
} bg_cc;

static int bg_cc_in(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* Report one problem. */
static void bg_cc_report(bg_cc *k, const char *section, const char *key, const char *fmt,
                         const char *a, const char *b)
{
    char where[128], what[400];
    if (key)
        snprintf(where, sizeof where, "[%s] %s", section, key);
    else
        snprintf(where, sizeof where, "[%s]", section);
    snprintf(what, sizeof what, fmt, a ? a : "", b ? b : "");
    k->n++;
    if (k->fn)
        k->fn(where, what, k->ctx);
}

/* Edit distance of two short names, capped at 3 (a near miss is 1 or 2). */
static unsigned bg_cc_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 47 || lb > 47 || (la > lb ? la - lb : lb - la) > 2)
        return 3;
    unsigned d[48][48];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            unsigned best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1; /* a swap of two letters */
            d[i][j] = best;
        }
    return d[la][lb] < 3 ? d[la][lb] : 3;
}

/* The nearest of a candidate list to name (distance 1-2), or NULL. */
typedef struct bg_cc_near {
    const char *name;
    const char *best;
    unsigned dist;
} bg_cc_near;

static void bg_cc_consider(bg_cc_near *n, const char *cand)
{
    unsigned d = bg_cc_distance(n->name, cand);
    if (d > 0 && d < n->dist) {
        n->dist = d;
        n->best = cand;
    }
}

/* Sections of the reference, for suggestions. */
static void bg_cc_ref_section(const char *section, const char *key, const char *const *lines,
                              size_t nl, void *ctx)
{
    (void)key;
    (void)lines;
    (void)nl;
    bg_cc_consider(ctx, section);
}

/* Keys of one reference section, for suggestions. */
typedef struct bg_cc_keys {
    const char *section;
    bg_cc_near *near;
} bg_cc_keys;

static void bg_cc_ref_key(const char *section, const char *key, const char *const *lines,
                          size_t nl, void *ctx)
{
    (void)lines;
    (void)nl;
    bg_cc_keys *k = ctx;
    if (strcmp(section, k->section) == 0)
        bg_cc_consider(k->near, key);
}

/* 1 when section is a category id. */
static int bg_cc_is_category(const char *section)
{
    return bg_category_find(section) != NULL;
}

/* A known section: [common], a category, or one of the reference's. */
static int bg_cc_section_known(const bg_cc *k, const char *section)
{
    return strcmp(section, "common") == 0 || bg_cc_is_category(section) ||
           bg_catalog_has_section(k->ref, section);
}

/* A known key of a known section. */
static int bg_cc_key_known(const bg_cc *k, const char *section, const char *key)
{
    if (bg_catalog_has(k->ref, section, key))
        return 1;
    int cat = bg_cc_is_category(section);
    if ((cat || strcmp(section, "common") == 0) && bg_cc_in(bg_cc_category_keys, key))
        return 1;
    return cat && bg_cc_in(bg_cc_rcpt_common_keys, key);
}

/* The placeholders of a line, as a sorted, blank-separated list. */
static void bg_cc_placeholders(const char *line, char *out, size_t outlen)
{
    const char *names[32];
    size_t lens[32], n = 0;
    for (const char *s = line; *s && n < 32; s++) {
        if (s[0] == '{' && s[1] == '{') {
            s++;
            continue;
        }
        if (s[0] != '{')
            continue;
        const char *e = strchr(s, '}');
        if (!e)
            break;
        size_t l = (size_t)(e - s - 1), at = n;
        for (size_t i = 0; i < n; i++) {
            int cmp = strncmp(s + 1, names[i], l < lens[i] ? l : lens[i]);
            if (cmp == 0 && l == lens[i]) {
                at = (size_t)-1; /* already listed */
                break;
            }
            if (cmp < 0 || (cmp == 0 && l < lens[i])) {
                at = i;
                break;
            }
        }
        if (at != (size_t)-1) {
            memmove(&names[at + 1], &names[at], (n - at) * sizeof *names);
            memmove(&lens[at + 1], &lens[at], (n - at) * sizeof *lens);
            names[at] = s + 1;
            lens[at] = l;
            n++;
        }
        s = e;
    }
    size_t pos = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && pos + lens[i] + 4 < outlen; i++)
        pos += (size_t)snprintf(out + pos, outlen - pos, "%s{%.*s}", i ? " " : "", (int)lens[i],
                                names[i]);
    if (n == 0)
        snprintf(out, outlen, "none");
}

/* 1 when line names placeholder name. */
static int bg_cc_names(const char *line, const char *name)
{
    char want[64];
    snprintf(want, sizeof want, "{%s}", name);
    for (const char *p = strstr(line, want); p; p = strstr(p + 1, want))
        if (p == line || p[-1] != '{')
            return 1;
    return 0;
}

/* The placeholder list of a word key of [common], or NULL. */
static const char *bg_cc_word_vars(const char *section, const char *key)
{
    if (strcmp(section, "common") != 0)
        return NULL;
    for (size_t i = 0; bg_cc_word_keys[i].key; i++)
        if (strcmp(bg_cc_word_keys[i].key, key) == 0)
            return bg_cc_word_keys[i].vars;
    return NULL;
}

/* 1 when the blank-separated list has name. */
static int bg_cc_listed(const char *list, const char *name, size_t n)
{
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, " ");
        if (l == n && strncmp(p, name, n) == 0)
            return 1;
        p += l + (p[l] == ' ');
    }
    return 0;
}

/* Placeholders of one line that have no value where it is shown: in a
 * word key, anything but its own; elsewhere, the word keys' own. */
static void bg_cc_word_line(bg_cc *k, const char *section, const char *key, const char *line)
{
    const char *own = bg_cc_word_vars(section, key);
    for (const char *s = line; (s = strchr(s, '{'));) {
        if (s[1] == '{') {
            s += 2;
            continue;
        }
        const char *e = strchr(s, '}');
        if (!e)
            return;
        size_t n = (size_t)(e - s - 1);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), s + 1);
        int bad = own ? !bg_cc_listed(own, s + 1, n) : bg_cc_in(bg_cc_word_placeholders, name);
        if (bad)
            bg_cc_report(k, section, key, "names {%s}, which has no value in this text: the "
                                          "line never shows", name, NULL);
        s = e + 1;
    }
}

/* One key of the checked catalogue. */
static void bg_cc_key(const char *section, const char *key, const char *const *lines, size_t n,
                      void *ctx)
{
    bg_cc *k = ctx;
    if (!bg_cc_section_known(k, section))
        return; /* reported once per section by bg_cc_section */
    if (!bg_cc_key_known(k, section, key)) {
        bg_cc_near near = {key, NULL, 3};
        bg_cc_keys ks = {section, &near};
        bg_catalog_each(k->ref, bg_cc_ref_key, &ks);
        if (bg_cc_is_category(section) || strcmp(section, "common") == 0)
            for (size_t i = 0; bg_cc_category_keys[i]; i++)
                bg_cc_consider(&near, bg_cc_category_keys[i]);
        if (bg_cc_is_category(section))
            for (size_t i = 0; bg_cc_rcpt_common_keys[i]; i++)
                bg_cc_consider(&near, bg_cc_rcpt_common_keys[i]);
        if (near.best)
            bg_cc_report(k, section, key, "unknown key; did you mean %s?", near.best, NULL);
        else
            bg_cc_report(k, section, key, "unknown key (never shown)", NULL, NULL);
        return;
    }
    int common = strcmp(section, "common") == 0;
    int sender_text = bg_cc_is_category(section) || common;
    int no_rcpt = common && !bg_cc_in(bg_cc_rcpt_common_keys, key) &&
                  !bg_cc_in(bg_cc_category_keys, key) && strncmp(key, "subject_", 8) != 0;
    if (strcmp(section, "common") == 0 && strcmp(key, "date_month") == 0 && n != BG_CC_MONTHS) {
        char a[32];
        snprintf(a, sizeof a, "%zu", n);
        bg_cc_report(k, section, key, "the twelve month names are needed, one a line, "
                                      "January first (it has %s)", a, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        if (!lines[i][0])
            bg_cc_report(k, section, key, "empty text", NULL, NULL);
        bg_cc_word_line(k, section, key, lines[i]);
        if (sender_text && strcmp(key, "admin") != 0 && bg_cc_names(lines[i], "rule"))
            bg_cc_report(k, section, key,
                         "{rule} outside the administrator's texts (rule ids are shown only "
                         "in the administrator's section)", NULL, NULL);
        for (size_t p = 0; no_rcpt && bg_cc_rcpt_placeholders[p]; p++)
            if (bg_cc_names(lines[i], bg_cc_rcpt_placeholders[p]))
                bg_cc_report(k, section, key,
                             "names {%s}, which has no value in this text (it is shown "
                             "without a recipient): the line never shows",
                             bg_cc_rcpt_placeholders[p], NULL);
    }
    if (!k->full)
        return;
    const char *const *ref;
    size_t rn = bg_catalog_has(k->ref, section, key) ? bg_catalog_lines(k->ref, section, key, &ref)
                                                    : 0;
    if (rn == 0) {
        bg_cc_report(k, section, key, "English has no such text (a whole language mirrors "
                                      "English key for key)", NULL, NULL);
        return;
    }
    if (rn != n) {
        char a[32], b[32];
        snprintf(a, sizeof a, "%zu", n);
        snprintf(b, sizeof b, "%zu", rn);
        bg_cc_report(k, section, key, "%s lines, English has %s (each line is a fallback "
                                      "for the one before)", a, b);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char mine[300], theirs[300];
        bg_cc_placeholders(lines[i], mine, sizeof mine);
        bg_cc_placeholders(ref[i], theirs, sizeof theirs);
        if (strcmp(mine, theirs) != 0) {
            char what[700];
            snprintf(what, sizeof what, "line %zu names %s, English names %s", i + 1, mine,
                     theirs);
            bg_cc_report(k, section, key, "%s", what, NULL);
        }
    }
    if (strcmp(key, "acts") == 0 && strcmp(lines[0], ref[0]) != 0)
        bg_cc_report(k, section, key, "is %s, English says %s (the same facts)", lines[0],
                     ref[0]);
}

/* Unknown sections: once each, with a suggestion. */
typedef struct bg_cc_seen {
    bg_cc *k;
    char last[64];
} bg_cc_seen;

static void bg_cc_section(const char *section, const char *key, const char *const *lines,
                          size_t n, void *ctx)
{
    (void)key;
    (void)lines;
    (void)n;
    bg_cc_seen *s = ctx;
    if (strcmp(s->last, section) == 0)
        return;
    snprintf(s->last, sizeof s->last, "%s", section);
    if (bg_cc_section_known(s->k, section))
        return;
    bg_cc_near near = {section, NULL, 3};
    size_t nc = 0;
    const bg_category *t = bg_category_table(&nc);
    for (size_t i = 0; i < nc; i++)
        bg_cc_consider(&near, t[i].id);
    bg_cc_consider(&near, "common");
    bg_catalog_each(s->k->ref, bg_cc_ref_section, &near);
    if (near.best) {
        char sug[64];
        snprintf(sug, sizeof sug, "[%s]", near.best);
        bg_cc_report(s->k, section, NULL, "unknown section; did you mean %s?", sug, NULL);
    } else {
        bg_cc_report(s->k, section, NULL, "unknown section (its texts are never shown)", NULL,
                     NULL);
    }
}

/* What the reference has and c lacks (full mode). */
static void bg_cc_missing(const char *section, const char *key, const char *const *lines,
                          size_t n, void *ctx)
{
    (void)lines;
    (void)n;
    bg_cc *k = ctx;
    if (!bg_catalog_has(k->c, section, key))
        bg_cc_report(k, section, key, "missing text (English has it)", NULL, NULL);
}

size_t bg_catalog_check(const bg_catalog *c, int full, bg_catalog_check_fn fn, void *ctx)
{
    bg_catalog *ref = bg_catalog_load("en", NULL);
    if (!c || !ref) {
        bg_catalog_free(ref);
        if (fn)
            fn("catalogue", "out of memory", ctx);
        return 1;
    }
    bg_cc k = {.ref = ref, .c = c, .full = full, .fn = fn, .ctx = ctx};
    bg_cc_seen seen = {.k = &k, .last = ""};
    bg_catalog_each(c, bg_cc_section, &seen);
    bg_catalog_each(c, bg_cc_key, &k);
    if (full)
        bg_catalog_each(ref, bg_cc_missing, &k);
    bg_catalog_free(ref);
    return k.n;
}
