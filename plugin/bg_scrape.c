/* bg_scrape: recipients and replies from bounces that are not RFC 3464.
 *
 * The dispatcher picks a format from the table in bg_scrape_fmt.c (cheap
 * markers: phrases near the start of the text found in one Aho-Corasick
 * pass, From/Subject hints) and runs its extractor; most formats use the
 * generic line scraper here, which reads the failure section (up to the
 * returned message) line by line:
 *   - a recipient line starts with an address ("  user@dom", "<user@dom>:",
 *     "user@dom (expanded from ...): reason", "* user@dom"), or names it
 *     after a short label ("Unknown user: user@dom", "Recipient address:
 *     user@dom"), or after a delivery phrase ("... delivering your mail to
 *     <user@dom>.");
 *   - the reason is the rest of that line plus the lines that follow, up
 *     to a blank line, a rule line or the next recipient line at the same
 *     or a smaller indentation; framing is left out (Exchange's "on
 *     <date>" and MTS-ID, a "because:" above the reason, Sendmail's
 *     "(reason: X)" wrapper; its "(expanded from: X)" is the original
 *     recipient); a list under "... did not receive this message" takes
 *     the lines above that as its reason (docomo's mopera, KDDI).
 * Order: DSN-like fields written into the text ("Final-Recipient:",
 * "Diagnostic-Code:") win; then the format's extractor; then the generic
 * scraper -- the heuristics only when something says the message is a
 * bounce (a format marker, a mailer-daemon From, a failure Subject,
 * X-Failed-Recipients), so an auto-reply naming an address is left alone.
 * X-Failed-Recipients (Exim) adds what the text did not explain; a bounce
 * naming nobody falls back to the To of the returned message (not one
 * whose format lists every recipient: GroupWise's bare user ids). Reasons
 * without a reply code borrow the section's reply lines; status, action
 * and remote MTA are filled from the reasons.
 * It does not judge the reason (bg_classify does) and does not read MIME
 * (bg_bounce_read hands over decoded text). Work is linear in the text:
 * one marker pass, one pass per extractor, a hash for duplicates.
 */
#include "bg_scrape_int.h"

#include <ctype.h>
#include <pthread.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

#include "bg_ac.h"
#include "bg_log.h"

#define BG_SLINE_MAX 4096u /* a longer line is looked at only this far */

int bg_scrape_line_next(const char **pos, const char *end, bg_scrape_line *l)
{
    const char *p = *pos;
    if (p >= end)
        return 0;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    *pos = nl ? nl + 1 : end;
    size_t len = (size_t)(e - p);
    if (len && p[len - 1] == '\r')
        len--;
    l->p = p;
    l->len = len;
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    l->indent = i;
    return 1;
}

const char *bg_scrape_find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0 || p >= end || (size_t)(end - p) < n)
        return NULL;
    int c0 = tolower((unsigned char)needle[0]);
    for (const char *q = p; q + n <= end; q++) {
        if (tolower((unsigned char)*q) == c0 && strncasecmp(q, needle, n) == 0)
            return q;
    }
    return NULL;
}

void bg_scrape_diag_add(bg_scrape_diag *d, const char *p, size_t len)
{
    for (size_t i = 0; i < len && d->len + 1 < sizeof d->s; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f)
            c = ' ';
        if (c == ' ' && (d->len == 0 || d->s[d->len - 1] == ' '))
            continue;
        d->s[d->len++] = (char)c;
    }
    d->s[d->len] = '\0';
}

/* Drop trailing blanks. */
static void bg_scrape_diag_trim(bg_scrape_diag *d)
{
    while (d->len && d->s[d->len - 1] == ' ')
        d->len--;
    d->s[d->len] = '\0';
}

/* Copy a string into a fixed field, dropping control characters. */
static void bg_scrape_copy(char *dst, size_t cap, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    while (o && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

/* FNV-1a over the lower-cased address. */
static uint32_t bg_scrape_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (uint32_t)tolower((unsigned char)*s);
        h *= 16777619u;
    }
    return h;
}

/* Slot of addr in the set: its own, or the empty one where it belongs;
 * BG_SSEEN_SLOTS when the probe gives up (then a linear search decides). */
static size_t bg_scrape_seen_slot(const bg_scrape_ctx *c, const bg_bounce *b, const char *addr)
{
    size_t h = bg_scrape_hash(addr) & (BG_SSEEN_SLOTS - 1);
    for (size_t k = 0; k < 64; k++, h = (h + 1) & (BG_SSEEN_SLOTS - 1)) {
        unsigned v = c->seen->slot[h];
        if (v == 0 || (v - 1 < b->nrcpt && strcasecmp(b->rcpts[v - 1].recipient, addr) == 0))
            return h;
    }
    return BG_SSEEN_SLOTS;
}

bg_rcpt *bg_scrape_known_rcpt(const bg_scrape_ctx *c, bg_bounce *b, const char *addr)
{
    size_t h = c->seen ? bg_scrape_seen_slot(c, b, addr) : BG_SSEEN_SLOTS;
    if (h < BG_SSEEN_SLOTS) {
        unsigned v = c->seen->slot[h];
        return v ? &b->rcpts[v - 1] : NULL;
    }
    for (size_t i = 0; i < b->nrcpt; i++)
        if (strcasecmp(b->rcpts[i].recipient, addr) == 0)
            return &b->rcpts[i];
    return NULL;
}

/* Remember recipient i in the set (nothing when it is full). */
static void bg_scrape_seen_put(const bg_scrape_ctx *c, const bg_bounce *b, size_t i)
{
    if (!c->seen || i + 1 >= 65536u)
        return;
    size_t h = bg_scrape_seen_slot(c, b, b->rcpts[i].recipient);
    if (h < BG_SSEEN_SLOTS && c->seen->slot[h] == 0)
        c->seen->slot[h] = (unsigned short)(i + 1);
}

bg_rcpt *bg_scrape_add_rcpt(const bg_scrape_ctx *c, bg_bounce *b, const char *addr, const char *diag)
{
    size_t max = b->rcpt_max ? b->rcpt_max : 1000;
    bg_rcpt *r = bg_scrape_known_rcpt(c, b, addr);
    if (r) {
        if (diag && diag[0] && r->diagnostic[0] == '\0')
            bg_scrape_copy(r->diagnostic, sizeof r->diagnostic, diag, strlen(diag));
        return NULL;
    }
    if (b->nrcpt >= max)
        return NULL;
    r = bg_bounce_add_rcpt(b);
    if (!r)
        return NULL;
    bg_scrape_copy(r->recipient, sizeof r->recipient, addr, strlen(addr));
    if (diag)
        bg_scrape_copy(r->diagnostic, sizeof r->diagnostic, diag, strlen(diag));
    bg_scrape_seen_put(c, b, b->nrcpt - 1);
    return r;
}

/* ---- the generic line scraper ---- */

/* Labels that name an address but not a failed recipient (header fields
 * of the returned message quoted in the text). */
static const char *const bg_scrape_not_rcpt_labels[] = {
    "to", "from", "cc", "bcc", "sender", "reply-to", "return-path", "delivered-to",
    "envelope-from", "errors-to", "message-id", "subject", "original sender", "sent by",
    "mail from", "rcpt to", "x-", "for", "by", "save to the following address book",
    NULL};

/* Words of a label that is itself the reason ("Unknown user: x@y"). */
static const char *const bg_scrape_reason_words[] = {
    "unknown", "full", "fail", "invalid", "not ", "no such", "reject", "error", "undeliverable",
    "denied", "expired", "blocked", "disabled", NULL};

/* Delivery phrases after which, on the same line, the recipient follows. */
static const char *const bg_scrape_to_phrases[] = {
    "delivering your mail to", "delivered to:", "deliver message to:", "deliver mail to:",
    "delivery to:", "the following recipient(s):", "returned permanent errors:",
    "could not be delivered to", "delivery failed for", "failed recipient:",
    "following address failed:", "rejected recipient", "undeliverable to", "address: <",
    "message-id in", "wasn't delivered to", "problem delivering your message to", NULL};

/* Lines that end the failure section: the returned message follows. */
static int bg_scrape_line_ends(const bg_scrape_line *l)
{
    const char *p = l->p;
    size_t n = l->len;
    if (l->indent == 0 && n >= 9 &&
        (strncasecmp(p, "Received:", 9) == 0 || (n >= 12 && strncasecmp(p, "Return-Path:", 12) == 0)))
        return 1;
    return 0;
}

/* A rule line ("-----", "=====", "*****") or one like "--- text ---". */
static int bg_scrape_line_rule(const bg_scrape_line *l)
{
    const char *p = l->p + l->indent;
    size_t n = l->len - l->indent;
    return n >= 3 && (p[0] == '-' || p[0] == '=' || p[0] == '*' || p[0] == '_') && p[1] == p[0] &&
           p[2] == p[0];
}

static int bg_scrape_line_blank(const bg_scrape_line *l)
{
    for (size_t i = 0; i < l->len; i++)
        if (!isspace((unsigned char)l->p[i]))
            return 0;
    return 1;
}

/* Whether the label [p, p+n) (before a ':') is in the list. */
static int bg_scrape_label_in(const char *p, size_t n, const char *const *list)
{
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    for (int i = 0; list[i]; i++) {
        size_t ln = strlen(list[i]);
        if (list[i][ln - 1] == '-' ? (n >= ln && strncasecmp(p, list[i], ln) == 0)
                                   : (n == ln && strncasecmp(p, list[i], ln) == 0))
            return 1;
    }
    return 0;
}

/* Kinds of recipient lines. */
enum { BG_SL_NONE, BG_SL_LEAD, BG_SL_LABEL, BG_SL_PHRASE };

/* Is l a recipient line? Fills addr, *rest (text after the address) and
 * *label_reason (1 when the label before the address is the reason). */
static int bg_scrape_line_rcpt(const bg_scrape_line *l, char addr[BG_ADDR_MAX], const char **rest,
                         int *label_reason)
{
    const char *p = l->p + l->indent, *e = l->p + (l->len < BG_SLINE_MAX ? l->len : BG_SLINE_MAX);
    *label_reason = 0;
    if (p >= e || !memchr(p, '@', (size_t)(e - p)))
        return BG_SL_NONE; /* most lines: no address at all */
    /* bullets and quoting */
    while (p < e && (*p == '>' || *p == ' ' || *p == '\t'))
        p++; /* ">>> user@dom" and quoted ("> ") bounces */
    if (e - p >= 2 && (p[0] == '*' || p[0] == '-' || p[0] == '#') && p[1] == ' ')
        p += 2;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    /* "550 5.1.1 <user@dom>: reason": a refusal line naming its address */
    if (e - p > 6 && (p[0] == '4' || p[0] == '5') && isdigit((unsigned char)p[1]) &&
        isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '-')) {
        const char *r = p + 4;
        size_t sl = bg_status_valid(r);
        if (sl && r + sl < e && r[sl] == ' ' && r[sl + 1] == '<') {
            r += sl + 1;
            size_t an = bg_addr_at(r + 1, e, addr);
            /* "<addr>:" as Postfix and Exim write it (Sendmail's "<addr>...
             * reason" lines belong to its transcript) */
            if (an && r + 2 + an < e && r[1 + an] == '>' && r[2 + an] == ':') {
                *rest = r + 2 + an;
                *label_reason = 1;
                return BG_SL_LABEL;
            }
        }
    }
    const char *q = p;
    while (q < e && (*q == '<' || *q == '"' || *q == '\''))
        q++;
    size_t n = bg_addr_at(q, e, addr);
    if (n) {
        q += n;
        while (q < e && (*q == '>' || *q == '"' || *q == '\''))
            q++;
        /* "user@dom@other" or "user@dom.tld/..." is not an address line */
        if (q < e && (*q == '@' || *q == '/' || *q == '='))
            return BG_SL_NONE;
        *rest = q;
        return BG_SL_LEAD;
    }
    /* "Label: user@dom" */
    const char *colon = memchr(p, ':', (size_t)(e - p));
    if (colon && colon > p && colon - p <= 48) {
        int ok = 1;
        if (!isalpha((unsigned char)*p))
            ok = 0;
        for (const char *s = p; s < colon; s++)
            if (!(isalnum((unsigned char)*s) || *s == ' ' || *s == '-' || *s == '(' ||
                  *s == ')' || *s == '\''))
                ok = 0;
        if (ok && !bg_scrape_label_in(p, (size_t)(colon - p), bg_scrape_not_rcpt_labels)) {
            q = colon + 1;
            while (q < e && (*q == ' ' || *q == '\t'))
                q++;
            while (q < e && (*q == '<' || *q == '"'))
                q++;
            n = bg_addr_at(q, e, addr);
            if (n) {
                q += n;
                while (q < e && (*q == '>' || *q == '"'))
                    q++;
                *rest = q;
                for (int i = 0; bg_scrape_reason_words[i] && !*label_reason; i++)
                    if (bg_scrape_find(p, colon, bg_scrape_reason_words[i]))
                        *label_reason = 1;
                return BG_SL_LABEL;
            }
        }
    }
    /* "... delivering your mail to <user@dom>." */
    for (int i = 0; bg_scrape_to_phrases[i]; i++) {
        const char *ph = bg_scrape_find(p, e, bg_scrape_to_phrases[i]);
        if (!ph)
            continue;
        q = ph + strlen(bg_scrape_to_phrases[i]);
        while (q < e && (*q == ' ' || *q == '\t' || *q == '<' || *q == '"'))
            q++;
        n = bg_addr_at(q, e, addr);
        if (n) {
            q += n;
            while (q < e && (*q == '>' || *q == '"' || *q == '.' || *q == ','))
                q++;
            *rest = q;
            return BG_SL_PHRASE;
        }
    }
    return BG_SL_NONE;
}

/* Text after an address on its line, without the separators. */
static void bg_scrape_rest_of_line(bg_scrape_diag *d, const char *q, const char *e)
{
    while (q < e && (*q == ':' || *q == ' ' || *q == '\t' || *q == '.' || *q == ','))
        q++;
    bg_scrape_diag_add(d, q, (size_t)(e - q));
}

void bg_scrape_add_reason(const bg_scrape_ctx *c, bg_bounce *b, const char *addr,
                          const char *orig, bg_scrape_diag *d)
{
    bg_scrape_diag_trim(d);
    bg_rcpt *r = bg_scrape_add_rcpt(c, b, addr, d->s);
    if (r && orig[0] && strcasecmp(orig, addr) != 0)
        memcpy(r->original_recipient, orig, sizeof r->original_recipient);
}

/* Quote marks ("> ") before a line of a forwarded bounce: their number
 * (depth 0 counts them), or the line without depth of them. */
static int bg_scrape_unquote(bg_scrape_line *l, int depth)
{
    const char *p = l->p, *e = l->p + l->len;
    int k = 0;
    while (p < e && *p == '>' && (depth == 0 || k < depth) && k < 8) {
        p++, k++;
        if (p < e && *p == ' ')
            p++;
    }
    if (depth == 0)
        return k;
    l->len -= (size_t)(p - l->p);
    l->p = p;
    size_t i = 0;
    while (i < l->len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    l->indent = i;
    return k;
}

size_t bg_scrape_generic(bg_bounce *b, const bg_scrape_ctx *c, const bg_scrape_format *f)
{
    (void)f;
    size_t before = b->nrcpt;
    const char *pos = c->text;
    bg_scrape_line l;
    char addr[BG_ADDR_MAX];
    static const bg_scrape_diag zero;
    bg_scrape_diag d;
    int open = 0;        /* a recipient's reason is being collected */
    int need_para = 0;   /* reason still empty: take the next paragraph */
    size_t rindent = 0;
    int paras = 0;       /* blank/rule lines skipped looking for the reason */
    int body = 0;        /* lines below the recipient line taken */
    int wraps = 0;       /* dropping the unindented wraps of a framing line */
    int quote = 0;       /* the recipient line was quoted ("> "): so is its reason */
    char cur[BG_ADDR_MAX] = "", orig[BG_ADDR_MAX] = "";
    /* the paragraph above the recipient lines, for lists whose reason is
     * written above them; above = its reason part once a list started */
    bg_scrape_diag para = zero, above = zero;
    size_t para_last = 0; /* where para's last line starts */
    int para_gap = 0;     /* blank lines since para */

    while (bg_scrape_line_next(&pos, c->end, &l)) {
        if (bg_scrape_line_ends(&l))
            break;
        const char *rest = NULL;
        int label_reason = 0;
        int unquoted = open && quote;
        if (unquoted)
            bg_scrape_unquote(&l, quote);
        int kind = bg_scrape_line_rcpt(&l, addr, &rest, &label_reason);
        if (kind != BG_SL_NONE && open && (l.indent > rindent || strcasecmp(addr, cur) == 0))
            kind = BG_SL_NONE; /* an address inside the reason */
        const char *e = l.p + (l.len < BG_SLINE_MAX ? l.len : BG_SLINE_MAX);
        if (kind != BG_SL_NONE) {
            if (open)
                bg_scrape_add_reason(c, b, cur, orig, &d);
            if (!unquoted) {
                quote = l.indent == 0 ? bg_scrape_unquote(&l, 0) : 0;
                if (quote)
                    bg_scrape_unquote(&l, quote); /* rindent within the quote */
            }
            d = zero;
            memcpy(cur, addr, sizeof cur);
            orig[0] = '\0';
            if (!bg_scrape_date_tail(rest, e))
                bg_scrape_rest_of_line(&d, rest, e);
            need_para = d.len == 0; /* the reason is below */
            body = 0;
            wraps = 0;
            if (label_reason || kind == BG_SL_PHRASE) {
                d = zero; /* the line itself says what happened */
                bg_scrape_diag_add(&d, l.p + l.indent, (size_t)(e - l.p - l.indent));
            }
            if (need_para && kind == BG_SL_LEAD && !above.len && para_last && para_gap <= 1 &&
                bg_scrape_reason_above(para.s + para_last, para.s + para.len)) {
                bg_scrape_diag_add(&above, para.s, para_last); /* without the lead-in */
                bg_scrape_diag_trim(&above);
            }
            if (need_para && kind == BG_SL_LEAD && above.len) {
                bg_scrape_diag_add(&d, above.s, above.len);
                need_para = 0;
            }
            open = 1;
            paras = 0;
            rindent = l.indent;
            para = zero;
            para_last = 0;
            continue;
        }
        int blank = bg_scrape_line_blank(&l) || bg_scrape_line_rule(&l);
        if (!open) {
            if (blank) {
                para_gap += para.len > 0;
            } else {
                if (para_gap)
                    para = zero;
                para_gap = 0;
                para_last = para.len + (para.len > 0);
                if (para.len)
                    bg_scrape_diag_add(&para, " ", 1);
                bg_scrape_diag_add(&para, l.p + l.indent, (size_t)(e - l.p - l.indent));
                if (para_last > para.len)
                    para_last = para.len;
                above = zero; /* text between lists: a new list */
            }
            continue;
        }
        if (blank) {
            wraps = 0;
            if (need_para && !body && paras < 4) {
                paras++;
                continue; /* skip blank and rule lines up to the reason */
            }
            bg_scrape_diag_trim(&d);
            if (need_para && body && d.len && d.s[d.len - 1] == ':' && paras < 4) {
                paras++;
                /* "because:" alone is framing: the reason is below */
                if (body == 1 && d.len <= 40 && !strpbrk(d.s, "@0123456789.") &&
                    (strcasestr(d.s, "because") || strcasestr(d.s, "reason") ||
                     strcasestr(d.s, "details")))
                    d = zero, body = 0;
                continue;
            }
            bg_scrape_add_reason(c, b, cur, orig, &d);
            open = 0;
            continue;
        }
        if (wraps && l.indent <= rindent)
            continue; /* the rest of a dropped framing line, wrapped */
        wraps = 0;
        const char *vp = l.p + l.indent, *ve = e;
        int frame = bg_scrape_frame_line(vp, ve, orig, &vp, &ve);
        if (frame == BG_SF_DROP || frame == BG_SF_DROP_WRAPS) {
            wraps = frame == BG_SF_DROP_WRAPS;
            continue;
        }
        if (d.len)
            bg_scrape_diag_add(&d, " ", 1);
        bg_scrape_diag_add(&d, vp, (size_t)(ve - vp));
        body++;
    }
    if (open)
        bg_scrape_add_reason(c, b, cur, orig, &d);
    return b->nrcpt - before;
}

/* ---- DSN fields written into the text ---- */

/* Value of "Name: value" when l starts with name (case-insensitive). */
static const char *bg_scrape_field(const bg_scrape_line *l, const char *name, size_t *vlen)
{
    const char *p = l->p + l->indent;
    size_t n = strlen(name), len = l->len - l->indent;
    if (len <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
        return NULL;
    const char *v = p + n + 1;
    while (v < l->p + l->len && (*v == ' ' || *v == '\t'))
        v++;
    *vlen = (size_t)(l->p + l->len - v);
    return v;
}

/* Skip an address type "rfc822;" / "dns;" / "smtp;". */
static const char *bg_scrape_skip_type(const char *v, size_t *n)
{
    const char *semi = memchr(v, ';', *n);
    if (semi && semi - v < 16) {
        const char *w = semi + 1;
        while (w < v + *n && *w == ' ')
            w++;
        *n -= (size_t)(w - v);
        return w;
    }
    return v;
}

/* Recipients from "Final-Recipient:" groups in the text. */
static size_t bg_scrape_fields(bg_bounce *b, const bg_scrape_ctx *c)
{
    size_t before = b->nrcpt;
    const char *pos = c->text;
    bg_scrape_line l;
    bg_rcpt *r = NULL;
    char *folding = NULL; /* field that continuation lines extend */
    char pending[BG_ADDR_MAX] = ""; /* Original-Recipient before its Final-Recipient */
    size_t fcap = 0;
    while (bg_scrape_line_next(&pos, c->end, &l)) {
        size_t vn = 0;
        const char *v;
        if (r && folding && l.indent > 0 && !bg_scrape_line_blank(&l)) {
            size_t have = strlen(folding);
            bg_scrape_diag d;
            memcpy(d.s, folding, have + 1);
            d.len = have;
            bg_scrape_diag_add(&d, " ", 1);
            bg_scrape_diag_add(&d, l.p + l.indent, l.len - l.indent);
            bg_scrape_copy(folding, fcap, d.s, d.len);
            continue;
        }
        folding = NULL;
        if ((v = bg_scrape_field(&l, "Final-Recipient", &vn)) != NULL) {
            char addr[BG_ADDR_MAX];
            const char *at;
            v = bg_scrape_skip_type(v, &vn);
            if (bg_addr_find(v, v + vn, addr, &at)) {
                r = bg_scrape_add_rcpt(c, b, addr, "");
            } else {
                r = NULL;
            }
            if (r && pending[0]) {
                memcpy(r->original_recipient, pending, sizeof pending);
                pending[0] = '\0';
            }
        } else if ((v = bg_scrape_field(&l, "Original-Recipient", &vn)) != NULL) {
            const char *at;
            if (!bg_addr_find(v, v + vn, pending, &at))
                pending[0] = '\0';
        } else if (bg_scrape_line_blank(&l)) {
            if (r && pending[0] && !r->original_recipient[0])
                memcpy(r->original_recipient, pending, sizeof pending);
            pending[0] = '\0';
        } else if (!r) {
            continue;
        } else if ((v = bg_scrape_field(&l, "Action", &vn)) != NULL) {
            bg_scrape_copy(r->action, sizeof r->action, v, vn);
        } else if ((v = bg_scrape_field(&l, "Status", &vn)) != NULL) {
            char st[BG_STATUS_MAX];
            bg_scrape_diag d = {.len = 0};
            bg_scrape_diag_add(&d, v, vn);
            if (bg_status_find(d.s, st))
                memcpy(r->status, st, sizeof st);
        } else if ((v = bg_scrape_field(&l, "Diagnostic-Code", &vn)) != NULL) {
            v = bg_scrape_skip_type(v, &vn);
            bg_scrape_copy(r->diagnostic, sizeof r->diagnostic, v, vn);
            folding = r->diagnostic;
            fcap = sizeof r->diagnostic;
        } else if ((v = bg_scrape_field(&l, "Remote-MTA", &vn)) != NULL) {
            v = bg_scrape_skip_type(v, &vn);
            bg_scrape_copy(r->remote_mta, sizeof r->remote_mta, v, vn);
        }
    }
    return b->nrcpt - before;
}

/* ---- X-Failed-Recipients ---- */

/* Reorder/extend the scraped list to the addresses of X-Failed-Recipients:
 * Exim names exactly the failed ones there. */
static void bg_scrape_failed_header(bg_bounce *b, size_t from, const bg_scrape_ctx *c)
{
    const char *h = c->in->header ? c->in->header(c->in->ctx, "X-Failed-Recipients") : "";
    if (!h || !*h)
        return;
    const char *p = h, *e = h + strnlen(h, 65536);
    char addr[BG_ADDR_MAX];
    const char *at;
    size_t n;
    /* the first diagnostic found serves addresses the text does not explain */
    const char *fallback = from < b->nrcpt ? b->rcpts[from].diagnostic : "";
    char fb[BG_DIAG_MAX];
    bg_scrape_copy(fb, sizeof fb, fallback, strlen(fallback));
    while ((n = bg_addr_find(p, e, addr, &at)) != 0) {
        p = at + n;
        if (!bg_scrape_known_rcpt(c, b, addr))
            bg_scrape_add_rcpt(c, b, addr, fb);
    }
}

static int bg_scrape_has_any(const char *value, const char *const *list, size_t max);

/* ---- status, action, remote MTA ---- */

/* Host name after "host " or before " [ip]" in a diagnostic. */
static void bg_scrape_remote_mta(bg_rcpt *r)
{
    const char *d = r->diagnostic, *e = d + strlen(d);
    static const char *const leads[] = {"host ", "while talking to ", "server ", "mx ", NULL};
    for (int i = 0; leads[i]; i++) {
        const char *p = bg_scrape_find(d, e, leads[i]);
        while (p) {
            const char *s = p + strlen(leads[i]);
            const char *t = s;
            while (t < e && (isalnum((unsigned char)*t) || *t == '.' || *t == '-' || *t == '_'))
                t++;
            size_t n = (size_t)(t - s);
            if (n >= 3 && memchr(s, '.', n) && (size_t)(t - s) < sizeof r->remote_mta) {
                while (n && s[n - 1] == '.')
                    n--;
                bg_scrape_copy(r->remote_mta, sizeof r->remote_mta, s, n);
                return;
            }
            p = bg_scrape_find(p + 1, e, leads[i]);
        }
    }
}

void bg_scrape_finish(bg_bounce *b, size_t from, const bg_scrape_ctx *c)
{
    /* a delay warning says so in its Subject or near its start */
    static const char *const delayed_text[] = {"has been delayed", "not yet been delivered",
                                               "will continue to try", "still trying",
                                               "will keep trying", NULL};
    static const char *const delayed_subject[] = {"delayed", "delay", NULL};
    size_t head = (size_t)(c->end - c->text) < 2048 ? (size_t)(c->end - c->text) : 2048;
    int delay = bg_scrape_has_any(c->subject, delayed_subject, 8);
    for (int i = 0; delayed_text[i] && !delay; i++)
        if (bg_scrape_find(c->text, c->text + head, delayed_text[i]))
            delay = 1;
    for (size_t i = from; i < b->nrcpt; i++) {
        bg_rcpt *r = &b->rcpts[i];
        if (!r->status[0]) {
            char st[BG_STATUS_MAX];
            if (bg_status_find(r->diagnostic, st))
                memcpy(r->status, st, sizeof st);
        }
        if (!r->action[0])
            snprintf(r->action, sizeof r->action, "%s", delay ? "delayed" : "failed");
        if (!r->remote_mta[0])
            bg_scrape_remote_mta(r);
        if (!r->diag_type[0] && bg_reply_find(r->diagnostic))
            snprintf(r->diag_type, sizeof r->diag_type, "smtp");
    }
}


/* ---- the last resort: the returned message's To ---- */

/* Subject words of delivery reports. */
static const char *const bg_scrape_bounce_subjects[] = {
    "undeliver", "delivery", "failure", "returned", "failed", "error", "rejected", "bounce",
    "not delivered", "could not", "unable to", "nondeliver", "non-deliver", "mail system",
    /* the same in the languages Exchange and others write subjects in */
    "unzustellbar", "nicht zustellbar", "non remis", "non distribuable", "no se puede entregar",
    "no entregado", "non recapitabile", "onbestelbaar", "niedostarczalne", "nao entregue",
    "不能", "未配信", "エラー", "返送", "退信", NULL};

/* 1 when From looks like a mail system, not a person. */
static int bg_scrape_from_daemon(const char *from)
{
    static const char *const names[] = {"mailer-daemon", "postmaster", "mail delivery",
                                        "mail system", "post_master", NULL};
    return bg_scrape_has_any(from, names, 8);
}

/* The failure section's reply lines (a code at the start), else all of
 * its text but rules and blank lines. */
static void bg_scrape_digest_pass(const bg_scrape_ctx *c, bg_scrape_diag *d, int first, int last)
{
    for (int pass = first; pass <= last && d->len == 0; pass++) {
        const char *pos = c->text;
        bg_scrape_line l;
        while (bg_scrape_line_next(&pos, c->end, &l) && d->len < 1024) {
            if (bg_scrape_line_blank(&l) || bg_scrape_line_rule(&l) || bg_scrape_line_ends(&l))
                continue;
            const char *p = l.p + l.indent;
            if (pass == 0 && !(l.len - l.indent > 4 && (p[0] == '4' || p[0] == '5') &&
                               isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
                               (p[3] == ' ' || p[3] == '-')))
                continue;
            if (d->len)
                bg_scrape_diag_add(d, " ", 1);
            bg_scrape_diag_add(d, p, l.len - l.indent);
        }
    }
    bg_scrape_diag_trim(d);
}

void bg_scrape_digest(const bg_scrape_ctx *c, bg_scrape_diag *d)
{
    bg_scrape_digest_pass(c, d, 0, 1);
}

static void bg_scrape_digest_replies(const bg_scrape_ctx *c, bg_scrape_diag *d)
{
    bg_scrape_digest_pass(c, d, 0, 0);
}

/* A bounce that names no recipient in its text: the To of the returned
 * message that follows the failure section. */
static void bg_scrape_returned_to(bg_bounce *b, const bg_scrape_ctx *c, size_t len)
{
    const char *pos = c->end, *end = c->in->text + len;
    bg_scrape_line l;
    while (bg_scrape_line_next(&pos, end, &l)) {
        if (l.len > 3 && strncasecmp(l.p, "To:", 3) == 0) {
            char addr[BG_ADDR_MAX];
            const char *at;
            if (bg_addr_find(l.p + 3, l.p + l.len, addr, &at)) {
                bg_scrape_diag d = {.len = 0};
                bg_scrape_digest(c, &d);
                bg_scrape_add_rcpt(c, b, addr, d.s);
            }
            return;
        }
    }
    /* the reader's copy of the returned message (a separate MIME part) */
    char addr[BG_ADDR_MAX];
    const char *at;
    if (b->orig.present &&
        bg_addr_find(b->orig.to, b->orig.to + strnlen(b->orig.to, sizeof b->orig.to), addr, &at)) {
        bg_scrape_diag d = {.len = 0};
        bg_scrape_digest(c, &d);
        bg_scrape_add_rcpt(c, b, addr, d.s);
    }
}

/* 1 when text holds an SMTP reply code as a word ("... connection: 550 Access"). */
static int bg_scrape_has_reply_code(const char *t)
{
    for (const char *p = t; *p; p++) {
        if ((p[0] == '4' || p[0] == '5') && isdigit((unsigned char)p[1]) &&
            isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '-') &&
            (p == t || p[-1] == ' ' || p[-1] == ':'))
            return 1;
    }
    return 0;
}

/* Recipients whose reason names no reply code: the section's reply lines
 * when they are about this recipient (or it is the only one); an empty
 * reason takes the section's text. */
static void bg_scrape_explain(bg_bounce *b, size_t from, const bg_scrape_ctx *c)
{
    bg_scrape_diag replies = {.len = 0}, all = {.len = 0};
    int have = 0, have_all = 0; /* each digest is made once */
    for (size_t i = from; i < b->nrcpt; i++) {
        bg_rcpt *r = &b->rcpts[i];
        char st[BG_STATUS_MAX];
        if (bg_reply_find(r->diagnostic) || bg_status_find(r->diagnostic, st) ||
            bg_scrape_has_reply_code(r->diagnostic))
            continue;
        if (!have) {
            bg_scrape_digest_replies(c, &replies);
            have = 1;
        }
        bg_scrape_diag d = {.len = 0};
        bg_scrape_diag_add(&d, r->diagnostic, strlen(r->diagnostic));
        if (replies.len && (b->nrcpt - from == 1 || strstr(replies.s, r->recipient))) {
            if (d.len)
                bg_scrape_diag_add(&d, " ", 1);
            bg_scrape_diag_add(&d, replies.s, replies.len);
        } else if (d.len == 0) {
            if (!have_all) {
                bg_scrape_digest(c, &all);
                have_all = 1;
            }
            bg_scrape_diag_add(&d, all.s, all.len);
        }
        bg_scrape_diag_trim(&d);
        memcpy(r->diagnostic, d.s, d.len + 1);
    }
}

/* 1 when the failure section has a refusal line of its own: a 5xx reply
 * code with an enhanced status ("550 5.1.1 <a@b>: ...") at a line start --
 * a plain-text bounce that names itself nowhere else. */
static int bg_scrape_refusal_line(const bg_scrape_ctx *c)
{
    const char *pos = c->text;
    const char *end = c->end - c->text > 16384 ? c->text + 16384 : c->end;
    bg_scrape_line l;
    while (bg_scrape_line_next(&pos, end, &l)) {
        const char *p = l.p + l.indent;
        size_t n = l.len - l.indent;
        if (n > 10 && p[0] == '5' && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
            (p[3] == ' ' || p[3] == '-') && bg_status_valid(p + 4) && p[4] == '5')
            return 1;
    }
    return 0;
}

/* ---- the dispatcher ---- */

enum { BG_SM_FORMAT = 0, BG_SM_END = 100000 };

/* Phrases that start the returned message (the failure section ends). */
static const char *const bg_scrape_end_markers[] = {
    "this is a copy of the message", "below this line is a copy of the message",
    "----- original message -----", "original message follows", "unsent message follows",
    "message headers follow", "below is a copy of the original message",
    "------- returned message --------", "-------original message",
    "header of the original message is following", "included is a copy of the message header",
    "original message header:", "original message:\n", "------ original message",
    "--- original message", "the original message headers", "----- message header follows",
    "this is the message header", "----- returned message -----", NULL};

static pthread_once_t bg_scrape_markers_once = PTHREAD_ONCE_INIT;
static bg_ac *bg_scrape_markers;

/* Build the marker automaton once (formats' text markers and end markers). */
static void bg_scrape_markers_init(void)
{
    bg_ac *a = bg_ac_new();
    if (!a)
        return;
    int bad = 0;
    for (unsigned i = 0; bg_scrape_formats[i].name; i++)
        for (unsigned k = 0; k < 6 && bg_scrape_formats[i].text[k]; k++)
            if (bg_scrape_formats[i].text[k][0])
                bad |= bg_ac_add(a, bg_scrape_formats[i].text[k], strlen(bg_scrape_formats[i].text[k]),
                             BG_SM_FORMAT + i);
    for (unsigned i = 0; bg_scrape_end_markers[i]; i++)
        bad |= bg_ac_add(a, bg_scrape_end_markers[i], strlen(bg_scrape_end_markers[i]), BG_SM_END + i);
    if (bad || bg_ac_build(a) != 0) {
        bg_logf(BG_LOG_WARN, "bg_scrape: marker table could not be built");
        bg_ac_free(a);
        return;
    }
    bg_scrape_markers = a;
}

typedef struct bg_scrape_marker_hits {
    size_t fmt;     /* first format (table index) whose marker was seen */
    size_t fmt_off; /* where */
    size_t end_off; /* first end marker (line start), or SIZE_MAX */
    const char *text;
} bg_scrape_marker_hits;

static int bg_scrape_marker_hit(unsigned id, size_t start, size_t end, void *ctx)
{
    (void)end;
    bg_scrape_marker_hits *h = ctx;
    if (h->end_off != (size_t)-1 && start > h->end_off + 256)
        return 1; /* well into the returned message: its phrases do not count */
    if (id >= BG_SM_END) {
        if (start < h->end_off) {
            /* back up to the start of the line */
            size_t s = start;
            while (s > 0 && h->text[s - 1] != '\n')
                s--;
            h->end_off = s;
        }
    } else if (id < h->fmt) {
        h->fmt = id; /* table order decides between formats */
        h->fmt_off = start;
    }
    return 0;
}

/* Header hint match: any of list in value. */
static int bg_scrape_has_any(const char *value, const char *const *list, size_t max)
{
    const char *e = value + strlen(value);
    for (size_t i = 0; i < max && list[i]; i++)
        if (bg_scrape_find(value, e, list[i]))
            return 1;
    return 0;
}

static const char *bg_scrape_header(const bg_scrape_input *in, const char *name)
{
    const char *v = in->header ? in->header(in->ctx, name) : NULL;
    return v ? v : "";
}

size_t bg_scrape(bg_bounce *b, const bg_scrape_input *in)
{
    if (!b || !in || !in->text)
        return 0;
    size_t len = in->len < BG_SCRAPE_TEXT_MAX ? in->len : BG_SCRAPE_TEXT_MAX;
    pthread_once(&bg_scrape_markers_once, bg_scrape_markers_init);

    char from[BG_HDR_MAX], subject[BG_HDR_MAX];
    const char *hv = bg_scrape_header(in, "From");
    bg_scrape_copy(from, sizeof from, hv, strnlen(hv, sizeof from - 1));
    hv = bg_scrape_header(in, "Subject");
    bg_scrape_copy(subject, sizeof subject, hv, strnlen(hv, sizeof subject - 1));

    bg_scrape_marker_hits h = {.fmt = (size_t)-1, .fmt_off = 0, .end_off = (size_t)-1, .text = in->text};
    if (bg_scrape_markers)
        bg_ac_scan(bg_scrape_markers, in->text, len < BG_SCRAPE_MARK_MAX ? len : BG_SCRAPE_MARK_MAX, bg_scrape_marker_hit,
                   &h);

    const bg_scrape_format *f = NULL;
    if (h.fmt != (size_t)-1)
        f = &bg_scrape_formats[h.fmt];
    for (size_t i = 0; !f && bg_scrape_formats[i].name; i++) {
        const bg_scrape_format *t = &bg_scrape_formats[i];
        if (t->from[0] && t->from[0][0] && bg_scrape_has_any(from, t->from, 4) &&
            (!t->subject[0] || bg_scrape_has_any(subject, t->subject, 4)))
            f = t;
    }

    bg_scrape_seen seen;
    memset(&seen, 0, sizeof seen);
    bg_scrape_ctx c = {.seen = &seen, .in = in, .text = in->text, .end = in->text + len, .from = from,
                 .subject = subject};
    for (size_t i = 0; i < b->nrcpt; i++)
        bg_scrape_seen_put(&c, b, i);
    if (h.end_off != (size_t)-1 && h.end_off > 0)
        c.end = in->text + h.end_off;

    size_t before = b->nrcpt;
    size_t n = bg_scrape_fields(b, &c);
    if (n == 0 && f && f->extract)
        n = f->extract(b, &c, f);
    /* the heuristics only where something says this is a bounce: an
     * auto-reply or a person's mail lists addresses too */
    int bounce = f || bg_scrape_from_daemon(from) ||
                 bg_scrape_has_any(subject, bg_scrape_bounce_subjects, 48) ||
                 bg_scrape_header(in, "X-Failed-Recipients")[0] || bg_scrape_refusal_line(&c);
    if (n == 0 && bounce)
        n = bg_scrape_generic(b, &c, f);
    bg_scrape_failed_header(b, before, &c);
    if (b->nrcpt == before && bounce && !(f && f->listed))
        bg_scrape_returned_to(b, &c, len);
    n = b->nrcpt - before;
    bg_scrape_explain(b, before, &c);
    if (n) {
        bg_scrape_finish(b, before, &c);
        snprintf(b->parser, sizeof b->parser, "%s", f ? f->name : "text");
    }
    return n;
}
