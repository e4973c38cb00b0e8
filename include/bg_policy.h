/* bg_policy: what the suppression store does with a failure, per sending
 * domain, from the plugin's config file.
 *
 * Defaults follow docs/taxonomy.md (the classifier's verdict carries the
 * category's default); every part can be changed globally or in a
 * "[domain example.com]" section:
 *
 *   suppress = yes                      record and enforce for this domain
 *   suppress.<category> = none|count|address|domain
 *   suppress_soft_threshold = 3         soft events that suppress ...
 *   suppress_soft_window = 7d           ... within this time
 *   suppress_expire_address = 365d      how long suppressions last (0 = never)
 *   suppress_expire_domain = 30d
 *   suppress_expire_soft = 30d
 *   suppress_expire_complaint = 0       a complaint's address row (0 = never)
 *   suppress_expire_unsubscribed = 0    an unsubscribe's address row (0 = never)
 *   suppress_complaints = yes           record complaints (ARF feedback reports)
 *   suppress_exempt = postmaster@*, example.org, .example.edu, ceo@example.com
 *
 *   report = yes                        count its mail for bounceguide report
 *   guard_bounce_rate = 0               defer its new mail above this bounce rate
 *   guard_window = 24h, guard_min_volume = 100
 *
 * Global only: suppress_db, suppress_timeout_ms, suppress_event_retention,
 * suppress_change_retention, report_retention.
 * This module only reads the config; bg_policy_store_open opens the store
 * the config names (a file, or a fleet host's view of a central store).
 */
#ifndef BG_POLICY_H
#define BG_POLICY_H

#include "bg_category.h"
#include "bg_config.h"
#include "bg_store.h"
#include "bg_store_fleet.h"

#define BG_POLICY_SYNC_INTERVAL "1s" /* suppress_sync_interval */
#define BG_POLICY_SOFT_THRESHOLD 3
#define BG_POLICY_SOFT_WINDOW (7LL * 86400)
#define BG_POLICY_EXPIRE_ADDRESS (365LL * 86400)
#define BG_POLICY_EXPIRE_DOMAIN (30LL * 86400)
#define BG_POLICY_EXPIRE_SOFT (30LL * 86400)
#define BG_POLICY_EXPIRE_COMPLAINT 0LL     /* never: as SES, Mailgun, Postmark, SendGrid */
#define BG_POLICY_EXPIRE_UNSUBSCRIBED 0LL  /* never: the person asked */
#define BG_POLICY_EVENT_RETENTION (30LL * 86400)
#define BG_POLICY_CHANGE_RETENTION (365LL * 86400)
#define BG_POLICY_REPORT_RETENTION (400LL * 86400)
#define BG_POLICY_GUARD_WINDOW (24LL * 3600)
#define BG_POLICY_GUARD_MIN_VOLUME 100

typedef struct bg_policy bg_policy;

/* A policy reading cfg (borrowed: it must outlive the policy; NULL = all
 * defaults). NULL only when memory runs out. */
bg_policy *bg_policy_new(const bg_config *cfg);
void bg_policy_free(bg_policy *p);

/* 1 when recording and enforcing is on for mail from sender_domain. */
int bg_policy_enabled(const bg_policy *p, const char *sender_domain);

/* The mode for a category after the domain's overrides: base is the
 * classifier's decision (the taxonomy default after its rules). temporary
 * = 1 for a 4xx or a delay: then at most BG_SUP_COUNT. suppressed-here
 * (our own refusal) is always BG_SUP_NONE, whatever the config says. */
bg_suppress bg_policy_mode(const bg_policy *p, const char *sender_domain, const char *category,
                           bg_suppress base, int temporary);

/* The full rule for the store (mode, soft threshold and window, expiry). */
void bg_policy_rule(const bg_policy *p, const char *sender_domain, const char *category,
                    bg_suppress base, int temporary, bg_store_rule *out);

/* 1 when recipient (an address) is exempt for sender_domain: never
 * recorded, never refused. */
int bg_policy_exempt(const bg_policy *p, const char *sender_domain, const char *recipient);

/* The bounce-rate guard of a sending domain (guard_bounce_rate,
 * guard_window, guard_min_volume): off unless a rate is set. */
typedef struct bg_policy_guard {
    double rate;          /* a share of deliveries + bounces, 0 < rate <= 1; 0 = off */
    long long rate_ppm;   /* the same in parts per million (the comparison) */
    long long window;     /* seconds looked back */
    long long min_volume; /* deliveries + bounces in the window before it may hold */
} bg_policy_guard;
/* 1 when the guard is on for sender_domain (out filled), else 0. */
int bg_policy_guard_get(const bg_policy *p, const char *sender_domain, bg_policy_guard *out);
/* 1 when delivered and bounced (in the window) cross the guard g. */
int bg_policy_guard_holds(const bg_policy_guard *g, long long delivered, long long bounced);

/* report: 1 when the event hook counts mail of sender_domain. */
int bg_policy_report(const bg_policy *p, const char *sender_domain);
/* report_retention: how long counters are kept (0 = forever). */
long long bg_policy_report_retention(const bg_policy *p);

/* Global settings. */
const char *bg_policy_db_path(const bg_policy *p);   /* suppress_db: a file or postgresql://... */
const char *bg_policy_replica_path(const bg_policy *p); /* suppress_replica (a fleet host) */
const char *bg_policy_journal_path(const bg_policy *p); /* suppress_journal (a fleet host) */
int bg_policy_sync_interval_ms(const bg_policy *p);     /* suppress_sync_interval, 50 ms..1 h */
/* The three paths of a fleet host (central = suppress_db). */
void bg_policy_fleet_paths(const bg_policy *p, bg_store_fleet_paths *out);
/* The store Exim's processes use: the file of suppress_db, or for a
 * central store (PostgreSQL) the fleet view -- writes to the journal,
 * checks on the replica (bg_store_fleet.h) -- with suppress_timeout_ms. */
bg_store *bg_policy_store_open(const bg_policy *p, int flags, bg_store_status *st, char *err, size_t errlen);
int bg_policy_timeout_ms(const bg_policy *p);        /* suppress_timeout_ms, 10..10000 */
long long bg_policy_event_retention(const bg_policy *p);
/* suppress_change_retention: how long the change log keeps a change (0 = forever). */
long long bg_policy_change_retention(const bg_policy *p);

#endif
