/* bg_addr: e-mail addresses in remote text (see bg_addr.h). */
#include "bg_addr.h"

#include <ctype.h>
#include <string.h>

#include "bg_header.h"

/* Characters that end an address found around an '@'. */
static int bg_addr_delim(unsigned char c)
{
    return c <= 0x20 || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' ||
           c == '"' || c == '\'' || c == '[' || c == ']' || c == 0x7f;
}

/* Prefer an address in angle brackets, else the token around the first @. */
size_t bg_addr_extract(const char *in, size_t len, char *out, size_t outlen)
{
    const char *s = in, *e = in + len;
    /* address type prefix: "rfc822;" "utf-8;" "x-unknown;" */
    const char *semi = memchr(s, ';', len);
    if (semi) {
        const char *q = s;
        while (q < semi && (*q == ' ' || *q == '\t'))
            q++;
        const char *t = q;
        while (t < semi && ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
                            (*t >= '0' && *t <= '9') || *t == '-' || *t == '_'))
            t++;
        while (t < semi && (*t == ' ' || *t == '\t'))
            t++;
        if (t == semi && t > q && semi - q <= 24)
            s = semi + 1;
    }
    const char *a = NULL, *b = NULL;
    int quoted = 0; /* a quoted local part ("a b"@example.net) is kept whole */
    const char *lt = memchr(s, '<', (size_t)(e - s));
    while (lt) {
        const char *gt = memchr(lt, '>', (size_t)(e - lt));
        const char *stop = gt ? gt : e;
        if (memchr(lt, '@', (size_t)(stop - lt))) {
            a = lt + 1;
            b = stop;
            quoted = *a == '"' && b - a > 3 && memmem(a + 1, (size_t)(b - a - 1), "\"@", 2);
            break;
        }
        lt = gt ? memchr(gt, '<', (size_t)(e - gt)) : NULL;
    }
    if (!a) {
        const char *at = memchr(s, '@', (size_t)(e - s));
        if (at) {
            a = at;
            /* an apostrophe inside a word belongs to it (o'brien@...) */
            while (a > s && a[-1] != ':' &&
                   (!bg_addr_delim((unsigned char)a[-1]) ||
                    (a[-1] == '\'' && a - 1 > s && isalnum((unsigned char)a[-2]))))
                a--;
            if (at > s + 1 && at[-1] == '"') {
                const char *q = at - 2;
                while (q >= s && *q != '"')
                    q--;
                /* the quoted string must be the whole local part */
                if (q >= s && (q == s || bg_addr_delim((unsigned char)q[-1]) || q[-1] == ':')) {
                    a = q;
                    quoted = 1;
                }
            }
            b = at + 1;
            while (b < e && !bg_addr_delim((unsigned char)*b))
                b++;
        } else {
            a = s;
            while (a < e && (bg_addr_delim((unsigned char)*a)))
                a++;
            b = a;
            while (b < e && !bg_addr_delim((unsigned char)*b))
                b++;
        }
    }
    while (a < b && !quoted && (*a == ' ' || *a == '\t' || *a == '"' || *a == '\'' || *a == '<'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '.' || b[-1] == ':' ||
                     b[-1] == ',' || b[-1] == '"' || b[-1] == '\'' || b[-1] == '>'))
        b--;
    /* an address never holds blanks outside quotes: drop anything after one */
    const char *sp = a;
    if (quoted) {
        sp = memmem(a + 1, (size_t)(b - a - 1), "\"@", 2);
        sp = sp ? sp + 2 : b;
    }
    while (sp < b && (unsigned char)*sp > 0x20)
        sp++;
    if (sp < b && memchr(a, '@', (size_t)(b - a)))
        b = sp;
    return bg_text_clean(out, outlen, a, (size_t)(b - a), 0);
}

/* Characters of an unquoted local part (RFC 5322 atext plus dot). */
static int bg_addr_local_ch(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+/=?^_`{|}~.-", c) != NULL);
}

static int bg_addr_domain_ch(int c)
{
    return isalnum(c) || c == '.' || c == '-' || c == '_';
}

size_t bg_addr_at(const char *p, const char *end, char out[BG_ADDR_MAX])
{
    size_t i = 0, n = (size_t)(end - p);
    while (i < n && i <= 64 && bg_addr_local_ch((unsigned char)p[i]))
        i++;
    if (i == 0 || i > 64 || i >= n || p[i] != '@' || p[0] == '.')
        return 0;
    size_t at = i++;
    size_t d0 = i;
    while (i < n && i - d0 <= 255 && bg_addr_domain_ch((unsigned char)p[i]))
        i++;
    while (i > d0 && (p[i - 1] == '.' || p[i - 1] == '-'))
        i--; /* sentence punctuation */
    size_t dl = i - d0;
    if (dl < 3 || dl > 255 || memchr(p + d0, '.', dl) == NULL || p[d0] == '.' || p[d0] == '-')
        return 0;
    memcpy(out, p, at + 1);
    for (size_t k = 0; k < dl; k++)
        out[at + 1 + k] = (char)tolower((unsigned char)p[d0 + k]);
    out[at + 1 + dl] = '\0';
    return i;
}

size_t bg_addr_find(const char *p, const char *end, char out[BG_ADDR_MAX], const char **at)
{
    const char *q = p;
    while (q < end) {
        const char *a = memchr(q, '@', (size_t)(end - q));
        if (!a)
            break;
        const char *s = a;
        while (s > p && a - s < 65 && bg_addr_local_ch((unsigned char)s[-1]))
            s--;
        while (s < a && *s == '.')
            s++;
        size_t n = s < a ? bg_addr_at(s, end, out) : 0;
        if (n) {
            *at = s;
            return n;
        }
        q = a + 1;
    }
    out[0] = '\0';
    return 0;
}

const char *bg_addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}
