/* bg_log: route the core's messages to whoever installed a sink. */
#include "bg_log.h"

#include <stdarg.h>
#include <stdio.h>

static bg_log_fn bg_log_sink;
static void *bg_log_ctx;

void bg_log_set(bg_log_fn fn, void *ctx)
{
    bg_log_sink = fn;
    bg_log_ctx = ctx;
}

void bg_logf(bg_log_level level, const char *fmt, ...)
{
    if (!bg_log_sink)
        return;
    char line[1001];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* one log line per call, whatever the text carried */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    bg_log_sink(level, line, bg_log_ctx);
}
