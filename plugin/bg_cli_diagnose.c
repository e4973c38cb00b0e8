/* bg_cli_diagnose: placeholder until this subcommand lands. */
#include <stdio.h>

#include "bg_cli.h"

int bg_cli_diagnose(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "bounceguide: 'diagnose' is not available in this build\n");
    return 2;
}
