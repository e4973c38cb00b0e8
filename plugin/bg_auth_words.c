/* bg_auth_words: findings into sentences through the catalogue's public
 * API (bg_catalog_has, bg_catalog_lines, bg_catalog_expand).
 *
 * A key's lines are tried in order and the first whose placeholders all
 * have values is used (the catalogue's single-text rule), so a finding
 * without, say, a deciding SPF term uses the shorter line after the full
 * one. Word values are worded first, with the same values. Keys missing
 * from a translated catalogue come from the built-in English one, loaded
 * on first need and kept for the process.
 */
#include "bg_auth_words.h"

#include <string.h>

#include "bg_render.h"

static bg_catalog *bg_auth_words_en;

void bg_auth_words_release(void)
{
    bg_catalog_free(bg_auth_words_en);
    bg_auth_words_en = NULL;
}

/* The catalogue that has key in [auth]: c, else the built-in English. */
static const bg_catalog *bg_auth_words_cat(const bg_catalog *c, const char *key)
{
    if (c && bg_catalog_has(c, BG_AUTH_SECTION, key))
        return c;
    if (!bg_auth_words_en)
        bg_auth_words_en = bg_catalog_load("en", NULL);
    return bg_auth_words_en;
}

/* Append the first line of key that expands with vars; 1, or 0 when none. */
static int bg_auth_words_key(const bg_catalog *c, const char *key, const bg_catalog_var *vars,
                             bg_buf *out)
{
    const bg_catalog *cat = bg_auth_words_cat(c, key);
    const char *const *lines;
    size_t n = cat ? bg_catalog_lines(cat, BG_AUTH_SECTION, key, &lines) : 0;
    for (size_t i = 0; i < n; i++)
        if (bg_catalog_expand(lines[i], vars, out))
            return 1;
    return 0;
}

/* A value as one line: a record from DNS may hold line ends, which would
 * start a finding or a piece of advice of their own in the list
 * (bg_render reads "- " and "  - " at line starts); control characters
 * become blanks. */
static const char *bg_auth_words_flat(const char *v, bg_buf *tmp)
{
    const char *p = v;
    while (*p && (unsigned char)*p >= 0x20)
        p++;
    if (!*p)
        return v;
    for (p = v; *p; p++)
        bg_buf_addc(tmp, (unsigned char)*p < 0x20 ? ' ' : *p);
    return bg_buf_str(tmp);
}

int bg_auth_words_item(const bg_auth_findings *f, const bg_auth_item *it, const bg_catalog *c,
                       bg_buf *out)
{
    bg_catalog_var plain[BG_AUTH_ITEM_VARS + 1], all[BG_AUTH_ITEM_VARS + 1];
    bg_buf words[BG_AUTH_ITEM_VARS], flat[BG_AUTH_ITEM_VARS];
    const char *val[BG_AUTH_ITEM_VARS];
    size_t np = 0;
    for (unsigned i = 0; i < it->nvar; i++) {
        bg_buf_init(&flat[i]);
        val[i] = f->pool + it->var[i].off;
        if (!it->var[i].word) {
            val[i] = bg_auth_words_flat(val[i], &flat[i]);
            plain[np++] = (bg_catalog_var){it->var[i].name, val[i]};
        }
    }
    plain[np] = (bg_catalog_var){NULL, NULL};
    for (unsigned i = 0; i < it->nvar; i++) {
        bg_buf_init(&words[i]);
        const char *v = val[i];
        if (it->var[i].word && bg_auth_words_key(c, v, plain, &words[i]))
            v = bg_buf_str(&words[i]);
        else if (it->var[i].word)
            v = ""; /* no text for the word: lines naming it are not used */
        all[i] = (bg_catalog_var){it->var[i].name, v};
    }
    all[it->nvar] = (bg_catalog_var){NULL, NULL};
    int ok = bg_auth_words_key(c, bg_auth_fid_key(it->id), all, out);
    for (unsigned i = 0; i < it->nvar; i++) {
        bg_buf_free(&words[i]);
        bg_buf_free(&flat[i]);
    }
    return ok;
}

int bg_auth_words(const bg_auth_findings *f, const bg_catalog *c, const bg_catalog *sender_cat,
                  bg_buf *admin, bg_buf *sender)
{
    bg_buf line;
    bg_buf_init(&line);
    for (size_t i = 0; i < f->nitems; i++) {
        const bg_auth_item *it = &f->items[i];
        bg_buf_reset(&line);
        if (!bg_auth_words_item(f, it, c, &line))
            continue;
        if (it->id != BG_AF_INTRO)
            bg_buf_adds(admin, it->level ? "  - " : "- ");
        bg_buf_adds(admin, bg_buf_str(&line));
        bg_buf_addc(admin, '\n');
    }
    bg_buf_free(&line);
    bg_auth_words_key(sender_cat ? sender_cat : c, bg_auth_fid_key(BG_AF_SENDER), NULL, sender);
    return bg_buf_failed(admin) || bg_buf_failed(sender) ? -1 : 0;
}
