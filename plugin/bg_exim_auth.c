/* bg_exim_auth: the authentication diagnosis inside Exim's local_scan.
 *
 * For each failed recipient whose category is about authentication
 * (bg_auth_wanted), gather the facts the diagnosis needs -- the envelope
 * sender domain (Return-Path of the returned message, else the address
 * the bounce goes to), the From: and DKIM d=/s= of the returned message,
 * our HELO name, this host's end of the attempt (the suppression store's
 * record), config sending_ip, the address the receiver's reply names
 * (only for our own mail), and how mail leaves this host (bg_auth_topo) --
 * run bg_auth_diagnose within one DNS budget for the whole bounce, and
 * word the findings with the bounce's catalogue (bg_auth_words). Only
 * domains that are ours are looked up (bg_auth_domain_ours with the
 * bounce's own recipient domains: Exim accepted the bounce for them, so
 * they are domains this server handles). It never fails the bounce: not
 * our domain, a timeout -- each leaves extra[] empty and logs one line.
 */
#define LOCAL_SCAN
#include <exim4/local_scan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_auth.h"
#include "bg_auth_words.h"
#include "bg_exim_hooks.h"
#include "bg_log.h"
#include "bg_policy.h"
#include "bg_store.h"

#define BG_EXIM_AUTH_MAX_DOMAINS 8 /* bounce recipient domains used as "ours" */

/* One resolver per Exim process: its cache outlives one bounce in the
 * daemon-forked receivers that handle several messages, and in queue runs. */
static bg_dns *bg_exim_auth_dns;
static char bg_exim_auth_dns_servers[256];

typedef struct bg_exim_auth_diag bg_exim_auth_diag;

typedef struct bg_exim_auth_handle {
    bg_exim_auth_diag **f; /* one per distinct diagnosis */
    size_t nf;
} bg_exim_auth_handle;

typedef struct bg_exim_auth_gate {
    const bg_config *cfg;
    const char *ours[BG_EXIM_AUTH_MAX_DOMAINS];
    size_t nours;
} bg_exim_auth_gate;

static int bg_exim_auth_allow(const char *domain, void *ctx)
{
    const bg_exim_auth_gate *g = ctx;
    return bg_auth_domain_ours(g->cfg, domain, g->ours, g->nours);
}

/* The resolver, made (or remade when diagnose_dns_servers changed). */
static bg_dns *bg_exim_auth_resolver(const bg_config *cfg)
{
    const char *servers = bg_config_get(cfg, NULL, "diagnose_dns_servers", "");
    if (bg_exim_auth_dns && strcmp(servers, bg_exim_auth_dns_servers) == 0)
        return bg_exim_auth_dns;
    bg_dns_free(bg_exim_auth_dns);
    snprintf(bg_exim_auth_dns_servers, sizeof bg_exim_auth_dns_servers, "%s", servers);
    bg_exim_auth_dns = bg_dns_new(servers);
    return bg_exim_auth_dns;
}

/* Our HELO name: diagnose_helo, else Exim's primary_hostname (the smtp
 * transport's default helo_data). A fixed expansion, no remote text. */
static void bg_exim_auth_helo(const bg_config *cfg, const char *domain, char *out, size_t cap)
{
    const char *h = bg_config_get(cfg, domain, "diagnose_helo", "");
    if (!*h) {
        const uschar *e = expand_string(US"$primary_hostname");
        h = e ? (const char *)e : "";
    }
    snprintf(out, cap, "%s", h);
}

/* This host's end of the failed attempt: the suppression store's record
 * (message id + recipient; the event hook writes $sending_ip_address at
 * smtp:ehlo). A record also proves the bounce is about our mail. */
static void bg_exim_auth_store_ip(const bg_config *cfg, const bg_bounce *b, const bg_rcpt *rc,
                                  char *out, size_t cap)
{
    out[0] = '\0';
    if (!b->orig.message_id[0] || !bg_config_get_bool(cfg, NULL, "diagnose_ip_from_store", 1))
        return;
    bg_policy *pol = bg_policy_new(cfg);
    bg_store_status st = BG_STORE_OK;
    char err[200] = "";
    bg_store *s = pol ? bg_policy_store_open(pol, BG_STORE_RDONLY, &st, err, sizeof err)
                      : NULL;
    bg_policy_free(pol);
    if (!s)
        return;
    char ip[BG_IP_MAX] = "";
    if (bg_store_sending_ip(s, b->orig.message_id, rc->recipient, ip) == BG_STORE_OK && ip[0])
        snprintf(out, cap, "%s", ip);
    bg_store_close(s);
}

/* One diagnosis and its words. */
typedef struct bg_exim_auth_diag {
    bg_auth_findings f;
    char key[200]; /* the facts that differ between recipients */
    bg_buf admin, sender;
} bg_exim_auth_diag;

/* One main-log line about a diagnosis. */
static void bg_exim_auth_log(const bg_auth_findings *f, const char *env, const char *from)
{
    if (f->status != BG_AUTH_DONE) {
        bg_logf(BG_LOG_WARN, "auth diagnosis for %s/%s not added (%s): %s", env[0] ? env : "-",
                from[0] ? from : "-", bg_auth_status_name(f->status), f->reason);
        return;
    }
    static const char *const src[] = {"-", "store", "config", "reply", "given"};
    const char *dkim = "-";
    if (f->nkeys > 0)
        dkim = f->key_skipped[0] ? "not-ours" : bg_dkim_status_name(f->keys[0].status);
    bg_logf(BG_LOG_INFO, "auth diagnosis for %s/%s from %s: spf=%s dmarc=%s%s%s dkim=%s ptr=%s "
            "path=%s ip=%s (%ld ms)", env, from, f->ip[0] ? f->ip : "-",
            !f->env_checked ? "-"
            : f->spf_env.evaluated || !f->spf_env.record[0] ? bg_spf_code_name(f->spf_env.result)
                                                             : "unjudged",
            f->dmarc_checked ? bg_dmarc_status_name(f->dmarc.status) : "-",
            f->dmarc.p[0] ? " p=" : "", f->dmarc.p, dkim,
            !f->ptr.checked ? "-" : f->ptr.confirmed ? "confirmed"
                                  : f->ptr.found ? "unconfirmed" : "none",
            bg_auth_topo_kind_name(f->topo.kind),
            (unsigned)f->ip_source < 5 ? src[f->ip_source] : "-", f->elapsed_ms);
}

void *bg_exim_auth_extra(const bg_config *cfg, const bg_catalog *admin_cat,
                         const bg_catalog *sender_cat, const bg_bounce *b,
                         const bg_verdict *v, size_t n, int inbound, bg_render_extra *extra)
{
    bg_exim_auth_handle *h = NULL;
    bg_exim_auth_gate gate = {.cfg = cfg};
    char rdom[BG_EXIM_AUTH_MAX_DOMAINS][256];
    for (int i = 0; i < recipients_count && gate.nours < BG_EXIM_AUTH_MAX_DOMAINS; i++) {
        if (!recipients_list || !recipients_list[i].address)
            break;
        bg_auth_addr_domain((const char *)recipients_list[i].address, rdom[gate.nours], 256);
        if (rdom[gate.nours][0]) {
            gate.ours[gate.nours] = rdom[gate.nours];
            gate.nours++;
        }
    }
    char env[256] = "", from[256] = "";
    bg_auth_addr_domain(b->orig.return_path, env, sizeof env);
    if (!env[0] && gate.nours > 0)
        snprintf(env, sizeof env, "%s", gate.ours[0]);
    bg_auth_addr_domain(b->orig.from, from, sizeof from);
    const char *sdom = env[0] ? env : from;
    long budget = bg_auth_budget_ms(cfg, sdom);
    long spent = 0;
    bg_auth_topo topo;
    int have_topo = 0;

    for (size_t i = 0; i < n; i++) {
        const char *cat_id = v[i].category ? v[i].category->id : NULL;
        const char *diag = b->rcpts[i].diagnostic;
        if (!cat_id || !bg_auth_wanted(cat_id, diag))
            continue;
        if (budget <= 0)
            return h; /* diagnosis turned off: say nothing */
        if (!have_topo) {
            bg_auth_topo_load(cfg, sdom, &topo);
            have_topo = 1;
        }
        char ip[64], reply[64] = "", helo[256], key[200];
        bg_exim_auth_store_ip(cfg, b, &b->rcpts[i], ip, sizeof ip);
        /* the address the receiver names counts only for our own mail:
         * our own bounce, or one the store knows the message of */
        if (!inbound || ip[0])
            bg_auth_reply_ip(diag, b->rcpts[i].remote_mta, reply, sizeof reply);
        bg_exim_auth_helo(cfg, sdom, helo, sizeof helo);
        int dkim = bg_auth_wants_dkim(cat_id, diag);
        snprintf(key, sizeof key, "%s|%s|%d", ip, reply, dkim);
        /* the same facts as an earlier recipient: the same text */
        bg_exim_auth_diag *x = NULL;
        for (size_t k = 0; h && k < h->nf; k++)
            if (strcmp(h->f[k]->key, key) == 0)
                x = h->f[k];
        if (!x) {
            if (spent >= budget) {
                bg_logf(BG_LOG_WARN, "auth diagnosis: DNS budget of %ld ms spent; %s left "
                        "without it", budget, b->rcpts[i].recipient);
                continue;
            }
            if (!h && !(h = calloc(1, sizeof *h)))
                return NULL;
            bg_exim_auth_diag **nf = realloc(h->f, (h->nf + 1) * sizeof *nf);
            if (!nf || !(x = calloc(1, sizeof *x))) {
                if (nf)
                    h->f = nf;
                bg_logf(BG_LOG_WARN, "auth diagnosis: out of memory");
                return h;
            }
            h->f = nf;
            h->f[h->nf++] = x;
            snprintf(x->key, sizeof x->key, "%s", key);
            bg_buf_init(&x->admin);
            bg_buf_init(&x->sender);
            bg_dns *d = bg_exim_auth_resolver(cfg);
            if (!d) {
                x->f.status = BG_AUTH_FAILED;
                bg_logf(BG_LOG_WARN, "auth diagnosis: no usable DNS server");
                continue;
            }
            bg_auth_input in = {
                .envelope_domain = env, .helo = helo, .from_domain = from,
                .dkim_domain = b->orig.dkim_domain, .dkim_selector = b->orig.dkim_selector,
                .sig_visible = inbound, /* our own bounce returns the copy before signing */
                .ip = ip, .ip_source = BG_AUTH_IP_STORE,
                .config_ip = bg_config_get(cfg, sdom, "sending_ip", ""), .reply_ip = reply,
                .topo = &topo, .check_dkim = dkim,
                .allow = bg_exim_auth_allow, .allow_ctx = &gate,
            };
            bg_auth_diagnose(d, &in, budget - spent, &x->f);
            spent += x->f.elapsed_ms;
            if (x->f.status == BG_AUTH_DONE &&
                bg_auth_words(&x->f, admin_cat, sender_cat, &x->admin, &x->sender) < 0) {
                x->f.status = BG_AUTH_FAILED;
                snprintf(x->f.reason, sizeof x->f.reason, "out of memory");
            }
            bg_exim_auth_log(&x->f, env, from);
        }
        if (x->f.status == BG_AUTH_DONE) {
            extra[i].admin_text = bg_buf_str(&x->admin);
            extra[i].sender_text = bg_buf_str(&x->sender);
        }
    }
    return h;
}

void bg_exim_auth_free(void *handle)
{
    bg_exim_auth_handle *h = handle;
    if (!h)
        return;
    for (size_t k = 0; k < h->nf; k++) {
        bg_buf_free(&h->f[k]->admin);
        bg_buf_free(&h->f[k]->sender);
        free(h->f[k]);
    }
    free(h->f);
    free(h);
}
