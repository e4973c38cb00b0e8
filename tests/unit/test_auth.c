/* Unit tests: bg_auth -- the whole diagnosis over a zone resolver (no
 * network): the advice for the cases in issue 5, DMARC alignment strict
 * and relaxed, reverse DNS, the domain gate, the budget, the config keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bg_auth.h"
#include "bg_config.h"

static const struct {
    const char *name, *type, *data;
} zone[] = {
    {"example.com", "TXT", "v=spf1 include:_spf.mailhost.example -all"},
    {"_spf.mailhost.example", "TXT", "v=spf1 ip4:198.51.100.0/24 -all"},
    {"_dmarc.example.com", "TXT", "v=DMARC1; p=reject; aspf=s"},
    {"bounces.example.net", "TXT", "v=spf1 ip4:192.0.2.10 -all"},
    {"relaxed.example", "TXT", "v=spf1 ip4:192.0.2.10 -all"},
    {"bounces.relaxed.example", "TXT", "v=spf1 ip4:192.0.2.10 -all"},
    {"_dmarc.relaxed.example", "TXT", "v=DMARC1; p=quarantine"},
    {"mail.example.net", "TXT", "v=spf1 a -all"},
    {"mail.example.net", "A", "192.0.2.10"},
    {"10.2.0.192.in-addr.arpa", "PTR", "mail.example.net"},
    {"11.2.0.192.in-addr.arpa", "PTR", "stale.example.net"},
    {"stale.example.net", "A", "192.0.2.99"},
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

static void contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* The two examples of issue 5, in one bounce. */
static void auth_issue_examples(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_auth_findings *f = calloc(1, sizeof *f);
    bg_auth_input in = {
        .envelope_domain = "example.com", .helo = "mail.example.net",
        .from_domain = "example.com", .dkim_domain = "", .dkim_selector = "",
        .ip = "192.0.2.10",
    };
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    print_message("%s", f->admin_text);
    assert_int_equal(f->spf_env.result, BG_SPF_FAIL);
    assert_string_equal(f->spf_env.mechanism, "-all");
    contains(f->admin_text, "SPF for example.com is \"v=spf1 include:_spf.mailhost.example -all\" "
                            "and does not authorise 192.0.2.10, the address this server sent "
                            "from: add \"ip4:192.0.2.10\" or include your relay's SPF.");
    assert_int_equal(f->spf_helo.result, BG_SPF_PASS);
    assert_string_equal(f->dmarc.p, "reject");
    assert_int_equal(f->eval.spf_aligned, 1); /* same name: aligned even under aspf=s */
    contains(f->admin_text, "aligned but SPF does not pass");
    contains(f->admin_text, "Reverse DNS: 192.0.2.10 -> mail.example.net, which resolves back");
    assert_string_equal(f->sender_text, BG_AUTH_SENDER_TEXT);

    /* envelope in another organisation, strict aspf */
    in.envelope_domain = "bounces.example.net";
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    print_message("%s", f->admin_text);
    assert_int_equal(f->spf_env.result, BG_SPF_PASS);
    assert_int_equal(f->eval.spf_aligned, 0);
    contains(f->admin_text, "example.com publishes DMARC p=reject with aspf=s; the envelope "
                            "sender bounces.example.net is not aligned; sign with DKIM "
                            "d=example.com or align the envelope sender.");
    contains(f->admin_text, "no DKIM signature");
    free(f);
    bg_dns_free(d);
}

/* Relaxed alignment through the organisational domain; DKIM d= aligned. */
static void auth_relaxed(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_auth_findings *f = calloc(1, sizeof *f);
    bg_auth_input in = {
        .envelope_domain = "bounces.relaxed.example", .helo = "",
        .from_domain = "relaxed.example", .dkim_domain = "news.relaxed.example",
        .dkim_selector = "s1", .ip = "192.0.2.10",
    };
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    print_message("%s", f->admin_text);
    assert_int_equal(f->eval.spf_aligned, 1);
    assert_int_equal(f->eval.dkim_aligned, 1);
    assert_int_equal(f->eval.dmarc_pass, 1);
    contains(f->admin_text, "On these facts DMARC passes");
    contains(f->admin_text, "s1._domainkey.news.relaxed.example");
    /* example.com has aspf=s but no adkim: DKIM d= of a subdomain aligns (relaxed) */
    in.from_domain = "example.com";
    in.dkim_domain = "mail.example.com";
    in.envelope_domain = "bounces.example.net";
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    assert_int_equal(f->eval.dkim_aligned, 1);
    free(f);
    bg_dns_free(d);
}

static void auth_ptr(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_auth_findings *f = calloc(1, sizeof *f);
    bg_auth_input in = {.envelope_domain = "relaxed.example", .from_domain = "relaxed.example",
                        .helo = "", .dkim_domain = "", .dkim_selector = "", .ip = "192.0.2.11"};
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    assert_int_equal(f->ptr.found, 1);
    assert_int_equal(f->ptr.confirmed, 0);
    contains(f->admin_text, "stale.example.net does not resolve back to 192.0.2.11");
    contains(f->admin_text, "not authorise 192.0.2.11");
    in.ip = "192.0.2.12";
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    assert_int_equal(f->ptr.found, 0);
    contains(f->admin_text, "192.0.2.12 has no PTR record");
    in.ip = "2001:db8::1";
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    contains(f->admin_text, "add \"ip6:2001:db8::1\"");
    contains(f->admin_text, "2001:db8::1 has no PTR record");
    free(f);
    bg_dns_free(d);
}

static int only_example_com(const char *domain, void *ctx)
{
    (void)ctx;
    return strcmp(domain, "example.com") == 0;
}

/* Names that are not ours are never asked about. */
static void auth_gate(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_auth_findings *f = calloc(1, sizeof *f);
    bg_auth_input in = {.envelope_domain = "evil.example", .from_domain = "evil.example",
                        .helo = "", .dkim_domain = "", .dkim_selector = "", .ip = "192.0.2.10",
                        .allow = only_example_com};
    bg_dns_stats s;
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_REFUSED);
    bg_dns_get_stats(d, &s);
    assert_int_equal(s.queries, 0);
    assert_string_equal(f->admin_text, "");
    /* envelope ours, From not: SPF yes, no _dmarc query for the stranger */
    in.envelope_domain = "example.com";
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    assert_int_equal(f->dmarc_checked, 0);
    contains(f->admin_text, "DMARC for evil.example: not looked up");
    free(f);
    bg_dns_free(d);
}

/* Budget spent: no diagnosis at all, and it says why; 0 = off. */
static void auth_budget(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_auth_findings *f = calloc(1, sizeof *f);
    bg_auth_input in = {.envelope_domain = "example.com", .from_domain = "example.com",
                        .helo = "mail.example.net", .dkim_domain = "", .dkim_selector = "",
                        .ip = "192.0.2.10"};
    bg_dns_set_zone_latency(d, 300);
    assert_int_equal(bg_auth_diagnose(d, &in, 1000, f), BG_AUTH_FAILED);
    assert_string_equal(f->admin_text, "");
    assert_string_equal(f->sender_text, "");
    assert_non_null(strstr(f->reason, "budget"));
    assert_true(f->elapsed_ms <= 1300);
    assert_int_equal(bg_auth_diagnose(d, &in, 0, f), BG_AUTH_OFF);
    /* warm cache: what was answered before costs nothing now */
    bg_dns_set_zone_latency(d, 0);
    assert_int_equal(bg_auth_diagnose(d, &in, 1000, f), BG_AUTH_DONE);
    bg_dns_set_zone_latency(d, 300);
    assert_int_equal(bg_auth_diagnose(d, &in, 100, f), BG_AUTH_DONE);
    assert_true(f->elapsed_ms < 100); /* no simulated query happened */
    in.ip = "not an ip";
    assert_int_equal(bg_auth_diagnose(d, &in, 1000, f), BG_AUTH_NOINPUT);
    free(f);
    bg_dns_free(d);
}

/* One advice text per situation: {label, zone records, envelope, from,
 * phrases that must appear}. */
static void auth_advice_table(void **state)
{
    (void)state;
    static const struct {
        const char *label;
        const char *records[4][3];
        const char *env, *from;
        const char *want[3];
    } cases[] = {
        {"softfail",
         {{"soft.test", "TXT", "v=spf1 ip4:198.51.100.1 ~all"}},
         "soft.test", "soft.test",
         {"SPF for the envelope sender domain soft.test: softfail.", "Decided by: ~all.",
          "A softfail result counts as a failure"}},
        {"permerror",
         {{"broken.test", "TXT", "v=spf1 ip4:192.0.2.300 -all"}},
         "broken.test", "broken.test",
         {"permerror.", "is broken (Invalid IPv4 address literal", "at ip4:192.0.2.300"}},
        {"no spf, no dmarc",
         {{"bare.test", "A", "192.0.2.1"}},
         "bare.test", "bare.test",
         {"bare.test publishes no SPF record", "example \"v=spf1 ip4:192.0.2.10 -all\"",
          "DMARC for bare.test: no record (_dmarc.bare.test)."}},
        {"broken dmarc",
         {{"dm.test", "TXT", "v=spf1 ip4:192.0.2.10 -all"},
          {"_dmarc.dm.test", "TXT", "v=DMARC1; p=maybe"}},
         "dm.test", "dm.test",
         {"does not parse (Found DMARC record contained a bad token value)",
          "SPF for the envelope sender domain dm.test: pass.", "nothing to change here"}},
        {"subdomain policy sp",
         {{"org.test", "TXT", "v=spf1 -all"},
          {"_dmarc.org.test", "TXT", "v=DMARC1; p=none; sp=reject"}},
         "org.test", "news.org.test",
         {"DMARC for news.org.test (record at _dmarc.org.test): p=none sp=reject",
          "org.test publishes DMARC sp=reject for its subdomain news.org.test", NULL}},
        {NULL, {{NULL}}, NULL, NULL, {NULL}},
    };
    bg_auth_findings *f = calloc(1, sizeof *f);
    for (int i = 0; cases[i].label; i++) {
        bg_dns *d = bg_dns_new_zone();
        for (int r = 0; r < 4 && cases[i].records[r][0]; r++)
            assert_int_equal(bg_dns_add(d, cases[i].records[r][0], cases[i].records[r][1],
                                        cases[i].records[r][2]), 0);
        bg_auth_input in = {.envelope_domain = cases[i].env, .from_domain = cases[i].from,
                            .helo = "", .dkim_domain = "", .dkim_selector = "",
                            .ip = "192.0.2.10"};
        assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
        for (int w = 0; w < 3 && cases[i].want[w]; w++) {
            if (!strstr(f->admin_text, cases[i].want[w]))
                fail_msg("%s: expected \"%s\" in:\n%s", cases[i].label, cases[i].want[w],
                         f->admin_text);
        }
        bg_dns_free(d);
    }
    free(f);
}

static void auth_wanted(void **state)
{
    (void)state;
    static const struct {
        const char *cat, *diag;
        int want;
    } cases[] = {
        {"spf-failure", "", 1},
        {"dkim-failure", "", 1},
        {"dmarc-failure", "550 5.7.26 unauthenticated", 1},
        {"reverse-dns-failure", "", 1},
        {"policy-rejected", "550 5.7.1 rejected per DMARC policy", 1},
        {"content-rejected", "550 5.7.1 message failed SPF and DKIM checks", 1},
        {"policy-rejected", "550 5.7.1 not authorized", 0},
        {"unknown-user", "550 5.1.1 SPF", 0},
        {NULL, NULL, 0},
    };
    for (int i = 0; cases[i].cat; i++)
        assert_int_equal(bg_auth_wanted(cases[i].cat, cases[i].diag), cases[i].want);
    assert_int_equal(bg_auth_wanted(NULL, NULL), 0);
}

static void auth_config(void **state)
{
    (void)state;
    static const char text[] =
        "diagnose_budget = 1500ms\n"
        "[domain example.com]\n"
        "diagnose_budget = 0\n"
        "[domain .example.org]\n"
        "diagnose_budget = 3s\n";
    char err[200];
    bg_config *c = bg_config_parse(text, strlen(text), "t", err, sizeof err);
    assert_non_null(c);
    assert_int_equal(bg_auth_budget_ms(c, NULL), 1500);
    assert_int_equal(bg_auth_budget_ms(c, "example.com"), 0);
    assert_int_equal(bg_auth_budget_ms(c, "a.example.org"), 3000);
    assert_int_equal(bg_auth_budget_ms(NULL, NULL), BG_AUTH_DEFAULT_BUDGET_MS);
    /* default gate: config sections plus the caller's domains */
    const char *extra[] = {"customer.example"};
    assert_int_equal(bg_auth_domain_ours(c, "bounces.example.com", extra, 1), 1);
    assert_int_equal(bg_auth_domain_ours(c, "example.org", extra, 1), 1);
    assert_int_equal(bg_auth_domain_ours(c, "mail.customer.example", extra, 1), 1);
    assert_int_equal(bg_auth_domain_ours(c, "stranger.example", extra, 1), 0);
    assert_int_equal(bg_auth_domain_ours(c, "", extra, 1), 0);
    bg_config_free(c);
    /* diagnose_domains set: only those */
    static const char text2[] = "diagnose_domains = example.net, .example.co.uk\n"
                                "[domain example.com]\nx = 1\n";
    c = bg_config_parse(text2, strlen(text2), "t", err, sizeof err);
    assert_non_null(c);
    assert_int_equal(bg_auth_domain_ours(c, "mail.example.net", extra, 1), 1);
    assert_int_equal(bg_auth_domain_ours(c, "shop.example.co.uk", extra, 1), 1);
    assert_int_equal(bg_auth_domain_ours(c, "other.co.uk", extra, 1), 0);
    assert_int_equal(bg_auth_domain_ours(c, "example.com", extra, 1), 0);
    assert_int_equal(bg_auth_domain_ours(c, "customer.example", extra, 1), 0);
    bg_config_free(c);
}

static void auth_addr_domain(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"Alice <alice@Example.COM>", "example.com"},
        {"bob@mail.example.net", "mail.example.net"},
        {"\"x@y\" <c@z.example.>", "z.example"},
        {"bob@example.net (Bob)", "example.net"},
        {"no address here", ""},
        {"a@exa$mple.com", ""},
        {"<>", ""},
        {NULL, NULL},
    };
    char out[256];
    for (int i = 0; cases[i].in; i++)
        assert_string_equal(bg_auth_addr_domain(cases[i].in, out, sizeof out), cases[i].out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auth_issue_examples),
        cmocka_unit_test(auth_relaxed),
        cmocka_unit_test(auth_ptr),
        cmocka_unit_test(auth_gate),
        cmocka_unit_test(auth_budget),
        cmocka_unit_test(auth_advice_table),
        cmocka_unit_test(auth_wanted),
        cmocka_unit_test(auth_config),
        cmocka_unit_test(auth_addr_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
