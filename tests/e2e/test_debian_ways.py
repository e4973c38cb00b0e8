"""End-to-end: every way out is checked, with Debian's REAL generated Exim
configuration (issue 12, failure 2).

The sandbox's exim.conf is what `update-exim4.conf -d COPY -o FILE` makes
from a copy of this machine's /etc/exim4 with the package's conf.d snippets
(conf/exim/conf.d) in it, as the package installs them: a "smarthost"
setup (dc_eximconfig_configtype) sending through the scripted peer on
127.0.0.2, split config, listening on 127.0.0.1 on two ports (25-like and a
submission port), and a plain authenticator with one test account -- the
only additions, in files of their own (main/000_localmacros,
main/99_sandbox, auth/35_sandbox_plain). Debian's acl_check_rcpt accepts
relay hosts and authenticated senders before CHECK_RCPT_LOCAL_ACL_FILE;
these cases prove the package's RCPT ACL still sees them:

  - SMTP from a relay host (127.0.0.1) without AUTH: refused at RCPT
  - SMTP AUTH on the submission port from another host: refused at RCPT
  - local SMTP (sendmail -bs): refused at RCPT
  - sendmail (no RCPT ACL): failed by the router, never sent; the bounce
    says our server stopped it
  - a stranger without AUTH: Debian's own "relay not permitted", which says
    nothing about the list
"""

import base64
import os
import re
import shutil
import smtplib
import subprocess

import checks
import mail
import store_helpers as sh
from peer import Peer
from sandbox import EXIM, SAN, TOP, Sandbox, wait_for

UPDATE = shutil.which("update-exim4.conf") or "/usr/sbin/update-exim4.conf"
SENDER = "alice@sender.test"
PASSWORD = "s3cret-e2e"
STRANGER = "127.0.0.77"

AUTH = """
sandbox_plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and {{eq{$auth2}{%s}}{eq{$auth3}{%s}}}}
  server_set_id = $auth2
""" % (SENDER, PASSWORD)


class DebianSandbox(Sandbox):
    """A Sandbox whose config is Debian's generated one (see above)."""

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
        ]
        if SAN:
            macros.append("MAIN_KEEP_ENVIRONMENT = LD_PRELOAD : ASAN_OPTIONS")
        with open(os.path.join(confd, "main", "000_localmacros"), "w") as f:
            f.write("\n".join(macros) + "\n")
        with open(os.path.join(confd, "main", "99_sandbox"), "w") as f:
            f.write("log_file_path = %s/%%slog\npid_file_path = %s\ndaemon_smtp_ports = %d : %d\n"
                    "rfc1413_hosts =\n" % (self.path("log"), self.path("exim.pid"), self.port,
                                           self.subport))
        with open(os.path.join(confd, "auth", "35_sandbox_plain"), "w") as f:
            f.write(AUTH)
        out = self.path("exim.conf")
        r = subprocess.run([UPDATE, "-d", etc, "-o", out], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("update-exim4.conf: %s" % (r.stderr or r.stdout))
        text = open(out).read()
        text = text.replace("exim_path = /usr/sbin/exim4\n", "exim_path = %s\n" % exim_path, 1)
        with open(out, "w") as f:
            f.write(text)
        os.chmod(out, 0o644)
        self.conf = out

    def start(self):
        from sandbox import free_port
        self.subport = free_port()
        return super().start()


def make_sandbox():
    if os.getuid() != 0 or not os.path.exists(UPDATE):
        raise checks.Skip("needs root and Debian's update-exim4.conf")
    peer = Peer(host="127.0.0.2").start()
    sb = DebianSandbox(plugin=os.path.join(TOP, "build", "bounceguide.so"), load_plugin=False,
                       bgconf=sh.bgconf(), peer=peer, name="debian", users=())
    sb._own_peer = True
    return sb


def _rcpt(sb, rcpt, src="127.0.0.1", port=None, login=False, sender=SENDER):
    """(code, text) of RCPT for one recipient; RSET afterwards."""
    with smtplib.SMTP("127.0.0.1", port or sb.port, timeout=30, source_address=(src, 0)) as s:
        s.ehlo("client.test")
        if login:
            code, text = s.docmd("AUTH", "PLAIN " + base64.b64encode(
                ("\0%s\0%s" % (SENDER, PASSWORD)).encode()).decode())
            assert code == 235, (code, text)
        s.mail(sender)
        code, text = s.rcpt(rcpt)
        s.rset()
        return code, text.decode(errors="replace")


def _suppress(sb, rcpt):
    r = sh.cli("suppress", "add", rcpt, "--domain", "sender.test", "--category", "unknown-user",
               "--reason", "550 5.1.1 <%s>: User unknown" % rcpt, "--db", sh.db_path(sb))
    assert r.returncode == 0, r


def test_generated_config_has_the_wiring(sb):
    conf = open(sb.conf).read()
    assert "acl_smtp_rcpt = MAIN_ACL_CHECK_RCPT" in conf
    p = subprocess.run([EXIM, "-C", sb.conf, "-bP", "acl_smtp_rcpt", "local_scan_path"],
                       capture_output=True, text=True, timeout=30)
    assert "acl_smtp_rcpt = acl_bounceguide_rcpt" in p.stdout, p.stdout + p.stderr
    assert sb.path("bounceguide.so") in p.stdout, p.stdout
    assert "require acl = BOUNCEGUIDE_RCPT_NEXT" in conf and "BOUNCEGUIDE_RCPT_NEXT = acl_check_rcpt" in conf
    assert "CHECK_RCPT_LOCAL_ACL_FILE = /usr/share/bounceguide" not in conf


def test_hard_failure_recorded_through_debians_transport(sb):
    rcpt = "gone@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: User unknown" % rcpt)
    code, _ = _rcpt(sb, "first-check@remote.test")
    assert code == 250
    before = len(sb.peer.received)
    with smtplib.SMTP("127.0.0.1", sb.port, timeout=30) as s:
        s.ehlo("client.test")
        s.sendmail(SENDER, [rcpt], mail.make_message(SENDER, rcpt, "first").replace(b"\n", b"\r\n"))
    r = wait_for(lambda: sh.row(sb, "sender.test", rcpt), 20, "the row from remote_smtp_smarthost")
    assert r["category"] == "unknown-user" and r["source"] in ("transport", "bounce"), r
    # Exim's bounce went to the sender through the smarthost, enriched
    wait_for(lambda: any(m[0] == "" for m in sb.peer.received[before:]), 20, "the bounce at the smarthost")
    bounce = [m for m in sb.peer.received[before:] if m[0] == ""][0][2]
    checks.enriched(bounce, "unknown-user")


def test_relay_host_without_auth_refused_at_rcpt(sb):
    rcpt = "relayed@remote.test"
    _suppress(sb, rcpt)
    code, text = _rcpt(sb, rcpt, src="127.0.0.1")
    assert code == 550 and "is suppressed for mail from sender.test" in text.replace("\n", " "), (code, text)
    code, text = _rcpt(sb, "fine@remote.test", src="127.0.0.1")
    assert code == 250, (code, text)


def test_authenticated_submission_refused_at_rcpt(sb):
    rcpt = "authed@remote.test"
    _suppress(sb, rcpt)
    code, text = _rcpt(sb, rcpt, src=STRANGER, port=sb.subport, login=True)
    assert code == 550 and "(bounceguide)" in text, (code, text)
    code, text = _rcpt(sb, "fine2@remote.test", src=STRANGER, port=sb.subport, login=True)
    assert code == 250, (code, text)


def test_stranger_learns_nothing_about_the_list(sb):
    rcpt = "secret@remote.test"
    _suppress(sb, rcpt)
    for r in (rcpt, "notlisted@remote.test"):
        code, text = _rcpt(sb, r, src=STRANGER)
        assert code == 550 and "relay not permitted" in text and "bounceguide" not in text, (code, text)


def test_local_smtp_bs_refused_at_rcpt(sb):
    rcpt = "bs@remote.test"
    _suppress(sb, rcpt)
    script = ("EHLO local\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nQUIT\r\n" % (SENDER, rcpt)).encode()
    p = sb.exim("-bs", input=script)
    out = p.stdout.decode(errors="replace")
    assert re.search(r"^550.*is suppressed for mail from sender\.test", out, re.M), out


def test_sendmail_failed_by_router_never_sent(sb):
    rcpt = "viasendmail@remote.test"
    _suppress(sb, rcpt)
    before = len(sb.peer.received)
    mark = sb.log_mark()
    p = sb.exim("-odi", "-f", SENDER, rcpt, input=mail.make_message(SENDER, rcpt, "via sendmail"))
    assert p.returncode == 0, p.stderr
    sb.wait_log("R=bounceguide_suppress", mark)
    wait_for(lambda: any(m[0] == "" for m in sb.peer.received[before:]), 20, "the bounce at the smarthost")
    assert not any(rcpt in m[1] for m in sb.peer.received[before:]), "sent to the suppressed recipient"
    bounce = [m for m in sb.peer.received[before:] if m[0] == ""][0][2]
    msg = checks.enriched(bounce, "suppressed-here")
    text = " ".join(mail.text_of(msg, "text/plain").split())
    assert "Our own mail server stopped this message" in text, text
    assert "bounceguide suppress remove %s --domain sender.test" % rcpt in text, text
    assert sh.row(sb, "sender.test", rcpt)["category"] == "unknown-user"
    checks.panic_clean(sb)
