// civic: the command-line client. `civic [global flags] <resource> <verb>
// [ID] [--field value]…`: every command is one method call whose request is
// built from flags by field name, and whose reply prints as a table, JSON or
// CSV. Exit status 0 only for OK; otherwise the status name and message go
// to stderr (1 for a failed call, 2 for a usage error, CLI_EXIT_PARTIAL for
// a dashboard answered in part).
//
// This file is main: the global flags and their environment variables, the
// usage text, and which command the rest of the line names. A command of the
// tables runs in cli_run.c; health, describe and call are in cli_rpc.c.
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

// main fills it from the global flags and the environment, before any
// command runs; the other files only read it.
cli_globals cli_g;

// FOR_EACH_CMD(c) runs the statement after it for every command of every
// service.
#define FOR_EACH_CMD(c)                                                                            \
    for (const cli_table *const *t_ = cli_tables; *t_ != NULL; t_++)                              \
        for (const cli_cmd *c = (*t_)->cmds; c->resource != NULL; c++)

static void
usage(FILE *f)
{
    fprintf(f,
            "Usage: civic [GLOBAL FLAGS] RESOURCE VERB [ID] [--FIELD VALUE]...\n"
            "       civic health [SERVICE]\n"
            "       civic describe [SERVICE|METHOD|MESSAGE]\n"
            "       civic call METHOD [JSON|@FILE|-]   any method, request and reply as JSON\n"
            "                                          (protobuf's canonical JSON mapping)\n\n"
            "Global flags:\n"
            "  --addr URL               server or gateway [CIVIC_ADDR; default tcp://127.0.0.1:7000]\n"
            "  --timeout DURATION       deadline per call: 500ms, 5s, 1m [default 10s]\n"
            "  -o, --output FORMAT      table, json or csv [default table]\n"
            "  --token TOKEN            bearer token [CIVIC_TOKEN; or the file CIVIC_TOKEN_FILE,\n"
            "                           default ~/.config/civic/token]\n"
            "  --internal-key-file F    sign identity with the internal key (operators calling a\n"
            "                           back end directly) [CIVIC_INTERNAL_KEY_FILE]\n"
            "  --as PRINCIPAL:ROLE      identity to sign (or to send unsigned to a service in open\n"
            "                           mode); default admin:admin with a key\n"
            "  --request-id ID          for logs and tracing\n"
            "  --idempotency-key KEY    for a write; one is generated when not given\n"
            "  --attempts N             tries of a call answered UNAVAILABLE, backing off\n"
            "                           between them within the deadline [default 5; 1: none]\n"
            "  --tls-ca-file F          for tls+tcp://: the CA the server's certificate must\n"
            "                           chain to [CIVIC_TLS_CA_FILE]\n"
            "  --tls-cert-key-file F    this client's certificate then key, PEM, for a server\n"
            "                           that asks for one [CIVIC_TLS_CERT_KEY_FILE]\n"
            "  --tls-server-name NAME   the name the server's certificate is checked for\n"
            "                           [CIVIC_TLS_SERVER_NAME; default the address's host]\n\n"
            "Commands:\n");
    FOR_EACH_CMD(c)
        fprintf(f, "  %-10s %-9s %s\n", c->resource, c->verb, c->help);
    fprintf(f, "\nFlags name request fields: --name X, --grid-id 3, --location.lat 33.6,\n"
               "--responsible[0].role manager; --set PATH=VALUE does the same. Lists take\n"
               "--page-size, --page-token and --all; -o csv exports every page unless\n"
               "--page-size or --page-token asks for one. Enum values by short name: --kind farmers-market.\n"
               "dashboard, events and whoami need no verb (civic dashboard); --self picks a\n"
               "verb's self form (civic volunteers register --self = volunteers register-self).\n\n"
               "Exit status: 0 OK; 1 the call failed (status and message on stderr); 2 a usage\n"
               "error; 3 answered in part (the dashboard with a service down: its columns show\n"
               "a dash and stderr names it).\n");
}

int
cli_die_usage(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "civic: %s (see civic --help)\n", msg);
    return 2;
}

static int
parse_duration(const char *s, uint32_t *ms)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    double mult = 1000;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else
        return -1;
    *ms = (uint32_t) (v * mult);
    return *ms == 0 ? -1 : 0;
}

// read_token_file reads the token from CIVIC_TOKEN_FILE, else from
// ~/.config/civic/token, if either exists.
static const char *
read_token_file(char *buf, size_t n)
{
    char path[512];
    const char *f = getenv("CIVIC_TOKEN_FILE");
    if (f == NULL || f[0] == '\0') {
        const char *home = getenv("HOME");
        if (home == NULL)
            return NULL;
        snprintf(path, sizeof path, "%s/.config/civic/token", home);
        f = path;
    }
    FILE *fp = fopen(f, "r");
    if (fp == NULL)
        return NULL;
    size_t len = fread(buf, 1, n - 1, fp);
    fclose(fp);
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    return len ? buf : NULL;
}

// default_cmd returns the command a resource runs without a verb
// (CMD_DEFAULT), or NULL.
static const cli_cmd *
default_cmd(const char *res)
{
    FOR_EACH_CMD(c) {
        if (strcmp(c->resource, res) == 0 && (c->flags & CMD_DEFAULT))
            return c;
    }
    return NULL;
}

// take_self removes a --self flag (bare, =true/=false, or followed by true or
// false) from argv[from..argc). Returns 1 if it asked for the self form, 0
// if there was none or it said false, -1 for another value.
static int
take_self(int *argc, char **argv, int from)
{
    for (int i = from; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--self", 6) != 0 || (a[6] != '\0' && a[6] != '='))
            continue;
        const char *v = a[6] == '=' ? a + 7 : NULL;
        int n = 1;
        if (v == NULL && i + 1 < *argc && (strcmp(argv[i + 1], "true") == 0 || strcmp(argv[i + 1], "false") == 0)) {
            v = argv[i + 1];
            n = 2;
        }
        int self = v == NULL || strcmp(v, "true") == 0 ? 1 : strcmp(v, "false") == 0 ? 0 : -1;
        memmove(&argv[i], &argv[i + n], (size_t) (*argc - i - n) * sizeof *argv);
        *argc -= n;
        return self;
    }
    return 0;
}

static int
resource_help(const char *res)
{
    FOR_EACH_CMD(c) {
        if (strcmp(c->resource, res) == 0)
            printf("civic %s %-9s %s\n", c->resource, c->verb, c->help);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    // Tables align by display width: wcwidth needs a UTF-8 locale, which
    // containers often lack; C.UTF-8 is always on Debian.
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        setlocale(LC_CTYPE, "");
    cli_g.addr = getenv("CIVIC_ADDR") ? getenv("CIVIC_ADDR") : "tcp://127.0.0.1:7000";
    cli_g.token = getenv("CIVIC_TOKEN");
    static char token_buf[256];
    if (cli_g.token == NULL || cli_g.token[0] == '\0')
        cli_g.token = read_token_file(token_buf, sizeof token_buf);
    cli_g.key_file = getenv("CIVIC_INTERNAL_KEY_FILE");
    if (cli_g.key_file && !cli_g.key_file[0])
        cli_g.key_file = NULL;
    cli_g.tls_ca_file = getenv("CIVIC_TLS_CA_FILE");
    cli_g.tls_cert_key_file = getenv("CIVIC_TLS_CERT_KEY_FILE");
    cli_g.tls_server_name = getenv("CIVIC_TLS_SERVER_NAME");
    cli_g.timeout_ms = 10000;
    // Global flags may stand anywhere; take them out, keep the rest in order.
    int n = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            if (n == 1) {
                usage(stdout);
                return 0;
            }
            argv[n++] = argv[i];
            continue;
        }
        int global = strcmp(a, "--addr") == 0 || strcmp(a, "--timeout") == 0 ||
                     strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
                     strcmp(a, "--token") == 0 || strcmp(a, "--internal-key-file") == 0 ||
                     strcmp(a, "--as") == 0 || strcmp(a, "--request-id") == 0 ||
                     strcmp(a, "--idempotency-key") == 0 || strcmp(a, "--tls-ca-file") == 0 ||
                     strcmp(a, "--tls-cert-key-file") == 0 || strcmp(a, "--tls-server-name") == 0 ||
                     strcmp(a, "--attempts") == 0;
        if (!global) {
            argv[n++] = argv[i];
            continue;
        }
        if (v == NULL)
            return cli_die_usage("%s needs a value", a);
        i++;
        if (strcmp(a, "--addr") == 0) {
            cli_g.addr = v;
        } else if (strcmp(a, "--timeout") == 0) {
            if (parse_duration(v, &cli_g.timeout_ms) != 0)
                return cli_die_usage("bad --timeout \"%s\"", v);
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (strcmp(v, "table") == 0)
                cli_g.out = OUT_TABLE;
            else if (strcmp(v, "json") == 0)
                cli_g.out = OUT_JSON;
            else if (strcmp(v, "csv") == 0)
                cli_g.out = OUT_CSV;
            else
                return cli_die_usage("-o takes table, json or csv, not \"%s\"", v);
        } else if (strcmp(a, "--token") == 0) {
            cli_g.token = v;
        } else if (strcmp(a, "--internal-key-file") == 0) {
            cli_g.key_file = v;
        } else if (strcmp(a, "--as") == 0) {
            cli_g.as = v;
        } else if (strcmp(a, "--request-id") == 0) {
            cli_g.request_id = v;
        } else if (strcmp(a, "--tls-ca-file") == 0) {
            cli_g.tls_ca_file = v;
        } else if (strcmp(a, "--tls-cert-key-file") == 0) {
            cli_g.tls_cert_key_file = v;
        } else if (strcmp(a, "--tls-server-name") == 0) {
            cli_g.tls_server_name = v;
        } else if (strcmp(a, "--attempts") == 0) {
            char *end;
            long tries = strtol(v, &end, 10);
            if (*end != '\0' || tries < 1 || tries > 100)
                return cli_die_usage("--attempts takes a number from 1 to 100, not \"%s\"", v);
            cli_g.attempts = (int) tries;
        } else {
            cli_g.idempotency_key = v;
        }
    }
    argc = n;
    int i = 1;
    snprintf(cli_g.principal, sizeof cli_g.principal, "admin");
    snprintf(cli_g.role, sizeof cli_g.role, "admin");
    if (cli_g.as != NULL) {
        const char *colon = strrchr(cli_g.as, ':');
        if (colon == NULL)
            return cli_die_usage("--as takes PRINCIPAL:ROLE, not \"%s\"", cli_g.as);
        snprintf(cli_g.principal, sizeof cli_g.principal, "%.*s", (int) (colon - cli_g.as), cli_g.as);
        snprintf(cli_g.role, sizeof cli_g.role, "%s", colon + 1);
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *res = argv[i++];
    if (strcmp(res, "health") == 0)
        return cli_cmd_health(argc - i, argv + i);
    if (strcmp(res, "describe") == 0)
        return cli_cmd_describe(argc - i, argv + i);
    if (strcmp(res, "call") == 0)
        return cli_cmd_call(argc - i, argv + i);
    const char *verb = i < argc ? argv[i++] : NULL;
    // Some resources need no verb: `civic dashboard --day D`.
    const cli_cmd *dflt = default_cmd(res);
    if (dflt != NULL && (verb == NULL || (verb[0] == '-' && strcmp(verb, "--help") != 0))) {
        if (verb != NULL)
            i--;
        return cli_run_cmd(dflt, argc - i, argv + i);
    }
    // `VERB --self` is the command VERB-self: `volunteers register --self`.
    char self_verb[64];
    int self = take_self(&argc, argv, i);
    if (self < 0)
        return cli_die_usage("--self takes no value, or true or false");
    if (self && verb != NULL) {
        snprintf(self_verb, sizeof self_verb, "%s-self", verb);
        verb = self_verb;
    }
    int known = 0;
    FOR_EACH_CMD(c) {
        if (strcmp(c->resource, res) != 0)
            continue;
        known = 1;
        if (verb && (strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0))
            return resource_help(res);
        if (verb && strcmp(c->verb, verb) == 0) {
            if (i < argc && strcmp(argv[i], "--help") == 0) {
                printf("civic %s %s: %s\n", c->resource, c->verb, c->help);
                return 0;
            }
            return cli_run_cmd(c, argc - i, argv + i);
        }
    }
    if (!known)
        return cli_die_usage("unknown resource \"%s\"", res);
    return cli_die_usage("unknown or missing verb for %s", res);
}
