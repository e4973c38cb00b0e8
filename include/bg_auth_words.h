/* bg_auth_words: the diagnosis in words, from the catalogue.
 *
 * Every finding of bg_auth_diagnose is a key of the catalogue's [auth]
 * section; its placeholders are filled with the finding's values (word
 * values are [auth] keys themselves, worded first). The administrator
 * text is a list: an intro line, then "- " per finding and "  - " per
 * piece of advice about it; the sender text is one plain line. A key the
 * given catalogue lacks (a translation not done yet) comes from the
 * built-in English catalogue. Texts are plain; the renderer escapes them.
 */
#ifndef BG_AUTH_WORDS_H
#define BG_AUTH_WORDS_H

#include "bg_auth.h"
#include "bg_buf.h"
#include "bg_catalog.h"

#define BG_AUTH_SECTION "auth"

/* Word f (status DONE): append the administrator list to admin, worded
 * with c (the admin section's language; NULL: the built-in English
 * catalogue), and the sender line to sender, worded with sender_cat (the
 * sender's language; NULL: c). Returns 0, or -1 when memory ran out. */
int bg_auth_words(const bg_auth_findings *f, const bg_catalog *c, const bg_catalog *sender_cat,
                  bg_buf *admin, bg_buf *sender);

/* Word one finding into out (no bullet, no newline); 1 when a line of its
 * key expanded, 0 when none did. */
int bg_auth_words_item(const bg_auth_findings *f, const bg_auth_item *it, const bg_catalog *c,
                       bg_buf *out);

/* Free the built-in English catalogue kept for missing keys (tests). */
void bg_auth_words_release(void);

#endif
