/* Unit tests: the languages (bg_lang) and what the catalogues must hold
 * (bg_catalog_check).
 *
 * - Every shipped language (conf/guidance/LANG.conf) is complete: every
 *   section and key of English, line for line, with the same placeholders
 *   and the same "acts"; html_lang names the language; every failure
 *   category renders in it. A key or category added to en.conf without its
 *   translations fails here.
 * - The check finds misspelt sections and keys (with a suggestion), empty
 *   texts, {rule} in the sender's texts and placeholders with no value;
 *   the loader logs them for an override.
 * - The choice of language: address pattern, [domain] section, the
 *   returned message's Content-Language / Accept-Language, default;
 *   admin_language; installed catalogues and per-language overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_catalog.h"
#include "bg_catalog_check.h"
#include "bg_category.h"
#include "bg_classify.h"
#include "bg_config.h"
#include "bg_lang.h"
#include "bg_log.h"
#include "bg_render.h"

static char cli[PATH_MAX]; /* the bounceguide binary built with the tests */

static const char *top(void)
{
    const char *t = getenv("BG_TOP");
    return t && *t ? t : BG_TOP;
}

static int log_lines;
static char log_all[8192];

static void count_log(bg_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == BG_LOG_DEBUG)
        return;
    log_lines++;
    size_t n = strlen(log_all);
    snprintf(log_all + n, sizeof log_all - n, "%s\n", msg);
}

static void log_reset(void)
{
    log_lines = 0;
    log_all[0] = '\0';
}

/* The shipped languages: the LANG of every conf/guidance/LANG.conf. */
static size_t shipped_langs(char langs[][16], size_t max)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/conf/guidance", top());
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t l = strlen(e->d_name);
        if (l > 5 && l < 16 + 5 && strcmp(e->d_name + l - 5, ".conf") == 0)
            snprintf(langs[n++], 16, "%.*s", (int)(l - 5), e->d_name);
    }
    closedir(d);
    return n;
}

/* ---- completeness ------------------------------------------------------- */

typedef struct problems {
    size_t n;
    char text[4096];
} problems;

static void collect(const char *where, const char *problem, void *ctx)
{
    problems *p = ctx;
    size_t len = strlen(p->text);
    if (p->n++ < 10)
        snprintf(p->text + len, sizeof p->text - len, "  %s: %s\n", where, problem);
}

/* Every shipped language has every text English has, line for line, and
 * every failure category renders in it with its own headline. */
static void languages_complete(void **state)
{
    (void)state;
    char langs[16][16];
    size_t n = shipped_langs(langs, 16);
    assert_true(n >= 4); /* en, de, fr, es */
    size_t ncat = 0;
    const bg_category *t = bg_category_table(&ncat);
    for (size_t i = 0; i < n; i++) {
        bg_catalog *c = bg_catalog_load(langs[i], NULL);
        assert_non_null(c);
        problems p = {0, ""};
        size_t found = bg_catalog_check(c, 1, collect, &p);
        if (found)
            fail_msg("%s.conf: %zu problems, first ones:\n%s", langs[i], found, p.text);
        /* the catalogue says which language it is */
        bg_buf tag;
        bg_buf_init(&tag);
        assert_int_equal(bg_catalog_text(c, "common", "html_lang", NULL, &tag), 1);
        assert_string_equal(bg_buf_str(&tag), langs[i]);
        bg_buf_free(&tag);
        /* every category id of the taxonomy has its own texts */
        for (size_t k = 0; k < ncat; k++)
            if (!bg_catalog_has(c, t[k].id, "headline") || !bg_catalog_has(c, t[k].id, "do") ||
                !bg_catalog_has(c, t[k].id, "happened") || !bg_catalog_has(c, t[k].id, "admin"))
                fail_msg("%s.conf: [%s] lacks a text", langs[i], t[k].id);
        bg_catalog_free(c);
    }
}

/* The check over the built-in English is clean and full; removing one
 * line of one key from a copy of a language is found. */
static void check_finds_a_missing_line(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/conf/guidance/de.conf", top());
    bg_buf text;
    bg_buf_init(&text);
    const char *why;
    assert_int_equal(bg_buf_read_file(&text, path, 1u << 20, &why), 0);
    /* drop the second "do" line of [unknown-user] and rename a placeholder */
    char *s = (char *)bg_buf_str(&text);
    char *sec = strstr(s, "[unknown-user]");
    assert_non_null(sec);
    char *do1 = strstr(sec, "\ndo = ");
    char *do2 = strstr(do1 + 1, "\ndo = ");
    char *end = strchr(do2 + 1, '\n');
    memmove(do2, end, strlen(end) + 1);
    char *ph = strstr(s, "{first_recipient}");
    assert_non_null(ph);
    memcpy(ph, "{recipient}      ", 17);
    char err[300];
    bg_catalog *c = bg_catalog_parse(NULL, s, strlen(s), "de-copy", err, sizeof err);
    assert_non_null(c);
    problems p = {0, ""};
    assert_int_equal(bg_catalog_check(c, 1, collect, &p), 2);
    assert_non_null(strstr(p.text, "[unknown-user] do: 3 lines, English has 4"));
    assert_non_null(strstr(p.text, "[common] same_as: line 1 names {recipient}, English names "
                                   "{first_recipient}"));
    /* as an override (not a whole language) the same file is fine */
    assert_int_equal(bg_catalog_check(c, 0, NULL, NULL), 0);
    bg_catalog_free(c);
    bg_buf_free(&text);
}

/* What the check says about an override, case by case. */
static void check_override_cases(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t problems;
        const char *want; /* in the first problem */
    } cases[] = {
        {"[unknown-user]\nheadline = Mine: {recipient}\n", 0, ""},
        {"[unknown-usr]\nheadline = x\n", 1, "[unknown-usr]: unknown section; did you mean [unknown-user]?"},
        {"[unknown-user]\nheadlin = x\n", 1, "[unknown-user] headlin: unknown key; did you mean headline?"},
        {"[comon]\nintro = x\n", 1, "[comon]: unknown section; did you mean [common]?"},
        {"[common]\nlabel_hapened = x\n", 1, "unknown key; did you mean label_happened?"},
        {"[nonsense-section]\nx = y\n", 1, "unknown section (its texts are never shown)"},
        {"[unknown-user]\nwhatever = y\n", 1, "[unknown-user] whatever: unknown key (never shown)"},
        {"[unknown-user]\nhappened = by rule {rule}\n", 1, "{rule} outside the administrator's texts"},
        {"[unknown-user]\nadmin = by rule {rule}\n", 0, ""},
        {"[common]\nintro = Hi {recipient}\n", 1, "names {recipient}, which has no value in this text"},
        {"[common]\nfooter =\n", 1, "[common] footer: empty text"},
        /* a category may replace the [common] texts that name a recipient */
        {"[mailbox-full]\nsame_as = as {first_recipient}\nacts_recipient = them\n", 0, ""},
        {"[mailbox-full]\nlabel_do = no\n", 1, "[mailbox-full] label_do: unknown key"},
        /* the words the renderer puts together: their own placeholders only */
        {"[common]\nlabel_colon = {label} :\nduration_minute = {n} Minute\n"
         "date_time = {year}-{month}-{day} {time}\n", 0, ""},
        {"[common]\ndate_month = Jan\n", 1,
         "[common] date_month: the twelve month names are needed, one a line, January first "
         "(it has 1)"},
        {"[common]\ndate = {day} {subject}\n", 1,
         "[common] date: names {subject}, which has no value in this text"},
        {"[common]\nduration_days = {count} days\n", 1, "names {count}, which has no value"},
        {"[common]\nintro = {n} hello\n", 1, "[common] intro: names {n}, which has no value"},
        {"[unknown-user]\nhappened = since {day}\n", 1, "names {day}, which has no value"},
        {NULL, 0, NULL},
    };
    for (size_t i = 0; cases[i].text; i++) {
        char err[300];
        bg_catalog *c = bg_catalog_parse(NULL, cases[i].text, strlen(cases[i].text), "t", err,
                                         sizeof err);
        assert_non_null(c);
        problems p = {0, ""};
        size_t n = bg_catalog_check(c, 0, collect, &p);
        if (n != cases[i].problems || !strstr(p.text, cases[i].want))
            fail_msg("case %zu (%s): %zu problems, want %zu with '%s':\n%s", i, cases[i].text, n,
                     cases[i].problems, cases[i].want, p.text);
        bg_catalog_free(c);
    }
}

/* The loader says so when an override names what does not exist, and
 * still uses the rest of it. */
static void override_misspelt_is_logged(void **state)
{
    (void)state;
    char path[] = "/tmp/bg-test-lang-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *ov = "[unknown-usr]\nheadline = lost\n[unknown-user]\nheadlin = lost too\n"
                     "happened = Kept: {recipient}\n";
    assert_int_equal(write(fd, ov, strlen(ov)), (ssize_t)strlen(ov));
    close(fd);
    bg_log_set(count_log, NULL);
    log_reset();
    bg_catalog *c = bg_catalog_load("en", path);
    assert_non_null(c);
    assert_int_equal(log_lines, 2);
    assert_non_null(strstr(log_all, "[unknown-usr]: unknown section; did you mean [unknown-user]?"));
    assert_non_null(strstr(log_all, "[unknown-user] headlin: unknown key; did you mean headline?"));
    const char *const *lines;
    assert_int_equal(bg_catalog_lines(c, "unknown-user", "happened", &lines), 1);
    assert_string_equal(lines[0], "Kept: {recipient}");
    bg_catalog_free(c);
    bg_log_set(NULL, NULL);
    unlink(path);
}

/* Control characters are refused in a catalogue: they would reach the
 * HTML part as the renderer's own markers. */
static void catalog_refuses_control_characters(void **state)
{
    (void)state;
    static const char *const bad[] = {"[common]\nintro = a\x01" "b\n", "[common]\nintro = \x03x\x04\n",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        char err[300] = "";
        assert_null(bg_catalog_parse(NULL, bad[i], strlen(bad[i]), "t", err, sizeof err));
        assert_non_null(strstr(err, "control character"));
    }
}

/* ---- choosing the language ---------------------------------------------- */

static void glob_cases(void **state)
{
    (void)state;
    static const struct {
        const char *p, *s;
        int want;
    } cases[] = {
        {"*@example.de", "anna@example.de", 1},  {"*@example.de", "anna@example.den", 0},
        {"*@EXAMPLE.de", "Anna@example.DE", 1},  {"de-*@*", "de-sales@x.org", 1},
        {"a?c@x", "abc@x", 1},                   {"a?c@x", "ac@x", 0},
        {"*", "", 1},                            {"", "a", 0},
        {"*.fr", "x@mail.fr", 1},                {"**@x", "a@x", 1},
        {"*a*b*c", "xxaxxbxxc", 1},              {"*a*b*c", "xxaxxcxxb", 0},
        {NULL, NULL, 0},
    };
    for (size_t i = 0; cases[i].p; i++)
        if (bg_lang_glob(cases[i].p, cases[i].s) != cases[i].want)
            fail_msg("glob '%s' on '%s': want %d", cases[i].p, cases[i].s, cases[i].want);
}

static void header_cases(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        int accept;
        const char *want; /* "" = none */
    } cases[] = {
        {"de", 0, "de"},
        {"de-DE", 0, "de"},
        {"DE-at", 0, "de"},
        {"fr, en", 0, "fr"},
        {" x-klingon , es-MX", 0, "es"},
        {"pt-BR", 0, ""},
        {"", 0, ""},
        {"en-US,en;q=0.9", 1, "en"},
        {"en;q=0.1, de;q=0.9, fr;q=0.5", 1, "de"},
        {"it, fr;q=0.8", 1, "fr"},
        {"*;q=1, es;q=0.2", 1, "es"},
        {"de;q=0", 1, ""},
        {"de;q=2", 1, ""},
        {"fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", 1, "fr"},
        {"../../etc/passwd, es", 0, "es"},
        {NULL, 0, NULL},
    };
    for (size_t i = 0; cases[i].v; i++) {
        char out[16] = "";
        int found = bg_lang_from_header(cases[i].v, cases[i].accept, "", out, sizeof out);
        if (found != (cases[i].want[0] != 0) || strcmp(out, cases[i].want) != 0)
            fail_msg("'%s' (accept %d): got %d '%s', want '%s'", cases[i].v, cases[i].accept,
                     found, out, cases[i].want);
    }
}

/* A small report whose returned message carries extra headers. */
static char *report(const char *sender, const char *orig_extra, size_t *len)
{
    bg_buf b;
    bg_buf_init(&b);
    bg_buf_printf(&b,
                  "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
                  "To: %s\nSubject: Mail delivery failed\nAuto-Submitted: auto-replied\n"
                  "MIME-Version: 1.0\n"
                  "Content-Type: multipart/report; report-type=delivery-status; boundary=LB\n\n"
                  "--LB\nContent-type: text/plain\n\nFailed.\n\n"
                  "--LB\nContent-type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
                  "Action: failed\nFinal-Recipient: rfc822;bob@example.net\nStatus: 5.1.1\n"
                  "Diagnostic-Code: smtp; 550 5.1.1 no such user\n\n"
                  "--LB\nContent-type: message/rfc822\n\n"
                  "Return-path: <%s>\nFrom: %s\nTo: bob@example.net\nSubject: Hello\n%s\nBody.\n"
                  "--LB--\n",
                  sender, sender, sender, orig_extra);
    *len = b.len;
    return bg_buf_take(&b);
}

/* The order of the choice, case by case. */
static void choose_cases(void **state)
{
    (void)state;
    static const struct {
        const char *label, *config, *sender, *orig_headers;
        const char *lang, *admin, *source;
    } cases[] = {
        {"nothing said", "", "anna@example.org", "", "en", "en", "default"},
        {"global default", "language = fr\n", "anna@example.org", "", "fr", "fr", "default"},
        {"content-language", "", "anna@example.org", "Content-Language: de-DE\n", "de", "de",
         "content-language"},
        {"accept-language", "", "anna@example.org", "Accept-Language: es-ES, es;q=0.9, en;q=0.5\n",
         "es", "es", "accept-language"},
        {"content before accept", "", "anna@example.org",
         "Accept-Language: es\nContent-Language: fr\n", "fr", "fr", "content-language"},
        {"unknown content-language: accept", "", "anna@example.org",
         "Content-Language: pt-BR\nAccept-Language: de\n", "de", "de", "accept-language"},
        {"folded header", "", "anna@example.org", "Content-Language:\n\tfr-CA\n", "fr", "fr",
         "content-language"},
        {"domain beats the message", "[domain example.org]\nlanguage = es\n", "anna@example.org",
         "Content-Language: de\n", "es", "es", "domain"},
        {"subdomain section", "[domain .example.org]\nlanguage = fr\n", "anna@mail.example.org",
         "", "fr", "fr", "domain"},
        {"global language does not beat the message", "language = fr\n", "anna@example.org",
         "Content-Language: de\n", "de", "de", "content-language"},
        {"address pattern beats the domain",
         "sender_languages = *.de@example.org de, jean*@example.org fr\n"
         "[domain example.org]\nlanguage = es\n",
         "jean.dupont@example.org", "Content-Language: de\n", "fr", "fr", "address"},
        {"pattern in the domain section", "[domain example.org]\nsender_languages = anna@* de\n",
         "anna@example.org", "", "de", "de", "address"},
        {"pattern without a catalogue: next rule", "sender_languages = * pt\n", "anna@example.org",
         "Content-Language: es\n", "es", "es", "content-language"},
        {"message ignored when told", "language_from_message = no\nlanguage = fr\n",
         "anna@example.org", "Content-Language: de\n", "fr", "fr", "default"},
        {"admin language", "admin_language = en\n[domain example.org]\nlanguage = de\n",
         "anna@example.org", "", "de", "en", "domain"},
        {"admin language per domain", "[domain example.org]\nadmin_language = fr\n",
         "anna@example.org", "Content-Language: es\n", "es", "fr", "content-language"},
        {"admin language without catalogue", "admin_language = xx\n", "anna@example.org",
         "Content-Language: de\n", "de", "en", "content-language"},
        {"unknown default language", "language = xx\n", "anna@example.org", "", "en", "en",
         "default"},
        {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    };
    bg_log_set(count_log, NULL);
    for (size_t i = 0; cases[i].label; i++) {
        char err[300];
        bg_config *cfg = bg_config_parse(cases[i].config, strlen(cases[i].config), "t", err,
                                         sizeof err);
        assert_non_null(cfg);
        bg_lang *l = bg_lang_new(cfg, NULL, err, sizeof err);
        assert_non_null(l);
        size_t len;
        char *msg = report(cases[i].sender, cases[i].orig_headers, &len);
        bg_read_status rs;
        bg_bounce *b = bg_bounce_read(msg, len, NULL, &rs);
        assert_non_null(b);
        bg_lang_pick pick;
        bg_lang_choose(l, cases[i].sender, "", msg, len, b, &pick);
        if (strcmp(pick.sender, cases[i].lang) || strcmp(pick.admin, cases[i].admin) ||
            strcmp(pick.source, cases[i].source))
            fail_msg("%s: got %s/%s (%s), want %s/%s (%s)", cases[i].label, pick.sender,
                     pick.admin, pick.source, cases[i].lang, cases[i].admin, cases[i].source);
        /* the catalogues handed out are the languages named */
        bg_buf tag;
        bg_buf_init(&tag);
        bg_catalog_text(pick.catalog, "common", "html_lang", NULL, &tag);
        assert_string_equal(bg_buf_str(&tag), cases[i].lang);
        bg_buf_reset(&tag);
        bg_catalog_text(pick.admin_catalog, "common", "html_lang", NULL, &tag);
        assert_string_equal(bg_buf_str(&tag), cases[i].admin);
        bg_buf_free(&tag);
        /* forced (the CLI's --lang) */
        bg_lang_force(l, "es", cases[i].sender, "", &pick);
        assert_string_equal(pick.sender, "es");
        assert_string_equal(pick.source, "forced");
        bg_lang_free(l);
        bg_bounce_free(b);
        free(msg);
        bg_config_free(cfg);
    }
    bg_log_set(NULL, NULL);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A default language without a catalogue says so once, in the log, and
 * English is used (a regression: the name was lost before the log line). */
static void unknown_default_is_logged(void **state)
{
    (void)state;
    static const char text[] = "language = xx\n";
    char err[300];
    bg_config *cfg = bg_config_parse(text, sizeof text - 1, "t", err, sizeof err);
    bg_log_set(count_log, NULL);
    log_reset();
    bg_lang *l = bg_lang_new(cfg, NULL, err, sizeof err);
    assert_non_null(l);
    assert_int_equal(log_lines, 1);
    assert_non_null(strstr(log_all, "'xx'"));
    bg_lang_pick pick;
    bg_lang_choose(l, "anna@example.org", "", NULL, 0, NULL, &pick);
    assert_string_equal(pick.sender, "en");
    bg_lang_free(l);
    bg_config_free(cfg);
    bg_log_set(NULL, NULL);
}

/* Installed catalogues: a language counts only when DATA_DIR has it; a
 * broken one falls back to the default with one log line; overrides go
 * to their own language only. */
static void data_dir_languages(void **state)
{
    (void)state;
    char dir[] = "/tmp/bg-test-langdir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[200], p[300], cmd[600], err[300];
    snprintf(sub, sizeof sub, "%s/guidance", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(p, sizeof p, "%s/en.conf", sub);
    write_text(p, "[common]\nhtml_lang = en\n[unknown-user]\nheadline = EN {recipient}\n");
    snprintf(p, sizeof p, "%s/de.conf", sub);
    write_text(p, "[common]\nhtml_lang = de\n[unknown-user]\nheadline = DE {recipient}\n");
    snprintf(p, sizeof p, "%s/fr.conf", sub);
    write_text(p, "[common\n"); /* broken */
    snprintf(p, sizeof p, "%s/ov-de.conf", dir);
    write_text(p, "[unknown-user]\nheadline = DE override {recipient}\n");
    snprintf(p, sizeof p, "%s/ov-en.conf", dir);
    write_text(p, "[unknown-user]\nheadline = EN override {recipient}\n");
    bg_buf conf;
    bg_buf_init(&conf);
    bg_buf_printf(&conf, "data_dir = %s\nguidance_file = %s/ov-en.conf\n"
                         "guidance_file_de = %s/ov-de.conf\n", dir, dir, dir);
    bg_config *cfg = bg_config_parse(conf.p, conf.len, "t", err, sizeof err);
    assert_non_null(cfg);
    bg_log_set(count_log, NULL);
    bg_lang *l = bg_lang_new(cfg, NULL, err, sizeof err);
    assert_non_null(l);
    static const struct {
        const char *header, *lang, *headline;
        int logs;
    } cases[] = {
        {"Content-Language: de\n", "de", "DE override {recipient}", 0},
        {"Content-Language: es\n", "en", "EN override {recipient}", 0}, /* not installed */
        {"Content-Language: fr\n", "en", "EN override {recipient}", 1}, /* broken */
        {"Content-Language: fr\n", "en", "EN override {recipient}", 0}, /* said once */
        {"", "en", "EN override {recipient}", 0},
        {NULL, NULL, NULL, 0},
    };
    for (size_t i = 0; cases[i].header; i++) {
        size_t len;
        char *msg = report("anna@example.org", cases[i].header, &len);
        bg_read_status rs;
        bg_bounce *b = bg_bounce_read(msg, len, NULL, &rs);
        bg_lang_pick pick;
        log_reset();
        bg_lang_choose(l, "anna@example.org", "", msg, len, b, &pick);
        assert_string_equal(pick.sender, cases[i].lang);
        const char *const *lines;
        assert_int_equal(bg_catalog_lines(pick.catalog, "unknown-user", "headline", &lines), 1);
        assert_string_equal(lines[0], cases[i].headline);
        if (log_lines != cases[i].logs)
            fail_msg("case %zu: %d log lines: %s", i, log_lines, log_all);
        bg_bounce_free(b);
        free(msg);
    }
    bg_lang_free(l);
    bg_config_free(cfg);
    /* no usable default catalogue: no handle, and why */
    bg_buf_reset(&conf);
    bg_buf_printf(&conf, "data_dir = %s/nowhere\n", dir);
    cfg = bg_config_parse(conf.p, conf.len, "t", err, sizeof err);
    err[0] = '\0';
    assert_null(bg_lang_new(cfg, NULL, err, sizeof err));
    assert_non_null(strstr(err, "catalogue missing"));
    bg_config_free(cfg);
    bg_buf_free(&conf);
    bg_log_set(NULL, NULL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Run the CLI; exit code, output (stdout + stderr) in out. */
static int run_cli(char *out, size_t outlen, const char *args)
{
    char cmd[PATH_MAX + 2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", cli, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = '\0';
    char rest[4096]; /* read to the end: a full pipe would kill the CLI */
    while (fread(rest, 1, sizeof rest, f) > 0)
        ;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* bounceguide guidance check: exit codes and lines as an admin sees them;
 * render --lang and the choice through the CLI. */
static void cli_guidance_check(void **state)
{
    (void)state;
    char path[] = "/tmp/bg-test-gcheck-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *ov = "[unknown-usr]\nheadline = x\n[unknown-user]\nheadlin = y\n";
    assert_int_equal(write(fd, ov, strlen(ov)), (ssize_t)strlen(ov));
    close(fd);
    static char out[1 << 17]; /* a whole rendered message */
    char args[PATH_MAX + 200];
    snprintf(args, sizeof args, "guidance check %s", path);
    assert_int_equal(run_cli(out, sizeof out, args), 1);
    char want[PATH_MAX + 200];
    snprintf(want, sizeof want, "%s: [unknown-usr]: unknown section; did you mean [unknown-user]?\n"
                                "%s: [unknown-user] headlin: unknown key; did you mean headline?\n",
             path, path);
    assert_string_equal(out, want);
    /* a syntax error: its line */
    FILE *f = fopen(path, "w");
    fputs("[common]\nintro = {nonsense}\n", f);
    fclose(f);
    assert_int_equal(run_cli(out, sizeof out, args), 1);
    assert_non_null(strstr(out, ":2: unknown placeholder '{nonsense}'"));
    /* clean: 0; every shipped language as a whole language: 0 */
    f = fopen(path, "w");
    fputs("[unknown-user]\nheadline = Mine: {recipient}\n", f);
    fclose(f);
    assert_int_equal(run_cli(out, sizeof out, args), 0);
    assert_non_null(strstr(out, ": ok (an override, 1 sections)"));
    snprintf(args, sizeof args, "guidance check --full %s/conf/guidance/de.conf %s/conf/guidance/fr.conf "
                                "%s/conf/guidance/es.conf %s/conf/guidance/en.conf", top(), top(),
             top(), top());
    assert_int_equal(run_cli(out, sizeof out, args), 0);
    /* an override is not a whole language */
    snprintf(args, sizeof args, "guidance check --full %s", path);
    assert_int_equal(run_cli(out, sizeof out, args), 1);
    assert_non_null(strstr(out, "missing text (English has it)"));
    assert_int_equal(run_cli(out, sizeof out, "guidance"), 2);
    assert_int_equal(run_cli(out, sizeof out, "guidance check"), 2);
    unlink(path);
    /* render: --lang, and the returned message's Content-Language */
    snprintf(args, sizeof args, "render --lang fr %s/tests/golden/exim-three-rcpts.eml", top());
    assert_int_equal(run_cli(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "Content-Language: fr\n"));
    /* a wrapped plain bounce: the preamble and the part label too */
    snprintf(args, sizeof args, "render --lang de %s/tests/golden/plain-remote.eml", top());
    assert_int_equal(run_cli(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "\n\nDies ist eine mehrteilige Nachricht im MIME-Format.\n\n--=_bg-mix-"));
    assert_non_null(strstr(out, "Content-Description: Der Bericht, wie ihn der Mailserver geschickt "
                                "hat\n"));
    snprintf(args, sizeof args, "render %s/tests/golden/lang-de.eml", top());
    assert_int_equal(run_cli(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "Content-Language: de\n"));
}

int main(int argc, char **argv)
{
    (void)argc;
    char self[PATH_MAX];
    if (!realpath(argv[0], self))
        return 1;
    /* O/tests/test_lang -> O/bounceguide */
    snprintf(cli, sizeof cli, "%s/../bounceguide", dirname(self));
    if (access(cli, X_OK) != 0) {
        fprintf(stderr, "test_lang: %s missing (make builds it with the tests)\n", cli);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(languages_complete),
        cmocka_unit_test(check_finds_a_missing_line),
        cmocka_unit_test(check_override_cases),
        cmocka_unit_test(override_misspelt_is_logged),
        cmocka_unit_test(catalog_refuses_control_characters),
        cmocka_unit_test(glob_cases),
        cmocka_unit_test(header_cases),
        cmocka_unit_test(choose_cases),
        cmocka_unit_test(unknown_default_is_logged),
        cmocka_unit_test(data_dir_languages),
        cmocka_unit_test(cli_guidance_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
