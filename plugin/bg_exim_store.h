/* bg_exim_store: the suppression store's share of the Exim adapter --
 * calls between bg_exim_store.c (local_scan side, handle cache, prvs) and
 * bg_exim_event.c (the dlfunc entry points). Only those two include it. */
#ifndef BG_EXIM_STORE_H
#define BG_EXIM_STORE_H

#include "bg_config.h"
#include "bg_policy.h"
#include "bg_store.h"

/* The process's store handle for the configured database (suppress_db),
 * opened (and created) on first use, reopened after a fork or a change of
 * path. NULL when it cannot be opened: one log line naming what is skipped
 * ("what"), at most once per process and problem. */
bg_store *bg_exim_store_handle(const bg_config *cfg, const char *what);

/* Log one line for a failed store call: status, how long it waited, and
 * what was not done. */
void bg_exim_store_report(bg_store_status st, long long waited_ms, const char *what);

/* Log, once per process and sending domain, that an event was not recorded
 * because the sending domain or the recipient is not a full domain name. */
void bg_exim_store_invalid(const char *sender_domain, const char *rcpt, const char *what);

/* The prvs secret for a sending domain and key number: prvs_secret_<K>,
 * prvs_secret, or the first line of prvs_secret_file. "" when none.
 * out has room for 65 bytes. */
void bg_exim_prvs_secret(const bg_config *cfg, const char *domain, int keynum, char out[72]);

/* Monotonic milliseconds, for the waited figures in log lines. */
long long bg_exim_store_ms(void);

#endif
