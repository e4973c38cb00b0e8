#!/usr/bin/env python3
"""The plugin's ${dlfunc} entry points inside Exim under Valgrind (part of
`make valgrind`; tests/valgrind_exim.py covers local_scan).

Starts an e2e sandbox wired the way test_suppress.py wires it (the shipped
conf/exim/suppress-* snippets: RCPT ACL, router, transport event_action),
then runs a non-setuid copy of the exim binary under memcheck twice:

  rcpt   `exim -C CONF -bh 127.0.0.1` (a host-checking SMTP session: the
         RCPT ACL runs in that process) with one recipient seeded into the
         store by the CLI and one not: bg_dlfunc_check must give the 550
         with the category it read, and 250 for the other.
  event  `exim -C CONF -M ID` on a queued message to the seeded recipient
         (the router's bg_dlfunc_check must fail it) and to three the
         scripted peer answers 550 5.1.1, 452 4.2.2 and 250:
         bg_dlfunc_event on smtp:ehlo and msg:rcpt:defer (in the forked
         transport process) and on msg:fail:delivery and msg:delivery (in
         the -M process). Valgrind follows the fork; the store must then
         hold the transport's rows (fail, soft, sent, the sending IP).
         The bounce Exim makes is exec'd (the real exim, not traced).

    valgrind_dlfunc.py [BUILD_DIR]   (default build: its bounceguide.so and CLI)
    valgrind_dlfunc.py --plant [BUILD_DIR]   the must-fail run with
             BUILD_DIR/vgplant/bounceguide.so (tests/valgrind_plant.c): the
             first byte of the date in bg_dlfunc_check's result is never
             initialised (Exim's code trips on it), and bg_dlfunc_event's
             path reads one byte past a heap block; fails unless the judge
             reports both as the plugin's.
Fails on a memory error of the plugin's (tests/valgrind_judge.py: a
bounceguide.so frame where it happened or where the value or block came
from; Exim's own reports are printed, never fail the run), on an exim
failure, or when an expected answer or row is missing (the entry point did
not run: the run proved nothing). Root only. Leak checking is off: Exim
allocates from pools it never frees.
"""

import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "e2e", "lib"))

import store_helpers as sh  # noqa: E402
from valgrind_exim import exim_copy, logdir_for, memcheck  # noqa: E402
import valgrind_judge as judge  # noqa: E402
from mail import make_message  # noqa: E402

SENDER = "vg@local.test"
GONE = "gone@remote.test"          # seeded into the store: refused at RCPT
FINE = "fine@remote.test"          # not in the store: accepted
FAIL = "fail1@remote.test"         # the peer: 550 5.1.1
DEFER = "defer1@remote.test"       # the peer: 452 4.2.2
OK = "ok1@remote.test"             # the peer: 250


def valgrind(exim, args, name, logdir, inp=None):
    """Run the copied exim under memcheck: (CompletedProcess, Verdict)."""
    return memcheck(exim, args, logdir, name, input=inp)


def problems(name, r, v, label):
    """Problems of one run: a non-zero status or a memory error of the
    plugin's (in any process of the run); Exim's own are printed only."""
    out = []
    for line in v.summary("%s: %s" % (label, name)):
        print(line)
    if r.returncode != 0:
        out.append("%s: exit %d: %s" % (name, r.returncode, r.stderr.decode(errors="replace")[-2000:]))
    if not v.files:
        out.append("%s: memcheck wrote no report file" % name)
    if v.ours and not PLANT:
        out.append("%s: %d memory error(s) of the plugin's (above)" % (name, len(v.ours)))
    return out


def smtp_replies(text):
    """The replies of an SMTP transcript as (code, text), the lines of a
    multi-line reply joined; Exim splits ACL messages over 75 characters,
    repeating the enhanced code on each line: the repeats are dropped."""
    replies, cur = [], []
    for line in text.splitlines():
        if len(line) < 4 or not line[:3].isdigit():
            continue
        t = line[4:]
        if cur and t.split(" ", 1)[0] == cur[0].split(" ", 1)[0] and "." in t.split(" ", 1)[0]:
            t = t.split(" ", 1)[1] if " " in t else ""
        cur.append(t)
        if line[3] == " ":
            replies.append((int(line[:3]), " ".join(cur)))
            cur = []
    return replies


def check_rcpt(sb, exim, logdir):
    """bg_dlfunc_check from the RCPT ACL in a -bh session."""
    db = sh.db_path(sb)
    add = sh.cli("suppress", "add", GONE, "--domain", "local.test", "--category",
                 "unknown-user", "--db", db)
    if add.returncode != 0:
        return ["rcpt: CLI suppress add failed: %s" % add.stderr]
    for n in os.listdir(os.path.dirname(db)):   # Exim opens it as its own user
        os.chown(os.path.join(os.path.dirname(db), n), sb.uid, sb.gid)
    session = ("EHLO client.test\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nRCPT TO:<%s>\r\n"
               "QUIT\r\n" % (SENDER, GONE, FINE)).encode()
    t0 = time.monotonic()
    r, v = valgrind(exim, ["-C", sb.conf, "-bh", "127.0.0.1"], "rcpt", logdir, session)
    errs = problems("rcpt", r, v, LABEL)
    if PLANT:
        # the date in the 550 text starts with an uninitialised byte: the
        # reply's text is whatever it was, only the judge's finding counts
        found = judge.planted(v, "uninit")
        if found:
            print("%s: rcpt: the planted uninitialised byte in bg_dlfunc_check's result was "
                  "found in Exim's code and judged the plugin's: ok" % LABEL)
        else:
            errs.append("rcpt: the planted uninitialised byte in bg_dlfunc_check's result was "
                        "NOT reported as the plugin's: the judging is blind")
        return errs
    replies = smtp_replies(r.stdout.decode(errors="replace"))
    rcpts = replies[3:5]       # banner, EHLO, MAIL, RCPT, RCPT, QUIT
    want = "5.7.1 <%s> is suppressed for mail from local.test: unknown-user since " % GONE
    if len(rcpts) != 2 or rcpts[0][0] != 550 or want not in rcpts[0][1]:
        errs.append("rcpt: wanted 550 %s..., got %r" % (want, rcpts))
    elif rcpts[1][0] != 250:
        errs.append("rcpt: wanted 250 for %s, got %r" % (FINE, rcpts[1]))
    if not errs:
        print("%s: rcpt ok (550 for the suppressed, 250 for the other; %.1f s)"
              % (LABEL, time.monotonic() - t0))
    return errs


def check_event(sb, exim, logdir):
    """bg_dlfunc_event (and the router's bg_dlfunc_check) in a -M delivery."""
    sb.peer.set_rule(FAIL, rcpt="550 5.1.1 <%s>: Recipient address rejected: User unknown" % FAIL)
    sb.peer.set_rule(DEFER, rcpt="452 4.2.2 <%s>: Mailbox full" % DEFER)
    sb.peer.set_rule(OK, rcpt="250 2.1.5 OK")
    q = sb.exim("-odq", "-f", SENDER, FAIL, DEFER, OK, GONE,
                input=make_message(SENDER, FAIL, "valgrind dlfunc"))
    ids = sb.queue_ids()
    if q.returncode != 0 or len(ids) != 1:
        return ["event: queueing failed (exit %d, queue %r): %s" % (
            q.returncode, ids, q.stderr.decode(errors="replace"))]
    mid = ids[0]
    t0 = time.monotonic()
    mark = sb.log_mark()
    r, v = valgrind(exim, ["-C", sb.conf, "-M", mid], "event", logdir)
    errs = problems("event", r, v, LABEL)
    if PLANT:
        if judge.planted(v, "overread"):
            print("%s: event: the planted overread in bg_dlfunc_event's path was found and "
                  "judged the plugin's: ok" % LABEL)
        else:
            errs.append("event: the planted one-byte overread in bg_dlfunc_event's path was "
                        "NOT reported as the plugin's: the judging is blind")
    c = sqlite3.connect("file:%s?mode=ro" % sh.db_path(sb), uri=True, timeout=5)
    try:
        got = {(rc, k): (src, ip) for rc, k, src, ip in c.execute(
            "SELECT recipient, kind, source, sending_ip FROM bg_event WHERE message_id IN "
            "(SELECT message_id FROM bg_event WHERE recipient = ?)", (FAIL,))}
        ip = c.execute("SELECT COUNT(*) FROM bg_event WHERE sending_ip = '127.0.0.1'").fetchone()[0]
    finally:
        c.close()
    # a counting deferral is a "soft" event (schema 3: a message's soft
    # events count once)
    missing = ["%s %s" % k for k in ((FAIL, "fail"), (DEFER, "soft"), (OK, "sent"))
               if got.get(k, ("",))[0] != "transport"]
    if not ip:
        missing.append("the sending IP (smtp:ehlo)")
    refused = "** %s R=bounceguide_suppress: <%s> is suppressed for mail from local.test: " \
        "unknown-user since " % (GONE, GONE)
    if refused not in sb.log_since(mark):
        missing.append("the router's refusal of %s" % GONE)
    if missing:
        errs.append("event: missing %s (rows %r); Exim's log:\n%s" % (
            ", ".join(missing), got, sb.log_since(mark)[-3000:]))
    if not errs and not PLANT:
        print("%s: event ok (fail, soft, sent, the sending IP recorded; "
              "the suppressed recipient failed by the router; %.1f s)"
              % (LABEL, time.monotonic() - t0))
    sb.remove_queued()
    return errs


PLANT = False
LABEL = "valgrind-dlfunc"


def main(argv):
    global PLANT, LABEL
    if argv and argv[0] == "--plant":
        PLANT, LABEL = True, "valgrind-dlfunc (planted)"
        argv = argv[1:]
    if os.getuid() != 0:
        print("%s: not root, skipped (the sandbox needs root)" % LABEL)
        return 0
    o = os.path.abspath(argv[0]) if argv else os.path.join(sh.TOP, "build")
    sh.CLI = os.path.join(o, "bounceguide")
    so = os.path.join(o, "vgplant" if PLANT else "", "bounceguide.so")
    if not os.path.exists(so):
        print("%s: %s missing (make valgrind builds it)" % (LABEL, so))
        return 1
    sb = sh.make_sandbox(name="vgdl")
    sb.plugin_src = so
    sb.start()
    errs = []
    try:
        exim = exim_copy(sb)
        logdir = logdir_for(sb)            # Exim's processes run as its user
        sb.add_user("vg")                  # the bounce goes there
        for check in (check_rcpt, check_event):
            e = check(sb, exim, logdir)
            for line in e:
                print("%s: %s" % (LABEL, line))
            errs += e
    finally:
        sb.stop(failed=bool(errs))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
