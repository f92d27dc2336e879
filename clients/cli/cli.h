// The civic CLI's command table.
#ifndef CLI_H
#define CLI_H

enum {
    CMD_WRITE = 1,  // has side effects: sent with an idempotency key
    CMD_MASK = 2,   // an update: the flags given become the update_mask
    CMD_LIST = 4,   // paged: --all follows next_page_token
    CMD_IMPORT = 8, // one call per row of a CSV file
    CMD_DEFAULT = 16, // what `civic RESOURCE` runs without a verb (a read)
};

typedef struct cli_cmd {
    const char *resource, *verb;
    const char *method;     // full method name
    const char *prefix;     // where --FIELD flags land in the request ("point.")
    const char *positional; // the field the first argument sets, or NULL
    int flags;
    const char *defaults;   // "path=value,…" applied before the flags
    const char *aliases;    // "flag=field,…" short names for flags
    const char *help;
    // A command that runs a gateway flow names the service's own method
    // here: pointed straight at the service (which has no such flow, and
    // answers UNIMPLEMENTED), the CLI makes this call instead, with flags
    // under direct_prefix.
    const char *direct;
    const char *direct_prefix;
} cli_cmd;

#include <protobuf-c/protobuf-c.h>

// A service's commands: its descriptor (to build requests and read replies)
// and its command lines, ended by an all-NULL entry.
typedef struct cli_table {
    const ProtobufCServiceDescriptor *service;
    const cli_cmd *cmds;
} cli_table;

// Every service's table; commands_<service>.c defines each. The list is in
// cli_tables.c, the one place a new service is added.
extern const cli_table *const cli_tables[];

// Exit status of a call answered in part: the dashboard with a part
// unavailable (0 OK, 1 the call failed, 2 a usage error).
#define CLI_EXIT_PARTIAL 3

#include <stdio.h>

#include "civic_msg.h"

// dashboard.c. cli_dashboard_cells sets the cells of t (made from resp by
// civic_msg_table) that resp does not really know to blank: the columns of
// an unavailable part, and the works percent of an area without works. Does
// nothing unless resp is a civic.gateway.v1.GetDashboardResponse.
void cli_dashboard_cells(const ProtobufCMessage *resp, civic_table *t, const char *blank);
// cli_dashboard_parts writes a line to err for each unavailable part of a
// dashboard and returns how many there are (0 for any other message).
int cli_dashboard_parts(const ProtobufCMessage *resp, FILE *err);

#endif
