// In-process back ends for the fuzz targets, and what they share.
#include "fuzz_common.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "points.h"
#include "rt_log.h"
#include "rt_main.h"
#include "tasks.h"
#include "volunteers.h"

typedef struct fz_svc {
    const char *name;
    const rt_service_def *def;
    const char *const *dbs;
    int (*init)(void **state, rt_store *store, const rt_config *cfg);
    void (*fini)(void *state);
    // Running:
    rt_store *store;
    void *state;
    rt_server *srv;
    nng_socket req;
    char dir[256];
} fz_svc;

static fz_svc svcs[FZ_N_SERVICES] = {
    {"points", &points_service_def, points_dbs, points_init, points_fini, NULL, NULL, NULL,
     NNG_SOCKET_INITIALIZER, ""},
    {"tasks", &tasks_service_def, tasks_dbs, tasks_init, tasks_fini, NULL, NULL, NULL,
     NNG_SOCKET_INITIALIZER, ""},
    {"volunteers", &volunteers_service_def, volunteers_dbs, volunteers_init, volunteers_fini, NULL,
     NULL, NULL, NNG_SOCKET_INITIALIZER, ""},
};
static int running;
static unsigned generation;

void
fz_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

const ProtobufCServiceDescriptor *
fz_service_desc(int svc)
{
    return svcs[svc].def->desc;
}

void
fz_start(void)
{
    if (running)
        return;
    rt_log_init("civic-fuzz", getenv("CIVIC_FUZZ_LOG") ? RT_LOG_DEBUG : RT_LOG_ERROR + 1);
    generation++;
    for (int i = 0; i < FZ_N_SERVICES; i++) {
        fz_svc *s = &svcs[i];
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(s->dir, sizeof s->dir, "%s/civic-fuzz-%s-XXXXXX", base, s->name);
        if (mkdtemp(s->dir) == NULL)
            fz_die("mkdtemp %s failed", s->dir);
        char err[512];
        rt_store_opts so = {
            .map_size = (size_t) 256 << 20,
            .max_readers = 64,
            .unsafe_no_sync = 1,
            .dbs = s->dbs,
            .schema_version = 1,
        };
        if (rt_store_open(&s->store, s->dir, &so, err, sizeof err) != 0)
            fz_die("store %s: %s", s->name, err);
        rt_config cfg = {.data = s->dir, .tz_offset_min = 480, .contexts = 8};
        if (s->init(&s->state, s->store, &cfg) != 0)
            fz_die("init %s failed", s->name);
        char url[128];
        snprintf(url, sizeof url, "inproc://civic-fuzz-%s-%u-%ld", s->name, generation, (long) getpid());
        rt_server_opts opts = {.listen = url, .contexts = 8};
        const rt_service_def *defs[] = {s->def};
        if (rt_server_start(&s->srv, &opts, s->store, defs, 1, s->state, err, sizeof err) != 0)
            fz_die("server %s: %s", s->name, err);
        rt_server_set_serving(s->srv, 1);
        if (nng_req0_open(&s->req) != 0 || nng_dial(s->req, url, NULL, 0) != 0)
            fz_die("dial %s failed", url);
        nng_socket_set_ms(s->req, NNG_OPT_RECVTIMEO, 20000);
        nng_socket_set_ms(s->req, NNG_OPT_SENDTIMEO, 20000);
        nng_socket_set_size(s->req, NNG_OPT_RECVMAXSZ, 0);
    }
    running = 1;
}

static void
rm_rf(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

void
fz_stop(void)
{
    if (!running)
        return;
    for (int i = 0; i < FZ_N_SERVICES; i++) {
        fz_svc *s = &svcs[i];
        nng_close(s->req);
        rt_server_stop(s->srv);
        s->fini(s->state);
        rt_store_close(s->store);
        rm_rf(s->dir);
        s->srv = NULL;
        s->store = NULL;
        s->state = NULL;
    }
    running = 0;
}

void
fz_reset(void)
{
    fz_stop();
    fz_start();
}

long
fz_call(int svc, const void *msg, size_t len, uint8_t **reply)
{
    fz_svc *s = &svcs[svc];
    *reply = NULL;
    if (nng_send(s->req, (void *) (uintptr_t) msg, len, 0) != 0)
        return -1;
    void *buf = NULL;
    size_t n = 0;
    if (nng_recv(s->req, &buf, &n, NNG_FLAG_ALLOC) != 0)
        return -1;
    *reply = malloc(n ? n : 1);
    if (*reply == NULL)
        fz_die("out of memory");
    // A Response may pack to nothing (call_id 0, OK, empty payload).
    if (n > 0)
        memcpy(*reply, buf, n);
    if (buf != NULL)
        nng_free(buf, n);
    return (long) n;
}

void
fz_check_reply(const uint8_t *reply, size_t len, const ProtobufCMessageDescriptor *out)
{
    Civic__Rpc__V1__Response *r = civic__rpc__v1__response__unpack(NULL, len, reply);
    if (r == NULL)
        fz_die("the reply (%zu bytes) does not decode as a Response", len);
    int code = r->status ? r->status->code : 0;
    if (code == 0 && out != NULL) {
        ProtobufCMessage *m = protobuf_c_message_unpack(out, NULL, r->payload.len, r->payload.data);
        if (m == NULL)
            fz_die("an OK reply's payload (%zu bytes) does not decode as %s", r->payload.len,
                   out->name);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    if (code < 0 || code > 16)
        fz_die("reply status code %d is not a civic code", code);
    civic__rpc__v1__response__free_unpacked(r, NULL);
}

// --- seeds ---

static size_t
elt_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    }
    return 0;
}

static void
fill_value(const ProtobufCFieldDescriptor *f, void *p, rt_arena *a, int depth, unsigned salt)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *) p = (int32_t) (1 + salt % 20);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *) p = 1 + salt % 20;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *) p = 1764000000000LL + salt;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *) p = 1 + salt;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *) p = 31.2f + (float) (salt % 10) / 100.0f;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *) p = 121.4 + (double) (salt % 10) / 100.0;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *) p = 1;
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = f->descriptor;
        *(int *) p = e->n_values > 1 ? e->values[1 + salt % (e->n_values - 1)].value : 0;
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (strstr(f->name, "phone") != NULL)
            *(char **) p = rt_arena_printf(a, "138%08u", salt % 100000000u);
        else if (strstr(f->name, "id") != NULL)
            *(char **) p = rt_arena_printf(a, "%u", 1 + salt % 4);
        else
            *(char **) p = rt_arena_printf(a, "seed %s %u", f->name, salt);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = p;
        b->data = (uint8_t *) rt_arena_printf(a, "bytes-%u", salt);
        b->len = strlen((const char *) b->data);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *d = f->descriptor;
        void *sub = rt_arena_alloc(a, d->sizeof_message);
        protobuf_c_message_init(d, sub);
        fz_fill(d, sub, a, depth - 1, salt + 1);
        *(void **) p = sub;
        break;
    }
    }
}

void
fz_fill(const ProtobufCMessageDescriptor *desc, void *m, rt_arena *a, int depth, unsigned salt)
{
    if (depth < 0)
        return;
    char *base = m;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth == 0)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t *which = (uint32_t *) (void *) (base + f->quantifier_offset);
            if (*which != 0)
                continue;
            *which = f->id;
        }
        void *p = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = 2, sz = elt_size(f->type);
            char *arr = rt_arena_alloc(a, n * sz);
            memset(arr, 0, n * sz);
            for (size_t j = 0; j < n; j++)
                fill_value(f, arr + j * sz, a, depth, salt + (unsigned) j);
            *(size_t *) (void *) (base + f->quantifier_offset) = n;
            *(void **) p = arr;
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            f->quantifier_offset != 0 && f->type != PROTOBUF_C_TYPE_STRING &&
            f->type != PROTOBUF_C_TYPE_MESSAGE)
            *(protobuf_c_boolean *) (void *) (base + f->quantifier_offset) = 1;
        fill_value(f, p, a, depth, salt);
    }
}

size_t
fz_envelope(int svc, unsigned midx, int role, unsigned flags, const uint8_t *payload, size_t n,
            uint8_t **out, const ProtobufCMessageDescriptor **out_desc)
{
    static uint64_t call_id;
    const ProtobufCServiceDescriptor *sd = fz_service_desc(svc);
    const ProtobufCMethodDescriptor *md = &sd->methods[midx % sd->n_methods];
    char method[256];
    snprintf(method, sizeof method, "/%s/%s", sd->name, md->name);
    char principal[32], rid[32];
    role = role % RT_ROLE_COUNT;
    snprintf(principal, sizeof principal, "fuzz-%s", role ? rt_role_name((rt_role) role) : "none");
    snprintf(rid, sizeof rid, "fuzz-%llu", (unsigned long long) ++call_id);
    Civic__Rpc__V1__Request__MetadataEntry e[4] = {
        CIVIC__RPC__V1__REQUEST__METADATA_ENTRY__INIT, CIVIC__RPC__V1__REQUEST__METADATA_ENTRY__INIT,
        CIVIC__RPC__V1__REQUEST__METADATA_ENTRY__INIT, CIVIC__RPC__V1__REQUEST__METADATA_ENTRY__INIT};
    Civic__Rpc__V1__Request__MetadataEntry *ep[4] = {&e[0], &e[1], &e[2], &e[3]};
    e[0].key = "x-civic-principal";
    e[0].value = principal;
    e[1].key = "x-civic-role";
    e[1].value = (char *) (uintptr_t) rt_role_name((rt_role) role);
    e[2].key = "request-id";
    e[2].value = rid;
    e[3].key = "idempotency-key";
    e[3].value = rid;
    Civic__Rpc__V1__Request req = CIVIC__RPC__V1__REQUEST__INIT;
    req.method = method;
    req.call_id = call_id;
    req.timeout_ms = (flags & 2) ? 1 : 10000;
    req.n_metadata = (flags & 1) ? 4 : 3;
    req.metadata = ep;
    req.payload.data = (uint8_t *) (uintptr_t) payload;
    req.payload.len = n;
    size_t len = civic__rpc__v1__request__get_packed_size(&req);
    *out = malloc(len ? len : 1);
    if (*out == NULL)
        fz_die("out of memory");
    if (civic__rpc__v1__request__pack(&req, *out) != len)
        fz_die("pack length mismatch");
    if (out_desc != NULL)
        *out_desc = md->output;
    return len;
}
