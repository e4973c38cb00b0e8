/* bg_dkim: the signing side of DKIM -- the selector's key record.
 *
 * Fetches SELECTOR._domainkey.DOMAIN through bg_dns (budget, cache) and
 * checks it the way a verifier reads it (RFC 6376 3.6.1, RFC 8301, RFC
 * 8463): a tag list with no duplicate tags, v=DKIM1 first when present,
 * a known k= (rsa, ed25519), a base64 p= holding an RSA
 * SubjectPublicKeyInfo (or a bare RSAPublicKey, which some verifiers
 * accept) or a 32-byte Ed25519 key, and reports the key length, testing
 * mode (t=y) and an h= that allows only SHA-1. It does not verify
 * signatures: the returned copy of a message in a bounce cannot be
 * trusted to verify.
 */
#ifndef BG_DKIM_H
#define BG_DKIM_H

#include "bg_dns.h"

typedef enum {
    BG_DKIM_KEY_OK = 0,   /* a usable key */
    BG_DKIM_KEY_MISSING,  /* no record at the name */
    BG_DKIM_KEY_BROKEN,   /* a record that verifiers cannot use */
    BG_DKIM_KEY_REVOKED,  /* p= empty: the key was withdrawn */
    BG_DKIM_KEY_TEMPFAIL  /* DNS trouble: not known */
} bg_dkim_status;

/* Why a key is MISSING or BROKEN (ids: bg_dkim_why_id). */
typedef enum {
    BG_DKIM_WHY_NONE = 0,
    BG_DKIM_WHY_NXDOMAIN,   /* the name does not exist */
    BG_DKIM_WHY_NODATA,     /* the name has no TXT record */
    BG_DKIM_WHY_MULTIPLE,   /* more than one TXT record */
    BG_DKIM_WHY_SYNTAX,     /* not a tag=value list, or a tag twice */
    BG_DKIM_WHY_VERSION,    /* v= is not DKIM1, or not the first tag */
    BG_DKIM_WHY_NO_P,       /* no p= tag */
    BG_DKIM_WHY_BASE64,     /* p= is not base64 */
    BG_DKIM_WHY_KTYPE,      /* k= names an unknown key type */
    BG_DKIM_WHY_RSA_DER,    /* p= is not an RSA public key */
    BG_DKIM_WHY_ED25519     /* an Ed25519 p= that is not 32 bytes */
} bg_dkim_why;

#define BG_DKIM_RECORD_MAX 1024

typedef struct bg_dkim_key {
    bg_dkim_status status;
    bg_dkim_why why;
    char name[320];                 /* SELECTOR._domainkey.DOMAIN */
    char record[BG_DKIM_RECORD_MAX]; /* the TXT text (cut when longer) */
    char ktype[16];                 /* "rsa", "ed25519", or k= as written */
    int bits;                       /* RSA modulus bits; 256 for Ed25519 */
    int testing;                    /* t=y */
    int sha1_only;                  /* h= allows sha1 and nothing stronger */
    int bare_rsa;                   /* p= is a bare RSAPublicKey, not SPKI */
} bg_dkim_key;

/* Look up and check the key of selector in domain. Returns out->status. */
bg_dkim_status bg_dkim_lookup(bg_dns *d, const char *domain, const char *selector,
                              bg_dkim_key *out);

/* Check one record text (no DNS); out->name is left as it was. */
bg_dkim_status bg_dkim_parse(const char *record, bg_dkim_key *out);

/* "ok", "missing", ... and "nxdomain", "syntax", ... */
const char *bg_dkim_status_name(bg_dkim_status s);
const char *bg_dkim_why_id(bg_dkim_why w);

#endif
