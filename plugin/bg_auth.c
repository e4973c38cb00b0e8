/* bg_auth: authentication diagnosis for a bounce about SPF, DKIM, DMARC
 * or reverse DNS -- the facts.
 *
 * Decides which address receivers saw (bg_auth_pick_ip), runs the
 * lookups (bg_spf, bg_dmarc, bg_dkim, PTR through bg_dns) within one
 * budget, and hands the facts to bg_auth_build (bg_auth_build.c), which
 * turns them into findings. It makes no words and does not log: the
 * caller logs one line when the status is not DONE.
 */
#include "bg_auth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_auth_int.h"
#include "bg_auth_org.h"
#include "bg_log.h"

static const char *const bg_auth_status_names[] = {"done", "off", "noinput", "refused",
                                                   "failed"};

const char *bg_auth_status_name(bg_auth_status s)
{
    if ((unsigned)s >= sizeof bg_auth_status_names / sizeof bg_auth_status_names[0])
        return "failed";
    return bg_auth_status_names[s];
}

/* Categories that are about authentication whatever the text says. */
static const char *const bg_auth_categories[] = {
    "spf-failure", "dkim-failure", "dmarc-failure", "reverse-dns-failure", NULL,
};
/* Categories that are, when the text names a mechanism. */
static const char *const bg_auth_maybe_categories[] = {
    "policy-rejected", "content-rejected", NULL,
};
static const char *const bg_auth_mech_words[] = {"spf", "dkim", "dmarc", NULL};

int bg_auth_wanted(const char *category_id, const char *diagnostic)
{
    if (!category_id)
        return 0;
    for (int i = 0; bg_auth_categories[i]; i++)
        if (strcmp(category_id, bg_auth_categories[i]) == 0)
            return 1;
    for (int i = 0; bg_auth_maybe_categories[i]; i++) {
        if (strcmp(category_id, bg_auth_maybe_categories[i]) != 0)
            continue;
        for (int w = 0; diagnostic && bg_auth_mech_words[w]; w++)
            if (strcasestr(diagnostic, bg_auth_mech_words[w]))
                return 1;
    }
    return 0;
}

int bg_auth_wants_dkim(const char *category_id, const char *diagnostic)
{
    if (!bg_auth_wanted(category_id, diagnostic))
        return 0;
    if (strcmp(category_id, "dkim-failure") == 0 || strcmp(category_id, "dmarc-failure") == 0)
        return 1;
    return diagnostic && (strcasestr(diagnostic, "dkim") || strcasestr(diagnostic, "dmarc"));
}

long bg_auth_budget_ms(const bg_config *cfg, const char *domain)
{
    const char *v = cfg ? bg_config_get(cfg, domain, "diagnose_budget", NULL) : NULL;
    if (!v || !*v)
        return BG_AUTH_DEFAULT_BUDGET_MS;
    size_t n = strlen(v);
    if (n > 2 && strcasecmp(v + n - 2, "ms") == 0) {
        char *end = NULL;
        long ms = strtol(v, &end, 10);
        if (end == v + n - 2 && ms >= 0)
            return ms;
    } else {
        long long s = 0;
        if (bg_config_parse_num(v, &s) == 0 && s >= 0 && s < 3600)
            return (long)s * 1000;
    }
    bg_logf(BG_LOG_WARN, "config: diagnose_budget '%.40s' is not a duration; using %d ms", v,
            BG_AUTH_DEFAULT_BUDGET_MS);
    return BG_AUTH_DEFAULT_BUDGET_MS;
}

/* Lower-case a domain, drop a trailing dot; "" when it has characters a
 * host name cannot have (remote text is hostile). */
static void bg_auth_clean_domain(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    dst[0] = '\0';
    if (!s)
        return;
    for (; *s && n + 1 < cap; s++) {
        unsigned char c = (unsigned char)tolower((unsigned char)*s);
        if (!(isalnum(c) || c == '.' || c == '-' || c == '_')) {
            dst[0] = '\0';
            return;
        }
        dst[n++] = (char)c;
    }
    if (*s) { /* too long */
        dst[0] = '\0';
        return;
    }
    while (n > 0 && dst[n - 1] == '.')
        n--;
    dst[n] = '\0';
}

const char *bg_auth_addr_domain(const char *addr, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return "";
    out[0] = '\0';
    if (!addr)
        return out;
    const char *start = addr, *end = addr + strlen(addr);
    const char *lt = strrchr(addr, '<');
    if (lt) {
        const char *gt = strchr(lt, '>');
        start = lt + 1;
        end = gt ? gt : end;
    }
    const char *at = NULL;
    for (const char *p = start; p < end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return out;
    const char *d = at + 1;
    size_t n = 0;
    while (d + n < end && !strchr(" \t>;,()\"", d[n]))
        n++;
    char tmp[256];
    if (n == 0 || n >= sizeof tmp)
        return out;
    memcpy(tmp, d, n);
    tmp[n] = '\0';
    bg_auth_clean_domain(out, outlen, tmp);
    return out;
}

/* a and b under one organisation (or equal). */
static int bg_auth_same_org(const char *a, const char *b)
{
    return bg_auth_org_aligned(a, b, 0);
}

/* bg_config_domains callback: does a section domain share d's organisation? */
typedef struct bg_auth_match {
    const char *domain;
    int found;
} bg_auth_match;

static void bg_auth_match_section(const char *section, void *ctx)
{
    bg_auth_match *m = ctx;
    if (!m->found && bg_auth_same_org(m->domain, *section == '.' ? section + 1 : section))
        m->found = 1;
}

int bg_auth_domain_ours(const bg_config *cfg, const char *domain, const char *const *extra,
                        size_t nextra)
{
    if (!domain || !*domain)
        return 0;
    const char *list = cfg ? bg_config_get(cfg, NULL, "diagnose_domains", NULL) : NULL;
    if (list && *list) {
        char copy[2048];
        snprintf(copy, sizeof copy, "%s", list);
        char *save = NULL;
        for (char *t = strtok_r(copy, " ,:;\t", &save); t; t = strtok_r(NULL, " ,:;\t", &save))
            if (bg_auth_same_org(domain, *t == '.' ? t + 1 : t))
                return 1;
        return 0;
    }
    for (size_t i = 0; i < nextra; i++)
        if (extra && extra[i] && bg_auth_same_org(domain, extra[i]))
            return 1;
    bg_auth_match m = {domain, 0};
    if (cfg)
        bg_config_domains(cfg, bg_auth_match_section, &m);
    return m.found;
}

/* --- reverse DNS ----------------------------------------------------- */

/* The PTR owner name of ip: d.c.b.a.in-addr.arpa or the ip6.arpa nibbles. */
static int bg_auth_reverse_name(const char *ip, char *out, size_t cap)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        const unsigned char *b = (const unsigned char *)&a4;
        snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
        return AF_INET;
    }
    if (inet_pton(AF_INET6, ip, &a6) == 1) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;
        for (int i = 15; i >= 0 && o + 4 < cap; i--) {
            out[o++] = hex[a6.s6_addr[i] & 15];
            out[o++] = '.';
            out[o++] = hex[a6.s6_addr[i] >> 4];
            out[o++] = '.';
        }
        snprintf(out + o, cap - o, "ip6.arpa");
        return AF_INET6;
    }
    return 0;
}

/* PTR of ip and whether its name resolves back to ip (forward-confirmed). */
static void bg_auth_check_ptr(bg_dns *d, const char *ip, bg_auth_ptr *p)
{
    char rev[128];
    int af = bg_auth_reverse_name(ip, rev, sizeof rev);
    if (!af)
        return;
    p->checked = 1;
    SPF_dns_rr_t *rr = bg_dns_lookup(d, rev, ns_t_ptr);
    if (!rr || rr->herrno == TRY_AGAIN) {
        p->tempfail = 1;
        SPF_dns_rr_free(rr);
        return;
    }
    if (rr->herrno == NETDB_SUCCESS && rr->num_rr > 0) {
        p->found = 1;
        bg_auth_clean_domain(p->name, sizeof p->name, rr->rr[0]->ptr);
    }
    SPF_dns_rr_free(rr);
    if (!p->found || !p->name[0])
        return;
    SPF_dns_rr_t *fw = bg_dns_lookup(d, p->name, af == AF_INET ? ns_t_a : ns_t_aaaa);
    if (!fw) {
        p->tempfail = 1;
        return;
    }
    if (fw->herrno == TRY_AGAIN)
        p->tempfail = 1;
    for (int i = 0; fw->herrno == NETDB_SUCCESS && i < fw->num_rr; i++) {
        char txt[INET6_ADDRSTRLEN];
        if (inet_ntop(af, af == AF_INET ? (void *)&fw->rr[i]->a : (void *)&fw->rr[i]->aaaa, txt,
                      sizeof txt)) {
            unsigned char x[16], y[16];
            if (inet_pton(af, txt, x) == 1 && inet_pton(af, ip, y) == 1 &&
                memcmp(x, y, af == AF_INET ? 4 : 16) == 0)
                p->confirmed = 1;
        }
    }
    SPF_dns_rr_free(fw);
}

/* --- which address receivers saw ------------------------------------ */

/* Copy ip into dst when it is an address; its class. */
static bg_addr_class bg_auth_take_ip(char *dst, size_t cap, const char *ip)
{
    bg_addr_class c = bg_auth_class_addr(ip);
    snprintf(dst, cap, "%s", c != BG_ADDR_INVALID ? ip : "");
    return c;
}

/* The address receivers saw, and where it came from. Through a smarthost
 * this host's own end (the store's record) is never it: only the
 * receiver's reply, sending_ip or an address given by hand are. Sending
 * directly it is the local end when that is public, else the same
 * others. Whatever local end is not used is kept in local_ip. */
static void bg_auth_pick_ip(const bg_auth_input *in, bg_auth_findings *out)
{
    char local[64], conf[64], reply[64];
    bg_addr_class lc = bg_auth_take_ip(local, sizeof local, in->ip);
    bg_addr_class cc = bg_auth_take_ip(conf, sizeof conf, in->config_ip);
    bg_addr_class rc = bg_auth_take_ip(reply, sizeof reply, in->reply_ip);
    int smarthost = out->topo.kind == BG_TOPO_SMARTHOST;
    int local_counts = bg_auth_addr_public(lc) && (!smarthost || in->ip_source == BG_AUTH_IP_GIVEN);
    const char *pick = "";
    bg_auth_ip_source src = BG_AUTH_IP_NONE;
    if (local_counts) {
        pick = local;
        src = in->ip_source == BG_AUTH_IP_GIVEN ? BG_AUTH_IP_GIVEN : BG_AUTH_IP_STORE;
    } else if (bg_auth_addr_public(rc)) {
        pick = reply;
        src = BG_AUTH_IP_REPLY;
    } else if (bg_auth_addr_public(cc)) {
        pick = conf;
        src = BG_AUTH_IP_CONFIG;
    }
    snprintf(out->ip, sizeof out->ip, "%s", pick);
    out->ip_source = src;
    if (!local_counts && local[0]) {
        snprintf(out->local_ip, sizeof out->local_ip, "%s", local);
        out->local_class = lc;
    } else if (!local[0] && conf[0] && !bg_auth_addr_public(cc)) {
        snprintf(out->local_ip, sizeof out->local_ip, "%s", conf);
        out->local_class = cc;
    }
}

/* When the smarthost's sending address is not known: its own address
 * (an address literal, or the first A/AAAA of its public name), checked
 * against the envelope domain's SPF as a hint. */
static void bg_auth_smarthost_hint(bg_dns *d, bg_auth_findings *out)
{
    const char *sh = out->topo.smarthost;
    bg_addr_class ac = bg_auth_class_addr(sh);
    if (ac != BG_ADDR_INVALID) {
        if (bg_auth_addr_public(ac))
            snprintf(out->hint_ip, sizeof out->hint_ip, "%.63s", sh[0] == '[' ? sh + 1 : sh);
        out->hint_ip[strcspn(out->hint_ip, "]")] = '\0';
    } else if (bg_auth_name_public(bg_auth_class_name(sh))) {
        static const int types[] = {ns_t_a, ns_t_aaaa};
        for (int t = 0; t < 2 && !out->hint_ip[0]; t++) {
            SPF_dns_rr_t *rr = bg_dns_lookup(d, sh, types[t]);
            if (rr && rr->herrno == NETDB_SUCCESS && rr->num_rr > 0) {
                char txt[INET6_ADDRSTRLEN];
                if (inet_ntop(t ? AF_INET6 : AF_INET,
                              t ? (void *)&rr->rr[0]->aaaa : (void *)&rr->rr[0]->a, txt,
                              sizeof txt) &&
                    bg_auth_addr_public(bg_auth_class_addr(txt)))
                    snprintf(out->hint_ip, sizeof out->hint_ip, "%s", txt);
            }
            SPF_dns_rr_free(rr);
        }
    }
    if (out->hint_ip[0]) {
        out->hint_checked = 1;
        bg_spf_check(d, out->hint_ip, out->envelope_domain, &out->spf_hint);
    }
}

/* The key records to check: the signature's (when its domain may be
 * looked up), then the one this host is set to sign with, when that is
 * another. */
static void bg_auth_check_keys(bg_dns *d, const bg_auth_input *in, bg_auth_findings *out)
{
    char dom[2][256], sel[2][128];
    int n = 0;
    if (out->dkim_domain[0] && out->dkim_selector[0]) {
        snprintf(dom[n], sizeof dom[n], "%s", out->dkim_domain);
        snprintf(sel[n], sizeof sel[n], "%s", out->dkim_selector);
        n++;
    }
    const bg_auth_topo *t = &out->topo;
    const char *cd = t->dkim_domain_from ? out->from_domain : t->dkim_domain;
    if (cd[0] && t->dkim_selector[0] &&
        !(n && strcmp(cd, dom[0]) == 0 && strcmp(t->dkim_selector, sel[0]) == 0)) {
        bg_auth_clean_domain(dom[n], sizeof dom[n], cd);
        bg_auth_clean_domain(sel[n], sizeof sel[n], t->dkim_selector);
        if (dom[n][0] && sel[n][0])
            n++;
    }
    for (int i = 0; i < n; i++) {
        bg_dkim_key *k = &out->keys[out->nkeys];
        memset(k, 0, sizeof *k);
        snprintf(k->name, sizeof k->name, "%.60s._domainkey.%.240s", sel[i], dom[i]);
        snprintf(out->key_domain[out->nkeys], sizeof out->key_domain[0], "%s", dom[i]);
        snprintf(out->key_selector[out->nkeys], sizeof out->key_selector[0], "%s", sel[i]);
        if (bg_auth_name_public(bg_auth_class_name(dom[i])) &&
            (!in->allow || in->allow(dom[i], in->allow_ctx)))
            bg_dkim_lookup(d, dom[i], sel[i], k);
        else
            out->key_skipped[out->nkeys] = 1; /* not ours: named, never asked about */
        out->nkeys++;
    }
}

bg_auth_status bg_auth_diagnose(bg_dns *d, const bg_auth_input *in, long budget_ms,
                                bg_auth_findings *out)
{
    memset(out, 0, sizeof *out);
    bg_auth_clean_domain(out->envelope_domain, sizeof out->envelope_domain,
                         in ? in->envelope_domain : NULL);
    bg_auth_clean_domain(out->from_domain, sizeof out->from_domain, in ? in->from_domain : NULL);
    bg_auth_clean_domain(out->helo, sizeof out->helo, in ? in->helo : NULL);
    bg_auth_clean_domain(out->dkim_domain, sizeof out->dkim_domain, in ? in->dkim_domain : NULL);
    bg_auth_clean_domain(out->dkim_selector, sizeof out->dkim_selector,
                         in ? in->dkim_selector : NULL);
    if (in && in->topo)
        out->topo = *in->topo;
    /* a signature in the copy is visible whoever made it; no signature in
     * it means "unsigned" only when the copy would show ours */
    out->sig_visible = out->dkim_domain[0] || (in && in->sig_visible);
    /* what DMARC sees of DKIM: the signature when the copy shows it, else
     * what this host is set to sign with */
    const char *cd = out->topo.dkim_domain_from ? out->from_domain : out->topo.dkim_domain;
    if (!out->sig_visible && out->topo.dkim_source != BG_TOPO_SRC_NONE && out->topo.dkim_selector[0])
        bg_auth_clean_domain(out->dkim_assumed, sizeof out->dkim_assumed, cd);
    if (budget_ms <= 0) {
        out->status = BG_AUTH_OFF;
        snprintf(out->reason, sizeof out->reason, "diagnosis turned off (diagnose_budget 0)");
        return out->status;
    }
    if (!d || !in || (!out->envelope_domain[0] && !out->from_domain[0])) {
        out->status = BG_AUTH_NOINPUT;
        snprintf(out->reason, sizeof out->reason, "no sender domain known");
        return out->status;
    }
    int env_ok = out->envelope_domain[0] &&
                 (!in->allow || in->allow(out->envelope_domain, in->allow_ctx));
    int from_ok = out->from_domain[0] && (!in->allow || in->allow(out->from_domain, in->allow_ctx));
    if (!env_ok && !from_ok) {
        out->status = BG_AUTH_REFUSED;
        snprintf(out->reason, sizeof out->reason,
                 "%.120s / %.120s: not one of this server's sending domains; not looked up",
                 out->envelope_domain, out->from_domain);
        return out->status;
    }
    out->env_class = bg_auth_class_name(out->envelope_domain);
    out->from_class = bg_auth_class_name(out->from_domain);
    out->helo_class = bg_auth_class_name(out->helo);
    bg_auth_pick_ip(in, out);
    int smarthost = out->topo.kind == BG_TOPO_SMARTHOST;

    bg_dns_start(d, budget_ms);
    if (env_ok && bg_auth_name_public(out->env_class)) {
        out->env_checked = 1;
        if (out->ip[0])
            bg_spf_check(d, out->ip, out->envelope_domain, &out->spf_env);
        else
            bg_spf_record(d, out->envelope_domain, &out->spf_env);
        if (!out->ip[0] && smarthost && out->topo.smarthost[0])
            bg_auth_smarthost_hint(d, out);
    }
    /* the HELO name matters to receivers only when this host talks to them
     * (not through a smarthost, nor through whatever took the mail on loopback) */
    int relayed = smarthost || (out->local_ip[0] && out->local_class == BG_ADDR_LOOPBACK);
    if (!relayed && out->ip[0] && bg_auth_name_public(out->helo_class) &&
        strcmp(out->helo, out->envelope_domain) != 0) {
        out->helo_checked = 1;
        bg_spf_check(d, out->ip, out->helo, &out->spf_helo);
    }
    if (from_ok && bg_auth_name_public(out->from_class)) {
        out->dmarc_checked = 1;
        bg_dmarc_lookup(d, out->from_domain, &out->dmarc);
        bg_dmarc_evaluate(&out->dmarc, out->envelope_domain,
                          out->spf_env.evaluated ? out->spf_env.result : BG_SPF_NONE,
                          out->sig_visible ? out->dkim_domain : out->dkim_assumed, &out->eval);
    }
    if (in->check_dkim)
        bg_auth_check_keys(d, in, out);
    if (out->ip[0])
        bg_auth_check_ptr(d, out->ip, &out->ptr);
    out->elapsed_ms = bg_dns_elapsed_ms(d);
    if (bg_dns_failed(d)) {
        out->status = BG_AUTH_FAILED;
        snprintf(out->reason, sizeof out->reason, "%s (after %ld ms)", bg_dns_failure(d),
                 out->elapsed_ms);
        return out->status;
    }
    if (bg_auth_build(out, in) < 0) {
        out->status = BG_AUTH_FAILED;
        snprintf(out->reason, sizeof out->reason, "too many findings for one bounce");
        return out->status;
    }
    out->status = BG_AUTH_DONE;
    return out->status;
}
