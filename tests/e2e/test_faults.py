"""Issue 3, fail open: whatever goes wrong inside the plugin, the bounce is
delivered exactly as Exim made it and the main log holds one line naming
the problem; the panic log holds nothing from the plugin.
"""

import os

import checks
import mail
from sandbox import TOP

SANDBOX = dict(plugin=os.path.join(TOP, "build", "bounceguide.so"), bgconf="", name="faults",
               # wire-format spool for SMTP input (the case below); bounces
               # Exim makes itself are spooled normally
               extra_main="spool_wireformat = true")


def _bounce(sb, user, bgconf):
    """Make Exim bounce a message from user with bgconf in place; return
    (bounce bytes, submitted message, plugin log lines for the bounce)."""
    sb.set_bgconf(bgconf)
    frm = sb.add_user(user)
    rcpt = "%s-x@remote.test" % user
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt)
    msg = mail.make_message(frm, rcpt, "fault case " + user)
    mark = sb.log_mark()
    sb.submit(frm, [rcpt], msg)
    b = sb.wait_mail(user, 1)[0]
    sb.wait_queue_empty()
    return b, msg, checks.problem_lines(sb.log_since(mark))


def _unchanged(sb, b, msg, lines, needle):
    checks.unchanged_exim_bounce(b)
    st = [x.get("status") for x in mail.recipient_blocks(mail.parse(b))]
    if st != ["5.0.0"]:
        checks.fail("Status changed: %s" % st, b)
    if mail.header_values(b, "Subject") != ["Mail delivery failed: returning message to sender"]:
        checks.fail("Subject changed", b)
    checks.original_identical(b, msg)
    if len(lines) != 1 or needle not in lines[0]:
        checks.fail("expected one plugin log line with %r, got %s" % (needle, lines))
    checks.panic_clean(sb)


def test_config_broken(sb):
    sb.set_bgconf("max_size = 1M\nthis line has no equals sign\n")
    b, msg, lines = _bounce_nowrite(sb, "fbroken")
    _unchanged(sb, b, msg, lines, "config broken")


def test_config_unreadable(sb):
    # a directory where the file should be: exists, cannot be read as a file
    p = sb.path("bounceguide.conf")
    os.unlink(p)
    os.mkdir(p)
    try:
        b, msg, lines = _bounce_nowrite(sb, "funread")
    finally:
        os.rmdir(p)
        sb.set_bgconf("")
    _unchanged(sb, b, msg, lines, "config")


def _bounce_nowrite(sb, user):
    frm = sb.add_user(user)
    rcpt = "%s-x@remote.test" % user
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: User unknown" % rcpt)
    msg = mail.make_message(frm, rcpt, "fault case " + user)
    mark = sb.log_mark()
    sb.submit(frm, [rcpt], msg)
    b = sb.wait_mail(user, 1)[0]
    sb.wait_queue_empty()
    return b, msg, checks.problem_lines(sb.log_since(mark))


def test_over_size_limit(sb):
    b, msg, lines = _bounce(sb, "fsize", "max_size = 1K\n")
    _unchanged(sb, b, msg, lines, "over max_size")


def _data_dir(sb, name, en_text):
    """A data_dir inside the sandbox holding guidance/en.conf = en_text
    (None: no catalogue at all); returns its path."""
    d = sb.path(name)
    os.makedirs(os.path.join(d, "guidance"), exist_ok=True)
    os.chmod(d, 0o755)
    os.chmod(os.path.join(d, "guidance"), 0o755)
    if en_text is not None:
        sb.write_file(os.path.join(name, "guidance", "en.conf"), en_text)
    return d


def test_catalogue_missing(sb):
    """data_dir without guidance/en.conf: the bounce goes out exactly as
    Exim made it, with one log line naming the missing file."""
    d = _data_dir(sb, "share-empty", None)
    b, msg, lines = _bounce(sb, "fcatmiss", "data_dir = %s\n" % d)
    _unchanged(sb, b, msg, lines, "catalogue missing")
    if os.path.join(d, "guidance", "en.conf") not in lines[0]:
        checks.fail("the log line does not name the file: %s" % lines)


def test_catalogue_broken(sb):
    d = _data_dir(sb, "share-broken", "[unknown-user]\nheadline = {nonsense}\n")
    b, msg, lines = _bounce(sb, "fcatbad", "data_dir = %s\n" % d)
    _unchanged(sb, b, msg, lines, "catalogue broken")


def test_catalogue_from_data_dir(sb):
    """The installed catalogue is what the bounce says: a changed headline
    in data_dir shows up."""
    with open(os.path.join(TOP, "conf", "guidance", "en.conf")) as f:
        text = f.read()
    text = text.replace("[unknown-user]\n", "[unknown-user]\nheadline = DATA-DIR HEADLINE for {recipient}\n", 1)
    d = _data_dir(sb, "share-good", text)
    b, msg, lines = _bounce(sb, "fcatdir", "data_dir = %s\n" % d)
    checks.enriched(b, "unknown-user", status="5.1.1")
    if b"DATA-DIR HEADLINE for" not in b:
        checks.fail("the data_dir catalogue was not used", b)
    if lines:
        checks.fail("unexpected log lines: %s" % lines)


def test_catalogue_override_missing(sb):
    """A guidance override that cannot be read is ignored with one log
    line; the catalogue still enriches the bounce."""
    b, msg, lines = _bounce(sb, "fcat", "guidance_file = @@DIR@@/no-such-guidance.conf\n".replace(
        "@@DIR@@", sb.dir))
    checks.enriched(b, "unknown-user", status="5.1.1", guidance=checks.guidance("unknown-user"))
    checks.original_identical(b, msg)
    other = lines
    if len(other) != 1 or "no-such-guidance.conf" not in other[0]:
        checks.fail("expected one log line naming the missing catalogue, got %s" % other)
    checks.panic_clean(sb)


def test_language_missing_falls_back(sb):
    b, msg, lines = _bounce(sb, "flang", "language = xx\n")
    checks.enriched(b, "unknown-user", status="5.1.1")
    other = lines
    if len(other) != 1 or "xx" not in other[0]:
        checks.fail("expected one log line about language xx, got %s" % other)


def test_wireformat_spool_left_alone(sb):
    """A bounce received with CHUNKING into a wire-format spool file is not
    rewritten (body_linecount is 0 there) and says so once. It is relayed
    to the peer: Exim 4.96 itself delivers an empty body to a maildir from
    a wire-format spool file, with or without the plugin."""
    sb.set_bgconf("")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                           "postfix-550-5.1.1.eml"), "rb") as f:
        raw = f.read()
    n = len(sb.peer.received)
    mark = sb.log_mark()
    sb.submit_bdat("", ["fwire@remote.test"], raw)
    got = sb.peer.wait_received(n + 1)[n][2]
    if b"X-Bounce-Category" in got:
        checks.fail("rewritten despite the wire-format spool", got)
    body_in = raw.split(b"\n\n", 1)[1]
    if not got.replace(b"\r\n", b"\n").endswith(body_in):
        checks.fail("body changed", got)
    lines = checks.problem_lines(sb.log_since(mark))
    if len(lines) != 1 or "wire-format" not in lines[0]:
        checks.fail("expected one wire-format log line, got %s" % lines)
    checks.panic_clean(sb)


def test_disabled_for_sender_domain(sb):
    """enabled = no in the sender domain's section: Exim's bounce as is,
    nothing logged (a choice, not a problem)."""
    b, msg, lines = _bounce(sb, "foff", "[domain local.test]\nenabled = no\n")
    checks.unchanged_exim_bounce(b)
    checks.original_identical(b, msg)
    if lines:
        checks.fail("unexpected plugin lines: %s" % lines)


def test_other_domain_section_does_not_apply(sb):
    b, msg, lines = _bounce(sb, "fother", "[domain elsewhere.test]\nenabled = no\n")
    checks.enriched(b, "unknown-user", status="5.1.1")


def test_good_config_after_faults(sb):
    """The same daemon enriches again once the config is fixed (the plugin
    re-reads a changed file)."""
    b, msg, lines = _bounce(sb, "fgood", "max_size = 4M\n")
    checks.enriched(b, "unknown-user", status="5.1.1")
    checks.original_identical(b, msg)
    if lines:
        checks.fail("unexpected plugin lines: %s" % lines)


def test_rewrite_inbound_off(sb):
    """rewrite_inbound = no: a bounce from another server passes as it came,
    while Exim's own bounces are still enriched."""
    sb.set_bgconf("rewrite_inbound = no\n")
    sb.add_user("finb")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                           "postfix-550-5.1.1.eml"), "rb") as f:
        raw = f.read().replace(b"cin@local.test", b"finb@local.test")
    mark = sb.log_mark()
    sb.submit("", ["finb@local.test"], raw)
    d = sb.wait_mail("finb", 1)[0]
    if mail.header_values(d, "X-Bounce-Category"):
        checks.fail("inbound bounce rewritten despite rewrite_inbound = no", d)
    if not d.replace(b"\r\n", b"\n").endswith(raw.split(b"\n\n", 1)[1]):
        checks.fail("inbound bounce body changed", d)
    if checks.problem_lines(sb.log_since(mark)):
        checks.fail("unexpected plugin lines: %s" % checks.problem_lines(sb.log_since(mark)))
    b, msg, lines = _bounce(sb, "finb2", "rewrite_inbound = no\n")
    checks.enriched(b, "unknown-user", status="5.1.1")
