#!/usr/bin/env python3
"""Print the decoded text/html part of a message (for `make screenshot`).
With --check: parse the message and exit 1 when Python's email package
finds any MIME defect in any part (for `make golden-check`)."""
import sys
from email import policy
from email.parser import BytesParser

args = sys.argv[1:]
check = args[:1] == ["--check"]
if check:
    args = args[1:]
with open(args[0], "rb") as f:
    msg = BytesParser(policy=policy.default).parse(f)
if check:
    bad = [(p.get_content_type(), d) for p in msg.walk() for d in p.defects]
    for ctype, d in bad:
        print(f"{args[0]}: {ctype}: {d}", file=sys.stderr)
    sys.exit(1 if bad else 0)
for part in msg.walk():
    if part.get_content_type() == "text/html":
        sys.stdout.write(part.get_content())
        sys.exit(0)
sys.exit("no text/html part")
