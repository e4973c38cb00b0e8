#!/bin/sh
# make demo-fleet: a fleet in a minute. Starts a private PostgreSQL
# (Debian's postgresql, a unix socket in a temporary directory, no TCP) and
# two private Exim daemons (hosts A and B, loopback ports only) sharing it
# as their central suppression store, each with its local replica and
# journal and its own `bounceguide suppress sync`. A sends a message to a
# recipient a scripted remote server refuses with "550 5.1.1 User unknown";
# the demo prints how the block travels -- A's journal, the central store,
# B's replica -- and B refusing the next message at RCPT time; then a
# removal on B lifting it on A. Uses the test harness (tests/fleet/fleet.py).
set -eu
cd "$(dirname "$0")/.."
[ -f build/bounceguide.so ] && [ -f build/bounceguide ] || { echo "demo-fleet: build/ missing (run make)"; exit 1; }
PATH=$PATH:/usr/sbin exec python3 - "$@" <<'PYEOF'
import os, sys, time
sys.path.insert(0, os.path.join("tests", "fleet"))
from fleet import Fleet, CLI
import mail
import subprocess

rcpt = "j.doe@example.net"
reply = "550 5.1.1 <j.doe@example.net>: Recipient address rejected: User unknown in virtual mailbox table"

def say(s=""):
    print(s, flush=True)

def show(argv, indent="   "):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    for line in (r.stdout + r.stderr).splitlines():
        say(indent + line)

f = Fleet(interval="500ms")
f.start()
try:
    a, b = f.hosts
    say("== A fleet of two Exim hosts sharing one suppression list:")
    say("   PostgreSQL (private, unix socket in %s): the central store" % f.pgdir)
    for sb in (a, b):
        say("   host %s: Exim on 127.0.0.1:%d with bounceguide.so; replica %s, journal %s"
            % (sb.fleet_name.upper(), sb.port, os.path.relpath(sb.path("db", "replica.db"), sb.dir),
               os.path.relpath(sb.path("db", "journal.db"), sb.dir)))
    say("   each host runs `bounceguide suppress sync` (every 500 ms): ships its journal to the")
    say("   central store, follows the central change log into its replica")
    say("   suppress_db = %s" % f.conninfo)
    say()
    f.set_rule(rcpt, rcpt=reply)
    code, text, _ = f.rcpt(b, "bob@local.test", rcpt)
    say("== Before: host B accepts RCPT TO:<%s>: %d %s" % (rcpt, code, text.split("\n")[0]))
    say()
    say("== alice@local.test sends to %s through host A; the remote server answers:" % rcpt)
    say("     %s" % reply)
    mark = a.log_mark()
    msg = mail.make_message("Alice <alice@local.test>", rcpt, "Contract draft for Friday",
                            "Hi Jane,\n\nhere is the draft.\n\nAlice\n")
    a.submit("alice@local.test", [rcpt], msg)
    a.wait_log("** " + rcpt, mark, timeout=30)
    t_fail = time.monotonic()
    say("   host A's main log:")
    for l in a.log_since(mark).splitlines():
        if "lost privilege" in l:
            continue
        say("     " + (l[20:] if len(l) > 20 else l))
    say("   (A's transport wrote the failure to A's journal: a local SQLite file, no network)")
    say()
    secs = f.wait_rcpt(b, "bob@local.test", rcpt, 550, timeout=15)
    took = time.monotonic() - t_fail
    say("== Host A's sync shipped it to PostgreSQL, which decided (the same store code as on one host):")
    for l in f.sync_log(a).splitlines():
        if "suppressed for mail" in l or "shipped" in l:
            say("     " + l)
    say()
    say("== The central store (bounceguide suppress list --db '%s'):" % f.conninfo)
    show([CLI, "suppress", "list", "--db", f.conninfo], "     ")
    say("   and its change log (suppress history):")
    show([CLI, "suppress", "history", rcpt, "--db", f.conninfo], "     ")
    say()
    say("== Host B's sync pulled the change into B's replica:")
    for l in f.sync_log(b).splitlines():
        if "pulled" in l:
            say("     " + l)
    show([CLI, "suppress", "list", "--db", b.path("db", "replica.db")], "     ")
    say()
    code, text, spent = f.rcpt(b, "bob@local.test", rcpt)
    say("== %.1f s after A's failure, host B refuses the next message at RCPT time:" % took)
    say("   %d %s" % (code, " ".join(text.split("\n"))))
    code2, text2, _ = f.rcpt(b, "carol@other.test", rcpt)
    say("   ... while mail from other.test is still accepted: %d %s" % (code2, text2.split("\n")[0]))
    say("   (the check reads B's local replica: PostgreSQL is not asked, up or down)")
    say()
    say("== The address works again: an administrator on host B lifts it")
    say("   $ bounceguide suppress remove %s --domain local.test --reason 'mailbox restored'" % rcpt)
    r = f.cli(b, "suppress", "remove", rcpt, "--domain", "local.test", "--reason", "mailbox restored")
    say("   " + r.stdout.strip())
    secs = f.wait_rcpt(a, "bob@local.test", rcpt, 250, timeout=15)
    code, text, _ = f.rcpt(a, "bob@local.test", rcpt)
    say("   %.1f s later host A accepts it again: %d %s" % (secs, code, text.split("\n")[0]))
finally:
    f.stop()
PYEOF
