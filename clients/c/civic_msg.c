// Generic protobuf-c messages: set by path, print as JSON, flatten to tables.
#include "civic_msg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

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
        return json_real(*(const float *) p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *) p);
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
