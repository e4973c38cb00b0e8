"""Issue 3: every bounce leaves enriched. Real Exim generates the bounces
from the scripted peer's replies (or receives one over SMTP); the plugin
rewrites them in local_scan; the delivered message is checked as MIME,
for its category, guidance, corrected Status and the untouched original.
"""

import os
import re

import checks
import engine_check
import mail
from sandbox import TOP, wait_for

SANDBOX = dict(plugin=os.path.join(TOP, "build", "bounceguide.so"),
               bgconf="# e2e: defaults\n", name="enrich",
               delay_warning="2s:1h")

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def _send(sb, user, rcpts, subject="e2e", body="Hello from the e2e test.\n", **kw):
    """Submit a fresh message from user@local.test; returns its bytes."""
    frm = sb.add_user(user)
    rcpts = [rcpts] if isinstance(rcpts, str) else rcpts
    msg = mail.make_message(frm, rcpts, subject, body)
    sb.submit(frm, rcpts, msg, **kw)
    return msg


def _report(sb, user, want=("failed",), timeout=20, poke=None):
    """Wait for the first report in user's mailbox whose DSN actions are in
    want; poke() runs between polls (a queue run)."""
    def find():
        if poke:
            poke()
        for m in sb.mailbox(user):
            acts = [b.get("action", "").lower() for b in mail.recipient_blocks(mail.parse(m))]
            if acts and all(a in want for a in acts):
                return m
        return None
    return wait_for(find, timeout, "%s report for %s" % ("/".join(want), user),
                    step=0.5 if poke else 0.05)


def _common(sb, data, sent=None, mark=None):
    """Checks every enriched case shares."""
    if sent is not None:
        checks.original_identical(data, sent)
    checks.panic_clean(sb)
    if mark is not None:
        bad = checks.problem_lines(sb.log_since(mark))
        if bad:
            checks.fail("unexpected plugin log lines: %s" % bad)


def test_rcpt_550_unknown_user(sb):
    mark = sb.log_mark()
    sb.peer.set_rule("nosuch@remote.test",
                     rcpt="550 5.1.1 <nosuch@remote.test>: Recipient address rejected: User unknown")
    sent = _send(sb, "c550", "nosuch@remote.test", "Quarterly report")
    b = _report(sb, "c550")
    checks.enriched(b, "unknown-user", status="5.1.1",
                    guidance=checks.guidance("unknown-user") + ["nosuch@remote.test"])
    # the admin section quotes the remote reply verbatim
    if "Recipient address rejected: User unknown" not in mail.text_of(mail.parse(b)):
        checks.fail("remote reply not quoted", b)
    subj = str(mail.parse(b)["subject"])
    if "Quarterly report" not in subj:
        checks.fail("subject does not name the original: %r" % subj, b)
    _common(sb, b, sent, mark)


def test_4xx_mailbox_full_fails_by_retry_rule(sb):
    mark = sb.log_mark()
    sb.peer.set_rule("full@fail.test", rcpt="452 4.2.2 <full@fail.test>: Mailbox full, quota exceeded")
    sent = _send(sb, "cfull", "full@fail.test")
    b = _report(sb, "cfull")
    checks.enriched(b, "mailbox-full", status=None, guidance=checks.guidance("mailbox-full"))
    st = [x.get("status") for x in mail.recipient_blocks(mail.parse(b))]
    if st not in (["4.2.2"], ["5.2.2"]):
        checks.fail("Status not corrected: %s" % st, b)
    _common(sb, b, sent, mark)


def test_554_after_data(sb):
    mark = sb.log_mark()
    sb.peer.set_rule("filtered@remote.test",
                     data="554 5.7.1 Message rejected: spam content detected (UBE)")
    sent = _send(sb, "cdata", "filtered@remote.test", "Offer")
    b = _report(sb, "cdata")
    checks.enriched(b, "content-rejected", status="5.7.1",
                    guidance=checks.guidance("content-rejected"))
    _common(sb, b, sent, mark)


def test_three_recipients_three_categories(sb):
    mark = sb.log_mark()
    sb.peer.set_rule("gone@remote.test", rcpt="550 5.1.1 <gone@remote.test>: user unknown")
    sb.peer.set_rule("tiny@remote.test", rcpt="552 5.2.2 <tiny@remote.test>: mailbox full")
    sb.peer.set_rule("blk@remote.test",
                     rcpt="550 5.7.1 Service unavailable; client [127.0.0.1] blocked using zen.spamhaus.org")
    sent = _send(sb, "c3", ["gone@remote.test", "tiny@remote.test", "blk@remote.test"])
    b = _report(sb, "c3")
    m = checks.enriched(b, ["unknown-user", "mailbox-full", "sender-blocklisted"],
                        status=["5.1.1", "5.2.2", "5.7.1"])
    blocks = {x["final-recipient"].split(";")[-1].strip(): x for x in mail.recipient_blocks(m)}
    want = {"gone@remote.test": "unknown-user", "tiny@remote.test": "mailbox-full",
            "blk@remote.test": "sender-blocklisted"}
    for r, cat in want.items():
        if blocks.get(r, {}).get("x-bounce-category") != cat:
            checks.fail("%s: X-Bounce-Category %r, want %r" % (r, blocks.get(r), cat), b)
    text = mail.text_of(m)
    for r in want:
        if r not in text:
            checks.fail("%s not named in the text" % r, b)
    _common(sb, b, sent, mark)


def test_retry_timeout_bounce(sb):
    mark = sb.log_mark()
    sb.peer.set_rule("later@timeout.test", rcpt="451 4.3.0 <later@timeout.test>: temporary failure")
    sent = _send(sb, "ctime", "later@timeout.test")
    # first attempt defers; queue runs (bounded) until the 2 s retry limit
    # is passed and Exim bounces with "retry timeout exceeded"
    b = _report(sb, "ctime", timeout=30, poke=sb.run_queue)
    # the classifier names the cause when the last reply gives one (here a
    # 4.3.0 server problem); "expired" is for a give-up without a cause
    checks.enriched(b, "remote-server-error", status="4.3.0",
                    guidance=checks.guidance("remote-server-error"))
    if "retry timeout exceeded" not in mail.recipient_blocks(mail.parse(b))[0]["diagnostic-code"]:
        checks.fail("not a retry-timeout bounce", b)
    _common(sb, b, sent, mark)


def test_delay_warning(sb):
    mark = sb.log_mark()
    sb.peer.set_rule("slow@slow.test", rcpt="451 4.7.1 <slow@slow.test>: greylisted, try again later")
    sent = _send(sb, "cdelay", "slow@slow.test")
    try:
        b = _report(sb, "cdelay", want=("delayed",), timeout=30, poke=sb.run_queue)
    finally:
        sb.remove_queued([i for i in sb.queue_ids()])
    m = checks.enriched(b, "greylisted", status="4.7.1")
    checks.original_headers_identical(b, sent)
    sev = mail.header_values(b, "X-Bounce-Severity")
    if sev != ["delay"]:
        checks.fail("X-Bounce-Severity %s, want delay" % sev, b)
    text = checks._norm(mail.text_of(m))
    if "still trying" not in text:
        checks.fail("a delay must read as 'still trying'", b)
    # Exim 4.96 writes no Will-Retry-Until: the guidance says until when
    # from the arrival and retry_give_up (bounceguide.conf, default 4d)
    if any(blk.get("will-retry-until") for blk in mail.recipient_blocks(m)):
        checks.fail("Exim wrote Will-Retry-Until after all: the fallback is not what is tested", b)
    if not re.search(r"still trying until \d{1,2} [a-z]+ \d{4}, \d\d:\d\d utc", text, re.I):
        checks.fail("a delay must say until when we keep trying", b)
    if "couldn't be delivered" in text.split("original explanation")[0]:
        checks.fail("a delay rendered as a failure", b)
    _common(sb, b, None, mark)


def test_success_dsn_unchanged(sb):
    mark = sb.log_mark()
    sb.peer.set_rule("fine@remote.test", rcpt="250 2.1.5 OK")
    _send(sb, "cdsn", "fine@remote.test", rcpt_options=["NOTIFY=SUCCESS"])
    d = sb.wait_mail("cdsn", 1)[0]
    m = checks.no_defects(d)
    acts = [x.get("action") for x in mail.recipient_blocks(m)]
    if not acts or any(a not in ("delivered", "relayed") for a in acts):
        checks.fail("not a success DSN: %s" % acts, d)
    if mail.header_values(d, "X-Bounce-Category") or b"bounceguide" in d:
        checks.fail("success DSN was touched", d)
    if checks.plugin_lines(sb.log_since(mark)):
        checks.fail("plugin logged for a success DSN: %s" % checks.plugin_lines(sb.log_since(mark)))
    checks.panic_clean(sb)


def test_plain_message_unchanged(sb):
    mark = sb.log_mark()
    sb.add_user("cplain")
    body = "A plain message.\n\nWith two paragraphs and no report.\n"
    msg = mail.make_message("alice@local.test", "cplain@local.test", "plain", body)
    sb.submit("alice@local.test", ["cplain@local.test"], msg)
    d = sb.wait_mail("cplain", 1)[0]
    if not d.endswith(msg):
        checks.fail("plain message changed", d)
    if checks.plugin_lines(sb.log_since(mark)):
        checks.fail("plugin logged for a plain message")
    checks.panic_clean(sb)


def test_inbound_remote_bounce(sb):
    """A Postfix bounce for our user arrives over SMTP (MAIL FROM:<>)."""
    mark = sb.log_mark()
    sb.add_user("cin")
    with open(os.path.join(FIXTURES, "postfix-550-5.1.1.eml"), "rb") as f:
        raw = f.read()
    sb.submit("", ["cin@local.test"], raw)
    b = sb.wait_mail("cin", 1)[0]
    m = checks.enriched(b, "unknown-user", status="5.1.1",
                        guidance=checks.guidance("unknown-user") + ["ghost@example.net"])
    # the returned original is byte-identical to the one in the fixture
    orig_in = mail.part_body(mail.raw_original(raw.replace(b"\r\n", b"\n")))
    orig_out = mail.part_body(mail.raw_original(b))
    if orig_in != orig_out:
        checks.fail("returned original changed", b)
    if "This is the mail system at host mx.example.net" not in mail.text_of(m):
        checks.fail("the remote server's own explanation is gone", b)
    _common(sb, b, None, mark)


def test_non_bounce_with_null_sender_untouched(sb):
    """An auto-reply with a null sender: looked at, left alone."""
    mark = sb.log_mark()
    sb.add_user("cvac")
    msg = mail.make_message("bob@remote.test", "cvac@local.test", "Out of office",
                            "I am away until Monday.\n",
                            extra_headers=["Auto-Submitted: auto-replied"])
    sb.submit("", ["cvac@local.test"], msg)
    d = sb.wait_mail("cvac", 1)[0]
    if not d.endswith(msg):
        checks.fail("auto-reply changed", d)
    if checks.plugin_lines(sb.log_since(mark)):
        checks.fail("plugin logged for an auto-reply: %s" % checks.plugin_lines(sb.log_since(mark)))


def test_logged_size_matches_delivered(sb):
    """After a rewrite Exim's view of the message (S= on arrival) is the
    rewritten one, and the spool stays consistent (the delivery size is
    the new size plus the delivery headers)."""
    mark = sb.log_mark()
    sb.peer.set_rule("size@remote.test", rcpt="550 5.1.1 <size@remote.test>: no such user")
    _send(sb, "csize", "size@remote.test")
    b = _report(sb, "csize")
    log = sb.wait_log(" => csize ", mark)
    m = re.search(r"(\S+) bounceguide: failure report rewritten \((\d+) -> (\d+) bytes\)", log)
    if not m:
        checks.fail("no rewrite line in the log:\n" + log)
    mid = m.group(1)
    arr = re.search(re.escape(mid) + r" <= <> .* S=(\d+)", log)
    dlv = re.search(re.escape(mid) + r" => csize .* S=(\d+)", log)
    if not arr or not dlv:
        checks.fail("arrival/delivery lines missing for %s:\n%s" % (mid, log))
    if int(arr.group(1)) < int(m.group(3)):
        checks.fail("arrival size %s smaller than the new body %s" % (arr.group(1), m.group(3)))
    if int(dlv.group(1)) < int(arr.group(1)):
        checks.fail("delivered size %s < arrival size %s" % (dlv.group(1), arr.group(1)))
    if abs(len(b) - int(dlv.group(1))) > 200:
        checks.fail("delivered %d bytes, Exim logged S=%s" % (len(b), dlv.group(1)))


def test_inbound_bounce_with_envelope_sender(sb):
    """Some servers send bounces with a non-null envelope sender: the
    multipart/report header alone makes the plugin look, and it enriches."""
    mark = sb.log_mark()
    sb.add_user("cin2")
    with open(os.path.join(FIXTURES, "postfix-550-5.1.1.eml"), "rb") as f:
        raw = f.read().replace(b"cin@local.test", b"cin2@local.test")
    sb.submit("bounces@remote.test", ["cin2@local.test"], raw)
    b = sb.wait_mail("cin2", 1)[0]
    checks.enriched(b, "unknown-user", status="5.1.1")
    _common(sb, b, None, mark)


def test_ordinary_mail_from_postmaster_untouched(sb):
    """A From: postmaster message is looked at (header rule) but is no
    report: delivered byte for byte, nothing logged."""
    mark = sb.log_mark()
    sb.add_user("cpm")
    msg = mail.make_message("postmaster@remote.test", "cpm@local.test", "Maintenance tonight",
                            "The mail server restarts at 22:00.\n")
    sb.submit("admin@remote.test", ["cpm@local.test"], msg)
    d = sb.wait_mail("cpm", 1)[0]
    if not d.endswith(msg):
        checks.fail("message changed", d)
    if checks.plugin_lines(sb.log_since(mark)):
        checks.fail("plugin logged: %s" % checks.plugin_lines(sb.log_since(mark)))


def test_long_non_ascii_subject(sb):
    """A long UTF-8 subject: the new Subject is RFC 2047 encoded, folded
    (no header line over 78 characters where a blank allows it), and
    decodes to a text naming the original subject."""
    mark = sb.log_mark()
    subj = "Rückfrage zur Bestellung Nr. 4711 – Lieferung nach München, " \
           "Änderungswünsche für die Größen und Farben der Artikel"
    frm = sb.add_user("cutf")
    rcpt = "umlaut@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: user unknown" % rcpt)
    msg = mail.make_message(frm, rcpt, "=?utf-8?q?x?=", "Hallo.\n")
    from email.header import Header
    enc = Header(subj, "utf-8").encode(maxlinelen=76)
    msg = msg.replace(b"Subject: =?utf-8?q?x?=", ("Subject: " + enc).encode())
    sb.submit(frm, [rcpt], msg)
    b = _report(sb, "cutf")
    m = checks.enriched(b, "unknown-user", status="5.1.1")
    got = str(m["subject"])
    if "Bestellung Nr. 4711" not in got:
        checks.fail("Subject %r does not name the original" % got, b)
    hb = mail.raw_header_block(b).decode("ascii")  # must be pure ASCII
    unfolded = re.sub(r"\n[ \t]", "\n ", hb)
    subj_lines = unfolded.split("\nSubject:", 1)[1].split("\n")
    subj_lines = [subj_lines[0]] + [l for l in __import__("itertools").takewhile(
        lambda l: l[:1] == " ", subj_lines[1:])]
    for i, line in enumerate(subj_lines):
        full = ("Subject:" + line) if i == 0 else line
        if len(full) > 998:
            checks.fail("Subject line over 998 characters", b)
        if len(full) > 78 and " " in line.strip():
            checks.fail("Subject line not folded at a blank: %r" % full, b)
    _common(sb, b, msg, mark)


def test_large_original_headers_only(sb):
    """A 300 KB message bounces; over bounce_return_size_limit (100K by
    default) Exim 4.96 returns only its headers (text/rfc822-headers). The
    rewritten bounce keeps that part byte for byte."""
    mark = sb.log_mark()
    frm = sb.add_user("cbig")
    rcpt = "big@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: no such user" % rcpt)
    body = "".join("line %06d of a long message, padded to some length......\n" % i
                   for i in range(5000))
    msg = mail.make_message(frm, rcpt, "big one", body)
    sb.submit(frm, [rcpt], msg)
    b = _report(sb, "cbig")
    checks.enriched(b, "unknown-user", status="5.1.1")
    raw = mail.raw_original(b)
    if b"text/rfc822-headers" not in raw.split(b"\n\n", 1)[0]:
        checks.fail("expected Exim's headers-only return", b)
    checks.original_headers_identical(b, msg)
    if b"only headers are returned" not in raw:
        checks.fail("Exim's note on the returned part is gone", b)
    _common(sb, b, None, mark)


def test_original_with_nul_bytes(sb):
    """A returned message carrying NUL bytes: whatever the reader makes of
    it, the bounce is delivered, parses, and nothing reaches the panic log."""
    mark = sb.log_mark()
    frm = sb.add_user("cnul")
    rcpt = "nul@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: no such user" % rcpt)
    msg = mail.make_message(frm, rcpt, "binary", "text\x00with\x00nuls\n")
    sb.submit(frm, [rcpt], msg)
    b = _report(sb, "cnul")
    checks.no_defects(b)
    cats = mail.header_values(b, "X-Bounce-Category")
    probs = checks.problem_lines(sb.log_since(mark))
    if cats:
        checks.enriched(b, "unknown-user", status="5.1.1")
    elif len(probs) != 1:
        checks.fail("unchanged bounce without exactly one log line: %s" % probs, b)
    checks.panic_clean(sb)



def test_exim_adds_exactly_the_engines_lines(sb):
    """Issue 14 (one engine): what the real Exim delivers is byte for byte
    what the engine makes of the same input (lib/engine_check.py): a bounce
    Exim made comes back as a report from elsewhere, local_scan rewrites
    it, and `bounceguide render` on the same input must give the delivered
    bytes. A long subject outside ASCII and three categories make the added
    fields fold."""
    rcpts = ["eng-gone@remote.test", "eng-full@remote.test", "eng-blk@remote.test"]
    sb.peer.set_rule(rcpts[0], rcpt="550 5.1.1 <%s>: user unknown" % rcpts[0])
    sb.peer.set_rule(rcpts[1], rcpt="552 5.2.2 <%s>: mailbox full" % rcpts[1])
    sb.peer.set_rule(rcpts[2], rcpt="550 5.7.1 Service unavailable; client [127.0.0.1] blocked "
                                   "using zen.spamhaus.org")
    from email.header import Header
    subj = ("Rückfrage zur Bestellung Nr. 4711 – Lieferung nach München, "
            "Änderungswünsche für die Größen und Farben der Artikel")
    msg = mail.make_message("craw@local.test", rcpts, "=?utf-8?q?x?=", "Hallo.\n")
    msg = msg.replace(b"Subject: =?utf-8?q?x?=",
                      ("Subject: " + Header(subj, "utf-8").encode(maxlinelen=76)).encode())
    raw = engine_check.raw_bounce(sb, "craw", rcpts, msg)
    mark = sb.log_mark()
    got = engine_check.exim_equals_engine(sb, raw, "ccmp")
    checks.enriched(got, ["unknown-user", "mailbox-full", "sender-blocklisted"])
    # the case tests folding: the Subject Exim added spans several lines
    subj_field = engine_check.added_field(got, "Subject")
    if subj_field.count(b"\n") < 2 or b"=?UTF-8?B?" not in subj_field:
        checks.fail("the added Subject is not an encoded, folded field: %r" % subj_field, got)
    checks.panic_clean(sb)
    if "report rewritten" not in sb.log_since(mark):
        checks.fail("no rewrite line for the report from elsewhere")
