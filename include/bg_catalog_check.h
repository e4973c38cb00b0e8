/* bg_catalog_check: does a guidance catalogue hold what the renderer reads?
 *
 * The loader accepts any well-formed section and key, so a misspelt
 * [unknown-usr] or "headlin" in an override would be ignored without a
 * word. This module knows the names: the sections are "common", every
 * category id and every section of the built-in English catalogue (the
 * reference: [auth] and whatever later modules add there); the keys are
 * those of the reference's section plus the category keys (subject,
 * headline, delay_headline, happened, delay_happened, do, delay_do, acts,
 * admin) and the [common] keys a category may replace. Used by
 * `bounceguide guidance check`, by the loader for an override (warnings)
 * and by the unit test over the shipped languages.
 */
#ifndef BG_CATALOG_CHECK_H
#define BG_CATALOG_CHECK_H

#include <stddef.h>
#include "bg_catalog.h"

/* One problem: where ("[unknown-usr]", "[common] headlin") and what
 * ("unknown section; did you mean [unknown-user]?"). */
typedef void (*bg_catalog_check_fn)(const char *where, const char *problem, void *ctx);

/* Check c. Always: unknown sections and keys (with the nearest known
 * name), empty texts, {rule} outside the administrator's texts,
 * placeholders that can have no value where the text is shown (the
 * words the renderer puts together -- duration_*, date*, label_colon --
 * have their own and only those), date_month without twelve lines. With
 * full = 1, c claims to be a whole language: every key of the reference
 * must be there, with as many lines, each line naming the same
 * placeholders as the English line, and the same "acts". Returns the
 * number of problems (fn may be NULL to only count them). */
size_t bg_catalog_check(const bg_catalog *c, int full, bg_catalog_check_fn fn, void *ctx);

#endif
