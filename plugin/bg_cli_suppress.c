/* bg_cli_suppress: placeholder until this subcommand lands. */
#include <stdio.h>

#include "bg_cli.h"

int bg_cli_suppress(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "bounceguide: 'suppress' is not available in this build\n");
    return 2;
}
