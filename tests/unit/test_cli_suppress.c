/* Unit tests: `bounceguide suppress` as a user runs it (the CLI binary
 * next to this test, ASan-built under make unit-asan) on real database
 * files: CSV import edge cases (quotes, CRLF, BOM, aliases, multi-line
 * records, line numbers of bad rows, all or nothing), export round trip,
 * add/remove/list/show/stats/expire and their exit codes, and the change
 * log as history and changes show it (table, CSV, JSON, the cursor, the
 * actor, pruning). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bg_store.h"

static char cli[PATH_MAX];
static char dir[64];
static char db[128];

/* Run the CLI with a shell command tail; returns the exit code, output
 * (stdout + stderr) in out. */
static int run(char *out, size_t outlen, const char *fmt, ...)
{
    char args[2048], cmd[PATH_MAX + 2048 + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' suppress %s --db '%s' 2>&1", cli, args, db);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *name, const char *text)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bg_cli_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/s.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void import_edge_cases(void **state)
{
    (void)state;
    char out[16384];
    /* BOM, CRLF, aliases, a quoted comma, a doubled quote, a quoted line
     * break (the record spans lines 3-4), an unknown extra column */
    write_file("a.csv",
               "\xef\xbb\xbf" "Email,Reason,Code,Created,Sender_Domain,Extra\r\n"
               "a@example.net,\"550 5.1.1 user unknown, sorry\",550,2026-11-01,example.com,x\r\n"
               "b@example.net,\"550 5.2.1 \"\"disabled\"\"\r\nsecond line\",550,1790000000,example.com,y\r\n"
               "c@example.net,552 5.2.2 mailbox full,552,\"Fri, 20 Nov 2026 10:00:00 +0000\",,z\r\n");
    /* c@ has no sending domain: the whole file is refused, line 5 named */
    assert_int_equal(run(out, sizeof out, "import %s/a.csv", dir), 1);
    assert_non_null(strstr(out, "a.csv:5: no sending domain"));
    assert_non_null(strstr(out, "nothing imported"));
    assert_int_equal(access(db, F_OK), -1); /* not even created */
    /* with --domain it goes in, and the categories come from the texts */
    assert_int_equal(run(out, sizeof out, "import %s/a.csv --domain example.org", dir), 0);
    assert_non_null(strstr(out, "3 row(s) imported"));
    assert_int_equal(run(out, sizeof out, "list --json"), 0);
    assert_non_null(strstr(out, "\"recipient\":\"a@example.net\",\"scope\":\"address\",\"category\":\"unknown-user\""));
    assert_non_null(strstr(out, "\"recipient\":\"b@example.net\",\"scope\":\"address\",\"category\":\"mailbox-disabled\""));
    assert_non_null(strstr(out, "\"diagnostic\":\"550 5.2.1 \\\"disabled\\\"  second line\""));
    assert_non_null(strstr(out, "\"sending_domain\":\"example.org\",\"recipient\":\"c@example.net\""));
    assert_non_null(strstr(out, "\"suppressed_since\":\"2026-11-20T10:00:00Z\""));

    /* remote text that looks like a spreadsheet formula is quoted on
     * export and comes back unchanged */
    write_file("f.csv", "address,error\n"
                        "f1@example.net,\"=HYPERLINK(\"\"http://x.example\"\",\"\"y\"\")\"\n"
                        "f2@example.net,'=already quoted\n");
    assert_int_equal(run(out, sizeof out, "import %s/f.csv --domain example.org", dir), 0);
    assert_int_equal(run(out, sizeof out, "export --domain example.org"), 0);
    assert_non_null(strstr(out, "f1@example.net,,\"'=HYPERLINK("));
    assert_non_null(strstr(out, "f2@example.net,,'=already quoted,"));
    assert_int_equal(run(out, sizeof out, "show f1@example.net --json"), 0);
    assert_non_null(strstr(out, "\"diagnostic\":\"=HYPERLINK("));

    /* export, import into a fresh file, export again: identical */
    char e1[160], e2[160];
    snprintf(e1, sizeof e1, "%s/e1.csv", dir);
    snprintf(e2, sizeof e2, "%s/e2.csv", dir);
    assert_int_equal(run(out, sizeof out, "export %s", e1), 0);
    char saved[128];
    snprintf(saved, sizeof saved, "%s", db);
    snprintf(db, sizeof db, "%s/copy.db", dir);
    assert_int_equal(run(out, sizeof out, "import %s", e1), 0);
    assert_int_equal(run(out, sizeof out, "export %s", e2), 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", e1, e2);
    assert_int_equal(system(cmd), 0);
    snprintf(db, sizeof db, "%s", saved);
}

static void import_bad_lines(void **state)
{
    (void)state;
    char out[16384];
    static const struct {
        const char *row;
        const char *want;
    } bad[] = {
        {"x@@example.net,550,e,2026-11-01", "bad address or domain syntax"},
        {"x@example.net,abc,e,2026-11-01", "bad reply code"},
        {"x@example.net,550,e,yesterday", "bad created_at time"},
        {"x@example.net,550,e,2026-11-01,extra", "5 fields, the header has 4"},
        {"x@example.net,550,\"e,2026-11-01", "unterminated quoted field"},
        {"x@example.net,550,e\"x,2026-11-01", "quote inside an unquoted field"},
        {NULL, NULL},
    };
    for (int i = 0; bad[i].row; i++) {
        char text[600];
        snprintf(text, sizeof text,
                 "address,code,error,created_at\nok@example.net,550,fine,2026-11-01\n%s\n", bad[i].row);
        write_file("b.csv", text);
        assert_int_equal(run(out, sizeof out, "import %s/b.csv --domain example.com", dir), 1);
        if (!strstr(out, "b.csv:3: ") || !strstr(out, bad[i].want))
            fail_msg("row %d: got %s", i, out);
        assert_non_null(strstr(out, "nothing imported"));
    }
    /* an unknown category, scope or sending domain in the columns */
    write_file("c.csv", "address,category,scope,sending_domain\n"
                        "a@example.net,no-such,address,example.com\n"
                        "b@example.net,unknown-user,domain,example.com\n"
                        "c@example.net,unknown-user,address,not_a domain\n"
                        "example.net,unknown-domain,domain,example.com\n");
    assert_int_equal(run(out, sizeof out, "import %s/c.csv", dir), 1);
    assert_non_null(strstr(out, "c.csv:2: unknown category"));
    assert_non_null(strstr(out, "c.csv:3: scope domain does not fit"));
    assert_non_null(strstr(out, "c.csv:4: bad sending domain syntax"));
    assert_null(strstr(out, "c.csv:5"));
    assert_non_null(strstr(out, "3 bad line(s); nothing imported"));
    /* nothing at all was written by any of these */
    assert_int_equal(access(db, F_OK), -1);
    write_file("d.csv", "");
    assert_int_equal(run(out, sizeof out, "import %s/d.csv --domain example.com", dir), 1);
    assert_non_null(strstr(out, "header line"));
    write_file("e.csv", "code,error\n550,x\n");
    assert_int_equal(run(out, sizeof out, "import %s/e.csv --domain example.com", dir), 1);
    assert_non_null(strstr(out, "no address column"));
    /* --dry-run checks without writing */
    write_file("f.csv", "address\nx@example.net\n");
    assert_int_equal(run(out, sizeof out, "import %s/f.csv --domain example.com --dry-run", dir), 0);
    assert_non_null(strstr(out, "1 row(s) would be imported"));
    assert_int_equal(access(db, F_OK), -1);
}

static void admin_commands(void **state)
{
    (void)state;
    char out[16384];
    assert_int_equal(run(out, sizeof out, "list"), 1); /* no database yet */
    assert_non_null(strstr(out, "no suppression database"));
    assert_int_equal(run(out, sizeof out, "add Bob@Example.NET --domain example.com --category unknown-user"), 0);
    assert_int_equal(run(out, sizeof out, "add nosuch.example --domain example.com --expires 30d"), 0);
    assert_int_equal(run(out, sizeof out, "add x@example.net --domain example.com --category bogus"), 1);
    assert_int_equal(run(out, sizeof out, "add x@example.net"), 2);
    assert_int_equal(run(out, sizeof out, "add x@example.net --domain 'bad domain'"), 2);
    assert_int_equal(run(out, sizeof out, "add x@example.net --domain example.com --expires soon"), 1);
    assert_int_equal(run(out, sizeof out, "list"), 0);
    assert_non_null(strstr(out, "bob@example.net"));
    assert_non_null(strstr(out, "nosuch.example"));
    assert_int_equal(run(out, sizeof out, "list --category unknown-user --domain example.com"), 0);
    assert_null(strstr(out, "nosuch.example"));
    /* show an address: its own row and its domain's row */
    assert_int_equal(run(out, sizeof out, "show someone@nosuch.example"), 0);
    assert_non_null(strstr(out, "SUPPRESSED"));
    assert_int_equal(run(out, sizeof out, "show nobody@else.example"), 1);
    assert_int_equal(run(out, sizeof out, "stats --json"), 0);
    assert_non_null(strstr(out, "\"rows\":2,\"active\":2"));
    assert_int_equal(run(out, sizeof out, "remove bob@example.net --domain example.org"), 1);
    assert_int_equal(run(out, sizeof out, "remove bob@example.net --domain example.com"), 0);
    assert_non_null(strstr(out, "removed 1 row(s)"));
    assert_int_equal(run(out, sizeof out, "expire"), 0);
    assert_non_null(strstr(out, "expired 0 row(s)"));
    assert_int_equal(run(out, sizeof out, "frobnicate"), 2);
    assert_int_equal(run(out, sizeof out, "list --bogus"), 2);
    struct stat st;
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
}

/* Run SQL on the test database (to age rows and changes: the command has
 * no clock to set). */
static void sql(const char *q)
{
    sqlite3 *d;
    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(d, q, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", q, err);
    sqlite3_close(d);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void history_and_changes(void **state)
{
    (void)state;
    char out[32768], want[256];
    struct passwd *pw = getpwuid(getuid());
    const char *me = pw ? pw->pw_name : "";
    assert_int_equal(run(out, sizeof out, "add bob@example.net --domain example.com --category unknown-user "
                                          "--reason 'ticket 4711'"), 0);
    assert_int_equal(run(out, sizeof out, "add gone.example --domain example.com --expires 30d"), 0);
    assert_int_equal(run(out, sizeof out, "remove bob@example.net --domain example.com --reason 'works again'"), 0);
    /* history: bob's two changes, oldest first, who and why */
    assert_int_equal(run(out, sizeof out, "history Bob@example.net"), 0);
    const char *a = strstr(out, " added "), *r = strstr(out, " removed ");
    assert_non_null(a);
    assert_non_null(r);
    assert_true(a < r);
    assert_non_null(strstr(out, "ticket 4711"));
    assert_non_null(strstr(out, "works again"));
    if (*me)
        assert_non_null(strstr(out, me));
    assert_null(strstr(out, "gone.example"));
    assert_int_equal(run(out, sizeof out, "history bob@example.net --format json"), 0);
    snprintf(want, sizeof want, "\"actor\":{\"uid\":%d,\"user\":\"%s\"}", (int)getuid(), me);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "\"op\":\"removed\",\"sending_domain\":\"example.com\",\"recipient\":\"bob@example.net\""));
    assert_non_null(strstr(out, "\"note\":\"works again\""));
    assert_int_equal(out[0], '[');
    /* an address's history includes the row of its domain */
    assert_int_equal(run(out, sizeof out, "history x@gone.example --format csv"), 0);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "seq,time,op,sending_domain,recipient,scope,category,status,reply_code,reply,"));
    assert_non_null(strstr(out, ",added,example.com,gone.example,domain,recipient-suppressed,"));
    assert_int_equal(run(out, sizeof out, "history nobody@example.net"), 1);
    assert_non_null(strstr(out, "no recorded changes for nobody@example.net"));
    assert_int_equal(run(out, sizeof out, "history bob@example.net --format xml"), 2);
    assert_int_equal(run(out, sizeof out, "expire --format json"), 2); /* no listing */

    /* changes: the whole log, and the cursor to follow it */
    assert_int_equal(run(out, sizeof out, "changes --format json"), 0);
    assert_non_null(strstr(out, "\"last_seq\":3,\"pruned_seq\":0,\"complete\":true,\"changes\":["));
    assert_non_null(strstr(out, "],\"next_since\":3,\"more\":false}"));
    assert_non_null(strstr(out, "{\"seq\":1,"));
    assert_non_null(strstr(out, "{\"seq\":3,"));
    assert_int_equal(run(out, sizeof out, "changes --since 1 --format csv"), 0);
    assert_int_equal(count_lines(out), 3);
    assert_non_null(strstr(out, "\n2,"));
    assert_int_equal(run(out, sizeof out, "changes --since 0 --limit 2 --format json"), 0);
    assert_non_null(strstr(out, "],\"next_since\":2,\"more\":true}"));
    assert_null(strstr(out, "{\"seq\":3,"));
    assert_int_equal(run(out, sizeof out, "changes --since 3"), 0);
    assert_non_null(strstr(out, "0 change(s); next: bounceguide suppress changes --since 3"));
    assert_int_equal(run(out, sizeof out, "changes --since 7d --domain example.com"), 0);
    assert_non_null(strstr(out, "3 change(s)"));
    assert_int_equal(run(out, sizeof out, "changes --since 2099-01-01"), 0);
    assert_non_null(strstr(out, "0 change(s); next: bounceguide suppress changes --since 3"));
    assert_int_equal(run(out, sizeof out, "changes --since yesterday"), 2);
    assert_int_equal(run(out, sizeof out, "changes --limit 0"), 2);
    /* a cursor past the log's end: another (new, restored) database */
    assert_int_equal(run(out, sizeof out, "changes --since 99 --format json"), 3);
    assert_non_null(strstr(out, "\"complete\":false"));
    assert_non_null(strstr(out, "past this change log's last change (3)"));
    /* the snapshot: rows in force, numbered with the log's end */
    assert_int_equal(run(out, sizeof out, "changes --snapshot --format json"), 0);
    assert_non_null(strstr(out, "\"snapshot\":true,\"changes\":["));
    assert_non_null(strstr(out, "{\"seq\":3,\"time\":"));
    assert_non_null(strstr(out, "\"op\":\"snapshot\",\"sending_domain\":\"example.com\",\"recipient\":\"gone.example\""));
    assert_null(strstr(out, "bob@example.net"));
    assert_int_equal(run(out, sizeof out, "changes --snapshot --since 2"), 2);

    /* import: one change per row, source import, the file and the reason */
    write_file("i.csv", "address,error\ni1@example.net,550 5.1.1 user unknown\ni2@example.net,\n");
    assert_int_equal(run(out, sizeof out, "import %s/i.csv --domain example.com --reason 'old ESP list'", dir), 0);
    assert_int_equal(run(out, sizeof out, "changes --since 3 --format json"), 0);
    assert_non_null(strstr(out, "\"op\":\"added\",\"sending_domain\":\"example.com\",\"recipient\":\"i1@example.net\""));
    assert_non_null(strstr(out, "\"source\":\"import\""));
    snprintf(want, sizeof want, "\"note\":\"import of %s/i.csv: old ESP list\"", dir);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "\"last_seq\":5,"));

    /* expire: a row whose end passed goes into the log (source expire),
     * and changes older than suppress_change_retention go */
    sql("UPDATE bg_suppression SET expires_at = 1 WHERE recipient = 'gone.example'");
    sql("UPDATE bg_change SET at = at - 400 * 86400 WHERE seq <= 2");
    assert_int_equal(run(out, sizeof out, "expire"), 0);
    assert_non_null(strstr(out, "expired 1 row(s), 0 old event(s), 2 old change(s)"));
    assert_int_equal(run(out, sizeof out, "history gone.example --format json"), 0);
    assert_non_null(strstr(out, "\"op\":\"expired\""));
    assert_non_null(strstr(out, "\"source\":\"expire\""));
    assert_null(strstr(out, "\"op\":\"added\"")); /* seq 2, pruned */
    /* a reader that stopped at 1 missed 2: told to start again */
    assert_int_equal(run(out, sizeof out, "changes --since 1"), 3);
    assert_non_null(strstr(out, "the changes after 1 were pruned"));
    assert_non_null(strstr(out, "--snapshot"));
    assert_int_equal(run(out, sizeof out, "changes --since 2 --format json"), 0);
    assert_non_null(strstr(out, "\"pruned_seq\":2,\"complete\":true"));
    assert_non_null(strstr(out, "{\"seq\":3,"));
    assert_non_null(strstr(out, "\"next_since\":6,"));
}

/* A schema-3 file read by history/changes (read-only: not migrated). */
static void history_old_schema(void **state)
{
    (void)state;
    char out[4096], cmd[PATH_MAX + 300];
    const char *top = getenv("BG_TOP");
    snprintf(cmd, sizeof cmd, "cp '%s/tests/unit/data/store-v3.db' '%s'", top && *top ? top : BG_TOP, db);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run(out, sizeof out, "history gone@example.net"), 1);
    assert_non_null(strstr(out, "no change log yet"));
    assert_int_equal(run(out, sizeof out, "changes"), 1);
    /* a writer upgrades it; the log starts empty */
    assert_int_equal(run(out, sizeof out, "remove gone@example.net --domain example.com"), 0);
    assert_int_equal(run(out, sizeof out, "history gone@example.net --format json"), 0);
    assert_non_null(strstr(out, "\"seq\":1,"));
    assert_non_null(strstr(out, "\"op\":\"removed\""));
    assert_non_null(strstr(out, "\"reply\":\"550 5.1.1 <x>: User unknown\""));
}

static void write_bytes(const char *name, const char *text, size_t len)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* The exports of other services go in as they are: their header names
 * and reason words (Amazon SES, Postmark, Mailgun's three lists). */
static void import_esp_formats(void **state)
{
    (void)state;
    char out[16384];
    write_file("ses.csv", "EmailAddress,Reason,LastUpdateTime\n"
                          "ses1@example.net,BOUNCE,1790000000\n"
                          "ses2@example.net,COMPLAINT,2026-11-02T08:00:00.123Z\n");
    assert_int_equal(run(out, sizeof out, "import %s/ses.csv --domain example.com", dir), 0);
    assert_non_null(strstr(out, "2 row(s) imported"));
    write_file("pm.csv", "Email Address,Suppression Reason,Origin,Created At\n"
                         "pm1@example.net,HardBounce,Recipient,2026-11-03T10:00:00-04:00\n"
                         "pm2@example.net,SpamComplaint,Recipient,2026-11-03T10:00:00Z\n"
                         "pm3@example.net,ManualSuppression,Recipient,2026-11-03T10:00:00Z\n"
                         "pm4@example.net,ManualSuppression,Customer,2026-11-03T10:00:00Z\n");
    assert_int_equal(run(out, sizeof out, "import %s/pm.csv --domain example.com", dir), 0);
    write_file("mgb.csv", "address,code,error,created_at\n"
                          "mg1@example.net,550,No such user here,\"Thu, 05 Nov 2026 10:00:00 UTC\"\n");
    write_file("mgc.csv", "address,created_at\nmg2@example.net,\"Thu, 05 Nov 2026 10:00:00 UTC\"\n");
    write_file("mgu.csv", "address,tags,created_at\nmg3@example.net,*,\"Thu, 05 Nov 2026 10:00:00 UTC\"\n");
    assert_int_equal(run(out, sizeof out, "import %s/mgb.csv --domain example.com", dir), 0);
    assert_int_equal(run(out, sizeof out, "import %s/mgc.csv --domain example.com --category complaint", dir), 0);
    assert_int_equal(run(out, sizeof out, "import %s/mgu.csv --domain example.com", dir), 0);
    assert_int_equal(run(out, sizeof out, "list --format csv"), 0);
    static const char *const want[] = {
        "ses1@example.net,,,2026-09-21T14:13:20Z,example.com,recipient-suppressed,",
        "ses2@example.net,,,2026-11-02T08:00:00Z,example.com,complaint,",
        "pm1@example.net,,,2026-11-03T14:00:00Z,example.com,recipient-suppressed,",
        "pm2@example.net,,,2026-11-03T10:00:00Z,example.com,complaint,",
        "pm3@example.net,,,2026-11-03T10:00:00Z,example.com,unsubscribed,",
        "pm4@example.net,,,2026-11-03T10:00:00Z,example.com,recipient-suppressed,",
        "mg1@example.net,550,No such user here,2026-11-05T10:00:00Z,example.com,unknown-user,",
        "mg2@example.net,,,2026-11-05T10:00:00Z,example.com,complaint,",
        "mg3@example.net,,,2026-11-05T10:00:00Z,example.com,unsubscribed,",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out, want[i]))
            fail_msg("missing %s in\n%s", want[i], out);
    /* complaints and unsubscribes are kept until removed (the policy) */
    assert_non_null(strstr(out, "ses2@example.net,,,2026-11-02T08:00:00Z,example.com,complaint,,address,2026-11-02T08:00:00Z,never,"));
    /* an unknown --category is refused before anything is read */
    assert_int_equal(run(out, sizeof out, "import %s/mgc.csv --domain example.com --category nosuch", dir), 1);
    /* stdin streams too (copied aside, read twice) */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "import - < %s/ses.csv --domain example.org --dry-run", dir);
    assert_int_equal(run(out, sizeof out, "%s", cmd), 0);
    assert_non_null(strstr(out, "2 row(s) would be imported"));
}

/* A NUL inside a field is refused with its line (it once cut the field
 * silently); whatever of the file an error repeats is escaped. */
static void import_hostile_bytes(void **state)
{
    (void)state;
    char out[16384];
    static const char nul[] = "address,error\n"
                              "a@example.net,fine\n"
                              "b@example.net,\"bad\0tail\"\n"
                              "c@example.net,fine\n";
    write_bytes("nul.csv", nul, sizeof nul - 1);
    assert_int_equal(run(out, sizeof out, "import %s/nul.csv --domain example.com", dir), 1);
    assert_non_null(strstr(out, "nul.csv:3: malformed CSV: NUL byte in a field"));
    assert_non_null(strstr(out, "1 bad line(s); nothing imported"));
    assert_int_equal(access(db, F_OK), -1);
    /* an escape sequence in a bad value, a C1 control, a stray byte */
    write_file("esc.csv", "address,code\n"
                          "\x1b[2J\x1b]0;owned\x07@example.net,550\n"
                          "d@example.net,5\xc2\x9b" "0\n"
                          "e\xff@exa mple.net,550\n");
    assert_int_equal(run(out, sizeof out, "import %s/esc.csv --domain example.com", dir), 1);
    assert_null(strchr(out, '\x1b'));
    assert_null(strchr(out, '\x07'));
    assert_null(strstr(out, "\xc2\x9b"));
    assert_null(strchr(out, '\xff'));
    assert_non_null(strstr(out, "esc.csv:2: bad address or domain syntax: \"\\x1b[2J\\x1b]0;owned\\x07@example.net\""));
    assert_non_null(strstr(out, "esc.csv:3: bad reply code: \"5\\xc2\\x9b0\""));
    assert_non_null(strstr(out, "esc.csv:4: bad address or domain syntax: \"e\\xff@exa mple.net\""));
    /* the file name too */
    write_file("n\x1b[31m.csv", "address\nx@example.net,extra\n");
    assert_int_equal(run(out, sizeof out, "import '%s/n\x1b[31m.csv' --domain example.com", dir), 1);
    assert_null(strchr(out, '\x1b'));
    assert_non_null(strstr(out, "n\\x1b[31m.csv:2: 2 fields, the header has 1"));
}

/* --format on every listing verb; --json stays an alias; export --json
 * is JSON. */
static void listing_formats(void **state)
{
    (void)state;
    char out[16384];
    assert_int_equal(run(out, sizeof out, "add bob@example.net --domain example.com --category unknown-user"), 0);
    assert_int_equal(run(out, sizeof out, "add example.org --domain example.com"), 0);
    static const struct {
        const char *args;
        const char *want;
    } cases[] = {
        {"list", "SENDING DOMAIN"},
        {"list --format table", "SENDING DOMAIN"},
        {"list --format csv", "address,code,error,created_at,sending_domain,category,"},
        {"list --format json", "[\n  {\"sending_domain\":\"example.com\""},
        {"list --json", "[\n  {\"sending_domain\":\"example.com\""},
        {"show bob@example.net --format csv", "bob@example.net,,added by an administrator,"},
        {"show bob@example.net --format json", "\"recipient\":\"bob@example.net\""},
        {"show bob@example.net --json", "\"recipient\":\"bob@example.net\""},
        {"show bob@example.net", "SUPPRESSED"},
        {"export", "address,code,error,created_at,"},
        {"export --format csv", "address,code,error,created_at,"},
        {"export --json", "[\n  {\"sending_domain\":\"example.com\""},
        {"export --format json", "\"recipient\":\"example.org\",\"scope\":\"domain\""},
        {"export --format table", "SENDING DOMAIN"},
        {"stats", "in force:            2"},
        {"stats --format json", "\"rows\":2,\"active\":2"},
        {"stats --json", "\"rows\":2,\"active\":2"},
        {"stats --format csv", "sending_domain,category,active\r\nexample.com,recipient-suppressed,1\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (run(out, sizeof out, "%s", cases[i].args) != 0 || !strstr(out, cases[i].want))
            fail_msg("suppress %s: want %s in\n%s", cases[i].args, cases[i].want, out);
    }
    assert_int_equal(run(out, sizeof out, "list --format yaml"), 2);
    assert_non_null(strstr(out, "--format \"yaml\": table, csv or json"));
    assert_int_equal(run(out, sizeof out, "list --json --format csv"), 2);
    assert_int_equal(run(out, sizeof out, "add x@example.net --domain example.com --format json"), 2);
}

/* Bulk removal: a file, a category, a date, a sending domain, together;
 * --dry-run shows and keeps; every row removed is a change with the
 * caller and the reason. */
static void remove_bulk(void **state)
{
    (void)state;
    char out[16384];
    write_file("seed.csv",
               "address,sending_domain,category,created_at\n"
               "a1@example.net,example.com,unknown-user,2026-01-10\n"
               "a2@example.net,example.com,unknown-user,2026-06-10\n"
               "a3@example.net,example.com,complaint,2026-01-10\n"
               "a1@example.net,example.org,unknown-user,2026-01-10\n"
               "b1@example.net,example.org,mailbox-disabled,2026-02-10\n"
               "c1@example.net,example.org,unknown-user,2026-03-10\n");
    assert_int_equal(run(out, sizeof out, "import %s/seed.csv", dir), 0);
    /* a filter is needed */
    assert_int_equal(run(out, sizeof out, "remove"), 2);
    assert_int_equal(run(out, sizeof out, "remove x@example.net --file %s/seed.csv", dir), 2);
    assert_int_equal(run(out, sizeof out, "remove --before yesterday-ish"), 2);
    /* category and date together, dry run: shows, keeps */
    assert_int_equal(run(out, sizeof out, "remove --category unknown-user --before 2026-05-01 --dry-run"), 0);
    assert_non_null(strstr(out, "3 row(s) would be removed"));
    assert_non_null(strstr(out, "c1@example.net"));
    assert_non_null(strstr(out, "example.com              a1@example.net"));
    assert_non_null(strstr(out, "example.org              a1@example.net"));
    assert_null(strstr(out, "a2@example.net"));
    assert_int_equal(run(out, sizeof out, "stats --format json"), 0);
    assert_non_null(strstr(out, "\"rows\":6"));
    /* plus the sending domain (--sender-domain is --domain) */
    assert_int_equal(run(out, sizeof out, "remove --category unknown-user --before 2026-05-01 "
                                          "--sender-domain example.org --reason 'old list'"), 0);
    assert_non_null(strstr(out, "removed 2 row(s)"));
    assert_int_equal(run(out, sizeof out, "show a1@example.net --format csv"), 0);
    assert_non_null(strstr(out, ",example.com,unknown-user,"));
    assert_null(strstr(out, ",example.org,"));
    /* a file: one address per line, comments, or an export's address column */
    write_file("rm.txt", "# gone\n\nA2@Example.NET\nb1@example.net\n");
    assert_int_equal(run(out, sizeof out, "remove --file %s/rm.txt --dry-run", dir), 0);
    assert_non_null(strstr(out, "2 row(s) would be removed"));
    write_file("rm.csv", "code,email\n550,a2@example.net\n550,b1@example.net\n");
    assert_int_equal(run(out, sizeof out, "remove --file %s/rm.csv --domain example.com --reason 'ticket 9'", dir), 0);
    assert_non_null(strstr(out, "removed 1 row(s)"));
    /* a bad line: nothing is removed, the line is named (escaped) */
    write_file("bad.txt", "b1@example.net\nnot an \x1b[1maddress\n");
    assert_int_equal(run(out, sizeof out, "remove --file %s/bad.txt", dir), 1);
    assert_non_null(strstr(out, "bad.txt:2: not an address or domain: \"not an \\x1b[1maddress\""));
    assert_non_null(strstr(out, "nothing removed"));
    assert_int_equal(run(out, sizeof out, "show b1@example.net"), 0);
    /* every removal is in the log with who and why */
    assert_int_equal(run(out, sizeof out, "changes --format csv"), 0);
    assert_non_null(strstr(out, ",removed,example.org,a1@example.net,address,unknown-user,"));
    assert_non_null(strstr(out, "old list"));
    assert_non_null(strstr(out, ",removed,example.com,a2@example.net,address,unknown-user,"));
    assert_non_null(strstr(out, "ticket 9"));
    /* the whole of one sending domain */
    assert_int_equal(run(out, sizeof out, "remove --domain example.org"), 0);
    assert_non_null(strstr(out, "removed 1 row(s)"));
    assert_int_equal(run(out, sizeof out, "remove --domain example.org"), 1);
    assert_non_null(strstr(out, "removed 0 row(s)"));
}

int main(int argc, char **argv)
{
    (void)argc;
    char self[PATH_MAX];
    if (!realpath(argv[0], self))
        return 1;
    /* O/tests/test_cli_suppress -> O/bounceguide */
    snprintf(cli, sizeof cli, "%s/../bounceguide", dirname(self));
    if (access(cli, X_OK) != 0) {
        fprintf(stderr, "test_cli_suppress: %s missing (make builds it with the tests)\n", cli);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(import_edge_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(import_bad_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(history_and_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(history_old_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(import_esp_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(import_hostile_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(listing_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_bulk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
