"""The harness itself, without the plugin: the sandbox delivers locally,
the scripted peer's replies reach Exim, Exim's own bounces come back.
These cases guard the tools the other e2e modules rely on."""

import mail
import checks

SANDBOX = dict(plugin=None, name="harness")


def test_local_delivery(sb):
    msg = mail.make_message("alice@local.test", "bob@local.test", "plain", "line one\nline two\n")
    sb.submit("alice@local.test", ["bob@local.test"], msg)
    got = sb.wait_mail("bob", 1)[-1]
    if not got.endswith(b"\nline one\nline two\n"):
        checks.fail("body changed in local delivery", got)


def test_peer_accepts(sb):
    n = len(sb.peer.received)
    msg = mail.make_message("alice@local.test", "ok1@remote.test", "to peer")
    sb.submit("alice@local.test", ["ok1@remote.test"], msg)
    rx = sb.peer.wait_received(n + 1)
    assert rx[-1][1] == ["ok1@remote.test"], rx[-1]
    sb.wait_queue_empty()


def test_peer_rcpt_reject_bounces(sb):
    sb.add_user("h1")
    sb.peer.set_rule("nobody@remote.test", rcpt="550 5.1.1 <nobody@remote.test>: User unknown")
    msg = mail.make_message("h1@local.test", "nobody@remote.test", "x")
    sb.submit("h1@local.test", ["nobody@remote.test"], msg)
    b = sb.wait_mail("h1", 1)[0]
    m = checks.unchanged_exim_bounce(b)
    rb = mail.recipient_blocks(m)
    assert rb and "550 5.1.1" in rb[0]["diagnostic-code"], rb
    checks.original_identical(b, msg)


def test_peer_data_reject_bounces(sb):
    sb.add_user("h2")
    sb.peer.set_rule("spamcheck@remote.test", data="554 5.7.1 Message rejected as spam")
    msg = mail.make_message("h2@local.test", "spamcheck@remote.test", "x")
    sb.submit("h2@local.test", ["spamcheck@remote.test"], msg)
    b = sb.wait_mail("h2", 1)[0]
    rb = mail.recipient_blocks(checks.unchanged_exim_bounce(b))
    assert "554 5.7.1" in rb[0]["diagnostic-code"], rb


def test_retry_rule_fails_4xx_at_once(sb):
    sb.add_user("h3")
    sb.peer.set_rule("full@fail.test", rcpt="452 4.2.2 Mailbox full")
    msg = mail.make_message("h3@local.test", "full@fail.test", "x")
    sb.submit("h3@local.test", ["full@fail.test"], msg)
    b = sb.wait_mail("h3", 1)[0]
    rb = mail.recipient_blocks(checks.unchanged_exim_bounce(b))
    assert "452 4.2.2" in rb[0]["diagnostic-code"], rb


def test_panic_log_clean(sb):
    checks.panic_clean(sb)
