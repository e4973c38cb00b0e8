/* Unit tests: bg_config (sections, lookups, numbers) and bg_status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_buf.h"
#include "bg_config.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "bg_status.h"

static const char cfg_text[] =
    "# global\n"
    "language = en\n"
    "organisation = \"Example  Group\"\n"
    "soft_window = 7d\n"
    "max_size = 20M\n"
    "[domain example.com]\n"
    "organisation = Example Ltd\n"
    "[domain .corp.example]\n"
    "helpdesk = https://help.corp.example/\n"
    "diagnose = no\n";

static void config_lookup(void **state)
{
    (void)state;
    char err[200] = "";
    bg_config *c = bg_config_parse(cfg_text, strlen(cfg_text), "t", err, sizeof err);
    assert_non_null(c);
    assert_string_equal(bg_config_get(c, NULL, "organisation", "x"), "Example  Group");
    assert_string_equal(bg_config_get(c, "example.com", "organisation", "x"), "Example Ltd");
    assert_string_equal(bg_config_get(c, "EXAMPLE.COM", "organisation", "x"), "Example Ltd");
    assert_string_equal(bg_config_get(c, "sub.example.com", "organisation", "x"),
                        "Example  Group");
    assert_string_equal(bg_config_get(c, "a.corp.example", "helpdesk", "x"),
                        "https://help.corp.example/");
    assert_string_equal(bg_config_get(c, "corp.example", "helpdesk", "x"),
                        "https://help.corp.example/");
    assert_string_equal(bg_config_get(c, "other.example", "helpdesk", "none"), "none");
    assert_int_equal(bg_config_get_num(c, NULL, "soft_window", 0), 7 * 86400);
    assert_int_equal(bg_config_get_num(c, NULL, "max_size", 0), 20 * 1024 * 1024);
    assert_int_equal(bg_config_get_bool(c, "x.corp.example", "diagnose", 1), 0);
    assert_int_equal(bg_config_get_bool(c, "example.com", "diagnose", 1), 1);
    assert_int_equal(bg_config_domains(c, NULL, NULL), 2);
    bg_config_free(c);
}

static void config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"a = 1\nnonsense\n", "t:2: expected 'key = value'"},
        {"[domain example.com\n", "t:1: unterminated section header"},
        {"[host x]\n", "t:1: section must be [domain NAME] or [global]"},
        {"k = \"open\n", "t:1: unterminated quoted value"},
        {" = v\n", "t:1: empty key"},
        {NULL, NULL},
    };
    for (int i = 0; cases[i].text; i++) {
        char err[200] = "";
        bg_config *c = bg_config_parse(cases[i].text, strlen(cases[i].text), "t", err, sizeof err);
        assert_null(c);
        assert_string_equal(err, cases[i].err);
    }
    char err[200];
    assert_null(bg_config_load("/nonexistent/bounceguide.conf", err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
}

static void config_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        long long v;
        int ok;
    } cases[] = {
        {"12", 12, 0},      {"2s", 2, 0},          {"30min", 1800, 0}, {"3h", 10800, 0},
        {"7d", 604800, 0},  {"1w", 604800, 0},     {"64K", 65536, 0},  {"10MB", 10485760, 0},
        {"x", 0, -1},       {"12q", 0, -1},        {"", 0, -1},        {"-3", 0, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long v = -99;
        assert_int_equal(bg_config_parse_num(cases[i].s, &v), cases[i].ok);
        if (cases[i].ok == 0)
            assert_int_equal(v, cases[i].v);
    }
}

static void status_find(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *status;
        int reply;
    } cases[] = {
        {"550 5.1.1 <bob@example.net>: Recipient address rejected", "5.1.1", 550},
        {"smtp; 550 5.7.26 Unauthenticated email", "5.7.26", 550},
        {"host mx.example.net [192.0.2.5] said: 452 4.2.2 Mailbox full", "4.2.2", 452},
        {"Connection to 10.5.1.1 refused", "", 0},
        {"Exim 4.96 version 2.1.5.3 ok", "", 0},
        {"550-5.7.509 Access denied", "5.7.509", 550},
        {"SMTP error from remote mail server after RCPT TO:<a@b>: 554 5.4.14 loop", "5.4.14", 554},
        /* the reply after a host name and colon (Exim's EHLO-stage text) */
        {"SMTP error from remote mail server after EHLO neko.example.com: 550 Rejected", "", 550},
        {NULL, NULL, 0},
    };
    for (int i = 0; cases[i].text; i++) {
        char st[BG_STATUS_MAX];
        bg_status_find(cases[i].text, st);
        assert_string_equal(st, cases[i].status);
        assert_int_equal(bg_reply_find(cases[i].text), cases[i].reply);
    }
    assert_true(bg_status_generic("5.0.0"));
    assert_true(bg_status_generic("4.0.0"));
    assert_false(bg_status_generic("5.1.0"));
    assert_int_equal(bg_status_class("4.7.1"), '4');
    assert_int_equal(bg_status_valid("5.1234.1"), 0);
}

/* bg_buf_read_file: the bounded whole-file read config, rules and catalogue share. */
static void buf_read_file(void **state)
{
    (void)state;
    char path[] = "/tmp/bg-test-readXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 3000; i++)
        fputs("0123456789", f);
    fclose(f);
    const char *why = "";
    bg_buf b;
    bg_buf_init(&b);
    assert_int_equal(bg_buf_read_file(&b, path, 30000, &why), 0);
    assert_int_equal(b.len, 30000);
    bg_buf_reset(&b);
    assert_int_equal(bg_buf_read_file(&b, path, 29999, &why), -3);
    assert_string_equal(why, "larger than the limit");
    bg_buf_free(&b);
    assert_int_equal(bg_buf_read_file(&b, "/nonexistent/x", 10, &why), -1);
    assert_string_equal(why, "No such file or directory");
    bg_buf_free(&b);
    char err[300];
    /* a config file over 1 MiB is refused with its own message */
    f = fopen(path, "w");
    for (int i = 0; i < 110000; i++)
        fputs("a = 12345\n", f);
    fclose(f);
    assert_null(bg_config_load(path, err, sizeof err));
    assert_non_null(strstr(err, "file too large (over 1 MiB)"));
    unlink(path);
}

/* The key table (issue 12, 6): one check holds a file against it. */
typedef struct {
    char out[4000];
    int n;
} issues_t;

static void collect(bg_config_severity sev, unsigned line, const char *msg, void *ctx)
{
    issues_t *is = ctx;
    size_t l = strlen(is->out);
    snprintf(is->out + l, sizeof is->out - l, "%s %u: %s\n", sev == BG_CFG_ERROR ? "E" : "W", line, msg);
    is->n++;
}

static void config_keys_check(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int errors;
        const char *want; /* the issues, "" = none */
    } cases[] = {
        {"suppress = no\nsuppress_soft_window = 3d\nsuppress.mailbox-full = none\nprvs_secret_2 = x\n", 0, ""},
        {"supress = no\n", 0, "W 1: unknown key 'supress' (did you mean 'suppress'?); ignored\n"},
        {"suppress.mailbox_full = none\n", 0,
         "W 1: unknown key 'suppress.mailbox_full' (did you mean 'suppress.<category id>'?); ignored\n"},
        {"suppress = maybe\n", 1, "E 1: suppress = \"maybe\" is not yes/no\n"},
        {"suppress.unknown-user = sometimes\n", 1,
         "E 1: suppress.unknown-user = \"sometimes\" is not none, count, address or domain\n"},
        {"suppress_soft_threshold = three\n", 1, "E 1: suppress_soft_threshold = \"three\" is not a whole number\n"},
        {"suppress_expire_address = 1y\n", 1,
         "E 1: suppress_expire_address = \"1y\" is not a duration (seconds, or with s, min, h, d, w)\n"},
        {"max_size = big\n", 1, "E 1: max_size = \"big\" is not a size (a number with K, M or G)\n"},
        {"diagnose_budget = 1500ms\nsuppress_inbound_budget = 2s\n", 0, ""},
        {"diagnose_budget = soon\n", 1, "E 1: diagnose_budget = \"soon\" is not a duration (\"500ms\", \"2s\")\n"},
        {"[domain example.com]\nsuppress_db = /tmp/x.db\nsuppress = no\n", 0,
         "W 2: suppress_db is read outside [domain] sections only; ignored in [domain example.com]\n"},
        {"# comment\n\nwhatever_this_is = 1\n", 0, "W 3: unknown key 'whatever_this_is'; ignored\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[200];
        bg_config *c = bg_config_parse(cases[i].text, strlen(cases[i].text), "t", err, sizeof err);
        assert_non_null(c);
        issues_t is = {"", 0};
        int errors = bg_config_keys_check(c, collect, &is);
        if (errors != cases[i].errors || strcmp(is.out, cases[i].want) != 0)
            fail_msg("case %zu: %d errors, issues:\n%s", i, errors, is.out);
        bg_config_free(c);
    }
    assert_null(bg_config_keys_find("nonsense"));
    assert_non_null(bg_config_keys_find("SUPPRESS_DB"));
    assert_non_null(bg_config_keys_find("suppress.unknown-user"));
    assert_null(bg_config_keys_find("suppress.no-such-category"));
    assert_null(bg_config_keys_find("prvs_secret_x"));
}

/* Every key a module reads (a string literal given to bg_config_get*) is
 * in the table, and every table key is documented in conf/bounceguide.conf
 * and bounceguide.conf(5): the table is the one list. */
static void config_keys_complete(void **state)
{
    (void)state;
    const char *top = getenv("BG_TOP");
    if (!top || !*top)
        top = BG_TOP;
    char cmd[800];
    snprintf(cmd, sizeof cmd,
             "grep -ho 'bg_config_get[a-z_]*([^;]*' %s/plugin/*.c | grep -o '\"[a-z0-9_.-]*\"' | sort -u",
             top);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[200];
    int seen = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        size_t l = strlen(line);
        if (l < 3)
            continue;
        line[l - 1] = '\0';
        const char *k = line + 1;
        /* defaults passed beside the key ("en", "2s", "") are not keys */
        static const char *const not_keys[] = {"en", "2s", "auto", NULL};
        int skip = 0;
        for (int i = 0; not_keys[i]; i++)
            skip |= strcmp(k, not_keys[i]) == 0;
        if (skip)
            continue;
        if (!bg_config_keys_find(k))
            fail_msg("plugin/ reads config key '%s', which bg_config_keys_table lacks", k);
        seen++;
    }
    pclose(p);
    assert_true(seen > 20);
    size_t n;
    const bg_config_key *keys = bg_config_keys_table(&n);
    static const char *const docs[] = {"conf/bounceguide.conf", "man/bounceguide.conf.5", NULL};
    for (int d = 0; docs[d]; d++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", top, docs[d]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        static char text[300000];
        size_t len = fread(text, 1, sizeof text - 1, f);
        text[len] = '\0';
        fclose(f);
        for (size_t i = 0; i < n; i++) {
            char name[80];
            snprintf(name, sizeof name, "%s", keys[i].name);
            char *star = strchr(name, '*');
            if (star)
                *star = '\0';
            /* the man page escapes '-' and '_' may be written plain */
            if (!strstr(text, name))
                fail_msg("%s does not mention the key %s", docs[d], keys[i].name);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_lookup),
        cmocka_unit_test(config_errors),
        cmocka_unit_test(config_numbers),
        cmocka_unit_test(status_find),
        cmocka_unit_test(buf_read_file),
        cmocka_unit_test(config_keys_check),
        cmocka_unit_test(config_keys_complete),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
