/* bg_status: find RFC 3463 enhanced status codes and SMTP reply codes. */
#include "bg_status.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Count digits at s, up to max+1. */
static size_t bg_digits(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && isdigit((unsigned char)s[n]))
        n++;
    return n;
}

size_t bg_status_valid(const char *s)
{
    if (s[0] != '2' && s[0] != '4' && s[0] != '5')
        return 0;
    if (s[1] != '.')
        return 0;
    size_t a = bg_digits(s + 2, 3);
    if (a == 0 || a > 3 || s[2 + a] != '.')
        return 0;
    size_t b = bg_digits(s + 3 + a, 3);
    if (b == 0 || b > 3)
        return 0;
    return 3 + a + b;
}

size_t bg_status_find(const char *text, char out[BG_STATUS_MAX])
{
    out[0] = '\0';
    for (const char *p = text; *p; p++) {
        if (*p != '2' && *p != '4' && *p != '5')
            continue;
        /* a whole token: not preceded by a digit, dot or letter */
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '.' ||
                         p[-1] == ':' || p[-1] == '/'))
            continue;
        size_t n = bg_status_valid(p);
        if (!n)
            continue;
        /* not followed by more dotted digits (an IP address or version) */
        if (p[n] == '.' && isdigit((unsigned char)p[n + 1]))
            continue;
        if (isalnum((unsigned char)p[n]) || (p[n] == '-' && isdigit((unsigned char)p[n + 1])))
            continue;
        memcpy(out, p, n);
        out[n] = '\0';
        return (size_t)(p - text) + 1;
    }
    return 0;
}

/* Reply code at p when it is 3 digits 2xx-5xx ended by space, '-', or end. */
static int bg_reply_at(const char *p)
{
    if (!(p[0] >= '2' && p[0] <= '5') || !isdigit((unsigned char)p[1]) ||
        !isdigit((unsigned char)p[2]))
        return 0;
    if (p[3] && p[3] != ' ' && p[3] != '-' && p[3] != '\t')
        return 0;
    if (p[1] > '5')
        return 0;
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

int bg_reply_find(const char *text)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    int code = bg_reply_at(p);
    if (code)
        return code;
    /* after a "said:", "smtp;", "]:", ">:" or "error:" within the text */
    static const char *const leads[] = {"smtp;", "said:", "]:", ">:", "error:", "reply:",
                                        "response:", "returned:", "said ", ": ", NULL};
    const char *best = NULL;
    for (int i = 0; leads[i]; i++) {
        const char *q = text;
        size_t ll = strlen(leads[i]);
        while ((q = strstr(q, leads[i])) != NULL) {
            const char *r = q + ll;
            while (*r == ' ' || *r == '\t')
                r++;
            if (bg_reply_at(r)) {
                if (!best || r < best)
                    best = r;
                break;
            }
            q += ll;
        }
    }
    return best ? bg_reply_at(best) : 0;
}

int bg_status_generic(const char *status)
{
    size_t n = bg_status_valid(status);
    if (!n)
        return 0;
    return strcmp(status + 1, ".0.0") == 0;
}

int bg_status_class(const char *status)
{
    return bg_status_valid(status) ? status[0] : 0;
}
