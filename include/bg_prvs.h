/* bg_prvs: BATV "prvs" signed envelope senders, compatible with Exim's
 * ${prvs} and ${prvscheck} expansion items.
 *
 * Form: prvs=KDDDHHHHHH=local@domain -- K the key number (one digit), DDD
 * the last three digits of the expiry day (days since the epoch, signed
 * addresses live 7 days), HHHHHH the first three bytes of
 * HMAC-SHA1(secret, K DDD local@domain) in lower-case hex. A bounce sent to
 * a valid signature answers mail this server sent. Used by the store's
 * adapter to decide whether an inbound bounce may suppress anyone.
 */
#ifndef BG_PRVS_H
#define BG_PRVS_H

#include <stddef.h>
#include "bg_bounce.h"

typedef enum {
    BG_PRVS_VALID = 0,
    BG_PRVS_NOT_SIGNED, /* not in prvs form */
    BG_PRVS_BAD_HASH,   /* signature does not match the secret */
    BG_PRVS_EXPIRED,    /* signature matches but its day has passed */
    BG_PRVS_ERROR       /* no usable secret (empty or longer than 64 bytes) */
} bg_prvs_result;

const char *bg_prvs_result_text(bg_prvs_result r);

/* A signed address taken apart. */
typedef struct bg_prvs {
    int keynum;                /* 0-9 */
    char day[4];               /* "DDD" */
    char hash[7];              /* six hex digits as written */
    char address[BG_ADDR_MAX]; /* local@domain without the tag */
} bg_prvs;

/* 1 when addr (optionally in <>) is in prvs form, out filled; else 0. */
int bg_prvs_parse(const char *addr, bg_prvs *out);

/* Sign address like ${prvs{address}{secret}{keynum}} at time now (unix
 * seconds). 0 with out filled, or -1 (bad address, secret, or space). */
int bg_prvs_sign(const char *address, const char *secret, int keynum, long long now, char *out,
                 size_t outlen);

/* Check a parsed address against secret at time now, like ${prvscheck}. */
bg_prvs_result bg_prvs_verify(const bg_prvs *p, const char *secret, long long now);

#endif
