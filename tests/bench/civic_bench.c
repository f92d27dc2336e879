// civic-bench: calls/s, latency percentiles and CPU per call for one kind of
// call with N in flight, beside a raw nng REQ/REP echo of the same request
// size measured the same way — the baseline every figure is a ratio of.
//
//   civic-bench echo-server --listen URL
//   civic-bench run --addr URL --mode MODE [--inflight N] [--duration S |
//                   --count N] [--warmup S] [--lanes N] [--server-pid PID]
//                   [--label TEXT]
//
// Modes: echo (raw nng, against echo-server), and every service's modes
// (bench_<service>.c: health, get-point, record-patrol, create-area, …).
// Fixtures a mode needs are made through the public API first. Prints one
// JSON object per run.
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
#include "bench.h"
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
    int64_t warm_until;         // ns
    _Atomic int64_t end_at;     // ns; brought forward when count calls are done
    long count;                 // --count: stop after this many counted calls; 0: by time
    atomic_long counted, errors, issued;
    int64_t *lat; // µs, one per counted call
    long lat_cap;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int outstanding;
    // civic modes
    civic_channel *ch;
    const bench_mode *m;
    void *fixtures;
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
    if (t >= r->warm_until && t < atomic_load(&r->end_at)) {
        if (ok) {
            long i = atomic_fetch_add(&r->counted, 1);
            if (i < r->lat_cap)
                r->lat[i] = (t - s->t0) / 1000;
            if (r->count > 0 && i + 1 == r->count)
                atomic_store(&r->end_at, t);
        } else {
            atomic_fetch_add(&r->errors, 1);
        }
    }
    if (t < atomic_load(&r->end_at)) {
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
    uint8_t buf[2048];
    char key[32];
    unsigned long n = atomic_fetch_add(&r->seq, 1);
    size_t len = r->m->payload(r->fixtures, n, buf, sizeof buf);
    civic_call_opts o = {.timeout_ms = 30000, .read = !r->m->write};
    if (r->m->write) {
        snprintf(key, sizeof key, "b%lu", n);
        o.idempotency_key = key;
    }
    civic_status st;
    if (civic_call_start(r->ch, r->m->method, buf, len, &o, civic_done, s, &st) != 0)
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

int
bench_call(civic_channel *ch, const char *method, const ProtobufCMessage *req,
           const ProtobufCMessageDescriptor *out, ProtobufCMessage **resp)
{
    civic_status st;
    int rc = civic_call(ch, method, req, out, resp, NULL, &st);
    if (rc != 0)
        fprintf(stderr, "civic-bench: %s: %s: %s\n", method, civic_code_name(rc), st.message);
    return rc;
}

static const bench_mode *
find_mode(const char *name)
{
    for (const bench_mode *const *t = bench_mode_tables; *t != NULL; t++)
        for (const bench_mode *m = *t; m->name != NULL; m++)
            if (strcmp(m->name, name) == 0)
                return m;
    return NULL;
}

static const char *token; // --token: a bearer token, for calls through the gateway
static long extra_pid;     // --extra-pid: a second server whose CPU counts too
static int no_setup;       // --no-setup 1: the fixtures exist (ids from 1)
static unsigned long seq_start; // --seq-start N: number calls (and keys) from N, so
                                // that runs against one store never reuse a key
static long count;              // --count N: measure N calls rather than a duration
static int lanes;               // --lanes N: connections the channel spreads calls over

static int
bench(const char *addr, const char *mode, int inflight, double duration, double warmup,
      long server_pid, const char *label, size_t echo_len)
{
    run *r = calloc(1, sizeof *r);
    atomic_init(&r->seq, seq_start);
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
        civic_channel_opts co = {.token = token, .lanes = lanes};
        if (civic_channel_open(&r->ch, addr, &co, &st) != 0) {
            fprintf(stderr, "civic-bench: %s\n", st.message);
            return 1;
        }
        if ((r->m = find_mode(mode)) == NULL) {
            fprintf(stderr, "civic-bench: unknown mode %s\n", mode);
            return 2;
        }
        if (r->m->setup != NULL && !no_setup && r->m->setup(r->ch, &r->fixtures) != 0)
            return 1;
    }
    for (int i = 0; i < inflight; i++)
        slots[i].r = r;
    int64_t start = now_ns();
    r->warm_until = start + (int64_t) (warmup * 1e9);
    // With --count the run ends when the count is reached, or after an hour.
    r->count = count;
    atomic_init(&r->end_at, r->warm_until + (int64_t) ((count > 0 ? 3600 : duration) * 1e9));
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
    scpu0 = (server_pid ? proc_cpu_s(server_pid) : 0) + (extra_pid ? proc_cpu_s(extra_pid) : 0);
    measuring = 1;
    while (now_ns() < atomic_load(&r->end_at)) {
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    duration = (double) (atomic_load(&r->end_at) - r->warm_until) / 1e9;
    double cpu1 = self_cpu_s();
    double scpu1 = (server_pid ? proc_cpu_s(server_pid) : 0) + (extra_pid ? proc_cpu_s(extra_pid) : 0);
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
           strcmp(mode, "echo") == 0 ? r->echo_len : (size_t) 0);
    fflush(stdout);
    if (r->ch)
        civic_channel_close(r->ch);
    if (strcmp(mode, "echo") == 0) {
        nng_close(r->sock);
        for (int i = 0; i < inflight; i++)
            nng_aio_free(slots[i].aio);
    }
    free(slots);
    free(r->fixtures);
    free(r->lat);
    free(r);
    return 0;
}

// envelope_size is the size of a civic request envelope for mode, so the
// raw echo moves the same bytes as the calls it is the baseline of.
static size_t
envelope_size(const char *mode)
{
    const bench_mode *m = find_mode(mode);
    uint8_t buf[2048];
    size_t len = m ? m->payload(NULL, 1000, buf, sizeof buf) : 0;
    Civic__Rpc__V1__Request req = CIVIC__RPC__V1__REQUEST__INIT;
    req.method = (char *) (uintptr_t) (m ? m->method : "/civic.rpc.v1.HealthService/Check");
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
        else if (strcmp(k, "--token") == 0)
            token = v;
        else if (strcmp(k, "--extra-pid") == 0)
            extra_pid = atol(v);
        else if (strcmp(k, "--no-setup") == 0)
            no_setup = atoi(v);
        else if (strcmp(k, "--seq-start") == 0)
            seq_start = strtoul(v, NULL, 10);
        else if (strcmp(k, "--count") == 0)
            count = atol(v);
        else if (strcmp(k, "--lanes") == 0)
            lanes = atoi(v);
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
                        "       [--count N] [--lanes N] [--server-pid PID] [--label TEXT]\n"
                        "       [--echo-bytes N] [--seq-start N]\n"
                        "       civic-bench echo-server --listen URL\n");
        return 2;
    }
    return bench(addr, mode, inflight, duration, warmup, server_pid, label, echo_len);
}
