/* bg_registry: the IANA SMTP Enhanced Status Codes registry (see
 * bg_registry.h). The text is conf/status-codes.conf as compiled in; it is
 * parsed the first time a process asks (about 90 short lines, no
 * allocation: a fixed table).
 */
#include "bg_registry.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_embedded.h"
#include "bg_log.h"
#include "bg_status.h"

static const char *const bg_side_names[] = {
    [BG_SIDE_UNKNOWN] = "unknown", [BG_SIDE_SENDER] = "sender",
    [BG_SIDE_OURS] = "ours",       [BG_SIDE_RECIPIENT] = "recipient",
    [BG_SIDE_REMOTE] = "remote",   [BG_SIDE_NETWORK] = "network",
};

const char *bg_side_name(bg_side s)
{
    if ((unsigned)s < sizeof bg_side_names / sizeof bg_side_names[0])
        return bg_side_names[s];
    return "unknown";
}

int bg_side_parse(const char *name)
{
    for (size_t i = 1; i < sizeof bg_side_names / sizeof bg_side_names[0]; i++)
        if (strcmp(bg_side_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* The next blank-separated word of *p into w (bounded); 0 at the end. */
static int bg_reg_word(const char **p, char *w, size_t wl)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = 0;
    while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
        if (n + 1 < wl)
            w[n++] = *s;
        s++;
    }
    w[n] = '\0';
    *p = s;
    return n > 0;
}

/* "X.7.27" -> 7, 27. */
static int bg_reg_code(const char *w, unsigned *subject, unsigned *detail)
{
    char tmp[BG_STATUS_MAX + 2];
    size_t wl = strlen(w);
    if ((w[0] != 'X' && w[0] != 'x') || w[1] != '.' || wl > BG_STATUS_MAX)
        return -1;
    tmp[0] = '5';
    memcpy(tmp + 1, w + 1, wl); /* with the NUL */
    if (bg_status_valid(tmp) != strlen(tmp))
        return -1;
    char *e;
    *subject = (unsigned)strtoul(tmp + 2, &e, 10);
    *detail = (unsigned)strtoul(e + 1, NULL, 10);
    return 0;
}

/* "A" or "A|B" (5.x.x | 4.x.x); "unknown" = NULL. */
static int bg_reg_cats(char *w, bg_registry_entry *e)
{
    char *bar = strchr(w, '|');
    if (bar)
        *bar++ = '\0';
    const char *names[2] = {w, bar ? bar : w};
    const bg_category **dst[2] = {&e->cat5, &e->cat4};
    for (int i = 0; i < 2; i++) {
        if (strcmp(names[i], "unknown") == 0) {
            *dst[i] = NULL;
            continue;
        }
        const bg_category *c = bg_category_find(names[i]);
        if (!c || strcmp(c->id, "not-a-bounce") == 0)
            return -1;
        *dst[i] = c;
    }
    return 0;
}

static int bg_reg_fail(char *err, size_t errlen, unsigned line, const char *why, const char *w)
{
    if (err && errlen)
        snprintf(err, errlen, "line %u: %s '%s'", line, why, w);
    return -1;
}

long bg_registry_parse(const char *text, bg_registry_entry *out, size_t max, char *err,
                       size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    size_t n = 0;
    unsigned line = 0;
    for (const char *p = text ? text : ""; *p;) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl : p + strlen(p);
        line++;
        const char *q = p;
        p = nl ? nl + 1 : end;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q == end || *q == '#')
            continue;
        char code[32], side[32], cat[96], weight[32], rfc[32];
        if (!bg_reg_word(&q, code, sizeof code) || !bg_reg_word(&q, side, sizeof side) ||
            !bg_reg_word(&q, cat, sizeof cat) || !bg_reg_word(&q, weight, sizeof weight) ||
            !bg_reg_word(&q, rfc, sizeof rfc))
            return bg_reg_fail(err, errlen, line, "needs code side category weight rfc meaning:",
                               code);
        if (n == max)
            return bg_reg_fail(err, errlen, line, "too many codes at", code);
        bg_registry_entry *e = &out[n];
        memset(e, 0, sizeof *e);
        if (bg_reg_code(code, &e->subject, &e->detail) < 0)
            return bg_reg_fail(err, errlen, line, "bad code (use X.1.1)", code);
        for (size_t k = 0; k < n; k++)
            if (out[k].subject == e->subject && out[k].detail == e->detail)
                return bg_reg_fail(err, errlen, line, "code listed twice:", code);
        int s = bg_side_parse(side);
        if (s < 0)
            return bg_reg_fail(err, errlen, line, "unknown side", side);
        e->side = (bg_side)s;
        if (bg_reg_cats(cat, e) < 0)
            return bg_reg_fail(err, errlen, line, "unknown category", cat);
        if (strcmp(weight, "decisive") == 0)
            e->weight = 80;
        else if (strcmp(weight, "specific") == 0)
            e->weight = 40;
        else if (strcmp(weight, "weak") == 0)
            e->weight = 20;
        else if (strcmp(weight, "none") == 0)
            e->weight = 0;
        else
            return bg_reg_fail(err, errlen, line, "unknown weight", weight);
        if (e->weight && !e->cat5 && !e->cat4)
            return bg_reg_fail(err, errlen, line, "a code that decides needs a category:", code);
        if (strlen(rfc) >= sizeof e->rfc)
            return bg_reg_fail(err, errlen, line, "reference too long:", rfc);
        memcpy(e->rfc, rfc, strlen(rfc) + 1);
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        size_t ml = (size_t)(end - q);
        while (ml && (q[ml - 1] == ' ' || q[ml - 1] == '\t' || q[ml - 1] == '\r'))
            ml--;
        if (ml == 0)
            return bg_reg_fail(err, errlen, line, "no meaning for", code);
        if (ml >= sizeof e->meaning)
            ml = sizeof e->meaning - 1;
        memcpy(e->meaning, q, ml);
        e->meaning[ml] = '\0';
        n++;
    }
    return (long)n;
}

static bg_registry_entry bg_reg_table[BG_REGISTRY_MAX];
static size_t bg_reg_n;
static pthread_once_t bg_reg_once = PTHREAD_ONCE_INIT;

static void bg_reg_load(void)
{
    const char *t = bg_embedded("status-codes.conf");
    char err[200];
    long n = bg_registry_parse(t ? t : "", bg_reg_table, BG_REGISTRY_MAX, err, sizeof err);
    if (n < 0) {
        bg_logf(BG_LOG_ERROR, "built-in status-codes.conf: %s", err);
        n = 0;
    }
    bg_reg_n = (size_t)n;
}

const bg_registry_entry *bg_registry_table(size_t *n)
{
    pthread_once(&bg_reg_once, bg_reg_load);
    *n = bg_reg_n;
    return bg_reg_n ? bg_reg_table : NULL;
}

const bg_registry_entry *bg_registry_find(const char *status)
{
    if (!status || !bg_status_valid(status))
        return NULL;
    char *e;
    unsigned subject = (unsigned)strtoul(status + 2, &e, 10);
    unsigned detail = (unsigned)strtoul(e + 1, NULL, 10);
    size_t n;
    const bg_registry_entry *t = bg_registry_table(&n);
    for (size_t i = 0; i < n; i++)
        if (t[i].subject == subject && t[i].detail == detail)
            return &t[i];
    return NULL;
}

bg_side bg_registry_side(const char *status)
{
    const bg_registry_entry *e = bg_registry_find(status);
    return e ? e->side : BG_SIDE_UNKNOWN;
}

/* One rule per class with a category: a 5.x.x and a 4.x.x code may mean
 * different things (5.7.1 a refusal, 4.7.1 a deferral). */
int bg_registry_rules_text(bg_buf *out)
{
    size_t n;
    const bg_registry_entry *t = bg_registry_table(&n);
    for (size_t i = 0; i < n; i++) {
        const bg_registry_entry *e = &t[i];
        if (!e->weight)
            continue;
        const bg_category *cats[2] = {e->cat5, e->cat4};
        const char cls[2] = {'5', '4'};
        if (cats[0] == cats[1]) {
            bg_buf_printf(out, "rule code-X.%u.%u\ncategory %s\npriority %d\nside %s\n"
                               "status 5.%u.%u 4.%u.%u\n\n",
                          e->subject, e->detail, cats[0]->id, e->weight, bg_side_name(e->side),
                          e->subject, e->detail, e->subject, e->detail);
            continue;
        }
        for (int k = 0; k < 2; k++)
            if (cats[k])
                bg_buf_printf(out, "rule code-%c.%u.%u\ncategory %s\npriority %d\nside %s\n"
                                   "status %c.%u.%u\n\n",
                              cls[k], e->subject, e->detail, cats[k]->id, e->weight,
                              bg_side_name(e->side), cls[k], e->subject, e->detail);
    }
    return bg_buf_failed(out) ? -1 : 0;
}
