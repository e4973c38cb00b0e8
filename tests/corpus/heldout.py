#!/usr/bin/env python3
"""A held-out-style check: replies in the plain wording of older MTAs
(tests/corpus/heldout/replies.tsv, written from each MTA's documented
message formats, none taken from ../shared/corpus), wrapped into the bounce
format of the MTA family that carries them, classified by `bounceguide
classify --json` and, when Debian's libsisimai-perl is installed, by
Sisimai; both are scored the way ../shared/corpus/score.py scores the
corpus (category agreement through reason-map.csv, hard-bounce recall,
false suppression).

    python3 tests/corpus/heldout.py build/bounceguide [--sisimai] [--misses] [--floor N]
"""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATE = "Mon, 1 Jun 2009 10:00:00 +0200"
ORIG = ("Return-Path: <sender@example.org>\nFrom: Sender <sender@example.org>\n"
        "To: <{rcpt}>\nSubject: test\nDate: " + DATE + "\nMessage-ID: <orig{n}@example.org>\n\nhello\n")


def status_of(reply, fallback):
    m = re.search(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b", reply)
    if m:
        return m.group(0)
    m = re.match(r"\s*([45])\d\d\b", reply)
    return (m.group(1) + ".0.0") if m else fallback


def is_smtp(reply):
    return re.match(r"\s*[245]\d\d[ -]", reply) is not None


def report(boundary, human, dsn, n, rcpt, headers_only=False, desc=True):
    orig = ORIG.format(rcpt=rcpt, n=n)
    last = ("Content-Type: text/rfc822-headers\n\n" + orig.split("\n\n")[0] + "\n") if headers_only \
        else "Content-Type: message/rfc822\n\n" + orig
    return ("This is a MIME-encapsulated message\n\n--%s\nContent-Type: text/plain; charset=us-ascii\n\n%s\n"
            "--%s\nContent-Type: message/delivery-status\n\n%s\n--%s\n%s\n--%s--\n") % (
        boundary, human, boundary, dsn, boundary, last, boundary)


def wrap(fmt, reason, reply, n):
    """One bounce message in the format of the MTA family."""
    dom = {"docomo": "docomo.ne.jp", "au": "ezweb.ne.jp", "aol": "aol.com"}.get(fmt, "example.net")
    rcpt = "someone%d@%s" % (n, dom)
    reply = reply.replace("RCPT", rcpt)
    smtp = is_smtp(reply)
    st = status_of(reply, "4.4.7" if reason == "expired" else "5.0.0")
    mx = {"docomo": "mfsmtp-docomo.ne.jp", "aol": "mailin-01.mx.aol.com"}.get(fmt, "mx.example.net")
    b = "B%04d.example.org" % n
    hdr = "Date: %s\nMessage-ID: <bounce%d@mail.example.org>\nTo: <sender@example.org>\nMIME-Version: 1.0\n" % (DATE, n)
    mp = 'Content-Type: multipart/report; report-type=delivery-status; boundary="%s"\n' % b
    if fmt in ("sendmail", "aol"):
        human = ("The original message was received at %s\nfrom client.example.org [192.0.2.55]\n\n"
                 "   ----- The following addresses had permanent fatal errors -----\n<%s>\n    (reason: %s)\n\n"
                 "   ----- Transcript of session follows -----\n... while talking to %s.:\n>>> RCPT To:<%s>\n<<< %s\n"
                 ) % (DATE, rcpt, reply, mx, rcpt, reply) if smtp else (
                 "The original message was received at %s\nfrom client.example.org [192.0.2.55]\n\n"
                 "   ----- The following addresses had permanent fatal errors -----\n<%s>\n    (reason: %s)\n"
                 ) % (DATE, rcpt, reply)
        dsn = ("Reporting-MTA: dns; %s\nArrival-Date: %s\n\nFinal-Recipient: RFC822; %s\nAction: failed\n"
               "Status: %s\n%s%sLast-Attempt-Date: %s\n") % (
            "mail.example.org" if fmt == "sendmail" else "omr-m01.mx.aol.com", DATE, rcpt, st,
            ("Remote-MTA: DNS; %s\n" % mx) if smtp else "", ("Diagnostic-Code: SMTP; %s\n" % reply) if smtp else "", DATE)
        return ("From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.org>\n" + hdr +
                "Subject: Returned mail: see transcript for details\nAuto-Submitted: auto-generated (failure)\n" + mp +
                "\n" + report(b, human, dsn, n, rcpt))
    if fmt in ("postfix", "docomo"):
        if smtp:
            line = "<%s>: host %s[192.0.2.10] said: %s (in reply to RCPT TO command)" % (rcpt, mx, reply)
            diag = "Remote-MTA: dns; %s\nDiagnostic-Code: smtp; %s\n" % (mx, reply)
        else:
            line = "<%s>: %s" % (rcpt, reply)
            diag = "Diagnostic-Code: X-Postfix; %s\n" % reply
        human = ("This is the mail system at host mail.example.org.\n\nI'm sorry to have to inform you that your message could not\n"
                 "be delivered to one or more recipients. It's attached below.\n\nFor further assistance, please send mail to postmaster.\n\n"
                 "If you do so, please include this problem report. You can\ndelete your own text from the attached returned message.\n\n"
                 "                   The mail system\n\n%s\n") % line
        dsn = ("Reporting-MTA: dns; mail.example.org\nX-Postfix-Queue-ID: 3F2A8%d\nX-Postfix-Sender: rfc822; sender@example.org\n"
               "Arrival-Date: %s\n\nFinal-Recipient: rfc822; %s\nOriginal-Recipient: rfc822;%s\nAction: failed\nStatus: %s\n%s") % (
            n, DATE, rcpt, rcpt, st, diag)
        return ("From: MAILER-DAEMON@mail.example.org (Mail Delivery System)\n" + hdr +
                "Subject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n" + mp + "\n" +
                report(b, human, dsn, n, rcpt, headers_only=True))
    if fmt == "postfix-plain":
        line = ("<%s>: host %s[192.0.2.10] said: %s" % (rcpt, mx, reply)) if smtp else "<%s>: %s" % (rcpt, reply)
        body = ("This is the Postfix program at host mail.example.org.\n\nI'm sorry to have to inform you that the message returned\n"
                "below could not be delivered to one or more destinations.\n\nFor further assistance, please send mail to <postmaster>\n\n"
                "If you do so, please include this problem report. You can\ndelete your own text from the message returned below.\n\n"
                "\t\t\tThe Postfix program\n\n%s\n") % line
        return ("From: MAILER-DAEMON@mail.example.org (Mail Delivery System)\n" + hdr +
                "Subject: Undelivered Mail Returned to Sender\n"
                'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\nContent-Description: Notification\n'
                "Content-Type: text/plain\n\n%s\n--%s\nContent-Description: Undelivered Message\nContent-Type: message/rfc822\n\n%s\n--%s--\n"
                ) % (b, b, body, b, ORIG.format(rcpt=rcpt, n=n), b)
    if fmt == "qmail":
        block = ("192.0.2.10 does not like recipient.\nRemote host said: %s\nGiving up on 192.0.2.10.\n" % reply) if smtp else reply + "\n"
        return ("From: MAILER-DAEMON@mail.example.org\n" + hdr + "Subject: failure notice\n\n"
                "Hi. This is the qmail-send program at mail.example.org.\nI'm afraid I wasn't able to deliver your message to the following addresses.\n"
                "This is a permanent error; I've given up. Sorry it didn't work out.\n\n<%s>:\n%s\n--- Below this line is a copy of the message.\n\n%s"
                ) % (rcpt, block, ORIG.format(rcpt=rcpt, n=n))
    if fmt == "exim-plain":
        block = ("    SMTP error from remote mail server after RCPT TO:<%s>:\n    host %s [192.0.2.10]: %s" % (rcpt, mx, reply)) \
            if smtp else "    " + reply
        return ("From: Mail Delivery System <Mailer-Daemon@mail.example.org>\n" + hdr +
                "Subject: Mail delivery failed: returning message to sender\nAuto-Submitted: auto-replied\n\n"
                "This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\n"
                "recipients. This is a permanent error. The following address(es) failed:\n\n  %s\n%s\n\n"
                "------ This is a copy of the message, including all the headers. ------\n\n%s") % (rcpt, block, ORIG.format(rcpt=rcpt, n=n))
    if fmt in ("exchange2003", "x400"):
        why = {"5.1.1": "The e-mail account does not exist at the organization this message was sent to.  Check the e-mail address, or contact the recipient directly to find out the correct address.",
               "5.2.2": "The recipient's mailbox is full and can't accept messages now.  Please try resending this message later, or contact the recipient directly.",
               "5.3.4": "The message was too large for the recipient's mailbox or the destination server.  Please try resending a smaller message."
               }.get(st, "There was a SMTP communication problem with the recipient's email server.  Please contact your system administrator.")
        diag = ("smtp;" + reply) if smtp else reply
        human = ("Your message did not reach some or all of the intended recipients.\n\n      Subject:\ttest\n      Sent:\t6/1/2009 10:00 AM\n\n"
                 "The following recipient(s) could not be reached:\n\n      %s on 6/1/2009 10:00 AM\n            %s\n            <%s #%s %s>\n") % (
            rcpt, why, mx, st, diag)
        fr = ("X400; /C=US/A= /P=EXAMPLE/O=ORG/OU1=EXCH/S=Someone%d/" % n) if fmt == "x400" else "rfc822;" + rcpt
        dsn = ("Reporting-MTA: dns;exch.example.org\nReceived-From-MTA: dns;client.example.org\nArrival-Date: %s\n\n"
               "Original-Recipient: rfc822;%s\nFinal-Recipient: %s\nAction: failed\nStatus: %s\nX-Display-Name: Someone\n") % (DATE, rcpt, fr, st)
        return ("From: System Administrator <postmaster@example.org>\n" + hdr + "Subject: Undeliverable: test\n" + mp + "\n" +
                report(b, human, dsn, n, rcpt, headers_only=True))
    if fmt == "iis":
        human = ("This is an automatically generated Delivery Status Notification.\n\nDelivery to the following recipients failed.\n\n       %s\n" % rcpt)
        dsn = ("Reporting-MTA: dns;iis.example.org\nReceived-From-MTA: dns;client.example.org\nArrival-Date: %s\n\n"
               "Final-Recipient: rfc822;%s\nAction: failed\nStatus: %s\nDiagnostic-Code: smtp;%s\n") % (DATE, rcpt, st, reply)
        return ("From: postmaster@iis.example.org\n" + hdr + "Subject: Delivery Status Notification (Failure)\n" + mp + "\n" +
                report(b, human, dsn, n, rcpt))
    if fmt == "courier":
        human = ("This is a delivery status notification from mail.example.org,\nrunning the Courier mail server, version 0.65.0.\n\n"
                 "The original message was received on %s\nfrom client.example.org (192.0.2.55)\n\n"
                 "---------------------------------------------------------------------------\n\n                           UNDELIVERABLE MAIL\n\n"
                 "Your message to the following recipients cannot be delivered:\n\n<%s>:\n    %s [192.0.2.10]:\n>>> RCPT TO:<%s>\n<<< %s\n\n"
                 "---------------------------------------------------------------------------\n") % (DATE, rcpt, mx, rcpt, reply)
        dsn = ("Reporting-MTA: dns; mail.example.org\nArrival-Date: %s\n\nFinal-Recipient: rfc822; %s\nAction: failed\nStatus: %s\n"
               "Remote-MTA: dns; %s\nDiagnostic-Code: smtp; %s\n") % (DATE, rcpt, st, mx, reply)
        return ("From: Courier mail server at mail.example.org <@>\n" + hdr + "Subject: NOTICE: mail delivery status.\n" + mp + "\n" +
                report(b, human, dsn, n, rcpt))
    if fmt == "domino":
        human = "Your message\n\n  Subject: test\n\nwas not delivered to:\n\n  %s\n\nbecause:\n\n  %s\n" % (rcpt, reply)
        dsn = ("Reporting-MTA: dns;domino.example.org\n\nFinal-Recipient: rfc822;%s\nAction: failed\nStatus: %s\n") % (rcpt, st)
        return ("From: Postmaster <postmaster@example.org>\n" + hdr + "Subject: DELIVERY FAILURE: %s\n" % reply[:60] + mp + "\n" +
                report(b, human, dsn, n, rcpt))
    if fmt == "au":
        return ("From: Postmaster@ezweb.ne.jp\n" + hdr + "Subject: Mail System Error - Returned Mail\n\n"
                "Your mail sent on: %s\n  could not be delivered to the following address:\n\n  %s\n\n  %s\n\n"
                "--- Original message follows.\n\n%s") % (DATE, rcpt, reply, ORIG.format(rcpt=rcpt, n=n))
    raise SystemExit("unknown format " + fmt)


def main():
    args = sys.argv[1:]
    cli = args[0]
    want_sis = "--sisimai" in args
    misses = "--misses" in args
    floor = float(args[args.index("--floor") + 1]) if "--floor" in args else None
    rmap = {}
    with open(os.path.join(TOP, "..", "shared", "corpus", "reason-map.csv")) as f:
        for r in csv.DictReader(f):
            rmap[r["sisimai_reason"]] = (set(r["accepted_categories"].split()), r["suppress_now_is_wrong"] == "yes")
    rows = []
    with open(os.path.join(TOP, "tests", "corpus", "heldout", "replies.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fmt, reason, reply = line.rstrip("\n").split("\t")
            rows.append((fmt, reason, reply))
    tmp = tempfile.mkdtemp(prefix="bg-heldout.")
    files = []
    for n, (fmt, reason, reply) in enumerate(rows, 1):
        p = os.path.join(tmp, "%03d-%s.eml" % (n, fmt))
        with open(p, "w") as f:
            f.write(wrap(fmt, reason, reply, n))
        files.append(p)
    out = subprocess.run([cli, "classify", "--json"] + files, capture_output=True, text=True).stdout
    ours = {}
    for line in out.splitlines():
        d = json.loads(line)
        ours.setdefault(os.path.basename(d["file"]), d)
    sis = {}
    if want_sis:
        perl = ("use Sisimai; for my $f (@ARGV) { my $v = Sisimai->make($f) || []; "
                "for my $e (@$v) { print join(\"\\t\", $f, $e->reason, ($e->softbounce == 0 ? 1 : 0)), \"\\n\"; last } }")
        so = subprocess.run(["perl", "-e", perl] + files, capture_output=True, text=True).stdout
        for line in so.splitlines():
            f, r, h = line.split("\t")
            sis[os.path.basename(f)] = (r, h == "1")
    score = {"ours": [0, 0, 0, 0, 0], "sisimai": [0, 0, 0, 0, 0]}  # found, agree, hard, hard-hit, false-sup
    for p, (fmt, reason, reply) in zip(files, rows):
        acc, wrong_sup = rmap[reason]
        hard = not wrong_sup
        name = os.path.basename(p)
        d = ours.get(name)
        got = d["category"] if d and d.get("kind") == "failure" else (d["kind"] if d else "none")
        sup = d.get("suppress") in ("address", "domain") if d else False
        s = score["ours"]
        s[0] += 1 if d and d.get("category") else 0
        ok = got in acc
        s[1] += ok
        s[2] += hard
        s[3] += hard and sup
        s[4] += wrong_sup and sup
        if misses and not ok:
            print("miss ours %s %s label=%s got=%s (%s) | %s" % (name, fmt, reason, got, d.get("rule") if d else "", reply))
        if want_sis:
            r, hb = sis.get(name, ("none", False))
            s = score["sisimai"]
            s[0] += name in sis
            sok = r == reason or bool(rmap.get(r, (set(), 0))[0] & acc)
            s[1] += sok
            s[2] += hard
            s[3] += hard and hb
            s[4] += wrong_sup and hb
            if misses and not sok:
                print("miss sisimai %s %s label=%s got=%s | %s" % (name, fmt, reason, r, reply))
    n = len(rows)
    res = 0
    for who in (["ours", "sisimai"] if want_sis else ["ours"]):
        s = score[who]
        line = "%s: n=%d recipients_found=%.1f category_agree=%.1f hard_recall=%.1f false_suppress=%d" % (
            who, n, 100.0 * s[0] / n, 100.0 * s[1] / n, 100.0 * s[3] / max(s[2], 1), s[4])
        print(line)
        if who == "ours" and floor is not None and (100.0 * s[1] / n < floor or s[4] > 0):
            print("heldout: BELOW the floor (%.1f, false suppression 0)" % floor)
            res = 1
    subprocess.run(["rm", "-rf", tmp])
    return res


if __name__ == "__main__":
    sys.exit(main())
