/* bg_rules_match: matching a text against a compiled rule set (the other
 * half of bg_rules: bg_rules.c parses and compiles). One Aho-Corasick pass
 * per text marks the rules whose phrases occur as words; the first rule in
 * precedence order whose other conditions hold decides.
 */
#include "bg_rules_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_ac.h"
#include "bg_status.h"


typedef struct bg_scan {
    const bg_rules *r;
    const char *text;
    size_t len;
    uint64_t *hit;
} bg_scan;

/* A phrase occurrence counts when its word boundaries hold. */
static int bg_scan_hit(unsigned id, size_t start, size_t end, void *ctx)
{
    bg_scan *sc = ctx;
    const bg_phrase *ph = &sc->r->ph[id];
    if (ph->left_word && start > 0 && bg_is_word((unsigned char)sc->text[start - 1]))
        return 0;
    if (ph->right_word && end < sc->len && bg_is_word((unsigned char)sc->text[end]))
        return 0;
    sc->hit[ph->rule / 64] |= (uint64_t)1 << (ph->rule % 64);
    return 0;
}

/* Length of a multi-line reply's continuation prefix at p ("550-5.7.1 ",
 * "550 5.7.1 " or "550-"), 0 when there is none. */
static size_t bg_scan_reply_prefix(const char *p)
{
    if (!(p[0] >= '2' && p[0] <= '5') || !isdigit((unsigned char)p[1]) ||
        !isdigit((unsigned char)p[2]) || (p[3] != '-' && p[3] != ' '))
        return 0;
    if (bg_status_valid(p + 4) && p[4] == p[0]) {
        size_t n = 4 + bg_status_valid(p + 4);
        return p[n] == ' ' ? n + 1 : (p[n] ? 0 : n);
    }
    return p[3] == '-' ? 4 : 0;
}

/* Copy text with every run of white space made one space and the
 * continuation prefixes of multi-line replies dropped (so "multiple
 * 550-5.7.1 addresses" reads "multiple addresses"), bounded. */
static size_t bg_scan_norm(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    int sp = 0;
    for (; *in && n + 1 < outlen; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
            sp = 1;
            continue;
        }
        if (sp || n == 0) {
            size_t k = bg_scan_reply_prefix(in);
            if (k) {
                in += k - 1;
                sp = 1;
                continue;
            }
        }
        if (sp && n) {
            out[n++] = ' ';
            if (n + 1 >= outlen)
                break;
        }
        sp = 0;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n;
}

/* 1 when host is domain or a name under it (case ignored; a trailing
 * dot, brackets or a port after the name do not matter). */
static int bg_domain_under(const char *host, const char *domain)
{
    size_t hl = 0, dl = strlen(domain);
    while (host[hl] && host[hl] != ' ' && host[hl] != ']' && host[hl] != ':' && host[hl] != ';')
        hl++;
    if (hl && host[hl - 1] == '.')
        hl--;
    if (hl < dl || strncasecmp(host + hl - dl, domain, dl) != 0)
        return 0;
    return hl == dl || host[hl - dl - 1] == '.';
}

/* A rule's non-phrase conditions. */
static int bg_rule_conditions(const bg_rule *ru, const bg_match_input *in)
{
    if (ru->nstatus) {
        size_t i = 0;
        while (i < ru->nstatus && !bg_rule_status_match(ru->status[i], in->status))
            i++;
        if (i == ru->nstatus)
            return 0;
    }
    if (ru->nreply) {
        size_t i = 0;
        while (i < ru->nreply && !bg_rule_reply_match(ru->reply[i], in->reply))
            i++;
        if (i == ru->nreply)
            return 0;
    }
    if (ru->nparser) {
        size_t i = 0;
        const char *p = in->parser ? in->parser : "";
        while (i < ru->nparser && strcmp(ru->parser[i], p) != 0)
            i++;
        if (i == ru->nparser)
            return 0;
    }
    if (ru->nmta) {
        size_t i = 0;
        const char *m = in->remote_mta ? in->remote_mta : "";
        while (i < ru->nmta && !bg_domain_under(m, ru->mta[i]))
            i++;
        if (i == ru->nmta)
            return 0;
    }
    if (ru->ntype) {
        size_t i = 0;
        const char *t = in->diag_type ? in->diag_type : "";
        while (i < ru->ntype && strcasecmp(ru->type[i], t) != 0)
            i++;
        if (i == ru->ntype)
            return 0;
    }
    return 1;
}

int bg_rule_is_timing(const bg_rule *ru)
{
    return strcmp(bg_rule_cat(ru)->id, "expired") == 0;
}

/* One automaton pass per text marks the rules whose phrases occur; then
 * the rules are tried in precedence order. With want_split, the first
 * cause and the first timing rule are both found; else the first rule. */
static void bg_rules_scan(const bg_rules *r, const bg_match_input *in, int want_split,
                          bg_match_result *res)
{
    res->cause = res->timing = NULL;
    if (!r || !in)
        return;
    uint64_t local[64];
    size_t words = (r->nrule + 63) / 64;
    uint64_t *hit = words <= 64 ? local : calloc(words, sizeof *hit);
    if (!hit)
        return;
    memset(hit, 0, words * sizeof *hit);
    char buf[BG_RULES_TEXT_MAX];
    for (size_t t = 0; t < 2; t++) {
        if (!in->texts[t] || !in->texts[t][0])
            continue;
        bg_scan sc = {r, buf, 0, hit};
        sc.len = bg_scan_norm(in->texts[t], buf, sizeof buf);
        bg_ac_scan(r->ac, buf, sc.len, bg_scan_hit, &sc);
    }
    size_t i = 0;
    for (; i < r->nrule && !res->cause; i++) {
        const bg_rule *ru = &r->rule[i];
        if (ru->nphrase && !(hit[i / 64] & ((uint64_t)1 << (i % 64))))
            continue;
        if (!bg_rule_conditions(ru, in))
            continue;
        if (want_split && bg_rule_is_timing(ru)) {
            if (!res->timing)
                res->timing = ru;
            continue;
        }
        res->cause = ru;
    }
    /* past the cause, only the timing rules need a look */
    for (size_t k = 0; want_split && !res->timing && k < r->ntiming; k++) {
        size_t t = r->timing[k];
        const bg_rule *ru = &r->rule[t];
        if (t < i || (ru->nphrase && !(hit[t / 64] & ((uint64_t)1 << (t % 64)))))
            continue;
        if (bg_rule_conditions(ru, in))
            res->timing = ru;
    }
    if (hit != local)
        free(hit);
}

const bg_rule *bg_rules_match(const bg_rules *r, const bg_match_input *in)
{
    bg_match_result res;
    bg_rules_scan(r, in, 0, &res);
    return res.cause;
}

void bg_rules_match_split(const bg_rules *r, const bg_match_input *in, bg_match_result *res)
{
    bg_rules_scan(r, in, 1, res);
}
