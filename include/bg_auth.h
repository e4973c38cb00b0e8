/* bg_auth: authentication diagnosis for a bounce about SPF, DKIM, DMARC
 * or reverse DNS.
 *
 * Instead of "check your SPF record", the administrator gets what the
 * sender's domains publish and what to change: the SPF result, record and
 * deciding term for the envelope domain and for our HELO name, the DMARC
 * policy of the From: domain and whether the envelope domain and the DKIM
 * d= domain align with it, and the PTR of the sending IP with its forward
 * confirmation. Every lookup goes through one bg_dns handle within one
 * budget; when the budget runs out or no DNS server answers, there is no
 * diagnosis at all (status BG_AUTH_FAILED) rather than a half-true one.
 * It does not verify DKIM signatures and does not decide which bounces
 * deserve a diagnosis (the adapter does; bg_auth_wanted helps).
 */
#ifndef BG_AUTH_H
#define BG_AUTH_H

#include <stddef.h>
#include "bg_config.h"
#include "bg_dmarc.h"
#include "bg_dns.h"
#include "bg_spf.h"

/* The plain line for the sender part of the bounce. */
#define BG_AUTH_SENDER_TEXT \
    "Your organisation's email settings need a fix; your administrator has the details below."

#define BG_AUTH_DEFAULT_BUDGET_MS 2000
#define BG_AUTH_TEXT_MAX 6144

/* May this name be looked up? 1 yes. ctx is bg_auth_input.allow_ctx. */
typedef int (*bg_auth_allow_fn)(const char *domain, void *ctx);

typedef struct bg_auth_input {
    const char *envelope_domain; /* MAIL FROM domain of the returned message */
    const char *helo;            /* our HELO name; "" = not checked */
    const char *from_domain;     /* From: domain of the returned message */
    const char *dkim_domain;     /* d= of its DKIM-Signature; "" = none */
    const char *dkim_selector;   /* s= of it; "" = unknown */
    const char *ip;              /* the address this server sent from */
    bg_auth_allow_fn allow;      /* NULL = every name may be looked up */
    void *allow_ctx;
} bg_auth_input;

typedef enum {
    BG_AUTH_DONE = 0,   /* findings and advice are filled in */
    BG_AUTH_OFF,        /* budget 0: diagnosis turned off */
    BG_AUTH_NOINPUT,    /* no sending IP or no domain to look at */
    BG_AUTH_REFUSED,    /* none of the domains is one of ours: nothing looked up */
    BG_AUTH_FAILED      /* DNS failure or budget spent: no diagnosis */
} bg_auth_status;

typedef struct bg_auth_ptr {
    int checked;         /* 1 when looked up */
    int found;           /* 1 when a PTR exists */
    int tempfail;        /* 1 when the lookup failed */
    char name[256];      /* the first PTR name */
    int confirmed;       /* 1 when name resolves back to the IP */
} bg_auth_ptr;

typedef struct bg_auth_findings {
    bg_auth_status status;
    char reason[320];            /* why not DONE, one line */
    char envelope_domain[256];
    char from_domain[256];
    char helo[256];
    char dkim_domain[256];
    char dkim_selector[128];
    char ip[64];
    int env_checked;             /* SPF of the envelope domain looked up */
    bg_spf_result spf_env;
    int helo_checked;
    bg_spf_result spf_helo;
    int dmarc_checked;           /* the From: domain's DMARC looked up */
    bg_dmarc_record dmarc;
    bg_dmarc_eval eval;
    bg_auth_ptr ptr;
    long elapsed_ms;
    char admin_text[BG_AUTH_TEXT_MAX]; /* findings and advice, plain text lines */
    char sender_text[160];       /* BG_AUTH_SENDER_TEXT when DONE */
} bg_auth_findings;

/* Run the diagnosis within budget_ms (<= 0: off). Fills out; returns
 * out->status. The resolver d keeps its cache between calls. */
bg_auth_status bg_auth_diagnose(bg_dns *d, const bg_auth_input *in, long budget_ms,
                                bg_auth_findings *out);

/* Does a failure of this category/diagnostic call for a diagnosis?
 * spf-failure, dkim-failure, dmarc-failure, reverse-dns-failure always;
 * policy-rejected and content-rejected when the text names SPF, DKIM or
 * DMARC. */
int bg_auth_wanted(const char *category_id, const char *diagnostic);

/* The budget from config key diagnose_budget for a sender domain: "2s",
 * "1500ms", "0" (off); default BG_AUTH_DEFAULT_BUDGET_MS. */
long bg_auth_budget_ms(const bg_config *cfg, const char *domain);

/* Is domain one of ours? Same organisational domain as (or equal to) an
 * entry of config key diagnose_domains when it is set; otherwise as a
 * [domain ...] section of the config or one of extra (the caller's own
 * domains: in Exim, the domains the bounce is addressed to). */
int bg_auth_domain_ours(const bg_config *cfg, const char *domain, const char *const *extra,
                        size_t nextra);

const char *bg_auth_status_name(bg_auth_status s);

/* The domain part of an address or of a From: header value
 * ("Name <a@b.example>" -> "b.example"), lower case, into out. */
const char *bg_auth_addr_domain(const char *addr, char *out, size_t outlen);

#endif
