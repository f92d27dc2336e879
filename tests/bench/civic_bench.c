// civic-bench: calls/s, latency percentiles and CPU per call for one kind of
// call with N in flight, beside a raw nng REQ/REP echo of the same request
// size measured the same way — the baseline every figure is a ratio of.
//
//   civic-bench echo-server --listen URL
//   civic-bench run --addr URL --mode MODE [--inflight N] [--duration S]
//                   [--warmup S] [--server-pid PID] [--label TEXT]
//
// Modes: echo (raw nng, against echo-server), health, get-point,
// record-patrol, create-area. Fixtures a mode needs (a grid and a point) are
// made through the public API first. Prints one JSON object per run.
#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "civic/points/v1/points.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_client.h"

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// --- the raw echo server: rep0 contexts echoing each message back ---

typedef struct echo_ctx {
    nng_ctx ctx;
    nng_aio *aio;
    int sending;
} echo_ctx;

static void
echo_cb(void *arg)
{
    echo_ctx *e = arg;
    if (nng_aio_result(e->aio) != 0) {
        if (e->sending)
            nng_msg_free(nng_aio_get_msg(e->aio));
        if (nng_aio_result(e->aio) == NNG_ECLOSED)
            return;
        e->sending = 0;
        nng_ctx_recv(e->ctx, e->aio);
        return;
    }
    if (e->sending) {
        e->sending = 0;
        nng_ctx_recv(e->ctx, e->aio);
    } else {
        e->sending = 1;
        nng_ctx_send(e->ctx, e->aio); // the received message, unchanged
    }
}

static int
echo_server(const char *url)
{
    nng_socket s;
    if (nng_rep0_open(&s) != 0 || nng_listen(s, url, NULL, 0) != 0) {
        fprintf(stderr, "civic-bench: cannot listen on %s\n", url);
        return 1;
    }
    enum { N = 256 };
    static echo_ctx ctxs[N];
    for (int i = 0; i < N; i++) {
        nng_aio_alloc(&ctxs[i].aio, echo_cb, &ctxs[i]);
        nng_ctx_open(&ctxs[i].ctx, s);
        nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sig;
    sigwait(&set, &sig);
    nng_close(s);
    return 0;
}

// --- the load: N calls in flight, each finished call starts the next ---

typedef struct run {
    const char *mode;
    int inflight;
    int64_t warm_until, end_at; // ns
    atomic_long counted, errors, issued;
    int64_t *lat; // µs, one per counted call
    long lat_cap;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int outstanding;
    // civic modes
    civic_channel *ch;
    const char *method;
    int write;
    uint8_t payload[512];
    size_t payload_len;
    uint64_t point_id;
    atomic_ulong seq;
    // echo mode
    nng_socket sock;
    size_t echo_len;
} run;

typedef struct slot {
    run *r;
    int64_t t0;
    nng_ctx ctx;
    nng_aio *aio;
    int sending;
} slot;

static void issue(slot *s);

static void
finished(slot *s, int ok)
{
    run *r = s->r;
    int64_t t = now_ns();
    if (t >= r->warm_until && t < r->end_at) {
        if (ok) {
            long i = atomic_fetch_add(&r->counted, 1);
            if (i < r->lat_cap)
                r->lat[i] = (t - s->t0) / 1000;
        } else {
            atomic_fetch_add(&r->errors, 1);
        }
    }
    if (t < r->end_at) {
        issue(s);
        return;
    }
    pthread_mutex_lock(&r->mu);
    if (--r->outstanding == 0)
        pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void
civic_done(const civic_reply *rep, void *arg)
{
    slot *s = arg;
    if (rep->status.code != 0 && atomic_load(&s->r->errors) < 3)
        fprintf(stderr, "civic-bench: %s: %s\n", civic_code_name(rep->status.code), rep->status.message);
    finished(s, rep->status.code == 0);
}

static void
echo_cb_client(void *arg)
{
    slot *s = arg;
    int rv = nng_aio_result(s->aio);
    if (s->sending) {
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(s->aio));
            finished(s, 0);
            return;
        }
        s->sending = 0;
        nng_ctx_recv(s->ctx, s->aio);
        return;
    }
    if (rv == 0)
        nng_msg_free(nng_aio_get_msg(s->aio));
    finished(s, rv == 0);
}

static void
make_payload(run *r, uint8_t *buf, size_t *len)
{
    if (strcmp(r->mode, "get-point") == 0) {
        Civic__Points__V1__GetPointRequest req = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
        req.id = r->point_id;
        *len = civic__points__v1__get_point_request__pack(&req, buf);
    } else if (strcmp(r->mode, "record-patrol") == 0) {
        Civic__Points__V1__RecordPatrolRequest req = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
        req.point_id = r->point_id;
        req.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
        req.note = "bench";
        *len = civic__points__v1__record_patrol_request__pack(&req, buf);
    } else if (strcmp(r->mode, "create-area") == 0) {
        Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
        Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
        char name[64];
        snprintf(name, sizeof name, "bench-%lu", atomic_fetch_add(&r->seq, 1));
        a.name = name;
        a.level = CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA;
        req.area = &a;
        *len = civic__points__v1__create_area_request__pack(&req, buf);
    } else {
        Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
        *len = civic__rpc__v1__check_request__pack(&req, buf);
    }
}

static void
issue(slot *s)
{
    run *r = s->r;
    s->t0 = now_ns();
    atomic_fetch_add(&r->issued, 1);
    if (strcmp(r->mode, "echo") == 0) {
        nng_msg *m;
        nng_msg_alloc(&m, r->echo_len);
        memset(nng_msg_body(m), 0x5a, r->echo_len);
        s->sending = 1;
        nng_aio_set_msg(s->aio, m);
        nng_ctx_send(s->ctx, s->aio);
        return;
    }
    uint8_t buf[512];
    size_t len = r->payload_len;
    const uint8_t *p = r->payload;
    char key[32];
    civic_call_opts o = {.timeout_ms = 30000, .read = !r->write};
    if (r->write) {
        make_payload(r, buf, &len);
        p = buf;
        snprintf(key, sizeof key, "b%lu", atomic_fetch_add(&r->seq, 1));
        o.idempotency_key = key;
    }
    civic_status st;
    if (civic_call_start(r->ch, r->method, p, len, &o, civic_done, s, &st) != 0)
        finished(s, 0);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static double
proc_cpu_s(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, stt = 0;
    // Fields after the command: state is 3rd; utime and stime are 14th, 15th.
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) == 2)
        return (double) (ut + stt) / (double) sysconf(_SC_CLK_TCK);
    return 0;
}

static double
self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

// fixtures makes an area, town, community, grid and point for the point modes.
static int
fixtures(run *r)
{
    civic_status st;
    uint64_t parent = 0;
    const char *names[] = {"基准测试区", "基准街道", "基准社区", "基准网格"};
    for (int level = 1; level <= 4; level++) {
        Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
        Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
        a.name = (char *) (uintptr_t) names[level - 1];
        a.level = level;
        a.parent_id = parent;
        req.area = &a;
        ProtobufCMessage *resp;
        if (civic_call(r->ch, "/civic.points.v1.PointsService/CreateArea", &req.base,
                       &civic__points__v1__create_area_response__descriptor, &resp, NULL, &st) != 0)
            goto fail;
        parent = ((Civic__Points__V1__CreateAreaResponse *) resp)->area->id;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    Civic__Points__V1__CreatePointRequest req = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
    Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
    Civic__Points__V1__LatLng loc = CIVIC__POINTS__V1__LAT_LNG__INIT;
    loc.lat = 33.6;
    loc.lng = 119.0;
    p.name = "基准农贸市场 01";
    p.kind = CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_FARMERS_MARKET;
    p.address = "淮安市清江浦区（基准测试数据）";
    p.location = &loc;
    p.grid_id = parent;
    req.point = &p;
    ProtobufCMessage *resp;
    if (civic_call(r->ch, "/civic.points.v1.PointsService/CreatePoint", &req.base,
                   &civic__points__v1__create_point_response__descriptor, &resp, NULL, &st) != 0)
        goto fail;
    r->point_id = ((Civic__Points__V1__CreatePointResponse *) resp)->point->id;
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
fail:
    fprintf(stderr, "civic-bench: fixtures: %s: %s\n", civic_code_name(st.code), st.message);
    return -1;
}

static int
bench(const char *addr, const char *mode, int inflight, double duration, double warmup,
      long server_pid, const char *label, size_t echo_len)
{
    run *r = calloc(1, sizeof *r);
    r->mode = mode;
    r->inflight = inflight;
    r->lat_cap = 20000000;
    r->lat = malloc((size_t) r->lat_cap * sizeof *r->lat);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    slot *slots = calloc((size_t) inflight, sizeof *slots);
    civic_status st;
    if (strcmp(mode, "echo") == 0) {
        nng_req0_open(&r->sock);
        nng_socket_set_ms(r->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
        if (nng_dial(r->sock, addr, NULL, 0) != 0) {
            fprintf(stderr, "civic-bench: cannot dial %s\n", addr);
            return 1;
        }
        r->echo_len = echo_len;
        for (int i = 0; i < inflight; i++) {
            nng_aio_alloc(&slots[i].aio, echo_cb_client, &slots[i]);
            nng_ctx_open(&slots[i].ctx, r->sock);
        }
    } else {
        if (civic_channel_open(&r->ch, addr, NULL, &st) != 0) {
            fprintf(stderr, "civic-bench: %s\n", st.message);
            return 1;
        }
        if (strcmp(mode, "health") == 0) {
            r->method = "/civic.rpc.v1.HealthService/Check";
        } else if (strcmp(mode, "get-point") == 0) {
            r->method = "/civic.points.v1.PointsService/GetPoint";
        } else if (strcmp(mode, "record-patrol") == 0) {
            r->method = "/civic.points.v1.PointsService/RecordPatrol";
            r->write = 1;
        } else if (strcmp(mode, "create-area") == 0) {
            r->method = "/civic.points.v1.PointsService/CreateArea";
            r->write = 1;
        } else {
            fprintf(stderr, "civic-bench: unknown mode %s\n", mode);
            return 2;
        }
        if ((strcmp(mode, "get-point") == 0 || strcmp(mode, "record-patrol") == 0) && fixtures(r) != 0)
            return 1;
        make_payload(r, r->payload, &r->payload_len);
    }
    for (int i = 0; i < inflight; i++)
        slots[i].r = r;
    int64_t start = now_ns();
    r->warm_until = start + (int64_t) (warmup * 1e9);
    r->end_at = r->warm_until + (int64_t) (duration * 1e9);
    r->outstanding = inflight;
    double cpu0 = 0, scpu0 = 0;
    int measuring = 0;
    for (int i = 0; i < inflight; i++)
        issue(&slots[i]);
    // Take CPU readings at the warm-up's end and the run's end.
    while (now_ns() < r->warm_until) {
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    cpu0 = self_cpu_s();
    scpu0 = server_pid ? proc_cpu_s(server_pid) : 0;
    measuring = 1;
    while (now_ns() < r->end_at) {
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    double cpu1 = self_cpu_s(), scpu1 = server_pid ? proc_cpu_s(server_pid) : 0;
    (void) measuring;
    pthread_mutex_lock(&r->mu);
    while (r->outstanding > 0)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);

    long n = atomic_load(&r->counted);
    if (n > r->lat_cap)
        n = r->lat_cap;
    qsort(r->lat, (size_t) n, sizeof *r->lat, cmp_i64);
#define PCT(p) (n ? r->lat[(long) ((double) (n - 1) * (p))] : 0)
    double cps = (double) atomic_load(&r->counted) / duration;
    double cpu_us = n ? ((cpu1 - cpu0) + (scpu1 - scpu0)) * 1e6 / (double) atomic_load(&r->counted) : 0;
    printf("{\"label\":\"%s\",\"mode\":\"%s\",\"inflight\":%d,\"duration_s\":%.1f,\"calls\":%ld,"
           "\"errors\":%ld,\"calls_per_s\":%.0f,\"p50_us\":%" PRId64 ",\"p90_us\":%" PRId64
           ",\"p99_us\":%" PRId64 ",\"p999_us\":%" PRId64 ",\"cpu_us_per_call\":%.1f,"
           "\"request_bytes\":%zu}\n",
           label ? label : mode, mode, inflight, duration, atomic_load(&r->counted),
           atomic_load(&r->errors), cps, PCT(0.5), PCT(0.9), PCT(0.99), PCT(0.999), cpu_us,
           strcmp(mode, "echo") == 0 ? r->echo_len : r->payload_len);
    fflush(stdout);
    if (r->ch)
        civic_channel_close(r->ch);
    if (strcmp(mode, "echo") == 0) {
        nng_close(r->sock);
        for (int i = 0; i < inflight; i++)
            nng_aio_free(slots[i].aio);
    }
    free(slots);
    free(r->lat);
    free(r);
    return 0;
}

// envelope_size is the size of a civic request envelope for mode, so the
// raw echo moves the same bytes as the calls it is the baseline of.
static size_t
envelope_size(const char *mode)
{
    run r = {.mode = mode, .point_id = 1000};
    uint8_t buf[512];
    size_t len;
    make_payload(&r, buf, &len);
    Civic__Rpc__V1__Request req = CIVIC__RPC__V1__REQUEST__INIT;
    char method[96];
    snprintf(method, sizeof method, "/civic.points.v1.PointsService/%s",
             strcmp(mode, "health") == 0 ? "Chec" : "GetPoint");
    req.method = method;
    req.call_id = (uint64_t) 1 << 50;
    req.timeout_ms = 30000;
    req.payload.data = buf;
    req.payload.len = len;
    return civic__rpc__v1__request__get_packed_size(&req);
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "echo-server") == 0) {
        const char *url = argc >= 4 && strcmp(argv[2], "--listen") == 0 ? argv[3] : "tcp://127.0.0.1:7999";
        return echo_server(url);
    }
    const char *addr = "tcp://127.0.0.1:7001", *mode = "health", *label = NULL;
    int inflight = 1;
    double duration = 3, warmup = 0.5;
    long server_pid = 0;
    size_t echo_len = 64;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--addr") == 0)
            addr = v;
        else if (strcmp(k, "--mode") == 0)
            mode = v;
        else if (strcmp(k, "--inflight") == 0)
            inflight = atoi(v);
        else if (strcmp(k, "--duration") == 0)
            duration = atof(v);
        else if (strcmp(k, "--warmup") == 0)
            warmup = atof(v);
        else if (strcmp(k, "--server-pid") == 0)
            server_pid = atol(v);
        else if (strcmp(k, "--label") == 0)
            label = v;
        else if (strcmp(k, "--echo-bytes") == 0)
            echo_len = (size_t) atol(v);
        else if (strcmp(k, "--echo-like") == 0)
            echo_len = envelope_size(v);
        else {
            fprintf(stderr, "civic-bench: unknown option %s\n", k);
            return 2;
        }
    }
    if (argc < 2 || strcmp(argv[1], "run") != 0 || inflight < 1 || duration <= 0) {
        fprintf(stderr, "usage: civic-bench run --addr URL --mode echo|health|get-point|"
                        "record-patrol|create-area [--inflight N] [--duration S] [--warmup S]\n"
                        "       [--server-pid PID] [--label TEXT] [--echo-bytes N]\n"
                        "       civic-bench echo-server --listen URL\n");
        return 2;
    }
    return bench(addr, mode, inflight, duration, warmup, server_pid, label, echo_len);
}
