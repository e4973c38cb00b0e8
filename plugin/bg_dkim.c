/* bg_dkim: DKIM key records -- fetch, parse, measure.
 *
 * The tag list is split on ';' with folding white space allowed around
 * every part (RFC 6376 3.2). The RSA key is walked as DER just far
 * enough to find the modulus: SubjectPublicKeyInfo ::= SEQUENCE {
 * SEQUENCE { OID rsaEncryption, NULL }, BIT STRING { RSAPublicKey } } and
 * RSAPublicKey ::= SEQUENCE { INTEGER n, INTEGER e }. Every length is
 * checked against what is left; nothing is trusted.
 */
#include "bg_dkim.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bg_buf.h"
#include "bg_mime.h"

#define BG_DKIM_TXT_MAX 4096 /* bg_dns joins a record's strings up to this */
#define BG_DKIM_TAGS_MAX 16

static const char *const bg_dkim_status_names[] = {"ok", "missing", "broken", "revoked",
                                                   "tempfail"};
static const char *const bg_dkim_why_ids[] = {
    "none", "nxdomain", "nodata", "multiple", "syntax", "version",
    "no-p", "base64", "ktype", "rsa-der", "ed25519",
};

const char *bg_dkim_status_name(bg_dkim_status s)
{
    return (unsigned)s < sizeof bg_dkim_status_names / sizeof bg_dkim_status_names[0]
               ? bg_dkim_status_names[s] : "tempfail";
}

const char *bg_dkim_why_id(bg_dkim_why w)
{
    return (unsigned)w < sizeof bg_dkim_why_ids / sizeof bg_dkim_why_ids[0] ? bg_dkim_why_ids[w]
                                                                            : "none";
}

/* --- DER ------------------------------------------------------------- */

/* One DER element at p[0..len): its tag, and its contents in c and clen.
 * Returns the bytes the element takes, 0 when it does not fit. */
static size_t bg_dkim_der(const unsigned char *p, size_t len, unsigned char *tag,
                          const unsigned char **c, size_t *clen)
{
    *tag = 0;
    *c = p;
    *clen = 0;
    if (len < 2)
        return 0;
    *tag = p[0];
    size_t n = p[1], hdr = 2;
    if (n & 0x80) {
        size_t k = n & 0x7f;
        if (k == 0 || k > 3 || len < 2 + k)
            return 0;
        n = 0;
        for (size_t i = 0; i < k; i++)
            n = (n << 8) | p[2 + i];
        hdr += k;
    }
    if (n > len - hdr)
        return 0;
    *c = p + hdr;
    *clen = n;
    return hdr + n;
}

/* Bits of a DER INTEGER's value (leading zero bytes and bits left out). */
static int bg_dkim_int_bits(const unsigned char *c, size_t n)
{
    while (n > 0 && *c == 0) {
        c++;
        n--;
    }
    if (n == 0)
        return 0;
    int bits = (int)n * 8;
    for (unsigned char top = *c; !(top & 0x80); top <<= 1)
        bits--;
    return bits;
}

/* The modulus bits of an RSAPublicKey SEQUENCE { n, e }, 0 when it is not one. */
static int bg_dkim_rsa_pub(const unsigned char *p, size_t len)
{
    unsigned char tag;
    const unsigned char *c, *n, *e;
    size_t clen, nlen, elen;
    size_t all = bg_dkim_der(p, len, &tag, &c, &clen);
    if (!all || all != len || tag != 0x30)
        return 0;
    size_t used = bg_dkim_der(c, clen, &tag, &n, &nlen);
    if (!used || tag != 0x02)
        return 0;
    size_t used2 = bg_dkim_der(c + used, clen - used, &tag, &e, &elen);
    if (!used2 || tag != 0x02 || used + used2 != clen || bg_dkim_int_bits(e, elen) < 2)
        return 0;
    return bg_dkim_int_bits(n, nlen);
}

/* Modulus bits of an RSA key given as SubjectPublicKeyInfo (*bare = 0)
 * or as a bare RSAPublicKey (*bare = 1); 0 when it is neither. */
static int bg_dkim_rsa_bits(const unsigned char *p, size_t len, int *bare)
{
    static const unsigned char rsa_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
    unsigned char tag;
    const unsigned char *spki, *alg, *oid, *bits;
    size_t slen, alen, olen, blen;
    *bare = 0;
    size_t all = bg_dkim_der(p, len, &tag, &spki, &slen);
    if (!all || all != len || tag != 0x30)
        return 0;
    size_t used = bg_dkim_der(spki, slen, &tag, &alg, &alen);
    if (used && tag == 0x02) { /* SEQUENCE { INTEGER ... }: a bare RSAPublicKey */
        *bare = 1;
        return bg_dkim_rsa_pub(p, len);
    }
    if (!used || tag != 0x30 || !bg_dkim_der(alg, alen, &tag, &oid, &olen) || tag != 0x06 ||
        olen != sizeof rsa_oid || memcmp(oid, rsa_oid, olen) != 0)
        return 0;
    size_t rest = bg_dkim_der(spki + used, slen - used, &tag, &bits, &blen);
    if (!rest || rest != slen - used || tag != 0x03 || blen < 2 || bits[0] != 0)
        return 0;
    return bg_dkim_rsa_pub(bits + 1, blen - 1);
}

/* --- tag list -------------------------------------------------------- */

typedef struct bg_dkim_tag {
    char name[16];
    const char *val; /* into the caller's copy, trimmed */
} bg_dkim_tag;

/* Split a tag list in place; the count, or -1 on a syntax error. */
static int bg_dkim_tags(char *s, bg_dkim_tag *t, int max)
{
    int n = 0;
    for (char *save = NULL, *part = strtok_r(s, ";", &save); part;
         part = strtok_r(NULL, ";", &save)) {
        while (isspace((unsigned char)*part))
            part++;
        size_t pl = strlen(part);
        while (pl > 0 && isspace((unsigned char)part[pl - 1]))
            part[--pl] = '\0';
        if (pl == 0)
            continue; /* a trailing ';' */
        char *eq = strchr(part, '=');
        if (!eq || n >= max)
            return -1;
        char *ne = eq;
        while (ne > part && isspace((unsigned char)ne[-1]))
            ne--;
        size_t nl = (size_t)(ne - part);
        if (nl == 0 || nl >= sizeof t[n].name || !isalpha((unsigned char)part[0]))
            return -1;
        for (size_t i = 0; i < nl; i++)
            if (!isalnum((unsigned char)part[i]) && part[i] != '_')
                return -1;
        memcpy(t[n].name, part, nl);
        t[n].name[nl] = '\0';
        for (int k = 0; k < n; k++)
            if (strcmp(t[k].name, t[n].name) == 0)
                return -1; /* a tag twice makes the whole list invalid */
        char *v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        t[n].val = v;
        n++;
    }
    return n;
}

static const char *bg_dkim_tag_val(const bg_dkim_tag *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].val;
    return NULL;
}

/* Does a colon-separated list (blanks allowed) contain word? */
static int bg_dkim_list_has(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; *p;) {
        while (*p == ':' || isspace((unsigned char)*p))
            p++;
        size_t n = strcspn(p, ": \t\r\n");
        if (n == wl && strncasecmp(p, word, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

/* Decode a strict base64 value (FWS allowed) into out; -1 when it is not
 * base64. */
static int bg_dkim_base64(const char *v, bg_buf *out)
{
    char clean[BG_DKIM_TXT_MAX];
    size_t n = 0, pad = 0;
    for (; *v && n + 1 < sizeof clean; v++) {
        unsigned char c = (unsigned char)*v;
        if (isspace(c))
            continue;
        if (c == '=') {
            pad++;
        } else if (pad || !(isalnum(c) || c == '+' || c == '/')) {
            return -1;
        }
        clean[n++] = (char)c;
    }
    if (*v || pad > 2 || n % 4 != 0)
        return -1;
    clean[n] = '\0';
    return bg_mime_decode(clean, n, BG_ENC_BASE64, out, sizeof clean) < 0 ? -1 : 0;
}

bg_dkim_status bg_dkim_parse(const char *record, bg_dkim_key *out)
{
    out->status = BG_DKIM_KEY_BROKEN;
    out->why = BG_DKIM_WHY_NONE;
    out->ktype[0] = '\0';
    out->bits = out->testing = out->sha1_only = out->bare_rsa = 0;
    snprintf(out->record, sizeof out->record, "%s", record ? record : "");
    for (char *c = out->record; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    char copy[BG_DKIM_TXT_MAX];
    snprintf(copy, sizeof copy, "%s", record ? record : "");
    bg_dkim_tag tags[BG_DKIM_TAGS_MAX];
    int n = bg_dkim_tags(copy, tags, BG_DKIM_TAGS_MAX);
    if (n <= 0) {
        out->why = BG_DKIM_WHY_SYNTAX;
        return out->status;
    }
    const char *v = bg_dkim_tag_val(tags, n, "v");
    if (v && (strcmp(tags[0].name, "v") != 0 || strcmp(v, "DKIM1") != 0)) {
        out->why = BG_DKIM_WHY_VERSION;
        return out->status;
    }
    const char *k = bg_dkim_tag_val(tags, n, "k");
    snprintf(out->ktype, sizeof out->ktype, "%s", k && *k ? k : "rsa");
    for (char *c = out->ktype; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *t = bg_dkim_tag_val(tags, n, "t");
    out->testing = t && bg_dkim_list_has(t, "y");
    const char *h = bg_dkim_tag_val(tags, n, "h");
    out->sha1_only = h && bg_dkim_list_has(h, "sha1") && !bg_dkim_list_has(h, "sha256");
    const char *p = bg_dkim_tag_val(tags, n, "p");
    if (!p) {
        out->why = BG_DKIM_WHY_NO_P;
        return out->status;
    }
    if (strcmp(out->ktype, "rsa") != 0 && strcmp(out->ktype, "ed25519") != 0) {
        out->why = BG_DKIM_WHY_KTYPE;
        return out->status;
    }
    if (!*p) {
        out->status = BG_DKIM_KEY_REVOKED;
        return out->status;
    }
    bg_buf der;
    bg_buf_init(&der);
    if (bg_dkim_base64(p, &der) < 0 || bg_buf_failed(&der)) {
        bg_buf_free(&der);
        out->why = BG_DKIM_WHY_BASE64;
        return out->status;
    }
    if (strcmp(out->ktype, "ed25519") == 0) {
        if (der.len == 32) {
            out->bits = 256;
            out->status = BG_DKIM_KEY_OK;
        } else {
            out->why = BG_DKIM_WHY_ED25519;
        }
    } else {
        out->bits = bg_dkim_rsa_bits((const unsigned char *)der.p, der.len, &out->bare_rsa);
        if (out->bits > 0)
            out->status = BG_DKIM_KEY_OK;
        else
            out->why = BG_DKIM_WHY_RSA_DER;
    }
    bg_buf_free(&der);
    return out->status;
}

bg_dkim_status bg_dkim_lookup(bg_dns *d, const char *domain, const char *selector,
                              bg_dkim_key *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%.60s._domainkey.%.240s", selector ? selector : "",
             domain ? domain : "");
    out->status = BG_DKIM_KEY_MISSING;
    if (!d || !selector || !*selector || !domain || !*domain) {
        out->why = BG_DKIM_WHY_NXDOMAIN;
        return out->status;
    }
    SPF_dns_rr_t *rr = bg_dns_lookup(d, out->name, ns_t_txt);
    if (!rr || rr->herrno == TRY_AGAIN) {
        SPF_dns_rr_free(rr);
        out->status = BG_DKIM_KEY_TEMPFAIL;
        return out->status;
    }
    if (rr->herrno != NETDB_SUCCESS || rr->num_rr == 0) {
        out->why = rr->herrno == HOST_NOT_FOUND ? BG_DKIM_WHY_NXDOMAIN : BG_DKIM_WHY_NODATA;
        SPF_dns_rr_free(rr);
        return out->status;
    }
    if (rr->num_rr > 1) {
        out->status = BG_DKIM_KEY_BROKEN;
        out->why = BG_DKIM_WHY_MULTIPLE;
        snprintf(out->record, sizeof out->record, "%s", rr->rr[0]->txt);
        SPF_dns_rr_free(rr);
        return out->status;
    }
    bg_dkim_parse(rr->rr[0]->txt, out);
    SPF_dns_rr_free(rr);
    return out->status;
}
