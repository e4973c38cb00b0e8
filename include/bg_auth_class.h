/* bg_auth_class: is this address or host name one a receiver on the
 * Internet can see?
 *
 * The authentication diagnosis advises DNS records (SPF ip4:, PTR, the
 * SPF of a HELO name) only for public addresses and names: advice to
 * publish "ip4:127.0.0.1" or a PTR for a private address is wrong on a
 * host that sends through a smarthost or from behind NAT. Addresses are
 * classed by a table of special-purpose ranges (RFC 6890 and its
 * updates), names by a table of special-use suffixes (RFC 6761, 6762,
 * 8375) plus the Public Suffix List: a name whose top-level domain is not
 * listed there cannot be looked up from outside. The documentation
 * ranges (RFC 5737, 3849, 9637) and the reserved test names .test and
 * .example count as public: they only occur in examples and tests, where
 * they stand for public ones. Does no DNS.
 */
#ifndef BG_AUTH_CLASS_H
#define BG_AUTH_CLASS_H

#include <stddef.h>

typedef enum {
    BG_ADDR_INVALID = 0, /* not an IPv4 or IPv6 address */
    BG_ADDR_PUBLIC,
    BG_ADDR_DOC,         /* documentation range: stands for a public address */
    BG_ADDR_LOOPBACK,    /* 127/8, ::1 */
    BG_ADDR_PRIVATE,     /* RFC 1918 */
    BG_ADDR_SHARED,      /* RFC 6598 carrier-grade NAT */
    BG_ADDR_ULA,         /* RFC 4193 fc00::/7 */
    BG_ADDR_LINKLOCAL,   /* 169.254/16, fe80::/10 */
    BG_ADDR_UNSPEC,      /* 0/8, :: */
    BG_ADDR_MULTICAST,
    BG_ADDR_RESERVED     /* other special-purpose ranges */
} bg_addr_class;

typedef enum {
    BG_NAME_INVALID = 0, /* empty or not a host name */
    BG_NAME_PUBLIC,
    BG_NAME_TEST,        /* under .test or .example: stands for a public name */
    BG_NAME_SINGLE,      /* one label ("vm") */
    BG_NAME_LOCALHOST,   /* localhost, *.localhost */
    BG_NAME_MDNS,        /* *.local (RFC 6762) */
    BG_NAME_PRIVATE_USE, /* home.arpa, .internal, .localdomain, .lan, ... */
    BG_NAME_UNLISTED,    /* top-level domain not in the Public Suffix List */
    BG_NAME_ADDRESS      /* an address literal, not a name */
} bg_name_class;

/* The class of an address in text form ("192.0.2.1", "2001:db8::1",
 * "[::1]"). IPv4-mapped IPv6 addresses are classed as their IPv4 part. */
bg_addr_class bg_auth_class_addr(const char *ip);

/* The class of a host or domain name (case and a trailing dot ignored). */
bg_name_class bg_auth_class_name(const char *name);

/* 1 when receivers on the Internet can see it (PUBLIC or DOC / TEST). */
int bg_auth_addr_public(bg_addr_class c);
int bg_auth_name_public(bg_name_class c);

/* Short ids ("loopback", "private", "single-label", ...); the diagnosis
 * uses them in catalogue keys (addr_loopback, name_single-label). */
const char *bg_auth_addr_class_id(bg_addr_class c);
const char *bg_auth_name_class_id(bg_name_class c);

/* The one public address a reply text names as the client's (Gmail's
 * "ip: [203.0.113.5]", "SPF: 203.0.113.5 is not allowed", Received-SPF
 * comments): every IPv4 and IPv6 literal in text, less the address in
 * remote_mta (the server that answered) and non-public ones; when exactly
 * one distinct address is left it is copied to out and 1 returned, else
 * out is "" and 0 returned (none, or ambiguous). */
int bg_auth_reply_ip(const char *text, const char *remote_mta, char *out, size_t cap);

#endif
