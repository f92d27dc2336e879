// The commands that need no command table, built on the services every
// server has (civic.rpc.v1's HealthService and ReflectionService): `civic
// health`, `civic describe` (services, methods, messages and enums, from the
// server's descriptor set) and `civic call` (any method, the request and the
// reply as JSON). `call` can build only types compiled into this client.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_client.h"
#include "civic_msg.h"
#include "cli.h"
#include "google/protobuf/descriptor.pb-c.h"

// --- health and describe ---

int
cli_cmd_health(int argc, char **argv)
{
    Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
    char empty[] = "";
    req.service = argc > 0 ? argv[0] : empty;
    civic_channel *ch;
    int rc = cli_open_channel(&ch);
    if (rc != 0)
        return rc;
    ProtobufCMessage *resp = NULL;
    civic_status st;
    if (cli_call(ch, "/civic.rpc.v1.HealthService/Check", &req.base,
                 &civic__rpc__v1__check_response__descriptor, &resp, 0, NULL, &st) != 0) {
        cli_print_status(&st);
        civic_channel_close(ch);
        return 1;
    }
    Civic__Rpc__V1__CheckResponse *r = (Civic__Rpc__V1__CheckResponse *) resp;
    if (cli_g.out == OUT_TABLE) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &civic__rpc__v1__check_response__serving_status__descriptor, r->status);
        printf("%s\n", v ? v->name + strlen("SERVING_STATUS_") : "UNKNOWN");
    } else {
        cli_print_reply(resp, NULL, 0);
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
    if (cli_call(ch, "/civic.rpc.v1.ReflectionService/ListServices", &lreq.base,
                 &civic__rpc__v1__list_services_response__descriptor, &lresp, 0, NULL, &st) != 0 ||
        cli_call(ch, "/civic.rpc.v1.ReflectionService/GetFileDescriptorSet", &req.base,
                 &civic__rpc__v1__get_file_descriptor_set_response__descriptor, &resp, 0, NULL, &st) != 0) {
        cli_print_status(&st);
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

int
cli_cmd_call(int argc, char **argv)
{
    if (argc < 1 || argc > 2)
        return cli_die_usage("call takes METHOD [JSON|@FILE|-]");
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
        return cli_die_usage("request JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);

    civic_channel *ch;
    int rc = cli_open_channel(&ch);
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
    cli_idempotency_key(idem, sizeof idem);
    ProtobufCMessage *resp = NULL;
    civic_status st;
    if (cli_call(ch, full, req, outd, &resp, !read, idem, &st) != 0) {
        cli_print_status(&st);
        rc = 1;
        goto out;
    }
    cli_print_json(civic_msg_to_json(resp));
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
                if (cli_g.out == OUT_TABLE) {
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
            if (cli_g.out != OUT_TABLE)
                cli_print_json(o);
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
            if (cli_g.out == OUT_TABLE)
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
                if (cli_g.out == OUT_TABLE)
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
            if (cli_g.out != OUT_TABLE)
                cli_print_json(o);
            else
                json_decref(o);
            return 0;
        }
    }
    return -1;
}

int
cli_cmd_describe(int argc, char **argv)
{
    civic_channel *ch;
    int rc = cli_open_channel(&ch);
    if (rc != 0)
        return rc;
    Civic__Rpc__V1__ListServicesResponse *ls;
    Google__Protobuf__FileDescriptorSet *set;
    rc = fetch_reflection(ch, &ls, &set);
    civic_channel_close(ch);
    if (rc != 0)
        return rc;
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
                if (cli_g.out == OUT_TABLE && (svc_match || want == NULL))
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
                    if (cli_g.out == OUT_TABLE) {
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
    if (cli_g.out != OUT_TABLE && !is_msg)
        cli_print_json(jout);
    else
        json_decref(jout);
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    protobuf_c_message_free_unpacked(&ls->base, NULL);
    if (want && !found) {
        fprintf(stderr, "civic: NOT_FOUND: %s is not served there\n", want);
        return 1;
    }
    return 0;
}
