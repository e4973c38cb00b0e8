/* bg_auth_class: address and name classes, as tables.
 *
 * Address ranges are rows {family, prefix, length, class}; the longest
 * matching prefix wins (every row here is disjoint from the others except
 * where a longer one is listed on purpose). Name rules are rows {suffix,
 * class}, matched on whole labels. Anything not in a table is public,
 * except names under a top-level domain the Public Suffix List does not
 * know (bg_auth_org).
 */
#include "bg_auth_class.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bg_auth_org.h"

typedef struct bg_auth_net {
    int af;
    unsigned char prefix[16];
    unsigned bits;
    bg_addr_class cls;
} bg_auth_net;

/* Special-purpose ranges (IANA's IPv4/IPv6 special-purpose registries). */
static const bg_auth_net bg_auth_nets[] = {
    {AF_INET, {0}, 8, BG_ADDR_UNSPEC},                   /* "this network", RFC 791 */
    {AF_INET, {10}, 8, BG_ADDR_PRIVATE},                 /* RFC 1918 */
    {AF_INET, {100, 64}, 10, BG_ADDR_SHARED},            /* RFC 6598 */
    {AF_INET, {127}, 8, BG_ADDR_LOOPBACK},               /* RFC 1122 */
    {AF_INET, {169, 254}, 16, BG_ADDR_LINKLOCAL},        /* RFC 3927 */
    {AF_INET, {172, 16}, 12, BG_ADDR_PRIVATE},           /* RFC 1918 */
    {AF_INET, {192, 0, 0}, 24, BG_ADDR_RESERVED},        /* RFC 6890 protocol assignments */
    {AF_INET, {192, 0, 2}, 24, BG_ADDR_DOC},             /* RFC 5737 TEST-NET-1 */
    {AF_INET, {192, 168}, 16, BG_ADDR_PRIVATE},          /* RFC 1918 */
    {AF_INET, {198, 18}, 15, BG_ADDR_RESERVED},          /* RFC 2544 benchmarking */
    {AF_INET, {198, 51, 100}, 24, BG_ADDR_DOC},          /* RFC 5737 TEST-NET-2 */
    {AF_INET, {203, 0, 113}, 24, BG_ADDR_DOC},           /* RFC 5737 TEST-NET-3 */
    {AF_INET, {224}, 4, BG_ADDR_MULTICAST},              /* RFC 5771 */
    {AF_INET, {240}, 4, BG_ADDR_RESERVED},               /* RFC 1112, broadcast */
    {AF_INET6, {0}, 128, BG_ADDR_UNSPEC},                /* :: */
    {AF_INET6, {[15] = 1}, 128, BG_ADDR_LOOPBACK},       /* ::1 */
    {AF_INET6, {0x01, 0x00}, 64, BG_ADDR_RESERVED},      /* 100::/64 discard, RFC 6666 */
    {AF_INET6, {0x20, 0x01, 0x0d, 0xb8}, 32, BG_ADDR_DOC}, /* RFC 3849 */
    {AF_INET6, {0x3f, 0xff}, 20, BG_ADDR_DOC},           /* RFC 9637 */
    {AF_INET6, {0xfc}, 7, BG_ADDR_ULA},                  /* RFC 4193 */
    {AF_INET6, {0xfe, 0x80}, 10, BG_ADDR_LINKLOCAL},     /* RFC 4291 */
    {AF_INET6, {0xfe, 0xc0}, 10, BG_ADDR_PRIVATE},       /* site-local, deprecated (RFC 3879) */
    {AF_INET6, {0xff}, 8, BG_ADDR_MULTICAST},            /* RFC 4291 */
    {0, {0}, 0, BG_ADDR_PUBLIC},
};

static const char *const bg_auth_addr_ids[] = {
    [BG_ADDR_INVALID] = "invalid",     [BG_ADDR_PUBLIC] = "public",
    [BG_ADDR_DOC] = "documentation",   [BG_ADDR_LOOPBACK] = "loopback",
    [BG_ADDR_PRIVATE] = "private",     [BG_ADDR_SHARED] = "shared",
    [BG_ADDR_ULA] = "unique-local",    [BG_ADDR_LINKLOCAL] = "link-local",
    [BG_ADDR_UNSPEC] = "unspecified",  [BG_ADDR_MULTICAST] = "multicast",
    [BG_ADDR_RESERVED] = "reserved",
};

static const char *const bg_auth_name_ids[] = {
    [BG_NAME_INVALID] = "invalid",         [BG_NAME_PUBLIC] = "public",
    [BG_NAME_TEST] = "test",               [BG_NAME_SINGLE] = "single-label",
    [BG_NAME_LOCALHOST] = "localhost",     [BG_NAME_MDNS] = "mdns",
    [BG_NAME_PRIVATE_USE] = "private-use", [BG_NAME_UNLISTED] = "unlisted",
    [BG_NAME_ADDRESS] = "address",
};

const char *bg_auth_addr_class_id(bg_addr_class c)
{
    return (unsigned)c < sizeof bg_auth_addr_ids / sizeof bg_auth_addr_ids[0]
               ? bg_auth_addr_ids[c] : "invalid";
}

const char *bg_auth_name_class_id(bg_name_class c)
{
    return (unsigned)c < sizeof bg_auth_name_ids / sizeof bg_auth_name_ids[0]
               ? bg_auth_name_ids[c] : "invalid";
}

int bg_auth_addr_public(bg_addr_class c)
{
    return c == BG_ADDR_PUBLIC || c == BG_ADDR_DOC;
}

int bg_auth_name_public(bg_name_class c)
{
    return c == BG_NAME_PUBLIC || c == BG_NAME_TEST;
}

/* Do the first bits of a and b agree? */
static int bg_auth_prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0)
        return 0;
    if (!rest)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

/* The class of raw address bytes of family af. */
static bg_addr_class bg_auth_class_bytes(int af, const unsigned char *a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (af == AF_INET6 && memcmp(a, mapped, 12) == 0)
        return bg_auth_class_bytes(AF_INET, a + 12);
    const bg_auth_net *best = NULL;
    for (const bg_auth_net *n = bg_auth_nets; n->af; n++)
        if (n->af == af && bg_auth_prefix_eq(a, n->prefix, n->bits) &&
            (!best || n->bits > best->bits))
            best = n;
    return best ? best->cls : BG_ADDR_PUBLIC;
}

bg_addr_class bg_auth_class_addr(const char *ip)
{
    char tmp[64];
    if (!ip)
        return BG_ADDR_INVALID;
    size_t n = strlen(ip);
    if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') {
        ip++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof tmp)
        return BG_ADDR_INVALID;
    memcpy(tmp, ip, n);
    tmp[n] = '\0';
    unsigned char a[16];
    if (inet_pton(AF_INET, tmp, a) == 1)
        return bg_auth_class_bytes(AF_INET, a);
    if (inet_pton(AF_INET6, tmp, a) == 1)
        return bg_auth_class_bytes(AF_INET6, a);
    return BG_ADDR_INVALID;
}

/* Special-use names by suffix (whole labels). */
static const struct {
    const char *suffix;
    bg_name_class cls;
} bg_auth_name_rules[] = {
    {"localhost", BG_NAME_LOCALHOST},      /* RFC 6761 */
    {"local", BG_NAME_MDNS},               /* RFC 6762 */
    {"home.arpa", BG_NAME_PRIVATE_USE},    /* RFC 8375 */
    {"localdomain", BG_NAME_PRIVATE_USE},  /* common installer default */
    {"internal", BG_NAME_PRIVATE_USE},     /* ICANN reserved for private use (2024) */
    {"lan", BG_NAME_PRIVATE_USE},
    {"home", BG_NAME_PRIVATE_USE},
    {"corp", BG_NAME_PRIVATE_USE},
    {"intranet", BG_NAME_PRIVATE_USE},
    {"private", BG_NAME_PRIVATE_USE},
    {"test", BG_NAME_TEST},                /* RFC 6761 */
    {"example", BG_NAME_TEST},             /* RFC 6761 */
    {"invalid", BG_NAME_INVALID},          /* RFC 6761 */
    {NULL, BG_NAME_PUBLIC},
};

/* Does d (length n) end with the labels of suffix? */
static int bg_auth_has_suffix(const char *d, size_t n, const char *suffix)
{
    size_t s = strlen(suffix);
    if (n < s || strcmp(d + n - s, suffix) != 0)
        return 0;
    return n == s || d[n - s - 1] == '.';
}

bg_name_class bg_auth_class_name(const char *name)
{
    char d[256];
    size_t n = name ? strlen(name) : 0;
    while (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n >= sizeof d)
        return BG_NAME_INVALID;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)tolower((unsigned char)name[i]);
    d[n] = '\0';
    if (bg_auth_class_addr(d) != BG_ADDR_INVALID)
        return BG_NAME_ADDRESS;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.') ||
            (c == '.' && (i == 0 || d[i - 1] == '.')))
            return BG_NAME_INVALID;
    }
    for (size_t i = 0; bg_auth_name_rules[i].suffix; i++)
        if (bg_auth_has_suffix(d, n, bg_auth_name_rules[i].suffix))
            return bg_auth_name_rules[i].cls;
    if (!strchr(d, '.'))
        return BG_NAME_SINGLE;
    return bg_auth_org_tld_listed(d) ? BG_NAME_PUBLIC : BG_NAME_UNLISTED;
}

/* Is c part of an address literal token? */
static int bg_auth_ipchar(char c)
{
    return isxdigit((unsigned char)c) || c == '.' || c == ':';
}

int bg_auth_reply_ip(const char *text, const char *remote_mta, char *out, size_t cap)
{
    unsigned char skip[16], found[16], a[16];
    int skip_af = 0, found_af = 0, nfound = 0;
    if (cap)
        out[0] = '\0';
    if (!text || cap == 0)
        return 0;
    /* the answering server's own address ("mx.example [203.0.113.9]" or
     * a literal) is not the client's */
    if (remote_mta && *remote_mta) {
        const char *lb = strchr(remote_mta, '[');
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%s", lb ? lb + 1 : remote_mta);
        tmp[strcspn(tmp, "] ")] = '\0';
        if (inet_pton(AF_INET, tmp, skip) == 1)
            skip_af = AF_INET;
        else if (inet_pton(AF_INET6, tmp, skip) == 1)
            skip_af = AF_INET6;
    }
    for (const char *p = text; *p;) {
        if (!bg_auth_ipchar(*p)) {
            p++;
            continue;
        }
        size_t n = 0;
        while (p[n] && bg_auth_ipchar(p[n]))
            n++;
        char tok[64];
        if (n < sizeof tok && (p == text || !isalnum((unsigned char)p[-1]))) {
            size_t tl = n;
            memcpy(tok, p, tl);
            tok[tl] = '\0';
            while (tl > 0 && (tok[tl - 1] == '.' || tok[tl - 1] == ':')) /* sentence end */
                tok[--tl] = '\0';
            int af = inet_pton(AF_INET, tok, a) == 1    ? AF_INET
                     : (strchr(tok, ':') && strchr(strchr(tok, ':') + 1, ':') &&
                        inet_pton(AF_INET6, tok, a) == 1) ? AF_INET6
                                                          : 0;
            size_t len = af == AF_INET ? 4 : 16;
            if (af && !(af == skip_af && memcmp(a, skip, len) == 0) &&
                bg_auth_addr_public(bg_auth_class_bytes(af, a)) &&
                !(af == found_af && memcmp(a, found, len) == 0)) {
                if (++nfound > 1)
                    return 0;
                found_af = af;
                memcpy(found, a, len);
            }
        }
        p += n;
    }
    if (nfound != 1 || !inet_ntop(found_af, found, out, (socklen_t)cap)) {
        out[0] = '\0';
        return 0;
    }
    return 1;
}
