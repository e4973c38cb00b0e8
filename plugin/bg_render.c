/* bg_render: the enriched bounce (see bg_render.h).
 *
 * Two shapes of output:
 * - An RFC 3464 report (multipart/report with a delivery-status part): the
 *   first part is replaced by a multipart/alternative (text/plain + text/html)
 *   with the guidance; in the delivery-status part a generic X.0.0 Status is
 *   replaced by the real code and "X-Bounce-Category: id" is added after each
 *   recipient's Status line; every other byte (boundaries, the returned
 *   message, the epilogue) is copied as it was. Top-level Content-Type stays.
 * - Any other failure report (a plain-text bounce from another server, a
 *   multipart without a status part): the body is wrapped into a
 *   multipart/mixed whose first part is the guidance and whose second part
 *   is the original body, byte for byte, under its original Content-Type
 *   and Content-Transfer-Encoding. Nothing is lost and the message stays
 *   valid MIME; header edits move the Content-Type.
 * Success DSNs, auto-replies, feedback reports and non-bounces are not
 * rendered (BG_RENDER_NOT_APPLICABLE). Texts come from the catalogue; every
 * remote string is cleaned (UTF-8, control characters) and bounded before
 * use, escaped for HTML, and RFC 2047 encoded before it reaches a header.
 * This module does not read the bounce (bg_bounce) or classify (bg_classify).
 */
#include "bg_render.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "bg_catalog.h"
#include "bg_html.h"
#include "bg_qp.h"
#include "bg_rfc2047.h"
#include "bg_status.h"

#define BG_RENDER_MAX_RCPTS 50  /* recipients explained in detail; the rest are listed */
#define BG_RENDER_WIDTH 72      /* text/plain wrap column */
#define BG_RENDER_SUBJ_MAX 150  /* bytes of the original subject in the new Subject */
#define BG_RENDER_HDR_MAX 900   /* bytes of a header value before encoding */
#define BG_RENDER_MAX_EDITS 16

/* ---------------------------------------------------------------------
 * Small text helpers
 */

/* Copy a multi-line text, keeping LF and TAB, dropping CR, replacing other
 * control characters by a blank and broken UTF-8 by '?'. */
static void bg_render_clean_block(bg_buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t avail = strlen(s);
    while (avail) {
        size_t run = 0; /* plain printable ASCII and LF in one append */
        while (run < avail && ((p[run] >= 0x20 && p[run] < 0x7F) || p[run] == '\n'))
            run++;
        if (run) {
            bg_buf_add(out, p, run);
            p += run;
            avail -= run;
            continue;
        }
        size_t n = bg_utf8_len(p, avail);
        if (n == 0) {
            bg_buf_addc(out, '?');
            n = 1;
        } else if (n == 1 && p[0] == '\r') {
            /* dropped */
        } else if (n == 1 && ((p[0] < 0x20 && p[0] != '\n' && p[0] != '\t') || p[0] == 0x7F)) {
            bg_buf_addc(out, ' ');
        } else {
            bg_buf_add(out, p, n);
        }
        p += n;
        avail -= n;
    }
}

/* Display width of a UTF-8 string of len bytes (code points). */
static size_t bg_render_width(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            w++;
    return w;
}

/* Append text word-wrapped at BG_RENDER_WIDTH: the first line starts with
 * first (e.g. "  * "), the following ones with indent blanks. */
static void bg_render_wrap(bg_buf *out, const char *text, const char *first, size_t indent)
{
    size_t col = bg_render_width(first, strlen(first));
    bg_buf_adds(out, first);
    int at_start = 1;
    const char *s = text;
    while (*s) {
        while (*s == ' ' || *s == '\n' || *s == '\t')
            s++;
        if (!*s)
            break;
        const char *e = s;
        while (*e && *e != ' ' && *e != '\n' && *e != '\t')
            e++;
        size_t w = bg_render_width(s, (size_t)(e - s));
        if (!at_start && col + 1 + w > BG_RENDER_WIDTH) {
            bg_buf_addc(out, '\n');
            for (size_t i = 0; i < indent; i++)
                bg_buf_addc(out, ' ');
            col = indent;
            at_start = 1;
        }
        if (!at_start) {
            bg_buf_addc(out, ' ');
            col++;
        }
        bg_buf_add(out, s, (size_t)(e - s));
        col += w;
        at_start = 0;
        s = e;
    }
    bg_buf_addc(out, '\n');
}

/* The domain of an address ("" when none). */
static const char *bg_render_domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

/* Cheap stable hash (FNV-1a) of the first bytes of the message: boundaries
 * are deterministic for a given input, which keeps golden files stable. */
static uint64_t bg_render_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    size_t n = len < 65536 ? len : 65536;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (uint64_t)len;
}

/* A fresh boundary: contains "=_" (which quoted-printable output cannot
 * contain), does not occur in the message, and is not a prefix of the outer
 * boundary or the other way round. */
static int bg_render_boundary(char *out, size_t outlen, const char *msg, size_t len,
                              const char *outer, const char *tag)
{
    uint64_t h = bg_render_hash(msg, len);
    size_t olen = strlen(outer);
    for (unsigned salt = 0; salt < 64; salt++) {
        snprintf(out, outlen, "=_bg-%s-%016llx%02x", tag, (unsigned long long)h, salt);
        size_t n = strlen(out);
        if (memmem(msg, len, out, n))
            continue;
        if (olen && (strncmp(out, outer, n < olen ? n : olen) == 0))
            continue;
        return 0;
    }
    return -1;
}

/* Header field lookup in the raw header block: the unfolded value of the
 * first field called name, bounded; 1 when found. */
static int bg_render_header(const char *msg, bg_span hs, const char *name, bg_buf *val)
{
    size_t nlen = strlen(name);
    const char *p = msg + hs.off, *end = msg + hs.off + hs.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        if ((size_t)(le - p) > nlen && strncasecmp(p, name, nlen) == 0) {
            const char *q = p + nlen;
            while (q < le && (*q == ' ' || *q == '\t'))
                q++;
            if (q < le && *q == ':') {
                q++;
                /* value: this line and continuation lines */
                for (;;) {
                    for (; q < le; q++)
                        if (*q != '\r')
                            bg_buf_addc(val, *q == '\t' ? ' ' : *q);
                    if (!eol || eol + 1 >= end || (eol[1] != ' ' && eol[1] != '\t'))
                        break;
                    q = eol + 1;
                    eol = memchr(q, '\n', (size_t)(end - q));
                    le = eol ? eol : end;
                }
                return 1;
            }
        }
        p = eol ? eol + 1 : end;
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * Per-recipient facts
 */

typedef struct bg_render_rc {
    size_t index;          /* into bounce->rcpts */
    int delay;             /* rendered as "still trying" */
    long same_as;          /* index of an earlier recipient with the same category, or -1 */
    const char *section;   /* category id (catalogue section) */
    bg_buf recipient, domain, code, reply_code, remote_mta, retry_until, rule, diag;
    bg_buf tried_since, tried_for; /* timing (bg_verdict): "" when unknown */
    int gave_up;
} bg_render_rc;

/* Facts shared by every recipient. */
typedef struct bg_render_ctx {
    const bg_render_input *in;
    const char *eol;
    bg_buf organisation, helpdesk, sender_domain, subject, date, to, cc, dkim_d, dkim_s;
    bg_render_rc *rc;
    size_t nrc;        /* recipients explained */
    size_t nshown;     /* recipients that failed/are delayed in all */
    char count[24];
    int all_delay;
    bg_buf reason;     /* {reason} for the Subject */
} bg_render_ctx;

/* Free one recipient's cleaned strings. */
static void bg_render_rc_free(bg_render_rc *r)
{
    bg_buf_free(&r->recipient);
    bg_buf_free(&r->domain);
    bg_buf_free(&r->code);
    bg_buf_free(&r->reply_code);
    bg_buf_free(&r->remote_mta);
    bg_buf_free(&r->retry_until);
    bg_buf_free(&r->rule);
    bg_buf_free(&r->diag);
    bg_buf_free(&r->tried_since);
    bg_buf_free(&r->tried_for);
}

/* The placeholder table for one recipient (r may be NULL for [common]
 * texts that do not name a recipient). */
static void bg_render_vars(const bg_render_ctx *c, const bg_render_rc *r, bg_catalog_var *v)
{
    size_t i = 0;
    const char *first = r && r->same_as >= 0 ? bg_buf_str(&c->rc[r->same_as].recipient) : "";
#define BG_VAR(n, val) (v[i].name = (n), v[i].value = (val), i++)
    BG_VAR("organisation", bg_buf_str(&c->organisation));
    BG_VAR("helpdesk", bg_buf_str(&c->helpdesk));
    BG_VAR("sender_domain", bg_buf_str(&c->sender_domain));
    BG_VAR("subject", bg_buf_str(&c->subject));
    BG_VAR("count", c->count);
    BG_VAR("dkim_domain", bg_buf_str(&c->dkim_d));
    BG_VAR("dkim_selector", bg_buf_str(&c->dkim_s));
    BG_VAR("reason", bg_buf_str(&c->reason));
    BG_VAR("first_recipient", first);
    if (r) {
        BG_VAR("recipient", bg_buf_str(&r->recipient));
        BG_VAR("domain", bg_buf_str(&r->domain));
        BG_VAR("code", bg_buf_str(&r->code));
        BG_VAR("reply_code", bg_buf_str(&r->reply_code));
        BG_VAR("remote_mta", bg_buf_str(&r->remote_mta));
        BG_VAR("retry_until", bg_buf_str(&r->retry_until));
        BG_VAR("category", r->section);
        BG_VAR("rule", bg_buf_str(&r->rule));
        BG_VAR("tried_since", bg_buf_str(&r->tried_since));
        BG_VAR("tried_for", bg_buf_str(&r->tried_for));
    }
    BG_VAR(NULL, NULL);
#undef BG_VAR
}

/* Which recipients to explain: failed ones in a failure report, delayed
 * ones in a delay warning; delivered/relayed/expanded are left out. */
static int bg_render_wanted(const bg_bounce *b, const bg_rcpt *rc, const bg_verdict *v,
                            int *delay)
{
    if (v->category && !v->category->failure)
        return 0;
    if (strcasecmp(rc->action, "failed") == 0) {
        *delay = 0;
        return 1;
    }
    if (strcasecmp(rc->action, "delayed") == 0) {
        *delay = 1;
        return 1;
    }
    if (rc->action[0] == '\0') {
        *delay = b->kind == BG_MSG_DELAY;
        return 1;
    }
    return 0;
}

/* Clean and bound everything the texts show about one recipient. */
static void bg_render_fill_rc(bg_render_rc *r, const bg_rcpt *rc, const bg_verdict *v)
{
    const char *addr = rc->recipient[0] ? rc->recipient : rc->original_recipient;
    bg_utf8_clean(&r->recipient, addr[0] ? addr : "(address not given)", BG_ADDR_MAX);
    bg_utf8_clean(&r->domain, bg_render_domain_of(bg_buf_str(&r->recipient)), BG_ADDR_MAX);
    const char *code = v->status[0] ? v->status : rc->status;
    bg_utf8_clean(&r->code, code, BG_STATUS_MAX);
    if (v->reply_code > 0)
        bg_buf_printf(&r->reply_code, "%d", v->reply_code);
    bg_utf8_clean(&r->remote_mta, rc->remote_mta, BG_FIELD_MAX);
    bg_utf8_clean(&r->retry_until, rc->will_retry_until, BG_FIELD_MAX);
    bg_utf8_clean(&r->rule, v->rule, BG_RULE_NAME_MAX);
    bg_utf8_clean(&r->diag, rc->diagnostic, BG_DIAG_MAX);
    r->section = v->category && v->category->id ? v->category->id : "unknown";
}

/* How long we tried and since when (classify's timing facts), in the
 * catalogue's words: {tried_for} from the duration_* keys, {tried_since}
 * as a UTC date. Both stay "" when unknown. */
static void bg_render_fill_timing(const bg_render_ctx *c, bg_render_rc *r, const bg_verdict *v)
{
    r->gave_up = v->gave_up;
    if (v->tried_for <= 0)
        return;
    time_t t = (time_t)v->tried_since;
    struct tm tm;
    char when[40];
    if (gmtime_r(&t, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm))
        bg_buf_adds(&r->tried_since, when);
    long long s = v->tried_for;
    const char *key = s >= 2 * 86400 ? "duration_days" : s >= 2 * 3600 ? "duration_hours"
                                                                          : "duration_minutes";
    char n[24];
    snprintf(n, sizeof n, "%lld", s >= 2 * 86400 ? s / 86400 : s >= 2 * 3600 ? s / 3600 : s / 60);
    bg_catalog_var vars[] = {{"n", n}, {NULL, NULL}};
    if (!bg_catalog_text(c->in->catalog, "common", key, vars, &r->tried_for))
        bg_buf_reset(&r->tried_since);
}

/* The timing line under "what happened" ("" when there is none). */
static const char *bg_render_timing(const bg_render_ctx *c, const bg_render_rc *r, bg_buf *s)
{
    bg_buf_reset(s);
    if (!r->tried_for.len || (!r->gave_up && !r->delay))
        return "";
    bg_catalog_var vars[24];
    bg_render_vars(c, r, vars);
    bg_catalog_text(c->in->catalog, "common", r->delay ? "timing_delay" : "timing_gave_up", vars, s);
    return bg_buf_str(s);
}

/* The "who acts" key for a recipient. */
static const char *bg_render_acts_key(const bg_render_ctx *c, const bg_render_rc *r)
{
    const char *const *lines;
    const char *acts = NULL;
    if (bg_catalog_has(c->in->catalog, r->section, "acts") &&
        bg_catalog_lines(c->in->catalog, r->section, "acts", &lines) > 0)
        acts = lines[0];
    if (!acts) {
        const bg_verdict *v = &c->in->verdicts[r->index];
        static const char *const names[] = {"sender", "admin", "recipient", "nobody"};
        unsigned a = v->category ? (unsigned)v->category->acts : 1u;
        acts = a < 4 ? names[a] : "admin";
    }
    if (strcmp(acts, "sender") == 0)
        return "acts_sender";
    if (strcmp(acts, "recipient") == 0)
        return "acts_recipient";
    if (strcmp(acts, "nobody") == 0)
        return r->delay ? "acts_nobody" : "acts_nobody_failed";
    return "acts_admin";
}

/* One text of the catalogue for a recipient into a scratch buffer; "" when
 * no line expands. For a delayed recipient delay_key is tried first (the
 * category's, then [common]'s), then key. */
static const char *bg_render_text(const bg_render_ctx *c, const bg_render_rc *r,
                                  const char *key, const char *delay_key, bg_buf *scratch)
{
    bg_catalog_var vars[24];
    bg_render_vars(c, r, vars);
    bg_buf_reset(scratch);
    const char *section = r ? r->section : "common";
    if (r && r->delay && delay_key &&
        bg_catalog_text(c->in->catalog, section, delay_key, vars, scratch))
        return bg_buf_str(scratch);
    bg_buf_reset(scratch);
    bg_catalog_text(c->in->catalog, section, key, vars, scratch);
    return bg_buf_str(scratch);
}

/* The list texts (do / delay_do / admin) of a recipient, expanded; the
 * caller frees with bg_render_list_free. */
typedef struct bg_render_list {
    char *item[32];
    size_t n;
} bg_render_list;

/* Free an expanded list. */
static void bg_render_list_free(bg_render_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->item[i]);
    l->n = 0;
}

/* Add an item (copied); silently bounded to 32 items. */
static void bg_render_list_add(bg_render_list *l, const char *s)
{
    if (l->n < sizeof l->item / sizeof l->item[0] && s && *s) {
        char *d = strdup(s);
        if (d)
            l->item[l->n++] = d;
    }
}

/* Every expanding line of a list key (do, delay_do, admin). */
static void bg_render_list_get(const bg_render_ctx *c, const bg_render_rc *r, const char *key,
                               bg_render_list *l)
{
    bg_catalog_var vars[24];
    bg_render_vars(c, r, vars);
    const char *const *lines;
    size_t n = bg_catalog_lines(c->in->catalog, r->section, key, &lines);
    bg_buf tmp;
    bg_buf_init(&tmp);
    for (size_t i = 0; i < n; i++) {
        bg_buf_reset(&tmp);
        if (bg_catalog_expand(lines[i], vars, &tmp))
            bg_render_list_add(l, bg_buf_str(&tmp));
    }
    bg_buf_free(&tmp);
}

/* Steps for the sender: delay_do (category, else common) while we still
 * try; do otherwise. The extra sender_text (auth diagnosis) comes first. */
static void bg_render_steps(const bg_render_ctx *c, const bg_render_rc *r, bg_render_list *l)
{
    const bg_render_extra *x = c->in->extra ? &c->in->extra[r->index] : NULL;
    if (x && x->sender_text && *x->sender_text) {
        bg_buf t;
        bg_buf_init(&t);
        bg_utf8_clean(&t, x->sender_text, 1024);
        bg_render_list_add(l, bg_buf_str(&t));
        bg_buf_free(&t);
    }
    size_t before = l->n;
    if (r->delay)
        bg_render_list_get(c, r, "delay_do", l);
    if (l->n == before)
        bg_render_list_get(c, r, "do", l);
}

/* ---------------------------------------------------------------------
 * text/plain
 */

static void bg_render_rule_line(bg_buf *t)
{
    for (int i = 0; i < BG_RENDER_WIDTH; i++)
        bg_buf_addc(t, '-');
    bg_buf_addc(t, '\n');
}

/* A label/value row of the administrator section. */
static void bg_render_kv_text(bg_buf *t, const char *label, const char *value)
{
    if (!value || !*value)
        return;
    char first[64];
    size_t lw = bg_render_width(label, strlen(label));
    snprintf(first, sizeof first, "  %s:%*s", label, (int)(lw < 16 ? 16 - lw : 1), "");
    bg_render_wrap(t, value, first, 2 + (lw < 16 ? 17 : lw + 2));
}

/* One recipient in text/plain: headline, what happened, steps, who, admin. */
static void bg_render_plain_rc(const bg_render_ctx *c, const bg_render_rc *r, bg_buf *t)
{
    bg_buf s;
    bg_buf_init(&s);
    const char *head = bg_render_text(c, r, "headline", "delay_headline", &s);
    bg_render_wrap(t, head, "", 0);
    size_t hw = bg_render_width(head, strlen(head));
    for (size_t i = 0; i < (hw < BG_RENDER_WIDTH ? hw : BG_RENDER_WIDTH); i++)
        bg_buf_addc(t, '=');
    bg_buf_adds(t, "\n\n");

    if (r->same_as >= 0) {
        bg_render_wrap(t, bg_render_text(c, r, "same_as", NULL, &s), "", 0);
        bg_buf_addc(t, '\n');
        goto admin;
    }
    bg_render_wrap(t, bg_render_text(c, NULL, "label_happened", NULL, &s), "", 0);
    bg_render_wrap(t, bg_render_text(c, r, "happened", "delay_happened", &s), "  ", 2);
    if (*bg_render_timing(c, r, &s))
        bg_render_wrap(t, bg_buf_str(&s), "  ", 2);
    if (r->delay) {
        bg_catalog_var vars[24];
        bg_render_vars(c, r, vars);
        bg_buf_reset(&s);
        if (bg_catalog_text(c->in->catalog, "common", "delay_note", vars, &s))
            bg_render_wrap(t, bg_buf_str(&s), "  ", 2);
    }
    bg_buf_addc(t, '\n');

    bg_render_list steps = {.n = 0};
    bg_render_steps(c, r, &steps);
    if (steps.n) {
        bg_render_wrap(t, bg_render_text(c, NULL, "label_do", NULL, &s), "", 0);
        for (size_t i = 0; i < steps.n; i++)
            bg_render_wrap(t, steps.item[i], "  * ", 4);
        bg_buf_addc(t, '\n');
    }
    bg_render_list_free(&steps);

    bg_render_wrap(t, bg_render_text(c, NULL, "label_who", NULL, &s), "", 0);
    bg_render_wrap(t, bg_render_text(c, r, bg_render_acts_key(c, r), NULL, &s), "  ", 2);
    bg_buf_addc(t, '\n');

admin:
    bg_render_wrap(t, bg_render_text(c, NULL, "label_admin", NULL, &s), "", 0);
    bg_buf cat;
    bg_buf_init(&cat);
    bg_buf_adds(&cat, r->section);
    if (r->rule.len)
        bg_buf_printf(&cat, " (%s)", bg_buf_str(&r->rule));
    bg_render_kv_text(t, bg_render_text(c, NULL, "label_category", NULL, &s), bg_buf_str(&cat));
    bg_buf_free(&cat);
    bg_render_kv_text(t, bg_render_text(c, NULL, "label_status", NULL, &s), bg_buf_str(&r->code));
    bg_render_kv_text(t, bg_render_text(c, NULL, "label_reply_code", NULL, &s),
                      bg_buf_str(&r->reply_code));
    bg_render_kv_text(t, bg_render_text(c, NULL, "label_remote", NULL, &s),
                      bg_buf_str(&r->remote_mta));
    if (r->delay)
        bg_render_kv_text(t, bg_render_text(c, NULL, "label_retry", NULL, &s),
                          bg_buf_str(&r->retry_until));
    if (r->tried_for.len) {
        bg_buf tr;
        bg_buf_init(&tr);
        bg_buf_printf(&tr, "%s (%s)", bg_buf_str(&r->tried_since), bg_buf_str(&r->tried_for));
        bg_render_kv_text(t, bg_render_text(c, NULL, "label_tried", NULL, &s), bg_buf_str(&tr));
        bg_buf_free(&tr);
    }
    bg_render_list notes = {.n = 0};
    bg_render_list_get(c, r, "admin", &notes);
    for (size_t i = 0; i < notes.n; i++)
        bg_render_wrap(t, notes.item[i], "  - ", 4);
    bg_render_list_free(&notes);
    const bg_render_extra *x = c->in->extra ? &c->in->extra[r->index] : NULL;
    if (x && x->admin_text && *x->admin_text) {
        bg_buf a;
        bg_buf_init(&a);
        bg_render_clean_block(&a, x->admin_text);
        const char *p = bg_buf_str(&a);
        while (*p) { /* keep the helper's own line structure */
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            bg_buf line;
            bg_buf_init(&line);
            bg_buf_add(&line, p, n);
            if (n)
                bg_render_wrap(t, bg_buf_str(&line), "  ", 4);
            bg_buf_free(&line);
            p += n + (e ? 1 : 0);
        }
        bg_buf_free(&a);
    }
    if (r->diag.len) {
        bg_buf_adds(t, "  ");
        bg_buf_adds(t, bg_render_text(c, NULL, "label_reply", NULL, &s));
        bg_buf_adds(t, ":\n    ");
        bg_buf_add(t, r->diag.p, r->diag.len); /* verbatim, one line */
        bg_buf_addc(t, '\n');
    }
    bg_buf_addc(t, '\n');
    bg_buf_free(&s);
}

/* The overview line for several recipients ("" for one). */
static const char *bg_render_summary(const bg_render_ctx *c, bg_buf *s)
{
    bg_buf_reset(s);
    if (c->nrc < 2)
        return "";
    bg_catalog_var vars[24];
    bg_render_vars(c, NULL, vars);
    bg_catalog_text(c->in->catalog, "common", c->all_delay ? "summary_delay" : "summary", vars, s);
    return bg_buf_str(s);
}

/* The short reason of a recipient's category (its "subject" text). */
static const char *bg_render_reason(const bg_render_ctx *c, const bg_render_rc *r, bg_buf *s)
{
    return bg_render_text(c, r, "subject", NULL, s);
}

/* The whole text/plain guidance (LF line ends; encoded later). */
static void bg_render_plain(const bg_render_ctx *c, bg_buf *t)
{
    bg_buf s;
    bg_buf_init(&s);
    bg_render_wrap(t, bg_render_text(c, NULL, "intro", NULL, &s), "", 0);
    if (c->helpdesk.len)
        bg_render_wrap(t, bg_render_text(c, NULL, "help", NULL, &s), "", 0);
    bg_buf_addc(t, '\n');
    if (*bg_render_summary(c, &s)) {
        bg_render_wrap(t, bg_buf_str(&s), "", 0);
        bg_buf line;
        bg_buf_init(&line);
        for (size_t i = 0; i < c->nrc; i++) {
            bg_buf_reset(&line);
            bg_buf_printf(&line, "%s -- %s", bg_buf_str(&c->rc[i].recipient),
                          bg_render_reason(c, &c->rc[i], &s));
            bg_render_wrap(t, bg_buf_str(&line), "  * ", 4);
        }
        bg_buf_free(&line);
        bg_buf_addc(t, '\n');
    }
    for (size_t i = 0; i < c->nrc; i++)
        bg_render_plain_rc(c, &c->rc[i], t);
    if (c->nshown > c->nrc)
        bg_buf_printf(t, "(%zu more recipients: see the technical report below.)\n\n",
                      c->nshown - c->nrc);

    if (c->subject.len || c->date.len || c->to.len) {
        bg_render_rule_line(t);
        bg_render_wrap(t, bg_render_text(c, NULL, "label_original", NULL, &s), "", 0);
        bg_render_kv_text(t, bg_render_text(c, NULL, "label_subject", NULL, &s),
                          c->subject.len ? bg_buf_str(&c->subject)
                                         : bg_render_text(c, NULL, "label_no_subject", NULL, &s));
        bg_render_kv_text(t, bg_render_text(c, NULL, "label_date", NULL, &s), bg_buf_str(&c->date));
        bg_render_kv_text(t, bg_render_text(c, NULL, "label_to", NULL, &s), bg_buf_str(&c->to));
        bg_render_kv_text(t, bg_render_text(c, NULL, "label_cc", NULL, &s), bg_buf_str(&c->cc));
        bg_buf_addc(t, '\n');
    }
    const char *ht = c->in->bounce->human_text;
    if (ht && *ht) {
        bg_render_rule_line(t);
        bg_render_wrap(t, bg_render_text(c, NULL, "label_explanation", NULL, &s), "", 0);
        bg_buf_addc(t, '\n');
        bg_render_clean_block(t, ht);
        if (t->len && t->p[t->len - 1] != '\n')
            bg_buf_addc(t, '\n');
        bg_buf_addc(t, '\n');
    }
    bg_render_rule_line(t);
    bg_render_wrap(t, bg_render_text(c, NULL, "footer", NULL, &s), "", 0);
    bg_buf_free(&s);
}

/* ---------------------------------------------------------------------
 * text/html (inline styles only: mail clients drop <style> blocks)
 */

#define BG_CSS_FONT "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
#define BG_CSS_MONO "font-family:Menlo,Consolas,'DejaVu Sans Mono',monospace;"
#define BG_CSS_H2 "font-size:13px;font-weight:600;text-transform:uppercase;letter-spacing:.05em;" \
                  "color:#52606d;margin:20px 0 6px;"

/* A label/value row of an HTML table, both escaped. */
static void bg_render_html_kv(bg_buf *h, const char *label, const char *value, int mono)
{
    if (!value || !*value)
        return;
    bg_buf_adds(h, "<tr><td style=\"padding:3px 14px 3px 0;color:#616e7c;vertical-align:top;"
                   "white-space:nowrap;\">");
    bg_html_escapes(h, label, 0);
    bg_buf_adds(h, "</td><td style=\"padding:3px 0;vertical-align:top;word-break:break-word;");
    if (mono)
        bg_buf_adds(h, BG_CSS_MONO);
    bg_buf_adds(h, "\">");
    bg_html_escapes(h, value, 0);
    bg_buf_adds(h, "</td></tr>\n");
}

/* One recipient as an HTML card. */
static void bg_render_html_rc(const bg_render_ctx *c, const bg_render_rc *r, bg_buf *h)
{
    bg_buf s;
    bg_buf_init(&s);
    const char *accent = r->delay ? "#b7791f" : "#c53030";
    const char *tint = r->delay ? "#fffaf0" : "#fff5f5";
    bg_buf_printf(h, "<div style=\"background:#ffffff;border:1px solid #e4e7eb;border-top:6px solid "
                     "%s;border-radius:8px;padding:22px 26px;margin:0 0 22px;\">\n", accent);
    bg_buf_printf(h, "<div style=\"display:inline-block;background:%s;color:%s;font-size:12px;"
                     "font-weight:600;border-radius:12px;padding:2px 10px;margin:0 0 10px;\">",
                  tint, accent);
    bg_html_escapes(h, r->delay ? "Delayed" : "Not delivered", 0);
    bg_buf_adds(h, " &middot; ");
    bg_html_escapes(h, bg_buf_str(&r->recipient), 0);
    bg_buf_adds(h, "</div>\n<h1 style=\"font-size:21px;line-height:1.3;margin:0 0 4px;color:#1f2933;\">");
    bg_html_escapes(h, bg_render_text(c, r, "headline", "delay_headline", &s), 0);
    bg_buf_adds(h, "</h1>\n");

    if (r->same_as >= 0) {
        bg_buf_adds(h, "<p style=\"margin:8px 0 0;\">");
        bg_html_escapes(h, bg_render_text(c, r, "same_as", NULL, &s), 0);
        bg_buf_adds(h, "</p>\n");
        goto admin;
    }
    bg_buf_adds(h, "<h2 style=\"" BG_CSS_H2 "\">");
    bg_html_escapes(h, bg_render_text(c, NULL, "label_happened", NULL, &s), 0);
    bg_buf_adds(h, "</h2>\n<p style=\"margin:0 0 8px;\">");
    bg_html_escapes(h, bg_render_text(c, r, "happened", "delay_happened", &s), 0);
    bg_buf_adds(h, "</p>\n");
    if (*bg_render_timing(c, r, &s)) {
        bg_buf_adds(h, "<p style=\"margin:0 0 8px;\">");
        bg_html_escapes(h, bg_buf_str(&s), 0);
        bg_buf_adds(h, "</p>\n");
    }
    if (r->delay) {
        bg_catalog_var vars[24];
        bg_render_vars(c, r, vars);
        bg_buf_reset(&s);
        if (bg_catalog_text(c->in->catalog, "common", "delay_note", vars, &s)) {
            bg_buf_printf(h, "<p style=\"margin:0 0 8px;background:%s;border-radius:6px;"
                             "padding:8px 12px;\">", tint);
            bg_html_escapes(h, bg_buf_str(&s), 0);
            bg_buf_adds(h, "</p>\n");
        }
    }

    bg_render_list steps = {.n = 0};
    bg_render_steps(c, r, &steps);
    if (steps.n) {
        bg_buf_adds(h, "<h2 style=\"" BG_CSS_H2 "\">");
        bg_html_escapes(h, bg_render_text(c, NULL, "label_do", NULL, &s), 0);
        bg_buf_adds(h, "</h2>\n<ul style=\"margin:0;padding-left:22px;\">\n");
        for (size_t i = 0; i < steps.n; i++) {
            bg_buf_adds(h, "<li style=\"margin:0 0 6px;\">");
            bg_html_escapes(h, steps.item[i], 0);
            bg_buf_adds(h, "</li>\n");
        }
        bg_buf_adds(h, "</ul>\n");
    }
    bg_render_list_free(&steps);

    bg_buf_adds(h, "<h2 style=\"" BG_CSS_H2 "\">");
    bg_html_escapes(h, bg_render_text(c, NULL, "label_who", NULL, &s), 0);
    bg_buf_adds(h, "</h2>\n<p style=\"margin:0;font-weight:600;\">");
    bg_html_escapes(h, bg_render_text(c, r, bg_render_acts_key(c, r), NULL, &s), 0);
    bg_buf_adds(h, "</p>\n");

admin:
    bg_buf_adds(h, "<div style=\"background:#f5f7fa;border:1px solid #e4e7eb;border-radius:6px;"
                   "padding:14px 18px;margin:22px 0 0;font-size:13px;line-height:1.45;\">\n"
                   "<div style=\"font-weight:600;color:#3e4c59;margin:0 0 8px;\">");
    bg_html_escapes(h, bg_render_text(c, NULL, "label_admin", NULL, &s), 0);
    bg_buf_adds(h, "</div>\n<table style=\"border-collapse:collapse;font-size:13px;\">\n");
    bg_buf cat;
    bg_buf_init(&cat);
    bg_buf_adds(&cat, r->section);
    if (r->rule.len)
        bg_buf_printf(&cat, " (%s)", bg_buf_str(&r->rule));
    bg_render_html_kv(h, bg_render_text(c, NULL, "label_category", NULL, &s), bg_buf_str(&cat), 1);
    bg_buf_free(&cat);
    bg_render_html_kv(h, bg_render_text(c, NULL, "label_status", NULL, &s), bg_buf_str(&r->code), 1);
    bg_render_html_kv(h, bg_render_text(c, NULL, "label_reply_code", NULL, &s),
                      bg_buf_str(&r->reply_code), 1);
    bg_render_html_kv(h, bg_render_text(c, NULL, "label_remote", NULL, &s),
                      bg_buf_str(&r->remote_mta), 1);
    if (r->delay)
        bg_render_html_kv(h, bg_render_text(c, NULL, "label_retry", NULL, &s),
                          bg_buf_str(&r->retry_until), 0);
    if (r->tried_for.len) {
        bg_buf tr;
        bg_buf_init(&tr);
        bg_buf_printf(&tr, "%s (%s)", bg_buf_str(&r->tried_since), bg_buf_str(&r->tried_for));
        bg_render_html_kv(h, bg_render_text(c, NULL, "label_tried", NULL, &s), bg_buf_str(&tr), 0);
        bg_buf_free(&tr);
    }
    bg_buf_adds(h, "</table>\n");
    bg_render_list notes = {.n = 0};
    bg_render_list_get(c, r, "admin", &notes);
    if (notes.n) {
        bg_buf_adds(h, "<ul style=\"margin:10px 0 0;padding-left:20px;color:#3e4c59;\">\n");
        for (size_t i = 0; i < notes.n; i++) {
            bg_buf_adds(h, "<li style=\"margin:0 0 4px;\">");
            bg_html_escapes(h, notes.item[i], 0);
            bg_buf_adds(h, "</li>\n");
        }
        bg_buf_adds(h, "</ul>\n");
    }
    bg_render_list_free(&notes);
    const bg_render_extra *x = c->in->extra ? &c->in->extra[r->index] : NULL;
    if (x && x->admin_text && *x->admin_text) {
        bg_buf a;
        bg_buf_init(&a);
        bg_render_clean_block(&a, x->admin_text);
        bg_buf_adds(h, "<p style=\"margin:10px 0 0;color:#3e4c59;\">");
        bg_html_escape(h, a.p ? a.p : "", a.len, BG_HTML_LF_BR);
        bg_buf_adds(h, "</p>\n");
        bg_buf_free(&a);
    }
    if (r->diag.len) {
        bg_buf_adds(h, "<div style=\"margin:12px 0 4px;color:#616e7c;\">");
        bg_html_escapes(h, bg_render_text(c, NULL, "label_reply", NULL, &s), 0);
        bg_buf_adds(h, "</div>\n<pre style=\"margin:0;white-space:pre-wrap;overflow-wrap:anywhere;"
                       BG_CSS_MONO "font-size:12px;background:#ffffff;border:1px solid #e4e7eb;"
                       "border-left:3px solid #9aa5b1;border-radius:4px;padding:8px 10px;\">");
        bg_html_escape(h, r->diag.p, r->diag.len, 0);
        bg_buf_adds(h, "</pre>\n");
    }
    bg_buf_adds(h, "</div>\n</div>\n");
    bg_buf_free(&s);
}

/* The whole text/html guidance: a standalone page with inline styles. */
static void bg_render_html(const bg_render_ctx *c, bg_buf *h)
{
    bg_buf s;
    bg_buf_init(&s);
    bg_buf_adds(h, "<!DOCTYPE html>\n<html lang=\"");
    bg_html_escapes(h, bg_render_text(c, NULL, "html_lang", NULL, &s), 0);
    bg_buf_adds(h, "\"><head><meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>");
    if (c->nrc)
        bg_html_escapes(h, bg_render_text(c, &c->rc[0], "headline", "delay_headline", &s), 0);
    bg_buf_adds(h, "</title></head>\n<body style=\"margin:0;padding:0;background:#eef1f5;\">\n"
                   "<div style=\"max-width:680px;margin:0 auto;padding:24px 16px;" BG_CSS_FONT
                   "font-size:15px;line-height:1.55;color:#1f2933;\">\n"
                   "<p style=\"margin:0 0 18px;color:#52606d;font-size:13px;\">");
    bg_html_escapes(h, bg_render_text(c, NULL, "intro", NULL, &s), 0);
    if (c->helpdesk.len) {
        bg_buf_adds(h, " <strong>");
        bg_html_escapes(h, bg_render_text(c, NULL, "help", NULL, &s), 0);
        bg_buf_adds(h, "</strong>");
    }
    bg_buf_adds(h, "</p>\n");
    if (*bg_render_summary(c, &s)) {
        bg_buf_adds(h, "<div style=\"background:#ffffff;border:1px solid #e4e7eb;border-radius:8px;"
                       "padding:16px 26px;margin:0 0 22px;\">\n<p style=\"margin:0 0 8px;"
                       "font-weight:600;\">");
        bg_html_escapes(h, bg_buf_str(&s), 0);
        bg_buf_adds(h, "</p>\n<ul style=\"margin:0;padding-left:22px;\">\n");
        for (size_t i = 0; i < c->nrc; i++) {
            bg_buf_adds(h, "<li style=\"margin:0 0 4px;\"><strong>");
            bg_html_escapes(h, bg_buf_str(&c->rc[i].recipient), 0);
            bg_buf_adds(h, "</strong> &mdash; ");
            bg_html_escapes(h, bg_render_reason(c, &c->rc[i], &s), 0);
            bg_buf_adds(h, "</li>\n");
        }
        bg_buf_adds(h, "</ul>\n</div>\n");
    }
    for (size_t i = 0; i < c->nrc; i++)
        bg_render_html_rc(c, &c->rc[i], h);
    if (c->nshown > c->nrc)
        bg_buf_printf(h, "<p>(%zu more recipients: see the technical report below.)</p>\n",
                      c->nshown - c->nrc);

    if (c->subject.len || c->date.len || c->to.len) {
        bg_buf_adds(h, "<div style=\"background:#ffffff;border:1px solid #e4e7eb;border-radius:8px;"
                       "padding:16px 26px;margin:0 0 22px;\">\n<h2 style=\"" BG_CSS_H2
                       "margin-top:0;\">");
        bg_html_escapes(h, bg_render_text(c, NULL, "label_original", NULL, &s), 0);
        bg_buf_adds(h, "</h2>\n<table style=\"border-collapse:collapse;font-size:14px;\">\n");
        bg_render_html_kv(h, bg_render_text(c, NULL, "label_subject", NULL, &s),
                          c->subject.len ? bg_buf_str(&c->subject)
                                         : bg_render_text(c, NULL, "label_no_subject", NULL, &s),
                          0);
        bg_render_html_kv(h, bg_render_text(c, NULL, "label_date", NULL, &s), bg_buf_str(&c->date), 0);
        bg_render_html_kv(h, bg_render_text(c, NULL, "label_to", NULL, &s), bg_buf_str(&c->to), 0);
        bg_render_html_kv(h, bg_render_text(c, NULL, "label_cc", NULL, &s), bg_buf_str(&c->cc), 0);
        bg_buf_adds(h, "</table>\n</div>\n");
    }
    const char *ht = c->in->bounce->human_text;
    if (ht && *ht) {
        bg_buf clean;
        bg_buf_init(&clean);
        bg_render_clean_block(&clean, ht);
        bg_buf_adds(h, "<div style=\"background:#ffffff;border:1px solid #e4e7eb;border-radius:8px;"
                       "padding:16px 26px;margin:0 0 22px;\">\n<h2 style=\"" BG_CSS_H2
                       "margin-top:0;\">");
        bg_html_escapes(h, bg_render_text(c, NULL, "label_explanation", NULL, &s), 0);
        bg_buf_adds(h, "</h2>\n<pre style=\"margin:0;white-space:pre-wrap;word-break:break-word;"
                       BG_CSS_MONO "font-size:12px;color:#3e4c59;\">");
        bg_html_escape(h, clean.p ? clean.p : "", clean.len, BG_HTML_LF_KEEP);
        bg_buf_adds(h, "</pre>\n</div>\n");
        bg_buf_free(&clean);
    }
    bg_buf_adds(h, "<p style=\"margin:0;color:#7b8794;font-size:12px;\">");
    bg_html_escapes(h, bg_render_text(c, NULL, "footer", NULL, &s), 0);
    bg_buf_adds(h, "</p>\n</div>\n</body></html>\n");
    bg_buf_free(&s);
}

/* ---------------------------------------------------------------------
 * MIME assembly
 */

/* The multipart/alternative part (headers + body), eol line ends, ending
 * with the close delimiter and eol. */
static void bg_render_alternative(const bg_render_ctx *c, const char *boundary, bg_buf *p)
{
    const char *eol = c->eol;
    bg_buf text, html;
    bg_buf_init(&text);
    bg_buf_init(&html);
    bg_render_plain(c, &text);
    bg_render_html(c, &html);
    bg_buf_printf(p, "Content-Type: multipart/alternative;%s\tboundary=\"%s\"%s%s", eol, boundary,
                  eol, eol);
    bg_buf_printf(p, "--%s%sContent-Type: text/plain; charset=utf-8%s"
                     "Content-Transfer-Encoding: quoted-printable%s%s",
                  boundary, eol, eol, eol, eol);
    bg_qp_encode(p, text.p ? text.p : "", text.len, eol);
    bg_buf_printf(p, "%s--%s%sContent-Type: text/html; charset=utf-8%s"
                     "Content-Transfer-Encoding: quoted-printable%s%s",
                  eol, boundary, eol, eol, eol, eol);
    bg_qp_encode(p, html.p ? html.p : "", html.len, eol);
    bg_buf_printf(p, "%s--%s--%s", eol, boundary, eol);
    if (bg_buf_failed(&text) || bg_buf_failed(&html))
        p->failed = 1;
    bg_buf_free(&text);
    bg_buf_free(&html);
}

/* One byte-range replacement in the body. */
typedef struct bg_render_edit {
    size_t off, len;    /* range of the input replaced (len 0 = insertion) */
    const char *data;
    size_t dlen;
    char small[96];     /* storage for short replacement texts */
} bg_render_edit;

/* Order body edits by offset (qsort). */
static int bg_render_edit_cmp(const void *a, const void *b)
{
    const bg_render_edit *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->len < y->len ? -1 : (x->len > y->len); /* insertion before replacement */
}

/* A span lies inside a buffer of len bytes. */
static int bg_span_ok(bg_span s, size_t len)
{
    return s.off <= len && s.len <= len - s.off;
}

/* Edits for one recipient in the delivery-status part: the Status value
 * (when generic and a real code is known) and an X-Bounce-Category line
 * after the Status line. Returns the number of edits added (0-2). */
static size_t bg_render_status_edits(const bg_render_input *in, const bg_rcpt *rc,
                                     const bg_verdict *v, const char *eol, bg_render_edit *e)
{
    const char *msg = in->msg;
    const bg_bounce *b = in->bounce;
    bg_span sf = rc->status_field, ps = b->part_status;
    if (sf.len < 7 || !bg_span_ok(sf, in->len) || sf.off < ps.off ||
        sf.off + sf.len > ps.off + ps.len || strncasecmp(msg + sf.off, "Status", 6) != 0)
        return 0;
    size_t end = ps.off + ps.len;
    size_t p = sf.off + 6;
    while (p < end && (msg[p] == ' ' || msg[p] == '\t'))
        p++;
    if (p >= end || msg[p] != ':')
        return 0;
    p++;
    while (p < end && (msg[p] == ' ' || msg[p] == '\t'))
        p++;
    size_t vstart = p;
    while (p < end && msg[p] != '\r' && msg[p] != '\n')
        p++;
    size_t vend = p;
    while (vend > vstart && (msg[vend - 1] == ' ' || msg[vend - 1] == '\t'))
        vend--;
    /* the end of the field: after its line end and any continuation lines */
    size_t after = p;
    for (;;) {
        while (after < end && msg[after] != '\n')
            after++;
        if (after >= end)
            return 0; /* no line end inside the part: leave it alone */
        after++;
        if (after < end && (msg[after] == ' ' || msg[after] == '\t'))
            continue;
        break;
    }
    size_t n = 0;
    char cur[BG_STATUS_MAX];
    snprintf(cur, sizeof cur, "%.*s", (int)(vend - vstart < BG_STATUS_MAX ? vend - vstart : 0),
             msg + vstart);
    if (bg_status_generic(cur) && v->status[0] && bg_status_valid(v->status) == strlen(v->status) &&
        strcmp(cur, v->status) != 0) {
        e[n].off = vstart;
        e[n].len = vend - vstart;
        snprintf(e[n].small, sizeof e[n].small, "%s", v->status);
        e[n].data = e[n].small;
        e[n].dlen = strlen(e[n].small);
        n++;
    }
    const char *id = v->category && v->category->id ? v->category->id : "unknown";
    e[n].off = after;
    e[n].len = 0;
    snprintf(e[n].small, sizeof e[n].small, "X-Bounce-Category: %.40s%s", id, eol);
    e[n].data = e[n].small;
    e[n].dlen = strlen(e[n].small);
    n++;
    return n;
}

/* Append a header edit (name, remove, copied value). */
static int bg_render_add_edit(bg_render_output *out, const char *name, int remove,
                              const char *value)
{
    if (out->nedits >= BG_RENDER_MAX_EDITS)
        return -1;
    bg_header_edit *e = &out->edits[out->nedits];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->remove = remove;
    if (value && !(e->value = strdup(value)))
        return -1;
    out->nedits++;
    return 0;
}

/* Subject, X-Bounce-Category and X-Bounce-Severity. */
static int bg_render_headers(const bg_render_ctx *c, bg_render_output *out)
{
    const bg_render_input *in = c->in;
    bg_buf cats, subj, enc;
    bg_buf_init(&cats);
    bg_buf_init(&subj);
    bg_buf_init(&enc);
    int permanent = 0, mixed = 0;
    for (size_t i = 0; i < c->nrc; i++) {
        const bg_verdict *v = &in->verdicts[c->rc[i].index];
        permanent |= v->permanent;
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->rc[j].section, c->rc[i].section) == 0)
                seen = 1;
        if (seen)
            continue;
        if (cats.len) {
            bg_buf_adds(&cats, ", ");
            mixed = 1;
        }
        bg_buf_adds(&cats, c->rc[i].section);
    }
    bg_catalog_var vars[24];
    bg_render_vars(c, &c->rc[0], vars);
    const char *key = c->all_delay     ? "subject_delay"
                      : mixed          ? "subject_mixed"
                      : c->nshown > 1  ? "subject_several"
                                       : "subject_failure";
    if (!bg_catalog_text(in->catalog, "common", key, vars, &subj))
        bg_buf_adds(&subj, c->all_delay ? "Delivery delayed" : "Undeliverable");
    bg_rfc2047_encode(&enc, bg_buf_str(&subj), BG_RENDER_HDR_MAX);
    const char *sev = c->all_delay ? "delay" : permanent ? "permanent" : "transient";
    int rc = 0;
    if (bg_buf_failed(&cats) || bg_buf_failed(&enc) ||
        bg_render_add_edit(out, "Subject", 1, bg_buf_str(&enc)) < 0 ||
        bg_render_add_edit(out, "X-Bounce-Category", 1, bg_buf_str(&cats)) < 0 ||
        bg_render_add_edit(out, "X-Bounce-Severity", 1, sev) < 0)
        rc = -1;
    bg_buf_free(&cats);
    bg_buf_free(&subj);
    bg_buf_free(&enc);
    return rc;
}

/* The body of an RFC 3464 report with the human part and Status lines
 * replaced. */
static int bg_render_dsn_body(const bg_render_ctx *c, const bg_buf *alt, bg_buf *body)
{
    const bg_render_input *in = c->in;
    const bg_bounce *b = in->bounce;
    size_t nmax = 1 + 2 * b->nrcpt;
    bg_render_edit *e = calloc(nmax, sizeof *e);
    if (!e)
        return -1;
    size_t n = 0;
    /* the human part: keep whether its span ended with a line end */
    bg_span ph = b->part_human;
    size_t dlen = alt->len;
    int span_eol = ph.len && in->msg[ph.off + ph.len - 1] == '\n';
    if (!span_eol) /* the line end before the next delimiter belongs to it */
        dlen -= strlen(c->eol);
    e[n].off = ph.off;
    e[n].len = ph.len;
    e[n].data = alt->p;
    e[n].dlen = dlen;
    n++;
    for (size_t i = 0; i < b->nrcpt; i++)
        n += bg_render_status_edits(in, &b->rcpts[i], &in->verdicts[i], c->eol, &e[n]);
    qsort(e, n, sizeof *e, bg_render_edit_cmp);
    size_t pos = b->body.off, end = b->body.off + b->body.len;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].off < pos || e[i].off + e[i].len > end) {
            rc = -1; /* overlapping or outside the body: the structure is not what we think */
            break;
        }
        bg_buf_add(body, in->msg + pos, e[i].off - pos);
        bg_buf_add(body, e[i].data, e[i].dlen);
        pos = e[i].off + e[i].len;
    }
    if (rc == 0)
        bg_buf_add(body, in->msg + pos, end - pos);
    free(e);
    return rc;
}

/* A header value that may be copied into a part header: printable ASCII,
 * bounded. */
static int bg_render_header_safe(const bg_buf *v)
{
    if (v->len == 0 || v->len > BG_RENDER_HDR_MAX)
        return 0;
    for (size_t i = 0; i < v->len; i++)
        if ((unsigned char)v->p[i] < 0x20 || (unsigned char)v->p[i] > 0x7E)
            return 0;
    return 1;
}

/* Wrap a body that is not an RFC 3464 report: multipart/mixed with the
 * guidance first and the original body, unchanged, second. */
static int bg_render_wrap_body(const bg_render_ctx *c, const bg_buf *alt, const char *mix,
                               bg_buf *body, bg_render_output *out)
{
    const bg_render_input *in = c->in;
    const bg_bounce *b = in->bounce;
    const char *eol = c->eol;
    bg_buf ct, cte, v;
    bg_buf_init(&ct);
    bg_buf_init(&cte);
    bg_buf_init(&v);
    int rc = -1;
    if (bg_render_header(in->msg, b->headers, "Content-Type", &ct)) {
        bg_utf8_clean(&v, bg_buf_str(&ct), 0);
        if (!bg_render_header_safe(&v))
            goto done;
        bg_buf_reset(&ct);
        bg_buf_add(&ct, v.p, v.len);
    } else {
        bg_buf_adds(&ct, "text/plain; charset=us-ascii");
    }
    bg_buf_reset(&v);
    if (bg_render_header(in->msg, b->headers, "Content-Transfer-Encoding", &cte)) {
        bg_utf8_clean(&v, bg_buf_str(&cte), 0);
        if (!bg_render_header_safe(&v))
            goto done;
        bg_buf_reset(&cte);
        bg_buf_add(&cte, v.p, v.len);
    }
    bg_buf_printf(body, "This is a multi-part message in MIME format.%s%s--%s%s", eol, eol, mix,
                  eol);
    bg_buf_add(body, alt->p, alt->len);
    bg_buf_printf(body, "%s--%s%sContent-Type: %s%s", eol, mix, eol, bg_buf_str(&ct), eol);
    if (cte.len)
        bg_buf_printf(body, "Content-Transfer-Encoding: %s%s", bg_buf_str(&cte), eol);
    bg_buf_printf(body, "Content-Description: the report as the mail server sent it%s%s", eol,
                  eol);
    bg_buf_add(body, in->msg + b->body.off, b->body.len);
    bg_buf_printf(body, "%s--%s--%s", eol, mix, eol);
    bg_buf_reset(&v);
    bg_buf_printf(&v, "multipart/mixed; boundary=\"%s\"", mix);
    if (bg_render_add_edit(out, "MIME-Version", 1, "1.0") < 0 ||
        bg_render_add_edit(out, "Content-Transfer-Encoding", 1, NULL) < 0 ||
        bg_render_add_edit(out, "Content-Type", 1, bg_buf_str(&v)) < 0)
        goto done;
    rc = 0;
done:
    bg_buf_free(&ct);
    bg_buf_free(&cte);
    bg_buf_free(&v);
    return rc;
}

/* Free the facts gathered for one rendering. */
static void bg_render_ctx_free(bg_render_ctx *c)
{
    for (size_t i = 0; i < c->nrc; i++)
        bg_render_rc_free(&c->rc[i]);
    free(c->rc);
    bg_buf_free(&c->organisation);
    bg_buf_free(&c->helpdesk);
    bg_buf_free(&c->sender_domain);
    bg_buf_free(&c->subject);
    bg_buf_free(&c->date);
    bg_buf_free(&c->to);
    bg_buf_free(&c->cc);
    bg_buf_free(&c->dkim_d);
    bg_buf_free(&c->dkim_s);
    bg_buf_free(&c->reason);
}

/* The sender's domain: given by the caller, else from the returned message. */
static void bg_render_sender_domain(const bg_render_input *in, bg_buf *out)
{
    const char *d = in->sender_domain;
    if (!d || !*d)
        d = bg_render_domain_of(in->bounce->orig.return_path);
    if (!*d) {
        const char *from = in->bounce->orig.from;
        const char *at = strrchr(from, '@');
        if (at) {
            char tmp[BG_FIELD_MAX];
            size_t n = strcspn(at + 1, "> \t\"),;");
            snprintf(tmp, sizeof tmp, "%.*s", (int)(n < sizeof tmp - 1 ? n : sizeof tmp - 1),
                     at + 1);
            bg_utf8_clean(out, tmp, BG_FIELD_MAX);
            return;
        }
    }
    bg_utf8_clean(out, d, BG_FIELD_MAX);
}

/* The parts of a report lie inside the body and do not overlap. */
static int bg_render_parts_ok(const bg_bounce *b, size_t len)
{
    const bg_span *sp[] = {&b->part_human, &b->part_status, &b->part_original};
    size_t body_end = b->body.off + b->body.len;
    for (size_t i = 0; i < 3; i++) {
        if (!sp[i]->len)
            continue;
        if (!bg_span_ok(*sp[i], len) || sp[i]->off < b->body.off ||
            sp[i]->off + sp[i]->len > body_end)
            return 0;
        for (size_t j = 0; j < i; j++)
            if (sp[j]->len && sp[i]->off < sp[j]->off + sp[j]->len &&
                sp[j]->off < sp[i]->off + sp[i]->len)
                return 0;
    }
    return 1;
}

/* Leave out empty and say why: the caller passes the message unchanged. */
static bg_render_status bg_render_fail(bg_render_output *out, bg_render_status st, char *err,
                                       size_t errlen, const char *why)
{
    bg_render_output_free(out);
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    return st;
}

/* Render: gather and clean the facts, build the guidance, then either
 * edit the report in place (RFC 3464) or wrap the body (anything else). */
bg_render_status bg_render(const bg_render_input *in, bg_render_output *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof *out);
    bg_buf_init(&out->body);
    if (err && errlen)
        err[0] = '\0';
    if (!in || !in->msg || !in->bounce || !in->catalog || (in->bounce->nrcpt && !in->verdicts))
        return bg_render_fail(out, BG_RENDER_ERROR, err, errlen, "render: incomplete input");
    const bg_bounce *b = in->bounce;
    if (b->kind != BG_MSG_FAILURE && b->kind != BG_MSG_DELAY)
        return bg_render_fail(out, BG_RENDER_NOT_APPLICABLE, err, errlen,
                              "not a failure or delay report");
    /* CR-only line ends (never from Exim, which stores LF): our parts and
     * headers would be LF-terminated among CR lines and bg_render_apply
     * would see the header block as one field; leave it alone */
    if (!memchr(in->msg, '\n', in->len))
        return bg_render_fail(out, BG_RENDER_NOT_APPLICABLE, err, errlen,
                              "CR-only line ends: not rewritten");
    if (!bg_span_ok(b->headers, in->len) || !bg_span_ok(b->body, in->len) || b->headers.len == 0)
        return bg_render_fail(out, BG_RENDER_ERROR, err, errlen, "render: no header block");
    {
        bg_buf x;
        bg_buf_init(&x);
        int already = bg_render_header(in->msg, b->headers, "X-Bounce-Category", &x);
        bg_buf_free(&x);
        if (already)
            return bg_render_fail(out, BG_RENDER_NOT_APPLICABLE, err, errlen,
                                  "already enriched (X-Bounce-Category present)");
    }

    bg_render_ctx c;
    memset(&c, 0, sizeof c);
    c.in = in;
    c.eol = b->crlf ? "\r\n" : "\n";
    c.rc = calloc(b->nrcpt < BG_RENDER_MAX_RCPTS ? (b->nrcpt ? b->nrcpt : 1) : BG_RENDER_MAX_RCPTS,
                  sizeof *c.rc);
    if (!c.rc)
        return bg_render_fail(out, BG_RENDER_ERROR, err, errlen, "render: out of memory");
    c.all_delay = 1;
    for (size_t i = 0; i < b->nrcpt; i++) {
        int delay = 0;
        if (!bg_render_wanted(b, &b->rcpts[i], &in->verdicts[i], &delay))
            continue;
        c.nshown++;
        if (c.nrc >= BG_RENDER_MAX_RCPTS)
            continue;
        bg_render_rc *r = &c.rc[c.nrc++];
        r->index = i;
        r->delay = delay;
        c.all_delay &= delay;
        bg_render_fill_rc(r, &b->rcpts[i], &in->verdicts[i]);
        bg_render_fill_timing(&c, r, &in->verdicts[i]);
        /* the same cause as an earlier recipient: a short card pointing there */
        r->same_as = -1;
        for (size_t j = 0; j + 1 < c.nrc && r->same_as < 0; j++)
            if (c.rc[j].same_as < 0 && c.rc[j].delay == delay &&
                strcmp(c.rc[j].section, r->section) == 0)
                r->same_as = (long)j;
    }
    if (c.nrc == 0) {
        bg_render_ctx_free(&c);
        return bg_render_fail(out, BG_RENDER_NOT_APPLICABLE, err, errlen,
                              "no failed or delayed recipient to explain");
    }
    snprintf(c.count, sizeof c.count, "%zu", c.nshown);

    const char *sd_for_config;
    bg_render_sender_domain(in, &c.sender_domain);
    sd_for_config = bg_buf_str(&c.sender_domain);
    if (in->config) {
        bg_utf8_clean(&c.organisation,
                      bg_config_get(in->config, sd_for_config, "organisation", ""), 200);
        bg_utf8_clean(&c.helpdesk, bg_config_get(in->config, sd_for_config, "helpdesk", ""), 200);
    }
    /* a delay without Will-Retry-Until: until when we keep trying, from
     * the arrival and retry_give_up (bounceguide.conf, default 4d) */
    long long give_up = bg_config_get_num(in->config, sd_for_config, "retry_give_up", 4 * 86400);
    for (size_t i = 0; i < c.nrc; i++) {
        bg_render_rc *r = &c.rc[i];
        long long until = r->delay && !r->retry_until.len
                              ? bg_classify_retry_until(&in->verdicts[r->index], give_up) : 0;
        time_t t = (time_t)until;
        struct tm tm;
        char when[40];
        if (until > 0 && gmtime_r(&t, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm))
            bg_buf_adds(&r->retry_until, when);
    }
    const bg_original *o = &b->orig;
    bg_utf8_clean(&c.subject, o->subject, BG_RENDER_SUBJ_MAX);
    bg_utf8_clean(&c.date, o->date, BG_FIELD_MAX);
    bg_utf8_clean(&c.to, o->to, BG_HDR_MAX);
    bg_utf8_clean(&c.cc, o->cc, BG_HDR_MAX);
    bg_utf8_clean(&c.dkim_d, o->dkim_domain, BG_FIELD_MAX);
    bg_utf8_clean(&c.dkim_s, o->dkim_selector, BG_FIELD_MAX);
    {
        bg_buf s;
        bg_buf_init(&s);
        bg_utf8_clean(&c.reason, bg_render_text(&c, &c.rc[0], "subject", NULL, &s), 200);
        bg_buf_free(&s);
    }

    int dsn = b->boundary[0] && b->part_human.len && b->part_status.len;
    if (dsn && !bg_render_parts_ok(b, in->len)) {
        bg_render_ctx_free(&c);
        return bg_render_fail(out, BG_RENDER_ERROR, err, errlen,
                              "render: report structure inconsistent (parts overlap)");
    }
    char alt_b[64], mix_b[64];
    out->edits = calloc(BG_RENDER_MAX_EDITS, sizeof *out->edits);
    bg_buf alt;
    bg_buf_init(&alt);
    bg_render_status st = BG_RENDER_ERROR;
    const char *why = "render: out of memory";
    if (!out->edits)
        goto done;
    if (bg_render_boundary(alt_b, sizeof alt_b, in->msg, in->len, b->boundary, "alt") < 0 ||
        bg_render_boundary(mix_b, sizeof mix_b, in->msg, in->len, b->boundary, "mix") < 0) {
        why = "render: no free MIME boundary";
        goto done;
    }
    bg_render_alternative(&c, alt_b, &alt);
    if (bg_buf_failed(&alt) || alt.len == 0)
        goto done;
    if (bg_render_headers(&c, out) < 0)
        goto done;
    if (dsn) {
        if (bg_render_dsn_body(&c, &alt, &out->body) < 0) {
            why = "render: report structure inconsistent (spans overlap)";
            goto done;
        }
    } else if (bg_render_wrap_body(&c, &alt, mix_b, &out->body, out) < 0) {
        why = "render: top-level Content-Type cannot be kept safely";
        goto done;
    }
    if (bg_buf_failed(&out->body))
        goto done;
    st = BG_RENDER_OK;
done:
    bg_buf_free(&alt);
    bg_render_ctx_free(&c);
    if (st != BG_RENDER_OK)
        return bg_render_fail(out, st, err, errlen, why);
    return BG_RENDER_OK;
}

/* Free an output; safe on an empty or already freed one. */
void bg_render_output_free(bg_render_output *out)
{
    if (!out)
        return;
    bg_buf_free(&out->body);
    for (size_t i = 0; out->edits && i < out->nedits; i++)
        free(out->edits[i].value);
    free(out->edits);
    out->edits = NULL;
    out->nedits = 0;
}

/* 1 when the header field starting at p (name up to ':') is removed. */
static int bg_render_removed(const bg_render_output *out, const char *p, size_t n)
{
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return 0;
    size_t nl = (size_t)(colon - p);
    while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
        nl--;
    for (size_t i = 0; i < out->nedits; i++)
        if (out->edits[i].remove && strlen(out->edits[i].name) == nl &&
            strncasecmp(out->edits[i].name, p, nl) == 0)
            return 1;
    return 0;
}

/* "Name: value" folded at blanks before column 78 (encoded words are
 * separated by blanks, so each stays whole on its line). */
static void bg_render_fold(bg_buf *dst, const char *name, const char *value, const char *eol)
{
    size_t col = strlen(name) + 1;
    bg_buf_adds(dst, name);
    bg_buf_addc(dst, ':');
    const char *s = value;
    while (*s) {
        size_t blanks = strspn(s, " ");
        const char *w = s + blanks;
        size_t n = strcspn(w, " ");
        if (!n)
            break;
        if (col > strlen(name) + 1 && col + 1 + n > 78) {
            bg_buf_adds(dst, eol);
            col = 0;
        }
        bg_buf_addc(dst, ' ');
        bg_buf_add(dst, w, n);
        col += 1 + n;
        s = w + n;
    }
    bg_buf_adds(dst, eol);
}

/* The whole new message: headers minus removed ones, added ones, body. */
int bg_render_apply(const char *msg, size_t len, const bg_bounce *b,
                    const bg_render_output *out, bg_buf *dst)
{
    if (!msg || !b || !out || !dst || !bg_span_ok(b->headers, len) || b->headers.len == 0)
        return -1;
    const char *eol = b->crlf ? "\r\n" : "\n";
    const char *p = msg + b->headers.off, *end = p + b->headers.len;
    while (p < end) {
        /* one field: its line and continuation lines */
        const char *q = p;
        for (;;) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            q = nl ? nl + 1 : end;
            if (q >= end || (*q != ' ' && *q != '\t'))
                break;
        }
        if (!bg_render_removed(out, p, (size_t)(q - p))) {
            bg_buf_add(dst, p, (size_t)(q - p));
            if (q == end && q[-1] != '\n')
                bg_buf_adds(dst, eol);
        }
        p = q;
    }
    for (size_t i = 0; i < out->nedits; i++)
        if (out->edits[i].value)
            bg_render_fold(dst, out->edits[i].name, out->edits[i].value, eol);
    bg_buf_adds(dst, eol);
    bg_buf_add(dst, out->body.p ? out->body.p : "", out->body.len);
    return bg_buf_failed(dst) ? -1 : 0;
}
