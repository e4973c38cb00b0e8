/* pg_helper: a real PostgreSQL for the store's unit tests (Debian's
 * postgresql, tests/fleet/pg.sh: a private server on a unix socket in a
 * temporary directory). One server per test binary (group setup), one
 * fresh schema per test, so the same test functions run on SQLite files
 * and on PostgreSQL and must see the same outcomes. Header-only, for
 * tests/unit/test_store*.c. */
#ifndef PG_HELPER_H
#define PG_HELPER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char pg_dir[256];
static char pg_conninfo[512];
static int pg_schema_n;

/* Run tests/fleet/pg.sh with cmd on pg_dir; 0 on success. out (may be
 * NULL) gets its first line. */
static int pg_sh(const char *cmd, char *out, size_t outsz, const char *extra)
{
    const char *top = getenv("BG_TOP");
    char line[1200];
    snprintf(line, sizeof line, "sh '%s/tests/fleet/pg.sh' %s '%s' %s", top && *top ? top : ".", cmd, pg_dir,
             extra ? extra : "");
    FILE *f = popen(line, "r");
    if (!f)
        return -1;
    char buf[600] = "";
    if (out && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        snprintf(out, outsz, "%s", buf);
    }
    while (fgets(buf, sizeof buf, f)) {
    }
    return pclose(f) == 0 ? 0 : -1;
}

/* cmocka group setup: start the server. */
static int pg_group_setup(void **state)
{
    (void)state;
    snprintf(pg_dir, sizeof pg_dir, "/tmp/bg_pg_XXXXXX");
    if (!mkdtemp(pg_dir))
        return -1;
    chmod(pg_dir, 0755);
    if (pg_sh("start", pg_conninfo, sizeof pg_conninfo, NULL) != 0 || !pg_conninfo[0]) {
        fprintf(stderr, "pg_helper: could not start PostgreSQL in %s (tests/fleet/pg.sh)\n", pg_dir);
        return -1;
    }
    return 0;
}

static int pg_group_teardown(void **state)
{
    (void)state;
    pg_sh("stop", NULL, 0, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pg_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A fresh, empty schema; *state is the conninfo that works in it. */
static __attribute__((unused)) int pg_setup(void **state)
{
    static char info[700];
    char sql[200];
    pg_schema_n++;
    snprintf(sql, sizeof sql, "-c 'CREATE SCHEMA t%d_%d'", (int)getpid(), pg_schema_n);
    if (pg_sh("psql", NULL, 0, sql) != 0)
        return -1;
    snprintf(info, sizeof info, "%s options='-c search_path=t%d_%d'", pg_conninfo, (int)getpid(), pg_schema_n);
    *state = info;
    return 0;
}

static __attribute__((unused)) int pg_teardown(void **state)
{
    (void)state;
    return 0;
}

/* Run SQL in the test's schema (psql -c). */
static __attribute__((unused)) int pg_sql(const char *sql)
{
    char arg[1200];
    snprintf(arg, sizeof arg, "-c 'SET search_path = t%d_%d' -c \"%s\"", (int)getpid(), pg_schema_n, sql);
    return pg_sh("psql", NULL, 0, arg);
}

/* 1 when path names PostgreSQL (a conninfo), not a file. */
static __attribute__((unused)) int pg_is(const char *path)
{
    return strncmp(path, "host=", 5) == 0;
}

/* One integer from a query in the test's schema (-1 on failure). */
static __attribute__((unused)) long long pg_num(const char *sql)
{
    char arg[1200], out[100] = "";
    snprintf(arg, sizeof arg, "-c 'SET search_path = t%d_%d' -c \"%s\"", (int)getpid(), pg_schema_n, sql);
    if (pg_sh("psql", out, sizeof out, arg) != 0 || !out[0])
        return -1;
    return strtoll(out, NULL, 10);
}

/* Empty the test's schema (a fresh store for the next open). */
static __attribute__((unused)) int pg_reset(void)
{
    char arg[300];
    snprintf(arg, sizeof arg, "-c 'SET client_min_messages = warning' -c 'DROP SCHEMA t%d_%d CASCADE' -c 'CREATE SCHEMA t%d_%d'", (int)getpid(),
             pg_schema_n, (int)getpid(), pg_schema_n);
    return pg_sh("psql", NULL, 0, arg);
}

#endif
