"""What the administrator installs works as shipped: the conf.d main
fragment (conf/exim/conf.d/main/00_bounceguide) loads the plugin, and the
documented conf/bounceguide.conf parses and enriches without a warning."""

import os
import subprocess

import checks
import mail
from sandbox import EXIM, TOP


def _read(*p):
    with open(os.path.join(TOP, *p)) as f:
        return f.read()


SANDBOX = dict(
    plugin=os.path.join(TOP, "build", "bounceguide.so"),
    load_plugin=False,
    name="install",
    # data_dir pointed at the sandbox's copy of conf/guidance (installed
    # layout: DATA_DIR/guidance/LANG.conf)
    bgconf=_read("conf", "bounceguide.conf").replace(
        "\ndata_dir = /usr/share/bounceguide\n", "\ndata_dir = @@DIR@@/share\n"),
    # the shipped fragment, with its macro pointed at the sandbox's copy
    extra_main="BOUNCEGUIDE_SO = @@DIR@@/bounceguide.so\n" +
               _read("conf", "exim", "conf.d", "main", "00_bounceguide"),
)


def test_shipped_fragment_and_config(sb):
    if "local_scan_path = BOUNCEGUIDE_SO" not in open(sb.conf).read():
        checks.fail("the shipped fragment did not end up in the config")
    if "data_dir = %s/share" % sb.dir not in open(sb.path("bounceguide.conf")).read():
        checks.fail("the shipped config has no data_dir = /usr/share/bounceguide line")
    os.makedirs(sb.path("share", "guidance"), mode=0o755, exist_ok=True)
    for name in os.listdir(os.path.join(TOP, "conf", "guidance")):
        sb.write_file(os.path.join("share", "guidance", name), _read("conf", "guidance", name))
    mark = sb.log_mark()
    frm = sb.add_user("inst")
    sb.peer.set_rule("gone@remote.test", rcpt="550 5.1.1 <gone@remote.test>: no such user")
    msg = mail.make_message(frm, "gone@remote.test", "install check")
    sb.submit(frm, ["gone@remote.test"], msg)
    b = sb.wait_mail("inst", 1)[0]
    checks.enriched(b, "unknown-user", status="5.1.1")
    checks.original_identical(b, msg)
    lines = checks.problem_lines(sb.log_since(mark))
    if lines:
        checks.fail("warnings with the shipped config: %s" % lines)
    checks.panic_clean(sb)


def test_single_file_snippet_is_valid_exim(sb):
    """conf/exim/exim4.conf.main pasted into a main section: Exim accepts it."""
    snippet = _read("conf", "exim", "exim4.conf.main").replace(
        "/usr/lib/exim4/local_scan/bounceguide.so", sb.path("bounceguide.so"))
    text = open(sb.conf).read().replace(
        "BOUNCEGUIDE_SO = %s/bounceguide.so\n" % sb.dir, "")
    # drop the conf.d fragment's lines, put the single-file ones instead
    frag = _read("conf", "exim", "conf.d", "main", "00_bounceguide")
    text = text.replace(frag, snippet)
    p = sb.path("single.conf")
    with open(p, "w") as f:  # owned by the caller, like exim.conf (Exim checks)
        f.write(text)
    r = subprocess.run([EXIM, "-C", p, "-bP", "local_scan_path"], capture_output=True, timeout=30)
    out = (r.stdout + r.stderr).decode(errors="replace")
    if r.returncode != 0 or sb.path("bounceguide.so") not in out or snippet not in text:
        checks.fail("exim rejects the single-file snippet: %s" % out)


def test_debian_generated_config_loads_plugin(sb):
    """docs/install.md's check: Debian's own generated configuration plus the
    local_scan_path line, in a -bh session (nothing is delivered), reaches
    the plugin (250 OK); a wrong path gives 451 (the check can fail)."""
    import shutil
    uc = shutil.which("update-exim4.conf") or "/usr/sbin/update-exim4.conf"
    if os.getuid() != 0 or not os.path.exists(uc):
        raise checks.Skip("needs root and Debian's update-exim4.conf")
    gen = sb.path("debian-exim4.conf")
    r = subprocess.run([uc, "-o", gen], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        checks.fail("update-exim4.conf -o failed: %s" % r.stderr[:300])
    base = open(gen).read()
    script = ("EHLO check\r\nMAIL FROM:<>\r\nRCPT TO:<postmaster@localhost>\r\nDATA\r\n"
              "Subject: check\r\n\r\nhi\r\n.\r\nQUIT\r\n").encode()

    def session(so):
        p = sb.path("debian-check.conf")
        with open(p, "w") as f:
            f.write("local_scan_path = %s\n" % so + base)
        r = subprocess.run([EXIM, "-C", p, "-bh", "127.0.0.1"], input=script,
                           capture_output=True, timeout=60)
        return r.stdout.decode(errors="replace")

    good = session(sb.path("bounceguide.so"))
    if "250 OK id=" not in good:
        checks.fail("plugin not reached with Debian's config:\n" + good[-800:])
    bad = session(sb.path("no-such-plugin.so"))
    if "451" not in bad or "local_scan() library failure" not in bad:
        checks.fail("a wrong local_scan_path was not noticed:\n" + bad[-800:])
