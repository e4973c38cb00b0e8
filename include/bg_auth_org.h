/* bg_auth_org: organisational domains from the Public Suffix List (libpsl).
 *
 * DMARC's relaxed alignment compares organisational domains (RFC 7489
 * 3.2): the public suffix plus one label. libpsl (Debian's libpsl5) reads
 * the newest of its built-in list and the publicsuffix package's file
 * (/usr/share/publicsuffix/public_suffix_list.dafsa). The library is
 * opened on first use, not linked: only bounces about authentication need
 * it, and every Exim process loads the plugin. Without libpsl, one line
 * is logged and alignment falls back to "the same name, or one a
 * subdomain of the other" (conservative: never aligns example.co.uk with
 * other.co.uk). Names are compared in their ASCII form, as they come from
 * DNS and mail headers.
 */
#ifndef BG_AUTH_ORG_H
#define BG_AUTH_ORG_H

#include <stddef.h>

/* Write the organisational domain of name (lower case, no trailing dot)
 * into out and return out. A name that is itself a public suffix gives
 * itself. "" for an empty or over-long name. */
const char *bg_auth_org_domain(const char *name, char *out, size_t outlen);

/* DMARC identifier alignment of a with b: strict = the same name (case
 * ignored); relaxed = the same organisational domain. 1 aligned, 0 not,
 * 0 when either is empty. */
int bg_auth_org_aligned(const char *a, const char *b, int strict);

/* 1 when the last label of name is a top-level domain the list knows
 * (not only the implicit "*" rule); 1 as well when libpsl is missing. */
int bg_auth_org_tld_listed(const char *name);

/* Which data is in use: "libpsl" or "fallback" (opens libpsl on first use). */
const char *bg_auth_org_source(void);

/* Release the loaded list (tests; the next use loads it again). */
void bg_auth_org_free(void);

/* Use the fallback rule instead of libpsl until bg_auth_org_free (tests). */
void bg_auth_org_fallback(void);

#endif
