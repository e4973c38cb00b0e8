/* Unit tests: the suppression store's change log (schema 4) on real SQLite
 * files -- which operation logs what (a table of steps through every path
 * that writes bg_suppression), the migration of a schema-3 file, sequence
 * numbers that never go back or repeat across processes (two writers and a
 * reader following them), pruning, the query filters, rollback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bg_store.h"
#include "pg_helper.h"

#define T0 1790000000LL /* 2026-09-21 */
#define DAY 86400LL

static char tmpdir[256];
static char path[700];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bg_change_XXXXXX");
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

/* The same cases on PostgreSQL: path is a fresh schema's conninfo. */
static int setup_pg(void **state)
{
    void *info;
    if (pg_setup(&info) != 0)
        return -1;
    snprintf(path, sizeof path, "%s", (const char *)info);
    (void)state;
    return 0;
}

static bg_store *open_rw(void)
{
    char err[300];
    bg_store_status st;
    bg_store *s = bg_store_open(path, pg_is(path) ? 10000 : 2000, BG_STORE_CREATE, &st, err, sizeof err);
    if (!s)
        fail_msg("open: %s", err);
    return s;
}

static const bg_store_rule rule_address = {BG_SUP_ADDRESS, 3, 7 * DAY, 365 * DAY};
static const bg_store_rule rule_short = {BG_SUP_ADDRESS, 3, 7 * DAY, DAY};
static const bg_store_rule rule_domain = {BG_SUP_DOMAIN, 3, 7 * DAY, 30 * DAY};
static const bg_store_rule rule_soft = {BG_SUP_COUNT, 3, 7 * DAY, 30 * DAY};
static const bg_store_rule rule_none = {BG_SUP_NONE, 3, 7 * DAY, 0};

/* Collect changes into a small array. */
typedef struct got {
    bg_store_change c[16];
    int n;
} got;

static int collect(const bg_store_change *c, void *ctx)
{
    got *g = ctx;
    if (g->n < 16)
        g->c[g->n] = *c;
    g->n++;
    return 0;
}

/* The changes after seq. */
static void changes_after(bg_store *s, long long after, got *g)
{
    memset(g, 0, sizeof *g);
    bg_store_change_query q = {.after_seq = after};
    assert_int_equal(bg_store_changes(s, &q, collect, g), BG_STORE_OK);
}

/* ---- which operation logs what ---- */

typedef enum { A_HARD, A_SHORT, A_DOMAIN, A_SOFT, A_INFO, A_INBOUND, A_DELIVER, A_PUT, A_REMOVE, A_EXPIRE } act;

/* One step; n changes are expected, each with op, active, source, and
 * (when set) key (recipient) and a note containing note_has. Times: at is
 * an offset from T0 for Exim's paths and expiry; admin rows are put at the
 * real time (bg_store_put has no clock argument), put_exp their end from
 * now (0 = never). */
static const struct step {
    act a;
    const char *dom, *rcpt, *msgid, *cat;
    long long at;
    long long put_exp;
    const char *put_scope;
    int n;
    const char *op;
    int active;
    const char *source;
    const char *key;
    const char *note_has;
} steps[] = {
    /* a hard failure suppresses: one change with the reply and message */
    {A_HARD, "example.com", "bob@example.net", "m1@x", "unknown-user", 0, 0, NULL, 1, "suppressed", 1, "transport", "bob@example.net", NULL},
    /* the same event again: a duplicate changes nothing */
    {A_HARD, "example.com", "bob@example.net", "m1@x", "unknown-user", 0, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    /* a new failure a day later renews the end: updated */
    {A_HARD, "example.com", "bob@example.net", "m2@x", "unknown-user", DAY, 0, NULL, 1, "updated", 1, "transport", NULL, "until 2027-09-22"},
    /* ... in the same second nothing moves: not logged */
    {A_HARD, "example.com", "bob@example.net", "m3@x", "unknown-user", DAY, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    /* a soft event or an info event on a hard row in force: nothing */
    {A_SOFT, "example.com", "bob@example.net", "m4@x", "mailbox-full", DAY, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    {A_INFO, "example.com", "bob@example.net", "m5@x", "network-error", DAY, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    /* another category for the same row: updated, saying so */
    {A_HARD, "example.com", "bob@example.net", "m6@x", "mailbox-disabled", 2 * DAY, 0, NULL, 1, "updated", 1, "transport", NULL, "category unknown-user -> mailbox-disabled"},
    /* soft events that leave a row counting are not logged ... */
    {A_SOFT, "example.com", "full@example.net", "s1@x", "mailbox-full", 0, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    {A_SOFT, "example.com", "full@example.net", "s2@x", "mailbox-full", DAY, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    /* ... the one that crosses the threshold is */
    {A_SOFT, "example.com", "full@example.net", "s3@x", "mailbox-full", 2 * DAY, 0, NULL, 1, "suppressed", 1, "transport", "full@example.net", "3 soft events within 7d (threshold 3)"},
    /* a fourth renews the soft suppression */
    {A_SOFT, "example.com", "full@example.net", "s4@x", "mailbox-full", 3 * DAY, 0, NULL, 1, "updated", 1, "transport", NULL, "until"},
    /* a delivery lifts it (logged with what it was, not in force) */
    {A_DELIVER, "example.com", "full@example.net", "d1@x", NULL, 4 * DAY, 0, NULL, 1, "lifted", 0, "transport", "full@example.net", "delivered (accepted by 198.51.100.25): soft count cleared"},
    /* ... and again: nothing left to clear */
    {A_DELIVER, "example.com", "full@example.net", "d2@x", NULL, 4 * DAY, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    /* a delivery that only resets a count, or finds no row: nothing */
    {A_SOFT, "example.com", "cnt@example.net", "c1@x", "mailbox-full", 0, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    {A_DELIVER, "example.com", "cnt@example.net", "d3@x", NULL, DAY, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    {A_DELIVER, "example.com", "nobody@example.net", "d4@x", NULL, DAY, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    /* a domain row: the key is the bare domain */
    {A_DOMAIN, "example.com", "x@nosuch.example", "n1@x", "unknown-domain", 0, 0, NULL, 1, "suppressed", 1, "transport", "nosuch.example", NULL},
    /* a row whose end passed, suppressed again: suppressed, "again" */
    {A_SHORT, "example.com", "exp@example.net", "e1@x", "unknown-user", 0, 0, NULL, 1, "suppressed", 1, "transport", NULL, NULL},
    {A_SOFT, "example.com", "exp@example.net", "e2@x", "mailbox-full", 2 * DAY, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    {A_SHORT, "example.com", "exp2@example.net", "e3@x", "unknown-user", 0, 0, NULL, 1, "suppressed", 1, "transport", NULL, NULL},
    {A_SHORT, "example.com", "exp2@example.net", "e4@x", "unknown-user", 2 * DAY, 0, NULL, 1, "suppressed", 1, "transport", NULL, "again: the suppression of 2026-09-21 had ended"},
    /* an inbound report carries its proof into the note */
    {A_INBOUND, "example.com", "carol@example.net", "i1@x", "mailbox-disabled", 0, 0, NULL, 1, "suppressed", 1, "inbound", NULL, "192.0.2.25 is mx1.example.net"},
    /* an administrator's add: added, with the actor and the reason */
    {A_PUT, "example.com", "adm@example.net", "", "recipient-suppressed", 0, 30 * DAY, "address", 1, "added", 1, "admin", "adm@example.net", "the customer asked"},
    /* the same again, in force over in force: updated */
    {A_PUT, "example.com", "adm@example.net", "", "unsubscribed", 0, 60 * DAY, "address", 1, "updated", 1, "admin", NULL, NULL},
    /* a row put out of force (its end already passed): lifted */
    {A_PUT, "example.com", "adm@example.net", "", "unsubscribed", 0, -DAY, "address", 1, "lifted", 0, "admin", NULL, NULL},
    /* a counting row put by an administrator: added, not in force */
    {A_PUT, "example.com", "cnt2@example.net", "", "mailbox-full", 0, 0, "soft", 1, "added", 0, "admin", NULL, NULL},
    /* remove: each row as it was, with the actor */
    {A_REMOVE, "example.com", "bob@example.net", NULL, NULL, 0, 0, NULL, 1, "removed", 0, "admin", "bob@example.net", "the customer asked"},
    /* remove for every sending domain: one change per row */
    {A_HARD, "example.org", "two@example.net", "t1@x", "unknown-user", 0, 0, NULL, 1, "suppressed", 1, "transport", NULL, NULL},
    {A_HARD, "example.com", "two@example.net", "t2@x", "unknown-user", 0, 0, NULL, 1, "suppressed", 1, "transport", NULL, NULL},
    {A_REMOVE, NULL, "two@example.net", NULL, NULL, 0, 0, NULL, 2, "removed", 0, "admin", "two@example.net", NULL},
    /* removing nothing logs nothing */
    {A_REMOVE, "example.com", "never@example.net", NULL, NULL, 0, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
    /* expiry: the rows whose end passed (nosuch.example's 30 days, exp2's
     * day; exp's row is counting again, never logged), source expire */
    {A_EXPIRE, NULL, NULL, NULL, NULL, 40 * DAY, 0, NULL, 2, "expired", 0, "expire", NULL, NULL},
};

static void what_is_logged(void **state)
{
    (void)state;
    bg_store *s = open_rw();
    long long now = (long long)time(NULL);
    long long last = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const struct step *st = &steps[i];
        bg_store_result res;
        memset(&res, 0, sizeof res);
        bg_store_status rc = BG_STORE_OK;
        bg_store_set_actor(s, NULL);
        if (st->a <= A_INBOUND) {
            bg_store_event e = {0};
            e.sender_domain = st->dom;
            e.recipient = st->rcpt;
            e.message_id = st->msgid;
            e.category = st->cat;
            e.deferred = st->a == A_SOFT || st->a == A_INFO;
            e.status = e.deferred ? "4.2.2" : "5.1.1";
            e.reply_code = e.deferred ? 452 : 550;
            e.diagnostic = "550 5.1.1 <x>: User unknown";
            e.source = st->a == A_INBOUND ? BG_SRC_INBOUND : BG_SRC_TRANSPORT;
            e.note = st->a == A_INBOUND ? "sent <i1@x>; 192.0.2.25 is mx1.example.net, a mail host of example.net" : NULL;
            e.now = T0 + st->at;
            const bg_store_rule *r = st->a == A_HARD || st->a == A_INBOUND ? &rule_address
                                     : st->a == A_SHORT                     ? &rule_short
                                     : st->a == A_DOMAIN                    ? &rule_domain
                                     : st->a == A_SOFT                      ? &rule_soft
                                                                            : &rule_none;
            rc = bg_store_record(s, &e, r, &res);
            if (rc == BG_STORE_DUPLICATE)
                rc = BG_STORE_OK;
        } else if (st->a == A_DELIVER) {
            rc = bg_store_delivered(s, st->dom, st->rcpt, st->msgid, "192.0.2.7", "198.51.100.25", T0 + st->at);
        } else if (st->a == A_PUT || st->a == A_REMOVE) {
            bg_store_actor a = {BG_SRC_ADMIN, 0, "root", "the customer asked"};
            bg_store_set_actor(s, &a);
            if (st->a == A_PUT) {
                bg_store_row r;
                memset(&r, 0, sizeof r);
                snprintf(r.sender_domain, sizeof r.sender_domain, "%s", st->dom);
                snprintf(r.recipient, sizeof r.recipient, "%s", st->rcpt);
                snprintf(r.scope, sizeof r.scope, "%s", st->put_scope);
                snprintf(r.category, sizeof r.category, "%s", st->cat);
                snprintf(r.source, sizeof r.source, "admin");
                r.first_seen = r.last_seen = now;
                if (strcmp(st->put_scope, "soft") == 0) {
                    r.soft_count = 1;
                } else {
                    r.suppressed_since = now - (st->put_exp < 0 ? 2 * DAY : 0);
                    r.expires_at = st->put_exp ? now + st->put_exp : 0;
                }
                rc = bg_store_put(s, &r);
            } else {
                int n = -1;
                rc = bg_store_remove(s, st->dom, st->rcpt, &n);
                assert_int_equal(n, st->n);
            }
        } else {
            int rows = 0, events = 0;
            rc = bg_store_expire(s, T0 + st->at, 30 * DAY, &rows, &events);
        }
        if (rc != BG_STORE_OK)
            fail_msg("step %zu: %s", i, bg_store_status_text(rc));
        got g;
        changes_after(s, last, &g);
        if (g.n != st->n)
            fail_msg("step %zu: %d changes logged, expected %d (first: %s)", i, g.n, st->n, g.n ? g.c[0].op : "-");
        for (int k = 0; k < g.n; k++) {
            const bg_store_change *c = &g.c[k];
            if (c->seq != last + 1)
                fail_msg("step %zu: seq %lld after %lld", i, c->seq, last);
            last = c->seq;
            if (strcmp(c->op, st->op) != 0 || c->active != st->active || strcmp(c->source, st->source) != 0)
                fail_msg("step %zu: got %s active %d source %s", i, c->op, c->active, c->source);
            if (st->key && strcmp(c->recipient, st->key) != 0)
                fail_msg("step %zu: key %s, expected %s", i, c->recipient, st->key);
            if (st->note_has && !strstr(c->note, st->note_has))
                fail_msg("step %zu: note \"%s\" lacks \"%s\"", i, c->note, st->note_has);
            int admin = st->a == A_PUT || st->a == A_REMOVE;
            if (admin) {
                assert_int_equal(c->actor_uid, 0);
                assert_string_equal(c->actor, "root");
            } else {
                assert_int_equal(c->actor_uid, -1);
                assert_string_equal(c->actor, "");
            }
            if (st->a <= A_INBOUND) {
                assert_string_equal(c->message_id, st->msgid);
                assert_int_equal(res.change_seq, c->seq);
                assert_int_equal(c->at, T0 + st->at);
            }
        }
        if (st->a <= A_INBOUND && st->n == 0)
            assert_int_equal(res.change_seq, 0);
    }
    /* the facts travel with the change: the first one is bob's 5.1.1 */
    got g;
    bg_store_change_query q = {.recipient = "bob@example.net", .limit = 1};
    memset(&g, 0, sizeof g);
    assert_int_equal(bg_store_changes(s, &q, collect, &g), BG_STORE_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.c[0].seq, 1);
    assert_string_equal(g.c[0].category, "unknown-user");
    assert_string_equal(g.c[0].status, "5.1.1");
    assert_int_equal(g.c[0].reply_code, 550);
    assert_string_equal(g.c[0].diagnostic, "550 5.1.1 <x>: User unknown");
    assert_int_equal(g.c[0].suppressed_since, T0);
    assert_int_equal(g.c[0].expires_at, T0 + 365 * DAY);
    assert_string_equal(g.c[0].scope, "address");
    bg_store_change_bounds b;
    assert_int_equal(bg_store_change_bounds_get(s, &b), BG_STORE_OK);
    assert_int_equal(b.last_seq, last);
    assert_int_equal(b.pruned_seq, 0);
    assert_int_equal(strlen(b.log_id), 32);
    bg_store_close(s);
}

/* An actor on the handle never goes with Exim's own changes; an import
 * actor names the source. */
static void actor_scope(void **state)
{
    (void)state;
    bg_store *s = open_rw();
    bg_store_actor a = {BG_SRC_IMPORT, 1000, "alice\x1b[2J", "import of list.csv"};
    bg_store_set_actor(s, &a);
    bg_store_event e = {0};
    e.sender_domain = "example.com";
    e.recipient = "bob@example.net";
    e.message_id = "m@x";
    e.category = "unknown-user";
    e.now = T0;
    assert_int_equal(bg_store_record(s, &e, &rule_address, NULL), BG_STORE_OK);
    bg_store_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.sender_domain, sizeof r.sender_domain, "example.com");
    snprintf(r.recipient, sizeof r.recipient, "imp@example.net");
    snprintf(r.scope, sizeof r.scope, "address");
    snprintf(r.category, sizeof r.category, "unknown-user");
    snprintf(r.source, sizeof r.source, "transport"); /* the row keeps its own source */
    r.suppressed_since = r.first_seen = r.last_seen = (long long)time(NULL);
    assert_int_equal(bg_store_put(s, &r), BG_STORE_OK);
    snprintf(r.source, sizeof r.source, "expire"); /* never a row's source */
    assert_int_equal(bg_store_put(s, &r), BG_STORE_INVALID);
    /* a complaint (an ARF report) is its own source */
    e.recipient = "carol@example.net";
    e.message_id = "c@x";
    e.category = "complaint";
    e.source = BG_SRC_COMPLAINT;
    assert_int_equal(bg_store_record(s, &e, &rule_address, NULL), BG_STORE_OK);
    got g;
    changes_after(s, 0, &g);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.c[2].source, "complaint");
    assert_int_equal(g.c[2].actor_uid, -1);
    bg_store_row crow;
    assert_int_equal(bg_store_get(s, "example.com", "carol@example.net", &crow), BG_STORE_OK);
    assert_string_equal(crow.source, "complaint");
    assert_int_equal(bg_store_source_parse("complaint"), BG_SRC_COMPLAINT);
    assert_int_equal(bg_store_source_parse("import"), BG_SRC_IMPORT);
    assert_string_equal(bg_store_source_name(BG_SRC_EXPIRE), "expire");
    assert_string_equal(bg_store_source_name((bg_store_source)99), "admin");
    assert_string_equal(g.c[0].source, "transport");
    assert_int_equal(g.c[0].actor_uid, -1);
    assert_string_equal(g.c[1].source, "import");
    assert_int_equal(g.c[1].actor_uid, 1000);
    assert_string_equal(g.c[1].actor, "alice [2J"); /* control characters blanked */
    assert_string_equal(g.c[1].note, "import of list.csv");
    bg_store_row got_row;
    assert_int_equal(bg_store_get(s, "example.com", "imp@example.net", &got_row), BG_STORE_OK);
    assert_string_equal(got_row.source, "transport");
    bg_store_close(s);
}

/* tests/unit/data/store-v3.db was written by the schema-3 code (main at
 * 42d21ca, bg_store_record/bg_store_delivered with fixed times), left in
 * WAL mode as that code leaves it:
 *   example.com gone@example.net  address unknown-user at t0 (until t0+365d)
 *   example.com full@example.net  soft, 2 events (t0, t0+1d)
 *   example.com sup@example.net   soft, suppressed at its 3rd (t0..t0+2d)
 *   example.com nosuch.example    domain unknown-domain at t0 (until t0+30d)
 * and a delivery of v3h to ok@example.net accepted by 198.51.100.25. */
static void migrate_v3_file(void **state)
{
    (void)state;
    const char *top = getenv("BG_TOP");
    char src[600], cmd[1400];
    snprintf(src, sizeof src, "%s/tests/unit/data/store-v3.db", top && *top ? top : BG_TOP);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, path);
    assert_int_equal(system(cmd), 0);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT MAX(version) FROM bg_schema", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 3);
    sqlite3_finalize(q);
    sqlite3_close(db);

    /* read-only before any writer: the check works, the log is not there */
    bg_store_status st;
    bg_store *ro = bg_store_open(path, 200, BG_STORE_RDONLY, &st, NULL, 0);
    assert_non_null(ro);
    int hit = 0;
    assert_int_equal(bg_store_check(ro, "example.com", "gone@example.net", T0 + DAY, &hit, NULL), BG_STORE_OK);
    assert_int_equal(hit, 1);
    bg_store_change_bounds b;
    assert_int_equal(bg_store_change_bounds_get(ro, &b), BG_STORE_NOTFOUND);
    got g = {0};
    bg_store_change_query cq = {0};
    assert_int_equal(bg_store_changes(ro, &cq, collect, &g), BG_STORE_NOTFOUND);
    bg_store_close(ro);

    /* a writer migrates in place: rows, events and proofs as they were */
    bg_store *s = open_rw();
    static const struct {
        const char *rcpt, *scope;
        int count, active;
    } keep[] = {
        {"gone@example.net", "address", 0, 1},
        {"full@example.net", "soft", 2, 0},
        {"sup@example.net", "soft", 3, 1},
        {"nosuch.example", "domain", 0, 1},
    };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        bg_store_row row;
        assert_int_equal(bg_store_get(s, "example.com", keep[i].rcpt, &row), BG_STORE_OK);
        assert_string_equal(row.scope, keep[i].scope);
        assert_int_equal(row.soft_count, keep[i].count);
        assert_int_equal(bg_store_row_active(&row, T0 + 2 * DAY), keep[i].active);
    }
    int found = 0;
    char host[BG_IP_MAX];
    assert_int_equal(bg_store_sent_to(s, "example.com", "v3h@example.com", "ok@example.net", &found, host),
                     BG_STORE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(host, "198.51.100.25");
    /* an empty log with its name, nothing copied into it */
    assert_int_equal(bg_store_change_bounds_get(s, &b), BG_STORE_OK);
    assert_int_equal(b.last_seq, 0);
    assert_int_equal(strlen(b.log_id), 32);
    changes_after(s, 0, &g);
    assert_int_equal(g.n, 0);
    /* old events still dedupe; full@'s third soft event suppresses: seq 1 */
    bg_store_result res;
    bg_store_event e = {0};
    e.sender_domain = "example.com";
    e.recipient = "full@example.net";
    e.message_id = "v3c@example.com";
    e.category = "mailbox-full";
    e.deferred = 1;
    e.now = T0 + 2 * DAY;
    assert_int_equal(bg_store_record(s, &e, &rule_soft, &res), BG_STORE_DUPLICATE);
    e.message_id = "v3z@example.com";
    assert_int_equal(bg_store_record(s, &e, &rule_soft, &res), BG_STORE_OK);
    assert_true(res.newly_suppressed);
    assert_int_equal(res.change_seq, 1);
    /* removing a pre-upgrade row logs it as it was */
    int n = 0;
    assert_int_equal(bg_store_remove(s, "example.com", "gone@example.net", &n), BG_STORE_OK);
    changes_after(s, 0, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.c[1].op, "removed");
    assert_int_equal(g.c[1].suppressed_since, T0);
    assert_string_equal(g.c[1].category, "unknown-user");
    bg_store_close(s);
    /* the current schema (4 or later), migrated once; it opens again
     * (read-only too) as it is */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*), MAX(version) FROM bg_schema", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 2);
    assert_int_equal(sqlite3_column_int(q, 1), BG_STORE_SCHEMA_VERSION);
    sqlite3_finalize(q);
    sqlite3_close(db);
    char id[40];
    snprintf(id, sizeof id, "%s", b.log_id);
    ro = bg_store_open(path, 200, BG_STORE_RDONLY, &st, NULL, 0);
    assert_non_null(ro);
    assert_int_equal(bg_store_change_bounds_get(ro, &b), BG_STORE_OK);
    assert_int_equal(b.last_seq, 2);
    assert_string_equal(b.log_id, id);
    bg_store_close(ro);
}

/* ---- sequence numbers across processes ---- */

#define WRITERS 3
#define PER_WRITER 150

/* A writer: each event suppresses a new address (one change), every 10th
 * is then removed (another). Returns the number of changes it made. */
static int writer(int id)
{
    bg_store *s = bg_store_open(path, 10000, BG_STORE_CREATE, NULL, NULL, 0);
    if (!s)
        return -1;
    int made = 0;
    for (int i = 0; i < PER_WRITER; i++) {
        char rcpt[64], msgid[64];
        snprintf(rcpt, sizeof rcpt, "w%d.%d@example.net", id, i);
        snprintf(msgid, sizeof msgid, "w%d.%d@x", id, i);
        bg_store_event e = {0};
        e.sender_domain = "example.com";
        e.recipient = rcpt;
        e.message_id = msgid;
        e.category = "unknown-user";
        bg_store_result res;
        if (bg_store_record(s, &e, &rule_address, &res) != BG_STORE_OK || res.change_seq <= 0)
            return -1;
        made++;
        if (i % 10 == 0) {
            int n = 0;
            if (bg_store_remove(s, "example.com", rcpt, &n) != BG_STORE_OK || n != 1)
                return -1;
            made++;
        }
    }
    bg_store_close(s);
    return made;
}

typedef struct follow {
    long long last;
    int bad;
    int seen;
} follow;

static int follow_fn(const bg_store_change *c, void *ctx)
{
    follow *f = ctx;
    if (c->seq != f->last + 1)
        f->bad++;
    f->last = c->seq;
    f->seen++;
    return 0;
}

/* Two (here three) writer processes and a reader that follows them with
 * "changes > the last seq I saw": every batch starts right after the last
 * one, nothing is missed or seen twice, and the numbers are 1..N. */
static void seq_across_processes(void **state)
{
    (void)state;
    bg_store_close(open_rw());
    pid_t pids[WRITERS];
    int pipes[WRITERS][2];
    for (int w = 0; w < WRITERS; w++) {
        assert_int_equal(pipe(pipes[w]), 0);
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            int made = writer(w);
            if (write(pipes[w][1], &made, sizeof made) != sizeof made)
                _exit(2);
            _exit(made < 0 ? 1 : 0);
        }
        close(pipes[w][1]);
    }
    bg_store *r = bg_store_open(path, 2000, BG_STORE_RDONLY, NULL, NULL, 0);
    assert_non_null(r);
    follow f = {0};
    int running = WRITERS, polls = 0;
    while (running > 0) {
        bg_store_change_query q = {.after_seq = f.last, .limit = 37};
        assert_int_equal(bg_store_changes(r, &q, follow_fn, &f), BG_STORE_OK);
        polls++;
        usleep(1000);
        int stw;
        pid_t p = waitpid(-1, &stw, WNOHANG);
        if (p > 0) {
            assert_true(WIFEXITED(stw) && WEXITSTATUS(stw) == 0);
            running--;
        }
    }
    int total = 0;
    for (int w = 0; w < WRITERS; w++) {
        int made = 0;
        assert_int_equal(read(pipes[w][0], &made, sizeof made), (ssize_t)sizeof made);
        close(pipes[w][0]);
        total += made;
    }
    /* what is left after the writers finished */
    for (;;) {
        int before = f.seen;
        bg_store_change_query q = {.after_seq = f.last};
        assert_int_equal(bg_store_changes(r, &q, follow_fn, &f), BG_STORE_OK);
        if (f.seen == before)
            break;
    }
    assert_int_equal(f.bad, 0);
    assert_int_equal(f.seen, total);
    assert_int_equal(f.last, total);
    assert_int_equal(total, WRITERS * (PER_WRITER + PER_WRITER / 10));
    bg_store_change_bounds b;
    assert_int_equal(bg_store_change_bounds_get(r, &b), BG_STORE_OK);
    assert_int_equal(b.last_seq, total);
    assert_true(polls > 1);
    bg_store_close(r);
}

/* ---- pruning ---- */

static long long suppress_at(bg_store *s, const char *rcpt, long long at)
{
    bg_store_event e = {0};
    e.sender_domain = "example.com";
    e.recipient = rcpt;
    e.message_id = rcpt;
    e.category = "unknown-user";
    e.now = at;
    bg_store_result res;
    assert_int_equal(bg_store_record(s, &e, &rule_address, &res), BG_STORE_OK);
    assert_true(res.change_seq > 0);
    return res.change_seq;
}

static void prune(void **state)
{
    (void)state;
    bg_store *s = open_rw();
    suppress_at(s, "a@example.net", T0);                /* 1 */
    suppress_at(s, "b@example.net", T0 + 10 * DAY);     /* 2 */
    suppress_at(s, "c@example.net", T0 + 20 * DAY);     /* 3 */
    suppress_at(s, "d@example.net", T0 + 5 * DAY);      /* 4: the clock was set back */
    suppress_at(s, "e@example.net", T0 + 30 * DAY);     /* 5 */
    int n = -1;
    /* retention 0 keeps everything */
    assert_int_equal(bg_store_expire_changes(s, T0 + 100 * DAY, 0, &n), BG_STORE_OK);
    assert_int_equal(n, 0);
    /* at t0+25d with 15 days: older than t0+10d goes -- as a prefix, so
     * seq 3 (t0+20d) goes with seq 4 (t0+5d): no hole in the log */
    assert_int_equal(bg_store_expire_changes(s, T0 + 25 * DAY, 15 * DAY, &n), BG_STORE_OK);
    assert_int_equal(n, 4);
    got g;
    changes_after(s, 0, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.c[0].seq, 5);
    bg_store_change_bounds b;
    assert_int_equal(bg_store_change_bounds_get(s, &b), BG_STORE_OK);
    assert_int_equal(b.last_seq, 5);
    assert_int_equal(b.pruned_seq, 4);
    assert_int_equal(b.pruned_at, T0 + 10 * DAY);
    /* everything pruned: the next change still gets 6, never a used number */
    assert_int_equal(bg_store_expire_changes(s, T0 + 100 * DAY, DAY, &n), BG_STORE_OK);
    assert_int_equal(n, 1);
    changes_after(s, 0, &g);
    assert_int_equal(g.n, 0);
    assert_int_equal(suppress_at(s, "f@example.net", T0 + 100 * DAY), 6);
    assert_int_equal(bg_store_change_bounds_get(s, &b), BG_STORE_OK);
    assert_int_equal(b.pruned_seq, 5);
    /* pruning never moves the mark back */
    assert_int_equal(bg_store_expire_changes(s, T0 + 100 * DAY, 90 * DAY, &n), BG_STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(bg_store_change_bounds_get(s, &b), BG_STORE_OK);
    assert_int_equal(b.pruned_seq, 5);
    bg_store_close(s);
    /* read-only handles cannot prune */
    bg_store *ro = bg_store_open(path, 200, BG_STORE_RDONLY, NULL, NULL, 0);
    assert_int_equal(bg_store_expire_changes(ro, 0, DAY, &n), BG_STORE_READONLY);
    bg_store_close(ro);
}

/* ---- queries and transactions ---- */

static void query_filters(void **state)
{
    (void)state;
    bg_store *s = open_rw();
    suppress_at(s, "bob@example.net", T0);                             /* 1 */
    bg_store_event e = {0};
    e.sender_domain = "example.org";
    e.recipient = "bob@example.net";
    e.message_id = "o1@x";
    e.category = "unknown-user";
    e.now = T0 + DAY;
    assert_int_equal(bg_store_record(s, &e, &rule_address, NULL), BG_STORE_OK); /* 2 */
    e.sender_domain = "example.com";
    e.recipient = "eve@example.net";
    e.message_id = "d1@x";
    e.category = "unknown-domain";
    e.now = T0 + 2 * DAY;
    assert_int_equal(bg_store_record(s, &e, &rule_domain, NULL), BG_STORE_OK); /* 3: example.net */
    suppress_at(s, "carol@example.org", T0 + 3 * DAY);                 /* 4 */
    static const struct {
        bg_store_change_query q;
        int n;
        long long first;
    } cases[] = {
        {{0}, 4, 1},
        {{.after_seq = 2}, 2, 3},
        {{.after_seq = 1, .up_to_seq = 3}, 2, 2},
        {{.since = T0 + 2 * DAY}, 2, 3},
        {{.sender_domain = "Example.ORG"}, 1, 2},
        /* an address: its rows and the domain row that covers it */
        {{.recipient = "Bob@example.net"}, 3, 1},
        {{.recipient = "bob@example.net", .sender_domain = "example.com"}, 2, 1},
        {{.recipient = "example.net"}, 1, 3},
        {{.recipient = "carol@example.org"}, 1, 4},
        {{.limit = 2, .after_seq = 1}, 2, 2},
        {{.after_seq = 4}, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        got g = {0};
        assert_int_equal(bg_store_changes(s, &cases[i].q, collect, &g), BG_STORE_OK);
        if (g.n != cases[i].n || (g.n && g.c[0].seq != cases[i].first))
            fail_msg("case %zu: %d changes from %lld", i, g.n, g.n ? g.c[0].seq : 0);
    }
    bg_store_change_query bad = {.recipient = "not an address"};
    got g = {0};
    assert_int_equal(bg_store_changes(s, &bad, collect, &g), BG_STORE_INVALID);
    /* a rolled-back change gives its number back: no gap */
    bg_store_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.sender_domain, sizeof r.sender_domain, "example.com");
    snprintf(r.recipient, sizeof r.recipient, "rb@example.net");
    snprintf(r.scope, sizeof r.scope, "address");
    snprintf(r.category, sizeof r.category, "unknown-user");
    snprintf(r.source, sizeof r.source, "admin");
    r.suppressed_since = r.first_seen = r.last_seen = (long long)time(NULL);
    assert_int_equal(bg_store_begin(s), BG_STORE_OK);
    assert_int_equal(bg_store_put(s, &r), BG_STORE_OK);
    bg_store_rollback(s);
    assert_int_equal(suppress_at(s, "after@example.net", T0 + 4 * DAY), 5);
    /* one transaction, many changes (an import): numbered in order */
    assert_int_equal(bg_store_begin(s), BG_STORE_OK);
    for (int i = 0; i < 3; i++) {
        snprintf(r.recipient, sizeof r.recipient, "imp%d@example.net", i);
        assert_int_equal(bg_store_put(s, &r), BG_STORE_OK);
    }
    assert_int_equal(bg_store_commit(s), BG_STORE_OK);
    changes_after(s, 5, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.c[2].seq, 8);
    assert_string_equal(g.c[2].recipient, "imp2@example.net");
    bg_store_close(s);
}

/* The counter row gone (a damaged or hand-edited database): a change is
 * refused, never numbered anew from nothing -- a number given twice would
 * make a replica or a CRM skip a change. On PostgreSQL the counter moves
 * inside the change's insert (one statement), so this is where that
 * statement must notice it. */
static void counter_row_gone(void **state)
{
    (void)state;
    bg_store *s = open_rw();
    assert_int_equal(suppress_at(s, "first@example.net", T0), 1);
    static const char del[] = "DELETE FROM bg_change_seq";
    if (pg_is(path)) {
        assert_int_equal(pg_sql(del), 0);
    } else {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, del, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
    bg_store_event e = {0};
    e.sender_domain = "example.com";
    e.recipient = "second@example.net";
    e.message_id = "second@example.net";
    e.category = "unknown-user";
    e.now = T0 + 1;
    bg_store_result res;
    assert_int_not_equal(bg_store_record(s, &e, &rule_address, &res), BG_STORE_OK);
    got g;
    changes_after(s, 0, &g);
    assert_int_equal(g.n, 1); /* only the first: nothing numbered anew */
    bg_store_row r;
    assert_int_equal(bg_store_get(s, "example.com", "second@example.net", &r), BG_STORE_NOTFOUND);
    bg_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(what_is_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(actor_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(migrate_v3_file, setup, teardown),
        cmocka_unit_test_setup_teardown(seq_across_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(prune, setup, teardown),
        cmocka_unit_test_setup_teardown(query_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(counter_row_gone, setup, teardown),
    };
    /* the change log on PostgreSQL: numbers in commit order without gaps
     * across processes there too (the writer lock), the same ops */
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(what_is_logged, setup_pg, pg_teardown),
        cmocka_unit_test_setup_teardown(actor_scope, setup_pg, pg_teardown),
        cmocka_unit_test_setup_teardown(seq_across_processes, setup_pg, pg_teardown),
        cmocka_unit_test_setup_teardown(prune, setup_pg, pg_teardown),
        cmocka_unit_test_setup_teardown(query_filters, setup_pg, pg_teardown),
        cmocka_unit_test_setup_teardown(counter_row_gone, setup_pg, pg_teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, pg_group_setup, pg_group_teardown);
    return failed;
}
