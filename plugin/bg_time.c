/* bg_time: mail dates to unix seconds (see bg_time.h). */
#include "bg_time.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

long long bg_time_from_civil(int year, int month, int day, int hour, int min, int sec)
{
    /* days from 1970-01-01, Howard Hinnant's days_from_civil */
    long long y = year - (month <= 2);
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return days * 86400 + hour * 3600 + min * 60 + sec;
}

/* Up to max digits at *p as a number; -1 when there is none. */
static int bg_time_num(const char **p, int max)
{
    int n = 0, v = 0;
    while (n < max && isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n ? v : -1;
}

static void bg_time_blanks(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == ',')
        (*p)++;
}

static int bg_time_month(const char **p)
{
    static const char *const m[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                    "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; i++)
        if (strncasecmp(*p, m[i], 3) == 0) {
            *p += 3;
            while (isalpha((unsigned char)**p))
                (*p)++;
            return i + 1;
        }
    return -1;
}

/* A zone after the time: +hhmm, +hh:mm, Z, or an obsolete name. Seconds
 * east of UTC into *off; unknown names count as UTC (RFC 5322 4.3). */
static void bg_time_zone(const char **p, long long *off)
{
    *off = 0;
    bg_time_blanks(p);
    if (**p == '+' || **p == '-') {
        int sign = **p == '-' ? -1 : 1;
        (*p)++;
        const char *q = *p;
        int hh = bg_time_num(p, 2), mm = 0;
        if (hh < 0 || *p - q != 2)
            return;
        if (**p == ':')
            (*p)++;
        mm = bg_time_num(p, 2);
        if (mm < 0)
            mm = 0;
        *off = sign * (hh * 3600LL + mm * 60LL);
        return;
    }
    static const struct {
        const char *n;
        int h;
    } names[] = {{"edt", -4}, {"est", -5}, {"cdt", -5}, {"cst", -6}, {"mdt", -6},
                 {"mst", -7}, {"pdt", -7}, {"pst", -8}, {"jst", 9},  {NULL, 0}};
    for (int i = 0; names[i].n; i++)
        if (strncasecmp(*p, names[i].n, 3) == 0 && !isalpha((unsigned char)(*p)[3])) {
            *off = names[i].h * 3600LL;
            return;
        }
}

static int bg_time_valid(int y, int mo, int d, int h, int mi, int s)
{
    static const int dim[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return y >= 1900 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= dim[mo - 1] &&
           h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

/* "HH:MM[:SS]" */
static int bg_time_clock(const char **p, int *h, int *mi, int *s)
{
    *h = bg_time_num(p, 2);
    if (*h < 0 || **p != ':')
        return -1;
    (*p)++;
    *mi = bg_time_num(p, 2);
    if (*mi < 0)
        return -1;
    *s = 0;
    if (**p == ':') {
        (*p)++;
        *s = bg_time_num(p, 2);
        if (*s < 0)
            return -1;
        if (**p == '.') /* fractions */
            while (isdigit((unsigned char)*++(*p)))
                ;
    }
    return 0;
}

int bg_time_parse(const char *s, long long *out)
{
    if (!s)
        return -1;
    const char *p = s;
    bg_time_blanks(&p);
    int y, mo, d, h = 0, mi = 0, sec = 0;
    long long off = 0;
    if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
        isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) && p[4] == '-') {
        /* ISO 8601 / SQL */
        y = bg_time_num(&p, 4);
        p++;
        mo = bg_time_num(&p, 2);
        if (*p++ != '-')
            return -1;
        d = bg_time_num(&p, 2);
        if (*p == 'T' || *p == 't' || *p == ' ') {
            p++;
            if (bg_time_clock(&p, &h, &mi, &sec) < 0)
                return -1;
            if (*p == 'Z' || *p == 'z')
                p++;
            else
                bg_time_zone(&p, &off);
        }
    } else {
        /* RFC 5322: [day-name ","] day month year time zone */
        if (isalpha((unsigned char)*p)) {
            while (isalpha((unsigned char)*p))
                p++;
            bg_time_blanks(&p);
        }
        d = bg_time_num(&p, 2);
        bg_time_blanks(&p);
        mo = bg_time_month(&p);
        bg_time_blanks(&p);
        const char *yq = p;
        y = bg_time_num(&p, 4);
        if (y >= 0 && p - yq == 2)
            y += y < 50 ? 2000 : 1900;
        else if (y >= 0 && p - yq == 3)
            y += 1900;
        bg_time_blanks(&p);
        if (d < 0 || mo < 0 || y < 0 || bg_time_clock(&p, &h, &mi, &sec) < 0)
            return -1;
        bg_time_zone(&p, &off);
    }
    if (d < 0 || mo < 0 || y < 0 || !bg_time_valid(y, mo, d, h, mi, sec))
        return -1;
    *out = bg_time_from_civil(y, mo, d, h, mi, sec) - off;
    return 0;
}
