"""Issue 16: cause and timing are two facts, through the real Exim.

A remote server defers with a 4xx for as long as the retry rule allows;
Exim then gives up with "retry timeout exceeded". What Exim 4.96 writes
(observed here): the bounce's text and its Diagnostic-Code carry the last
deferral's reply followed by ": retry timeout exceeded" (also when the
final queue run skips the host because its retry time has not come: Exim
takes the text from its retry database). So the category is the cause of
that last deferral, not "expired", and the rewritten bounce also says how
long we tried and since when. The transports carry the shipped
event_action, so the store records what the event hook saw of each
deferral; the test compares the two.

Cases: a block on our IP at the banner (a second scripted peer that
refuses every connection), a rate limit, greylisting past its window and
a full mailbox (RCPT replies of the shared peer).
"""

import os
import sqlite3
import time

import checks
import mail
import store_helpers
from peer import Peer
from sandbox import wait_for

RETRY = "cause.test * F,3s,1s\nbanner.test * F,3s,1s\n"
BANNER = ("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected "
          "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes")


def make_sandbox():
    banner_peer = Peer(banner=BANNER).start()
    sb = store_helpers.make_sandbox("cause")
    sb.extra["EXTRA_ROUTERS"] = (
        "to_banner_peer:\n  driver = manualroute\n  domains = banner.test\n"
        "  route_list = * 127.0.0.1\n  self = send\n  transport = banner_smtp\n\n"
        + sb.extra["EXTRA_ROUTERS"])
    sb.extra["EXTRA_TRANSPORTS"] += (
        "\nbanner_smtp:\n  driver = smtp\n" + store_helpers.snippet("suppress-transport") +
        "\n  port = %d\n  allow_localhost\n  hosts_avoid_esmtp =\n  connect_timeout = 5s\n"
        % banner_peer.port)
    sb.extra["EXTRA_RETRY"] = RETRY
    sb.banner_peer = banner_peer
    stop = sb.stop

    def stop_all(failed=False):
        try:
            stop(failed=failed)
        finally:
            banner_peer.stop()
    sb.stop = stop_all
    return sb


def _give_up(sb, user, rcpt):
    """Send to rcpt, run the queue (not forced: retry times count) until
    Exim gives up; returns (sent message, bounce bytes)."""
    frm = sb.add_user(user)
    msg = mail.make_message(frm, [rcpt], "cause " + user, "Hello.\n")
    sb.submit(frm, [rcpt], msg)

    def bounce():
        sb.exim("-q")
        for m in sb.mailbox(user):
            if any(b.get("action", "").lower() == "failed"
                   for b in mail.recipient_blocks(mail.parse(m))):
                return m
        return None
    return msg, wait_for(bounce, 40, "retry-timeout bounce for " + user, step=0.7)


def _deferrals(sb, rcpt):
    """What the event hook recorded for rcpt's deferrals (kind, category): soft for a
    counting cause (schema 3: a message's soft events share one kind), defer-info else."""
    p = store_helpers.db_path(sb)
    c = sqlite3.connect("file:%s?mode=ro" % p, uri=True, timeout=5)
    try:
        return [tuple(r) for r in c.execute(
            "SELECT kind, category FROM bg_event WHERE recipient = ? AND source = 'transport' "
            "AND (kind LIKE 'defer%' OR kind = 'soft')", (rcpt.lower(),))]
    finally:
        c.close()


def _check(sb, user, rcpt, category, words):
    mark = sb.log_mark()
    sent, b = _give_up(sb, user, rcpt)
    m = checks.enriched(b, category)
    blk = mail.recipient_blocks(m)[0]
    diag = blk.get("diagnostic-code", "")
    if "retry timeout exceeded" not in diag:
        checks.fail("not a retry-timeout bounce: %r" % diag, b)
    for w in words:
        if w not in diag:
            checks.fail("the last reply is not in the bounce (%r): %r" % (w, diag), b)
    text = checks._norm(mail.text_of(m))
    if "we kept trying for" not in text.lower():
        checks.fail("the bounce does not say how long we tried", b)
    if "expired" in mail.header_values(b, "X-Bounce-Category"):
        checks.fail("classified expired although the last reply names the cause", b)
    seen = _deferrals(sb, rcpt)
    if not seen or any(cat != category for _, cat in seen):
        checks.fail("the event hook saw %s, the bounce says %s" % (seen, category), b)
    checks.original_headers_identical(b, sent)
    checks.panic_clean(sb)
    bad = checks.problem_lines(sb.log_since(mark))
    if bad:
        checks.fail("unexpected plugin log lines: %s" % bad)
    # no cause of the sender's or our own side suppresses the recipient
    r = store_helpers.row(sb, "local.test", rcpt.lower())
    if store_helpers.active(r):
        checks.fail("%s suppressed for a %s deferral: %s" % (rcpt, category, r))


def test_block_on_our_ip(sb):
    _check(sb, "cblock", "someone@banner.test", "sender-blocklisted",
           ["[TSS04]", "unexpected volume"])


def test_rate_limit(sb):
    sb.peer.set_rule("rl@cause.test", rcpt="421 4.7.0 Too many messages, rate limit exceeded, "
                     "try again later")
    _check(sb, "crate", "rl@cause.test", "rate-limited", ["rate limit exceeded"])


def test_greylisted_past_window(sb):
    sb.peer.set_rule("grey@cause.test", rcpt="451 4.7.1 <grey@cause.test>: Recipient address "
                     "rejected: Greylisted, see http://postgrey.schweikert.ch/help/cause.test.html")
    _check(sb, "cgrey", "grey@cause.test", "greylisted", ["Greylisted"])


def test_mailbox_full(sb):
    sb.peer.set_rule("full@cause.test", rcpt="452 4.2.2 <full@cause.test>: Mailbox full, "
                     "quota exceeded")
    _check(sb, "cfull", "full@cause.test", "mailbox-full", ["Mailbox full"])
