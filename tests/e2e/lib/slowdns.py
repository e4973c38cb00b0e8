"""A tiny authoritative DNS server on a loopback UDP port, for the fault
cases of the auth diagnosis (tests/e2e/test_fault_matrix.py): it answers
from a small zone after a fixed delay per query, or never (delay=None: a
resolver that swallows queries). Each query is answered from its own timer,
so a slow answer does not hold the next query up. Plain sockets, no
dependency beyond Python 3.

    dns = SlowDNS(ZONE, delay=0.4).start()
    ... diagnose_dns_servers = 127.0.0.1:%d  (dns.port)
    dns.stop()
"""

import socket
import struct
import threading

A, PTR, TXT = 1, 12, 16
MX = 15  # value: (preference, host) or a host (preference 10)

# The sandbox's world (tests/e2e/lib/exim.conf.in): sending domain
# local.test, HELO name sandbox.test, sending IP 192.0.2.10 (config
# sending_ip). SPF of local.test does not authorise that IP; DMARC reject.
SEND_IP = "192.0.2.10"
ZONE = {
    ("local.test", TXT): ["v=spf1 include:_spf.relay.test -all"],
    ("_spf.relay.test", TXT): ["v=spf1 ip4:198.51.100.0/24 -all"],
    ("_dmarc.local.test", TXT): ["v=DMARC1; p=reject; aspf=s"],
    ("sandbox.test", TXT): ["v=spf1 a -all"],
    ("sandbox.test", A): [SEND_IP],
    ("mail.local.test", A): [SEND_IP],
    ("10.2.0.192.in-addr.arpa", PTR): ["mail.local.test"],
}


def _name(labels):
    return b"".join(bytes([len(l)]) + l.encode() for l in labels.split(".") if l) + b"\0"


def _rdata(qtype, value):
    if qtype == A:
        return socket.inet_aton(value)
    if qtype == PTR:
        return _name(value)
    if qtype == MX:
        pref, host = value if isinstance(value, tuple) else (10, value)
        return struct.pack(">H", pref) + _name(host)
    if qtype == TXT:
        raw = value.encode()
        return b"".join(bytes([len(raw[i:i + 255])]) + raw[i:i + 255]
                        for i in range(0, max(len(raw), 1), 255))
    raise ValueError(qtype)


def _parse_question(q):
    """(id, flags, qname lower case, qtype, end offset of the question)."""
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    if qd != 1:
        raise ValueError("qdcount %d" % qd)
    i, labels = 12, []
    while True:
        n = q[i]
        i += 1
        if n == 0:
            break
        labels.append(q[i:i + n].decode("latin-1"))
        i += n
    qtype, _ = struct.unpack(">HH", q[i:i + 4])
    return qid, flags, ".".join(labels).lower(), qtype, i + 4


def answer(q, zone):
    """The reply to query bytes q from zone ({(name, type): [values]})."""
    qid, flags, name, qtype, end = _parse_question(q)
    rd = flags & 0x0100
    vals = zone.get((name, qtype), [])
    exists = any(n == name for (n, _) in zone)
    rcode = 0 if exists else 3
    head = struct.pack(">HHHHHH", qid, 0x8400 | rd | 0x0080 | rcode, 1, len(vals), 0, 0)
    out = head + q[12:end]
    for v in vals:
        rdata = _rdata(qtype, v)
        out += struct.pack(">HHHIH", 0xC00C, qtype, 1, 300, len(rdata)) + rdata
    return out


class SlowDNS:
    """UDP DNS server on 127.0.0.1 (port chosen by the kernel). delay: seconds
    before each answer, None = never answer. queries counts what came in."""

    def __init__(self, zone=None, delay=0.0):
        self.zone = dict(ZONE if zone is None else zone)
        self.delay = delay
        self.queries = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = False
        self._timers = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def server(self):
        """The value for diagnose_dns_servers."""
        return "127.0.0.1:%d" % self.port

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        for t in self._timers:
            t.cancel()
        try:
            self._sock.close()
        except OSError:
            pass
        self._thread.join(5)

    def _reply(self, data, addr):
        try:
            self._sock.sendto(answer(data, self.zone), addr)
        except (OSError, ValueError, IndexError, struct.error):
            pass

    def _serve(self):
        self._sock.settimeout(0.2)
        while not self._stop:
            try:
                data, addr = self._sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.queries += 1
            if self.delay is None:
                continue
            t = threading.Timer(self.delay, self._reply, (data, addr))
            t.daemon = True
            self._timers = [x for x in self._timers if x.is_alive()] + [t]
            t.start()


def closed_udp_port():
    """A loopback UDP port nobody listens on (queries get ICMP unreachable)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
