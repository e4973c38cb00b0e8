/* Unit tests: delivery counters and the bounce-rate guard (schema 5) on
 * real SQLite files -- the operator table (table-driven), sums by domain,
 * operator, category and day within a time range, the bulk-volume peak,
 * the guard's window, reset and exact limit, pruning, the in-place
 * migration of a schema-4 file (tests/unit/data/store-v4.db), and
 * `bounceguide report` / `guard` as a user runs them (table, JSON,
 * Prometheus with its escaping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bg_config.h"
#include "bg_policy.h"
#include "bg_provider.h"
#include "bg_store.h"
#include "bg_store_count.h"
#include "pg_helper.h"

#define HOUR 3600LL
#define DAY 86400LL
#define T0 (1790035200LL) /* 2026-09-22T00:00:00Z, a day's start */

static char tmpdir[256];
static char path[300];
static const char *store_db; /* a PostgreSQL conninfo (pg_helper.h), else path */
static char cli[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bg_count_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    chmod(tmpdir, 0755);
    snprintf(path, sizeof path, "%s/suppression.db", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The same cases on a real PostgreSQL: a fresh schema per case. */
static int setup_pg(void **state)
{
    if (setup(state) != 0 || pg_setup(state) != 0)
        return -1;
    store_db = (const char *)*state;
    return 0;
}

static int teardown_pg(void **state)
{
    store_db = NULL;
    return teardown(state);
}

static bg_store *open_store(int flags)
{
    char err[300];
    bg_store_status st;
    bg_store *s = bg_store_open(store_db ? store_db : path, 2000, flags, &st, err, sizeof err);
    if (!s)
        fail_msg("open: %s", err);
    return s;
}

/* The operators: Workspace and Microsoft 365 tenants under their
 * operator, suffixes on a label boundary only, the recipient domain when
 * there is no host. */
static void provider_table(void **state)
{
    (void)state;
    static const struct {
        const char *host, *domain, *want;
    } cases[] = {
        {"gmail-smtp-in.l.google.com", "gmail.com", "google"},
        {"ASPMX.L.GOOGLE.COM.", "company.example", "google"},
        {"smtp.google.com", "newco.example", "google"},
        {"alt2.aspmx.l.google.com", "", "google"},
        {"company-example.mail.protection.outlook.com", "company.example", "microsoft"},
        {"hotmail-com.olc.protection.outlook.com", "hotmail.com", "microsoft"},
        {"mta7.am0.yahoodns.net", "yahoo.com", "yahoo"},
        {"mx-aol.mail.gm0.yahoodns.net", "aol.com", "yahoo"},
        {"mx01.mail.icloud.com", "family.example", "apple"},
        {"mailsec.protonmail.ch", "p.example", "proton"},
        {"in1-smtp.messagingengine.com", "f.example", "fastmail"},
        {"eu-smtp-inbound-1.mimecast.com", "corp.example", "mimecast"},
        {"mx0a-001.pphosted.com", "corp.example", "proofpoint"},
        {"notgoogle.com", "x.example", "other"},          /* no label boundary */
        {"google.com.evil.example", "x.example", "other"},
        {"127.0.0.1", "remote.test", "other"},
        {"", "gmail.com", "google"},                      /* no host: the consumer domain */
        {"", "Outlook.COM", "microsoft"},
        {NULL, "yahoo.com", "yahoo"},
        {"", "company.example", "unknown"},
        {NULL, NULL, "unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bg_provider *p = bg_provider_find(cases[i].host, cases[i].domain);
        assert_non_null(p);
        if (strcmp(p->id, cases[i].want) != 0)
            fail_msg("%s / %s: %s, want %s", cases[i].host ? cases[i].host : "(null)",
                     cases[i].domain ? cases[i].domain : "(null)", p->id, cases[i].want);
    }
    for (int i = 0; bg_provider_at(i); i++)
        assert_ptr_equal(bg_provider_by_id(bg_provider_at(i)->id), bg_provider_at(i));
    assert_null(bg_provider_by_id("nosuch"));
}

typedef struct groups {
    bg_store_count_group g[16];
    int n;
} groups;

static int collect(const bg_store_count_group *g, void *ctx)
{
    groups *gs = ctx;
    if (gs->n < 16)
        gs->g[gs->n] = *g;
    gs->n++;
    return 0;
}

static void add(bg_store *s, const char *dom, const char *prov, bg_store_outcome o, const char *cat,
                long long n, long long t)
{
    assert_int_equal(bg_store_count_add(s, dom, prov, o, cat, n, t), BG_STORE_OK);
}

static void seed(bg_store *s)
{
    add(s, "example.com", "google", BG_OUT_DELIVERED, "", 900, T0 + 1 * HOUR);
    add(s, "example.com", "google", BG_OUT_BOUNCED, "unknown-user", 40, T0 + 1 * HOUR + 59);
    add(s, "example.com", "microsoft", BG_OUT_DELIVERED, "", 100, T0 + 2 * HOUR);
    add(s, "example.com", "microsoft", BG_OUT_BOUNCED, "mailbox-full", 10, T0 + 2 * HOUR);
    add(s, "example.com", "yahoo", BG_OUT_COMPLAINT, "complaint", 3, T0 + DAY + 5);
    add(s, "example.com", "yahoo", BG_OUT_DELIVERED, "", 1000, T0 + DAY + 5);
    add(s, "example.com", "google", BG_OUT_DEFERRED, "greylisted", 7, T0 + DAY);
    add(s, "example.org", "other", BG_OUT_DELIVERED, "", 50, T0 + 3 * HOUR);
    add(s, "example.org", "other", BG_OUT_DELIVERED, "", 1, T0 + 3 * HOUR + 10); /* the same row */
}

static void sums(void **state)
{
    (void)state;
    bg_store *s = open_store(BG_STORE_CREATE);
    seed(s);
    /* not a known operator, not a domain, not a count */
    assert_int_equal(bg_store_count_add(s, "example.com", "nosuch", BG_OUT_DELIVERED, "", 1, T0), BG_STORE_INVALID);
    assert_int_equal(bg_store_count_add(s, "localhost", "other", BG_OUT_DELIVERED, "", 1, T0), BG_STORE_INVALID);
    assert_int_equal(bg_store_count_add(s, "example.com", "other", BG_OUT_DELIVERED, "", 0, T0), BG_STORE_INVALID);

    groups g = {0};
    assert_int_equal(bg_store_count_report(s, BG_COUNT_BY_DOMAIN, 0, 0, NULL, collect, &g), BG_STORE_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.g[0].key, "example.com");
    assert_int_equal(g.g[0].n[BG_OUT_DELIVERED], 2000);
    assert_int_equal(g.g[0].n[BG_OUT_BOUNCED], 50);
    assert_int_equal(g.g[0].n[BG_OUT_DEFERRED], 7);
    assert_int_equal(g.g[0].n[BG_OUT_COMPLAINT], 3);
    assert_string_equal(g.g[1].key, "example.org");
    assert_int_equal(g.g[1].n[BG_OUT_DELIVERED], 51);

    memset(&g, 0, sizeof g);
    assert_int_equal(bg_store_count_report(s, BG_COUNT_BY_PROVIDER, 0, 0, "example.com", collect, &g), BG_STORE_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.g[0].key, "google");
    assert_int_equal(g.g[0].n[BG_OUT_DELIVERED], 900);
    assert_int_equal(g.g[0].n[BG_OUT_BOUNCED], 40);
    assert_string_equal(g.g[1].key, "microsoft");
    assert_string_equal(g.g[2].key, "yahoo");
    assert_int_equal(g.g[2].n[BG_OUT_COMPLAINT], 3);

    memset(&g, 0, sizeof g);
    assert_int_equal(bg_store_count_report(s, BG_COUNT_BY_CATEGORY, 0, 0, NULL, collect, &g), BG_STORE_OK);
    assert_int_equal(g.n, 5); /* "", complaint, greylisted, mailbox-full, unknown-user */
    assert_string_equal(g.g[0].key, "");
    assert_int_equal(g.g[0].n[BG_OUT_DELIVERED], 2051);
    assert_string_equal(g.g[4].key, "unknown-user");
    assert_int_equal(g.g[4].n[BG_OUT_BOUNCED], 40);

    /* by day, and a range of whole hours: [T0 + 2h, T0 + 1d) */
    memset(&g, 0, sizeof g);
    assert_int_equal(bg_store_count_report(s, BG_COUNT_BY_DAY, 0, 0, NULL, collect, &g), BG_STORE_OK);
    assert_int_equal(g.n, 2);
    char day0[32];
    snprintf(day0, sizeof day0, "%lld", T0);
    assert_string_equal(g.g[0].key, day0);
    assert_int_equal(g.g[0].n[BG_OUT_DELIVERED], 1051);
    assert_int_equal(g.g[1].n[BG_OUT_DELIVERED], 1000);
    memset(&g, 0, sizeof g);
    assert_int_equal(bg_store_count_report(s, BG_COUNT_BY_DOMAIN, T0 + 2 * HOUR + 30, T0 + DAY, NULL, collect, &g),
                     BG_STORE_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.g[0].n[BG_OUT_DELIVERED], 100); /* the 2h row, not the 1h nor the next day's */
    assert_int_equal(g.g[0].n[BG_OUT_BOUNCED], 10);
    assert_int_equal(g.g[0].n[BG_OUT_COMPLAINT], 0);
    bg_store_close(s);
}

typedef struct peak {
    char dom[64];
    long long day, n;
    int calls;
} peak;

static int peak_fn(const char *d, long long day, long long n, void *ctx)
{
    peak *p = ctx;
    snprintf(p->dom, sizeof p->dom, "%s", d);
    p->day = day;
    p->n = n;
    p->calls++;
    return 0;
}

static void bulk_peak_and_prune(void **state)
{
    (void)state;
    bg_store *s = open_store(BG_STORE_CREATE);
    for (int d = 0; d < 3; d++)
        for (int h = 0; h < 24; h += 6)
            add(s, "bulk.example", "google", BG_OUT_DELIVERED, "", d == 1 ? 1300 : 100, T0 + d * DAY + h * HOUR);
    add(s, "bulk.example", "yahoo", BG_OUT_DELIVERED, "", 9999, T0 + DAY);
    peak p = {0};
    assert_int_equal(bg_store_count_peak(s, "google", 0, 0, NULL, peak_fn, &p), BG_STORE_OK);
    assert_int_equal(p.calls, 1);
    assert_string_equal(p.dom, "bulk.example");
    assert_int_equal(p.day, T0 + DAY);
    assert_int_equal(p.n, 5200);
    /* prune the first day */
    int removed = 0;
    assert_int_equal(bg_store_count_expire(s, T0 + DAY, &removed), BG_STORE_OK);
    assert_int_equal(removed, 4);
    groups g = {0};
    assert_int_equal(bg_store_count_report(s, BG_COUNT_BY_DAY, 0, 0, NULL, collect, &g), BG_STORE_OK);
    assert_int_equal(g.n, 2);
    bg_store_close(s);
}

/* The guard: whole hours back from now - window, the exact limit, a
 * minimum volume, and a reset that counts only what came after it. */
static void guard(void **state)
{
    (void)state;
    const char *conf = "[domain held.example]\nguard_bounce_rate = 5%\nguard_window = 6h\nguard_min_volume = 100\n";
    char err[200];
    bg_config *cfg = bg_config_parse(conf, strlen(conf), "t.conf", err, sizeof err);
    assert_non_null(cfg);
    bg_policy *p = bg_policy_new(cfg);
    bg_policy_guard g;
    assert_int_equal(bg_policy_guard_get(p, "other.example", &g), 0); /* off by default */
    assert_int_equal(bg_policy_guard_get(p, "held.example", &g), 1);
    assert_int_equal(g.window, 6 * HOUR);
    assert_int_equal(g.min_volume, 100);
    assert_true(bg_policy_guard_holds(&g, 95, 5));   /* 5 of 100: the limit itself */
    assert_false(bg_policy_guard_holds(&g, 96, 4));
    assert_false(bg_policy_guard_holds(&g, 9, 90 - 1)); /* 99 messages: below the volume */
    double d;
    assert_int_equal(bg_config_parse_percent("0.5%", &d), 0);
    assert_true(d > 0.0049 && d < 0.0051);
    assert_int_equal(bg_config_parse_percent("5", &d), -1); /* 5% or 500%? */
    assert_int_equal(bg_config_parse_percent("0", &d), 0);
    assert_int_equal(bg_config_parse_percent("101%", &d), -1);

    bg_store *s = open_store(BG_STORE_CREATE);
    long long now = T0 + 10 * HOUR + 1800; /* 10:30 */
    add(s, "held.example", "google", BG_OUT_DELIVERED, "", 500, T0 + 3 * HOUR);  /* left the window */
    add(s, "held.example", "google", BG_OUT_DELIVERED, "", 90, T0 + 4 * HOUR);   /* the hour 10:30 - 6h falls in */
    add(s, "held.example", "google", BG_OUT_BOUNCED, "unknown-user", 10, T0 + 9 * HOUR);
    add(s, "held.example", "google", BG_OUT_DEFERRED, "greylisted", 50, T0 + 9 * HOUR); /* not counted */
    bg_store_guard gc;
    assert_int_equal(bg_store_guard_counts(s, "held.example", 6 * HOUR, now, &gc), BG_STORE_OK);
    assert_int_equal(gc.from, T0 + 4 * HOUR);
    assert_int_equal(gc.delivered, 90);
    assert_int_equal(gc.bounced, 10);
    assert_true(bg_policy_guard_holds(&g, gc.delivered, gc.bounced));
    /* an hour later the 04:00 hour has gone: 10 of 10 is below the volume */
    assert_int_equal(bg_store_guard_counts(s, "held.example", 6 * HOUR, now + HOUR, &gc), BG_STORE_OK);
    assert_int_equal(gc.delivered, 0);
    assert_false(bg_policy_guard_holds(&g, gc.delivered, gc.bounced));

    /* a reset at 10:30: the 10:00 hour counts what came after it */
    add(s, "held.example", "google", BG_OUT_BOUNCED, "unknown-user", 30, T0 + 10 * HOUR + 60);
    bg_store_actor a = {BG_SRC_ADMIN, 0, "root", "fixed the list"};
    bg_store_set_actor(s, &a);
    assert_int_equal(bg_store_guard_reset(s, "held.example", now), BG_STORE_OK);
    add(s, "held.example", "google", BG_OUT_BOUNCED, "unknown-user", 2, now + 60);
    add(s, "held.example", "google", BG_OUT_DELIVERED, "", 8, now + 120);
    assert_int_equal(bg_store_guard_counts(s, "held.example", 6 * HOUR, now + 300, &gc), BG_STORE_OK);
    assert_int_equal(gc.reset_at, now);
    assert_int_equal(gc.from, now);
    assert_int_equal(gc.bounced, 2);
    assert_int_equal(gc.delivered, 8);
    assert_string_equal(gc.actor, "root");
    assert_string_equal(gc.note, "fixed the list");
    /* once the reset's hour leaves the window, the window counts again */
    assert_int_equal(bg_store_guard_counts(s, "held.example", HOUR, now + 2 * HOUR, &gc), BG_STORE_OK);
    assert_int_equal(gc.from, T0 + 11 * HOUR);
    assert_int_equal(gc.bounced, 0);
    bg_store_close(s);
    bg_policy_free(p);
    bg_config_free(cfg);
}

/* tests/unit/data/store-v4.db was written by the schema-4 code (esp2 at
 * 08d09af: `suppress import` of three rows, `suppress remove` of one, and
 * a delivery event added by hand), in rollback-journal mode:
 *   example.com gone@example.net  address unknown-user, never expires
 *   example.com full@example.net  soft, 2 events
 *   changes 1-3 added, 4 removed (nosuch.example)
 *   a 'sent' event m1@example.com -> ok@example.net, accepted by 192.0.2.25 */
static void migrate_v4_file(void **state)
{
    (void)state;
    const char *top = getenv("BG_TOP");
    char src[600], cmd[1400];
    snprintf(src, sizeof src, "%s/tests/unit/data/store-v4.db", top && *top ? top : BG_TOP);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, path);
    assert_int_equal(system(cmd), 0);

    /* read-only before any writer: the rows and the log read, no counters */
    bg_store *ro = open_store(BG_STORE_RDONLY);
    int hit = 0;
    assert_int_equal(bg_store_check(ro, "example.com", "gone@example.net", T0, &hit, NULL), BG_STORE_OK);
    assert_int_equal(hit, 1);
    groups g = {0};
    assert_int_equal(bg_store_count_report(ro, BG_COUNT_BY_DOMAIN, 0, 0, NULL, collect, &g), BG_STORE_NOTFOUND);
    bg_store_guard gc;
    assert_int_equal(bg_store_guard_counts(ro, "example.com", DAY, T0, &gc), BG_STORE_NOTFOUND);
    assert_int_equal(bg_store_count_add(ro, "example.com", "google", BG_OUT_DELIVERED, "", 1, T0), BG_STORE_NOTFOUND);
    bg_store_close(ro);

    /* a writer migrates in place: everything kept, counters start */
    bg_store *s = open_store(BG_STORE_CREATE);
    bg_store_row r;
    assert_int_equal(bg_store_get(s, "example.com", "full@example.net", &r), BG_STORE_OK);
    assert_string_equal(r.scope, "soft");
    assert_int_equal(r.soft_count, 2);
    assert_int_equal(bg_store_get(s, "example.com", "nosuch.example", &r), BG_STORE_NOTFOUND);
    bg_store_change_bounds b;
    assert_int_equal(bg_store_change_bounds_get(s, &b), BG_STORE_OK);
    assert_int_equal(b.last_seq, 4);
    int found = 0;
    char host[BG_IP_MAX];
    assert_int_equal(bg_store_sent_to(s, "example.com", "m1@example.com", "ok@example.net", &found, host), BG_STORE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(host, "192.0.2.25");
    add(s, "example.com", "google", BG_OUT_DELIVERED, "", 3, T0);
    assert_int_equal(bg_store_count_report(s, BG_COUNT_BY_DOMAIN, 0, 0, NULL, collect, &g), BG_STORE_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.g[0].n[BG_OUT_DELIVERED], 3);
    bg_store_close(s);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT MAX(version), COUNT(*) FROM bg_schema", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 5);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* Run the CLI; exit code, output in out. */
static int run(char *out, size_t outlen, const char *fmt, ...)
{
    char args[2048], cmd[PATH_MAX + 2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s --db '%s' 2>&1", cli, args, path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void report_cli(void **state)
{
    (void)state;
    char out[32768];
    /* no database, then a database without mail */
    assert_int_equal(run(out, sizeof out, "report"), 1);
    bg_store *s = open_store(BG_STORE_CREATE);
    long long now = (long long)time(NULL);
    long long h = now - now % HOUR;
    add(s, "example.com", "google", BG_OUT_DELIVERED, "", 6000, h - DAY);
    add(s, "example.com", "google", BG_OUT_BOUNCED, "unknown-user", 40, h - DAY);
    add(s, "example.com", "yahoo", BG_OUT_DELIVERED, "", 1000, h);
    add(s, "example.com", "yahoo", BG_OUT_COMPLAINT, "complaint", 30, h);
    add(s, "quiet.example", "microsoft", BG_OUT_DELIVERED, "", 10, h);
    add(s, "quiet.example", "microsoft", BG_OUT_BOUNCED, "a\"b\\c\nd", 1, h); /* a hostile category */
    bg_store_close(s);

    assert_int_equal(run(out, sizeof out, "report"), 0);
    assert_non_null(strstr(out, "SENDING DOMAIN"));
    assert_non_null(strstr(out, "example.com                        7000        40    0.57%         0         30     0.429%"));
    assert_non_null(strstr(out, "! example.com: spam-complaint rate 0.429% reaches 0.3%"));
    assert_non_null(strstr(out, "! example.com: 6000 deliveries to Google on "));
    assert_non_null(strstr(out, "a bulk sender to Gmail from 5,000 a day on"));
    assert_null(strstr(out, "! quiet.example"));
    assert_non_null(strstr(out, "TOTAL"));

    assert_int_equal(run(out, sizeof out, "report --format json --domain example.com"), 0);
    assert_non_null(strstr(out, "{\"key\":\"example.com\",\"delivered\":7000,\"bounced\":40,\"deferred\":0,\"complaints\":30,"));
    assert_non_null(strstr(out, "{\"id\":\"complaint-rate-0.3\""));
    assert_non_null(strstr(out, "{\"id\":\"gmail-bulk-volume\""));
    assert_non_null(strstr(out, "\"guard\":null"));
    assert_null(strstr(out, "quiet.example"));

    assert_int_equal(run(out, sizeof out, "report --by provider"), 0);
    assert_non_null(strstr(out, "Google (Gmail, Workspace)"));
    assert_non_null(strstr(out, "Yahoo (Yahoo, AOL, hosted ISPs)"));

    assert_int_equal(run(out, sizeof out, "report --by category --format prometheus"), 0);
    assert_non_null(strstr(out, "# HELP bounceguide_messages "));
    assert_non_null(strstr(out, "# TYPE bounceguide_messages gauge\n"));
    assert_non_null(strstr(out, "bounceguide_messages{category=\"unknown-user\",outcome=\"bounced\"} 40\n"));
    assert_non_null(strstr(out, "{category=\"a\\\"b\\\\c d\",outcome=\"bounced\"} 1\n")); /* escaped; control chars blanked on insert */
    assert_non_null(strstr(out, "bounceguide_report_window_seconds "));
    assert_int_equal(out[strlen(out) - 1], '\n');

    assert_int_equal(run(out, sizeof out, "report --format prometheus"), 0);
    assert_non_null(strstr(out, "bounceguide_bulk_sender_flag{sending_domain=\"example.com\",rule=\"gmail-bulk-volume\"} 1\n"));
    assert_non_null(strstr(out, "bounceguide_bounce_ratio{sending_domain=\"quiet.example\"} 0.0909091\n"));

    /* --since leaves yesterday out; --output writes a whole file */
    char file[400];
    snprintf(file, sizeof file, "%s/bg.prom", tmpdir);
    assert_int_equal(run(out, sizeof out, "report --since 2h --by day --output %s", file), 0);
    FILE *f = fopen(file, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    assert_non_null(strstr(out, "by day"));
    assert_null(strstr(out, "  6000 ")); /* yesterday's deliveries are out of range */

    assert_int_equal(run(out, sizeof out, "report --by week"), 2);
    assert_int_equal(run(out, sizeof out, "report --format xml"), 2);
    assert_int_equal(run(out, sizeof out, "report --since yesterday-ish"), 2);
}

static void guard_cli(void **state)
{
    (void)state;
    char out[16384], conf[400];
    snprintf(conf, sizeof conf, "%s/bg.conf", tmpdir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fputs("[domain held.example]\nguard_bounce_rate = 5%\nguard_window = 24h\nguard_min_volume = 20\n", f);
    fclose(f);
    bg_store *s = open_store(BG_STORE_CREATE);
    long long now = (long long)time(NULL);
    add(s, "held.example", "other", BG_OUT_DELIVERED, "", 20, now - 60);
    add(s, "held.example", "other", BG_OUT_BOUNCED, "unknown-user", 10, now - 60);
    add(s, "fine.example", "other", BG_OUT_DELIVERED, "", 20, now - 60);
    bg_store_close(s);
    assert_int_equal(run(out, sizeof out, "guard status --config %s", conf), 0);
    assert_non_null(strstr(out, "fine.example                 off"));
    assert_non_null(strstr(out, "held.example                 HOLDS its mail"));
    assert_non_null(strstr(out, "bounce rate 33.3% (10 of 30)"));
    assert_int_equal(run(out, sizeof out, "report --config %s", conf), 0);
    assert_non_null(strstr(out, "! held.example: bounce-rate guard HOLDS"));
    assert_int_equal(run(out, sizeof out, "report --config %s --format json", conf), 0);
    assert_non_null(strstr(out, "\"guard\":{\"holds\":true,\"limit\":0.050000,\"window\":86400,\"min_volume\":20,"));
    assert_int_equal(run(out, sizeof out, "guard reset held.example --config %s --reason 'list cleaned'", conf), 0);
    assert_int_equal(run(out, sizeof out, "guard status held.example --config %s", conf), 0);
    assert_non_null(strstr(out, "lets mail through: bounce rate 0.0% (0 of 0)"));
    assert_non_null(strstr(out, "last reset "));
    assert_non_null(strstr(out, ": list cleaned"));
    assert_int_equal(run(out, sizeof out, "guard reset --config %s", conf), 2);
    assert_int_equal(run(out, sizeof out, "guard frobnicate --config %s", conf), 2);
}

int main(int argc, char **argv)
{
    (void)argc;
    char self[PATH_MAX];
    if (!realpath(argv[0], self))
        return 1;
    snprintf(cli, sizeof cli, "%s/../bounceguide", dirname(self));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(provider_table),
        cmocka_unit_test_setup_teardown(sums, setup, teardown),
        cmocka_unit_test_setup_teardown(bulk_peak_and_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(guard, setup, teardown),
        cmocka_unit_test_setup_teardown(migrate_v4_file, setup, teardown),
        cmocka_unit_test_setup_teardown(report_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(guard_cli, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* the counters' SQL on PostgreSQL (a fleet's central store) */
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(sums, setup_pg, teardown_pg),
        cmocka_unit_test_setup_teardown(bulk_peak_and_prune, setup_pg, teardown_pg),
        cmocka_unit_test_setup_teardown(guard, setup_pg, teardown_pg),
    };
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, pg_group_setup, pg_group_teardown);
    return failed;
}
