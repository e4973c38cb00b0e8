/* bench_report: the delivery counters (schema 5).
 *
 *   bench_report event DB N     a delivery recorded N times as the event
 *                               hook does it, without and with its count
 *                               (one transaction each way): the cost of
 *                               counting per event
 *   bench_report report DB ROWS ROWS counter rows, then each grouping of
 *                               `bounceguide report` over all of them and
 *                               over the last 7 days, and the guard's look
 *                               at one domain (what a RCPT pays when the
 *                               guard is on)
 *
 * Figures only; nothing is asserted (bench/run.sh).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_store.h"
#include "bg_store_count.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bg_store *open_db(const char *db)
{
    char err[300];
    bg_store_status st;
    bg_store *s = bg_store_open(db, 5000, BG_STORE_CREATE, &st, err, sizeof err);
    if (!s)
        fprintf(stderr, "bench_report: %s\n", err);
    return s;
}

/* One delivery as bg_dlfunc_event records it: with count, inside one
 * transaction with its count. */
static int one(bg_store *s, int i, int count, long long t)
{
    char rcpt[64], msgid[64];
    snprintf(rcpt, sizeof rcpt, "r%d@dest%d.example", i, i % 50);
    snprintf(msgid, sizeof msgid, "m%d-%d@example.com", i, count);
    if (!count)
        return bg_store_delivered(s, "example.com", rcpt, msgid, "192.0.2.1", "198.51.100.7", t) != BG_STORE_OK;
    if (bg_store_count_begin(s) != BG_STORE_OK)
        return 1;
    if (bg_store_delivered(s, "example.com", rcpt, msgid, "192.0.2.1", "198.51.100.7", t) != BG_STORE_OK ||
        bg_store_count_add(s, "example.com", i % 3 ? "google" : "microsoft", BG_OUT_DELIVERED, "", 1, t) !=
            BG_STORE_OK) {
        bg_store_rollback(s);
        return 1;
    }
    return bg_store_commit(s) != BG_STORE_OK;
}

static int bench_event(const char *db, int n)
{
    bg_store *s = open_db(db);
    if (!s)
        return 1;
    long long t = (long long)time(NULL);
    double us[2] = {0, 0};
    int bad = 0;
    /* alternate rounds so that both see the same machine load */
    for (int round = 0; round < 4; round++)
        for (int count = 0; count < 2; count++) {
            double t0 = now_s();
            for (int i = 0; i < n / 4; i++)
                bad += one(s, round * n + i, count, t);
            us[count] += (now_s() - t0) * 1e6;
        }
    bg_store_close(s);
    printf("deliveries=%d without_count_us=%.1f with_count_us=%.1f counting_us=%.1f failed=%d\n", n,
           us[0] / n, us[1] / n, (us[1] - us[0]) / n, bad);
    return bad != 0;
}

/* ROWS counter rows: 40 domains x 6 operators x 4 outcome/category
 * pairs per hour, over as many hours back from now as it takes. */
static long long fill(const char *db, long long rows, long long now)
{
    bg_store *s = open_db(db); /* creates schema 5 */
    if (!s)
        return -1;
    bg_store_close(s);
    sqlite3 *d;
    if (sqlite3_open(db, &d) != SQLITE_OK)
        return -1;
    sqlite3_exec(d, "PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(d, "INSERT INTO bg_count (sender_domain, bucket, provider, outcome, category, n) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &q, NULL);
    static const char *const prov[] = {"google", "microsoft", "yahoo", "apple", "other", "unknown"};
    static const struct {
        const char *o, *c;
    } oc[] = {{"delivered", ""}, {"bounced", "unknown-user"}, {"bounced", "mailbox-full"}, {"deferred", "greylisted"}};
    long long hour = now - now % 3600, made = 0;
    for (long long h = 0; made < rows; h++)
        for (int dm = 0; dm < 40 && made < rows; dm++)
            for (int p = 0; p < 6 && made < rows; p++)
                for (int k = 0; k < 4 && made < rows; k++) {
                    char dom[32];
                    snprintf(dom, sizeof dom, "sender%02d.example", dm);
                    sqlite3_bind_text(q, 1, dom, -1, SQLITE_TRANSIENT);
                    sqlite3_bind_int64(q, 2, hour - h * 3600);
                    sqlite3_bind_text(q, 3, prov[p], -1, SQLITE_STATIC);
                    sqlite3_bind_text(q, 4, oc[k].o, -1, SQLITE_STATIC);
                    sqlite3_bind_text(q, 5, oc[k].c, -1, SQLITE_STATIC);
                    sqlite3_bind_int64(q, 6, k ? 3 : 120);
                    sqlite3_step(q);
                    sqlite3_reset(q);
                    made++;
                }
    sqlite3_finalize(q);
    sqlite3_exec(d, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(d);
    return made;
}

static int count_groups(const bg_store_count_group *g, void *ctx)
{
    (void)g;
    ++*(long long *)ctx;
    return 0;
}

static int bench_report(const char *db, long long rows)
{
    long long now = (long long)time(NULL);
    double t0 = now_s();
    if (fill(db, rows, now) != rows)
        return 1;
    printf("rows=%lld fill_s=%.1f\n", rows, now_s() - t0);
    bg_store *s = open_db(db);
    if (!s)
        return 1;
    static const char *const by[] = {"domain", "provider", "category", "day"};
    for (int span = 0; span < 3; span++) {
        if (span == 2) { /* what the daily `suppress expire` leaves: statistics */
            double t1 = now_s();
            if (bg_store_count_expire(s, 0, NULL) != BG_STORE_OK)
                return 1;
            printf("analyze (suppress expire) ms=%.0f\n", (now_s() - t1) * 1000);
        }
        for (int b = 0; b < 4; b++) {
            double best = 1e9;
            long long groups = 0;
            for (int r = 0; r < 3; r++) { /* the best of 3: the first reads the file in */
                groups = 0;
                double t1 = now_s();
                if (bg_store_count_report(s, (bg_store_count_by)b, span ? now - 7 * 86400 : 0, 0, NULL,
                                          count_groups, &groups) != BG_STORE_OK)
                    return 1;
                double dt = now_s() - t1;
                if (dt < best)
                    best = dt;
            }
            printf("report by=%-8s span=%-4s groups=%-5lld ms=%.0f%s\n", by[b], span ? "7d" : "all", groups,
                   best * 1000, span == 2 ? " (with statistics)" : "");
        }
    }
    /* the guard's look at one domain's last 24 hours */
    enum { N = 2000 };
    static double lat[N];
    for (int i = 0; i < N; i++) {
        char dom[32];
        snprintf(dom, sizeof dom, "sender%02d.example", i % 40);
        bg_store_guard gc;
        double t1 = now_s();
        if (bg_store_guard_counts(s, dom, 86400, now, &gc) != BG_STORE_OK)
            return 1;
        lat[i] = (now_s() - t1) * 1e6;
    }
    qsort(lat, N, sizeof lat[0], cmp_d);
    printf("guard_check median_us=%.1f p99_us=%.1f\n", lat[N / 2], lat[N * 99 / 100]);
    bg_store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "event") == 0)
        return bench_event(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "report") == 0)
        return bench_report(argv[2], atoll(argv[3]));
    fprintf(stderr, "usage: bench_report event DB N | report DB ROWS\n");
    return 2;
}
