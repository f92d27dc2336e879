// The civic CLI's command table, and what its files share.
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

#include <stdint.h>

#include "civic_client.h"

typedef enum { OUT_TABLE, OUT_JSON, OUT_CSV } out_fmt;

// The global flags (civic.c parses them, with their environment variables).
typedef struct cli_globals {
    const char *addr;
    uint32_t timeout_ms;
    out_fmt out;
    const char *token;
    const char *key_file;
    const char *as; // principal:role
    const char *request_id;
    const char *idempotency_key;
    const char *tls_ca_file, *tls_cert_key_file, *tls_server_name; // for tls+tcp://
    int attempts; // for a call answered UNAVAILABLE; 0: the library's default
    civic_key key;
    char principal[128], role[32];
} cli_globals;

// civic.c. cli_g holds the global flags, set by main before any command
// runs. cli_die_usage prints a usage error naming `civic --help` and
// returns 2, the exit status for one.
extern cli_globals cli_g;
int cli_die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// cli_call.c. cli_open_channel opens *ch to --addr with the global flags;
// returns 0, or the exit status (the reason on stderr). cli_call makes one
// call with the global options. Unsigned identity (for a service in open
// mode) goes as metadata when --as is given without a key; a write sends
// idem as its idempotency key. Returns civic_call's result.
int cli_open_channel(civic_channel **ch);
int cli_call(civic_channel *ch, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **resp, int write,
             const char *idem, civic_status *st);
// cli_print_status writes a failed call's status and violations to stderr.
void cli_print_status(const civic_status *st);
// cli_idempotency_key writes the key for a write into out: --idempotency-key
// when given, else a fresh random one (hex).
void cli_idempotency_key(char *out, size_t n);
// cli_print_json prints j indented, keys in order, and releases it.
void cli_print_json(json_t *j);
// cli_print_reply prints resp as -o asks; with accumulate (a table or CSV of
// several pages) it appends resp's rows to acc instead, to print once.
void cli_print_reply(const ProtobufCMessage *resp, civic_table *acc, int accumulate);

// cli_run.c. cli_run_cmd runs c with the arguments after its verb and
// returns the exit status. cli_resolve maps a flag name to a field path: an
// alias, or the name with dashes as underscores, under the command's prefix.
int cli_run_cmd(const cli_cmd *c, int argc, char **argv);
void cli_resolve(const cli_cmd *c, const char *flag, char *out, size_t n);

// cli_import.c. cli_run_import makes c's call once per row of the CSV file
// (- for stdin) on ch; returns the exit status.
int cli_run_import(const cli_cmd *c, civic_channel *ch, const ProtobufCMethodDescriptor *md,
                   const char *file);

// cli_rpc.c: `civic health`, `civic call` and `civic describe`, each given
// the arguments after its name; each returns the exit status.
int cli_cmd_health(int argc, char **argv);
int cli_cmd_call(int argc, char **argv);
int cli_cmd_describe(int argc, char **argv);

#endif
