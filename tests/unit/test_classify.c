/* Unit tests: bg_classify with the built-in rules, table-driven.
 *
 * Each row is a recipient as the reader gives it (status, diagnostic, ...),
 * mostly real reply lines from ../shared/corpus/sisimai/eml (file named in
 * the label), and the verdict we expect. Where our answer differs from the
 * corpus label on purpose, the row says why ("label: ...").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bg_bounce.h"
#include "bg_category.h"
#include "bg_classify.h"

typedef struct tcase {
    const char *label;
    bg_msg_kind kind;
    const char *action;
    const char *status;     /* Status: as written */
    const char *diag;       /* Diagnostic-Code text */
    const char *diag_type;
    const char *remote_mta;
    const char *parser;
    const char *human;      /* the report's own text, "" when none */
    /* expected */
    const char *category;
    const char *suppress;
    int permanent;
    const char *rule;       /* prefix of the rule name; NULL = do not check */
    const char *real_status;
} tcase;

#define F BG_MSG_FAILURE
#define D BG_MSG_DELAY

static const tcase cases[] = {
    /* ---- the stage of the refusal (round two of issue 16) ---- */
    {"Postfix: a vague refusal at MAIL FROM is the sender's (lhost-postfix-54)", F, "failed", "5.7.1",
     "550 5.7.1 Access denied", "smtp", "mx.example.jp", "postfix",
     "<a@example.org>: host mx.example.jp[192.0.2.1] said: 550 5.7.1 Access denied (in reply to MAIL FROM command)",
     "sender-rejected", "none", 1, "builtin:mail-from-stage", "5.7.1"},
    {"Postfix: a named cause at MAIL FROM keeps its category", F, "failed", "5.7.1",
     "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "smtp",
     "mx.example.jp", "postfix",
     "<a@example.org>: host mx.example.jp[192.0.2.1] said: 554 5.7.1 Service unavailable; Client host "
     "[192.0.2.1] blocked using zen.spamhaus.org (in reply to MAIL FROM command)",
     "sender-blocklisted", "none", 1, NULL, "5.7.1"},
    {"Exim: '553 <host> does not exist' is the domain (lhost-exim-37)", F, "failed", "5.0.0",
     "host mx.example.net [192.0.2.222] SMTP error from remote mail server after end of data: 553 "
     "neko.example.com does not exist", "smtp", "", "exim", "",
     "unknown-domain", "domain", 1, "builtin:does-not-exist", "5.0.0"},
    {"qmail: EAGAIN then the queue lifetime (lhost-x2-05)", F, "failed", "4.1.9",
     "Resources temporarily unavailable, please try again later [#4.1.9]. /I'm not going to try "
     "again; this message has been in the queue too long.", "smtp", "", "qmail", "",
     "network-error", "none", 0, "builtin:resource-errno", "4.1.9"},
    /* ---- address problems: suppress ---- */
    {"rfc3464-01 style: plain 5.1.1", F, "failed", "5.1.1",
     "550 5.1.1 <a@example.jp>... User Unknown", "smtp", "mx.example.jp", "dsn", "",
     "unknown-user", "address", 1, "builtin:unknown-user-words", "5.1.1"},
    {"Exim: generic 5.0.0, real code in the diagnostic", F, "failed", "5.0.0",
     "SMTP error from remote mail server after RCPT TO:<a@b.example>: 550 5.1.1 <a@b.example>: "
     "Recipient address rejected: User unknown in local recipient table",
     "smtp", "", "exim", "", "unknown-user", "address", 1, "builtin:unknown-user-words",
     "5.1.1"},
    {"Office 365: RecipientNotFound", F, "failed", "5.1.10",
     "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
     "smtp", "", "dsn", "", "unknown-user", "address", 1, NULL, "5.1.10"},
    {"Microsoft DBEB under 5.4.1 (rhost-microsoft-02)", F, "failed", "5.4.1",
     "550 5.4.1 [a@example.org]: Recipient address rejected: Access denied "
     "[X.prod.protection.outlook.com]",
     "smtp", "", "dsn", "", "unknown-user", "address", 1, "builtin:recipient-access-denied",
     "5.4.1"},
    {"bare Postfix 'Recipient address rejected.' (lhost-postfix-46)", F, "failed", "5.0.0",
     "550 <a@ne.example.jp>: Recipient address rejected.", "smtp", "", "dsn", "",
     "unknown-user", "address", 1, "builtin:recipient-rejected", "5.0.0"},
    {"Domino: not listed (lhost-domino-01)", F, "failed", "",
     "User some.name (a@example.jp) not listed in Domino Directory", "", "", "domino", "",
     "unknown-user", "address", 1, NULL, ""},
    {"unknown domain: Exim unrouteable", F, "failed", "5.0.0", "Unrouteable address", "", "",
     "exim", "", "unknown-domain", "domain", 1, "builtin:unknown-domain-words", "5.0.0"},
    {"RFC 7505 null MX (rfc3464-52)", F, "failed", "5.1.10",
     "556 5.1.10 DNS Error: The domain x.example doesn't receive email according to the "
     "administrator: returned Null MX",
     "smtp", "", "dsn", "", "unknown-domain", "domain", 1, NULL, "5.1.10"},
    {"RFC 7504 521 with a reused 5.3.2 (lhost-dragonfly-16)", F, "failed", "",
     "mail-inbound.example.net [192.0.2.25] did not like our RCPT TO: 521 5.3.2 <a@example.net>: "
     "Recipient address rejected: System not accepting network messages.",
     "", "", "dragonfly", "", "unknown-domain", "domain", 1, "builtin:reply-521", "5.3.2"},
    {"qmail: no mail exchanger (lhost-qmail-11)", F, "failed", "",
     "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", "", "", "qmail", "",
     "unknown-domain", "domain", 1, NULL, "5.4.4"},
    {"mailbox disabled by words", F, "failed", "5.2.1",
     "550 5.2.1 The email account that you tried to reach is disabled.", "smtp", "", "dsn", "",
     "mailbox-disabled", "address", 1, "builtin:disabled-words", "5.2.1"},
    {"label suspend, but the words say user unknown (lhost-powermta-01): words beat a reused "
     "5.2.1",
     F, "failed", "5.2.1", "550 5.2.1 <a@example.jp>... User Unknown", "smtp", "", "dsn", "",
     "unknown-user", "address", 1, "builtin:unknown-user-words", "5.2.1"},
    {"moved: 551 user not local", F, "failed", "5.1.6",
     "551 5.1.6 User not local; please try <b@new.example>", "smtp", "", "dsn", "",
     "mailbox-moved", "address", 1, NULL, "5.1.6"},

    /* ---- words beat a generic or reused code ---- */
    {"taxonomy example: 5.7.1 blocked using Spamhaus", F, "failed", "5.7.1",
     "550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
     "smtp", "", "dsn", "", "sender-blocklisted", "none", 1, "builtin:blocklist-names", "5.7.1"},
    {"taxonomy example: 5.1.1 rate limit", F, "failed", "5.1.1",
     "550 5.1.1 <a@b.example>: rate limit exceeded, try later", "smtp", "", "dsn", "",
     "rate-limited", "none", 0, "builtin:rate-limit-words", "5.1.1"},
    {"Gmail multi-line RFC 5322 (lhost-postfix-28): continuation prefixes ignored", F, "failed",
     "5.7.1",
     "550-5.7.1 [192.0.2.222 13] Messages with multiple 550 5.7.1 addresses in From: header are "
     "not accepted.",
     "smtp", "", "dsn", "", "malformed-message", "none", 1, "builtin:malformed-strong", "5.7.1"},
    {"Gmail DMARC", F, "failed", "5.7.26",
     "550-5.7.26 This message does not pass authentication checks (SPF and DKIM both do not "
     "pass). DKIM checks did not pass and SPF check for [example.com] did not pass",
     "smtp", "", "dsn", "", "dmarc-failure", "none", 1, NULL, "5.7.26"},
    {"Gmail unauthenticated (lhost-sendmail-59)", F, "failed", "5.7.1",
     "550-5.7.1 This message does not have authentication information or fails to pass",
     "smtp", "", "dsn", "", "dmarc-failure", "none", 1, NULL, "5.7.1"},
    {"5.7.1 unexplained: policy", F, "failed", "5.7.1", "550 5.7.1 Message refused", "smtp", "",
     "dsn", "", "policy-rejected", "none", 1, NULL, "5.7.1"},
    {"rejection at MAIL FROM is about the sender (lhost-exim-51)", F, "failed", "",
     "SMTP error from remote mail server after MAIL FROM:<s@example.com> SIZE=1022: 553 5.1.0 "
     "neko.example.com does not exist",
     "", "", "exim", "", "sender-rejected", "none", 1, "builtin:mail-from-stage", "5.1.0"},
    {"reverse DNS", F, "failed", "5.7.25",
     "550 5.7.25 [192.0.2.1] The IP address sending this message does not have a PTR record "
     "setup",
     "smtp", "", "dsn", "", "reverse-dns-failure", "none", 1, NULL, "5.7.25"},
    {"virus", F, "failed", "5.7.1", "554 5.7.1 Message rejected: virus found (Eicar-Test)", "smtp",
     "", "dsn", "", "virus-detected", "none", 1, NULL, "5.7.1"},
    {"X-Virus-Scanned in quoted headers is not a virus (lhost-sendmail-14)", F, "failed", "5.1.1",
     "550 5.1.1 <a@example.com>... User unknown > X-Virus-Scanned: ClamAV > X-Virus-Status: Clean",
     "smtp", "", "sendmail", "", "unknown-user", "address", 1, "builtin:unknown-user-words",
     "5.1.1"},
    {"relay denied", F, "failed", "5.7.1", "554 5.7.1 <a@b.example>: Relay access denied", "smtp",
     "", "dsn", "", "relay-denied", "none", 1, NULL, "5.7.1"},
    {"too large", F, "failed", "5.3.4", "552 5.3.4 Message size exceeds fixed limit", "smtp", "",
     "dsn", "", "message-too-large", "none", 1, NULL, "5.3.4"},
    {"auth required", F, "failed", "5.7.0", "530 5.7.0 Must issue a STARTTLS command first",
     "smtp", "", "dsn", "", "tls-required", "none", 1, NULL, "5.7.0"},
    {"loop", F, "failed", "5.4.6", "554 5.4.6 Too many hops", "smtp", "", "dsn", "",
     "routing-loop", "none", 1, NULL, "5.4.6"},
    {"URL blocklist is about content (lhost-imailserver-06)", F, "failed", "",
     "550-REJECTED - Blacklisted URL in message. (example.com) in [black]. See "
     "http://lookup.uribl.com.",
     "", "", "imailserver", "", "content-rejected", "none", 1, "builtin:url-blocklist", ""},

    /* ---- transient: never suppress at once ---- */
    {"mailbox full 5.2.2: count", F, "failed", "5.2.2",
     "552 5.2.2 <a@example.jp>... Mailbox Full", "smtp", "", "dsn", "", "mailbox-full", "count",
     0, "builtin:code-X.2.2", "5.2.2"},
    {"4xx user unknown never suppresses at once (lhost-postfix-05; label says hard)", F, "failed",
     "4.1.1",
     "450 4.1.1 <a@example.org>: Recipient address rejected: User unknown in virtual alias table",
     "smtp", "", "dsn", "", "unknown-user", "count", 0, "builtin:unknown-user-words", "4.1.1"},
    {"delay with a permanent-looking cause: count (lhost-opensmtpd-12; label says hard)", D,
     "delayed", "4.0.0", "No MX found for domain", "", "", "dsn", "", "unknown-domain", "count",
     0, NULL, "4.0.0"},
    {"greylisting", F, "delayed", "4.7.1", "451 4.7.1 Greylisted, please try again in 300 seconds",
     "smtp", "", "dsn", "", "greylisted", "none", 0, "builtin:greylisting", "4.7.1"},
    {"temporary DNS trouble (lhost-postfix-34)", F, "failed", "",
     "Name service error for domain example.com: Host not found, try again", "", "", "postfix",
     "", "network-error", "none", 0, "builtin:dns-try-again", ""},
    {"label notaccept, but a malformed DNS reply proves nothing (rhost-aol-06; the same text is "
     "labelled networkerror in lhost-postfix-17)",
     F, "failed", "5.4.4",
     "Name service error for name=libsisimai.org type=MX: Malformed or unexpected name server "
     "reply",
     "x-outbound-mail-relay", "", "dsn", "", "network-error", "none", 0,
     "builtin:dns-try-again", "5.4.4"},
    {"Exim retry timeout", F, "failed", "", "retry timeout exceeded", "", "", "exim", "", "expired",
     "count", 0, "builtin:expired-words", ""},
    {"local delivery program (x-unix), not an unknown user (lhost-postfix-01)", F, "failed", "5.1.1",
     "procmail: Couldn't create \"/var/spool/mail/neko\" id: r.example.org: No such user",
     "x-unix", "", "dsn", "", "remote-server-error", "none", 0,
     "builtin:local-delivery-program", "5.1.1"},
    {"x-unix quota: mailbox full (lhost-postfix-45)", F, "failed", "4.3.0",
     "/var/email/kijitora/Maildir/tmp/x: Disk quota exceeded", "x-unix", "", "dsn", "",
     "mailbox-full", "count", 0, "builtin:local-delivery-quota", "4.3.0"},
    {"x-unix: a delivery program's own words for a full mailbox (BounceParser quota-7)", F,
     "failed", "5.7.0", "The recipient mailbox has exceeded its disk space limit.", "x-unix", "",
     "dsn", "", "mailbox-full", "count", 0, "builtin:local-delivery-quota", "5.7.0"},
    {"rfc3464-01: the DSN says user unknown, the report's text says disk full -- conflicting "
     "evidence: the cause that heals is reported and the address only counted",
     F, "failed", "5.1.1", "550 5.1.1 <a@example.jp>... User Unknown", "smtp", "", "dsn",
     "Your message to <a> was automatically rejected:\nNot enough disk space\n", "mailbox-full",
     "count", 0, "builtin:unknown-user-words/conflict", "5.1.1"},
    {"the report's text repeating the diagnostic is no conflict (lhost-dragonfly-16)", F, "failed",
     "", "did not like our RCPT TO: 521 5.3.2 <a@x.example>: System not accepting network messages",
     "", "", "dragonfly",
     "did not like our RCPT TO:\n521 5.3.2 <a@x.example>: System not accepting network messages",
     "unknown-domain", "domain", 1, "builtin:reply-521", "5.3.2"},

    /* ---- provider quirks ---- */
    {"NTT docomo's filter after DATA says unknown user (rhost-nttdocomo-02)", F, "failed", "5.0.0",
     "550 Unknown user a@docomo.example.ne.jp", "smtp", "mfsmax.docomo.ne.jp", "dsn",
     "<a@docomo.example.ne.jp>: host mfsmax.docomo.ne.jp[192.0.2.1] said: 550 Unknown user "
     "a@docomo.example.ne.jp (in reply to end of DATA\n    command)",
     "sender-rejected", "none", 1, "builtin:docomo-filter", "5.0.0"},
    {"NTT docomo's filter in a Sendmail transcript (rhost-nttdocomo-01)", F, "failed", "5.0.0",
     "550 Unknown user a@docomo.example.ne.jp", "smtp", "mfsmax.docomo.ne.jp", "dsn",
     "... while talking to mfsmax.docomo.ne.jp.:\n>>> DATA\n<<< 550 Unknown user "
     "a@docomo.example.ne.jp\n554 5.0.0 Service unavailable",
     "sender-rejected", "none", 1, "builtin:docomo-filter", "5.0.0"},
    {"NTT docomo's DATA refusal as Sendmail's Status 5.2.0, no transcript", F, "failed", "5.2.0",
     "550 Unknown user a@docomo.example.ne.jp", "smtp", "mfsmax.docomo.ne.jp", "dsn", "",
     "sender-rejected", "none", 1, "builtin:docomo-filter-520", "5.2.0"},
    {"NTT docomo at RCPT TO: an unknown address (bouncehammer 2009 sample)", F, "failed", "5.1.1",
     "550 Unknown user a@docomo.example.ne.jp", "smtp", "mfsmax.docomo.ne.jp", "dsn",
     "... while talking to mfsmax.docomo.ne.jp.:\n>>> RCPT To:<a@docomo.example.ne.jp>\n"
     "<<< 550 Unknown user a@docomo.example.ne.jp\n550 5.1.1 <a@docomo.example.ne.jp>... User "
     "unknown\n>>> DATA\n<<< 503 Bad sequence of commands",
     "unknown-user", "address", 1, NULL, "5.1.1"},
    {"NTT docomo since March 2025, no stage named: the address", F, "failed", "5.0.0",
     "550 Unknown user a@docomo.example.ne.jp", "smtp", "mfsmax.docomo.ne.jp", "dsn", "",
     "unknown-user", "address", 1, "builtin:unknown-user-words", "5.0.0"},
    {"the same words elsewhere are an unknown user", F, "failed", "5.0.0",
     "550 Unknown user a@example.ne.jp", "smtp", "mx.notdocomo.ne.jp", "dsn", "", "unknown-user",
     "address", 1, "builtin:unknown-user-words", "5.0.0"},

    /* ---- label disagreements kept on purpose ---- */
    {"label syntaxerror: Exim's 'incorrectly constructed' is the message's header, not the "
     "address (lhost-exim-52)",
     F, "failed", "",
     "<neko@example.net>: malformed address: <neko@example.net> may not follow kijitora@example.com",
     "", "", "text", "", "malformed-message", "none", 1, "builtin:malformed-strong", ""},

    /* ---- nothing fits ---- */
    {"no evidence at all", F, "failed", "", "", "", "", "dsn", "", "unknown", "none", 1,
     "default:unknown", ""},
    {NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};

static bg_rules *rules;

static int setup(void **state)
{
    (void)state;
    rules = bg_rules_load(NULL);
    return rules ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bg_rules_free(rules);
    return 0;
}

static void classify_table(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; cases[i].label; i++) {
        const tcase *c = &cases[i];
        bg_rcpt rc;
        memset(&rc, 0, sizeof rc);
        snprintf(rc.recipient, sizeof rc.recipient, "a@example.org");
        snprintf(rc.action, sizeof rc.action, "%s", c->action);
        snprintf(rc.status, sizeof rc.status, "%s", c->status);
        snprintf(rc.diagnostic, sizeof rc.diagnostic, "%s", c->diag);
        snprintf(rc.diag_type, sizeof rc.diag_type, "%s", c->diag_type);
        snprintf(rc.remote_mta, sizeof rc.remote_mta, "%s", c->remote_mta);
        bg_bounce b;
        memset(&b, 0, sizeof b);
        b.kind = c->kind;
        snprintf(b.parser, sizeof b.parser, "%s", c->parser);
        b.rcpts = &rc;
        b.nrcpt = 1;
        char human[1024];
        snprintf(human, sizeof human, "%s", c->human);
        b.human_text = human;
        bg_verdict v;
        bg_classify_rcpt(rules, &b, &rc, &v);
        int ok = strcmp(v.category->id, c->category) == 0 &&
                 strcmp(bg_suppress_name(v.suppress), c->suppress) == 0 &&
                 v.permanent == c->permanent && strcmp(v.status, c->real_status) == 0 &&
                 (!c->rule || strcmp(v.rule, c->rule) == 0);
        if (!ok) {
            print_error("case %zu (%s):\n  got  %s %s permanent=%d status=%s rule=%s\n"
                        "  want %s %s permanent=%d status=%s rule=%s\n",
                        i, c->label, v.category->id, bg_suppress_name(v.suppress), v.permanent,
                        v.status, v.rule, c->category, c->suppress, c->permanent, c->real_status,
                        c->rule ? c->rule : "*");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* The message kind decides before any rule. */
static void classify_kinds(void **state)
{
    (void)state;
    bg_bounce b;
    bg_verdict v;
    bg_rcpt rc;
    memset(&rc, 0, sizeof rc);
    memset(&b, 0, sizeof b);
    b.human_text = (char *)"";

    b.kind = BG_MSG_NOT_BOUNCE;
    bg_classify_rcpt(rules, &b, NULL, &v);
    assert_string_equal(v.category->id, "not-a-bounce");
    assert_false(v.category->failure);
    assert_string_equal(bg_suppress_name(v.suppress), "none");
    assert_string_equal(v.rule, "builtin:not-a-bounce");

    b.kind = BG_MSG_FEEDBACK;
    bg_classify_rcpt(rules, &b, NULL, &v);
    assert_string_equal(v.category->id, "complaint");
    assert_string_equal(bg_suppress_name(v.suppress), "address");
    assert_false(v.permanent);

    b.kind = BG_MSG_AUTOREPLY;
    bg_classify_rcpt(rules, &b, NULL, &v);
    assert_string_equal(v.category->id, "auto-reply");
    assert_string_equal(bg_suppress_name(v.suppress), "none");

    b.kind = BG_MSG_SUCCESS;
    snprintf(rc.action, sizeof rc.action, "relayed");
    snprintf(rc.status, sizeof rc.status, "2.0.0");
    bg_classify_rcpt(rules, &b, &rc, &v);
    assert_string_equal(v.category->id, "delivered");
    assert_string_equal(v.status, "2.0.0");

    /* a delivered recipient inside a failure report is still delivered */
    b.kind = BG_MSG_FAILURE;
    snprintf(rc.action, sizeof rc.action, "delivered");
    bg_classify_rcpt(rules, &b, &rc, &v);
    assert_string_equal(v.category->id, "delivered");
    assert_string_equal(v.rule, "builtin:action-delivered");

    /* NULL bounce: the fallback, never a crash */
    bg_classify_rcpt(rules, NULL, NULL, &v);
    assert_string_equal(v.category->id, "unknown");
}

/* Exim's transport event text. */
static void classify_text(void **state)
{
    (void)state;
    bg_verdict v;
    bg_classify_text(rules,
                     "SMTP error from remote mail server after RCPT TO:<x@y.example>: 550 5.1.1 "
                     "<x@y.example>: Recipient address rejected: User unknown",
                     0, &v);
    assert_string_equal(v.category->id, "unknown-user");
    assert_string_equal(v.status, "5.1.1");
    assert_int_equal(v.reply_code, 550);
    assert_string_equal(bg_suppress_name(v.suppress), "address");
    assert_true(v.permanent);
    /* the same reply as a deferral: count, not permanent */
    bg_classify_text(rules,
                     "SMTP error from remote mail server after RCPT TO:<x@y.example>: 550 5.1.1 "
                     "<x@y.example>: User unknown",
                     1, &v);
    assert_string_equal(bg_suppress_name(v.suppress), "count");
    assert_false(v.permanent);
    bg_classify_text(rules, NULL, 0, &v);
    assert_string_equal(v.category->id, "unknown");
    assert_string_equal(v.rule, "default:unknown");
}

/* Exim transport events ($event_data) as exim-facts.md describes them. */
static void classify_exim_events(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int deferred;
        const char *category, *suppress;
        int permanent;
    } ev[] = {
        {"Connection refused", 1, "network-error", "none", 0},
        {"SMTP error from remote mail server after RCPT TO:<x@y.example>: 452 4.2.2 <x@y.example>: "
         "Mailbox full",
         1, "mailbox-full", "count", 0},
        {"SMTP error from remote mail server after RCPT TO:<x@y.example>: 451 4.7.1 Please try "
         "again later",
         1, "greylisted", "none", 0},
        {"SMTP error from remote mail server after initial connection: 554 5.7.1 Service "
         "unavailable; Client host [192.0.2.1] blocked using bl.spamcop.net",
         0, "sender-blocklisted", "none", 1},
        {"SMTP error from remote mail server after MAIL FROM:<s@x.example> SIZE=99999999: 552 5.3.4 "
         "Message size exceeds fixed limit",
         0, "message-too-large", "none", 1},
        {"SMTP error from remote mail server after RCPT TO:<x@y.example>: 550-5.1.1 The email "
         "account that you tried to reach does not exist. Please try double-checking",
         0, "unknown-user", "address", 1},
        {"SMTP error from remote mail server after RCPT TO:<x@y.example>: 550 5.7.26 "
         "Unauthenticated email from x.example is not accepted due to domain's DMARC policy",
         0, "dmarc-failure", "none", 1},
        {"a TLS session is required, but an attempt to start TLS failed", 0, "tls-required",
         "none", 1},
        {"host lookup did not complete", 1, "network-error", "none", 0},
        {NULL, 0, NULL, NULL, 0},
    };
    for (size_t i = 0; ev[i].text; i++) {
        bg_verdict v;
        bg_classify_text(rules, ev[i].text, ev[i].deferred, &v);
        if (strcmp(v.category->id, ev[i].category) != 0 ||
            strcmp(bg_suppress_name(v.suppress), ev[i].suppress) != 0 ||
            v.permanent != ev[i].permanent)
            fail_msg("event %zu: %s %s %d (%s), want %s %s %d", i, v.category->id,
                     bg_suppress_name(v.suppress), v.permanent, v.rule, ev[i].category,
                     ev[i].suppress, ev[i].permanent);
    }
}

/* The category table is the taxonomy: ids, order, defaults. */
static void category_table(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "unknown-user", "unknown-domain", "bad-address-syntax", "mailbox-disabled",
        "mailbox-moved", "recipient-suppressed", "complaint", "unsubscribed", "suppressed-here",
        "mailbox-full",
        "message-too-large", "content-rejected", "virus-detected", "malformed-message",
        "spf-failure", "dkim-failure", "dmarc-failure", "reverse-dns-failure",
        "sender-blocklisted", "sender-rejected", "policy-rejected", "relay-denied",
        "auth-required", "tls-required", "rate-limited", "greylisted", "remote-server-error",
        "network-error", "routing-loop", "protocol-error", "expired", "auto-reply", "delivered",
        "unknown", NULL};
    size_t n = 0;
    const bg_category *t = bg_category_table(&n);
    size_t k = 0;
    for (; ids[k]; k++) {
        assert_true(k < n);
        assert_string_equal(t[k].id, ids[k]);
        assert_ptr_equal(bg_category_find(ids[k]), &t[k]);
    }
    assert_int_equal(k, n);
    assert_null(t[n].id); /* sentinel */
    /* only address problems (and a complaint) suppress at once */
    for (size_t i = 0; i < n; i++) {
        int now = t[i].suppress == BG_SUP_ADDRESS || t[i].suppress == BG_SUP_DOMAIN;
        int addr = t[i].acts == BG_ACTS_SENDER && (strstr(t[i].id, "user") || strstr(t[i].id, "domain") ||
                                                   strstr(t[i].id, "address") || strstr(t[i].id, "mailbox-") ||
                                                   strcmp(t[i].id, "recipient-suppressed") == 0 ||
                                                   strcmp(t[i].id, "complaint") == 0 ||
                                                   strcmp(t[i].id, "unsubscribed") == 0);
        if (now && !addr)
            fail_msg("%s suppresses at once", t[i].id);
    }
    assert_string_equal(bg_category_find("unknown-domain")->suppress == BG_SUP_DOMAIN ? "d" : "x",
                        "d");
    assert_int_equal(bg_category_find("mailbox-full")->suppress, BG_SUP_COUNT);
    assert_int_equal(bg_category_find("expired")->suppress, BG_SUP_COUNT);
    assert_true(bg_category_find("rate-limited")->transient);
    assert_false(bg_category_find("unknown-user")->transient);
    assert_false(bg_category_find("delivered")->failure);
    assert_false(bg_category_find("unsubscribed")->failure);
    /* our own refusal never suppresses (it would rewrite the row behind it) */
    assert_int_equal(bg_category_find("suppressed-here")->suppress, BG_SUP_NONE);
    assert_string_equal(bg_category_find("not-a-bounce")->id, "not-a-bounce");
    assert_null(bg_category_find("no-such-category"));
    assert_null(bg_category_find(NULL));
    assert_string_equal(bg_category_unknown()->id, "unknown");
    assert_string_equal(bg_suppress_name(BG_SUP_DOMAIN), "domain");
    assert_int_equal(bg_suppress_parse("count"), BG_SUP_COUNT);
    assert_int_equal(bg_suppress_parse("often"), -1);
    assert_string_equal(bg_acts_name(BG_ACTS_RECIPIENT), "recipient");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classify_table),
        cmocka_unit_test(classify_kinds),
        cmocka_unit_test(classify_text),
        cmocka_unit_test(classify_exim_events),
        cmocka_unit_test(category_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
