"""Issue 6 (hostile input), inside the real Exim: a remote server's reply
carrying Exim expansion syntax, HTML and a header-looking text reaches
the bounce Exim makes, the plugin rewrites that bounce, and nothing is
ever expanded: the file the expansion would create does not exist, the
text appears verbatim (HTML-escaped in the HTML part), and no header or
MIME part comes from the remote text. The core side of the same promises
is tests/unit/test_inject.c.
"""

import os
import re

import checks
import engine_check
import mail
from sandbox import TOP, wait_for

SANDBOX = dict(plugin=os.path.join(TOP, "build", "bounceguide.so"),
               bgconf="# e2e: injection\n", name="inject")


def _ws(s):
    """Runs of white space as one blank (the text part wraps lines)."""
    return re.sub(r"\s+", " ", s)


def test_expansion_in_remote_reply_never_runs(sb):
    pwned = sb.path("pwned")
    if os.path.exists(pwned):
        os.unlink(pwned)
    frm = sb.add_user("cinj")
    rcpt = "victim@remote.test"
    payload = "${run{/bin/touch %s}}" % pwned
    reply = ("550 5.1.1 <%s>: unknown %s $primary_hostname ${readfile{/etc/hostname}}"
             " <script>alert(1)</script>" % (rcpt, payload))
    sb.peer.set_rule(rcpt, rcpt=reply)
    mark = sb.log_mark()
    sent = mail.make_message(frm, [rcpt], "injection e2e")
    sb.submit(frm, [rcpt], sent)
    b = sb.wait_mail("cinj", 1)[0]
    msg = mail.parse(b)

    # rewritten by the plugin, and nothing ran
    checks.enriched(b, "unknown-user", status="5.1.1")
    if os.path.exists(pwned):
        checks.fail("the expansion in the remote reply ran: %s exists" % pwned, b)

    # verbatim in the text part, escaped in the HTML part
    text = _ws(mail.text_of(msg, "text/plain"))
    for want in (payload, "$primary_hostname", "${readfile{/etc/hostname}}",
                 "<script>alert(1)</script>"):
        if _ws(want) not in text:
            checks.fail("%r not verbatim in the text part" % want, b)
    html = mail.text_of(msg, "text/html")
    if "<script>alert(1)</script>" in html:
        checks.fail("live <script> in the HTML part", b)
    if "&lt;script&gt;alert(1)&lt;/script&gt;" not in _ws(html):
        checks.fail("escaped script text missing from the HTML part", b)
    if _ws(payload) not in _ws(html):
        checks.fail("expansion text missing from the HTML part", b)

    # the hostname was not substituted anywhere in our parts
    hostname = open("/etc/hostname").read().strip() if os.path.exists("/etc/hostname") else ""
    if hostname and ("unknown %s" % hostname) in text:
        checks.fail("a variable was expanded into the text part", b)

    checks.original_identical(b, sent)
    checks.panic_clean(sb)
    bad = checks.problem_lines(sb.log_since(mark))
    if bad:
        checks.fail("unexpected plugin log lines: %s" % bad)
    # still nothing after the queue has settled
    sb.wait_queue_empty()
    if os.path.exists(pwned):
        checks.fail("%s appeared after delivery" % pwned)


def test_header_text_in_remote_reply_makes_no_header(sb):
    frm = sb.add_user("chdr")
    rcpt = "nobody@remote.test"
    # a multi-line reply whose lines look like headers and a boundary
    reply = ("550-5.1.1 <%s>: user unknown\n"
             "550-X-Injected: yes\n"
             "550-Bcc: victim@example.com\n"
             "550 --=_bg-alt-0000000000000000" % rcpt)
    sb.peer.set_rule(rcpt, rcpt=reply)
    sent = mail.make_message(frm, [rcpt], "header e2e")
    sb.submit(frm, [rcpt], sent)
    b = sb.wait_mail("chdr", 1)[0]
    checks.enriched(b, "unknown-user", status="5.1.1")
    msg = mail.parse(b)
    for name in ("X-Injected", "Bcc"):
        if msg.get(name) is not None:
            checks.fail("header %s created from the remote reply" % name, b)
    alt = mail.find_part(msg, "multipart/alternative")
    if alt is None or [p.get_content_type() for p in alt.get_payload()] != ["text/plain",
                                                                           "text/html"]:
        checks.fail("the guidance part is not text/plain + text/html", b)
    for part in msg.walk():
        if part.get("X-Injected") is not None or part.get("Bcc") is not None:
            checks.fail("a MIME part got a header from the remote reply", b)
    checks.original_identical(b, sent)
    checks.panic_clean(sb)


def test_hostile_report_exim_writes_the_engines_lines(sb):
    """Issue 14: the injection payloads through the real Exim give exactly
    the engine's output (lib/engine_check.py: Exim's bounce, rewriting
    off, comes back as a report from elsewhere; local_scan rewrites it;
    `bounceguide render` on the same input must equal the delivered
    bytes), and the fields Exim added are clean: a returned Subject that
    decodes to CR LF and header lines, a reply with header-looking lines,
    expansion syntax and markup."""
    rcpt = "hostile@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550-5.1.1 <%s>: unknown ${run{/bin/true}}\n"
                                "550-X-Injected: yes\n"
                                "550 Bcc: victim@example.com <script>x</script>" % rcpt)
    msg = mail.make_message("crawinj@local.test", [rcpt], "x", "Hallo.\n")
    msg = msg.replace(b"Subject: x", b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe=0D=0AX-Injected:_1"
                      b"=0D=0ABcc:_victim@example.com=0A=0A--x?=")
    raw = engine_check.raw_bounce(sb, "crawinj", [rcpt], msg)
    got = engine_check.exim_equals_engine(sb, raw, "ccmpinj")
    checks.enriched(got, "unknown-user", status="5.1.1")
    m = mail.parse(got)
    for name in ("X-Injected", "Bcc"):
        if m.get(name) is not None:
            checks.fail("header %s created from remote text" % name, got)
    for name in ("Subject", "X-Bounce-Category", "X-Bounce-Severity"):
        f = engine_check.added_field(got, name)
        lines = f.split(b"\n")[:-1]
        if any(l[:1] not in (b" ", b"\t") for l in lines[1:]) or \
                any(len(l) > 998 or b"\r" in l or any(c < 0x20 and c != 9 or c > 0x7e for c in l)
                    for l in lines):
            checks.fail("field %s is not clean, folded ASCII: %r" % (name, f), got)
    if "Grüße" not in str(m["subject"]):
        checks.fail("the returned Subject's text is not in the new Subject: %r" % m["subject"], got)
    checks.panic_clean(sb)
