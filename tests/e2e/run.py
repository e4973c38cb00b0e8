#!/usr/bin/env python3
"""The end-to-end runner: every tests/e2e/test_*.py module, every test_*
function in it, against a real Exim sandbox.

A module gets one sandbox for all its cases (built from its SANDBOX dict
of Sandbox() arguments, or from its make_sandbox(peer) function), so a
case costs one message round trip, not an Exim start. Usage:

    run.py [-k SUBSTRING] [MODULE...]

Prints one line per case and "e2e: N passed, M failed" at the end; exits
non-zero when a case failed. BG_E2E_KEEP=1 keeps the sandbox directories.
"""

import glob
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))

from sandbox import Sandbox, TOP  # noqa: E402
from checks import Skip  # noqa: E402


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv):
    pattern = ""
    mods = []
    i = 0
    while i < len(argv):
        if argv[i] == "-k" and i + 1 < len(argv):
            pattern = argv[i + 1]
            i += 2
            continue
        mods.append(argv[i])
        i += 1
    if not mods:
        mods = sorted(glob.glob(os.path.join(HERE, "test_*.py")))
    passed = failed = skipped = 0
    failures = []
    t_all = time.monotonic()
    for path in mods:
        try:
            mod = load(path)
        except Exception:  # a module that cannot even load counts as a failure
            traceback.print_exc()
            print("FAIL %s (module did not load)" % os.path.basename(path))
            failed += 1
            failures.append(os.path.basename(path))
            continue
        cases = [(n, getattr(mod, n)) for n in dir(mod)
                 if n.startswith("test_") and callable(getattr(mod, n)) and pattern in n]
        cases.sort(key=lambda c: c[1].__code__.co_firstlineno)
        if not cases:
            continue
        print("-- %s (%d cases)" % (os.path.basename(path), len(cases)), flush=True)
        try:
            if hasattr(mod, "make_sandbox"):
                sb = mod.make_sandbox()
            else:
                kw = dict(getattr(mod, "SANDBOX", {}))
                kw.setdefault("name", mod.__name__.replace("test_", ""))
                sb = Sandbox(**kw)
            sb.start()
        except Exception:
            traceback.print_exc()
            for n, _ in cases:
                print("FAIL %s (sandbox did not start)" % n)
                failed += 1
                failures.append(n)
            continue
        mod_failed = False
        try:
            for n, fn in cases:
                t0 = time.monotonic()
                try:
                    fn(sb)
                    passed += 1
                    print("ok   %s (%.2fs)" % (n, time.monotonic() - t0), flush=True)
                except Skip as e:
                    skipped += 1
                    print("skip %s: %s" % (n, e), flush=True)
                except Exception as e:
                    failed += 1
                    mod_failed = True
                    failures.append(n)
                    print("FAIL %s (%.2fs): %s: %s" % (n, time.monotonic() - t0,
                                                       type(e).__name__, e), flush=True)
                    if os.environ.get("BG_E2E_VERBOSE") == "1" or not isinstance(e, AssertionError):
                        traceback.print_exc()
        finally:
            sb.stop(failed=mod_failed)
    print("e2e: %d passed, %d failed%s%s (%.1fs)" % (
        passed, failed, (" -- " + " ".join(failures)) if failures else "",
        (", %d skipped" % skipped) if skipped else "", time.monotonic() - t_all))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
