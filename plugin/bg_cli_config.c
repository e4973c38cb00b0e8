/* bg_cli_config: `bounceguide config` -- check a config file against the key
 * table before it is installed, and list the keys.
 *
 *   config check [FILE]   every problem as FILE:LINE: error|warning: text;
 *                         exit 0 clean, 1 on any problem, 2 on usage
 *   config keys [--json]  name, type, default, scope and area of every key
 *
 * Also the config loader the other subcommands share (bg_cli_config_load):
 * the same rules as inside Exim (plugin/bg_exim_conf.c) -- a missing file
 * at the default path is the defaults, anything broken is refused.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bg_buf.h"
#include "bg_cli.h"
#include "bg_config.h"
#include "bg_json.h"

static int bg_cli_config_usage(FILE *out)
{
    fprintf(out,
            "usage: bounceguide config check [FILE]   check FILE (default %s) against the keys\n"
            "       bounceguide config keys [--json]   every key: name, type, default, scope\n",
            BG_CLI_DEFAULT_CONFIG);
    return out == stdout ? 0 : 2;
}

typedef struct {
    const char *path;
    FILE *out;
    int warnings;
} bg_cli_issue_ctx;

static void bg_cli_config_issue(bg_config_severity sev, unsigned line, const char *msg, void *ctx)
{
    bg_cli_issue_ctx *ic = ctx;
    if (sev == BG_CFG_WARNING)
        ic->warnings++;
    if (ic->out)
        fprintf(ic->out, "%s:%u: %s: %s\n", ic->path, line, sev == BG_CFG_ERROR ? "error" : "warning",
                msg);
}

bg_config *bg_cli_config_load(const char *path)
{
    int given = path != NULL;
    if (!path)
        path = BG_CLI_DEFAULT_CONFIG;
    if (!given && access(path, F_OK) != 0)
        return bg_config_new(); /* no file at the default path: the defaults */
    char err[400];
    bg_config *c = bg_config_load(path, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bounceguide: config broken: %s\n", err);
        return NULL;
    }
    bg_cli_issue_ctx ic = {path, stderr, 0};
    if (bg_config_keys_check(c, bg_cli_config_issue, &ic) > 0) {
        fprintf(stderr, "bounceguide: config broken: %s (fix the errors above; "
                        "Exim's plugin ignores this file as a whole too)\n", path);
        bg_config_free(c);
        return NULL;
    }
    return c;
}

static int bg_cli_config_check(const char *path)
{
    char err[400];
    bg_config *c = bg_config_load(path, err, sizeof err);
    if (!c) {
        /* err is "PATH:LINE: reason" or "PATH: reason" */
        printf("%s\n", err);
        printf("%s: broken: Exim's plugin leaves bounces unchanged and suppresses nothing with it\n",
               path);
        return 1;
    }
    bg_cli_issue_ctx ic = {path, stdout, 0};
    int errors = bg_config_keys_check(c, bg_cli_config_issue, &ic);
    size_t lines = bg_config_entries(c, NULL, NULL);
    bg_config_free(c);
    if (errors > 0) {
        printf("%s: broken (%d error(s), %d warning(s)): Exim's plugin leaves bounces unchanged "
               "and suppresses nothing with it\n",
               path, errors, ic.warnings);
        return 1;
    }
    if (ic.warnings > 0) {
        printf("%s: %d warning(s): the lines named above are ignored\n", path, ic.warnings);
        return 1;
    }
    printf("%s: ok (%zu setting(s))\n", path, lines);
    return 0;
}

static int bg_cli_config_keys(int json)
{
    size_t n;
    const bg_config_key *k = bg_config_keys_table(&n);
    if (json) {
        bg_buf b;
        bg_buf_init(&b);
        bg_buf_addc(&b, '[');
        for (size_t i = 0; i < n; i++) {
            bg_buf_adds(&b, i ? ",{\"name\":" : "{\"name\":");
            bg_json_str(&b, k[i].name);
            bg_buf_adds(&b, ",\"type\":");
            bg_json_str(&b, bg_config_type_name(k[i].type));
            bg_buf_adds(&b, ",\"default\":");
            bg_json_str(&b, k[i].dflt);
            bg_buf_adds(&b, ",\"scope\":");
            bg_json_str(&b, k[i].scope == BG_CFG_GLOBAL ? "global" : "per-domain");
            bg_buf_adds(&b, ",\"area\":");
            bg_json_str(&b, k[i].area);
            bg_buf_adds(&b, ",\"meaning\":");
            bg_json_str(&b, k[i].what);
            bg_buf_addc(&b, '}');
        }
        bg_buf_adds(&b, "]\n");
        int ok = !bg_buf_failed(&b);
        if (ok)
            fputs(bg_buf_str(&b), stdout);
        bg_buf_free(&b);
        return ok ? 0 : 1;
    }
    printf("%-28s %-12s %-12s %-10s %s\n", "KEY", "TYPE", "DEFAULT", "SCOPE", "MEANING");
    for (size_t i = 0; i < n; i++) {
        const char *d = k[i].dflt[0] ? k[i].dflt : "-";
        printf("%-28s %-12s %-12s %-10s %s\n", k[i].name, bg_config_type_name(k[i].type),
               strlen(d) > 12 ? "(see below)" : d, k[i].scope == BG_CFG_GLOBAL ? "global" : "per-domain",
               k[i].what);
        if (strlen(d) > 12)
            printf("%-28s default: %s\n", "", d);
    }
    return 0;
}

int bg_cli_config(int argc, char **argv)
{
    if (argc < 2)
        return bg_cli_config_usage(stderr);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
        return bg_cli_config_usage(stdout);
    if (strcmp(argv[1], "check") == 0 && argc <= 3)
        return bg_cli_config_check(argc == 3 ? argv[2] : BG_CLI_DEFAULT_CONFIG);
    if (strcmp(argv[1], "keys") == 0 && (argc == 2 || (argc == 3 && strcmp(argv[2], "--json") == 0)))
        return bg_cli_config_keys(argc == 3);
    return bg_cli_config_usage(stderr);
}
