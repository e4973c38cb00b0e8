/* Unit tests: bg_dmarc -- OpenDMARC parsing of records supplied by the
 * test, the organisational-domain fallback over a zone resolver (no
 * network), strict and relaxed alignment and the verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_dmarc.h"
#include "bg_auth_org.h"

static void dmarc_parse(void **state)
{
    (void)state;
    static const struct {
        const char *record;
        bg_dmarc_status want;
        const char *p, *sp;
        char adkim, aspf;
        int pct;
    } cases[] = {
        {"v=DMARC1; p=reject; aspf=s; adkim=s", BG_DMARC_FOUND, "reject", "reject", 's', 's', 100},
        {"v=DMARC1; p=quarantine; sp=none; pct=25; rua=mailto:d@example.com", BG_DMARC_FOUND,
         "quarantine", "none", 'r', 'r', 25},
        {"v=DMARC1;p=none", BG_DMARC_FOUND, "none", "none", 'r', 'r', 100},
        {"v=DMARC1; rua=mailto:x@example.com", BG_DMARC_INVALID, "", "", 0, 0, 0}, /* no p= */
        {"v=DMARC1; p=bogus", BG_DMARC_INVALID, "", "", 0, 0, 0},
        {"v=DMARC2; p=reject", BG_DMARC_INVALID, "", "", 0, 0, 0},
        {"", BG_DMARC_INVALID, "", "", 0, 0, 0},
        {NULL, 0, NULL, NULL, 0, 0, 0},
    };
    for (int i = 0; cases[i].record; i++) {
        bg_dmarc_record r;
        bg_dmarc_parse("example.com", "example.com", cases[i].record, &r);
        print_message("%s -> %s %s\n", cases[i].record, bg_dmarc_status_name(r.status), r.error);
        assert_int_equal(r.status, cases[i].want);
        if (r.status != BG_DMARC_FOUND) {
            /* the reason: OpenDMARC's own text, or ours for an empty record */
            assert_true(r.why == BG_DMARC_WHY_PARSE ? r.error[0] != '\0'
                                                     : r.why == BG_DMARC_WHY_EMPTY);
            continue;
        }
        assert_string_equal(r.p, cases[i].p);
        assert_string_equal(r.sp, cases[i].sp);
        assert_int_equal(r.adkim, cases[i].adkim);
        assert_int_equal(r.aspf, cases[i].aspf);
        assert_int_equal(r.pct, cases[i].pct);
    }
}

static bg_dns *make_zone(void)
{
    bg_dns *d = bg_dns_new_zone();
    assert_non_null(d);
    assert_int_equal(bg_dns_add(d, "_dmarc.example.com", "TXT", "v=DMARC1; p=reject; sp=quarantine; aspf=s"), 0);
    assert_int_equal(bg_dns_add(d, "_dmarc.example.co.uk", "TXT", "v=DMARC1; p=none"), 0);
    assert_int_equal(bg_dns_add(d, "_dmarc.two.example", "TXT", "v=DMARC1; p=none"), 0);
    assert_int_equal(bg_dns_add(d, "_dmarc.two.example", "TXT", "v=DMARC1; p=reject"), 0);
    assert_int_equal(bg_dns_add(d, "_dmarc.junk.example", "TXT", "v=spf1 -all"), 0);
    return d;
}

static void dmarc_lookup(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_dmarc_record r;
    bg_dns_start(d, 2000);

    assert_int_equal(bg_dmarc_lookup(d, "Example.COM", &r), BG_DMARC_FOUND);
    assert_string_equal(r.record_domain, "example.com");
    assert_string_equal(r.p, "reject");
    assert_int_equal(r.aspf, 's');

    /* a subdomain without its own record: the organisational domain's */
    assert_int_equal(bg_dmarc_lookup(d, "news.example.com", &r), BG_DMARC_FOUND);
    assert_string_equal(r.from_domain, "news.example.com");
    assert_string_equal(r.record_domain, "example.com");
    assert_string_equal(r.sp, "quarantine");

    assert_int_equal(bg_dmarc_lookup(d, "shop.example.co.uk", &r), BG_DMARC_FOUND);
    assert_string_equal(r.record_domain, "example.co.uk");

    assert_int_equal(bg_dmarc_lookup(d, "nothing.example", &r), BG_DMARC_MISSING);
    assert_int_equal(bg_dmarc_lookup(d, "two.example", &r), BG_DMARC_MISSING);
    assert_int_equal(bg_dmarc_lookup(d, "junk.example", &r), BG_DMARC_MISSING);
    assert_int_equal(bg_dmarc_lookup(d, "", &r), BG_DMARC_MISSING);

    /* the budget runs out: tempfail, not "missing" */
    bg_dns_flush(d);
    bg_dns_set_zone_latency(d, 50);
    bg_dns_start(d, 30);
    assert_int_equal(bg_dmarc_lookup(d, "example.com", &r), BG_DMARC_TEMPFAIL);
    assert_int_equal(r.why, BG_DMARC_WHY_DNS);
    assert_string_equal(r.record_domain, "example.com");
    assert_true(bg_dns_failed(d));
    bg_dns_free(d);
}

static void dmarc_alignment(void **state)
{
    (void)state;
    static const struct {
        const char *label, *record, *from, *record_domain, *env;
        bg_spf_code spf;
        const char *dkim;
        int spf_aligned, dkim_aligned, pass;
        const char *policy, *verdict;
    } cases[] = {
        {"strict spf, subdomain envelope", "v=DMARC1; p=reject; aspf=s", "example.com",
         "example.com", "bounces.example.com", BG_SPF_PASS, "", 0, 0, 0, "reject", "reject"},
        {"relaxed spf, subdomain envelope", "v=DMARC1; p=reject", "example.com", "example.com",
         "bounces.example.com", BG_SPF_PASS, "", 1, 0, 1, "reject", "pass"},
        {"relaxed, other organisation", "v=DMARC1; p=reject", "example.com", "example.com",
         "bounces.example.net", BG_SPF_PASS, "", 0, 0, 0, "reject", "reject"},
        {"aligned but spf fails", "v=DMARC1; p=quarantine", "example.com", "example.com",
         "example.com", BG_SPF_FAIL, "", 1, 0, 0, "quarantine", "quarantine"},
        {"dkim relaxed rescues", "v=DMARC1; p=reject; aspf=s", "example.com", "example.com",
         "bounces.example.net", BG_SPF_PASS, "mail.example.com", 0, 1, 1, "reject", "pass"},
        {"dkim strict does not", "v=DMARC1; p=reject; adkim=s", "example.com", "example.com",
         "bounces.example.net", BG_SPF_PASS, "mail.example.com", 0, 0, 0, "reject", "reject"},
        {"co.uk is no organisation", "v=DMARC1; p=reject", "example.co.uk", "example.co.uk",
         "other.co.uk", BG_SPF_PASS, "", 0, 0, 0, "reject", "reject"},
        {"subdomain uses sp", "v=DMARC1; p=reject; sp=none", "news.example.com", "example.com",
         "example.net", BG_SPF_PASS, "", 0, 0, 0, "none", "none"},
        {NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, 0, 0, NULL, NULL},
    };
    for (int i = 0; cases[i].label; i++) {
        bg_dmarc_record r;
        bg_dmarc_eval e;
        assert_int_equal(bg_dmarc_parse(cases[i].from, cases[i].record_domain, cases[i].record, &r),
                         BG_DMARC_FOUND);
        bg_dmarc_evaluate(&r, cases[i].env, cases[i].spf, cases[i].dkim, &e);
        print_message("%-32s spf_al=%d dkim_al=%d pass=%d policy=%s verdict=%s\n",
                      cases[i].label, e.spf_aligned, e.dkim_aligned, e.dmarc_pass, e.policy,
                      e.verdict);
        assert_int_equal(e.spf_aligned, cases[i].spf_aligned);
        assert_int_equal(e.dkim_aligned, cases[i].dkim_aligned);
        assert_int_equal(e.dmarc_pass, cases[i].pass);
        assert_string_equal(e.policy, cases[i].policy);
        assert_string_equal(e.verdict, cases[i].verdict);
    }
    bg_auth_org_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dmarc_parse),
        cmocka_unit_test(dmarc_lookup),
        cmocka_unit_test(dmarc_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
