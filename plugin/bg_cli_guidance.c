/* bg_cli_guidance: `bounceguide guidance check [--full] FILE...`.
 *
 * Checks a guidance file the way the plugin will read it: the syntax
 * (bg_catalog_parse: the first error, with its line), then every problem
 * bg_catalog_check finds (unknown sections and keys, with the nearest known
 * name; empty texts; placeholders that can never have a value there). An
 * override (the default) may hold any subset of the texts; with --full
 * the file is a whole language (like conf/guidance/de.conf) and must have
 * every text of the built-in English catalogue, line for line, with the
 * same placeholders. Exit 0 when clean, 1 when a problem was found, 2 on
 * a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_catalog.h"
#include "bg_catalog_check.h"
#include "bg_cli.h"

#define BG_CLI_GUIDANCE_MAX (1u << 20)

static int bg_cli_guidance_usage(void)
{
    fprintf(stderr, "usage: bounceguide guidance check [--full] FILE...\n");
    return 2;
}

/* One problem, one line. */
static void bg_cli_guidance_print(const char *where, const char *problem, void *ctx)
{
    printf("%s: %s: %s\n", (const char *)ctx, where, problem);
}

/* Check one file; the number of problems (a syntax error counts one). */
static size_t bg_cli_guidance_file(const char *path, int full)
{
    size_t len = 0;
    char *text = bg_cli_read_file(path, BG_CLI_GUIDANCE_MAX, &len);
    if (!text)
        return 1;
    char err[512] = "";
    bg_catalog *c = bg_catalog_parse(NULL, text, len, path, err, sizeof err);
    free(text);
    if (!c) {
        printf("%s\n", err);
        return 1;
    }
    size_t n = bg_catalog_check(c, full, bg_cli_guidance_print, (void *)path);
    if (n == 0)
        printf("%s: ok (%s, %zu sections)\n", path, full ? "a whole language" : "an override",
               bg_catalog_sections(c));
    bg_catalog_free(c);
    return n;
}

int bg_cli_guidance(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "check") != 0)
        return bg_cli_guidance_usage();
    int i = 2, full = 0;
    if (strcmp(argv[i], "--full") == 0) {
        full = 1;
        i++;
    }
    if (i >= argc)
        return bg_cli_guidance_usage();
    size_t problems = 0;
    for (; i < argc; i++)
        problems += bg_cli_guidance_file(argv[i], full);
    return problems ? 1 : 0;
}
