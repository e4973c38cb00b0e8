/* bg_cli_render: `bounceguide render [--config FILE] [--rules FILE]
 * [--catalog FILE] [--sender-domain DOMAIN] [--sender ADDRESS]
 * [--lang LANG] [FILE|-]`.
 *
 * Prints the whole enriched message, as the Exim plugin would deliver it:
 * the same engine (bg_engine) reads, classifies, chooses the language and
 * renders, and the header lines printed are the very lines Exim adds. No
 * authentication diagnosis here (no DNS lookups from a preview; `bounceguide
 * diagnose` does those). A message that is not a failure or delay report
 * is printed unchanged and stderr says why, so the command can sit in a
 * pipe. Only the public core API is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_buf.h"
#include "bg_cli.h"
#include "bg_engine.h"

#define BG_CLI_RENDER_MAX (32u << 20)

/* Usage line; exit status 2 like the other subcommands. */
static int bg_cli_render_usage(void)
{
    fprintf(stderr, "usage: bounceguide render [--config FILE] [--rules FILE] [--catalog FILE]\n"
                    "                          [--sender-domain DOMAIN] [--sender ADDRESS]\n"
                    "                          [--lang LANG] [FILE|-]\n");
    return 2;
}

/* Write the message unchanged and say why on stderr. */
static int bg_cli_render_passthrough(const char *file, const char *msg, size_t len,
                                     const char *why)
{
    fprintf(stderr, "bounceguide: %s: printed unchanged: %s\n", file, why);
    fwrite(msg, 1, len, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* The subcommand: one engine (config, rules, catalogue) and one message
 * through it, as inside Exim; the new message is the input with the
 * engine's header lines and body (bg_engine_apply). */
int bg_cli_render(int argc, char **argv)
{
    const char *config_path = NULL, *rules_path = NULL, *catalog_path = NULL;
    const char *sender_domain = "", *sender = NULL, *lang = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules_path = argv[++i];
        else if (strcmp(argv[i], "--catalog") == 0 && i + 1 < argc)
            catalog_path = argv[++i];
        else if (strcmp(argv[i], "--sender-domain") == 0 && i + 1 < argc)
            sender_domain = argv[++i];
        else if (strcmp(argv[i], "--sender") == 0 && i + 1 < argc)
            sender = argv[++i];
        else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
            lang = argv[++i];
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (argv[i][0] == '-' && argv[i][1])
            return bg_cli_render_usage();
        else
            break;
    }
    if (argc - i > 1)
        return bg_cli_render_usage();
    const char *file = i < argc ? argv[i] : "-";

    /* --config names a file that must exist; without it the defaults */
    bg_engine_opts o = {.config_path = config_path, .rules_path = rules_path,
                        .catalog_path = catalog_path};
    bg_engine *e = bg_engine_new(&o);
    size_t len = 0;
    char *msg = NULL;
    bg_engine_result res;
    memset(&res, 0, sizeof res);
    bg_buf dst;
    bg_buf_init(&dst);
    int rc = 1;
    const char *why = "";
    if (!e) {
        fprintf(stderr, "bounceguide: out of memory\n");
        goto done;
    }
    if (!bg_engine_config(e)) {
        fprintf(stderr, "bounceguide: %s\n", bg_engine_why(e));
        goto done;
    }
    bg_engine_warn(e);
    if (!bg_engine_rules(e)) {
        fprintf(stderr, "bounceguide: out of memory\n");
        goto done;
    }
    if (!bg_engine_langs(e, &why)) {
        fprintf(stderr, "bounceguide: %s\n", why);
        goto done;
    }
    if (!(msg = bg_cli_read_file(file, BG_CLI_RENDER_MAX, &len)))
        goto done;
    /* the same choice as inside Exim: the bounced message's sender (NULL:
     * the returned message's Return-Path) */
    bg_engine_request rq = {.msg = msg, .len = len, .sender = sender,
                            .sender_domain = sender_domain, .lang = lang};
    bg_engine_outcome out = bg_engine_run(e, &rq, &res);
    if (out != BG_ENGINE_REWRITTEN) {
        rc = bg_cli_render_passthrough(file, msg, len, res.why);
        if (res.error)
            rc = 1;
        goto done;
    }
    if (bg_engine_apply(msg, len, &res, &dst) < 0) {
        bg_cli_render_passthrough(file, msg, len, "cannot apply the changes");
        goto done;
    }
    fwrite(dst.p, 1, dst.len, stdout);
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    bg_buf_free(&dst);
    bg_engine_result_free(&res);
    free(msg);
    bg_engine_free(e);
    return rc;
}
