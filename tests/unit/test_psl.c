/* Unit tests: bg_psl organisational domains and alignment, with Debian's
 * list and with the built-in fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_psl.h"

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

static void psl_file(void **state)
{
    (void)state;
    assert_true(bg_psl_load(NULL) > 5000);
    assert_string_equal(bg_psl_source(), "file");
    char out[256];
    for (int i = 0; org_cases[i].name; i++) {
        bg_psl_org_domain(org_cases[i].name, out, sizeof out);
        assert_string_equal(out, org_cases[i].org);
    }
}

static void psl_alignment(void **state)
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
        {"", "example.com", 0, 0},
        {NULL, NULL, 0, 0},
    };
    bg_psl_load(NULL);
    for (int i = 0; cases[i].a; i++)
        assert_int_equal(bg_psl_aligned(cases[i].a, cases[i].b, cases[i].strict),
                         cases[i].want);
}

static void psl_fallback(void **state)
{
    (void)state;
    assert_int_equal(bg_psl_load("/nonexistent/psl.dat"), -1);
    assert_string_equal(bg_psl_source(), "builtin");
    char out[256];
    assert_string_equal(bg_psl_org_domain("bounces.example.co.uk", out, sizeof out),
                        "example.co.uk");
    assert_string_equal(bg_psl_org_domain("mail.example.com", out, sizeof out), "example.com");
    assert_int_equal(bg_psl_aligned("a.example.com.au", "example.com.au", 0), 1);
    bg_psl_free();
    /* the next use loads the default file again */
    assert_string_equal(bg_psl_source(), "file");
    bg_psl_free();
}

static void psl_limits(void **state)
{
    (void)state;
    char long_name[600];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char out[256];
    assert_string_equal(bg_psl_org_domain(long_name, out, sizeof out), "");
    assert_string_equal(bg_psl_org_domain(NULL, out, sizeof out), "");
    char tiny[4];
    assert_string_equal(bg_psl_org_domain("example.com", tiny, sizeof tiny), "");
    bg_psl_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(psl_file),
        cmocka_unit_test(psl_alignment),
        cmocka_unit_test(psl_fallback),
        cmocka_unit_test(psl_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
