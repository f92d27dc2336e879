// The services the CLI knows, in the order `civic --help` lists them.
#include <stddef.h>

#include "cli.h"

extern const cli_table cli_points, cli_tasks, cli_volunteers, cli_gateway, cli_admin;

const cli_table *const cli_tables[] = {
    &cli_points,
    &cli_tasks,
    &cli_volunteers,
    &cli_gateway,
    &cli_admin,
    NULL,
};
