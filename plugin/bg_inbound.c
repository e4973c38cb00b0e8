/* bg_inbound: may the host that sent us a report speak for the failed
 * recipient's domain, and what its claim may then do (bg_inbound.h).
 *
 * All DNS goes through one bg_dns handle and its budget: the caller starts
 * it; a lookup that fails or runs out of time makes the answer "unknown",
 * never "yes".
 */
#include "bg_inbound.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bg_spf.h"

#define BG_INBOUND_MAX_MX 5

const char *bg_speaks_name(bg_speaks s)
{
    return s == BG_SPEAKS_YES ? "yes" : s == BG_SPEAKS_UNKNOWN ? "unknown" : "no";
}

/* Parse an IP text into 16 bytes (IPv4 as ::ffff:a.b.c.d). 0 or -1. */
static int bg_inbound_ip16(const char *s, unsigned char out[16])
{
    struct in_addr a4;
    if (s && inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    if (s && inet_pton(AF_INET6, s, out) == 1)
        return 0;
    return -1;
}

int bg_inbound_same_ip(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    return bg_inbound_ip16(a, x) == 0 && bg_inbound_ip16(b, y) == 0 && memcmp(x, y, 16) == 0;
}

/* Is ip one of the A/AAAA addresses of host? 1 yes, 0 no, -1 could not tell. */
static int bg_inbound_host_has(bg_dns *d, const char *host, const unsigned char ip[16])
{
    int v4 = memcmp(ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
    SPF_dns_rr_t *rr = bg_dns_lookup(d, host, v4 ? ns_t_a : ns_t_aaaa);
    if (!rr)
        return -1;
    int r = rr->herrno == TRY_AGAIN ? -1 : 0;
    for (int i = 0; rr->herrno == NETDB_SUCCESS && i < rr->num_rr && r == 0; i++) {
        if (v4 && memcmp(&rr->rr[i]->a, ip + 12, 4) == 0)
            r = 1;
        else if (!v4 && memcmp(&rr->rr[i]->aaaa, ip, 16) == 0)
            r = 1;
    }
    SPF_dns_rr_free(rr);
    return r;
}

/* Is ip an address of one of domain's MX hosts (or of the domain itself
 * when it has no MX record)? 1, 0, or -1 (could not tell). *mx gets the
 * matching host. */
static int bg_inbound_mx_has(bg_dns *d, const char *domain, const unsigned char ip[16], char *mx,
                             size_t mxlen)
{
    SPF_dns_rr_t *rr = bg_dns_lookup(d, domain, ns_t_mx);
    if (!rr)
        return -1;
    int r;
    if (rr->herrno == TRY_AGAIN) {
        r = -1;
    } else if (rr->herrno != NETDB_SUCCESS || rr->num_rr == 0) {
        /* no MX: the domain's own address is its mail host (RFC 5321 5.1);
         * after an NXDOMAIN that lookup fails too */
        r = bg_inbound_host_has(d, domain, ip);
        if (r == 1)
            snprintf(mx, mxlen, "%s", domain);
    } else {
        r = 0;
        int unsure = 0;
        for (int i = 0; i < rr->num_rr && i < BG_INBOUND_MAX_MX && r != 1; i++) {
            const char *h = rr->rr[i]->mx;
            if (!h[0] || strcmp(h, ".") == 0) /* null MX (RFC 7505) */
                continue;
            int hit = bg_inbound_host_has(d, h, ip);
            if (hit == 1) {
                r = 1;
                snprintf(mx, mxlen, "%s", h);
            } else if (hit < 0) {
                unsure = 1;
            }
        }
        if (r != 1 && unsure)
            r = -1;
    }
    SPF_dns_rr_free(rr);
    return r;
}

bg_speaks bg_inbound_speaks_for(bg_dns *d, const char *ip, const char *domain,
                                const char *delivery_host, char *why, size_t whylen)
{
    char dummy[8];
    if (!why || whylen == 0) {
        why = dummy;
        whylen = sizeof dummy;
    }
    why[0] = '\0';
    unsigned char ip16[16];
    if (!domain || !*domain || bg_inbound_ip16(ip, ip16) < 0) {
        snprintf(why, whylen, "no usable host address");
        return BG_SPEAKS_NO;
    }
    if (delivery_host && *delivery_host && bg_inbound_same_ip(ip, delivery_host)) {
        snprintf(why, whylen, "%s accepted our delivery", ip);
        return BG_SPEAKS_YES;
    }
    if (!d) {
        snprintf(why, whylen, "%s is not the host that accepted our delivery; no DNS check", ip);
        return BG_SPEAKS_UNKNOWN;
    }
    char mx[256] = "";
    int m = bg_inbound_mx_has(d, domain, ip16, mx, sizeof mx);
    if (m == 1) {
        snprintf(why, whylen, "%s is %s, a mail host of %s", ip, mx, domain);
        return BG_SPEAKS_YES;
    }
    /* libspf2 passes every loopback client whatever the record says (its
     * "localhost" rule): for those, SPF tells nothing */
    int loopback = ip16[10] == 0xff && ip16[11] == 0xff && ip16[12] == 127 &&
                   memcmp(ip16, "\0\0\0\0\0\0\0\0\0\0", 10) == 0;
    loopback |= memcmp(ip16, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
    bg_spf_result spf;
    bg_spf_code c = loopback ? BG_SPF_NONE : bg_spf_check(d, ip, domain, &spf);
    if (c == BG_SPF_PASS) {
        snprintf(why, whylen, "SPF of %s passes for %s", domain, ip);
        return BG_SPEAKS_YES;
    }
    if (m < 0 || c == BG_SPF_TEMPERROR || bg_dns_failed(d)) {
        snprintf(why, whylen, "DNS could not tell whether %s speaks for %s (%s)", ip, domain,
                 bg_dns_failed(d) ? bg_dns_failure(d) : "temporary DNS error");
        return BG_SPEAKS_UNKNOWN;
    }
    snprintf(why, whylen, "%s is neither a mail host of %s nor allowed by its SPF (%s)", ip, domain,
             loopback ? "not checked for a loopback address" : bg_spf_code_name(c));
    return BG_SPEAKS_NO;
}

void bg_inbound_limit_rule(bg_store_rule *rule, bg_speaks speaks)
{
    if (rule->mode == BG_SUP_DOMAIN)
        rule->mode = BG_SUP_ADDRESS; /* a stranger never blocks a whole domain */
    if (speaks == BG_SPEAKS_NO)
        rule->mode = BG_SUP_NONE;
    else if (speaks != BG_SPEAKS_YES && rule->mode > BG_SUP_COUNT)
        rule->mode = BG_SUP_COUNT;
}
