/* bg_psl: organisational domains from the Public Suffix List.
 *
 * DMARC's relaxed alignment compares organisational domains (RFC 7489
 * 3.2): the public suffix plus one label. The list comes from Debian's
 * publicsuffix package, read once per process; when it cannot be read a
 * small built-in list of common multi-label suffixes is used instead (and
 * one line is logged). Only ASCII (A-label) rules are kept: the names we
 * compare come from DNS and mail headers in their ASCII form.
 */
#ifndef BG_PSL_H
#define BG_PSL_H

#include <stddef.h>

#define BG_PSL_DEFAULT_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

/* Load the list from path (NULL = BG_PSL_DEFAULT_PATH), replacing what was
 * loaded before. Returns the number of rules read from the file, or -1 when
 * it could not be read (the built-in list is then in use). */
int bg_psl_load(const char *path);

/* Which list is in use: "file" or "builtin" (loads the default on first use). */
const char *bg_psl_source(void);

/* Write the organisational domain of name (lower case, no trailing dot)
 * into out and return out. A name that is itself a public suffix gives
 * itself. "" for an empty or over-long name. */
const char *bg_psl_org_domain(const char *name, char *out, size_t outlen);

/* DMARC identifier alignment of a with b: strict = the same name (case
 * ignored); relaxed = the same organisational domain. 1 aligned, 0 not,
 * 0 when either is empty. */
int bg_psl_aligned(const char *a, const char *b, int strict);

/* Release the loaded list (tests; the next use loads it again). */
void bg_psl_free(void);

#endif
