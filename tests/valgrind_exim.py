#!/usr/bin/env python3
"""The plugin inside Exim under Valgrind (part of `make valgrind`).

Starts an e2e sandbox (tests/e2e/lib/sandbox.py) with the plugin loaded,
then feeds reports to a non-setuid copy of the exim binary running under
memcheck (`exim -C CONF -odq -f '<>' user`: local_scan runs in that
process, on the message as Exim spooled it). Valgrind cannot run a setuid
binary, hence the copy; we are root, so it needs no setuid bit.

Each report memcheck makes is judged by tests/valgrind_judge.py: the run
fails on a memory error of the plugin's (a bounceguide.so frame where it
happened, or where the bad value or block came from), never on Exim's own
(printed, one line each). The run also fails when exim fails, or when the
plugin rewrote none of the reports (it was not loaded: the run proved
nothing).

    valgrind_exim.py FILE...           the plugin: $BG_BUILD/bounceguide.so
    valgrind_exim.py --plant FILE...   the must-fail run: $BG_BUILD/vgplant/
                     bounceguide.so (tests/valgrind_plant.c: a one-byte heap
                     overread in local_scan's path); fails unless the judge
                     reports that overread as the plugin's
($BG_BUILD: make's $(O), default build.) Needs root (the sandbox drops to
the Exim user). Leak checking is off: Exim allocates from its own pools
and never frees them at exit.
"""

import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "e2e", "lib"))

from sandbox import Sandbox, TOP, EXIM  # noqa: E402
import valgrind_judge as judge  # noqa: E402


def exim_copy(sb):
    """A non-setuid copy of the exim binary in the sandbox: Valgrind cannot
    run a setuid binary, and we are root, so the copy needs no setuid bit."""
    exim = sb.path("exim4-copy")
    shutil.copyfile(os.path.realpath(EXIM), exim)
    os.chmod(exim, 0o755)
    return exim


def logdir_for(sb):
    """A directory in the sandbox for memcheck's files, writable by the
    Exim user (Exim drops to it)."""
    d = sb.path("vg")
    if not os.path.isdir(d):
        os.mkdir(d)
        os.chown(d, sb.uid, sb.gid)
    return d


def memcheck(exim, args, logdir, name, **kw):
    """Run exim ARGS under memcheck; returns (CompletedProcess, Verdict).
    Every process of the run (forks included) writes logdir/NAME.PID.*."""
    r = subprocess.run(judge.command(logdir, name) + [exim] + list(args), capture_output=True,
                       timeout=300, **kw)
    return r, judge.judge(logdir, name)


def plugin_path(plant):
    o = os.path.join(TOP, os.environ.get("BG_BUILD") or "build")   # make's $(O)
    return os.path.join(o, "vgplant" if plant else "", "bounceguide.so")


def main(argv):
    plant = bool(argv) and argv[0] == "--plant"
    files = argv[1:] if plant else argv
    label = "valgrind-exim" + (" (planted)" if plant else "")
    if os.getuid() != 0:
        print("%s: not root, skipped (the sandbox needs root)" % label)
        return 0
    so = plugin_path(plant)
    if not os.path.exists(so):
        print("%s: %s missing (make valgrind builds it)" % (label, so))
        return 1
    sb = Sandbox(plugin=so, name="vgexim")
    sb.start()
    failed = 0
    rewritten = 0
    found = []
    try:
        exim = exim_copy(sb)
        logdir = logdir_for(sb)
        sb.add_user("vg")
        for i, f in enumerate(files):
            with open(f, "rb") as fh:
                raw = fh.read()
            mark = sb.log_mark()
            t0 = time.monotonic()
            name = os.path.basename(f)
            r, v = memcheck(exim, ["-C", sb.conf, "-odq", "-f", "<>", "vg@local.test"],
                            logdir, "ls%d" % i, input=raw)
            log = sb.log_since(mark)
            rewritten += "report rewritten" in log
            for line in v.summary("%s: %s" % (label, name)):
                print(line)
            if plant:
                found += judge.planted(v, "overread")
            elif v.ours:
                failed += 1
            if r.returncode != 0:
                failed += 1
                print("%s: %s: exim exit %d\n%s" % (
                    label, name, r.returncode, r.stderr.decode(errors="replace")[-4000:]))
            elif not v.files:
                failed += 1
                print("%s: %s: memcheck wrote no report file" % (label, name))
            elif not plant and not v.ours:
                print("%s: %s ok (%.1f s)" % (label, name, time.monotonic() - t0))
        sb.remove_queued()
        if files and not rewritten:
            failed += 1
            print("%s: the plugin rewrote none of the reports (not loaded?)" % label)
        if plant:
            if found:
                print("%s: the planted overread was found and judged the plugin's: ok" % label)
            else:
                failed += 1
                print("%s: the planted one-byte overread in local_scan's path was NOT reported "
                      "as the plugin's: the judging is blind" % label)
    finally:
        sb.stop(failed=bool(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
