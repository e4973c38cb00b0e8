/* bench_exim_core: the adapter's core path for one bounce, in-process.
 *
 * Times, on a bounce Exim made (bench/exim-bounce-550.eml), the engine
 * local_scan runs for a bounce (bg_engine) -- load (config file, rules,
 * catalogue, once per Exim process), read, classify, render with the
 * language choice and the folded header lines -- as medians over many
 * runs, without Exim's process around it. The in-Exim figures come from
 * bench_exim.py; this one says where the time goes. The first run of a
 * process also counts its page faults per step, and the cost of one fault
 * on this machine is measured (fresh anonymous pages): in a fresh process
 * most of the cost of a bounce is first touches.
 * usage: bench_exim_core FILE [RUNS [LANG]]   (LANG: the catalogue, default en)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_classify.h"
#include "bg_config.h"
#include "bg_engine.h"
#include "bg_render.h"

static long long bench_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Page faults of this process so far (minor and major). */
static long bench_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt + ru.ru_majflt;
}

/* CPU microseconds per first touch of a fresh anonymous page. */
static double bench_fault_us(void)
{
    enum { PAGES = 256 };
    size_t len = (size_t)PAGES * 4096;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    long long a = bench_ns();
    for (size_t i = 0; i < len; i += 4096)
        m[i] = 1;
    long long b = bench_ns();
    munmap(m, len);
    return (double)(b - a) / 1000.0 / PAGES;
}

static int bench_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static double bench_median_us(long long *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
    return (double)v[n / 2] / 1000.0;
}

/* The engine's stage marks: when reading and classifying ended (and the
 * page faults so far, in the first run). */
typedef struct bench_stage_ctx {
    long long t[3];
    int first;
    long *flt;
} bench_stage_ctx;

static void bench_stage(void *ctx, int stage)
{
    bench_stage_ctx *c = ctx;
    if (stage == BG_ENGINE_STAGE_READ || stage == BG_ENGINE_STAGE_CLASSIFY) {
        int k = stage == BG_ENGINE_STAGE_READ ? 1 : 2;
        c->t[k] = bench_ns();
        if (c->first)
            c->flt[k + 1] = bench_faults();
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [RUNS [LANG]]\n", argv[0]);
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 500;
    const char *lang = argc > 3 ? argv[3] : "en";
    if (runs < 1)
        runs = 1;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    bg_buf in;
    bg_buf_init(&in);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        bg_buf_add(&in, tmp, n);
    fclose(f);

    long long *t_load = calloc((size_t)runs, sizeof *t_load);
    long long *t_read = calloc((size_t)runs, sizeof *t_read);
    long long *t_class = calloc((size_t)runs, sizeof *t_class);
    long long *t_render = calloc((size_t)runs, sizeof *t_render);
    long long *t_total = calloc((size_t)runs, sizeof *t_total);
    if (!t_load || !t_read || !t_class || !t_render || !t_total)
        return 1;
    char conf[] = "/tmp/bench-exim-core-XXXXXX";
    int cfd = mkstemp(conf);
    if (cfd < 0 || dprintf(cfd, "language = %s\n", lang) < 0) {
        perror("bench: config");
        return 1;
    }
    close(cfd);
    size_t outlen = 0;
    long flt[5] = {0};
    for (int i = 0; i < runs; i++) {
        bench_stage_ctx sc = {.first = i == 0, .flt = flt};
        if (i == 0)
            flt[0] = bench_faults();
        long long a = bench_ns();
        /* the engine as a fresh Exim process makes it: the config file
         * (language = LANG), the rules, the catalogue of LANG */
        bg_engine_opts eo = {.config_path = conf};
        bg_engine *e = bg_engine_new(&eo);
        if (!e || !bg_engine_rules(e) || !bg_engine_langs(e, NULL)) {
            fprintf(stderr, "bench: cannot load\n");
            return 1;
        }
        long long b = bench_ns();
        sc.t[0] = b;
        if (i == 0)
            flt[1] = bench_faults();
        bg_engine_hooks hooks = {.ctx = &sc, .stage = bench_stage};
        bg_engine_request rq = {.msg = in.p, .len = in.len, .sender_domain = "local.test",
                                .hooks = &hooks};
        bg_engine_result res;
        if (bg_engine_run(e, &rq, &res) != BG_ENGINE_REWRITTEN) {
            fprintf(stderr, "bench: not rendered: %s\n", res.why);
            return 1;
        }
        long long end = bench_ns();
        if (i == 0)
            flt[4] = bench_faults();
        outlen = res.render.body.len;
        bg_engine_result_free(&res);
        bg_engine_free(e);
        t_load[i] = b - a;
        t_read[i] = sc.t[1] - b;
        t_class[i] = sc.t[2] - sc.t[1];
        t_render[i] = end - sc.t[2];
        t_total[i] = end - a;
    }
    printf("core path per bounce, in-process (%d runs, CPU time, %s, %zu -> %zu bytes body):\n",
           runs, lang, in.len, outlen);
    printf("  load config+rules+catalogue %8.1f us (once per Exim process)\n",
           bench_median_us(t_load, runs));
    printf("  read (bg_bounce_read)       %8.1f us\n", bench_median_us(t_read, runs));
    printf("  classify                    %8.1f us\n", bench_median_us(t_class, runs));
    printf("  render                      %8.1f us\n", bench_median_us(t_render, runs));
    printf("  total                       %8.1f us\n", bench_median_us(t_total, runs));
    printf("  page faults in the first run: load %ld, read %ld, classify %ld, render %ld;"
           " one fault costs %.1f us here\n",
           flt[1] - flt[0], flt[2] - flt[1], flt[3] - flt[2], flt[4] - flt[3], bench_fault_us());
    unlink(conf);
    free(t_load);
    free(t_read);
    free(t_class);
    free(t_render);
    free(t_total);
    bg_buf_free(&in);
    return 0;
}
