/* bg_cli_sync: `bounceguide suppress sync|migrate` -- a fleet host and its
 * central store (include/bg_store_fleet.h, docs/suppression.md "A fleet").
 *
 *   sync [--once] [--interval 1s]
 *       ships this host's journal to the central store (suppress_db =
 *       postgresql://...) and brings the replica the RCPT check reads up
 *       to the central change log; again every suppress_sync_interval
 *       until SIGTERM or SIGINT (the systemd service bounceguide-sync).
 *       One line per round that did something, one line per new problem
 *       (the central store down: the journal keeps the events, mail goes
 *       on). --once: one round; exit 0 when both steps worked, 1 if not.
 *   sync --status [--json]
 *       where this host stands, read from its own files: the journal's
 *       waiting events, the replica's place in the central log and when
 *       it last caught up.
 *   migrate --from FILE [--to URL] [--batch N] [--reason TEXT]
 *       copies a SQLite store into the central store (default --to: the
 *       config's suppress_db); resumable, idempotent (bg_store_copy).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bg_cli_suppress_int.h"
#include "bg_config.h"
#include "bg_store.h"
#include "bg_store_fleet.h"

static volatile sig_atomic_t bg_sync_stop;

static void bg_sync_signal(int sig)
{
    (void)sig;
    bg_sync_stop = 1;
}

/* A UTC time stamp for a log line. */
static void bg_sync_stamp(char out[32])
{
    bg_store_fmt_time((long long)time(NULL), out);
}

static void bg_sync_suppressed(const char *domain, const char *key, const char *category, void *ctx)
{
    (void)ctx;
    char t[32];
    bg_sync_stamp(t);
    printf("%s sync: %s suppressed for mail from %s: %s\n", t, key, domain, category);
}

static void bg_sync_dropped(const char *why, void *ctx)
{
    (void)ctx;
    char t[32];
    bg_sync_stamp(t);
    printf("%s sync: %s\n", t, why);
}

/* Sleep ms, waking early on a signal. */
static void bg_sync_sleep(int ms)
{
    while (ms > 0 && !bg_sync_stop) {
        int step = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* The interval: --interval, else suppress_sync_interval. */
static int bg_sync_interval(const bg_sup_opts *o, const bg_policy *p)
{
    if (!o->interval)
        return bg_policy_sync_interval_ms(p);
    const char *v = o->interval;
    size_t n = strlen(v);
    long long ms = -1;
    if (n > 2 && strcasecmp(v + n - 2, "ms") == 0)
        ms = strtoll(v, NULL, 10);
    else if (bg_config_parse_num(v, &ms) == 0)
        ms *= 1000;
    return ms < 50 ? -1 : ms > 3600000 ? 3600000 : (int)ms;
}

static int bg_sync_status(bg_store_sync *y, const bg_sup_opts *o)
{
    bg_store_sync_status s;
    bg_store_status st = bg_store_sync_status_get(y, &s);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: %s\n", bg_store_sync_errmsg(y));
        return 1;
    }
    long long now = (long long)time(NULL);
    if (o->json) {
        printf("{\"journal_id\":\"%s\",\"journal_waiting\":%lld,\"journal_oldest_age_s\":%lld,"
               "\"log_id\":\"%s\",\"cursor\":%lld,\"synced_age_s\":%lld,\"replica_rows\":%lld}\n",
               s.journal_id, s.journal_entries, s.journal_oldest_at ? now - s.journal_oldest_at : 0, s.log_id,
               s.cursor, s.synced_at ? now - s.synced_at : -1, s.rows);
        return 0;
    }
    printf("journal:  %lld event(s) waiting%s", s.journal_entries, s.journal_entries ? ", the oldest " : "");
    if (s.journal_entries)
        printf("%lld s old", now - s.journal_oldest_at);
    printf(" (journal %s)\n", s.journal_id);
    if (!s.log_id[0])
        printf("replica:  never synced\n");
    else
        printf("replica:  %lld row(s) in force, at change %lld of log %s, caught up %lld s ago\n", s.rows,
               s.cursor, s.log_id, s.synced_at ? now - s.synced_at : -1);
    return 0;
}

int bg_sup_sync(const bg_sup_opts *o, const bg_policy *p)
{
    bg_store_fleet_paths fp;
    bg_policy_fleet_paths(p, &fp);
    if (o->db)
        fp.central = o->db;
    if (!bg_store_is_central(fp.central)) {
        fprintf(stderr, "bounceguide: suppress_db (%s) is a file, not a central store (postgresql://...): "
                        "nothing to sync\n", fp.central);
        return 2;
    }
    int interval = bg_sync_interval(o, p);
    if (interval < 0) {
        fprintf(stderr, "bounceguide: --interval \"%s\": a duration of at least 50ms (\"500ms\", \"2s\")\n",
                o->interval);
        return 2;
    }
    bg_store_sync *y = bg_store_sync_new(&fp, 10000);
    if (!y)
        return 1;
    if (o->status) {
        int rc = bg_sync_status(y, o);
        bg_store_sync_free(y);
        return rc;
    }
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    bg_store_sync_set_host(y, host);
    bg_store_sync_on_suppressed(y, bg_sync_suppressed, NULL);
    bg_store_sync_on_dropped(y, bg_sync_dropped, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = bg_sync_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    char name[600], said[1000] = "", t[32];
    bg_store_redact(fp.central, name, sizeof name);
    if (!o->once) {
        bg_sync_stamp(t);
        printf("%s sync: %s <-> journal %s, replica %s, every %d ms\n", t, name, fp.journal, fp.replica,
               interval);
    }
    int failed = 0;
    do {
        bg_store_sync_stats s;
        memset(&s, 0, sizeof s);
        bg_store_status st = BG_STORE_OK;
        /* everything waiting, batch by batch, then the replica */
        for (int round = 0; round < 200 && !bg_sync_stop; round++) {
            long long before = s.shipped + s.duplicates + s.dropped;
            st = bg_store_sync_ship(y, 500, &s);
            if (st != BG_STORE_OK || s.shipped + s.duplicates + s.dropped == before)
                break;
        }
        const char *problem = st != BG_STORE_OK || bg_store_sync_errmsg(y)[0] ? bg_store_sync_errmsg(y) : "";
        char ship_err[1000];
        snprintf(ship_err, sizeof ship_err, "%s", problem);
        bg_store_status pst = bg_store_sync_pull(y, &s);
        if (pst != BG_STORE_OK && !ship_err[0])
            snprintf(ship_err, sizeof ship_err, "%s", bg_store_sync_errmsg(y));
        failed = st != BG_STORE_OK || pst != BG_STORE_OK;
        bg_sync_stamp(t);
        if (s.shipped || s.duplicates || s.dropped || s.pulled || s.snapshot_rows) {
            char snap[64] = "";
            if (s.snapshot_rows)
                snprintf(snap, sizeof snap, " after a snapshot of %lld row(s)", s.snapshot_rows);
            printf("%s sync: shipped %lld event(s) (%lld already there, %lld dropped), pulled %lld change(s)%s, "
                   "replica at change %lld\n",
                   t, s.shipped, s.duplicates, s.dropped, s.pulled, snap, s.cursor);
        }
        if (strcmp(ship_err, said) != 0) {
            if (ship_err[0]) {
                bg_store_sync_status ss;
                long long waiting = bg_store_sync_status_get(y, &ss) == BG_STORE_OK ? ss.journal_entries : -1;
                printf("%s sync: %s; %lld event(s) wait in the journal, the replica keeps serving\n", t, ship_err,
                       waiting);
            } else if (said[0]) {
                printf("%s sync: the central store answers again\n", t);
            }
            snprintf(said, sizeof said, "%s", ship_err);
        }
        if (o->once)
            break;
        bg_sync_sleep(interval);
    } while (!bg_sync_stop);
    bg_store_sync_free(y);
    return o->once && failed ? 1 : 0;
}

static void bg_migrate_progress(const char *table, long long n, void *ctx)
{
    (void)ctx;
    if (n % 10000 == 0)
        fprintf(stderr, "migrate: %s: %lld row(s) read\n", table, n);
}

int bg_sup_migrate(const bg_sup_opts *o, const bg_policy *p)
{
    if (!o->from) {
        fprintf(stderr, "bounceguide: migrate needs --from FILE (the SQLite store to copy)\n");
        return 2;
    }
    const char *to = o->to ? o->to : bg_policy_db_path(p);
    if (!bg_store_is_central(to)) {
        fprintf(stderr, "bounceguide: --to %s: not a central store (postgresql://... or a libpq string)\n", to);
        return 2;
    }
    if (bg_store_is_central(o->from) || access(o->from, R_OK) != 0) {
        fprintf(stderr, "bounceguide: --from %s: not a readable SQLite store\n", o->from);
        return 1;
    }
    char err[700];
    bg_store_status st;
    /* read-write when we may (an older file is migrated to the current
     * schema first), else read-only */
    bg_store *from = bg_store_open(o->from, 5000, 0, &st, err, sizeof err);
    if (!from) {
        fprintf(stderr, "bounceguide: %s\n", err);
        return 1;
    }
    bg_store *dst = bg_store_open(to, 30000, BG_STORE_CREATE, &st, err, sizeof err);
    if (!dst) {
        bg_store_close(from);
        fprintf(stderr, "bounceguide: %s\n", err);
        return 1;
    }
    char reason[BG_STORE_NOTE_MAX];
    snprintf(reason, sizeof reason, "migrated from %.200s%s%.60s", o->from, o->reason ? ": " : "",
             o->reason ? o->reason : "");
    bg_sup_actor(dst, BG_SRC_IMPORT, reason);
    long long batch = o->batch ? strtoll(o->batch, NULL, 10) : 1000;
    bg_store_copy_stats cs;
    st = bg_store_copy(from, dst, (int)(batch > 0 && batch <= 100000 ? batch : 1000), &cs, bg_migrate_progress,
                       NULL);
    char name[600];
    bg_store_redact(to, name, sizeof name);
    if (st != BG_STORE_OK) {
        fprintf(stderr, "bounceguide: migrate stopped: %s: %s (run it again: what is there is kept)\n",
                bg_store_status_text(st), bg_store_errmsg(dst));
        bg_store_close(from);
        bg_store_close(dst);
        return 1;
    }
    printf("migrated %s into %s: %lld row(s) copied, %lld kept as they were there, %lld event(s), "
           "%lld soft event time(s), %lld change(s), %lld guard reset(s), %lld counter row(s) added\n",
           o->from, name, cs.rows, cs.rows_kept, cs.events, cs.soft, cs.changes, cs.guards, cs.counts);
    printf("change log: %s\n", cs.log_kept ? "the file's log goes on in the central store (same log id)"
                                           : "the central store has its own log: each row copied is logged "
                                             "as added (source import)");
    bg_store_close(from);
    bg_store_close(dst);
    return 0;
}
