/* bg_catalog_int: what the build knows about the compiled-in catalogues,
 * for bg_catalog.c. tools/rulesgen.c writes it into the same generated
 * image as the rules (build/gen/bg_rules_image.c): per language the text's
 * length, its FNV-1a hash and where each [section] starts and ends, so a
 * fresh process neither measures nor scans the 35 KB text (every page it
 * touches costs) and an installed copy is recognised by one hash. A weak
 * reference, like the rules image: without it bg_catalog scans the text.
 * Not a public header.
 */
#ifndef BG_CATALOG_INT_H
#define BG_CATALOG_INT_H

#include <stddef.h>
#include <stdint.h>

#define BG_CAT_NAME_MAX 48 /* section and key names */

typedef struct bg_cat_image_section {
    char name[BG_CAT_NAME_MAX];
    uint32_t start, end; /* byte range of "[name]" and its keys */
} bg_cat_image_section;

typedef struct bg_catalog_image {
    const char *name; /* "guidance/en.conf"; NULL ends the table */
    size_t len;
    uint64_t hash;    /* bg_catalog_hash of the text */
    size_t nsec;
    const bg_cat_image_section *sec;
} bg_catalog_image;

extern const bg_catalog_image bg_catalog_images[] __attribute__((weak));

/* 64-bit FNV-1a: tells an installed catalogue that is the compiled-in one. */
uint64_t bg_catalog_hash(const char *p, size_t len);

/* The section ranges of a catalogue text, as bg_catalog.c finds them (for
 * the generator): calls fn for each; 0, or -1 when fn failed. */
int bg_catalog_sections_of(const char *text, size_t len,
                           int (*fn)(const char *name, size_t start, size_t end, void *ctx),
                           void *ctx);

#endif
