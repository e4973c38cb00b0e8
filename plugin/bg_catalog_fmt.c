/* bg_catalog_fmt: durations and dates in a catalogue's words (see
 * bg_catalog_fmt.h). The units and the date order are data in [common];
 * this file only picks the key and fills {n}, {day}, {month}, {year} and
 * {time}. Numbers are written by snprintf("%d"), which no locale changes.
 */
#include "bg_catalog_fmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bg_time.h"

#define BG_FMT_T_MAX 253402300799LL /* 9999-12-31 23:59:59 UTC */

/* One duration unit: at least min_secs seconds (and under the next
 * unit's), counted in per seconds, worded by one/other. */
typedef struct bg_fmt_unit {
    long long min_secs, per;
    const char *one, *other;
} bg_fmt_unit;

/* Largest first. Two of a unit before it is used, so "90 minutes" and
 * "47 hours" keep the detail a rounded "1 hour" or "1 day" would lose. */
static const bg_fmt_unit bg_fmt_units[] = {
    {2 * 86400, 86400, "duration_day", "duration_days"},
    {2 * 3600, 3600, "duration_hour", "duration_hours"},
    {60, 60, "duration_minute", "duration_minutes"},
};

int bg_catalog_fmt_duration(const bg_catalog *c, long long secs, bg_buf *out)
{
    if (secs < 0)
        return 0;
    for (size_t i = 0; i < sizeof bg_fmt_units / sizeof *bg_fmt_units; i++) {
        const bg_fmt_unit *u = &bg_fmt_units[i];
        if (secs < u->min_secs)
            continue;
        long long n = secs / u->per;
        char num[24];
        snprintf(num, sizeof num, "%lld", n);
        bg_catalog_var vars[] = {{"n", num}, {NULL, NULL}};
        /* the singular text for 1; a catalogue without it says "1 minutes"
         * rather than nothing */
        if (n == 1 && bg_catalog_text(c, "common", u->one, vars, out))
            return 1;
        return bg_catalog_text(c, "common", u->other, vars, out);
    }
    return bg_catalog_text(c, "common", "duration_under_minute", NULL, out);
}

/* The broken-down UTC time of t; 0 when t is out of range. */
static int bg_fmt_tm(long long t, struct tm *tm)
{
    if (t < 0 || t > BG_FMT_T_MAX)
        return 0;
    time_t tt = (time_t)t;
    return gmtime_r(&tt, tm) != NULL;
}

int bg_catalog_fmt_date(const bg_catalog *c, long long t, int with_time, bg_buf *out)
{
    struct tm tm;
    if (!bg_fmt_tm(t, &tm))
        return 0;
    const char *const *months;
    if (bg_catalog_lines(c, "common", "date_month", &months) != 12)
        return 0;
    char day[24], year[24], hm[24];
    snprintf(day, sizeof day, "%d", tm.tm_mday);
    snprintf(year, sizeof year, "%d", tm.tm_year + 1900);
    snprintf(hm, sizeof hm, "%02d:%02d", tm.tm_hour, tm.tm_min);
    bg_buf first;
    bg_buf_init(&first);
    if (tm.tm_mday == 1 && bg_catalog_text(c, "common", "date_day_one", NULL, &first) &&
        !bg_buf_failed(&first))
        snprintf(day, sizeof day, "%s", bg_buf_str(&first));
    bg_buf_free(&first);
    bg_catalog_var vars[] = {{"day", day},
                             {"month", months[tm.tm_mon]},
                             {"year", year},
                             {"time", hm},
                             {NULL, NULL}};
    return bg_catalog_text(c, "common", with_time ? "date_time" : "date", vars, out);
}

int bg_catalog_fmt_iso(long long t, int with_time, bg_buf *out)
{
    struct tm tm;
    if (!bg_fmt_tm(t, &tm))
        return 0;
    bg_buf_printf(out, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (with_time)
        bg_buf_printf(out, " %02d:%02d UTC", tm.tm_hour, tm.tm_min);
    return 1;
}

/* 1 when s is exactly "YYYY-MM-DD" (a day, no time of day). */
static int bg_fmt_day_only(const char *s)
{
    static const char shape[] = "dddd-dd-dd";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    return s[sizeof shape - 1] == '\0';
}

int bg_catalog_fmt_date_text(const bg_catalog *c, const char *s, bg_buf *out)
{
    long long t;
    if (!s || !*s || bg_time_parse(s, &t) < 0)
        return 0;
    int with_time = !bg_fmt_day_only(s);
    return c ? bg_catalog_fmt_date(c, t, with_time, out) : bg_catalog_fmt_iso(t, with_time, out);
}
