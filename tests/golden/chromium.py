"""Headless Chromium driven over the DevTools protocol on a pipe, for the
phone check and the screenshots (tests/golden/phone.py).

Why not --screenshot/--window-size: headless Chromium keeps windows at
least 500 px wide, so a 375 px page cannot be laid out that way; the
protocol's device-metrics override can (what DevTools' phone mode uses).
--remote-debugging-pipe speaks NUL-separated JSON on fds 3 and 4, so no
websocket library is needed. Debian's `chromium` package; run as root it
needs --no-sandbox. Every run gets a fresh --user-data-dir.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-pipe"]


class Chromium:
    def __init__(self, binary="chromium", timeout=60):
        if not shutil.which(binary):
            raise SystemExit("chromium not found: install Debian's chromium package "
                             "(tools/deps.sh)")
        self.profile = tempfile.mkdtemp(prefix="bg-chromium-")
        to_child_r, self._to_child = os.pipe()   # chromium reads commands on fd 3
        self._from_child, from_child_w = os.pipe()  # and writes answers on fd 4
        redir = "3<&%d 4>&%d" % (to_child_r, from_child_w)
        redir += "".join(" %d>&-" % fd for fd in (to_child_r, from_child_w) if fd not in (3, 4))
        cmd = ["sh", "-c", 'exec "$0" "$@" ' + redir,
               binary] + FLAGS + ["--user-data-dir=" + self.profile, "about:blank"]
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(cmd, pass_fds=(to_child_r, from_child_w),
                                     stdout=self.log, stderr=self.log)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self._events = []
        self.timeout = timeout
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)

    def _read(self):
        while b"\0" not in self._buf:
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                raise SystemExit("chromium closed the pipe (see %s)" % self.log.name)
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, session=False):
        self._id += 1
        m = {"id": self._id, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = self.session
        os.write(self._to_child, json.dumps(m).encode() + b"\0")
        while True:
            r = self._read()
            if r.get("id") == self._id:
                if "error" in r:
                    raise SystemExit("chromium: %s: %s" % (method, r["error"]))
                return r.get("result", {})
            self._events.append(r)

    def _wait_event(self, name):
        while True:
            for i, e in enumerate(self._events):
                if e.get("method") == name:
                    del self._events[i]
                    return e
            self._events.append(self._read())

    def open(self, url, width, height):
        """Load url in a width x height CSS px viewport of a phone-like
        device (mobile: the page's viewport meta applies)."""
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1,
                   "mobile": width < 600}, session=True)
        self._events = [e for e in self._events if e.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", {"url": url}, session=True)
        self._wait_event("Page.loadEventFired")

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True},
                      session=True)
        if "exceptionDetails" in r:
            raise SystemExit("chromium: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def screenshot(self, path, full_page=True):
        """A PNG of the viewport, or of the whole page at the viewport's width."""
        p = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth,"
                                 " document.documentElement.scrollHeight]")
            p["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        data = self.call("Page.captureScreenshot", p, session=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close")
        except SystemExit:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
