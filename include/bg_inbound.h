/* bg_inbound: what a delivery report from another server may claim.
 *
 * A report arriving over SMTP is remote text from anyone. It may change the
 * suppression store only for (sending domain, message, recipient) that this
 * server really delivered (bg_store_sent_to, recorded at send time), and
 * only as far as its sender can speak for the recipient's domain:
 *
 *   - the connecting host is the host that accepted our delivery, an MX
 *     host of the recipient's domain (its A/AAAA when it has no MX), or SPF
 *     for that domain passes for it: the claim counts as the policy says,
 *     except that it never suppresses the whole domain (address at most);
 *   - DNS could not tell (timeout, server failure, budget spent or no DNS
 *     allowed): the claim counts as a soft event at most;
 *   - else (DNS answered and none of the above holds): nothing.
 *
 * The adapter (plugin/bg_exim_store.c) adds the rest: null sender over
 * SMTP, a Message-ID, a cap on failed recipients per report. See
 * docs/security.md for the attacks each part stops.
 */
#ifndef BG_INBOUND_H
#define BG_INBOUND_H

#include <stddef.h>
#include "bg_dns.h"
#include "bg_store.h"

typedef enum {
    BG_SPEAKS_NO = 0,  /* DNS answered: not an MX, not the delivery host, SPF not pass */
    BG_SPEAKS_YES,     /* the host speaks for the domain */
    BG_SPEAKS_UNKNOWN  /* DNS could not tell */
} bg_speaks;

const char *bg_speaks_name(bg_speaks s); /* "yes", "no", "unknown" */

/* Does the host at ip (IPv4/IPv6 text) speak for domain? delivery_host:
 * the IP that accepted our delivery of the message ("" when unknown). d may
 * be NULL (no DNS: then only the delivery host can prove it, else
 * unknown). why (when given) gets one line naming the proof or what was
 * looked at. At most 5 MX hosts are looked up. */
bg_speaks bg_inbound_speaks_for(bg_dns *d, const char *ip, const char *domain,
                                const char *delivery_host, char *why, size_t whylen);

/* The inbound limits on a rule the policy gave for one claim: domain scope
 * becomes address scope; unless speaks is YES, at most a soft event (and
 * NO records nothing). */
void bg_inbound_limit_rule(bg_store_rule *rule, bg_speaks speaks);

/* 1 when two IP address texts are the same address (IPv4-mapped IPv6
 * compares equal to its IPv4 form). */
int bg_inbound_same_ip(const char *a, const char *b);

#endif
