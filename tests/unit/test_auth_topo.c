/* Unit tests: bg_auth_topo -- how mail leaves and what it signs with, from
 * Debian's update-exim4.conf.conf and macro files (tables of file texts)
 * and from bounceguide.conf, which wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bg_auth_topo.h"

static void topo_debconf(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bg_topo_kind kind;
        const char *configtype, *smarthost;
    } cases[] = {
        {"dc_eximconfig_configtype='internet'\ndc_smarthost=''\n", BG_TOPO_DIRECT, "internet", ""},
        {"dc_eximconfig_configtype='satellite'\ndc_smarthost='mail.isp.example::587'\n",
         BG_TOPO_SMARTHOST, "satellite", "mail.isp.example"},
        {"dc_eximconfig_configtype='smarthost'\ndc_smarthost='a.example : b.example'\n",
         BG_TOPO_SMARTHOST, "smarthost", "a.example"},
        {"dc_eximconfig_configtype=\"satellite\"\ndc_smarthost=[2001:db8::25]::25\n",
         BG_TOPO_SMARTHOST, "satellite", "2001:db8::25"},
        {"dc_smarthost='127.0.0.1::2525'\n  dc_eximconfig_configtype='satellite' # comment\n",
         BG_TOPO_SMARTHOST, "satellite", "127.0.0.1"},
        /* a smarthost named on a direct host is not used */
        {"dc_eximconfig_configtype='internet'\ndc_smarthost='relay.example'\n", BG_TOPO_DIRECT,
         "internet", ""},
        {"dc_eximconfig_configtype='local'\n", BG_TOPO_UNKNOWN, "local", ""},
        {"# nothing\n", BG_TOPO_UNKNOWN, "", ""},
        {NULL, 0, NULL, NULL},
    };
    for (int i = 0; cases[i].text; i++) {
        bg_auth_topo t;
        memset(&t, 0, sizeof t);
        bg_auth_topo_parse_debconf(cases[i].text, &t);
        if (t.kind != cases[i].kind || strcmp(t.configtype, cases[i].configtype) != 0 ||
            strcmp(t.smarthost, cases[i].smarthost) != 0)
            fail_msg("case %d: %s '%s' '%s'", i, bg_auth_topo_kind_name(t.kind), t.configtype,
                     t.smarthost);
    }
}

static void topo_macros(void **state)
{
    (void)state;
    static const struct {
        const char *text, *domain, *selector;
        int from;
    } cases[] = {
        {"DKIM_DOMAIN = Example.COM\nDKIM_SELECTOR = s2024\n", "example.com", "s2024", 0},
        {"  DKIM_SELECTOR=mail\nDKIM_DOMAIN = ${lc:${domain:$h_from:}}\n", "", "mail", 1},
        {"DKIM_DOMAIN = ${if eq{$sender_address_domain}{a.example}{a.example}{}}\n"
         "DKIM_SELECTOR = ${lookup{$dkim_domain}lsearch{/etc/exim4/sel}}\n", "", "", 0},
        {"DKIM_DOMAINS = nope.example\nDKIM_PRIVATE_KEY = /etc/exim4/dkim.key\n", "", "", 0},
        {"DKIM_DOMAIN = first.example\nDKIM_DOMAIN = second.example\n", "second.example", "", 0},
        {NULL, NULL, NULL, 0},
    };
    for (int i = 0; cases[i].text; i++) {
        bg_auth_topo t;
        memset(&t, 0, sizeof t);
        bg_auth_topo_parse_macros(cases[i].text, &t);
        if (strcmp(t.dkim_domain, cases[i].domain) != 0 ||
            strcmp(t.dkim_selector, cases[i].selector) != 0 || t.dkim_domain_from != cases[i].from)
            fail_msg("case %d: '%s' '%s' from=%d", i, t.dkim_domain, t.dkim_selector,
                     t.dkim_domain_from);
    }
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The files of an Exim directory, then bounceguide.conf on top. */
static void topo_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/bg-topo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[600];
    snprintf(sub, sizeof sub, "%s/conf.d", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof sub, "%s/conf.d/main", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    write_file(dir, "update-exim4.conf.conf",
               "dc_eximconfig_configtype='satellite'\ndc_smarthost='smtp.isp.example::587'\n");
    write_file(dir, "conf.d/main/000_localmacros", "DKIM_SELECTOR = deb1\nDKIM_DOMAIN = d.example\n");
    char text[800];
    snprintf(text, sizeof text, "diagnose_exim_dir = %s\n", dir);
    char err[200];
    bg_config *c = bg_config_parse(text, strlen(text), "t", err, sizeof err);
    assert_non_null(c);
    bg_auth_topo t;
    bg_auth_topo_load(c, "example.com", &t);
    assert_int_equal(t.kind, BG_TOPO_SMARTHOST);
    assert_int_equal(t.source, BG_TOPO_SRC_DEBIAN);
    assert_string_equal(t.smarthost, "smtp.isp.example");
    assert_string_equal(t.dkim_selector, "deb1");
    assert_string_equal(t.dkim_domain, "d.example");
    assert_int_equal(t.dkim_source, BG_TOPO_SRC_DEBIAN);
    bg_config_free(c);

    /* bounceguide.conf wins: direct for one domain, another signer */
    snprintf(text, sizeof text,
             "diagnose_exim_dir = %s\n[domain example.com]\ndiagnose_topology = direct\n"
             "diagnose_dkim_selector = conf1\n[domain example.org]\n"
             "diagnose_smarthost = relay.example.org::25\n", dir);
    c = bg_config_parse(text, strlen(text), "t", err, sizeof err);
    assert_non_null(c);
    bg_auth_topo_load(c, "example.com", &t);
    assert_int_equal(t.kind, BG_TOPO_DIRECT);
    assert_int_equal(t.source, BG_TOPO_SRC_CONFIG);
    assert_string_equal(t.smarthost, "");
    assert_string_equal(t.dkim_selector, "conf1");
    assert_int_equal(t.dkim_domain_from, 1); /* a selector alone: the From: domain */
    assert_int_equal(t.dkim_source, BG_TOPO_SRC_CONFIG);
    bg_auth_topo_load(c, "example.org", &t);
    assert_int_equal(t.kind, BG_TOPO_SMARTHOST);
    assert_int_equal(t.source, BG_TOPO_SRC_CONFIG);
    assert_string_equal(t.smarthost, "relay.example.org");
    bg_config_free(c);

    /* no Exim directory at all: nothing known */
    c = bg_config_parse("diagnose_exim_dir = /nonexistent\n", 33, "t", err, sizeof err);
    assert_non_null(c);
    bg_auth_topo_load(c, "", &t);
    assert_int_equal(t.kind, BG_TOPO_UNKNOWN);
    assert_int_equal(t.dkim_source, BG_TOPO_SRC_NONE);
    bg_config_free(c);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topo_debconf),
        cmocka_unit_test(topo_macros),
        cmocka_unit_test(topo_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
