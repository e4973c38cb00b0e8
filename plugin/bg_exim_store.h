/* bg_exim_store: the suppression store's share of the Exim adapter --
 * calls between bg_exim_store.c (local_scan side, handle cache, prvs) and
 * the dlfunc entry points (bg_exim_event.c, bg_exim_unsub.c). Only those
 * include it. */
#ifndef BG_EXIM_STORE_H
#define BG_EXIM_STORE_H

#include "bg_config.h"
#include "bg_dns.h"
#include "bg_policy.h"
#include "bg_store.h"

/* The process's store handle for the configured database (suppress_db),
 * opened (and created) on first use, reopened after a fork or a change of
 * path. NULL when it cannot be opened -- one log line naming what is
 * skipped ("what"), at most once per process and problem -- and, silently,
 * for the rest of the process once a call timed out (the busy bound is
 * then spent once per process, not once per recipient). */
bg_store *bg_exim_store_handle(const bg_config *cfg, const char *what);

/* Log one line for a failed store call: status, how long it waited, and
 * what was not done. A timeout (BG_STORE_BUSY) turns the store off for the
 * rest of the process with that one line. */
void bg_exim_store_report(bg_store_status st, long long waited_ms, const char *what);

/* 1 once the store timed out in this process (it is skipped). */
int bg_exim_store_skipped(void);

/* The event's sixth argument, "OUR_IP REMOTE_IP", into its two halves
 * (either may be empty; a lone IP is ours). */
void bg_exim_split_ips(const char *arg, char local[BG_IP_MAX], char remote[BG_IP_MAX]);

/* Log, once per process and sending domain, that an event was not recorded
 * because the sending domain or the recipient is not a full domain name. */
void bg_exim_store_invalid(const char *sender_domain, const char *rcpt, const char *what);

/* The prvs secret for a sending domain and key number: prvs_secret_<K>,
 * prvs_secret, or the first line of prvs_secret_file. "" when none.
 * out has room for 65 bytes. */
void bg_exim_prvs_secret(const bg_config *cfg, const char *domain, int keynum, char out[72]);

/* The process's resolver for the inbound host checks (reports, complaints,
 * unsubscribe requests: diagnose_dns_servers), started with the budget
 * suppress_inbound_budget; NULL when that is 0 (no DNS) or it cannot be
 * set up. */
bg_dns *bg_exim_inbound_dns(const bg_config *cfg);

/* Monotonic milliseconds, for the waited figures in log lines. */
long long bg_exim_store_ms(void);

#endif
