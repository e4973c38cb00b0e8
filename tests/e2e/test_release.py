"""The Exim release under test and the spool layout the plugin meets. Exim
4.96 (Debian 12) has 16-character message ids and the data of the -D file
at offset 19; Exim 4.97 and later (Debian 13's 4.98) 23 and 26, under the
same local_scan ABI. The plugin takes the offset from the running Exim's
message id (bg_exim.c, bg_exim_data_offset), not from the header it was
built with, and leaves a message alone when the -D file does not start
with "<id>-D". These cases read the header and the running Exim's spool
rather than assume either release, so the same test holds on both (make
test-trixie runs it on 13, also with the plugin built on 12), and show a
rewrite whose log line carries an id of the running Exim's length.
"""

import os
import shutil
import subprocess
import tempfile

import checks
import mail
from sandbox import TOP, wait_for

SANDBOX = dict(plugin=os.path.join(TOP, "build", "bounceguide.so"), bgconf="", name="release")

PROBE = r"""
#include <stdio.h>
#include <exim4/local_scan.h>
int main(void)
{
    printf("%d %d\n", (int)(MESSAGE_ID_LENGTH), (int)(SPOOL_DATA_START_OFFSET));
    return 0;
}
"""
_CONSTANTS = {}


def header_constants():
    """MESSAGE_ID_LENGTH and SPOOL_DATA_START_OFFSET as the plugin's build
    sees them: a probe compiled against the same <exim4/local_scan.h>
    (4.98 writes them as sums of other macros)."""
    if not _CONSTANTS:
        d = tempfile.mkdtemp(prefix="bg-e2e-probe-")
        try:
            src, exe = os.path.join(d, "probe.c"), os.path.join(d, "probe")
            with open(src, "w") as f:
                f.write(PROBE)
            cc = os.environ.get("CC") or "cc"
            r = subprocess.run([cc, "-o", exe, src], capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, "probe of local_scan.h did not build: %s" % r.stderr
            out = subprocess.run([exe], capture_output=True, text=True, timeout=10).stdout.split()
        finally:
            shutil.rmtree(d, ignore_errors=True)
        _CONSTANTS.update(MESSAGE_ID_LENGTH=int(out[0]), SPOOL_DATA_START_OFFSET=int(out[1]))
    return _CONSTANTS


def test_spool_layout_is_the_headers(sb):
    c = header_constants()
    frm = sb.add_user("rel1")
    before = set(sb.queue_ids())
    r = sb.exim("-odq", "-f", frm, "someone@remote.test",
                input=mail.make_message(frm, "someone@remote.test", "queued only"))
    assert r.returncode == 0, r.stderr
    ids = [i for i in sb.queue_ids() if i not in before]
    assert len(ids) == 1, ids
    mid = ids[0]
    try:
        assert len(mid) == c["MESSAGE_ID_LENGTH"], \
            "Exim's id %r has %d characters, local_scan.h says %d" % (
                mid, len(mid), c["MESSAGE_ID_LENGTH"])
        with open(sb.path("spool", "input", mid + "-D"), "rb") as f:
            head = f.read(c["SPOOL_DATA_START_OFFSET"])
        assert head == (mid + "-D\n").encode(), \
            "the -D file starts %r, not the id and -D at SPOOL_DATA_START_OFFSET %d" % (
                head, c["SPOOL_DATA_START_OFFSET"])
    finally:
        sb.remove_queued([mid])


def test_bounce_rewritten_with_this_releases_ids(sb):
    c = header_constants()
    frm = sb.add_user("rel2")
    rcpt = "gone-release@remote.test"
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt)
    mark = sb.log_mark()
    sb.submit(frm, [rcpt], mail.make_message(frm, rcpt, "release check"))
    b = sb.wait_mail("rel2", 1)[0]
    checks.enriched(b, "unknown-user", status="5.1.1")
    log = wait_for(lambda: "report rewritten" in sb.log_since(mark) and sb.log_since(mark),
                   20, "the rewrite's log line")
    line = [l for l in log.splitlines() if "report rewritten" in l][0]
    # "DATE TIME ID bounceguide: failure report rewritten ..."
    mid = line.split()[2]
    assert len(mid) == c["MESSAGE_ID_LENGTH"], (mid, c, line)
