/* bg_catalog: the guidance texts (conf/guidance/LANG.conf), looked up by
 * section (a category id or "common") and key, with placeholders filled.
 *
 * bg_catalog_load/bg_catalog_free are declared in bg_render.h (the renderer
 * is the only user); this header adds parsing and lookup. The syntax is
 * documented at the top of conf/guidance/en.conf. Texts are plain text:
 * the renderer escapes them for HTML after the placeholders are filled.
 */
#ifndef BG_CATALOG_H
#define BG_CATALOG_H

#include <stddef.h>
#include "bg_buf.h"
#include "bg_render.h"

/* One placeholder value; arrays of them end with a {NULL, NULL} row.
 * A NULL or "" value counts as "no value". */
typedef struct bg_catalog_var {
    const char *name;
    const char *value;
} bg_catalog_var;

/* Parse a catalogue text. With base != NULL the result is base with every
 * (section, key) of text replacing base's lines. NULL with err filled
 * ("origin:line: reason") on a syntax error or when memory runs out. */
bg_catalog *bg_catalog_parse(const bg_catalog *base, const char *text, size_t len,
                             const char *origin, char *err, size_t errlen);

/* The lines of key in section, falling back to section "common" when the
 * section lacks the key. Returns the count; *lines points into c. */
size_t bg_catalog_lines(const bg_catalog *c, const char *section, const char *key,
                        const char *const **lines);

/* 1 when section itself (without the "common" fallback) has key. */
int bg_catalog_has(const bg_catalog *c, const char *section, const char *key);

/* Append line with placeholders filled. Returns 1, or 0 (out unchanged)
 * when a placeholder it names has no value. */
int bg_catalog_expand(const char *line, const bg_catalog_var *vars, bg_buf *out);

/* Append the first line of key that expands (single-text keys). Returns 1,
 * or 0 when no line expands. */
int bg_catalog_text(const bg_catalog *c, const char *section, const char *key,
                    const bg_catalog_var *vars, bg_buf *out);

/* Number of sections (for tests and the coverage check). */
size_t bg_catalog_sections(const bg_catalog *c);

#endif
