/* bg_feedback: complaints and unsubscribe requests into the suppression
 * store, with the proof rules of bg_feedback.h (docs/security.md lists
 * the attacks each rule stops and the tests that perform them).
 */
#include "bg_feedback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bg_addr.h"
#include "bg_header.h"
#include "bg_inbound.h"
#include "bg_log.h"
#include "bg_mime.h"
#include "bg_policy.h"
#include "bg_provider.h"
#include "bg_prvs.h"
#include "bg_store_count.h"
#include "bg_store_sent.h"

/* Recipients of one message looked at for a complaint (a newsletter goes
 * to one recipient per message; a message to more is rarely a complaint's). */
#define BG_FB_SENT_MAX 64
/* Distinct recipient domains asked of DNS when the report names nobody. */
#define BG_FB_DOMAINS_MAX 8

/* ---- feedback types ------------------------------------------------------ */

static const struct {
    const char *type;
    int complaint;
} bg_fb_types[] = {
    {"abuse", 1},        /* "this is spam" */
    {"fraud", 1},        /* phishing, fraud */
    {"other", 1},        /* RFC 5965: any other complaint */
    {"", 1},             /* no Feedback-Type (JMRP without an ARF part) */
    {"not-spam", 0},     /* the opposite */
    {"auth-failure", 0}, /* RFC 6591: an authentication failure report */
    {"virus", 0},        /* the content, not the person */
    {"unsubscribe", 0},  /* Apple Mail's request: the unsubscribe router's */
};

int bg_feedback_is_complaint(const char *feedback_type)
{
    const char *t = feedback_type ? feedback_type : "";
    for (size_t i = 0; i < sizeof bg_fb_types / sizeof bg_fb_types[0]; i++)
        if (strcasecmp(t, bg_fb_types[i].type) == 0)
            return bg_fb_types[i].complaint;
    return 0;
}

void bg_feedback_fields(const char *msg, size_t len, const bg_bounce *b, char *type, size_t typelen,
                        int *named)
{
    if (named)
        *named = 0;
    if (!typelen)
        return;
    type[0] = '\0';
    int have_part = 0;
    if (msg && len) {
        bg_mime m;
        memset(&m, 0, sizeof m);
        char eol = bg_eol_detect(msg, len);
        if (bg_mime_walk(&m, msg, 0, len, eol, 8, 256) > 0) {
            for (size_t i = 0; i < m.n && !have_part; i++) {
                const bg_mime_part *pt = &m.parts[i];
                if (strcmp(pt->type, "message/feedback-report") != 0)
                    continue;
                have_part = 1;
                bg_buf tmp;
                bg_buf_init(&tmp);
                const char *p = msg;
                size_t off = pt->body_off, end = pt->end;
                if (pt->enc != BG_ENC_IDENTITY) {
                    bg_mime_decode(msg + pt->body_off, pt->end - pt->body_off, pt->enc, &tmp, 64 * 1024);
                    p = bg_buf_str(&tmp);
                    off = 0;
                    end = tmp.len;
                }
                bg_hdrs h;
                if (end > off && bg_hdrs_parse(&h, p, off, end, p == msg ? eol : bg_eol_detect(p, end)) > 0) {
                    char v[BG_ADDR_MAX * 2];
                    bg_hdrs_get(&h, "Feedback-Type", v, sizeof v);
                    /* the token: up to a blank or a parameter */
                    size_t k = strcspn(v, " \t;(");
                    snprintf(type, typelen, "%.*s", (int)k, v);
                    static const char *const rcpt_fields[] = {"Original-Rcpt-To", "Removal-Recipient"};
                    for (size_t f = 0; f < 2 && named && !*named; f++) {
                        for (long at = bg_hdrs_find(&h, rcpt_fields[f], 0); at >= 0 && !*named;
                             at = bg_hdrs_find(&h, rcpt_fields[f], (size_t)at + 1)) {
                            char a[BG_ADDR_MAX];
                            bg_hdrs_raw(&h, (size_t)at, v, sizeof v);
                            *named = bg_addr_extract(v, strlen(v), a, sizeof a) > 0 && strchr(a, '@');
                        }
                    }
                }
                bg_hdrs_free(&h);
                bg_buf_free(&tmp);
            }
        }
        bg_mime_free(&m);
        if (have_part)
            return; /* an ARF part without Feedback-Type: "" */
    }
    /* no ARF part: the reader's word (JMRP "abuse", Apple "unsubscribe") */
    if (b && b->nrcpt > 0 && b->rcpts[0].diagnostic[0] && !strchr(b->rcpts[0].diagnostic, ' ')) {
        snprintf(type, typelen, "%s", b->rcpts[0].diagnostic);
        if (named) /* JMRP's X-HmXmrOriginalRecipient, Apple's From: */
            *named = b->rcpts[0].recipient[0] != '\0';
    }
}

/* ---- helpers ------------------------------------------------------------- */

/* The lower-case domain of an address with a prvs tag taken off into out;
 * -1 when there is none. */
static int bg_fb_domain(const char *addr, char out[BG_ADDR_MAX])
{
    out[0] = '\0';
    if (!addr || !*addr)
        return -1;
    bg_prvs pv;
    const char *a = bg_prvs_parse(addr, &pv) ? pv.address : addr;
    const char *at = strrchr(a, '@');
    if (!at || bg_store_norm_recipient(at + 1, out) < 0 || strchr(out, '@')) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* Record one claim under rule; logs the suppression. -1 on a store
 * failure (*st), else 0 (recorded or a duplicate). *written 1 when the
 * event was new. */
static int bg_fb_record(bg_store *s, const char *domain, const char *addr, const char *msgid,
                        const char *category, const char *diag, const bg_store_rule *rule,
                        const char *what, const char *proof, bg_store_status *st, int *written)
{
    bg_store_event ev = {
        .sender_domain = domain,
        .recipient = addr,
        .message_id = msgid,
        .category = category,
        .status = "",
        .diagnostic = diag,
        .sending_ip = "",
        /* a complaint is its own source (suppress history, the change
         * log); an unsubscribe request is a message from another server */
        .source = strcmp(category, "complaint") == 0 ? BG_SRC_COMPLAINT : BG_SRC_INBOUND,
        .note = proof, /* kept with the change it makes */
    };
    bg_store_result res;
    bg_store_status r = bg_store_record(s, &ev, rule, &res);
    *written = 0;
    if (r == BG_STORE_DUPLICATE) {
        bg_logf(BG_LOG_INFO, "store: %s: %.200s already recorded for %s", what, addr, msgid);
        return 0;
    }
    if (r == BG_STORE_INVALID) {
        bg_logf(BG_LOG_INFO, "store: %s: '%.100s' or '%.100s' is not a full address or domain; not recorded",
                what, addr, domain);
        return 0;
    }
    if (r != BG_STORE_OK) {
        *st = r;
        return -1;
    }
    *written = 1;
    if (res.newly_suppressed)
        bg_logf(BG_LOG_INFO, "store: %.200s suppressed for mail from %s: %s (%s; %s)", res.key, domain,
                category, what, proof);
    else
        bg_logf(BG_LOG_INFO, "store: %s: %.200s recorded for mail from %s as %s (%s)", what, addr, domain,
                bg_suppress_name(rule->mode), proof);
    return 0;
}

/* ---- complaints ---------------------------------------------------------- */

typedef struct bg_fb_ctx {
    bg_store *s;
    bg_dns *dns;
    bg_policy *p;
    const bg_complaint_in *in;
    const bg_bounce *b;
    char domain[BG_ADDR_MAX];
    char orig_id[BG_MSGID_MAX];
    char what[80];
    bg_store_status *st;
} bg_fb_ctx;

/* Record the complaint of addr (a recipient we delivered the message to,
 * accepted by accepted_by) as far as the host speaks for its domain.
 * Returns 1 recorded, 0 not, -1 store failure. */
static int bg_fb_complaint_one(bg_fb_ctx *c, const char *addr, const char *accepted_by, bg_speaks sp,
                               const char *why)
{
    bg_store_rule rule;
    const bg_category *cat = bg_category_find("complaint");
    bg_policy_rule(c->p, c->domain, "complaint", cat ? cat->suppress : BG_SUP_ADDRESS, 0, &rule);
    bg_suppress asked = rule.mode;
    bg_inbound_limit_rule(&rule, sp);
    if (sp == BG_SPEAKS_NO) {
        bg_logf(BG_LOG_INFO, "store: %s: %.200s not recorded: %s", c->what, addr, why);
        return 0;
    }
    if (rule.mode != asked)
        bg_logf(BG_LOG_INFO, "store: %s: %.200s counts as %s, not %s (%s)", c->what, addr,
                bg_suppress_name(rule.mode), bg_suppress_name(asked), why);
    (void)accepted_by;
    char diag[400], proof[BG_MSGID_MAX + 420];
    const char *ft = c->in->feedback_type ? c->in->feedback_type : "";
    snprintf(diag, sizeof diag, "complaint: feedback report (Feedback-Type %.40s) from [%s]%s%.100s",
             ft[0] ? ft : "none", c->in->host ? c->in->host : "",
             c->b->reporting_mta[0] ? ", reporting MTA " : "", c->b->reporting_mta);
    snprintf(proof, sizeof proof, "sent %s; %s", c->orig_id, why);
    int written = 0;
    if (bg_fb_record(c->s, c->domain, addr, c->orig_id, "complaint", diag, &rule, c->what, proof, c->st,
                     &written) < 0)
        return -1;
    /* a counted complaint for `bounceguide report` (one per message and
     * recipient, as the event above): under the operator of the
     * recipient's domain, as the report cannot know the MX host here */
    const char *at = strrchr(addr, '@');
    if (written && bg_policy_report(c->p, c->domain))
        (void)bg_store_count_add(c->s, c->domain, bg_provider_find(NULL, at ? at + 1 : "")->id,
                                 BG_OUT_COMPLAINT, "complaint", 1, 0); /* best effort: the row is in */
    return written;
}

/* 1 when addr (normalised) is in the sent list; *idx its index. */
static int bg_fb_in_sent(const bg_store_sent_rcpt *sent, size_t n, const char *addr, size_t *idx)
{
    char a[BG_ADDR_MAX];
    if (bg_store_norm_recipient(addr, a) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(sent[i].recipient, a) == 0) {
            *idx = i;
            return 1;
        }
    return 0;
}

int bg_feedback_complaint(bg_store *s, bg_dns *dns, const bg_config *cfg, const bg_bounce *b,
                          const bg_complaint_in *in, bg_store_status *st)
{
    *st = BG_STORE_OK;
    if (!b || !in)
        return 0;
    bg_fb_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.dns = dns;
    c.in = in;
    c.b = b;
    c.st = st;
    snprintf(c.what, sizeof c.what, "complaint %.40s", in->id ? in->id : "");
    const char *host = in->host ? in->host : "";
    const char *refuse = NULL;
    char why[400];
    if (!bg_feedback_is_complaint(in->feedback_type)) {
        bg_logf(BG_LOG_INFO, "store: feedback report %.40s (Feedback-Type %.40s) is no complaint; not recorded",
                in->id ? in->id : "", in->feedback_type ? in->feedback_type : "");
        return 0;
    }
    bg_store_norm_msgid(b->orig.message_id, c.orig_id);
    if (!*host)
        refuse = "not received over SMTP (a local user's report proves nothing)";
    else if (in->prvs < 0)
        refuse = in->prvs_why && *in->prvs_why ? in->prvs_why : "bad prvs signature";
    else if (!c.orig_id[0])
        refuse = "no returned Message-ID to hold against what we sent";
    if (refuse) {
        bg_logf(BG_LOG_INFO, "store: %s not recorded: no proof it answers our mail (%s)", c.what, refuse);
        return 0;
    }
    if (!s)
        return 0; /* the store cannot be opened: the caller said so */
    c.p = bg_policy_new(cfg);
    if (!c.p)
        return 0;
    int recorded = 0;

    /* The sending domain: the one that delivered this Message-ID, among
     * the returned message's envelope sender (Return-Path), the report's
     * envelope recipient (a bounce address; a feedback loop's own address
     * is usually of the sending domain too) and the returned From. */
    const char *cands[3] = {b->orig.return_path, in->env_rcpt, b->orig.from};
    char tried[3][BG_ADDR_MAX];
    size_t ntried = 0;
    bg_store_sent_rcpt *sent = calloc(BG_FB_SENT_MAX, sizeof *sent);
    if (!sent)
        goto out;
    size_t nsent = 0;
    for (size_t i = 0; i < 3 && nsent == 0; i++) {
        char d[BG_ADDR_MAX], from[BG_ADDR_MAX];
        const char *a = cands[i];
        if (i == 2) { /* a header: "Name <a@b>" */
            bg_addr_extract(a, strlen(a), from, sizeof from);
            a = from;
        }
        if (bg_fb_domain(a, d) < 0)
            continue;
        int seen = 0;
        for (size_t k = 0; k < ntried; k++)
            seen |= strcmp(tried[k], d) == 0;
        if (seen)
            continue;
        snprintf(tried[ntried++], BG_ADDR_MAX, "%s", d);
        bg_store_status r = bg_store_sent_rcpts(s, d, c.orig_id, sent, BG_FB_SENT_MAX, &nsent);
        if (r != BG_STORE_OK) {
            *st = r;
            recorded = -1;
            goto out;
        }
        if (nsent)
            snprintf(c.domain, sizeof c.domain, "%s", d);
    }
    if (nsent == 0) {
        bg_logf(BG_LOG_INFO, "store: %s: <%s> was never sent from here (%s%s%s%s%s); not recorded", c.what,
                c.orig_id, ntried ? "" : "no sending domain in it", ntried ? tried[0] : "",
                ntried > 1 ? ", " : "", ntried > 1 ? tried[1] : "", ntried > 2 ? ", ..." : "");
        goto out;
    }
    if (!bg_policy_enabled(c.p, c.domain) || !bg_config_get_bool(cfg, c.domain, "suppress_inbound", 1) ||
        !bg_config_get_bool(cfg, c.domain, "suppress_complaints", 1)) {
        bg_logf(BG_LOG_INFO, "store: %s for %s not recorded: complaints are off for it "
                "(suppress, suppress_inbound or suppress_complaints)", c.what, c.domain);
        goto out;
    }
    size_t shown = nsent < BG_FB_SENT_MAX ? nsent : BG_FB_SENT_MAX;

    /* the recipients the report names */
    size_t named = 0;
    for (size_t i = 0; i < b->nrcpt; i++) {
        const char *a = b->rcpts[i].recipient[0] ? b->rcpts[i].recipient : b->rcpts[i].original_recipient;
        if (a[0] && !bg_policy_exempt(c.p, c.domain, a))
            named++;
    }
    long long cap = bg_config_get_num(cfg, c.domain, "suppress_inbound_max_rcpts", 10);
    if ((long long)named > cap) {
        bg_logf(BG_LOG_INFO,
                "store: %s for %s from [%s] not recorded: it names %zu recipients, more than "
                "suppress_inbound_max_rcpts (%lld)", c.what, c.domain, host, named, cap);
        goto out;
    }
    int claimed = 0;    /* named, sent, and from a host that may speak for it */
    int sent_named = 0; /* named and sent */
    for (size_t i = 0; i < b->nrcpt; i++) {
        const char *a = b->rcpts[i].recipient[0] ? b->rcpts[i].recipient : b->rcpts[i].original_recipient;
        size_t k;
        if (!a[0] || bg_policy_exempt(c.p, c.domain, a))
            continue;
        if (!bg_fb_in_sent(sent, shown, a, &k)) {
            bg_logf(BG_LOG_INFO, "store: %s: %.200s was never sent <%s> from %s; not recorded", c.what, a,
                    c.orig_id, c.domain);
            continue;
        }
        sent_named = 1;
        bg_speaks sp = bg_inbound_speaks_for(dns, host, bg_addr_domain(sent[k].recipient),
                                             sent[k].remote_host, why, sizeof why);
        claimed += sp != BG_SPEAKS_NO;
        int r = bg_fb_complaint_one(&c, sent[k].recipient, sent[k].remote_host, sp, why);
        if (r < 0) {
            recorded = -1;
            goto out;
        }
        recorded += r;
    }
    /* A report that names a recipient we sent the message to speaks of
     * that recipient only (a host speaking for another recipient's domain
     * does not make it that recipient's complaint). Otherwise -- feedback
     * loops often redact the complainer (RFC 6590) or write a placeholder,
     * and without Original-Rcpt-To the reader takes the first address of
     * the returned To:, which may be a co-recipient -- the message's only
     * recipient at a domain the reporting host speaks for is the
     * complainer; two or more, nobody. */
    if (claimed || (in->named && sent_named))
        goto out;
    if (nsent > BG_FB_SENT_MAX) {
        bg_logf(BG_LOG_INFO, "store: %s: names no recipient of <%s> its host speaks for, and it went to %zu; not recorded",
                c.what, c.orig_id, nsent);
        goto out;
    }
    char doms[BG_FB_DOMAINS_MAX][BG_ADDR_MAX];
    bg_speaks said[BG_FB_DOMAINS_MAX];
    size_t ndoms = 0, hits = 0, hit = 0;
    for (size_t i = 0; i < nsent; i++) {
        const char *d = bg_addr_domain(sent[i].recipient);
        if (bg_policy_exempt(c.p, c.domain, sent[i].recipient))
            continue;
        size_t k = 0;
        while (k < ndoms && strcmp(doms[k], d) != 0)
            k++;
        bg_speaks sp;
        if (k < ndoms) {
            sp = said[k];
        } else if (ndoms < BG_FB_DOMAINS_MAX) {
            /* asked once per domain (with the first recipient's delivery host) */
            sp = bg_inbound_speaks_for(dns, host, d, sent[i].remote_host, why, sizeof why);
            snprintf(doms[ndoms], BG_ADDR_MAX, "%s", d);
            said[ndoms++] = sp;
        } else {
            sp = BG_SPEAKS_NO;
        }
        if (sp == BG_SPEAKS_YES) {
            hits++;
            hit = i;
        }
    }
    if (hits != 1) {
        bg_logf(BG_LOG_INFO,
                "store: %s: names no recipient of <%s> its host speaks for, and [%s] speaks for %s of "
                "its %zu recipients' domains; not recorded",
                c.what, c.orig_id, host, hits ? "more than one" : "none", nsent);
        goto out;
    }
    bg_speaks sp = bg_inbound_speaks_for(dns, host, bg_addr_domain(sent[hit].recipient),
                                         sent[hit].remote_host, why, sizeof why);
    char why2[sizeof why + 64];
    snprintf(why2, sizeof why2, "the message's only recipient that %s", why);
    int r = bg_fb_complaint_one(&c, sent[hit].recipient, sent[hit].remote_host, sp, why2);
    recorded = r < 0 ? -1 : r;
out:
    free(sent);
    bg_policy_free(c.p);
    return recorded;
}

/* ---- unsubscribe requests ------------------------------------------------ */

int bg_feedback_unsubscribe(bg_store *s, bg_dns *dns, const bg_config *cfg, const bg_unsub_in *in,
                            bg_store_status *st)
{
    *st = BG_STORE_OK;
    if (!in)
        return 0;
    char what[80], domain[BG_ADDR_MAX], req[BG_ADDR_MAX], from[BG_ADDR_MAX];
    snprintf(what, sizeof what, "unsubscribe request %.40s", in->id ? in->id : "");
    const char *host = in->host ? in->host : "";
    const char *list = in->list_address ? in->list_address : "";
    const char *sender = in->env_sender ? in->env_sender : "";
    if (bg_fb_domain(list, domain) < 0) {
        bg_logf(BG_LOG_INFO, "store: %s: '%.100s' names no sending domain; nobody unsubscribed", what, list);
        return 0;
    }
    if (!*host) {
        bg_logf(BG_LOG_INFO, "store: %s to %.200s: not received over SMTP (a local user proves nothing "
                "about another address); nobody unsubscribed", what, list);
        return 0;
    }
    bg_prvs pv;
    const char *plain = bg_prvs_parse(sender, &pv) ? pv.address : sender;
    if (!*plain || bg_store_norm_recipient(plain, req) < 0 || !strchr(req, '@')) {
        bg_logf(BG_LOG_INFO, "store: %s to %.200s: the envelope sender '%.100s' is no address "
                "(a bounce or auto-reply asks for nothing); nobody unsubscribed", what, list, sender);
        return 0;
    }
    char fromn[BG_ADDR_MAX] = "";
    const char *fh = in->from ? in->from : "";
    bg_addr_extract(fh, strlen(fh), from, sizeof from);
    if (!from[0] || bg_store_norm_recipient(from, fromn) < 0 || strcmp(fromn, req) != 0) {
        bg_logf(BG_LOG_INFO, "store: %s: From: <%.200s> is not the envelope sender <%.200s>; "
                "nobody unsubscribed", what, from, req);
        return 0;
    }
    if (!s)
        return 0; /* the store cannot be opened: the caller said so */
    bg_policy *p = bg_policy_new(cfg);
    if (!p)
        return 0;
    int ret = 0;
    if (!bg_policy_enabled(p, domain)) {
        bg_logf(BG_LOG_INFO, "store: %s: suppression is off for %s; %s not unsubscribed", what, domain, req);
        goto out;
    }
    if (bg_policy_exempt(p, domain, req)) {
        bg_logf(BG_LOG_INFO, "store: %s: %s is exempt for %s (suppress_exempt); not unsubscribed", what,
                req, domain);
        goto out;
    }
    /* the requester is someone this sending domain mailed */
    long long now = in->now > 0 ? in->now : (long long)time(NULL);
    int found = 0;
    bg_store_status r = bg_store_mailed(s, domain, req, now - bg_policy_event_retention(p),
                                        BG_FEEDBACK_SCAN_MS, &found);
    if (r == BG_STORE_BUSY) {
        bg_logf(BG_LOG_WARN, "store: %s: the delivery records of %s could not be read within %d ms "
                "(locked or very large); %s not unsubscribed", what, domain, BG_FEEDBACK_SCAN_MS, req);
        goto out;
    }
    if (r != BG_STORE_OK) {
        *st = r;
        ret = -1;
        goto out;
    }
    if (!found) {
        bg_logf(BG_LOG_INFO, "store: %s: %s was never sent mail from %s (in the delivery records kept); "
                "not unsubscribed", what, req, domain);
        goto out;
    }
    /* ... and the request comes from its own domain's mail system */
    char why[400];
    const char *rd = bg_addr_domain(req);
    bg_speaks sp = bg_inbound_speaks_for(dns, host, rd, "", why, sizeof why);
    if (sp != BG_SPEAKS_YES) {
        bg_logf(BG_LOG_INFO, "store: %s: %s not unsubscribed from %s: %s", what, req, domain, why);
        goto out;
    }
    bg_store_rule rule;
    bg_policy_rule(p, domain, "unsubscribed", BG_SUP_ADDRESS, 0, &rule);
    char diag[BG_ADDR_MAX + 200], proof[sizeof why + 80];
    snprintf(diag, sizeof diag, "unsubscribe request to %.200s from [%s]", list, host);
    snprintf(proof, sizeof proof, "unsubscribe request to %.100s; %s", list, why);
    int written = 0;
    const char *key = in->message_id && *in->message_id ? in->message_id : (in->id ? in->id : "");
    if (bg_fb_record(s, domain, req, key, "unsubscribed", diag, &rule, what, proof, st, &written) < 0)
        ret = -1;
    else
        ret = 1;
out:
    bg_policy_free(p);
    return ret;
}
