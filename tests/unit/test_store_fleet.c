/* Unit tests: a fleet (include/bg_store_fleet.h) on a real PostgreSQL and
 * real SQLite files -- two hosts' journals, replicas and syncs sharing
 * one central store: an event journaled on host A is refused on host B
 * after the syncs, the same failure reported by both hosts counts once,
 * a batch shipped twice (a crash before the journal forgot it) counts
 * once, PostgreSQL stopped while both hosts record (the journal keeps
 * everything, checks go on from the replica, the journal drains when it
 * is back, counts exact), removal lifts on both, a new central log makes
 * the replica start again from a snapshot, proof reads from the journal
 * and the central store, migrate (resumable, idempotent, both logs), and
 * the password never shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bg_store.h"
#include "bg_store_fleet.h"
#include "bg_store_sent.h"
#include "bg_store_count.h"
#include "pg_helper.h"

#define DAY 86400LL

static char tmp[256];
static char central[700];

typedef struct host {
    char replica[320], journal[320];
    bg_store_fleet_paths paths;
    bg_store *view;   /* what Exim's processes hold */
    bg_store_sync *sync;
} host;

static host A, B;

static void host_init(host *h, const char *name)
{
    snprintf(h->replica, sizeof h->replica, "%s/%s/replica.db", tmp, name);
    snprintf(h->journal, sizeof h->journal, "%s/%s/journal.db", tmp, name);
    h->paths.central = central;
    h->paths.replica = h->replica;
    h->paths.journal = h->journal;
    char err[400];
    bg_store_status st;
    h->view = bg_store_open_fleet(&h->paths, 2000, BG_STORE_CREATE, &st, err, sizeof err);
    if (!h->view)
        fail_msg("fleet view %s: %s", name, err);
    h->sync = bg_store_sync_new(&h->paths, 10000);
    assert_non_null(h->sync);
    bg_store_sync_set_host(h->sync, name);
}

static void host_free(host *h)
{
    bg_store_close(h->view);
    bg_store_sync_free(h->sync);
    memset(h, 0, sizeof *h);
}

static int setup(void **state)
{
    void *info;
    if (pg_setup(&info) != 0)
        return -1;
    snprintf(central, sizeof central, "%s", (const char *)info);
    snprintf(tmp, sizeof tmp, "/tmp/bg_fleet_XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    chmod(tmp, 0755);
    host_init(&A, "a");
    host_init(&B, "b");
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    host_free(&A);
    host_free(&B);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static const bg_store_rule rule_address = {BG_SUP_ADDRESS, 3, 7 * DAY, 365 * DAY};
static const bg_store_rule rule_soft = {BG_SUP_COUNT, 3, 7 * DAY, 30 * DAY};

static bg_store_event ev(const char *rcpt, const char *msgid, int deferred)
{
    bg_store_event e = {0};
    e.sender_domain = "example.com";
    e.recipient = rcpt;
    e.message_id = msgid;
    e.deferred = deferred;
    e.category = deferred ? "mailbox-full" : "unknown-user";
    e.status = deferred ? "4.2.2" : "5.1.1";
    e.reply_code = deferred ? 452 : 550;
    e.diagnostic = deferred ? "452 4.2.2 Mailbox full" : "550 5.1.1 User unknown";
    e.sending_ip = "192.0.2.7";
    e.source = BG_SRC_TRANSPORT;
    return e;
}

/* Ship everything and pull; both must work. */
static void sync_ok(host *h)
{
    bg_store_sync_stats s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 50; i++) {
        long long before = s.shipped + s.duplicates + s.dropped;
        bg_store_status st = bg_store_sync_ship(h->sync, 100, &s);
        if (st != BG_STORE_OK)
            fail_msg("ship: %s", bg_store_sync_errmsg(h->sync));
        if (s.shipped + s.duplicates + s.dropped == before)
            break;
    }
    if (bg_store_sync_pull(h->sync, &s) != BG_STORE_OK)
        fail_msg("pull: %s", bg_store_sync_errmsg(h->sync));
}

static int hit(host *h, const char *rcpt)
{
    int hit = 0;
    assert_int_equal(bg_store_check(h->view, "example.com", rcpt, 0, &hit, NULL), BG_STORE_OK);
    return hit;
}

static long long waiting(host *h)
{
    bg_store_sync_status s;
    assert_int_equal(bg_store_sync_status_get(h->sync, &s), BG_STORE_OK);
    return s.journal_entries;
}

static bg_store *central_open(void)
{
    char err[400];
    bg_store *c = bg_store_open(central, 10000, BG_STORE_CREATE, NULL, err, sizeof err);
    if (!c)
        fail_msg("central: %s", err);
    return c;
}

static int central_soft(const char *rcpt)
{
    bg_store *c = central_open();
    bg_store_row r;
    int n = bg_store_get(c, "example.com", rcpt, &r) == BG_STORE_OK ? r.soft_count : -1;
    bg_store_close(c);
    return n;
}

/* A hard failure on A: journaled, not yet anywhere else; after A ships
 * and B pulls, B's replica refuses it. */
static void learned_on_a_refused_on_b(void **state)
{
    (void)state;
    bg_store_event e = ev("bob@example.net", "m1@example.com", 0);
    bg_store_result res;
    assert_int_equal(bg_store_record(A.view, &e, &rule_address, &res), BG_STORE_OK);
    assert_int_equal(res.journaled, 1);
    assert_string_equal(res.key, "bob@example.net");
    assert_int_equal(res.newly_suppressed, 0); /* the central store decides, later */
    assert_int_equal(waiting(&A), 1);
    assert_int_equal(hit(&A, "bob@example.net"), 0);
    assert_int_equal(hit(&B, "bob@example.net"), 0);
    sync_ok(&B); /* nothing shipped yet: nothing to learn */
    assert_int_equal(hit(&B, "bob@example.net"), 0);
    sync_ok(&A);
    assert_int_equal(waiting(&A), 0);
    assert_int_equal(hit(&A, "bob@example.net"), 1);
    sync_ok(&B);
    bg_store_row row;
    int h = 0;
    assert_int_equal(bg_store_check(B.view, "example.com", "bob@example.net", 0, &h, &row), BG_STORE_OK);
    assert_int_equal(h, 1);
    assert_string_equal(row.category, "unknown-user");
    assert_string_equal(row.status, "5.1.1");
    assert_true(row.expires_at > row.suppressed_since);
    /* the change log says it came from the transport, with the message */
    bg_store *c = central_open();
    bg_store_change_bounds b;
    assert_int_equal(bg_store_change_bounds_get(c, &b), BG_STORE_OK);
    assert_int_equal(b.last_seq, 1);
    bg_store_close(c);
}

/* The same soft failure (the same message to the same recipient) seen by
 * both hosts counts once; two other messages make three and suppress. */
static void same_failure_two_hosts_counts_once(void **state)
{
    (void)state;
    bg_store_event e = ev("full@example.net", "m2@example.com", 1);
    assert_int_equal(bg_store_record(A.view, &e, &rule_soft, NULL), BG_STORE_OK);
    assert_int_equal(bg_store_record(B.view, &e, &rule_soft, NULL), BG_STORE_OK);
    sync_ok(&A);
    sync_ok(&B);
    assert_int_equal(central_soft("full@example.net"), 1);
    e.message_id = "m3@example.com";
    assert_int_equal(bg_store_record(B.view, &e, &rule_soft, NULL), BG_STORE_OK);
    sync_ok(&B);
    assert_int_equal(central_soft("full@example.net"), 2);
    assert_int_equal(hit(&A, "full@example.net"), 0);
    e.message_id = "m4@example.com";
    assert_int_equal(bg_store_record(A.view, &e, &rule_soft, NULL), BG_STORE_OK);
    sync_ok(&A);
    assert_int_equal(central_soft("full@example.net"), 3);
    sync_ok(&B);
    assert_int_equal(hit(&A, "full@example.net"), 1);
    assert_int_equal(hit(&B, "full@example.net"), 1);
}

/* A consistent copy of a host's journal file (its WAL included). */
static void journal_save(host *h, const char *to)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -f '%s' && sqlite3 '%s' \"VACUUM INTO '%s'\"", to, h->journal, to);
    assert_int_equal(system(cmd), 0);
}

/* Put a saved journal back in place of the host's (its processes closed). */
static void journal_restore(host *h, const char *name, const char *from)
{
    host_free(h);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -f '%s/%s/journal.db'* && cp '%s' '%s/%s/journal.db'", tmp, name, from, tmp, name);
    assert_int_equal(system(cmd), 0);
    host_init(h, name);
}

/* A journal shipped, then put back as it was before (the sync died after
 * the central commit, before the journal forgot): shipped again, nothing
 * counts twice -- also for events without a Message-ID (no dedupe key). */
static void batch_shipped_twice_counts_once(void **state)
{
    (void)state;
    bg_store_event e = ev("twice@example.net", "", 1); /* no Message-ID: only the mark saves it */
    for (int i = 0; i < 2; i++) {
        e.now = (long long)time(NULL) - 100 + i;
        assert_int_equal(bg_store_record(A.view, &e, &rule_soft, NULL), BG_STORE_OK);
    }
    char keep[400];
    snprintf(keep, sizeof keep, "%s/keep.db", tmp);
    journal_save(&A, keep);
    sync_ok(&A);
    assert_int_equal(central_soft("twice@example.net"), 2);
    journal_restore(&A, "a", keep);
    assert_int_equal(waiting(&A), 2);
    bg_store_sync_stats s;
    memset(&s, 0, sizeof s);
    assert_int_equal(bg_store_sync_ship(A.sync, 100, &s), BG_STORE_OK);
    assert_int_equal(s.duplicates, 2);
    assert_int_equal(s.shipped, 0);
    assert_int_equal(central_soft("twice@example.net"), 2);
    assert_int_equal(waiting(&A), 0);
}

/* A journal that went back in time (restored from an older copy, or a
 * power cut took its last commits) numbers new events with numbers the
 * central store already applied: they must not be skipped as shipped. */
static void journal_gone_back_loses_nothing(void **state)
{
    (void)state;
    bg_store_event e = ev("back@example.net", "b1@example.com", 1);
    assert_int_equal(bg_store_record(A.view, &e, &rule_soft, NULL), BG_STORE_OK);
    char keep[400];
    snprintf(keep, sizeof keep, "%s/keep.db", tmp);
    journal_save(&A, keep); /* entry 1 */
    e.message_id = "b2@example.com";
    assert_int_equal(bg_store_record(A.view, &e, &rule_soft, NULL), BG_STORE_OK);
    e.message_id = "b3@example.com";
    assert_int_equal(bg_store_record(A.view, &e, &rule_soft, NULL), BG_STORE_OK);
    sync_ok(&A); /* the central mark: 3 */
    assert_int_equal(central_soft("back@example.net"), 3);
    journal_restore(&A, "a", keep); /* holds entry 1 again, next number 2 */
    bg_store_event n = ev("new@example.net", "b4@example.com", 0);
    assert_int_equal(bg_store_record(A.view, &n, &rule_address, NULL), BG_STORE_OK); /* number 2 */
    sync_ok(&A);
    assert_int_equal(waiting(&A), 0);
    assert_int_equal(hit(&A, "new@example.net"), 1);        /* not skipped */
    assert_int_equal(central_soft("back@example.net"), 3); /* entry 1 again: its Message-ID dedupes it */
}

/* PostgreSQL stopped while both hosts fail recipients: the events wait in
 * the journals, the replicas still refuse what they knew, nothing is
 * lost; back up, the journals drain and the counts are exact. */
static void central_down_then_back(void **state)
{
    (void)state;
    bg_store_event e = ev("known@example.net", "k1@example.com", 0);
    assert_int_equal(bg_store_record(A.view, &e, &rule_address, NULL), BG_STORE_OK);
    sync_ok(&A);
    sync_ok(&B);
    assert_int_equal(hit(&B, "known@example.net"), 1);
    assert_int_equal(pg_sh("stop", NULL, 0, NULL), 0);
    /* both hosts keep recording: 3 soft events of distinct messages for
     * one recipient (2 on A, 1 on B) and 5 hard failures each */
    for (int i = 0; i < 5; i++) {
        char rcpt[64], id[64];
        snprintf(rcpt, sizeof rcpt, "a%d@example.net", i);
        snprintf(id, sizeof id, "da%d@example.com", i);
        bg_store_event h = ev(rcpt, id, 0);
        assert_int_equal(bg_store_record(A.view, &h, &rule_address, NULL), BG_STORE_OK);
        snprintf(rcpt, sizeof rcpt, "b%d@example.net", i);
        snprintf(id, sizeof id, "db%d@example.com", i);
        h = ev(rcpt, id, 0);
        assert_int_equal(bg_store_record(B.view, &h, &rule_address, NULL), BG_STORE_OK);
    }
    bg_store_event s = ev("soft@example.net", "s1@example.com", 1);
    assert_int_equal(bg_store_record(A.view, &s, &rule_soft, NULL), BG_STORE_OK);
    s.message_id = "s2@example.com";
    assert_int_equal(bg_store_record(A.view, &s, &rule_soft, NULL), BG_STORE_OK);
    s.message_id = "s3@example.com";
    assert_int_equal(bg_store_record(B.view, &s, &rule_soft, NULL), BG_STORE_OK);
    /* the replicas still answer */
    assert_int_equal(hit(&A, "known@example.net"), 1);
    assert_int_equal(hit(&B, "known@example.net"), 1);
    /* the syncs fail, the journals keep everything */
    bg_store_sync_stats st;
    memset(&st, 0, sizeof st);
    assert_int_equal(bg_store_sync_ship(A.sync, 100, &st), BG_STORE_UNREACHABLE);
    assert_int_equal(bg_store_sync_ship(B.sync, 100, &st), BG_STORE_UNREACHABLE);
    assert_int_not_equal(bg_store_sync_pull(B.sync, &st), BG_STORE_OK);
    assert_int_equal(waiting(&A), 7);
    assert_int_equal(waiting(&B), 6);
    /* a proof read on the view says the central store is unreachable */
    int found = 1;
    assert_int_equal(bg_store_sent_to(A.view, "example.com", "nope@example.com", "x@example.net", &found, NULL),
                     BG_STORE_UNREACHABLE);
    assert_int_equal(found, 0);
    char out[600];
    assert_int_equal(pg_sh("start", out, sizeof out, NULL), 0);
    sync_ok(&A);
    sync_ok(&B);
    sync_ok(&A);
    assert_int_equal(waiting(&A), 0);
    assert_int_equal(waiting(&B), 0);
    for (int i = 0; i < 5; i++) {
        char rcpt[64];
        snprintf(rcpt, sizeof rcpt, "a%d@example.net", i);
        assert_int_equal(hit(&B, rcpt), 1);
        snprintf(rcpt, sizeof rcpt, "b%d@example.net", i);
        assert_int_equal(hit(&A, rcpt), 1);
    }
    assert_int_equal(central_soft("soft@example.net"), 3);
    assert_int_equal(hit(&A, "soft@example.net"), 1);
    bg_store *c = central_open();
    bg_store_stats cs;
    assert_int_equal(bg_store_get_stats(c, "example.com", 0, &cs), BG_STORE_OK);
    assert_int_equal(cs.active, 12);  /* known, a0-4, b0-4, soft */
    assert_int_equal(cs.events, 14);  /* known, 10 hard, 3 soft */
    bg_store_close(c);
}

/* suppress remove on the central store (the command on any host) lifts
 * the block on both replicas; a new central log (a restored database)
 * makes a replica start again from a snapshot. */
static void remove_lifts_on_both_and_new_log_snapshots(void **state)
{
    (void)state;
    bg_store_event e = ev("gone@example.net", "g1@example.com", 0);
    assert_int_equal(bg_store_record(A.view, &e, &rule_address, NULL), BG_STORE_OK);
    e = ev("stays@example.net", "g2@example.com", 0);
    assert_int_equal(bg_store_record(A.view, &e, &rule_address, NULL), BG_STORE_OK);
    sync_ok(&A);
    sync_ok(&B);
    assert_int_equal(hit(&B, "gone@example.net"), 1);
    bg_store *c = central_open();
    int n = 0;
    assert_int_equal(bg_store_remove(c, NULL, "gone@example.net", &n), BG_STORE_OK);
    assert_int_equal(n, 1);
    bg_store_close(c);
    sync_ok(&A);
    sync_ok(&B);
    assert_int_equal(hit(&A, "gone@example.net"), 0);
    assert_int_equal(hit(&B, "gone@example.net"), 0);
    assert_int_equal(hit(&B, "stays@example.net"), 1);
    /* the central store made anew: a new log id, only "fresh" in force */
    assert_int_equal(pg_reset(), 0);
    c = central_open();
    bg_store_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.sender_domain, sizeof r.sender_domain, "example.com");
    snprintf(r.recipient, sizeof r.recipient, "fresh@example.net");
    snprintf(r.scope, sizeof r.scope, "address");
    snprintf(r.category, sizeof r.category, "recipient-suppressed");
    snprintf(r.source, sizeof r.source, "admin");
    r.first_seen = r.last_seen = r.suppressed_since = (long long)time(NULL);
    assert_int_equal(bg_store_put(c, &r), BG_STORE_OK);
    bg_store_close(c);
    bg_store_sync_stats s;
    memset(&s, 0, sizeof s);
    assert_int_equal(bg_store_sync_pull(B.sync, &s), BG_STORE_OK);
    assert_int_equal(s.snapshot_rows, 1);
    assert_int_equal(hit(&B, "stays@example.net"), 0);
    assert_int_equal(hit(&B, "fresh@example.net"), 1);
}

static void drop_said(const char *why, void *ctx)
{
    snprintf(ctx, 1000, "%s", why);
}

/* One entry the central store refuses for good (here a constraint made
 * for the test) inside a batch whose writes were sent without waiting
 * (pipelined): the batch is rolled back whole, found one by one, that
 * entry dropped and said, every other one applied exactly once. */
static void poison_entry_dropped_others_shipped(void **state)
{
    (void)state;
    bg_store_close(central_open()); /* the schema, then the constraint */
    assert_int_equal(pg_sql("ALTER TABLE bg_suppression ADD CONSTRAINT no_poison CHECK (recipient <> 'poison@example.net')"), 0);
    const char *rcpts[] = {"p1@example.net", "p2@example.net", "poison@example.net", "p3@example.net", "p4@example.net"};
    for (int i = 0; i < 5; i++) {
        char id[64];
        snprintf(id, sizeof id, "pz%d@example.com", i);
        bg_store_event e = ev(rcpts[i], id, 0);
        assert_int_equal(bg_store_record(A.view, &e, &rule_address, NULL), BG_STORE_OK);
    }
    static char said[1000];
    said[0] = '\0';
    bg_store_sync_on_dropped(A.sync, drop_said, said);
    bg_store_sync_stats s;
    memset(&s, 0, sizeof s);
    assert_int_not_equal(bg_store_sync_ship(A.sync, 100, &s), BG_STORE_OK); /* the whole batch */
    assert_int_equal(waiting(&A), 5);
    assert_int_equal(pg_num("SELECT COUNT(*) FROM bg_suppression"), 0); /* nothing half-applied */
    for (int i = 0; i < 10 && waiting(&A) > 0; i++)
        bg_store_sync_ship(A.sync, 100, &s);
    assert_int_equal(waiting(&A), 0);
    assert_int_equal(s.dropped, 1);
    assert_non_null(strstr(said, "poison@example.net"));
    assert_non_null(strstr(said, "no_poison"));
    assert_int_equal(pg_num("SELECT COUNT(*) FROM bg_suppression"), 4);
    assert_int_equal(pg_num("SELECT COUNT(*) FROM bg_event"), 4);
    assert_int_equal(pg_num("SELECT COUNT(*) FROM bg_change"), 4);
}

/* Proof reads on a host's view: a delivery still in the journal is found
 * there; once shipped (the journal forgets it), in the central store. */
static void proof_from_journal_then_central(void **state)
{
    (void)state;
    assert_int_equal(bg_store_delivered(A.view, "example.com", "carol@example.net", "<p1@example.com>",
                                        "192.0.2.7", "198.51.100.25", 0),
                     BG_STORE_OK);
    assert_int_equal(bg_store_note_ip(A.view, "p1@example.com", "example.com", "192.0.2.7", 0), BG_STORE_OK);
    int found = 0;
    char accepted[BG_IP_MAX];
    assert_int_equal(bg_store_sent_to(A.view, "example.com", "p1@example.com", "carol@example.net", &found, accepted),
                     BG_STORE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(accepted, "198.51.100.25");
    /* host B has not shipped anything of it: it asks the central store */
    found = 1;
    assert_int_equal(bg_store_sent_to(B.view, "example.com", "p1@example.com", "carol@example.net", &found, accepted),
                     BG_STORE_OK);
    assert_int_equal(found, 0);
    sync_ok(&A);
    assert_int_equal(waiting(&A), 0);
    found = 0;
    assert_int_equal(bg_store_sent_to(B.view, "example.com", "p1@example.com", "carol@example.net", &found, accepted),
                     BG_STORE_OK);
    assert_int_equal(found, 1);
    assert_string_equal(accepted, "198.51.100.25");
    char ip[BG_IP_MAX];
    assert_int_equal(bg_store_sending_ip(B.view, "p1@example.com", "carol@example.net", ip), BG_STORE_OK);
    assert_string_equal(ip, "192.0.2.7");
    bg_store_sent_rcpt rcpts[4];
    size_t n = 0;
    assert_int_equal(bg_store_sent_rcpts(A.view, "example.com", "p1@example.com", rcpts, 4, &n), BG_STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(bg_store_mailed(A.view, "example.com", "carol@example.net", 0, 1000, &found), BG_STORE_OK);
    assert_int_equal(found, 1);
}

/* A SQLite store copied into the central store: rows, events, soft
 * times and the change log with its numbers; a second run copies
 * nothing more; into a central store with a log of its own, the rows
 * come in as "added" changes, which the replicas follow. */
static void migrate_sqlite_file(void **state)
{
    (void)state;
    char file[400];
    snprintf(file, sizeof file, "%s/old.db", tmp);
    bg_store *f = bg_store_open(file, 2000, BG_STORE_CREATE, NULL, NULL, 0);
    assert_non_null(f);
    long long now = (long long)time(NULL);
    for (int i = 0; i < 30; i++) {
        char rcpt[64], id[64];
        snprintf(rcpt, sizeof rcpt, "old%d@example.net", i);
        snprintf(id, sizeof id, "o%d@example.com", i);
        bg_store_event e = ev(rcpt, id, i % 3 == 0);
        e.now = now - 1000 + i;
        assert_int_equal(bg_store_record(f, &e, i % 3 == 0 ? &rule_soft : &rule_address, NULL), BG_STORE_OK);
    }
    assert_int_equal(bg_store_delivered(f, "example.com", "dave@example.net", "d1@example.com", "", "192.0.2.9", 0),
                     BG_STORE_OK);
    bg_store_change_bounds fb;
    assert_int_equal(bg_store_change_bounds_get(f, &fb), BG_STORE_OK);
    assert_int_equal(fb.last_seq, 20);
    /* into the (empty) central store: the log goes on */
    bg_store *c = central_open();
    bg_store_copy_stats cs;
    assert_int_equal(bg_store_copy(f, c, 7, &cs, NULL, NULL), BG_STORE_OK);
    assert_int_equal(cs.rows, 30);
    assert_int_equal(cs.events, 31);
    assert_int_equal(cs.soft, 10);
    assert_int_equal(cs.changes, 20);
    assert_int_equal(cs.log_kept, 1);
    bg_store_change_bounds cb;
    assert_int_equal(bg_store_change_bounds_get(c, &cb), BG_STORE_OK);
    assert_string_equal(cb.log_id, fb.log_id);
    assert_int_equal(cb.last_seq, 20);
    /* again: nothing new */
    assert_int_equal(bg_store_copy(f, c, 7, &cs, NULL, NULL), BG_STORE_OK);
    assert_int_equal(cs.rows, 0);
    assert_int_equal(cs.rows_kept, 30);
    assert_int_equal(cs.events + cs.soft + cs.changes, 0);
    /* the proof came along */
    int found = 0;
    assert_int_equal(bg_store_sent_to(c, "example.com", "d1@example.com", "dave@example.net", &found, NULL),
                     BG_STORE_OK);
    assert_int_equal(found, 1);
    /* a replica follows it (a snapshot: it never saw this log) */
    sync_ok(&B);
    assert_int_equal(hit(&B, "old1@example.net"), 1);
    /* a new event continues the numbers */
    bg_store_event e = ev("new@example.net", "n1@example.com", 0);
    bg_store_result res;
    assert_int_equal(bg_store_record(c, &e, &rule_address, &res), BG_STORE_OK);
    assert_int_equal(res.change_seq, 21);
    bg_store_close(c);
    /* a second host's file into the running central store (its own log) */
    char file2[400];
    snprintf(file2, sizeof file2, "%s/old2.db", tmp);
    bg_store *f2 = bg_store_open(file2, 2000, BG_STORE_CREATE, NULL, NULL, 0);
    bg_store_event e2 = ev("other@example.net", "x1@example.com", 0);
    assert_int_equal(bg_store_record(f2, &e2, &rule_address, NULL), BG_STORE_OK);
    e2 = ev("old1@example.net", "x2@example.com", 0); /* there already: kept */
    assert_int_equal(bg_store_record(f2, &e2, &rule_address, NULL), BG_STORE_OK);
    c = central_open();
    bg_store_actor actor = {BG_SRC_IMPORT, 0, "root", "migrated from old2.db"};
    bg_store_set_actor(c, &actor);
    assert_int_equal(bg_store_copy(f2, c, 100, &cs, NULL, NULL), BG_STORE_OK);
    assert_int_equal(cs.log_kept, 0);
    assert_int_equal(cs.rows, 1);
    assert_int_equal(cs.rows_kept, 1);
    assert_int_equal(cs.changes, 0);
    assert_int_equal(bg_store_change_bounds_get(c, &cb), BG_STORE_OK);
    assert_int_equal(cb.last_seq, 22); /* one "added" for the row copied */
    bg_store_close(c);
    sync_ok(&B);
    assert_int_equal(hit(&B, "other@example.net"), 1);
    bg_store_close(f);
    bg_store_close(f2);
}

/* Deliveries and bounces of example.com in the central store's counters
 * (a report by domain over all hours). */
static int central_counts_cb(const bg_store_count_group *g, void *ctx)
{
    long long *n = ctx;
    if (strcmp(g->key, "example.com") == 0) {
        n[0] += g->n[BG_OUT_DELIVERED];
        n[1] += g->n[BG_OUT_BOUNCED];
    }
    return 0;
}

static void central_counts(long long n[2])
{
    n[0] = n[1] = 0;
    bg_store *c = central_open();
    assert_int_equal(bg_store_count_report(c, BG_COUNT_BY_DOMAIN, 0, 0, "", central_counts_cb, n), BG_STORE_OK);
    bg_store_close(c);
}

/* Counters on a fleet host: the event hook's count goes to the journal
 * with its event (Exim never waits on PostgreSQL), the sync adds it to
 * the central store once, however often a batch is shipped; both hosts'
 * counts add up; the guard on a host reads the central sums. */
static void counts_through_the_journal(void **state)
{
    (void)state;
    long long now = (long long)time(NULL), n[2];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(bg_store_count_begin(A.view), BG_STORE_OK);
        assert_int_equal(bg_store_count_add(A.view, "example.com", "google", BG_OUT_DELIVERED, "", 1, now),
                         BG_STORE_OK);
        assert_int_equal(bg_store_commit(A.view), BG_STORE_OK);
    }
    assert_int_equal(bg_store_count_add(B.view, "example.com", "google", BG_OUT_DELIVERED, "", 2, now), BG_STORE_OK);
    assert_int_equal(bg_store_count_add(B.view, "example.com", "google", BG_OUT_BOUNCED, "unknown-user", 1, now),
                     BG_STORE_OK);
    /* an event and its count are one journal transaction, as on one host:
     * rolled back, neither waits */
    assert_int_equal(bg_store_count_begin(A.view), BG_STORE_OK);
    assert_int_equal(bg_store_count_add(A.view, "example.com", "google", BG_OUT_DELIVERED, "", 1, now),
                     BG_STORE_OK);
    bg_store_rollback(A.view);
    assert_int_equal(waiting(&A), 3);
    assert_int_equal(waiting(&B), 2);
    central_counts(n);
    assert_int_equal(n[0], 0); /* nothing central before a sync */
    char keep[400];
    snprintf(keep, sizeof keep, "%s/keep-counts.db", tmp);
    journal_save(&A, keep);
    sync_ok(&A);
    sync_ok(&B);
    central_counts(n);
    assert_int_equal(n[0], 5);
    assert_int_equal(n[1], 1);
    /* A's journal shipped again (its mark says so): no count twice */
    journal_restore(&A, "a", keep);
    sync_ok(&A);
    central_counts(n);
    assert_int_equal(n[0], 5);
    /* the guard on host B reads the central sums */
    bg_store_guard g;
    assert_int_equal(bg_store_guard_counts(B.view, "example.com", 24 * 3600, now, &g), BG_STORE_OK);
    assert_int_equal(g.delivered, 5);
    assert_int_equal(g.bounced, 1);
}

/* migrate: a file's counters are added to the central store's (two hosts
 * counted the same hours), once per file however often it runs. */
static void migrate_counts_once_per_file(void **state)
{
    (void)state;
    long long now = (long long)time(NULL), n[2];
    char f1[400], f2[400];
    snprintf(f1, sizeof f1, "%s/c1.db", tmp);
    snprintf(f2, sizeof f2, "%s/c2.db", tmp);
    bg_store *a = bg_store_open(f1, 2000, BG_STORE_CREATE, NULL, NULL, 0);
    bg_store *b = bg_store_open(f2, 2000, BG_STORE_CREATE, NULL, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(bg_store_count_add(a, "example.com", "google", BG_OUT_DELIVERED, "", 7, now), BG_STORE_OK);
    assert_int_equal(bg_store_count_add(b, "example.com", "google", BG_OUT_DELIVERED, "", 4, now), BG_STORE_OK);
    assert_int_equal(bg_store_count_add(b, "example.com", "google", BG_OUT_BOUNCED, "unknown-user", 2, now),
                     BG_STORE_OK);
    bg_store_actor actor = {BG_SRC_IMPORT, 0, "root", "b resets"};
    bg_store_set_actor(b, &actor);
    assert_int_equal(bg_store_guard_reset(b, "example.com", now), BG_STORE_OK);
    bg_store *c = central_open();
    bg_store_copy_stats cs;
    for (int run = 0; run < 2; run++) {
        assert_int_equal(bg_store_copy(a, c, 100, &cs, NULL, NULL), BG_STORE_OK);
        assert_int_equal(cs.counts, run == 0 ? 1 : 0);
        assert_int_equal(bg_store_copy(b, c, 100, &cs, NULL, NULL), BG_STORE_OK);
        assert_int_equal(cs.counts, run == 0 ? 2 : 0);
        assert_int_equal(cs.guards, run == 0 ? 1 : 0);
    }
    bg_store_close(c);
    central_counts(n);
    assert_int_equal(n[0], 11);
    assert_int_equal(n[1], 2);
    c = central_open();
    bg_store_guard g;
    assert_int_equal(bg_store_guard_counts(c, "example.com", 24 * 3600, now, &g), BG_STORE_OK);
    assert_int_equal(g.reset_at, now); /* the reset came along */
    bg_store_close(c);
    bg_store_close(a);
    bg_store_close(b);
}

/* Passwords never leave in messages or log lines. */
static void redact(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"postgresql://bg:s3cret@db.example.com/bg", "postgresql://bg:***@db.example.com/bg"},
        {"postgres://bg:p%40ss@db/bg?sslmode=verify-full", "postgres://bg:***@db/bg?sslmode=verify-full"},
        {"postgresql://bg@db/bg?password=hunter2&sslmode=require", "postgresql://bg@db/bg?password=***&sslmode=require"},
        {"host=db dbname=bg password=hunter2 sslmode=require", "host=db dbname=bg password=*** sslmode=require"},
        {"host=db password = 'a b\\' c' dbname=bg", "host=db password = *** dbname=bg"},
        {"host=db dbname=bg", "host=db dbname=bg"},
        {"/var/spool/exim4/bounceguide/password=x.db", "/var/spool/exim4/bounceguide/password=x.db"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[300];
        bg_store_redact(cases[i].in, out, sizeof out);
        assert_string_equal(out, cases[i].out);
    }
    assert_true(bg_store_is_central("postgresql://x/y"));
    assert_true(bg_store_is_central("host=/run/postgresql dbname=bg"));
    assert_false(bg_store_is_central("/var/spool/exim4/bounceguide/suppression.db"));
    assert_false(bg_store_is_central("suppression.db"));
    /* an unreachable server: a bounded failure that names no password */
    char err[400];
    bg_store_status st;
    bg_store *s = bg_store_open("host=/nonexistent-dir dbname=bg user=bg password=hunter2", 500, BG_STORE_CREATE, &st,
                                err, sizeof err);
    assert_null(s);
    assert_int_equal(st, BG_STORE_IO);
    assert_null(strstr(err, "hunter2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(learned_on_a_refused_on_b, setup, teardown),
        cmocka_unit_test_setup_teardown(same_failure_two_hosts_counts_once, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_shipped_twice_counts_once, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_gone_back_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(central_down_then_back, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_lifts_on_both_and_new_log_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(proof_from_journal_then_central, setup, teardown),
        cmocka_unit_test_setup_teardown(poison_entry_dropped_others_shipped, setup, teardown),
        cmocka_unit_test_setup_teardown(migrate_sqlite_file, setup, teardown),
        cmocka_unit_test_setup_teardown(counts_through_the_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(migrate_counts_once_per_file, setup, teardown),
        cmocka_unit_test(redact),
    };
    return cmocka_run_group_tests_name("fleet", tests, pg_group_setup, pg_group_teardown);
}
