/* bench_fleet: figures for a fleet (issue 15) on a real PostgreSQL and
 * real SQLite files: the journal against PostgreSQL from each process,
 * events per second into PostgreSQL with HOSTS x WRITERS, the RCPT check
 * on the replica, the sync's lag.
 *
 *   bench_fleet process CONNINFO DIR N
 *       what an Exim process pays for one event: a new process opens the
 *       store, records one event, closes it -- the journal (a fleet host's
 *       view) against a connection to PostgreSQL (the store opened on the
 *       URL): median, p99, max, and PostgreSQL's backends used
 *   bench_fleet direct CONNINFO DIR WRITERS EVENTS
 *       WRITERS processes, each its own connection, record EVENTS each
 *       straight into PostgreSQL (every event its own transaction)
 *   bench_fleet journal CONNINFO DIR HOSTS WRITERS EVENTS
 *       HOSTS hosts, each with WRITERS processes recording EVENTS each into
 *       its journal while one sync per host ships them: events/s into
 *       PostgreSQL from the first append to the last commit, and the
 *       writers' longest wait for one append
 *   bench_fleet lookup CONNINFO DIR ROWS LOOKUPS [fill|check]
 *       ROWS suppressions made in the central store and synced into a
 *       replica (fill), then LOOKUPS checks on the fleet view (check):
 *       median, p99 -- run once with PostgreSQL up and once stopped
 *   bench_fleet lag CONNINFO DIR SAMPLES INTERVAL_MS
 *       two hosts' syncs every INTERVAL_MS: a failure recorded on host A,
 *       then B's RCPT check polled every millisecond until it refuses:
 *       median, p99, max
 *
 * One "key=value" line per figure; nothing asserted (bench/bench_fleet.sh).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bg_store.h"
#include "bg_store_fleet.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const bg_store_rule soft = {BG_SUP_COUNT, 3, 7 * 86400LL, 30 * 86400LL};
static const bg_store_rule hard = {BG_SUP_ADDRESS, 3, 7 * 86400LL, 365 * 86400LL};

/* The bench's events: half hard failures, half soft, on a pool of
 * recipients (as bench_store). */
static bg_store_event event(int host, int id, int i, char rcpt[64], char msgid[80])
{
    snprintf(rcpt, 64, "user%d@example.net", (id * 7919 + i + host * 104729) % 5000);
    snprintf(msgid, 80, "b%d.%d.%d.%ld@example.com", host, id, i, (long)getppid());
    bg_store_event e = {0};
    e.sender_domain = "example.com";
    e.recipient = rcpt;
    e.message_id = msgid;
    e.deferred = i % 2;
    e.category = i % 2 ? "mailbox-full" : "unknown-user";
    e.status = i % 2 ? "4.2.2" : "5.1.1";
    e.reply_code = i % 2 ? 452 : 550;
    e.diagnostic = "550 5.1.1 <user@example.net>: Recipient address rejected: User unknown in virtual mailbox table";
    e.sending_ip = "192.0.2.10";
    e.source = BG_SRC_TRANSPORT;
    return e;
}

static void paths(const char *conninfo, const char *dir, int host, bg_store_fleet_paths *p, char rep[300],
                  char jou[300])
{
    snprintf(rep, 300, "%s/h%d/replica.db", dir, host);
    snprintf(jou, 300, "%s/h%d/journal.db", dir, host);
    p->central = conninfo;
    p->replica = rep;
    p->journal = jou;
}

static void stats(const char *name, double *v, int n, const char *unit, double scale)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    printf("%s_n=%d %s_median_%s=%.1f %s_p99_%s=%.1f %s_max_%s=%.1f\n", name, n, name, unit, v[n / 2] * scale, name,
           unit, v[(n * 99) / 100] * scale, name, unit, v[n - 1] * scale);
}

/* One writer process: EVENTS records on s; the longest one (seconds) to
 * the pipe. Returns failures. */
static int writer(bg_store *s, int host, int id, int events, int fd)
{
    int failed = 0;
    double worst = 0;
    for (int i = 0; i < events; i++) {
        char rcpt[64], msgid[80];
        bg_store_event e = event(host, id, i, rcpt, msgid);
        double t = now_s();
        if (bg_store_record(s, &e, i % 2 ? &soft : &hard, NULL) != BG_STORE_OK)
            failed++;
        t = now_s() - t;
        if (t > worst)
            worst = t;
    }
    if (fd >= 0 && write(fd, &worst, sizeof worst) != sizeof worst) {
    }
    return failed;
}

/* Collect the writers: failures and the longest single record. */
static int reap(int rfd, int n, double *worst)
{
    int bad = 0, st;
    while (wait(&st) > 0)
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            bad++;
    *worst = 0;
    for (int i = 0; i < n; i++) {
        double w;
        if (read(rfd, &w, sizeof w) == sizeof w && w > *worst)
            *worst = w;
    }
    return bad;
}

static int cmd_process(const char *ci, const char *dir, int n)
{
    bg_store_fleet_paths p;
    char rep[300], jou[300];
    paths(ci, dir, 0, &p, rep, jou);
    /* the sync holds the journal and the replica open (so an Exim process
     * is never the last to close them, which would checkpoint and delete
     * the WAL); Exim's processes exit without closing the store */
    bg_store_sync *holder = bg_store_sync_new(&p, 10000);
    bg_store_sync_stats hs;
    memset(&hs, 0, sizeof hs);
    bg_store_sync_ship(holder, 10, &hs);
    bg_store_sync_pull(holder, &hs);
    double *jt = malloc(sizeof *jt * (size_t)n), *pt = malloc(sizeof *pt * (size_t)n);
    for (int mode = 0; mode < 2; mode++) {
        for (int i = 0; i < n; i++) {
            int fds[2];
            if (pipe(fds) != 0)
                return 1;
            double t0 = now_s();
            pid_t pid = fork();
            if (pid == 0) { /* a new process, as each Exim delivery is */
                close(fds[0]);
                char rcpt[64], msgid[80];
                bg_store_event e = event(mode, 99, i, rcpt, msgid);
                double t = now_s();
                bg_store *s = mode == 0 ? bg_store_open_fleet(&p, 250, BG_STORE_CREATE, NULL, NULL, 0)
                                        : bg_store_open(ci, 250, BG_STORE_CREATE, NULL, NULL, 0);
                int ok = s && bg_store_record(s, &e, &hard, NULL) == BG_STORE_OK;
                t = now_s() - t; /* and exit, as Exim's processes do, without closing */
                if (write(fds[1], &t, sizeof t) != sizeof t) {
                }
                _exit(ok ? 0 : 1);
            }
            close(fds[1]);
            double t = 0;
            if (read(fds[0], &t, sizeof t) != sizeof t)
                t = now_s() - t0;
            close(fds[0]);
            int st;
            waitpid(pid, &st, 0);
            (mode == 0 ? jt : pt)[i] = t;
        }
    }
    stats("journal_process", jt, n, "us", 1e6);
    stats("postgresql_process", pt, n, "us", 1e6);
    bg_store_sync_free(holder);
    free(jt);
    free(pt);
    return 0;
}

static int cmd_direct(const char *ci, int writers, int events)
{
    bg_store_close(bg_store_open(ci, 10000, BG_STORE_CREATE, NULL, NULL, 0));
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    double t = now_s();
    for (int w = 0; w < writers; w++) {
        if (fork() == 0) {
            close(fds[0]);
            bg_store *s = bg_store_open(ci, 10000, BG_STORE_CREATE, NULL, NULL, 0);
            int f = s ? writer(s, 7, w, events, fds[1]) : events;
            bg_store_close(s);
            _exit(f ? 1 : 0);
        }
    }
    close(fds[1]);
    double worst;
    int bad = reap(fds[0], writers, &worst);
    double el = now_s() - t;
    printf("direct_writers=%d events=%d seconds=%.2f events_per_s=%.0f longest_record_ms=%.1f failed_writers=%d\n",
           writers, writers * events, el, writers * events / el, worst * 1e3, bad);
    return bad ? 1 : 0;
}

/* A sync loop for one host until *stop file exists and its journal is
 * empty. */
static int sync_child(const char *ci, const char *dir, int host, const char *stopfile, int interval_ms)
{
    bg_store_fleet_paths p;
    char rep[300], jou[300];
    paths(ci, dir, host, &p, rep, jou);
    bg_store_sync *y = bg_store_sync_new(&p, 10000);
    for (;;) {
        bg_store_sync_stats s;
        memset(&s, 0, sizeof s);
        long long before;
        do {
            before = s.shipped + s.duplicates + s.dropped;
            if (bg_store_sync_ship(y, 500, &s) != BG_STORE_OK) {
                fprintf(stderr, "sync %d: %s\n", host, bg_store_sync_errmsg(y));
                break;
            }
        } while (s.shipped + s.duplicates + s.dropped > before);
        bg_store_sync_pull(y, &s);
        bg_store_sync_status ss;
        int done = access(stopfile, F_OK) == 0 && bg_store_sync_status_get(y, &ss) == BG_STORE_OK &&
                   ss.journal_entries == 0;
        if (done)
            break;
        if (interval_ms > 0) {
            struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    bg_store_sync_free(y);
    return 0;
}

static int cmd_journal(const char *ci, const char *dir, int hosts, int writers, int events)
{
    char stopfile[300];
    snprintf(stopfile, sizeof stopfile, "%s/writers-done", dir);
    unlink(stopfile);
    bg_store_close(bg_store_open(ci, 10000, BG_STORE_CREATE, NULL, NULL, 0));
    for (int h = 0; h < hosts; h++) { /* the files exist before anyone races for them */
        bg_store_fleet_paths p;
        char rep[300], jou[300], hd[300];
        snprintf(hd, sizeof hd, "%s/h%d", dir, h);
        mkdir(hd, 0755);
        paths(ci, dir, h, &p, rep, jou);
        bg_store *s = bg_store_open_fleet(&p, 5000, BG_STORE_CREATE, NULL, NULL, 0);
        bg_store_close(s);
        bg_store_sync *y = bg_store_sync_new(&p, 10000);
        bg_store_sync_stats st;
        memset(&st, 0, sizeof st);
        bg_store_sync_ship(y, 10, &st);
        bg_store_sync_free(y);
    }
    pid_t syncs[16];
    double t = now_s();
    for (int h = 0; h < hosts; h++)
        if ((syncs[h] = fork()) == 0)
            _exit(sync_child(ci, dir, h, stopfile, 0));
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    pid_t ws[256];
    int nw = 0;
    for (int h = 0; h < hosts; h++)
        for (int w = 0; w < writers; w++) {
            if ((ws[nw++] = fork()) == 0) {
                close(fds[0]);
                bg_store_fleet_paths p;
                char rep[300], jou[300];
                paths(ci, dir, h, &p, rep, jou);
                bg_store *s = bg_store_open_fleet(&p, 5000, BG_STORE_CREATE, NULL, NULL, 0);
                int f = s ? writer(s, h, w, events, fds[1]) : events;
                bg_store_close(s);
                _exit(f ? 1 : 0);
            }
        }
    close(fds[1]);
    int bad = 0, st;
    double worst = 0;
    for (int i = 0; i < nw; i++) {
        waitpid(ws[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            bad++;
        double w;
        if (read(fds[0], &w, sizeof w) == sizeof w && w > worst)
            worst = w;
    }
    double t_local = now_s() - t;
    FILE *f = fopen(stopfile, "w");
    if (f)
        fclose(f);
    for (int h = 0; h < hosts; h++)
        waitpid(syncs[h], &st, 0);
    double el = now_s() - t;
    long long total = (long long)hosts * writers * events;
    printf("hosts=%d writers_per_host=%d events=%lld journal_seconds=%.2f journal_events_per_s=%.0f "
           "into_postgresql_seconds=%.2f into_postgresql_events_per_s=%.0f longest_append_ms=%.1f failed_writers=%d\n",
           hosts, writers, total, t_local, total / t_local, el, total / el, worst * 1e3, bad);
    return bad ? 1 : 0;
}

static int cmd_lookup(const char *ci, const char *dir, int rows, int n, const char *what)
{
    bg_store_fleet_paths p;
    char rep[300], jou[300], hd[300];
    snprintf(hd, sizeof hd, "%s/h0", dir);
    mkdir(hd, 0755);
    paths(ci, dir, 0, &p, rep, jou);
    if (strcmp(what, "fill") == 0) {
        bg_store *c = bg_store_open(ci, 30000, BG_STORE_CREATE, NULL, NULL, 0);
        if (!c)
            return 1;
        long long now = (long long)time(NULL);
        for (int done = 0; done < rows;) {
            if (bg_store_begin(c) != BG_STORE_OK)
                return 1;
            for (int k = 0; k < 2000 && done < rows; k++, done++) {
                bg_store_row r;
                memset(&r, 0, sizeof r);
                snprintf(r.sender_domain, sizeof r.sender_domain, "sender%d.example", done % 50);
                snprintf(r.recipient, sizeof r.recipient, "user%d@rcpt%d.example", done, done % 997);
                snprintf(r.scope, sizeof r.scope, "address");
                snprintf(r.category, sizeof r.category, "unknown-user");
                snprintf(r.status, sizeof r.status, "5.1.1");
                r.reply_code = 550;
                snprintf(r.source, sizeof r.source, "admin");
                r.first_seen = r.last_seen = r.suppressed_since = now;
                r.expires_at = now + 86400 * 365;
                bg_store_put(c, &r);
            }
            if (bg_store_commit(c) != BG_STORE_OK)
                return 1;
        }
        bg_store_close(c);
        bg_store_sync *y = bg_store_sync_new(&p, 60000);
        bg_store_sync_stats s;
        memset(&s, 0, sizeof s);
        double t = now_s();
        bg_store_status st = bg_store_sync_pull(y, &s);
        printf("replica_rows=%lld first_pull_seconds=%.2f (%s)\n", s.snapshot_rows + s.pulled, now_s() - t,
               st == BG_STORE_OK ? "ok" : bg_store_sync_errmsg(y));
        bg_store_sync_free(y);
        return st == BG_STORE_OK ? 0 : 1;
    }
    /* check: as Exim's RCPT check, on the fleet view (the replica) */
    bg_store *s = bg_store_open_fleet(&p, 250, BG_STORE_CREATE, NULL, NULL, 0);
    if (!s)
        return 1;
    double *lat = malloc(sizeof *lat * (size_t)n);
    int hits = 0;
    for (int i = 0; i < n; i++) {
        char rcpt[64], dom[64];
        int r = (int)(((unsigned)i * 2654435761u) % (unsigned)(rows * 2)); /* half miss */
        snprintf(rcpt, sizeof rcpt, "user%d@rcpt%d.example", r, r % 997);
        snprintf(dom, sizeof dom, "sender%d.example", r % 50);
        int hit = 0;
        double t = now_s();
        bg_store_check(s, dom, rcpt, 0, &hit, NULL);
        lat[i] = now_s() - t;
        hits += hit;
    }
    printf("hits=%d ", hits);
    stats(what, lat, n, "us", 1e6);
    free(lat);
    bg_store_close(s);
    return 0;
}

static int cmd_lag(const char *ci, const char *dir, int samples, int interval_ms)
{
    char stopfile[300];
    snprintf(stopfile, sizeof stopfile, "%s/lag-done", dir);
    unlink(stopfile);
    bg_store_fleet_paths pa, pb;
    char ra[300], ja[300], rb[300], jb[300], hd[300];
    for (int h = 0; h < 2; h++) {
        snprintf(hd, sizeof hd, "%s/h%d", dir, h + 10);
        mkdir(hd, 0755);
    }
    paths(ci, dir, 10, &pa, ra, ja);
    paths(ci, dir, 11, &pb, rb, jb);
    bg_store *a = bg_store_open_fleet(&pa, 250, BG_STORE_CREATE, NULL, NULL, 0);
    bg_store *b = bg_store_open_fleet(&pb, 250, BG_STORE_CREATE, NULL, NULL, 0);
    if (!a || !b)
        return 1;
    pid_t syncs[2];
    for (int h = 0; h < 2; h++)
        if ((syncs[h] = fork()) == 0)
            _exit(sync_child(ci, dir, 10 + h, stopfile, interval_ms));
    struct timespec pause = {0, 300 * 1000000L};
    nanosleep(&pause, NULL);
    double *lag = malloc(sizeof *lag * (size_t)samples);
    int got = 0;
    unsigned seed = (unsigned)getpid();
    for (int i = 0; i < samples; i++) {
        char rcpt[64], msgid[80];
        snprintf(rcpt, sizeof rcpt, "lag%d.%u@example.net", i, seed);
        snprintf(msgid, sizeof msgid, "lag%d.%u@example.com", i, seed);
        bg_store_event e = event(10, 0, 0, (char[64]){0}, (char[80]){0});
        e.recipient = rcpt;
        e.message_id = msgid;
        e.deferred = 0;
        double t0 = now_s();
        if (bg_store_record(a, &e, &hard, NULL) != BG_STORE_OK)
            continue;
        int hit = 0;
        while (!hit && now_s() - t0 < 30) {
            bg_store_check(b, "example.com", rcpt, 0, &hit, NULL);
            if (!hit) {
                struct timespec ms = {0, 1000000L};
                nanosleep(&ms, NULL);
            }
        }
        if (hit)
            lag[got++] = now_s() - t0;
        /* spread the samples over the sync period */
        struct timespec gap = {0, (long)((seed + (unsigned)i * 7919u) % (unsigned)(interval_ms + 1)) * 1000000L};
        nanosleep(&gap, NULL);
    }
    FILE *f = fopen(stopfile, "w");
    if (f)
        fclose(f);
    int st;
    for (int h = 0; h < 2; h++)
        waitpid(syncs[h], &st, 0);
    printf("interval_ms=%d samples=%d lost=%d ", interval_ms, samples, samples - got);
    if (got)
        stats("lag", lag, got, "ms", 1e3);
    else
        printf("\n");
    free(lag);
    bg_store_close(a);
    bg_store_close(b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_fleet process|direct|journal|lookup|lag CONNINFO DIR ...\n");
        return 2;
    }
    const char *ci = argv[2], *dir = argv[3];
    if (strcmp(argv[1], "process") == 0 && argc >= 5)
        return cmd_process(ci, dir, atoi(argv[4]));
    if (strcmp(argv[1], "direct") == 0 && argc >= 6)
        return cmd_direct(ci, atoi(argv[4]), atoi(argv[5]));
    if (strcmp(argv[1], "journal") == 0 && argc >= 7)
        return cmd_journal(ci, dir, atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    if (strcmp(argv[1], "lookup") == 0 && argc >= 7)
        return cmd_lookup(ci, dir, atoi(argv[4]), atoi(argv[5]), argv[6]);
    if (strcmp(argv[1], "lag") == 0 && argc >= 6)
        return cmd_lag(ci, dir, atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: bench_fleet process|direct|journal|lookup|lag CONNINFO DIR ...\n");
    return 2;
}
