"""End-to-end: complaints (ARF feedback reports, RFC 5965) suppress the
complaining recipient for the sending domain -- with the proof rules of
inbound bounces (issue 13; docs/security.md "Attacks on the suppression
list"). A report from a stranger proves nothing.

The world (a scripted DNS server, diagnose_dns_servers), as test_inbound.py:
  remote.test   MX mx.remote.test = 127.0.0.25; our deliveries go to the
                peer on 127.0.0.1 (the host that accepted them)
  other.test    MX mx.other.test = 127.0.0.66: another provider's host
A feedback loop sends from the provider's own hosts: here the MX host of
remote.test (a real loop's outbound hosts pass its SPF, which libspf2
cannot be asked about for loopback clients: tests/unit/test_feedback.c
holds that path against a zone resolver).
"""

import json
import re
import time

import arf
import checks
import mail
import store_helpers as sh
from sandbox import wait_for
from slowdns import A, MX, TXT, SlowDNS

ZONE = {
    ("remote.test", MX): [(10, "mx.remote.test")],
    ("mx.remote.test", A): ["127.0.0.25"],
    ("remote.test", TXT): ["v=spf1 ip4:192.0.2.25 -all"],
    ("other.test", MX): [(10, "mx.other.test")],
    ("mx.other.test", A): ["127.0.0.66"],
    ("other.test", TXT): ["v=spf1 ip4:192.0.2.66 -all"],
}
STRANGER = "127.0.0.66"     # other.test's host: speaks for nobody at remote.test
DELIVERY_HOST = "127.0.0.1"
MX_HOST = "127.0.0.25"
FBL_FROM = "feedback@arf.remote.test"
DNS = None


def _conf(extra=""):
    return sh.bgconf(extra="diagnose_dns_servers = %s\nsuppress_inbound_budget = 1500ms\n%s"
                     % (DNS.server, extra))


def make_sandbox():
    global DNS
    DNS = SlowDNS(ZONE).start()
    return sh.make_sandbox(name="complaint", bgconf=_conf())


def _mid(tag):
    return "<%s-%d@local.test>" % (tag, int(time.time() * 1e6))


def _deliver(sb, user, rcpts, tag):
    """One message from user to rcpts, accepted by the peer; its Message-ID
    once the transport recorded every delivery."""
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


def _fbl(sb):
    """The feedback loop's mailbox (the address the sender enrolled)."""
    try:
        sb.add_user("fbl")
    except Exception:
        pass
    return "fbl@local.test"


def _send(sb, src, body, mail_from=FBL_FROM, to=None):
    """Send a report from src; returns the store lines it caused (local_scan
    has run once Exim logs the arrival)."""
    to = to or _fbl(sb)
    mark = sb.log_mark()
    sh.send_from(sb, src, mail_from, [to], body)
    sb.wait_log("<= %s " % (mail_from or "<>"), mark, timeout=60)
    return sh.store_lines(sb.log_since(mark))


def _nothing_for(sb, *addrs):
    for a in addrs:
        assert sh.rows(sb, a) == [], (a, sh.rows(sb, a))
        bad = [e for e in sh.event_rows(sb, a) if e["kind"] not in ("sent", "ip")]
        assert bad == [], bad


def test_complaint_from_the_feedback_loop_suppresses(sb):
    """Yahoo-style: the loop's own address sends the report to the address
    the sender enrolled; the returned message's Return-Path names the
    sending domain. ARF in, row out: complaint, kept until removed."""
    user = sb.add_user("cmp1")
    bob = "bob1@remote.test"
    msgid = _deliver(sb, user, [bob], "news1")
    lines = _send(sb, MX_HOST, arf.report(_fbl(sb), msgid, rcpt=bob, return_path=user))
    r = wait_for(lambda: sh.row(sb, "local.test", bob), 20, "the complaint's row")
    assert r["category"] == "complaint" and r["scope"] == "address" and r["source"] == "complaint", r
    # the change log: a complaint, with its proof (suppress history)
    h = sh.cli("suppress", "history", bob, "--format", "json", "--db", sh.db_path(sb))
    assert h.returncode == 0, h
    ch = json.loads(h.stdout)
    assert [c["op"] for c in ch] == ["suppressed"] and ch[0]["source"] == "complaint", ch
    assert ch[0]["note"] and ch[0]["category"] == "complaint", ch
    assert sh.active(r) and r["expires_at"] == 0, r
    assert "Feedback-Type abuse" in r["diagnostic"] and MX_HOST in r["diagnostic"], r
    assert any("%s suppressed for mail from local.test: complaint" % bob in l
               and "a mail host of remote.test" in l for l in lines), lines
    code, text = sh.rcpt_reply(sb, user, bob)
    assert code == 550 and "complaint since" in text, (code, text)
    # bounceguide report counts it (the module's first complaint), beside
    # the delivery it complains about
    rep = sh.cli("report", "--format", "json", "--domain", "local.test", "--db", sh.db_path(sb))
    assert rep.returncode == 0, rep
    g = json.loads(rep.stdout)["groups"]
    assert len(g) == 1 and g[0]["complaints"] == 1 and g[0]["delivered"] >= 1, g
    # the report itself reached the loop's mailbox as it came
    got = sb.wait_mail("fbl", 1)[-1]
    assert b"report-type=feedback-report" in got and b"Original-Rcpt-To: <%s>" % bob.encode() in got
    checks.panic_clean(sb)


def test_complaint_from_the_host_that_accepted_our_mail(sb):
    """A null-sender report to the sender itself, from the host that
    accepted our delivery."""
    user = sb.add_user("cmp2")
    carol = "carol2@remote.test"
    msgid = _deliver(sb, user, [carol], "news2")
    lines = _send(sb, DELIVERY_HOST, arf.report(user, msgid, rcpt=carol), mail_from="", to=user)
    r = wait_for(lambda: sh.row(sb, "local.test", carol), 20, "the complaint's row")
    assert r["category"] == "complaint" and sh.active(r), r
    assert any("accepted our delivery" in l for l in lines), lines


def test_attack_stranger_host(sb):
    """A report about a real delivery from a host that speaks for nobody
    at the recipient's domain: zero rows."""
    user = sb.add_user("cmp3")
    dave = "dave3@remote.test"
    msgid = _deliver(sb, user, [dave], "news3")
    lines = _send(sb, STRANGER, arf.report(_fbl(sb), msgid, rcpt=dave, return_path=user))
    assert any("not recorded: %s is neither a mail host of remote.test" % STRANGER in l for l in lines), lines
    _nothing_for(sb, dave)
    assert sh.rcpt_reply(sb, user, dave)[0] == 250


def test_attack_never_sent_message(sb):
    """A report from the recipient domain's own MX host about a message
    this server never sent (a made-up Message-ID): zero rows. A report
    naming an address the real message never went to records nothing for
    that address (a placeholder, as some loops redact: the message's only
    recipient at that domain is then the complainer)."""
    user = sb.add_user("cmp4")
    erin, ghost = "erin4@remote.test", "ghost4@remote.test"
    lines = _send(sb, MX_HOST, arf.report(_fbl(sb), _mid("never"), rcpt=erin, return_path=user))
    assert any("was never sent from here" in l for l in lines), lines
    _nothing_for(sb, erin)
    msgid = _deliver(sb, user, [erin], "news4")
    lines = _send(sb, STRANGER, arf.report(_fbl(sb), msgid, rcpt=ghost, return_path=user))
    assert any("%s was never sent" % ghost in l for l in lines), lines
    assert any("speaks for none" in l for l in lines), lines
    _nothing_for(sb, ghost, erin)
    lines = _send(sb, MX_HOST, arf.report(_fbl(sb), msgid, rcpt=ghost, return_path=user))
    _nothing_for(sb, ghost)
    r = wait_for(lambda: sh.row(sb, "local.test", erin), 20, "erin's row")
    assert r["category"] == "complaint", r
    assert any("the message's only recipient" in l for l in lines), lines


def test_attack_co_recipient(sb):
    """eve (other.test) was a co-recipient: she knows the Message-ID and
    bob's address. Her provider's report that bob complained: zero rows.
    Her own complaint is hers to make."""
    user = sb.add_user("cmp5")
    bob, eve = "bob5@remote.test", "eve5@other.test"
    msgid = _deliver(sb, user, [bob, eve], "shared5")
    lines = _send(sb, STRANGER, arf.report(_fbl(sb), msgid, rcpt=bob, return_path=user))
    assert any("%s not recorded" % bob in l for l in lines), lines
    _nothing_for(sb, bob, eve)   # a report naming bob is not eve's either
    _send(sb, STRANGER, arf.report(_fbl(sb), msgid, rcpt=eve, return_path=user))
    r = wait_for(lambda: sh.row(sb, "local.test", eve), 20, "eve's own row")
    assert r["category"] == "complaint", r
    _nothing_for(sb, bob)


def test_redacted_report_finds_the_only_recipient(sb):
    """Feedback loops often redact the complainer (RFC 6590). The
    message's only recipient at a domain the reporting host speaks for is
    the complainer; with two such recipients, nobody."""
    user = sb.add_user("cmp6")
    frank = "frank6@remote.test"
    msgid = _deliver(sb, user, [frank, "zoe6@other.test"], "news6")
    lines = _send(sb, MX_HOST, arf.report(_fbl(sb), msgid, rcpt=None, orig_to="redacted",
                                          return_path=user))
    r = wait_for(lambda: sh.row(sb, "local.test", frank), 20, "frank's row")
    assert r["category"] == "complaint" and sh.active(r), r
    assert any("the message's only recipient" in l for l in lines), lines
    assert sh.rows(sb, "zoe6@other.test") == []
    # two recipients at remote.test: ambiguous, nothing
    g1, g2 = "gail6@remote.test", "hank6@remote.test"
    msgid = _deliver(sb, user, [g1, g2], "news6b")
    lines = _send(sb, MX_HOST, arf.report(_fbl(sb), msgid, rcpt=None, orig_to="redacted",
                                          return_path=user))
    assert any("speaks for more than one" in l for l in lines), lines
    _nothing_for(sb, g1, g2)


def test_reports_that_are_no_complaint(sb):
    """not-spam, auth-failure (a DMARC failure report, RFC 6591) and virus
    reports suppress nobody."""
    user = sb.add_user("cmp7")
    ivy = "ivy7@remote.test"
    msgid = _deliver(sb, user, [ivy], "news7")
    for ft in ("not-spam", "auth-failure", "virus"):
        lines = _send(sb, MX_HOST, arf.report(_fbl(sb), msgid, rcpt=ivy, return_path=user,
                                              feedback_type=ft))
        assert any("(Feedback-Type %s) is no complaint" % ft in l for l in lines), (ft, lines)
    _nothing_for(sb, ivy)


def test_switch_and_expiry_per_domain(sb):
    """suppress_complaints = no in the sending domain's section records
    nothing; suppress_expire_complaint gives the row its lifetime."""
    user = sb.add_user("cmp8")
    jack, kim = "jack8@remote.test", "kim8@remote.test"
    msgid = _deliver(sb, user, [jack], "news8")
    sb.set_bgconf(_conf("[domain local.test]\nsuppress_complaints = no\n"))
    try:
        lines = _send(sb, MX_HOST, arf.report(_fbl(sb), msgid, rcpt=jack, return_path=user))
    finally:
        sb.set_bgconf(_conf())
    assert any("complaints are off" in l for l in lines), lines
    _nothing_for(sb, jack)
    msgid = _deliver(sb, user, [kim], "news8b")
    sb.set_bgconf(_conf("[domain local.test]\nsuppress_expire_complaint = 30d\n"))
    try:
        _send(sb, MX_HOST, arf.report(_fbl(sb), msgid, rcpt=kim, return_path=user))
    finally:
        sb.set_bgconf(_conf())
    r = wait_for(lambda: sh.row(sb, "local.test", kim), 20, "kim's row")
    left = r["expires_at"] - int(time.time())
    assert 29 * 86400 < left <= 30 * 86400, r


def test_local_submission_proves_nothing(sb):
    """A feedback report submitted on the command line (not over SMTP):
    zero rows, whoever submits it."""
    user = sb.add_user("cmp9")
    lee = "lee9@remote.test"
    msgid = _deliver(sb, user, [lee], "news9")
    mark = sb.log_mark()
    p = sb.exim("-odi", "-f", "", _fbl(sb), input=arf.report(_fbl(sb), msgid, rcpt=lee, return_path=user))
    assert p.returncode == 0, p.stderr
    sb.wait_log("<= <> ", mark)
    lines = sh.store_lines(sb.log_since(mark))
    assert any("not received over SMTP" in l for l in lines), lines
    _nothing_for(sb, lee)


def test_attack_many_recipients(sb):
    """One report naming more recipients than suppress_inbound_max_rcpts:
    nothing, one line."""
    user = sb.add_user("cmp10")
    victims = ["v%02d@remote.test" % i for i in range(11)]
    msgid = _deliver(sb, user, victims[:1], "news10")
    lines = _send(sb, MX_HOST, arf.report(_fbl(sb), msgid, rcpt=victims, return_path=user))
    assert len(lines) == 1 and "names 11 recipients" in lines[0], lines
    _nothing_for(sb, *victims)
