/* bg_store_text: the text helpers the store shares with the CLI and the
 * adapter -- normalised addresses, domains and Message-IDs, and the times
 * the store prints and parses. No SQLite here. */
#include "bg_store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void bg_store_norm_msgid(const char *in, char out[BG_MSGID_MAX])
{
    size_t o = 0;
    if (in) {
        while (*in == ' ' || *in == '\t')
            in++;
        if (*in == '<')
            in++;
        for (; *in && o + 1 < BG_MSGID_MAX; in++) {
            unsigned char c = (unsigned char)*in;
            if (c <= 0x20 || c == 0x7f)
                continue;
            out[o++] = (char)c;
        }
        if (o > 0 && out[o - 1] == '>')
            o--;
    }
    out[o] = '\0';
}

int bg_store_domain_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > 253)
        return 0;
    int labels = 0;
    const char *p = s;
    while (*p) {
        const char *e = p;
        while (*e && *e != '.')
            e++;
        size_t l = (size_t)(e - p);
        if (l == 0 || l > 63 || p[0] == '-' || e[-1] == '-')
            return 0;
        for (const char *q = p; q < e; q++)
            if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
                return 0;
        labels++;
        if (!*e)
            break;
        p = e + 1;
        if (!*p) /* trailing dot */
            return 0;
    }
    return labels >= 2;
}

int bg_store_norm_recipient(const char *in, char out[BG_ADDR_MAX])
{
    out[0] = '\0';
    if (!in)
        return -1;
    while (*in == ' ' || *in == '\t')
        in++;
    size_t len = strlen(in);
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
        len--;
    if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
        in++;
        len -= 2;
    }
    if (len == 0 || len >= BG_ADDR_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c == 0x7f)
            return -1;
        out[i] = (char)tolower(c);
    }
    out[len] = '\0';
    char *at = strrchr(out, '@');
    const char *domain = at ? at + 1 : out;
    if (at && (at == out || at - out > 64 ||
               (out[0] != '"' && memchr(out, '@', (size_t)(at - out)) != NULL))) {
        out[0] = '\0'; /* empty or over-long local part, or a bare '@' inside it */
        return -1;
    }
    if (!bg_store_domain_valid(domain)) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

void bg_store_fmt_date(long long t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%d", &tm) == 0)
        snprintf(out, 32, "%lld", t);
}

void bg_store_fmt_time(long long t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", t);
}

/* Parse what follows a time: "", "Z", "UTC", "GMT", "+hh:mm", "+hhmm"
 * (blanks allowed). Offset in seconds east of UTC into *off; 0 or -1. */
static int bg_parse_zone(const char *p, long long *off)
{
    *off = 0;
    while (*p == ' ')
        p++;
    if (*p == '.') { /* fraction of a second */
        p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    while (*p == ' ')
        p++;
    if (!*p)
        return 0;
    if ((p[0] == 'Z' || p[0] == 'z') && !p[1])
        return 0;
    if (strcasecmp(p, "UTC") == 0 || strcasecmp(p, "GMT") == 0 || strcasecmp(p, "UT") == 0)
        return 0;
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p == '-' ? -1 : 1;
    p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    int hh = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    if (*p == ':')
        p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    int mm = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    while (*p == ' ')
        p++;
    if (*p == '(') /* RFC 5322 comment such as "(UTC)" */
        p += strlen(p);
    if (*p || hh > 23 || mm > 59)
        return -1;
    *off = sign * (hh * 3600LL + mm * 60LL);
    return 0;
}

int bg_store_parse_time(const char *s, long long *out)
{
    if (!s)
        return -1;
    while (*s == ' ')
        s++;
    if (!*s)
        return -1;
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    if (!*p && p - s <= 12) {
        *out = strtoll(s, NULL, 10);
        return 0;
    }
    static const char *const formats[] = {
        "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%a, %d %b %Y %H:%M:%S",
        "%d %b %Y %H:%M:%S", "%Y-%m-%d", NULL,
    };
    for (int i = 0; formats[i]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *rest = strptime(s, formats[i], &tm);
        if (!rest)
            continue;
        long long off;
        if (bg_parse_zone(rest, &off) < 0)
            continue;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
            continue;
        *out = (long long)t - off;
        return 0;
    }
    return -1;
}

