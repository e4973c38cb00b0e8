/* bg_render_plain: the text/plain guidance part.
 *
 * Order: the introduction, a summary when several recipients failed, one
 * sender part per recipient (what happened, what to do, who acts), the
 * message that was sent, then the administrator's section with every
 * recipient's technical details, Exim's own explanation and the footer.
 * Wrapped at 72 columns at blanks only, so an address never breaks.
 * Texts come from bg_render.c's lookups; this file only lays them out.
 */
#include <stdio.h>
#include <string.h>

#include "bg_render_int.h"

/* Display width of a UTF-8 string of len bytes (code points). */
static size_t bg_plain_width(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            w++;
    return w;
}

/* Append text word-wrapped at BG_RENDER_WIDTH: the first line starts with
 * first (e.g. "  * "), the following ones with indent blanks. */
static void bg_plain_wrap(bg_buf *out, const char *text, const char *first, size_t indent)
{
    size_t col = bg_plain_width(first, strlen(first));
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
        size_t w = bg_plain_width(s, (size_t)(e - s));
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

/* A line of dashes between the sections. */
static void bg_plain_rule(bg_buf *t)
{
    for (int i = 0; i < BG_RENDER_WIDTH; i++)
        bg_buf_addc(t, '-');
    bg_buf_addc(t, '\n');
}

/* A heading: its text and a line of c under it. */
static void bg_plain_heading(bg_buf *t, const char *text, char c)
{
    bg_plain_wrap(t, text, "", 0);
    size_t w = bg_plain_width(text, strlen(text));
    for (size_t i = 0; i < (w < BG_RENDER_WIDTH ? w : BG_RENDER_WIDTH); i++)
        bg_buf_addc(t, c);
    bg_buf_addc(t, '\n');
}

/* A label as it stands before its value: the [common] key's text in the
 * catalogue of mode, punctuated by label_colon ("Objet :" in French,
 * with a no-break space); "Label:" when the catalogue has no
 * label_colon. */
static const char *bg_plain_label(const bg_render_ctx *c, int mode, const char *key, bg_buf *s)
{
    bg_buf label;
    bg_buf_init(&label);
    bg_buf_adds(&label, bg_render_text(c, NULL, key, NULL, mode, s));
    bg_catalog_var vars[] = {{"label", bg_buf_str(&label)}, {NULL, NULL}};
    bg_buf_reset(s);
    if (!bg_catalog_text(mode & BG_RT_ADMIN ? c->acat : c->cat, "common", "label_colon", vars, s))
        bg_buf_printf(s, "%s:", bg_buf_str(&label));
    bg_buf_free(&label);
    return bg_buf_str(s);
}

/* The value column of a block of label/value rows: past the longest of
 * its labels (keys, NULL-ended) and a blank, so that the values of the
 * block line up in every language; a label longer than BG_PLAIN_COL_MAX
 * allows keeps one blank before its value. */
#define BG_PLAIN_COL_MAX 30
static size_t bg_plain_col(const bg_render_ctx *c, int mode, const char *const *keys)
{
    bg_buf s;
    bg_buf_init(&s);
    size_t col = 0;
    for (size_t i = 0; keys[i]; i++) {
        const char *l = bg_plain_label(c, mode, keys[i], &s);
        size_t w = 2 + bg_plain_width(l, strlen(l)) + 1;
        if (w > col && w <= BG_PLAIN_COL_MAX)
            col = w;
    }
    bg_buf_free(&s);
    return col;
}

/* A label/value row: "  Label:" and the value from column col on,
 * wrapped under itself. */
static void bg_plain_kv(const bg_render_ctx *c, int mode, bg_buf *t, const char *key,
                        const char *value, size_t col)
{
    if (!value || !*value)
        return;
    bg_buf s, first;
    bg_buf_init(&s);
    bg_buf_init(&first);
    const char *label = bg_plain_label(c, mode, key, &s);
    size_t lw = 2 + bg_plain_width(label, strlen(label));
    bg_buf_printf(&first, "  %s%*s", label, (int)(lw < col ? col - lw : 1), "");
    bg_plain_wrap(t, value, bg_buf_str(&first), lw < col ? col : lw + 1);
    bg_buf_free(&first);
    bg_buf_free(&s);
}

static const char *const bg_plain_admin_keys[] = {
    "label_recipient", "label_category", "label_rule", "label_status", "label_reply_code",
    "label_remote",    "label_retry",    "label_tried", NULL,
};
static const char *const bg_plain_original_keys[] = {"label_subject", "label_date", "label_to",
                                                     "label_cc", NULL};

/* One recipient's sender part: headline, what happened, steps, who acts. */
static void bg_plain_sender(const bg_render_ctx *c, const bg_render_rc *r, bg_buf *t)
{
    bg_buf s;
    bg_buf_init(&s);
    bg_plain_heading(t, bg_render_text(c, r, "headline", "delay_headline", BG_RT_PLAIN, &s), '=');
    bg_buf_addc(t, '\n');
    if (r->same_as >= 0) {
        bg_plain_wrap(t, bg_render_text(c, r, "same_as", NULL, BG_RT_PLAIN, &s), "", 0);
        bg_buf_addc(t, '\n');
        bg_buf_free(&s);
        return;
    }
    bg_plain_wrap(t, bg_render_text(c, NULL, "label_happened", NULL, BG_RT_PLAIN, &s), "", 0);
    bg_plain_wrap(t, bg_render_text(c, r, "happened", "delay_happened", BG_RT_PLAIN, &s), "  ", 2);
    if (*bg_render_timing(c, r, BG_RT_PLAIN, &s))
        bg_plain_wrap(t, bg_buf_str(&s), "  ", 2);
    if (r->delay && *bg_render_text(c, r, "delay_note", NULL, BG_RT_PLAIN, &s))
        bg_plain_wrap(t, bg_buf_str(&s), "  ", 2);
    bg_buf_addc(t, '\n');

    bg_render_list steps = {.n = 0};
    bg_render_steps(c, r, BG_RT_PLAIN, &steps);
    if (steps.n) {
        bg_plain_wrap(t, bg_render_text(c, NULL, "label_do", NULL, BG_RT_PLAIN, &s), "", 0);
        for (size_t i = 0; i < steps.n; i++)
            bg_plain_wrap(t, steps.item[i], "  * ", 4);
        bg_buf_addc(t, '\n');
    }
    bg_render_list_free(&steps);

    bg_plain_wrap(t, bg_render_text(c, NULL, "label_who", NULL, BG_RT_PLAIN, &s), "", 0);
    bg_plain_wrap(t, bg_render_text(c, r, bg_render_acts_key(c, r), NULL, BG_RT_PLAIN, &s), "  ",
                  2);
    bg_buf_addc(t, '\n');
    bg_buf_free(&s);
}

/* One recipient's technical details for the administrator. */
static void bg_plain_admin(const bg_render_ctx *c, const bg_render_rc *r, bg_buf *t)
{
    bg_buf s;
    bg_buf_init(&s);
    const int m = BG_RT_ADMIN;
    size_t col = bg_plain_col(c, m, bg_plain_admin_keys);
    bg_plain_kv(c, m, t, "label_recipient", bg_buf_str(&r->recipient), col);
    bg_plain_kv(c, m, t, "label_category", r->section, col);
    bg_plain_kv(c, m, t, "label_rule", bg_buf_str(&r->rule), col);
    bg_plain_kv(c, m, t, "label_status", bg_buf_str(&r->code), col);
    bg_plain_kv(c, m, t, "label_reply_code", bg_buf_str(&r->reply_code), col);
    bg_plain_kv(c, m, t, "label_remote", bg_buf_str(&r->remote_mta), col);
    if (r->delay)
        bg_plain_kv(c, m, t, "label_retry", bg_buf_str(&r->retry_until[BG_RD_ADMIN]), col);
    if (r->tried.len)
        bg_plain_kv(c, m, t, "label_tried", bg_buf_str(&r->tried), col);
    bg_render_list notes = {.n = 0};
    bg_render_list_get(c, r, "admin", BG_RT_ADMIN, &notes);
    for (size_t i = 0; i < notes.n; i++)
        bg_plain_wrap(t, notes.item[i], "  - ", 4);
    bg_render_list_free(&notes);
    const bg_render_extra *x = bg_render_extra_of(c, r);
    if (x && x->admin_text && *x->admin_text) {
        /* the diagnosis: its intro, a finding a bullet, advice indented
         * under its finding */
        bg_buf a, line;
        bg_buf_init(&a);
        bg_buf_init(&line);
        bg_render_clean_block(&a, x->admin_text);
        const char *p = bg_buf_str(&a);
        int level, seen = 0;
        while (bg_render_next_finding(&p, &level, &line, &seen)) {
            if (level == BG_FIND_PARA)
                bg_plain_wrap(t, bg_buf_str(&line), "  ", 2);
            else if (level == 0)
                bg_plain_wrap(t, bg_buf_str(&line), "  - ", 4);
            else
                bg_plain_wrap(t, bg_buf_str(&line), "    - ", 6);
        }
        bg_buf_free(&line);
        bg_buf_free(&a);
    }
    if (r->diag.len) {
        bg_buf_adds(t, "  ");
        bg_buf_adds(t, bg_plain_label(c, BG_RT_ADMIN, "label_reply", &s));
        bg_buf_adds(t, "\n    ");
        bg_buf_add(t, r->diag.p, r->diag.len); /* verbatim, one line */
        bg_buf_addc(t, '\n');
    }
    bg_buf_addc(t, '\n');
    bg_buf_free(&s);
}

/* The whole text/plain guidance (LF line ends; encoded later). */
void bg_render_plain(const bg_render_ctx *c, bg_buf *t)
{
    bg_buf s, line;
    bg_buf_init(&s);
    bg_buf_init(&line);
    bg_plain_wrap(t, bg_render_text(c, NULL, "intro", NULL, BG_RT_PLAIN, &s), "", 0);
    if (c->helpdesk.len)
        bg_plain_wrap(t, bg_render_text(c, NULL, "help", NULL, BG_RT_PLAIN, &s), "", 0);
    bg_buf_addc(t, '\n');
    if (*bg_render_summary(c, BG_RT_PLAIN, &s)) {
        bg_plain_wrap(t, bg_buf_str(&s), "", 0);
        for (size_t i = 0; i < c->nrc; i++) {
            bg_buf_reset(&line);
            bg_buf_printf(&line, "%s -- %s", bg_buf_str(&c->rc[i].recipient),
                          bg_render_text(c, &c->rc[i], "subject", NULL, BG_RT_PLAIN, &s));
            bg_plain_wrap(t, bg_buf_str(&line), "  * ", 4);
        }
        bg_buf_addc(t, '\n');
    }
    for (size_t i = 0; i < c->nrc; i++)
        bg_plain_sender(c, &c->rc[i], t);
    if (c->more[0] && *bg_render_text(c, NULL, "more_recipients", NULL, BG_RT_PLAIN, &s)) {
        bg_plain_wrap(t, bg_buf_str(&s), "", 0);
        bg_buf_addc(t, '\n');
    }

    if (c->subject.len || c->date.len || c->to.len) {
        bg_plain_rule(t);
        bg_plain_wrap(t, bg_render_text(c, NULL, "label_original", NULL, BG_RT_PLAIN, &s), "", 0);
        const char *subj = c->subject.len ? bg_buf_str(&c->subject) : "";
        if (!*subj) {
            bg_buf_reset(&line);
            bg_buf_adds(&line, bg_render_text(c, NULL, "label_no_subject", NULL, BG_RT_PLAIN, &s));
            subj = bg_buf_str(&line);
        }
        size_t col = bg_plain_col(c, BG_RT_PLAIN, bg_plain_original_keys);
        bg_plain_kv(c, BG_RT_PLAIN, t, "label_subject", subj, col);
        bg_plain_kv(c, BG_RT_PLAIN, t, "label_date", bg_buf_str(&c->date), col);
        bg_plain_kv(c, BG_RT_PLAIN, t, "label_to", bg_buf_str(&c->to), col);
        bg_plain_kv(c, BG_RT_PLAIN, t, "label_cc", bg_buf_str(&c->cc), col);
        bg_buf_addc(t, '\n');
    }

    bg_plain_rule(t);
    bg_plain_heading(t, bg_render_text(c, NULL, "label_admin", NULL, BG_RT_ADMIN, &s), '=');
    bg_buf_addc(t, '\n');
    for (size_t i = 0; i < c->nrc; i++)
        bg_plain_admin(c, &c->rc[i], t);
    const char *ht = c->in->bounce->human_text;
    if (ht && *ht) {
        bg_plain_wrap(t, bg_render_text(c, NULL, "label_explanation", NULL, BG_RT_ADMIN, &s), "",
                      0);
        bg_buf_addc(t, '\n');
        bg_render_clean_block(t, ht);
        if (t->len && t->p[t->len - 1] != '\n')
            bg_buf_addc(t, '\n');
        bg_buf_addc(t, '\n');
    }
    bg_plain_rule(t);
    bg_plain_wrap(t, bg_render_text(c, NULL, "footer", NULL, BG_RT_PLAIN, &s), "", 0);
    bg_buf_free(&line);
    bg_buf_free(&s);
}
