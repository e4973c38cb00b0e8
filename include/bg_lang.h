/* bg_lang: which language one bounce speaks, and its catalogues.
 *
 * The one place that decides it, for the Exim adapter and the CLI alike.
 * For the bounced message's sender, in this order:
 *   1. sender_languages: "PATTERN LANG, ..." (the first glob that matches
 *      the whole address, * and ?, any case), in the sender's [domain]
 *      section or globally;
 *   2. language set in the sender's [domain] section;
 *   3. the returned message's Content-Language, then its Accept-Language
 *      (by q-value), unless language_from_message = no;
 *   4. the global language (default en).
 * Only a language that has a catalogue counts ("de-AT" counts as "de").
 * The administrator's section uses admin_language when set (per domain or
 * global), else the sender's language. Overrides: guidance_file applies to
 * the default language, guidance_file_LANG (guidance_file_de) to LANG.
 * Catalogues other than the default are loaded on first use and kept.
 * This module reads no bounce beyond the returned message's header block.
 */
#ifndef BG_LANG_H
#define BG_LANG_H

#include <stddef.h>
#include "bg_bounce.h"
#include "bg_catalog.h"
#include "bg_config.h"

#define BG_LANG_TAG_MAX 16 /* "de", "pt-br"; longer tags are not ours */

typedef struct bg_lang bg_lang;

/* The catalogues of one config (cfg must outlive the handle). The default
 * language's catalogue is loaded now, with override (NULL: the config's
 * guidance_file) on top: NULL, with why in err, when data_dir holds no
 * usable catalogue (the Exim adapter then passes every bounce unchanged)
 * or memory runs out. */
bg_lang *bg_lang_new(const bg_config *cfg, const char *override, char *err, size_t errlen);
void bg_lang_free(bg_lang *l);

/* What was chosen for one bounce. */
typedef struct bg_lang_pick {
    char sender[BG_LANG_TAG_MAX];    /* the sender part's language */
    char admin[BG_LANG_TAG_MAX];     /* the administrator's section's */
    const char *source;              /* "address", "domain", "content-language",
                                        "accept-language", "default" or "forced" */
    const bg_catalog *catalog;       /* bg_render_input.catalog */
    const bg_catalog *admin_catalog; /* bg_render_input.admin_catalog */
} bg_lang_pick;

/* Choose for one bounce. sender_addr: the bounced message's sender (the
 * report's recipient), "" when unknown; sender_domain: its domain when the
 * address is not known (may be ""). msg/len and b: the report, for the
 * returned message's headers (b may be NULL). Never fails: a language
 * whose catalogue cannot be loaded falls back to the default one. */
void bg_lang_choose(bg_lang *l, const char *sender_addr, const char *sender_domain,
                    const char *msg, size_t len, const bg_bounce *b, bg_lang_pick *out);

/* The same with the sender's language given (the CLI's --lang); the
 * administrator's section still follows admin_language. */
void bg_lang_force(bg_lang *l, const char *lang, const char *sender_addr,
                   const char *sender_domain, bg_lang_pick *out);

/* The best language with a catalogue in a Content-Language or
 * Accept-Language value (q-values honoured when accept is 1), written to
 * out; 0 when none. data_dir as for bg_catalog_available. */
int bg_lang_from_header(const char *value, int accept, const char *data_dir, char *out,
                        size_t outlen);

/* 1 when the glob pattern (* any run, ? one character, ASCII case
 * ignored) matches the whole of s. */
int bg_lang_glob(const char *pattern, const char *s);

#endif
