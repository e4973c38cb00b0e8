"""Valgrind inside Exim judges the plugin, not Exim (part of `make valgrind`).

Exim's own binary changes under the tests with every security update, and
some of its builds raise memcheck reports with no plugin loaded (exim4
4.96-15+deb12u11: an uninitialised value in its own expand_string).
Suppressions keyed to Exim's frames go stale with each update, so instead
every Exim run writes memcheck's XML (one file per process, forks
included, with --track-origins=yes) and each report is judged:

  ours    when the innermost frame that is either bounceguide.so or the
          exim binary -- skipping shared libraries (libc, Valgrind's
          malloc/strlen replacements, SQLite, ...) -- is bounceguide.so,
          in the stack of the faulting instruction OR in a stack that says
          where the bad value or block came from (the origin of an
          uninitialised value, the allocation or free of the block read).
          So an overread in our code fails, and so does uninitialised data
          our code hands to Exim (Exim's instruction trips on it, the
          origin is our stack or our malloc).
  Exim's  otherwise (Exim's own code, or a library Exim called, on Exim's
          own data): printed as one line each, never a failure. An Exim
          bug reached through a call of ours into Exim's API (e.g. our
          expand_string("$primary_hostname")) is Exim's: its innermost
          non-library frame is Exim's.

Blind spot, by design: uninitialised bytes in memory we took from Exim's
own allocator (store_get) and never filled have Exim's allocator as their
origin; the adapter hands Exim only strings it built itself
(string_sprintf/string_copy of our buffers), whose origin is ours.

The suite proves the judging is not blind: tests/valgrind_plant.c, linked
into a second .so with -Wl,--wrap (mk/valgrind.mk), plants a one-byte
heap overread in local_scan's and bg_dlfunc_event's paths and an
uninitialised byte in bg_dlfunc_check's result; tests/valgrind_exim.py and
tests/valgrind_dlfunc.py run with it (--plant) must find them as ours.
"""

import glob
import os
import re
import xml.etree.ElementTree as ET

PLUGIN = "bounceguide.so"
HERE = os.path.dirname(os.path.abspath(__file__))
SUPP = os.path.join(HERE, "valgrind.supp")

# memcheck as every Exim run of `make valgrind` uses it: no --error-exitcode
# (the judge decides, not memcheck), leak checking off (Exim allocates from
# pools it never frees), origins tracked (to know whose an uninitialised
# value is), one XML file and one text log per process
OPTIONS = ["-q", "--vgdb=no", "--leak-check=no", "--track-origins=yes", "--num-callers=40",
           "--suppressions=" + SUPP]


def command(logdir, name):
    """The valgrind command line (before the program) for run NAME."""
    return ["valgrind"] + OPTIONS + ["--xml=yes",
                                     "--xml-file=%s/%s.%%p.xml" % (logdir, name),
                                     "--log-file=%s/%s.%%p.log" % (logdir, name)]


class Report:
    """One memcheck error: kind, text, and its stacks (the first is the
    faulting instruction's; then (auxwhat, frames) pairs)."""

    def __init__(self, pid, exe, el):
        self.pid = pid
        self.exe = exe
        self.kind = el.findtext("kind", "")
        self.what = el.findtext("what") or el.findtext("xwhat/text") or self.kind
        self.stacks = []       # [(title, [frame dict])]
        title = self.what
        for child in el:
            if child.tag == "auxwhat":
                title = child.text or ""
            elif child.tag == "stack":
                frames = [{k: f.findtext(k, "") for k in ("ip", "obj", "fn", "file", "line")}
                          for f in child.findall("frame")]
                self.stacks.append((title, frames))
                title = ""

    def owner(self, frames):
        """'plugin', 'exim' or '' (only library frames): the innermost frame
        in bounceguide.so or in the exim binary."""
        for f in frames:
            obj = f["obj"]
            if os.path.basename(obj) == PLUGIN:
                return "plugin"
            if obj and self.exe and os.path.realpath(obj) == os.path.realpath(self.exe):
                return "exim"
        return ""

    def owners(self):
        return [self.owner(fr) for _, fr in self.stacks]

    def ours(self):
        return "plugin" in self.owners()

    @staticmethod
    def frame_text(f):
        where = ("%s:%s" % (f["file"], f["line"])) if f["file"] else os.path.basename(f["obj"])
        return "%s (%s)" % (f["fn"] or f["ip"], where)

    def text(self, frames=12):
        out = ["  [pid %s] %s (%s)" % (self.pid, self.what, self.kind)]
        for title, fr in self.stacks:
            if title and title != self.what:
                out.append("    %s" % title)
            for i, f in enumerate(fr[:frames]):
                out.append("      %s %s" % ("at" if i == 0 else "by", self.frame_text(f)))
        return "\n".join(out)

    def line(self):
        """One line: kind, the innermost named frames, whose."""
        top = [self.frame_text(f) for f in self.stacks[0][1][:3]] if self.stacks else []
        return "%s in %s" % (self.kind, " <- ".join(top))


class Verdict:
    def __init__(self):
        self.ours = []         # Reports that fail the run
        self.exims = []        # Reports in Exim's own code (printed, ignored)
        self.notes = []        # text Valgrind wrote outside the XML
        self.files = 0         # processes seen

    def summary(self, label):
        """Lines to print: every report of ours in full, one line per
        distinct report of Exim's."""
        out = []
        for r in self.ours[:4]:
            out.append("%s: memory error in bounceguide.so:\n%s" % (label, r.text()))
        if len(self.ours) > 4:
            out.append("%s: ... and %d more of the plugin's" % (label, len(self.ours) - 4))
        seen = set()
        for r in self.exims:
            k = r.line()
            if k not in seen:
                seen.add(k)
                out.append("%s: ignored, Exim's own (no bounceguide.so frame or origin): %s"
                           % (label, k))
        for n in self.notes:
            out.append("%s: valgrind said: %s" % (label, n))
        return out


ERROR_RE = re.compile(r"<error>.*?</error>", re.S)


def judge(logdir, name):
    """Read every NAME.PID.xml/.log in logdir and judge the reports."""
    v = Verdict()
    for path in sorted(glob.glob(os.path.join(logdir, name + ".*.xml"))):
        v.files += 1
        with open(path, errors="replace") as f:
            text = f.read()
        pid = (re.search(r"<pid>(\d+)</pid>", text) or [None, "?"])[1]
        exe = re.search(r"<argv>\s*<exe>(.*?)</exe>", text, re.S)
        exe = exe.group(1) if exe else ""
        # error by error: a process killed mid-write leaves no closing tag
        for m in ERROR_RE.finditer(text):
            try:
                el = ET.fromstring(m.group(0))
            except ET.ParseError as e:
                v.notes.append("unreadable report in %s: %s" % (path, e))
                continue
            r = Report(pid, exe, el)
            if r.kind.startswith("Leak_"):
                continue
            (v.ours if r.ours() else v.exims).append(r)
    for path in sorted(glob.glob(os.path.join(logdir, name + ".*.log"))):
        with open(path, errors="replace") as f:
            for ln in f.read().splitlines():
                ln = re.sub(r"^==\d+== ?", "", ln).strip()
                if ln:
                    v.notes.append(ln)
    return v


def planted(v, kind):
    """The reports of ours that a planted error of KIND produces:
    'overread': an invalid read whose faulting frame is ours;
    'uninit': an uninitialised value Exim's code trips on (the faulting
    frame is Exim's) whose origin is ours."""
    out = []
    for r in v.ours:
        own = r.owners()
        if kind == "overread" and r.kind == "InvalidRead" and own[0] == "plugin":
            out.append(r)
        elif (kind == "uninit" and r.kind in ("UninitCondition", "UninitValue", "SyscallParam")
              and own[0] != "plugin" and "plugin" in own[1:]):
            out.append(r)
    return out
