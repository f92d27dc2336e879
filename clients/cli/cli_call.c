// One call to the server with the global flags, and what the CLI prints of
// it: the channel opened from --addr, --token, --internal-key-file and the
// TLS flags; the call made with --timeout, --request-id, --as and an
// idempotency key for a write; the reply printed as a table, JSON or CSV
// (-o), and a failed call's status and field violations on stderr. Every
// command goes through here.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "civic_client.h"
#include "civic_msg.h"
#include "cli.h"

void
cli_print_status(const civic_status *st)
{
    fprintf(stderr, "civic: %s: %s\n", civic_code_name(st->code), st->message);
    for (size_t i = 0; i < st->n_violations; i++)
        fprintf(stderr, "  %s: %s\n", st->violations[i].field, st->violations[i].description);
}

int
cli_open_channel(civic_channel **ch)
{
    civic_channel_opts o = {.token = cli_g.token,
                            .max_attempts = cli_g.attempts,
                            .tls_ca_file = cli_g.tls_ca_file,
                            .tls_cert_key_file = cli_g.tls_cert_key_file,
                            .tls_server_name = cli_g.tls_server_name};
    if (cli_g.key_file != NULL) {
        const char *why;
        if (civic_key_load(&cli_g.key, cli_g.key_file, &why) != 0) {
            fprintf(stderr, "civic: internal key %s: %s\n", cli_g.key_file, why);
            return 2;
        }
        o.key = &cli_g.key;
        o.principal = cli_g.principal;
        o.role = cli_g.role;
    }
    civic_status st;
    if (civic_channel_open(ch, cli_g.addr, &o, &st) != 0) {
        cli_print_status(&st);
        return 1;
    }
    return 0;
}

int
cli_call(civic_channel *ch, const char *method, const ProtobufCMessage *req,
         const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **resp, int write,
         const char *idem, civic_status *st)
{
    const char *md[4];
    size_t n_md = 0;
    if (cli_g.as != NULL && cli_g.key_file == NULL) {
        md[0] = "x-civic-principal";
        md[1] = cli_g.principal;
        md[2] = "x-civic-role";
        md[3] = cli_g.role;
        n_md = 2;
    }
    civic_call_opts o = {
        .timeout_ms = cli_g.timeout_ms,
        .read = !write,
        .idempotency_key = write ? idem : NULL,
        .request_id = cli_g.request_id,
        .metadata = md,
        .n_metadata = n_md,
    };
    return civic_call(ch, method, req, out_desc, resp, &o, st);
}

void
cli_idempotency_key(char *out, size_t n)
{
    if (cli_g.idempotency_key != NULL) {
        snprintf(out, n, "%s", cli_g.idempotency_key);
        return;
    }
    // A key repeated across runs would replay another call's answer, so it
    // comes from the kernel's random source, never from rand().
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b) {
        fprintf(stderr, "civic: cannot make an idempotency key: %s\n", strerror(errno));
        exit(1);
    }
    size_t o = 0;
    for (size_t i = 0; i < sizeof b && o + 2 < n; i++)
        o += (size_t) snprintf(out + o, n - o, "%02x", b[i]);
}

void
cli_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

void
cli_print_reply(const ProtobufCMessage *resp, civic_table *acc, int accumulate)
{
    if (cli_g.out == OUT_JSON) {
        cli_print_json(civic_msg_to_json(resp));
        return;
    }
    civic_table t;
    civic_msg_table(resp, &t);
    cli_dashboard_cells(resp, &t, cli_g.out == OUT_CSV ? "" : "—");
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
    if (cli_g.out == OUT_CSV)
        civic_table_csv(&t, stdout);
    else
        civic_table_print(&t, stdout);
    civic_table_free(&t);
}
