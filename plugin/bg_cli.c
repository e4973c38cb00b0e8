/* bg_cli: the bounceguide command: dispatch to the subcommands.
 * It uses only the core's public headers, like the Exim adapter. */
#include "bg_cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bg_buf.h"
#include "bg_log.h"
#include "bg_store.h"
#include "bg_store_fleet.h"

static void bg_cli_log(bg_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    static const char *const names[] = {"debug", "info", "warning", "error"};
    if (level == BG_LOG_DEBUG && !getenv("BG_DEBUG"))
        return;
    fprintf(stderr, "bounceguide: %s: %s\n", names[level], msg);
}

char *bg_cli_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bounceguide: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    bg_buf b;
    bg_buf_init(&b);
    b.limit = max;
    char chunk[65536];
    size_t n;
    int over = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (bg_buf_add(&b, chunk, n) < 0) {
            over = 1;
            break;
        }
    }
    int rerr = ferror(f);
    if (f != stdin)
        fclose(f);
    if (rerr) {
        fprintf(stderr, "bounceguide: %s: read error: %s\n", path, strerror(errno));
        bg_buf_free(&b);
        return NULL;
    }
    if (over) {
        fprintf(stderr, "bounceguide: %s: larger than the %zu MiB limit; not read\n", path,
                max >> 20);
        bg_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return bg_buf_take(&b);
}

int bg_cli_parse_when(const char *v, long long now, long long *t)
{
    if (!v || !*v)
        return -1;
    const char *e = v;
    while (isdigit((unsigned char)*e))
        e++;
    if (e > v && *e && (strcmp(e, "s") == 0 || strcmp(e, "min") == 0 || strcmp(e, "h") == 0 ||
                        strcmp(e, "d") == 0 || strcmp(e, "w") == 0)) {
        long long d;
        if (bg_config_parse_num(v, &d) == 0 && d >= 0 && d <= now) {
            *t = now - d;
            return 0;
        }
        return -1;
    }
    return bg_store_parse_time(v, t);
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} bg_cli_commands[] = {
    {"classify", bg_cli_classify, "classify [--json] [--rules FILE] [FILE...]  classify bounces"},
    {"rules", bg_cli_rules,
     "rules check [--codes FILE] FILE | codes | dump | test [--deferred] TEXT  check, list, show or try the rules"},
    {"render", bg_cli_render, "render [--config FILE] [--lang LANG] [FILE]  print the enriched bounce"},
    {"suppress", bg_cli_suppress, "suppress list|show|add|remove|export|import|expire|stats|history|changes|sync|migrate"},
    {"report", bg_cli_report,
     "report [--since T] [--by domain|provider|category|day] [--format table|json|prometheus]  "
     "deliveries, bounces, complaints and their rates"},
    {"guard", bg_cli_report, "guard status [DOMAIN] | reset DOMAIN [--reason TEXT]  the bounce-rate guard"},
    {"diagnose", bg_cli_diagnose, "diagnose ...  SPF/DMARC/PTR findings for a sending setup"},
    {"guidance", bg_cli_guidance, "guidance check [--full] FILE...  check a guidance catalogue"},
    {"config", bg_cli_config, "config check [FILE] | keys [--json]  check a config file, list the keys"},
    {NULL, NULL, NULL},
};

static int bg_cli_usage(FILE *out)
{
    fprintf(out, "usage: bounceguide COMMAND [ARGS]\n\ncommands:\n");
    for (int i = 0; bg_cli_commands[i].name; i++)
        fprintf(out, "  %s\n", bg_cli_commands[i].help);
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    bg_log_set(bg_cli_log, NULL);
    if (argc < 2)
        return bg_cli_usage(stderr);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0)
        return bg_cli_usage(stdout);
    for (int i = 0; bg_cli_commands[i].name; i++)
        if (strcmp(argv[1], bg_cli_commands[i].name) == 0)
            return bg_cli_commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "bounceguide: unknown command '%s'\n", argv[1]);
    return bg_cli_usage(stderr);
}

int bg_cli_opt_value(const bg_cli_opt *table, void *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    for (int k = 0; table[k].name; k++) {
        size_t n = strlen(table[k].name);
        if (strncmp(a, table[k].name, n) != 0 || (a[n] != '\0' && a[n] != '='))
            continue;
        const char *v = a[n] == '=' ? a + n + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
        if (!v) {
            fprintf(stderr, "bounceguide: %s needs a value\n", table[k].name);
            return -1;
        }
        *(const char **)((char *)o + table[k].off) = v;
        return 1;
    }
    return 0;
}

bg_store *bg_cli_store_open(const char *db, int write)
{
    if (!write && !bg_store_is_central(db) && access(db, F_OK) != 0) {
        fprintf(stderr, "bounceguide: %s: no suppression database (nothing recorded yet?)\n", db);
        return NULL;
    }
    char err[600];
    bg_store_status st;
    bg_store *s = bg_store_open(db, 5000, write ? BG_STORE_CREATE : BG_STORE_RDONLY, &st, err, sizeof err);
    if (!s)
        fprintf(stderr, "bounceguide: %s\n", err);
    return s;
}
