/* bg_scrape_fmt: the table of non-RFC 3464 bounce formats, and the
 * extractors of formats the generic line scraper cannot read.
 *
 * A row names the format (b->parser), the phrases that recognise it in the
 * text, From/Subject hints, and its extractor (NULL = the generic scraper).
 * Rows are checked in table order: put the more specific first.
 */
#include "bg_scrape_int.h"

#include <ctype.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

/* Exim's line under an address an alias led to: "(generated from X)" or
 * "(ultimately generated from X)". X is the address the sender's server
 * sent to, so it is the one to record; the line is no part of the reason.
 * 1 with X in orig when the line [p, e) is one. */
static int bg_scrape_exim_parent(const char *p, const char *e, char orig[BG_ADDR_MAX])
{
    static const char *const pre[] = {"(generated from ", "(ultimately generated from ", NULL};
    for (int i = 0; pre[i]; i++) {
        size_t n = strlen(pre[i]);
        if ((size_t)(e - p) <= n || strncasecmp(p, pre[i], n) != 0)
            continue;
        const char *q = p + n;
        while (q < e && (*q == '<' || *q == '"'))
            q++;
        return bg_addr_at(q, e, orig) > 0;
    }
    return 0;
}

/* A reason line that is framing around the reply, not the reply:
 *   Sendmail "(reason: X)"            -> BG_SF_UNWRAP, X in [*vp, *ve)
 *   Sendmail "(expanded from: <X>)"   -> BG_SF_DROP, X in orig (the address sent to)
 *   Exchange "The MTS-ID of the original message is: ..." (an X.400 id)
 *                                     -> BG_SF_DROP_WRAPS (its wrapped rest too)
 * [p, e) is the line without its indentation. */
int bg_scrape_frame_line(const char *p, const char *e, char orig[BG_ADDR_MAX], const char **vp,
                         const char **ve)
{
    static const char reason[] = "(reason:", expanded[] = "(expanded from:",
                      mts[] = "The MTS-ID of the original message is:";
    size_t n = (size_t)(e - p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n > sizeof reason && !strncasecmp(p, reason, sizeof reason - 1) && p[n - 1] == ')') {
        const char *q = p + sizeof reason - 1;
        while (q < p + n - 1 && *q == ' ')
            q++;
        *vp = q;
        *ve = p + n - 1;
        return *ve > *vp ? BG_SF_UNWRAP : BG_SF_NONE;
    }
    if (n > sizeof expanded && !strncasecmp(p, expanded, sizeof expanded - 1) && p[n - 1] == ')') {
        const char *q = p + sizeof expanded - 1;
        while (q < p + n && (*q == ' ' || *q == '<' || *q == '"'))
            q++;
        char a[BG_ADDR_MAX];
        if (!bg_addr_at(q, p + n, a))
            return BG_SF_NONE;
        if (!orig[0])
            memcpy(orig, a, sizeof a);
        return BG_SF_DROP;
    }
    if (n >= sizeof mts - 1 && !strncasecmp(p, mts, sizeof mts - 1))
        return BG_SF_DROP_WRAPS;
    return BG_SF_NONE;
}

/* 1 when the text after an address is only when it failed (Exchange's
 * "x@y on Thu, 29 Apr 2010 00:00:00 -0000", "x@y on 4/29/01 11:34:45 PM"):
 * "on " and a date with a time of day in it. */
int bg_scrape_date_tail(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (e - p < 10 || strncasecmp(p, "on ", 3) != 0 || e - p > 64)
        return 0;
    for (const char *q = p + 3; q + 3 < e; q++)
        if (isdigit((unsigned char)q[0]) && q[1] == ':' && isdigit((unsigned char)q[2]) &&
            isdigit((unsigned char)q[3]))
            return 1;
    return 0;
}

/* A lead-in line under which the failed addresses are listed while the
 * reason is written above it (NTT docomo's mopera and KDDI's EZweb:
 * "user unknown" / "The following recipients did not receive this
 * message:" / <addr>). */
int bg_scrape_reason_above(const char *p, const char *e)
{
    return bg_scrape_find(p, e, "did not receive this message") != NULL;
}

/* Exim: after "The following address(es) failed:" each block is a line
 * indented by up to two blanks (the address, or "pipe to |...", "save to
 * ...") and the more indented lines under it (the reason). A block whose
 * head is not an address takes the address X-Failed-Recipients gives in
 * the same position. */
static size_t bg_scrape_exim(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    (void)f;
    const char *p = c->text;
    const char *s = NULL;
    static const char *const starts[] = {"address(es) failed:", "address failed:",
                                         "incorrectly constructed:", "following address(es)",
                                         NULL};
    for (int i = 0; starts[i] && !s; i++)
        s = bg_scrape_find(p, c->end, starts[i]);
    if (!s)
        return 0;
    const char *pos = memchr(s, '\n', (size_t)(c->end - s));
    if (!pos)
        return 0;
    pos++;
    const char *xf = c->in->header ? c->in->header(c->in->ctx, "X-Failed-Recipients") : "";
    const char *xp = xf ? xf : "", *xe = xp + strnlen(xp, 65536), *xq = xp;
    size_t before = b->nrcpt;
    bg_scrape_line l;
    bg_scrape_diag d = {.len = 0};
    char addr[BG_ADDR_MAX] = "", orig[BG_ADDR_MAX] = "";
    int open = 0, seen = 0;
    size_t hindent = 0;
    while (bg_scrape_line_next(&pos, c->end, &l)) {
        int blank = 1;
        for (size_t i = 0; i < l.len; i++)
            if (l.p[i] != ' ' && l.p[i] != '\t')
                blank = 0;
        /* a reason still to come: "For the following reason:" and below */
        int waiting = open && (d.len == 0 || d.s[d.len - 1] == ':');
        if (open && blank && waiting)
            continue;
        if (waiting && !blank && l.indent <= hindent) {
            const char *q0 = l.p + l.indent;
            while (q0 < l.p + l.len && (*q0 == '<' || *q0 == '"'))
                q0++;
            char tmp[BG_ADDR_MAX];
            if (!bg_addr_at(q0, l.p + l.len, tmp)) {
                if (d.len)
                    bg_scrape_diag_add(&d, " ", 1);
                bg_scrape_diag_add(&d, l.p + l.indent, l.len - l.indent);
                continue;
            }
        }
        if (open && !blank && l.indent > hindent) {
            if (!orig[0] && bg_scrape_exim_parent(l.p + l.indent, l.p + l.len, orig))
                continue;
            if (d.len)
                bg_scrape_diag_add(&d, " ", 1);
            bg_scrape_diag_add(&d, l.p + l.indent, l.len - l.indent);
            continue;
        }
        if (open) {
            bg_scrape_add_reason(c, b, addr, orig, &d);
            open = 0;
        }
        if (blank)
            continue;
        if (seen && l.indent < hindent)
            break;
        if (l.indent > 2 || (seen && l.indent != hindent))
            break;
        /* a block head */
        const char *q = l.p + l.indent, *e = l.p + l.len;
        while (q < e && (*q == '<' || *q == '"'))
            q++;
        size_t n = bg_addr_at(q, e, addr);
        const char *at;
        char xaddr[BG_ADDR_MAX];
        /* the header address in this block's position (one step per block) */
        size_t xn = bg_addr_find(xq, xe, xaddr, &at);
        if (xn)
            xq = at + xn;
        else
            xq = xe;
        d.len = 0;
        d.s[0] = '\0';
        orig[0] = '\0';
        if (n) {
            q += n;
            while (q < e && (*q == '>' || *q == '"' || *q == ':' || *q == ' '))
                q++;
            bg_scrape_diag_add(&d, q, (size_t)(e - q));
        } else if (xn) {
            memcpy(addr, xaddr, sizeof addr);
            bg_scrape_diag_add(&d, l.p + l.indent, l.len - l.indent);
        } else if (bg_addr_find(l.p, e, addr, &at)) {
            bg_scrape_diag_add(&d, l.p + l.indent, l.len - l.indent);
        } else {
            break;
        }
        open = 1;
        seen = 1;
        hindent = l.indent;
    }
    if (open)
        bg_scrape_add_reason(c, b, addr, orig, &d);
    return b->nrcpt - before;
}


/* AOL's own notice: "Your mail to the following recipients could not be
 * delivered because ...:" then one indented line per recipient, an address
 * or a bare AOL screen name. A screen name is the mailbox at the domain of
 * the mailer-daemon that wrote the notice (and is named only then). */
static size_t bg_scrape_aol(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    const char *s = bg_scrape_find(c->text, c->end, f->text[0]);
    if (!s)
        return 0;
    const char *colon = memchr(s, ':', (size_t)(c->end - s));
    const char *nl = memchr(s, '\n', (size_t)(c->end - s));
    if (!colon || (nl && nl < colon))
        return 0;
    bg_scrape_diag d = {.len = 0};
    bg_scrape_diag_add(&d, s, (size_t)(colon - s));
    char dom[BG_ADDR_MAX] = "", from[BG_ADDR_MAX];
    const char *at;
    if (bg_addr_find(c->from, c->from + strlen(c->from), from, &at) &&
        (!strncasecmp(from, "mailer-daemon@", 14) || !strncasecmp(from, "postmaster@", 11)))
        snprintf(dom, sizeof dom, "%s", strchr(from, '@') + 1);
    size_t before = b->nrcpt;
    const char *pos = colon + 1;
    bg_scrape_line l;
    bg_scrape_line_next(&pos, c->end, &l); /* the rest of the colon's line */
    while (bg_scrape_line_next(&pos, c->end, &l) && l.indent > 0 && l.indent < l.len) {
        const char *p = l.p + l.indent, *e = l.p + l.len;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        char addr[BG_ADDR_MAX];
        if (bg_addr_at(p, e, addr) == (size_t)(e - p)) {
            bg_scrape_add_rcpt(c, b, addr, d.s);
            continue;
        }
        size_t n = (size_t)(e - p), k = 0;
        while (k < n && (isalnum((unsigned char)p[k]) || p[k] == '.' || p[k] == '_' || p[k] == '-'))
            k++;
        size_t dl = strlen(dom);
        if (k != n || !dl || n + 1 + dl >= sizeof addr)
            continue;
        memcpy(addr, p, n);
        addr[n] = '@';
        memcpy(addr + n + 1, dom, dl + 1);
        bg_scrape_add_rcpt(c, b, addr, d.s);
    }
    return b->nrcpt - before;
}

/* The one address of the returned message's To and Cc whose local part
 * is name (case-insensitive) into out; 0 when none, or when two differ. */
static int bg_scrape_local_to_addr(const bg_original *o, const char *name, size_t n,
                                   char out[BG_ADDR_MAX])
{
    const char *const hdrs[] = {o->to, o->cc};
    int found = 0;
    for (int h = 0; h < 2; h++) {
        const char *p = hdrs[h], *e = p + strnlen(p, BG_HDR_MAX), *at;
        char a[BG_ADDR_MAX];
        size_t an;
        while ((an = bg_addr_find(p, e, a, &at)) != 0) {
            p = at + an;
            const char *sign = strrchr(a, '@');
            if (!sign || (size_t)(sign - a) != n || strncasecmp(a, name, n) != 0)
                continue;
            if (found && strcasecmp(out, a) != 0)
                return 0; /* the same mailbox name at two domains: which one? */
            memcpy(out, a, sizeof a);
            found = 1;
        }
    }
    return found;
}

/* Novell GroupWise: "The message that you sent was undeliverable to the
 * following:" then one indented line per recipient, "addr (reason)". For
 * its own users GroupWise writes the bare user id with no domain, and
 * nothing in the notice names the domain (the From is the gateway host,
 * not the mail domain). Such a name is completed only from the returned
 * message's To/Cc, when exactly one address there has that local part;
 * otherwise it is left out: guessing a domain would suppress the wrong
 * address. */
static size_t bg_scrape_groupwise(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    size_t before = b->nrcpt;
    bg_scrape_generic(b, c, f);
    const char *s = bg_scrape_find(c->text, c->end, f->text[0]);
    const char *pos = s ? memchr(s, '\n', (size_t)(c->end - s)) : NULL;
    if (!pos || !b->orig.present)
        return b->nrcpt - before;
    pos++;
    bg_scrape_line l;
    int seen = 0;
    while (bg_scrape_line_next(&pos, c->end, &l)) {
        if (l.indent == l.len) {
            if (seen)
                break;
            continue;
        }
        if (l.indent == 0)
            break;
        seen = 1;
        const char *p = l.p + l.indent, *e = l.p + l.len;
        size_t n = 0;
        while (p + n < e && (isalnum((unsigned char)p[n]) || p[n] == '.' || p[n] == '_' ||
                             p[n] == '-' || p[n] == '+'))
            n++;
        /* "userid" alone or "userid (reason)" */
        if (n == 0 || n >= 64 || (p + n < e && p[n] != ' ' && p[n] != '\t'))
            continue;
        char addr[BG_ADDR_MAX];
        if (!bg_scrape_local_to_addr(&b->orig, p, n, addr))
            continue;
        const char *r = p + n;
        while (r < e && (*r == ' ' || *r == '\t'))
            r++;
        bg_scrape_diag d = {.len = 0};
        if (e - r >= 2 && *r == '(' && e[-1] == ')')
            bg_scrape_diag_add(&d, r + 1, (size_t)(e - r - 2));
        else
            bg_scrape_diag_add(&d, r, (size_t)(e - r));
        bg_scrape_add_rcpt(c, b, addr, d.s);
    }
    return b->nrcpt - before;
}

/* Sendmail's "Transcript of session follows": lines "554 <user@dom>...
 * reason" name a recipient; the remote reply ("<<< 550 ...") that came
 * just before, in the same "while talking to host" conversation, is the
 * real reason. The "following addresses had permanent fatal errors" list
 * is read first by the generic scraper (its order wins). */
static size_t bg_scrape_sendmail(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    size_t before = b->nrcpt;
    bg_scrape_generic(b, c, f);
    const char *t = bg_scrape_find(c->text, c->end, "Transcript of session follows");
    if (!t)
        return b->nrcpt - before;
    const char *pos = memchr(t, '\n', (size_t)(c->end - t));
    bg_scrape_line l;
    bg_scrape_diag reply = {.len = 0};
    char host[BG_FIELD_MAX] = "";
    while (pos && bg_scrape_line_next(&pos, c->end, &l)) {
        const char *p = l.p + l.indent, *e = l.p + l.len;
        while (p < e && *p == '>' && l.indent == 0 && e - p > 1 && p[1] == ' ')
            p += 2; /* a quoted bounce */
        const char *w = bg_scrape_find(p, e, "while talking to ");
        if (w) {
            w += strlen("while talking to ");
            size_t n = 0;
            while (w + n < e && w[n] != ':' && w[n] != ' ' && n + 1 < sizeof host)
                n++;
            while (n && w[n - 1] == '.')
                n--;
            memcpy(host, w, n);
            host[n] = '\0';
            reply.len = 0;
            reply.s[0] = '\0';
            continue;
        }
        if (e - p >= 4 && memcmp(p, "<<< ", 4) == 0) {
            if (reply.len)
                bg_scrape_diag_add(&reply, " ", 1);
            bg_scrape_diag_add(&reply, p + 4, (size_t)(e - p - 4));
            continue;
        }
        if (e - p >= 4 && memcmp(p, ">>> ", 4) == 0)
            continue;
        /* "NNN <user@dom>... reason" */
        if (e - p < 6 || !isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
            !isdigit((unsigned char)p[2]) || p[3] != ' ')
            continue;
        const char *q = p + 4;
        size_t sn = bg_status_valid(q); /* "550 5.1.1 <user@dom>..." */
        if (sn && q + sn < e && q[sn] == ' ')
            q += sn + 1;
        if (q < e && *q == '<')
            q++;
        char addr[BG_ADDR_MAX];
        size_t n = bg_addr_at(q, e, addr);
        if (!n)
            continue;
        bg_scrape_diag d = {.len = 0};
        if (reply.len) {
            bg_scrape_diag_add(&d, reply.s, reply.len);
            bg_scrape_diag_add(&d, " ", 1);
        }
        /* "Remote protocol error" only wraps the remote reply before it */
        if (!reply.len || !bg_scrape_find(p, e, "Remote protocol error"))
            bg_scrape_diag_add(&d, p, (size_t)(e - p));
        else
            d.len--; /* the separating blank */
        d.s[d.len] = '\0';
        reply.len = 0;
        reply.s[0] = '\0';
        bg_rcpt *r = bg_scrape_add_rcpt(c, b, addr, d.s);
        if (!r) /* listed above already: the conversation still names its host */
            r = bg_scrape_known_rcpt(c, b, addr);
        if (r && host[0] && !r->remote_mta[0])
            snprintf(r->remote_mta, sizeof r->remote_mta, "%s", host);
    }
    return b->nrcpt - before;
}

/* A JSON string value after "key": in [p, e), unescaped into out; the
 * position after it, or NULL. Handles the escaped form (\"key\") of a
 * notification inside an SNS envelope. */
static const char *bg_scrape_json_str(const char *p, const char *e, const char *key, char *out,
                                size_t cap)
{
    char pat[64];
    out[0] = '\0';
    for (int esc = 0; esc < 2; esc++) {
        snprintf(pat, sizeof pat, esc ? "\\\"%s\\\"" : "\"%s\"", key);
        const char *k = bg_scrape_find(p, e, pat);
        if (!k)
            continue;
        const char *q = k + strlen(pat);
        while (q < e && (*q == ' ' || *q == ':'))
            q++;
        if (esc && q < e && *q == '\\')
            q++;
        if (q >= e || *q != '"')
            continue;
        q++;
        size_t o = 0;
        while (q < e && o + 1 < cap) {
            if (*q == '\\' && q + 1 < e) {
                if (q[1] == '"') { /* end of an escaped string, or an escaped quote */
                    if (esc)
                        break;
                    out[o++] = '"';
                    q += 2;
                    continue;
                }
                q += 2;
                continue;
            }
            if (*q == '"' || *q == '\n')
                break;
            out[o++] = *q++;
        }
        out[o] = '\0';
        return q;
    }
    return NULL;
}

/* Amazon SES notifications (JSON, possibly inside an SNS envelope):
 * bouncedRecipients, complainedRecipients, delivery.recipients. */
static size_t bg_scrape_amazonses(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    (void)f;
    size_t before = b->nrcpt;
    const char *p = c->text, *e = c->in->text + (c->in->len < BG_SCRAPE_TEXT_MAX ? c->in->len : BG_SCRAPE_TEXT_MAX);
    char type[32], v[BG_DIAG_MAX];
    if (!bg_scrape_json_str(p, e, "notificationType", type, sizeof type))
        return 0;
    const char *list = NULL;
    if (strcasecmp(type, "Bounce") == 0)
        list = bg_scrape_find(p, e, "bouncedRecipients");
    else if (strcasecmp(type, "Complaint") == 0)
        list = bg_scrape_find(p, e, "complainedRecipients");
    if (list) {
        /* one object per recipient: up to the closing ']' */
        const char *le = memchr(list, ']', (size_t)(e - list));
        if (!le)
            le = e;
        const char *q = list;
        const char *next;
        while ((next = bg_scrape_json_str(q, le, "emailAddress", v, sizeof v)) != NULL) {
            char addr[BG_ADDR_MAX];
            const char *at;
            const char *oe = memchr(next, '}', (size_t)(le - next));
            if (!oe)
                oe = le;
            if (bg_addr_find(v, v + strlen(v), addr, &at)) {
                bg_rcpt *r = bg_scrape_add_rcpt(c, b, addr, "");
                if (r) {
                    char st[BG_STATUS_MAX];
                    if (bg_scrape_json_str(next, oe, "action", v, sizeof v))
                        snprintf(r->action, sizeof r->action, "%.31s", v);
                    if (bg_scrape_json_str(next, oe, "status", v, sizeof v) && bg_status_find(v, st))
                        memcpy(r->status, st, sizeof st);
                    if (bg_scrape_json_str(next, oe, "diagnosticCode", v, sizeof v)) {
                        const char *d = v;
                        if (strncasecmp(d, "smtp;", 5) == 0)
                            d += 5;
                        while (*d == ' ')
                            d++;
                        bg_scrape_diag dd = {.len = 0};
                        bg_scrape_diag_add(&dd, d, strlen(d));
                        memcpy(r->diagnostic, dd.s, dd.len + 1);
                    }
                    if (strcasecmp(type, "Complaint") == 0) {
                        char ft[64] = "";
                        bg_scrape_json_str(c->text, e, "complaintFeedbackType", ft, sizeof ft);
                        snprintf(r->diagnostic, sizeof r->diagnostic,
                                 "complaint: feedback report%s%s", ft[0] ? " " : "", ft);
                        b->kind = BG_MSG_FEEDBACK;
                    }
                }
            }
            q = oe;
        }
    } else if (strcasecmp(type, "Delivery") == 0) {
        const char *d = bg_scrape_find(p, e, "\"delivery\"");
        if (!d)
            d = bg_scrape_find(p, e, "\\\"delivery\\\"");
        const char *rl = d ? bg_scrape_find(d, e, "recipients") : NULL;
        const char *le = rl ? memchr(rl, ']', (size_t)(e - rl)) : NULL;
        char resp[BG_DIAG_MAX] = "";
        if (d)
            bg_scrape_json_str(d, e, "smtpResponse", resp, sizeof resp);
        const char *q = rl;
        char addr[BG_ADDR_MAX];
        const char *at;
        size_t n;
        while (q && le && (n = bg_addr_find(q, le, addr, &at)) != 0) {
            bg_rcpt *r = bg_scrape_add_rcpt(c, b, addr, resp);
            if (r)
                snprintf(r->action, sizeof r->action, "delivered");
            q = at + n;
        }
        if (b->nrcpt > before)
            b->kind = BG_MSG_SUCCESS;
    }
    return b->nrcpt - before;
}

/* Verizon / Apache James: "Error: ...", "Error message below:" and the
 * reply, then "Message details:" with "RCPT TO: user@dom". */
static size_t bg_scrape_details(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    (void)f;
    const char *det = bg_scrape_find(c->text, c->end, "Message details:");
    const char *rt = det ? bg_scrape_find(det, c->end, "RCPT TO:") : NULL;
    if (!rt)
        return 0;
    char addr[BG_ADDR_MAX];
    const char *at;
    const char *le = memchr(rt, '\n', (size_t)(c->end - rt));
    if (!bg_addr_find(rt, le ? le : c->end, addr, &at))
        return 0;
    const char *s = bg_scrape_find(c->text, det, "Error");
    if (!s)
        s = c->text;
    bg_scrape_diag d = {.len = 0};
    bg_scrape_diag_add(&d, s, (size_t)(det - s));
    while (d.len && d.s[d.len - 1] == ' ')
        d.s[--d.len] = '\0';
    return bg_scrape_add_rcpt(c, b, addr, d.s) ? 1 : 0;
}

/* Postfix "errors from" reports (to the postmaster): the SMTP session is
 * quoted; " In:  RCPT TO:<user@dom>" and the " Out: NNN ..." reply after it. */
static size_t bg_scrape_postfix_session(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    size_t before = b->nrcpt;
    const char *pos = c->text;
    bg_scrape_line l;
    char addr[BG_ADDR_MAX] = "";
    while (bg_scrape_line_next(&pos, c->end, &l)) {
        const char *p = l.p + l.indent, *e = l.p + l.len;
        if (e - p > 13 && strncasecmp(p, "In:", 3) == 0) {
            const char *r = bg_scrape_find(p, e, "RCPT TO:");
            const char *at;
            if (r && !bg_addr_find(r, e, addr, &at))
                addr[0] = '\0';
        } else if (addr[0] && e - p > 8 && strncasecmp(p, "Out:", 4) == 0) {
            const char *q = p + 4;
            while (q < e && *q == ' ')
                q++;
            if (e - q >= 3 && (q[0] == '4' || q[0] == '5')) {
                bg_scrape_diag d = {.len = 0};
                bg_scrape_diag_add(&d, q, (size_t)(e - q));
                bg_scrape_add_rcpt(c, b, addr, d.s);
                addr[0] = '\0';
            }
        }
    }
    if (b->nrcpt == before)
        return bg_scrape_generic(b, c, f);
    return b->nrcpt - before;
}

/* fml (mailing list manager) notices: the first line says what happened
 * and names the address concerned. */
static size_t bg_scrape_fml(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    (void)f;
    const char *pos = c->text;
    bg_scrape_line l;
    while (bg_scrape_line_next(&pos, c->end, &l)) {
        if (l.len == l.indent)
            continue;
        char addr[BG_ADDR_MAX];
        const char *at;
        if (!bg_addr_find(l.p, l.p + l.len, addr, &at))
            return 0;
        bg_scrape_diag d = {.len = 0};
        bg_scrape_diag_add(&d, l.p + l.indent, l.len - l.indent);
        return bg_scrape_add_rcpt(c, b, addr, d.s) ? 1 : 0;
    }
    return 0;
}

/* Google Groups: the text greets the sender by address; the failed
 * recipient (the group) is only in X-Failed-Recipients, and the reason is
 * the whole notice. */
static size_t bg_scrape_googlegroups(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    (void)f;
    const char *h = c->in->header ? c->in->header(c->in->ctx, "X-Failed-Recipients") : "";
    if (!h || !*h)
        return 0;
    const char *p = h, *e = h + strnlen(h, 65536), *at;
    char addr[BG_ADDR_MAX];
    size_t n, before = b->nrcpt;
    bg_scrape_diag d = {.len = 0};
    bg_scrape_digest(c, &d);
    while ((n = bg_addr_find(p, e, addr, &at)) != 0) {
        bg_scrape_add_rcpt(c, b, addr, d.s);
        p = at + n;
    }
    return b->nrcpt - before;
}

/* Gmail: the recipient is listed on its own; "Technical details of
 * permanent/temporary failure:" and the remote server's reply follow in
 * separate paragraphs, up to "----- Original message -----". */
static size_t bg_scrape_gmail(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    size_t before = b->nrcpt;
    bg_scrape_generic(b, c, f);
    static const char *const details[] = {"Technical details of", "The response from the remote server was:",
                                          "The response was:", NULL};
    const char *t = NULL;
    for (int i = 0; details[i] && !t; i++)
        t = bg_scrape_find(c->text, c->end, details[i]);
    if (!t || b->nrcpt == before)
        return b->nrcpt - before;
    bg_scrape_diag d = {.len = 0};
    bg_scrape_diag_add(&d, t, (size_t)(c->end - t));
    while (d.len && d.s[d.len - 1] == ' ')
        d.s[--d.len] = '\0';
    for (size_t i = before; i < b->nrcpt; i++) {
        bg_rcpt *r = &b->rcpts[i];
        char head[41];
        snprintf(head, sizeof head, "%.40s", d.s);
        if (strstr(r->diagnostic, head))
            continue; /* already there */
        bg_scrape_diag e = {.len = 0};
        bg_scrape_diag_add(&e, r->diagnostic, strlen(r->diagnostic));
        if (e.len)
            bg_scrape_diag_add(&e, " ", 1);
        bg_scrape_diag_add(&e, d.s, d.len);
        memcpy(r->diagnostic, e.s, e.len + 1);
    }
    return b->nrcpt - before;
}

const bg_scrape_format bg_scrape_formats[] = {
    {"postfix", {"Postfix SMTP server: errors from", " In:  RCPT TO:"}, {0}, {0}, bg_scrape_postfix_session, 0},
    {"verizon", {"Error message below:"}, {0}, {0}, bg_scrape_details, 0},
    {"mailru", {"Mail.Ru"}, {"mail.ru"}, {0}, NULL, 0},
    {"exim", {"This message was created automatically by mail delivery software"}, {0}, {0}, bg_scrape_exim, 0},
    {"postfix", {"This is the mail system at host", "The mail system"}, {0}, {0}, NULL, 0},
    {"qmail", {"This is the qmail-send program", "qmail-send"}, {0}, {0}, NULL, 0},
    {"dragonfly", {"This is the DragonFly Mail Agent"}, {0}, {0}, NULL, 0},
    {"sendmail", {"----- The following addresses had", "----- Transcript of session follows"}, {0}, {0}, bg_scrape_sendmail, 0},
    {"opensmtpd", {"This is the MAILER-DAEMON, please DO NOT REPLY"}, {0}, {0}, NULL, 0},
    {"gmail", {"Delivery to the following recipient failed", "Google tried to deliver your message", "Delivery to the following recipient has been delayed", "Technical details of temporary failure", "** Address not found **", "** Message not delivered **"}, {0}, {0}, bg_scrape_gmail, 0},
    {"googlegroups", {"Google Groups"}, {"googlemail.com", "google.com"}, {0}, bg_scrape_googlegroups, 0},
    {"aol", {"Your mail to the following recipients could not be delivered"}, {0}, {0}, bg_scrape_aol, 0},
    {"groupwise", {"The message that you sent was undeliverable to the following:"}, {0}, {0}, bg_scrape_groupwise, 1},
    {"yahoo", {"Sorry, we were unable to deliver your message to the following address"}, {0}, {0}, NULL, 0},
    {"exchange2003", {"did not reach the following recipient(s)"}, {0}, {0}, NULL, 0},
    {"messagingserver", {"This report relates to a message you sent"}, {0}, {0}, NULL, 0},
    {"amazonses", {"\"notificationType\"", "\\\"notificationType\\\""}, {"amazonses.com", "amazonaws.com"}, {0}, bg_scrape_amazonses, 0},
    {"mcafee", {"--- The following addresses had delivery problems ---"}, {0}, {0}, NULL, 0},
    {"mfilter", {"m-FILTER"}, {0}, {0}, NULL, 0},
    {"notes", {"------- Failure Reasons"}, {0}, {0}, NULL, 0},
    {"domino", {"was not delivered to:"}, {0}, {0}, NULL, 0},
    {"kddi", {"Could not be delivered to:"}, {0}, {0}, NULL, 0},
    {"imailserver", {"Original message follows."}, {0}, {0}, NULL, 0},
    {"verizon", {"Message could not be delivered to mobile"}, {0}, {0}, NULL, 0},
    {"fml", {"You are not a member of this mailing list", "Duplicated Message-ID"}, {0}, {0}, bg_scrape_fml, 0},
    {"text", {0}, {0}, {0}, NULL, 0},
    {NULL, {NULL}, {NULL}, {NULL}, NULL, 0},
};
