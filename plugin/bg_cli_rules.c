/* bg_cli_rules: `bounceguide rules check FILE | dump [--rules FILE] | test TEXT | codes`.
 *
 * check  validates an admin rules file against the built-in rules and lists
 *        every error with its line number (exit 1 when there is one); it
 *        also checks the status-code registry (conf/status-codes.conf, or
 *        the file given with --codes): every code needs an entry with its
 *        side and category;
 * codes  lists the registry: code, side, category, weight, RFC, meaning;
 * dump   prints the effective rules in precedence order, in the rules
 *        syntax (so the output can be read back);
 * test   classifies a reply text as Exim's transport event would give it.
 * A thin client: it uses only bg_classify.h and the rules' inside view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_classify.h"
#include "bg_cli.h"
#include "bg_registry.h"
#include "bg_stage.h"
#include "bg_rules_int.h"

#define BG_CLI_RULES_MAX (1u << 20)
#define BG_CLI_RULES_ERRORS 50

static int bg_cli_rules_usage(void)
{
    fprintf(stderr, "usage: bounceguide rules check [--codes FILE] FILE\n"
                    "       bounceguide rules codes\n"
                    "       bounceguide rules dump [--rules FILE]\n"
                    "       bounceguide rules test [--rules FILE] [--deferred] TEXT\n");
    return 2;
}

/* The line number in "origin:LINE: reason", 0 when there is none. */
static unsigned long bg_cli_rules_errline(const char *err, const char *origin)
{
    size_t ol = strlen(origin);
    if (strncmp(err, origin, ol) != 0 || err[ol] != ':')
        return 0;
    return strtoul(err + ol + 1, NULL, 10);
}

/* Start of line n (1-based) in text, or NULL. */
static char *bg_cli_rules_line(char *text, unsigned long n)
{
    char *p = text;
    for (unsigned long i = 1; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return p && *p ? p : NULL;
}

/* 1 when the line at p starts with keyword kw. */
static int bg_cli_rules_is(const char *p, const char *kw)
{
    size_t n = strlen(kw);
    while (*p == ' ' || *p == '\t')
        p++;
    return strncmp(p, kw, n) == 0 && (p[n] == ' ' || p[n] == '\t');
}

/* Turn the rule that holds line n (or line n alone, outside a rule) into
 * comments, so the next parse finds the following error and not a
 * consequence of this one. */
static void bg_cli_rules_blank(char *text, unsigned long n)
{
    unsigned long start = n;
    for (unsigned long k = n; k >= 1; k--) {
        const char *l = bg_cli_rules_line(text, k);
        if (l && bg_cli_rules_is(l, "rule")) {
            start = k;
            break;
        }
        if (l && bg_cli_rules_is(l, "disable"))
            break;
    }
    char *p = bg_cli_rules_line(text, start);
    if (!p)
        return;
    int block = bg_cli_rules_is(p, "rule");
    do {
        *p = '#';
        p = strchr(p, '\n');
        if (p)
            p++;
    } while (block && p && *p && !bg_cli_rules_is(p, "rule") && !bg_cli_rules_is(p, "disable"));
}

/* The registry: the built-in one, or a file (a changed copy, before a
 * build). Every code needs a side and a category ("unknown" is one). */
static int bg_cli_rules_check_codes(const char *codes_path)
{
    char err[300];
    static bg_registry_entry tab[BG_REGISTRY_MAX];
    long n;
    if (codes_path) {
        size_t len = 0;
        char *text = bg_cli_read_file(codes_path, BG_CLI_RULES_MAX, &len);
        if (!text)
            return 1;
        n = bg_registry_parse(text, tab, BG_REGISTRY_MAX, err, sizeof err);
        free(text);
    } else {
        size_t m;
        n = bg_registry_table(&m) ? (long)m : -1;
        snprintf(err, sizeof err, "no entries");
    }
    if (n <= 0) {
        printf("%s: %s\n", codes_path ? codes_path : "built-in status-codes.conf", err);
        return 1;
    }
    /* the registry numbers its codes without gaps: subjects 0-7, details
     * 0..last in each; a hole is a code without an entry */
    const bg_registry_entry *t = codes_path ? tab : bg_registry_table(&(size_t){0});
    unsigned last[8] = {0}, have[8][64] = {{0}};
    int bad = 0;
    for (long i = 0; i < n; i++)
        if (t[i].subject < 8 && t[i].detail < 64) {
            have[t[i].subject][t[i].detail] = 1;
            if (t[i].detail > last[t[i].subject])
                last[t[i].subject] = t[i].detail;
        }
    for (unsigned sub = 0; sub < 8; sub++)
        for (unsigned d = 0; d <= last[sub]; d++)
            if (!have[sub][d]) {
                printf("%s: X.%u.%u of the registry has no entry\n",
                       codes_path ? codes_path : "built-in status-codes.conf", sub, d);
                bad = 1;
            }
    if (bad)
        return 1;
    printf("%s: ok, %ld status codes\n", codes_path ? codes_path : "built-in status-codes.conf",
           n);
    return 0;
}

static int bg_cli_rules_check(const char *path, const char *codes_path)
{
    if (bg_cli_rules_check_codes(codes_path) != 0)
        return 1;
    size_t len = 0;
    char *text = bg_cli_read_file(path, BG_CLI_RULES_MAX, &len);
    if (!text)
        return 1;
    bg_rules *base = bg_rules_load(NULL);
    if (!base) {
        free(text);
        fprintf(stderr, "bounceguide: out of memory\n");
        return 1;
    }
    int errors = 0;
    for (int round = 0; round < BG_CLI_RULES_ERRORS; round++) {
        char err[400];
        bg_rules *r = bg_rules_parse(base, text, len, path, err, sizeof err);
        if (r) {
            if (!errors)
                printf("%s: ok, %zu rules in effect (%zu built in)\n", path, bg_rules_count(r),
                       bg_rules_count(base));
            bg_rules_free(r);
            break;
        }
        printf("%s\n", err);
        errors++;
        unsigned long line = bg_cli_rules_errline(err, path);
        if (!line)
            break;
        bg_cli_rules_blank(text, line);
    }
    bg_rules_free(base);
    free(text);
    return errors ? 1 : 0;
}

/* Print one rule in the rules syntax. */
static void bg_cli_rules_print(const bg_rule *ru)
{
    printf("# %s:%s (line %u)\nrule %s\ncategory %s\npriority %d\n",
           ru->admin ? "admin" : "builtin", ru->name, ru->line, ru->name, bg_rule_cat(ru)->id,
           ru->priority);
    for (size_t i = 0; i < ru->nphrase; i++)
        printf("phrase %s\n", bg_rule_phrases(ru)[i]);
    if (ru->nstatus) {
        printf("status");
        for (size_t i = 0; i < ru->nstatus; i++)
            printf(" %s", ru->status[i]);
        printf("\n");
    }
    if (ru->nreply) {
        printf("reply");
        for (size_t i = 0; i < ru->nreply; i++)
            printf(" %s", ru->reply[i]);
        printf("\n");
    }
    if (ru->nparser) {
        printf("parser");
        for (size_t i = 0; i < ru->nparser; i++)
            printf(" %s", ru->parser[i]);
        printf("\n");
    }
    if (ru->nmta) {
        printf("mta");
        for (size_t i = 0; i < ru->nmta; i++)
            printf(" %s", ru->mta[i]);
        printf("\n");
    }
    if (ru->ntype) {
        printf("type");
        for (size_t i = 0; i < ru->ntype; i++)
            printf(" %s", ru->type[i]);
        printf("\n");
    }
    if (ru->stage) {
        printf("stage");
        for (unsigned bit = 1; bit <= BG_STAGE_DATA; bit <<= 1)
            if (ru->stage & bit)
                printf(" %s", bg_stage_name(bit));
        printf("\n");
    }
    if (ru->suppress >= 0)
        printf("suppress %s\n", bg_suppress_name((bg_suppress)ru->suppress));
    if (ru->side >= 0)
        printf("side %s\n", bg_side_name((bg_side)ru->side));
    printf("\n");
}

int bg_cli_rules(int argc, char **argv)
{
    if (argc < 2)
        return bg_cli_rules_usage();
    const char *sub = argv[1];
    if (strcmp(sub, "check") == 0) {
        if (argc == 5 && strcmp(argv[2], "--codes") == 0)
            return bg_cli_rules_check(argv[4], argv[3]);
        if (argc != 3)
            return bg_cli_rules_usage();
        return bg_cli_rules_check(argv[2], NULL);
    }
    if (strcmp(sub, "codes") == 0 && argc == 2) {
        size_t n;
        const bg_registry_entry *t = bg_registry_table(&n);
        for (size_t k = 0; k < n; k++)
            printf("X.%u.%u\t%s\t%s|%s\t%d\t%s\t%s\n", t[k].subject, t[k].detail,
                   bg_side_name(t[k].side), t[k].cat5 ? t[k].cat5->id : "unknown",
                   t[k].cat4 ? t[k].cat4->id : "unknown", t[k].weight, t[k].rfc, t[k].meaning);
        return n ? 0 : 1;
    }
    const char *path = NULL;
    int deferred = 0, i = 2;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--deferred") == 0)
            deferred = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return bg_cli_rules_usage();
        else
            break;
    }
    bg_rules *r = bg_rules_load(path);
    if (!r) {
        fprintf(stderr, "bounceguide: out of memory\n");
        return 1;
    }
    int rc = 0;
    if (strcmp(sub, "dump") == 0 && i == argc) {
        printf("# %zu rules in precedence order (first match decides)\n\n", bg_rules_count(r));
        for (size_t k = 0; k < bg_rules_count(r); k++)
            bg_cli_rules_print(bg_rules_at(r, k));
    } else if (strcmp(sub, "test") == 0 && i + 1 == argc) {
        bg_verdict v;
        bg_classify_text(r, argv[i], deferred, &v);
        printf("category=%s status=%s reply=%d permanent=%s suppress=%s rule=%s side=%s%s\n",
               v.category->id, v.status[0] ? v.status : "-", v.reply_code,
               v.permanent ? "yes" : "no", bg_suppress_name(v.suppress), v.rule,
               bg_side_name(v.side), v.gave_up ? " gave_up" : "");
    } else {
        rc = bg_cli_rules_usage();
    }
    bg_rules_free(r);
    return rc;
}
