/* bg_bounce_read: the reader (see bg_bounce_read.h).
 *
 * Named stages over one reader state: check the input, read the top-level
 * headers, walk the MIME parts (delivery-status and feedback-report parts
 * through bg_dsn, the returned original, the human text), keep the human
 * text, then decide what the message is: a feedback report, a
 * delivery-status report, or -- with no report part naming a recipient --
 * an auto-reply, a wrapped report, or a plain-text bounce (bg_scrape).
 */
#include "bg_bounce_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_addr.h"
#include "bg_buf.h"
#include "bg_dsn.h"
#include "bg_header.h"
#include "bg_mime.h"
#include "bg_scrape.h"

#define BG_HUMAN_MAX (64u << 10)  /* human_text bound */
#define BG_SCRAPE_MAX (256u << 10) /* text handed to the scraper */
#define BG_HLOOKUP_SLOTS 16

static const char *const bg_read_texts[] = {
    [BG_READ_OK] = "ok",
    [BG_READ_EMPTY] = "empty message",
    [BG_READ_TOO_LARGE] = "message too large",
    [BG_READ_BINARY] = "not a mail message (binary data or no header block)",
    [BG_READ_NOMEM] = "out of memory",
};

/* Table lookup; unknown values get a fixed text. */
const char *bg_read_status_text(bg_read_status s)
{
    if ((unsigned)s < sizeof bg_read_texts / sizeof bg_read_texts[0] && bg_read_texts[s])
        return bg_read_texts[s];
    return "unknown error";
}

/* Header lookups for the scraper: decoded values that stay valid until
 * the lookup context is released. */
typedef struct bg_hlookup {
    const bg_hdrs *h;
    char *vals[BG_HLOOKUP_SLOTS];
    int n;
} bg_hlookup;

/* Decoded value of a top-level header; kept until the scraper returns. */
static const char *bg_hlookup_get(const void *ctx, const char *name)
{
    bg_hlookup *l = (bg_hlookup *)(uintptr_t)ctx;
    long i = bg_hdrs_find(l->h, name, 0);
    if (i < 0)
        return "";
    bg_buf o;
    bg_buf_init(&o);
    char v[8192];
    /* several X-Failed-Recipients (or similar) fields: join them */
    for (; i >= 0; i = bg_hdrs_find(l->h, name, (size_t)i + 1)) {
        size_t n = bg_hdrs_decoded(l->h, (size_t)i, v, sizeof v);
        if (o.len)
            bg_buf_adds(&o, ", ");
        bg_buf_add(&o, v, n);
        if (o.len > sizeof v)
            break;
    }
    char *s = bg_buf_take(&o);
    if (!s)
        return "";
    int slot = l->n < BG_HLOOKUP_SLOTS ? l->n++ : BG_HLOOKUP_SLOTS - 1;
    if (slot == BG_HLOOKUP_SLOTS - 1 && l->vals[slot])
        free(l->vals[slot]);
    l->vals[slot] = s;
    return s;
}

/* Release the values handed to the scraper. */
static void bg_hlookup_free(bg_hlookup *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->vals[i]);
    l->n = 0;
}

/* Subjects of auto-replies, matched anywhere, case-insensitive. */
static const char *const bg_autoreply_subjects[] = {
    "automatic reply", "auto reply", "auto-reply", "autoreply", "autorespon",
    "auto response", "out of office", "out of the office", "vacation",
    "abwesenheit", "absence du bureau", "réponse automatique", "respuesta automática",
    "risposta automatica", NULL,
};

/* 2 = certainly an auto-reply (its own headers or subject), 1 = only
 * Auto-Submitted: auto-replied (which bounces carry too), 0 = no. */
static int bg_autoreply_level(const bg_hdrs *h, const char *subject)
{
    char v[BG_FIELD_MAX];
    if (bg_hdrs_find(h, "X-Autoreply", 0) >= 0 || bg_hdrs_find(h, "X-Autorespond", 0) >= 0 ||
        bg_hdrs_find(h, "X-Autoresponder", 0) >= 0 || bg_hdrs_find(h, "X-Vacation", 0) >= 0)
        return 2;
    if (bg_hdrs_get(h, "Precedence", v, sizeof v) && !strncasecmp(v, "auto_reply", 10))
        return 2;
    if (!strncasecmp(subject, "auto:", 5))
        return 2;
    size_t sl = strlen(subject);
    for (int i = 0; bg_autoreply_subjects[i]; i++)
        if (bg_memcasemem(subject, sl, bg_autoreply_subjects[i]))
            return 2;
    if (bg_hdrs_get(h, "Auto-Submitted", v, sizeof v) && !strncasecmp(v, "auto-replied", 12))
        return 1;
    return 0;
}

/* Senders that write bounces, not auto-replies. */
static int bg_from_daemon(const char *from)
{
    size_t l = strlen(from);
    return bg_memcasemem(from, l, "mailer-daemon") || bg_memcasemem(from, l, "postmaster") ||
           bg_memcasemem(from, l, "mail delivery") || bg_memcasemem(from, l, "mailer_daemon");
}

/* The body of a part as it is, or decoded when it has a transfer encoding.
 * Sets p, off and end to the bytes to read; tmp holds decoded bytes. */
static void bg_part_bytes(const char *msg, const bg_mime_part *pt, bg_buf *tmp, const char **p,
                          size_t *off, size_t *end)
{
    if (pt->enc == BG_ENC_IDENTITY) {
        *p = msg;
        *off = pt->body_off;
        *end = pt->end;
        return;
    }
    bg_buf_reset(tmp);
    bg_mime_decode(msg + pt->body_off, pt->end - pt->body_off, pt->enc, tmp, 4u << 20);
    *p = bg_buf_str(tmp);
    *off = 0;
    *end = tmp->len;
}

/* The kind from the recipients' actions (Status class when no Action). */
static bg_msg_kind bg_kind_from_actions(bg_bounce *b)
{
    int failed = 0, delayed = 0, ok = 0;
    for (size_t i = 0; i < b->nrcpt; i++) {
        bg_rcpt *rc = &b->rcpts[i];
        if (!rc->action[0] && rc->status[0]) {
            int c = bg_status_class(rc->status);
            if (c == '5')
                strcpy(rc->action, "failed");
            else if (c == '4')
                strcpy(rc->action, "delayed");
            else if (c == '2')
                strcpy(rc->action, "delivered");
        }
        if (!strcmp(rc->action, "delayed"))
            delayed++;
        else if (!strcmp(rc->action, "delivered") || !strcmp(rc->action, "relayed") ||
                 !strcmp(rc->action, "expanded") || !strcmp(rc->action, "deliverable"))
            ok++;
        else
            failed++; /* failed, or no action at all */
    }
    if (failed)
        return BG_MSG_FAILURE;
    if (delayed)
        return BG_MSG_DELAY;
    return ok ? BG_MSG_SUCCESS : BG_MSG_FAILURE;
}

/* Diagnostics still empty after the text pass: ask the scraper and take
 * what it says about the same address. */
static void bg_fill_from_scrape(bg_bounce *b, const bg_scrape_input *in)
{
    size_t need = 0;
    for (size_t i = 0; i < b->nrcpt; i++)
        need += !b->rcpts[i].diagnostic[0];
    if (!need || !in->len)
        return;
    bg_bounce *t = calloc(1, sizeof *t);
    if (!t)
        return;
    t->rcpt_max = b->rcpt_max;
    bg_scrape(t, in);
    for (size_t i = 0; i < b->nrcpt; i++) {
        bg_rcpt *rc = &b->rcpts[i];
        if (rc->diagnostic[0])
            continue;
        for (size_t k = 0; k < t->nrcpt; k++)
            if (t->rcpts[k].diagnostic[0] && !strcasecmp(t->rcpts[k].recipient, rc->recipient)) {
                memcpy(rc->diagnostic, t->rcpts[k].diagnostic, sizeof rc->diagnostic);
                if (!rc->remote_mta[0])
                    memcpy(rc->remote_mta, t->rcpts[k].remote_mta, sizeof rc->remote_mta);
                break;
            }
    }
    bg_bounce_free(t);
}

/* Strip tags from an HTML part for the text fallback (crude but bounded). */
static void bg_html_to_text(bg_buf *out, size_t start)
{
    size_t w = start;
    int in_tag = 0;
    for (size_t r = start; r < out->len; r++) {
        char c = out->p[r];
        if (c == '<') {
            in_tag = 1;
            /* block tags end a line */
            if (r + 3 < out->len && (!strncasecmp(out->p + r + 1, "br", 2) ||
                                     !strncasecmp(out->p + r + 1, "p", 1) ||
                                     !strncasecmp(out->p + r + 1, "/p", 2) ||
                                     !strncasecmp(out->p + r + 1, "div", 3) ||
                                     !strncasecmp(out->p + r + 1, "/div", 4) ||
                                     !strncasecmp(out->p + r + 1, "tr", 2)))
                out->p[w++] = '\n';
            continue;
        }
        if (c == '>' && in_tag) {
            in_tag = 0;
            continue;
        }
        if (!in_tag)
            out->p[w++] = c;
    }
    out->len = w;
    if (out->p)
        out->p[w] = '\0';
}

/* 1 when t is one of the types in the NULL-ended list. */
static int bg_type_is(const char *t, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(t, list[i]))
            return 1;
    return 0;
}

static const char *const bg_status_types[] = {
    "message/delivery-status", "message/global-delivery-status", NULL};
static const char *const bg_original_types[] = {
    "message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers",
    "message/global-headers", "text/rfc822", NULL};

/* A bounce forwarded as an attachment (a gateway wraps the report in
 * message/rfc822): read the inner message and adopt its recipients, with
 * its spans moved to the outer offsets. */
static bg_bounce *bg_bounce_read_nested(const char *msg, size_t len, const bg_limits *limits,
                                        bg_read_status *status, int nest);

/* Returns 1 when an attached report was adopted (dsn_only: only a real
 * delivery-status report, before the scraper gets a chance). */
static int bg_adopt_inner(bg_bounce *b, const char *msg, const bg_mime *m,
                          const bg_limits *lim, int nest, int dsn_only)
{
    if (nest >= 2)
        return 0;
    for (size_t i = 1; i < m->n; i++) {
        const bg_mime_part *pt = &m->parts[i];
        if (strcmp(pt->type, "message/rfc822") || pt->enc != BG_ENC_IDENTITY)
            continue;
        bg_read_status st;
        bg_bounce *in = bg_bounce_read_nested(msg + pt->body_off, pt->end - pt->body_off, lim,
                                              &st, nest + 1);
        if (!in)
            continue;
        if (in->nrcpt && (!dsn_only || in->format == BG_FMT_DSN) &&
            (in->kind == BG_MSG_FAILURE || in->kind == BG_MSG_DELAY ||
             in->kind == BG_MSG_SUCCESS || in->kind == BG_MSG_FEEDBACK)) {
            free(b->rcpts);
            b->rcpts = in->rcpts;
            b->nrcpt = in->nrcpt;
            b->rcpt_cap = in->rcpt_cap;
            in->rcpts = NULL;
            in->nrcpt = in->rcpt_cap = 0;
            for (size_t r = 0; r < b->nrcpt; r++)
                if (b->rcpts[r].status_field.len)
                    b->rcpts[r].status_field.off += pt->body_off;
            b->kind = in->kind;
            b->format = in->format;
            memcpy(b->parser, in->parser, sizeof b->parser);
            if (!b->reporting_mta[0])
                memcpy(b->reporting_mta, in->reporting_mta, sizeof b->reporting_mta);
            if (in->part_status.len) {
                b->part_status = in->part_status;
                b->part_status.off += pt->body_off;
            }
            if (in->orig.present)
                b->orig = in->orig;
            bg_bounce_free(in);
            return 1;
        }
        bg_bounce_free(in);
    }
    return 0;
}

/* The reader's state across its stages. */
typedef struct bg_reader {
    const char *msg;
    size_t len;
    bg_limits lim;
    int nest;
    char eol;
    bg_hdrs top;
    bg_mime m;
    bg_buf text, tmp;
    bg_hlookup hl;
    bg_bounce *b;
    size_t dsn_rcpts, arf_rcpts, human_end;
    int have_text, have_status, feedback;
    long html;
    char ftype[BG_FIELD_MAX], hm_rcpt[BG_ADDR_MAX];
} bg_reader;

/* Public entry: a message at nesting level 0. */
bg_bounce *bg_bounce_read(const char *msg, size_t len, const bg_limits *limits,
                          bg_read_status *status)
{
    return bg_bounce_read_nested(msg, len, limits, status, 0);
}

/* Stage 1: the limits, and input that is no message at all. */
static bg_read_status bg_read_check(const char *msg, size_t len, const bg_limits *limits,
                                    bg_limits *lim)
{
    *lim = (bg_limits){32u << 20, 16, 1000, 1000};
    if (limits) {
        if (limits->max_size)
            lim->max_size = limits->max_size;
        if (limits->max_depth)
            lim->max_depth = limits->max_depth;
        if (limits->max_parts)
            lim->max_parts = limits->max_parts;
        if (limits->max_rcpts)
            lim->max_rcpts = limits->max_rcpts;
    }
    if (!msg || len == 0)
        return BG_READ_EMPTY;
    if (len > lim->max_size)
        return BG_READ_TOO_LARGE;
    size_t ws = 0;
    while (ws < len && (msg[ws] == ' ' || msg[ws] == '\t' || msg[ws] == '\r' ||
                        msg[ws] == '\n' || msg[ws] == '\f' || msg[ws] == '\v'))
        ws++;
    return ws == len ? BG_READ_EMPTY : BG_READ_OK;
}

/* Stage 2: the top-level header block (after blank lines and an mbox
 * "From " line, which do not belong to it) and the bounce that records it. */
static bg_read_status bg_read_headers(bg_reader *r)
{
    const char *msg = r->msg;
    size_t len = r->len, off = 0;
    r->eol = bg_eol_detect(msg, len);
    while (off < len) {
        size_t next, ce = bg_line_end(msg, off, len, r->eol, &next);
        size_t k = off;
        while (k < ce && (msg[k] == ' ' || msg[k] == '\t'))
            k++;
        if (k != ce)
            break;
        off = next;
    }
    if (len - off > 5 && !memcmp(msg + off, "From ", 5))
        bg_line_end(msg, off, len, r->eol, &off);
    if (bg_hdrs_parse(&r->top, msg, off, len, r->eol) == 0 ||
        memchr(msg + off, '\0', r->top.block_end - off))
        return BG_READ_BINARY;
    bg_bounce *b = r->b = calloc(1, sizeof *b);
    if (!b)
        return BG_READ_NOMEM;
    b->rcpt_max = r->lim.max_rcpts;
    const char *nl = memchr(msg, '\n', len);
    b->crlf = nl && nl > msg && nl[-1] == '\r';
    b->headers.off = off;
    b->headers.len = r->top.block_end - off;
    b->body.off = r->top.body_off;
    b->body.len = len - r->top.body_off;
    bg_hdrs_get_decoded(&r->top, "Subject", b->subject, sizeof b->subject);
    bg_hdrs_get_decoded(&r->top, "From", b->from, sizeof b->from);
    bg_hdrs_get(&r->top, "Message-ID", b->message_id, sizeof b->message_id);
    bg_hdrs_get(&r->top, "Auto-Submitted", b->auto_submitted, sizeof b->auto_submitted);
    bg_hdrs_get(&r->top, "Date", b->date, sizeof b->date);
    return BG_READ_OK;
}

/* Stage 3: walk the MIME parts: delivery-status and feedback-report
 * fields, the returned original, the human text (or the first HTML part). */
static bg_read_status bg_read_parts(bg_reader *r)
{
    const char *msg = r->msg;
    bg_bounce *b = r->b;
    bg_mime *m = &r->m;
    if (bg_mime_walk(m, msg, b->headers.off, r->len, r->eol, r->lim.max_depth,
                     r->lim.max_parts) == 0)
        return BG_READ_NOMEM;
    const bg_mime_part *root = &m->parts[0];
    if (root->boundary[0] && root->nchild > 0)
        memcpy(b->boundary, root->boundary, sizeof b->boundary);
    /* the report container: its first child is the human-readable part */
    long report = -1;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->parts[i].type, "multipart/report")) {
            report = (long)i;
            r->feedback = !strcmp(m->parts[i].report_type, "feedback-report");
            break;
        }
    if (report >= 0 && (size_t)report + 1 < m->n && m->parts[report + 1].parent == report) {
        b->part_human.off = m->parts[report + 1].off;
        b->part_human.len = m->parts[report + 1].end - m->parts[report + 1].off;
    }
    r->html = -1;
    for (size_t i = 0; i < m->n; i++) {
        const bg_mime_part *pt = &m->parts[i];
        const char *p;
        size_t po, pe;
        if (bg_type_is(pt->type, bg_status_types)) {
            if (!b->part_status.len) {
                b->part_status.off = pt->off;
                b->part_status.len = pt->end - pt->off;
            }
            r->have_status = 1;
            bg_part_bytes(msg, pt, &r->tmp, &p, &po, &pe);
            r->dsn_rcpts += bg_dsn_parse(b, p, po, pe, p == msg ? r->eol : bg_eol_detect(p, pe),
                                         p == msg);
        } else if (!strcmp(pt->type, "message/feedback-report")) {
            r->feedback = 1;
            bg_part_bytes(msg, pt, &r->tmp, &p, &po, &pe);
            r->arf_rcpts += bg_dsn_arf(b, p, po, pe, p == msg ? r->eol : bg_eol_detect(p, pe),
                                       r->ftype, sizeof r->ftype);
        } else if (bg_type_is(pt->type, bg_original_types) && i > 0) {
            if (!b->part_original.len) {
                b->part_original.off = pt->off;
                b->part_original.len = pt->end - pt->off;
                bg_part_bytes(msg, pt, &r->tmp, &p, &po, &pe);
                char peol = p == msg ? r->eol : bg_eol_detect(p, pe);
                bg_dsn_original(&b->orig, p, po, pe, peol);
                /* Hotmail/Outlook.com complaints (JMRP) mark the original */
                bg_hdrs oh;
                bg_hdrs_parse(&oh, p, po, pe, peol);
                bg_hdrs_get(&oh, "X-HmXmrOriginalRecipient", r->hm_rcpt, sizeof r->hm_rcpt);
                bg_hdrs_free(&oh);
            }
        } else if (!strcmp(pt->type, "text/plain") &&
                   (strncmp(root->type, "multipart/", 10) != 0 || i > 0)) {
            if (r->text.len)
                bg_buf_addc(&r->text, '\n');
            bg_mime_text(msg, pt, &r->text, BG_SCRAPE_MAX);
            if (!r->have_text)
                r->human_end = r->text.len;
            r->have_text = 1;
        } else if (!strcmp(pt->type, "text/html") && r->html < 0)
            r->html = (long)i;
    }
    return BG_READ_OK;
}

/* Stage 4: the human text (the HTML part's text, or a leaf's body, when
 * there is no plain text), kept bounded at a UTF-8 boundary; an inline
 * copy of the original in it. */
static bg_read_status bg_read_human_text(bg_reader *r)
{
    bg_bounce *b = r->b;
    const bg_mime_part *root = &r->m.parts[0];
    if (!r->have_text && r->html >= 0) {
        bg_mime_text(r->msg, &r->m.parts[r->html], &r->text, BG_SCRAPE_MAX);
        bg_html_to_text(&r->text, 0);
        r->human_end = r->text.len;
    } else if (!r->have_text && !r->have_status && !r->feedback) {
        /* a multipart without usable parts, or another leaf type */
        bg_text_lines(r->msg + root->body_off, root->end - root->body_off, &r->text,
                      BG_SCRAPE_MAX);
        r->human_end = r->text.len;
    }
    if (bg_buf_failed(&r->text) || bg_buf_failed(&r->tmp))
        return BG_READ_NOMEM;
    size_t hl_len = r->human_end < BG_HUMAN_MAX ? r->human_end : BG_HUMAN_MAX - 1;
    while (hl_len > 0 && hl_len < r->text.len && ((unsigned char)r->text.p[hl_len] & 0xc0) == 0x80)
        hl_len--; /* cut at a UTF-8 boundary */
    b->human_text = malloc(hl_len + 1);
    if (!b->human_text)
        return BG_READ_NOMEM;
    memcpy(b->human_text, bg_buf_str(&r->text), hl_len); /* already clean */
    b->human_text[hl_len] = '\0';
    if (!b->orig.present && r->text.len)
        bg_dsn_inline_original(&b->orig, bg_buf_str(&r->text), r->text.len);
    return BG_READ_OK;
}

/* Stage 5: complaints without an ARF part (Outlook.com JMRP, Apple's
 * unsubscribe request); then a feedback report's recipients. Returns 1
 * when the message is a feedback report. */
static int bg_read_feedback(bg_reader *r)
{
    bg_bounce *b = r->b;
    char v[BG_ADDR_MAX * 2];
    if (!r->feedback && r->dsn_rcpts == 0 && r->hm_rcpt[0]) {
        r->feedback = 1;
        strcpy(r->ftype, "abuse");
        bg_rcpt *rc = bg_bounce_add_rcpt(b);
        if (rc && bg_addr_extract(r->hm_rcpt, strlen(r->hm_rcpt), rc->recipient,
                                  sizeof rc->recipient))
            r->arf_rcpts++, strcpy(rc->diagnostic, "abuse");
        else if (rc)
            b->nrcpt--;
    }
    if (!r->feedback && r->dsn_rcpts == 0 &&
        bg_hdrs_get(&r->top, "X-Apple-Unsubscribe", v, sizeof v) && !strcasecmp(v, "true")) {
        /* Apple Mail's unsubscribe request: the From is the complainer */
        r->feedback = 1;
        strcpy(r->ftype, "unsubscribe");
        bg_hdrs_get(&r->top, "From", v, sizeof v);
        bg_rcpt *rc = bg_bounce_add_rcpt(b);
        if (rc && bg_addr_extract(v, strlen(v), rc->recipient, sizeof rc->recipient))
            r->arf_rcpts++, strcpy(rc->diagnostic, "unsubscribe");
        else if (rc)
            b->nrcpt--;
    }
    if (!r->feedback)
        return 0;
    b->kind = BG_MSG_FEEDBACK;
    b->format = BG_FMT_ARF;
    strcpy(b->parser, "arf");
    if (r->arf_rcpts == 0 && b->orig.to[0]) {
        bg_rcpt *rc = bg_bounce_add_rcpt(b);
        if (rc) {
            bg_addr_extract(b->orig.to, strlen(b->orig.to), rc->recipient, sizeof rc->recipient);
            bg_text_clean(rc->diagnostic, sizeof rc->diagnostic, r->ftype, strlen(r->ftype), 0);
            if (!rc->recipient[0])
                b->nrcpt--;
        }
    }
    return 1;
}

/* Stage 6: a delivery-status report (a part, or its fields written into
 * the text); explanations from the text fill empty diagnostics. Returns 1
 * when the message is one. */
static int bg_read_report(bg_reader *r, const bg_scrape_input *in)
{
    bg_bounce *b = r->b;
    if (r->dsn_rcpts == 0 && !(r->text.len && (r->dsn_rcpts = bg_dsn_embedded(b, in->text, in->len))))
        return 0;
    b->format = BG_FMT_DSN;
    strcpy(b->parser, "dsn");
    bg_dsn_text_diag(b, in->text, in->len);
    bg_fill_from_scrape(b, in);
    b->kind = bg_kind_from_actions(b);
    return 1;
}

/* Stage 7: no report part named a recipient: an auto-reply, a report
 * wrapped by a gateway, or a plain-text bounce. */
static void bg_read_fallback(bg_reader *r, const bg_scrape_input *in)
{
    bg_bounce *b = r->b;
    int auto_level = bg_autoreply_level(&r->top, b->subject);
    int daemon = bg_from_daemon(b->from);
    if (auto_level == 2 && !daemon) {
        b->kind = BG_MSG_AUTOREPLY;
    } else if (bg_adopt_inner(b, r->msg, &r->m, &r->lim, r->nest, 1)) {
        /* a gateway's wrapper around a real report */
    } else if (bg_scrape(b, in) > 0 && b->nrcpt > 0) {
        b->format = BG_FMT_TEXT;
        if (!b->parser[0])
            strcpy(b->parser, "text");
        b->kind = bg_kind_from_actions(b);
        /* an auto-replied message from a person, where the scraper
         * found an address but no reason at all: an auto-reply */
        int said = 0;
        for (size_t i = 0; i < b->nrcpt; i++)
            said |= b->rcpts[i].diagnostic[0] || b->rcpts[i].status[0];
        if (auto_level >= 1 && !daemon && !said)
            b->kind = BG_MSG_AUTOREPLY;
    } else if (auto_level >= 1 && !daemon) {
        b->kind = BG_MSG_AUTOREPLY;
    } else {
        bg_adopt_inner(b, r->msg, &r->m, &r->lim, r->nest, 0);
    }
    if (b->kind == BG_MSG_AUTOREPLY) {
        char v[BG_ADDR_MAX * 2];
        b->nrcpt = 0;
        b->format = BG_FMT_HEADERS;
        strcpy(b->parser, "autoreply");
        bg_hdrs_get(&r->top, "From", v, sizeof v);
        bg_rcpt *rc = bg_bounce_add_rcpt(b);
        if (rc)
            bg_addr_extract(v, strlen(v), rc->recipient, sizeof rc->recipient);
    }
}

/* The reader proper; nest bounds how deep wrapped reports are followed. */
static bg_bounce *bg_bounce_read_nested(const char *msg, size_t len, const bg_limits *limits,
                                        bg_read_status *status, int nest)
{
    bg_read_status dummy;
    if (!status)
        status = &dummy;
    bg_reader *r = calloc(1, sizeof *r);
    if (!r) {
        *status = BG_READ_NOMEM;
        return NULL;
    }
    r->msg = msg;
    r->len = len;
    r->nest = nest;
    r->hl.h = &r->top;
    bg_buf_init(&r->text);
    bg_buf_init(&r->tmp);
    bg_read_status st = bg_read_check(msg, len, limits, &r->lim);
    int headers = 0;
    if (st == BG_READ_OK) {
        st = bg_read_headers(r);
        headers = 1;
    }
    if (st == BG_READ_OK)
        st = bg_read_parts(r);
    if (st == BG_READ_OK)
        st = bg_read_human_text(r);
    if (st == BG_READ_OK) {
        bg_scrape_input in = {bg_buf_str(&r->text), r->text.len, bg_hlookup_get, &r->hl};
        if (!bg_read_feedback(r) && !bg_read_report(r, &in))
            bg_read_fallback(r, &in);
    }
    bg_bounce *b = r->b;
    bg_hlookup_free(&r->hl);
    if (headers)
        bg_hdrs_free(&r->top);
    bg_mime_free(&r->m);
    bg_buf_free(&r->text);
    bg_buf_free(&r->tmp);
    free(r);
    if (st != BG_READ_OK) {
        bg_bounce_free(b);
        b = NULL;
    }
    *status = st;
    return b;
}
