/* bg_catalog: the guidance texts of one language (conf/guidance/LANG.conf),
 * looked up by section (a category id, "common", "auth") and key, with
 * placeholders filled.
 *
 * Loading (built in, installed, an administrator's override), parsing and
 * lookup. The syntax is documented at the top of conf/guidance/en.conf.
 * Texts are plain text: the renderer escapes them for HTML after the
 * placeholders are filled. Which keys exist is bg_catalog_check's business;
 * which language a bounce gets is bg_lang's.
 */
#ifndef BG_CATALOG_H
#define BG_CATALOG_H

#include <stddef.h>
#include "bg_buf.h"

typedef struct bg_catalog bg_catalog; /* guidance texts of one language */

/* Load the catalogue for lang ("en"): the built-in text (conf/guidance/LANG.conf
 * compiled in), then entries from override_path when not NULL/"" (a missing or
 * broken override logs one line and is ignored; unknown sections and keys
 * in it log one line each). Unknown lang falls back to "en" with a log
 * line. NULL only when memory runs out. */
bg_catalog *bg_catalog_load(const char *lang, const char *override_path);

/* The same from installed files: DATA_DIR/guidance/LANG.conf (or, when
 * LANG has none, DATA_DIR/guidance/en.conf with a log line), then the
 * override. data_dir "" means the compiled-in catalogues (bg_catalog_load).
 * NULL, with why in err, when data_dir holds no usable catalogue: the Exim
 * adapter then leaves the bounce exactly as it was. */
bg_catalog *bg_catalog_load_dir(const char *data_dir, const char *lang, const char *override_path,
                                char *err, size_t errlen);

/* 1 when lang has a catalogue: DATA_DIR/guidance/LANG.conf exists, or
 * (data_dir "") one is compiled in. lang must be a plain tag ("de",
 * "pt-br"); anything else is 0. */
int bg_catalog_available(const char *data_dir, const char *lang);

void bg_catalog_free(bg_catalog *c);

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

/* 1 when the catalogue has that section. */
int bg_catalog_has_section(const bg_catalog *c, const char *section);

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

/* Call fn for every key of every section, in file order, with its lines
 * (bg_catalog_check and the completeness test walk a catalogue with it). */
void bg_catalog_each(const bg_catalog *c,
                     void (*fn)(const char *section, const char *key, const char *const *lines,
                                size_t n, void *ctx),
                     void *ctx);

#endif
