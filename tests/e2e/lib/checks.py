"""Assertions shared by the end-to-end cases: what an enriched bounce and an
untouched one look like, and that the returned original is byte-identical.
"""

import os
import re

import mail
from sandbox import TOP


class Skip(Exception):
    """Raised by a case that cannot run here (printed as "skip", never
    counted as passed)."""


class AnyOf(list):
    """A guidance expectation met by any one of its phrases."""


def _norm(s):
    return re.sub(r"\s+", " ", s).strip().lower()


def guidance(category, key="happened", lang="en"):
    """What the catalogue says for category (its key lines, placeholders cut
    out): an AnyOf of the longest literal piece of each line, so a case
    checks the real catalogue text without copying it."""
    path = os.path.join(TOP, "conf", "guidance", lang + ".conf")
    lines, sect, cur = [], None, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("#") or not line.strip():
                cur = None
                continue
            if line.startswith("["):
                sect, cur = line.strip()[1:-1], None
                continue
            if line[0] in " \t" and cur is not None:
                lines[cur] += " " + line.strip()
                continue
            k, _, v = line.partition("=")
            if sect == category and k.strip() == key:
                lines.append(v.strip())
                cur = len(lines) - 1
            else:
                cur = None
    pieces = []
    for l in lines:
        lits = [x for x in re.split(r"\{[a-z_]+\}", l.replace("{{", "{"))]
        best = max(lits, key=len).strip(" .,:;")
        if len(best) >= 8:
            pieces.append(_norm(best))
    if not pieces:
        raise AssertionError("catalogue has no %s text for %s" % (key, category))
    return [AnyOf(pieces)]


def fail(msg, data=None):
    if data is not None:
        msg += "\n----- message -----\n" + data.decode("utf-8", "replace")[:4000]
    raise AssertionError(msg)


def no_defects(data):
    """The message parses as MIME without defects; returns the parsed form."""
    m = mail.parse(data)
    d = mail.defects(m)
    if d:
        fail("MIME defects: %s" % d, data)
    return m


def enriched(data, category, status=None, guidance=()):
    """An enriched report: valid MIME, multipart/report kept, a
    multipart/alternative first part with text and HTML, X-Bounce-Category
    holding category (all categories when several), the DSN Status of the
    recipients corrected when status is given, guidance phrases present in
    the text part. Returns the parsed message."""
    m = no_defects(data)
    if m.get_content_type() != "multipart/report":
        fail("top level is %s, not multipart/report" % m.get_content_type(), data)
    parts = list(m.iter_parts())
    if len(parts) < 2 or parts[0].get_content_type() != "multipart/alternative":
        fail("first part is not multipart/alternative: %s" %
             [p.get_content_type() for p in parts], data)
    alt = [p.get_content_type() for p in parts[0].iter_parts()]
    if "text/plain" not in alt or "text/html" not in alt:
        fail("alternative parts are %s" % alt, data)
    cats = mail.header_values(data, "X-Bounce-Category")
    if len(cats) != 1:
        fail("expected one X-Bounce-Category header, got %s" % cats, data)
    want = [category] if isinstance(category, str) else list(category)
    for c in want:
        if c not in re.split(r"[\s,;]+", cats[0]):
            fail("X-Bounce-Category %r does not name %r" % (cats[0], c), data)
    if not mail.header_values(data, "X-Bounce-Severity"):
        fail("no X-Bounce-Severity header", data)
    if status is not None:
        sts = [b.get("status", "") for b in mail.recipient_blocks(m)]
        want_st = [status] if isinstance(status, str) else list(status)
        if sorted(sts) != sorted(want_st):
            fail("DSN Status fields %s, expected %s" % (sts, want_st), data)
    text = mail.text_of(m, "text/plain")
    html = mail.text_of(m, "text/html")
    nt = _norm(text)
    for g in guidance:
        if isinstance(g, AnyOf):
            if not any(x in nt for x in g):
                fail("none of the catalogue texts %r is in the text part" % list(g), data)
        elif _norm(g) not in nt:
            fail("guidance %r not in the text part" % g, data)
    if not html.strip():
        fail("empty HTML part", data)
    return m


def unchanged_exim_bounce(data):
    """A bounce exactly as Exim makes it: no category header, Exim's own
    text/plain first part, Status still generic for failures."""
    m = no_defects(data)
    if mail.header_values(data, "X-Bounce-Category"):
        fail("X-Bounce-Category present on a message that should be untouched", data)
    parts = list(m.iter_parts()) if m.is_multipart() else []
    if parts and parts[0].get_content_type() != "text/plain":
        fail("first part is %s, not Exim's text/plain" % parts[0].get_content_type(), data)
    if "created automatically by mail delivery software" not in mail.text_of(m):
        fail("Exim's own explanation is missing", data)
    return m


def original_identical(data, sent):
    """The returned message part ends with the exact message we submitted
    (Exim only prepends its trace headers): headers as sent, body byte for
    byte."""
    raw = mail.raw_original(data)
    if raw is None:
        fail("no returned-message part", data)
    inner = mail.part_body(raw)
    sent = sent if isinstance(sent, bytes) else sent.encode()
    sent = sent.replace(b"\r\n", b"\n")
    inner_lf = inner.replace(b"\r\n", b"\n")
    if not inner_lf.endswith(sent) and not inner_lf.rstrip(b"\n").endswith(sent.rstrip(b"\n")):
        fail("returned original differs from the submitted message", data)
    return inner


def original_headers_identical(data, sent):
    """The returned part (text/rfc822-headers in a delay warning) holds the
    submitted message's header block byte for byte."""
    raw = mail.raw_original(data)
    if raw is None:
        fail("no returned-message part", data)
    inner = mail.part_body(raw).replace(b"\r\n", b"\n")
    sent = sent if isinstance(sent, bytes) else sent.encode()
    hb = mail.raw_header_block(sent.replace(b"\r\n", b"\n"))
    if hb not in inner:
        fail("returned headers differ from the submitted ones", data)
    return inner


def same_original_part(a, b):
    """Two reports return byte-identical original parts (part body)."""
    ra, rb = mail.raw_original(a), mail.raw_original(b)
    if ra is None or rb is None or mail.part_body(ra) != mail.part_body(rb):
        fail("returned original parts differ")


def panic_clean(sb):
    lines = sb.panic_lines()
    if lines:
        fail("panic log: %s" % lines[:5])


def plugin_lines(text):
    """Main-log lines written by the plugin."""
    return [l for l in text.splitlines() if "bounceguide:" in l]


# informational lines of a working plugin: the rewrite summary and the
# suppression store's / auth diagnosis's own records
INFO = ("report rewritten", "bounceguide: store:", "bounceguide: auth:", "bounceguide: timing:")


def problem_lines(text):
    """Plugin main-log lines that report a problem (not the INFO ones)."""
    return [l for l in plugin_lines(text) if not any(i in l for i in INFO)]
