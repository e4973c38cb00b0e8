/* bg_auth: authentication diagnosis for a bounce about SPF, DKIM, DMARC
 * or reverse DNS.
 *
 * Instead of "check your SPF record", the administrator learns what the
 * sender's domains publish and what to change, true for the way this host
 * sends: directly (receivers see its address, HELO name and PTR) or
 * through a smarthost (receivers see the smarthost's, which this host
 * usually cannot see: then it says so, and never advises records for
 * loopback or private addresses or for names that are not public). The
 * facts: SPF of the envelope domain (and of the HELO name on a direct
 * host), the From: domain's DMARC policy and alignment, the DKIM
 * signature of the returned message and its selector's key record, and
 * the PTR of the public sending address. Every lookup goes through one
 * bg_dns handle within one budget; when the budget runs out or no DNS
 * server answers there is no diagnosis at all (BG_AUTH_FAILED) rather
 * than a half-true one.
 *
 * The result is a list of findings: each a finding id (a key of the
 * catalogue's [auth] section) and the values of its placeholders. No
 * words are made here: bg_auth_words turns the findings into text. It
 * does not verify DKIM signatures and does not decide which bounces
 * deserve a diagnosis (the adapter does; bg_auth_wanted helps).
 */
#ifndef BG_AUTH_H
#define BG_AUTH_H

#include <stddef.h>
#include "bg_auth_class.h"
#include "bg_auth_topo.h"
#include "bg_config.h"
#include "bg_dkim.h"
#include "bg_dmarc.h"
#include "bg_dns.h"
#include "bg_spf.h"

#define BG_AUTH_DEFAULT_BUDGET_MS 2000

/* May this name be looked up? 1 yes. ctx is bg_auth_input.allow_ctx. */
typedef int (*bg_auth_allow_fn)(const char *domain, void *ctx);

/* Where an address came from. */
typedef enum {
    BG_AUTH_IP_NONE = 0,
    BG_AUTH_IP_STORE,   /* the suppression store's record of the attempt: the local end */
    BG_AUTH_IP_CONFIG,  /* config sending_ip */
    BG_AUTH_IP_REPLY,   /* named in the receiving server's reply */
    BG_AUTH_IP_GIVEN    /* given by the person running `bounceguide diagnose` */
} bg_auth_ip_source;

typedef struct bg_auth_input {
    const char *envelope_domain; /* MAIL FROM domain of the returned message */
    const char *helo;            /* our HELO name; "" = not known */
    const char *from_domain;     /* From: domain of the returned message */
    const char *dkim_domain;     /* d= of its DKIM-Signature; "" = none */
    const char *dkim_selector;   /* s= of it; "" = unknown */
    int sig_visible;             /* 1: a copy without a DKIM-Signature was sent unsigned
                                    (a bounce from another server shows the message as
                                    it left); 0: it may not show (Exim's own bounce
                                    returns the message as queued, before the transport
                                    signs it) -- then the configured signer (topo)
                                    stands in for DMARC, marked as assumed */
    const char *ip;              /* the address this host sent from, "" = not known */
    bg_auth_ip_source ip_source; /* STORE (the local end) or GIVEN */
    const char *config_ip;       /* config sending_ip, "" = not set */
    const char *reply_ip;        /* the address the receiver named, "" = none (only
                                    when the bounce is known to be about our mail) */
    const bg_auth_topo *topo;    /* how mail leaves; NULL = not known */
    int check_dkim;              /* a DKIM or DMARC failure: check the signing side */
    bg_auth_allow_fn allow;      /* NULL = every name may be looked up */
    void *allow_ctx;
} bg_auth_input;

typedef enum {
    BG_AUTH_DONE = 0,   /* findings are filled in */
    BG_AUTH_OFF,        /* budget 0: diagnosis turned off */
    BG_AUTH_NOINPUT,    /* no domain to look at */
    BG_AUTH_REFUSED,    /* none of the domains is one of ours: nothing looked up */
    BG_AUTH_FAILED      /* DNS failure or budget spent: no diagnosis */
} bg_auth_status;

/* The finding ids and their catalogue keys (section [auth]). */
#define BG_AUTH_FINDING_LIST(X)                                                        \
    X(INTRO, "intro") X(SENDER, "sender")                                                 \
    X(PATH_DIRECT, "path_direct") X(PATH_ADDRESS, "path_address")                         \
    X(PATH_HIDDEN, "path_hidden")                                                         \
    X(PATH_HIDDEN_KNOWN, "path_hidden_known") X(PATH_UNKNOWN, "path_unknown")             \
    X(PATH_SMARTHOST, "path_smarthost") X(PATH_SMARTHOST_UNKNOWN, "path_smarthost_unknown") \
    X(FIX_SENDING_IP, "fix_sending_ip") X(FIX_SENDING_IP_SMARTHOST, "fix_sending_ip_smarthost") \
    X(DOMAIN_NOT_PUBLIC, "domain_not_public") X(DOMAIN_NOT_PUBLIC_FIX, "domain_not_public_fix") \
    X(FROM_NOT_PUBLIC, "from_not_public") X(FROM_NOT_PUBLIC_FIX, "from_not_public_fix")   \
    X(HELO_NOT_PUBLIC, "helo_not_public") X(HELO_NOT_PUBLIC_FIX, "helo_not_public_fix")   \
    X(SPF_ENV, "spf_env") X(SPF_ENV_RECORD, "spf_env_record") X(SPF_HELO, "spf_helo")    \
    X(SPF_NOT_LOOKED_UP, "spf_not_looked_up") X(SPF_PASS, "spf_pass")                     \
    X(SPF_FIX_DIRECT, "spf_fix_direct") X(SPF_FIX_SMARTHOST, "spf_fix_smarthost")         \
    X(SPF_FIX_UNKNOWN_IP, "spf_fix_unknown_ip") X(SPF_SOFT_NOTE, "spf_soft_note")         \
    X(SPF_NONE_FIX, "spf_none_fix") X(SPF_NONE_FIX_SMARTHOST, "spf_none_fix_smarthost")   \
    X(SPF_NONE_FIX_UNKNOWN_IP, "spf_none_fix_unknown_ip")                                 \
    X(SPF_PERMERROR_FIX, "spf_permerror_fix") X(SPF_TEMPERROR, "spf_temperror")           \
    X(SPF_HINT, "spf_hint")                                                               \
    X(DMARC_NOT_LOOKED_UP, "dmarc_not_looked_up") X(DMARC_MISSING, "dmarc_missing")       \
    X(DMARC_MISSING_FIX, "dmarc_missing_fix") X(DMARC_INVALID, "dmarc_invalid")           \
    X(DMARC_INVALID_FIX, "dmarc_invalid_fix") X(DMARC_TEMPFAIL, "dmarc_tempfail")         \
    X(DMARC_FOUND, "dmarc_found") X(DMARC_SPF_ALIGNED, "dmarc_spf_aligned")               \
    X(DMARC_SPF_ALIGNED_NOPASS, "dmarc_spf_aligned_nopass")                               \
    X(DMARC_SPF_ALIGNED_UNKNOWN, "dmarc_spf_aligned_unknown")                             \
    X(DMARC_SPF_UNALIGNED, "dmarc_spf_unaligned") X(DMARC_DKIM_ALIGNED, "dmarc_dkim_aligned") \
    X(DMARC_DKIM_UNALIGNED, "dmarc_dkim_unaligned") X(DMARC_DKIM_NONE, "dmarc_dkim_none") \
    X(DMARC_DKIM_ASSUMED_ALIGNED, "dmarc_dkim_assumed_aligned")                           \
    X(DMARC_DKIM_ASSUMED_UNALIGNED, "dmarc_dkim_assumed_unaligned")                       \
    X(DMARC_DKIM_UNKNOWN, "dmarc_dkim_unknown") X(DMARC_UNDECIDED_DKIM, "dmarc_undecided_dkim") \
    X(DMARC_PASS_SPF, "dmarc_pass_spf") X(DMARC_PASS_DKIM, "dmarc_pass_dkim")             \
    X(DMARC_PASS_BOTH, "dmarc_pass_both") X(DMARC_FAILS, "dmarc_fails")                   \
    X(DMARC_FAILS_SUB, "dmarc_fails_sub") X(DMARC_UNDECIDED, "dmarc_undecided")           \
    X(DMARC_FIX_UNALIGNED, "dmarc_fix_unaligned") X(DMARC_FIX_SPF, "dmarc_fix_spf")       \
    X(DMARC_FIX_DKIM, "dmarc_fix_dkim")                                                   \
    X(DKIM_SIGNED, "dkim_signed") X(DKIM_UNSIGNED, "dkim_unsigned")                       \
    X(DKIM_NOT_VISIBLE, "dkim_not_visible") X(DKIM_NOT_VISIBLE_FIX, "dkim_not_visible_fix") \
    X(DKIM_CONFIGURED, "dkim_configured") X(DKIM_DIFFERS, "dkim_differs")                 \
    X(DKIM_UNSIGNED_CONFIGURED_FIX, "dkim_unsigned_configured_fix")                       \
    X(DKIM_DEBIAN_SMARTHOST, "dkim_debian_smarthost")                                     \
    X(DKIM_UNSIGNED_FIX, "dkim_unsigned_fix")                                             \
    X(DKIM_UNSIGNED_FIX_SMARTHOST, "dkim_unsigned_fix_smarthost")                         \
    X(DKIM_KEY_OK, "dkim_key_ok") X(DKIM_KEY_MISSING, "dkim_key_missing")                 \
    X(DKIM_KEY_MISSING_FIX, "dkim_key_missing_fix") X(DKIM_KEY_BROKEN, "dkim_key_broken") \
    X(DKIM_KEY_BROKEN_FIX, "dkim_key_broken_fix") X(DKIM_KEY_REVOKED, "dkim_key_revoked") \
    X(DKIM_KEY_REVOKED_FIX, "dkim_key_revoked_fix") X(DKIM_KEY_TEMPFAIL, "dkim_key_tempfail") \
    X(DKIM_KEY_SHORT, "dkim_key_short") X(DKIM_KEY_SHORT_FIX, "dkim_key_short_fix")       \
    X(DKIM_KEY_WEAK, "dkim_key_weak") X(DKIM_KEY_ED25519, "dkim_key_ed25519")             \
    X(DKIM_KEY_TESTING, "dkim_key_testing") X(DKIM_KEY_SHA1, "dkim_key_sha1")             \
    X(DKIM_KEY_BARE, "dkim_key_bare") X(DKIM_KEY_NOT_LOOKED_UP, "dkim_key_not_looked_up") \
    X(PTR_CONFIRMED, "ptr_confirmed") X(PTR_HELO_DIFFERS, "ptr_helo_differs")             \
    X(PTR_UNCONFIRMED, "ptr_unconfirmed") X(PTR_UNCONFIRMED_FIX, "ptr_unconfirmed_fix")   \
    X(PTR_UNCONFIRMED_FIX_SMARTHOST, "ptr_unconfirmed_fix_smarthost")                     \
    X(PTR_NONE, "ptr_none") X(PTR_NONE_FIX, "ptr_none_fix")                               \
    X(PTR_NONE_FIX_SMARTHOST, "ptr_none_fix_smarthost") X(PTR_NOT_PUBLIC, "ptr_not_public") \
    X(PTR_NOT_PUBLIC_FIX, "ptr_not_public_fix") X(PTR_TEMPFAIL, "ptr_tempfail")

#define BG_AUTH_FID_ENUM(id, key) BG_AF_##id,
typedef enum { BG_AUTH_FINDING_LIST(BG_AUTH_FID_ENUM) BG_AF_COUNT } bg_auth_fid;
#undef BG_AUTH_FID_ENUM

/* The catalogue key of a finding id ("" for an unknown one). */
const char *bg_auth_fid_key(bg_auth_fid id);

#define BG_AUTH_ITEMS_MAX 48
#define BG_AUTH_ITEM_VARS 10
#define BG_AUTH_POOL 12288

/* A placeholder value of a finding. A "word" value is itself a key of
 * [auth] (an address class, a source, a reason), worded by the catalogue
 * with the same placeholder values. */
typedef struct bg_auth_var {
    const char *name;    /* placeholder name (static text) */
    unsigned short off;  /* the value: offset into bg_auth_findings.pool */
    unsigned char word;
} bg_auth_var;

/* One finding (level 0: a bullet of its own) or advice about the finding
 * before it (level 1). */
typedef struct bg_auth_item {
    bg_auth_fid id;
    unsigned char level;
    unsigned char nvar;
    bg_auth_var var[BG_AUTH_ITEM_VARS];
} bg_auth_item;

typedef struct bg_auth_ptr {
    int checked;         /* 1 when looked up */
    int found;           /* 1 when a PTR exists */
    int tempfail;        /* 1 when the lookup failed */
    char name[256];      /* the first PTR name */
    int confirmed;       /* 1 when name resolves back to the IP */
} bg_auth_ptr;

typedef struct bg_auth_findings {
    bg_auth_status status;
    char reason[320];            /* why not DONE, one line (for the log) */
    char envelope_domain[256];
    char from_domain[256];
    char helo[256];
    char dkim_domain[256];
    char dkim_selector[128];
    bg_name_class env_class, from_class, helo_class;
    bg_auth_topo topo;           /* as given (kind UNKNOWN when not) */
    char ip[64];                 /* the address receivers see, "" when not known */
    bg_auth_ip_source ip_source;
    char local_ip[64];           /* this host's end when it is not ip ("" when none) */
    bg_addr_class local_class;
    char hint_ip[64];            /* the smarthost's own address, when ip is not known */
    int env_checked;             /* SPF of the envelope domain looked up */
    bg_spf_result spf_env;       /* .evaluated: judged for ip */
    int hint_checked;
    bg_spf_result spf_hint;      /* the envelope domain's SPF for hint_ip */
    int helo_checked;
    bg_spf_result spf_helo;
    int sig_visible;             /* the copy shows what was signed: it has a signature,
                                    or the input says its absence counts */
    char dkim_assumed[256];      /* the configured d= used for DMARC when the
                                    signature is not visible, "" when none */
    int dmarc_checked;           /* the From: domain's DMARC looked up */
    bg_dmarc_record dmarc;
    bg_dmarc_eval eval;
    int nkeys;                   /* DKIM key records checked */
    bg_dkim_key keys[2];         /* the signature's, then the configured one */
    char key_domain[2][256];     /* their d= and s= */
    char key_selector[2][128];
    int key_skipped[2];          /* 1: the domain is not ours, not looked up */
    bg_auth_ptr ptr;
    long elapsed_ms;
    size_t nitems;               /* findings, in the order they are shown */
    bg_auth_item items[BG_AUTH_ITEMS_MAX];
    size_t pool_used;
    char pool[BG_AUTH_POOL];
} bg_auth_findings;

/* Run the diagnosis within budget_ms (<= 0: off). Fills out; returns
 * out->status. The resolver d keeps its cache between calls. */
bg_auth_status bg_auth_diagnose(bg_dns *d, const bg_auth_input *in, long budget_ms,
                                bg_auth_findings *out);

/* The first finding with this id, NULL when there is none. */
const bg_auth_item *bg_auth_find(const bg_auth_findings *f, bg_auth_fid id);

/* The value of placeholder name of an item (for a word: its key), NULL
 * when the item has none. */
const char *bg_auth_item_value(const bg_auth_findings *f, const bg_auth_item *it,
                               const char *name);

/* Does a failure of this category/diagnostic call for a diagnosis?
 * spf-failure, dkim-failure, dmarc-failure, reverse-dns-failure always;
 * policy-rejected and content-rejected when the text names SPF, DKIM or
 * DMARC. */
int bg_auth_wanted(const char *category_id, const char *diagnostic);

/* Does it call for the signing side too (dkim-failure, dmarc-failure, or
 * a wanted failure whose text names DKIM or DMARC)? */
int bg_auth_wants_dkim(const char *category_id, const char *diagnostic);

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
