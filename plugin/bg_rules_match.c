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
#include "bg_stage.h"
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
    if (ru->stage) {
        bg_stage_ctx *sc = in->stage;
        if (!sc)
            return 0;
        if (!sc->done) {
            for (size_t i = 0; i < 3 && !sc->stage; i++)
                if (sc->texts[i])
                    sc->stage = bg_stage_find(sc->texts[i], (unsigned long)-1);
            sc->done = 1;
        }
        if (!(ru->stage & sc->stage))
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

/* A status code packed into one number ("5.7.606" -> 5, 7, 606), 0 when
 * it is not an exact code. Subject and detail have at most 3 digits. */
static unsigned bg_rules_code_key(const char *s)
{
    unsigned part[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 3) {
            part[k] = part[k] * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (!digits || (k < 2 && *s++ != '.'))
            return 0;
    }
    if (*s)
        return 0;
    return part[0] << 20 | part[1] << 10 | part[2];
}

static int bg_code_ix_cmp(const void *a, const void *b)
{
    const struct bg_code_ix *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

void bg_rules_free_codes(bg_rules *r)
{
    free(r->code);
    free(r->wild);
    free(r->plain);
    r->code = NULL;
    r->wild = r->plain = NULL;
    r->ncode = r->nwild = r->nplain = 0;
}

int bg_rules_index_codes(bg_rules *r)
{
    bg_rules_free_codes(r);
    size_t ncode = 0;
    for (size_t i = 0; i < r->nrule; i++)
        if (!r->rule[i].nphrase)
            ncode += r->rule[i].nstatus;
    r->code = malloc((ncode ? ncode : 1) * sizeof *r->code);
    r->wild = malloc((r->nrule ? r->nrule : 1) * sizeof *r->wild);
    r->plain = malloc((r->nrule ? r->nrule : 1) * sizeof *r->plain);
    if (!r->code || !r->wild || !r->plain) {
        bg_rules_free_codes(r);
        return -1;
    }
    for (size_t i = 0; i < r->nrule; i++) {
        const bg_rule *ru = &r->rule[i];
        if (ru->nphrase)
            continue;
        if (!ru->nstatus) {
            r->plain[r->nplain++] = (unsigned)i;
            continue;
        }
        int wild = 0;
        for (size_t k = 0; k < ru->nstatus; k++) {
            unsigned key = bg_rules_code_key(ru->status[k]);
            if (key) {
                r->code[r->ncode].key = key;
                r->code[r->ncode++].rule = (unsigned)i;
            } else {
                wild = 1;
            }
        }
        if (wild)
            r->wild[r->nwild++] = (unsigned)i;
    }
    if (r->ncode)
        qsort(r->code, r->ncode, sizeof *r->code, bg_code_ix_cmp);
    return 0;
}

/* Mark the phrase-less rules whose status condition can hold (or that
 * have none), so that the precedence walk visits only them and the rules
 * whose phrases occurred. */
static void bg_rules_mark_codes(const bg_rules *r, const char *status, uint64_t *hit)
{
    for (size_t k = 0; k < r->nplain; k++)
        hit[r->plain[k] / 64] |= (uint64_t)1 << (r->plain[k] % 64);
    if (!status || !status[0])
        return;
    for (size_t k = 0; k < r->nwild; k++)
        hit[r->wild[k] / 64] |= (uint64_t)1 << (r->wild[k] % 64);
    unsigned key = bg_rules_code_key(status);
    if (!key || !r->ncode)
        return;
    size_t lo = 0, hi = r->ncode;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->code[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < r->ncode && r->code[lo].key == key; lo++)
        hit[r->code[lo].rule / 64] |= (uint64_t)1 << (r->code[lo].rule % 64);
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
    bg_rules_mark_codes(r, in->status, hit);
    /* the marked rules in precedence order (bit order); i ends past the
     * cause, or at the end when there is none */
    size_t i = r->nrule;
    for (size_t w = 0; w < words && !res->cause; w++) {
        uint64_t bits = hit[w];
        while (bits) {
            size_t k = w * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            const bg_rule *ru = &r->rule[k];
            if (!bg_rule_conditions(ru, in))
                continue;
            if (want_split && bg_rule_is_timing(ru)) {
                if (!res->timing)
                    res->timing = ru;
                continue;
            }
            res->cause = ru;
            i = k + 1;
            break;
        }
    }
    /* past the cause, only the timing rules need a look */
    for (size_t k = 0; want_split && !res->timing && k < r->ntiming; k++) {
        size_t t = r->timing[k];
        const bg_rule *ru = &r->rule[t];
        if (t < i || !(hit[t / 64] & ((uint64_t)1 << (t % 64))))
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
