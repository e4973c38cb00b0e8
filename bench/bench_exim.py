#!/usr/bin/env python3
"""Plugin cost inside real Exim, and Exim's throughput with and without it.

1. Cost per message: a sandbox Exim runs the plugin with
   BOUNCEGUIDE_TIMING in its environment, so local_scan() logs its own
   time (clock_gettime around the whole call). Non-bounces: ordinary
   messages to a local user. Bounces: messages the scripted peer refuses
   with 550 5.1.1; Exim makes the bounce in a fresh process, so that figure
   includes loading config, rules and catalogue (given separately).
   Medians of many.
2. Throughput: the same ordinary mail (local maildir delivery) through two
   sandboxes, with and without the plugin, in alternating rounds in one
   run; messages per second from the first submission to the last
   delivery; ratio = with / without (median of the rounds).

Targets (issue 3): < 5 us per non-bounce, < 300 us per bounce, ratio >= 0.98.
Figures only: the machine is shared, nothing is asserted.
"""

import os
import re
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e", "lib"))

from sandbox import Sandbox, TOP, wait_for  # noqa: E402
import mail  # noqa: E402

SO = os.path.join(TOP, "build", "bounceguide.so")
N_PLAIN = int(os.environ.get("BG_BENCH_PLAIN", "300"))
N_BOUNCE = int(os.environ.get("BG_BENCH_BOUNCES", "40"))
N_TPUT = int(os.environ.get("BG_BENCH_TPUT", "150"))
ROUNDS = int(os.environ.get("BG_BENCH_ROUNDS", "3"))
CONNS = 4


def send_many(sb, n, rcpt, frm="alice@local.test", per_conn=None):
    """n messages over CONNS parallel SMTP connections, several messages per
    connection (as a busy client does)."""
    import smtplib
    per = per_conn or max(1, n // (CONNS * 5))
    jobs = list(range(n))
    lock = threading.Lock()
    errors = []

    def worker():
        while True:
            with lock:
                batch = [jobs.pop() for _ in range(min(per, len(jobs)))]
            if not batch:
                return
            try:
                with smtplib.SMTP("127.0.0.1", sb.port, timeout=60) as s:
                    for i in batch:
                        msg = mail.make_message(frm, rcpt, "bench %d" % i,
                                                "Line of text for the benchmark.\n" * 20)
                        s.sendmail(frm, [rcpt], msg.replace(b"\n", b"\r\n"))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(CONNS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise RuntimeError("submission failed: %s" % errors[0])


def plain_timings(sb):
    pat = re.compile(r"bounceguide: timing: non-bounce ([0-9.]+) us call (\d+)")
    return [(float(a), int(b)) for a, b in pat.findall(sb.log())]


def timings(sb, kind):
    pat = re.compile(r"bounceguide: timing: %s ([0-9.]+) us \(load ([0-9.]+) us\) wall ([0-9.]+) us"
                     r".* call (\d+)" % kind)
    return [(float(a), float(b), float(c), int(d)) for a, b, c, d in pat.findall(sb.log())]


def cost():
    with Sandbox(plugin=SO, name="bench", bgconf="", env={"BOUNCEGUIDE_TIMING": "1"}) as sb:
        send_many(sb, N_PLAIN, "bob@local.test")
        wait_for(lambda: len(sb.mailbox("bob")) >= N_PLAIN, 300, "plain deliveries")
        sb.peer.set_rule("@remote.test", rcpt="550 5.1.1 <x@remote.test>: Recipient address rejected: User unknown")
        sb.add_user("bencher")
        send_many(sb, N_BOUNCE, "nobody@remote.test", frm="bencher@local.test")
        wait_for(lambda: len(sb.mailbox("bencher")) >= N_BOUNCE, 300, "bounces")
        stages = re.findall(r"timing: candidate .*\[read ([0-9.]+) classify ([0-9.]+) "
                            r"store\+auth ([0-9.]+) render ([0-9.]+) write ([0-9.]+)\]", sb.log())
        plain = plain_timings(sb)
        cand = timings(sb, "candidate")
        rewritten = len(re.findall(r"bounceguide: failure report rewritten", sb.log()))
    tot = [x[0] for x in cand]
    load = [x[1] for x in cand]
    pl = [x[0] for x in plain]
    first = [x[0] for x in plain if x[1] == 1]
    later = [x[0] for x in plain if x[1] > 1]
    print("plugin cost inside Exim 4.96 (local_scan; non-bounce: wall clock of the header look;")
    print("  bounce: CPU time of the call, thread clock):")
    print("  non-bounce:       median %8.2f us  (p90 %.2f, n=%d)   target < 5 us" % (
        statistics.median(pl), sorted(pl)[int(len(pl) * 0.9)], len(pl)))
    if first and later:
        print("    first message of an SMTP connection (fresh Exim process): median %.2f us (n=%d)"
              % (statistics.median(first), len(first)))
        print("    later messages on the same connection:                    median %.2f us (n=%d)"
              % (statistics.median(later), len(later)))
    print("  rewritten bounce: median %8.1f us  (p90 %.1f, n=%d, %d rewritten)   target < 300 us" % (
        statistics.median(tot), sorted(tot)[int(len(tot) * 0.9)], len(tot), rewritten))
    print("    loading config+rules+catalogue (once per Exim process, included): median %.1f us" %
          statistics.median(load))
    print("    the rest (read, classify, store, render, spool rewrite + fsync): median %.1f us" %
          statistics.median([x[0] - x[1] for x in cand]))
    if stages:
        names = ("read", "classify", "store+auth", "render", "spool write+fsync")
        print("    stages (medians): " + ", ".join(
            "%s %.1f us" % (nm, statistics.median(float(x[i]) for x in stages))
            for i, nm in enumerate(names)))
    print("  wall clock (includes waiting for the CPU and the fsync; machine load %.1f):"
          % os.getloadavg()[0])
    print("    bounce median %.1f us" % statistics.median([x[2] for x in cand]))


def one_round(sb, user):
    before = len(sb.mailbox(user))
    t0 = time.monotonic()
    send_many(sb, N_TPUT, "%s@local.test" % user)
    wait_for(lambda: len(sb.mailbox(user)) >= before + N_TPUT, 600, "throughput deliveries",
             step=0.01)
    dt = time.monotonic() - t0
    sb.wait_queue_empty(60)
    return N_TPUT / dt


def throughput():
    with Sandbox(plugin=None, name="tput-off") as off, \
            Sandbox(plugin=SO, name="tput-on", bgconf="") as on:
        one_round(off, "bob")  # warm-up both
        one_round(on, "bob")
        r_off, r_on = [], []
        for i in range(ROUNDS):
            order = [(off, r_off), (on, r_on)] if i % 2 == 0 else [(on, r_on), (off, r_off)]
            for sb, acc in order:
                acc.append(one_round(sb, "carol"))
    m_off, m_on = statistics.median(r_off), statistics.median(r_on)
    print("Exim throughput, ordinary mail to a local maildir, %d msgs x %d rounds, %d connections:"
          % (N_TPUT, ROUNDS, CONNS))
    print("  without plugin: %6.1f msg/s  (rounds: %s)" % (m_off, ", ".join("%.1f" % x for x in r_off)))
    print("  with plugin:    %6.1f msg/s  (rounds: %s)" % (m_on, ", ".join("%.1f" % x for x in r_on)))
    print("  ratio with/without: %.3f   target >= 0.98 (round-to-round noise on a shared machine: %.0f%%)"
          % (m_on / m_off, 100 * (max(r_off) - min(r_off)) / m_off))


if __name__ == "__main__":
    what = sys.argv[1:] or ["cost", "throughput"]
    if "cost" in what:
        cost()
    if "throughput" in what:
        throughput()
