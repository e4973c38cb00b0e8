"""Issues 5 and 16: the authentication diagnosis through the real resolver
path and the real Exim, on a direct host and on a satellite.

nsd serves the test zones on 127.0.0.1:53 inside a network namespace whose
/etc/netns/NAME/resolv.conf names it (tests/e2e/lib/auth_helpers.py).
Direct: the sandboxed Exim sends from 192.0.2.10 and the peer rejects with
550 5.7.26; the bounce carries the SPF, DMARC (and for DKIM, the signing
key's) findings and advice. Satellite: the plugin's Exim sends through a
smarthost Exim on loopback; the advice never names a loopback, private or
single-label target, and names the smarthost's public address when the
receiver's reply gives it. With nsd stopped (or a name server that never
answers) the bounce still arrives, without the diagnosis, within the
budget, and the main log says why in one line.
"""

import re

import checks
from auth_helpers import AuthWorld, SEND_IP, SMARTHOST_OUT_IP

BUDGET_MS = 1500
BGCONF = """# e2e: auth diagnosis
sending_ip = %s
diagnose_budget = %dms
""" % (SEND_IP, BUDGET_MS)


def make_sandbox():
    return AuthWorld()


def _plain(s):
    """Text with line wrapping undone, for phrase checks."""
    return re.sub(r"\s+", " ", s)


def _has(text, *phrases):
    for want in phrases:
        assert want in text, "missing in the bounce text: %r\n---\n%s" % (want, text)


def _lacks(text, *phrases):
    for bad in phrases:
        assert bad not in text, "unexpected in the bounce text: %r\n---\n%s" % (bad, text)


def test_auth_findings_in_bounce(world):
    r = world.run_case("findings", BGCONF)
    text, html = _plain(r["text"]), r["html"]
    checks.enriched(r["bounce"].encode(), "dmarc-failure", status="5.7.26")
    _has(text,
         # how mail leaves, and from which address
         "Receivers see mail from this server coming from 192.0.2.10 (sending_ip in "
         "bounceguide.conf).",
         # SPF of the envelope domain: record, deciding term, exact fix
         'SPF for the envelope sender domain local.test: fail.',
         'Record: "v=spf1 include:_spf.relay.test -all". Decided by: -all.',
         'Fix: SPF for local.test is "v=spf1 include:_spf.relay.test -all" and does not '
         'authorise 192.0.2.10, the address this server sent from: add "ip4:192.0.2.10" to it.',
         # HELO name passes
         "SPF for the HELO name sandbox.test: pass.",
         # DMARC record and alignment
         "DMARC for local.test (record at _dmarc.local.test): p=reject sp=reject adkim=r "
         "aspf=s pct=100.",
         "SPF alignment: the envelope sender domain local.test is aligned with local.test "
         "(aspf=s: the same name is needed), but SPF does not pass for it.",
         # Exim's own bounce cannot show the transport's signature
         "DKIM signing: not visible here (Exim's own bounce returns the message as it was "
         "queued, before the transport signs it).",
         "To have the signing key checked, set diagnose_dkim_selector",
         # reverse DNS, forward-confirmed
         "Reverse DNS: 192.0.2.10 -> mail.local.test, which resolves back to 192.0.2.10 "
         "(confirmed).",
         # the plain line for the sender
         "Your organisation's email settings need a fix; your administrator has the details "
         "below.")
    assert "ip4:192.0.2.10" in html and "_dmarc.local.test" in html, "HTML part lacks findings"
    # the advice nested under its finding: a list inside the item (HTML),
    # indented under it (text)
    assert re.search(r"<li[^>]*>SPF for the envelope sender domain local\.test: fail\.[^<]*\n"
                     r"<ul[^>]*>\n<li[^>]*>Fix: SPF for local\.test", html), html
    assert re.search(r"\n  - SPF for the envelope sender domain local\.test: fail\.(.*\n)+?"
                     r"    - Fix: SPF for local\.test", r["text"]), r["text"]
    assert "- - " not in r["text"], r["text"]
    assert re.search(r"auth diagnosis for local\.test/local\.test from 192\.0\.2\.10: "
                     r"spf=fail dmarc=found p=reject dkim=- ptr=confirmed path=unknown "
                     r"ip=config \(\d+ ms\)", r["log"]), r["log"]
    assert not r["panic"], r["panic"]


def test_auth_stranger_from_domain_not_looked_up(world):
    """From: names a domain this server does not handle: its DMARC record is
    not looked up (it exists in DNS), the envelope domain's SPF still is."""
    r = world.run_case("stranger", BGCONF, from_="Mallory <m@stranger.test>")
    text = _plain(r["text"])
    _has(text, "DMARC for stranger.test: not looked up (not one of this server's domains).",
         "SPF for the envelope sender domain local.test: fail.")
    _lacks(text, "_dmarc.stranger.test", "p=reject sp=")
    assert re.search(r"auth diagnosis for local\.test/stranger\.test from 192\.0\.2\.10: "
                     r"spf=fail dmarc=- dkim=- ptr=confirmed", r["log"]), r["log"]


def test_auth_dns_down_bounce_without_diagnosis(world):
    world.stop_nsd()
    try:
        r = world.run_case("dnsdown", BGCONF)
    finally:
        world.start_nsd()
    text = _plain(r["text"])
    checks.enriched(r["bounce"].encode(), "dmarc-failure", status="5.7.26")
    _lacks(text, "Authentication check", "ip4:192.0.2.10", "settings need a fix")
    lines = [l for l in r["log"].splitlines() if "auth diagnosis" in l]
    assert len(lines) == 1, lines
    assert "not added (failed): no DNS server answered" in lines[0], lines[0]
    # the whole round trip (submit, 550, bounce, local_scan, delivery) stays
    # within the budget plus the ordinary delivery time
    assert r["seconds"] < BUDGET_MS / 1000.0 + 5, r["seconds"]
    assert not r["panic"], r["panic"]


def test_auth_silent_dns_bounded_by_budget(world):
    silent = world.start_silent_dns()
    try:
        r = world.run_case("silent", BGCONF)
    finally:
        silent.kill()
        silent.wait()
        world.start_nsd()
    text = _plain(r["text"])
    checks.enriched(r["bounce"].encode(), "dmarc-failure", status="5.7.26")
    _lacks(text, "Authentication check")
    lines = [l for l in r["log"].splitlines() if "auth diagnosis" in l]
    assert len(lines) == 1, lines
    m = re.search(r"not added \(failed\): DNS budget spent .* \(after (\d+) ms\)", lines[0])
    assert m, lines[0]
    # the wait is the budget, not glibc's 5 s x 2 attempts from resolv.conf
    assert BUDGET_MS - 50 <= int(m.group(1)) <= BUDGET_MS + 250, lines[0]
    assert r["seconds"] < BUDGET_MS / 1000.0 + 5, r["seconds"]
    assert not r["panic"], r["panic"]


def test_auth_forged_bounce_address_not_used(world):
    """Attack: a stranger's bounce (about a message this server never sent)
    names an address in its reply, hoping we look up and advise on it. The
    address counts only for our own mail: the diagnosis uses sending_ip."""
    r = world.run_case("forged", BGCONF, forge="203.0.113.77")
    text = _plain(r["text"])
    checks.enriched(r["bounce"].encode(), "dmarc-failure")
    _has(text, "Receivers see mail from this server coming from 192.0.2.10 (sending_ip in "
               "bounceguide.conf).")
    # (the reply itself is quoted word for word further down)
    diag = text[text.index("Authentication check"):text.index("The error report")]
    _lacks(diag, "203.0.113.77", "as the receiving server reported it")
    assert "ip=config" in r["log"], r["log"]


def _no_hidden_targets(text):
    """Issue 16: nothing advises records for this host's loopback end or
    for the single-label name vm."""
    _lacks(text, "ip4:127.", "127.0.0.1 has no PTR", "PTR for 127.0.0.1", "v=spf1 ip4:127",
           "SPF for the HELO name vm", "HELO) as vm", "publish one at vm")
    for line in text.split("- "):
        if "Fix:" in line:
            assert "127.0.0.1" not in line and " vm " not in line, line


# The satellite's Debian configuration, as update-exim4.conf writes it.
SATELLITE_DEBCONF = """dc_eximconfig_configtype='satellite'
dc_other_hostnames=''
dc_local_interfaces='127.0.0.1'
dc_readhost='local.test'
dc_relay_domains=''
dc_minimaldns='false'
dc_relay_nets=''
dc_smarthost='127.0.0.1::@@SMARTHOST_PORT@@'
CFILEMODE='644'
dc_use_split_config='false'
dc_hide_mailname='true'
dc_mailname_in_oh='true'
dc_localdelivery='mail_spool'
"""

SATELLITE_BGCONF = """# e2e: a satellite -- no sending_ip, HELO vm
diagnose_budget = %dms
diagnose_helo = vm
diagnose_domains = local.test, othersign.test
diagnose_exim_dir = @@DIR@@
""" % BUDGET_MS


def test_auth_satellite_cannot_see_smarthost_address(world):
    """The issue's host: a satellite whose transport reaches the smarthost
    on 127.0.0.1, HELO vm, nothing said about the public address. The
    advice says what it cannot see and what to ask, and names no loopback
    or single-label target (before: 'v=spf1 ip4:127.0.0.1 -all', a PTR
    for 127.0.0.1, SPF for vm)."""
    r = world.run_case("satblind", SATELLITE_BGCONF, topology="satellite", files={
        "update-exim4.conf.conf": SATELLITE_DEBCONF,
        # Debian's DKIM macros, which remote_smtp_smarthost does not use
        "exim4.conf.localmacros": "DKIM_DOMAIN = local.test\nDKIM_SELECTOR = good\n",
    })
    text = _plain(r["text"])
    checks.enriched(r["bounce"].encode(), "dmarc-failure")
    _has(text,
         "Mail leaves through the smarthost 127.0.0.1 (Debian's "
         "dc_eximconfig_configtype='satellite'); receivers see the address the smarthost sends "
         "from, which this server cannot see (it reaches the smarthost from 127.0.0.1).",
         "Ask the smarthost's operator which addresses it sends from",
         'SPF record of the envelope sender domain local.test: "v=spf1 include:_spf.relay.test '
         '-all" (not judged: the sending address is not known).',
         "Fix: check that SPF for local.test",
         "authorises every address your smarthost sends from",
         # a bounce from the smarthost shows the message as it left: unsigned
         "DKIM signing: the returned message carries no DKIM signature.",
         "This server is set to sign with d=local.test s=good (Debian's DKIM_DOMAIN and "
         "DKIM_SELECTOR macros).",
         "Debian's remote_smtp_smarthost transport does not use the DKIM_* macros",
         "DKIM key at good._domainkey.local.test: rsa, 2048 bits (long enough).")
    _no_hidden_targets(text)
    _lacks(text, "Reverse DNS")
    assert re.search(r"auth diagnosis for local\.test/local\.test from -: spf=unjudged dmarc=found "
                     r"p=reject dkim=ok ptr=- path=smarthost ip=- \(\d+ ms\)", r["log"]), r["log"]
    assert not r["panic"], r["panic"]


def test_auth_satellite_reply_names_smarthost_address(world):
    """The receiver's reply names the address it saw (Gmail's 'ip: [...]'):
    the advice is about that address -- SPF, the smarthost's PTR -- and the
    DKIM signature the satellite made (d= of another domain of ours) is
    read from the returned copy and its key checked."""
    reply = ("550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n"
             "550-5.7.26 Authentication results: DKIM = did not pass SPF [local.test] with ip:\n"
             "550 5.7.26 [%s] = did not pass" % SMARTHOST_OUT_IP)
    r = world.run_case("satreply", SATELLITE_BGCONF, topology="satellite", reply=reply,
                       dkim={"domain": "othersign.test", "selector": "s1"},
                       files={"update-exim4.conf.conf": SATELLITE_DEBCONF})
    text = _plain(r["text"])
    checks.enriched(r["bounce"].encode(), "dmarc-failure", status="5.7.26")
    assert r["original_signed"], "the smarthost's bounce should return the signed copy"
    _has(text,
         "Mail leaves through the smarthost 127.0.0.1 (Debian's "
         "dc_eximconfig_configtype='satellite'); receivers see the smarthost's address "
         "203.0.113.25 (as the receiving server reported it), not this server's.",
         "SPF for the envelope sender domain local.test: fail.",
         "does not authorise 203.0.113.25, the address your smarthost sent from: include the "
         'SPF record your smarthost\'s operator publishes, or add "ip4:203.0.113.25".',
         "Reverse DNS: 203.0.113.25 -> out.relay.test, which resolves back to 203.0.113.25 "
         "(confirmed).",
         "DKIM: the returned message was signed with d=othersign.test s=s1, not aligned with "
         "local.test (adkim=r): DMARC does not count that signature.",
         "DKIM key at s1._domainkey.othersign.test: rsa, 2048 bits (long enough).")
    _no_hidden_targets(text)
    assert re.search(r"from 203\.0\.113\.25: spf=fail .* ptr=confirmed path=smarthost ip=reply",
                     r["log"]), r["log"]
    assert not r["panic"], r["panic"]


DKIM_BGCONF = BGCONF + "diagnose_dkim_domain = local.test\ndiagnose_dkim_selector = %s\n"


def test_auth_dkim_missing_selector_record(world):
    """Exim signs with a selector that has no key record. Its own bounce
    returns the message as queued (no signature): the configured signer is
    what the diagnosis checks."""
    r = world.run_case("dkmissing", DKIM_BGCONF % "missing",
                       dkim={"domain": "local.test", "selector": "missing"})
    text = _plain(r["text"])
    assert not r["original_signed"], "Exim's own bounce returned a signed copy"
    _has(text,
         "DKIM signing: not visible here (Exim's own bounce returns the message as it was "
         "queued, before the transport signs it).",
         "This server is set to sign with d=local.test s=missing (diagnose_dkim_domain and "
         "diagnose_dkim_selector in bounceguide.conf).",
         "No DKIM key at missing._domainkey.local.test (the name does not exist): receivers "
         "cannot verify signatures made with this selector.",
         "Fix: publish the public key of selector missing as a TXT record at "
         "missing._domainkey.local.test")
    assert "dkim=missing" in r["log"], r["log"]


def test_auth_dkim_unparsable_key(world):
    r = world.run_case("dkbroken", DKIM_BGCONF % "broken",
                       dkim={"domain": "local.test", "selector": "broken"})
    _has(_plain(r["text"]),
         "The DKIM key record at broken._domainkey.local.test cannot be used (p= is not valid "
         'base64): "v=DKIM1; k=rsa; p=@@not-base64@@".',
         "Fix: publish one TXT record")
    assert "dkim=broken" in r["log"], r["log"]


def test_auth_dkim_short_key(world):
    r = world.run_case("dkshort", DKIM_BGCONF % "short",
                       dkim={"domain": "local.test", "selector": "short"})
    _has(_plain(r["text"]),
         "The DKIM key at short._domainkey.local.test is RSA with 512 bits: receivers ignore "
         "keys shorter than 1024 bits (RFC 8301)",
         "Fix: make a 2048-bit key, publish it under a new selector and sign with that selector.",
         # the configured, aligned signer stands in for DMARC
         "DKIM: this server is set to sign with d=local.test, aligned with local.test")
    assert "dkim=ok" in r["log"], r["log"]


def test_auth_cli_diagnose_through_resolv_conf(world):
    """`bounceguide diagnose` in the namespace: /etc/resolv.conf -> nsd."""
    import os
    from sandbox import TOP
    cli = os.path.join(TOP, "build", "bounceguide")
    r = world.in_ns(cli, "diagnose", "--sender", "alice@local.test", "--from",
                    "Alice <alice@local.test>", "--ip", SEND_IP, "--helo", "sandbox.test",
                    "--topology", "direct", "--dkim-domain", "local.test", "--dkim-selector",
                    "good", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    for want in ('SPF for the envelope sender domain local.test: fail.',
                 'add "ip4:192.0.2.10"',
                 "p=reject sp=reject adkim=r aspf=s pct=100",
                 "DKIM key at good._domainkey.local.test: rsa, 2048 bits",
                 "192.0.2.10 -> mail.local.test, which resolves back"):
        assert want in r.stdout, r.stdout
    # a satellite by hand: --smarthost; a loopback --ip is this host's end
    r = world.in_ns(cli, "diagnose", "--sender", "local.test", "--from", "local.test", "--ip",
                    "127.0.0.1", "--helo", "vm", "--smarthost", "127.0.0.1", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "which this server cannot see" in r.stdout, r.stdout
    _no_hidden_targets(_plain(r.stdout))
    # a name server that does not exist: exit 1, no findings, quickly
    r = world.in_ns(cli, "diagnose", "--sender", "local.test", "--from", "local.test", "--ip",
                    SEND_IP, "--dns-server", "127.0.0.9:53", "--budget", "800", check=False)
    assert r.returncode == 1 and r.stdout.startswith("No diagnosis (failed)"), r.stdout
