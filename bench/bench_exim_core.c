/* bench_exim_core: the adapter's core path for one bounce, in-process.
 *
 * Times, on a bounce Exim made (bench/exim-bounce-550.eml), the steps
 * local_scan runs for a bounce -- load (config, rules, catalogue, once per
 * Exim process), read, classify, render, apply -- as medians over many
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

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_classify.h"
#include "bg_config.h"
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
    size_t outlen = 0;
    long flt[5] = {0};
    for (int i = 0; i < runs; i++) {
        if (i == 0)
            flt[0] = bench_faults();
        long long a = bench_ns();
        bg_config *cfg = bg_config_new();
        bg_rules *rules = bg_rules_load("");
        bg_catalog *cat = bg_catalog_load(lang, "");
        long long b = bench_ns();
        if (i == 0)
            flt[1] = bench_faults();
        bg_read_status rs;
        bg_bounce *bo = bg_bounce_read(in.p, in.len, NULL, &rs);
        long long c = bench_ns();
        if (i == 0)
            flt[2] = bench_faults();
        bg_verdict *v = calloc(bo ? bo->nrcpt + 1 : 1, sizeof *v);
        for (size_t k = 0; bo && k < bo->nrcpt; k++)
            bg_classify_rcpt(rules, bo, &bo->rcpts[k], &v[k]);
        long long d = bench_ns();
        if (i == 0)
            flt[3] = bench_faults();
        bg_render_output out;
        memset(&out, 0, sizeof out);
        bg_render_input ri = {.msg = in.p, .len = in.len, .bounce = bo, .verdicts = v,
                              .catalog = cat, .config = cfg, .sender_domain = "local.test"};
        char err[200];
        if (bo == NULL || bg_render(&ri, &out, err, sizeof err) != BG_RENDER_OK) {
            fprintf(stderr, "bench: not rendered\n");
            return 1;
        }
        long long e = bench_ns();
        if (i == 0)
            flt[4] = bench_faults();
        outlen = out.body.len;
        bg_render_output_free(&out);
        free(v);
        bg_bounce_free(bo);
        bg_catalog_free(cat);
        bg_rules_free(rules);
        bg_config_free(cfg);
        t_load[i] = b - a;
        t_read[i] = c - b;
        t_class[i] = d - c;
        t_render[i] = e - d;
        t_total[i] = e - a;
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
    free(t_load);
    free(t_read);
    free(t_class);
    free(t_render);
    free(t_total);
    bg_buf_free(&in);
    return 0;
}
