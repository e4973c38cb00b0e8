/* bg_dmarc: a domain's DMARC policy and how our mail aligns with it.
 *
 * The _dmarc TXT record is fetched through bg_dns (budget, cache) -- at
 * the From: domain, then at its organisational domain (RFC 7489 6.6.3) --
 * and parsed by OpenDMARC (opendmarc_policy_store_dmarc). Alignment of the
 * SPF-authenticated envelope domain and of the DKIM d= domain is judged
 * with bg_auth_org's organisational domains under the record's adkim/aspf. It does not verify
 * DKIM signatures (the returned copy of a message cannot be trusted to
 * verify); "DKIM pass" below is the assumption that the signature verified.
 */
#ifndef BG_DMARC_H
#define BG_DMARC_H

#include "bg_dns.h"
#include "bg_spf.h"

typedef enum {
    BG_DMARC_FOUND = 0,  /* a record was found and parsed */
    BG_DMARC_MISSING,    /* no record at the domain or its organisational domain */
    BG_DMARC_INVALID,    /* a record exists but does not parse */
    BG_DMARC_TEMPFAIL    /* DNS trouble: not known */
} bg_dmarc_status;

/* What went wrong (the diagnosis words it from the catalogue). */
typedef enum {
    BG_DMARC_WHY_NONE = 0,
    BG_DMARC_WHY_DNS,         /* TEMPFAIL: the lookup of the _dmarc name failed */
    BG_DMARC_WHY_UNAVAILABLE, /* TEMPFAIL: libopendmarc could not be loaded (error says why) */
    BG_DMARC_WHY_NOMEM,       /* TEMPFAIL */
    BG_DMARC_WHY_EMPTY,       /* INVALID: no domain or no record text */
    BG_DMARC_WHY_PARSE        /* INVALID: OpenDMARC's reason is in error */
} bg_dmarc_why;

typedef struct bg_dmarc_record {
    bg_dmarc_status status;
    bg_dmarc_why why;
    char from_domain[256];   /* the domain asked about */
    char record_domain[256]; /* where the record was found (from or org domain) */
    char record[512];        /* the v=DMARC1 text */
    char p[16];              /* "none", "quarantine", "reject" ("" when unknown) */
    char sp[16];             /* as p; equals p when the record has no sp= */
    char adkim;              /* 'r' or 's' */
    char aspf;               /* 'r' or 's' */
    int pct;                 /* 0..100 */
    char error[320];         /* OpenDMARC's or the loader's own message, "" otherwise */
} bg_dmarc_record;

/* Fetch and parse the policy of from_domain. Returns out->status. */
bg_dmarc_status bg_dmarc_lookup(bg_dns *d, const char *from_domain, bg_dmarc_record *out);

/* Parse record as published at record_domain for mail From: from_domain
 * (no DNS). Returns out->status (FOUND or INVALID). */
bg_dmarc_status bg_dmarc_parse(const char *from_domain, const char *record_domain,
                               const char *record, bg_dmarc_record *out);

const char *bg_dmarc_why_id(bg_dmarc_why w);

/* How a message would fare under a record. */
typedef struct bg_dmarc_eval {
    int spf_aligned;         /* envelope domain aligned with From under aspf */
    int dkim_aligned;        /* DKIM d= aligned with From under adkim (0 without d=) */
    int spf_pass;            /* SPF result for the envelope domain was pass */
    int dmarc_pass;          /* (spf_pass && spf_aligned) || (dkim present && aligned) */
    char policy[16];         /* the policy that applies to this From domain: p or sp */
    char verdict[16];        /* "pass", or the policy that applies ("reject", "quarantine",
                                "none"), or "absent" without a record */
} bg_dmarc_eval;

/* Judge a message From: rec->from_domain, envelope domain env_domain with
 * SPF result spf, DKIM d= dkim_domain ("" = no signature; assumed to
 * verify when present). */
void bg_dmarc_evaluate(const bg_dmarc_record *rec, const char *env_domain, bg_spf_code spf,
                       const char *dkim_domain, bg_dmarc_eval *out);

const char *bg_dmarc_status_name(bg_dmarc_status s);

#endif
