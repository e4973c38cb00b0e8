"""Authentication-diagnosis end-to-end world (tests/e2e/test_auth.py).

A network namespace (`ip netns add`) with loopback up and 192.0.2.10 and
203.0.113.25 on it, /etc/netns/NAME/resolv.conf naming 127.0.0.1, and nsd
(Debian's authoritative server) on 127.0.0.1:53 inside it serving the test
zones. A case runs this file as a child inside the namespace (`ip netns
exec`, which also bind-mounts that resolv.conf over /etc/resolv.conf) and
writes the delivered bounce and the plugin's log lines to a result file.
The plugin thus resolves through the real path: /etc/resolv.conf -> our
UDP client -> nsd. Two topologies:

- direct: one Sandbox (Exim + peer); Exim sends from 192.0.2.10 and the
  peer rejects with 550 5.7.26; Exim's own bounce is rewritten.
- satellite: a private Exim (the plugin loaded, the shipped event_action
  on its remote_smtp_smarthost transport) sends everything to a second,
  plain Exim on loopback -- the smarthost -- which sends from 203.0.113.25
  to the peer; the peer rejects, the smarthost's bounce comes back to the
  satellite and is rewritten there. The satellite learns its topology
  from an update-exim4.conf.conf in its sandbox (diagnose_exim_dir).

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
SMARTHOST_OUT_IP = "203.0.113.25"  # the address the smarthost sends from
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
IP = shutil.which("ip") or "/usr/sbin/ip"

# A DKIM signing key made for these tests (openssl genrsa 2048; test-only)
# and the base64 SubjectPublicKeyInfo of its public half; a 512-bit public
# key for the "short key" record.
DKIM_PRIVATE_KEY = """-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEA4buiKSblqgys6Vy8RxnQ537hTTJGZBCIhFdpeWmhA3c8PJx0
V/OCRb9ZGdIbZRljlGcZ2oj3x2cJZOaCZBk+oTttwqL8p6vd7MdkUQicZUlkimAM
IdVM384wwQ6E1xtxobQHeC6vp0g61ZihYn9000Y+1z2VMvKaL881OFnMrOS26OAP
c5rloXyvIclo7v3zaDfXLU0+84ktTx3YeAip/ei0f8wCCv5MhZm8CnfZi6xQMpGN
YkICg/5kx1JY/BfGpEfXeWDuUoYqrYQdeF3SM4d4qfQjs977iyOjyKyfHMaBeUmN
YPaX9cznR9Vh91O/jjOywMXTlkCbQr3NoD4sCwIDAQABAoIBAA3Qk2XhrQg2sAsK
HgsF6pyNoyaRJJtcIwFibiCRlS/mnLJNlZXftRclVO55HCxtnNleDp2AE2tJ2YUq
JvcO+nUYnijdcQlRQeA1+w7ghYhyBkFXtnZdnPpMyVFksj7jPZWQCdhSQcrC52Lf
bUUKGDFpPlBNmF4erc6uPOC+0iwPJ9KqwQ4gVfEzeh+ZvPpEPtFGSrEO10igcmeu
//9v7W+JUIHm0zDFNgirhjwO3/hhDAdBrxddggzOMHTF3blHJNkqSagI2JOKdKwB
uGtspZug5UTWnUHaRnVXTfsR95Hvt4N+IGPDfvvxe2BF5BcP4iGl8+BenXQ8rfqf
vj2K9a0CgYEA/KggWDAqmfOf1UvcoN+iu9OqX1TEIhaviqFmDrfs0NgjBmILNUaC
0d/Q6eYYAqu3pA8z8WPL3ijFrN54GczxmdoBSjgFGL3mUpwkq5X4o4dKGMNGeqAm
3HYrpEAnh8Wy7UCY9nSUaK0f99hGzbL+RxfOvRQao6pgucDjpaKPuE0CgYEA5LhN
hoy4G3955e0KB9Voh8RlC+RPQ3gziLFPFuD+wwXqyD1Y/WMWolLhQxmnsj4864U4
ayGU07ZG5zqrQnZK/AnT/lNmfzrL2ZH4WPNbvpXePHZL/7QE3UTKV1tVZ0IEOJsB
rcUVfcCpfVFe9lRmExTqEc/0e44q8vdCNrd9obcCgYBuLlOModSyNpApUF/yuBQb
nP7be/fcddAvwJrlKEhZ+yerDO6eWRWLuPM+TV2DLKd1IDwitMafJ2CtNodhmQJz
eaK+Xxe55nae6AEF4uz/Q2yIx//gUh8gXVhC1MdoakrRNC6Aq+5ch8M9LlASPFCv
aC58Plwvq4lq+DdOcEoEsQKBgQCXch4LYLQrqQ4LHBjPNRUBCR8rb6K4dygQc+99
o7+tXQaoTk7VgT4kf6Ke7qbm1GU8QjsoXNUSFpj+VQ+/c1qVZuCTf5/X0RPX3drG
82UlXlEIUgBisU2jQgCFNXnoZIMtBB5pdJ2VZfQUgcPScfIg4nFXGA63nVx9AxI5
7ufmIwKBgQDCSlMSxR6Q9tuij+5ETRNGiY3CNsOj3J8WQ5QEVfJKB1VYQn/1Z/3j
9uKB48JRSZhb7wVMcqfE7c5P4AqkOeio0dkqT0lopF+o+3P2BylrTiwFiFCO/hM4
OfRGPx5hfQQGKR90HJGpdHrn1TgVF78HeSQOUHau/x42j7+Bi3R6PA==
-----END RSA PRIVATE KEY-----
"""
DKIM_PUBLIC = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA4buiKSblqgys6Vy8RxnQ537hTTJGZBCIhFdpeWmhA3c8PJx0V/OCRb9ZGdIbZRljlGcZ2oj3x2cJZOaCZBk+oTttwqL8p6vd7MdkUQicZUlkimAMIdVM384wwQ6E1xtxobQHeC6vp0g61ZihYn9000Y+1z2VMvKaL881OFnMrOS26OAPc5rloXyvIclo7v3zaDfXLU0+84ktTx3YeAip/ei0f8wCCv5MhZm8CnfZi6xQMpGNYkICg/5kx1JY/BfGpEfXeWDuUoYqrYQdeF3SM4d4qfQjs977iyOjyKyfHMaBeUmNYPaX9cznR9Vh91O/jjOywMXTlkCbQr3NoD4sCwIDAQAB"
DKIM_PUBLIC_512 = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJ8ZUFWA+K6z2YuqhnnX3Hfvf6MAbAOA0Mkm9YsZDkNbtECx+kmN56onHfARN5T1fcbFQDsxBec3dyro9Gj73P0CAwEAAQ=="


def _txt(text):
    """A TXT record's data as nsd wants it: strings of at most 255 bytes."""
    return " ".join('"%s"' % text[i:i + 200] for i in range(0, len(text), 200))


ZONES = {
    # our sending domain: SPF includes a relay that lists neither SEND_IP
    # nor the smarthost's address; DMARC reject with strict SPF alignment;
    # DKIM selectors: good (2048 bits), short (512), broken (not base64);
    # "missing" has no record
    "local.test": """
@       IN TXT "v=spf1 include:_spf.relay.test -all"
_dmarc  IN TXT "v=DMARC1; p=reject; aspf=s; rua=mailto:dmarc@local.test"
mail    IN A   %(ip)s
good._domainkey  IN TXT %(good)s
short._domainkey IN TXT %(short)s
broken._domainkey IN TXT "v=DKIM1; k=rsa; p=@@not-base64@@"
""",
    "relay.test": """
_spf    IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
out     IN A   %(out_ip)s
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
    # a second domain of ours that signs (d= not aligned with local.test)
    "othersign.test": """
s1._domainkey IN TXT %(good)s
""",
    "2.0.192.in-addr.arpa": """
10      IN PTR mail.local.test.
""",
    "113.0.203.in-addr.arpa": """
25      IN PTR out.relay.test.
""",
}

ZONE_VALUES = {
    "ip": SEND_IP, "out_ip": SMARTHOST_OUT_IP,
    "good": _txt("v=DKIM1; k=rsa; p=" + DKIM_PUBLIC),
    "short": _txt("v=DKIM1; k=rsa; p=" + DKIM_PUBLIC_512),
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
        _run(IP, "-n", self.ns, "addr", "add", SMARTHOST_OUT_IP + "/32", "dev", "lo")
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
                f.write(ZONE_HEAD % {"zone": zone} + body % ZONE_VALUES)
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

    def run_case(self, name, bgconf, **spec):
        """Run one case in the namespace; returns its result dict. spec:
        topology ("direct" or "satellite"), from_ (From: header), reply
        (the peer's RCPT reply), dkim ({domain, selector} the sending
        transport signs with), forge (instead of sending: an inbound bounce
        about a message we never sent, naming this address), files ({name: text} for the sandbox of the
        plugin, "@@DIR@@" expanded; "@@SMARTHOST_PORT@@" too)."""
        out = os.path.join(self.dir, name + ".json")
        r = self.in_ns(sys.executable, os.path.abspath(__file__), "case", name, out, bgconf,
                       json.dumps(spec), check=False)
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


DEFAULT_REPLY = ("550-5.7.26 This mail has been blocked because the sender is\n"
                 "550 5.7.26 unauthenticated. DMARC policy of local.test says reject.")


def _dkim_options(spec):
    """Transport lines that make Exim sign (the key file is in the sandbox)."""
    d = spec.get("dkim")
    if not d:
        return ""
    return ("  dkim_domain = %s\n  dkim_selector = %s\n"
            "  dkim_private_key = @@DIR@@/dkim.key\n" % (d["domain"], d["selector"]))


def _record(sb, peer, name, out, t0, frm_user):
    """Wait for the bounce in the user's maildir; write the result file."""
    bounce = sb.wait_mail(frm_user, 1, timeout=30)[0]
    import mail  # noqa: E402
    parsed = mail.parse(bounce)
    orig = mail.raw_original(bounce) or b""
    return {
        "case": name,
        "seconds": time.monotonic() - t0,
        "text": mail.text_of(parsed) or "",
        "html": mail.text_of(parsed, "text/html") or "",
        "bounce": bounce.decode("utf-8", "replace"),
        "original_signed": b"DKIM-Signature:" in orig or b"dkim-signature:" in orig.lower(),
    }


FORGED_DSN = """From: Mail Delivery System <mailer-daemon@mx.stranger.test>
To: %(user)s
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BND"

--BND
Content-Type: text/plain

Your message could not be delivered.

--BND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.stranger.test

Final-Recipient: rfc822; x-forged@auth-remote.test
Action: failed
Status: 5.7.26
Remote-MTA: dns; mx.stranger.test
Diagnostic-Code: smtp; 550 5.7.26 unauthenticated: SPF [local.test] with ip: [%(ip)s] = did not pass

--BND
Content-Type: message/rfc822

From: %(user)s
To: x-forged@auth-remote.test
Subject: never sent by us
Message-ID: <forged-1@stranger.test>

hello

--BND--
"""


def _case(name, out, bgconf, spec):
    """Inside the namespace: the sandbox(es) of one case, one message to a
    peer that rejects it for DMARC; record the bounce and the log lines."""
    sys.path.insert(0, HERE)
    import mail  # noqa: E402
    from peer import Peer  # noqa: E402
    from sandbox import Sandbox, TOP  # noqa: E402

    satellite = spec.get("topology") == "satellite"
    reply = spec.get("reply") or DEFAULT_REPLY
    rcpt = "x-%s@auth-remote.test" % name
    peer = Peer().start()
    peer.set_rule(rcpt, rcpt=reply)
    smarthost = None
    files = dict(spec.get("files") or {})
    if spec.get("dkim"):
        files["dkim.key"] = DKIM_PRIVATE_KEY
    if satellite:
        # the smarthost: a plain Exim that relays for loopback, sends to the
        # peer from its own address and returns bounces for local.test to
        # the satellite (whose port it reads when it needs it)
        smarthost = Sandbox(plugin=None, peer=peer, name="auth-sh-" + name, extra_routers="""
sh_back:
  driver = manualroute
  domains = local.test
  route_list = * 127.0.0.1
  self = send
  transport = sh_back_smtp
sh_out:
  driver = manualroute
  domains = auth-remote.test
  route_list = * 127.0.0.1
  self = send
  transport = sh_out_smtp
""", extra_transports="""
sh_back_smtp:
  driver = smtp
  port = ${readfile{@@DIR@@/satellite.port}{}}
  allow_localhost
  hosts_avoid_esmtp =
sh_out_smtp:
  driver = smtp
  port = %d
  interface = %s
  allow_localhost
  hosts_avoid_esmtp =
""" % (peer.port, SMARTHOST_OUT_IP))
        smarthost.start()
        main = ("BOUNCEGUIDE_SO = @@DIR@@/bounceguide.so\n" +
                open(os.path.join(TOP, "conf", "exim", "suppress-macros")).read())
        routers = """
smarthost:
  driver = manualroute
  domains = ! +local_domains
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp_smarthost
"""
        transports = """
remote_smtp_smarthost:
  driver = smtp
  port = %d
  helo_data = vm
  allow_localhost
  hosts_avoid_esmtp =
  event_action = BOUNCEGUIDE_EVENT_ACTION
%s""" % (smarthost.port, _dkim_options(spec))
        files = {k: v.replace("@@SMARTHOST_PORT@@", str(smarthost.port)) for k, v in files.items()}
    else:
        main = ""
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
%s""" % (peer.port, SEND_IP, _dkim_options(spec))
    sb = Sandbox(plugin=os.path.join(TOP, "build", "bounceguide.so"), bgconf=bgconf,
                 extra_main=main, extra_routers=routers, extra_transports=transports,
                 peer=peer, files=files, name="auth-" + name)
    result = {"case": name}
    sb.start()
    failed = True
    try:
        if smarthost:
            smarthost.write_file("satellite.port", str(sb.port))
        user = sb.add_user("auth" + name)
        frm = spec.get("from_") or user
        mark = sb.log_mark()
        t0 = time.monotonic()
        if spec.get("forge"):
            # a bounce from outside about a message we never sent
            sb.submit("", [user], FORGED_DSN % {"user": user, "ip": spec["forge"]})
        else:
            sb.submit(user, [rcpt], mail.make_message(frm, rcpt, "auth e2e " + name))
        result.update(_record(sb, peer, name, out, t0, "auth" + name))
        result["log"] = sb.log_since(mark)
        result["panic"] = sb.panic_lines()
        failed = False
    finally:
        sb.stop(failed=failed)
        if smarthost:
            smarthost.stop(failed=failed)
        peer.stop()
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "case":
        _case(sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5]))
    else:
        sys.exit("usage: auth_helpers.py case NAME OUT.json BGCONF SPEC.json")
