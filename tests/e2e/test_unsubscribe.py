"""End-to-end: unsubscribe requests and the `unsubscribed` category
(issue 13), through Debian's REAL generated configuration
(tests/e2e/lib/debian_sandbox.py: update-exim4.conf over a copy of
/etc/exim4 with the package's conf.d snippets) with the optional router
turned on by its macro:

    BOUNCEGUIDE_UNSUBSCRIBE = unsubscribe@local.test

local.test sends a newsletter through the smarthost (the scripted peer);
its List-Unsubscribe mailto: address is unsubscribe@local.test. A request
counts only when it proves itself (docs/security.md): over SMTP, its
envelope sender is its From:, local.test delivered mail to that address,
and the connecting host is a mail host of the requester's domain or
passes its SPF. The world (a scripted DNS server):

  remote.test   MX mx.remote.test = 127.0.0.25; SPF ip4:198.51.100.0/28
  other.test    MX mx.other.test = 127.0.0.66 (another provider)

The SPF path needs a client address that is not loopback (libspf2 passes
every loopback client): those requests are submitted by root with
`exim -oMa 198.51.100.7 -oMr esmtp` -- a trusted caller's way to give a
message the host address it came from; everything after reception (the
router, the plugin, its DNS and SPF) is what a message from that host
gets.
"""

import os
import re
import smtplib
import subprocess
import time

import checks
import debian_sandbox
import mail
import store_helpers as sh
from sandbox import EXIM, wait_for
from slowdns import A, MX, TXT, SlowDNS

ZONE = {
    ("remote.test", MX): [(10, "mx.remote.test")],
    ("mx.remote.test", A): ["127.0.0.25"],
    ("remote.test", TXT): ["v=spf1 ip4:198.51.100.0/28 -all"],
    ("other.test", MX): [(10, "mx.other.test")],
    ("mx.other.test", A): ["127.0.0.66"],
    ("other.test", TXT): ["v=spf1 -all"],
}
LIST = "unsubscribe@local.test"
SENDER = "news@local.test"
MX_HOST = "127.0.0.25"          # remote.test's mail host
STRANGER = "127.0.0.66"         # other.test's: speaks for nobody at remote.test
SPF_PASS = "198.51.100.7"
SPF_FAIL = "203.0.113.9"
DNS = None


def _conf(extra=""):
    return sh.bgconf(extra="diagnose_dns_servers = %s\nsuppress_inbound_budget = 1500ms\n%s"
                     % (DNS.server, extra))


def make_sandbox():
    global DNS
    DNS = SlowDNS(ZONE).start()
    return debian_sandbox.make("unsub", _conf(), macros=["BOUNCEGUIDE_UNSUBSCRIBE = %s" % LIST])


def _newsletter(sb, rcpt):
    """local.test mails rcpt through the smarthost; returns once the
    transport recorded the delivery."""
    with smtplib.SMTP("127.0.0.1", sb.port, timeout=30) as s:
        s.ehlo("client.test")
        s.sendmail(SENDER, [rcpt], mail.make_message(
            SENDER, rcpt, "our newsletter",
            extra_headers=["List-Unsubscribe: <mailto:%s?subject=unsubscribe>" % LIST])
            .replace(b"\n", b"\r\n"))
    wait_for(lambda: any(e["kind"] == "sent" and e["sender_domain"] == "local.test"
                         for e in sh.event_rows(sb, rcpt)), 20, "the delivery record for %s" % rcpt)


def _request(frm, env=None, subject="unsubscribe"):
    return mail.make_message(frm, LIST, subject, body="Please unsubscribe me.\n")


def _smtp_request(sb, src, env_from, header_from=None, to=LIST):
    """A request over SMTP from src; the store lines of its delivery."""
    mark = sb.log_mark()
    sh.send_from(sb, src, env_from, [to], _request(header_from or env_from))
    sb.wait_log("unsubscribe request", mark, timeout=30)
    sb.wait_log("R=bounceguide_unsubscribe", mark, timeout=30)
    return sh.store_lines(sb.log_since(mark))


def _local_request(sb, env_from, host=None):
    """A request submitted by root with exim (-oMa: as if from host)."""
    mark = sb.log_mark()
    args = ["-oMa", host, "-oMr", "esmtp", "-oMs", "client.test"] if host else []
    p = sb.exim(*(args + ["-odi", "-f", env_from, LIST]), input=_request(env_from))
    assert p.returncode == 0, p.stderr
    sb.wait_log("unsubscribe request", mark, timeout=30)
    return sh.store_lines(sb.log_since(mark))


def _unsubscribed(sb, addr):
    r = sh.row(sb, "local.test", addr)
    return r if r and r["category"] == "unsubscribed" and sh.active(r) else None


def _nothing_for(sb, *addrs):
    for a in addrs:
        assert sh.rows(sb, a) == [], (a, sh.rows(sb, a))


def _rcpt(sb, rcpt, sender=SENDER):
    with smtplib.SMTP("127.0.0.1", sb.port, timeout=30) as s:
        s.ehlo("client.test")
        s.mail(sender)
        code, text = s.rcpt(rcpt)
        s.rset()
        return code, text.decode(errors="replace")


def test_router_only_with_its_macro(sb):
    """The generated config has the router when BOUNCEGUIDE_UNSUBSCRIBE is
    defined, and not without it (off by default)."""
    p = subprocess.run([EXIM, "-C", sb.conf, "-bP", "router_list"], capture_output=True, text=True,
                       timeout=30)
    assert "bounceguide_unsubscribe" in p.stdout, p.stdout + p.stderr
    etc = sb.path("etc-exim4")
    lm = os.path.join(etc, "conf.d", "main", "000_localmacros")
    text = open(lm).read()
    try:
        with open(lm, "w") as f:
            f.write(text.replace("BOUNCEGUIDE_UNSUBSCRIBE = ", "#BOUNCEGUIDE_UNSUBSCRIBE = "))
        off = sb.path("exim-off.conf")
        debian_sandbox.generate(etc, off)
        p = subprocess.run([EXIM, "-C", off, "-bP", "router_list"], capture_output=True, text=True,
                           timeout=30)
        assert "bounceguide_suppress" in p.stdout and "bounceguide_unsubscribe" not in p.stdout, \
            p.stdout + p.stderr
    finally:
        with open(lm, "w") as f:
            f.write(text)


def test_list_address_accepted_at_rcpt(sb):
    """Debian's ACL verifies the recipient: the router accepts it (while
    verifying, the plugin is not asked), with or without a +tag."""
    for rcpt in (LIST, "unsubscribe+list42@local.test"):
        code, text = _rcpt(sb, rcpt, sender="someone@remote.test")
        assert code == 250, (rcpt, code, text)


def test_request_from_the_requesters_mail_host(sb):
    """bob, who got the newsletter, asks from his domain's mail host:
    unsubscribed from local.test, kept until removed; later mail to him
    is refused at RCPT; his request goes nowhere (no reply, no bounce)."""
    bob = "bob@remote.test"
    _newsletter(sb, bob)
    before = len(sb.peer.received)
    mark = sb.log_mark()
    lines = _smtp_request(sb, MX_HOST, bob)
    r = wait_for(lambda: _unsubscribed(sb, bob), 20, "bob's row")
    assert r["expires_at"] == 0 and r["source"] == "inbound" and r["scope"] == "address", r
    assert any("%s suppressed for mail from local.test: unsubscribed" % bob in l
               and "mx.remote.test, a mail host of remote.test" in l for l in lines), lines
    assert "=> :blackhole: <%s> R=bounceguide_unsubscribe" % LIST in sb.log_since(mark)
    code, text = _rcpt(sb, bob)
    assert code == 550 and "unsubscribed since" in text, (code, text)
    # another sending domain of this server still reaches him
    assert _rcpt(sb, bob, sender="alerts@sender2.test")[0] == 250
    time.sleep(0.5)
    assert len(sb.peer.received) == before, sb.peer.received[before:]
    checks.panic_clean(sb)


def test_request_passing_spf(sb):
    """carol asks from a host her domain's SPF allows (not a mail host)."""
    carol = "carol@remote.test"
    _newsletter(sb, carol)
    lines = _local_request(sb, carol, host=SPF_PASS)
    assert wait_for(lambda: _unsubscribed(sb, carol), 20, "carol's row")
    assert any("SPF of remote.test passes for %s" % SPF_PASS in l for l in lines), lines


def test_attack_stranger_forges_the_requester(sb):
    """mallory sends 'unsubscribe' as dave (MAIL FROM and From: dave) from
    her own provider's host, and from a host dave's SPF does not allow:
    zero rows, dave keeps getting the newsletter."""
    dave = "dave@remote.test"
    _newsletter(sb, dave)
    lines = _smtp_request(sb, STRANGER, dave)
    assert any("%s is neither a mail host of remote.test" % STRANGER in l for l in lines), lines
    lines = _local_request(sb, dave, host=SPF_FAIL)
    assert any("nor allowed by its SPF (fail)" in l for l in lines), lines
    _nothing_for(sb, dave)
    assert _rcpt(sb, dave)[0] == 250


def test_attack_from_is_not_the_envelope(sb):
    """eve, a real user at remote.test (her own envelope, her provider's
    host), puts frank in From: -- she cannot unsubscribe him, nor herself
    with his name."""
    eve, frank = "eve@remote.test", "frank@remote.test"
    _newsletter(sb, frank)
    _newsletter(sb, eve)
    lines = _smtp_request(sb, MX_HOST, eve, header_from=frank)
    assert any("From: <%s> is not the envelope sender <%s>" % (frank, eve) in l for l in lines), lines
    _nothing_for(sb, eve, frank)


def test_attack_never_mailed(sb):
    """Someone this sending domain never mailed asks to be unsubscribed
    (a way to plant rows, or to learn nothing): zero rows."""
    gina = "gina@remote.test"
    lines = _smtp_request(sb, MX_HOST, gina)
    assert any("%s was never sent mail from local.test" % gina in l for l in lines), lines
    _nothing_for(sb, gina)


def test_local_submission_proves_nothing(sb):
    """A request submitted on this machine (sendmail, no host): nobody."""
    hank = "hank@remote.test"
    _newsletter(sb, hank)
    lines = _local_request(sb, hank)
    assert any("not received over SMTP" in l for l in lines), lines
    _nothing_for(sb, hank)


def test_null_sender_unsubscribes_nobody(sb):
    """A bounce or auto-reply to the list address asks for nothing."""
    ivan = "ivan@remote.test"
    _newsletter(sb, ivan)
    mark = sb.log_mark()
    sh.send_from(sb, MX_HOST, "", [LIST], _request(ivan))
    sb.wait_log("unsubscribe request", mark, timeout=30)
    assert any("is no address" in l for l in sh.store_lines(sb.log_since(mark)))
    _nothing_for(sb, ivan)


def test_admin_add_and_import_unsubscribed(sb):
    """`suppress add --category unsubscribed` and an import with that
    category: refused at RCPT, kept until removed (the category's
    lifetime, suppress_expire_unsubscribed, not the address default)."""
    jo, kay = "jo@remote.test", "kay@remote.test"
    db = sh.db_path(sb)
    r = sh.cli("suppress", "add", jo, "--domain", "local.test", "--category", "unsubscribed",
               "--reason", "asked by phone", "--db", db)
    assert r.returncode == 0, r
    code, text = _rcpt(sb, jo)
    assert code == 550 and "unsubscribed since" in text, (code, text)
    assert sh.row(sb, "local.test", jo)["expires_at"] == 0
    csv = sb.path("unsub.csv")
    with open(csv, "w") as f:
        f.write("address,category,sending_domain\n%s,unsubscribed,local.test\n" % kay)
    r = sh.cli("suppress", "import", csv, "--db", db, "--config", sb.path("bounceguide.conf"))
    assert r.returncode == 0, (r.stdout, r.stderr)
    row = sh.row(sb, "local.test", kay)
    assert row["category"] == "unsubscribed" and row["expires_at"] == 0, row
    assert _rcpt(sb, kay)[0] == 550
    # with a lifetime set for the category, an import gets it
    conf = sb.path("bc-90d.conf")
    with open(conf, "w") as f:
        f.write(open(sb.path("bounceguide.conf")).read() + "suppress_expire_unsubscribed = 90d\n")
    with open(csv, "w") as f:
        f.write("address,category,sending_domain\nlou@remote.test,unsubscribed,local.test\n")
    r = sh.cli("suppress", "import", csv, "--db", db, "--config", conf)
    assert r.returncode == 0, (r.stdout, r.stderr)
    left = sh.row(sb, "local.test", "lou@remote.test")["expires_at"] - int(time.time())
    assert 89 * 86400 < left <= 90 * 86400, left
    show = sh.cli("suppress", "show", jo, "--db", db)
    assert re.search(r"expires:\s+never", show.stdout), show.stdout
