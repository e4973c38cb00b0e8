/* bg_cli_render: `bounceguide render [--config FILE] [--rules FILE]
 * [--catalog FILE] [--sender-domain DOMAIN] [--sender ADDRESS]
 * [--lang LANG] [FILE|-]`.
 *
 * Prints the whole enriched message, as the Exim plugin would deliver it
 * (the same core calls: read, classify, choose the language, render,
 * apply). A message that is not a failure or delay report is printed
 * unchanged and stderr says why, so the command can sit in a pipe. Only
 * the public core API is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_classify.h"
#include "bg_cli.h"
#include "bg_config.h"
#include "bg_lang.h"
#include "bg_render.h"

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

/* The subcommand: load config, rules and catalogue; read, classify,
 * render and print one message. */
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

    char err[512] = "";
    bg_config *cfg = NULL;
    if (config_path) {
        cfg = bg_config_load(config_path, err, sizeof err);
        if (!cfg) {
            fprintf(stderr, "bounceguide: %s\n", err);
            return 1;
        }
    } else {
        cfg = bg_config_new();
    }
    if (!rules_path)
        rules_path = bg_config_get(cfg, NULL, "rules_file", "");
    bg_rules *rules = bg_rules_load(rules_path);
    /* --catalog replaces guidance_file (the default language's override) */
    char cerr[300] = "";
    bg_lang *langs = cfg ? bg_lang_new(cfg, catalog_path, cerr, sizeof cerr) : NULL;
    size_t len = 0;
    char *msg = NULL;
    bg_bounce *b = NULL;
    bg_verdict *v = NULL;
    bg_render_output out = {0};
    bg_buf dst;
    bg_buf_init(&dst);
    int rc = 1;
    if (cfg && rules && !langs && cerr[0]) {
        fprintf(stderr, "bounceguide: %s\n", cerr);
        goto done;
    }
    if (!cfg || !rules || !langs) {
        fprintf(stderr, "bounceguide: out of memory\n");
        goto done;
    }
    if (!(msg = bg_cli_read_file(file, BG_CLI_RENDER_MAX, &len)))
        goto done;
    bg_read_status st;
    if (!(b = bg_bounce_read(msg, len, NULL, &st))) {
        rc = bg_cli_render_passthrough(file, msg, len, bg_read_status_text(st));
        goto done;
    }
    v = calloc(b->nrcpt ? b->nrcpt : 1, sizeof *v);
    if (!v) {
        fprintf(stderr, "bounceguide: out of memory\n");
        goto done;
    }
    for (size_t r = 0; r < b->nrcpt; r++)
        bg_classify_rcpt(rules, b, &b->rcpts[r], &v[r]);
    /* the same choice as inside Exim: the bounced message's sender */
    if (!sender)
        sender = b->orig.return_path;
    bg_lang_pick pick;
    if (lang)
        bg_lang_force(langs, lang, sender, sender_domain, &pick);
    else
        bg_lang_choose(langs, sender, sender_domain, msg, len, b, &pick);
    bg_render_input in = {
        .msg = msg,
        .len = len,
        .bounce = b,
        .verdicts = v,
        .extra = NULL,
        .catalog = pick.catalog,
        .admin_catalog = pick.admin_catalog,
        .config = cfg,
        .sender_domain = sender_domain,
    };
    bg_render_status rs = bg_render(&in, &out, err, sizeof err);
    if (rs != BG_RENDER_OK) {
        rc = bg_cli_render_passthrough(file, msg, len, err[0] ? err : "not rendered");
        if (rs == BG_RENDER_ERROR)
            rc = 1;
        goto done;
    }
    if (bg_render_apply(msg, len, b, &out, &dst) < 0) {
        rc = bg_cli_render_passthrough(file, msg, len, "cannot apply the changes");
        rc = 1;
        goto done;
    }
    fwrite(dst.p, 1, dst.len, stdout);
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    bg_buf_free(&dst);
    bg_render_output_free(&out);
    free(v);
    bg_bounce_free(b);
    free(msg);
    bg_lang_free(langs);
    bg_rules_free(rules);
    bg_config_free(cfg);
    return rc;
}
