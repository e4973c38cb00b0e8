/* bg_cli_rules: placeholder until this subcommand lands. */
#include <stdio.h>

#include "bg_cli.h"

int bg_cli_rules(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "bounceguide: 'rules' is not available in this build\n");
    return 2;
}
