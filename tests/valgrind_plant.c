/* Planted memory errors for `make valgrind`'s must-fail runs: never in the
 * product. mk/valgrind.mk links this file into a second bounceguide.so
 * ($(O)/vgplant/bounceguide.so) with -Wl,--wrap for the three functions
 * below, so the adapter's own calls go through these wrappers, which are
 * code of bounceguide.so like any other. tests/valgrind_exim.py --plant and
 * tests/valgrind_dlfunc.py --plant run that .so inside Exim under memcheck
 * and fail unless the judge (tests/valgrind_judge.py) reports each planted
 * error as the plugin's: if the judging ever goes blind, the suite goes red.
 *
 *   bg_bounce_read     (local_scan's path)       one-byte heap overread
 *   bg_classify_reply  (bg_dlfunc_event's path)  one-byte heap overread
 *   bg_store_fmt_date  (bg_dlfunc_check's result) the first byte of the
 *                      date in the 550 text is never initialised: Exim's
 *                      string_sprintf trips on it, the origin is ours */
#include <stdlib.h>
#include <string.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_classify.h"
#include "bg_store.h"

bg_bounce *__real_bg_bounce_read(const char *msg, size_t len, const bg_limits *limits,
                                 bg_read_status *status);
bg_bounce *__wrap_bg_bounce_read(const char *msg, size_t len, const bg_limits *limits,
                                 bg_read_status *status);
void __real_bg_classify_reply(const bg_rules *r, const char *text, int deferred,
                              const char *remote_mta, bg_verdict *out);
void __wrap_bg_classify_reply(const bg_rules *r, const char *text, int deferred,
                              const char *remote_mta, bg_verdict *out);
void __real_bg_store_fmt_date(long long t, char out[32]);
void __wrap_bg_store_fmt_date(long long t, char out[32]);

/* Read the byte just past a private copy of exactly n bytes. */
static void bg_plant_overread(const char *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (c == NULL)
        return;
    memcpy(c, p, n);
    volatile char sink = c[n];      /* the planted one-byte overread */
    (void)sink;
    free(c);
}

bg_bounce *__wrap_bg_bounce_read(const char *msg, size_t len, const bg_limits *limits,
                                 bg_read_status *status)
{
    bg_plant_overread(msg, len);
    return __real_bg_bounce_read(msg, len, limits, status);
}

void __wrap_bg_classify_reply(const bg_rules *r, const char *text, int deferred,
                              const char *remote_mta, bg_verdict *out)
{
    bg_plant_overread(text, strlen(text));
    __real_bg_classify_reply(r, text, deferred, remote_mta, out);
}

void __wrap_bg_store_fmt_date(long long t, char out[32])
{
    char tmp[32];                   /* tmp[0] is never written */
    __real_bg_store_fmt_date(t, out);
    size_t n = strnlen(out, 31);
    memcpy(tmp + 1, out + 1, n);    /* out[1..n], NUL included */
    memcpy(out, tmp, n + 1);        /* out[0] = the uninitialised tmp[0] */
}
