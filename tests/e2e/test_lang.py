"""Issue 14: the same bounce through the real Exim in every shipped
language. The language is chosen by the sending domain's section of the
plugin's config (language = LANG in [domain local.test]) and, with no
such section, by the Content-Language of the message that bounced. Each
case checks the delivered bounce: the localised Subject (RFC 2047 encoded
when it is not ASCII), <html lang="LANG">, Content-Language of the
guidance parts, and the category's key sentence in that language, read
from conf/guidance/LANG.conf (so a case checks the real catalogue)."""

import os
import re
from email.header import decode_header, make_header

import checks
import mail
from sandbox import TOP

SANDBOX = dict(plugin=os.path.join(TOP, "build", "bounceguide.so"),
               bgconf="# e2e: languages\n", name="lang")

LANGS = ("en", "de", "fr", "es")


def _catalogue(lang):
    """section -> key -> [lines] of conf/guidance/LANG.conf."""
    cat, sect, last = {}, None, None
    with open(os.path.join(TOP, "conf", "guidance", lang + ".conf"), encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                last = None
                continue
            if line.startswith("["):
                sect = line.strip()[1:-1]
                cat.setdefault(sect, {})
                continue
            if line[0] in " \t" and last:
                last[-1] += " " + line.strip()
                continue
            k, _, v = line.partition("=")
            last = cat[sect].setdefault(k.strip(), [])
            last.append(v.strip())
    return cat


def _expected_subject(lang, subject, category):
    """The first subject_failure line with the placeholders filled."""
    cat = _catalogue(lang)
    line = cat["common"]["subject_failure"][0]
    return line.replace("{subject}", subject).replace("{reason}", cat[category]["subject"][0])


def _key_sentence(lang, category, domain, rcpt):
    """The category's 'happened' text, filled: the sentence the sender reads."""
    line = _catalogue(lang)[category]["happened"][0]
    return line.replace("{recipient}", rcpt).replace("{domain}", domain)


def _bounce(sb, user, rcpt, subject, extra_headers=()):
    frm = sb.add_user(user)
    sb.peer.set_rule(rcpt, rcpt="550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt)
    msg = mail.make_message(frm, rcpt, subject, "Hello.\n", extra_headers=extra_headers)
    sb.submit(frm, [rcpt], msg)
    return msg, sb.wait_mail(user, 1)[0]


def _check(sb, data, sent, lang, subject, rcpt, mark):
    m = checks.enriched(data, "unknown-user", status="5.1.1")
    raw = mail.header_values(data, "Subject")
    if len(raw) != 1:
        checks.fail("%s: Subject headers %s" % (lang, raw), data)
    want = _expected_subject(lang, subject, "unknown-user")
    if any(ord(c) > 127 for c in want) and "=?UTF-8?" not in raw[0]:
        checks.fail("%s: non-ASCII Subject not RFC 2047 encoded: %r" % (lang, raw[0]), data)
    got = str(make_header(decode_header(raw[0])))
    if re.sub(r"[ \t\r\n]+", " ", got) != want:
        checks.fail("%s: Subject %r, want %r" % (lang, got, want), data)
    html = mail.text_of(m, "text/html")
    if '<html lang="%s">' % lang not in html:
        checks.fail("%s: no <html lang=\"%s\">" % (lang, lang), data)
    alt = list(m.iter_parts())[0]
    for p in alt.iter_parts():
        if p.get("Content-Language", "").split(",")[0].strip() != lang:
            checks.fail("%s: %s part has Content-Language %r" %
                        (lang, p.get_content_type(), p.get("Content-Language")), data)
    sentence = _key_sentence(lang, "unknown-user", rcpt.split("@")[1], rcpt)
    text = re.sub(r"[ \t\r\n]+", " ", mail.text_of(m, "text/plain"))
    if sentence not in text:
        checks.fail("%s: the key sentence %r is not in the text part" % (lang, sentence), data)
    checks.original_identical(data, sent)
    checks.panic_clean(sb)
    bad = checks.problem_lines(sb.log_since(mark))
    if bad:
        checks.fail("unexpected plugin log lines: %s" % bad)


def test_language_by_sending_domain(sb):
    """[domain local.test] language = LANG: the bounce speaks LANG, even
    when the message says another language about itself."""
    for lang in LANGS:
        sb.set_bgconf("[domain local.test]\nlanguage = %s\n" % lang)
        mark = sb.log_mark()
        rcpt = "dom-%s@remote.test" % lang
        subject = "Quarterly report %s" % lang
        other = "es" if lang != "es" else "de"
        sent, data = _bounce(sb, "ldom%s" % lang, rcpt, subject,
                             extra_headers=["Content-Language: %s" % other])
        _check(sb, data, sent, lang, subject, rcpt, mark)


def test_language_by_content_language(sb):
    """No language configured for the domain: the returned message's
    Content-Language picks it (a region subtag counts as its language)."""
    sb.set_bgconf("# no language here\n")
    for lang, header in (("de", "de-DE"), ("fr", "fr-FR"), ("es", "es"), ("en", "en-GB")):
        mark = sb.log_mark()
        rcpt = "cl-%s@remote.test" % lang
        subject = "Budget %s" % lang
        sent, data = _bounce(sb, "lcl%s" % lang, rcpt, subject,
                             extra_headers=["Content-Language: %s" % header])
        _check(sb, data, sent, lang, subject, rcpt, mark)


def test_admin_section_in_admin_language(sb):
    """admin_language = en: the sender reads German, the administrator's
    section stays English (and says so with its own lang attribute)."""
    sb.set_bgconf("admin_language = en\n[domain local.test]\nlanguage = de\n")
    mark = sb.log_mark()
    rcpt = "adm-de@remote.test"
    sent, data = _bounce(sb, "ladmin", rcpt, "Angebot")
    m = checks.enriched(data, "unknown-user", status="5.1.1")
    html = mail.text_of(m, "text/html")
    if '<html lang="de">' not in html or '<div id="bg-admin" lang="en"' not in html:
        checks.fail("lang attributes wrong", data)
    text = mail.text_of(m, "text/plain")
    if _key_sentence("de", "unknown-user", "remote.test", rcpt).split(".")[0] not in \
            re.sub(r"[ \t\r\n]+", " ", text) or "For your mail administrator" not in text:
        checks.fail("not German for the sender and English for the admin", data)
    checks.original_identical(data, sent)
    checks.panic_clean(sb)
    if checks.problem_lines(sb.log_since(mark)):
        checks.fail("unexpected plugin log lines")
