"""The scripted remote peer (tests/e2e/lib/peer.py) as a process for
tests/pkg/deb-install.sh: listens on ADDR (default 127.0.0.2; a free port,
written to PORTFILE), answers RCPT for any address at remote.test with 550 5.1.1 and
accepts everything else; logs each connection and recipient to LOGFILE.
Exits by itself after LIFETIME seconds so a broken test never leaves it.

    python3 peer-run.py PORTFILE LOGFILE [LIFETIME] [ADDR]

Why 127.0.0.2 and not 127.0.0.1: Debian's smarthost router (manualroute,
self = freeze) freezes a message whose smarthost is an address Exim itself
listens on ("remote host address is the local host"), whatever the port.
127.0.0.2 is still loopback (Linux routes 127/8 to lo), so nothing leaves
the machine.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "lib"))
from peer import Peer  # noqa: E402


def main():
    portfile, logfile = sys.argv[1], sys.argv[2]
    lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 300
    addr = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.2"
    peer = Peer(rules={"@remote.test": {
        "rcpt": "550 5.1.1 <gone@remote.test>: Recipient address rejected: User unknown"}})
    if addr != "127.0.0.1":  # Peer binds 127.0.0.1: rebind its listening socket
        peer._sock.close()
        peer._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        peer._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        peer._sock.bind((addr, 0))
        peer._sock.listen(32)
        peer.port = peer._sock.getsockname()[1]
    peer.start()
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % peer.port)
    os.rename(tmp, portfile)
    end = time.monotonic() + lifetime
    seen = 0
    while time.monotonic() < end:
        time.sleep(0.1)
        if len(peer.received) != seen or peer.connections:
            with open(logfile, "w") as f:
                f.write("connections %d\n" % peer.connections)
                for mail_from, rcpts, data in list(peer.received):
                    f.write("accepted from <%s> to %s, %d bytes\n" % (mail_from, rcpts, len(data)))
            seen = len(peer.received)
    peer.stop()


if __name__ == "__main__":
    main()
