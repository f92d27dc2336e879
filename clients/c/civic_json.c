// civic_json: protobuf-c messages to and from JSON in protobuf's canonical
// mapping (lowerCamelCase names, enums by name, 64-bit integers as strings,
// the well-known types Timestamp, FieldMask and Any in their own forms),
// driven by the descriptors alone. It reads only types compiled into this
// library (protobuf-c has no dynamic messages); an Any of another type keeps
// its bytes as base64.
#include "civic_msg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <math.h>

#include "civic_msg_impl.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

// --- JSON out ---

void
civic_json_name(const char *field, char *out, size_t n)
{
    size_t o = 0;
    int up = 0;
    for (const char *p = field; *p && o + 1 < n; p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        out[o++] = up ? (char) toupper((unsigned char) *p) : *p;
        up = 0;
    }
    out[o] = '\0';
}

static void
format_time(int64_t secs, int32_t nanos, char *out, size_t n)
{
    time_t t = (time_t) secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t o = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (nanos > 0) {
        if (nanos % 1000000 == 0)
            o += (size_t) snprintf(out + o, n - o, ".%03d", nanos / 1000000);
        else if (nanos % 1000 == 0)
            o += (size_t) snprintf(out + o, n - o, ".%06d", nanos / 1000);
        else
            o += (size_t) snprintf(out + o, n - o, ".%09d", nanos);
    }
    snprintf(out + o, n - o, "Z");
}

static char *
base64(const uint8_t *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = a[v >> 18 & 63];
        *o++ = a[v >> 12 & 63];
        *o++ = i + 1 < n ? a[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? a[v & 63] : '=';
    }
    *o = '\0';
    return out;
}
// is_map_entry: protobuf-c represents map<K,V> as repeated NameEntry
// messages with key = 1 and value = 2.
static int
is_map_entry(const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_REPEATED)
        return 0;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    if (d->n_fields != 2 || strcmp(d->fields[0].name, "key") != 0 || d->fields[0].id != 1 ||
        strcmp(d->fields[1].name, "value") != 0 || d->fields[1].id != 2)
        return 0;
    char want[160];
    civic_json_name(f->name, want, sizeof want - 8);
    want[0] = (char) toupper((unsigned char) want[0]);
    strcat(want, "Entry");
    return strcmp(d->short_name, want) == 0;
}

// real_json: NaN and the infinities as strings; a float printed as the
// shortest decimal that reads back as the same float (as Python does).
static json_t *
real_json(double v, int is_float)
{
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    if (is_float) {
        char buf[64];
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if ((float) strtod(buf, NULL) == (float) v)
                break;
        }
        return json_real(strtod(buf, NULL));
    }
    return json_real(v);
}

json_t *
civic_msg_value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    char buf[64];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *) p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *) p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(buf, sizeof buf, "%" PRId64, *(const int64_t *) p);
        return json_string(buf);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *) p);
        return json_string(buf);
    case PROTOBUF_C_TYPE_FLOAT:
        return real_json(*(const float *) p, 1);
    case PROTOBUF_C_TYPE_DOUBLE:
        return real_json(*(const double *) p, 0);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *) p);
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *) p);
        return v ? json_string(v->name) : json_integer(*(const int *) p);
    }
    case PROTOBUF_C_TYPE_STRING:
        return json_string(*(char *const *) p ? *(char *const *) p : "");
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        char *s = base64(b->data, b->len);
        json_t *j = json_string(s);
        free(s);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return civic_msg_to_json(*(ProtobufCMessage *const *) p);
    }
    return json_null();
}

static int
is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return *(char *const *) p == NULL || **(char *const *) p == '\0';
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *) p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(void *const *) p == NULL;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *) p == 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *) p == 0;
    default: {
        static const char zero[8];
        return memcmp(p, zero, civic_msg_value_size(f->type)) == 0;
    }
    }
}

// any_json: {"@type": URL, ...fields} for a type compiled in; a
// well-known type's JSON goes under "value"; an unknown type keeps its bytes
// as base64 under "value".
static json_t *
any_json(const Google__Protobuf__Any *a)
{
    json_t *o = json_object();
    const char *url = a->type_url ? a->type_url : "";
    json_object_set_new(o, "@type", json_string(url));
    const char *slash = strrchr(url, '/');
    const ProtobufCMessageDescriptor *d = civic_msg_find_type(slash ? slash + 1 : url);
    ProtobufCMessage *m = d ? protobuf_c_message_unpack(d, NULL, a->value.len, a->value.data) : NULL;
    if (m == NULL) {
        char *b = base64(a->value.data, a->value.len);
        json_object_set_new(o, "value", json_string(b));
        free(b);
        return o;
    }
    json_t *j = civic_msg_to_json(m);
    if (json_is_object(j))
        json_object_update(o, j);
    else
        json_object_set(o, "value", j);
    json_decref(j);
    protobuf_c_message_free_unpacked(m, NULL);
    return o;
}

json_t *
civic_msg_to_json(const ProtobufCMessage *msg)
{
    if (msg == NULL)
        return json_null();
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (d == &google__protobuf__timestamp__descriptor) {
        const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *) msg;
        char buf[64];
        format_time(ts->seconds, ts->nanos, buf, sizeof buf);
        return json_string(buf);
    }
    if (d == &google__protobuf__field_mask__descriptor) {
        const Google__Protobuf__FieldMask *fm = (const Google__Protobuf__FieldMask *) msg;
        char buf[1024] = "", name[128];
        for (size_t i = 0; i < fm->n_paths; i++) {
            civic_json_name(fm->paths[i], name, sizeof name);
            if (i)
                strncat(buf, ",", sizeof buf - strlen(buf) - 1);
            strncat(buf, name, sizeof buf - strlen(buf) - 1);
        }
        return json_string(buf);
    }
    if (d == &google__protobuf__any__descriptor)
        return any_json((const Google__Protobuf__Any *) msg);
    json_t *o = json_object();
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char name[128];
        civic_json_name(f->name, name, sizeof name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *) FIELD_CPTR(msg, f->quantifier_offset);
            if (count == 0)
                continue;
            const char *arr = *(char *const *) FIELD_CPTR(msg, f->offset);
            if (is_map_entry(f)) {
                // A map: an object keyed by the entries' keys as text.
                json_t *m = json_object();
                const ProtobufCMessageDescriptor *ed = f->descriptor;
                for (size_t j = 0; j < count; j++) {
                    const ProtobufCMessage *e = ((ProtobufCMessage *const *) (const void *) arr)[j];
                    json_t *k = civic_msg_value_json(&ed->fields[0], FIELD_CPTR(e, ed->fields[0].offset));
                    char *ks = json_is_string(k) ? strdup(json_string_value(k))
                                                 : json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
                    json_object_set_new(m, ks, civic_msg_value_json(&ed->fields[1], FIELD_CPTR(e, ed->fields[1].offset)));
                    free(ks);
                    json_decref(k);
                }
                json_object_set_new(o, name, m);
                continue;
            }
            json_t *a = json_array();
            for (size_t j = 0; j < count; j++)
                json_array_append_new(a, civic_msg_value_json(f, arr + j * civic_msg_value_size(f->type)));
            json_object_set_new(o, name, a);
            continue;
        }
        const void *p = FIELD_CPTR(msg, f->offset);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *) FIELD_CPTR(msg, f->quantifier_offset) != f->id)
                continue;
        } else if (is_default(f, p)) {
            continue;
        }
        json_object_set_new(o, name, civic_msg_value_json(f, p));
    }
    return o;
}

// --- JSON in ---

typedef struct jctx {
    char path[512];
    char *err;
    size_t errlen;
} jctx;

static int jfail(jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
jfail(jctx *c, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s: %s", c->path[0] ? c->path : "(message)", msg);
    return -1;
}

static int
unbase64(const char *s, ProtobufCBinaryData *out)
{
    size_t n = strlen(s);
    uint8_t *buf = malloc(n / 4 * 3 + 3), *o = buf;
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    for (const char *p = s; *p; p++) {
        int v;
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z')
            v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9')
            v = ch - '0' + 52;
        else if (ch == '+' || ch == '-')
            v = 62;
        else if (ch == '/' || ch == '_')
            v = 63;
        else if (ch == '=') {
            pad++;
            continue;
        } else {
            free(buf);
            return -1;
        }
        if (pad) {
            free(buf);
            return -1;
        }
        acc = acc << 6 | (uint32_t) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (uint8_t) (acc >> bits);
        }
    }
    if (pad > 2 || bits >= 6) {
        free(buf);
        return -1;
    }
    out->data = buf;
    out->len = (size_t) (o - buf);
    if (out->len == 0) {
        free(buf);
        out->data = NULL;
    }
    return 0;
}

// json_int64 reads an integer given as a JSON integer, an integral real or
// a decimal string.
static int
json_int64(json_t *v, int is_unsigned, long long *s, unsigned long long *u)
{
    if (json_is_integer(v)) {
        *s = json_integer_value(v);
        if (is_unsigned && *s < 0)
            return -1;
        *u = (unsigned long long) *s;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || (double) (long long) d != d ||
            (is_unsigned && d < 0))
            return -1;
        *s = (long long) d;
        *u = (unsigned long long) *s;
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *t = json_string_value(v);
    char *end;
    errno = 0;
    if (is_unsigned) {
        if (t[0] == '-' || t[0] == '\0')
            return -1;
        *u = strtoull(t, &end, 10);
        *s = (long long) *u;
    } else {
        *s = strtoll(t, &end, 10);
        *u = (unsigned long long) *s;
    }
    if (end == t || *end != '\0' || errno != 0 || isspace((unsigned char) t[0]))
        return -1;
    return 0;
}

static int msg_from_json(ProtobufCMessage *m, json_t *j, jctx *c);

static int
value_from_json(const ProtobufCFieldDescriptor *f, void *p, json_t *v, jctx *c)
{
    long long s;
    unsigned long long u;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (json_int64(v, 0, &s, &u) != 0 || s < INT32_MIN || s > INT32_MAX)
            return jfail(c, "expected a 32-bit integer");
        *(int32_t *) p = (int32_t) s;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (json_int64(v, 1, &s, &u) != 0 || u > UINT32_MAX)
            return jfail(c, "expected an unsigned 32-bit integer");
        *(uint32_t *) p = (uint32_t) u;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (json_int64(v, 0, &s, &u) != 0)
            return jfail(c, "expected a 64-bit integer (a number or a decimal string)");
        *(int64_t *) p = s;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (json_int64(v, 1, &s, &u) != 0)
            return jfail(c, "expected an unsigned 64-bit integer (a number or a decimal string)");
        *(uint64_t *) p = u;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d;
        if (json_is_number(v)) {
            d = json_number_value(v);
        } else if (json_is_string(v)) {
            const char *t = json_string_value(v);
            char *end;
            if (strcmp(t, "NaN") == 0)
                d = NAN;
            else if (strcmp(t, "Infinity") == 0)
                d = INFINITY;
            else if (strcmp(t, "-Infinity") == 0)
                d = -INFINITY;
            else {
                d = strtod(t, &end);
                if (end == t || *end != '\0' || isnan(d) || isinf(d))
                    return jfail(c, "expected a number");
            }
        } else {
            return jfail(c, "expected a number");
        }
        if (f->type == PROTOBUF_C_TYPE_FLOAT) {
            if (isfinite(d) && (d > 3.4028234663852886e38 || d < -3.4028234663852886e38))
                return jfail(c, "out of range for a float");
            *(float *) p = (float) d;
        } else {
            *(double *) p = d;
        }
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return jfail(c, "expected true or false");
        *(protobuf_c_boolean *) p = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        if (json_is_integer(v)) {
            json_int_t n = json_integer_value(v);
            if (n < INT32_MIN || n > INT32_MAX)
                return jfail(c, "enum number out of range");
            *(int *) p = (int) n;
            return 0;
        }
        if (json_is_string(v)) {
            const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
            int n;
            if (ev != NULL) {
                *(int *) p = ev->value;
                return 0;
            }
            if (civic_msg_parse_enum(ed, json_string_value(v), &n) == 0) {
                *(int *) p = n;
                return 0;
            }
        }
        char names[256] = "";
        for (unsigned i = 0; i < ed->n_values && strlen(names) < 200; i++) {
            strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, ed->values[i].name, sizeof names - strlen(names) - 1);
        }
        return jfail(c, "expected one of %s", names);
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v))
            return jfail(c, "expected a string");
        char **sp = p;
        if (*sp != NULL && *sp != (const char *) f->default_value && *sp != protobuf_c_empty_string)
            free(*sp);
        *sp = strdup(json_string_value(v));
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = p;
        ProtobufCBinaryData nb;
        if (!json_is_string(v) || unbase64(json_string_value(v), &nb) != 0)
            return jfail(c, "expected base64");
        free(b->data);
        *b = nb;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage **mp = p;
        if (*mp == NULL)
            *mp = civic_msg_new(f->descriptor);
        return msg_from_json(*mp, v, c);
    }
    }
    return jfail(c, "unsupported field type");
}

static void
snake_name(const char *camel, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = camel; *p && o + 2 < n; p++) {
        if (isupper((unsigned char) *p)) {
            out[o++] = '_';
            out[o++] = (char) tolower((unsigned char) *p);
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static int
any_from_json(Google__Protobuf__Any *a, json_t *j, jctx *c)
{
    json_t *t = json_object_get(j, "@type");
    if (!json_is_string(t))
        return jfail(c, "an Any needs \"@type\"");
    const char *url = json_string_value(t);
    const char *slash = strrchr(url, '/');
    const ProtobufCMessageDescriptor *d = civic_msg_find_type(slash ? slash + 1 : url);
    if (a->type_url != NULL && a->type_url != protobuf_c_empty_string)
        free(a->type_url);
    a->type_url = strdup(url);
    json_t *val = json_object_get(j, "value");
    if (d == NULL) {
        // Unknown type: only its bytes, as base64 under "value".
        ProtobufCBinaryData nb;
        if (json_object_size(j) != 2 || !json_is_string(val) || unbase64(json_string_value(val), &nb) != 0)
            return jfail(c, "unknown type %s in Any (give its bytes as base64 under \"value\")", url);
        free(a->value.data);
        a->value = nb;
        return 0;
    }
    ProtobufCMessage *m = civic_msg_new(d);
    int rc;
    if (d == &google__protobuf__timestamp__descriptor || d == &google__protobuf__field_mask__descriptor ||
        d == &google__protobuf__any__descriptor) {
        rc = json_object_size(j) == 2 && val ? msg_from_json(m, val, c)
                                            : jfail(c, "an Any of %s takes its JSON under \"value\"", d->name);
    } else {
        json_t *rest = json_deep_copy(j);
        json_object_del(rest, "@type");
        rc = msg_from_json(m, rest, c);
        json_decref(rest);
    }
    if (rc == 0) {
        size_t len = protobuf_c_message_get_packed_size(m);
        free(a->value.data);
        a->value.data = len ? malloc(len) : NULL;
        a->value.len = len ? protobuf_c_message_pack(m, a->value.data) : 0;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static int
map_from_json(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, json_t *v, jctx *c)
{
    if (!json_is_object(v))
        return jfail(c, "expected an object (a map)");
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    size_t *count = FIELD_PTR(m, f->quantifier_offset);
    ProtobufCMessage ***arr = FIELD_PTR(m, f->offset);
    size_t plen = strlen(c->path);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        snprintf(c->path + plen, sizeof c->path - plen, "[\"%s\"]", key);
        ProtobufCMessage *e = civic_msg_new(ed);
        *arr = realloc(*arr, (*count + 1) * sizeof **arr);
        (*arr)[(*count)++] = e;
        const ProtobufCFieldDescriptor *kf = &ed->fields[0];
        json_t *kj;
        if (kf->type == PROTOBUF_C_TYPE_STRING)
            kj = json_string(key);
        else if (kf->type == PROTOBUF_C_TYPE_BOOL && (strcmp(key, "true") == 0 || strcmp(key, "false") == 0))
            kj = json_boolean(strcmp(key, "true") == 0);
        else
            kj = json_string(key);
        int rc = value_from_json(kf, FIELD_PTR(e, kf->offset), kj, c);
        json_decref(kj);
        if (rc != 0 || value_from_json(&ed->fields[1], FIELD_PTR(e, ed->fields[1].offset), val, c) != 0)
            return -1;
    }
    c->path[plen] = '\0';
    return 0;
}

static int
msg_from_json(ProtobufCMessage *m, json_t *j, jctx *c)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == &google__protobuf__timestamp__descriptor) {
        Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *) m;
        const char *t = json_string_value(j);
        if (t == NULL || strchr(t, 'T') == NULL || civic_msg_parse_time(t, &ts->seconds, &ts->nanos) != 0)
            return jfail(c, "expected an RFC 3339 time (\"2024-05-01T09:30:00Z\")");
        return 0;
    }
    if (d == &google__protobuf__field_mask__descriptor) {
        Google__Protobuf__FieldMask *fm = (Google__Protobuf__FieldMask *) m;
        if (!json_is_string(j))
            return jfail(c, "expected a field mask (comma-separated paths)");
        char *copy = strdup(json_string_value(j)), *save = NULL, sn[256];
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            snake_name(tok, sn, sizeof sn);
            fm->paths = realloc(fm->paths, (fm->n_paths + 1) * sizeof *fm->paths);
            fm->paths[fm->n_paths++] = strdup(sn);
        }
        free(copy);
        return 0;
    }
    if (!json_is_object(j))
        return jfail(c, "expected an object (%s)", d->name);
    if (d == &google__protobuf__any__descriptor)
        return any_from_json((Google__Protobuf__Any *) m, j, c);
    size_t plen = strlen(c->path);
    uint64_t seen[4] = {0}; // fields given, by index (to refuse a field named twice)
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        snprintf(c->path + plen, sizeof c->path - plen, "%s%s", plen ? "." : "", key);
        const ProtobufCFieldDescriptor *f = NULL;
        unsigned fi = 0;
        for (fi = 0; fi < d->n_fields; fi++) {
            char jn[128];
            civic_json_name(d->fields[fi].name, jn, sizeof jn);
            if (strcmp(jn, key) == 0 || strcmp(d->fields[fi].name, key) == 0) {
                f = &d->fields[fi];
                break;
            }
        }
        if (f == NULL)
            return jfail(c, "%s has no such field", d->name);
        if (fi < 256) {
            if (seen[fi / 64] & (1ull << (fi % 64)))
                return jfail(c, "field given twice");
            seen[fi / 64] |= 1ull << (fi % 64);
        }
        if (json_is_null(v))
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (is_map_entry(f)) {
                if (map_from_json(m, f, v, c) != 0)
                    return -1;
                continue;
            }
            if (!json_is_array(v))
                return jfail(c, "expected an array");
            size_t *count = FIELD_PTR(m, f->quantifier_offset);
            char **arr = FIELD_PTR(m, f->offset);
            size_t sz = civic_msg_value_size(f->type), n = json_array_size(v);
            size_t plen2 = strlen(c->path);
            for (size_t i = 0; i < n; i++) {
                snprintf(c->path + plen2, sizeof c->path - plen2, "[%zu]", i);
                *arr = realloc(*arr, (*count + 1) * sz);
                memset(*arr + *count * sz, 0, sz);
                void *slot = *arr + *count * sz;
                (*count)++;
                if (value_from_json(f, slot, json_array_get(v, i), c) != 0)
                    return -1;
            }
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t *cas = FIELD_PTR(m, f->quantifier_offset);
            if (*cas != 0 && *cas != f->id)
                return jfail(c, "another field of its oneof is already set");
            *cas = f->id;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
            *(protobuf_c_boolean *) FIELD_PTR(m, f->quantifier_offset) = 1;
        }
        if (value_from_json(f, FIELD_PTR(m, f->offset), v, c) != 0)
            return -1;
    }
    c->path[plen] = '\0';
    return 0;
}

int
civic_msg_from_json(ProtobufCMessage *msg, json_t *j, char *err, size_t errlen)
{
    jctx c = {.err = err, .errlen = errlen};
    return msg_from_json(msg, j, &c);
}
