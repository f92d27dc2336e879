// civic: the command-line client. `civic [global flags] <resource> <verb>
// [ID] [--field value]…`: every command is one method call whose request is
// built from flags by field name, and whose reply prints as a table, JSON or
// CSV. Exit status 0 only for OK; otherwise the status name and message go
// to stderr (1 for a failed call, 2 for a usage error, CLI_EXIT_PARTIAL for
// a dashboard answered in part).
#include <errno.h>
#include <locale.h>
#include <mbedtls/sha256.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "civic/points/v1/points.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_client.h"
#include "civic_desc.h"
#include "civic_msg.h"
#include "cli.h"
#include "google/protobuf/descriptor.pb-c.h"

typedef enum { OUT_TABLE, OUT_JSON, OUT_CSV } out_fmt;

typedef struct globals {
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
} globals;

static globals g;

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

static int die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
die_usage(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "civic: %s (see civic --help)\n", msg);
    return 2;
}

static const ProtobufCMethodDescriptor *
find_method(const char *full)
{
    for (const cli_table *const *t = cli_tables; *t != NULL; t++) {
        const ProtobufCServiceDescriptor *s = (*t)->service;
        if (s == NULL)
            continue;
        size_t n = strlen(s->name);
        if (full[0] == '/' && strncmp(full + 1, s->name, n) == 0 && full[n + 1] == '/')
            return protobuf_c_service_descriptor_get_method_by_name(s, full + n + 2);
    }
    return NULL;
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

static void
print_status(const civic_status *st)
{
    fprintf(stderr, "civic: %s: %s\n", civic_code_name(st->code), st->message);
    for (size_t i = 0; i < st->n_violations; i++)
        fprintf(stderr, "  %s: %s\n", st->violations[i].field, st->violations[i].description);
}

static int
open_channel(civic_channel **ch)
{
    civic_channel_opts o = {.token = g.token,
                            .max_attempts = g.attempts,
                            .tls_ca_file = g.tls_ca_file,
                            .tls_cert_key_file = g.tls_cert_key_file,
                            .tls_server_name = g.tls_server_name};
    if (g.key_file != NULL) {
        const char *why;
        if (civic_key_load(&g.key, g.key_file, &why) != 0) {
            fprintf(stderr, "civic: internal key %s: %s\n", g.key_file, why);
            return 2;
        }
        o.key = &g.key;
        o.principal = g.principal;
        o.role = g.role;
    }
    civic_status st;
    if (civic_channel_open(ch, g.addr, &o, &st) != 0) {
        print_status(&st);
        return 1;
    }
    return 0;
}

// call makes one call with the global options. Unsigned identity (for a
// service in open mode) goes as metadata when --as is given without a key.
static int
call(civic_channel *ch, const char *method, const ProtobufCMessage *req,
     const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **resp, int write,
     const char *idem, civic_status *st)
{
    const char *md[4];
    size_t n_md = 0;
    if (g.as != NULL && g.key_file == NULL) {
        md[0] = "x-civic-principal";
        md[1] = g.principal;
        md[2] = "x-civic-role";
        md[3] = g.role;
        n_md = 2;
    }
    civic_call_opts o = {
        .timeout_ms = g.timeout_ms,
        .read = !write,
        .idempotency_key = write ? idem : NULL,
        .request_id = g.request_id,
        .metadata = md,
        .n_metadata = n_md,
    };
    return civic_call(ch, method, req, out_desc, resp, &o, st);
}

static void
new_key(char *out, size_t n)
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL || fread(b, 1, sizeof b, f) != sizeof b) {
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char) rand();
    }
    if (f)
        fclose(f);
    size_t o = 0;
    for (size_t i = 0; i < sizeof b && o + 2 < n; i++)
        o += (size_t) snprintf(out + o, n - o, "%02x", b[i]);
}

// print_json prints j indented, keys in order, and releases it.
static void
print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

static void
print_reply(const ProtobufCMessage *resp, civic_table *acc, int accumulate)
{
    if (g.out == OUT_JSON) {
        print_json(civic_msg_to_json(resp));
        return;
    }
    civic_table t;
    civic_msg_table(resp, &t);
    cli_dashboard_cells(resp, &t, g.out == OUT_CSV ? "" : "—");
    if (accumulate) {
        // Append t's rows to acc (same columns: same message type).
        if (acc->n_cols == 0) {
            *acc = t;
            return;
        }
        acc->rows = realloc(acc->rows, (acc->n_rows + t.n_rows) * sizeof *acc->rows);
        memcpy(acc->rows + acc->n_rows, t.rows, t.n_rows * sizeof *t.rows);
        acc->n_rows += t.n_rows;
        t.n_rows = 0;
        civic_table_free(&t);
        return;
    }
    if (g.out == OUT_CSV)
        civic_table_csv(&t, stdout);
    else
        civic_table_print(&t, stdout);
    civic_table_free(&t);
}

// json_pages_merge adds page's lists to those of acc (the first page when
// acc is NULL) and releases page: --all -o json prints one document.
static json_t *
json_pages_merge(json_t *acc, json_t *page)
{
    if (acc == NULL)
        return page;
    const char *key;
    json_t *v;
    json_object_foreach(page, key, v) {
        json_t *have = json_object_get(acc, key);
        if (json_is_array(v) && json_is_array(have))
            json_array_extend(have, v);
        else if (json_is_array(v))
            json_object_set(acc, key, v);
    }
    json_decref(page);
    return acc;
}

static const char *
next_token(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "next_page_token");
    if (f == NULL)
        return NULL;
    const char *s = *(char *const *) (const void *) ((const char *) m + f->offset);
    return s && s[0] ? s : NULL;
}

// apply sets "path=value,…" pairs under prefix.
static int
apply_pairs(ProtobufCMessage *req, const char *pairs)
{
    if (pairs == NULL)
        return 0;
    char *copy = strdup(pairs), *save = NULL, err[512];
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        *eq = '\0';
        if (civic_msg_set(req, tok, eq + 1, err, sizeof err) != 0) {
            fprintf(stderr, "civic: %s\n", err);
            free(copy);
            return 2;
        }
    }
    free(copy);
    return 0;
}

// resolve maps a flag name to a field path: an alias, or the name with
// dashes as underscores, under the command's prefix.
static void
resolve(const cli_cmd *c, const char *flag, char *out, size_t n)
{
    char name[256];
    snprintf(name, sizeof name, "%s", flag);
    if (c->aliases) {
        size_t fl = strlen(flag);
        for (const char *a = c->aliases; *a;) {
            const char *eq = strchr(a, '='), *end = strchr(a, ',');
            if (end == NULL)
                end = a + strlen(a);
            if ((size_t) (eq - a) == fl && strncmp(a, flag, fl) == 0) {
                snprintf(name, sizeof name, "%.*s", (int) (end - eq - 1), eq + 1);
                break;
            }
            a = *end ? end + 1 : end;
        }
    }
    for (char *p = name; *p && *p != '['; p++)
        if (*p == '-')
            *p = '_';
    int top = strcmp(name, "page_size") == 0 || strcmp(name, "page_token") == 0;
    snprintf(out, n, "%s%s", top ? "" : c->prefix, name);
}

static void
mask_add(ProtobufCMessage *req, const cli_cmd *c, const char *path)
{
    // The first segment under the prefix, without any index.
    const char *rel = path + strlen(c->prefix);
    char seg[128], err[256], mpath[160];
    size_t n = strcspn(rel, ".[");
    snprintf(seg, sizeof seg, "%.*s", (int) n, rel);
    snprintf(mpath, sizeof mpath, "update_mask");
    // Avoid duplicates: read back what the mask holds.
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(req->descriptor, "update_mask");
    if (f == NULL)
        return;
    const ProtobufCMessage *m = *(ProtobufCMessage *const *) (const void *) ((const char *) req + f->offset);
    if (m != NULL) {
        json_t *j = civic_msg_to_json(m);
        char jn[128];
        civic_json_name(seg, jn, sizeof jn);
        const char *cur = json_string_value(j);
        int dup = 0;
        if (cur) {
            char *copy = strdup(cur), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                dup |= strcmp(t, jn) == 0;
            free(copy);
        }
        json_decref(j);
        if (dup)
            return;
    }
    civic_msg_set(req, mpath, seg, err, sizeof err);
}

static int run_import(const cli_cmd *c, civic_channel *ch, const ProtobufCMethodDescriptor *md,
                      const char *file);

static int
run_cmd(const cli_cmd *c, int argc, char **argv)
{
    const ProtobufCMethodDescriptor *md = find_method(c->method);
    if (md == NULL)
        return die_usage("no method %s", c->method);
    ProtobufCMessage *req = civic_msg_new(md->input);
    // all: follow next_page_token to the end. paged: the caller chose a page
    // (--page-size or --page-token), so a CSV export is that page alone.
    int all = 0, paged = 0, rc = 0;
    const char *positional = NULL;
    char err[512], path[300];
    if ((rc = apply_pairs(req, c->defaults)) != 0)
        goto done;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (positional != NULL) {
                rc = die_usage("unexpected argument \"%s\"", a);
                goto done;
            }
            positional = a;
            continue;
        }
        if (strcmp(a, "--all") == 0 && (c->flags & CMD_LIST)) {
            all = 1;
            continue;
        }
        const char *name = a + 2, *val;
        char flag[256];
        const char *eq = strchr(name, '=');
        if (strcmp(name, "set") == 0 && i + 1 < argc) {
            name = argv[++i];
            eq = strchr(name, '=');
            if (eq == NULL) {
                rc = die_usage("--set takes PATH=VALUE, not \"%s\"", name);
                goto done;
            }
        }
        if (eq != NULL) {
            snprintf(flag, sizeof flag, "%.*s", (int) (eq - name), name);
            val = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", name);
            if (i + 1 >= argc) {
                rc = die_usage("--%s needs a value", flag);
                goto done;
            }
            val = argv[++i];
        }
        resolve(c, flag, path, sizeof path);
        paged |= strcmp(path, "page_size") == 0 || strcmp(path, "page_token") == 0;
        if (civic_msg_set(req, path, val, err, sizeof err) != 0) {
            fprintf(stderr, "civic: --%s: %s\n", flag, err);
            rc = 2;
            goto done;
        }
        if (c->flags & CMD_MASK)
            mask_add(req, c, path);
    }
    if (c->positional != NULL) {
        if (positional == NULL) {
            rc = die_usage("%s needs an ID", c->verb);
            goto done;
        }
        if (civic_msg_set(req, c->positional, positional, err, sizeof err) != 0) {
            fprintf(stderr, "civic: %s\n", err);
            rc = 2;
            goto done;
        }
    } else if (positional != NULL && !(c->flags & CMD_IMPORT)) {
        rc = die_usage("unexpected argument \"%s\"", positional);
        goto done;
    }

    civic_channel *ch;
    if ((rc = open_channel(&ch)) != 0)
        goto done;
    if (c->flags & CMD_IMPORT) {
        rc = positional ? run_import(c, ch, md, positional) : die_usage("%s needs a CSV file", "import");
        civic_channel_close(ch);
        goto done;
    }
    char idem[64];
    if (g.idempotency_key)
        snprintf(idem, sizeof idem, "%s", g.idempotency_key);
    else
        new_key(idem, sizeof idem);
    // A CSV export is the whole filtered list: every page, one header,
    // unless the caller asked for a page. A table is for reading and JSON
    // carries its nextPageToken: both stay one page without --all.
    if ((c->flags & CMD_LIST) && g.out == OUT_CSV && !paged)
        all = 1;
    civic_table acc = {0};
    json_t *json_all = NULL; // --all -o json: the pages as one document
    int accumulate = all && g.out != OUT_JSON;
    for (;;) {
        ProtobufCMessage *resp = NULL;
        civic_status st;
        if (call(ch, c->method, req, md->output, &resp, c->flags & CMD_WRITE, idem, &st) != 0) {
            if (st.code == CIVIC_UNIMPLEMENTED && c->direct != NULL) {
                // Not the gateway: the service's own method, same flags.
                cli_cmd d = *c;
                d.method = c->direct;
                d.prefix = c->direct_prefix;
                d.direct = NULL;
                civic_channel_close(ch);
                protobuf_c_message_free_unpacked(req, NULL);
                return run_cmd(&d, argc, argv);
            }
            print_status(&st);
            rc = 1;
            break;
        }
        if (all && g.out == OUT_JSON)
            json_all = json_pages_merge(json_all, civic_msg_to_json(resp));
        else
            print_reply(resp, &acc, accumulate);
        if (cli_dashboard_parts(resp, stderr) > 0)
            rc = CLI_EXIT_PARTIAL;
        const char *tok = next_token(resp);
        if (tok && !all && g.out != OUT_JSON)
            fprintf(stderr, "(more: --page-token %s, or --all)\n", tok);
        if (!all || tok == NULL) {
            protobuf_c_message_free_unpacked(resp, NULL);
            break;
        }
        civic_msg_set(req, "page_token", tok, err, sizeof err);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    if (json_all != NULL && rc == 0) {
        json_object_del(json_all, "nextPageToken");
        print_json(json_all);
    } else if (json_all != NULL) {
        json_decref(json_all);
    }
    if (accumulate && acc.n_cols) {
        if (g.out == OUT_CSV)
            civic_table_csv(&acc, stdout);
        else
            civic_table_print(&acc, stdout);
        civic_table_free(&acc);
    }
    civic_channel_close(ch);
done:
    protobuf_c_message_free_unpacked(req, NULL);
    return rc;
}

// --- CSV import ---

// csv_row reads one RFC 4180 record from f into fields (heap strings).
// Returns the number of fields, or -1 at end of file.
static int
csv_row(FILE *f, char ***fields)
{
    int c = fgetc(f);
    if (c == EOF)
        return -1;
    size_t n = 0, cap = 8, len = 0, fcap = 64;
    char **out = calloc(cap, sizeof *out);
    char *cur = malloc(fcap);
    int quoted = 0;
    for (;; c = fgetc(f)) {
        if (len + 2 >= fcap)
            cur = realloc(cur, fcap *= 2);
        if (quoted) {
            if (c == EOF)
                break;
            if (c == '"') {
                int d = fgetc(f);
                if (d == '"') {
                    cur[len++] = '"';
                    continue;
                }
                quoted = 0;
                ungetc(d, f);
                continue;
            }
            cur[len++] = (char) c;
            continue;
        }
        if (c == '"' && len == 0) {
            quoted = 1;
            continue;
        }
        if (c == ',' || c == '\n' || c == EOF) {
            if (len > 0 && cur[len - 1] == '\r')
                len--;
            cur[len] = '\0';
            if (n == cap)
                out = realloc(out, (cap *= 2) * sizeof *out);
            out[n++] = cur;
            if (c != ',')
                break;
            cur = malloc(fcap = 64);
            len = 0;
            continue;
        }
        cur[len++] = (char) c;
    }
    *fields = out;
    return (int) n;
}

static void
csv_free(char **fields, int n)
{
    for (int i = 0; i < n; i++)
        free(fields[i]);
    free(fields);
}

// import_key derives a row's idempotency key from the header and every cell
// of the row (a SHA-256 digest; each cell with its terminating NUL, so cell
// boundaries count). Fix: the key was "import:FILE:ROW:cells…" cut at 200
// bytes, so the same rows from a copy of the file, or moved to other lines,
// were created again, and a row corrected past the cut (a long address
// first, the grid last) was refused for the retry window ("idempotency-key
// already used for a different request").
static void
import_key(char **head, int nh, char **fields, int nf, char *out, size_t n)
{
    mbedtls_sha256_context ctx;
    unsigned char digest[32];
    mbedtls_sha256_init(&ctx);
    mbedtls_sha256_starts_ret(&ctx, 0);
    for (int i = 0; i < nh; i++)
        mbedtls_sha256_update_ret(&ctx, (const unsigned char *) head[i], strlen(head[i]) + 1);
    mbedtls_sha256_update_ret(&ctx, (const unsigned char *) "\n", 1);
    for (int i = 0; i < nf; i++)
        mbedtls_sha256_update_ret(&ctx, (const unsigned char *) fields[i], strlen(fields[i]) + 1);
    mbedtls_sha256_finish_ret(&ctx, digest);
    mbedtls_sha256_free(&ctx);
    size_t o = (size_t) snprintf(out, n, "import-");
    for (size_t i = 0; i < sizeof digest && o + 2 < n; i++)
        o += (size_t) snprintf(out + o, n - o, "%02x", digest[i]);
}

static int
run_import(const cli_cmd *c, civic_channel *ch, const ProtobufCMethodDescriptor *md, const char *file)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (f == NULL) {
        fprintf(stderr, "civic: %s: %s\n", file, strerror(errno));
        return 2;
    }
    char **head;
    int nh = csv_row(f, &head);
    if (nh <= 0) {
        fprintf(stderr, "civic: %s: no header row\n", file);
        return 2;
    }
    // A UTF-8 byte order mark, as spreadsheets write, is not part of the name.
    if (strncmp(head[0], "\xef\xbb\xbf", 3) == 0)
        memmove(head[0], head[0] + 3, strlen(head[0]) - 2);
    // blank counts empty lines: skipped, so neither imported nor failed.
    // (Fix: they were counted in "imported N of M rows" as imported.)
    int failed = 0, row = 1, blank = 0;
    char **fields, err[512], path[300];
    int nf;
    printf("%-5s %-20s %-8s %s\n", "ROW", "STATUS", "ID", "MESSAGE");
    while ((nf = csv_row(f, &fields)) >= 0) {
        row++;
        if (nf == 1 && fields[0][0] == '\0') {
            csv_free(fields, nf);
            blank++;
            continue;
        }
        ProtobufCMessage *req = civic_msg_new(md->input);
        int bad = 0;
        for (int i = 0; i < nf && i < nh && !bad; i++) {
            if (fields[i][0] == '\0')
                continue;
            resolve(c, head[i], path, sizeof path);
            if (civic_msg_set(req, path, fields[i], err, sizeof err) != 0) {
                printf("%-5d %-20s %-8s column %s: %s\n", row, "INVALID_ARGUMENT", "-", head[i], err);
                bad = 1;
            }
        }
        if (!bad) {
            // The key is the row's content: importing the same rows again
            // within the retry window creates nothing twice.
            char idem[80];
            import_key(head, nh, fields, nf, idem, sizeof idem);
            ProtobufCMessage *resp = NULL;
            civic_status st;
            if (call(ch, c->method, req, md->output, &resp, 1, idem, &st) != 0) {
                printf("%-5d %-20s %-8s %s", row, civic_code_name(st.code), "-", st.message);
                for (size_t v = 0; v < st.n_violations; v++)
                    printf("; %s: %s", st.violations[v].field, st.violations[v].description);
                printf("\n");
                bad = 1;
            } else {
                json_t *j = civic_msg_to_json(resp);
                json_t *p = json_object_get(j, "point");
                json_t *id = p ? json_object_get(p, "id") : NULL;
                printf("%-5d %-20s %-8s\n", row, "OK", id ? json_string_value(id) : "-");
                json_decref(j);
                protobuf_c_message_free_unpacked(resp, NULL);
            }
        }
        failed += bad;
        protobuf_c_message_free_unpacked(req, NULL);
        csv_free(fields, nf);
    }
    csv_free(head, nh);
    if (f != stdin)
        fclose(f);
    fprintf(stderr, "civic: imported %d of %d rows\n", row - 1 - blank - failed, row - 1 - blank);
    return failed ? 1 : 0;
}

// --- health and describe ---

static int
cmd_health(int argc, char **argv)
{
    Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
    char empty[] = "";
    req.service = argc > 0 ? argv[0] : empty;
    civic_channel *ch;
    int rc = open_channel(&ch);
    if (rc != 0)
        return rc;
    ProtobufCMessage *resp = NULL;
    civic_status st;
    if (call(ch, "/civic.rpc.v1.HealthService/Check", &req.base,
             &civic__rpc__v1__check_response__descriptor, &resp, 0, NULL, &st) != 0) {
        print_status(&st);
        civic_channel_close(ch);
        return 1;
    }
    Civic__Rpc__V1__CheckResponse *r = (Civic__Rpc__V1__CheckResponse *) resp;
    if (g.out == OUT_TABLE) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &civic__rpc__v1__check_response__serving_status__descriptor, r->status);
        printf("%s\n", v ? v->name + strlen("SERVING_STATUS_") : "UNKNOWN");
    } else {
        print_reply(resp, NULL, 0);
    }
    rc = r->status == CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING ? 0 : 1;
    protobuf_c_message_free_unpacked(resp, NULL);
    civic_channel_close(ch);
    return rc;
}

// --- call: any method, JSON in and out, types from reflection ---

// fetch_reflection asks the server at ch for its services and descriptor set.
static int
fetch_reflection(civic_channel *ch, Civic__Rpc__V1__ListServicesResponse **ls,
                 Google__Protobuf__FileDescriptorSet **set)
{
    Civic__Rpc__V1__GetFileDescriptorSetRequest req = CIVIC__RPC__V1__GET_FILE_DESCRIPTOR_SET_REQUEST__INIT;
    Civic__Rpc__V1__ListServicesRequest lreq = CIVIC__RPC__V1__LIST_SERVICES_REQUEST__INIT;
    ProtobufCMessage *resp = NULL, *lresp = NULL;
    civic_status st;
    if (call(ch, "/civic.rpc.v1.ReflectionService/ListServices", &lreq.base,
             &civic__rpc__v1__list_services_response__descriptor, &lresp, 0, NULL, &st) != 0 ||
        call(ch, "/civic.rpc.v1.ReflectionService/GetFileDescriptorSet", &req.base,
             &civic__rpc__v1__get_file_descriptor_set_response__descriptor, &resp, 0, NULL, &st) != 0) {
        print_status(&st);
        if (lresp)
            protobuf_c_message_free_unpacked(lresp, NULL);
        return 1;
    }
    Civic__Rpc__V1__GetFileDescriptorSetResponse *r = (Civic__Rpc__V1__GetFileDescriptorSetResponse *) resp;
    *set = google__protobuf__file_descriptor_set__unpack(NULL, r->file_descriptor_set.len,
                                                         r->file_descriptor_set.data);
    protobuf_c_message_free_unpacked(resp, NULL);
    *ls = (Civic__Rpc__V1__ListServicesResponse *) lresp;
    if (*set == NULL) {
        fprintf(stderr, "civic: the server's descriptor set does not decode\n");
        protobuf_c_message_free_unpacked(lresp, NULL);
        return 1;
    }
    return 0;
}

// read_all reads a whole stream into a heap string.
static char *
read_all(FILE *f)
{
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    return buf;
}

static int
cmd_call(int argc, char **argv)
{
    if (argc < 1 || argc > 2)
        return die_usage("call takes METHOD [JSON|@FILE|-]");
    // The method as named: /pkg.Service/Method, pkg.Service/Method,
    // pkg.Service.Method, Service/Method or a unique Method.
    char want[512];
    snprintf(want, sizeof want, "%s", argv[0][0] == '/' ? argv[0] + 1 : argv[0]);
    char *wsvc = NULL, *wm = want;
    char *sep = strrchr(want, '/');
    if (sep == NULL && strchr(want, '.') != NULL)
        sep = strrchr(want, '.');
    if (sep != NULL) {
        *sep = '\0';
        wsvc = want;
        wm = sep + 1;
    }
    char *text = NULL;
    const char *src = argc > 1 ? argv[1] : "{}";
    if (strcmp(src, "-") == 0 || src[0] == '@') {
        FILE *f = strcmp(src, "-") == 0 ? stdin : fopen(src + 1, "r");
        if (f == NULL) {
            fprintf(stderr, "civic: %s: %s\n", src + 1, strerror(errno));
            return 2;
        }
        text = read_all(f);
        if (f != stdin)
            fclose(f);
        src = text;
    }
    json_error_t jerr;
    json_t *jin = json_loads(src, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (jin == NULL)
        return die_usage("request JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);

    civic_channel *ch;
    int rc = open_channel(&ch);
    if (rc != 0) {
        json_decref(jin);
        return rc;
    }
    Civic__Rpc__V1__ListServicesResponse *ls = NULL;
    Google__Protobuf__FileDescriptorSet *set = NULL;
    if ((rc = fetch_reflection(ch, &ls, &set)) != 0) {
        json_decref(jin);
        civic_channel_close(ch);
        return rc;
    }
    char full[512] = "", in_type[256] = "", out_type[256] = "";
    int matches = 0, read = 0;
    for (size_t s = 0; s < ls->n_services; s++)
        for (size_t fi = 0; fi < set->n_file; fi++) {
            Google__Protobuf__FileDescriptorProto *fd = set->file[fi];
            for (size_t si = 0; si < fd->n_service; si++) {
                Google__Protobuf__ServiceDescriptorProto *sd = fd->service[si];
                char svc[256];
                snprintf(svc, sizeof svc, "%s.%s", fd->package, sd->name);
                if (strcmp(svc, ls->services[s]) != 0)
                    continue;
                if (wsvc != NULL && strcmp(wsvc, svc) != 0 && strcmp(wsvc, sd->name) != 0)
                    continue;
                for (size_t mi = 0; mi < sd->n_method; mi++) {
                    Google__Protobuf__MethodDescriptorProto *m = sd->method[mi];
                    if (strcmp(m->name, wm) != 0)
                        continue;
                    matches++;
                    snprintf(full, sizeof full, "/%s/%s", svc, m->name);
                    snprintf(in_type, sizeof in_type, "%s", m->input_type + (m->input_type[0] == '.'));
                    snprintf(out_type, sizeof out_type, "%s", m->output_type + (m->output_type[0] == '.'));
                    read = m->options && m->options->has_idempotency_level &&
                           m->options->idempotency_level ==
                               GOOGLE__PROTOBUF__METHOD_OPTIONS__IDEMPOTENCY_LEVEL__NO_SIDE_EFFECTS;
                }
            }
        }
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    protobuf_c_message_free_unpacked(&ls->base, NULL);
    ProtobufCMessage *req = NULL;
    if (matches != 1) {
        fprintf(stderr, "civic: %s: %s\n", matches ? "ambiguous method (name its service)" : "NOT_FOUND: no such method there",
                argv[0]);
        rc = 1;
        goto out;
    }
    // protobuf-c has no dynamic messages: the types named by the server
    // must be compiled into this client.
    const ProtobufCMessageDescriptor *in = civic_msg_find_type(in_type), *outd = civic_msg_find_type(out_type);
    if (in == NULL || outd == NULL) {
        fprintf(stderr, "civic: %s: type %s is not compiled into this civic\n", full, in == NULL ? in_type : out_type);
        rc = 1;
        goto out;
    }
    req = civic_msg_new(in);
    char err[512];
    if (civic_msg_from_json(req, jin, err, sizeof err) != 0) {
        fprintf(stderr, "civic: request: %s\n", err);
        rc = 2;
        goto out;
    }
    char idem[64];
    if (g.idempotency_key)
        snprintf(idem, sizeof idem, "%s", g.idempotency_key);
    else
        new_key(idem, sizeof idem);
    ProtobufCMessage *resp = NULL;
    civic_status st;
    if (call(ch, full, req, outd, &resp, !read, idem, &st) != 0) {
        print_status(&st);
        rc = 1;
        goto out;
    }
    print_json(civic_msg_to_json(resp));
    protobuf_c_message_free_unpacked(resp, NULL);
out:
    if (req)
        protobuf_c_message_free_unpacked(req, NULL);
    json_decref(jin);
    civic_channel_close(ch);
    return rc;
}

static const char *const field_types[] = {
    "", "double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool", "string",
    "group", "message", "bytes", "uint32", "enum", "sfixed32", "sfixed64", "sint32", "sint64",
};

// describe_message prints a message type of the server's descriptor set,
// or an enum; returns 0 if name is one.
static int
describe_message(const Google__Protobuf__FileDescriptorSet *set, const char *name)
{
    for (size_t fi = 0; fi < set->n_file; fi++) {
        Google__Protobuf__FileDescriptorProto *fd = set->file[fi];
        for (size_t ei = 0; ei < fd->n_enum_type; ei++) {
            char full[300];
            snprintf(full, sizeof full, "%s.%s", fd->package, fd->enum_type[ei]->name);
            if (strcmp(full, name) != 0)
                continue;
            json_t *o = json_object(), *vals = json_array();
            json_object_set_new(o, "enum", json_string(full));
            for (size_t v = 0; v < fd->enum_type[ei]->n_value; v++) {
                Google__Protobuf__EnumValueDescriptorProto *ev = fd->enum_type[ei]->value[v];
                if (g.out == OUT_TABLE) {
                    if (v == 0)
                        printf("enum %s\n", full);
                    printf("  %-40s %d\n", ev->name, ev->number);
                }
                json_t *e = json_object();
                json_object_set_new(e, "name", json_string(ev->name));
                json_object_set_new(e, "number", json_integer(ev->number));
                json_array_append_new(vals, e);
            }
            json_object_set_new(o, "values", vals);
            if (g.out != OUT_TABLE)
                print_json(o);
            else
                json_decref(o);
            return 0;
        }
        // Messages, nested ones too: a small stack of (prefix, descriptor).
        struct {
            char prefix[300];
            Google__Protobuf__DescriptorProto *d;
        } stack[64];
        size_t sp = 0;
        for (size_t mi = 0; mi < fd->n_message_type && sp < 64; mi++) {
            snprintf(stack[sp].prefix, sizeof stack[sp].prefix, "%s", fd->package);
            stack[sp++].d = fd->message_type[mi];
        }
        while (sp > 0) {
            sp--;
            Google__Protobuf__DescriptorProto *d = stack[sp].d;
            char full[300];
            if (snprintf(full, sizeof full, "%s.%s", stack[sp].prefix, d->name) >= (int) sizeof full)
                continue;
            for (size_t ni = 0; ni < d->n_nested_type && sp < 64; ni++) {
                memcpy(stack[sp].prefix, full, sizeof full);
                stack[sp++].d = d->nested_type[ni];
            }
            if (strcmp(full, name) != 0)
                continue;
            json_t *o = json_object(), *fields = json_array();
            json_object_set_new(o, "message", json_string(full));
            if (g.out == OUT_TABLE)
                printf("message %s\n", full);
            for (size_t k = 0; k < d->n_field; k++) {
                Google__Protobuf__FieldDescriptorProto *f = d->field[k];
                char type[300];
                unsigned t = (unsigned) f->type;
                if (f->type_name)
                    snprintf(type, sizeof type, "%s", f->type_name + (f->type_name[0] == '.'));
                else
                    snprintf(type, sizeof type, "%s", t < sizeof field_types / sizeof *field_types ? field_types[t] : "?");
                int rep = f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
                const char *jn = f->json_name ? f->json_name : f->name;
                if (g.out == OUT_TABLE)
                    printf("  %3d %-28s %-24s %s%s\n", f->number, f->name, jn, rep ? "repeated " : "", type);
                json_t *e = json_object();
                json_object_set_new(e, "name", json_string(f->name));
                json_object_set_new(e, "jsonName", json_string(jn));
                json_object_set_new(e, "number", json_integer(f->number));
                json_object_set_new(e, "type", json_string(type));
                json_object_set_new(e, "repeated", json_boolean(rep));
                json_array_append_new(fields, e);
            }
            json_object_set_new(o, "fields", fields);
            if (g.out != OUT_TABLE)
                print_json(o);
            else
                json_decref(o);
            return 0;
        }
    }
    return -1;
}

static int
cmd_describe(int argc, char **argv)
{
    civic_channel *ch;
    int rc = open_channel(&ch);
    if (rc != 0)
        return rc;
    Civic__Rpc__V1__GetFileDescriptorSetRequest req = CIVIC__RPC__V1__GET_FILE_DESCRIPTOR_SET_REQUEST__INIT;
    Civic__Rpc__V1__ListServicesRequest lreq = CIVIC__RPC__V1__LIST_SERVICES_REQUEST__INIT;
    ProtobufCMessage *resp = NULL, *lresp = NULL;
    civic_status st;
    if (call(ch, "/civic.rpc.v1.ReflectionService/ListServices", &lreq.base,
             &civic__rpc__v1__list_services_response__descriptor, &lresp, 0, NULL, &st) != 0 ||
        call(ch, "/civic.rpc.v1.ReflectionService/GetFileDescriptorSet", &req.base,
             &civic__rpc__v1__get_file_descriptor_set_response__descriptor, &resp, 0, NULL, &st) != 0) {
        print_status(&st);
        civic_channel_close(ch);
        return 1;
    }
    civic_channel_close(ch);
    Civic__Rpc__V1__ListServicesResponse *ls = (Civic__Rpc__V1__ListServicesResponse *) lresp;
    Civic__Rpc__V1__GetFileDescriptorSetResponse *r = (Civic__Rpc__V1__GetFileDescriptorSetResponse *) resp;
    Google__Protobuf__FileDescriptorSet *set = google__protobuf__file_descriptor_set__unpack(
        NULL, r->file_descriptor_set.len, r->file_descriptor_set.data);
    if (set == NULL) {
        fprintf(stderr, "civic: the server's descriptor set does not decode\n");
        return 1;
    }
    const char *want = argc > 0 ? argv[0] : NULL;
    json_t *jout = json_array();
    int found = 0;
    for (size_t s = 0; s < ls->n_services; s++) {
        const char *svc = ls->services[s];
        for (size_t fi = 0; fi < set->n_file; fi++) {
            Google__Protobuf__FileDescriptorProto *fd = set->file[fi];
            for (size_t si = 0; si < fd->n_service; si++) {
                Google__Protobuf__ServiceDescriptorProto *sd = fd->service[si];
                char full[256];
                snprintf(full, sizeof full, "%s.%s", fd->package, sd->name);
                if (strcmp(full, svc) != 0)
                    continue;
                int svc_match = want == NULL || strcmp(want, full) == 0;
                if (g.out == OUT_TABLE && (svc_match || want == NULL))
                    printf("%s\n", full);
                for (size_t mi = 0; mi < sd->n_method; mi++) {
                    Google__Protobuf__MethodDescriptorProto *m = sd->method[mi];
                    char mname[320];
                    snprintf(mname, sizeof mname, "/%s/%s", full, m->name);
                    if (!svc_match && strcmp(want, mname) != 0 && strcmp(want, m->name) != 0)
                        continue;
                    found = 1;
                    int read = m->options && m->options->has_idempotency_level &&
                               m->options->idempotency_level ==
                                   GOOGLE__PROTOBUF__METHOD_OPTIONS__IDEMPOTENCY_LEVEL__NO_SIDE_EFFECTS;
                    if (g.out == OUT_TABLE) {
                        if (!svc_match)
                            printf("%s\n", full);
                        printf("  %-28s %-5s %s -> %s\n", m->name, read ? "read" : "write",
                               m->input_type + 1, m->output_type + 1);
                    } else {
                        json_t *o = json_object();
                        json_object_set_new(o, "method", json_string(mname));
                        json_object_set_new(o, "read", json_boolean(read));
                        json_object_set_new(o, "input", json_string(m->input_type + 1));
                        json_object_set_new(o, "output", json_string(m->output_type + 1));
                        json_array_append_new(jout, o);
                    }
                }
                found |= svc_match;
            }
        }
    }
    int is_msg = 0;
    if (want && !found && describe_message(set, want[0] == '.' ? want + 1 : want) == 0)
        found = is_msg = 1;
    if (g.out != OUT_TABLE && !is_msg)
        print_json(jout);
    else
        json_decref(jout);
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    protobuf_c_message_free_unpacked(resp, NULL);
    protobuf_c_message_free_unpacked(lresp, NULL);
    if (want && !found) {
        fprintf(stderr, "civic: NOT_FOUND: %s is not served there\n", want);
        return 1;
    }
    return 0;
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
    g.addr = getenv("CIVIC_ADDR") ? getenv("CIVIC_ADDR") : "tcp://127.0.0.1:7000";
    g.token = getenv("CIVIC_TOKEN");
    static char token_buf[256];
    if (g.token == NULL || g.token[0] == '\0')
        g.token = read_token_file(token_buf, sizeof token_buf);
    g.key_file = getenv("CIVIC_INTERNAL_KEY_FILE");
    if (g.key_file && !g.key_file[0])
        g.key_file = NULL;
    g.tls_ca_file = getenv("CIVIC_TLS_CA_FILE");
    g.tls_cert_key_file = getenv("CIVIC_TLS_CERT_KEY_FILE");
    g.tls_server_name = getenv("CIVIC_TLS_SERVER_NAME");
    g.timeout_ms = 10000;
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
            return die_usage("%s needs a value", a);
        i++;
        if (strcmp(a, "--addr") == 0) {
            g.addr = v;
        } else if (strcmp(a, "--timeout") == 0) {
            if (parse_duration(v, &g.timeout_ms) != 0)
                return die_usage("bad --timeout \"%s\"", v);
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (strcmp(v, "table") == 0)
                g.out = OUT_TABLE;
            else if (strcmp(v, "json") == 0)
                g.out = OUT_JSON;
            else if (strcmp(v, "csv") == 0)
                g.out = OUT_CSV;
            else
                return die_usage("-o takes table, json or csv, not \"%s\"", v);
        } else if (strcmp(a, "--token") == 0) {
            g.token = v;
        } else if (strcmp(a, "--internal-key-file") == 0) {
            g.key_file = v;
        } else if (strcmp(a, "--as") == 0) {
            g.as = v;
        } else if (strcmp(a, "--request-id") == 0) {
            g.request_id = v;
        } else if (strcmp(a, "--tls-ca-file") == 0) {
            g.tls_ca_file = v;
        } else if (strcmp(a, "--tls-cert-key-file") == 0) {
            g.tls_cert_key_file = v;
        } else if (strcmp(a, "--tls-server-name") == 0) {
            g.tls_server_name = v;
        } else if (strcmp(a, "--attempts") == 0) {
            char *end;
            long tries = strtol(v, &end, 10);
            if (*end != '\0' || tries < 1 || tries > 100)
                return die_usage("--attempts takes a number from 1 to 100, not \"%s\"", v);
            g.attempts = (int) tries;
        } else {
            g.idempotency_key = v;
        }
    }
    argc = n;
    int i = 1;
    snprintf(g.principal, sizeof g.principal, "admin");
    snprintf(g.role, sizeof g.role, "admin");
    if (g.as != NULL) {
        const char *colon = strrchr(g.as, ':');
        if (colon == NULL)
            return die_usage("--as takes PRINCIPAL:ROLE, not \"%s\"", g.as);
        snprintf(g.principal, sizeof g.principal, "%.*s", (int) (colon - g.as), g.as);
        snprintf(g.role, sizeof g.role, "%s", colon + 1);
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *res = argv[i++];
    if (strcmp(res, "health") == 0)
        return cmd_health(argc - i, argv + i);
    if (strcmp(res, "describe") == 0)
        return cmd_describe(argc - i, argv + i);
    if (strcmp(res, "call") == 0)
        return cmd_call(argc - i, argv + i);
    const char *verb = i < argc ? argv[i++] : NULL;
    // Some resources need no verb: `civic dashboard --day D`.
    const cli_cmd *dflt = default_cmd(res);
    if (dflt != NULL && (verb == NULL || (verb[0] == '-' && strcmp(verb, "--help") != 0))) {
        if (verb != NULL)
            i--;
        return run_cmd(dflt, argc - i, argv + i);
    }
    // `VERB --self` is the command VERB-self: `volunteers register --self`.
    char self_verb[64];
    int self = take_self(&argc, argv, i);
    if (self < 0)
        return die_usage("--self takes no value, or true or false");
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
            return run_cmd(c, argc - i, argv + i);
        }
    }
    if (!known)
        return die_usage("unknown resource \"%s\"", res);
    return die_usage("unknown or missing verb for %s", res);
}
