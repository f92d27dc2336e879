// The volunteers service's `civic <resource> <verb>` commands (see commands_points.c
// for the pattern). Empty until the service lands.
#include <stddef.h>

#include "cli.h"

static const cli_cmd cmds[] = {
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL},
};

const cli_table cli_volunteers = {NULL, cmds};
