/* bg_classify: from what a server said to a category and a decision.
 *
 * The message kind decides first (a feedback report is a complaint, an
 * auto-reply is an auto-reply, a delivered recipient is delivered, a message
 * that is no report is "not-a-bounce"). For a failed or delayed recipient
 * the real enhanced status and the reply code are found, the rules
 * (bg_rules) pick a category, and the taxonomy's rules turn the category
 * into a suppression decision: a 4xx or a delay never suppresses at once,
 * and only the categories that are address problems suppress at all.
 * This module reads nothing and writes nothing; it fills a bg_verdict.
 */
#include "bg_classify.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bg_addr.h"
#include "bg_header.h"
#include "bg_registry.h"
#include "bg_rules_int.h"
#include "bg_status.h"
#include "bg_time.h"

/* What the finder and the rules work from. */
typedef struct bg_evidence {
    const char *texts[2]; /* diagnostic, and a fallback text */
    char status[BG_STATUS_MAX];
    int reply;
    const char *parser;
    const char *remote_mta;
    const char *diag_type;
    const char *other_text; /* the report's own text, for a second opinion */
    int temporary; /* a 4xx reply, a 4.x.x status or a delay */
    int sender_side; /* the text is about the sender's own address, not the recipient's */
    int status_in_reply; /* the status code is in the remote server's own words */
} bg_evidence;

static bg_side bg_side_of_category(const bg_category *c);

/* An empty verdict: category unknown, rule default:unknown. */
static void bg_verdict_init(bg_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->category = bg_category_unknown();
    out->suppress = BG_SUP_NONE;
    snprintf(out->rule, sizeof out->rule, "default:unknown");
}

/* A verdict that the message structure alone decides. */
static void bg_verdict_fixed(bg_verdict *out, const char *cat, const char *rule)
{
    const bg_category *c = bg_category_find(cat);
    out->category = c ? c : bg_category_unknown();
    out->side = bg_side_of_category(out->category);
    out->suppress = out->category->suppress;
    out->permanent = 0;
    snprintf(out->rule, sizeof out->rule, "builtin:%s", rule);
}

/* Who is at fault when a rule does not say: the category's nature. */
static const struct {
    const char *id;
    bg_side side;
} bg_category_sides[] = {
    {"unknown-user", BG_SIDE_RECIPIENT},      {"unknown-domain", BG_SIDE_RECIPIENT},
    {"bad-address-syntax", BG_SIDE_RECIPIENT}, {"mailbox-disabled", BG_SIDE_RECIPIENT},
    {"mailbox-moved", BG_SIDE_RECIPIENT},     {"recipient-suppressed", BG_SIDE_RECIPIENT},
    {"complaint", BG_SIDE_RECIPIENT},         {"unsubscribed", BG_SIDE_RECIPIENT},
    {"mailbox-full", BG_SIDE_RECIPIENT},      {"suppressed-here", BG_SIDE_OURS},
    {"message-too-large", BG_SIDE_SENDER},    {"content-rejected", BG_SIDE_SENDER},
    {"virus-detected", BG_SIDE_SENDER},       {"malformed-message", BG_SIDE_SENDER},
    {"sender-rejected", BG_SIDE_SENDER},      {"spf-failure", BG_SIDE_OURS},
    {"dkim-failure", BG_SIDE_OURS},           {"dmarc-failure", BG_SIDE_OURS},
    {"reverse-dns-failure", BG_SIDE_OURS},    {"sender-blocklisted", BG_SIDE_OURS},
    {"relay-denied", BG_SIDE_OURS},           {"auth-required", BG_SIDE_OURS},
    {"tls-required", BG_SIDE_OURS},           {"rate-limited", BG_SIDE_OURS},
    {"protocol-error", BG_SIDE_OURS},         {"policy-rejected", BG_SIDE_REMOTE},
    {"greylisted", BG_SIDE_REMOTE},           {"remote-server-error", BG_SIDE_REMOTE},
    {"routing-loop", BG_SIDE_REMOTE},         {"network-error", BG_SIDE_NETWORK},
    {"expired", BG_SIDE_NETWORK},             {NULL, BG_SIDE_UNKNOWN},
};

static bg_side bg_side_of_category(const bg_category *c)
{
    for (size_t i = 0; bg_category_sides[i].id; i++)
        if (strcmp(bg_category_sides[i].id, c->id) == 0)
            return bg_category_sides[i].side;
    return BG_SIDE_UNKNOWN;
}

/* A timing rule decides only when nothing names a cause: no rule, a reply
 * code alone, or a connection failure (no server answered: rules.conf
 * keeps those words below the "gave up" words). docs/taxonomy.md: expired
 * when nothing more is known. */
static int bg_cause_is_weak(const bg_rule *cause, const bg_rule *timing)
{
    if (!cause || cause->priority <= 10)
        return 1;
    const char *id = bg_rule_cat(cause)->id;
    if (strcmp(id, "unknown") == 0)
        return 1;
    return strcmp(id, "network-error") == 0 && cause->priority < timing->priority;
}

/* The rule's name into out->rule, "builtin:" or "admin:" first. */
static void bg_rule_name(const bg_rule *ru, bg_verdict *out)
{
    /* names are at most 48 bytes (bg_rules), so this never truncates */
    const char *origin = ru->admin ? "admin:" : "builtin:";
    size_t ol = strlen(origin), nl = strnlen(ru->name, sizeof out->rule - 1 - ol);
    memcpy(out->rule, origin, ol);
    memcpy(out->rule + ol, ru->name, nl);
    out->rule[ol + nl] = '\0';
}

/* Categories that are a problem of the recipient's address itself. */
static int bg_is_address_category(const bg_category *c)
{
    return strcmp(c->id, "unknown-user") == 0 || strcmp(c->id, "mailbox-disabled") == 0 ||
           strcmp(c->id, "mailbox-moved") == 0 || strcmp(c->id, "bad-address-syntax") == 0;
}

/* "553 mx.example.com does not exist": the word before "does not exist"
 * is a host name (a dot, no '@', no brackets), so the domain is what does
 * not exist, not a mailbox. 1 when text says so. */
static int bg_host_does_not_exist(const char *text)
{
    static const char tail[] = " does not exist";
    for (const char *p = text; (p = strcasestr(p, tail)) != NULL; p++) {
        const char *e = p, *b = p;
        while (b > text && !isspace((unsigned char)b[-1]))
            b--;
        int dot = 0, other = 0;
        for (const char *q = b; q < e; q++) {
            if (*q == '.' && q > b && q + 1 < e)
                dot = 1;
            else if (!isalnum((unsigned char)*q) && *q != '-' && *q != '.')
                other = 1;
        }
        if (dot && !other && e > b && isalpha((unsigned char)e[-1]))
            return 1;
    }
    return 0;
}

/* Run the rules and apply the taxonomy's decision rules. */
static void bg_decide(const bg_rules *r, const bg_evidence *ev, bg_verdict *out)
{
    snprintf(out->status, sizeof out->status, "%s", ev->status);
    out->reply_code = ev->reply;
    bg_stage_ctx stg = {{ev->texts[0], ev->texts[1], ev->other_text}, 0, 0};
    bg_match_input in = {{ev->texts[0], ev->texts[1]}, ev->status, ev->reply,
                         ev->parser ? ev->parser : "", ev->remote_mta ? ev->remote_mta : "",
                         ev->diag_type ? ev->diag_type : "", &stg};
    bg_match_result m;
    bg_rules_match_split(r, &in, &m);
    /* cause and timing are two facts: giving up after retries is reported
     * with the cause of the last deferral when the report names one */
    const bg_rule *ru = m.cause;
    out->gave_up = m.timing != NULL;
    if (m.timing && bg_cause_is_weak(ru, m.timing))
        ru = m.timing;
    /* Among address problems the report's own explanation ("The user(s)
     * account is disabled") is more specific than a bare "user unknown"
     * (both suppress the address alike). Not a code: Sendmail-style
     * "550 5.2.1 ... User Unknown" means an unknown user. */
    const bg_registry_entry *reg = bg_registry_find(ev->status);
    /* the report's own explanation, read only when it may refine */
    bg_match_result o = {NULL, NULL};
    if (ru && strcmp(bg_rule_cat(ru)->id, "unknown-user") == 0 && ev->other_text &&
        ev->other_text[0] && (!reg || reg->weight < 40)) {
        bg_match_input oi = {{ev->other_text, NULL}, "", 0, "", "", "", NULL};
        bg_rules_match_split(r, &oi, &o);
    }
    if (ru && strcmp(bg_rule_cat(ru)->id, "unknown-user") == 0 && o.cause &&
               o.cause->priority >= 60 && bg_is_address_category(bg_rule_cat(o.cause)) &&
               bg_rule_cat(o.cause) != bg_rule_cat(ru) && (!reg || reg->weight < 40)) {
        ru = o.cause;
    }
    /* A refusal of the MAIL FROM command is about the sender (Postfix's
     * report says "in reply to MAIL FROM command"): when the reply's own
     * words name nothing but a vague refusal ("Access denied") or a code,
     * the report's stage decides. */
    if ((!ru || ru->priority < 30 ||
         (ru->priority < 60 && strcmp(bg_rule_cat(ru)->id, "policy-rejected") == 0)) &&
        ev->other_text &&
        strcasestr(ev->other_text, "in reply to MAIL FROM command")) {
        bg_match_input si = {{ev->other_text, NULL}, "", 0, "", "", "", NULL};
        const bg_rule *stage = bg_rules_match(r, &si);
        if (stage && strcmp(bg_rule_cat(stage)->id, "sender-rejected") == 0)
            ru = stage;
    }
    bg_suppress sup;
    if (ru) {
        out->category = bg_rule_cat(ru);
        if (strcmp(ru->name, "does-not-exist") == 0 && bg_host_does_not_exist(ev->texts[0]))
            out->category = bg_category_find("unknown-domain");
        sup = ru->suppress >= 0 ? (bg_suppress)ru->suppress : out->category->suppress;
        bg_rule_name(ru, out);
        out->side = ru->side >= 0 ? (bg_side)ru->side : bg_side_of_category(out->category);
    } else {
        out->category = bg_category_unknown();
        sup = out->category->suppress;
        snprintf(out->rule, sizeof out->rule, "default:unknown");
        out->side = BG_SIDE_UNKNOWN;
    }
    /* a status code that names the sender's address or our own server as
     * the fault is never the recipient's, whatever the words say */
    if (reg && (reg->side == BG_SIDE_SENDER || reg->side == BG_SIDE_OURS) &&
        (reg->weight >= 80 || (reg->weight >= 40 && ev->status_in_reply))) {
        if (reg->side == BG_SIDE_SENDER && out->side == BG_SIDE_RECIPIENT) {
            /* "550 5.7.27 ... does not accept mail": the sender's domain */
            out->category = bg_category_find("sender-rejected");
            size_t n = strlen(out->rule);
            snprintf(out->rule + n, sizeof out->rule - n, "/sender-code");
        }
        out->side = reg->side;
    }
    if (ev->sender_side)
        out->side = BG_SIDE_SENDER;
    if (out->side == BG_SIDE_SENDER || out->side == BG_SIDE_OURS)
        sup = BG_SUP_NONE;
    /* a temporary refusal or a delay: at most a soft event */
    if (ev->temporary && (sup == BG_SUP_ADDRESS || sup == BG_SUP_DOMAIN))
        sup = BG_SUP_COUNT;
    /* Suppressing at once needs evidence that agrees with itself: when the
     * report's own text names a cause that heals (mailbox full, server
     * trouble, ...), the address is only counted. */
    if ((sup == BG_SUP_ADDRESS || sup == BG_SUP_DOMAIN) && ev->other_text &&
        ev->other_text[0]) {
        bg_match_input oin = {{ev->other_text, NULL}, "", 0, "", "", "", NULL};
        const bg_rule *second = bg_rules_match(r, &oin);
        /* the words of the diagnostic alone, to tell a repetition of it
         * from a different story */
        bg_match_input d = {{ev->texts[0], NULL}, "", 0, "", "", "", NULL};
        if (second && bg_rule_cat(second)->transient && second->nphrase && second->priority >= 60 &&
            bg_rules_match(r, &d) != second) {
            /* the report contradicts the reply: its cause heals, so it is
             * the one reported, and the address is only counted */
            sup = BG_SUP_COUNT;
            out->category = bg_rule_cat(second);
            out->side = bg_side_of_category(out->category);
            size_t n = strlen(out->rule);
            snprintf(out->rule + n, sizeof out->rule - n, "/conflict");
        }
    }
    out->suppress = sup;
    out->permanent = out->category->failure && !out->category->transient && !ev->temporary;
}

/* 1 for the actions that say the message got through. */
static int bg_action_success(const char *a)
{
    /* "deliverable" is not RFC 3464 but some MTAs answer address probes with it */
    return strcasecmp(a, "delivered") == 0 || strcasecmp(a, "relayed") == 0 ||
           strcasecmp(a, "expanded") == 0 || strcasecmp(a, "deliverable") == 0;
}

/* The real enhanced status: Status unless generic or absent, then the first
 * code in the diagnostic, else Status as written. */
static void bg_real_status(const bg_rcpt *rc, char out[BG_STATUS_MAX])
{
    /* the code alone: the reader keeps Status as written ("4.4.7xyz") */
    char st[BG_STATUS_MAX];
    size_t n = bg_status_valid(rc->status);
    snprintf(st, sizeof st, "%.*s", (int)n, rc->status);
    if (n && !bg_status_generic(st)) {
        memcpy(out, st, sizeof st);
        return;
    }
    if (bg_status_find(rc->diagnostic, out))
        return;
    memcpy(out, st, sizeof st);
}

/* The reply code in front of the first enhanced code ("... RCPT TO: 521
 * 5.3.2 ..."), for texts where bg_reply_find sees no known lead-in. */
static int bg_reply_before_status(const char *text)
{
    char st[BG_STATUS_MAX];
    size_t at = bg_status_find(text, st);
    if (at < 5)
        return 0;
    const char *p = text + at - 1; /* the status code */
    const char *q = p - 1;
    if (*q != ' ' && *q != '-')
        return 0;
    q -= 3;
    if (q > text && (isalnum((unsigned char)q[-1]) || q[-1] == '.'))
        return 0;
    if (q[0] != st[0] || !isdigit((unsigned char)q[1]) || !isdigit((unsigned char)q[2]))
        return 0;
    return (q[0] - '0') * 100 + (q[1] - '0') * 10 + (q[2] - '0');
}

/* The reply code of a text: at its start or after a lead-in, else in
 * front of its enhanced status code. */
static int bg_reply_of(const char *text)
{
    int r = bg_reply_find(text);
    return r ? r : bg_reply_before_status(text);
}

/* 1 when the reply names the sender's own address and not the
 * recipient's ("<alice@our.example>: Sender address rejected"): whatever
 * it says, it is not about the recipient. */
static int bg_names_sender(const bg_bounce *b, const bg_rcpt *rc)
{
    char sender[BG_ADDR_MAX];
    if (b->orig.return_path[0])
        snprintf(sender, sizeof sender, "%s", b->orig.return_path);
    else if (!bg_addr_extract(b->orig.from, strlen(b->orig.from), sender, sizeof sender))
        return 0;
    if (strlen(sender) < 3 || !strchr(sender, '@') || strcasecmp(sender, rc->recipient) == 0)
        return 0;
    /* the reply itself: after Exim's "... after RCPT TO:<rcpt>:" */
    const char *d = rc->diagnostic;
    const char *to = bg_memcasemem(d, strlen(d), "rcpt to:");
    if (to && (to = strchr(to, '>')) != NULL)
        d = to + 1;
    size_t dl = strlen(d);
    return bg_memcasemem(d, dl, sender) != NULL &&
           (!rc->recipient[0] || bg_memcasemem(d, dl, rc->recipient) == NULL);
}

/* 1 for a 4.x.x status or a 4xx reply: the refusal was temporary. */
static int bg_temporary(const char *status, int reply)
{
    return bg_status_class(status) == '4' || (reply >= 400 && reply < 500);
}

/* How long the reporting server tried, and since when: from the arrival
 * (Arrival-Date, else the returned message's topmost Received: date) to
 * the last attempt (Last-Attempt-Date, else the report's Date:). */
static void bg_timing(const bg_bounce *b, const bg_rcpt *rc, bg_verdict *out)
{
    long long since = 0, until = 0;
    if (bg_time_parse(b->arrival_date, &since) < 0 && bg_time_parse(b->orig.received, &since) < 0)
        return;
    if (!(rc && bg_time_parse(rc->last_attempt, &until) == 0) && bg_time_parse(b->date, &until) < 0)
        return;
    if (until < since)
        return;
    out->tried_since = since;
    out->tried_for = until - since;
}

long long bg_classify_retry_until(const bg_verdict *v, long long give_up)
{
    if (!v || v->tried_since <= 0 || give_up <= 0 || v->tried_since > LLONG_MAX - give_up)
        return 0;
    long long until = v->tried_since + give_up;
    return until > v->tried_since + v->tried_for ? until : 0;
}

/* The message kind first, then the evidence of this recipient. */
void bg_classify_rcpt(const bg_rules *r, const bg_bounce *b, const bg_rcpt *rc,
                      bg_verdict *out)
{
    bg_verdict_init(out);
    if (!b)
        return;
    if (rc) {
        bg_real_status(rc, out->status);
        out->reply_code = bg_reply_of(rc->diagnostic);
    }
    switch (b->kind) {
    case BG_MSG_FEEDBACK:
        bg_verdict_fixed(out, "complaint", "feedback-report");
        return;
    case BG_MSG_AUTOREPLY:
        bg_verdict_fixed(out, "auto-reply", "auto-reply");
        return;
    case BG_MSG_NOT_BOUNCE:
        if (!rc) {
            bg_verdict_fixed(out, "not-a-bounce", "not-a-bounce");
            return;
        }
        break;
    case BG_MSG_SUCCESS:
        if (!rc || !rc->action[0] || bg_action_success(rc->action)) {
            bg_verdict_fixed(out, "delivered", "action-delivered");
            return;
        }
        break;
    default:
        break;
    }
    if (rc && bg_action_success(rc->action)) {
        bg_verdict_fixed(out, "delivered", "action-delivered");
        return;
    }
    bg_evidence ev;
    memset(&ev, 0, sizeof ev);
    ev.parser = b->parser;
    if (rc) {
        snprintf(ev.status, sizeof ev.status, "%s", out->status);
        ev.reply = out->reply_code;
        ev.texts[0] = rc->diagnostic;
        ev.remote_mta = rc->remote_mta;
        ev.diag_type = rc->diag_type;
        /* no reply text of its own: the report's text speaks for it, but
         * only when it cannot be about another recipient */
        if (!rc->diagnostic[0] && b->nrcpt == 1 && b->human_text)
            ev.texts[1] = b->human_text;
        else if (b->nrcpt == 1 && b->human_text)
            ev.other_text = b->human_text;
        ev.temporary = strcasecmp(rc->action, "delayed") == 0;
        ev.sender_side = bg_names_sender(b, rc);
        char st[BG_STATUS_MAX];
        ev.status_in_reply = bg_status_find(rc->diagnostic, st) && strcmp(st, ev.status) == 0;
    } else {
        /* a report without recipients: its text is all there is */
        ev.texts[0] = b->human_text ? b->human_text : "";
        bg_status_find(ev.texts[0], ev.status);
        ev.reply = bg_reply_of(ev.texts[0]);
    }
    if (b->kind == BG_MSG_DELAY || bg_temporary(ev.status, ev.reply))
        ev.temporary = 1;
    bg_decide(r, &ev, out);
    /* a delay warning: the server has not given up */
    int delay = b->kind == BG_MSG_DELAY || (rc && strcasecmp(rc->action, "delayed") == 0);
    if (delay)
        out->gave_up = 0;
    if (out->gave_up || delay)
        bg_timing(b, rc, out);
}

int bg_classify_take_cause(bg_verdict *v, const char *cause, const char *origin)
{
    const bg_category *c = cause ? bg_category_find(cause) : NULL;
    if (!v->gave_up || strcmp(v->category->id, "expired") != 0 || !c || !c->failure ||
        strcmp(c->id, "expired") == 0 || strcmp(c->id, "network-error") == 0 ||
        strcmp(c->id, "unknown") == 0 || strcmp(c->id, "not-a-bounce") == 0)
        return 0;
    v->category = c;
    v->side = bg_side_of_category(c);
    bg_suppress sup = c->suppress;
    if (sup == BG_SUP_ADDRESS || sup == BG_SUP_DOMAIN)
        sup = BG_SUP_COUNT; /* it was a deferral */
    if (v->side == BG_SIDE_SENDER || v->side == BG_SIDE_OURS)
        sup = BG_SUP_NONE;
    v->suppress = sup;
    v->permanent = 0;
    snprintf(v->rule, sizeof v->rule, "%s", origin ? origin : "store:last-deferral");
    return 1;
}

/* A bare reply text: its own status and reply code, no kind, no parser. */
void bg_classify_text(const bg_rules *r, const char *text, int deferred, bg_verdict *out)
{
    bg_classify_reply(r, text, deferred, "", out);
}

void bg_classify_reply(const bg_rules *r, const char *text, int deferred, const char *remote_mta,
                       bg_verdict *out)
{
    bg_verdict_init(out);
    bg_evidence ev;
    memset(&ev, 0, sizeof ev);
    ev.remote_mta = remote_mta ? remote_mta : "";
    ev.texts[0] = text ? text : "";
    bg_status_find(ev.texts[0], ev.status);
    ev.reply = bg_reply_of(ev.texts[0]);
    ev.parser = "";
    ev.status_in_reply = 1;
    ev.temporary = deferred || bg_temporary(ev.status, ev.reply);
    bg_decide(r, &ev, out);
}
