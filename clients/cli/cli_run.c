// The generic command runner: a command of the tables (cli_cmd) run as one
// method call — its request built from the command's defaults, its flags by
// field name (aliases, --set PATH=VALUE, an update_mask for an update) and
// its positional ID; a list followed page by page for --all and for a CSV
// export; a gateway flow retried as the service's own method when the
// address is a service. An import command hands over to cli_import.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic_client.h"
#include "civic_msg.h"
#include "cli.h"

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

void
cli_resolve(const cli_cmd *c, const char *flag, char *out, size_t n)
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

int
cli_run_cmd(const cli_cmd *c, int argc, char **argv)
{
    const ProtobufCMethodDescriptor *md = find_method(c->method);
    if (md == NULL)
        return cli_die_usage("no method %s", c->method);
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
                rc = cli_die_usage("unexpected argument \"%s\"", a);
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
                rc = cli_die_usage("--set takes PATH=VALUE, not \"%s\"", name);
                goto done;
            }
        }
        if (eq != NULL) {
            snprintf(flag, sizeof flag, "%.*s", (int) (eq - name), name);
            val = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", name);
            if (i + 1 >= argc) {
                rc = cli_die_usage("--%s needs a value", flag);
                goto done;
            }
            val = argv[++i];
        }
        cli_resolve(c, flag, path, sizeof path);
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
            rc = cli_die_usage("%s needs an ID", c->verb);
            goto done;
        }
        if (civic_msg_set(req, c->positional, positional, err, sizeof err) != 0) {
            fprintf(stderr, "civic: %s\n", err);
            rc = 2;
            goto done;
        }
    } else if (positional != NULL && !(c->flags & CMD_IMPORT)) {
        rc = cli_die_usage("unexpected argument \"%s\"", positional);
        goto done;
    }

    civic_channel *ch;
    if ((rc = cli_open_channel(&ch)) != 0)
        goto done;
    if (c->flags & CMD_IMPORT) {
        rc = positional ? cli_run_import(c, ch, md, positional) : cli_die_usage("%s needs a CSV file", "import");
        civic_channel_close(ch);
        goto done;
    }
    char idem[64];
    cli_idempotency_key(idem, sizeof idem);
    // A CSV export is the whole filtered list: every page, one header,
    // unless the caller asked for a page. A table is for reading and JSON
    // carries its nextPageToken: both stay one page without --all.
    if ((c->flags & CMD_LIST) && cli_g.out == OUT_CSV && !paged)
        all = 1;
    civic_table acc = {0};
    json_t *json_all = NULL; // --all -o json: the pages as one document
    int accumulate = all && cli_g.out != OUT_JSON;
    for (;;) {
        ProtobufCMessage *resp = NULL;
        civic_status st;
        if (cli_call(ch, c->method, req, md->output, &resp, c->flags & CMD_WRITE, idem, &st) != 0) {
            if (st.code == CIVIC_UNIMPLEMENTED && c->direct != NULL) {
                // Not the gateway: the service's own method, same flags.
                cli_cmd d = *c;
                d.method = c->direct;
                d.prefix = c->direct_prefix;
                d.direct = NULL;
                civic_channel_close(ch);
                protobuf_c_message_free_unpacked(req, NULL);
                return cli_run_cmd(&d, argc, argv);
            }
            cli_print_status(&st);
            rc = 1;
            break;
        }
        if (all && cli_g.out == OUT_JSON)
            json_all = json_pages_merge(json_all, civic_msg_to_json(resp));
        else
            cli_print_reply(resp, &acc, accumulate);
        if (cli_dashboard_parts(resp, stderr) > 0)
            rc = CLI_EXIT_PARTIAL;
        const char *tok = next_token(resp);
        if (tok && !all && cli_g.out != OUT_JSON)
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
        cli_print_json(json_all);
    } else if (json_all != NULL) {
        json_decref(json_all);
    }
    if (accumulate && acc.n_cols) {
        if (cli_g.out == OUT_CSV)
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
