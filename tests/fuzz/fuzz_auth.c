/* libFuzzer target for the authentication diagnosis's parsers of text it
 * does not control: the client address in a remote reply
 * (bg_auth_reply_ip), address and name classes, DKIM key records
 * (bg_dkim_parse: tag list, base64, DER), and Debian's
 * update-exim4.conf.conf and macro files (bg_auth_topo_parse_*).
 *
 * Checks: every call returns (libFuzzer's -timeout catches a loop that
 * does not: one once froze bounces inside Exim); a reply address is ""
 * or a public address; a key is OK only with a length; every string out
 * is terminated within its field. Run with `make fuzz-auth` (mk/auth.mk).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bg_auth_class.h"
#include "bg_auth_topo.h"
#include "bg_dkim.h"

/* A field is terminated within its size. */
#define BG_FUZZ_TERMINATED(f) \
    do {                                     \
        if (!memchr((f), '\0', sizeof(f)))   \
            __builtin_trap();                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    char ip[64];
    static const char *const remotes[] = {"", "mx.example [192.0.2.53]", "2001:db8::25", NULL};
    for (int i = 0; remotes[i]; i++) {
        int r = bg_auth_reply_ip(text, remotes[i], ip, sizeof ip);
        BG_FUZZ_TERMINATED(ip);
        if (r != (ip[0] != '\0') || (r && !bg_auth_addr_public(bg_auth_class_addr(ip))))
            __builtin_trap();
    }
    (void)bg_auth_addr_class_id(bg_auth_class_addr(text));
    (void)bg_auth_name_class_id(bg_auth_class_name(text));

    bg_dkim_key k;
    memset(&k, 0, sizeof k);
    bg_dkim_parse(text, &k);
    BG_FUZZ_TERMINATED(k.record);
    BG_FUZZ_TERMINATED(k.ktype);
    if ((unsigned)k.status > BG_DKIM_KEY_TEMPFAIL || (k.status == BG_DKIM_KEY_OK && k.bits <= 0) ||
        (k.status == BG_DKIM_KEY_BROKEN && k.why == BG_DKIM_WHY_NONE))
        __builtin_trap();

    bg_auth_topo t;
    memset(&t, 0, sizeof t);
    bg_auth_topo_parse_debconf(text, &t);
    bg_auth_topo_parse_macros(text, &t);
    BG_FUZZ_TERMINATED(t.configtype);
    BG_FUZZ_TERMINATED(t.smarthost);
    BG_FUZZ_TERMINATED(t.dkim_domain);
    BG_FUZZ_TERMINATED(t.dkim_selector);
    if ((unsigned)t.kind > BG_TOPO_SMARTHOST)
        __builtin_trap();
    free(text);
    return 0;
}
