/* Unit tests: bg_dkim -- key records as a verifier reads them (a table of
 * records: status, reason, key type and length, flags), hostile DER, and
 * the lookup over a zone resolver (missing name, no TXT, two records). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth_keys.h"
#include "bg_dkim.h"

static void dkim_parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *label, *record;
        bg_dkim_status status;
        bg_dkim_why why;
        const char *ktype;
        int bits, testing, sha1_only, bare;
    } cases[] = {
        {"rsa 2048", "v=DKIM1; k=rsa; p=" KEY_RSA2048, BG_DKIM_KEY_OK, BG_DKIM_WHY_NONE, "rsa",
         2048, 0, 0, 0},
        {"rsa 1024, no v=, no k=", "p=" KEY_RSA1024, BG_DKIM_KEY_OK, BG_DKIM_WHY_NONE, "rsa", 1024,
         0, 0, 0},
        {"rsa 512", "v=DKIM1; p=" KEY_RSA512, BG_DKIM_KEY_OK, BG_DKIM_WHY_NONE, "rsa", 512, 0, 0, 0},
        {"folding white space", " v = DKIM1 ;\t k = rsa ; p = " KEY_RSA1024 " ; ", BG_DKIM_KEY_OK,
         BG_DKIM_WHY_NONE, "rsa", 1024, 0, 0, 0},
        {"bare RSAPublicKey", "v=DKIM1; p=" KEY_RSA1024_BARE, BG_DKIM_KEY_OK, BG_DKIM_WHY_NONE,
         "rsa", 1024, 0, 0, 1},
        {"ed25519", "v=DKIM1; k=ed25519; p=" KEY_ED25519, BG_DKIM_KEY_OK, BG_DKIM_WHY_NONE,
         "ed25519", 256, 0, 0, 0},
        {"testing", "v=DKIM1; t=y:s; p=" KEY_RSA2048, BG_DKIM_KEY_OK, BG_DKIM_WHY_NONE, "rsa",
         2048, 1, 0, 0},
        {"t=s only", "v=DKIM1; t=s; p=" KEY_RSA2048, BG_DKIM_KEY_OK, BG_DKIM_WHY_NONE, "rsa", 2048,
         0, 0, 0},
        {"sha1 only", "v=DKIM1; h=sha1; p=" KEY_RSA2048, BG_DKIM_KEY_OK, BG_DKIM_WHY_NONE, "rsa",
         2048, 0, 1, 0},
        {"sha1 and sha256", "v=DKIM1; h=sha1:sha256; p=" KEY_RSA2048, BG_DKIM_KEY_OK,
         BG_DKIM_WHY_NONE, "rsa", 2048, 0, 0, 0},
        {"revoked", "v=DKIM1; p=", BG_DKIM_KEY_REVOKED, BG_DKIM_WHY_NONE, "rsa", 0, 0, 0, 0},
        {"no p=", "v=DKIM1; k=rsa", BG_DKIM_KEY_BROKEN, BG_DKIM_WHY_NO_P, "rsa", 0, 0, 0, 0},
        {"v= not first", "k=rsa; v=DKIM1; p=" KEY_RSA1024, BG_DKIM_KEY_BROKEN,
         BG_DKIM_WHY_VERSION, "", 0, 0, 0, 0},
        {"v=DKIM2", "v=DKIM2; p=" KEY_RSA1024, BG_DKIM_KEY_BROKEN, BG_DKIM_WHY_VERSION, "", 0, 0,
         0, 0},
        {"not base64", "v=DKIM1; p=MIGf@@@notbase64", BG_DKIM_KEY_BROKEN, BG_DKIM_WHY_BASE64,
         "rsa", 0, 0, 0, 0},
        {"bad padding", "v=DKIM1; p=MIGfMA0=AAA", BG_DKIM_KEY_BROKEN, BG_DKIM_WHY_BASE64, "rsa", 0,
         0, 0, 0},
        {"truncated key", "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC0", BG_DKIM_KEY_BROKEN,
         BG_DKIM_WHY_RSA_DER, "rsa", 0, 0, 0, 0},
        {"ed25519 key given as rsa", "v=DKIM1; p=" KEY_ED25519, BG_DKIM_KEY_BROKEN,
         BG_DKIM_WHY_RSA_DER, "rsa", 0, 0, 0, 0},
        {"rsa key given as ed25519", "v=DKIM1; k=ed25519; p=" KEY_RSA1024, BG_DKIM_KEY_BROKEN,
         BG_DKIM_WHY_ED25519, "ed25519", 0, 0, 0, 0},
        {"unknown k=", "v=DKIM1; k=dsa; p=" KEY_RSA1024, BG_DKIM_KEY_BROKEN, BG_DKIM_WHY_KTYPE,
         "dsa", 0, 0, 0, 0},
        {"tag twice", "v=DKIM1; p=" KEY_RSA1024 "; p=" KEY_RSA2048, BG_DKIM_KEY_BROKEN,
         BG_DKIM_WHY_SYNTAX, "", 0, 0, 0, 0},
        {"no tag list", "just some text", BG_DKIM_KEY_BROKEN, BG_DKIM_WHY_SYNTAX, "", 0, 0, 0, 0},
        {"empty", "", BG_DKIM_KEY_BROKEN, BG_DKIM_WHY_SYNTAX, "", 0, 0, 0, 0},
        {"bad tag name", "v=DKIM1; 9x=1; p=" KEY_RSA1024, BG_DKIM_KEY_BROKEN, BG_DKIM_WHY_SYNTAX,
         "", 0, 0, 0, 0},
        {NULL, NULL, 0, 0, NULL, 0, 0, 0, 0},
    };
    for (int i = 0; cases[i].label; i++) {
        bg_dkim_key k;
        memset(&k, 0, sizeof k);
        bg_dkim_parse(cases[i].record, &k);
        print_message("%-28s %s/%s %s %d\n", cases[i].label, bg_dkim_status_name(k.status),
                      bg_dkim_why_id(k.why), k.ktype, k.bits);
        if (k.status != cases[i].status || k.why != cases[i].why)
            fail_msg("%s: %s/%s", cases[i].label, bg_dkim_status_name(k.status),
                     bg_dkim_why_id(k.why));
        if (cases[i].ktype[0])
            assert_string_equal(k.ktype, cases[i].ktype);
        assert_int_equal(k.bits, cases[i].bits);
        assert_int_equal(k.testing, cases[i].testing);
        assert_int_equal(k.sha1_only, cases[i].sha1_only);
        assert_int_equal(k.bare_rsa, cases[i].bare);
    }
}

/* DER that lies about its lengths is rejected, never read past. */
static void dkim_hostile_der(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "p=MA==",                 /* SEQUENCE, no length byte */
        "p=MIQAAAAA",             /* 4-byte length form */
        "p=MIH/MA0=",             /* length 255, 2 bytes present */
        "p=MAA=",                 /* empty SEQUENCE */
        "p=MAYCAQACAQA=",         /* n = 0, e = 0 */
        "p=MAsCAQECAQEDAQAAAA==", /* trailing element inside */
        "p=" "MBEwDQYJKoZIhvcNAQEBBQADAAA=", /* SPKI with an empty BIT STRING */
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        bg_dkim_key k;
        bg_dkim_parse(bad[i], &k);
        if (k.status != BG_DKIM_KEY_BROKEN)
            fail_msg("%s parsed as %s (%d bits)", bad[i], bg_dkim_status_name(k.status), k.bits);
    }
    /* an over-long record is cut for display, never overflows */
    char huge[6000];
    memset(huge, 'A', sizeof huge - 1);
    memcpy(huge, "v=DKIM1; p=", 11);
    huge[sizeof huge - 1] = '\0';
    bg_dkim_key k;
    bg_dkim_parse(huge, &k);
    assert_int_equal(k.status, BG_DKIM_KEY_BROKEN);
    assert_true(strlen(k.record) < sizeof k.record);
}

static void dkim_lookup(void **state)
{
    (void)state;
    bg_dns *d = bg_dns_new_zone();
    assert_non_null(d);
    assert_int_equal(bg_dns_add(d, "s1._domainkey.example.com", "TXT", "v=DKIM1; p=" KEY_RSA2048), 0);
    assert_int_equal(bg_dns_add(d, "two._domainkey.example.com", "TXT", "v=DKIM1; p=" KEY_RSA1024), 0);
    assert_int_equal(bg_dns_add(d, "two._domainkey.example.com", "TXT", "v=DKIM1; p=" KEY_RSA2048), 0);
    assert_int_equal(bg_dns_add(d, "a._domainkey.example.com", "A", "192.0.2.1"), 0);
    bg_dns_start(d, 2000);
    bg_dkim_key k;
    assert_int_equal(bg_dkim_lookup(d, "example.com", "s1", &k), BG_DKIM_KEY_OK);
    assert_string_equal(k.name, "s1._domainkey.example.com");
    assert_int_equal(k.bits, 2048);
    assert_int_equal(bg_dkim_lookup(d, "example.com", "none", &k), BG_DKIM_KEY_MISSING);
    assert_int_equal(k.why, BG_DKIM_WHY_NXDOMAIN);
    assert_int_equal(bg_dkim_lookup(d, "example.com", "two", &k), BG_DKIM_KEY_BROKEN);
    assert_int_equal(k.why, BG_DKIM_WHY_MULTIPLE);
    assert_int_equal(bg_dkim_lookup(d, "example.com", "", &k), BG_DKIM_KEY_MISSING);
    bg_dns_set_zone_latency(d, 5000);
    bg_dns_flush(d);
    bg_dns_start(d, 100);
    assert_int_equal(bg_dkim_lookup(d, "example.com", "s1", &k), BG_DKIM_KEY_TEMPFAIL);
    bg_dns_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dkim_parse_table),
        cmocka_unit_test(dkim_hostile_der),
        cmocka_unit_test(dkim_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
