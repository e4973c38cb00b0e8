"""Helpers for the suppression-store end-to-end tests (test_suppress.py).

Builds a sandbox whose remote deliveries go through a transport carrying the
shipped event_action (conf/exim/suppress-transport), with the shipped RCPT
ACL (acl_bounceguide_rcpt wrapped around the harness's own), router and prvs
router, and reads the store's SQLite file directly.
The shipped snippet files are included as they are, so the tests exercise
the text an administrator installs.
"""

import hashlib
import hmac
import os
import sqlite3
import subprocess
import time

from peer import Peer
from sandbox import Sandbox, TOP

CONF = os.path.join(TOP, "conf", "exim")
CLI = os.path.join(TOP, "build", "bounceguide")
SECRET = "e2e-prvs-secret"


def snippet(name):
    with open(os.path.join(CONF, name)) as f:
        return f.read()


TRANSPORT = """
peer_smtp_bg:
  driver = smtp
%(event)s
  return_path = REMOTE_SMTP_RETURN_PATH
  port = %(port)d
  allow_localhost
  hosts_avoid_esmtp =
  connect_timeout = 5s
  command_timeout = 10s
  data_timeout = 10s
  final_timeout = 10s
"""

ROUTER = """
to_peer_bg:
  driver = manualroute
  domains = ! +local_domains
  route_list = * 127.0.0.1
  self = send
  transport = peer_smtp_bg
"""


def bgconf(db="@@DIR@@/db/suppression.db", extra=""):
    return ("suppress_db = %s\n"
            "suppress_timeout_ms = 300\n"
            "prvs_secret_file = @@DIR@@/prvs.secret\n" % db) + extra


# The harness's own RCPT ACL (acl_check_rcpt) plays the part of Debian's:
# relay for 127.0.0.1, mail for the local domain from anywhere (reports
# from other servers arrive from other addresses), nothing else. The
# shipped acl_bounceguide_rcpt runs it first, as on Debian.
ACL_RCPT_LOCAL = "  accept  domains = +local_domains\n"


def make_sandbox(name="suppress", **kw):
    """A started peer and an unstarted Sandbox wired for the store."""
    peer = Peer().start()
    main = ("BOUNCEGUIDE_SO = @@DIR@@/bounceguide.so\n"
            "BOUNCEGUIDE_PRVS_SECRET_FILE = @@DIR@@/prvs.secret\n"
            "BOUNCEGUIDE_RCPT_NEXT = acl_check_rcpt\n" + snippet("suppress-macros"))
    sb = Sandbox(
        plugin=os.path.join(TOP, "build", "bounceguide.so"),
        bgconf=kw.pop("bgconf", bgconf()),
        extra_main=main + kw.pop("extra_main", ""),
        acl_smtp_rcpt="acl_bounceguide_rcpt",
        extra_acls=snippet("suppress-acl-rcpt"),
        extra_acl_rcpt=ACL_RCPT_LOCAL,
        extra_routers=snippet("suppress-prvs-router") + snippet("suppress-router") + ROUTER,
        extra_transports=TRANSPORT % {"event": snippet("suppress-transport"), "port": peer.port},
        files={"prvs.secret": SECRET + "\n"},
        peer=peer,
        name=name,
        **kw
    )
    sb._own_peer = True  # the sandbox stops the peer we started for it
    return sb


def db_path(sb, name="db/suppression.db"):
    return sb.path(name)


def rows(sb, recipient=None, db=None):
    """Rows of bg_suppression as dicts (read-only)."""
    p = db or db_path(sb)
    if not os.path.exists(p):
        return []
    c = sqlite3.connect("file:%s?mode=ro" % p, uri=True, timeout=5)
    c.row_factory = sqlite3.Row
    try:
        q = "SELECT * FROM bg_suppression"
        args = ()
        if recipient:
            q += " WHERE recipient = ?"
            args = (recipient.lower(),)
        return [dict(r) for r in c.execute(q, args)]
    finally:
        c.close()


def row(sb, sender_domain, recipient):
    for r in rows(sb, recipient):
        if r["sender_domain"] == sender_domain:
            return r
    return None


def active(r, now=None):
    now = now or int(time.time())
    return bool(r) and r["suppressed_since"] > 0 and (r["expires_at"] == 0 or r["expires_at"] > now)


def rcpt_reply(sb, mail_from, rcpt):
    """(code, text) of the RCPT reply for one recipient; the message is
    sent when accepted."""
    import smtplib
    from mail import make_message
    msg = make_message(mail_from, rcpt, "suppress test").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", sb.port, timeout=30) as s:
        s.ehlo("client.test")
        s.mail(mail_from)
        code, text = s.rcpt(rcpt)
        if code // 100 == 2:
            s.data(msg)
        else:
            s.rset()
        return code, text.decode(errors="replace")


def prvs_sign(address, secret=SECRET, keynum=0, now=None):
    """The prvs-signed form of address, as Exim's ${prvs} makes it."""
    now = int(now if now is not None else time.time())
    day = "%03d" % (((now + 7 * 86400) // 86400) % 1000)
    src = ("%d%s%s" % (keynum, day, address)).encode()
    h = hmac.new(secret.encode(), src, hashlib.sha1).hexdigest()[:6]
    return "prvs=%d%s%s=%s" % (keynum, day, h, address)


def dsn(to, failed_rcpt, diag, orig_msgid, reporting="mx.remote.test", status="5.1.1",
        action="failed"):
    """A remote server's RFC 3464 report (bytes) about failed_rcpt."""
    return ("""From: Mail Delivery System <MAILER-DAEMON@%(rep)s>
To: %(to)s
Subject: Undelivered Mail Returned to Sender
Date: Mon, 23 Nov 2026 09:30:00 +0000
Message-ID: <dsn-%(n)d@%(rep)s>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BND"

--BND
Content-Type: text/plain

This is the mail system at host %(rep)s. Your message could not be delivered.

--BND
Content-Type: message/delivery-status

Reporting-MTA: dns; %(rep)s

Final-Recipient: rfc822; %(rcpt)s
Original-Recipient: rfc822; %(rcpt)s
Action: %(action)s
Status: %(status)s
Remote-MTA: dns; inner.%(rep)s
Diagnostic-Code: smtp; %(diag)s

--BND
Content-Type: text/rfc822-headers

From: sender@local.test
To: %(rcpt)s
Subject: the original
Message-ID: %(mid)s

--BND--
""" % {"rep": reporting, "to": to, "rcpt": failed_rcpt, "diag": diag, "mid": orig_msgid,
       "status": status, "action": action, "n": int(time.time() * 1e6)}).encode()


def cli(*args, timeout=30):
    """Run build/bounceguide; CompletedProcess with text output."""
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=timeout)


def store_lines(text):
    return [l for l in text.splitlines() if "bounceguide: store:" in l]


def send_from(sb, src_ip, mail_from, rcpts, msg):
    """Send msg to the sandbox over SMTP from the loopback address src_ip
    (127.0.0.0/8 is all local: a report from "another server"). Returns the
    refused recipients (smtplib's dict)."""
    import smtplib
    if isinstance(msg, str):
        msg = msg.encode()
    msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", sb.port, timeout=30, source_address=(src_ip, 0)) as s:
        s.ehlo("reporter.test")
        return s.sendmail(mail_from, rcpts, msg)


def dsn_many(to, failed, orig_msgid, reporting="mx.remote.test", status="5.1.1",
             diag="550 5.1.1 <%s>: User unknown"):
    """A remote server's RFC 3464 report naming every address of failed."""
    blocks = "".join("""
Final-Recipient: rfc822; %(r)s
Action: failed
Status: %(st)s
Remote-MTA: dns; inner.%(rep)s
Diagnostic-Code: smtp; %(d)s
""" % {"r": r, "st": status, "rep": reporting, "d": diag % r} for r in failed)
    return ("""From: Mail Delivery System <MAILER-DAEMON@%(rep)s>
To: %(to)s
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-%(n)d@%(rep)s>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BND"

--BND
Content-Type: text/plain

This is the mail system at host %(rep)s. Your message could not be delivered.

--BND
Content-Type: message/delivery-status

Reporting-MTA: dns; %(rep)s
%(blocks)s
--BND
Content-Type: text/rfc822-headers

From: sender@local.test
Subject: the original
Message-ID: %(mid)s

--BND--
""" % {"rep": reporting, "to": to, "blocks": blocks, "mid": orig_msgid,
       "n": int(time.time() * 1e6)}).encode()


def event_rows(sb, recipient=None, db=None):
    """Rows of bg_event as dicts (read-only)."""
    p = db or db_path(sb)
    if not os.path.exists(p):
        return []
    c = sqlite3.connect("file:%s?mode=ro" % p, uri=True, timeout=5)
    c.row_factory = sqlite3.Row
    try:
        q, args = "SELECT * FROM bg_event", ()
        if recipient:
            q, args = q + " WHERE recipient = ?", (recipient.lower(),)
        return [dict(r) for r in c.execute(q, args)]
    finally:
        c.close()
