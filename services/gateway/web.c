// The gateway's web port: JSON over HTTP for browsers and the static pages
// (libmicrohttpd, one thread per connection, a bounded number of them).
//
// POST /v1/{package.Service}/{Method} with a JSON body (protobuf's canonical
// mapping) is transcoded to the method's request message, put in a
// civic.rpc.v1.Request envelope with the caller's Authorization,
// Idempotency-Key and X-Request-Id as metadata, and run through the
// gateway's own RPC server with rt_server_call — the very path a binary
// call takes: authentication, the role table, rate limits (per token and
// per client address, the HTTP client's), forwarding and flows. The reply's
// payload comes back as JSON; a failed call as {"code", "message",
// "details"} with the HTTP status grpc-gateway uses for its code.
//
// GET and HEAD serve files under the web root (index.html for "/"), never
// outside it and never hidden ones. Every response carries a strict
// Content-Security-Policy and nosniff; there are no CORS headers, so other
// origins cannot read the API from a browser (OPTIONS is 405).
//
// Limits: bodies over web-max-body get 413; the request line and headers
// share MHD's per-connection memory (WEB_CONN_MEMORY: larger ones are refused
// by MHD); WEB_CONNECTIONS at once, WEB_PER_IP from one address; a
// connection idle for WEB_TIMEOUT_S is closed. A connection's thread waits
// for its call's reply, which the server always gives by the call's
// deadline (10 s by default).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_msg.h"
#include "civic_util.h"
#include "gateway.h"
#include "rt_admin.h"
#include "rt_log.h"

#define WEB_CONNECTIONS 128
#define WEB_PER_IP 64
#define WEB_TIMEOUT_S 30
#define WEB_CONN_MEMORY (64 * 1024)
#define WEB_PATH_MAX 1024

#define CSP "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; " \
            "form-action 'self'; frame-ancestors 'none'"

struct gw_web {
    struct MHD_Daemon *d;
    rt_server *srv;
    size_t max_body;
    char root[PATH_MAX]; // the web root's real path; "" when there is none
    int port;
    atomic_ullong call_ids;
};

// One HTTP request's state, from its first header to its completion.
typedef struct web_req {
    int api;      // POST under /v1/
    int too_big;  // the body went over max_body
    char *body;
    size_t len, cap;
} web_req;

// --- responses ---

// The headers every answer carries, as name, value pairs.
#define N_SECURITY 8
static const char *const security[N_SECURITY] = {
    "Content-Security-Policy", CSP, "X-Content-Type-Options", "nosniff",
    "Referrer-Policy", "no-referrer", "X-Frame-Options", "DENY",
};

static void
security_headers(struct MHD_Response *r)
{
    for (size_t i = 0; i < N_SECURITY; i += 2)
        MHD_add_response_header(r, security[i], security[i + 1]);
}

// respond queues text (taken: freed by MHD) with status and content type.
static enum MHD_Result
respond(struct MHD_Connection *conn, unsigned status, char *text, size_t len, const char *type,
        const char *cache)
{
    const char *headers[N_SECURITY + 5];
    memcpy(headers, security, sizeof security);
    size_t n = N_SECURITY;
    if (status == 405)
        headers[n++] = MHD_HTTP_HEADER_ALLOW, headers[n++] = "GET, HEAD, POST";
    if (status == 401)
        headers[n++] = MHD_HTTP_HEADER_WWW_AUTHENTICATE, headers[n++] = "Bearer";
    headers[n] = NULL;
    return (enum MHD_Result) rt_http_respond(conn, status, text, len, type, cache, headers);
}

static enum MHD_Result
respond_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    char *t = strdup(text);
    if (t == NULL)
        return MHD_NO;
    return respond(conn, status, t, strlen(t), "text/plain; charset=utf-8", "no-store");
}

static enum MHD_Result
respond_json(struct MHD_Connection *conn, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL)
        return respond_text(conn, 500, "out of memory\n");
    return respond(conn, status, text, strlen(text), "application/json", "no-store");
}

unsigned
gw_web_http_status(int code)
{
    // grpc-gateway's HTTPStatusFromCode.
    switch (code) {
    case CIVIC_OK: return 200;
    case CIVIC_CANCELLED: return 499;
    case CIVIC_INVALID_ARGUMENT: return 400;
    case CIVIC_DEADLINE_EXCEEDED: return 504;
    case CIVIC_NOT_FOUND: return 404;
    case CIVIC_ALREADY_EXISTS: return 409;
    case CIVIC_PERMISSION_DENIED: return 403;
    case CIVIC_UNAUTHENTICATED: return 401;
    case CIVIC_RESOURCE_EXHAUSTED: return 429;
    case CIVIC_FAILED_PRECONDITION: return 400;
    case CIVIC_ABORTED: return 409;
    case CIVIC_OUT_OF_RANGE: return 400;
    case CIVIC_UNIMPLEMENTED: return 501;
    case CIVIC_UNAVAILABLE: return 503;
    default: return 500; // UNKNOWN, INTERNAL, DATA_LOSS
    }
}

// error_json makes {"code", "message", "details"}: details holds one
// google.rpc.BadRequest with the field violations, when there are any.
static json_t *
error_json(int code, const char *message, Civic__Rpc__V1__FieldViolation *const *fv, size_t n)
{
    json_t *details = json_array();
    if (n > 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, json_pack("{s:s, s:s}", "field", fv[i]->field,
                                                  "description", fv[i]->description));
        json_array_append_new(details, json_pack("{s:s, s:o}", "@type",
                                                 "type.googleapis.com/google.rpc.BadRequest",
                                                 "fieldViolations", list));
    }
    return json_pack("{s:i, s:s, s:o}", "code", code, "message", message ? message : "", "details",
                     details);
}

// fail_field answers INVALID_ARGUMENT naming field.
static enum MHD_Result
fail_field(struct MHD_Connection *conn, const char *field, const char *description)
{
    Civic__Rpc__V1__FieldViolation v = CIVIC__RPC__V1__FIELD_VIOLATION__INIT, *vp = &v;
    v.field = civic_unconst(field);
    v.description = civic_unconst(description);
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s", field, description);
    return respond_json(conn, 400, error_json(CIVIC_INVALID_ARGUMENT, msg, &vp, 1));
}

static enum MHD_Result
fail_code(struct MHD_Connection *conn, int code, const char *message)
{
    return respond_json(conn, gw_web_http_status(code), error_json(code, message, NULL, 0));
}

// --- the API ---

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    uint8_t *resp;
    size_t len;
} waiter;

static void
call_done(void *arg, const void *resp, size_t len)
{
    waiter *w = arg;
    uint8_t *copy = resp != NULL ? malloc(len ? len : 1) : NULL;
    if (copy != NULL && len)
        memcpy(copy, resp, len);
    pthread_mutex_lock(&w->mu);
    w->resp = copy;
    w->len = copy ? len : 0;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

// client_peer writes the HTTP client's address as the RPC server writes a
// socket peer's ("1.2.3.4:5678", "[::1]:5678"), for per-client limits.
static void
client_peer(struct MHD_Connection *conn, char *buf, size_t n)
{
    buf[0] = '\0';
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) (const void *) sa;
        if (inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip) != NULL)
            snprintf(buf, n, "%s:%u", ip, (unsigned) ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) (const void *) sa;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip) != NULL)
            snprintf(buf, n, "[%s]:%u", ip, (unsigned) ntohs(in6->sin6_port));
    }
}

// add_meta appends a metadata entry from an HTTP header, if present.
static void
add_meta(struct MHD_Connection *conn, const char *header, const char *key,
         Civic__Rpc__V1__Request__MetadataEntry *ents, Civic__Rpc__V1__Request__MetadataEntry **ptrs,
         size_t *n)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, header);
    if (v == NULL)
        return;
    civic__rpc__v1__request__metadata_entry__init(&ents[*n]);
    ents[*n].key = civic_unconst(key);
    ents[*n].value = civic_unconst(v);
    ptrs[*n] = &ents[*n];
    (*n)++;
}

// reply_json turns a serialized Response into the HTTP answer.
static enum MHD_Result
reply_json(struct MHD_Connection *conn, const ProtobufCMethodDescriptor *md, const uint8_t *buf,
           size_t len)
{
    Civic__Rpc__V1__Response *resp = civic__rpc__v1__response__unpack(NULL, len, buf);
    if (resp == NULL)
        return fail_code(conn, CIVIC_INTERNAL, "malformed reply from the server");
    enum MHD_Result rc;
    if (resp->status != NULL && resp->status->code != 0) {
        const Civic__Rpc__V1__Status *st = resp->status;
        rc = respond_json(conn, gw_web_http_status(st->code),
                          error_json(st->code, st->message, st->violations, st->n_violations));
    } else {
        ProtobufCMessage *out = protobuf_c_message_unpack(md->output, NULL, resp->payload.len,
                                                          resp->payload.data);
        if (out == NULL) {
            rc = fail_code(conn, CIVIC_INTERNAL, "the reply's payload does not decode");
        } else {
            rc = respond_json(conn, 200, civic_msg_to_json(out));
            protobuf_c_message_free_unpacked(out, NULL);
        }
    }
    civic__rpc__v1__response__free_unpacked(resp, NULL);
    return rc;
}

static enum MHD_Result
serve_api(gw_web *w, struct MHD_Connection *conn, const char *url, web_req *r)
{
    char method[256];
    if (snprintf(method, sizeof method, "/%s", url + 4) >= (int) sizeof method)
        return fail_code(conn, CIVIC_UNIMPLEMENTED, "method name too long");
    const ProtobufCMethodDescriptor *md = civic_msg_find_method(method);
    if (md == NULL || strchr(method + 1, '/') == NULL) {
        char msg[320];
        snprintf(msg, sizeof msg, "unknown method \"%.200s\": POST /v1/PACKAGE.SERVICE/METHOD", method);
        return fail_code(conn, CIVIC_UNIMPLEMENTED, msg);
    }
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (r->len > 0 && (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
                       (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')))
        return respond_json(conn, 415, error_json(CIVIC_INVALID_ARGUMENT,
                                                  "Content-Type must be application/json", NULL, 0));

    // The body: a JSON object (an empty body is {}).
    json_error_t jerr;
    json_t *j = r->len ? json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
    if (j == NULL) {
        char d[300];
        snprintf(d, sizeof d, "not JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return fail_field(conn, "body", d);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return fail_field(conn, "body", "must be a JSON object (the request message)");
    }
    ProtobufCMessage *in = civic_msg_new(md->input);
    char err[512];
    int bad = in == NULL || civic_msg_from_json(in, j, err, sizeof err) != 0;
    json_decref(j);
    if (bad) {
        if (in != NULL)
            protobuf_c_message_free_unpacked(in, NULL);
        if (in == NULL)
            return fail_code(conn, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
        // "point.location.lat: expected a number"
        char *sep = strstr(err, ": ");
        if (sep == NULL)
            return fail_field(conn, "body", err);
        *sep = '\0';
        return fail_field(conn, err, sep + 2);
    }

    // The envelope, as a binary client would send it.
    Civic__Rpc__V1__Request req = CIVIC__RPC__V1__REQUEST__INIT;
    Civic__Rpc__V1__Request__MetadataEntry ents[3], *ptrs[3];
    size_t n_meta = 0;
    add_meta(conn, MHD_HTTP_HEADER_AUTHORIZATION, "authorization", ents, ptrs, &n_meta);
    add_meta(conn, "Idempotency-Key", "idempotency-key", ents, ptrs, &n_meta);
    add_meta(conn, "X-Request-Id", "request-id", ents, ptrs, &n_meta);
    req.method = method;
    req.call_id = atomic_fetch_add(&w->call_ids, 1) + 1;
    req.metadata = ptrs;
    req.n_metadata = n_meta;
    req.payload.len = protobuf_c_message_get_packed_size(in);
    req.payload.data = malloc(req.payload.len ? req.payload.len : 1);
    size_t envlen = 0;
    uint8_t *env = NULL;
    if (req.payload.data != NULL) {
        protobuf_c_message_pack(in, req.payload.data);
        envlen = civic__rpc__v1__request__get_packed_size(&req);
        env = malloc(envlen ? envlen : 1);
        if (env != NULL)
            civic__rpc__v1__request__pack(&req, env);
    }
    protobuf_c_message_free_unpacked(in, NULL);
    free(req.payload.data);
    if (env == NULL)
        return fail_code(conn, CIVIC_RESOURCE_EXHAUSTED, "out of memory");

    char peer[64];
    client_peer(conn, peer, sizeof peer);
    waiter wt = {.done = 0};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    int rc = rt_server_call(w->srv, env, envlen, peer, call_done, &wt);
    free(env);
    if (rc == 0) {
        pthread_mutex_lock(&wt.mu);
        while (!wt.done)
            pthread_cond_wait(&wt.cv, &wt.mu);
        pthread_mutex_unlock(&wt.mu);
    }
    pthread_mutex_destroy(&wt.mu);
    pthread_cond_destroy(&wt.cv);
    if (rc != 0)
        return fail_code(conn, rc, "request too large for the server");
    if (wt.resp == NULL)
        return fail_code(conn, CIVIC_UNAVAILABLE, "the server is stopping");
    enum MHD_Result res = reply_json(conn, md, wt.resp, wt.len);
    free(wt.resp);
    return res;
}

// --- static files ---

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

static const char *
content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static enum MHD_Result
serve_file(gw_web *w, struct MHD_Connection *conn, const char *url)
{
    // MHD has decoded %XX already. No parent or hidden segments, no
    // backslashes; then the real path must still lie under the root (a
    // symbolic link out of it is refused too).
    if (w->root[0] == '\0' || url[0] != '/' || strstr(url, "/.") != NULL ||
        strchr(url, '\\') != NULL || strlen(url) > WEB_PATH_MAX)
        return respond_text(conn, 404, "not found\n");
    char path[PATH_MAX + WEB_PATH_MAX + 16], real[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", w->root, url,
             url[strlen(url) - 1] == '/' ? "index.html" : "");
    size_t rl = strlen(w->root);
    if (realpath(path, real) == NULL || strncmp(real, w->root, rl) != 0 || real[rl] != '/')
        return respond_text(conn, 404, "not found\n");
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return respond_text(conn, 404, "not found\n");
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t) sb.st_size, fd);
    if (r == NULL) {
        close(fd);
        return MHD_NO;
    }
    const char *type = content_type(real);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    // No build step puts hashes in names, so browsers revalidate every time.
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    security_headers(r);
    enum MHD_Result rc = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return rc;
}

// --- the daemon ---

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    gw_web *w = cls;
    (void) version;
    web_req *r = *con_cls;
    if (r == NULL) {
        // The headers are in; the body, if any, comes in later calls.
        r = calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        r->api = strcmp(method, MHD_HTTP_METHOD_POST) == 0 && strncmp(url, "/v1/", 4) == 0;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (r->api && cl != NULL && strtoull(cl, NULL, 10) > w->max_body) {
            // Answered before the body is read: MHD then closes the
            // connection instead of reading it.
            r->too_big = 1;
            char msg[128];
            snprintf(msg, sizeof msg, "request body over %zu bytes", w->max_body);
            return respond_json(conn, 413, error_json(CIVIC_RESOURCE_EXHAUSTED, msg, NULL, 0));
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (r->api && !r->too_big) {
            if (r->len + *upload_size > w->max_body) {
                r->too_big = 1;
            } else {
                if (r->len + *upload_size > r->cap) {
                    size_t cap = (r->len + *upload_size) * 2;
                    cap = cap > w->max_body ? w->max_body : cap;
                    char *b = realloc(r->body, cap);
                    if (b == NULL)
                        return MHD_NO;
                    r->body = b;
                    r->cap = cap;
                }
                memcpy(r->body + r->len, upload, *upload_size);
                r->len += *upload_size;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body over %zu bytes", w->max_body);
        return respond_json(conn, 413, error_json(CIVIC_RESOURCE_EXHAUSTED, msg, NULL, 0));
    }
    if (r->api)
        return serve_api(w, conn, url, r);
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
        return serve_file(w, conn, url);
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
        return respond_text(conn, 404, "not found: the API is POST /v1/PACKAGE.SERVICE/METHOD\n");
    return respond_text(conn, 405, "method not allowed\n");
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode why)
{
    (void) cls;
    (void) conn;
    (void) why;
    web_req *r = *con_cls;
    if (r != NULL) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

int
gw_web_start(gw_web **out, const char *listen, const char *root, size_t max_body, rt_server *srv)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    char err[512];
    if (rt_listen_parse("web-listen", listen, &sa, &salen, err, sizeof err) != 0) {
        rt_log(RT_LOG_ERROR, "web.bad_listen", "error=\"%s\"", err);
        return -1;
    }
    gw_web *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -1;
    w->srv = srv;
    w->max_body = max_body;
    if (root == NULL || root[0] == '\0' || realpath(root, w->root) == NULL) {
        w->root[0] = '\0';
        rt_log(RT_LOG_WARN, "web.no_root", "web-root=%s message=\"no pages will be served: %s\"",
               root ? root : "", root && root[0] ? strerror(errno) : "no web-root");
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    w->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *) &sa, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned) WEB_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned) WEB_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned) WEB_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t) WEB_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                            NULL, MHD_OPTION_END);
    if (w->d == NULL) {
        rt_log(RT_LOG_ERROR, "web.listen_failed", "web-listen=%s message=\"in use, or a bad address?\"",
               listen);
        free(w);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    w->port = di ? di->port : 0;
    rt_log(RT_LOG_INFO, "web.listening", "web-listen=%s port=%d web-root=%s", listen, w->port,
           w->root[0] ? w->root : "-");
    *out = w;
    return 0;
}

void
gw_web_stop(gw_web *w)
{
    if (w == NULL)
        return;
    MHD_stop_daemon(w->d);
    free(w);
}
