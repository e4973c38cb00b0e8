/* bg_provider: which operator runs a recipient's mail servers -- Google
 * for gmail.com and every Google Workspace domain, Microsoft for
 * outlook.com and every Microsoft 365 tenant, Yahoo for yahoo.com, aol.com
 * and the domains Yahoo hosts, and so on -- from the host name of the MX
 * a delivery used (Exim's $host), else from the recipient's domain when
 * it is one of the operator's own consumer domains.
 *
 * The table is data (plugin/bg_provider.c, each row with its source);
 * report counters are kept per operator id, so a rename of the display
 * name never splits a series. Pure lookups, no DNS.
 */
#ifndef BG_PROVIDER_H
#define BG_PROVIDER_H

#define BG_PROVIDER_ID_MAX 24 /* an id and its NUL */

typedef struct bg_provider {
    const char *id;    /* "google", "microsoft", ...: what counters keep */
    const char *name;  /* "Google (Gmail, Workspace)": what a report shows */
} bg_provider;

/* The operator of the MX host name host (case and a trailing dot
 * ignored), else of the recipient domain rcpt_domain; either may be NULL
 * or "". Never NULL: "other" for a known host of no listed operator,
 * "unknown" when there is neither a host nor a known domain. */
const bg_provider *bg_provider_find(const char *host, const char *rcpt_domain);

/* The operator with this id, NULL when there is none. */
const bg_provider *bg_provider_by_id(const char *id);

/* Every operator in the table's order (ends with "other", "unknown");
 * NULL past the end. */
const bg_provider *bg_provider_at(int i);

#endif
