#!/bin/sh
# make demo: bounceguide in a minute. Starts a private Exim (Debian's exim4,
# own spool and logs, loopback ports only) with the plugin loaded, and a
# scripted remote server that refuses one recipient with "550 5.1.1 User
# unknown". Sends one message, prints the bounce the sender gets back, the
# suppression row the transport hook wrote, and the next RCPT being refused.
# Leaves the whole bounce in build/demo/bounce.eml and its HTML part in
# build/demo/bounce.html. Uses the end-to-end harness (tests/e2e/lib).
set -eu
cd "$(dirname "$0")/.."
[ -f build/bounceguide.so ] || { echo "demo: build/bounceguide.so missing (run make)"; exit 1; }
PATH=$PATH:/usr/sbin exec python3 - "$@" <<'PYEOF'
import os, sys, textwrap
sys.path.insert(0, os.path.join("tests", "e2e", "lib"))
from sandbox import Sandbox, TOP
import mail
import store_helpers as sh

OUT = os.path.join(TOP, "build", "demo")
os.makedirs(OUT, exist_ok=True)
rcpt = "j.doe@example.net"
reply = "550 5.1.1 <j.doe@example.net>: Recipient address rejected: User unknown in virtual mailbox table"
conf = "organisation = Example Ltd\nhelpdesk = the IT service desk (help@example.com)\n"

def say(s=""):
    print(s, flush=True)

sb = sh.make_sandbox("demo")
sb.bgconf_text = sh.bgconf(extra=conf)
with sb:
    say("== A private Exim 4.96 on 127.0.0.1:%d with bounceguide.so loaded (local_scan)" % sb.port)
    say("   and a scripted remote SMTP server on 127.0.0.1:%d that answers:" % sb.peer.port)
    say("     RCPT TO:<%s>  ->  %s" % (rcpt, reply))
    sb.peer.set_rule(rcpt, rcpt=reply)
    msg = mail.make_message("Alice <alice@local.test>", rcpt, "Contract draft for Friday",
                            "Hi Jane,\n\nhere is the draft we talked about.\n\nAlice\n")
    sb.submit("alice@local.test", [rcpt], msg)
    say("== alice@local.test sent a message to %s; Exim's main log:" % rcpt)
    b = sb.wait_mail("alice", 1, timeout=30)[0]
    sb.wait_log(" => alice ", 0)
    for l in sb.log().splitlines():
        if "lost privilege" in l or "daemon started" in l:
            continue
        say("   " + l[20:] if len(l) > 20 else l)
    with open(os.path.join(OUT, "bounce.eml"), "wb") as f:
        f.write(b)
    m = mail.parse(b)
    html = mail.text_of(m, "text/html")
    with open(os.path.join(OUT, "bounce.html"), "w") as f:
        f.write(html)
    say()
    say("== The bounce Alice receives -- headers:")
    for h in ("From", "To", "Subject", "X-Bounce-Category", "X-Bounce-Severity", "Content-Type"):
        for v in mail.header_values(b, h):
            say("   %s: %s" % (h, v))
    say()
    say("== ... its text part (an HTML part with the same content follows it):")
    say()
    for line in mail.text_of(m).splitlines():
        say("   " + line)
    say()
    st = [x.get("status") for x in mail.recipient_blocks(m)]
    say("== The technical parts stay: message/delivery-status (Status corrected from")
    say("   Exim's generic 5.0.0 to %s) and Alice's original message, byte for byte." % ", ".join(st))
    d = mail.defects(m)
    say("   MIME check (Python email, policy=default): %s" % ("no defects" if not d else d))
    say()
    say()
    say("== The suppression database (SQLite, written by the transport's event hook):")
    say("   $ bounceguide suppress list --db %s" % sh.db_path(sb))
    r = sh.cli("suppress", "list", "--db", sh.db_path(sb))
    for line in (r.stdout + r.stderr).splitlines():
        say("   " + line)
    code, text = sh.rcpt_reply(sb, "bob@local.test", rcpt)
    say()
    say("== The next message from local.test to %s is refused at RCPT time:" % rcpt)
    say("   %d %s" % (code, " ".join(text.split("\n"))))
    code, text = sh.rcpt_reply(sb, "carol@other.test", rcpt)
    say("   ... while mail from other.test is still accepted: %d %s" % (code, text.split("\n")[0]))
    say()
    say("== Saved: %s (whole bounce), %s (HTML part)" % (
        os.path.relpath(os.path.join(OUT, "bounce.eml")), os.path.relpath(os.path.join(OUT, "bounce.html"))))
PYEOF
