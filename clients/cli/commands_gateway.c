// The gateway's own `civic` commands: tokens and who-am-I.
#include <stddef.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "cli.h"

#define G "/civic.gateway.v1.GatewayService/"

static const cli_cmd cmds[] = {
    {"tokens", "create", G "CreateToken", "", NULL, CMD_WRITE, NULL, "ttl=ttl_seconds",
     "Issue a token (shown once): --principal, --role admin|inspector|unit|volunteer|viewer, "
     "--ttl SECONDS, --note"},
    {"tokens", "list", G "ListTokens", "", NULL, CMD_LIST, NULL, NULL,
     "List tokens (never their text): --include-inactive true"},
    {"tokens", "revoke", G "RevokeToken", "", "id", CMD_WRITE, NULL, NULL, "Revoke a token: ID"},
    {"whoami", "show", G "WhoAmI", "", NULL, 0, NULL, NULL, "Who the gateway takes you for"},
    {"audit", "list", G "ListEvents", "", NULL, 0, NULL, "after=after_seq",
     "The gateway's audit log: tokens created and revoked (--after-seq N)"},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL},
};

const cli_table cli_gateway = {&civic__gateway__v1__gateway_service__descriptor, cmds};
