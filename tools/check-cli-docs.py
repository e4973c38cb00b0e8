#!/usr/bin/env python3
"""Every verb the command has is in `bounceguide --help` and in
bounceguide(8) (make doc-links, in make check).

The verbs are read from the command itself: the commands of
`bounceguide --help`, and the sub-commands each command's own usage
names (`bounceguide rules`, `config --help`, `guidance`, `suppress
--help`, ...). Each must appear in the one-line summary of its command in
`bounceguide --help` (for commands with sub-commands) and in the man page
as "COMMAND SUB".

    python3 tools/check-cli-docs.py build/bounceguide man/bounceguide.8
"""

import re
import subprocess
import sys


def run(cli, *args):
    p = subprocess.run([cli] + list(args), capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def man_text(path):
    t = open(path, encoding="utf-8").read()
    t = re.sub(r"\\f[BIRP]|\\f\(..|\\&", "", t).replace("\\-", "-")
    # ".B rules\n.B test" (SYNOPSIS) reads as "rules test"
    t = re.sub(r"\n\.(?:B|I|BR|RB|BI|IB|OP)\s+", " ", t)
    return re.sub(r"[ \t]+", " ", t)


def main():
    cli, man = sys.argv[1], sys.argv[2]
    problems = []
    top = run(cli, "--help")
    cmds = re.findall(r"(?m)^  ([a-z]+)\b(.*)$", top)
    if len(cmds) < 5:
        print("cli-docs: cannot read the commands from `%s --help`:\n%s" % (cli, top))
        return 1
    text = man_text(man)
    subs_of = {}
    for cmd, summary in cmds:
        if not re.search(r"(?m)^\.SY bounceguide\s+%s\b" % cmd, text) and \
                not re.search(r"\bbounceguide %s\b" % cmd, text):
            problems.append("bounceguide(8) has no SYNOPSIS line for '%s'" % cmd)
        usage = run(cli, cmd, "--help")
        if "usage:" not in usage:
            usage = run(cli, cmd)
        subs = set(re.findall(r"bounceguide %s ([a-z][a-z-]+)\b" % cmd, usage))
        if cmd == "suppress":  # "  list   [--domain D] ..." lines
            subs |= set(re.findall(r"(?m)^  ([a-z]+)\s", usage))
        subs_of[cmd] = subs
        for sub in sorted(subs):
            if not re.search(r"\b%s\b" % re.escape(sub), summary):
                problems.append("`bounceguide --help` says '%s%s' but '%s %s' exists" %
                                (cmd, summary, cmd, sub))
            if not re.search(r"\b%s %s\b" % (cmd, re.escape(sub)), text):
                problems.append("bounceguide(8) does not describe '%s %s'" % (cmd, sub))
    for p in problems:
        print("cli-docs: " + p)
    n = sum(len(s) for s in subs_of.values())
    print("cli-docs: %d commands, %d sub-commands, %d problems" % (len(cmds), n, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
