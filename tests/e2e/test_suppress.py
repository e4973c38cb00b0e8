"""End-to-end: the per-sending-domain suppression store against a real Exim
(issue 4). The transport's event_action records failures, the RCPT ACL
refuses suppressed recipients per sending domain, local_scan records
bounces from other servers only with proof, `bounceguide suppress` manages
rows, and database faults never stop mail."""

import datetime
import os
import re
import sqlite3
import threading
import time

import checks
import mail
import store_helpers as sh
from sandbox import wait_for


def make_sandbox():
    return sh.make_sandbox()


def _today():
    return datetime.datetime.utcnow().strftime("%Y-%m-%d")


def _suppressed_reply(rcpt, domain, category):
    return "5.7.1 <%s> is suppressed for mail from %s: %s since %s (bounceguide)" % (
        rcpt, domain, category, _today())


def _joined(text):
    """One line from a multi-line reply: Exim splits ACL messages longer
    than 75 characters, repeating the enhanced code on each line."""
    lines = text.split("\n")
    out = [lines[0]] + [l[6:] if l.startswith("5.7.1 ") else l for l in lines[1:]]
    return " ".join(out)


def _wait_row(sb, domain, rcpt, pred=sh.active, timeout=20, db=None):
    def get():
        for r in sh.rows(sb, rcpt, db=db):
            if r["sender_domain"] == domain and pred(r):
                return r
        return None
    return wait_for(get, timeout, "store row %s/%s" % (domain, rcpt))


def test_hard_failure_refused_for_that_sending_domain_only(sb):
    user = sb.add_user("hard1")
    rcpt = "gone1@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt)
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, "first"))
    sb.wait_mail("hard1", 1)                      # Exim's bounce: delivery was tried
    r = _wait_row(sb, "local.test", rcpt)
    assert r["category"] == "unknown-user", r
    assert r["status"] == "5.1.1" and r["reply_code"] == 550, r
    assert r["source"] in ("transport", "bounce"), r
    # the same failure, seen by the transport and by local_scan, counts once
    c = sqlite3.connect("file:%s?mode=ro" % sh.db_path(sb), uri=True)
    n = c.execute("SELECT COUNT(*) FROM bg_event WHERE recipient = ? AND kind = 'fail'",
                  (rcpt,)).fetchone()[0]
    # the local IP, noted at smtp:ehlo, for the auth diagnosis
    # (bg_store_sending_ip's query: the recipient's own events, else the message's)
    ip = c.execute("SELECT sending_ip FROM bg_event WHERE message_id = "
                   "(SELECT message_id FROM bg_event WHERE recipient = ? AND kind = 'fail') "
                   "AND recipient IN (?, '') AND sending_ip <> ''", (rcpt, rcpt)).fetchone()
    c.close()
    assert n == 1, n
    assert ip and ip[0] == "127.0.0.1", ip
    # the next message from the same sending domain is refused at RCPT
    code, text = sh.rcpt_reply(sb, "someone.else@local.test", rcpt)
    assert code == 550, (code, text)
    assert _joined(text) == _suppressed_reply(rcpt, "local.test", "unknown-user"), text
    # ... another sending domain still gets through
    sb.peer.set_rule(rcpt, rcpt="250 2.1.5 OK")
    before = len(sb.peer.received)
    code, text = sh.rcpt_reply(sb, "news@other.test", rcpt)
    assert code == 250, (code, text)
    wait_for(lambda: any(rcpt in m[1] for m in sb.peer.received[before:]), 20, "delivery to peer")
    checks.panic_clean(sb)


def test_sender_side_refusal_suppresses_nobody(sb):
    """Issue 16's worst error: a refusal about our own sender ("The sender's
    domain does not exist", "Your domain does not exist") in words a
    recipient failure also uses was read as an unknown user or domain and
    suppressed the recipient -- the whole recipient domain for the second.
    Through the real Exim: the failure is recorded as the sender's, nobody
    is suppressed, and the next message to both recipients is accepted."""
    user = sb.add_user("sside1")
    r1, r2 = "fine1@remote.test", "fine2@remote.test"
    sb.peer.set_rule(r1, rcpt="550 The sender's domain does not exist")
    sb.peer.set_rule(r2, rcpt="550 5.7.1 Your domain does not exist")
    sb.submit(user, [r1, r2], mail.make_message(user, r1, "sender side"))
    sb.wait_mail("sside1", 1)                     # Exim's bounce: delivery was tried

    def events():
        c = sqlite3.connect("file:%s?mode=ro" % sh.db_path(sb), uri=True, timeout=5)
        try:
            return dict(c.execute("SELECT recipient, category FROM bg_event WHERE kind LIKE 'fail%' "
                                  "AND recipient IN (?, ?)", (r1, r2)).fetchall())
        finally:
            c.close()
    got = wait_for(lambda: events() if len(events()) == 2 else None, 20, "both failures recorded")
    assert got == {r1: "sender-rejected", r2: "sender-rejected"}, got
    assert not any(sh.active(r) for r in sh.rows(sb)
                   if r["recipient"] in (r1, r2, "remote.test", "@remote.test")), sh.rows(sb)
    for rcpt in (r1, r2):
        sb.peer.set_rule(rcpt, rcpt="250 2.1.5 OK")
        code, text = sh.rcpt_reply(sb, user, rcpt)
        assert code == 250, (rcpt, code, text)
    checks.panic_clean(sb)


def _defer_once(sb, user, rcpt, subject):
    mark = sb.log_mark()
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, subject))
    sb.wait_log("== %s" % rcpt, mark)
    # the event is written by the delivery process right after the defer
    time.sleep(0)


def test_soft_threshold_three_deferrals_suppress_two_do_not(sb):
    user = sb.add_user("soft1")
    rcpt = "full1@remote.test"
    sb.peer.set_rule(rcpt, rcpt="452 4.2.2 <%s>: Mailbox full" % rcpt)
    for i in range(2):
        _defer_once(sb, user, rcpt, "defer %d" % i)
    r = _wait_row(sb, "local.test", rcpt, pred=lambda r: r["soft_count"] == 2)
    assert not sh.active(r), r
    assert r["category"] == "mailbox-full" and r["scope"] == "soft", r
    # $sending_ip_address is kept with each event, for the auth diagnosis
    # (deferrals run in the transport process, where Exim always has it)
    c = sqlite3.connect("file:%s?mode=ro" % sh.db_path(sb), uri=True)
    ips = {x[0] for x in c.execute("SELECT sending_ip FROM bg_event WHERE recipient = ?", (rcpt,))}
    c.close()
    assert ips == {"127.0.0.1"}, ips
    code, text = sh.rcpt_reply(sb, user, rcpt)     # two do not suppress: accepted ...
    assert code == 250, (code, text)
    r = _wait_row(sb, "local.test", rcpt)          # ... and its deferral is the third
    assert r["soft_count"] == 3, r
    code, text = sh.rcpt_reply(sb, user, rcpt)
    assert code == 550 and _joined(text) == _suppressed_reply(rcpt, "local.test", "mailbox-full"), text
    sb.remove_queued()


def test_delivery_clears_soft_count(sb):
    user = sb.add_user("soft2")
    rcpt = "full2@remote.test"
    sb.peer.set_rule(rcpt, rcpt="452 4.2.2 Mailbox full")
    for i in range(2):
        _defer_once(sb, user, rcpt, "defer %d" % i)
    _wait_row(sb, "local.test", rcpt, pred=lambda r: r["soft_count"] == 2)
    sb.remove_queued()
    sb.peer.set_rule(rcpt, rcpt="250 2.1.5 OK")
    mark = sb.log_mark()
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, "delivered"))
    sb.wait_log("=> %s" % rcpt, mark)
    _wait_row(sb, "local.test", rcpt, pred=lambda r: r["soft_count"] == 0)
    sb.peer.set_rule(rcpt, rcpt="452 4.2.2 Mailbox full")
    for i in range(2):
        _defer_once(sb, user, rcpt, "again %d" % i)
    r = _wait_row(sb, "local.test", rcpt, pred=lambda r: r["soft_count"] == 2)
    assert not sh.active(r), r
    code, _ = sh.rcpt_reply(sb, user, rcpt)
    assert code == 250
    sb.remove_queued()


def test_retry_timeout_bounce_counts_once(sb):
    """Issue 12 (4): the transport sees a deferral; the "retry timeout
    exceeded" bounce after it is seen only by local_scan. The two are the
    same message's soft failure: they count once (before, soft_count 2)."""
    user = sb.add_user("retry1")
    rcpt = "slow1@timeout.test"
    sb.peer.set_rule(rcpt, rcpt="452 4.2.2 <%s>: Mailbox full" % rcpt)
    _defer_once(sb, user, rcpt, "will time out")
    r = _wait_row(sb, "local.test", rcpt, pred=lambda r: r["soft_count"] == 1)
    assert r["source"] == "transport", r
    # timeout.test gives up after 2 s: queue runs until Exim bounces it
    mark = sb.log_mark()
    wait_for(lambda: sb.run_queue() and sb.mailbox("retry1"), 15, "retry-timeout bounce", step=0.3)
    sb.wait_log("failure report rewritten", mark)
    r = sh.row(sb, "local.test", rcpt)
    assert r["soft_count"] == 1 and r["source"] == "transport", r
    c = sqlite3.connect("file:%s?mode=ro" % sh.db_path(sb), uri=True)
    kinds = sorted(k for (k,) in c.execute(
        "SELECT kind FROM bg_event WHERE recipient = ? AND kind NOT IN ('sent', 'ip')", (rcpt,)))
    c.close()
    assert kinds == ["soft"], kinds


def test_defer_and_fail_of_one_message_count_once(sb):
    """Issue 12 (4): a 4xx to several recipients of one message where the
    retry rule gives up at once (fail.test): each recipient's deferral and
    failure are one soft event. Two messages leave them unsuppressed, the
    third suppresses (before: suppressed after two)."""
    user = sb.add_user("once1")
    rcpts = ["q1@fail.test", "q2@fail.test"]
    for r in rcpts:
        sb.peer.set_rule(r, rcpt="452 4.2.2 <%s>: Mailbox full" % r)
    for i in range(2):
        mark = sb.log_mark()
        sb.submit(user, rcpts, mail.make_message(user, rcpts, "full %d" % i))
        sb.wait_mail("once1", i + 1)
        sb.wait_log("Completed", mark)
        for r in rcpts:
            row = _wait_row(sb, "local.test", r, pred=lambda x, n=i + 1: x["soft_count"] >= n)
            assert row["soft_count"] == i + 1 and not sh.active(row), row
    for r in rcpts:
        code, text = sh.rcpt_reply(sb, user, r)
        assert code == 250, (code, text)      # accepted: its deferral is the third event ...
    for r in rcpts:
        row = _wait_row(sb, "local.test", r)  # ... which suppresses
        assert row["soft_count"] == 3, row
        code, text = sh.rcpt_reply(sb, user, r)
        assert code == 550, (code, text)


def test_cli_remove_lifts_suppression(sb):
    user = sb.add_user("cli1")
    rcpt = "gone2@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 User unknown")
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, "first"))
    _wait_row(sb, "local.test", rcpt)
    code, _ = sh.rcpt_reply(sb, user, rcpt)
    assert code == 550
    shown = sh.cli("suppress", "show", rcpt, "--db", sh.db_path(sb))
    assert shown.returncode == 0 and "unknown-user" in shown.stdout, shown
    rm = sh.cli("suppress", "remove", rcpt, "--domain", "local.test", "--db", sh.db_path(sb))
    assert rm.returncode == 0, rm
    assert sh.row(sb, "local.test", rcpt) is None
    sb.peer.set_rule(rcpt, rcpt="250 2.1.5 OK")
    code, text = sh.rcpt_reply(sb, user, rcpt)
    assert code == 250, (code, text)
    # the database stays usable for Exim after root touched it
    st = os.stat(sh.db_path(sb))
    assert st.st_uid == sb.uid, st


def test_cli_import_all_or_nothing_then_enforced(sb):
    user = sb.add_user("imp1")
    csv = sb.path("import.csv")
    good = ('address,code,error,created_at\n'
            'imported1@remote.test,550,"550 5.1.1 <imported1@remote.test>: user unknown",2026-11-01T10:00:00Z\n'
            'Imported2@Remote.test,550,"550 5.2.1 account disabled, ""closed""",2026-11-02\n')
    with open(csv, "w") as f:
        f.write(good + 'imported3@-bad-.test,550,x,2026-11-03\n')
    r = sh.cli("suppress", "import", csv, "--domain", "local.test", "--db", sh.db_path(sb))
    assert r.returncode == 1, r
    assert "import.csv:4: bad address or domain syntax" in r.stderr, r.stderr
    assert "nothing imported" in r.stderr, r.stderr
    assert sh.row(sb, "local.test", "imported1@remote.test") is None
    with open(csv, "w") as f:
        f.write(good)
    r = sh.cli("suppress", "import", csv, "--domain", "local.test", "--db", sh.db_path(sb))
    assert r.returncode == 0 and "2 row(s) imported" in r.stdout, r
    code, text = sh.rcpt_reply(sb, user, "imported1@remote.test")
    assert code == 550 and _joined(text) == (
        "5.7.1 <imported1@remote.test> is suppressed for mail from local.test: "
        "unknown-user since 2026-11-01 (bounceguide)"), text
    assert sh.row(sb, "local.test", "imported2@remote.test")["category"] == "mailbox-disabled"
    out = sh.cli("suppress", "export", "--domain", "local.test", "--db", sh.db_path(sb))
    assert out.returncode == 0, out
    lines = out.stdout.splitlines()
    assert lines[0].startswith("address,code,error,created_at,sending_domain,category"), lines[0]
    assert any(l.startswith("imported1@remote.test,550,") for l in lines), lines
    js = sh.cli("suppress", "list", "--json", "--category", "mailbox-disabled", "--db", sh.db_path(sb))
    import json
    got = json.loads(js.stdout)
    assert [g["recipient"] for g in got] == ["imported2@remote.test"], got


def test_forged_inbound_bounce_changes_nothing(sb):
    user = sb.add_user("forge1")
    victim = "victim1@remote.test"
    before = sh.rows(sb, victim)
    mark = sb.log_mark()
    # unsigned, and the returned Message-ID was never sent from here
    sb.submit("", [user], sh.dsn(user, victim, "550 5.1.1 <%s>: User unknown" % victim,
                                 "<never-sent-1@local.test>"))
    sb.wait_mail("forge1", 1)
    assert sh.rows(sb, victim) == before
    lines = sh.store_lines(sb.log_since(mark))
    assert any("was never sent" in l for l in lines), lines
    # a prvs tag with a wrong signature proves the report false
    bad = sh.prvs_sign(user, secret="not-the-secret")
    mark = sb.log_mark()
    sb.submit("", [bad], sh.dsn(bad, victim, "550 5.1.1 User unknown", "<never-sent-2@local.test>"))
    sb.wait_mail("forge1", 2)
    assert sh.rows(sb, victim) == before
    lines = sh.store_lines(sb.log_since(mark))
    assert any("no proof" in l and "signature does not match" in l for l in lines), lines
    code, _ = sh.rcpt_reply(sb, user, victim)
    assert code == 250


def test_signed_inbound_bounce_alone_suppresses_nobody(sb):
    """Issue 12 (1): a valid prvs signature is no proof -- anyone who got
    mail from the user has seen one. A report reusing it, about an address
    never mailed, records nothing (before: an active unknown-user row)."""
    user = sb.add_user("signed1")
    rcpt = "later1@remote.test"
    signed = sh.prvs_sign(user)
    mark = sb.log_mark()
    sb.submit("", [signed], sh.dsn(signed, rcpt, "550 5.1.1 <%s>: User unknown" % rcpt,
                                   "<sent-later-1@local.test>"))
    sb.wait_mail("signed1", 1)
    assert sh.rows(sb, rcpt) == []
    assert any("was never sent" in l for l in sh.store_lines(sb.log_since(mark)))
    code, text = sh.rcpt_reply(sb, user, rcpt)
    assert code == 250, (code, text)


def test_inbound_bounce_with_our_message_id_suppresses(sb):
    user = sb.add_user("mid1")
    rcpt = "accepted1@remote.test"
    sb.peer.set_rule(rcpt, rcpt="250 2.1.5 OK")
    msgid = "<mid-proof-%d@local.test>" % int(time.time() * 1000)
    mark = sb.log_mark()
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, "accepted", msgid=msgid))
    sb.wait_log("=> %s" % rcpt, mark)
    # a plain report to the plain address from the host that accepted the
    # message (the peer, 127.0.0.1), returning the Message-ID the transport
    # recorded at delivery: the asynchronous bounce of the recipient's own
    # server (tests/e2e/test_inbound.py has the forgeries)
    sb.submit("", [user], sh.dsn(user, rcpt, "550 5.2.1 <%s>: mailbox disabled" % rcpt, msgid,
                                 status="5.2.1"))
    r = _wait_row(sb, "local.test", rcpt)
    assert r["source"] == "inbound", r
    # ... but not for a recipient that message never went to
    other = "notarecipient@remote.test"
    sb.submit("", [user], sh.dsn(user, other, "550 5.1.1 User unknown", msgid))
    sb.wait_mail("mid1", 2)
    assert sh.row(sb, "local.test", other) is None


def test_locally_submitted_mail_fails_at_router(sb):
    user = sb.add_user("local1")
    rcpt = "gone3@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 User unknown")
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, "first"))
    sb.wait_mail("local1", 1)
    _wait_row(sb, "local.test", rcpt)
    # the sendmail interface: no SMTP, no RCPT ACL -- the router refuses
    before = len(sb.peer.received)
    mark = sb.log_mark()
    p = sb.exim("-odi", "-f", user, rcpt, input=mail.make_message(user, rcpt, "via sendmail"))
    assert p.returncode == 0, p.stderr
    sb.wait_mail("local1", 2)
    log = sb.log_since(mark)
    want = "** %s R=bounceguide_suppress: <%s> is suppressed for mail from local.test: " \
           "unknown-user since %s (bounceguide)" % (rcpt, rcpt, _today())
    assert want in log, log
    assert not any(rcpt in m[1] for m in sb.peer.received[before:])


def test_our_refusal_keeps_the_facts(sb):
    """Issue 12 (3): our router's refusal of a suppressed recipient changes
    nothing in its row (before: category recipient-suppressed, status
    5.0.0, our own text as the reply, expiry renewed), and the sender's
    bounce says that our server stopped it, when, why and how to lift it
    (before: "The service that handles remote.test refuses ...")."""
    user = sb.add_user("ours1")
    rcpt = "gone4@remote.test"
    reply = "550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt
    sb.peer.set_rule(rcpt, rcpt=reply)
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, "first"))
    sb.wait_mail("ours1", 1)
    before = _wait_row(sb, "local.test", rcpt)
    assert before["category"] == "unknown-user" and before["status"] == "5.1.1", before
    time.sleep(1.1)  # a renewed expiry or last_seen would show
    p = sb.exim("-odi", "-f", user, rcpt, input=mail.make_message(user, rcpt, "via sendmail"))
    assert p.returncode == 0, p.stderr
    bounce = sb.wait_mail("ours1", 2)[-1]
    assert sh.row(sb, "local.test", rcpt) == before, (sh.row(sb, "local.test", rcpt), before)
    msg = checks.enriched(bounce, "suppressed-here")
    text = " ".join(mail.text_of(msg, "text/plain").split())
    html = mail.text_of(msg, "text/html")
    assert "bounceguide suppress remove %s --domain local.test" % rcpt in html
    # the sender reads dates in words (conf/guidance/en.conf date), the
    # administrator's notes keep them as the store gives them
    months = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
    def words(t):
        d = datetime.datetime.utcfromtimestamp(t)
        return "%d %s %d" % (d.day, months[d.month - 1], d.year)
    since, until = words(before["suppressed_since"]), words(before["expires_at"])
    since_iso = datetime.datetime.utcfromtimestamp(before["suppressed_since"]).strftime("%Y-%m-%d")
    for want in ("Our own mail server stopped this message before it left",
                 "On %s, mail from local.test to %s failed with this answer" % (since, rcpt),
                 '"%s"' % reply, "The reply that caused it: %s" % reply, "until %s" % until,
                 "since %s" % since_iso, "ask your mail administrator to lift the block",
                 "To lift it, as root: bounceguide suppress remove %s --domain local.test" % rcpt):
        assert want in text, (want, text)
    assert "refuses to deliver" not in text, text
    # and over SMTP, from a relay host, the RCPT ACL refuses it first
    code, answer = sh.rcpt_reply(sb, user, rcpt)
    assert code == 550 and "(bounceguide)" in answer, (code, answer)
    assert sh.row(sb, "local.test", rcpt) == before


# ---- faults: mail flows, one log line each, bounded waits ----------------

def _fault_conf(sb, name):
    sb.set_bgconf(sh.bgconf(db="@@DIR@@/%s" % name))
    return sb.path(name)


def _fault_round(sb, user, rcpt):
    """One message to a remote recipient; returns the log text it caused.
    The message must be delivered (mail flows)."""
    sb.peer.set_rule(rcpt, rcpt="250 2.1.5 OK")
    mark = sb.log_mark()
    t = time.monotonic()
    code, text = sh.rcpt_reply(sb, user, rcpt)
    rcpt_s = time.monotonic() - t
    assert code == 250, (code, text)
    sb.wait_log("=> %s" % rcpt, mark)
    # the delivery event runs right after the "=>" line: wait for its line
    wait_for(lambda: any("for %s" % rcpt in l and ("delivery" in l or "check" in l)
                         for l in sh.store_lines(sb.log_since(mark))), 10, "store log line")
    time.sleep(0.3)  # a second line for the same message would show up by now
    return sb.log_since(mark), rcpt_s


def _waited(lines):
    return [int(m) for l in lines for m in re.findall(r"waited (\d+) ms|after (\d+) ms", l) for m in m if m]


def test_fault_unwritable_database(sb):
    user = sb.add_user("fault1")
    p = _fault_conf(sb, "ro.db")
    made = sh.cli("suppress", "add", "someone@example.net", "--domain", "local.test", "--db", p)
    assert made.returncode == 0, made                # a valid store, with its schema
    os.chown(p, 0, 0)
    os.chmod(p, 0o644)                             # Exim (Debian-exim) may read, not write
    try:
        text, _ = _fault_round(sb, user, "ro1@remote.test")
    finally:
        sb.set_bgconf(sh.bgconf())
    lines = [l for l in sh.store_lines(text) if "ro1@remote.test" in l]
    assert len(lines) == 1, lines                  # reading works; the delivery record fails
    assert "database is not writable" in lines[0] and "delivery for ro1@remote.test" in lines[0], lines


def test_fault_locked_beyond_timeout(sb):
    user = sb.add_user("fault2")
    p = sh.db_path(sb)
    # a suppressed recipient: while the database is locked it is accepted
    rcpt = "lockedgone@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 User unknown")
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, "first"))
    _wait_row(sb, "local.test", rcpt)
    sb.wait_mail("fault2", 1)
    c = sqlite3.connect(p, timeout=5, isolation_level=None)
    c.execute("PRAGMA locking_mode=EXCLUSIVE")
    c.execute("BEGIN EXCLUSIVE")
    c.execute("SELECT COUNT(*) FROM bg_suppression").fetchone()
    try:
        text, rcpt_s = _fault_round(sb, user, rcpt)
    finally:
        c.execute("ROLLBACK")
        c.close()
    lines = [l for l in sh.store_lines(text) if rcpt in l]
    # the RCPT check (receiving process) and the delivery record: one line each
    assert 1 <= len(lines) <= 2, lines
    assert all("locked beyond the timeout" in l for l in lines), lines
    waited = _waited(lines)
    assert waited and max(waited) <= 300 + 200, waited   # suppress_timeout_ms = 300
    assert rcpt_s < 2.0, rcpt_s


def test_fault_corrupt_database(sb):
    user = sb.add_user("fault3")
    p = _fault_conf(sb, "corrupt.db")
    with open(p, "wb") as f:
        f.write(b"this is not a database " * 400)
    os.chown(p, sb.uid, sb.gid)
    try:
        text, _ = _fault_round(sb, user, "corrupt1@remote.test")
    finally:
        sb.set_bgconf(sh.bgconf())
    lines = [l for l in sh.store_lines(text) if "corrupt1@remote.test" in l]
    # one line from the receiving process (RCPT check), one from the delivery
    assert 1 <= len(lines) <= 2, lines
    assert all("corrupt" in l for l in lines), lines
    checks.panic_clean(sb)


def test_single_label_sending_domain_logged(sb):
    """A sender whose domain has no dot (a short mail name: user@vm) cannot
    be keyed in the store; the failure is not recorded, and the log says so
    once instead of staying silent (found by the package test)."""
    rcpt = "gone-short@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt)
    mark = sb.log_mark()
    sb.submit("shorty@vm", [rcpt], mail.make_message("shorty@vm", rcpt, "short mail name"))

    def said():
        return [l for l in sb.log_since(mark).splitlines() if "not a full domain name" in l]
    lines = wait_for(said, 20, "the log line about the short sending domain")
    assert "'vm'" in lines[0], lines
    assert not sh.rows(sb, rcpt), sh.rows(sb, rcpt)
    sb.wait_queue_empty()
    checks.panic_clean(sb)
