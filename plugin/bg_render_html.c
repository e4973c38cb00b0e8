/* bg_render_html: the text/html guidance part.
 *
 * A page built for a phone first (375 px wide) that also reads well on a
 * desktop: the introduction, a summary linking to each recipient when
 * several failed, one card per recipient for the sender (headline, what
 * happened, a list of steps, who acts: one screen each), the message that
 * was sent, then one section for the administrator with every recipient's
 * technical details (rule ids, codes, findings as lists, the server's
 * reply verbatim) in the administrator's language. Inline styles only:
 * mail clients drop <style> blocks. Every text is escaped here; addresses
 * never break at their hyphens and the help desk is a link.
 */
#include <string.h>

#include "bg_html.h"
#include "bg_render_int.h"

#define BG_CSS_FONT "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
#define BG_CSS_MONO "font-family:Menlo,Consolas,'DejaVu Sans Mono',monospace;"
#define BG_CSS_LABEL "font-size:12px;font-weight:600;text-transform:uppercase;" \
                     "letter-spacing:.05em;color:#52606d;"
#define BG_CSS_H2 BG_CSS_LABEL "margin:12px 0 2px;"
#define BG_CSS_BOX "background:#ffffff;border:1px solid #e4e7eb;border-radius:8px;" \
                   "padding:14px 16px;margin:0 0 14px;"
#define BG_CSS_UL "margin:0;padding-left:20px;"
#define BG_CSS_LI "margin:0 0 3px;"
#define BG_CSS_ADMIN_UL "margin:8px 0 0;padding-left:18px;"
#define BG_CSS_SUB_UL "margin:3px 0 0;padding-left:16px;list-style-type:circle;"
#define BG_CSS_PRE "margin:0;white-space:pre-wrap;overflow-wrap:anywhere;" BG_CSS_MONO \
                   "font-size:12px;"
#define BG_HTML_NOBR_SPLIT 28 /* longer addresses may break before the @ */

/* An address or domain that must not break at its hyphens: one no-wrap
 * span, or for a long address two (before and from the @) with a break
 * opportunity between them, so a narrow screen never scrolls sideways. */
static void bg_htm_nobr(bg_buf *h, const char *s, size_t len)
{
    const char *at = len > BG_HTML_NOBR_SPLIT ? memchr(s, '@', len) : NULL;
    size_t first = at && at > s ? (size_t)(at - s) : len;
    bg_buf_adds(h, "<span style=\"white-space:nowrap;\">");
    bg_html_escape(h, s, first, BG_HTML_LF_BLANK);
    bg_buf_adds(h, "</span>");
    if (first < len) {
        bg_buf_adds(h, "<wbr><span style=\"white-space:nowrap;\">");
        bg_html_escape(h, s + first, len - first, BG_HTML_LF_BLANK);
        bg_buf_adds(h, "</span>");
    }
}

/* Escape a text that may carry the renderer's markers (bg_render_int.h):
 * no-break values become spans, the help desk a link. */
static void bg_htm_text(bg_buf *h, const char *s)
{
    static const char marks[] = BG_MARK_NOBR BG_MARK_NOBR_END BG_MARK_LINK BG_MARK_LINK_END;
    while (*s) {
        size_t n = strcspn(s, marks);
        bg_html_escape(h, s, n, BG_HTML_LF_BLANK);
        s += n;
        if (!*s)
            break;
        char m = *s++;
        if (m != BG_MARK_NOBR[0] && m != BG_MARK_LINK[0])
            continue; /* an end marker without its start */
        const char *e = strchr(s, m == BG_MARK_NOBR[0] ? BG_MARK_NOBR_END[0] : BG_MARK_LINK_END[0]);
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (m == BG_MARK_NOBR[0])
            bg_htm_nobr(h, s, len);
        else
            bg_html_contact(h, s, len);
        s += len + (e ? 1 : 0);
    }
}

/* open + a text of the catalogue (escaped) + close. */
static void bg_htm_el(bg_buf *h, const char *open, const char *text, const char *close)
{
    bg_buf_adds(h, open);
    bg_htm_text(h, text);
    bg_buf_adds(h, close);
}

/* A list: one item each. */
static void bg_htm_list(bg_buf *h, const bg_render_list *l, const char *ul_style)
{
    if (!l->n)
        return;
    bg_buf_printf(h, "<ul style=\"%s\">\n", ul_style);
    for (size_t i = 0; i < l->n; i++)
        bg_htm_el(h, "<li style=\"" BG_CSS_LI "\">", l->item[i], "</li>\n");
    bg_buf_adds(h, "</ul>\n");
}

/* The diagnosis's findings (bg_render_extra.admin_text): its intro as a
 * paragraph, the findings as a list, each one's advice as a list inside
 * its item. */
static void bg_htm_findings(bg_buf *h, const char *admin_text)
{
    bg_buf a, line;
    bg_buf_init(&a);
    bg_buf_init(&line);
    bg_render_clean_block(&a, admin_text);
    const char *p = bg_buf_str(&a);
    int level, seen = 0, in_ul = 0, in_li = 0, in_sub = 0;
    while (bg_render_next_finding(&p, &level, &line, &seen)) {
        if (in_sub && level != 1) {
            bg_buf_adds(h, "</ul>\n");
            in_sub = 0;
        }
        if (in_li && level != 1) {
            bg_buf_adds(h, "</li>\n");
            in_li = 0;
        }
        if (in_ul && level == BG_FIND_PARA) {
            bg_buf_adds(h, "</ul>\n");
            in_ul = 0;
        }
        if (level == BG_FIND_PARA) {
            bg_buf_adds(h, "<p style=\"margin:8px 0 0;\">");
            bg_html_escapes(h, bg_buf_str(&line), BG_HTML_LF_BLANK);
            bg_buf_adds(h, "</p>\n");
            continue;
        }
        if (!in_ul) {
            bg_buf_adds(h, "<ul style=\"" BG_CSS_ADMIN_UL "\">\n");
            in_ul = 1;
        }
        if (level == 1 && !in_sub) {
            bg_buf_adds(h, "\n<ul style=\"" BG_CSS_SUB_UL "\">\n");
            in_sub = 1;
        }
        bg_buf_adds(h, "<li style=\"" BG_CSS_LI "\">");
        bg_html_escapes(h, bg_buf_str(&line), BG_HTML_LF_BLANK);
        if (level == 1)
            bg_buf_adds(h, "</li>\n");
        else
            in_li = 1; /* closed after its advice */
    }
    if (in_sub)
        bg_buf_adds(h, "</ul>\n");
    if (in_li)
        bg_buf_adds(h, "</li>\n");
    if (in_ul)
        bg_buf_adds(h, "</ul>\n");
    bg_buf_free(&line);
    bg_buf_free(&a);
}

/* A label/value row of a table, both escaped. */
static void bg_htm_kv(bg_buf *h, const char *label, const char *value, int mono)
{
    if (!value || !*value)
        return;
    bg_buf_adds(h, "<tr><td style=\"padding:2px 12px 2px 0;color:#616e7c;vertical-align:top;"
                   "white-space:nowrap;\">");
    bg_html_escapes(h, label, 0);
    bg_buf_adds(h, "</td><td style=\"padding:2px 0;vertical-align:top;overflow-wrap:anywhere;");
    if (mono)
        bg_buf_adds(h, BG_CSS_MONO);
    bg_buf_adds(h, "\">");
    bg_html_escapes(h, value, 0);
    bg_buf_adds(h, "</td></tr>\n");
}

/* A row whose label is a [common] key of the administrator's catalogue. */
static void bg_htm_admin_kv(const bg_render_ctx *c, bg_buf *h, const char *key,
                            const char *value, int mono, bg_buf *s)
{
    bg_htm_kv(h, bg_render_text(c, NULL, key, NULL, BG_RT_ADMIN, s), value, mono);
}

/* One recipient's sender part, a card of its own (id bg-rN: the summary
 * links to it and the phone check measures it). */
static void bg_htm_sender(const bg_render_ctx *c, size_t i, bg_buf *h)
{
    const bg_render_rc *r = &c->rc[i];
    bg_buf s;
    bg_buf_init(&s);
    const char *accent = r->delay ? "#b7791f" : "#c53030";
    bg_buf_printf(h, "<div id=\"bg-r%zu\" style=\"background:#ffffff;border:1px solid #e4e7eb;"
                     "border-top:5px solid %s;border-radius:8px;padding:10px 14px 14px;"
                     "margin:0 0 14px;\">\n", i + 1, accent);
    bg_buf_printf(h, "<div style=\"color:%s;font-size:13px;font-weight:600;margin:0 0 2px;\">",
                  accent);
    bg_htm_text(h, bg_render_text(c, NULL, r->delay ? "badge_delayed" : "badge_failed", NULL,
                                  BG_RT_HTML, &s));
    bg_buf_adds(h, "</div>\n");
    bg_htm_el(h, "<h1 style=\"font-size:18px;line-height:1.3;margin:0;color:#1f2933;\">",
              bg_render_text(c, r, "headline", "delay_headline", BG_RT_HTML, &s), "</h1>\n");
    if (r->same_as >= 0) {
        bg_htm_el(h, "<p style=\"margin:8px 0 0;\">",
                  bg_render_text(c, r, "same_as", NULL, BG_RT_HTML, &s), "</p>\n</div>\n");
        bg_buf_free(&s);
        return;
    }
    bg_htm_el(h, "<h2 style=\"" BG_CSS_H2 "\">",
              bg_render_text(c, NULL, "label_happened", NULL, BG_RT_HTML, &s), "</h2>\n");
    bg_htm_el(h, "<p style=\"margin:0;\">",
              bg_render_text(c, r, "happened", "delay_happened", BG_RT_HTML, &s), "</p>\n");
    if (*bg_render_timing(c, r, BG_RT_HTML, &s))
        bg_htm_el(h, "<p style=\"margin:8px 0 0;\">", bg_buf_str(&s), "</p>\n");
    if (r->delay && *bg_render_text(c, r, "delay_note", NULL, BG_RT_HTML, &s))
        bg_htm_el(h, "<p style=\"margin:8px 0 0;background:#fffaf0;border-radius:6px;"
                     "padding:6px 10px;\">", bg_buf_str(&s), "</p>\n");

    bg_render_list steps = {.n = 0};
    bg_render_steps(c, r, BG_RT_HTML, &steps);
    if (steps.n)
        bg_htm_el(h, "<h2 style=\"" BG_CSS_H2 "\">",
                  bg_render_text(c, NULL, "label_do", NULL, BG_RT_HTML, &s), "</h2>\n");
    bg_htm_list(h, &steps, BG_CSS_UL);
    bg_render_list_free(&steps);

    /* who acts: the label inline, one line saved on a phone */
    bg_htm_el(h, "<p style=\"margin:12px 0 0;\"><span style=\"" BG_CSS_LABEL "\">",
              bg_render_text(c, NULL, "label_who", NULL, BG_RT_HTML, &s), "</span> ");
    bg_htm_el(h, "<strong>", bg_render_text(c, r, bg_render_acts_key(c, r), NULL, BG_RT_HTML, &s),
              "</strong></p>\n</div>\n");
    bg_buf_free(&s);
}

/* One recipient's technical details in the administrator's section. */
static void bg_htm_admin(const bg_render_ctx *c, const bg_render_rc *r, bg_buf *h)
{
    bg_buf s;
    bg_buf_init(&s);
    bg_buf_adds(h, "<h3 style=\"font-size:14px;margin:14px 0 4px;color:#1f2933;\">");
    bg_htm_nobr(h, r->recipient.p ? r->recipient.p : "", r->recipient.len);
    bg_buf_adds(h, "</h3>\n<table style=\"border-collapse:collapse;font-size:13px;\">\n");
    bg_htm_admin_kv(c, h, "label_category", r->section, 1, &s);
    bg_htm_admin_kv(c, h, "label_rule", bg_buf_str(&r->rule), 1, &s);
    bg_htm_admin_kv(c, h, "label_status", bg_buf_str(&r->code), 1, &s);
    bg_htm_admin_kv(c, h, "label_reply_code", bg_buf_str(&r->reply_code), 1, &s);
    bg_htm_admin_kv(c, h, "label_remote", bg_buf_str(&r->remote_mta), 1, &s);
    if (r->delay)
        bg_htm_admin_kv(c, h, "label_retry", bg_buf_str(&r->retry_until[BG_RD_ADMIN]), 0, &s);
    if (r->tried.len)
        bg_htm_admin_kv(c, h, "label_tried", bg_buf_str(&r->tried), 0, &s);
    bg_buf_adds(h, "</table>\n");
    bg_render_list notes = {.n = 0};
    bg_render_list_get(c, r, "admin", BG_RT_ADMIN | BG_RT_HTML, &notes);
    bg_htm_list(h, &notes, BG_CSS_ADMIN_UL);
    bg_render_list_free(&notes);
    const bg_render_extra *x = bg_render_extra_of(c, r);
    if (x && x->admin_text && *x->admin_text)
        bg_htm_findings(h, x->admin_text);
    if (r->diag.len) {
        bg_htm_el(h, "<div style=\"margin:10px 0 4px;color:#616e7c;\">",
                  bg_render_text(c, NULL, "label_reply", NULL, BG_RT_ADMIN, &s), "</div>\n");
        bg_buf_adds(h, "<pre style=\"" BG_CSS_PRE "background:#ffffff;border:1px solid #e4e7eb;"
                       "border-left:3px solid #9aa5b1;border-radius:4px;padding:6px 8px;\">");
        bg_html_escape_addrs(h, r->diag.p, r->diag.len, 0);
        bg_buf_adds(h, "</pre>\n");
    }
    bg_buf_free(&s);
}

/* The message that was sent: subject, date, recipients. */
static void bg_htm_original(const bg_render_ctx *c, bg_buf *h, bg_buf *s)
{
    if (!c->subject.len && !c->date.len && !c->to.len)
        return;
    bg_htm_el(h, "<div style=\"" BG_CSS_BOX "\">\n<h2 style=\"" BG_CSS_H2 "margin-top:0;\">",
              bg_render_text(c, NULL, "label_original", NULL, BG_RT_HTML, s), "</h2>\n");
    bg_buf_adds(h, "<table style=\"border-collapse:collapse;font-size:14px;\">\n");
    bg_buf subj;
    bg_buf_init(&subj);
    if (c->subject.len)
        bg_buf_add(&subj, c->subject.p, c->subject.len);
    else
        bg_buf_adds(&subj, bg_render_text(c, NULL, "label_no_subject", NULL, BG_RT_PLAIN, s));
    bg_htm_kv(h, bg_render_text(c, NULL, "label_subject", NULL, BG_RT_PLAIN, s), bg_buf_str(&subj),
              0);
    bg_buf_free(&subj);
    bg_htm_kv(h, bg_render_text(c, NULL, "label_date", NULL, BG_RT_PLAIN, s), bg_buf_str(&c->date),
              0);
    bg_htm_kv(h, bg_render_text(c, NULL, "label_to", NULL, BG_RT_PLAIN, s), bg_buf_str(&c->to), 0);
    bg_htm_kv(h, bg_render_text(c, NULL, "label_cc", NULL, BG_RT_PLAIN, s), bg_buf_str(&c->cc), 0);
    bg_buf_adds(h, "</table>\n</div>\n");
}

/* The summary of several recipients, each linking to its card. */
static void bg_htm_summary(const bg_render_ctx *c, bg_buf *h, bg_buf *s)
{
    if (!*bg_render_summary(c, BG_RT_HTML, s))
        return;
    bg_htm_el(h, "<div style=\"" BG_CSS_BOX "\">\n<p style=\"margin:0 0 6px;font-weight:600;\">",
              bg_buf_str(s), "</p>\n<ul style=\"" BG_CSS_UL "\">\n");
    for (size_t i = 0; i < c->nrc; i++) {
        const bg_render_rc *r = &c->rc[i];
        bg_buf_printf(h, "<li style=\"" BG_CSS_LI "\"><a href=\"#bg-r%zu\" style=\"color:#1a56db;"
                         "font-weight:600;\">", i + 1);
        bg_htm_nobr(h, r->recipient.p ? r->recipient.p : "", r->recipient.len);
        bg_buf_adds(h, "</a> &mdash; ");
        bg_htm_text(h, bg_render_text(c, r, "subject", NULL, BG_RT_HTML, s));
        bg_buf_adds(h, "</li>\n");
    }
    bg_buf_adds(h, "</ul>\n</div>\n");
}

/* The administrator's section: every recipient, then Exim's own words. */
static void bg_htm_admin_section(const bg_render_ctx *c, bg_buf *h, bg_buf *s)
{
    bg_buf_adds(h, "<div id=\"bg-admin\"");
    if (c->alang.len && strcmp(bg_buf_str(&c->alang), bg_buf_str(&c->lang)) != 0) {
        bg_buf_adds(h, " lang=\"");
        bg_html_escape(h, c->alang.p, c->alang.len, 0);
        bg_buf_adds(h, "\"");
    }
    bg_buf_adds(h, " style=\"background:#f5f7fa;border:1px solid #e4e7eb;border-radius:8px;"
                   "padding:14px 16px;margin:0 0 14px;font-size:13px;line-height:1.45;"
                   "color:#3e4c59;\">\n");
    bg_htm_el(h, "<h2 style=\"" BG_CSS_H2 "margin-top:0;\">",
              bg_render_text(c, NULL, "label_admin", NULL, BG_RT_ADMIN | BG_RT_HTML, s),
              "</h2>\n");
    for (size_t i = 0; i < c->nrc; i++)
        bg_htm_admin(c, &c->rc[i], h);
    const char *ht = c->in->bounce->human_text;
    if (ht && *ht) {
        bg_buf clean;
        bg_buf_init(&clean);
        bg_render_clean_block(&clean, ht);
        bg_htm_el(h, "<h3 style=\"font-size:14px;margin:16px 0 4px;color:#1f2933;\">",
                  bg_render_text(c, NULL, "label_explanation", NULL, BG_RT_ADMIN, s), "</h3>\n");
        bg_buf_adds(h, "<pre style=\"" BG_CSS_PRE "\">");
        bg_html_escape_addrs(h, clean.p ? clean.p : "", clean.len, BG_HTML_LF_KEEP);
        bg_buf_adds(h, "</pre>\n");
        bg_buf_free(&clean);
    }
    bg_buf_adds(h, "</div>\n");
}

/* The whole text/html guidance: a standalone page with inline styles. */
void bg_render_html(const bg_render_ctx *c, bg_buf *h)
{
    bg_buf s;
    bg_buf_init(&s);
    bg_buf_adds(h, "<!DOCTYPE html>\n<html");
    if (c->lang.len) {
        bg_buf_adds(h, " lang=\"");
        bg_html_escape(h, c->lang.p, c->lang.len, 0);
        bg_buf_adds(h, "\"");
    }
    bg_buf_adds(h, "><head><meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>");
    bg_html_escapes(h, bg_render_text(c, &c->rc[0], "headline", "delay_headline", BG_RT_PLAIN, &s),
                    0);
    bg_buf_adds(h, "</title></head>\n<body style=\"margin:0;padding:0;background:#eef1f5;\">\n"
                   "<div style=\"max-width:640px;margin:0 auto;padding:12px 10px 20px;" BG_CSS_FONT
                   "font-size:15px;line-height:1.4;color:#1f2933;\">\n");
    bg_htm_el(h, "<p style=\"margin:2px 6px 12px;color:#52606d;font-size:13px;\">",
              bg_render_text(c, NULL, "intro", NULL, BG_RT_HTML, &s), "");
    if (c->helpdesk.len)
        bg_htm_el(h, " <strong>", bg_render_text(c, NULL, "help", NULL, BG_RT_HTML, &s),
                  "</strong>");
    bg_buf_adds(h, "</p>\n");
    bg_htm_summary(c, h, &s);
    for (size_t i = 0; i < c->nrc; i++)
        bg_htm_sender(c, i, h);
    if (c->more[0] && *bg_render_text(c, NULL, "more_recipients", NULL, BG_RT_HTML, &s))
        bg_htm_el(h, "<p style=\"margin:0 6px 14px;\">", bg_buf_str(&s), "</p>\n");
    bg_htm_original(c, h, &s);
    bg_htm_admin_section(c, h, &s);
    bg_htm_el(h, "<p style=\"margin:0 6px;color:#7b8794;font-size:12px;\">",
              bg_render_text(c, NULL, "footer", NULL, BG_RT_HTML, &s), "</p>\n");
    bg_buf_adds(h, "</div>\n</body></html>\n");
    bg_buf_free(&s);
}
