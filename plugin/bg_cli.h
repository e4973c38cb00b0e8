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

/* An option that takes a value ("--db FILE" or "--db=FILE"): stored as a
 * const char * at off in the subcommand's options struct. */
typedef struct bg_cli_opt {
    const char *name;
    size_t off;
} bg_cli_opt;

/* argv[*i] against table (ended by a NULL name): 1 when it is one of its
 * options (the value stored in o, *i past it), 0 when not, -1 when its
 * value is missing (said on stderr). */
int bg_cli_opt_value(const bg_cli_opt *table, void *o, int argc, char **argv, int *i);

/* The store a command works on: a file, or a fleet's central store
 * (postgresql://...). Reading a file that does not exist is refused with
 * a clear line (nothing is created); writing creates it. NULL when it
 * cannot be opened (said on stderr). */
struct bg_store;
struct bg_store *bg_cli_store_open(const char *db, int write);

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
