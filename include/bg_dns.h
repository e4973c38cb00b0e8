/* bg_dns: a bounded, caching DNS resolver for the authentication diagnosis.
 *
 * Diagnosis must never delay a bounce, so every query runs against a
 * deadline (a total time budget set per bounce) with our own UDP/TCP
 * client: poll() with the time left, no resolver retries beyond it.
 * Answers (and NXDOMAIN/NODATA) are cached in the handle for their TTL;
 * keep one handle per process to reuse them. A handle made with
 * bg_dns_new_zone() answers only from records the caller added (libspf2's
 * zone layer holds them): the unit tests and `diagnose --zone` use it and
 * never touch the network.
 *
 * Results are libspf2 resource-record sets (SPF_dns_rr_t) because the SPF
 * evaluation consumes them directly; bg_dns_spf_layer() gives libspf2 a DNS
 * layer that goes through the same budget and cache.
 */
#ifndef BG_DNS_H
#define BG_DNS_H

#include <stddef.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

typedef struct bg_dns bg_dns;

/* A resolver using the name servers of /etc/resolv.conf (servers NULL or
 * ""), or of servers: a list of "IP" or "IP:PORT" separated by blanks or
 * commas (IPv4 or IPv6, "[v6]:port"). NULL when memory runs out or no
 * server address is usable. */
bg_dns *bg_dns_new(const char *servers);

/* A resolver answering only from added records. */
bg_dns *bg_dns_new_zone(void);

/* Add a record to a zone resolver. type is "A", "AAAA", "MX", "TXT", "PTR"
 * (or the ns_t_ value via bg_dns_add_rr); data is the text form (MX: the
 * host name). A name without records of a type answers NXDOMAIN. Returns 0
 * or -1 (not a zone resolver, bad type or data). */
int bg_dns_add(bg_dns *d, const char *name, const char *type, const char *data);
int bg_dns_add_rr(bg_dns *d, const char *name, int qtype, const char *data);

/* Every zone query costs ms milliseconds of simulated time (tests of the
 * budget without sleeping). */
void bg_dns_set_zone_latency(bg_dns *d, long ms);

void bg_dns_free(bg_dns *d);

/* Start a new budget: the queries from now on may take budget_ms in all
 * (<= 0: no limit). Clears the "resolver failed" flag. */
void bg_dns_start(bg_dns *d, long budget_ms);

/* Milliseconds used since bg_dns_start (simulated time included). */
long bg_dns_elapsed_ms(const bg_dns *d);

/* 1 once the budget ran out or no server answered (timeout, refused,
 * unreachable) since bg_dns_start: findings made after it are not reliable. */
int bg_dns_failed(const bg_dns *d);

/* One line saying why bg_dns_failed is set ("" when not). */
const char *bg_dns_failure(const bg_dns *d);

/* Look name up. Always returns a record set the caller frees with
 * SPF_dns_rr_free (NULL only when memory runs out); its herrno is
 * NETDB_SUCCESS, HOST_NOT_FOUND (NXDOMAIN), NO_DATA, or TRY_AGAIN (server
 * failure, timeout, budget spent). */
SPF_dns_rr_t *bg_dns_lookup(bg_dns *d, const char *name, int qtype);

/* The TXT strings of name (each record's strings joined) into out, one
 * record per entry, at most max entries of outlen bytes. Returns the count,
 * or -1 with *herrno set to the failure. */
int bg_dns_txt(bg_dns *d, const char *name, char (*out)[512], int max, int *herrno);

/* A libspf2 DNS layer over this resolver (owned by d). */
SPF_dns_server_t *bg_dns_spf_layer(bg_dns *d);

/* Counters: queries sent on the wire (or asked of the zone), cache hits. */
typedef struct bg_dns_stats {
    unsigned long queries;
    unsigned long cache_hits;
    unsigned long timeouts;
} bg_dns_stats;
void bg_dns_get_stats(const bg_dns *d, bg_dns_stats *out);

/* Drop every cached answer. */
void bg_dns_flush(bg_dns *d);

#endif
