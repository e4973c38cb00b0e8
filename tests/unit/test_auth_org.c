/* Unit tests: bg_auth_org -- organisational domains and DMARC alignment
 * through libpsl (Debian's libpsl5 with the publicsuffix data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_auth_org.h"

static const struct {
    const char *name, *org;
} org_cases[] = {
    {"example.com", "example.com"},
    {"mail.example.com", "example.com"},
    {"A.B.Example.COM.", "example.com"},
    {"bounces.example.co.uk", "example.co.uk"},
    {"example.co.uk", "example.co.uk"},
    {"co.uk", "co.uk"},             /* a public suffix gives itself */
    {"com", "com"},
    {"x.y.example.com.au", "example.com.au"},
    {"foo.bar.ck", "foo.bar.ck"},   /* *.ck: bar.ck is a suffix */
    {"a.www.ck", "www.ck"},         /* !www.ck exception */
    {"mail.example", "mail.example"}, /* unlisted TLD: implicit "*" */
    {"user.github.io", "user.github.io"}, /* private-section rule */
    {"", ""},
    {NULL, NULL},
};

static void org_domains(void **state)
{
    (void)state;
    assert_string_equal(bg_auth_org_source(), "libpsl");
    char out[256];
    for (int i = 0; org_cases[i].name; i++) {
        bg_auth_org_domain(org_cases[i].name, out, sizeof out);
        if (strcmp(out, org_cases[i].org) != 0)
            fail_msg("%s: %s, want %s", org_cases[i].name, out, org_cases[i].org);
    }
}

static void org_alignment(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int strict, want;
    } cases[] = {
        {"example.com", "example.com", 1, 1},
        {"EXAMPLE.com", "example.com.", 1, 1},
        {"bounces.example.com", "example.com", 1, 0},
        {"bounces.example.com", "example.com", 0, 1},
        {"bounces.example.com", "news.example.com", 0, 1},
        {"example.net", "example.com", 0, 0},
        {"a.example.co.uk", "b.example.co.uk", 0, 1},
        {"example.co.uk", "other.co.uk", 0, 0},   /* co.uk is not an organisation */
        {"co.uk", "example.co.uk", 0, 0},
        {"", "example.com", 0, 0},
        {NULL, NULL, 0, 0},
    };
    for (int i = 0; cases[i].a; i++)
        if (bg_auth_org_aligned(cases[i].a, cases[i].b, cases[i].strict) != cases[i].want)
            fail_msg("%s / %s strict=%d", cases[i].a, cases[i].b, cases[i].strict);
}

static void org_tld_listed(void **state)
{
    (void)state;
    assert_int_equal(bg_auth_org_tld_listed("mail.example.com"), 1);
    assert_int_equal(bg_auth_org_tld_listed("example.co.uk"), 1);
    assert_int_equal(bg_auth_org_tld_listed("nas.lan"), 0);
    assert_int_equal(bg_auth_org_tld_listed("host.mynet"), 0);
    assert_int_equal(bg_auth_org_tld_listed(""), 0);
}

static void org_limits(void **state)
{
    (void)state;
    char long_name[600];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char out[256];
    assert_string_equal(bg_auth_org_domain(long_name, out, sizeof out), "");
    assert_string_equal(bg_auth_org_domain(NULL, out, sizeof out), "");
    char tiny[4];
    assert_string_equal(bg_auth_org_domain("example.com", tiny, sizeof tiny), "");
    assert_int_equal(bg_auth_org_aligned(long_name, long_name, 0), 0);
    /* freed and loaded again on the next use */
    bg_auth_org_free();
    assert_string_equal(bg_auth_org_domain("a.example.co.uk", out, sizeof out), "example.co.uk");
    bg_auth_org_free();
}

/* Without libpsl: a name and its subdomains only, never across a suffix. */
static void org_fallback(void **state)
{
    (void)state;
    bg_auth_org_fallback();
    assert_string_equal(bg_auth_org_source(), "fallback");
    assert_int_equal(bg_auth_org_aligned("bounces.example.com", "example.com", 0), 1);
    assert_int_equal(bg_auth_org_aligned("a.example.com", "b.example.com", 0), 0);
    assert_int_equal(bg_auth_org_aligned("example.co.uk", "other.co.uk", 0), 0);
    assert_int_equal(bg_auth_org_aligned("example.com", "com", 0), 0);
    assert_int_equal(bg_auth_org_aligned("example.com", "example.com", 1), 1);
    char out[256];
    assert_string_equal(bg_auth_org_domain("mail.example.com", out, sizeof out),
                        "mail.example.com");
    assert_int_equal(bg_auth_org_tld_listed("nas.lan"), 1);
    bg_auth_org_free();
    assert_string_equal(bg_auth_org_source(), "libpsl");
    bg_auth_org_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(org_domains),
        cmocka_unit_test(org_alignment),
        cmocka_unit_test(org_tld_listed),
        cmocka_unit_test(org_limits),
        cmocka_unit_test(org_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
