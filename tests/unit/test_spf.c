/* Unit tests: bg_spf over libspf2's zone DNS layer (no network): every
 * result, the record text and the deciding term, include chains, lookup
 * errors, and the cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_dns.h"
#include "bg_spf.h"

#include <spf2/spf.h>

/* The test zone: example.com authorises its relay by include; others show
 * one feature each. */
static const struct {
    const char *name, *type, *data;
} zone[] = {
    {"example.com", "TXT", "v=spf1 include:_spf.mailhost.example -all"},
    {"example.com", "TXT", "google-site-verification=abc"},
    {"_spf.mailhost.example", "TXT", "v=spf1 ip4:198.51.100.0/24 include:_spf2.mailhost.example ~all"},
    {"_spf2.mailhost.example", "TXT", "v=spf1 ip6:2001:db8::/32 a:relay.mailhost.example -all"},
    {"relay.mailhost.example", "A", "203.0.113.7"},
    {"soft.example", "TXT", "v=spf1 ip4:192.0.2.1 ~all"},
    {"neutral.example", "TXT", "v=spf1 ip4:192.0.2.1 ?all"},
    {"open.example", "TXT", "v=spf1 mx"},
    {"open.example", "MX", "mx.open.example"},
    {"mx.open.example", "A", "192.0.2.25"},
    {"syntax.example", "TXT", "v=spf1 ip4:192.0.2.300 -all"},
    {"twice.example", "TXT", "v=spf1 -all"},
    {"twice.example", "TXT", "v=spf1 +all"},
    {"dangling.example", "TXT", "v=spf1 include:nothing-here.example -all"},
    {"noSPF.example", "TXT", "some other text"},
    {"redir.example", "TXT", "v=spf1 redirect=soft.example"},
    {NULL, NULL, NULL},
};

static bg_dns *make_zone(void)
{
    bg_dns *d = bg_dns_new_zone();
    assert_non_null(d);
    for (int i = 0; zone[i].name; i++)
        assert_int_equal(bg_dns_add(d, zone[i].name, zone[i].type, zone[i].data), 0);
    return d;
}

static void spf_cases(void **state)
{
    (void)state;
    static const struct {
        const char *label, *domain, *ip;
        bg_spf_code want;
        const char *mech;   /* expected deciding term, NULL = don't care */
        const char *record; /* expected record text, NULL = don't care */
    } cases[] = {
        {"include chain, first level", "example.com", "198.51.100.9", BG_SPF_PASS,
         "include:_spf.mailhost.example", "v=spf1 include:_spf.mailhost.example -all"},
        {"include chain, second level a:", "example.com", "203.0.113.7", BG_SPF_PASS,
         "include:_spf.mailhost.example", NULL},
        {"include chain, ip6", "example.com", "2001:db8::25", BG_SPF_PASS,
         "include:_spf.mailhost.example", NULL},
        {"fail at -all", "example.com", "192.0.2.10", BG_SPF_FAIL, "-all", NULL},
        {"softfail", "soft.example", "192.0.2.99", BG_SPF_SOFTFAIL, "~all", NULL},
        {"pass ip4", "soft.example", "192.0.2.1", BG_SPF_PASS, "ip4:192.0.2.1", NULL},
        {"neutral", "neutral.example", "192.0.2.99", BG_SPF_NEUTRAL, "?all", NULL},
        {"mx pass", "open.example", "192.0.2.25", BG_SPF_PASS, "mx", NULL},
        {"default neutral", "open.example", "192.0.2.26", BG_SPF_NEUTRAL, "", NULL},
        {"syntax error", "syntax.example", "192.0.2.1", BG_SPF_PERMERROR, NULL, NULL},
        {"two records", "twice.example", "192.0.2.1", BG_SPF_PERMERROR, "", NULL},
        {"include of nothing", "dangling.example", "192.0.2.1", BG_SPF_PERMERROR,
         "include:nothing-here.example", NULL},
        {"no spf record", "noSPF.example", "192.0.2.1", BG_SPF_NONE, "", ""},
        {"no such domain", "missing.example", "192.0.2.1", BG_SPF_NONE, "", ""},
        {"redirect", "redir.example", "192.0.2.99", BG_SPF_SOFTFAIL, "redirect=soft.example",
         NULL},
        {NULL, NULL, NULL, 0, NULL, NULL},
    };
    bg_dns *d = make_zone();
    for (int i = 0; cases[i].label; i++) {
        bg_spf_result r;
        bg_dns_start(d, 2000);
        bg_spf_check(d, cases[i].ip, cases[i].domain, &r);
        print_message("%-32s %s mech=%s detail=%s\n", cases[i].label, bg_spf_code_name(r.result),
                      r.mechanism, r.detail);
        assert_string_equal(bg_spf_code_name(r.result), bg_spf_code_name(cases[i].want));
        if (cases[i].mech)
            assert_string_equal(r.mechanism, cases[i].mech);
        if (cases[i].record)
            assert_string_equal(r.record, cases[i].record);
        assert_string_equal(r.domain, cases[i].domain);
        assert_false(bg_dns_failed(d));
    }
    bg_dns_free(d);
}

/* The second evaluation of the same domain asks the zone nothing. */
static void spf_cache(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_spf_result r;
    bg_dns_stats s1, s2;
    bg_dns_start(d, 2000);
    bg_spf_check(d, "192.0.2.10", "example.com", &r);
    bg_dns_get_stats(d, &s1);
    assert_true(s1.queries >= 3);
    bg_spf_check(d, "192.0.2.10", "example.com", &r);
    bg_dns_get_stats(d, &s2);
    assert_int_equal(s2.queries, s1.queries);
    assert_true(s2.cache_hits > s1.cache_hits);
    assert_int_equal(r.result, BG_SPF_FAIL);
    bg_dns_free(d);
}

/* With 100 ms per query and a 150 ms budget the include chain cannot be
 * followed: temperror, and the resolver says why. */
static void spf_budget(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_dns_set_zone_latency(d, 100);
    bg_dns_start(d, 150);
    bg_spf_result r;
    bg_spf_check(d, "192.0.2.10", "example.com", &r);
    assert_int_equal(r.result, BG_SPF_TEMPERROR);
    assert_true(bg_dns_failed(d));
    assert_non_null(strstr(bg_dns_failure(d), "budget"));
    /* a fresh, larger budget completes (earlier answers come from the cache) */
    bg_dns_start(d, 2000);
    bg_spf_check(d, "192.0.2.10", "example.com", &r);
    assert_int_equal(r.result, BG_SPF_FAIL);
    assert_false(bg_dns_failed(d));
    bg_dns_free(d);
}

static void spf_bad_input(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_spf_result r;
    assert_int_equal(bg_spf_check(d, "not-an-ip", "example.com", &r), BG_SPF_NONE);
    assert_int_equal(bg_spf_check(d, "192.0.2.1", "", &r), BG_SPF_NONE);
    assert_int_equal(bg_spf_check(NULL, "192.0.2.1", "example.com", &r), BG_SPF_NONE);
    assert_string_equal(bg_spf_code_name((bg_spf_code)99), "none");
    bg_dns_free(d);
    bg_dns_free(NULL);
}

/* Inside Exim the process's own SPF checks use the same libspf2: its
 * handlers (process globals) are ours only during our calls and are the
 * host's again after. */
static void host_handler(const char *file, int line, const char *msg)
{
    (void)file;
    (void)line;
    (void)msg;
}

static void spf_leaves_host_handlers(void **state)
{
    (void)state;
    SPF_warning_handler = host_handler;
    SPF_info_handler = host_handler;
    SPF_debug_handler = NULL;
    bg_dns *d = make_zone();
    bg_spf_result r;
    bg_dns_start(d, 2000);
    for (int i = 0; i < 2; i++) {
        bg_spf_check(d, "192.0.2.10", "example.com", &r);
        assert_int_equal(r.result, BG_SPF_FAIL);
    }
    assert_ptr_equal(SPF_warning_handler, host_handler);
    assert_ptr_equal(SPF_info_handler, host_handler);
    assert_null(SPF_debug_handler);
    bg_dns_free(d);
}

/* Why there is no judgement, as codes the diagnosis words: {label,
 * domain, result, why, records found, judged?}. Without an address only
 * the record is fetched (bg_spf_record). */
static void spf_why(void **state)
{
    (void)state;
    static const struct {
        const char *label, *domain;
        bg_spf_code result;
        bg_spf_why why;
        int nrecords;
    } cases[] = {
        {"one record", "example.com", BG_SPF_NONE, BG_SPF_WHY_NONE, 1},
        {"no v=spf1 among the TXT records", "noSPF.example", BG_SPF_NONE, BG_SPF_WHY_NO_SPF, 0},
        {"no such name", "missing.example", BG_SPF_NONE, BG_SPF_WHY_NXDOMAIN, 0},
        {"two records", "twice.example", BG_SPF_PERMERROR, BG_SPF_WHY_MULTIPLE, 2},
        {"no domain", "", BG_SPF_NONE, BG_SPF_WHY_INPUT, 0},
        {NULL, NULL, 0, 0, 0},
    };
    bg_dns *d = make_zone();
    bg_dns_start(d, 2000);
    for (int i = 0; cases[i].label; i++) {
        bg_spf_result r;
        bg_spf_record(d, cases[i].domain, &r);
        if (r.result != cases[i].result || r.why != cases[i].why ||
            r.nrecords != cases[i].nrecords || r.evaluated)
            fail_msg("%s: %s %s %d", cases[i].label, bg_spf_code_name(r.result),
                     bg_spf_why_id(r.why), r.nrecords);
    }
    bg_spf_result r;
    bg_spf_record(d, "example.com", &r);
    assert_string_equal(r.record, "v=spf1 include:_spf.mailhost.example -all");
    /* judged: evaluated, and libspf2's own words in detail */
    bg_spf_check(d, "192.0.2.1", "syntax.example", &r);
    assert_int_equal(r.evaluated, 1);
    assert_int_equal(r.why, BG_SPF_WHY_NONE);
    assert_non_null(strstr(r.detail, "Invalid IPv4 address literal"));
    bg_spf_check(d, "192.0.2.1", "twice.example", &r);
    assert_int_equal(r.evaluated, 0);
    assert_int_equal(r.why, BG_SPF_WHY_MULTIPLE);
    assert_string_equal(r.detail, "");
    bg_spf_check(d, "not-an-ip", "example.com", &r);
    assert_int_equal(r.why, BG_SPF_WHY_INPUT);
    assert_string_equal(bg_spf_why_id(BG_SPF_WHY_NO_TXT), "no-txt");
    assert_string_equal(bg_spf_why_id((bg_spf_why)99), "none");
    bg_dns_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: the handlers are set on the first check in a process */
        cmocka_unit_test(spf_leaves_host_handlers),
        cmocka_unit_test(spf_cases),
        cmocka_unit_test(spf_cache),
        cmocka_unit_test(spf_budget),
        cmocka_unit_test(spf_bad_input),
        cmocka_unit_test(spf_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
