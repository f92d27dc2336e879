// A gateway in front of a civic-points, both with an internal key.
#include "gw_fixture.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_msg.h"

void
gw_fixture_start(gw_fixture *f, const char *const *points_args)
{
    gw_fixture_start_with(f, points_args, NULL);
}

static void start(gw_fixture *f, const char *const *points_args, const char *const *backend_args,
                  const char *const *gateway_args);

void
gw_fixture_start_with(gw_fixture *f, const char *const *points_args, const char *const *gateway_args)
{
    start(f, points_args, NULL, gateway_args);
}

void
gw_fixture_start_all(gw_fixture *f, const char *const *backend_args, const char *const *gateway_args)
{
    start(f, backend_args, backend_args, gateway_args);
}

static void
start(gw_fixture *f, const char *const *points_args, const char *const *backend_args,
      const char *const *gateway_args)
{
    memset(f, 0, sizeof f->dir);
    th_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->key, sizeof f->key, "%s/internal.key", f->dir);
    FILE *k = fopen(f->key, "w");
    fputs("a-test-internal-key-of-some-length\n", k);
    fclose(k);
    char keyarg[320], pts[128];
    snprintf(keyarg, sizeof keyarg, "--internal-key-file=%s", f->key);
    const char *pargs[8] = {keyarg};
    int n = 1;
    for (int i = 0; points_args && points_args[i] && n < 7; i++)
        pargs[n++] = points_args[i];
    pargs[n] = NULL;
    th_server_start(&f->points, CIVIC_POINTS_BIN, pargs);
    const char *kargs[8] = {keyarg};
    for (int i = 0; backend_args && backend_args[i] && i < 6; i++)
        kargs[i + 1] = backend_args[i];
    th_server_start(&f->tasks, CIVIC_TASKS_BIN, kargs);
    th_server_start(&f->volunteers, CIVIC_VOLUNTEERS_BIN, kargs);
    char tsk[128], vol[128];
    snprintf(pts, sizeof pts, "--points=%s", f->points.url);
    snprintf(tsk, sizeof tsk, "--tasks=%s", f->tasks.url);
    snprintf(vol, sizeof vol, "--volunteers=%s", f->volunteers.url);
    const char *gargs[16] = {keyarg, pts, tsk, vol, "--probe-ms=1000"};
    for (int i = 0, g = 5; gateway_args && gateway_args[i] && g < 15; i++)
        gargs[g++] = gateway_args[i];
    th_server_start(&f->gateway, CIVIC_GATEWAY_BIN, gargs);
    // The gateway serves before its back ends are connected (they may start
    // later); the tests want them connected.
    char url[80];
    snprintf(url, sizeof url, "%s", f->gateway.url);
    civic_channel *ch;
    civic_status st;
    assert_ok(civic_channel_open(&ch, url, NULL, &st));
    static const char *const backends[] = {"civic.points.v1.PointsService", "civic.tasks.v1.TasksService",
                                           "civic.volunteers.v1.VolunteersService"};
    int up = 0;
    for (int64_t until = civic_now_ms() + 15000; up < 3 && civic_now_ms() < until;) {
        Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
        req.service = (char *) (uintptr_t) backends[up];
        ProtobufCMessage *resp = NULL;
        civic_call_opts o = {.read = 1, .timeout_ms = 1000};
        int serving = 0;
        if (civic_call(ch, "/civic.rpc.v1.HealthService/Check", &req.base,
                       &civic__rpc__v1__check_response__descriptor, &resp, &o, &st) == 0)
            serving = ((Civic__Rpc__V1__CheckResponse *) resp)->status ==
                      CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING;
        protobuf_c_message_free_unpacked(resp, NULL);
        struct timespec d = {0, 50 * 1000000};
        if (serving)
            up++;
        else
            nanosleep(&d, NULL);
    }
    civic_channel_close(ch);
    if (up < 3)
        fail_msg("the gateway never reached %s", backends[up]);
    char path[400];
    snprintf(path, sizeof path, "%s/data/admin.token", f->gateway.dir);
    FILE *t = fopen(path, "r");
    assert_non_null(t);
    assert_non_null(fgets(f->admin, sizeof f->admin, t));
    fclose(t);
    f->admin[strcspn(f->admin, "\n")] = '\0';
}

void
gw_fixture_start_web(gw_fixture *f)
{
    gw_fixture_start_web_with(f, NULL);
}

void
gw_fixture_start_web_with(gw_fixture *f, const char *const *gateway_args)
{
    int port = th_free_port();
    char listen[64], root[400];
    snprintf(listen, sizeof listen, "--web-listen=127.0.0.1:%d", port);
    snprintf(root, sizeof root, "--web-root=%s/web", CIVIC_SOURCE_DIR);
    const char *gargs[12] = {listen, root};
    for (int i = 0, g = 2; gateway_args && gateway_args[i] && g < 11; i++)
        gargs[g++] = gateway_args[i];
    gw_fixture_start_with(f, NULL, gargs);
    f->web_port = port;
}

void
gw_wait_log(const th_server *s, const char *what, int ms)
{
    char line[4096];
    for (int64_t until = civic_now_ms() + ms; civic_now_ms() < until;) {
        FILE *fp = fopen(s->log, "r");
        int found = 0;
        while (fp != NULL && !found && fgets(line, sizeof line, fp) != NULL)
            found = strstr(line, what) != NULL;
        if (fp != NULL)
            fclose(fp);
        if (found)
            return;
        struct timespec d = {0, 50 * 1000000};
        nanosleep(&d, NULL);
    }
    fail_msg("%s never logged \"%s\" (see %s)", s->bin, what, s->log);
}

int
gw_http(const gw_fixture *f, const char *method, const char *path, const char *headers,
        const char *body, size_t body_len, char *resp, size_t n)
{
    return gw_http_from(f, NULL, method, path, headers, body, body_len, resp, n);
}

int
gw_http_from(const gw_fixture *f, const char *from, const char *method, const char *path,
             const char *headers, const char *body, size_t body_len, char *resp, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {15, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (from != NULL) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        if (inet_pton(AF_INET, from, &src.sin_addr) != 1 || bind(fd, (struct sockaddr *) &src, sizeof src) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) f->web_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    char head[8192];
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, f->web_port, headers ? headers : "", body ? body_len : 0);
    int ok = hl > 0 && (size_t) hl < sizeof head && send(fd, head, (size_t) hl, MSG_NOSIGNAL) == hl;
    // A server may answer (413) before reading the whole body and close: a
    // failed write of the body is not a failed exchange.
    for (size_t off = 0; ok && body && off < body_len;) {
        ssize_t w = send(fd, body + off, body_len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t) w;
    }
    size_t got = 0;
    for (ssize_t r; ok && got + 1 < n && (r = read(fd, resp + got, n - 1 - got)) > 0;)
        got += (size_t) r;
    close(fd);
    resp[got] = '\0';
    int status = -1;
    if (!ok || sscanf(resp, "HTTP/1.1 %d", &status) != 1)
        return -1;
    return status;
}

const char *
gw_http_body(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

void
gw_fixture_stop(gw_fixture *f)
{
    th_server_cleanup(&f->gateway);
    th_server_cleanup(&f->points);
    th_server_cleanup(&f->tasks);
    th_server_cleanup(&f->volunteers);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
}

civic_channel *
gw_channel(gw_fixture *f, const char *token)
{
    civic_channel *ch;
    civic_status st;
    civic_channel_opts o = {.token = token, .max_attempts = 1};
    if (civic_channel_open(&ch, f->gateway.url, &o, &st) != 0)
        fail_msg("gateway: %s", st.message);
    return ch;
}

void
gw_token(gw_fixture *f, const char *principal, const char *role, unsigned ttl, char *out, size_t n,
         uint64_t *id)
{
    civic_channel *ch = gw_channel(f, f->admin);
    Civic__Gateway__V1__CreateTokenRequest *req =
        (Civic__Gateway__V1__CreateTokenRequest *) civic_msg_new(&civic__gateway__v1__create_token_request__descriptor);
    char err[256];
    assert_int_equal(civic_msg_set(&req->base, "principal", principal, err, sizeof err), 0);
    assert_int_equal(civic_msg_set(&req->base, "role", role, err, sizeof err), 0);
    req->ttl_seconds = ttl;
    ProtobufCMessage *resp;
    civic_status st;
    assert_ok(civic_call(ch, "/civic.gateway.v1.GatewayService/CreateToken", &req->base,
                         &civic__gateway__v1__create_token_response__descriptor, &resp, NULL, &st));
    Civic__Gateway__V1__CreateTokenResponse *r = (Civic__Gateway__V1__CreateTokenResponse *) resp;
    snprintf(out, n, "%s", r->secret);
    if (id)
        *id = r->token->id;
    protobuf_c_message_free_unpacked(resp, NULL);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    civic_channel_close(ch);
}

// --- the CLI against the gateway, and its JSON ---

int
gw_cli_err(gw_fixture *f, const char *token, char *out, size_t n, char *err, size_t errn,
           const char *const *args)
{
    const char *argv[48] = {"--addr", f->gateway.url, "-o", "json"};
    int k = 4;
    if (token != NULL) {
        argv[k++] = "--token";
        argv[k++] = token;
    }
    for (int i = 0; args[i] && k < 47; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    char own[2048];
    if (err == NULL)
        err = own, errn = sizeof own;
    unsetenv("CIVIC_TOKEN");
    setenv("CIVIC_TOKEN_FILE", "/nonexistent", 1);
    int rc = th_cli(out, n, err, errn, argv);
    if (rc != 0)
        print_message("civic %s %s: %s", args[0], args[1] ? args[1] : "", err);
    return rc;
}

int
gw_cli(gw_fixture *f, const char *token, char *out, size_t n, const char *const *args)
{
    return gw_cli_err(f, token, out, n, NULL, 0, args);
}

json_t *
gw_cli_json(gw_fixture *f, const char *token, const char *const *args)
{
    static char out[1 << 17];
    if (gw_cli(f, token, out, sizeof out, args) != 0)
        fail_msg("civic %s %s failed", args[0], args[1]);
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    if (j == NULL)
        fail_msg("not JSON: %s", out);
    return j;
}

static json_t *
jpath(json_t *j, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = j;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return cur;
}

const char *
gw_jstr(json_t *j, const char *path)
{
    json_t *cur = jpath(j, path);
    return cur && json_is_string(cur) ? json_string_value(cur) : NULL;
}

double
gw_jnum(json_t *j, const char *path)
{
    json_t *cur = jpath(j, path);
    if (cur == NULL)
        return 0;
    if (json_is_string(cur))
        return atof(json_string_value(cur));
    return json_is_integer(cur) ? (double) json_integer_value(cur) : json_number_value(cur);
}

void
gw_register_self(gw_fixture *f, const char *name, const char *phone, char *id, char *token)
{
    const char *args[] = {"volunteers", "register-self", "--name", name, "--phone", phone,
                          "--kind", "resident", "--area-id", "1", "--community", "示范社区",
                          "--consent", "true", NULL};
    json_t *j = gw_cli_json(f, NULL, args);
    assert_non_null(gw_jstr(j, "token"));
    snprintf(token, 128, "%s", gw_jstr(j, "token"));
    snprintf(id, 32, "%s", gw_jstr(j, "volunteer.id"));
    json_decref(j);
}

void
gw_make_activity(gw_fixture *f, int64_t start_s, int capacity, char *activity, char *point)
{
    const char *lv[] = {"area", "town", "community", "grid"};
    char parent[32] = "0";
    for (int i = 0; i < 4; i++) {
        const char *args[] = {"areas", "create", "--name", "测试", "--level", lv[i], "--parent-id", parent, NULL};
        json_t *j = gw_cli_json(f, f->admin, args);
        snprintf(parent, sizeof parent, "%s", gw_jstr(j, "area.id"));
        json_decref(j);
    }
    const char *pargs[] = {"points", "create", "--name", "测试点位", "--kind", "key-area", "--lat", "33.5",
                           "--lng", "119.1", "--grid-id", parent, NULL};
    json_t *pj = gw_cli_json(f, f->admin, pargs);
    snprintf(point, 32, "%s", gw_jstr(pj, "point.id"));
    json_decref(pj);
    char start[32], end[32], cap[16];
    snprintf(start, sizeof start, "%lld", (long long) start_s);
    snprintf(end, sizeof end, "%lld", (long long) start_s + 3600);
    snprintf(cap, sizeof cap, "%d", capacity);
    const char *aargs[] = {"activities", "create", "--title", "三清行动（测试）", "--kind", "three-clears",
                           "--point-id", point, "--area-id", "1", "--start-time", start, "--end-time", end,
                           "--capacity", cap, NULL};
    json_t *aj = gw_cli_json(f, f->admin, aargs);
    snprintf(activity, 32, "%s", gw_jstr(aj, "activity.id"));
    json_decref(aj);
}

int
gw_count_events(gw_fixture *f, const char *type)
{
    const char *args[] = {"events", "--page-size", "1000", NULL};
    json_t *j = gw_cli_json(f, f->admin, args);
    json_t *evs = json_object_get(j, "events");
    int n = 0;
    for (size_t i = 0; i < json_array_size(evs); i++) {
        const char *t = gw_jstr(json_array_get(evs, i), "type");
        n += t && strcmp(t, type) == 0;
    }
    json_decref(j);
    return n;
}
