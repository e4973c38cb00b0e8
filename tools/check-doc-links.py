#!/usr/bin/env python3
"""Docs must not send the reader to a file that does not exist (make
doc-links, in make check).

Reads README.md, docs/*.md, man/* and every file under conf/ (their
comments name files too), and fails when one
  - links a file (a Markdown link "[text](target)" to a relative target),
    resolved from the linking file's directory, that does not exist, or
  - names a repository file or directory by its path from the top
    (docs/..., conf/..., plugin/..., include/..., tests/..., tools/...,
    man/..., mk/..., bench/..., debian/...) that does not exist (a glob
    such as plugin/bg_store*.c must match something; ":LINE" after a path
    is allowed, and "path::name" must name something the file has -- a
    test case, a function), or
  - still holds a merge conflict marker.
Paths written under / (installed places: /usr/share/..., /etc/exim4/...)
are not repository paths and are not checked here.

    python3 tools/check-doc-links.py [TOP]
    python3 tools/check-doc-links.py --self-test   (the check finds planted faults)
"""

import glob
import os
import re
import shutil
import sys
import tempfile

TOP = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "--self-test" else
                      os.path.join(os.path.dirname(__file__), ".."))
DIRS = ("docs", "conf", "plugin", "include", "tests", "tools", "man", "mk", "bench", "debian")
# a repository path: one of DIRS at a word start (not after '/', '.', a
# letter or '-', so /usr/share/doc/... and foo-docs/ are not taken)
PATH = re.compile(r"(?<![\w/.~$@-])((?:%s)/[A-Za-z0-9_.*+/-]*[A-Za-z0-9_*/])" % "|".join(DIRS))
LINK = re.compile(r"\]\(([^)\s]+)\)")
CONFLICT = re.compile(r"^(<<<<<<< |>>>>>>> |=======$)")
# paths that are made, not kept in the repository
MADE = ("debian/bounceguide/", "debian/.debhelper", "debian/tmp/", "tests/e2e/lib/__pycache__")


def sources():
    out = [os.path.join(TOP, "README.md")]
    out += sorted(glob.glob(os.path.join(TOP, "docs", "*.md")))
    out += sorted(p for p in glob.glob(os.path.join(TOP, "man", "*")) if os.path.isfile(p))
    for root, _, files in os.walk(os.path.join(TOP, "conf")):
        out += sorted(os.path.join(root, f) for f in files)
    return out


def exists(rel):
    rel = rel.rstrip("/") or rel
    if any(c in rel for c in "*?["):
        return bool(glob.glob(os.path.join(TOP, rel)))
    return os.path.exists(os.path.join(TOP, rel))


def man_unescape(line):
    # roff: \- is a hyphen, \fB \fI \fR \fP change fonts, \& is nothing
    line = re.sub(r"\\f[BIRP]|\\f\(..|\\&", "", line)
    return line.replace("\\-", "-").replace("\\(em", " ").replace("\\e", "\\")


def check(path, problems):
    rel = os.path.relpath(path, TOP)
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        problems.append("%s: cannot read: %s" % (rel, e))
        return 0
    is_man = rel.startswith("man/")
    n = 0
    for no, line in enumerate(text.splitlines(), 1):
        if CONFLICT.match(line):
            problems.append("%s:%d: merge conflict marker" % (rel, no))
        if is_man:
            line = man_unescape(line)
        for m in PATH.finditer(line):
            p = m.group(1)
            if p.startswith(MADE):
                continue
            n += 1
            if not exists(p):
                problems.append("%s:%d: names %s, which does not exist" % (rel, no, p))
                continue
            # "file::name": a test (or function) of that name in the file
            t = re.match(r"::([A-Za-z_][A-Za-z0-9_]*)", line[m.end():])
            if t and os.path.isfile(os.path.join(TOP, p)):
                body = open(os.path.join(TOP, p), encoding="utf-8", errors="replace").read()
                if not re.search(r"\b%s\b" % t.group(1), body):
                    problems.append("%s:%d: names %s::%s, which %s does not have" %
                                    (rel, no, p, t.group(1), p))
        if rel.endswith(".md"):
            for m in LINK.finditer(line):
                target = m.group(1).split("#", 1)[0]
                if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
                    continue  # a web or mail link, an anchor, an installed path
                n += 1
                full = os.path.normpath(os.path.join(os.path.dirname(path), target))
                if not os.path.exists(full):
                    problems.append("%s:%d: links %s, which does not exist" % (rel, no, target))
    return n


def self_test():
    """A tree with one of each fault, and the same references made good:
    the check must find exactly the faults."""
    global TOP
    top = tempfile.mkdtemp(prefix="bg-doclinks-")
    try:
        for d in ("docs", "man", "conf/exim", "plugin"):
            os.makedirs(os.path.join(top, d))
        open(os.path.join(top, "plugin", "bg_a.c"), "w").close()
        files = {
            "README.md": "See [the guide](docs/guide.md) and `plugin/bg_a.c:12`, plugin/bg_*.c,\n"
                         "/usr/share/doc/bounceguide/x.md (installed), and docs/missing.md.\n",
            "docs/guide.md": "Back to [README](../README.md), [gone](gone.md#x), [web](https://x.test/).\n"
                             "<<<<<<< HEAD\n",
            "man/x.8": ".B plugin/bg\\-b.c\n.I plugin/bg_a.c\n",
            "conf/exim/snippet": "# see tests/e2e/test_x.py::test_case\n",
            "plugin/bg_a.c": "static void real_case(void) {}\n",
            "docs/tests.md": "plugin/bg_a.c::real_case and plugin/bg_a.c::gone_case\n",
        }
        for name, text in files.items():
            with open(os.path.join(top, name), "w") as f:
                f.write(text)
        TOP = top
        problems = []
        for p in sources():
            check(p, problems)
        want = ["README.md:2: names docs/missing.md", "docs/guide.md:1: links gone.md",
                "docs/guide.md:2: merge conflict", "man/x.8:1: names plugin/bg-b.c",
                "conf/exim/snippet:1: names tests/e2e/test_x.py",
                "docs/tests.md:1: names plugin/bg_a.c::gone_case"]
        bad = [w for w in want if not any(p.startswith(w) for p in problems)]
        extra = [p for p in problems if not any(p.startswith(w) for w in want)]
        if bad or extra:
            print("doc-links: self-test FAILED: missed %s; unexpected %s" % (bad, extra))
            return 1
        print("doc-links: self-test: %d planted faults found" % len(want))
        return 0
    finally:
        shutil.rmtree(top)


def main():
    if "--self-test" in sys.argv[1:]:
        return self_test()
    problems = []
    files = sources()
    refs = sum(check(p, problems) for p in files)
    for p in problems:
        print("doc-links: " + p)
    print("doc-links: %d files, %d file references, %d problems" % (len(files), refs, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
