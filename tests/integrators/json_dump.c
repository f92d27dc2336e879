// json_dump: the C side of civic.integrators.json.
//   json_dump gen DIR TYPE...   for each message type, a message with every
//                               field populated: DIR/TYPE.bin (its bytes) and
//                               DIR/TYPE.json (civic_msg_to_json); checks that
//                               our JSON parses back to the same bytes.
//   json_dump parse TYPE IN.json OUT.bin
//                               civic_msg_from_json on someone else's JSON.
//   json_dump check             the parser's rules and its errors.
// Exit 0 when all is well, 1 on any failure (each named on stderr).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_msg.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

#define FIELD_PTR(msg, off) ((void *) ((char *) (msg) + (off)))

static size_t
vsize(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

static void fill(ProtobufCMessage *m, int depth, int seed);

// fill_value sets one value, different for each seed (repeated items and
// map keys differ).
static void
fill_value(const ProtobufCFieldDescriptor *f, void *p, int depth, int seed)
{
    unsigned id = f->id + (unsigned) seed * 7;
    char buf[128];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *) p = seed % 2 ? (int32_t) id : -(int32_t) id;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *) p = 4000000000u + id;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *) p = (seed % 2 ? 1 : -1) * (9007199254740993LL + id);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *) p = 18446744073709551615ull - id;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *) p = 1.1f * (float) id;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *) p = 33.6 + id / 3.0;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *) p = 1;
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        *(int *) p = ed->values[(ed->n_values - 1 - (unsigned) seed % ed->n_values + ed->n_values) % ed->n_values].value;
        if (*(int *) p == 0)
            *(int *) p = ed->values[ed->n_values - 1].value;
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        snprintf(buf, sizeof buf, "s%u 高良涧 \"q\"\\ \t/", id);
        *(char **) p = strdup(buf);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = p;
        b->len = 1 + id % 5;
        b->data = malloc(b->len);
        for (size_t i = 0; i < b->len; i++)
            b->data[i] = (uint8_t) (0xfb + i * 3 + id);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = calloc(1, ((const ProtobufCMessageDescriptor *) f->descriptor)->sizeof_message);
        protobuf_c_message_init(f->descriptor, sub);
        fill(sub, depth + 1, seed);
        *(ProtobufCMessage **) p = sub;
        break;
    }
    }
}

static void
fill(ProtobufCMessage *m, int depth, int seed)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == &google__protobuf__timestamp__descriptor) {
        static const int32_t nanos[] = {0, 123000000, 123456000, 123456789};
        Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *) m;
        ts->seconds = 1714555800 + seed * 86401;
        ts->nanos = nanos[seed % 4];
        return;
    }
    if (d == &google__protobuf__field_mask__descriptor) {
        Google__Protobuf__FieldMask *fm = (Google__Protobuf__FieldMask *) m;
        fm->n_paths = 2;
        fm->paths = malloc(2 * sizeof *fm->paths);
        fm->paths[0] = strdup("display_name");
        fm->paths[1] = strdup("location.lat");
        return;
    }
    if (d == &google__protobuf__any__descriptor) {
        Google__Protobuf__Any *a = (Google__Protobuf__Any *) m;
        Civic__Rpc__V1__FieldViolation fv = CIVIC__RPC__V1__FIELD_VIOLATION__INIT;
        char field[] = "point.location.lat", desc[] = "must be within -90 and 90";
        fv.field = field;
        fv.description = desc;
        a->type_url = strdup("type.googleapis.com/civic.rpc.v1.FieldViolation");
        a->value.len = civic__rpc__v1__field_violation__get_packed_size(&fv);
        a->value.data = malloc(a->value.len);
        civic__rpc__v1__field_violation__pack(&fv, a->value.data);
        return;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth >= 4 &&
            f->descriptor != &google__protobuf__timestamp__descriptor)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = 2, sz = vsize(f->type);
            char *arr = calloc(n, sz);
            for (size_t k = 0; k < n; k++)
                fill_value(f, arr + k * sz, depth, seed + (int) k + 1);
            *(size_t *) FIELD_PTR(m, f->quantifier_offset) = n;
            *(char **) FIELD_PTR(m, f->offset) = arr;
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t *cas = FIELD_PTR(m, f->quantifier_offset);
            if (*cas != 0)
                continue;
            *cas = f->id;
        }
        void *slot = FIELD_PTR(m, f->offset);
        if (f->type == PROTOBUF_C_TYPE_STRING && *(char **) slot != NULL &&
            *(char **) slot != protobuf_c_empty_string)
            free(*(char **) slot);
        fill_value(f, slot, depth, seed);
    }
}

static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*len ? *len : 1);
    protobuf_c_message_pack(m, b);
    return b;
}

static int
write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

static int
gen(const char *dir, int n, char **names)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        const ProtobufCMessageDescriptor *d = civic_msg_find_type(names[i]);
        if (d == NULL) {
            fprintf(stderr, "FAIL %s: not known to civic_msg_find_type\n", names[i]);
            failed++;
            continue;
        }
        ProtobufCMessage *m = civic_msg_new(d);
        fill(m, 0, 0);
        size_t len;
        uint8_t *bytes = pack(m, &len);
        json_t *j = civic_msg_to_json(m);
        char *text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.bin", dir, names[i]);
        failed += write_file(path, bytes, len) != 0;
        snprintf(path, sizeof path, "%s/%s.json", dir, names[i]);
        failed += write_file(path, text, strlen(text)) != 0;
        // Round trip: our JSON, our parser, the same bytes.
        ProtobufCMessage *back = civic_msg_new(d);
        char err[512];
        if (civic_msg_from_json(back, j, err, sizeof err) != 0) {
            fprintf(stderr, "FAIL %s: our JSON does not parse back: %s\n", names[i], err);
            failed++;
        } else {
            size_t blen;
            uint8_t *bb = pack(back, &blen);
            if (blen != len || memcmp(bb, bytes, len) != 0) {
                fprintf(stderr, "FAIL %s: JSON round trip changed the bytes (%zu -> %zu)\n", names[i], len, blen);
                failed++;
            }
            free(bb);
        }
        protobuf_c_message_free_unpacked(back, NULL);
        free(text);
        json_decref(j);
        free(bytes);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return failed ? 1 : 0;
}

static int
parse(const char *type, const char *in, const char *out)
{
    const ProtobufCMessageDescriptor *d = civic_msg_find_type(type);
    json_error_t je;
    json_t *j = json_load_file(in, 0, &je);
    if (d == NULL || j == NULL) {
        fprintf(stderr, "FAIL %s: %s\n", type, d ? je.text : "unknown type");
        return 1;
    }
    ProtobufCMessage *m = civic_msg_new(d);
    char err[512];
    int rc = 0;
    if (civic_msg_from_json(m, j, err, sizeof err) != 0) {
        fprintf(stderr, "FAIL %s: Python's JSON does not parse: %s\n", type, err);
        rc = 1;
    } else {
        size_t len;
        uint8_t *b = pack(m, &len);
        rc = write_file(out, b, len) != 0;
        free(b);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    json_decref(j);
    return rc;
}

// expect parses text as type and checks the outcome: want_err NULL for
// success (then want_json, if given, is the message's JSON), else a
// substring of the error.
static int
expect(const char *type, const char *text, const char *want_err, const char *want_json)
{
    const ProtobufCMessageDescriptor *d = civic_msg_find_type(type);
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (d == NULL || j == NULL) {
        fprintf(stderr, "FAIL check setup %s %s\n", type, text);
        return 1;
    }
    ProtobufCMessage *m = civic_msg_new(d);
    char err[512] = "";
    int rc = civic_msg_from_json(m, j, err, sizeof err), bad = 0;
    if (want_err == NULL && rc != 0) {
        fprintf(stderr, "FAIL %s: refused: %s\n", text, err);
        bad = 1;
    } else if (want_err != NULL && (rc == 0 || strstr(err, want_err) == NULL)) {
        fprintf(stderr, "FAIL %s: want error containing \"%s\", got %s\"%s\"\n", text, want_err,
                rc == 0 ? "success " : "", err);
        bad = 1;
    } else if (want_err == NULL && want_json != NULL) {
        json_t *o = civic_msg_to_json(m);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        if (strcmp(s, want_json) != 0) {
            fprintf(stderr, "FAIL %s: reads as %s, want %s\n", text, s, want_json);
            bad = 1;
        }
        free(s);
        json_decref(o);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    json_decref(j);
    return bad;
}

static int
check(void)
{
    int bad = 0;
    const char *P = "civic.points.v1.CreatePointRequest", *R = "civic.rpc.v1.Request";
    // Names: lowerCamelCase and snake_case; unknown names refused with their path.
    bad += expect("civic.points.v1.Area", "{\"parent_id\":\"5\",\"areaId\":7}", NULL,
                  "{\"parentId\":\"5\",\"areaId\":\"7\"}");
    bad += expect(P, "{\"point\":{\"location\":{\"lat\":1,\"latitude\":2}}}", "point.location.latitude", NULL);
    bad += expect("civic.points.v1.Area", "{\"parentId\":1,\"parent_id\":2}", "given twice", NULL);
    // Type mismatches name the field.
    bad += expect(P, "{\"point\":{\"location\":{\"lat\":\"north\"}}}", "point.location.lat: expected a number", NULL);
    bad += expect("civic.points.v1.Area", "{\"id\":-1}", "id: expected an unsigned", NULL);
    bad += expect("civic.points.v1.Area", "{\"id\":\"12x\"}", "id:", NULL);
    bad += expect("civic.points.v1.Area", "{\"id\":1.5}", "id:", NULL);
    bad += expect("civic.points.v1.Area", "{\"demo\":\"true\"}", "demo: expected true or false", NULL);
    bad += expect("civic.points.v1.Area", "{\"name\":5}", "name: expected a string", NULL);
    bad += expect("civic.points.v1.Area", "{\"level\":\"NO_SUCH\"}", "level: expected one of", NULL);
    bad += expect("civic.points.v1.Area", "[]", "expected an object", NULL);
    bad += expect("civic.points.v1.Area", "{\"createTime\":\"yesterday\"}", "createTime: expected an RFC 3339", NULL);
    // Enums by name or number; 64-bit integers as strings or numbers.
    bad += expect("civic.points.v1.Area", "{\"level\":1,\"id\":\"18446744073709551615\"}", NULL,
                  "{\"id\":\"18446744073709551615\",\"level\":\"AREA_LEVEL_AREA\"}");
    // Timestamps with an offset; null is the default.
    bad += expect("civic.points.v1.Area", "{\"createTime\":\"2024-05-01T17:30:00.5+08:00\",\"name\":null}", NULL,
                  "{\"createTime\":\"2024-05-01T09:30:00.500Z\"}");
    // Maps as objects; bytes as base64 (URL-safe too).
    bad += expect(R, "{\"method\":\"/x/Y\",\"metadata\":{\"a\":\"1\",\"b-c\":\"2\"},\"payload\":\"-_8=\"}", NULL,
                  "{\"method\":\"/x/Y\",\"metadata\":{\"a\":\"1\",\"b-c\":\"2\"},\"payload\":\"+/8=\"}");
    bad += expect(R, "{\"metadata\":{\"a\":1}}", "metadata[\"a\"]: expected a string", NULL);
    bad += expect(R, "{\"metadata\":[]}", "metadata: expected an object", NULL);
    bad += expect(R, "{\"payload\":\"@@\"}", "payload: expected base64", NULL);
    // Any: a known type by its fields; an unknown one only as bytes.
    bad += expect("civic.rpc.v1.Status",
                  "{\"details\":[{\"@type\":\"type.googleapis.com/civic.rpc.v1.FieldViolation\",\"field\":\"a\"}]}",
                  NULL, "{\"details\":[{\"@type\":\"type.googleapis.com/civic.rpc.v1.FieldViolation\",\"field\":\"a\"}]}");
    bad += expect("civic.rpc.v1.Status",
                  "{\"details\":[{\"@type\":\"type.googleapis.com/civic.rpc.v1.FieldViolation\",\"nope\":1}]}",
                  "details[0].nope", NULL);
    bad += expect("civic.rpc.v1.Status", "{\"details\":[{\"@type\":\"x/unknown.T\",\"a\":1}]}", "unknown type", NULL);
    // FieldMask: camelCase paths in JSON, snake_case inside.
    bad += expect("civic.points.v1.UpdatePointRequest", "{\"updateMask\":\"displayName,location.lat\"}", NULL,
                  "{\"updateMask\":\"displayName,location.lat\"}");
    return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], argc - 3, argv + 3);
    if (argc == 5 && strcmp(argv[1], "parse") == 0)
        return parse(argv[2], argv[3], argv[4]);
    if (argc == 2 && strcmp(argv[1], "check") == 0)
        return check();
    fprintf(stderr, "usage: json_dump gen DIR TYPE... | parse TYPE IN OUT | check\n");
    return 2;
}
