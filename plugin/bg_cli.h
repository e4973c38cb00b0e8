/* bg_cli: shared pieces of the bounceguide command (a thin client of the
 * core). Each subcommand lives in plugin/bg_cli_<name>.c. */
#ifndef BG_CLI_H
#define BG_CLI_H

#include <stddef.h>
#include "bg_config.h"

/* Read a whole file ("-" = stdin) into a malloc'd buffer (NUL-terminated).
 * max is the size limit; on failure returns NULL and prints a clear
 * "bounceguide: FILE: reason" line on stderr. */
char *bg_cli_read_file(const char *path, size_t max, size_t *len);

/* A time given on the command line: ISO 8601 or RFC 5322 (as
 * bg_store_parse_time), unix seconds, or an age (30d, 12h, 2w, 90min:
 * that long before now). 0 with *t set, or -1. */
int bg_cli_parse_when(const char *v, long long now, long long *t);

/* The --rules FILE / --config FILE options shared by subcommands are parsed
 * by each subcommand; these are the defaults. */
#define BG_CLI_DEFAULT_CONFIG "/etc/exim4/bounceguide.conf"

/* Subcommands: argc/argv start at the subcommand name. Return the exit code. */
int bg_cli_classify(int argc, char **argv);
int bg_cli_rules(int argc, char **argv);
int bg_cli_render(int argc, char **argv);
int bg_cli_suppress(int argc, char **argv);
int bg_cli_diagnose(int argc, char **argv);
int bg_cli_guidance(int argc, char **argv);
int bg_cli_config(int argc, char **argv);
int bg_cli_report(int argc, char **argv); /* report and guard */

/* The plugin config for a subcommand, by the rules Exim's plugin uses:
 * path NULL = the default file, whose absence means the defaults; a file
 * that cannot be read or parsed, or has a value of the wrong type, is
 * refused (NULL, the problems printed on stderr). Warnings are printed. */
bg_config *bg_cli_config_load(const char *path);

#endif
