"""ARF feedback reports (RFC 5965) as feedback loops send them, for the
complaint end-to-end tests (test_complaint.py)."""

import time


def report(to, orig_msgid, rcpt=None, orig_to=None, orig_from="sender@local.test",
           return_path=None, feedback_type="abuse", reporting="mx.remote.test",
           source_ip="127.0.0.1", returned="headers", extra_fields=""):
    """One ARF report (bytes) to `to` about the message orig_msgid.

    rcpt: the Original-Rcpt-To (None: no such field, as redacting feedback
    loops send it; a list: one field each). orig_to: the returned
    message's To: (default rcpt). return_path: the returned message's
    Return-Path (None: none). returned: "headers" (text/rfc822-headers) or
    "message" (message/rfc822)."""
    rcpts = rcpt if isinstance(rcpt, list) else ([rcpt] if rcpt else [])
    fields = "".join("Original-Rcpt-To: <%s>\n" % r for r in rcpts)
    if feedback_type is not None:
        fields = "Feedback-Type: %s\n" % feedback_type + fields
    if orig_to is None:
        orig_to = rcpts[0] if rcpts else "undisclosed-recipients:;"
    rp = "Return-Path: <%s>\n" % return_path if return_path else ""
    orig = ("%sReceived: from out.local.test by %s; Mon, 23 Nov 2026 09:00:00 +0000\n"
            "From: %s\nTo: %s\nSubject: our newsletter\nDate: Mon, 23 Nov 2026 08:59:00 +0000\n"
            "Message-ID: %s\n" % (rp, reporting, orig_from, orig_to, orig_msgid))
    if returned == "message":
        part3 = "Content-Type: message/rfc822\n\n%s\nThe newsletter text.\n" % orig
    else:
        part3 = "Content-Type: text/rfc822-headers\n\n%s" % orig
    return ("""From: Feedback Loop <feedback@arf.%(rep)s>
To: %(to)s
Subject: Email Feedback Report for IP %(ip)s
Date: Mon, 23 Nov 2026 09:30:00 +0000
Message-ID: <arf-%(n)d@%(rep)s>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARFB"

--ARFB
Content-Type: text/plain

This is an email abuse report for an email message received from IP
%(ip)s on Mon, 23 Nov 2026 09:00:00 +0000.

--ARFB
Content-Type: message/feedback-report

%(fields)sUser-Agent: FBL-e2e/1.0
Version: 1
Original-Mail-From: <%(from)s>
Arrival-Date: Mon, 23 Nov 2026 09:00:00 +0000
Reporting-MTA: dns; %(rep)s
Source-IP: %(ip)s
%(extra)s
--ARFB
%(part3)s
--ARFB--
""" % {"rep": reporting, "to": to, "ip": source_ip, "fields": fields, "from": orig_from,
       "part3": part3, "extra": extra_fields, "n": int(time.time() * 1e6)}).encode()
