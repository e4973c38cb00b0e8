/* bg_dmarc: a domain's DMARC policy and how our mail aligns with it.
 *
 * OpenDMARC parses the record (opendmarc_policy_store_dmarc, the fetch
 * functions); its own DNS code (res_query, unbounded) is never used:
 * records come from bg_dns. Alignment and the verdict are ours, with
 * bg_auth_org (libpsl): OpenDMARC 1.4.2's opendmarc_policy_check_alignment() treats a
 * subdomain as aligned in strict mode (it compares the organisational
 * domain of the second name with the first), so its
 * opendmarc_get_policy_to_enforce() passes aspf=s mail from
 * bounces.example.com for From: example.com. docs/auth-diagnosis.md.
 */
#include "bg_dmarc.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendmarc/dmarc.h>

#include "bg_log.h"
#include "bg_auth_org.h"

/* libopendmarc is opened on first use, not linked: every Exim process
 * that loads the plugin (each SMTP connection, each bounce) would
 * otherwise map it and its dependencies (libbsd, libmd) -- about a
 * millisecond each time -- for a parse that only bounces about
 * authentication need. The types come from OpenDMARC's own header. */
#define BG_OPENDMARC_SONAME "libopendmarc.so.2"
static struct {
    __typeof__(&opendmarc_policy_connect_init) connect_init;
    __typeof__(&opendmarc_policy_connect_shutdown) connect_shutdown;
    __typeof__(&opendmarc_policy_store_dmarc) store_dmarc;
    __typeof__(&opendmarc_policy_status_to_str) status_to_str;
    __typeof__(&opendmarc_policy_fetch_p) fetch_p;
    __typeof__(&opendmarc_policy_fetch_sp) fetch_sp;
    __typeof__(&opendmarc_policy_fetch_adkim) fetch_adkim;
    __typeof__(&opendmarc_policy_fetch_aspf) fetch_aspf;
    __typeof__(&opendmarc_policy_fetch_pct) fetch_pct;
    int ok;
    char why[200];
} bg_od;
static pthread_once_t bg_od_once = PTHREAD_ONCE_INIT;

#define BG_OD_SYM(h, field, name)                                   \
    do {                                                            \
        *(void **)(&bg_od.field) = dlsym(h, name);                  \
        if (!bg_od.field) {                                         \
            snprintf(bg_od.why, sizeof bg_od.why, "%s: no %s",      \
                     BG_OPENDMARC_SONAME, name);                    \
            return;                                                 \
        }                                                           \
    } while (0)

/* Open the library once per process; on failure bg_od.why says why. */
static void bg_od_open(void)
{
    void *h = dlopen(BG_OPENDMARC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(bg_od.why, sizeof bg_od.why, "%s", e ? e : BG_OPENDMARC_SONAME ": cannot load");
        return;
    }
    BG_OD_SYM(h, connect_init, "opendmarc_policy_connect_init");
    BG_OD_SYM(h, connect_shutdown, "opendmarc_policy_connect_shutdown");
    BG_OD_SYM(h, store_dmarc, "opendmarc_policy_store_dmarc");
    BG_OD_SYM(h, status_to_str, "opendmarc_policy_status_to_str");
    BG_OD_SYM(h, fetch_p, "opendmarc_policy_fetch_p");
    BG_OD_SYM(h, fetch_sp, "opendmarc_policy_fetch_sp");
    BG_OD_SYM(h, fetch_adkim, "opendmarc_policy_fetch_adkim");
    BG_OD_SYM(h, fetch_aspf, "opendmarc_policy_fetch_aspf");
    BG_OD_SYM(h, fetch_pct, "opendmarc_policy_fetch_pct");
    bg_od.ok = 1; /* the handle stays open for the life of the process */
}

static const char *const bg_dmarc_status_names[] = {"found", "missing", "invalid", "tempfail"};

static const char *const bg_dmarc_why_ids[] = {"none", "dns", "unavailable", "nomem",
                                               "empty", "parse"};

const char *bg_dmarc_why_id(bg_dmarc_why w)
{
    if ((unsigned)w >= sizeof bg_dmarc_why_ids / sizeof bg_dmarc_why_ids[0])
        return "none";
    return bg_dmarc_why_ids[w];
}

const char *bg_dmarc_status_name(bg_dmarc_status s)
{
    if ((unsigned)s >= sizeof bg_dmarc_status_names / sizeof bg_dmarc_status_names[0])
        return "tempfail";
    return bg_dmarc_status_names[s];
}

static const char *bg_dmarc_policy_name(int p)
{
    switch (p) {
    case DMARC_RECORD_P_NONE: return "none";
    case DMARC_RECORD_P_QUARANTINE: return "quarantine";
    case DMARC_RECORD_P_REJECT: return "reject";
    default: return "";
    }
}

/* Lower-case, trailing dot removed, bounded. */
static void bg_dmarc_norm(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap; s++)
        dst[n++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s + 32) : *s;
    while (n > 0 && dst[n - 1] == '.')
        n--;
    dst[n] = '\0';
}

/* Copy one line of printable text. */
static void bg_dmarc_copy_line(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 1 < cap; s++)
        dst[o++] = ((unsigned char)*s < 0x20) ? ' ' : *s;
    dst[o] = '\0';
}

bg_dmarc_status bg_dmarc_parse(const char *from_domain, const char *record_domain,
                               const char *record, bg_dmarc_record *out)
{
    memset(out, 0, sizeof *out);
    bg_dmarc_norm(out->from_domain, sizeof out->from_domain, from_domain);
    bg_dmarc_norm(out->record_domain, sizeof out->record_domain,
                  record_domain && *record_domain ? record_domain : from_domain);
    bg_dmarc_copy_line(out->record, sizeof out->record, record);
    out->status = BG_DMARC_INVALID;
    if (!out->from_domain[0] || !out->record[0]) {
        out->why = BG_DMARC_WHY_EMPTY;
        return out->status;
    }
    pthread_once(&bg_od_once, bg_od_open);
    if (!bg_od.ok) {
        out->status = BG_DMARC_TEMPFAIL;
        out->why = BG_DMARC_WHY_UNAVAILABLE;
        snprintf(out->error, sizeof out->error, "%s", bg_od.why);
        return out->status;
    }
    DMARC_POLICY_T *pctx = bg_od.connect_init((u_char *)"192.0.2.1", DMARC_POLICY_IP_TYPE_IPV4);
    if (!pctx) {
        out->status = BG_DMARC_TEMPFAIL;
        out->why = BG_DMARC_WHY_NOMEM;
        return out->status;
    }
    int from_org = strcmp(out->record_domain, out->from_domain) != 0;
    OPENDMARC_STATUS_T st = bg_od.store_dmarc(
        pctx, (u_char *)out->record, (u_char *)out->from_domain,
        from_org ? (u_char *)out->record_domain : NULL);
    if (st != DMARC_PARSE_OKAY) {
        out->why = BG_DMARC_WHY_PARSE;
        snprintf(out->error, sizeof out->error, "%s", bg_od.status_to_str(st));
        bg_od.connect_shutdown(pctx);
        return out->status;
    }
    int p = 0, sp = 0, adkim = 0, aspf = 0, pct = 100;
    bg_od.fetch_p(pctx, &p);
    bg_od.fetch_sp(pctx, &sp);
    bg_od.fetch_adkim(pctx, &adkim);
    bg_od.fetch_aspf(pctx, &aspf);
    bg_od.fetch_pct(pctx, &pct);
    bg_od.connect_shutdown(pctx);
    snprintf(out->p, sizeof out->p, "%s", bg_dmarc_policy_name(p));
    snprintf(out->sp, sizeof out->sp, "%s", bg_dmarc_policy_name(sp ? sp : p));
    if (!out->sp[0])
        snprintf(out->sp, sizeof out->sp, "%s", out->p);
    out->adkim = adkim == DMARC_RECORD_A_STRICT ? 's' : 'r';
    out->aspf = aspf == DMARC_RECORD_A_STRICT ? 's' : 'r';
    out->pct = pct < 0 ? 100 : (pct > 100 ? 100 : pct);
    out->status = BG_DMARC_FOUND;
    return out->status;
}

/* The v=DMARC1 record at _dmarc.name: 1 found (copied to rec), 0 none,
 * -1 DNS trouble. More than one record counts as none (RFC 7489 6.6.3). */
static int bg_dmarc_fetch(bg_dns *d, const char *name, char *rec, size_t cap)
{
    char q[300];
    char txt[8][512];
    int herr = 0;
    snprintf(q, sizeof q, "_dmarc.%s", name);
    int n = bg_dns_txt(d, q, txt, 8, &herr);
    if (n < 0)
        return herr == TRY_AGAIN ? -1 : 0;
    int found = 0;
    for (int i = 0; i < n; i++) {
        const char *t = txt[i];
        while (*t == ' ')
            t++;
        if (strncasecmp(t, "v=DMARC1", 8) == 0 && (t[8] == ';' || t[8] == ' ' || !t[8])) {
            if (found++ == 0)
                bg_dmarc_copy_line(rec, cap, t);
        }
    }
    return found == 1;
}

bg_dmarc_status bg_dmarc_lookup(bg_dns *d, const char *from_domain, bg_dmarc_record *out)
{
    char from[256], org[256], rec[512];
    bg_dmarc_norm(from, sizeof from, from_domain);
    memset(out, 0, sizeof *out);
    snprintf(out->from_domain, sizeof out->from_domain, "%s", from);
    out->status = BG_DMARC_MISSING;
    if (!from[0])
        return out->status;
    int r = bg_dmarc_fetch(d, from, rec, sizeof rec);
    const char *where = from;
    if (r == 0) {
        bg_auth_org_domain(from, org, sizeof org);
        if (org[0] && strcmp(org, from) != 0) {
            r = bg_dmarc_fetch(d, org, rec, sizeof rec);
            where = org;
        }
    }
    if (r < 0) {
        out->status = BG_DMARC_TEMPFAIL;
        out->why = BG_DMARC_WHY_DNS;
        snprintf(out->record_domain, sizeof out->record_domain, "%s", where);
        return out->status;
    }
    if (r == 0)
        return out->status;
    return bg_dmarc_parse(from, where, rec, out);
}

void bg_dmarc_evaluate(const bg_dmarc_record *rec, const char *env_domain, bg_spf_code spf,
                       const char *dkim_domain, bg_dmarc_eval *out)
{
    memset(out, 0, sizeof *out);
    char env[256], dkim[256];
    bg_dmarc_norm(env, sizeof env, env_domain);
    bg_dmarc_norm(dkim, sizeof dkim, dkim_domain);
    out->spf_pass = spf == BG_SPF_PASS;
    if (rec->status != BG_DMARC_FOUND) {
        snprintf(out->verdict, sizeof out->verdict, "absent");
        out->spf_aligned = bg_auth_org_aligned(env, rec->from_domain, 0);
        out->dkim_aligned = bg_auth_org_aligned(dkim, rec->from_domain, 0);
        return;
    }
    out->spf_aligned = bg_auth_org_aligned(env, rec->from_domain, rec->aspf == 's');
    out->dkim_aligned = bg_auth_org_aligned(dkim, rec->from_domain, rec->adkim == 's');
    out->dmarc_pass = (out->spf_pass && out->spf_aligned) || out->dkim_aligned;
    int sub = strcmp(rec->record_domain, rec->from_domain) != 0;
    snprintf(out->policy, sizeof out->policy, "%s", sub ? rec->sp : rec->p);

    snprintf(out->verdict, sizeof out->verdict, "%s", out->dmarc_pass ? "pass" : out->policy);
}
