/* bg_spf: what SPF says about one domain and one sending IP (libspf2).
 *
 * Evaluates the domain's policy with libspf2 over a bg_dns resolver (so the
 * per-bounce budget and the cache apply) and also reports what an
 * administrator needs to fix it: the record text and the mechanism that
 * decided. libspf2 does not say which mechanism matched, so each top-level
 * mechanism is evaluated on its own, in order, until one matches (the
 * lookups come from the cache). It does not judge DMARC (bg_dmarc).
 */
#ifndef BG_SPF_H
#define BG_SPF_H

#include <stddef.h>
#include "bg_dns.h"

typedef enum {
    BG_SPF_NONE = 0,
    BG_SPF_PASS,
    BG_SPF_FAIL,
    BG_SPF_SOFTFAIL,
    BG_SPF_NEUTRAL,
    BG_SPF_PERMERROR,
    BG_SPF_TEMPERROR
} bg_spf_code;

#define BG_SPF_RECORD_MAX 512

/* Why there is no evaluation, or what went wrong before libspf2 ran
 * (the diagnosis words it from the catalogue). */
typedef enum {
    BG_SPF_WHY_NONE = 0,  /* evaluated; detail holds libspf2's own message, if any */
    BG_SPF_WHY_DNS,       /* the TXT lookup of the domain failed */
    BG_SPF_WHY_NXDOMAIN,  /* the domain does not exist */
    BG_SPF_WHY_NO_TXT,    /* it has no TXT records */
    BG_SPF_WHY_NO_SPF,    /* no TXT record is v=spf1 */
    BG_SPF_WHY_MULTIPLE,  /* more than one v=spf1 record (nrecords says how many) */
    BG_SPF_WHY_INPUT,     /* no domain, or not a usable IP address */
    BG_SPF_WHY_NOMEM
} bg_spf_why;

typedef struct bg_spf_result {
    bg_spf_code result;
    char domain[256];              /* the domain evaluated */
    char ip[64];                   /* the client IP */
    char record[BG_SPF_RECORD_MAX]; /* the v=spf1 text, "" when none */
    char mechanism[256];           /* the deciding term as written ("-all",
                                      "include:_spf.example"); "" when nothing
                                      matched or not known */
    int evaluated;                 /* 1 when libspf2 judged ip (else result is only
                                      what the record lookup says) */
    bg_spf_why why;
    int nrecords;                  /* v=spf1 records found */
    char detail[256];              /* libspf2's comment or error, one line ("" when
                                      why is not NONE) */
} bg_spf_result;

/* Evaluate domain's SPF for ip (IPv4 or IPv6 text). Never fails: problems
 * end up in result (temperror for DNS trouble, permerror for broken
 * records). Returns out->result. */
bg_spf_code bg_spf_check(bg_dns *d, const char *ip, const char *domain, bg_spf_result *out);

/* Only the domain's record, without judging an address (when the
 * sending address is not known): record, why, nrecords; result is NONE,
 * or PERMERROR (several records) or TEMPERROR (DNS trouble). */
bg_spf_code bg_spf_record(bg_dns *d, const char *domain, bg_spf_result *out);

/* "pass", "fail", ... */
const char *bg_spf_code_name(bg_spf_code c);

/* "dns", "nxdomain", "no-txt", ... ("none" for BG_SPF_WHY_NONE). */
const char *bg_spf_why_id(bg_spf_why w);

#endif
