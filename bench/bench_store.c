/* bench_store: figures for the suppression store on a real SQLite file.
 *
 *   bench_store write DB WRITERS EVENTS   events/s with WRITERS processes
 *   bench_store lookup DB ROWS LOOKUPS    median/p99 bg_store_check latency
 *   bench_store cold DB N                 open + check + close (a new Exim process)
 *   bench_store size DB ROWS              bytes per row -> per million rows
 *   bench_store changes DB ROWS           the change log: read all, history lookups
 *
 * Every event is its own transaction, as in Exim (one delivery process
 * records one event). Prints one "key=value" line per figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bg_store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const bg_store_rule soft = {BG_SUP_COUNT, 3, 7 * 86400LL, 30 * 86400LL};
static const bg_store_rule hard = {BG_SUP_ADDRESS, 3, 7 * 86400LL, 365 * 86400LL};

/* Record n events from process id; returns failures. */
static int write_events(const char *db, int id, int n, int nrcpt)
{
    bg_store *s = bg_store_open(db, 10000, BG_STORE_CREATE, NULL, NULL, 0);
    if (!s)
        return n;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char rcpt[64], msgid[64];
        snprintf(rcpt, sizeof rcpt, "user%d@example.net", (id * 7919 + i) % nrcpt);
        snprintf(msgid, sizeof msgid, "b%d.%d@example.com", id, i);
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
        if (bg_store_record(s, &e, i % 2 ? &soft : &hard, NULL) != BG_STORE_OK)
            failed++;
    }
    bg_store_close(s);
    return failed;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Fill db with rows hard suppressions in batches of one transaction each. */
static int fill(const char *db, int rows)
{
    bg_store *s = bg_store_open(db, 10000, BG_STORE_CREATE, NULL, NULL, 0);
    if (!s)
        return -1;
    int done = 0;
    while (done < rows) {
        if (bg_store_begin(s) != BG_STORE_OK)
            break;
        for (int k = 0; k < 5000 && done < rows; k++, done++) {
            char rcpt[64], msgid[64], dom[64];
            snprintf(rcpt, sizeof rcpt, "user%d@rcpt%d.example", done, done % 997);
            snprintf(msgid, sizeof msgid, "f%d@sender.example", done);
            snprintf(dom, sizeof dom, "sender%d.example", done % 50);
            bg_store_event e = {0};
            e.sender_domain = dom;
            e.recipient = rcpt;
            e.message_id = msgid;
            e.category = "unknown-user";
            e.status = "5.1.1";
            e.reply_code = 550;
            e.diagnostic = "550 5.1.1 <user@rcpt.example>: Recipient address rejected: User unknown in virtual mailbox table";
            e.sending_ip = "192.0.2.10";
            e.source = BG_SRC_TRANSPORT;
            bg_store_record(s, &e, &hard, NULL);
        }
        if (bg_store_commit(s) != BG_STORE_OK)
            break;
    }
    bg_store_close(s);
    return done == rows ? 0 : -1;
}

static int count_change(const bg_store_change *c, void *ctx)
{
    (void)c;
    (*(long long *)ctx)++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_store write|lookup|cold|size|changes DB N [M]\n");
        return 2;
    }
    const char *db = argv[2];
    if (strcmp(argv[1], "write") == 0 && argc >= 5) {
        int writers = atoi(argv[3]), events = atoi(argv[4]);
        bg_store_close(bg_store_open(db, 1000, BG_STORE_CREATE, NULL, NULL, 0));
        double t = now_s();
        for (int p = 0; p < writers; p++) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(write_events(db, p, events, 5000) ? 1 : 0);
        }
        int bad = 0, st;
        while (wait(&st) > 0)
            if (!WIFEXITED(st) || WEXITSTATUS(st))
                bad++;
        double el = now_s() - t;
        printf("writers=%d events=%d seconds=%.2f events_per_s=%.0f failed_writers=%d\n", writers,
               writers * events, el, writers * events / el, bad);
        return bad ? 1 : 0;
    }
    if (strcmp(argv[1], "lookup") == 0 && argc >= 5) {
        int rows = atoi(argv[3]), n = atoi(argv[4]);
        if (fill(db, rows) < 0)
            return 1;
        bg_store *s = bg_store_open(db, 1000, 0, NULL, NULL, 0);
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
            lat[i] = (now_s() - t) * 1e6;
            hits += hit;
        }
        qsort(lat, (size_t)n, sizeof *lat, cmp_d);
        printf("rows=%d lookups=%d hits=%d median_us=%.1f p99_us=%.1f\n", rows, n, hits, lat[n / 2],
               lat[n * 99 / 100]);
        free(lat);
        bg_store_close(s);
        return 0;
    }
    if (strcmp(argv[1], "cold") == 0) {
        /* what a new Exim process pays for its first check: open + check + close */
        int n = atoi(argv[3]);
        bg_store_close(bg_store_open(db, 1000, BG_STORE_CREATE, NULL, NULL, 0));
        double *lat = malloc(sizeof *lat * (size_t)n);
        for (int i = 0; i < n; i++) {
            int hit = 0;
            double t = now_s();
            bg_store *s = bg_store_open(db, 1000, BG_STORE_CREATE, NULL, NULL, 0);
            bg_store_check(s, "example.com", "user1@example.net", 0, &hit, NULL);
            bg_store_close(s);
            lat[i] = (now_s() - t) * 1e6;
        }
        qsort(lat, (size_t)n, sizeof *lat, cmp_d);
        printf("cold_checks=%d median_us=%.1f p99_us=%.1f\n", n, lat[n / 2], lat[n * 99 / 100]);
        free(lat);
        return 0;
    }
    if (strcmp(argv[1], "size") == 0) {
        int rows = atoi(argv[3]);
        if (fill(db, rows) < 0)
            return 1;
        bg_store *s = bg_store_open(db, 1000, 0, NULL, NULL, 0);
        bg_store_stats st;
        bg_store_get_stats(s, NULL, 0, &st);
        bg_store_close(s); /* last close checkpoints the WAL into the file */
        struct stat sb;
        stat(db, &sb);
        double per_row = (double)sb.st_size / rows;
        printf("rows=%d events=%lld file_bytes=%lld bytes_per_row=%.0f mb_per_million_rows=%.0f\n", rows,
               st.events, (long long)sb.st_size, per_row, per_row * 1e6 / 1048576.0);
        return 0;
    }
    if (strcmp(argv[1], "changes") == 0) {
        /* ROWS suppressions made one change each: how fast a sync reads
         * them all, and what `suppress history ADDR` costs */
        int rows = atoi(argv[3]);
        if (fill(db, rows) < 0)
            return 1;
        bg_store *s = bg_store_open(db, 1000, BG_STORE_RDONLY, NULL, NULL, 0);
        if (!s)
            return 1;
        long long n = 0;
        bg_store_change_query all = {0};
        double t = now_s();
        bg_store_changes(s, &all, count_change, &n);
        double el = now_s() - t;
        int k = 10000;
        double *lat = malloc(sizeof *lat * (size_t)k);
        long long found = 0;
        for (int i = 0; i < k; i++) {
            char rcpt[64];
            int r = (int)(((unsigned)i * 2654435761u) % (unsigned)rows);
            snprintf(rcpt, sizeof rcpt, "user%d@rcpt%d.example", r, r % 997);
            bg_store_change_query q = {.recipient = rcpt};
            double t1 = now_s();
            bg_store_changes(s, &q, count_change, &found);
            lat[i] = (now_s() - t1) * 1e6;
        }
        qsort(lat, (size_t)k, sizeof *lat, cmp_d);
        printf("changes=%lld read_s=%.2f changes_per_s=%.0f history_lookups=%d found=%lld median_us=%.1f "
               "p99_us=%.1f\n", n, el, n / el, k, found, lat[k / 2], lat[k * 99 / 100]);
        free(lat);
        bg_store_close(s);
        return 0;
    }
    fprintf(stderr, "usage: bench_store write|lookup|cold|size|changes DB N [M]\n");
    return 2;
}
