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
 * rendered (BG_RENDER_NOT_APPLICABLE).
 *
 * This file gathers the facts (every remote string cleaned and bounded)
 * and looks the texts up: every word shown comes from a catalogue, the
 * sender's for the sender part and the administrator's for the technical
 * section. The parts are written by bg_render_plain.c and bg_render_html.c,
 * assembled by bg_render_mime.c; header edits are in bg_render_apply.c.
 * This module does not read the bounce (bg_bounce) or classify (bg_classify).
 */
#include "bg_render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "bg_catalog_fmt.h"
#include "bg_render_int.h"
#include "bg_rfc2047.h"
#include "bg_status.h"
#include "bg_time.h"

/* ---------------------------------------------------------------------
 * Small text helpers
 */

/* Copy a multi-line text, keeping LF and TAB, dropping CR, replacing other
 * control characters by a blank and broken UTF-8 by '?'. */
void bg_render_clean_block(bg_buf *out, const char *s)
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

/* The domain of an address ("" when none). */
static const char *bg_render_domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

/* v wrapped in the no-break markers (for the HTML part); "" stays "". */
static void bg_render_mark(bg_buf *out, const bg_buf *v, const char *on, const char *off)
{
    if (!v->len)
        return;
    bg_buf_adds(out, on);
    bg_buf_add(out, v->p, v->len);
    bg_buf_adds(out, off);
}

/* ---------------------------------------------------------------------
 * Texts
 */

/* The placeholder table for one recipient (r may be NULL for [common]
 * texts that do not name a recipient). In BG_RT_HTML mode addresses and
 * domains carry the no-break markers and the help desk the link markers;
 * {rule} is filled only for the administrator's texts. */
static void bg_render_vars(const bg_render_ctx *c, const bg_render_rc *r, int mode,
                           bg_catalog_var *v)
{
    size_t i = 0;
    int html = mode & BG_RT_HTML;
    int rd = mode & BG_RT_ADMIN ? BG_RD_ADMIN : BG_RD_SENDER;
    const bg_render_rc *first = r && r->same_as >= 0 ? &c->rc[r->same_as] : NULL;
#define BG_VAR(n, val) (v[i].name = (n), v[i].value = (val), i++)
#define BG_PICK(plain, marked) (html ? bg_buf_str(&(marked)) : bg_buf_str(&(plain)))
    BG_VAR("organisation", bg_buf_str(&c->organisation));
    BG_VAR("helpdesk", BG_PICK(c->helpdesk, c->helpdesk_m));
    BG_VAR("sender_domain", BG_PICK(c->sender_domain, c->sender_domain_m));
    BG_VAR("subject", bg_buf_str(&c->subject));
    BG_VAR("count", c->count);
    BG_VAR("more", c->more);
    BG_VAR("dkim_domain", bg_buf_str(&c->dkim_d));
    BG_VAR("dkim_selector", bg_buf_str(&c->dkim_s));
    BG_VAR("reason", bg_buf_str(&c->reason));
    BG_VAR("first_recipient", first ? BG_PICK(first->recipient, first->recipient_m) : "");
    if (r) {
        BG_VAR("recipient", BG_PICK(r->recipient, r->recipient_m));
        BG_VAR("domain", BG_PICK(r->domain, r->domain_m));
        BG_VAR("code", bg_buf_str(&r->code));
        BG_VAR("reply_code", bg_buf_str(&r->reply_code));
        BG_VAR("remote_mta", bg_buf_str(&r->remote_mta));
        BG_VAR("retry_until", bg_buf_str(&r->retry_until[rd]));
        BG_VAR("category", r->section);
        BG_VAR("rule", mode & BG_RT_ADMIN ? bg_buf_str(&r->rule) : "");
        BG_VAR("tried_since", bg_buf_str(&r->tried_since[rd]));
        BG_VAR("tried_for", bg_buf_str(&r->tried_for[rd]));
        /* the caller's own facts for this recipient (bg_render_extra.vars),
         * dates among them in this reader's words */
        const bg_render_extra *x = c->in->extra ? &c->in->extra[r->index] : NULL;
        size_t k = 0;
        for (const bg_catalog_var *e = x ? x->vars : NULL;
             e && e->name && i + 1 < BG_RENDER_MAX_VARS; e++, k++)
            BG_VAR(e->name, k < BG_RENDER_XVALS && r->xval[rd][k].len
                                ? bg_buf_str(&r->xval[rd][k]) : e->value);
    }
    BG_VAR(NULL, NULL);
#undef BG_PICK
#undef BG_VAR
}

/* The catalogue a mode reads. */
static const bg_catalog *bg_render_cat(const bg_render_ctx *c, int mode)
{
    return mode & BG_RT_ADMIN ? c->acat : c->cat;
}

/* One text of the catalogue for a recipient into a scratch buffer; "" when
 * no line expands. For a delayed recipient delay_key is tried first (the
 * category's, then [common]'s), then key. */
const char *bg_render_text(const bg_render_ctx *c, const bg_render_rc *r, const char *key,
                           const char *delay_key, int mode, bg_buf *scratch)
{
    bg_catalog_var vars[BG_RENDER_MAX_VARS];
    bg_render_vars(c, r, mode, vars);
    const bg_catalog *cat = bg_render_cat(c, mode);
    bg_buf_reset(scratch);
    const char *section = r ? r->section : "common";
    if (r && r->delay && delay_key && bg_catalog_text(cat, section, delay_key, vars, scratch))
        return bg_buf_str(scratch);
    bg_buf_reset(scratch);
    bg_catalog_text(cat, section, key, vars, scratch);
    return bg_buf_str(scratch);
}

/* Free an expanded list. */
void bg_render_list_free(bg_render_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->item[i]);
    l->n = 0;
}

/* Add an item (copied); silently bounded to 32 items. */
void bg_render_list_add(bg_render_list *l, const char *s)
{
    if (l->n < sizeof l->item / sizeof l->item[0] && s && *s) {
        char *d = strdup(s);
        if (d)
            l->item[l->n++] = d;
    }
}

/* Every expanding line of a list key (do, delay_do, admin). */
void bg_render_list_get(const bg_render_ctx *c, const bg_render_rc *r, const char *key, int mode,
                        bg_render_list *l)
{
    bg_catalog_var vars[BG_RENDER_MAX_VARS];
    bg_render_vars(c, r, mode, vars);
    const char *const *lines;
    size_t n = bg_catalog_lines(bg_render_cat(c, mode), r->section, key, &lines);
    bg_buf tmp;
    bg_buf_init(&tmp);
    for (size_t i = 0; i < n; i++) {
        bg_buf_reset(&tmp);
        if (bg_catalog_expand(lines[i], vars, &tmp))
            bg_render_list_add(l, bg_buf_str(&tmp));
    }
    bg_buf_free(&tmp);
}

/* The extra facts (auth diagnosis) of a recipient, or NULL. */
const bg_render_extra *bg_render_extra_of(const bg_render_ctx *c, const bg_render_rc *r)
{
    return c->in->extra ? &c->in->extra[r->index] : NULL;
}

/* The next line of an administrator text (bg_render_extra.admin_text,
 * cleaned) from *p: its level and its words without the bullet, into
 * text. "- x" is a finding (level 0), "  - x" (indented) advice about the
 * finding above it (level 1; 0 when there is none), any other line a
 * paragraph (BG_FIND_PARA). Blank lines are skipped; 0 at the end. */
int bg_render_next_finding(const char **p, int *level, bg_buf *text, int *seen_item)
{
    for (;;) {
        const char *s = *p;
        if (!*s)
            return 0;
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        *p = s + n + (e ? 1 : 0);
        size_t ind = 0;
        while (ind < n && (s[ind] == ' ' || s[ind] == '\t'))
            ind++;
        if (ind == n)
            continue; /* blank */
        bg_buf_reset(text);
        if (s[ind] == '-' && (ind + 1 == n || s[ind + 1] == ' ')) {
            *level = ind >= 2 && *seen_item ? 1 : 0;
            *seen_item = 1;
            size_t from = ind + 1;
            while (from < n && s[from] == ' ')
                from++;
            if (from == n)
                continue; /* a bullet with nothing after it */
            bg_buf_add(text, s + from, n - from);
        } else {
            *level = BG_FIND_PARA;
            bg_buf_add(text, s + ind, n - ind);
        }
        return 1;
    }
}

/* Steps for the sender: delay_do (category, else common) while we still
 * try; do otherwise. The extra sender_text (auth diagnosis) comes first. */
void bg_render_steps(const bg_render_ctx *c, const bg_render_rc *r, int mode, bg_render_list *l)
{
    const bg_render_extra *x = bg_render_extra_of(c, r);
    if (x && x->sender_text && *x->sender_text) {
        bg_buf t;
        bg_buf_init(&t);
        bg_utf8_clean(&t, x->sender_text, 1024);
        bg_render_list_add(l, bg_buf_str(&t));
        bg_buf_free(&t);
    }
    size_t before = l->n;
    if (r->delay)
        bg_render_list_get(c, r, "delay_do", mode, l);
    if (l->n == before)
        bg_render_list_get(c, r, "do", mode, l);
}

/* The "who acts" key for a recipient. */
const char *bg_render_acts_key(const bg_render_ctx *c, const bg_render_rc *r)
{
    const char *const *lines;
    const char *acts = NULL;
    if (bg_catalog_has(c->cat, r->section, "acts") &&
        bg_catalog_lines(c->cat, r->section, "acts", &lines) > 0)
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

/* The overview line for several recipients ("" for one). */
const char *bg_render_summary(const bg_render_ctx *c, int mode, bg_buf *s)
{
    bg_buf_reset(s);
    if (c->nrc < 2)
        return "";
    return bg_render_text(c, NULL, c->all_delay ? "summary_delay" : "summary", NULL, mode, s);
}

/* ---------------------------------------------------------------------
 * Gathering the facts
 */

/* Free one recipient's cleaned strings. */
static void bg_render_rc_free(bg_render_rc *r)
{
    bg_buf *all[] = {&r->recipient, &r->domain,      &r->code, &r->reply_code,
                     &r->remote_mta, &r->rule, &r->diag,
                     &r->recipient_m, &r->domain_m, &r->tried};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        bg_buf_free(all[i]);
    for (int rd = 0; rd < BG_RD_COUNT; rd++) {
        bg_buf_free(&r->retry_until[rd]);
        bg_buf_free(&r->tried_since[rd]);
        bg_buf_free(&r->tried_for[rd]);
        for (size_t k = 0; k < BG_RENDER_XVALS; k++)
            bg_buf_free(&r->xval[rd][k]);
    }
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

/* The catalogue of a reader. */
static const bg_catalog *bg_render_reader_cat(const bg_render_ctx *c, int rd)
{
    return rd == BG_RD_ADMIN ? c->acat : c->cat;
}

/* A date for each reader: the sender's words, ISO 8601 for the
 * administrator. */
static void bg_render_date(const bg_render_ctx *c, long long t, bg_buf out[BG_RD_COUNT])
{
    for (int rd = 0; rd < BG_RD_COUNT; rd++) {
        bg_buf_reset(&out[rd]);
        if (rd == BG_RD_SENDER && bg_catalog_fmt_date(c->cat, t, 1, &out[rd]))
            continue;
        bg_catalog_fmt_iso(t, 1, &out[rd]);
    }
}

/* How long we tried and since when (the verdict's timing facts), for
 * each reader in its own catalogue's words: {tried_for} from the
 * duration_* keys, {tried_since} a UTC date. Both stay "" when unknown
 * (or when the reader's catalogue has no words for the duration). */
static void bg_render_fill_timing(const bg_render_ctx *c, bg_render_rc *r, const bg_verdict *v)
{
    r->gave_up = v->gave_up;
    if (v->tried_for <= 0)
        return;
    bg_render_date(c, v->tried_since, r->tried_since);
    for (int rd = 0; rd < BG_RD_COUNT; rd++)
        if (!r->tried_since[rd].len ||
            !bg_catalog_fmt_duration(bg_render_reader_cat(c, rd), v->tried_for, &r->tried_for[rd]))
            bg_buf_reset(&r->tried_since[rd]);
    if (r->tried_for[BG_RD_ADMIN].len)
        bg_buf_printf(&r->tried, "%s (%s)", bg_buf_str(&r->tried_since[BG_RD_ADMIN]),
                      bg_buf_str(&r->tried_for[BG_RD_ADMIN]));
}

/* Placeholders of the caller's facts that hold a date (bg_exim_store.c
 * gives them as YYYY-MM-DD): shown like the renderer's own dates. */
static const char *const bg_render_date_vars[] = {"suppressed_since", "suppressed_until", NULL};

/* The caller's date facts of one recipient in each reader's form. */
static void bg_render_fill_xdates(const bg_render_ctx *c, bg_render_rc *r)
{
    const bg_render_extra *x = c->in->extra ? &c->in->extra[r->index] : NULL;
    size_t k = 0;
    for (const bg_catalog_var *e = x ? x->vars : NULL; e && e->name && k < BG_RENDER_XVALS;
         e++, k++) {
        int date = 0;
        for (size_t d = 0; bg_render_date_vars[d] && !date; d++)
            date = strcmp(e->name, bg_render_date_vars[d]) == 0;
        if (!date || !e->value)
            continue;
        bg_buf v;
        bg_buf_init(&v);
        bg_utf8_clean(&v, e->value, BG_FIELD_MAX);
        bg_catalog_fmt_date_text(c->cat, bg_buf_str(&v), &r->xval[BG_RD_SENDER][k]);
        bg_catalog_fmt_date_text(NULL, bg_buf_str(&v), &r->xval[BG_RD_ADMIN][k]);
        bg_buf_free(&v);
    }
}

/* The timing line under "what happened" ("" when there is none). */
const char *bg_render_timing(const bg_render_ctx *c, const bg_render_rc *r, int mode, bg_buf *s)
{
    bg_buf_reset(s);
    int rd = mode & BG_RT_ADMIN ? BG_RD_ADMIN : BG_RD_SENDER;
    if (!r->tried_for[rd].len || (!r->gave_up && !r->delay))
        return "";
    return bg_render_text(c, r, r->delay ? "timing_delay" : "timing_gave_up", NULL, mode, s);
}

/* Clean and bound everything the texts show about one recipient. */
static void bg_render_fill_rc(const bg_render_ctx *c, bg_render_rc *r, const bg_rcpt *rc,
                              const bg_verdict *v)
{
    const char *addr = rc->recipient[0] ? rc->recipient : rc->original_recipient;
    if (addr[0]) {
        bg_utf8_clean(&r->recipient, addr, BG_ADDR_MAX);
    } else {
        bg_buf none;
        bg_buf_init(&none);
        bg_catalog_text(c->cat, "common", "no_address", NULL, &none);
        bg_utf8_clean(&r->recipient, none.len ? bg_buf_str(&none) : "?", BG_ADDR_MAX);
        bg_buf_free(&none);
    }
    bg_utf8_clean(&r->domain, bg_render_domain_of(bg_buf_str(&r->recipient)), BG_ADDR_MAX);
    const char *code = v->status[0] ? v->status : rc->status;
    bg_utf8_clean(&r->code, code, BG_STATUS_MAX);
    if (v->reply_code > 0)
        bg_buf_printf(&r->reply_code, "%d", v->reply_code);
    bg_utf8_clean(&r->remote_mta, rc->remote_mta, BG_FIELD_MAX);
    /* Will-Retry-Until as a date in each reader's form; as given when it
     * does not parse */
    long long until;
    if (rc->will_retry_until[0] && bg_time_parse(rc->will_retry_until, &until) == 0) {
        bg_render_date(c, until, r->retry_until);
    } else {
        bg_utf8_clean(&r->retry_until[BG_RD_SENDER], rc->will_retry_until, BG_FIELD_MAX);
        bg_utf8_clean(&r->retry_until[BG_RD_ADMIN], rc->will_retry_until, BG_FIELD_MAX);
    }
    bg_utf8_clean(&r->rule, v->rule, BG_RULE_NAME_MAX);
    bg_utf8_clean(&r->diag, rc->diagnostic, BG_DIAG_MAX);
    r->section = v->category && v->category->id ? v->category->id : "unknown";
    bg_render_mark(&r->recipient_m, &r->recipient, BG_MARK_NOBR, BG_MARK_NOBR_END);
    bg_render_mark(&r->domain_m, &r->domain, BG_MARK_NOBR, BG_MARK_NOBR_END);
    bg_render_fill_timing(c, r, v);
    bg_render_fill_xdates(c, r);
}

/* Free the facts gathered for one rendering. */
static void bg_render_ctx_free(bg_render_ctx *c)
{
    for (size_t i = 0; i < c->nrc; i++)
        bg_render_rc_free(&c->rc[i]);
    free(c->rc);
    bg_buf *all[] = {&c->organisation, &c->helpdesk,   &c->sender_domain, &c->subject,
                     &c->date,         &c->to,         &c->cc,            &c->dkim_d,
                     &c->dkim_s,       &c->helpdesk_m, &c->sender_domain_m, &c->lang,
                     &c->alang,        &c->reason};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        bg_buf_free(all[i]);
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
        if (!bg_render_span_ok(*sp[i], len) || sp[i]->off < b->body.off ||
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

/* The recipients to explain, with their facts; 0 when there is none. */
static int bg_render_gather(bg_render_ctx *c)
{
    const bg_render_input *in = c->in;
    const bg_bounce *b = in->bounce;
    c->all_delay = 1;
    for (size_t i = 0; i < b->nrcpt; i++) {
        int delay = 0;
        if (!bg_render_wanted(b, &b->rcpts[i], &in->verdicts[i], &delay))
            continue;
        c->nshown++;
        if (c->nrc >= BG_RENDER_MAX_RCPTS)
            continue;
        bg_render_rc *r = &c->rc[c->nrc++];
        r->index = i;
        r->delay = delay;
        c->all_delay &= delay;
        bg_render_fill_rc(c, r, &b->rcpts[i], &in->verdicts[i]);
        /* the same cause as an earlier recipient: a short card pointing there */
        r->same_as = -1;
        for (size_t j = 0; j + 1 < c->nrc && r->same_as < 0; j++)
            if (c->rc[j].same_as < 0 && c->rc[j].delay == delay &&
                strcmp(c->rc[j].section, r->section) == 0)
                r->same_as = (long)j;
    }
    if (c->nrc == 0)
        return 0;
    snprintf(c->count, sizeof c->count, "%zu", c->nshown);
    if (c->nshown > c->nrc)
        snprintf(c->more, sizeof c->more, "%zu", c->nshown - c->nrc);

    bg_render_sender_domain(in, &c->sender_domain);
    const char *sd = bg_buf_str(&c->sender_domain);
    if (in->config) {
        bg_utf8_clean(&c->organisation, bg_config_get(in->config, sd, "organisation", ""), 200);
        bg_utf8_clean(&c->helpdesk, bg_config_get(in->config, sd, "helpdesk", ""), 200);
    }
    bg_render_mark(&c->helpdesk_m, &c->helpdesk, BG_MARK_LINK, BG_MARK_LINK_END);
    bg_render_mark(&c->sender_domain_m, &c->sender_domain, BG_MARK_NOBR, BG_MARK_NOBR_END);
    /* a delay without Will-Retry-Until: until when we keep trying, from
     * the arrival and retry_give_up (bounceguide.conf, default 4d) */
    long long give_up = bg_config_get_num(in->config, sd, "retry_give_up", 4 * 86400);
    for (size_t i = 0; i < c->nrc; i++) {
        bg_render_rc *r = &c->rc[i];
        long long until = r->delay && !r->retry_until[BG_RD_SENDER].len
                              ? bg_classify_retry_until(&in->verdicts[r->index], give_up) : 0;
        if (until > 0)
            bg_render_date(c, until, r->retry_until);
    }
    const bg_original *o = &b->orig;
    bg_utf8_clean(&c->subject, o->subject, BG_RENDER_SUBJ_MAX);
    /* the Date: of the message that was sent, in the sender's words */
    bg_buf d;
    bg_buf_init(&d);
    bg_utf8_clean(&d, o->date, BG_FIELD_MAX);
    if (!bg_catalog_fmt_date_text(c->cat, bg_buf_str(&d), &c->date))
        bg_buf_add(&c->date, d.p, d.len);
    bg_buf_free(&d);
    bg_utf8_clean(&c->to, o->to, BG_HDR_MAX);
    bg_utf8_clean(&c->cc, o->cc, BG_HDR_MAX);
    bg_utf8_clean(&c->dkim_d, o->dkim_domain, BG_FIELD_MAX);
    bg_utf8_clean(&c->dkim_s, o->dkim_selector, BG_FIELD_MAX);
    bg_buf s;
    bg_buf_init(&s);
    bg_utf8_clean(&c->reason, bg_render_text(c, &c->rc[0], "subject", NULL, BG_RT_PLAIN, &s), 200);
    bg_buf_reset(&s);
    bg_catalog_text(c->cat, "common", "html_lang", NULL, &s);
    bg_utf8_clean(&c->lang, bg_buf_str(&s), 35);
    bg_buf_reset(&s);
    bg_catalog_text(c->acat, "common", "html_lang", NULL, &s);
    bg_utf8_clean(&c->alang, bg_buf_str(&s), 35);
    bg_buf_free(&s);
    return 1;
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
    if (!bg_render_span_ok(b->headers, in->len) || !bg_render_span_ok(b->body, in->len) ||
        b->headers.len == 0)
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
    c.cat = in->catalog;
    c.acat = in->admin_catalog ? in->admin_catalog : in->catalog;
    c.eol = b->crlf ? "\r\n" : "\n";
    c.rc = calloc(b->nrcpt < BG_RENDER_MAX_RCPTS ? (b->nrcpt ? b->nrcpt : 1) : BG_RENDER_MAX_RCPTS,
                  sizeof *c.rc);
    if (!c.rc)
        return bg_render_fail(out, BG_RENDER_ERROR, err, errlen, "render: out of memory");
    if (!bg_render_gather(&c)) {
        bg_render_ctx_free(&c);
        return bg_render_fail(out, BG_RENDER_NOT_APPLICABLE, err, errlen,
                              "no failed or delayed recipient to explain");
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
