/* bg_prvs: BATV prvs signatures the way Exim makes and checks them
 * (expand.c: prvs_daystamp, prvs_hmac_sha1, EITEM_PRVS/EITEM_PRVSCHECK),
 * on nettle's HMAC-SHA1. No I/O, no allocation. */
#include "bg_prvs.h"

#include <ctype.h>
#include <nettle/hmac.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define BG_PRVS_SECRET_MAX 64 /* Exim refuses longer keys */

static const char *const bg_prvs_texts[] = {
    [BG_PRVS_VALID] = "valid signature",
    [BG_PRVS_NOT_SIGNED] = "not prvs-signed",
    [BG_PRVS_BAD_HASH] = "signature does not match",
    [BG_PRVS_EXPIRED] = "signature expired",
    [BG_PRVS_ERROR] = "no usable prvs secret",
};

const char *bg_prvs_result_text(bg_prvs_result r)
{
    return (unsigned)r <= BG_PRVS_ERROR ? bg_prvs_texts[r] : "unknown";
}

/* Last three digits of the day number (now + offset days), as Exim's
 * prvs_daystamp. */
static void bg_prvs_daystamp(long long now, int offset_days, char out[4])
{
    long long d = (now + offset_days * 86400LL) / 86400LL;
    unsigned v = (unsigned)(((d % 1000) + 1000) % 1000);
    out[0] = (char)('0' + v / 100);
    out[1] = (char)('0' + v / 10 % 10);
    out[2] = (char)('0' + v % 10);
    out[3] = '\0';
}

/* The six-hex-digit hash of (keynum, day, address) under secret; -1 when
 * the secret is unusable. */
static int bg_prvs_hash(const char *address, const char *secret, int keynum, const char *day,
                        char out[7])
{
    size_t kl = secret ? strlen(secret) : 0;
    if (kl == 0 || kl > BG_PRVS_SECRET_MAX)
        return -1;
    struct hmac_sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    char head[5];
    snprintf(head, sizeof head, "%d%.3s", keynum, day);
    hmac_sha1_set_key(&ctx, kl, (const uint8_t *)secret);
    hmac_sha1_update(&ctx, 4, (const uint8_t *)head);
    hmac_sha1_update(&ctx, strlen(address), (const uint8_t *)address);
    hmac_sha1_digest(&ctx, sizeof digest, digest);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 3; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[6] = '\0';
    return 0;
}

int bg_prvs_parse(const char *addr, bg_prvs *out)
{
    memset(out, 0, sizeof *out);
    if (!addr)
        return 0;
    while (*addr == ' ' || *addr == '<')
        addr++;
    size_t len = strlen(addr);
    while (len && (addr[len - 1] == '>' || addr[len - 1] == ' '))
        len--;
    /* ^prvs=([0-9])([0-9]{3})([A-F0-9]{6})=(.+)@(.+)$, case-insensitive */
    if (len < 5 + 1 + 3 + 6 + 1 + 3 || strncasecmp(addr, "prvs=", 5) != 0)
        return 0;
    const char *p = addr + 5;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    for (int i = 4; i < 10; i++)
        if (!isxdigit((unsigned char)p[i]))
            return 0;
    if (p[10] != '=')
        return 0;
    const char *a = p + 11;
    size_t alen = len - (size_t)(a - addr);
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (a[i] == '@')
            at = a + i;
    if (!at || at == a || at == a + alen - 1 || alen >= BG_ADDR_MAX)
        return 0;
    out->keynum = p[0] - '0';
    memcpy(out->day, p + 1, 3);
    memcpy(out->hash, p + 4, 6);
    memcpy(out->address, a, alen);
    out->address[alen] = '\0';
    return 1;
}

int bg_prvs_sign(const char *address, const char *secret, int keynum, long long now, char *out,
                 size_t outlen)
{
    const char *at = address ? strrchr(address, '@') : NULL;
    if (!at || at == address || !at[1] || keynum < 0 || keynum > 9)
        return -1;
    char day[4], hash[7];
    bg_prvs_daystamp(now, 7, day);
    if (bg_prvs_hash(address, secret, keynum, day, hash) < 0)
        return -1;
    int n = snprintf(out, outlen, "prvs=%d%s%s=%s", keynum, day, hash, address);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

bg_prvs_result bg_prvs_verify(const bg_prvs *p, const char *secret, long long now)
{
    char hash[7];
    if (bg_prvs_hash(p->address, secret, p->keynum, p->day, hash) < 0)
        return BG_PRVS_ERROR;
    if (strcmp(hash, p->hash) != 0) /* Exim compares exactly: its own hex is lower case */
        return BG_PRVS_BAD_HASH;
    char today[4];
    bg_prvs_daystamp(now, 0, today);
    unsigned inow = (unsigned)((today[0] - '0') * 100 + (today[1] - '0') * 10 + (today[2] - '0'));
    unsigned iexp = (unsigned)((p->day[0] - '0') * 100 + (p->day[1] - '0') * 10 + (p->day[2] - '0'));
    if (iexp < 7 && inow >= 993) /* the day counter wrapped past 999 */
        inow = 0;
    return iexp >= inow ? BG_PRVS_VALID : BG_PRVS_EXPIRED;
}
