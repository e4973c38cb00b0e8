/* bg_cli_render: placeholder until this subcommand lands. */
#include <stdio.h>

#include "bg_cli.h"

int bg_cli_render(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "bounceguide: 'render' is not available in this build\n");
    return 2;
}
