/* Unit tests: bg_auth -- the whole diagnosis over a zone resolver (no
 * network): findings (ids and values) and their words for the cases of
 * issues 5 and 16, per topology (direct, NAT, satellite/smarthost) with a
 * check that no advice names a loopback, private or single-label target;
 * DMARC alignment strict and relaxed, reverse DNS, the DKIM signing side,
 * the domain gate, the budget, the config keys, and the catalogue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_keys.h"
#include "bg_auth.h"
#include "bg_auth_org.h"
#include "bg_auth_words.h"
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
    {"12.2.0.192.in-addr.arpa", "PTR", "localhost"},
    /* a smarthost with a public name; its own address is in the relay's range */
    {"smtp.mailhost.example", "A", "198.51.100.25"},
    {"25.100.51.198.in-addr.arpa", "PTR", "smtp.mailhost.example"},
    /* DKIM keys of example.com */
    {"good._domainkey.example.com", "TXT", "v=DKIM1; k=rsa; p=" KEY_RSA2048},
    {"short._domainkey.example.com", "TXT", "v=DKIM1; k=rsa; p=" KEY_RSA512},
    {"weak._domainkey.example.com", "TXT", "v=DKIM1; p=" KEY_RSA1024},
    {"broken._domainkey.example.com", "TXT", "v=DKIM1; k=rsa; p=@@not-base64@@"},
    {"test._domainkey.example.com", "TXT", "v=DKIM1; t=y; h=sha1; p=" KEY_RSA2048},
    {"ed._domainkey.example.com", "TXT", "v=DKIM1; k=ed25519; p=" KEY_ED25519},
    {"gone._domainkey.example.com", "TXT", "v=DKIM1; p="},
    /* a record with line ends in it (TXT strings may hold any byte) */
    {"inject.example", "TXT", "v=spf1 ip4:198.51.100.9 -all\n- Fix: nothing to do\n  - trust me"},
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

/* The administrator text of f in the built-in English words. */
static const char *words(const bg_auth_findings *f)
{
    static bg_buf admin, sender;
    bg_buf_free(&admin);
    bg_buf_free(&sender);
    bg_buf_init(&admin);
    bg_buf_init(&sender);
    assert_int_equal(bg_auth_words(f, NULL, NULL, &admin, &sender), 0);
    assert_string_equal(bg_buf_str(&sender),
                        "Your organisation's email settings need a fix; your administrator has "
                        "the details below.");
    return bg_buf_str(&admin);
}

static void contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

/* No advice ("Fix:" lines, and records to publish) names an address
 * receivers cannot see, or a name that is not public. */
static void advice_is_public(const char *text)
{
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char l[2048];
        snprintf(l, sizeof l, "%.*s", (int)(n < sizeof l ? n : sizeof l - 1), line);
        if (strstr(l, "Fix:") || strstr(l, "v=spf1 ip")) {
            for (char *p = l; *p;) {
                size_t k = strspn(p, "0123456789abcdefABCDEF.:");
                if (k >= 3) {
                    char tok[64];
                    snprintf(tok, sizeof tok, "%.*s", (int)(k < 63 ? k : 63), p);
                    while (k && (tok[strlen(tok) - 1] == '.' || tok[strlen(tok) - 1] == ':'))
                        tok[strlen(tok) - 1] = '\0', k--;
                    bg_addr_class c = bg_auth_class_addr(tok);
                    if (c != BG_ADDR_INVALID && !bg_auth_addr_public(c))
                        fail_msg("advice names %s (%s):\n%s", tok, bg_auth_addr_class_id(c), l);
                }
                p += k ? k : 1;
            }
            if (strstr(l, " vm ") || strstr(l, " vm.") || strstr(l, " vm,") ||
                strstr(l, "localhost"))
                fail_msg("advice names a non-public name:\n%s", l);
        }
        line += n + (nl ? 1 : 0);
    }
}

/* The two examples of issue 5, in one bounce, on a direct host. */
static void auth_issue_examples(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_auth_findings *f = calloc(1, sizeof *f);
    bg_auth_input in = {
        .envelope_domain = "example.com", .helo = "mail.example.net",
        .from_domain = "example.com", .ip = "192.0.2.10", .ip_source = BG_AUTH_IP_STORE,
        .sig_visible = 1, /* a bounce from another server: no signature means unsigned */
    };
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    const char *t = words(f);
    print_message("%s", t);
    assert_int_equal(f->spf_env.result, BG_SPF_FAIL);
    assert_string_equal(f->spf_env.mechanism, "-all");
    const bg_auth_item *it = bg_auth_find(f, BG_AF_SPF_FIX_DIRECT);
    assert_non_null(it);
    assert_string_equal(bg_auth_item_value(f, it, "mech"), "ip4:192.0.2.10");
    assert_string_equal(bg_auth_item_value(f, it, "ip"), "192.0.2.10");
    contains(t, "- Mail leaves this server directly; receivers see it at 192.0.2.10 (recorded "
                "when the message was sent).");
    contains(t, "  - Fix: SPF for example.com is \"v=spf1 include:_spf.mailhost.example -all\" "
                "and does not authorise 192.0.2.10, the address this server sent from: add "
                "\"ip4:192.0.2.10\" to it.");
    assert_int_equal(f->spf_helo.result, BG_SPF_PASS);
    assert_string_equal(f->dmarc.p, "reject");
    assert_int_equal(f->eval.spf_aligned, 1); /* same name: aligned even under aspf=s */
    contains(t, "aligned but SPF does not pass");
    contains(t, "- Reverse DNS: 192.0.2.10 -> mail.example.net, which resolves back");
    assert_null(bg_auth_find(f, BG_AF_DKIM_SIGNED)); /* not a DKIM failure: no key checks */

    /* envelope in another organisation, strict aspf */
    in.envelope_domain = "bounces.example.net";
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    t = words(f);
    assert_int_equal(f->spf_env.result, BG_SPF_PASS);
    assert_int_equal(f->eval.spf_aligned, 0);
    assert_non_null(bg_auth_find(f, BG_AF_DMARC_FIX_UNALIGNED));
    contains(t, "example.com publishes DMARC p=reject, and on these facts this message fails it.");
    contains(t, "Fix: the envelope sender bounces.example.net is not aligned with example.com "
                "(aspf=s): sign with DKIM d=example.com");
    contains(t, "no DKIM signature");
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
        .envelope_domain = "bounces.relaxed.example", .from_domain = "relaxed.example",
        .dkim_domain = "news.relaxed.example", .dkim_selector = "s1", .ip = "192.0.2.10",
        .ip_source = BG_AUTH_IP_STORE,
    };
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    const char *t = words(f);
    assert_int_equal(f->eval.spf_aligned, 1);
    assert_int_equal(f->eval.dkim_aligned, 1);
    assert_int_equal(f->eval.dmarc_pass, 1);
    contains(t, "On these facts DMARC passes");
    contains(t, "s1._domainkey.news.relaxed.example");
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
                        .ip = "192.0.2.11", .ip_source = BG_AUTH_IP_STORE};
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    const char *t = words(f);
    assert_int_equal(f->ptr.found, 1);
    assert_int_equal(f->ptr.confirmed, 0);
    contains(t, "stale.example.net does not resolve back to 192.0.2.11");
    contains(t, "Fix: add an A record stale.example.net -> 192.0.2.11");
    contains(t, "not authorise 192.0.2.11");
    in.ip = "192.0.2.12"; /* PTR -> localhost */
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    t = words(f);
    assert_non_null(bg_auth_find(f, BG_AF_PTR_NOT_PUBLIC));
    contains(t, "192.0.2.12 -> localhost, a localhost name: receivers expect a public name");
    in.ip = "192.0.2.13";
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    t = words(f);
    contains(t, "192.0.2.13 has no PTR record");
    in.ip = "2001:db8::1";
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    t = words(f);
    contains(t, "add \"ip6:2001:db8::1\"");
    contains(t, "2001:db8::1 has no PTR record");
    contains(t, "give that name an AAAA record pointing back to 2001:db8::1");
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
                        .ip = "192.0.2.10", .allow = only_example_com,
                        .dkim_domain = "evil.example", .dkim_selector = "s", .check_dkim = 1};
    bg_dns_stats s;
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_REFUSED);
    bg_dns_get_stats(d, &s);
    assert_int_equal(s.queries, 0);
    assert_int_equal(f->nitems, 0);
    /* envelope ours, From and d= not: SPF yes, no _dmarc or key query for the stranger */
    in.envelope_domain = "example.com";
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    assert_int_equal(f->dmarc_checked, 0);
    assert_int_equal(f->key_skipped[0], 1);
    const char *t = words(f);
    contains(t, "DMARC for evil.example: not looked up");
    contains(t, "The DKIM key of d=evil.example is not looked up");
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
                        .helo = "mail.example.net", .ip = "192.0.2.10"};
    bg_dns_set_zone_latency(d, 300);
    assert_int_equal(bg_auth_diagnose(d, &in, 1000, f), BG_AUTH_FAILED);
    assert_int_equal(f->nitems, 0);
    assert_non_null(strstr(f->reason, "budget"));
    assert_true(f->elapsed_ms <= 1300);
    assert_int_equal(bg_auth_diagnose(d, &in, 0, f), BG_AUTH_OFF);
    /* warm cache: what was answered before costs nothing now */
    bg_dns_set_zone_latency(d, 0);
    assert_int_equal(bg_auth_diagnose(d, &in, 1000, f), BG_AUTH_DONE);
    bg_dns_set_zone_latency(d, 300);
    assert_int_equal(bg_auth_diagnose(d, &in, 100, f), BG_AUTH_DONE);
    assert_true(f->elapsed_ms < 100); /* no simulated query happened */
    in.envelope_domain = in.from_domain = "";
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
        {"default",
         {{"open.test", "TXT", "v=spf1 ip4:198.51.100.1"}},
         "open.test", "open.test",
         {"open.test: neutral.", "Decided by: no term matched (the default result).", NULL}},
        {"permerror",
         {{"broken.test", "TXT", "v=spf1 ip4:192.0.2.300 -all"}},
         "broken.test", "broken.test",
         {"permerror.", "is broken (Invalid IPv4 address literal", "at ip4:192.0.2.300"}},
        {"two records",
         {{"twice.test", "TXT", "v=spf1 -all"}, {"twice.test", "TXT", "v=spf1 +all"}},
         "twice.test", "twice.test",
         {"twice.test: permerror.", "is broken (it publishes 2 v=spf1 records; there must be "
          "exactly one)", NULL}},
        {"no spf, no dmarc",
         {{"bare.test", "TXT", "site-verification=abc"}},
         "bare.test", "bare.test",
         {"bare.test publishes no SPF record (none of its TXT records is a v=spf1 record)",
          "example \"v=spf1 ip4:192.0.2.10 -all\"", "DMARC for bare.test: no record (_dmarc.bare.test)."}},
        {"no such domain",
         {{"other.test", "A", "192.0.2.1"}},
         "gone.test", "other.test",
         {"gone.test publishes no SPF record (gone.test does not exist in DNS)", NULL}},
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
                            .ip = "192.0.2.10", .ip_source = BG_AUTH_IP_STORE,
                            .sig_visible = 1};
        assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
        const char *t = words(f);
        for (int w = 0; w < 3 && cases[i].want[w]; w++)
            if (!strstr(t, cases[i].want[w]))
                fail_msg("%s: expected \"%s\" in:\n%s", cases[i].label, cases[i].want[w], t);
        bg_dns_free(d);
    }
    free(f);
}

/* Issue 16: the advice is true for the way this host sends. {label,
 * topology, smarthost, store ip, config ip, reply ip, helo, envelope
 * domain; the address receivers saw and its source; the path finding;
 * phrases that must and must not appear}. */
static void auth_topology_table(void **state)
{
    (void)state;
    static const struct {
        const char *label;
        bg_topo_kind kind;
        const char *smarthost, *ip, *config_ip, *reply_ip, *helo, *env;
        const char *want_ip;
        bg_auth_ip_source want_src;
        bg_auth_fid path;
        const char *want[3], *never[3];
    } cases[] = {
        {"direct, public", BG_TOPO_DIRECT, "", "192.0.2.10", "", "", "mail.example.net",
         "example.com", "192.0.2.10", BG_AUTH_IP_STORE, BG_AF_PATH_DIRECT,
         {"add \"ip4:192.0.2.10\"", "SPF for the HELO name mail.example.net: pass", NULL},
         {"smarthost", NULL}},
        /* the issue's satellite: loopback end, HELO vm, nothing else known */
        {"satellite, loopback end", BG_TOPO_SMARTHOST, "127.0.0.1", "127.0.0.1", "", "", "vm",
         "example.com", "", BG_AUTH_IP_NONE, BG_AF_PATH_SMARTHOST_UNKNOWN,
         {"Mail leaves through the smarthost 127.0.0.1 (Debian's "
          "dc_eximconfig_configtype='satellite'); receivers see the address the smarthost "
          "sends from, which this server cannot see (it reaches the smarthost from 127.0.0.1).",
          "(not judged: the sending address is not known)",
          "authorises every address your smarthost sends from"},
         {"ip4:127", "PTR", "vm"}},
        /* the receiver's reply names the smarthost's public address */
        {"satellite, reply names the address", BG_TOPO_SMARTHOST, "127.0.0.1", "127.0.0.1", "",
         "203.0.113.25", "vm", "example.com", "203.0.113.25", BG_AUTH_IP_REPLY,
         BG_AF_PATH_SMARTHOST,
         {"receivers see the smarthost's address 203.0.113.25 (as the receiving server "
          "reported it), not this server's.",
          "the address your smarthost sent from: include the SPF record your smarthost's "
          "operator publishes, or add \"ip4:203.0.113.25\".",
          "Fix: 203.0.113.25 is your smarthost's address: ask its operator to set a PTR"},
         {"ip4:127", "HELO", NULL}},
        /* a remote smarthost reached from our own public address: that address is not
         * what receivers see */
        {"smarthost, public end", BG_TOPO_SMARTHOST, "smtp.mailhost.example", "192.0.2.10", "", "",
         "mail.example.net", "example.com", "", BG_AUTH_IP_NONE, BG_AF_PATH_SMARTHOST_UNKNOWN,
         {"The smarthost smtp.mailhost.example itself has the address 198.51.100.25; if it also "
          "sends from there, SPF for example.com gives pass for it.", NULL},
         {"ip4:192.0.2.10", "192.0.2.10 has no PTR", "HELO"}},
        {"smarthost, sending_ip set", BG_TOPO_SMARTHOST, "smtp.mailhost.example", "10.0.0.5",
         "198.51.100.25", "", "vm.localdomain", "example.com", "198.51.100.25", BG_AUTH_IP_CONFIG,
         BG_AF_PATH_SMARTHOST,
         {"receivers see the smarthost's address 198.51.100.25 (sending_ip in bounceguide.conf)",
          "example.com authorises 198.51.100.25", "(confirmed)"},
         {"10.0.0.5", "vm.localdomain", NULL}},
        /* not said anywhere; a private end: NAT or a relay */
        {"NAT, nothing known", BG_TOPO_UNKNOWN, "", "10.0.0.5", "", "", "vm", "example.com", "",
         BG_AUTH_IP_NONE, BG_AF_PATH_HIDDEN,
         {"This server sent from 10.0.0.5, a private address (RFC 1918): receivers saw the "
          "address of the NAT gateway or relay in between",
          "This server introduces itself (HELO) as vm, a single-label name",
          "set sending_ip in bounceguide.conf"},
         {"ip4:10", "10.0.0.5 has no PTR", NULL}},
        {"loopback relay, sending_ip set", BG_TOPO_UNKNOWN, "", "127.0.0.1", "192.0.2.10", "",
         "vm", "example.com", "192.0.2.10", BG_AUTH_IP_CONFIG, BG_AF_PATH_HIDDEN_KNOWN,
         {"This server sent from 127.0.0.1, a loopback address; receivers saw 192.0.2.10 "
          "(sending_ip in bounceguide.conf).", "add \"ip4:192.0.2.10\"", NULL},
         {"HELO", "ip4:127", NULL}},
        /* only sending_ip known: the address, without claiming "directly" */
        {"sending_ip only", BG_TOPO_UNKNOWN, "", "", "192.0.2.10", "", "mail.example.net",
         "example.com", "192.0.2.10", BG_AUTH_IP_CONFIG, BG_AF_PATH_ADDRESS,
         {"Receivers see mail from this server coming from 192.0.2.10 (sending_ip in "
          "bounceguide.conf).", "add \"ip4:192.0.2.10\"", NULL},
         {"directly", NULL, NULL}},
        {"direct, nothing known", BG_TOPO_DIRECT, "", "", "", "", "mail.example.net",
         "example.com", "", BG_AUTH_IP_NONE, BG_AF_PATH_UNKNOWN,
         {"The address mail leaves from is not known", NULL},
         {"Reverse DNS", "SPF for the HELO name", NULL}},
        /* a satellite whose envelope domain is its own single-label name */
        {"satellite, single-label sender domain", BG_TOPO_SMARTHOST, "", "127.0.0.1", "", "",
         "vm", "vm", "", BG_AUTH_IP_NONE, BG_AF_PATH_SMARTHOST_UNKNOWN,
         {"The envelope sender domain vm is a single-label name: receivers cannot look it up",
          "Fix: make this server use your public mail domain", NULL},
         {"SPF for vm", "SPF record of the envelope sender domain vm", "publish one at vm"}},
        {NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, {NULL}, {NULL}},
    };
    bg_auth_findings *f = calloc(1, sizeof *f);
    for (int i = 0; cases[i].label; i++) {
        bg_dns *d = make_zone();
        bg_auth_topo topo;
        memset(&topo, 0, sizeof topo);
        topo.kind = cases[i].kind;
        topo.source = cases[i].kind == BG_TOPO_SMARTHOST && !strcmp(cases[i].smarthost, "127.0.0.1")
                          ? BG_TOPO_SRC_DEBIAN
                          : BG_TOPO_SRC_CONFIG;
        snprintf(topo.configtype, sizeof topo.configtype, "satellite");
        snprintf(topo.smarthost, sizeof topo.smarthost, "%s", cases[i].smarthost);
        bg_auth_input in = {
            .envelope_domain = cases[i].env, .from_domain = cases[i].env, .helo = cases[i].helo,
            .ip = cases[i].ip, .ip_source = BG_AUTH_IP_STORE, .config_ip = cases[i].config_ip,
            .reply_ip = cases[i].reply_ip, .topo = &topo,
        };
        assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
        const char *t = words(f);
        print_message("--- %s\n%s", cases[i].label, t);
        if (strcmp(f->ip, cases[i].want_ip) != 0 || f->ip_source != cases[i].want_src)
            fail_msg("%s: ip %s source %d", cases[i].label, f->ip, f->ip_source);
        if (!bg_auth_find(f, cases[i].path))
            fail_msg("%s: no %s finding", cases[i].label, bg_auth_fid_key(cases[i].path));
        for (int w = 0; w < 3 && cases[i].want[w]; w++)
            if (!strstr(t, cases[i].want[w]))
                fail_msg("%s: expected \"%s\" in:\n%s", cases[i].label, cases[i].want[w], t);
        for (int w = 0; w < 3 && cases[i].never[w]; w++)
            if (strstr(t, cases[i].never[w]))
                fail_msg("%s: did not expect \"%s\" in:\n%s", cases[i].label, cases[i].never[w], t);
        advice_is_public(t);
        bg_dns_free(d);
    }
    free(f);
}

/* The signing side for DKIM and DMARC failures: {label, d=, s= of the
 * signature, configured signer, phrases}. */
static void auth_dkim_table(void **state)
{
    (void)state;
    static const struct {
        const char *label, *d, *s, *sign_d, *sign_s;
        int visible;
        bg_topo_source sign_src;
        bg_topo_kind kind;
        bg_topo_source kind_src;
        const char *want[3];
    } cases[] = {
        {"good key", "example.com", "good", "", "", 1, 0, 0, 0,
         {"DKIM signing: the returned message carries a signature with d=example.com s=good.",
          "DKIM key at good._domainkey.example.com: rsa, 2048 bits (long enough).", NULL}},
        {"missing selector record", "example.com", "missing", "", "", 1, 0, 0, 0,
         {"No DKIM key at missing._domainkey.example.com (the name does not exist)",
          "Fix: publish the public key of selector missing as a TXT record at "
          "missing._domainkey.example.com", NULL}},
        {"unparsable key", "example.com", "broken", "", "", 1, 0, 0, 0,
         {"The DKIM key record at broken._domainkey.example.com cannot be used (p= is not "
          "valid base64)", "Fix: publish one TXT record", NULL}},
        {"short key", "example.com", "short", "", "", 1, 0, 0, 0,
         {"is RSA with 512 bits: receivers ignore keys shorter than 1024 bits",
          "Fix: make a 2048-bit key", NULL}},
        {"weak key", "example.com", "weak", "", "", 1, 0, 0, 0,
         {"is RSA with 1024 bits: accepted for now", NULL}},
        {"testing, sha1", "example.com", "test", "", "", 1, 0, 0, 0,
         {"t=y (testing)", "allows only SHA-1", NULL}},
        {"ed25519", "example.com", "ed", "", "", 1, 0, 0, 0, {"is Ed25519 (RFC 8463)", NULL}},
        {"revoked", "example.com", "gone", "", "", 1, 0, 0, 0, {"is revoked (empty p=)", NULL}},
        {"unaligned d=", "mailhost.example", "s1", "", "", 1, 0, 0, 0,
         {"signed with d=mailhost.example s=s1, not aligned with example.com (adkim=r): DMARC "
          "does not count that signature", "fix SPF, or sign with DKIM d=example.com.", NULL}},
        {"unsigned, nothing configured", "", "", "", "", 1, 0, 0, 0,
         {"carries no DKIM signature", "Fix: sign outgoing mail with DKIM for d=example.com", NULL}},
        {"unsigned, configured", "", "", "example.com", "good", 1, BG_TOPO_SRC_CONFIG, 0, 0,
         {"This server is set to sign with d=example.com s=good (diagnose_dkim_domain and "
          "diagnose_dkim_selector in bounceguide.conf).",
          "Exim sends unsigned when it cannot read the private key",
          "DKIM key at good._domainkey.example.com: rsa, 2048 bits"}},
        {"signature differs from config", "example.com", "weak", "example.com", "good", 1,
         BG_TOPO_SRC_CONFIG, 0, 0,
         {"is not the one this server is set to make (d=example.com s=good)",
          "DKIM key at good._domainkey.example.com: rsa, 2048 bits",
          "weak._domainkey.example.com is RSA with 1024 bits"}},
        {"Debian macros on a satellite", "", "", "example.com", "good", 1, BG_TOPO_SRC_DEBIAN,
         BG_TOPO_SMARTHOST, BG_TOPO_SRC_DEBIAN,
         {"(Debian's DKIM_DOMAIN and DKIM_SELECTOR macros)",
          "Debian's remote_smtp_smarthost transport does not use the DKIM_* macros", NULL}},
        /* Exim's own bounce: the copy is from before the transport signed it */
        {"own bounce, nothing configured", "", "", "", "", 0, 0, 0, 0,
         {"DKIM signing: not visible here (Exim's own bounce returns the message as it was "
          "queued, before the transport signs it).", "set diagnose_dkim_selector",
          "On SPF alone this message fails the DMARC policy for example.com (reject); it "
          "passes only with a valid DKIM signature with d=example.com, which is not visible here."}},
        {"own bounce, signer configured", "", "", "example.com", "good", 0, BG_TOPO_SRC_CONFIG,
         0, 0,
         {"DKIM: this server is set to sign with d=example.com, aligned with example.com",
          "On these facts DMARC passes on DKIM, if the transport signs as set and the "
          "signature verifies.", "DKIM key at good._domainkey.example.com: rsa, 2048 bits"}},
        {"own bounce, unaligned signer", "", "", "mailhost.example", "s1", 0, BG_TOPO_SRC_CONFIG,
         0, 0,
         {"this server is set to sign with d=mailhost.example, not aligned with example.com",
          "example.com publishes DMARC p=reject, and on these facts this message fails it.",
          "No DKIM key at s1._domainkey.mailhost.example"}},
        {NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, {NULL}},
    };
    bg_auth_findings *f = calloc(1, sizeof *f);
    for (int i = 0; cases[i].label; i++) {
        bg_dns *d = make_zone();
        bg_auth_topo topo;
        memset(&topo, 0, sizeof topo);
        topo.kind = cases[i].kind;
        topo.source = cases[i].kind_src;
        topo.dkim_source = cases[i].sign_src;
        snprintf(topo.dkim_domain, sizeof topo.dkim_domain, "%s", cases[i].sign_d);
        snprintf(topo.dkim_selector, sizeof topo.dkim_selector, "%s", cases[i].sign_s);
        bg_auth_input in = {
            .envelope_domain = "example.com", .from_domain = "example.com",
            .dkim_domain = cases[i].d, .dkim_selector = cases[i].s, .ip = "192.0.2.77",
            .ip_source = BG_AUTH_IP_STORE, .topo = &topo, .check_dkim = 1,
            .sig_visible = cases[i].visible,
        };
        assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
        const char *t = words(f);
        print_message("--- %s\n%s", cases[i].label, t);
        for (int w = 0; w < 3 && cases[i].want[w]; w++)
            if (!strstr(t, cases[i].want[w]))
                fail_msg("%s: expected \"%s\" in:\n%s", cases[i].label, cases[i].want[w], t);
        bg_dns_free(d);
    }
    free(f);
}

/* A value with line ends stays inside its own line: it cannot add a
 * finding or a piece of advice to the list the renderer nests. (The
 * resolver layer already flattens TXT strings; the words do not count
 * on it: a line end is put back into the record value here.) */
static void auth_values_one_line(void **state)
{
    (void)state;
    bg_dns *d = make_zone();
    bg_auth_findings *f = calloc(1, sizeof *f);
    bg_auth_input in = {.envelope_domain = "inject.example", .from_domain = "inject.example",
                        .ip = "192.0.2.10", .ip_source = BG_AUTH_IP_STORE};
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    const bg_auth_item *it = bg_auth_find(f, BG_AF_SPF_ENV);
    assert_non_null(it);
    char *rec = (char *)bg_auth_item_value(f, it, "record");
    assert_non_null(rec);
    char *cut = strstr(rec, " - Fix");
    assert_non_null(cut);
    cut[0] = '\n';
    char *cut2 = strstr(rec, " - trust");
    assert_non_null(cut2);
    cut2[-2] = '\n';
    const char *t = words(f);
    contains(t, "-all - Fix: nothing to do   - trust me");
    for (const char *l = t; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, "- Fix: nothing", 14) == 0 || strncmp(l, "  - trust me", 12) == 0)
            fail_msg("a value's line end made a line of its own:\n%s", t);
    free(f);
    bg_dns_free(d);
}

/* DMARC passes on SPF, on DKIM or on both: the finding says what a
 * receiver that still reports a failure saw differently, and only that
 * (issue: "the DKIM signature did not verify there" after a pass on SPF
 * alone), in every shipped language. */
static void auth_dmarc_pass(void **state)
{
    (void)state;
    static const struct {
        const char *label, *env, *from, *dkim_d, *dkim_s;
        bg_auth_fid id;
        const char *has, *lacks;
        const char *lang_has[4]; /* en, de, fr, es */
    } cases[] = {
        {"on SPF", "relaxed.example", "relaxed.example", "", "", BG_AF_DMARC_PASS_SPF,
         "On these facts DMARC passes on SPF (relaxed.example aligned and passing). If a "
         "receiver still reports a DMARC failure, SPF did not pass there: the mail reached it "
         "from an address that SPF for relaxed.example does not list",
         "signature did not verify",
         {"SPF did not pass there", "hat SPF dort nicht bestanden",
          "SPF n'a pas r\xC3\xA9ussi chez lui", "SPF no pas\xC3\xB3 all\xC3\xAD"}},
        {"on DKIM", "bounces.example.net", "example.com", "example.com", "good",
         BG_AF_DMARC_PASS_DKIM,
         "On these facts DMARC passes on DKIM, if the signature verifies. If a receiver still "
         "reports a DMARC failure, the DKIM signature did not verify there: check that nothing "
         "changes the message after signing and that the key at good._domainkey.example.com "
         "is published.",
         "SPF did not pass",
         {"the DKIM signature did not verify there",
          "lie\xC3\x9F sich die DKIM-Signatur dort nicht verifizieren",
          "la signature DKIM n'a pas \xC3\xA9t\xC3\xA9 valid\xC3\xA9" "e chez lui",
          "la firma DKIM no se verific\xC3\xB3 all\xC3\xAD"}},
        {"on both", "relaxed.example", "relaxed.example", "relaxed.example", "s1",
         BG_AF_DMARC_PASS_BOTH,
         "On these facts DMARC passes on SPF, and on DKIM as well (if the signature verifies). "
         "If a receiver still reports a DMARC failure, both failed there: SPF, because the mail "
         "reached it from an address that SPF for relaxed.example does not list",
         "did not verify there",
         {"both failed there", "sind dort beide gescheitert",
          "les deux ont \xC3\xA9" "chou\xC3\xA9 chez lui", "all\xC3\xAD fallaron los dos"}},
    };
    static const char *const langs[] = {"en", "de", "fr", "es"};
    bg_auth_findings *f = calloc(1, sizeof *f);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bg_dns *d = make_zone();
        bg_auth_input in = {.envelope_domain = cases[i].env, .from_domain = cases[i].from,
                            .dkim_domain = cases[i].dkim_d, .dkim_selector = cases[i].dkim_s,
                            .ip = "192.0.2.10", .ip_source = BG_AUTH_IP_STORE,
                            .sig_visible = 1};
        assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
        assert_int_equal(f->eval.dmarc_pass, 1);
        const bg_auth_item *it = bg_auth_find(f, cases[i].id);
        if (!it)
            fail_msg("%s: no %s finding in:\n%s", cases[i].label, bg_auth_fid_key(cases[i].id),
                     words(f));
        const char *t = words(f);
        contains(t, cases[i].has);
        lacks(t, cases[i].lacks);
        for (size_t l = 0; l < 4; l++) {
            bg_catalog *c = bg_catalog_load(langs[l], NULL);
            assert_true(bg_catalog_has(c, BG_AUTH_SECTION, bg_auth_fid_key(cases[i].id)));
            bg_buf line;
            bg_buf_init(&line);
            assert_int_equal(bg_auth_words_item(f, it, c, &line), 1);
            if (!strstr(bg_buf_str(&line), cases[i].lang_has[l]))
                fail_msg("%s, %s: \"%s\" not in \"%s\"", cases[i].label, langs[l],
                         cases[i].lang_has[l], bg_buf_str(&line));
            bg_buf_free(&line);
            bg_catalog_free(c);
        }
        bg_dns_free(d);
    }
    free(f);
}

/* Every finding id and every word the findings can name has an English
 * text, and a translated catalogue that lacks a key falls back to it. */
static void auth_catalogue(void **state)
{
    (void)state;
    bg_catalog *en = bg_catalog_load("en", NULL);
    assert_non_null(en);
    for (int id = 0; id < BG_AF_COUNT; id++)
        if (!bg_catalog_has(en, BG_AUTH_SECTION, bg_auth_fid_key((bg_auth_fid)id)))
            fail_msg("no [auth] %s", bg_auth_fid_key((bg_auth_fid)id));
    char key[64];
    for (int c = BG_ADDR_INVALID; c <= BG_ADDR_RESERVED; c++) {
        snprintf(key, sizeof key, "addr_%s", bg_auth_addr_class_id((bg_addr_class)c));
        assert_true(bg_catalog_has(en, BG_AUTH_SECTION, key));
    }
    for (int c = BG_NAME_INVALID; c <= BG_NAME_ADDRESS; c++) {
        snprintf(key, sizeof key, "name_%s", bg_auth_name_class_id((bg_name_class)c));
        assert_true(bg_catalog_has(en, BG_AUTH_SECTION, key));
    }
    for (int w = BG_SPF_WHY_DNS; w <= BG_SPF_WHY_NOMEM; w++) {
        snprintf(key, sizeof key, "spf_why_%s", bg_spf_why_id((bg_spf_why)w));
        assert_true(bg_catalog_has(en, BG_AUTH_SECTION, key));
    }
    for (int w = BG_DMARC_WHY_DNS; w <= BG_DMARC_WHY_EMPTY; w++) {
        snprintf(key, sizeof key, "dmarc_why_%s", bg_dmarc_why_id((bg_dmarc_why)w));
        assert_true(bg_catalog_has(en, BG_AUTH_SECTION, key));
    }
    for (int w = BG_DKIM_WHY_NXDOMAIN; w <= BG_DKIM_WHY_ED25519; w++) {
        snprintf(key, sizeof key, "dkim_why_%s", bg_dkim_why_id((bg_dkim_why)w));
        assert_true(bg_catalog_has(en, BG_AUTH_SECTION, key));
    }
    static const char *const words_used[] = {
        "src_store", "src_config", "src_reply", "src_given", "topo_config", "topo_debian",
        "topo_given", "sign_config", "sign_debian", "align_strict", "align_relaxed",
        "pass_dkim", "pass_dkim_assumed", "spf_default", NULL,
    };
    for (int i = 0; words_used[i]; i++)
        assert_true(bg_catalog_has(en, BG_AUTH_SECTION, words_used[i]));

    /* a translation with two keys: those from it, the rest in English */
    static const char de[] = "[auth]\n"
                             "intro = Prüfung der Einstellungen ({ms} ms):\n"
                             "path_direct = Direkt versandt von {ip} ({ip_source}).\n"
                             "src_store = beim Versand aufgezeichnet\n";
    char err[200];
    bg_catalog *c = bg_catalog_parse(NULL, de, strlen(de), "de", err, sizeof err);
    assert_non_null(c);
    bg_dns *d = make_zone();
    bg_auth_findings *f = calloc(1, sizeof *f);
    bg_auth_input in = {.envelope_domain = "example.com", .from_domain = "example.com",
                        .ip = "192.0.2.10", .ip_source = BG_AUTH_IP_STORE};
    assert_int_equal(bg_auth_diagnose(d, &in, 2000, f), BG_AUTH_DONE);
    bg_buf admin, sender;
    bg_buf_init(&admin);
    bg_buf_init(&sender);
    assert_int_equal(bg_auth_words(f, c, NULL, &admin, &sender), 0);
    const char *t = bg_buf_str(&admin);
    contains(t, "Prüfung der Einstellungen (");
    contains(t, "- Direkt versandt von 192.0.2.10 (beim Versand aufgezeichnet).");
    contains(t, "- SPF for the envelope sender domain example.com: fail.");
    contains(bg_buf_str(&sender), "Your organisation's email settings need a fix");
    /* one bullet per finding, advice indented under it, nothing empty */
    for (const char *l = t; (l = strchr(l, '\n')) && l[1]; l++)
        if (strncmp(l + 1, "- ", 2) != 0 && strncmp(l + 1, "  - ", 4) != 0)
            fail_msg("line without a bullet:\n%s", l + 1);
    lacks(t, "- \n");
    /* an override with an unknown placeholder is refused at load time */
    static const char bad[] = "[auth]\nintro = {no_such_value}\n";
    assert_null(bg_catalog_parse(NULL, bad, strlen(bad), "bad", err, sizeof err));
    bg_buf_free(&admin);
    bg_buf_free(&sender);
    free(f);
    bg_dns_free(d);
    bg_catalog_free(c);
    bg_catalog_free(en);
}

static void auth_wanted(void **state)
{
    (void)state;
    static const struct {
        const char *cat, *diag;
        int want, dkim;
    } cases[] = {
        {"spf-failure", "", 1, 0},
        {"dkim-failure", "", 1, 1},
        {"dmarc-failure", "550 5.7.26 unauthenticated", 1, 1},
        {"reverse-dns-failure", "", 1, 0},
        {"policy-rejected", "550 5.7.1 rejected per DMARC policy", 1, 1},
        {"content-rejected", "550 5.7.1 message failed SPF and DKIM checks", 1, 1},
        {"content-rejected", "550 5.7.1 message failed SPF checks", 1, 0},
        {"policy-rejected", "550 5.7.1 not authorized", 0, 0},
        {"unknown-user", "550 5.1.1 SPF", 0, 0},
        {NULL, NULL, 0, 0},
    };
    for (int i = 0; cases[i].cat; i++) {
        assert_int_equal(bg_auth_wanted(cases[i].cat, cases[i].diag), cases[i].want);
        assert_int_equal(bg_auth_wants_dkim(cases[i].cat, cases[i].diag), cases[i].dkim);
    }
    assert_int_equal(bg_auth_wanted(NULL, NULL), 0);
    assert_int_equal(bg_auth_wants_dkim(NULL, NULL), 0);
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

static int teardown(void **state)
{
    (void)state;
    words(&(bg_auth_findings){.nitems = 0}); /* frees the last text */
    bg_auth_words_release();
    bg_auth_org_free();
    return 0;
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
        cmocka_unit_test(auth_topology_table),
        cmocka_unit_test(auth_dkim_table),
        cmocka_unit_test(auth_dmarc_pass),
        cmocka_unit_test(auth_values_one_line),
        cmocka_unit_test(auth_catalogue),
        cmocka_unit_test(auth_wanted),
        cmocka_unit_test(auth_config),
        cmocka_unit_test(auth_addr_domain),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
