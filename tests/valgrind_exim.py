#!/usr/bin/env python3
"""The plugin inside Exim under Valgrind (part of `make valgrind`).

Starts an e2e sandbox (tests/e2e/lib/sandbox.py) with the plugin loaded,
then feeds reports to a non-setuid copy of the exim binary running under
memcheck (`exim -C CONF -odq -f '<>' user`: local_scan runs in that
process, on the message as Exim spooled it). Valgrind cannot run a setuid
binary, hence the copy; we are root, so it needs no setuid bit. A run
fails on any memory error (exit 99); the whole run fails when the plugin
rewrote none of the reports (it was not loaded: the run proved nothing).

    valgrind_exim.py FILE...   (the plugin: $BG_BUILD/bounceguide.so, default build)
Needs root (the sandbox drops to the Exim user). Leak checking is off:
Exim allocates from its own pools and never frees them at exit.
"""

import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "e2e", "lib"))

from sandbox import Sandbox, TOP, EXIM  # noqa: E402


# memcheck as every Exim run of `make valgrind` uses it (leak checking off:
# Exim allocates from pools it never frees)
MEMCHECK = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=no", "--num-callers=30",
            "--suppressions=%s" % os.path.join(HERE, "valgrind.supp")]


def exim_copy(sb):
    """A non-setuid copy of the exim binary in the sandbox: Valgrind cannot
    run a setuid binary, and we are root, so the copy needs no setuid bit."""
    exim = sb.path("exim4-copy")
    shutil.copyfile(os.path.realpath(EXIM), exim)
    os.chmod(exim, 0o755)
    return exim


def memcheck(exim, args, extra=(), **kw):
    """CompletedProcess of exim ARGS under MEMCHECK (plus extra options)."""
    return subprocess.run(MEMCHECK + list(extra) + [exim] + list(args), capture_output=True,
                          timeout=300, **kw)


def main(files):
    if os.getuid() != 0:
        print("valgrind-exim: not root, skipped (the sandbox needs root)")
        return 0
    o = os.path.join(TOP, os.environ.get("BG_BUILD") or "build")   # make's $(O)
    sb = Sandbox(plugin=os.path.join(o, "bounceguide.so"), name="vgexim")
    sb.start()
    failed = 0
    rewritten = 0
    try:
        exim = exim_copy(sb)
        sb.add_user("vg")
        for f in files:
            with open(f, "rb") as fh:
                raw = fh.read()
            mark = sb.log_mark()
            t0 = time.monotonic()
            r = memcheck(exim, ["-C", sb.conf, "-odq", "-f", "<>", "vg@local.test"], input=raw)
            log = sb.log_since(mark)
            rewritten += "report rewritten" in log
            name = os.path.basename(f)
            if r.returncode != 0:
                failed += 1
                print("valgrind-exim: %s: exit %d\n%s" % (
                    name, r.returncode, r.stderr.decode(errors="replace")[-4000:]))
            else:
                print("valgrind-exim: %s ok (%.1f s)" % (name, time.monotonic() - t0))
        sb.remove_queued()
        if files and not rewritten:
            failed += 1
            print("valgrind-exim: the plugin rewrote none of the reports (not loaded?)")
    finally:
        sb.stop(failed=bool(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
