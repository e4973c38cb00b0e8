"""End-to-end: the suppression list's history (issue 13, schema 4) through
the real Exim. A failure the transport records is a change with its
reply; `bounceguide suppress remove` run as root is a change with the
actor; `suppress changes --since N` returns exactly what happened after N
(what a CRM or a replica follows); soft events that leave a row counting
are not changes, the one that crosses the threshold is."""

import json
import os

import mail
import store_helpers as sh
from sandbox import wait_for


def make_sandbox():
    return sh.make_sandbox(name="history")


def _wait_active(sb, rcpt, domain="local.test"):
    return wait_for(lambda: (lambda r: r if sh.active(r) else None)(sh.row(sb, domain, rcpt)),
                    20, "suppression of %s" % rcpt)


def _json(*args):
    r = sh.cli(*args)
    assert r.returncode == 0, r
    return json.loads(r.stdout)


def _history(sb, rcpt):
    return _json("suppress", "history", rcpt, "--format", "json", "--db", sh.db_path(sb))


def _changes(sb, *extra):
    return _json("suppress", "changes", "--format", "json", "--db", sh.db_path(sb), *extra)


def test_transport_failure_then_root_removes(sb):
    user = sb.add_user("hist1")
    rcpt = "gone.h1@remote.test"
    reply = "550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt
    sb.peer.set_rule(rcpt, rcpt=reply)
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, "first"))
    sb.wait_mail("hist1", 1)            # Exim's bounce: local_scan saw it too (a duplicate)
    _wait_active(sb, rcpt)

    # history: one change, from the transport, with the remote reply
    h = _history(sb, rcpt)
    assert len(h) == 1, h
    c = h[0]
    assert c["op"] == "suppressed" and c["source"] == "transport", c
    assert c["sending_domain"] == "local.test" and c["recipient"] == rcpt, c
    assert c["category"] == "unknown-user" and c["status"] == "5.1.1" and c["reply_code"] == 550, c
    assert "Recipient address rejected: User unknown" in c["reply"], c
    assert c["active"] is True and c["actor"] is None and c["message_id"], c
    assert c["expires_at"] is not None, c
    # the table an administrator reads says the same
    t = sh.cli("suppress", "history", rcpt, "--db", sh.db_path(sb))
    assert t.returncode == 0, t
    line = [l for l in t.stdout.splitlines() if " suppressed " in l]
    assert line and "transport" in line[0] and "550 5.1.1" in line[0], t.stdout

    # where a sync client stands now
    before = _changes(sb)
    assert before["complete"] is True and before["log_id"], before
    cursor = before["next_since"]
    assert cursor == before["last_seq"] >= c["seq"], before

    # root lifts it, with a reason: a change with the actor
    rm = sh.cli("suppress", "remove", rcpt, "--domain", "local.test", "--reason", "e2e: user exists again",
                "--db", sh.db_path(sb))
    assert rm.returncode == 0, rm
    h = _history(sb, rcpt)
    assert [x["op"] for x in h] == ["suppressed", "removed"], h
    r = h[1]
    assert r["source"] == "admin" and r["active"] is False, r
    assert r["actor"] == {"uid": os.getuid(), "user": "root"}, r
    assert r["note"] == "e2e: user exists again", r
    assert r["category"] == "unknown-user" and r["suppressed_since"] == c["suppressed_since"], r

    # the next message gets through, and the failure suppresses again
    sb.peer.set_rule(rcpt, rcpt="250 2.1.5 OK")
    code, _ = sh.rcpt_reply(sb, user, rcpt)
    assert code == 250
    sb.peer.set_rule(rcpt, rcpt=reply)
    sb.submit(user, [rcpt], mail.make_message(user, rcpt, "second"))
    _wait_active(sb, rcpt)

    # changes --since the cursor: exactly what happened after it, in order
    after = _changes(sb, "--since", str(cursor))
    got = [(x["op"], x["recipient"], x["source"]) for x in after["changes"]]
    assert got == [("removed", rcpt, "admin"), ("suppressed", rcpt, "transport")], after
    seqs = [x["seq"] for x in after["changes"]]
    assert seqs == list(range(cursor + 1, cursor + 3)), seqs
    assert after["next_since"] == seqs[-1] and after["more"] is False, after
    # ... and nothing more after that
    again = _changes(sb, "--since", str(after["next_since"]))
    assert again["changes"] == [] and again["next_since"] == after["next_since"], again
    # the CSV a spreadsheet gets has the same rows
    csv = sh.cli("suppress", "changes", "--since", str(cursor), "--format", "csv", "--db", sh.db_path(sb))
    assert csv.returncode == 0 and len(csv.stdout.splitlines()) == 3, csv
    # the database still belongs to Exim
    assert os.stat(sh.db_path(sb)).st_uid == sb.uid


def test_soft_events_log_only_the_threshold(sb):
    user = sb.add_user("hist2")
    rcpt = "full.h2@remote.test"
    sb.peer.set_rule(rcpt, rcpt="452 4.2.2 <%s>: Mailbox full" % rcpt)
    cursor = _changes(sb)["next_since"]
    for i in range(3):
        mark = sb.log_mark()
        sb.submit(user, [rcpt], mail.make_message(user, rcpt, "defer %d" % i))
        sb.wait_log("== %s" % rcpt, mark)
        wait_for(lambda n=i + 1: (sh.row(sb, "local.test", rcpt) or {}).get("soft_count") == n,
                 20, "soft count %d" % (i + 1))
        h = _history(sb, rcpt) if i == 2 else sh.cli("suppress", "history", rcpt, "--db", sh.db_path(sb))
        if i < 2:
            # two soft events leave the row counting: no change, history says so
            assert h.returncode == 1 and "no recorded changes" in h.stdout, h
    assert len(h) == 1, h
    c = h[0]
    assert c["op"] == "suppressed" and c["scope"] == "soft" and c["soft_count"] == 3, c
    assert c["note"] == "3 soft events within 7d (threshold 3)", c
    assert c["category"] == "mailbox-full" and c["status"] == "4.2.2", c
    after = _changes(sb, "--since", str(cursor), "--domain", "local.test")
    assert [x["recipient"] for x in after["changes"]] == [rcpt], after
    sb.remove_queued()
