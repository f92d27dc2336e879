// CSV import: one call per row of an RFC 4180 file whose header names the
// request's fields (as flags do), each with an idempotency key derived from
// the row's content, so importing the same rows again within the retry window
// creates nothing twice. Prints a line per row (its status and the new ID)
// and a count on stderr; exits 1 if any row failed.
#include <errno.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic_client.h"
#include "civic_msg.h"
#include "cli.h"

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

int
cli_run_import(const cli_cmd *c, civic_channel *ch, const ProtobufCMethodDescriptor *md,
               const char *file)
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
            cli_resolve(c, head[i], path, sizeof path);
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
            if (cli_call(ch, c->method, req, md->output, &resp, 1, idem, &st) != 0) {
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
