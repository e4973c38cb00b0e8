/* bg_rules: the classification rules, from text to a compiled, immutable set.
 *
 * The syntax is documented at the top of conf/rules.conf (the built-in
 * rules, compiled in through bg_embedded). An admin file of the same syntax
 * adds rules, replaces built-in rules by name, or disables them. Like
 * Postfix's bounce templates, a broken admin file never stops mail: it logs
 * one warning with file:line and the built-in rules are used alone.
 *
 * Compiling sorts the rules into precedence order (priority, then admin
 * before built-in, then file order) and puts every phrase of every rule into
 * one Aho-Corasick automaton, so matching a text costs one pass whatever
 * the rule count. This module does not decide suppression; see bg_classify.
 */
#include "bg_rules_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_ac.h"
#include "bg_buf.h"
#include "bg_embedded.h"
#include "bg_log.h"
#include "bg_registry.h"
#include "bg_stage.h"
#include "bg_status.h"

#define BG_RULES_FILE_MAX (1u << 20) /* an admin rules file larger than this is refused */
#define BG_RULES_NAME_LEN 48         /* room for "builtin:" in BG_RULE_NAME_MAX */
#define BG_RULES_ADMIN_ORDER 1000000u
#define BG_RULES_PHRASE_BYTES 60000   /* all phrases together: bounds the automaton (< 65535 states) */


/* ---- rule storage ---- */

static void bg_rule_clear(bg_rule *ru)
{
    for (size_t i = 0; i < ru->nphrase; i++)
        free(ru->phrase[i]);
    free(ru->phrase);
    ru->phrase = NULL;
    ru->nphrase = ru->capphrase = 0;
}

/* Free a rule set; NULL is fine. */
void bg_rules_free(bg_rules *r)
{
    if (!r)
        return;
    if (!r->image) {
        for (size_t i = 0; i < r->nrule; i++)
            bg_rule_clear(&r->rule[i]);
        free(r->rule);
        free(r->ph);
    }
    bg_ac_free(r->ac);
    free(r->timing);
    bg_rules_free_codes(r);
    free(r);
}

/* A new empty rule at the end; NULL when memory runs out. */
static bg_rule *bg_rules_append(bg_rules *r)
{
    if (r->nrule == r->caprule) {
        size_t cap = r->caprule ? r->caprule * 2 : 64;
        bg_rule *n = realloc(r->rule, cap * sizeof *n);
        if (!n)
            return NULL;
        r->rule = n;
        r->caprule = cap;
    }
    bg_rule *ru = &r->rule[r->nrule++];
    memset(ru, 0, sizeof *ru);
    ru->suppress = -1;
    ru->side = -1;
    ru->priority = 50;
    return ru;
}

/* Append a copy of one normalised phrase. */
static int bg_rule_add_phrase(bg_rule *ru, const char *p)
{
    if (ru->nphrase == ru->capphrase) {
        size_t cap = ru->capphrase ? ru->capphrase * 2 : 4;
        char **n = realloc(ru->phrase, cap * sizeof *n);
        if (!n)
            return -1;
        ru->phrase = n;
        ru->capphrase = cap;
    }
    char *d = strdup(p);
    if (!d)
        return -1;
    ru->phrase[ru->nphrase++] = d;
    return 0;
}

/* Deep copy of one rule into dst (dst's phrases must be empty). */
static int bg_rule_copy(bg_rule *dst, const bg_rule *src)
{
    char *const *ph = bg_rule_phrases(src);
    *dst = *src;
    dst->cat = bg_rule_cat(src);
    dst->phrase = NULL;
    dst->nphrase = dst->capphrase = 0;
    for (size_t i = 0; i < src->nphrase; i++)
        if (bg_rule_add_phrase(dst, ph[i]) < 0)
            return -1;
    return 0;
}

/* Index of ru in the compiled-in image, or -1 when ru is not from it. */
static long bg_rule_image_index(const bg_rule *ru)
{
    const bg_rules_image *m = &bg_rules_image_builtin;
    if (m == NULL || m->rule == NULL)
        return -1;
    uintptr_t p = (uintptr_t)ru, lo = (uintptr_t)m->rule;
    if (p < lo || p >= lo + m->nrule * sizeof *m->rule)
        return -1;
    return (long)((p - lo) / sizeof *m->rule);
}

/* The image keeps its rules free of pointers (so loading the plugin
 * relocates nothing in them): their category and phrases come from side
 * tables. */
const bg_category *bg_rule_cat(const bg_rule *ru)
{
    if (ru->cat)
        return ru->cat;
    long i = bg_rule_image_index(ru);
    if (i < 0)
        return bg_category_unknown();
    uint16_t c = bg_rules_image_builtin.cat[i];
    return c == BG_RULES_IMAGE_NOT_BOUNCE ? &bg_category_not_bounce : &bg_categories[c];
}

char *const *bg_rule_phrases(const bg_rule *ru)
{
    if (ru->phrase || ru->nphrase == 0)
        return ru->phrase;
    long i = bg_rule_image_index(ru);
    return i < 0 ? NULL : bg_rules_image_builtin.phrase[i];
}

/* The rule of that name, or NULL (linear: load time only). */
static bg_rule *bg_rules_find(bg_rules *r, const char *name)
{
    for (size_t i = 0; i < r->nrule; i++)
        if (strcmp(r->rule[i].name, name) == 0)
            return &r->rule[i];
    return NULL;
}

/* ---- patterns ---- */

/* Status pattern: three dot-separated parts, each 1-3 digits or "x"/"*";
 * a trailing "." or ".*" is shorthand for the rest ("5.7." = "5.7.*"). */
static int bg_rule_status_norm(const char *in, char out[BG_STATUS_MAX])
{
    char parts[3][4];
    size_t np = 0, n = 0;
    const char *p = in;
    for (;;) {
        if (np == 3)
            return -1;
        n = 0;
        while (*p && *p != '.' && n < 3)
            parts[np][n++] = *p++;
        parts[np][n] = '\0';
        if (*p && *p != '.')
            return -1;
        if (n == 0) {
            if (np == 0)
                return -1;
            strcpy(parts[np], "*"); /* "5.7." */
            n = 1;
        }
        np++;
        if (!*p)
            break;
        p++;
        if (!*p) { /* trailing dot */
            if (np == 3)
                return -1;
            strcpy(parts[np++], "*");
            break;
        }
    }
    if (strcmp(parts[np - 1], "*") == 0 && np < 3)
        while (np < 3)
            strcpy(parts[np++], "*");
    if (np != 3)
        return -1;
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(parts[i], "x") == 0 || strcmp(parts[i], "X") == 0)
            strcpy(parts[i], "*");
        if (strcmp(parts[i], "*") == 0)
            continue;
        for (const char *q = parts[i]; *q; q++)
            if (!isdigit((unsigned char)*q))
                return -1;
    }
    if (strcmp(parts[0], "*") != 0 && strcmp(parts[0], "2") != 0 && strcmp(parts[0], "4") != 0 &&
        strcmp(parts[0], "5") != 0)
        return -1;
    snprintf(out, BG_STATUS_MAX, "%s.%s.%s", parts[0], parts[1], parts[2]);
    return 0;
}

/* Part by part: "*" accepts any part, anything else must be equal. */
int bg_rule_status_match(const char *pattern, const char *status)
{
    if (!status || !status[0])
        return 0;
    const char *p = pattern, *s = status;
    for (int part = 0; part < 3; part++) {
        const char *pe = strchr(p, '.'), *se = strchr(s, '.');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t sl = se ? (size_t)(se - s) : strlen(s);
        if (!(pl == 1 && p[0] == '*') && (pl != sl || memcmp(p, s, pl) != 0))
            return 0;
        if (part < 2) {
            if (!pe || !se)
                return 0;
            p = pe + 1;
            s = se + 1;
        }
    }
    return 1;
}

/* Reply pattern: three characters, each a digit or "x"; first 2-5 or x. */
static int bg_rule_reply_norm(const char *in, char out[4])
{
    if (strlen(in) != 3)
        return -1;
    for (int i = 0; i < 3; i++) {
        char c = (char)tolower((unsigned char)in[i]);
        if (!(isdigit((unsigned char)c) || c == 'x'))
            return -1;
        out[i] = c;
    }
    out[3] = '\0';
    if (out[0] != 'x' && (out[0] < '2' || out[0] > '5'))
        return -1;
    return 0;
}

/* Digit by digit: "x" accepts any digit. */
int bg_rule_reply_match(const char *pattern, int code)
{
    if (code < 200 || code > 599)
        return 0;
    char c[4];
    snprintf(c, sizeof c, "%03d", code);
    for (int i = 0; i < 3; i++)
        if (pattern[i] != 'x' && pattern[i] != c[i])
            return 0;
    return 1;
}

/* Phrase as stored: lower case, runs of white space made one space,
 * trimmed; a '*' at either end lifts the word boundary there. */
static int bg_rule_phrase_norm(const char *in, size_t len, char *out, size_t outlen)
{
    size_t n = 0;
    int sp = 0;
    while (len && isspace((unsigned char)*in))
        in++, len--;
    while (len && isspace((unsigned char)in[len - 1]))
        len--;
    if (len >= 2 && in[0] == '"' && in[len - 1] == '"')
        in++, len -= 2;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\t' || c == ' ') {
            sp = 1;
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return -1;
        if (sp && n) {
            if (n + 1 >= outlen)
                return -1;
            out[n++] = ' ';
        }
        sp = 0;
        if (n + 1 >= outlen)
            return -1;
        out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
    size_t core = n;
    if (core && out[0] == '*')
        core--;
    if (core && out[n - 1] == '*')
        core--;
    return core ? 0 : -1;
}

/* ---- parsing ---- */

typedef struct bg_parse {
    bg_rules *r;
    const char *origin;
    unsigned line;
    char *err;
    size_t errlen;
    int admin;
    unsigned order;
    size_t cur; /* index of the rule being read, (size_t)-1 when none */
    char **seen; /* names defined in this text */
    size_t nseen, capseen;
} bg_parse;

/* Fill the caller's error as "origin:line: reason"; returns -1. */
static int bg_parse_fail(bg_parse *ps, const char *fmt, const char *arg)
{
    if (ps->err && ps->errlen) {
        char msg[200];
        snprintf(msg, sizeof msg, fmt, arg ? arg : "");
        snprintf(ps->err, ps->errlen, "%s:%u: %s", ps->origin, ps->line, msg);
    }
    return -1;
}

/* Check the rule being read is complete. */
static int bg_parse_finish(bg_parse *ps)
{
    if (ps->cur == (size_t)-1)
        return 0;
    bg_rule *ru = &ps->r->rule[ps->cur];
    unsigned save = ps->line;
    ps->line = ru->line;
    ps->cur = (size_t)-1;
    if (!ru->cat)
        return bg_parse_fail(ps, "rule '%s' has no category", ru->name);
    if (!ru->nphrase && !ru->nstatus && !ru->nreply && !ru->ntype && !ru->nparser)
        return bg_parse_fail(ps, "rule '%s' needs a condition (phrase, status, reply, type, parser)",
                             ru->name);
    ps->line = save;
    return 0;
}

/* Rule, parser and domain names: letters, digits, - _ . only. */
static int bg_parse_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > BG_RULES_NAME_LEN)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

/* 1 when name was already defined in this text, else records it (0);
 * -1 when memory runs out. */
static int bg_parse_seen(bg_parse *ps, const char *name)
{
    for (size_t i = 0; i < ps->nseen; i++)
        if (strcmp(ps->seen[i], name) == 0)
            return 1;
    if (ps->nseen == ps->capseen) {
        size_t cap = ps->capseen ? ps->capseen * 2 : 64;
        char **n = realloc(ps->seen, cap * sizeof *n);
        if (!n)
            return -1;
        ps->seen = n;
        ps->capseen = cap;
    }
    if (!(ps->seen[ps->nseen] = strdup(name)))
        return -1;
    ps->nseen++;
    return 0;
}

/* Split rest into white-space separated words, calling fn on each. */
static int bg_parse_words(bg_parse *ps, char *rest,
                          int (*fn)(bg_parse *ps, bg_rule *ru, const char *w))
{
    bg_rule *ru = &ps->r->rule[ps->cur];
    int any = 0;
    char *save = NULL;
    for (char *w = strtok_r(rest, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
        if (fn(ps, ru, w) < 0)
            return -1;
        any = 1;
    }
    return any ? 0 : bg_parse_fail(ps, "missing value", NULL);
}

/* One word of a "status" line. */
static int bg_parse_status(bg_parse *ps, bg_rule *ru, const char *w)
{
    if (ru->nstatus == BG_RULE_STATUS_N)
        return bg_parse_fail(ps, "too many status patterns", NULL);
    if (bg_rule_status_norm(w, ru->status[ru->nstatus]) < 0)
        return bg_parse_fail(ps, "bad status pattern '%s' (use 5.1.1, 5.7.* or 4.x.x)", w);
    ru->nstatus++;
    return 0;
}

/* One word of a "reply" line. */
static int bg_parse_reply(bg_parse *ps, bg_rule *ru, const char *w)
{
    if (ru->nreply == BG_RULE_REPLY_N)
        return bg_parse_fail(ps, "too many reply patterns", NULL);
    if (bg_rule_reply_norm(w, ru->reply[ru->nreply]) < 0)
        return bg_parse_fail(ps, "bad reply pattern '%s' (use 550, 55x or 5xx)", w);
    ru->nreply++;
    return 0;
}

/* One word of a "parser" line. */
static int bg_parse_parser(bg_parse *ps, bg_rule *ru, const char *w)
{
    if (ru->nparser == BG_RULE_PARSER_N)
        return bg_parse_fail(ps, "too many parser names", NULL);
    if (strlen(w) >= BG_RULE_PARSER_LEN || !bg_parse_name_ok(w))
        return bg_parse_fail(ps, "bad parser name '%s'", w);
    snprintf(ru->parser[ru->nparser++], BG_RULE_PARSER_LEN, "%s", w);
    return 0;
}

/* One word of an "mta" line, kept in lower case. */
static int bg_parse_mta(bg_parse *ps, bg_rule *ru, const char *w)
{
    if (ru->nmta == BG_RULE_MTA_N)
        return bg_parse_fail(ps, "too many mta domains", NULL);
    if (strlen(w) >= BG_RULE_MTA_LEN || !bg_parse_name_ok(w))
        return bg_parse_fail(ps, "bad mta domain '%s'", w);
    char *d = ru->mta[ru->nmta++];
    for (size_t i = 0; w[i]; i++)
        d[i] = (char)tolower((unsigned char)w[i]), d[i + 1] = '\0';
    return 0;
}

/* One word of a "type" line. */
static int bg_parse_type(bg_parse *ps, bg_rule *ru, const char *w)
{
    if (ru->ntype == BG_RULE_TYPE_N)
        return bg_parse_fail(ps, "too many diagnostic types", NULL);
    if (strlen(w) >= BG_RULE_PARSER_LEN || !bg_parse_name_ok(w))
        return bg_parse_fail(ps, "bad diagnostic type '%s'", w);
    snprintf(ru->type[ru->ntype++], BG_RULE_PARSER_LEN, "%s", w);
    return 0;
}

/* One word of a "stage" line. */
static int bg_parse_stage(bg_parse *ps, bg_rule *ru, const char *w)
{
    unsigned bit = bg_stage_parse(w);
    if (!bit)
        return bg_parse_fail(ps, "stage must be connect, helo, mail, rcpt or data, not '%s'", w);
    ru->stage |= bit;
    return 0;
}

/* "phrase a | b | c": each alternative is one phrase. */
static int bg_parse_phrases(bg_parse *ps, const char *rest)
{
    bg_rule *ru = &ps->r->rule[ps->cur];
    const char *p = rest;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        char buf[BG_AC_PATTERN_MAX + 3];
        if (bg_rule_phrase_norm(p, n, buf, sizeof buf) < 0)
            return bg_parse_fail(ps, "empty, too long or bad phrase", NULL);
        if (bg_rule_add_phrase(ru, buf) < 0)
            return bg_parse_fail(ps, "out of memory", NULL);
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

/* "rule NAME": start a rule (or replace a base rule of that name). */
static int bg_parse_rule(bg_parse *ps, const char *name)
{
    if (bg_parse_finish(ps) < 0)
        return -1;
    if (!bg_parse_name_ok(name))
        return bg_parse_fail(ps, "bad rule name '%s' (letters, digits, - _ . ; at most 48)",
                             name);
    int seen = bg_parse_seen(ps, name);
    if (seen < 0)
        return bg_parse_fail(ps, "out of memory", NULL);
    if (seen)
        return bg_parse_fail(ps, "rule '%s' defined twice", name);
    bg_rule *ru = bg_rules_find(ps->r, name);
    unsigned order;
    if (ru) { /* override: keeps the replaced rule's place in file order */
        order = ru->order;
        bg_rule_clear(ru);
        memset(ru, 0, sizeof *ru);
        ru->suppress = -1;
        ru->side = -1;
        ru->priority = 50;
    } else {
        ru = bg_rules_append(ps->r);
        if (!ru)
            return bg_parse_fail(ps, "out of memory", NULL);
        order = (ps->admin ? BG_RULES_ADMIN_ORDER : 0) + ps->order++;
    }
    snprintf(ru->name, sizeof ru->name, "%s", name);
    ru->admin = ps->admin;
    ru->line = ps->line;
    ru->order = order;
    ps->cur = (size_t)(ru - ps->r->rule);
    return 0;
}

/* "disable NAME": drop a rule of the base (or of this text). */
static int bg_parse_disable(bg_parse *ps, const char *name)
{
    if (bg_parse_finish(ps) < 0)
        return -1;
    for (size_t i = 0; i < ps->r->nrule; i++) {
        if (strcmp(ps->r->rule[i].name, name) != 0)
            continue;
        bg_rule_clear(&ps->r->rule[i]);
        memmove(&ps->r->rule[i], &ps->r->rule[i + 1],
                (ps->r->nrule - i - 1) * sizeof ps->r->rule[0]);
        ps->r->nrule--;
        return 0;
    }
    return bg_parse_fail(ps, "disable: no rule named '%s'", name);
}

/* One line: "keyword rest". */
static int bg_parse_line(bg_parse *ps, char *line)
{
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        p[--n] = '\0';
    if (!*p || *p == '#')
        return 0;
    char *kw = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    if (*p)
        *p++ = '\0';
    while (*p == ' ' || *p == '\t')
        p++;
    char *rest = p;
    if (strcmp(kw, "rule") == 0)
        return bg_parse_rule(ps, rest);
    if (strcmp(kw, "disable") == 0)
        return bg_parse_disable(ps, rest);
    if (ps->cur == (size_t)-1)
        return bg_parse_fail(ps, "'%s' outside a rule (start one with 'rule NAME')", kw);
    bg_rule *ru = &ps->r->rule[ps->cur];
    if (strcmp(kw, "category") == 0) {
        const bg_category *c = bg_category_find(rest);
        if (!c || strcmp(c->id, "not-a-bounce") == 0)
            return bg_parse_fail(ps, "unknown category '%s'", rest);
        ru->cat = c;
        return 0;
    }
    if (strcmp(kw, "priority") == 0) {
        char *end;
        errno = 0;
        long v = strtol(rest, &end, 10);
        if (!*rest || *end || errno || v < 0 || v > 999)
            return bg_parse_fail(ps, "priority must be 0..999, not '%s'", rest);
        ru->priority = (int)v;
        return 0;
    }
    if (strcmp(kw, "suppress") == 0) {
        int s = bg_suppress_parse(rest);
        if (s < 0)
            return bg_parse_fail(ps, "suppress must be none, count, address or domain", NULL);
        ru->suppress = s;
        return 0;
    }
    if (strcmp(kw, "side") == 0) {
        int sd = bg_side_parse(rest);
        if (sd < 0)
            return bg_parse_fail(ps, "side must be sender, ours, recipient, remote or network",
                                 NULL);
        ru->side = sd;
        return 0;
    }
    if (strcmp(kw, "phrase") == 0)
        return bg_parse_phrases(ps, rest);
    if (strcmp(kw, "status") == 0)
        return bg_parse_words(ps, rest, bg_parse_status);
    if (strcmp(kw, "reply") == 0)
        return bg_parse_words(ps, rest, bg_parse_reply);
    if (strcmp(kw, "parser") == 0)
        return bg_parse_words(ps, rest, bg_parse_parser);
    if (strcmp(kw, "mta") == 0)
        return bg_parse_words(ps, rest, bg_parse_mta);
    if (strcmp(kw, "type") == 0)
        return bg_parse_words(ps, rest, bg_parse_type);
    if (strcmp(kw, "stage") == 0)
        return bg_parse_words(ps, rest, bg_parse_stage);
    return bg_parse_fail(ps, "unknown keyword '%s'", kw);
}

/* ---- compiling ---- */

static int bg_rule_cmp(const void *a, const void *b)
{
    const bg_rule *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    if (x->admin != y->admin)
        return x->admin ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}


/* The timing rules' indices, so that matching looks for them past the
 * cause without trying every other rule. */
static int bg_rules_index_timing(bg_rules *r)
{
    free(r->timing);
    r->timing = NULL;
    r->ntiming = 0;
    size_t n = 0;
    for (size_t i = 0; i < r->nrule; i++)
        n += bg_rule_is_timing(&r->rule[i]);
    if (!n)
        return 0;
    if (!(r->timing = malloc(n * sizeof *r->timing)))
        return -1;
    for (size_t i = 0; i < r->nrule; i++)
        if (bg_rule_is_timing(&r->rule[i]))
            r->timing[r->ntiming++] = (unsigned)i;
    return 0;
}

/* Sort into precedence order and build the automaton. */
static int bg_rules_compile(bg_rules *r)
{
    if (r->nrule) /* an empty text has no array: qsort(NULL, 0) is undefined */
        qsort(r->rule, r->nrule, sizeof r->rule[0], bg_rule_cmp);
    size_t n = 0;
    for (size_t i = 0; i < r->nrule; i++)
        n += r->rule[i].nphrase;
    r->ph = calloc(n ? n : 1, sizeof *r->ph);
    r->ac = bg_ac_new();
    if (!r->ph || !r->ac)
        return -1;
    for (size_t i = 0; i < r->nrule; i++) {
        for (size_t k = 0; k < r->rule[i].nphrase; k++) {
            const char *p = r->rule[i].phrase[k];
            size_t len = strlen(p);
            bg_phrase *ph = &r->ph[r->nph];
            ph->rule = (unsigned)i;
            ph->left_word = 1;
            ph->right_word = 1;
            if (*p == '*')
                p++, len--, ph->left_word = 0;
            if (len && p[len - 1] == '*')
                len--, ph->right_word = 0;
            /* a boundary only means something next to a letter or digit */
            if (!isalnum((unsigned char)p[0]))
                ph->left_word = 0;
            if (!isalnum((unsigned char)p[len - 1]))
                ph->right_word = 0;
            if (bg_ac_add(r->ac, p, len, (unsigned)r->nph) < 0)
                return -1;
            r->nph++;
        }
    }
    if (bg_rules_index_timing(r) < 0 || bg_rules_index_codes(r) < 0)
        return -1;
    return bg_ac_build(r->ac);
}

/* Copy base (if any), apply the text line by line, then compile. */
bg_rules *bg_rules_parse(const bg_rules *base, const char *text, size_t len,
                         const char *origin, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    bg_rules *r = calloc(1, sizeof *r);
    if (!r) {
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", origin ? origin : "rules");
        return NULL;
    }
    if (!text)
        len = 0;
    bg_parse ps = {.r = r, .origin = origin ? origin : "rules", .err = err, .errlen = errlen,
                   .admin = base != NULL, .cur = (size_t)-1};
    int rc = 0;
    if (base) {
        for (size_t i = 0; i < base->nrule && rc == 0; i++) {
            bg_rule *ru = bg_rules_append(r);
            if (!ru || bg_rule_copy(ru, &base->rule[i]) < 0)
                rc = bg_parse_fail(&ps, "out of memory", NULL);
        }
    }
    char *copy = malloc(len + 1);
    if (!copy && rc == 0)
        rc = bg_parse_fail(&ps, "out of memory", NULL);
    if (copy) {
        memcpy(copy, text ? text : "", len);
        copy[len] = '\0';
        if (memchr(copy, '\0', len))
            rc = bg_parse_fail(&ps, "NUL byte in rules text", NULL);
    }
    char *p = copy;
    while (rc == 0 && p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        ps.line++;
        rc = bg_parse_line(&ps, p);
        p = nl ? nl + 1 : NULL;
    }
    if (rc == 0)
        rc = bg_parse_finish(&ps);
    if (rc == 0) {
        size_t total = 0;
        for (size_t i = 0; i < r->nrule; i++)
            for (size_t k = 0; k < r->rule[i].nphrase; k++)
                total += strlen(r->rule[i].phrase[k]);
        if (total > BG_RULES_PHRASE_BYTES) {
            ps.line = 0;
            rc = bg_parse_fail(&ps, "phrases too long in total (over 60000 bytes)", NULL);
        }
    }
    if (rc == 0 && bg_rules_compile(r) < 0)
        rc = bg_parse_fail(&ps, "out of memory", NULL);
    free(copy);
    for (size_t i = 0; i < ps.nseen; i++)
        free(ps.seen[i]);
    free(ps.seen);
    if (rc != 0) {
        bg_rules_free(r);
        return NULL;
    }
    return r;
}

/* conf/rules.conf as compiled in; "" if the build has none. */
const char *bg_rules_builtin_text(void)
{
    const char *t = bg_embedded("rules.conf");
    return t ? t : "";
}

/* conf/rules.conf followed by one rule per registry code: the registry's
 * rules sit at their priority among the others (rules.conf's PRECEDENCE). */
bg_rules *bg_rules_parse_builtin(char *err, size_t errlen)
{
    bg_buf b;
    bg_buf_init(&b);
    bg_buf_adds(&b, bg_rules_builtin_text());
    bg_buf_adds(&b, "\n# ---- conf/status-codes.conf (bg_registry) ----\n");
    bg_registry_rules_text(&b);
    if (bg_buf_failed(&b)) {
        bg_buf_free(&b);
        if (err && errlen)
            snprintf(err, errlen, "builtin: out of memory");
        return NULL;
    }
    bg_rules *r = bg_rules_parse(NULL, bg_buf_str(&b), b.len, "builtin:rules.conf", err, errlen);
    bg_buf_free(&b);
    return r;
}

/* Read a whole admin file, bounded. NULL with why when it cannot be read. */
static char *bg_rules_read_file(const char *path, size_t *len, const char **why)
{
    bg_buf b;
    bg_buf_init(&b);
    int r = bg_buf_read_file(&b, path, BG_RULES_FILE_MAX, why);
    if (r < 0) {
        if (r == -3)
            *why = "larger than 1 MiB";
        bg_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return bg_buf_take(&b);
}

/* The compiled-in image as a rule set, or NULL when this binary has none
 * (or it does not belong to the embedded text). Nothing is copied. */
static bg_rules *bg_rules_from_image(void)
{
    const bg_rules_image *im = &bg_rules_image_builtin;
    /* the image and the embedded text come from the same conf/rules.conf in
     * the same build (test_rules_image checks they agree); measuring the
     * 26 KB text here would touch every page of it in every process */
    if (im == NULL || im->rule == NULL)
        return NULL;
    bg_rules *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->image = 1;
    r->rule = (bg_rule *)im->rule; /* never written: image sets are freed, not changed */
    r->nrule = r->caprule = im->nrule;
    r->ph = (bg_phrase *)im->ph;
    r->nph = im->nph;
    if ((r->ac = bg_ac_borrow(&im->ac)) == NULL || bg_rules_index_timing(r) < 0 ||
        bg_rules_index_codes(r) < 0) {
        bg_ac_free(r->ac);
        free(r->timing);
        bg_rules_free_codes(r);
        free(r);
        return NULL;
    }
    return r;
}

/* The parts tools/rulesgen writes out. */
int bg_rules_parts(const bg_rules *r, const bg_phrase **ph, size_t *nph, const bg_ac_frozen **ac)
{
    if (!r || !(*ac = bg_ac_view(r->ac)))
        return -1;
    *ph = r->ph;
    *nph = r->nph;
    return 0;
}

/* Built-in rules, extended by the admin file when it parses; a broken or
 * missing admin file logs one warning and changes nothing. The built-in
 * set comes from the compiled-in image when there is one. */
bg_rules *bg_rules_load(const char *admin_path)
{
    char err[300];
    bg_rules *base = bg_rules_from_image();
    if (!base)
        base = bg_rules_parse_builtin(err, sizeof err);
    if (!base) {
        /* only a build that shipped broken rules gets here: run with none */
        bg_logf(BG_LOG_ERROR, "built-in rules: %s", err);
        base = bg_rules_parse(NULL, "", 0, "empty", NULL, 0);
        return base;
    }
    if (!admin_path || !admin_path[0])
        return base;
    size_t len = 0;
    const char *why = NULL;
    char *text = bg_rules_read_file(admin_path, &len, &why);
    if (!text) {
        bg_logf(BG_LOG_WARN, "rules file %s: %s; using the built-in rules",
                admin_path, why);
        return base;
    }
    bg_rules *r = bg_rules_parse(base, text, len, admin_path, err, sizeof err);
    free(text);
    if (!r) {
        bg_logf(BG_LOG_WARN, "rules file %s; using the built-in rules", err);
        return base;
    }
    bg_rules_free(base);
    return r;
}

/* Number of rules in effect. */
size_t bg_rules_count(const bg_rules *r)
{
    return r ? r->nrule : 0;
}

/* The i-th rule in precedence order, NULL past the end. */
const bg_rule *bg_rules_at(const bg_rules *r, size_t i)
{
    return r && i < r->nrule ? &r->rule[i] : NULL;
}

