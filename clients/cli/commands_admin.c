// The operators' `civic admin` commands, answered by every server: at a back
// end with --internal-key-file, at the gateway (its own store) with an admin
// token.
#include <stddef.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "cli.h"

#define A "/civic.rpc.v1.AdminService/"

static const cli_cmd cmds[] = {
    {"admin", "backup", A "Backup", "", NULL, 0, NULL, NULL,
     "Write a compacted hot copy of the server's store under its data directory "
     "(backups/<UTC time>/data.mdb); prints its path and size", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL},
};

const cli_table cli_admin = {&civic__rpc__v1__admin_service__descriptor, cmds};
