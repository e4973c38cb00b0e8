"""End-to-end: reports from other servers cannot poison the suppression
list (issue 12, failure 1; docs/security.md "Forged reports").

A report arriving over SMTP is remote text from anyone. Each attack below is
sent to the real Exim from a loopback address of its own (127.0.0.0/8 is all
local) and must leave zero rows; the legitimate case -- the recipient's own
server accepted our message and bounced it later -- must still suppress.

The world (a scripted DNS server, diagnose_dns_servers):
  remote.test   MX mx.remote.test = 127.0.0.25; our deliveries go to the
                peer on 127.0.0.1 (the host that accepted them)
  other.test    MX mx.other.test = 127.0.0.66: the attacker's own server

All hosts here are loopback addresses, for which libspf2 passes any SPF
record (bg_inbound therefore never asks SPF about them): the SPF path is
proven with a zone resolver in tests/unit/test_policy.c (inbound_speaks).
"""

import json
import re
import time

import checks
import mail
import store_helpers as sh
from sandbox import wait_for
from slowdns import A, MX, TXT, SlowDNS, closed_udp_port

ZONE = {
    ("remote.test", MX): [(10, "mx.remote.test")],
    ("mx.remote.test", A): ["127.0.0.25"],
    ("remote.test", TXT): ["v=spf1 ip4:127.0.0.66 -all"],   # SPF is not asked for loopback
    ("other.test", MX): [(10, "mx.other.test")],
    ("mx.other.test", A): ["127.0.0.66"],
    ("other.test", TXT): ["v=spf1 ip4:127.0.0.66 -all"],
}
ATTACKER = "127.0.0.66"
DELIVERY_HOST = "127.0.0.1"
MX_HOST = "127.0.0.25"
DNS = None


def _conf(servers=None, extra=""):
    return sh.bgconf(extra="diagnose_dns_servers = %s\nsuppress_inbound_budget = 1500ms\n%s"
                     % (servers or DNS.server, extra))


def make_sandbox():
    global DNS
    DNS = SlowDNS(ZONE).start()
    return sh.make_sandbox(name="inbound", bgconf=_conf())


def _mid(tag):
    return "<%s-%d@local.test>" % (tag, int(time.time() * 1e6))


def _deliver(sb, user, rcpts, tag):
    """Send one message from user to rcpts; the peer accepts it. Returns its
    Message-ID once the transport recorded every delivery."""
    msgid = _mid(tag)
    for r in rcpts:
        sb.peer.set_rule(r, rcpt="250 2.1.5 OK")
    mark = sb.log_mark()
    sb.submit(user, rcpts, mail.make_message(user, rcpts[0], tag, msgid=msgid))
    for r in rcpts:
        wait_for(lambda: re.search(r"[-=]> %s " % re.escape(r), sb.log_since(mark)), 20,
                 "delivery to %s" % r)
    want = {r.lower() for r in rcpts}
    wait_for(lambda: want <= {e["recipient"] for e in sh.event_rows(sb) if e["kind"] == "sent"
                              and e["message_id"] == msgid.strip("<>")},
             20, "the transport's delivery records")
    return msgid


def _report(sb, src, to, body):
    """Send a null-sender report from src; returns the log mark from before.
    local_scan (and so the store) has run once Exim logs the arrival."""
    mark = sb.log_mark()
    sh.send_from(sb, src, "", [to], body)
    sb.wait_log("<= <> ", mark, timeout=60)
    return mark


def _nothing_for(sb, *addrs):
    for a in addrs:
        assert sh.rows(sb, a) == [], (a, sh.rows(sb, a))
        bad = [e for e in sh.event_rows(sb, a) if e["kind"] not in ("sent", "ip")]
        assert bad == [], bad


def _domain_rows(sb, domain):
    return [r for r in sh.rows(sb) if r["recipient"] == domain]


def test_attack_prvs_reuse_names_never_mailed(sb):
    """A correspondent reuses alice's prvs-signed MAIL FROM in null-sender
    reports naming addresses nobody here ever mailed -- from its own host
    and even from the recipients' real MX host. Zero rows."""
    user = sb.add_user("atk1")
    signed = sh.prvs_sign(user)               # valid: the attacker saw it on our mail
    victims = ["never%d@remote.test" % i for i in range(3)]
    for src in (ATTACKER, MX_HOST):
        mark = _report(sb, src, signed, sh.dsn_many(signed, victims, _mid("forged")))
        lines = sh.store_lines(sb.log_since(mark))
        assert sum("was never sent" in l for l in lines) == len(victims), lines
    _nothing_for(sb, *victims)
    code, text = sh.rcpt_reply(sb, user, victims[0])
    assert code == 250, (code, text)


def test_attack_thousand_recipients(sb):
    """One forged report naming 1,000 recipients: zero rows, one log line."""
    user = sb.add_user("atk2")
    signed = sh.prvs_sign(user)
    victims = ["bulk%04d@remote.test" % i for i in range(1000)]
    mark = _report(sb, MX_HOST, signed, sh.dsn_many(signed, victims, _mid("bulk")))
    lines = [l for l in sh.store_lines(sb.log_since(mark))]
    assert len(lines) == 1 and "names 1000 failed recipients" in lines[0], lines
    assert not [r for r in sh.rows(sb) if r["recipient"].startswith("bulk")]
    assert not [e for e in sh.event_rows(sb) if e["recipient"].startswith("bulk")]


def test_attack_forged_512_domain_row(sb):
    """A forged 5.1.2 (unknown-domain) for one address we did mail: from a
    stranger's host nothing; even from the domain's MX host never a domain
    row (every address at the domain would be refused for 30 days)."""
    user = sb.add_user("atk3")
    rcpt = "bob3@remote.test"
    msgid = _deliver(sb, user, [rcpt], "bob3")
    rep = sh.dsn(user, rcpt, "550 5.1.2 <%s>: Recipient address rejected: Domain not found" % rcpt, msgid,
                 status="5.1.2")
    mark = _report(sb, ATTACKER, user, rep)
    assert any("not recorded: %s is neither a mail host of remote.test" % ATTACKER in l
               for l in sh.store_lines(sb.log_since(mark))), sb.log_since(mark)
    _nothing_for(sb, rcpt)
    assert _domain_rows(sb, "remote.test") == []
    # the real MX host says so: the address, never the domain
    mark = _report(sb, MX_HOST, user, rep)
    r = wait_for(lambda: sh.row(sb, "local.test", rcpt), 20, "row for %s" % rcpt)
    assert r["scope"] == "address" and r["source"] == "inbound", r
    assert r["category"] == "unknown-domain", r
    assert _domain_rows(sb, "remote.test") == []
    assert any("counts as address, not domain" in l for l in sh.store_lines(sb.log_since(mark)))
    sh.cli("suppress", "remove", rcpt, "--db", sh.db_path(sb))


def test_attack_co_recipient_claim(sb):
    """eve was a co-recipient: she knows the Message-ID and bob's address.
    Her server's report that bob failed: zero rows. (Her report about
    herself is hers to make: her server speaks for her domain.)"""
    user = sb.add_user("atk4")
    bob, eve = "bob4@remote.test", "eve4@other.test"
    msgid = _deliver(sb, user, [bob, eve], "co-recipients")
    mark = _report(sb, ATTACKER, user, sh.dsn(user, bob, "550 5.1.1 <%s>: User unknown" % bob, msgid))
    _nothing_for(sb, bob)
    code, _ = sh.rcpt_reply(sb, user, bob)
    assert code == 250
    mark = _report(sb, ATTACKER, user, sh.dsn(user, eve, "550 5.1.1 <%s>: User unknown" % eve, msgid))
    r = wait_for(lambda: sh.row(sb, "local.test", eve), 20, "eve's own row")
    assert r["category"] == "unknown-user" and r["source"] == "inbound", r


def test_async_bounce_from_the_recipients_server(sb):
    """The recipient's own server accepted, then bounced: it still counts --
    from the host that accepted our delivery or from the domain's MX host
    (a host its SPF allows: tests/unit/test_policy.c)."""
    user = sb.add_user("async1")
    cases = [("carol5@remote.test", DELIVERY_HOST, "accepted our delivery"),
             ("dave5@remote.test", MX_HOST, "a mail host of remote.test")]
    msgid = _deliver(sb, user, [c[0] for c in cases], "async")
    for rcpt, src, why in cases:
        mark = _report(sb, src, user, sh.dsn(user, rcpt, "550 5.2.1 <%s>: mailbox disabled" % rcpt,
                                             msgid, status="5.2.1"))
        r = wait_for(lambda: sh.row(sb, "local.test", rcpt), 20, "row for %s" % rcpt)
        assert r["source"] == "inbound" and r["scope"] == "address" and sh.active(r), r
        assert r["category"] == "mailbox-disabled", r
        line = [l for l in sh.store_lines(sb.log_since(mark)) if "%s suppressed" % rcpt in l]
        assert line and why in line[0], (why, sb.log_since(mark))
        # the change log keeps the proof with the change (suppress history)
        h = sh.cli("suppress", "history", rcpt, "--format", "json", "--db", sh.db_path(sb))
        assert h.returncode == 0, h
        ch = [c for c in json.loads(h.stdout) if c["op"] == "suppressed"]
        assert len(ch) == 1 and ch[0]["source"] == "inbound" and why in ch[0]["note"], h.stdout
        assert msgid.strip("<>") in ch[0]["note"], ch
        code, _ = sh.rcpt_reply(sb, user, rcpt)
        assert code == 550
    checks.panic_clean(sb)


def test_dns_cannot_tell_counts_soft(sb):
    """When DNS cannot say whether the reporting host speaks for the
    domain, a hard claim counts as one soft event, never a suppression."""
    user = sb.add_user("soft6")
    rcpt = "frank6@remote.test"
    msgid = _deliver(sb, user, [rcpt], "frank")
    sb.set_bgconf(_conf(servers="127.0.0.1:%d" % closed_udp_port()))
    try:
        mark = _report(sb, ATTACKER, user, sh.dsn(user, rcpt, "550 5.1.1 <%s>: User unknown" % rcpt, msgid))
        r = wait_for(lambda: sh.row(sb, "local.test", rcpt), 20, "soft row")
    finally:
        sb.set_bgconf(_conf())
    assert r["scope"] == "soft" and r["soft_count"] == 1 and not sh.active(r), r
    assert any("counts as count, not address" in l for l in sh.store_lines(sb.log_since(mark)))


def test_report_without_proof_of_message(sb):
    """No returned Message-ID, or one that never left here for that
    recipient from that sending domain: nothing."""
    user = sb.add_user("noid7")
    rcpt = "gina7@remote.test"
    msgid = _deliver(sb, user, [rcpt], "gina")
    body = sh.dsn(user, rcpt, "550 5.1.1 User unknown", msgid)
    no_headers = re.sub(rb"--BND\nContent-Type: text/rfc822-headers.*?(?=--BND--)", b"", body, flags=re.S)
    assert b"rfc822-headers" not in no_headers
    mark = _report(sb, DELIVERY_HOST, user, no_headers)
    assert any("no returned Message-ID" in l for l in sh.store_lines(sb.log_since(mark))), sb.log_since(mark)
    # the right Message-ID but another sending domain
    other = "someone@other-sender.test"
    mark = _report(sb, DELIVERY_HOST, other, sh.dsn(other, rcpt, "550 5.1.1 User unknown", msgid))
    assert any("was never sent" in l for l in sh.store_lines(sb.log_since(mark))), sb.log_since(mark)
    _nothing_for(sb, rcpt)
