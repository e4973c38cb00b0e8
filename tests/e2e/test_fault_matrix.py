"""Issue 6, faults: the fault matrix in the real-Exim sandbox.

Each case breaks one thing (or many at once) and then sends, through the
running daemon, a message that bounces and a message that does not (to a
local mailbox and to an accepting remote peer). It asserts that the bounce
is still delivered to its sender's maildir, that the non-bounce arrives
byte for byte as sent, and that the panic log holds nothing from the
plugin. Every case adds one row -- case, bounce delivered, non-bounce
untouched, the plugin's log line -- to build/fault-matrix.md, which is
printed at the end of the module (docs/security.md carries a copy).

Two sandboxes: "store" is wired like the product (the shipped RCPT ACL,
router and transport event_action of the suppression store,
tests/e2e/lib/store_helpers.py) for the database faults; "plain" loads the
plugin alone, with its spool's input directory on a small tmpfs (mounted
by the test, root only) for the disk-full case and its own config for the
config, catalogue and DNS cases. Config faults run in "plain" only: with
no config the store's dlfunc entry points fall back to the default
database path under /var/spool/exim4, outside the sandbox.

Some cases are those of test_faults.py, called from here (not copied) so
their rows come from a run too.
"""

import importlib.util
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time

import checks
import mail
import store_helpers as sh
from sandbox import Sandbox, TOP, wait_for
from slowdns import SlowDNS, SEND_IP, closed_udp_port

HERE = os.path.dirname(os.path.abspath(__file__))
# make e2e and make e2e-asan run side by side in make test: one file each
MATRIX_OUT = os.path.join(TOP, "build", "fault-matrix-asan.md" if os.environ.get("BG_E2E_SAN")
                          else "fault-matrix.md")
ROWS = []

DMARC_REPLY = ("550-5.7.26 This mail has been blocked because the sender is\n"
               "550 5.7.26 unauthenticated. DMARC policy of local.test says reject.")


def _faults_module():
    """tests/e2e/test_faults.py, for the cases it already has."""
    spec = importlib.util.spec_from_file_location("_bg_test_faults",
                                                  os.path.join(HERE, "test_faults.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- the two sandboxes ----------------------------------------------------

class TmpfsSandbox(Sandbox):
    """A Sandbox whose spool/input (the -D/-H/-J files) is a small tmpfs the
    test can fill. tmpfs_error says why it is not mounted (not root, no
    mount). Unmounted (lazily) before the directory is removed."""

    SIZE = "4m"

    def _start_daemon(self):
        if not hasattr(self, "tmpfs"):
            self.tmpfs = None
            self.tmpfs_error = ""
            d = self.path("spool", "input")
            os.makedirs(d, exist_ok=True)
            os.chown(d, self.uid, self.gid)
            if os.getuid() != 0:
                self.tmpfs_error = "not root: cannot mount a tmpfs"
            else:
                r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                                    "size=%s,mode=0750,uid=%d,gid=%d" % (self.SIZE, self.uid, self.gid),
                                    "bg-e2e-spool", d], capture_output=True, text=True)
                if r.returncode == 0:
                    self.tmpfs = d
                else:
                    self.tmpfs_error = "mount -t tmpfs failed: %s" % r.stderr.strip()
        return super()._start_daemon()

    def stop(self, failed=False):
        if self.proc is not None:
            # the daemon first (it has files open there), then the mount
            try:
                os.killpg(self.proc.pid, 15)
                self.proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if getattr(self, "tmpfs", None):
            subprocess.run(["umount", "-l", self.tmpfs], capture_output=True)
            self.tmpfs = None
        super().stop(failed)


class World:
    """Both sandboxes, with the start()/stop() run.py expects."""

    def __init__(self):
        self.store = sh.make_sandbox(name="fmx-store")
        self.plain = TmpfsSandbox(plugin=os.path.join(TOP, "build", "bounceguide.so"),
                                  bgconf="", name="fmx-plain")

    def start(self):
        self.store.start()
        try:
            self.plain.start()
        except Exception:
            self.store.stop(failed=True)
            raise
        self.store.drain_stderr()
        self.plain.drain_stderr()
        return self

    def stop(self, failed=False):
        try:
            print_matrix()
        finally:
            self.plain.stop(failed)
            self.store.stop(failed)


def make_sandbox():
    return World()


# ---- the matrix -------------------------------------------------------------

def _short(line, sb):
    """A plugin log line without Exim's prefix and the sandbox path."""
    i = line.find("bounceguide: ")
    t = line[i + len("bounceguide: "):] if i >= 0 else line
    for s in (sb.store, sb.plain) if isinstance(sb, World) else (sb,):
        t = t.replace(s.dir, "DIR")
    return re.sub(r"\s+", " ", t).strip()


def write_matrix():
    os.makedirs(os.path.dirname(MATRIX_OUT), exist_ok=True)
    out = ["| case | bounce delivered | non-bounce untouched | plugin log line(s) |",
           "|---|---|---|---|"]
    for r in ROWS:
        log = r["log"].replace("|", "\\|")
        out.append("| %s | %s | %s | %s |" % (r["case"], r["bounce"], r["plain"], log))
    tmp = "%s.%d.tmp" % (MATRIX_OUT, os.getpid())
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.rename(tmp, MATRIX_OUT)


def print_matrix():
    if not ROWS:
        return
    write_matrix()
    print("   fault matrix (%s):" % os.path.relpath(MATRIX_OUT, TOP))
    with open(MATRIX_OUT) as f:
        for l in f:
            print("   " + l.rstrip("\n"))


def record(w, case, bounce_ok, plain_ok, lines, bounce_note="", max_len=170, show=2):
    """Add a row; lines: the plugin's problem lines of the case (deduped)."""
    seen, kinds = [], set()
    for l in lines:
        s = _short(l, w)
        kind = " ".join(s.split()[:3])  # one example per kind of line
        if s not in seen and (show <= 2 or kind not in kinds):
            seen.append(s)
            kinds.add(kind)
    if not seen:
        log = "(none)"
    else:
        log = "; ".join(("`%s`" % (s if len(s) <= max_len else s[:max_len] + "...")) for s in seen[:show])
        n = len(lines) - min(len(seen), show)
        if n > 0:
            log += " (%d lines in all)" % len(lines)
    yes = lambda ok: "yes" if ok else "**NO**"  # noqa: E731
    ROWS.append({"case": case, "bounce": yes(bounce_ok) + (" (%s)" % bounce_note if bounce_note else ""),
                 "plain": yes(plain_ok), "log": log})
    write_matrix()


# informational plugin lines of a working plugin (not problems)
INFO = ("report rewritten", "timing:", "auth diagnosis for ", "suppressed for mail from",
        "bounceguide: suppressed ")


def fault_lines(text):
    out = []
    for l in checks.plugin_lines(text):
        if "auth diagnosis for " in l and "not added" in l:
            out.append(l)
        elif not any(i in l for i in INFO):
            out.append(l)
    return out


# ---- rounds ----------------------------------------------------------------

def bounce_round(sb, user, reply="550 5.1.1 <%(rcpt)s>: Recipient address rejected: User unknown",
                 rcpts=None, timeout=30):
    """A message from a fresh local user that the peer rejects; returns a
    dict: bounce (bytes or None), msg, seconds (submit to delivered bounce),
    log (main log text since the submission)."""
    frm = sb.add_user(user)
    rcpts = rcpts or ["%s-x@remote.test" % user]
    for r in rcpts:
        rep = reply(r) if callable(reply) else reply % {"rcpt": r}
        sb.peer.set_rule(r, rcpt=rep)
    msg = mail.make_message(frm, rcpts, "fault matrix " + user)
    mark = sb.log_mark()
    t0 = time.monotonic()
    res = {"msg": msg, "bounce": None, "seconds": None}
    try:
        sb.submit(frm, rcpts, msg)
        res["bounce"] = sb.wait_mail(user, 1, timeout=timeout)[0]
        res["seconds"] = time.monotonic() - t0
        sb.wait_queue_empty(timeout=timeout)
    except (TimeoutError, OSError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    res["log"] = sb.log_since(mark)
    return res


def _untouched(got, sent):
    if got is None:
        return False
    g = got.replace(b"\r\n", b"\n")
    return g.endswith(sent) and not mail.header_values(got, "X-Bounce-Category")


def plain_round(sb, user, timeout=30):
    """A non-bounce to a local mailbox and to an accepting remote peer, in
    one SMTP transaction. Returns (ok, log text)."""
    frm = "sender-%s@local.test" % user
    local = sb.add_user(user + "in")
    remote = "%s-ok@remote.test" % user
    sb.peer.set_rule(remote, rcpt="250 2.1.5 OK")
    msg = mail.make_message(frm, [local, remote], "plain " + user,
                            body="Not a bounce.\nMultipart/report X-Failed-Recipients: words only.\n")
    mark = sb.log_mark()
    n = len(sb.peer.received)
    ok = True
    try:
        sb.submit(frm, [local, remote], msg)
        got = sb.wait_mail(user + "in", 1, timeout=timeout)[0]
        peer = wait_for(lambda: [m for m in sb.peer.received[n:] if remote in m[1]], timeout,
                        "peer copy for %s" % remote)
        ok = _untouched(got, msg) and _untouched(peer[0][2], msg)
        sb.wait_queue_empty(timeout=timeout)
    except (TimeoutError, OSError):
        ok = False
    return ok, sb.log_since(mark)


def _assert_row(w, case, b, plain_ok, plain_log, sb, expect=None, note="", show=2):
    """Record the row, then assert: bounce delivered (and expect(bounce)
    holds), non-bounce untouched, panic log clean."""
    lines = fault_lines(b["log"]) + fault_lines(plain_log)
    err = None
    if b["bounce"] is not None and expect is not None:
        try:
            expect(b)
        except AssertionError as e:
            err = e
    if b["bounce"] is not None and b["bounce"] != b"x":
        state = "enriched" if mail.header_values(b["bounce"], "X-Bounce-Category") else "unchanged"
        note = state + (", " + note if note else "")
    record(w, case, b["bounce"] is not None and err is None, plain_ok, lines, note, show=show)
    if b["bounce"] is None:
        checks.fail("no bounce delivered (%s)\n%s" % (b.get("error"), "\n".join(checks.plugin_lines(b["log"]))))
    if err is not None:
        raise err
    if not plain_ok:
        checks.fail("the non-bounce was not delivered unchanged")
    checks.panic_clean(sb)
    return lines


def _enriched(category="unknown-user", status="5.1.1"):
    def f(b):
        checks.enriched(b["bounce"], category, status=status)
        checks.original_identical(b["bounce"], b["msg"])
    return f


def _unchanged(b):
    checks.unchanged_exim_bounce(b["bounce"])
    checks.original_identical(b["bounce"], b["msg"])


def _one_line(lines, *needles):
    if len(lines) != 1 or not all(n in lines[0] for n in needles):
        checks.fail("expected one plugin log line with %s, got %s" % (list(needles), lines))


# ---- database faults (store sandbox) ---------------------------------------

def test_matrix_db_unwritable(w):
    sb = w.store
    p = sb.path("ro.db")
    made = sh.cli("suppress", "add", "someone@example.net", "--domain", "local.test", "--db", p)
    assert made.returncode == 0, made
    for x in (p, p + "-wal", p + "-shm"):
        if os.path.exists(x):
            os.chown(x, 0, 0)
            os.chmod(x, 0o644)
    sb.set_bgconf(sh.bgconf(db="@@DIR@@/ro.db"))
    try:
        b = bounce_round(sb, "mxro")
        ok, plog = plain_round(sb, "mxro")
    finally:
        sb.set_bgconf(sh.bgconf())
    lines = _assert_row(w, "suppression db unwritable (root-owned 0644)", b, ok, plog, sb,
                        _enriched())
    assert lines and all("not writable" in l for l in lines), lines


def _ensure_db(sb):
    """The store sandbox's default database exists with its schema (made by
    Exim's own processes, so owned by the Exim user)."""
    if not os.path.exists(sh.db_path(sb)):
        bounce_round(sb, "mxinit")
    wait_for(lambda: os.path.exists(sh.db_path(sb)), 10, "suppression.db")


def test_matrix_db_locked(w):
    sb = w.store
    _ensure_db(sb)
    c = sqlite3.connect(sh.db_path(sb), timeout=5, isolation_level=None)
    c.execute("PRAGMA locking_mode=EXCLUSIVE")
    c.execute("BEGIN EXCLUSIVE")
    c.execute("SELECT COUNT(*) FROM bg_suppression").fetchone()
    try:
        b = bounce_round(sb, "mxlock")
        ok, plog = plain_round(sb, "mxlock")
    finally:
        c.execute("ROLLBACK")
        c.close()
    lines = _assert_row(w, "suppression db locked beyond suppress_timeout_ms (300 ms)", b, ok,
                        plog, sb, _enriched(), "%.1f s" % (b["seconds"] or 0))
    assert lines and all("locked beyond the timeout" in l for l in lines), lines
    waited = [int(x) for l in lines for x in re.findall(r"(?:waited|after) (\d+) ms", l)]
    assert waited and max(waited) <= 300 + 250, waited
    # three bounded waits at most on the bounce's path (RCPT check,
    # transport event, local_scan), plus the ordinary round trip
    assert b["seconds"] < 5, b["seconds"]


def test_matrix_db_corrupt(w):
    sb = w.store
    p = sb.path("corrupt.db")
    with open(p, "wb") as f:
        f.write(b"this is not a database " * 400)
    os.chown(p, sb.uid, sb.gid)
    sb.set_bgconf(sh.bgconf(db="@@DIR@@/corrupt.db"))
    try:
        b = bounce_round(sb, "mxcorrupt")
        ok, plog = plain_round(sb, "mxcorrupt")
    finally:
        sb.set_bgconf(sh.bgconf())
    lines = _assert_row(w, "suppression db corrupt (garbage bytes)", b, ok, plog, sb,
                        _enriched())
    assert lines and all("corrupt" in l or "not a database" in l for l in lines), lines


def test_matrix_db_deleted_under_daemon(w):
    """Failures stream in; after the first bounces the database and its
    -wal/-shm are removed while Exim runs; more failures follow. Every
    bounce arrives, and the store comes back (recreated) or says why not."""
    sb = w.store
    _ensure_db(sb)
    p = sh.db_path(sb)
    n = 10
    users = ["mxdel%d" % i for i in range(n)]
    for u in users:
        sb.add_user(u)
    mark = sb.log_mark()
    errors = []
    deleted = threading.Event()

    def feed():
        for i, u in enumerate(users):
            if i == n // 2:
                deleted.wait(30)
            rcpt = "%s-x@remote.test" % u
            sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: User unknown" % rcpt)
            try:
                sb.submit(u + "@local.test", [rcpt], mail.make_message(u + "@local.test", rcpt, "del"))
            except OSError as e:
                errors.append(e)

    t = threading.Thread(target=feed)
    t.start()
    try:
        wait_for(lambda: all(sb.mailbox(u) for u in users[:3]), 30, "first bounces")
        for x in (p, p + "-wal", p + "-shm"):
            try:
                os.unlink(x)
            except FileNotFoundError:
                pass
    finally:
        deleted.set()
        t.join(60)
    got = []
    try:
        wait_for(lambda: all(sb.mailbox(u) for u in users), 30, "all %d bounces" % n)
    except TimeoutError:
        pass
    got = [u for u in users if sb.mailbox(u)]
    sb.wait_queue_empty(30)
    ok, plog = plain_round(sb, "mxdel")
    log = sb.log_since(mark)
    b = {"bounce": b"x" if len(got) == n and not errors else None, "log": log,
         "error": "%d of %d bounces, submit errors %s" % (len(got), n, errors)}
    for u in users:
        if sb.mailbox(u):
            checks.enriched(sb.mailbox(u)[0], "unknown-user", status="5.1.1")
    recreated = os.path.exists(p) and sh.row(sb, "local.test", users[-1] + "-x@remote.test")
    _assert_row(w, "suppression db (and -wal/-shm) deleted under the running daemon", b, ok, plog,
                sb, None, "%d/%d enriched; db %s" % (len(got), n,
                                                     "recreated" if recreated else "not recreated"))
    if not recreated:
        assert fault_lines(log), "the store neither came back nor said why"


def test_matrix_db_compromised_rows(w):
    """Someone with write access to the database (the Exim user) plants rows
    holding CR/LF, Exim expansion syntax, a megabyte of text and broken
    UTF-8. The RCPT refusal built from such a row is one clean SMTP reply,
    nothing is expanded, and mail to everyone else flows."""
    sb = w.store
    _ensure_db(sb)
    pwned = sb.path("pwned")
    evil = "${run{/bin/touch %s}}" % pwned
    c = sqlite3.connect(sh.db_path(sb), timeout=10)
    now = int(time.time())
    cols = [r[1] for r in c.execute("PRAGMA table_info(bg_suppression)")]
    row = {"sender_domain": "local.test", "recipient": "planted@remote.test", "scope": "address",
           "category": "x\r\n250 2.0.0 OK " + evil, "status": "5.1.1\r\nX-Injected: 1",
           "reply_code": 550, "diagnostic": "\xff\xfe" + "A" * (1 << 20) + evil,
           "first_seen": now, "last_seen": now, "soft_count": 0, "soft_window_start": 0,
           "suppressed_since": now, "expires_at": 0, "source": "transport\r\n",
           "last_message_id": "<" + evil + ">"}
    use = [k for k in row if k in cols]
    c.execute("INSERT OR REPLACE INTO bg_suppression (%s) VALUES (%s)" % (
        ", ".join(use), ", ".join("?" * len(use))), [row[k] for k in use])
    c.commit()
    c.close()
    code, text = sh.rcpt_reply(sb, "someone@local.test", "planted@remote.test")
    b = bounce_round(sb, "mxplant")
    ok, plog = plain_round(sb, "mxplant")
    refused_ok = code == 550 and "\r" not in text and "250 2.0.0" not in text.split("\n")[0][:4]
    _assert_row(w, "suppression db compromised: planted row with CR/LF, ${run...}, 1 MB text",
                b, ok and refused_ok and not os.path.exists(pwned), plog, sb, _enriched(),
                "RCPT reply %d" % code)
    assert code == 550, (code, text)
    assert not os.path.exists(pwned), "expansion syntax from the database was run"
    for l in text.split("\n"):
        assert l.startswith("5.7.1 ") or not l.strip(), text   # one reply, no injected line
    assert "$" in text or "run" in text or len(text) < 200, text
    assert len(text) < 2000, len(text)


def test_matrix_db_directory_missing(w):
    sb = w.store
    sb.set_bgconf(sh.bgconf(db="@@DIR@@/no-such-dir/deeper/suppression.db"))
    try:
        b = bounce_round(sb, "mxnodir")
        ok, plog = plain_round(sb, "mxnodir")
    finally:
        sb.set_bgconf(sh.bgconf())
    made = os.path.exists(sb.path("no-such-dir", "deeper", "suppression.db"))
    lines = _assert_row(w, "suppression db directory missing", b, ok, plog, sb, _enriched(),
                        "db %s" % ("created" if made else "not created"))
    if not made:
        assert lines, "no database and no log line"


# ---- disk full while rewriting (plain sandbox, tmpfs spool) ----------------

def _free_pages(d):
    st = os.statvfs(d)
    return st.f_bavail, st.f_frsize


def test_matrix_disk_full_during_rewrite(w):
    """The spool's input directory is a small tmpfs. The peer fills it, when
    the message's RCPTs arrive, to a few pages short of what the rewritten
    bounce needs (its size is measured first): Exim can still write its own
    bounce, the plugin cannot enlarge it. The bounce must be delivered
    exactly as Exim made it, with one log line."""
    sb = w.plain
    if not getattr(sb, "tmpfs", None):
        raise checks.Skip("spool tmpfs not mounted: %s" % getattr(sb, "tmpfs_error", "?"))
    # a bounce with several causes: the rewrite is many pages bigger
    causes = ["550 5.1.1 <%(r)s>: User unknown", "552 5.2.2 <%(r)s>: Mailbox full",
              "550 5.7.1 <%(r)s>: Message rejected as spam", "550 5.2.1 <%(r)s>: Account disabled",
              "554 5.7.1 <%(r)s>: Relay access denied", "550 5.1.2 <%(r)s>: Host unknown"]

    def rcpts(u):
        return ["%s-%d@remote.test" % (u, i) for i in range(len(causes))]

    def reply_for(u):
        table = dict(zip(rcpts(u), causes))
        return lambda r: table[r] % {"r": r}

    sb.set_bgconf("")
    # 1. the sizes with room to spare
    probe = bounce_round(sb, "mxdfprobe", reply=reply_for("mxdfprobe"), rcpts=rcpts("mxdfprobe"))
    assert probe["bounce"] is not None, probe.get("error")
    m = re.search(r"report rewritten \((\d+) -> (\d+) bytes\)", probe["log"])
    assert m, checks.plugin_lines(probe["log"])
    old, new = int(m.group(1)), int(m.group(2))
    _, page = _free_pages(sb.tmpfs)
    extra = -(-new // page) - (-(-old // page))
    assert extra >= 3, (old, new)  # the window the test needs

    filler = os.path.join(sb.tmpfs, "zz-filler")
    state = {}
    orig_rule = sb.peer._rule

    def fill_at_rcpt(addr, leave):
        if addr.endswith("-0@remote.test") and state.get("armed"):
            state["armed"] = False
            free, _ = _free_pages(sb.tmpfs)
            # what Exim still writes before local_scan: the journal and the
            # bounce's -D file (about the probe's old size), then room to
            # spare for the -H file; the rewrite needs `extra` more pages
            need = 1 + -(-(old + 64) // page) + leave
            n = max(free - need, 0)
            with open(filler, "wb") as f:
                f.write(b"\0" * (n * page))
            state["filled"] = n
        return orig_rule(addr)

    outcome = None
    try:
        # leave = pages free beyond Exim's own needs when local_scan runs;
        # the rewrite needs `extra` more, so anything below that must fail
        for leave in (extra // 2, 1, extra - 1):
            user = "mxdf%d" % leave
            state["armed"] = True
            sb.peer._rule = lambda a, _l=leave: fill_at_rcpt(a, _l)
            try:
                b = bounce_round(sb, user, reply=reply_for(user), rcpts=rcpts(user))
            finally:
                sb.peer._rule = orig_rule
                if os.path.exists(filler):
                    os.unlink(filler)
            if b["bounce"] is None:
                outcome = b
                break
            if "cannot reserve" in b["log"] or "spool write failed" in b["log"]:
                outcome = b
                break
            outcome = b  # rewritten anyway: try with less room
    finally:
        sb.peer._rule = orig_rule
        if os.path.exists(filler):
            os.unlink(filler)
    b = outcome
    ok, plog = plain_round(sb, "mxdf")
    hit = b["bounce"] is not None and not mail.header_values(b["bounce"], "X-Bounce-Category")
    lines = _assert_row(w, "disk full while rewriting the spool file (tmpfs spool)", b, ok, plog,
                        sb, _unchanged, "" if hit else "disk not full enough")
    _one_line(fault_lines(b["log"]), "passed unchanged")
    assert lines


# ---- config and catalogue (plain sandbox) ----------------------------------

def test_matrix_config_missing(w):
    sb = w.plain
    os.unlink(sb.path("bounceguide.conf"))
    try:
        b = bounce_round(sb, "mxcfmiss")
        ok, plog = plain_round(sb, "mxcfmiss")
    finally:
        sb.set_bgconf("")
    _assert_row(w, "config file missing ($BOUNCEGUIDE_CONFIG names no file)", b, ok, plog, sb,
                _unchanged)
    _one_line(fault_lines(b["log"]), "No such file", "passed unchanged")


def test_matrix_config_broken(w):
    """test_faults.py's case, then a non-bounce under the same broken file."""
    sb = w.plain
    tf = _faults_module()
    mark = sb.log_mark()
    b = {"bounce": b"x", "log": ""}
    try:
        tf.test_config_broken(sb)
    except AssertionError as e:
        b = {"bounce": None, "error": str(e), "log": ""}
    b["log"] = sb.log_since(mark)
    try:
        ok, plog = plain_round(sb, "mxcfbroken")
    finally:
        sb.set_bgconf("")
    _assert_row(w, "config broken (test_faults.py::test_config_broken)", b, ok, plog, sb, None,
                "unchanged")


def test_matrix_config_unreadable(w):
    sb = w.plain
    tf = _faults_module()
    mark = sb.log_mark()
    b = {"bounce": b"x", "log": ""}
    try:
        tf.test_config_unreadable(sb)
    except AssertionError as e:
        b = {"bounce": None, "error": str(e), "log": ""}
    b["log"] = sb.log_since(mark)
    ok, plog = plain_round(sb, "mxcfunread")
    _assert_row(w, "config unreadable (test_faults.py::test_config_unreadable)", b, ok, plog,
                sb, None, "unchanged")


def _data_dir(sb, name, rules=True, guidance=None):
    """A data_dir for the plugin: rules.conf (the shipped one) and, when
    guidance is given, guidance/en.conf with that text."""
    d = sb.path(name)
    os.makedirs(os.path.join(d, "guidance"), exist_ok=True)
    if rules:
        shutil.copyfile(os.path.join(TOP, "conf", "rules.conf"), os.path.join(d, "rules.conf"))
    if guidance is not None:
        with open(os.path.join(d, "guidance", "en.conf"), "w") as f:
            f.write(guidance)
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.chown(os.path.join(root, n), sb.uid, sb.gid)
    os.chown(d, sb.uid, sb.gid)
    return d


def test_matrix_catalogue_missing(w):
    """data_dir without guidance/en.conf: Exim's bounce as it was, one line."""
    sb = w.plain
    _data_dir(sb, "data-nocat")
    sb.set_bgconf("data_dir = @@DIR@@/data-nocat\n")
    try:
        b = bounce_round(sb, "mxcatmiss")
        ok, plog = plain_round(sb, "mxcatmiss")
    finally:
        sb.set_bgconf("")
    _assert_row(w, "catalogue missing (data_dir without guidance/en.conf)", b, ok, plog, sb,
                _unchanged)
    _one_line(fault_lines(b["log"]), "en.conf")


def test_matrix_catalogue_broken(w):
    sb = w.plain
    _data_dir(sb, "data-badcat", guidance="[unknown-user\nthis is = not a catalogue\n\x00\xff\n")
    sb.set_bgconf("data_dir = @@DIR@@/data-badcat\n")
    try:
        b = bounce_round(sb, "mxcatbad")
        ok, plog = plain_round(sb, "mxcatbad")
    finally:
        sb.set_bgconf("")
    _assert_row(w, "catalogue broken (data_dir/guidance/en.conf not a catalogue)", b, ok, plog,
                sb, _unchanged)
    _one_line(fault_lines(b["log"]), "en.conf")


def test_matrix_catalogue_override_missing(w):
    """test_faults.py's case (guidance_file names no file: built-in texts)."""
    sb = w.plain
    tf = _faults_module()
    mark = sb.log_mark()
    b = {"bounce": b"x", "log": ""}
    try:
        tf.test_catalogue_override_missing(sb)
    except AssertionError as e:
        b = {"bounce": None, "error": str(e), "log": ""}
    b["log"] = sb.log_since(mark)
    sb.set_bgconf("guidance_file = @@DIR@@/no-such-guidance.conf\n")
    try:
        ok, plog = plain_round(sb, "mxcatovr")
    finally:
        sb.set_bgconf("")
    _assert_row(w, "guidance override file missing (test_faults.py::"
                "test_catalogue_override_missing)", b, ok, plog, sb, None, "enriched, built-in texts")


def test_matrix_rules_file_broken(w):
    sb = w.plain
    p = sb.write_file("bad-rules.conf", "rule x\ncategory no-such-category\nbogus line\n\x00\n")
    sb.set_bgconf("rules_file = %s\n" % p)
    try:
        b = bounce_round(sb, "mxrules")
        ok, plog = plain_round(sb, "mxrules")
    finally:
        sb.set_bgconf("")
    lines = _assert_row(w, "admin rules file broken (rules_file)", b, ok, plog, sb,
                        lambda b: checks.original_identical(b["bounce"], b["msg"]))
    assert lines and any("bad-rules.conf" in l for l in lines), lines


# ---- DNS and the time budget (plain sandbox, 550 5.7.26) --------------------

def _auth_conf(servers, budget_ms):
    return "sending_ip = %s\ndiagnose_dns_servers = %s\ndiagnose_budget = %dms\n" % (
        SEND_IP, servers, budget_ms)


def _auth_round(sb, user, servers, budget_ms):
    sb.set_bgconf(_auth_conf(servers, budget_ms))
    try:
        return bounce_round(sb, user, reply=DMARC_REPLY)
    finally:
        sb.set_bgconf("")


def _no_diagnosis(b):
    checks.enriched(b["bounce"], "dmarc-failure", status="5.7.26")
    text = mail.text_of(mail.parse(b["bounce"]))
    if "Authentication check" in text or "ip4:%s" % SEND_IP in text:
        checks.fail("diagnosis present", b["bounce"])


def _diag_lines(b):
    return [l for l in b["log"].splitlines() if "auth diagnosis" in l]


def test_matrix_dns_closed_port(w):
    sb = w.plain
    budget = 1500
    b = _auth_round(sb, "mxdnsclosed", "127.0.0.1:%d" % closed_udp_port(), budget)
    ok, plog = plain_round(sb, "mxdnsclosed")
    _assert_row(w, "DNS unreachable: diagnose_dns_servers on a closed loopback port", b, ok,
                plog, sb, _no_diagnosis, "no diagnosis, %.1f s" % (b["seconds"] or 0))
    lines = _diag_lines(b)
    assert len(lines) == 1 and "not added" in lines[0], lines
    assert b["seconds"] < budget / 1000.0 + 3, b["seconds"]


def test_matrix_dns_blackhole(w):
    """A name server that takes queries and never answers: the wait is the
    budget, not the resolver's retries."""
    sb = w.plain
    budget = 1000
    dns = SlowDNS(delay=None).start()
    try:
        b = _auth_round(sb, "mxdnsblack", dns.server, budget)
    finally:
        dns.stop()
    ok, plog = plain_round(sb, "mxdnsblack")
    _assert_row(w, "DNS blackhole: a server that never answers", b, ok, plog, sb, _no_diagnosis,
                "no diagnosis, %.1f s" % (b["seconds"] or 0))
    lines = _diag_lines(b)
    assert len(lines) == 1 and "not added" in lines[0], lines
    m = re.search(r"after (\d+) ms", lines[0])
    assert m and budget - 50 <= int(m.group(1)) <= budget + 300, lines[0]
    assert dns.queries >= 1, "the blackhole saw no query: the case tested nothing"
    assert b["seconds"] < budget / 1000.0 + 3, b["seconds"]


def test_matrix_dns_unroutable(w):
    """TEST-NET-1 (192.0.2.1): nothing answers there, or no route at all."""
    sb = w.plain
    budget = 1000
    b = _auth_round(sb, "mxdnsnoroute", "192.0.2.1:53", budget)
    ok, plog = plain_round(sb, "mxdnsnoroute")
    _assert_row(w, "DNS unreachable: diagnose_dns_servers = 192.0.2.1 (TEST-NET)", b, ok, plog,
                sb, _no_diagnosis, "no diagnosis, %.1f s" % (b["seconds"] or 0))
    lines = _diag_lines(b)
    assert len(lines) == 1 and "not added" in lines[0], lines
    assert b["seconds"] < budget / 1000.0 + 3, b["seconds"]


def test_matrix_budget_exceeded_slow_dns(w):
    """A DNS server that answers correctly but slowly (400 ms a query): with
    a 1 s budget the diagnosis (7 queries) cannot finish; the bounce goes
    out without it, within the budget plus the round trip. The same server
    answering in 20 ms gives the diagnosis: the budget made the difference."""
    sb = w.plain
    dns = SlowDNS(delay=0.02).start()
    try:
        ctl = _auth_round(sb, "mxbudgetctl", dns.server, 3000)
        dns.delay = 0.4
        budget = 1000
        b = _auth_round(sb, "mxbudget", dns.server, budget)
    finally:
        dns.stop()
    assert ctl["bounce"] is not None, ctl.get("error")
    ctext = mail.text_of(mail.parse(ctl["bounce"]))
    assert "Authentication check" in ctext and "ip4:%s" % SEND_IP in ctext, \
        "control: the fast server gave no diagnosis:\n" + "\n".join(_diag_lines(ctl))
    ok, plog = plain_round(sb, "mxbudget")
    _assert_row(w, "time budget exceeded: diagnose_budget 1 s, DNS answering in 400 ms", b, ok,
                plog, sb, _no_diagnosis, "no diagnosis, %.1f s" % (b["seconds"] or 0))
    lines = _diag_lines(b)
    assert len(lines) == 1 and "budget" in lines[0], lines
    m = re.search(r"after (\d+) ms", lines[0])
    assert m and int(m.group(1)) <= budget + 300, lines[0]
    assert b["seconds"] < budget / 1000.0 + 3, b["seconds"]


# ---- many at once (store sandbox) -----------------------------------------

def test_matrix_many_faults_at_once(w):
    """Corrupt database, a DNS server that never answers, a missing guidance
    override, a broken rules file and a missing prvs secret, all at once, on
    a bounce with an authentication failure and an unknown user."""
    sb = w.store
    p = sb.path("corrupt2.db")
    with open(p, "wb") as f:
        f.write(os.urandom(8192))
    os.chown(p, sb.uid, sb.gid)
    rules = sb.write_file("bad-rules2.conf", "rule\n\x01\x02 nonsense\n")
    dns = SlowDNS(delay=None).start()
    conf = ("suppress_db = @@DIR@@/corrupt2.db\nsuppress_timeout_ms = 300\n"
            "prvs_secret_file = @@DIR@@/no-such.secret\n"
            "guidance_file = @@DIR@@/no-such-guidance.conf\n"
            "rules_file = %s\n" % rules + _auth_conf(dns.server, 800))
    sb.set_bgconf(conf)
    user = "mxmany"
    rc = ["%s-auth@remote.test" % user, "%s-gone@remote.test" % user]
    try:
        b = bounce_round(sb, user, rcpts=rc, reply=lambda r: DMARC_REPLY if "auth" in r
                         else "550 5.1.1 <%s>: User unknown" % r)
        ok, plog = plain_round(sb, user)
    finally:
        dns.stop()
        sb.set_bgconf(sh.bgconf())

    def expect(b):
        checks.enriched(b["bounce"], ["dmarc-failure", "unknown-user"])
        checks.original_identical(b["bounce"], b["msg"])
    lines = _assert_row(w, "many at once: corrupt db + silent DNS + missing guidance + broken "
                        "rules + missing prvs secret", b, ok, plog, sb, expect, show=6)
    assert len(lines) >= 3, lines
    assert b["seconds"] < 0.8 + 0.3 * 3 + 5, b["seconds"]
