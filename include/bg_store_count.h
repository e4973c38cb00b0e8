/* bg_store_count: delivery counters for `bounceguide report` and the
 * bounce-rate guard (schema 5).
 *
 * One row per (sending domain, hour, receiving operator, outcome,
 * category) with a count: the transport's event hook adds deliveries,
 * bounces and deferrals, the complaint path adds complaints. Hours, not
 * days, so that the guard can look back over a window shorter than a
 * day; a report sums them to days. The operator is bg_provider's id of
 * the MX host the delivery used. Rows older than report_retention go
 * with `suppress expire`.
 *
 * bg_guard keeps, per sending domain, the last time an administrator
 * reset the guard: the guard counts from then on only.
 *
 * Plain SQL on the store's handle and helpers (bg_store_int.h), like the
 * rest of the store, so that another backend takes it as it is.
 */
#ifndef BG_STORE_COUNT_H
#define BG_STORE_COUNT_H

#include "bg_provider.h"
#include "bg_store.h"

#define BG_STORE_COUNT_BUCKET 3600LL /* seconds per counter row: one hour */

typedef enum {
    BG_OUT_DELIVERED = 0, /* msg:delivery */
    BG_OUT_BOUNCED,       /* msg:fail:delivery: the remote refused for good */
    BG_OUT_DEFERRED,      /* msg:rcpt:defer, msg:host:defer: one per attempt */
    BG_OUT_COMPLAINT,     /* a complaint that proved itself (bg_feedback) */
    BG_OUT_N
} bg_store_outcome;

/* "delivered", "bounced", "deferred", "complaint"; -1 when unknown. */
const char *bg_store_outcome_name(bg_store_outcome o);
int bg_store_outcome_parse(const char *name);

/* Add n to the counter of (sender_domain, the hour of now, provider,
 * outcome, category) -- category "" for deliveries. Inside the caller's
 * transaction when one is open (bg_store_count_begin), else its own.
 * now 0 = time(NULL). BG_STORE_NOTFOUND on a database without counters
 * (an older schema opened read-only). */
bg_store_status bg_store_count_add(bg_store *s, const char *sender_domain, const char *provider,
                                   bg_store_outcome o, const char *category, long long n,
                                   long long now);

/* Open one transaction for an event and its count (commit with
 * bg_store_commit, or bg_store_rollback): the statements of the event
 * paths (bg_store_record, bg_store_delivered) and of the count are
 * prepared first, outside the write lock, as those paths do themselves. */
bg_store_status bg_store_count_begin(bg_store *s);

/* How a report groups. */
typedef enum {
    BG_COUNT_BY_DOMAIN = 0, /* sending domain */
    BG_COUNT_BY_PROVIDER,   /* receiving operator */
    BG_COUNT_BY_CATEGORY,   /* the category of a bounce or deferral ("" for the others) */
    BG_COUNT_BY_DAY         /* UTC day (the key is its start, as decimal unix seconds) */
} bg_store_count_by;

/* One group of a report: the key and the sum per outcome. */
typedef struct bg_store_count_group {
    char key[BG_DOMAIN_MAX];
    long long n[BG_OUT_N];
} bg_store_count_group;

/* The sums of the counters with hour in [since, until) (until 0 = no
 * bound), of one sending domain (NULL or "" = all), grouped by `by`, in
 * key order. fn returns non-zero to stop. */
typedef int (*bg_store_count_group_fn)(const bg_store_count_group *g, void *ctx);
bg_store_status bg_store_count_report(bg_store *s, bg_store_count_by by, long long since,
                                      long long until, const char *sender_domain,
                                      bg_store_count_group_fn fn, void *ctx);

/* Per sending domain, the largest number of deliveries to provider in one
 * UTC day of [since, until): fn(domain, day, n) once per domain. */
typedef int (*bg_store_count_peak_fn)(const char *sender_domain, long long day, long long n,
                                      void *ctx);
bg_store_status bg_store_count_peak(bg_store *s, const char *provider, long long since,
                                    long long until, const char *sender_domain,
                                    bg_store_count_peak_fn fn, void *ctx);

/* Delete the counters of hours before `before` (0: none) and refresh the
 * planner's statistics of the table (a report of recent hours then seeks
 * each domain's range instead of reading every row). *removed (may be
 * NULL) gets the count of rows. */
bg_store_status bg_store_count_expire(bg_store *s, long long before, int *removed);

/* ---- the bounce-rate guard ---- */

/* What the guard sees for one sending domain: deliveries and bounces
 * since `from` (the start of the window, or the last reset when later). */
typedef struct bg_store_guard {
    long long from;         /* the first second counted */
    long long delivered, bounced;
    long long reset_at;     /* 0: never reset */
    char actor[BG_STORE_ACTOR_MAX];
    char note[BG_STORE_NOTE_MAX];
} bg_store_guard;

/* The counts for the guard of sender_domain over the window (seconds)
 * ending at now (0 = time(NULL)): the hours from the one now - window
 * falls in, or from the last reset (the hour of the reset counts only
 * what came after it). */
bg_store_status bg_store_guard_counts(bg_store *s, const char *sender_domain, long long window,
                                      long long now, bg_store_guard *out);

/* An administrator's reset: the guard of sender_domain counts from now
 * on only. The handle's actor and reason (bg_store_set_actor) are kept
 * with it. */
bg_store_status bg_store_guard_reset(bg_store *s, const char *sender_domain, long long now);

#endif
