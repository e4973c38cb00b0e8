#!/usr/bin/env python3
"""Soak run (issue 6, "Load"): thousands of messages through a real Exim
sandbox with the plugin and the suppression store wired in as shipped
(tests/e2e/lib/store_helpers.py), many delivery processes at once, then a
full accounting.

    python3 tests/soak/soak.py [--messages N] [--threads T] [--seed S]

Recipients come in classes, one domain each, all routed to the scripted
peer (tests/e2e/lib/peer.py), which answers per domain:

    accept.test    250                         delivered
    gone.test      550 5.1.1 at RCPT           bounced at once  (unknown-user: address)
    full.test      552 5.2.2 at RCPT           bounced at once  (mailbox-full: count)
    content.test   250 at RCPT, 554 after DATA bounced at once  (content-rejected: none)
    soft.test      452 4.2.2 at RCPT           deferred, then a retry-timeout bounce
    tempfail.test  451 4.3.0 at RCPT           deferred, then a retry-timeout bounce
    supp.test      (suppressed beforehand)     refused at our RCPT ACL, never sent

soft.test and tempfail.test give up after 4 s (retry rule F,4s,1s); a
driver thread keeps up to 5 queue runners going (`exim -q` every second),
while T threads submit over SMTP (each message triggers its own delivery
process). full.test and soft.test use small address pools, so their soft
counts add up across concurrent messages.

At the end: the queue is empty (`exim -bp`), nothing was frozen, every
recipient of every accepted message is in the main log exactly once as
delivered (=> / ->) or failed (**) as its class says, every failure came
back in exactly one bounce to its sender's maildir and every bounce is
enriched, the peer got every accepted recipient exactly once and unchanged,
and the suppression store holds exactly what the peer's answers imply:
one active address row per 550 recipient, soft_count = messages for each
552 address, messages for each 452 address (its deferral and the
retry-timeout bounce after it are one soft event: issue 12), nothing for a
451 address (the retry-timeout bounce takes the last deferral's cause,
remote-server-error, which counts nothing: issue 16), nothing for 554 or
accepted. Prints the figures; exit 1 on any
mismatch.
"""

import argparse
import collections
import json
import os
import random
import re
import smtplib
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e", "lib"))

import mail  # noqa: E402
import store_helpers as sh  # noqa: E402
from sandbox import EXIM, TOP, wait_for  # noqa: E402

CLASSES = {
    # name: (domain, peer rule kwargs, expected outcome)
    "ok": ("accept.test", None, "delivered"),
    "hard": ("gone.test", {"rcpt": "550 5.1.1 <%s>: Recipient address rejected: User unknown"},
             "failed"),
    "full": ("full.test", {"rcpt": "552 5.2.2 <%s>: Mailbox full, quota exceeded"}, "failed"),
    "content": ("content.test", {"rcpt": "250 2.1.5 OK",
                                 "data": "554 5.7.1 Message rejected: spam content detected"},
                "failed"),
    "soft": ("soft.test", {"rcpt": "452 4.2.2 <%s>: Mailbox full, try later"}, "failed"),
    "temp": ("tempfail.test", {"rcpt": "451 4.3.0 Temporary local problem, try later"},
             "failed"),
    "supp": ("supp.test", None, "refused"),
}
POOL = {"full": 12, "soft": 8, "supp": 6}   # pooled classes: addresses reused
SENDERS = 16


class Plan:
    """The messages to send: for each, its sender and recipients (class,
    address). Mixed messages draw from the RCPT-level classes; a message
    with a content.test recipient has only that one (the DATA reply is per
    transaction)."""

    def __init__(self, n, seed):
        rnd = random.Random(seed)
        self.msgs = []
        weights = [("ok", 40), ("hard", 14), ("full", 10), ("soft", 8), ("temp", 6), ("supp", 4)]
        names = [c for c, w in weights for _ in range(w)]
        for i in range(n):
            frm = "soak%d@local.test" % (i % SENDERS)
            if rnd.random() < 0.08:
                rc = [("content", "c%d@content.test" % i)]
            else:
                k = rnd.choice((1, 1, 2, 2, 2, 3, 4))
                rc, used = [], set()
                for j in range(k):
                    c = rnd.choice(names)
                    if c in POOL:
                        a = "%s%d@%s" % (c, rnd.randrange(POOL[c]), CLASSES[c][0])
                    else:
                        a = "%s%d-%d@%s" % (c, i, j, CLASSES[c][0])
                    if a not in used:
                        used.add(a)
                        rc.append((c, a))
                if all(c == "supp" for c, _ in rc):
                    rc.append(("ok", "ok%d-x@accept.test" % i))
            self.msgs.append({"n": i, "from": frm, "rcpts": rc, "id": None, "refused": [],
                              "msgid": "<soak-%d@local.test>" % i})


def submitter(sb, work, lock, errors, max_queue, per_conn=8):
    """Take messages off the shared list and send them, several per SMTP
    connection; records the Exim id and the refused recipients. Waits while
    more than max_queue messages are on the spool (bounded load on a shared
    machine; deferred messages wait there for their retry timeout)."""
    while True:
        end = time.monotonic() + 60
        while len(sb.queue_ids()) > max_queue and time.monotonic() < end:
            time.sleep(0.1)
        with lock:
            batch = [work.pop() for _ in range(min(per_conn, len(work)))]
        if not batch:
            return
        try:
            with smtplib.SMTP("127.0.0.1", sb.port, timeout=60) as s:
                s.ehlo("soak.test")
                for m in batch:
                    send_one(s, m)
        except (OSError, smtplib.SMTPException) as e:
            errors.append("%s: %s" % (type(e).__name__, e))


def send_one(s, m):
    msg = mail.make_message(m["from"], [a for _, a in m["rcpts"]], "soak %d" % m["n"],
                            body="Soak message %d.\nLine two.\n" % m["n"], msgid=m["msgid"])
    m["data"] = msg
    code, _ = s.mail(m["from"])
    if code != 250:
        raise RuntimeError("MAIL refused: %d" % code)
    ok = 0
    for c, a in m["rcpts"]:
        code, text = s.rcpt(a)
        if code // 100 == 2:
            ok += 1
        else:
            m["refused"].append((a, code, text.decode(errors="replace")))
    if not ok:
        s.rset()
        return
    code, text = s.data(msg.replace(b"\n", b"\r\n"))
    t = text.decode(errors="replace")
    mm = re.search(r"id=(\S+)", t)
    if code != 250 or not mm:
        raise RuntimeError("DATA: %d %s" % (code, t))
    m["id"] = mm.group(1)


class QueueRunners:
    """Up to `most` `exim -q` runners at a time, a new one every second."""

    def __init__(self, sb, most=5):
        self.sb, self.most = sb, most
        self.procs = []
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self.t.start()
        return self

    def _loop(self):
        while not self.stop_ev.wait(1.0):
            self.procs = [p for p in self.procs if p.poll() is None]
            if len(self.procs) < self.most:
                self.procs.append(subprocess.Popen([EXIM, "-C", self.sb.conf, "-q"],
                                                   stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL))

    def stop(self):
        self.stop_ev.set()
        self.t.join(5)
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def make_sandbox():
    sb = sh.make_sandbox(name="soak")
    sb.bgconf_text = sh.bgconf(extra="suppress_timeout_ms = 5000\n"
                                     "suppress_soft_threshold = 100000\n"
                                     "log_rewrites = yes\n")
    sb.extra["EXTRA_RETRY"] = ("soft.test      *   F,4s,1s\n"
                               "tempfail.test  *   F,4s,1s\n")
    sb.extra["EXTRA_MAIN"] += "\nqueue_run_max = 5\n"
    return sb


def presuppress(sb):
    """Rows for the supp.test pool, added the way an administrator would."""
    db = sh.db_path(sb)
    for i in range(POOL["supp"]):
        r = sh.cli("suppress", "add", "supp%d@supp.test" % i, "--domain", "local.test", "--db", db)
        if r.returncode != 0:
            raise RuntimeError("suppress add: %s" % r.stderr)
    for x in (os.path.dirname(db), db, db + "-wal", db + "-shm"):
        if os.path.exists(x):
            os.chown(x, sb.uid, sb.gid)


# An Exim message id: 6-6-2 characters up to 4.96 (16), 6-11-4 from 4.97 (23)
MID = r"[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}"
LOG_RE = re.compile(r"^\S+ \S+ (?:\[\d+\] )?(%s) (=>|->|\*\*|==|Completed|<=)\s*(\S*)(.*)$" % MID)


def parse_mainlog(text):
    """Per Exim id: delivered/failed/deferred address lists, completed count,
    and the frozen ids."""
    per = collections.defaultdict(lambda: {"=>": [], "**": [], "==": [], "completed": 0})
    frozen = set()
    for line in text.splitlines():
        if "frozen" in line.lower():
            m = re.search(r"(%s)" % MID, line)
            frozen.add(m.group(1) if m else line)
        m = LOG_RE.match(line)
        if not m:
            continue
        mid, flag, addr = m.group(1), m.group(2), m.group(3).rstrip(":")
        if flag == "Completed":
            per[mid]["completed"] += 1
        elif flag in ("=>", "->"):
            per[mid]["=>"].append(addr.lower())
        elif flag in ("**", "=="):
            per[mid][flag].append(addr.lower())
    return per, frozen


FINAL_RE = re.compile(rb"(?mi)^Final-Recipient:\s*rfc822;\s*<?([^\s>]+)>?")
ORIG_RE = re.compile(rb"(?mi)^Message-ID:\s*<(soak-\d+@local\.test)>")
ACTION_RE = re.compile(rb"(?mi)^Action:\s*(\S+)")


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--max-queue", type=int, default=300,
                    help="submitters wait while more messages are on the spool")
    ap.add_argument("--timeout", type=int, default=0, help="seconds for the queue to drain")
    ap.add_argument("--figures", default=os.path.join(TOP, "build", "soak-figures.txt"))
    a = ap.parse_args(argv)
    drain = a.timeout or max(60, a.messages // 10)

    plan = Plan(a.messages, a.seed)
    problems = []
    sb = make_sandbox()
    sb.users = ["soak%d" % i for i in range(SENDERS)]
    sb.start()
    sb.drain_stderr()
    failed = True
    try:
        for dom_class, (dom, rule, _) in CLASSES.items():
            if rule:
                sb.peer.set_rule("@" + dom, **{k: v.replace("<%s>", "<recipient>") if "%s" in v else v
                                               for k, v in rule.items()})
        presuppress(sb)
        runners = QueueRunners(sb).start()
        work = list(reversed(plan.msgs))
        lock = threading.Lock()
        errors = []
        t0 = time.monotonic()
        ths = [threading.Thread(target=submitter, args=(sb, work, lock, errors, a.max_queue))
               for _ in range(a.threads)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        t_sub = time.monotonic() - t0
        problems += ["submit: " + e for e in errors[:5]]
        try:
            wait_for(lambda: not sb.queue_ids(), drain, "the queue to drain", step=0.5)
        except TimeoutError as e:
            problems.append(str(e))
        runners.stop()
        wall = time.monotonic() - t0
        bp = sb.exim("-bp").stdout.decode(errors="replace").strip()
        if bp:
            problems.append("exim -bp not empty:\n" + bp[:2000])

        problems += account(sb, plan)
        figures = figures_of(plan, wall, t_sub, problems)
        print(figures)
        if a.figures:
            os.makedirs(os.path.dirname(a.figures), exist_ok=True)
            with open(a.figures, "w") as f:
                f.write(figures + "\n")
        for p in problems[:40]:
            print("PROBLEM: " + p)
        failed = bool(problems)
        print("soak: %s" % ("FAILED (%d problems)" % len(problems) if problems else "ok"))
        return 1 if problems else 0
    finally:
        sb.stop(failed=failed)


STATS = collections.Counter()


def account(sb, plan):
    """Every check of the module docstring; returns the problems."""
    out = []
    log = sb.log()
    per, frozen = parse_mainlog(log)
    if frozen:
        out.append("frozen: %s" % sorted(frozen)[:10])
    if sb.panic_lines():
        out.append("panic log: %s" % sb.panic_lines()[:5])
    STATS["not_recorded_lines"] = sum(1 for l in log.splitlines()
                                      if "bounceguide: store:" in l and "not recorded" in l)
    STATS["plugin_problem_lines"] = sum(
        1 for l in log.splitlines() if "bounceguide:" in l and not any(
            x in l for x in ("report rewritten", "bounceguide: suppressed", "suppressed for mail from",
                             "timing:")))

    # 1. the main log, recipient by recipient
    expect_fail = {}       # address -> [msgid]  (what should come back in bounces)
    sent_to_peer = collections.Counter()
    for m in plan.msgs:
        STATS["recipients"] += len(m["rcpts"])
        refused = {r[0].lower() for r in m["refused"]}
        for c, addr in m["rcpts"]:
            if c == "supp":
                if addr not in refused:
                    out.append("%s: suppressed %s not refused at RCPT" % (m["n"], addr))
                STATS["refused_by_suppression"] += 1
            elif addr in refused:
                out.append("%s: %s refused at RCPT: %s" % (m["n"], addr, m["refused"]))
        if m["id"] is None:
            if any(c != "supp" for c, _ in m["rcpts"]):
                out.append("message %d was not accepted" % m["n"])
            continue
        STATS["messages_accepted"] += 1
        e = per.get(m["id"])
        if e is None:
            out.append("message %d (%s) not in the main log" % (m["n"], m["id"]))
            continue
        if e["completed"] != 1:
            out.append("message %s: Completed %d times" % (m["id"], e["completed"]))
        for c, addr in m["rcpts"]:
            if c == "supp":
                continue
            d, f = e["=>"].count(addr), e["**"].count(addr)
            want = CLASSES[c][2]
            if (d, f) != ((1, 0) if want == "delivered" else (0, 1)):
                out.append("message %s: %s (%s) delivered %d, failed %d times" % (
                    m["id"], addr, c, d, f))
                continue
            if want == "delivered":
                STATS["delivered"] += 1
                sent_to_peer[(m["msgid"], addr)] += 1
            else:
                STATS["failed_" + c] += 1
                expect_fail.setdefault(addr, []).append(m["msgid"])
        for addr in e["=="]:
            STATS["deferrals_logged"] += 1

    # 2. the bounces: each failure exactly once, to its sender, enriched
    got = collections.Counter()
    by_msgid = {m["msgid"].strip("<>"): m for m in plan.msgs}
    for u in range(SENDERS):
        for b in sb.mailbox("soak%d" % u):
            STATS["bounces"] += 1
            if not mail.header_values(b, "X-Bounce-Category"):
                out.append("bounce to soak%d not enriched: %r" % (u, b[:300]))
            else:
                STATS["bounces_enriched"] += 1
            om = ORIG_RE.search(b)
            if not om:
                out.append("bounce to soak%d without the original Message-ID" % u)
                continue
            m = by_msgid.get(om.group(1).decode())
            if m is None or m["from"] != "soak%d@local.test" % u:
                out.append("bounce for %s went to soak%d" % (om.group(1), u))
            acts = [x.lower() for x in ACTION_RE.findall(b)]
            for addr, act in zip(FINAL_RE.findall(b), acts):
                if act == b"failed":
                    got[(addr.decode().lower(), "<%s>" % om.group(1).decode())] += 1
    want = collections.Counter((a, mid) for a, mids in expect_fail.items() for mid in mids)
    for k in set(want) | set(got):
        if want[k] != got[k]:
            out.append("bounce for %s of %s: %d, expected %d" % (k[0], k[1], got[k], want[k]))
    # 3. the peer: every accepted recipient exactly once, unchanged
    peer = collections.Counter()
    data_of = {m["msgid"]: m.get("data") for m in plan.msgs}
    for frm, rcpts, data in sb.peer.received:
        mm = re.search(rb"(?mi)^Message-ID:\s*(<soak-\d+@local\.test>)", data)
        if not mm:
            continue
        mid = mm.group(1).decode()
        if not data.replace(b"\r\n", b"\n").endswith(data_of.get(mid) or b"\0"):
            out.append("peer copy of %s changed" % mid)
        for r in rcpts:
            peer[(mid, r.lower())] += 1
    for k in set(peer) | set(sent_to_peer):
        if peer[k] != sent_to_peer[k]:
            out.append("peer got %s for %s %d times, expected %d" % (k[1], k[0], peer[k],
                                                                     sent_to_peer[k]))
    STATS["lost"] = sum(1 for k in want if got[k] < want[k]) + \
        sum(1 for k in sent_to_peer if peer[k] < sent_to_peer[k])
    # 4. the suppression store against what the peer was told to answer
    out += check_store(sb, plan)
    return out


def check_store(sb, plan):
    out = []
    per_addr = collections.Counter()
    for m in plan.msgs:
        if m["id"] is None:
            continue
        for c, addr in m["rcpts"]:
            if c != "supp":
                per_addr[(c, addr)] += 1
    c = sqlite3.connect("file:%s?mode=ro" % sh.db_path(sb), uri=True, timeout=30)
    c.row_factory = sqlite3.Row
    rows = {(r["recipient"], r["sender_domain"]): dict(r)
            for r in c.execute("SELECT * FROM bg_suppression")}
    c.close()
    now = int(time.time())
    seen = set()
    for (cls, addr), n in per_addr.items():
        r = rows.get((addr, "local.test"))
        seen.add(addr)
        if cls == "hard":
            if not r or not sh.active(r, now) or r["category"] != "unknown-user" or r["scope"] != "address":
                out.append("store: %s should be suppressed (unknown-user): %s" % (addr, r))
            else:
                STATS["store_hard_rows_ok"] += 1
        elif cls in ("full", "soft"):
            # 552: one failure per message; 452: the deferral and the
            # retry-timeout bounce of one message count once. (451 4.3.0
            # then the retry-timeout bounce: the bounce takes the cause of
            # the last deferral, remote-server-error, which counts nothing,
            # so a "temp" address has no row: the last branch below.)
            want = n
            cat = "mailbox-full"
            if not r or r["soft_count"] != want or r["category"] != cat or sh.active(r, now):
                out.append("store: %s soft_count %s (category %s), expected %d (%s) from %d "
                           "messages" % (addr, r and r["soft_count"], r and r["category"], want,
                                         cat, n))
            else:
                STATS["store_soft_rows_ok"] += 1
                STATS["store_soft_events"] += want
        elif r is not None:
            out.append("store: unexpected row for %s (%s): %s" % (addr, cls, r))
    for i in range(POOL["supp"]):
        a = "supp%d@supp.test" % i
        seen.add(a)
        r = rows.get((a, "local.test"))
        if not r or not sh.active(r, now):
            out.append("store: pre-suppressed %s lost its row: %s" % (a, r))
    extra = [k for k in rows if k[0] not in seen]
    if extra:
        out.append("store: rows nobody caused: %s" % extra[:10])
    out += check_report(sb)
    return out


def check_report(sb):
    """`bounceguide report` counts what the main log says happened: every
    delivery, every refusal for good the transport saw (550, 552, 554;
    the retry-timeout bounces raise no transport event), and a deferral
    per attempt -- no more than the main log's deferral lines."""
    r = sh.cli("report", "--format", "json", "--domain", "local.test", "--db", sh.db_path(sb))
    if r.returncode != 0:
        return ["report: %s" % (r.stderr or r.stdout)]
    groups = json.loads(r.stdout)["groups"]
    g = groups[0] if groups else {"delivered": 0, "bounced": 0, "deferred": 0}
    at_once = sum(STATS["failed_" + c] for c in ("hard", "full", "content"))
    STATS["report_delivered"], STATS["report_bounced"] = g["delivered"], g["bounced"]
    STATS["report_deferred"] = g["deferred"]
    out = []
    if g["delivered"] != STATS["delivered"] or g["bounced"] != at_once:
        out.append("report: delivered %d, bounced %d; the main log: %d, %d" % (
            g["delivered"], g["bounced"], STATS["delivered"], at_once))
    if not 0 < g["deferred"] <= STATS["deferrals_logged"]:
        out.append("report: deferred %d, the main log has %d deferral lines" % (
            g["deferred"], STATS["deferrals_logged"]))
    return out


def figures_of(plan, wall, t_sub, problems):
    s = STATS
    failed = sum(v for k, v in s.items() if k.startswith("failed_"))
    lines = [
        "soak figures:",
        "  messages submitted     %d (%d accepted; the rest had only suppressed recipients)" % (
            len(plan.msgs), s["messages_accepted"]),
        "  recipients             %d: delivered %d, bounced %d, refused by suppression %d" % (
            s["recipients"], s["delivered"], failed, s["refused_by_suppression"]),
        "  failures by class      " + ", ".join("%s %d" % (k[7:], v) for k, v in sorted(s.items())
                                                if k.startswith("failed_")),
        "  deferrals logged       %d (retry-timeout bounces after them)" % s["deferrals_logged"],
        "  bounces delivered      %d, enriched %d" % (s["bounces"], s["bounces_enriched"]),
        "  store                  %d hard rows, %d soft rows (%d soft events) as the peer answered" % (
            s["store_hard_rows_ok"], s["store_soft_rows_ok"], s["store_soft_events"]),
        "  report                 delivered %d, bounced %d, deferred %d (bounceguide report)" % (
            s["report_delivered"], s["report_bounced"], s["report_deferred"]),
        "  store 'not recorded'   %d lines; other plugin problem lines %d" % (
            s["not_recorded_lines"], s["plugin_problem_lines"]),
        "  wall time              %.1f s (submission %.1f s), %.1f msgs/s, %.1f recipients/s" % (
            wall, t_sub, len(plan.msgs) / wall, s["recipients"] / wall),
        "  lost                   %d; problems %d" % (s["lost"], len(problems)),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
