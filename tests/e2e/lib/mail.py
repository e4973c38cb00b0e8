"""Reading delivered messages in the end-to-end tests: parse with Python's
email package (policy=default), list MIME defects, get at the parts of a
delivery report, and find the raw bytes of a part for byte-for-byte checks.
"""

import email
import email.policy
import re


def parse(data):
    """bytes -> EmailMessage (policy=default)."""
    return email.message_from_bytes(data, policy=email.policy.default)


def defects(msg):
    """Every MIME defect of the message and its parts, as strings."""
    out = []
    for part in msg.walk():
        for d in part.defects:
            out.append("%s: %s" % (part.get_content_type(), type(d).__name__))
    return out


def find_part(msg, ctype):
    """The first part of type ctype (walk order), or None."""
    for part in msg.walk():
        if part.get_content_type() == ctype:
            return part
    return None


def text_of(msg, ctype="text/plain"):
    """Decoded text of the first part of that type ("" when none)."""
    p = find_part(msg, ctype)
    if p is None:
        return ""
    try:
        return p.get_content()
    except Exception:  # a broken part is a test failure elsewhere
        return p.get_payload(decode=True).decode("utf-8", "replace")


def dsn_blocks(msg):
    """The message/delivery-status part as a list of dicts: the per-message
    block first, then one per recipient. Field names lower case."""
    p = find_part(msg, "message/delivery-status")
    if p is None:
        return []
    out = []
    for blk in p.get_payload():
        out.append({k.lower(): str(v) for k, v in blk.items()})
    return out


def recipient_blocks(msg):
    return dsn_blocks(msg)[1:]


def raw_header_block(data):
    """The top-level header block (bytes, without the blank line)."""
    m = re.search(rb"\r?\n\r?\n", data)
    return data[:m.start()] if m else data


def header_values(data, name):
    """Raw values of a top-level header (unfolded), in order."""
    hb = raw_header_block(data).decode("latin-1")
    hb = re.sub(r"\r?\n[ \t]", " ", hb)
    out = []
    for line in hb.splitlines():
        if ":" in line and line.split(":", 1)[0].strip().lower() == name.lower():
            out.append(line.split(":", 1)[1].strip())
    return out


def raw_parts(data, boundary):
    """The raw bytes of each body part between --boundary lines (part
    headers included, the line end before the next delimiter excluded)."""
    b = re.escape(b"--" + boundary.encode())
    delims = list(re.finditer(rb"(?m)^" + b + rb"(--)?[ \t]*\r?$\n?", data))
    out = []
    for i in range(len(delims) - 1):
        start = delims[i].end()
        end = delims[i + 1].start()
        chunk = data[start:end]
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        elif chunk.endswith(b"\n"):
            chunk = chunk[:-1]
        out.append(chunk)
        if delims[i].group(1):
            break
    return out


def part_body(raw):
    """The body of a raw part (after its header block)."""
    m = re.search(rb"\r?\n\r?\n", raw)
    return raw[m.end():] if m else b""


def raw_original(data):
    """Raw bytes of the returned-message part (message/rfc822,
    message/global or text/rfc822-headers) of a report, part headers
    included; None when absent."""
    msg = parse(data)
    bnd = msg.get_boundary()
    if not bnd:
        return None
    for raw in raw_parts(data, bnd):
        ct = re.search(rb"(?im)^content-type:\s*([a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+)", raw)
        if ct and ct.group(1).lower() in (b"message/rfc822", b"message/global",
                                         b"text/rfc822-headers"):
            return raw
    return None


_seq = [0]


def make_message(frm, to, subject="test", body="Hello.\n", extra_headers=(), msgid=None):
    """A small RFC 5322 message (bytes, LF line ends) with a unique
    Message-ID; to may be a list."""
    _seq[0] += 1
    to = ", ".join(to) if isinstance(to, (list, tuple)) else to
    msgid = msgid or "<e2e-%d-%d@local.test>" % (id(_seq), _seq[0])
    h = ["From: %s" % frm, "To: %s" % to, "Subject: %s" % subject,
         "Date: Mon, 23 Nov 2026 09:00:00 +0000", "Message-ID: %s" % msgid,
         "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    h += list(extra_headers)
    return ("\n".join(h) + "\n\n" + body).encode()
