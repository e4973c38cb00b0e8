"""End-to-end: delivery counters, `bounceguide report` and the bounce-rate
guard (issue 13, schema 5) through the real Exim with the shipped macros,
RCPT ACL and routers. The report's numbers are the deliveries, bounces and
deferrals the case made; the MX host name reaches the event hook (the
sixth argument's third word, no eighth argument); a sending domain whose
recent mail bounced past its limit gets 451 at RCPT with the reason and
its sendmail mail waits in the queue, another domain does not, and the
hold lifts after `bounceguide guard reset` or when the window has passed
its bounces."""

import json
import sqlite3
import subprocess

import mail
import store_helpers as sh
from sandbox import wait_for

GUARD = ("[domain held.test]\nguard_bounce_rate = 20%\nguard_min_volume = 5\n"
         "[domain held2.test]\nguard_bounce_rate = 20%\nguard_min_volume = 5\nguard_window = 2h\n")


def make_sandbox():
    return sh.make_sandbox(name="report", bgconf=sh.bgconf(extra=GUARD))


# Debian's Prometheus client library (python3-prometheus-client, tools/deps.sh)
# reads our text format as a scraper would; it is installed for Debian's own
# python3, which may not be the first on PATH
PROM_PARSE = """
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    out[f.name] = {"type": f.type, "help": f.documentation,
                   "samples": [[s.name, s.labels, s.value] for s in f.samples]}
print(json.dumps(out))
"""


def _prom_parse(text):
    p = subprocess.run(["/usr/bin/python3", "-c", PROM_PARSE], input=text, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, "the Prometheus parser refused the output: %s\n%s" % (p.stderr, text)
    return json.loads(p.stdout)


def _joined(text):
    """One line from a multi-line reply: Exim splits ACL messages longer
    than 75 characters, repeating the enhanced code on each line."""
    lines = text.split("\n")
    return " ".join([lines[0]] + [l[6:] if l.startswith("4.7.1 ") else l for l in lines[1:]])


def _report(sb, *args):
    r = sh.cli("report", "--format", "json", "--db", sh.db_path(sb), "--config", sb.path("bounceguide.conf"),
               *args)
    assert r.returncode == 0, r
    return json.loads(r.stdout)


def _group(sb, domain, *args):
    for g in _report(sb, "--domain", domain, *args)["groups"]:
        if g["key"] == domain:
            return g
    return None


def _wait_counts(sb, domain, delivered, bounced, deferred=None):
    def ok():
        g = _group(sb, domain)
        if g and g["delivered"] == delivered and g["bounced"] == bounced and \
                (deferred is None or g["deferred"] == deferred):
            return g
        return None
    return wait_for(ok, 30, "counters of %s: %d delivered, %d bounced" % (domain, delivered, bounced))


def test_report_counts_what_exim_did(sb):
    """One message to six recipients: three accepted, two refused for
    good, one deferred -- the report says exactly that, under the operator
    of the host the transport used (the sandbox's peer is 127.0.0.1: no
    listed operator, "other"; a missing host would be "unknown")."""
    sender = "news@count.test"
    ok = ["ok%d.c@remote.test" % i for i in range(3)]
    gone = ["gone%d.c@remote.test" % i for i in range(2)]
    defer = "full.c@remote.test"
    for r in gone:
        sb.peer.set_rule(r, rcpt="550 5.1.1 <%s>: Recipient address rejected: User unknown" % r)
    sb.peer.set_rule(defer, rcpt="452 4.2.2 <%s>: Mailbox full" % defer)
    rcpts = ok + gone + [defer]
    sb.submit(sender, rcpts, mail.make_message(sender, ", ".join(rcpts), "report counts"))
    g = _wait_counts(sb, "count.test", 3, 2, 1)
    assert g["complaints"] == 0, g
    assert abs(g["bounce_rate"] - 0.4) < 1e-6, g
    assert g["flags"] == [] and g["guard"] is None, g
    # by operator: all of it went to 127.0.0.1
    prov = _report(sb, "--by", "provider", "--domain", "count.test")["groups"]
    assert [(p["key"], p["delivered"], p["bounced"], p["deferred"]) for p in prov] == \
        [("other", 3, 2, 1)], prov
    # by category: the bounces' and the deferral's categories
    cats = {c["key"]: c for c in _report(sb, "--by", "category", "--domain", "count.test")["groups"]}
    assert cats["unknown-user"]["bounced"] == 2 and cats["mailbox-full"]["deferred"] == 1, cats
    assert cats[""]["delivered"] == 3, cats
    # the table and the textfile-collector format say the same
    t = sh.cli("report", "--db", sh.db_path(sb), "--domain", "count.test")
    assert t.returncode == 0, t
    line = [l for l in t.stdout.splitlines() if l.startswith("count.test ")]
    assert line and line[0].split()[1:6] == ["3", "2", "40.00%", "1", "0"], t.stdout
    p = sh.cli("report", "--db", sh.db_path(sb), "--format", "prometheus", "--domain", "count.test")
    assert 'bounceguide_messages{sending_domain="count.test",outcome="delivered"} 3\n' in p.stdout, p.stdout
    assert 'bounceguide_messages{sending_domain="count.test",outcome="bounced"} 2\n' in p.stdout, p.stdout
    fams = _prom_parse(p.stdout)
    m = fams["bounceguide_messages"]
    assert m["type"] == "gauge" and m["help"], m
    got = {x[1]["outcome"]: x[2] for x in m["samples"] if x[1]["sending_domain"] == "count.test"}
    assert got == {"delivered": 3, "bounced": 2, "deferred": 1, "complaint": 0}, got
    assert fams["bounceguide_bounce_ratio"]["samples"][0][2] == 0.4, fams["bounceguide_bounce_ratio"]
    for name in ("bounceguide_complaint_ratio", "bounceguide_report_window_seconds",
                 "bounceguide_report_timestamp_seconds"):
        assert fams[name]["type"] == "gauge", (name, fams.get(name))
    # a second deferral of the same recipient (a queue run) is one more attempt
    sb.run_queue()
    _wait_counts(sb, "count.test", 3, 2, 2)
    sb.remove_queued()


def test_guard_holds_one_domain_at_rcpt_and_in_the_queue_until_reset(sb):
    sender = "news@held.test"
    ok = ["ok%d.h@remote.test" % i for i in range(4)]
    gone = "gone.h@remote.test"
    sb.peer.set_rule(gone, rcpt="550 5.1.1 <%s>: Recipient address rejected: User unknown" % gone)
    # below the limit's volume nothing holds: 4 delivered
    sb.submit(sender, ok, mail.make_message(sender, ok[0], "fine"))
    _wait_counts(sb, "held.test", 4, 0)
    code, text = sh.rcpt_reply(sb, "other@held.test", "new1.h@remote.test")
    assert code == 250, (code, text)
    _wait_counts(sb, "held.test", 5, 0)
    # one bounce in six is 16.7%: still below 20%
    sb.submit(sender, [gone], mail.make_message(sender, gone, "bounces"))
    _wait_counts(sb, "held.test", 5, 1)
    code, text = sh.rcpt_reply(sb, "other@held.test", "new2.h@remote.test")
    assert code == 250, (code, text)
    _wait_counts(sb, "held.test", 6, 1)
    # a second bounce: 2 of 8 = 25% -> held
    gone2 = "gone2.h@remote.test"
    sb.peer.set_rule(gone2, rcpt="550 5.1.1 <%s>: User unknown" % gone2)
    sb.submit(sender, [gone2], mail.make_message(sender, gone2, "bounces again"))
    _wait_counts(sb, "held.test", 6, 2)
    mark = sb.log_mark()
    code, text = sh.rcpt_reply(sb, "other@held.test", "new3.h@remote.test")
    joined = _joined(text)
    assert code == 451, (code, text)
    assert joined.startswith("4.7.1 Mail from held.test is held: bounce rate 25.0% (2 of 8) since "), joined
    assert "reached the limit of 20.0% (bounceguide)" in joined, joined
    log = sb.wait_log("bounceguide: guard: mail from held.test held: bounce rate 25.0% (2 of 8)", mark)
    assert log
    # another sending domain, and local recipients, are not held
    code, text = sh.rcpt_reply(sb, "news@fine.test", "new4.h@remote.test")
    assert code == 250, (code, text)
    user = sb.add_user("heldlocal")
    code, text = sh.rcpt_reply(sb, "other@held.test", user)
    assert code == 250, (code, text)
    # the report says why
    g = _group(sb, "held.test")
    assert g["guard"]["holds"] is True and g["guard"]["bounced"] == 2 and g["guard"]["delivered"] == 6, g
    # sendmail: no RCPT ACL -- the guard router defers it, the mail waits
    before = len(sb.peer.received)
    mark = sb.log_mark()
    rcpt = "queued.h@remote.test"
    p = sb.exim("-odi", "-f", sender, rcpt, input=mail.make_message(sender, rcpt, "via sendmail"))
    assert p.returncode == 0, p.stderr
    sb.wait_log("R=bounceguide_guard defer", mark)
    assert "mail from held.test is held: bounce rate 25.0%" in sb.log_since(mark), sb.log_since(mark)
    assert sb.queue_ids(), "the held message is kept in the queue"
    assert not any(rcpt in m[1] for m in sb.peer.received[before:])
    # an administrator resets it: mail flows again, the queued one too
    r = sh.cli("guard", "reset", "held.test", "--db", sh.db_path(sb), "--reason", "e2e: list cleaned")
    assert r.returncode == 0, r
    code, text = sh.rcpt_reply(sb, "other@held.test", "new5.h@remote.test")
    assert code == 250, (code, text)
    sb.run_queue()
    wait_for(lambda: any(rcpt in m[1] for m in sb.peer.received[before:]), 20, "the queued message delivered")
    st = sh.cli("guard", "status", "held.test", "--db", sh.db_path(sb), "--config", sb.path("bounceguide.conf"))
    assert st.returncode == 0 and "lets mail through" in st.stdout and "e2e: list cleaned" in st.stdout, st


def test_guard_lifts_when_the_window_passes(sb):
    sender = "news@held2.test"
    ok = ["ok%d.w@remote.test" % i for i in range(3)]
    gone = ["gone%d.w@remote.test" % i for i in range(2)]
    for r in gone:
        sb.peer.set_rule(r, rcpt="550 5.1.1 <%s>: User unknown" % r)
    sb.submit(sender, ok + gone, mail.make_message(sender, ok[0], "window"))
    _wait_counts(sb, "held2.test", 3, 2)
    code, text = sh.rcpt_reply(sb, sender, "new1.w@remote.test")
    assert code == 451 and "bounce rate 40.0% (2 of 5)" in _joined(text), (code, text)
    # three hours later (the counters moved back: the window is 2h)
    c = sqlite3.connect(sh.db_path(sb), timeout=10)
    c.execute("UPDATE bg_count SET bucket = bucket - 3 * 3600 WHERE sender_domain = 'held2.test'")
    c.commit()
    c.close()
    code, text = sh.rcpt_reply(sb, sender, "new2.w@remote.test")
    assert code == 250, (code, text)
    g = _group(sb, "held2.test")
    assert g["guard"]["holds"] is False, g
