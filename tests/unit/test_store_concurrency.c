/* Unit test: 16 processes write 1,000 soft events each for 20 overlapping
 * recipients on one real SQLite file; no count may be lost and every event
 * must be kept. Each process uses its own handle, as Exim's delivery
 * processes do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bg_store.h"
#include "pg_helper.h"

#define NPROC 16
#define NEVENTS 1000
#define NRCPT 20

static int sum_rows(const bg_store_row *r, void *ctx)
{
    long long *acc = ctx;
    acc[0] += r->soft_count;
    acc[1]++;
    return 0;
}

/* A lock timeout in ms, times BG_TEST_TIME_SCALE (set by make valgrind:
 * under memcheck on a busy machine everything runs tens of times slower,
 * and a timeout is not what these tests are about). */
static int scaled_ms(int ms)
{
    const char *e = getenv("BG_TEST_TIME_SCALE");
    int k = e ? atoi(e) : 1;
    return ms * (k >= 1 && k <= 100 ? k : 1);
}

/* One writer process: returns the number of failed records. */
static int writer(const char *path, int id, int nevents)
{
    bg_store *s = bg_store_open(path, scaled_ms(10000), BG_STORE_CREATE, NULL, NULL, 0);
    if (!s)
        return NEVENTS;
    static const bg_store_rule rule = {BG_SUP_COUNT, 1000000, 365LL * 86400, 0};
    int failed = 0;
    for (int i = 0; i < nevents; i++) {
        char rcpt[64], msgid[64];
        snprintf(rcpt, sizeof rcpt, "user%d@example.net", (id + i) % NRCPT);
        snprintf(msgid, sizeof msgid, "p%d-m%d@example.com", id, i);
        bg_store_event e = {0};
        e.sender_domain = "example.com";
        e.recipient = rcpt;
        e.message_id = msgid;
        e.deferred = 1;
        e.category = "mailbox-full";
        e.status = "4.2.2";
        e.reply_code = 452;
        e.diagnostic = "452 4.2.2 Mailbox full";
        e.source = BG_SRC_TRANSPORT;
        e.now = 1790000000LL + i;
        if (bg_store_record(s, &e, &rule, NULL) != BG_STORE_OK)
            failed++;
    }
    bg_store_close(s);
    return failed;
}

/* NPROC writers of nevents each into path; every count must be there. */
static void run_writers(const char *path, int nevents)
{
    /* create the schema once, as the first Exim process would */
    bg_store_close(bg_store_open(path, scaled_ms(pg_is(path) ? 10000 : 1000), BG_STORE_CREATE, NULL, NULL, 0));

    pid_t pids[NPROC];
    for (int p = 0; p < NPROC; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0)
            _exit(writer(path, p, nevents) ? 1 : 0);
    }
    int bad = 0;
    for (int p = 0; p < NPROC; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            bad++;
    }
    assert_int_equal(bad, 0);

    bg_store *s = bg_store_open(path, scaled_ms(1000), 0, NULL, NULL, 0);
    assert_non_null(s);
    long long acc[2] = {0, 0};
    assert_int_equal(bg_store_list(s, "example.com", NULL, NULL, 0, 0, sum_rows, acc), BG_STORE_OK);
    assert_int_equal(acc[1], NRCPT);
    assert_int_equal(acc[0], (long long)NPROC * nevents);
    bg_store_stats st;
    assert_int_equal(bg_store_get_stats(s, NULL, 0, &st), BG_STORE_OK);
    assert_int_equal(st.events, (long long)NPROC * nevents);
    bg_store_close(s);
}

static void sixteen_writers(void **state)
{
    (void)state;
    char dir[] = "/tmp/bg_conc_XXXXXX";
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    char path[128];
    snprintf(path, sizeof path, "%s/s.db", dir);
    run_writers(path, NEVENTS);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Eight processes open one new file at the same moment: each must get a
 * usable store, and the schema must be created once. */
static void racing_creators(void **state)
{
    (void)state;
    char dir[] = "/tmp/bg_race_XXXXXX";
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    char path[128];
    snprintf(path, sizeof path, "%s/new/s.db", dir);
    pid_t pids[8];
    for (int p = 0; p < 8; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            char err[300] = "";
            bg_store *s = bg_store_open(path, scaled_ms(5000), BG_STORE_CREATE, NULL, err, sizeof err);
            if (!s) {
                fprintf(stderr, "racing_creators: open: %s\n", err);
                _exit(1);
            }
            static const bg_store_rule rule = {BG_SUP_ADDRESS, 3, 86400, 0};
            bg_store_event e = {0};
            char rcpt[64];
            snprintf(rcpt, sizeof rcpt, "r%d@example.net", p);
            e.sender_domain = "example.com";
            e.recipient = rcpt;
            e.category = "unknown-user";
            int rc = bg_store_record(s, &e, &rule, NULL);
            if (rc != BG_STORE_OK)
                fprintf(stderr, "racing_creators: record: %s: %s\n", bg_store_status_text(rc),
                        bg_store_errmsg(s));
            bg_store_close(s);
            _exit(rc == BG_STORE_OK ? 0 : 2);
        }
    }
    int bad = 0;
    for (int p = 0; p < 8; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            bad++;
    }
    assert_int_equal(bad, 0);
    bg_store *s = bg_store_open(path, scaled_ms(1000), BG_STORE_RDONLY, NULL, NULL, 0);
    assert_non_null(s);
    bg_store_stats st;
    assert_int_equal(bg_store_get_stats(s, NULL, 0, &st), BG_STORE_OK);
    assert_int_equal(st.rows, 8);
    bg_store_close(s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM bg_schema", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 1); /* migrated once */
    sqlite3_finalize(q);
    sqlite3_close(db);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The same on PostgreSQL (a fleet's central store): 16 connections
 * counting the same 20 recipients lose nothing (the writer lock), and 8
 * creating the schema at once make it once. Fewer events than on SQLite:
 * each is a few round trips to the server. */
static void sixteen_writers_pg(void **state)
{
    /* under Valgrind (a time scale) fewer: 16 processes each ten times slower */
    run_writers(*state, scaled_ms(1) > 1 ? 100 : 250);
}

static void racing_creators_pg(void **state)
{
    const char *path = *state;
    pid_t pids[8];
    for (int p = 0; p < 8; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            char err[300] = "";
            bg_store *s = bg_store_open(path, scaled_ms(20000), BG_STORE_CREATE, NULL, err, sizeof err);
            if (!s) {
                fprintf(stderr, "racing_creators_pg: open: %s\n", err);
                _exit(1);
            }
            bg_store_close(s);
            _exit(0);
        }
    }
    int bad = 0;
    for (int p = 0; p < 8; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            bad++;
    }
    assert_int_equal(bad, 0);
    assert_int_equal(pg_num("SELECT COUNT(*) FROM bg_schema"), 1); /* made once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(racing_creators),
        cmocka_unit_test(sixteen_writers),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(racing_creators_pg, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(sixteen_writers_pg, pg_setup, pg_teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, pg_group_setup, pg_group_teardown);
    return failed;
}
