#!/usr/bin/env python3
"""What the suppression check costs an SMTP session, inside the real Exim.

A private Exim daemon (the e2e sandbox's configuration, the store seeded
with 100,000 rows) takes SMTP sessions of RCPT commands; the CPU time of
the Exim process serving each session is read from /proc just before QUIT.
Three configurations, same sessions:

  without      the harness's own RCPT ACL alone
  ACLs only    the package's acl_bounceguide_rcpt around it, the dlfunc
               replaced by "" (what the extra ACL statements cost)
  with check   the package's ACLs and the plugin's bg_dlfunc_check (and
               bg_dlfunc_guard, the bounce-rate guard, off as by default)
  no guard     the same without the guard's ACL statement
               (BOUNCEGUIDE_GUARD undefined): what the guard costs when off

per RCPT = (with check - without) / RCPTs, in a warm process; the plugin's
share = (with check - ACLs only) / RCPTs. Sessions of one RCPT give the
first check of a new process (plugin load, config, store open). Median of
ROUNDS; prints figures, asserts nothing.

    python3 bench/bench_rcpt.py [RCPTS] [ROUNDS]
"""

import os
import re
import smtplib
import sqlite3
import statistics
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "e2e", "lib"))

import store_helpers as sh  # noqa: E402

ROWS = 100000
TICK = os.sysconf("SC_CLK_TCK")


def seed(path, n):
    """n active address rows for local.test (the schema made by the CLI)."""
    r = sh.cli("suppress", "add", "seed@example.net", "--domain", "local.test", "--db", path)
    assert r.returncode == 0, r
    c = sqlite3.connect(path)
    now = int(time.time())
    c.executemany(
        "INSERT OR IGNORE INTO bg_suppression (sender_domain, recipient, scope, category, status,"
        " reply_code, diagnostic, first_seen, last_seen, suppressed_since, expires_at, source)"
        " VALUES ('local.test', ?, 'address', 'unknown-user', '5.1.1', 550, 'x', ?, ?, ?, ?, 'admin')",
        (("s%06d@remote.test" % i, now, now, now, now + 86400) for i in range(n)))
    c.commit()
    c.close()


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read().rsplit(")", 1)[1].split()
                if int(st[1]) == ppid:
                    out.append(int(d))
            except OSError:
                pass
    return out


def cpu(pid):
    """CPU seconds of pid so far: the scheduler's exact runtime when the
    kernel shows it, else user+system clock ticks."""
    try:
        with open("/proc/%d/sched" % pid) as f:
            for line in f:
                if line.startswith("se.sum_exec_runtime"):
                    return float(line.split(":")[1]) / 1000.0
    except OSError:
        pass
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / TICK


def session(sb, rcpts):
    """(CPU seconds of the Exim process that served it, refusals)."""
    daemon = sb.proc.pid
    before = set(children(daemon))
    refused = 0
    with smtplib.SMTP("127.0.0.1", sb.port, timeout=600) as s:
        s.ehlo("bench.test")
        s.mail("bench@local.test")
        for r in rcpts:
            code, _ = s.rcpt(r)
            refused += code == 550
        new = [p for p in children(daemon) if p not in before]
        t = max(cpu(p) for p in new) if new else float("nan")
    return t, refused


def restart(sb, conf):
    import signal
    os.killpg(sb.proc.pid, signal.SIGTERM)
    sb.proc.wait(10)
    sb.conf = conf
    sb._start_daemon()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    sb = sh.make_sandbox(name="bench-rcpt")
    sb.start()
    sb.drain_stderr()
    try:
        seed(sh.db_path(sb), ROWS)
        text = open(sb.conf).read()
        confs = {"with check": sb.conf}
        confs["without"] = sb.path("plain.conf")
        with open(confs["without"], "w") as g:
            g.write(text.replace("acl_smtp_rcpt = acl_bounceguide_rcpt", "acl_smtp_rcpt = acl_check_rcpt"))
        confs["ACLs only"] = sb.path("dummy.conf")
        with open(confs["ACLs only"], "w") as g:
            g.write(re.sub(r"(?m)^BOUNCEGUIDE_(SUPPRESSED|GUARD) = .*$", r"BOUNCEGUIDE_\1 =", text))
        confs["no guard"] = sb.path("noguard.conf")
        with open(confs["no guard"], "w") as g:
            g.write(re.sub(r"(?m)^BOUNCEGUIDE_GUARD = .*$", "", text))
        misses = ["free%06d@remote.test" % i for i in range(n)]
        hits = ["s%06d@remote.test" % (i * 97 % ROWS) for i in range(n)]
        res = {}
        for label in ("without", "ACLs only", "no guard", "with check"):
            restart(sb, confs[label])
            sets = [("misses", misses), ("1 RCPT", misses[:1])]
            if label == "with check":
                sets.append(("hits", hits))
            for kind, rs in sets:
                runs = [session(sb, rs) for _ in range(rounds * (5 if kind == "1 RCPT" else 1))]
                res[(label, kind)] = statistics.median(r[0] for r in runs)
                print("rcpt: %-11s %-7s %5d RCPTs  CPU %7.2f ms (median of %d)  refused %d"
                      % (label, kind, len(rs), res[(label, kind)] * 1000, len(runs), runs[0][1]))
        per = (res[("with check", "misses")] - res[("without", "misses")]) / n * 1e6
        plugin = (res[("with check", "misses")] - res[("ACLs only", "misses")]) / n * 1e6
        hit = (res[("with check", "hits")] - res[("without", "misses")]) / n * 1e6
        first = (res[("with check", "1 RCPT")] - res[("without", "1 RCPT")]) * 1e3
        guard = (res[("with check", "misses")] - res[("no guard", "misses")]) / n * 1e6
        print("rcpt: the bounce-rate guard, off (the default), costs %.1f us of CPU per RCPT" % guard)
        print("rcpt: the check costs %.0f us of CPU per RCPT in a warm SMTP process (100k rows), "
              "%.0f us of it in the plugin; %.0f us when it refuses (Exim logs the refusal); "
              "about %.1f ms for the first RCPT of a process (plugin load, config, store open)" % (per, plugin, hit, first))
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
