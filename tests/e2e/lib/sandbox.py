"""A private Exim for the end-to-end tests: its own config, spool, logs,
maildirs and loopback ports, plus the scripted remote peer.

    with Sandbox(plugin="build/bounceguide.so", bgconf="max_size = 1M\\n") as sb:
        sb.peer.set_rule("bob@remote.test", rcpt="550 5.1.1 no such user")
        sb.submit("alice@local.test", ["bob@remote.test"], msg)
        bounce = sb.wait_mail("alice", 1)[0]

Everything is polled with bounded waits; nothing sleeps a fixed time.
Debian's exim4 drops to the Exim user when run with -C by root, so the
sandbox directory and everything Exim reads (config, plugin copy,
bounceguide.conf) live under one directory that user owns.
"""

import os
import pwd
import grp
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

from peer import Peer

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
EXIM = shutil.which("exim4") or shutil.which("exim") or "/usr/sbin/exim4"
PRIV_LINE = "exim user lost privilege for using -C option"
# The name our SMTP client gives. Given to smtplib too: without it smtplib
# looks this machine's name up (socket.getfqdn), which waits out the DNS
# timeouts where /etc/hosts lacks the name and DNS is silent (a fresh
# debootstrap root; the auth cases' silent name server).
CLIENT = "client.test"
# BG_E2E_SAN=DIR (make e2e-asan, tests/e2e/run-asan.sh): build/bounceguide.so
# is replaced by DIR/bounceguide.so (ASan+UBSan) and exim is DIR/exim, a
# wrapper that preloads the ASan runtime into DIR/exim4, a non-setuid copy (the
# loader ignores LD_PRELOAD in a setuid re-exec); exim_path makes Exim re-exec
# that copy and keep_environment passes the runtime and its options on.
SAN = os.environ.get("BG_E2E_SAN", "")
# BG_E2E_PLUGIN=FILE: build/bounceguide.so is replaced by FILE (make
# test-trixie runs the plugin built on Debian 12 through Debian 13's Exim).
PLUGIN = os.environ.get("BG_E2E_PLUGIN", "")
if SAN:
    EXIM = os.path.join(SAN, "exim")


def free_port():
    """A port nobody listens on right now (the kernel's choice)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout, what, step=0.02):
    """Poll pred() until it returns something true, or raise after timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            raise TimeoutError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(step)


class Sandbox:
    """One Exim daemon (-bdf, our child) with the scripted peer.

    plugin     path of bounceguide.so (copied to DIR/bounceguide.so), or None
               to run without local_scan
    load_plugin  False: copy the plugin but leave local_scan_path to the
               test's own fragments
    bgconf     text of the plugin's config file (bounceguide.conf)
    extra_*    config fragments inserted in main / rcpt ACL / data ACL /
               routers (before the defaults) / transports / retry;
               extra_acls: whole ACLs added to the acl section
    acl_smtp_rcpt  the RCPT ACL's name (default acl_check_rcpt, the
               harness's; a test may name one of its extra_acls that
               runs acl_check_rcpt itself)
    files      {name: text} written into the sandbox dir before start
               ("@@DIR@@" in texts and fragments is the sandbox path)
    peer       an existing Peer to share, else one is started
    env        {NAME: value} added to Exim's environment (add_environment),
               which the plugin sees through getenv()
    """

    def __init__(self, plugin=None, bgconf="", extra_main="", extra_acl_rcpt="",
                 extra_acl_data="", extra_routers="", extra_transports="",
                 extra_retry="", delay_warning="24h", files=None, peer=None,
                 extra_acls="", acl_smtp_rcpt="acl_check_rcpt",
                 users=("alice", "bob", "carol", "postmaster"), name="sb",
                 load_plugin=True, env=None):
        self.plugin_src = plugin
        self.bgconf_text = bgconf
        self.extra = {
            "EXTRA_MAIN": extra_main, "EXTRA_ACL_RCPT": extra_acl_rcpt,
            "EXTRA_ACL_DATA": extra_acl_data, "EXTRA_ROUTERS": extra_routers,
            "EXTRA_TRANSPORTS": extra_transports, "EXTRA_RETRY": extra_retry,
            "EXTRA_ACLS": extra_acls,
        }
        self.acl_smtp_rcpt = acl_smtp_rcpt
        self.delay_warning = delay_warning
        self.files = dict(files or {})
        self.peer = peer
        self._own_peer = peer is None
        self.name = name
        self.users = list(users)
        self.load_plugin = load_plugin
        self.env = dict(env or {})
        self.proc = None
        self.dir = None
        self.port = None
        self.keep = os.environ.get("BG_E2E_KEEP") == "1"

    # ---- set-up and tear-down -------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, et, ev, tb):
        self.stop(failed=et is not None)
        return False

    def _owner(self):
        """uid/gid Exim runs as in the sandbox (it drops root with -C)."""
        if os.getuid() != 0:
            return os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name
        for n in ("Debian-exim", "exim", "mail"):
            try:
                p = pwd.getpwnam(n)
                return p.pw_uid, p.pw_gid, n
            except KeyError:
                continue
        raise RuntimeError("no Exim user found")

    def _sub(self, text):
        return text.replace("@@DIR@@", self.dir)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def start(self):
        base = os.environ.get("BG_E2E_TMP") or None
        self.dir = tempfile.mkdtemp(prefix="bg-e2e-%s-" % self.name, dir=base)
        os.chmod(self.dir, 0o755)
        uid, gid, user = self._owner()
        self.uid, self.gid, self.user = uid, gid, user
        for d in ("spool", "log", "mail", "db"):
            os.mkdir(self.path(d), 0o750)
        if self.plugin_src:
            src = self.plugin_src
            if PLUGIN and os.path.abspath(src) == os.path.join(TOP, "build", "bounceguide.so"):
                src = PLUGIN
            if SAN and os.path.abspath(src) == os.path.join(TOP, "build", "bounceguide.so"):
                src = os.path.join(SAN, "bounceguide.so")
                with open(src, "rb") as f:
                    if b"__asan_init" not in f.read():
                        raise RuntimeError("%s is not built with ASan" % src)
            shutil.copyfile(src, self.path("bounceguide.so"))
            os.chmod(self.path("bounceguide.so"), 0o644)
        self.set_bgconf(self.bgconf_text)
        for n, t in self.files.items():
            self.write_file(n, t)
        for u in self.users:
            os.mkdir(self.path("mail", u.lower()), 0o750)
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), uid, gid)
        os.chown(self.dir, uid, gid)
        if self.peer is None:
            self.peer = Peer().start()
        last = None
        for _ in range(5):
            self.port = free_port()
            self._write_conf()
            try:
                self._start_daemon()
                return self
            except RuntimeError as e:  # the port was taken meanwhile: next one
                last = e
        raise RuntimeError("exim daemon did not start: %s" % last)

    def _write_conf(self):
        with open(os.path.join(HERE, "exim.conf.in")) as f:
            t = f.read()
        ls = ("local_scan_path = %s" % self.path("bounceguide.so")
              if self.plugin_src and self.load_plugin else "")
        vals = {
            "PORT": str(self.port), "PEER_PORT": str(self.peer.port),
            "BGCONF": self.path("bounceguide.conf"), "USER": self.user,
            "LOCAL_SCAN": ls, "DELAY_WARNING": self.delay_warning,
            "ACL_SMTP_RCPT": self.acl_smtp_rcpt,
            "ENV": "".join(":%s=%s" % kv for kv in sorted(self.env.items())),
        }
        vals.update({k: self._sub(v) for k, v in self.extra.items()})
        for k, v in vals.items():
            t = t.replace("@@%s@@" % k, v)
        t = self._sub(t)
        if SAN:
            t = t.replace("keep_environment =\n", "keep_environment = LD_PRELOAD : ASAN_OPTIONS\n"
                          "exim_path = %s\n" % os.path.join(SAN, "exim4"), 1)
            if "\nexim_path = " not in t:
                raise RuntimeError("exim.conf.in: no 'keep_environment =' line for BG_E2E_SAN")
        self.conf = self.path("exim.conf")
        with open(self.conf, "w") as f:
            f.write(t)
        os.chmod(self.conf, 0o644)

    def _start_daemon(self):
        self.proc = subprocess.Popen([EXIM, "-C", self.conf, "-bdf"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                return "dead"
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                    s.settimeout(5)
                    return s.recv(100).startswith(b"220") and "up"
            except OSError:
                return False

        st = wait_for(up, 15, "exim daemon on port %d" % self.port)
        if st == "dead":
            err = self.proc.stderr.read().decode(errors="replace")
            self.proc = None
            raise RuntimeError(err.strip() or "exim exited")

    def drain_stderr(self):
        """Read the daemon's stderr in a thread from now on, keeping its last
        4 KB in stderr_tail. Every exim process the daemon starts inherits
        that pipe and writes the -C privilege notice to it; undrained, the
        pipe is full after about a thousand processes and every later exim
        process blocks. Long runs (tests/soak) call this after start()."""
        import threading
        self.stderr_tail = b""
        pipe = self.proc.stderr

        def run():
            while True:
                try:
                    chunk = pipe.read1(65536)
                except (OSError, ValueError):
                    return
                if not chunk:
                    return
                self.stderr_tail = (self.stderr_tail + chunk)[-4096:]

        threading.Thread(target=run, daemon=True).start()

    def stop(self, failed=False):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            self.proc.stderr.close()
            self.proc = None
        if self._own_peer and self.peer is not None:
            self.peer.stop()
            self.peer = None
        if self.dir and (self.keep or failed):
            print("  (sandbox kept: %s)" % self.dir)
        elif self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- files ------------------------------------------------------------

    def write_file(self, name, text, mode=0o644):
        """Write a file into the sandbox (atomically), readable by Exim."""
        p = self.path(name)
        tmp = p + ".tmp"
        with open(tmp, "w" if isinstance(text, str) else "wb") as f:
            f.write(self._sub(text) if isinstance(text, str) else text)
        os.chmod(tmp, mode)
        if hasattr(self, "uid"):
            os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, p)
        return p

    # Prepended to every bounceguide.conf: keeps the plugin's files inside
    # the sandbox (a test's own lines come later and win).
    BGCONF_DEFAULTS = ("# e2e harness defaults: every file inside the sandbox\n"
                       "suppress_db = @@DIR@@/db/suppression.db\n"
                       # the auth diagnosis reads Debian's update-exim4.conf.conf
                       # from here, not from the system's /etc/exim4
                       "diagnose_exim_dir = @@DIR@@\n")

    def set_bgconf(self, text, defaults=True):
        """Replace the plugin's config file (read again for the next
        bounce). defaults=False writes text alone (e.g. a broken file)."""
        self.bgconf_text = text
        return self.write_file("bounceguide.conf", (self.BGCONF_DEFAULTS if defaults else "") + text)

    def add_user(self, user):
        """Create a local mailbox: user@local.test is deliverable from now on."""
        p = self.path("mail", user.lower())
        if not os.path.isdir(p):
            os.mkdir(p, 0o750)
            os.chown(p, self.uid, self.gid)
        return user.lower() + "@local.test"

    # ---- mail in ----------------------------------------------------------

    def submit(self, mail_from, rcpts, msg, rcpt_options=(), mail_options=()):
        """Send msg (bytes or str) over SMTP to the sandbox. Returns the
        dict of refused recipients (smtplib's)."""
        if isinstance(msg, str):
            msg = msg.encode()
        msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # wire form
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30, local_hostname=CLIENT) as s:
            s.ehlo(CLIENT)
            return s.sendmail(mail_from, rcpts, msg, mail_options=list(mail_options),
                              rcpt_options=list(rcpt_options))

    def submit_bdat(self, mail_from, rcpts, msg):
        """Send msg with ESMTP CHUNKING (one BDAT LAST chunk), the way that
        makes Exim use a wire-format spool file when spool_wireformat is
        set. Raises on any non-2xx reply."""
        if isinstance(msg, str):
            msg = msg.encode()
        msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30, local_hostname=CLIENT) as s:
            s.ehlo(CLIENT)
            if not s.has_extn("chunking"):
                raise RuntimeError("CHUNKING not advertised")
            for cmd in (lambda: s.mail(mail_from), ) + tuple(
                    (lambda r=r: s.rcpt(r)) for r in rcpts):
                code, resp = cmd()
                if code // 100 != 2:
                    raise RuntimeError("refused: %d %s" % (code, resp))
            s.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
            code, resp = s.getreply()
            if code // 100 != 2:
                raise RuntimeError("BDAT refused: %d %s" % (code, resp))
            return resp.decode(errors="replace")

    def exim(self, *args, timeout=60, input=None):
        """Run exim with the sandbox config; returns CompletedProcess."""
        return subprocess.run([EXIM, "-C", self.conf] + list(args), input=input,
                              capture_output=True, timeout=timeout)

    def run_queue(self):
        """One forced queue run (-qff), waited for."""
        return self.exim("-qff")

    def queue_ids(self):
        d = self.path("spool", "input")
        try:
            return sorted(n[:-2] for n in os.listdir(d) if n.endswith("-H"))
        except FileNotFoundError:
            return []

    def wait_queue_empty(self, timeout=20):
        wait_for(lambda: not self.queue_ids(), timeout, "empty queue")

    def remove_queued(self, ids=None, timeout=10):
        """Remove messages from the queue (default: all). A message that a
        delivery process holds locked at that moment is not removed
        ("Spool file ... is locked"); such ones are tried again until gone
        or timeout (seen on a loaded machine: a deferred message left
        behind, retried and failing a later case's empty-queue wait)."""
        ids = ids if ids is not None else self.queue_ids()
        end = time.monotonic() + timeout
        while ids:
            self.exim("-Mrm", *ids)
            queued = set(self.queue_ids())
            ids = [i for i in ids if i in queued]
            if not ids or time.monotonic() >= end:
                return
            time.sleep(0.1)

    # ---- mail out ---------------------------------------------------------

    def mailbox(self, user):
        """Messages delivered to user@local.test, oldest first: list of bytes."""
        d = self.path("mail", user.lower(), "new")
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return []
        paths = sorted((os.path.join(d, n) for n in names), key=lambda p: (os.stat(p).st_mtime_ns, p))
        out = []
        for p in paths:
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def wait_mail(self, user, n=1, timeout=20):
        """Wait until user's maildir holds at least n messages; return them."""
        wait_for(lambda: len(self.mailbox(user)) >= n, timeout,
                 "%d message(s) for %s" % (n, user))
        return self.mailbox(user)

    # ---- logs -------------------------------------------------------------

    def log(self, which="main"):
        try:
            with open(self.path("log", which + "log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_mark(self, which="main"):
        """A position in a log, for log_since()."""
        return len(self.log(which))

    def log_since(self, mark, which="main"):
        return self.log(which)[mark:]

    def panic_lines(self):
        """Panic log lines other than the expected -C privilege notice."""
        return [l for l in self.log("panic").splitlines() if l.strip() and PRIV_LINE not in l]

    def wait_log(self, needle, mark=0, timeout=20, which="main"):
        """Wait until needle appears in the log after mark; returns the text."""
        return wait_for(lambda: needle in self.log_since(mark, which) and self.log_since(mark, which),
                        timeout, "%r in %slog" % (needle, which))
