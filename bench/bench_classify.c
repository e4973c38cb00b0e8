/* bench_classify: bounces read and classified per second, in-process.
 *
 * Loads every file named on the command line into memory first (so disk
 * speed does not count), builds the rules once, then repeats passes of
 * bg_bounce_read + bg_classify_rcpt over all of them on one thread until
 * the thread has used the given number of CPU seconds (CPU time, not wall
 * time: the figure is per core and does not depend on other load). Prints
 * one line: messages, passes, bounces/s, recipients/s, peak RSS.
 * usage: bench_classify [-t SECONDS] FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_classify.h"

typedef struct msg {
    char *p;
    size_t len;
} msg;

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read a whole file; NULL when it cannot be read. */
static char *bench_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t k = fread(b + n, 1, cap - n, f);
        n += k;
        if (n < cap)
            break;
        char *nb = realloc(b, cap *= 2);
        if (!nb) {
            free(b);
            b = NULL;
        } else
            b = nb;
    }
    fclose(f);
    *len = n;
    return b;
}

int main(int argc, char **argv)
{
    double secs = 3.0;
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "-t") == 0) {
        secs = atof(argv[i + 1]);
        i += 2;
    }
    size_t n = (size_t)(argc - i);
    msg *m = calloc(n ? n : 1, sizeof *m);
    if (!m)
        return 1;
    size_t loaded = 0;
    for (; i < argc; i++) {
        m[loaded].p = bench_read(argv[i], &m[loaded].len);
        if (m[loaded].p)
            loaded++;
    }
    if (!loaded) {
        fprintf(stderr, "bench_classify: no input files\n");
        return 1;
    }
    bg_rules *r = bg_rules_load(NULL);
    if (!r)
        return 1;
    unsigned long msgs = 0, rcpts = 0, passes = 0, sink = 0;
    double t0 = bench_now(), t = t0;
    do {
        for (size_t k = 0; k < loaded; k++) {
            bg_read_status st;
            bg_bounce *b = bg_bounce_read(m[k].p, m[k].len, NULL, &st);
            if (!b)
                continue;
            bg_verdict v;
            if (b->nrcpt == 0) {
                bg_classify_rcpt(r, b, NULL, &v);
                sink += v.category->id[0];
            }
            for (size_t j = 0; j < b->nrcpt; j++) {
                bg_classify_rcpt(r, b, &b->rcpts[j], &v);
                sink += v.category->id[0];
                rcpts++;
            }
            msgs++;
            bg_bounce_free(b);
        }
        passes++;
        t = bench_now();
    } while (t - t0 < secs);
    struct rusage ru; /* peak memory of the read+classify loop */
    getrusage(RUSAGE_SELF, &ru);
    /* the classifier alone: messages read once, classified repeatedly */
    bg_bounce **bs = calloc(loaded, sizeof *bs);
    unsigned long cl = 0;
    double c0 = bench_now(), c1 = c0;
    if (bs) {
        for (size_t k = 0; k < loaded; k++) {
            bg_read_status st;
            bs[k] = bg_bounce_read(m[k].p, m[k].len, NULL, &st);
        }
        do {
            for (size_t k = 0; k < loaded; k++) {
                if (!bs[k])
                    continue;
                bg_verdict v;
                for (size_t j = 0; j < bs[k]->nrcpt || j == 0; j++) {
                    bg_classify_rcpt(r, bs[k], bs[k]->nrcpt ? &bs[k]->rcpts[j] : NULL, &v);
                    sink += v.category->id[0];
                    cl++;
                }
            }
            c1 = bench_now();
        } while (c1 - c0 < secs / 3);
        for (size_t k = 0; k < loaded; k++)
            bg_bounce_free(bs[k]);
        free(bs);
    }
    double el = t - t0;
    printf("messages=%zu passes=%lu cpu_seconds=%.2f bounces_per_s=%.0f recipients_per_s=%.0f "
           "classify_only_per_s=%.0f peak_rss_kib=%ld (check %lu)\n",
           loaded, passes, el, msgs / el, rcpts / el, c1 > c0 ? cl / (c1 - c0) : 0.0,
           ru.ru_maxrss, sink % 7);
    bg_rules_free(r);
    for (size_t k = 0; k < loaded; k++)
        free(m[k].p);
    free(m);
    return 0;
}
