/* bg_auth: authentication diagnosis for a bounce about SPF, DKIM, DMARC
 * or reverse DNS.
 *
 * Runs the lookups (bg_spf, bg_dmarc, PTR through bg_dns) within one
 * budget and turns the facts into advice an administrator can act on:
 * the record as published and the exact change. The advice texts are in
 * one table below, keyed by situation. It does not decide which bounces
 * deserve a diagnosis beyond bg_auth_wanted, and it does not log: the
 * caller logs one line when the status is not DONE.
 */
#include "bg_auth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_buf.h"
#include "bg_log.h"
#include "bg_auth_org.h"

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
static const char *const bg_auth_words[] = {"spf", "dkim", "dmarc", NULL};

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
        for (int w = 0; diagnostic && bg_auth_words[w]; w++)
            if (strcasestr(diagnostic, bg_auth_words[w]))
                return 1;
    }
    return 0;
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

/* --- advice ---------------------------------------------------------- */

/* The mechanism that authorises one address. */
static void bg_auth_ip_mech(const char *ip, char *out, size_t cap)
{
    snprintf(out, cap, "%s:%s", strchr(ip, ':') ? "ip6" : "ip4", ip);
}

/* Findings and advice for the SPF of one identity. */
static void bg_auth_text_spf(bg_buf *b, const char *what, const bg_spf_result *r)
{
    char mech[80];
    bg_auth_ip_mech(r->ip, mech, sizeof mech);
    bg_buf_printf(b, "- SPF for %s %s: %s.", what, r->domain, bg_spf_code_name(r->result));
    if (r->record[0])
        bg_buf_printf(b, " Record: \"%s\".", r->record);
    if (r->mechanism[0])
        bg_buf_printf(b, " Decided by: %s.", r->mechanism);
    bg_buf_adds(b, "\n");
    switch (r->result) {
    case BG_SPF_PASS:
        bg_buf_printf(b, "  %s authorises %s: nothing to change here.\n", r->domain, r->ip);
        break;
    case BG_SPF_FAIL:
    case BG_SPF_SOFTFAIL:
    case BG_SPF_NEUTRAL:
        bg_buf_printf(b,
                      "  Fix: SPF for %s is \"%s\" and does not authorise %s, the address this "
                      "server sent from: add \"%s\" or include your relay's SPF.\n",
                      r->domain, r->record, r->ip, mech);
        if (r->result != BG_SPF_FAIL)
            bg_buf_printf(b, "  (A %s result counts as a failure for receivers that enforce "
                             "DMARC.)\n", bg_spf_code_name(r->result));
        break;
    case BG_SPF_NONE:
        bg_buf_printf(b,
                      "  Fix: %s publishes no SPF record (%s): publish one at %s, for example "
                      "\"v=spf1 %s -all\".\n",
                      r->domain, r->detail, r->domain, mech);
        break;
    case BG_SPF_PERMERROR:
        bg_buf_printf(b,
                      "  Fix: the SPF record of %s is broken (%s%s%s); receivers treat that as "
                      "a failure. Correct it and keep exactly one v=spf1 TXT record.\n",
                      r->domain, r->detail, r->mechanism[0] ? "; at " : "", r->mechanism);
        break;
    case BG_SPF_TEMPERROR:
        bg_buf_printf(b, "  The DNS lookups for it failed (%s): check the domain's name "
                         "servers.\n", r->detail);
        break;
    }
}

/* Findings and advice for DMARC. */
static void bg_auth_text_dmarc(bg_buf *b, const bg_auth_findings *f)
{
    const bg_dmarc_record *r = &f->dmarc;
    const bg_dmarc_eval *e = &f->eval;
    switch (r->status) {
    case BG_DMARC_MISSING:
        bg_buf_printf(b, "- DMARC for %s: no record (_dmarc.%s).\n", r->from_domain,
                      r->from_domain);
        bg_buf_printf(b, "  Receivers apply their own rules. To take control, publish "
                         "\"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\" at _dmarc.%s and "
                         "make SPF or DKIM align before tightening p=.\n",
                      r->from_domain, r->from_domain);
        return;
    case BG_DMARC_INVALID:
        bg_buf_printf(b, "- DMARC for %s: the record at _dmarc.%s does not parse (%s): \"%s\".\n",
                      r->from_domain, r->record_domain, r->error, r->record);
        bg_buf_adds(b, "  Fix: it needs at least \"v=DMARC1; p=none\" with valid tags.\n");
        return;
    case BG_DMARC_TEMPFAIL:
        bg_buf_printf(b, "- DMARC for %s: not known (%s).\n", r->from_domain, r->error);
        return;
    case BG_DMARC_FOUND:
        break;
    }
    bg_buf_printf(b, "- DMARC for %s (record at _dmarc.%s): p=%s sp=%s adkim=%c aspf=%c pct=%d. "
                     "Record: \"%s\".\n",
                  r->from_domain, r->record_domain, r->p, r->sp, r->adkim, r->aspf, r->pct,
                  r->record);
    if (f->env_checked)
        bg_buf_printf(b, "  SPF alignment: the envelope sender domain %s is %saligned with %s "
                         "(aspf=%c: %s)%s.\n",
                      f->envelope_domain, e->spf_aligned ? "" : "not ", r->from_domain, r->aspf,
                      r->aspf == 's' ? "the same name is needed"
                                     : "the same organisational domain is enough",
                      e->spf_aligned && !e->spf_pass ? ", but SPF does not pass for it" : "");
    if (f->dkim_domain[0])
        bg_buf_printf(b, "  DKIM: the returned message was signed with d=%s%s%s, %saligned with "
                         "%s (adkim=%c).\n",
                      f->dkim_domain, f->dkim_selector[0] ? " s=" : "", f->dkim_selector,
                      e->dkim_aligned ? "" : "not ", r->from_domain, r->adkim);
    else
        bg_buf_adds(b, "  DKIM: the returned message carried no DKIM signature.\n");
    if (e->dmarc_pass) {
        bg_buf_printf(b, "  On these facts DMARC passes (%s). If a receiver still reports a "
                         "DMARC failure, the DKIM signature did not verify there: check that "
                         "nothing changes the message after signing and that the key at "
                         "%s._domainkey.%s is published.\n",
                      e->spf_pass && e->spf_aligned ? "SPF aligned and passing"
                                                    : "aligned DKIM, if the signature verifies",
                      f->dkim_selector[0] ? f->dkim_selector : "SELECTOR",
                      f->dkim_domain[0] ? f->dkim_domain : r->from_domain);
        return;
    }
    if (strcmp(r->record_domain, r->from_domain) != 0)
        bg_buf_printf(b, "  Fix: %s publishes DMARC sp=%s for its subdomain %s", r->record_domain,
                      e->policy, r->from_domain);
    else
        bg_buf_printf(b, "  Fix: %s publishes DMARC p=%s", r->from_domain, e->policy);
    if (!e->spf_aligned && f->env_checked)
        bg_buf_printf(b, " with aspf=%c; the envelope sender %s is not aligned; sign with DKIM "
                         "d=%s or align the envelope sender.\n",
                      r->aspf, f->envelope_domain, r->from_domain);
    else if (f->env_checked && !e->spf_pass)
        bg_buf_printf(b, "; the envelope sender %s is aligned but SPF does not pass for it (see "
                         "above); fix SPF, or sign with DKIM d=%s.\n",
                      f->envelope_domain, r->from_domain);
    else
        bg_buf_printf(b, "; sign with DKIM d=%s.\n", r->from_domain);
}

/* Findings and advice for reverse DNS. */
static void bg_auth_text_ptr(bg_buf *b, const bg_auth_findings *f)
{
    const bg_auth_ptr *p = &f->ptr;
    if (!p->checked)
        return;
    if (p->found && p->confirmed) {
        bg_buf_printf(b, "- Reverse DNS: %s -> %s, which resolves back to %s (confirmed).\n",
                      f->ip, p->name, f->ip);
        if (f->helo[0] && strcasecmp(f->helo, p->name) != 0)
            bg_buf_printf(b, "  Note: this server introduces itself (HELO) as %s, not %s; some "
                             "receivers want them equal.\n", f->helo, p->name);
        return;
    }
    if (p->found) {
        bg_buf_printf(b, "- Reverse DNS: %s -> %s, but %s does not resolve back to %s.\n", f->ip,
                      p->name, p->name, f->ip);
        bg_buf_printf(b, "  Fix: add an %s record %s -> %s, or have the PTR changed to a name "
                         "that does.\n",
                      strchr(f->ip, ':') ? "AAAA" : "A", p->name, f->ip);
        return;
    }
    bg_buf_printf(b, "- Reverse DNS: %s has no PTR record.\n", f->ip);
    bg_buf_printf(b, "  Fix: ask whoever owns %s (your hosting provider or ISP) to set a PTR "
                     "naming this server%s%s, and give that name an %s record pointing back to "
                     "%s.\n",
                  f->ip, f->helo[0] ? ", for example " : "", f->helo,
                  strchr(f->ip, ':') ? "AAAA" : "A", f->ip);
}

/* Copy the text into the fixed field, cut at a line end when too long. */
static void bg_auth_store_text(bg_auth_findings *f, const bg_buf *b)
{
    const char *s = bg_buf_str(b);
    size_t n = strlen(s);
    if (n >= sizeof f->admin_text) {
        n = sizeof f->admin_text - 1;
        while (n > 0 && s[n - 1] != '\n')
            n--;
    }
    memcpy(f->admin_text, s, n);
    f->admin_text[n] = '\0';
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
    if (in && in->ip)
        snprintf(out->ip, sizeof out->ip, "%s", in->ip);
    struct in6_addr tmp;
    if (budget_ms <= 0) {
        out->status = BG_AUTH_OFF;
        snprintf(out->reason, sizeof out->reason, "diagnosis turned off (diagnose_budget 0)");
        return out->status;
    }
    if (!d || (inet_pton(AF_INET, out->ip, &tmp) != 1 && inet_pton(AF_INET6, out->ip, &tmp) != 1) ||
        (!out->envelope_domain[0] && !out->from_domain[0])) {
        out->status = BG_AUTH_NOINPUT;
        snprintf(out->reason, sizeof out->reason, "no sending IP or no sender domain known");
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

    bg_dns_start(d, budget_ms);
    if (env_ok) {
        out->env_checked = 1;
        bg_spf_check(d, out->ip, out->envelope_domain, &out->spf_env);
    }
    if (out->helo[0] && strcmp(out->helo, out->envelope_domain) != 0) {
        out->helo_checked = 1;
        bg_spf_check(d, out->ip, out->helo, &out->spf_helo);
    }
    if (from_ok) {
        out->dmarc_checked = 1;
        bg_dmarc_lookup(d, out->from_domain, &out->dmarc);
        bg_dmarc_evaluate(&out->dmarc, out->envelope_domain,
                          out->env_checked ? out->spf_env.result : BG_SPF_NONE, out->dkim_domain,
                          &out->eval);
    }
    bg_auth_check_ptr(d, out->ip, &out->ptr);
    out->elapsed_ms = bg_dns_elapsed_ms(d);
    if (bg_dns_failed(d)) {
        out->status = BG_AUTH_FAILED;
        snprintf(out->reason, sizeof out->reason, "%s (after %ld ms)", bg_dns_failure(d),
                 out->elapsed_ms);
        return out->status;
    }

    bg_buf b;
    bg_buf_init(&b);
    bg_buf_printf(&b, "Authentication check of this server's setup, sending from %s "
                      "(DNS as seen now, %ld ms):\n", out->ip, out->elapsed_ms);
    if (out->env_checked)
        bg_auth_text_spf(&b, "the envelope sender domain", &out->spf_env);
    else if (out->envelope_domain[0])
        bg_buf_printf(&b, "- SPF for %s: not looked up (not one of this server's domains).\n",
                      out->envelope_domain);
    if (out->helo_checked)
        bg_auth_text_spf(&b, "the HELO name", &out->spf_helo);
    if (out->dmarc_checked)
        bg_auth_text_dmarc(&b, out);
    else if (out->from_domain[0])
        bg_buf_printf(&b, "- DMARC for %s: not looked up (not one of this server's domains).\n",
                      out->from_domain);
    bg_auth_text_ptr(&b, out);
    if (bg_buf_failed(&b)) {
        bg_buf_free(&b);
        out->status = BG_AUTH_FAILED;
        snprintf(out->reason, sizeof out->reason, "out of memory");
        return out->status;
    }
    bg_auth_store_text(out, &b);
    bg_buf_free(&b);
    snprintf(out->sender_text, sizeof out->sender_text, "%s", BG_AUTH_SENDER_TEXT);
    out->status = BG_AUTH_DONE;
    return out->status;
}
