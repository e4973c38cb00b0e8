"""A fleet for the end-to-end tests and the demo: one real PostgreSQL
(Debian's, tests/fleet/pg.sh: a private server on a unix socket, no TCP)
and two private Exim daemons on loopback (the tests/e2e harness, wired
with the shipped suppression snippets), each with its own journal and
replica and its own `bounceguide suppress sync` process.

    f = Fleet()
    f.start()
    f.set_rule("x@remote.test", rcpt="550 5.1.1 no such user")
    f.hosts[0].submit(...)
    f.wait_rcpt(f.hosts[1], "alice@local.test", "x@remote.test", 550)
    f.stop()

Everything lives in temporary directories and free ports, so a fleet runs
beside any other suite. Nothing sleeps a fixed time but the outage a test
asks for.
"""

import json
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e", "lib"))

import store_helpers as sh  # noqa: E402
from sandbox import TOP, CLIENT, wait_for  # noqa: E402

PG_SH = os.path.join(TOP, "tests", "fleet", "pg.sh")
CLI = os.path.join(TOP, "build", "bounceguide")


class Fleet:
    """Start with start(), end with stop(failed=...). The e2e runner
    (tests/e2e/run.py) calls both when a module's make_sandbox() returns
    one."""

    def __init__(self, names=("a", "b"), interval="200ms", bgconf_extra=""):
        self.names = list(names)
        self.interval = interval
        self.bgconf_extra = bgconf_extra
        self.hosts = []
        self.syncs = {}
        self.pgdir = None
        self.conninfo = None
        self.keep = os.environ.get("BG_E2E_KEEP") == "1"

    # ---- life ----------------------------------------------------------

    def start(self):
        base = os.environ.get("BG_E2E_TMP") or None
        self.pgdir = tempfile.mkdtemp(prefix="bg-fleet-pg-", dir=base)
        os.chmod(self.pgdir, 0o755)
        self.conninfo = self.pg("start").strip()
        for n in self.names:
            conf = sh.bgconf(db=self.conninfo, extra=(
                "suppress_replica = @@DIR@@/db/replica.db\n"
                "suppress_journal = @@DIR@@/db/journal.db\n"
                "suppress_sync_interval = %s\n" % self.interval) + self.bgconf_extra)
            sb = sh.make_sandbox(name="fleet-" + n, bgconf=conf)
            sb.fleet_name = n
            sb.start()
            sb.drain_stderr()
            self.hosts.append(sb)
        for sb in self.hosts:
            self.start_sync(sb)
        return self

    def stop(self, failed=False):
        for sb in list(self.syncs):
            self.stop_sync(sb)
        for sb in self.hosts:
            sb.stop(failed=failed)
        if self.pgdir:
            try:
                self.pg("stop")
            except subprocess.CalledProcessError:
                pass
            if self.keep or failed:
                print("  (PostgreSQL dir kept: %s)" % self.pgdir)
            else:
                shutil.rmtree(self.pgdir, ignore_errors=True)

    # ---- PostgreSQL ----------------------------------------------------

    def pg(self, cmd, *args):
        return subprocess.run(["sh", PG_SH, cmd, self.pgdir] + list(args), check=True,
                              capture_output=True, text=True, timeout=120).stdout

    def sql(self, query):
        """One value (or rows, tab-separated) from the central store."""
        return self.pg("psql", "-F", "\t", "-c", query).strip()

    def pg_stop(self):
        self.pg("stop")

    def pg_start(self):
        self.pg("start")

    # ---- the syncs -----------------------------------------------------

    def _as_exim(self, sb):
        """argv prefix running a command as the sandbox's Exim user (the
        systemd unit's User=Debian-exim); setpriv execs, so a signal to
        the process reaches the command itself."""
        if os.getuid() != 0:
            return []
        return ["setpriv", "--reuid=%d" % sb.uid, "--regid=%d" % sb.gid, "--init-groups", "--"]

    def start_sync(self, sb):
        log = open(sb.path("sync.log"), "a")
        p = subprocess.Popen(self._as_exim(sb) + [CLI, "suppress", "sync", "--config",
                                                  sb.path("bounceguide.conf")],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.syncs[sb] = p
        return p

    def stop_sync(self, sb):
        p = self.syncs.pop(sb, None)
        if p is None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)

    def sync_log(self, sb):
        try:
            with open(sb.path("sync.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def status(self, sb):
        """`suppress sync --status --json` of a host, as a dict."""
        r = subprocess.run(self._as_exim(sb) + [CLI, "suppress", "sync", "--status", "--json", "--config",
                                                sb.path("bounceguide.conf")],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("sync --status: %s" % (r.stderr or r.stdout))
        return json.loads(r.stdout)

    def cli(self, sb, *args, check=True):
        """The command on a host's config (the central store for writes)."""
        r = subprocess.run([CLI] + list(args) + ["--config", sb.path("bounceguide.conf")],
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError("bounceguide %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                                   r.stderr or r.stdout))
        return r

    # ---- mail ----------------------------------------------------------

    def set_rule(self, addr, **kw):
        for sb in self.hosts:
            sb.peer.set_rule(addr, **kw)

    def rcpt(self, sb, mail_from, rcpt):
        """(code, text, seconds) of a RCPT on host sb; nothing is sent."""
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", sb.port, timeout=30, local_hostname=CLIENT) as s:
            s.ehlo(CLIENT)
            s.mail(mail_from)
            code, text = s.rcpt(rcpt)
            s.rset()
        return code, text.decode(errors="replace"), time.monotonic() - t0

    def wait_rcpt(self, sb, mail_from, rcpt, code, timeout=10.0):
        """Poll RCPT on sb until it answers code; the seconds it took."""
        t0 = time.monotonic()
        last = [None]

        def ok():
            c, t, _ = self.rcpt(sb, mail_from, rcpt)
            last[0] = (c, t)
            return c == code

        try:
            wait_for(ok, timeout, "%s: RCPT %s -> %d" % (sb.fleet_name, rcpt, code), step=0.05)
        except TimeoutError:
            raise AssertionError("host %s: RCPT TO:<%s> still answers %s after %.1f s (wanted %d)"
                                 % (sb.fleet_name, rcpt, last[0], timeout, code))
        return time.monotonic() - t0

    def wait_drained(self, timeout=30.0):
        """Until every host's journal is empty."""
        wait_for(lambda: all(self.status(sb)["journal_waiting"] == 0 for sb in self.hosts), timeout,
                 "the journals to drain", step=0.2)
