/* Unit tests: bg_auth_class -- which addresses and names receivers on the
 * Internet can see (tables of {input, class, public?}), and the client
 * address a receiver's reply names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_auth_class.h"
#include "bg_auth_org.h"

static void class_addresses(void **state)
{
    (void)state;
    static const struct {
        const char *ip;
        bg_addr_class cls;
        int pub;
    } cases[] = {
        {"8.8.8.8", BG_ADDR_PUBLIC, 1},
        {"203.0.114.1", BG_ADDR_PUBLIC, 1},
        {"127.0.0.1", BG_ADDR_LOOPBACK, 0},
        {"127.255.1.2", BG_ADDR_LOOPBACK, 0},
        {"10.1.2.3", BG_ADDR_PRIVATE, 0},
        {"172.16.0.1", BG_ADDR_PRIVATE, 0},
        {"172.31.255.255", BG_ADDR_PRIVATE, 0},
        {"172.32.0.1", BG_ADDR_PUBLIC, 1},
        {"192.168.1.10", BG_ADDR_PRIVATE, 0},
        {"100.64.0.1", BG_ADDR_SHARED, 0},
        {"100.127.255.254", BG_ADDR_SHARED, 0},
        {"100.128.0.1", BG_ADDR_PUBLIC, 1},
        {"169.254.10.1", BG_ADDR_LINKLOCAL, 0},
        {"192.0.2.10", BG_ADDR_DOC, 1},
        {"198.51.100.7", BG_ADDR_DOC, 1},
        {"203.0.113.25", BG_ADDR_DOC, 1},
        {"0.0.0.0", BG_ADDR_UNSPEC, 0},
        {"224.0.0.1", BG_ADDR_MULTICAST, 0},
        {"255.255.255.255", BG_ADDR_RESERVED, 0},
        {"198.18.0.1", BG_ADDR_RESERVED, 0},
        {"192.0.0.9", BG_ADDR_RESERVED, 0},
        {"::1", BG_ADDR_LOOPBACK, 0},
        {"[::1]", BG_ADDR_LOOPBACK, 0},
        {"::", BG_ADDR_UNSPEC, 0},
        {"fd12:3456::1", BG_ADDR_ULA, 0},
        {"fc00::1", BG_ADDR_ULA, 0},
        {"fe80::1", BG_ADDR_LINKLOCAL, 0},
        {"febf::1", BG_ADDR_LINKLOCAL, 0},
        {"2001:db8::25", BG_ADDR_DOC, 1},
        {"3fff::1", BG_ADDR_DOC, 1},
        {"2a00:1450:4001::1", BG_ADDR_PUBLIC, 1},
        {"::ffff:127.0.0.1", BG_ADDR_LOOPBACK, 0},
        {"::ffff:10.0.0.1", BG_ADDR_PRIVATE, 0},
        {"::ffff:8.8.4.4", BG_ADDR_PUBLIC, 1},
        {"ff02::1", BG_ADDR_MULTICAST, 0},
        {"localhost", BG_ADDR_INVALID, 0},
        {"1.2.3", BG_ADDR_INVALID, 0},
        {"", BG_ADDR_INVALID, 0},
        {NULL, 0, 0},
    };
    for (int i = 0; cases[i].ip; i++) {
        bg_addr_class c = bg_auth_class_addr(cases[i].ip);
        if (c != cases[i].cls || bg_auth_addr_public(c) != cases[i].pub)
            fail_msg("%s: %s", cases[i].ip, bg_auth_addr_class_id(c));
    }
    assert_int_equal(bg_auth_class_addr(NULL), BG_ADDR_INVALID);
}

static void class_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bg_name_class cls;
        int pub;
    } cases[] = {
        {"mail.example.com", BG_NAME_PUBLIC, 1},
        {"Mail.Example.COM.", BG_NAME_PUBLIC, 1},
        {"example.co.uk", BG_NAME_PUBLIC, 1},
        {"mx.xn--p1ai", BG_NAME_PUBLIC, 1},
        {"sandbox.test", BG_NAME_TEST, 1},
        {"mail.example", BG_NAME_TEST, 1},
        {"vm", BG_NAME_SINGLE, 0},
        {"mailhost", BG_NAME_SINGLE, 0},
        {"localhost", BG_NAME_LOCALHOST, 0},
        {"foo.localhost", BG_NAME_LOCALHOST, 0},
        {"vm.local", BG_NAME_MDNS, 0},
        {"vm.localdomain", BG_NAME_PRIVATE_USE, 0},
        {"router.home.arpa", BG_NAME_PRIVATE_USE, 0},
        {"mail.internal", BG_NAME_PRIVATE_USE, 0},
        {"nas.lan", BG_NAME_PRIVATE_USE, 0},
        {"dc01.corp", BG_NAME_PRIVATE_USE, 0},
        {"box.mynet", BG_NAME_UNLISTED, 0},
        {"x.invalid", BG_NAME_INVALID, 0},
        {"127.0.0.1", BG_NAME_ADDRESS, 0},
        {"2001:db8::1", BG_NAME_ADDRESS, 0},
        {"bad name.example.com", BG_NAME_INVALID, 0},
        {"a..b.com", BG_NAME_INVALID, 0},
        {"", BG_NAME_INVALID, 0},
        {NULL, 0, 0},
    };
    for (int i = 0; cases[i].name; i++) {
        bg_name_class c = bg_auth_class_name(cases[i].name);
        if (c != cases[i].cls || bg_auth_name_public(c) != cases[i].pub)
            fail_msg("%s: %s", cases[i].name, bg_auth_name_class_id(c));
    }
    bg_auth_org_free();
}

static void class_reply_ip(void **state)
{
    (void)state;
    static const struct {
        const char *text, *remote, *want;
    } cases[] = {
        {"550-5.7.26 unauthenticated. Authentication results: DKIM = did not pass SPF "
         "[local.test] with ip: [203.0.113.25] = did not pass",
         "", "203.0.113.25"},
        {"550 5.7.1 SPF: 198.51.100.99 is not allowed to send mail from example.com.", "mx.test",
         "198.51.100.99"},
        {"550 5.7.23 Received-SPF: Fail (protection.outlook.com: domain of example.com does not "
         "designate 2001:db8::25 as permitted sender)", "", "2001:db8::25"},
        /* the answering server's own address is not ours */
        {"550 5.7.1 rejected by mx.test [192.0.2.53] for 203.0.113.25", "mx.test [192.0.2.53]",
         "203.0.113.25"},
        {"550 5.7.1 rejected by 192.0.2.53", "192.0.2.53", ""},
        /* the same address twice is one */
        {"550 5.7.1 203.0.113.25 not permitted ([203.0.113.25])", "", "203.0.113.25"},
        /* two different public ones: ambiguous */
        {"550 5.7.1 203.0.113.25 and 198.51.100.1", "", ""},
        /* private and loopback ones never count */
        {"550 5.7.1 client 10.0.0.5 via 127.0.0.1 rejected", "", ""},
        /* status codes, versions and times are not addresses */
        {"550 5.7.26 see RFC 7489 at 12:34:56, policy 1.2.3", "", ""},
        /* punctuation alone after a blank (a bug once: an endless loop
         * inside Exim's local_scan, found by the e2e cases) */
        {"550 5.7.1 go away . : .. ::", "", ""},
        {"ip: [203.0.113.25]. ", "", "203.0.113.25"},
        {"", "", ""},
        {NULL, NULL, NULL},
    };
    char out[64];
    for (int i = 0; cases[i].text; i++) {
        int r = bg_auth_reply_ip(cases[i].text, cases[i].remote, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0 || r != (cases[i].want[0] != '\0'))
            fail_msg("%s: got \"%s\"", cases[i].text, out);
    }
    assert_int_equal(bg_auth_reply_ip(NULL, NULL, out, sizeof out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(class_addresses),
        cmocka_unit_test(class_names),
        cmocka_unit_test(class_reply_ip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
