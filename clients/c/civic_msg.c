// Generic protobuf-c messages: set by path, print as JSON, flatten to tables.
#include "civic_msg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <math.h>
#include <pthread.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "civic/points/v1/points.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic/tasks/v1/tasks.pb-c.h"
#include "civic/volunteers/v1/volunteers.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

#define FIELD_PTR(msg, off) ((void *) ((char *) (msg) + (off)))
#define FIELD_CPTR(msg, off) ((const void *) ((const char *) (msg) + (off)))

ProtobufCMessage *
civic_msg_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = calloc(1, desc->sizeof_message);
    if (m != NULL)
        protobuf_c_message_init(desc, m);
    return m;
}

static size_t
value_size(ProtobufCType t)
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

static int
is_wkt(const ProtobufCFieldDescriptor *f, const ProtobufCMessageDescriptor *wkt)
{
    return f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor == wkt;
}

// --- setting fields from text ---

static int
parse_enum(const ProtobufCEnumDescriptor *ed, const char *text, int *out)
{
    char up[256];
    size_t n = 0;
    for (const char *p = text; *p && n < sizeof up - 1; p++)
        up[n++] = *p == '-' ? '_' : (char) toupper((unsigned char) *p);
    up[n] = '\0';
    // The prefix every value of this enum carries: "POINT_KIND_" for PointKind.
    char prefix[256];
    n = 0;
    for (const char *p = ed->short_name; *p && n < sizeof prefix - 2; p++) {
        if (p != ed->short_name && isupper((unsigned char) *p))
            prefix[n++] = '_';
        prefix[n++] = (char) toupper((unsigned char) *p);
    }
    prefix[n++] = '_';
    prefix[n] = '\0';
    for (unsigned i = 0; i < ed->n_values; i++) {
        const char *name = ed->values[i].name;
        if (strcmp(name, up) == 0 || (strncmp(name, prefix, n) == 0 && strcmp(name + n, up) == 0)) {
            *out = ed->values[i].value;
            return 0;
        }
    }
    char *end;
    long v = strtol(text, &end, 10);
    if (end != text && *end == '\0' && protobuf_c_enum_descriptor_get_value(ed, (int) v)) {
        *out = (int) v;
        return 0;
    }
    return -1;
}

static int
parse_time(const char *text, int64_t *secs, int32_t *nanos)
{
    *nanos = 0;
    if (strcmp(text, "now") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        *secs = ts.tv_sec;
        *nanos = (int32_t) ts.tv_nsec;
        return 0;
    }
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end != text && *end == '\0') {
        *secs = v;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, s = 0, used = 0;
    if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3)
        return -1;
    const char *p = text + used;
    if (*p == 'T' || *p == ' ') {
        if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &s, &used) != 3)
            return -1;
        p += 1 + used;
        if (*p == '.') {
            int32_t frac = 0, digits = 0;
            for (p++; isdigit((unsigned char) *p); p++, digits++)
                if (digits < 9)
                    frac = frac * 10 + (*p - '0');
            for (; digits < 9; digits++)
                frac *= 10;
            *nanos = frac;
        }
    }
    long off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return -1;
        off = (*p == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
        p += 6;
    } else if (*p == '\0' && used == 0) {
        // A bare date: midnight UTC.
    }
    if (*p != '\0')
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
    *secs = (int64_t) timegm(&tm) - off;
    return 0;
}

static int
set_scalar(void *p, const ProtobufCFieldDescriptor *f, const char *text, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        long long v = strtoll(text, &end, 10);
        if (*end || end == text || errno || v < INT32_MIN || v > INT32_MAX)
            goto bad;
        *(int32_t *) p = (int32_t) v;
        return 0;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        unsigned long long v = strtoull(text, &end, 10);
        if (*end || end == text || errno || v > UINT32_MAX || text[0] == '-')
            goto bad;
        *(uint32_t *) p = (uint32_t) v;
        return 0;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        long long v = strtoll(text, &end, 10);
        if (*end || end == text || errno)
            goto bad;
        *(int64_t *) p = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        unsigned long long v = strtoull(text, &end, 10);
        if (*end || end == text || errno || text[0] == '-')
            goto bad;
        *(uint64_t *) p = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double v = strtod(text, &end);
        if (*end || end == text)
            goto bad;
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *) p = (float) v;
        else
            *(double *) p = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0 || strcmp(text, "yes") == 0)
            *(protobuf_c_boolean *) p = 1;
        else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0 || strcmp(text, "no") == 0)
            *(protobuf_c_boolean *) p = 0;
        else
            goto bad;
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        int v;
        if (parse_enum(f->descriptor, text, &v) != 0) {
            const ProtobufCEnumDescriptor *ed = f->descriptor;
            size_t o = (size_t) snprintf(err, errlen, "%s: \"%s\" is not one of", f->name, text);
            for (unsigned i = 1; i < ed->n_values && o < errlen; i++)
                o += (size_t) snprintf(err + o, errlen - o, " %s", ed->values[i].name);
            return -1;
        }
        *(int *) p = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING: {
        char **s = p;
        if (*s != NULL && *s != (const char *) f->default_value && *s != protobuf_c_empty_string)
            free(*s);
        *s = strdup(text);
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = p;
        free(b->data);
        b->len = strlen(text);
        b->data = (uint8_t *) strdup(text);
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    }
bad:
    snprintf(err, errlen, "%s: \"%s\" is not a valid value", f->name, text);
    return -1;
}

static int
set_wkt(ProtobufCMessage *m, const char *text, char *err, size_t errlen)
{
    if (m->descriptor == &google__protobuf__timestamp__descriptor) {
        Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *) m;
        if (parse_time(text, &ts->seconds, &ts->nanos) != 0) {
            snprintf(err, errlen, "\"%s\" is not a time (RFC 3339, Unix seconds or now)", text);
            return -1;
        }
        return 0;
    }
    Google__Protobuf__FieldMask *fm = (Google__Protobuf__FieldMask *) m;
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        fm->paths = realloc(fm->paths, (fm->n_paths + 1) * sizeof *fm->paths);
        fm->paths[fm->n_paths++] = strdup(tok);
    }
    free(copy);
    return 0;
}

int
civic_msg_set(ProtobufCMessage *msg, const char *path, const char *text, char *err, size_t errlen)
{
    char seg[128];
    const char *p = path;
    for (;;) {
        size_t n = strcspn(p, ".");
        if (n == 0 || n >= sizeof seg) {
            snprintf(err, errlen, "bad field path \"%s\"", path);
            return -1;
        }
        memcpy(seg, p, n);
        seg[n] = '\0';
        for (char *q = seg; *q; q++)
            if (*q == '-')
                *q = '_';
        long idx = -1;
        char *br = strchr(seg, '[');
        if (br != NULL) {
            idx = strtol(br + 1, NULL, 10);
            *br = '\0';
        }
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, seg);
        if (f == NULL) {
            snprintf(err, errlen, "%s has no field \"%s\"", msg->descriptor->name, seg);
            return -1;
        }
        int last = p[n] == '\0';
        int wkt = is_wkt(f, &google__protobuf__timestamp__descriptor) ||
                  is_wkt(f, &google__protobuf__field_mask__descriptor);
        void *slot;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t *count = FIELD_PTR(msg, f->quantifier_offset);
            char **arr = FIELD_PTR(msg, f->offset);
            size_t sz = value_size(f->type);
            if (idx < 0 || (size_t) idx >= *count) {
                if (idx > (long) *count) {
                    snprintf(err, errlen, "%s[%ld]: fill %s[%zu] first", seg, idx, seg, *count);
                    return -1;
                }
                *arr = realloc(*arr, (*count + 1) * sz);
                memset(*arr + *count * sz, 0, sz);
                idx = (long) (*count)++;
                if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                    ((ProtobufCMessage **) *arr)[idx] = civic_msg_new(f->descriptor);
                else if (f->type == PROTOBUF_C_TYPE_STRING)
                    ((char **) *arr)[idx] = NULL;
            }
            slot = *arr + (size_t) idx * sz;
        } else {
            slot = FIELD_PTR(msg, f->offset);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage **) slot == NULL)
                *(ProtobufCMessage **) slot = civic_msg_new(f->descriptor);
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            ProtobufCMessage *sub = *(ProtobufCMessage **) slot;
            if (last) {
                if (wkt)
                    return set_wkt(sub, text, err, errlen);
                snprintf(err, errlen, "%s is a message: name one of its fields (%s.…)", seg, seg);
                return -1;
            }
            msg = sub;
            p += n + 1;
            continue;
        }
        if (!last) {
            snprintf(err, errlen, "%s is not a message", seg);
            return -1;
        }
        return set_scalar(slot, f, text, err, errlen);
    }
}

// --- JSON ---

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

// --- the registry of compiled-in types ---

static const ProtobufCServiceDescriptor *const services[] = {
    &civic__points__v1__points_service__descriptor,
    &civic__tasks__v1__tasks_service__descriptor,
    &civic__volunteers__v1__volunteers_service__descriptor,
    &civic__gateway__v1__gateway_service__descriptor,
    &civic__rpc__v1__health_service__descriptor,
    &civic__rpc__v1__reflection_service__descriptor,
    &civic__rpc__v1__admin_service__descriptor,
};

enum { MAX_TYPES = 1024 };
static const ProtobufCMessageDescriptor *types[MAX_TYPES];
static size_t n_types;
static pthread_once_t types_once = PTHREAD_ONCE_INIT;

static void
add_type(const ProtobufCMessageDescriptor *d)
{
    for (size_t i = 0; i < n_types; i++)
        if (types[i] == d)
            return;
    if (n_types == MAX_TYPES)
        return;
    types[n_types++] = d;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            add_type(d->fields[i].descriptor);
}

static void
collect_types(void)
{
    for (size_t s = 0; s < sizeof services / sizeof *services; s++)
        for (unsigned m = 0; m < services[s]->n_methods; m++) {
            add_type(services[s]->methods[m].input);
            add_type(services[s]->methods[m].output);
        }
    // The envelope and what travels inside it or in Any.
    add_type(&civic__rpc__v1__request__descriptor);
    add_type(&civic__rpc__v1__response__descriptor);
    add_type(&civic__rpc__v1__status__descriptor);
    add_type(&civic__rpc__v1__field_violation__descriptor);
    add_type(&civic__rpc__v1__event__descriptor);
    add_type(&civic__rpc__v1__event_page__descriptor);
    add_type(&civic__rpc__v1__event_list__descriptor);
    add_type(&civic__gateway__v1__personal_data_read__descriptor); // the gateway's audit records
    add_type(&google__protobuf__timestamp__descriptor);
    add_type(&google__protobuf__field_mask__descriptor);
    add_type(&google__protobuf__any__descriptor);
}

const ProtobufCMessageDescriptor *
civic_msg_find_type(const char *full_name)
{
    pthread_once(&types_once, collect_types);
    for (size_t i = 0; i < n_types; i++)
        if (strcmp(types[i]->name, full_name) == 0)
            return types[i];
    return NULL;
}

const ProtobufCMethodDescriptor *
civic_msg_find_method(const char *name)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", name[0] == '/' ? name + 1 : name);
    char *sep = strrchr(buf, '/');
    if (sep == NULL)
        sep = strrchr(buf, '.');
    if (sep == NULL)
        return NULL;
    *sep = '\0';
    for (size_t s = 0; s < sizeof services / sizeof *services; s++)
        if (strcmp(services[s]->name, buf) == 0)
            return protobuf_c_service_descriptor_get_method_by_name(services[s], sep + 1);
    return NULL;
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

static json_t *
value_json(const ProtobufCFieldDescriptor *f, const void *p)
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
        return memcmp(p, zero, value_size(f->type)) == 0;
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
                    json_t *k = value_json(&ed->fields[0], FIELD_CPTR(e, ed->fields[0].offset));
                    char *ks = json_is_string(k) ? strdup(json_string_value(k))
                                                 : json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
                    json_object_set_new(m, ks, value_json(&ed->fields[1], FIELD_CPTR(e, ed->fields[1].offset)));
                    free(ks);
                    json_decref(k);
                }
                json_object_set_new(o, name, m);
                continue;
            }
            json_t *a = json_array();
            for (size_t j = 0; j < count; j++)
                json_array_append_new(a, value_json(f, arr + j * value_size(f->type)));
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
        json_object_set_new(o, name, value_json(f, p));
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
            if (parse_enum(ed, json_string_value(v), &n) == 0) {
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
        if (t == NULL || strchr(t, 'T') == NULL || parse_time(t, &ts->seconds, &ts->nanos) != 0)
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
            size_t sz = value_size(f->type), n = json_array_size(v);
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

// --- tables ---

static char *
cell(const ProtobufCFieldDescriptor *f, const void *p)
{
    char buf[128];
    switch (f->type) {
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *) p);
        if (v == NULL || v->value == 0)
            return strdup(v ? "" : "?");
        // Drop the enum's own prefix: POINT_KIND_FARMERS_MARKET → FARMERS_MARKET.
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        size_t common = strlen(ed->values[0].name);
        const char *un = strstr(ed->values[0].name, "UNSPECIFIED");
        if (un != NULL)
            common = (size_t) (un - ed->values[0].name);
        return strdup(strncmp(v->name, ed->values[0].name, common) == 0 ? v->name + common : v->name);
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        snprintf(buf, sizeof buf, "%.6g", *(const double *) p);
        return strdup(buf);
    case PROTOBUF_C_TYPE_FLOAT:
        snprintf(buf, sizeof buf, "%.6g", (double) *(const float *) p);
        return strdup(buf);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *) p;
        if (m == NULL)
            return strdup("");
        json_t *j = civic_msg_to_json(m);
        char *s = json_is_string(j) ? strdup(json_string_value(j)) : json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return s;
    }
    default: {
        json_t *j = value_json(f, p);
        char *s = json_is_string(j) ? strdup(json_string_value(j))
                                    : json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
        json_decref(j);
        return s;
    }
    }
}

typedef struct colspec {
    const ProtobufCFieldDescriptor *outer, *inner; // inner set for dotted columns
} colspec;

static size_t
columns(const ProtobufCMessageDescriptor *d, colspec *cs, size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < d->n_fields && n < max; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const ProtobufCMessageDescriptor *sd = f->descriptor;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
            sd != &google__protobuf__timestamp__descriptor &&
            sd != &google__protobuf__field_mask__descriptor) {
            for (unsigned j = 0; j < sd->n_fields && n < max; j++)
                if (sd->fields[j].type != PROTOBUF_C_TYPE_MESSAGE && sd->fields[j].label != PROTOBUF_C_LABEL_REPEATED)
                    cs[n++] = (colspec){f, &sd->fields[j]};
            continue;
        }
        cs[n++] = (colspec){f, NULL};
    }
    return n;
}

static char *
row_cell(const ProtobufCMessage *m, const colspec *c)
{
    const ProtobufCFieldDescriptor *f = c->outer;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t count = *(const size_t *) FIELD_CPTR(m, f->quantifier_offset);
        const char *arr = *(char *const *) FIELD_CPTR(m, f->offset);
        size_t cap = 64, len = 0;
        char *out = calloc(1, cap);
        for (size_t j = 0; j < count; j++) {
            char *s = cell(f, arr + j * value_size(f->type));
            size_t sl = strlen(s);
            while (len + sl + 2 > cap)
                out = realloc(out, cap *= 2);
            if (j)
                out[len++] = ';';
            memcpy(out + len, s, sl + 1);
            len += sl;
            free(s);
        }
        return out;
    }
    if (c->inner == NULL)
        return cell(f, FIELD_CPTR(m, f->offset));
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *) FIELD_CPTR(m, f->offset);
    if (sub == NULL)
        return strdup("");
    return cell(c->inner, FIELD_CPTR(sub, c->inner->offset));
}

void
civic_msg_table(const ProtobufCMessage *msg, civic_table *t)
{
    memset(t, 0, sizeof *t);
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const ProtobufCFieldDescriptor *rep = NULL, *one = NULL;
    int n_rep = 0, n_msg = 0, n_other = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label == PROTOBUF_C_LABEL_REPEATED) {
            // The first list is the one a table shows (a dashboard's areas,
            // not the notes about its parts that follow).
            if (rep == NULL)
                rep = f;
            n_rep++;
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor != &google__protobuf__timestamp__descriptor) {
            one = f;
            n_msg++;
        } else if (strcmp(f->name, "next_page_token") != 0) {
            n_other++;
        }
    }
    ProtobufCMessage *self = (ProtobufCMessage *) (uintptr_t) msg;
    ProtobufCMessage *const *items = &self;
    size_t n_items = 1;
    if (n_rep >= 1 && n_msg == 0) {
        items = *(ProtobufCMessage *const *const *) FIELD_CPTR(msg, rep->offset);
        n_items = *(const size_t *) FIELD_CPTR(msg, rep->quantifier_offset);
        d = rep->descriptor;
    } else if (n_rep == 0 && n_msg == 1 && n_other == 0) {
        items = (ProtobufCMessage *const *) FIELD_CPTR(msg, one->offset);
        n_items = *items ? 1 : 0;
        d = one->descriptor;
    }
    colspec cs[64];
    size_t nc = columns(d, cs, 64);
    t->n_cols = nc;
    t->cols = calloc(nc ? nc : 1, sizeof *t->cols);
    for (size_t c = 0; c < nc; c++) {
        char buf[256];
        if (cs[c].inner)
            snprintf(buf, sizeof buf, "%s.%s", cs[c].outer->name, cs[c].inner->name);
        else
            snprintf(buf, sizeof buf, "%s", cs[c].outer->name);
        t->cols[c] = strdup(buf);
    }
    t->n_rows = n_items;
    t->rows = calloc(n_items ? n_items : 1, sizeof *t->rows);
    for (size_t r = 0; r < n_items; r++) {
        t->rows[r] = calloc(nc ? nc : 1, sizeof(char *));
        for (size_t c = 0; c < nc; c++)
            t->rows[r][c] = row_cell(items[r], &cs[c]);
    }
}

void
civic_table_free(civic_table *t)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++)
            free(t->rows[r][c]);
        free(t->rows[r]);
    }
    for (size_t c = 0; c < t->n_cols; c++)
        free(t->cols[c]);
    free(t->rows);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

size_t
civic_display_width(const char *s)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t w = 0, len = strlen(s);
    while (len > 0) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s, len, &st);
        if (n == (size_t) -1 || n == (size_t) -2) {
            w++;
            s++;
            len--;
            memset(&st, 0, sizeof st);
            continue;
        }
        if (n == 0)
            break;
        int cw = wcwidth(wc);
        w += cw > 0 ? (size_t) cw : 0;
        s += n;
        len -= n;
    }
    return w;
}

void
civic_table_print(const civic_table *t, FILE *f)
{
    // Columns empty in every row are left out, so wide messages stay readable.
    size_t *width = calloc(t->n_cols ? t->n_cols : 1, sizeof *width);
    int *show = calloc(t->n_cols ? t->n_cols : 1, sizeof *show);
    for (size_t c = 0; c < t->n_cols; c++) {
        for (size_t r = 0; r < t->n_rows; r++) {
            size_t w = civic_display_width(t->rows[r][c]);
            if (w > 0)
                show[c] = 1;
            if (w > width[c])
                width[c] = w;
        }
        if (t->n_rows == 0)
            show[c] = 1;
        size_t hw = civic_display_width(t->cols[c]);
        if (hw > width[c])
            width[c] = hw;
    }
    for (size_t r = 0; r <= t->n_rows; r++) {
        char **row = r == 0 ? t->cols : t->rows[r - 1];
        int first = 1;
        for (size_t c = 0; c < t->n_cols; c++) {
            if (!show[c])
                continue;
            if (!first)
                fputs("  ", f);
            first = 0;
            const char *s = row[c];
            if (r == 0) {
                for (const char *p = s; *p; p++)
                    fputc(toupper((unsigned char) *p), f);
            } else {
                fputs(s, f);
            }
            int last = 1;
            for (size_t k = c + 1; k < t->n_cols; k++)
                last &= !show[k];
            if (!last)
                for (size_t k = civic_display_width(s); k < width[c]; k++)
                    fputc(' ', f);
        }
        fputc('\n', f);
    }
    free(width);
    free(show);
}

static void
csv_field(const char *s, FILE *f)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void
civic_table_csv(const civic_table *t, FILE *f)
{
    for (size_t r = 0; r <= t->n_rows; r++) {
        char **row = r == 0 ? t->cols : t->rows[r - 1];
        for (size_t c = 0; c < t->n_cols; c++) {
            if (c)
                fputc(',', f);
            csv_field(row[c], f);
        }
        fputs("\r\n", f);
    }
}
