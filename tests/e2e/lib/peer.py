"""A scripted remote SMTP server for the end-to-end tests.

Exim's remote deliveries are routed to this peer on a loopback port. It
answers each recipient with a reply chosen by the test (at RCPT and after
DATA), so every failure mode of a real remote server can be produced on
demand, and it keeps what it accepted. Plain sockets and threads: no
dependency beyond Python 3.
"""

import socket
import threading
import time


def _lines(reply):
    """A reply "550 5.1.1 text" or a multi-line one ("550-a\\n550 b", or the
    lines without codes) as the wire lines, CRLF ended."""
    parts = reply.split("\n")
    if len(parts) == 1:
        return (reply + "\r\n").encode()
    code = parts[0][:3]
    out = []
    for i, p in enumerate(parts):
        text = p[4:] if p[:3] == code and len(p) > 3 and p[3] in " -" else p
        sep = " " if i == len(parts) - 1 else "-"
        out.append("%s%s%s\r\n" % (code, sep, text))
    return "".join(out).encode()


class Peer:
    """SMTP peer on 127.0.0.1. rules maps a recipient address (lower case,
    exact) or "@domain" to a dict with optional keys:
      rcpt: reply to RCPT TO (default "250 2.1.5 OK")
      data: reply after DATA when this recipient was accepted
            (the first accepted recipient with a data rule decides;
            default "250 2.0.0 queued")
    set_rule() may be called while running. received holds
    (mail_from, [rcpts], data_bytes) for every accepted message."""

    def __init__(self, port=0, rules=None, banner="220 peer.test ESMTP scripted", host="127.0.0.1"):
        self.rules = dict(rules or {})
        self.banner = banner
        self.received = []
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))  # another loopback address: a "remote" smarthost
        self.host = host
        self._sock.listen(32)
        self.port = self._sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def set_rule(self, addr, rcpt=None, data=None):
        r = {}
        if rcpt is not None:
            r["rcpt"] = rcpt
        if data is not None:
            r["data"] = data
        with self._lock:
            self.rules[addr.lower()] = r

    def _rule(self, addr):
        a = addr.lower()
        with self._lock:
            if a in self.rules:
                return self.rules[a]
            dom = "@" + a.rsplit("@", 1)[-1]
            return self.rules.get(dom, {})

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        try:
            self._sock.close()
        except OSError:
            pass
        self._thread.join(5)

    def _serve(self):
        self._sock.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._session, args=(c,), daemon=True).start()

    def _session(self, c):
        c.settimeout(30)
        f = c.makefile("rb")
        try:
            c.sendall((self.banner + "\r\n").encode())
            mail_from, rcpts = None, []
            while True:
                line = f.readline(4096)
                if not line:
                    return
                cmd = line.decode("latin-1").rstrip("\r\n")
                verb = cmd[:4].upper()
                if verb in ("EHLO", "HELO"):
                    c.sendall(b"250-peer.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
                              if verb == "EHLO" else b"250 peer.test\r\n")
                elif verb == "MAIL":
                    mail_from, rcpts = _addr(cmd), []
                    c.sendall(b"250 2.1.0 OK\r\n")
                elif verb == "RCPT":
                    a = _addr(cmd)
                    reply = self._rule(a).get("rcpt", "250 2.1.5 OK")
                    if reply.startswith("2"):
                        rcpts.append(a)
                    c.sendall(_lines(reply))
                elif verb == "DATA":
                    if not rcpts:
                        c.sendall(b"503 5.5.1 no valid recipients\r\n")
                        continue
                    c.sendall(b"354 go ahead\r\n")
                    data = bytearray()
                    while True:
                        dl = f.readline(1 << 20)
                        if not dl:
                            return
                        if dl == b".\r\n":
                            break
                        if dl.startswith(b".."):
                            dl = dl[1:]
                        data += dl
                    reply = "250 2.0.0 queued"
                    for a in rcpts:
                        r = self._rule(a)
                        if "data" in r:
                            reply = r["data"]
                            break
                    if reply.startswith("2"):
                        with self._lock:
                            self.received.append((mail_from, list(rcpts), bytes(data)))
                    c.sendall(_lines(reply))
                    mail_from, rcpts = None, []
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    c.sendall(b"250 2.0.0 OK\r\n")
                elif verb == "NOOP":
                    c.sendall(b"250 2.0.0 OK\r\n")
                elif verb == "QUIT":
                    c.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    c.sendall(b"502 5.5.2 not implemented\r\n")
        except OSError:
            pass
        finally:
            try:
                f.close()
                c.close()
            except OSError:
                pass

    def wait_received(self, n, timeout=20):
        """Wait until n messages were accepted; returns the list."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if len(self.received) >= n:
                    return list(self.received)
            time.sleep(0.02)
        raise TimeoutError("peer: %d of %d messages after %ss" % (len(self.received), n, timeout))


def _addr(cmd):
    """The address between < and > of a MAIL/RCPT command."""
    a = cmd.find("<")
    b = cmd.find(">", a + 1)
    if a < 0 or b < 0:
        return cmd.split(":", 1)[-1].strip().split(" ")[0]
    return cmd[a + 1:b]
