"""Authentication-diagnosis end-to-end world (tests/e2e/test_auth.py).

A network namespace (`ip netns add`) with loopback up and 192.0.2.10 on it,
/etc/netns/NAME/resolv.conf naming 127.0.0.1, and nsd (Debian's
authoritative server) on 127.0.0.1:53 inside it serving the test zones. A
case runs this file as a child inside the namespace (`ip netns exec`, which
also bind-mounts that resolv.conf over /etc/resolv.conf): it starts its
own Sandbox (Exim + peer) there, Exim sends from 192.0.2.10, the peer
rejects with 550 5.7.26, and the child writes the delivered bounce and the
plugin's log lines to a result file. The plugin thus resolves through the
real path: /etc/resolv.conf -> our UDP client -> nsd.

AuthWorld has the start()/stop() of a Sandbox so tests/e2e/run.py can use
it as a module's sandbox. Needs root (namespaces, port 53) and nsd.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SEND_IP = "192.0.2.10"
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
IP = shutil.which("ip") or "/usr/sbin/ip"

ZONES = {
    # our sending domain: SPF includes a relay that does not list SEND_IP;
    # DMARC reject with strict SPF alignment
    "local.test": """
@       IN TXT "v=spf1 include:_spf.relay.test -all"
_dmarc  IN TXT "v=DMARC1; p=reject; aspf=s; rua=mailto:dmarc@local.test"
mail    IN A   %(ip)s
""",
    "relay.test": """
_spf    IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
""",
    # the HELO name (Exim's primary_hostname in the sandbox)
    "sandbox.test": """
@       IN TXT "v=spf1 a -all"
@       IN A   %(ip)s
""",
    # not ours: published, but the plugin must never ask for it
    "stranger.test": """
@       IN TXT "v=spf1 -all"
_dmarc  IN TXT "v=DMARC1; p=reject"
""",
    "2.0.192.in-addr.arpa": """
10      IN PTR mail.local.test.
""",
}

ZONE_HEAD = """$ORIGIN %(zone)s.
$TTL 300
@       IN SOA ns.local.test. hostmaster.local.test. 1 3600 600 86400 60
@       IN NS  ns.local.test.
"""

NSD_CONF = """server:
    ip-address: 127.0.0.1
    port: 53
    zonesdir: "%(dir)s"
    pidfile: "%(dir)s/nsd.pid"
    xfrdfile: "%(dir)s/xfrd.state"
    zonelistfile: "%(dir)s/zone.list"
    logfile: "%(dir)s/nsd.log"
    username: ""
    chroot: ""
    database: ""
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
"""


def _run(*cmd, check=True):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=30)


class AuthWorld:
    """The namespace, its resolv.conf and nsd; cases run inside it."""

    def __init__(self):
        self.ns = "bgauth%d" % os.getpid()
        self.dir = None
        self.nsd = None
        self.etc = os.path.join("/etc/netns", self.ns)

    # -- the run.py sandbox protocol ---------------------------------------
    def start(self):
        if os.getuid() != 0:
            raise RuntimeError("needs root (network namespace, port 53)")
        if not os.path.exists(NSD):
            raise RuntimeError("nsd not installed (tools/deps.sh)")
        self.dir = tempfile.mkdtemp(prefix="bg-e2e-auth-")
        os.chmod(self.dir, 0o755)
        _run(IP, "netns", "add", self.ns)
        _run(IP, "-n", self.ns, "link", "set", "lo", "up")
        _run(IP, "-n", self.ns, "addr", "add", SEND_IP + "/32", "dev", "lo")
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:5 attempts:2\n")
        self._write_zones()
        self.start_nsd()
        return self

    def stop(self, failed=False):
        self.stop_nsd()
        _run(IP, "netns", "del", self.ns, check=False)
        shutil.rmtree(self.etc, ignore_errors=True)
        try:
            os.rmdir(os.path.dirname(self.etc))  # /etc/netns, when we left it empty
        except OSError:
            pass
        if self.dir and not failed and os.environ.get("BG_E2E_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.dir:
            print("   (auth world kept in %s)" % self.dir)

    # -- nsd ----------------------------------------------------------------
    def _write_zones(self):
        conf = NSD_CONF % {"dir": self.dir}
        for zone, body in ZONES.items():
            with open(os.path.join(self.dir, zone + ".zone"), "w") as f:
                f.write(ZONE_HEAD % {"zone": zone} + body % {"ip": SEND_IP})
            conf += "zone:\n    name: %s\n    zonefile: %s.zone\n" % (zone, zone)
        with open(os.path.join(self.dir, "nsd.conf"), "w") as f:
            f.write(conf)
        r = _run("nsd-checkconf", os.path.join(self.dir, "nsd.conf"), check=False)
        if r.returncode != 0:
            raise RuntimeError("nsd.conf: " + r.stderr.strip())

    def start_nsd(self):
        if self.nsd is not None:
            return
        self.nsd = subprocess.Popen([IP, "netns", "exec", self.ns, NSD, "-d", "-c",
                                     os.path.join(self.dir, "nsd.conf")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.nsd.poll() is not None:
                raise RuntimeError("nsd exited: " + self.nsd.stderr.read().decode())
            r = self.in_ns("python3", "-c", _DIG, "local.test", check=False)
            if r.returncode == 0 and "v=spf1" in r.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError("nsd did not answer within 10 s")

    def stop_nsd(self):
        if self.nsd is None:
            return
        self.nsd.terminate()
        try:
            self.nsd.wait(10)
        except subprocess.TimeoutExpired:
            self.nsd.kill()
            self.nsd.wait()
        self.nsd = None

    def start_silent_dns(self):
        """Instead of nsd: a socket on 127.0.0.1:53 that reads queries and
        never answers (a hung or black-holed resolver). Returns the process."""
        self.stop_nsd()
        p = subprocess.Popen([IP, "netns", "exec", self.ns, sys.executable, "-c",
                              "import socket, sys, time\n"
                              "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                              "s.bind(('127.0.0.1', 53)); print('up', flush=True)\n"
                              "while True: s.recv(4096)\n"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if p.stdout.readline().strip() != "up":
            p.kill()
            p.wait()
            raise RuntimeError("silent DNS socket did not start")
        return p

    # -- cases ----------------------------------------------------------------
    def in_ns(self, *cmd, check=True, timeout=120):
        return subprocess.run([IP, "netns", "exec", self.ns] + list(cmd), check=check,
                              capture_output=True, text=True, timeout=timeout)

    def run_case(self, name, bgconf):
        """Run one case in the namespace; returns its result dict."""
        out = os.path.join(self.dir, name + ".json")
        r = self.in_ns(sys.executable, os.path.abspath(__file__), "case", name, out, bgconf,
                       check=False)
        if r.returncode != 0 or not os.path.exists(out):
            raise AssertionError("case %s failed in the namespace:\n%s\n%s" %
                                 (name, r.stdout[-3000:], r.stderr[-3000:]))
        with open(out) as f:
            return json.load(f)


# A TXT query through the stub resolver as configured in the namespace
# (only to see that nsd is up; the plugin uses its own client).
_DIG = r"""
import socket, struct, sys, random
name = sys.argv[1]
q = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 16, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
ns = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
s.sendto(q, (ns, 53)); r = s.recv(4096)
sys.stdout.write(r.decode("latin-1"))
"""


def _case(name, out, bgconf):
    """Inside the namespace: one Exim sandbox, one message to a peer that
    rejects it for DMARC; record the bounce and the plugin's log lines."""
    sys.path.insert(0, HERE)
    import mail  # noqa: E402
    from peer import Peer  # noqa: E402
    from sandbox import Sandbox, TOP  # noqa: E402

    peer = Peer().start()
    routers = """
auth_peer:
  driver = manualroute
  domains = auth-remote.test
  route_list = * 127.0.0.1
  self = send
  transport = auth_smtp
"""
    transports = """
auth_smtp:
  driver = smtp
  port = %d
  interface = %s
  allow_localhost
  hosts_avoid_esmtp =
""" % (peer.port, SEND_IP)
    sb = Sandbox(plugin=os.path.join(TOP, "build", "bounceguide.so"), bgconf=bgconf,
                 extra_routers=routers, extra_transports=transports, peer=peer,
                 name="auth-" + name)
    result = {"case": name}
    sb.start()
    failed = True
    try:
        user = sb.add_user("auth" + name)
        rcpt = "x-%s@auth-remote.test" % name
        peer.set_rule(rcpt, rcpt="550-5.7.26 This mail has been blocked because the sender is\n"
                                 "550 5.7.26 unauthenticated. DMARC policy of local.test says reject.")
        # case "stranger": the From: header names a domain that is not ours
        frm = "Mallory <m@stranger.test>" if name == "stranger" else user
        msg = mail.make_message(frm, rcpt, "auth e2e " + name)
        mark = sb.log_mark()
        t0 = time.monotonic()
        sb.submit(user, [rcpt], msg)
        bounce = sb.wait_mail("auth" + name, 1, timeout=30)[0]
        result["seconds"] = time.monotonic() - t0
        parsed = mail.parse(bounce)
        result["text"] = mail.text_of(parsed) or ""
        result["html"] = mail.text_of(parsed, "text/html") or ""
        result["bounce"] = bounce.decode("utf-8", "replace")
        result["log"] = sb.log_since(mark)
        result["panic"] = sb.panic_lines()
        failed = False
    finally:
        sb.stop(failed=failed)
        peer.stop()
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "case":
        _case(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: auth_helpers.py case NAME OUT.json BGCONF")
