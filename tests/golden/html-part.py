#!/usr/bin/env python3
"""Print the decoded text/html part of a message (for `make screenshot`).
With --check FILE...: parse each message and exit 1 when Python's email
package finds any MIME defect in any part (make golden-check, test_render)."""
import sys
from email import policy
from email.parser import BytesParser

args = sys.argv[1:]
check = args[:1] == ["--check"]
if check:
    args = args[1:]
if check:
    bad = 0
    for path in args:
        with open(path, "rb") as f:
            msg = BytesParser(policy=policy.default).parse(f)
        for p in msg.walk():
            for d in p.defects:
                print(f"{path}: {p.get_content_type()}: {type(d).__name__} {d}", file=sys.stderr)
                bad += 1
    sys.exit(1 if bad else 0)
with open(args[0], "rb") as f:
    msg = BytesParser(policy=policy.default).parse(f)
for part in msg.walk():
    if part.get_content_type() == "text/html":
        sys.stdout.write(part.get_content())
        sys.exit(0)
sys.exit("no text/html part")
