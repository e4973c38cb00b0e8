"""A Sandbox whose exim.conf is Debian's REAL generated configuration:
`update-exim4.conf -d COPY -o FILE` over a copy of this machine's
/etc/exim4 with the package's conf.d snippets (conf/exim/conf.d) in it,
as the package installs them. A "smarthost" setup sending through the
scripted peer, split config, listening on 127.0.0.1; local.test is a
local domain. The only additions are files of their own:
main/000_localmacros (the sandbox's places and the case's macros) and
main/99_sandbox (log, pid, port).

(tests/e2e/test_debian_ways.py builds the same world with an
authenticator and a submission port; this one is for modules that need
their own macros, e.g. test_unsubscribe.py.)
"""

import os
import re
import shutil
import subprocess

import checks
from peer import Peer
from sandbox import SAN, TOP, Sandbox

UPDATE = shutil.which("update-exim4.conf") or "/usr/sbin/update-exim4.conf"


def generate(etc, out):
    """Run update-exim4.conf on the copy etc into out; RuntimeError on failure."""
    r = subprocess.run([UPDATE, "-d", etc, "-o", out], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("update-exim4.conf: %s" % (r.stderr or r.stdout))


class DebianSandbox(Sandbox):
    """macros: extra lines for main/000_localmacros."""

    def __init__(self, macros=(), **kw):
        self.macros = list(macros)
        super().__init__(**kw)

    def _write_conf(self):
        etc = self.path("etc-exim4")
        if os.path.exists(etc):
            shutil.rmtree(etc)
        shutil.copytree("/etc/exim4", etc, symlinks=True)
        ue = os.path.join(etc, "update-exim4.conf.conf")
        dc = {
            "dc_eximconfig_configtype": "smarthost",
            "dc_smarthost": "%s::%d" % (self.peer.host, self.peer.port),
            "dc_other_hostnames": "local.test",
            "dc_local_interfaces": "127.0.0.1",
            "dc_relay_nets": "",
            "dc_readhost": "",
            "dc_use_split_config": "true",
            "dc_hide_mailname": "",
            "dc_minimaldns": "false",
        }
        text = open(ue).read()
        for k, v in dc.items():
            line = "%s='%s'" % (k, v)
            text, n = re.subn(r"(?m)^%s=.*$" % k, line, text)
            if not n:
                text += line + "\n"
        with open(ue, "w") as f:
            f.write(text)
        confd = os.path.join(etc, "conf.d")
        src = os.path.join(TOP, "conf", "exim", "conf.d")
        for part in ("main", "acl", "router", "transport"):
            for name in os.listdir(os.path.join(src, part)):
                shutil.copyfile(os.path.join(src, part, name), os.path.join(confd, part, name))
        exim_path = os.path.join(SAN, "exim4") if SAN else "/usr/sbin/exim4"
        macros = [
            "# e2e: the sandbox's own places (Debian's macros; the package needs none)",
            "CONFDIR = %s" % etc,
            "SPOOLDIR = %s" % self.path("spool"),
            "MAIN_HOST_LOOKUP =",
            "BOUNCEGUIDE_SO = %s" % self.path("bounceguide.so"),
            "MAIN_ADD_ENVIRONMENT = BOUNCEGUIDE_CONFIG=%s" % self.path("bounceguide.conf"),
        ] + self.macros
        if SAN:
            macros.append("MAIN_KEEP_ENVIRONMENT = LD_PRELOAD : ASAN_OPTIONS")
        with open(os.path.join(confd, "main", "000_localmacros"), "w") as f:
            f.write("\n".join(macros) + "\n")
        with open(os.path.join(confd, "main", "99_sandbox"), "w") as f:
            f.write("log_file_path = %s/%%slog\npid_file_path = %s\ndaemon_smtp_ports = %d\n"
                    "rfc1413_hosts =\n" % (self.path("log"), self.path("exim.pid"), self.port))
        out = self.path("exim.conf")
        generate(etc, out)
        text = open(out).read()
        text = text.replace("exim_path = /usr/sbin/exim4\n", "exim_path = %s\n" % exim_path, 1)
        with open(out, "w") as f:
            f.write(text)
        os.chmod(out, 0o644)
        self.conf = out


def make(name, bgconf, macros=()):
    """An unstarted DebianSandbox with its own peer on 127.0.0.2 (the
    smarthost), or checks.Skip when this machine cannot build one."""
    if os.getuid() != 0 or not os.path.exists(UPDATE):
        raise checks.Skip("needs root and Debian's update-exim4.conf")
    peer = Peer(host="127.0.0.2").start()
    sb = DebianSandbox(macros=macros, plugin=os.path.join(TOP, "build", "bounceguide.so"),
                       load_plugin=False, bgconf=bgconf, peer=peer, name=name, users=())
    sb._own_peer = True
    return sb
