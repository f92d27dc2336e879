// The admin HTTP server: health, readiness and Prometheus metrics.
#include "rt_admin.h"

#include <arpa/inet.h>
#include <lmdb.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rt_log.h"

#define ADMIN_CONNECTIONS 16
#define ADMIN_TIMEOUT_S 10

struct rt_admin {
    struct MHD_Daemon *d;
    // NULL until rt_admin_attach: the process is starting.
    _Atomic(rt_server *) srv;
    _Atomic(rt_store *) store;
    int port;
};

// store_metrics writes the writer's and LMDB's figures.
static void
store_metrics(rt_strbuf *b, rt_store *st)
{
    rt_store_stats ss;
    rt_store_stats_get(st, &ss);
    rt_strbuf_printf(b,
                     "# HELP civic_writer_queue_depth Writes queued for the writer thread.\n"
                     "# TYPE civic_writer_queue_depth gauge\n"
                     "civic_writer_queue_depth %llu\n"
                     "# HELP civic_writer_batches_total Batches the writer committed or failed.\n"
                     "# TYPE civic_writer_batches_total counter\n"
                     "civic_writer_batches_total %llu\n"
                     "# HELP civic_writer_writes_total Writes the writer ran in a batch.\n"
                     "# TYPE civic_writer_writes_total counter\n"
                     "civic_writer_writes_total %llu\n",
                     (unsigned long long) ss.queue_depth, (unsigned long long) ss.batches,
                     (unsigned long long) ss.writes);
    // batch_hist[i] counts batches of 2^i .. 2^(i+1)-1 writes (the last: 128+).
    rt_strbuf_printf(b, "# HELP civic_writer_batch_size Writes per committed batch.\n"
                        "# TYPE civic_writer_batch_size histogram\n");
    unsigned long long cum = 0;
    for (int i = 0; i < 7; i++) {
        cum += ss.batch_hist[i];
        rt_strbuf_printf(b, "civic_writer_batch_size_bucket{le=\"%d\"} %llu\n", (2 << i) - 1, cum);
    }
    cum += ss.batch_hist[7];
    rt_strbuf_printf(b,
                     "civic_writer_batch_size_bucket{le=\"+Inf\"} %llu\n"
                     "civic_writer_batch_size_sum %llu\n"
                     "civic_writer_batch_size_count %llu\n",
                     cum, (unsigned long long) ss.writes, cum);

    MDB_envinfo info;
    MDB_stat ms;
    MDB_env *env = rt_store_env(st);
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &ms) != 0)
        return;
    rt_strbuf_printf(b,
                     "# HELP civic_lmdb_map_size_bytes LMDB map size: the most the data may grow to.\n"
                     "# TYPE civic_lmdb_map_size_bytes gauge\n"
                     "civic_lmdb_map_size_bytes %zu\n"
                     "# HELP civic_lmdb_pages_used_bytes Bytes of the map in use: (last page + 1) x page size.\n"
                     "# TYPE civic_lmdb_pages_used_bytes gauge\n"
                     "civic_lmdb_pages_used_bytes %llu\n"
                     "# HELP civic_lmdb_pages_used Pages of the map in use (last page + 1).\n"
                     "# TYPE civic_lmdb_pages_used gauge\n"
                     "civic_lmdb_pages_used %llu\n"
                     "# HELP civic_lmdb_readers_used Reader slots used in the lock table.\n"
                     "# TYPE civic_lmdb_readers_used gauge\n"
                     "civic_lmdb_readers_used %u\n"
                     "# HELP civic_lmdb_readers_max Reader slots in the lock table.\n"
                     "# TYPE civic_lmdb_readers_max gauge\n"
                     "civic_lmdb_readers_max %u\n",
                     info.me_mapsize,
                     (unsigned long long) (info.me_last_pgno + 1) * ms.ms_psize,
                     (unsigned long long) (info.me_last_pgno + 1), info.me_numreaders,
                     info.me_maxreaders);
}

void
rt_admin_metrics(rt_strbuf *out, rt_server *srv, rt_store *store)
{
    rt_server_metrics(srv, out);
    store_metrics(out, store);
}

int
rt_http_respond(struct MHD_Connection *conn, unsigned status, char *text, size_t len, const char *type,
                const char *cache, const char *const *headers)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    for (size_t i = 0; headers != NULL && headers[i] != NULL && headers[i + 1] != NULL; i += 2)
        MHD_add_response_header(r, headers[i], headers[i + 1]);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
respond(struct MHD_Connection *conn, unsigned status, char *text, size_t len, const char *type,
        const char *allow)
{
    const char *const headers[] = {MHD_HTTP_HEADER_ALLOW, allow, NULL};
    return (enum MHD_Result) rt_http_respond(conn, status, text, len, type, "no-store",
                                             allow != NULL ? headers : NULL);
}

static enum MHD_Result
respond_text(struct MHD_Connection *conn, unsigned status, const char *text, const char *allow)
{
    char *t = strdup(text);
    if (t == NULL)
        return MHD_NO;
    return respond(conn, status, t, strlen(t), "text/plain; charset=utf-8", allow);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    rt_admin *a = cls;
    (void) version;
    (void) upload;
    (void) con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        *upload_size = 0; // a body, if any, is not read
        return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");
    }
    if (strcmp(url, "/healthz") == 0)
        return respond_text(conn, MHD_HTTP_OK, "ok\n", NULL);
    rt_server *srv = atomic_load(&a->srv);
    rt_store *store = atomic_load(&a->store);
    if (strcmp(url, "/readyz") == 0) {
        int ready = store != NULL && rt_server_ready(srv);
        return respond_text(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                            ready ? "ready\n" : "not ready\n", NULL);
    }
    if (strcmp(url, "/metrics") == 0) {
        rt_strbuf b = {0};
        if (srv != NULL && store != NULL)
            rt_admin_metrics(&b, srv, store);
        else // starting: the store is not open yet
            rt_strbuf_printf(&b, "# HELP civic_serving Whether the server is serving (1) or starting or "
                                 "stopping (0).\n# TYPE civic_serving gauge\ncivic_serving 0\n");
        size_t len;
        char *text = rt_strbuf_take(&b, &len);
        if (text == NULL)
            return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
        return respond(conn, MHD_HTTP_OK, text, len, "text/plain; version=0.0.4; charset=utf-8",
                       NULL);
    }
    return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /healthz, /readyz, /metrics\n",
                        NULL);
}

int
rt_listen_parse(const char *key, const char *listen, struct sockaddr_storage *sa, socklen_t *salen,
                char *err, size_t errlen)
{
    char host[256];
    const char *port;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (end == NULL || end[1] != ':' || (size_t) (end - listen) > sizeof host) {
            snprintf(err, errlen, "%s \"%s\" must be HOST:PORT or [V6]:PORT", key, listen);
            return -1;
        }
        snprintf(host, sizeof host, "%.*s", (int) (end - listen - 1), listen + 1);
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (colon == NULL || (size_t) (colon - listen) >= sizeof host) {
            snprintf(err, errlen, "%s \"%s\" must be HOST:PORT", key, listen);
            return -1;
        }
        snprintf(host, sizeof host, "%.*s", (int) (colon - listen), listen);
        port = colon + 1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (rc != 0 || ai == NULL) {
        snprintf(err, errlen, "%s \"%s\": %s", key, listen, gai_strerror(rc));
        return -1;
    }
    memcpy(sa, ai->ai_addr, ai->ai_addrlen);
    *salen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

int
rt_admin_start(rt_admin **out, const char *listen, rt_server *srv, rt_store *store, char *err,
               size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    if (rt_listen_parse("admin-listen", listen, &sa, &salen, err, errlen) != 0)
        return -1;
    rt_admin *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    atomic_init(&a->srv, srv);
    atomic_init(&a->store, store);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    a->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *) &sa, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned) ADMIN_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned) ADMIN_TIMEOUT_S, MHD_OPTION_END);
    if (a->d == NULL) {
        snprintf(err, errlen, "cannot listen on admin-listen %s (in use, or a bad address?)", listen);
        free(a);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
    a->port = di ? di->port : 0;
    rt_log(RT_LOG_INFO, "admin.listening", "admin-listen=%s port=%d", listen, a->port);
    *out = a;
    return 0;
}

void
rt_admin_attach(rt_admin *a, rt_server *srv, rt_store *store)
{
    if (a == NULL)
        return;
    atomic_store(&a->store, store);
    atomic_store(&a->srv, srv);
}

int
rt_admin_port(const rt_admin *a)
{
    return a->port;
}

void
rt_admin_stop(rt_admin *a)
{
    if (a == NULL)
        return;
    MHD_stop_daemon(a->d);
    free(a);
}
