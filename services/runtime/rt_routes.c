// The method table: the built-in services every server hosts (Health,
// Reflection, Admin's backup) and the sorted routes from full method names
// to handlers, each checked against the .proto's descriptors at start.
#include "rt_server_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_desc.h"
#include "civic_util.h"
#include "rt_log.h"

// --- built-in services ---

static int
handle_check(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Rpc__V1__CheckRequest *in = vin;
    Civic__Rpc__V1__CheckResponse *out = vout;
    rt_server *srv = call->server;
    int found = in->service[0] == '\0';
    for (size_t i = 0; !found && i < srv->n_services; i++)
        found = strcmp(in->service, srv->service_names[i]) == 0;
    int up = atomic_load(&srv->serving) && !atomic_load(&srv->stopping);
    if (!found && srv->opts.health != NULL) {
        int st = srv->opts.health(srv->state, in->service);
        if (st >= 0) {
            out->status = up ? st : CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_NOT_SERVING;
            return 0;
        }
    }
    if (!found)
        return rt_txn_fail(txn, CIVIC_NOT_FOUND, "service %s is not hosted here", in->service);
    out->status = up ? CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING
                     : CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_NOT_SERVING;
    return 0;
}

static int
handle_list_services(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    Civic__Rpc__V1__ListServicesResponse *out = vout;
    rt_server *srv = call->server;
    (void) vin;
    size_t extra = 0;
    while (srv->opts.extra_services && srv->opts.extra_services[extra])
        extra++;
    out->services = rt_alloc(txn, (srv->n_services + extra) * sizeof *out->services + 1);
    if (out->services == NULL)
        return rt_txn_status(txn);
    for (size_t i = 0; i < srv->n_services; i++)
        out->services[out->n_services++] = civic_unconst(srv->service_names[i]);
    for (size_t i = 0; i < extra; i++)
        out->services[out->n_services++] = civic_unconst(srv->opts.extra_services[i]);
    return rt_txn_status(txn);
}

static int
handle_get_fds(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    Civic__Rpc__V1__GetFileDescriptorSetResponse *out = vout;
    (void) vin;
    (void) call;
    out->file_descriptor_set.data = (uint8_t *) (uintptr_t) civic_descriptor_set;
    out->file_descriptor_set.len = civic_descriptor_set_len;
    return rt_txn_status(txn);
}

int
rt_handle_list_events(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Rpc__V1__EventPage *in = vin;
    (void) call;
    size_t n = rt_page_size(txn, in->page_size, "page_size");
    rt_events_list(txn, in->after_seq, n, vout);
    return rt_txn_status(txn);
}

// handle_backup copies the environment on the slow-read worker, so neither
// the nng callbacks nor the writer wait for it; writes go on meanwhile.
static int
handle_backup(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    Civic__Rpc__V1__BackupResponse *out = vout;
    (void) vin;
    char path[4200];
    int rc = rt_store_backup(txn->store, path, sizeof path);
    if (rc != 0)
        return rt_txn_fail(txn, rc, "backup failed (the server's log says why)");
    char file[4300];
    struct stat sb;
    snprintf(file, sizeof file, "%s/data.mdb", path);
    out->path = rt_strdup(txn, path);
    out->size_bytes = stat(file, &sb) == 0 ? (uint64_t) sb.st_size : 0;
    rt_log(RT_LOG_INFO, "store.backup", "path=%s bytes=%llu principal=%s", path,
           (unsigned long long) out->size_bytes, call->principal[0] ? call->principal : "-");
    return rt_txn_status(txn);
}

static const rt_method health_methods[] = {
    {"Check", RT_READ, handle_check, RT_ROLES_ANYONE, NULL, NULL},
};
static const rt_method reflection_methods[] = {
    {"ListServices", RT_READ, handle_list_services, RT_ROLES_ANYONE, NULL, NULL},
    {"GetFileDescriptorSet", RT_READ, handle_get_fds, RT_ROLES_ANYONE, NULL, NULL},
};
static const rt_service_def health_def = {&civic__rpc__v1__health_service__descriptor,
                                          health_methods, 1};
static const rt_service_def reflection_def = {&civic__rpc__v1__reflection_service__descriptor,
                                              reflection_methods, 2};
static const rt_method admin_methods[] = {
    {"Backup", RT_SLOW_READ, handle_backup, RT_ROLE_BIT(RT_ROLE_ADMIN), NULL, NULL},
};
static const rt_service_def admin_def = {&civic__rpc__v1__admin_service__descriptor, admin_methods,
                                         1};

// --- routing ---

static int
route_cmp(const void *a, const void *b)
{
    return strcmp(((const route *) a)->name, ((const route *) b)->name);
}

const route *
rt_route_find(rt_server *srv, const char *name)
{
    route key = {.name = name};
    return bsearch(&key, srv->routes, srv->n_routes, sizeof key, route_cmp);
}

int
rt_server_check_table(const rt_service_def *def, char *err, size_t errlen)
{
    for (size_t i = 0; i < def->n_methods; i++) {
        char name[256];
        snprintf(name, sizeof name, "/%s/%s", def->desc->name, def->methods[i].name);
        int read = civic_desc_method_is_read(name);
        if (read < 0 || protobuf_c_service_descriptor_get_method_by_name(def->desc, def->methods[i].name) == NULL) {
            snprintf(err, errlen, "%s is not declared in the .proto files", name);
            return -1;
        }
        int write = def->methods[i].kind == RT_WRITE || def->methods[i].kind == RT_WRITE_NO_REPLAY;
        if (read == write && def->methods[i].kind != RT_FLOW) {
            snprintf(err, errlen, "%s is a %s in the handler table but %s in the .proto", name,
                     write ? "write" : "read",
                     read ? "NO_SIDE_EFFECTS" : "not NO_SIDE_EFFECTS");
            return -1;
        }
    }
    for (unsigned i = 0; i < def->desc->n_methods; i++) {
        int found = 0;
        for (size_t j = 0; j < def->n_methods; j++)
            found |= strcmp(def->desc->methods[i].name, def->methods[j].name) == 0;
        if (!found) {
            snprintf(err, errlen, "/%s/%s has no handler", def->desc->name,
                     def->desc->methods[i].name);
            return -1;
        }
    }
    return 0;
}

int
rt_routes_build(rt_server *srv, const rt_service_def *const *services, size_t n_services, char *err,
                size_t errlen)
{
    const rt_service_def *defs[16];
    size_t n = 0;
    defs[n++] = &health_def;
    defs[n++] = &reflection_def;
    defs[n++] = &admin_def;
    for (size_t i = 0; i < n_services && n < 16; i++)
        defs[n++] = services[i];
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += defs[i]->n_methods;
    srv->routes = calloc(total, sizeof *srv->routes);
    srv->service_names = calloc(n, sizeof *srv->service_names);
    for (size_t i = 0; i < n; i++) {
        const rt_service_def *d = defs[i];
        if (rt_server_check_table(d, err, errlen) != 0)
            return -1;
        srv->service_names[srv->n_services++] = d->desc->name;
        for (size_t j = 0; j < d->n_methods; j++) {
            const ProtobufCMethodDescriptor *md =
                protobuf_c_service_descriptor_get_method_by_name(d->desc, d->methods[j].name);
            route *r = &srv->routes[srv->n_routes++];
            size_t len = strlen(d->desc->name) + strlen(md->name) + 3;
            char *name = malloc(len);
            snprintf(name, len, "/%s/%s", d->desc->name, md->name);
            r->name = name;
            r->m = &d->methods[j];
            r->in = d->methods[j].in_desc ? d->methods[j].in_desc : md->input;
            r->out = d->methods[j].out_desc ? d->methods[j].out_desc : md->output;
        }
    }
    qsort(srv->routes, srv->n_routes, sizeof *srv->routes, route_cmp);
    // Room for every hosted method and every other one the descriptors
    // declare (the gateway's forwarded calls).
    srv->calls = rt_calltable_new(srv->n_routes + 512);
    if (srv->calls == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < srv->n_routes; i++)
        srv->routes[i].stats = rt_calltable_get(srv->calls, srv->routes[i].name);
    return 0;
}

void
rt_routes_free(rt_server *srv)
{
    for (size_t i = 0; i < srv->n_routes; i++)
        free(civic_unconst(srv->routes[i].name));
    free(srv->routes);
    rt_calltable_free(srv->calls);
    free(srv->service_names);
}

int
rt_route_is_builtin(const route *r)
{
    return r->m >= health_methods && r->m < health_methods + 1 ? 1
           : r->m >= reflection_methods && r->m < reflection_methods + 2;
}
