// civic_msg: generic protobuf-c messages, the part every other piece builds
// on — a new message, a field set by path from text (the CLI's flags and CSV
// cells), and the registry of the message types and methods compiled into
// this library (what JSON's Any and `civic call` can name). JSON is in
// civic_json.c, tables and CSV in civic_table.c; what the three share is in
// civic_msg_impl.h.
#include "civic_msg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "civic/points/v1/points.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic/tasks/v1/tasks.pb-c.h"
#include "civic/volunteers/v1/volunteers.pb-c.h"
#include "civic_msg_impl.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

ProtobufCMessage *
civic_msg_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = calloc(1, desc->sizeof_message);
    if (m != NULL)
        protobuf_c_message_init(desc, m);
    return m;
}

size_t
civic_msg_value_size(ProtobufCType t)
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

int
civic_msg_parse_enum(const ProtobufCEnumDescriptor *ed, const char *text, int *out)
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

int
civic_msg_parse_time(const char *text, int64_t *secs, int32_t *nanos)
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
        if (civic_msg_parse_enum(f->descriptor, text, &v) != 0) {
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
        if (civic_msg_parse_time(text, &ts->seconds, &ts->nanos) != 0) {
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
            size_t sz = civic_msg_value_size(f->type);
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
