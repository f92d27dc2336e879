// civic.runtime.rpc: the envelope and the server against hostile and odd
// input, concurrency and a stop with calls in flight — on a real civic-points
// process. After every bad input, Health must still answer SERVING.
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civic/points/v1/points.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"
#include "harness.h"

static th_server srv;

static int
setup(void **state)
{
    th_server_start(&srv, CIVIC_POINTS_BIN, NULL);
    return 0;
}

static int
teardown(void **state)
{
    th_server_cleanup(&srv);
    return 0;
}

static void
assert_serving(const char *url)
{
    if (th_wait_serving(url, 3000) != 0)
        fail_msg("%s is no longer SERVING", url);
}

// raw sends bytes on a fresh req0 socket and returns the reply's Response,
// or NULL when no reply came (the connection was dropped or timed out).
static Civic__Rpc__V1__Response *
raw(const char *url, const void *bytes, size_t len, int timeout_ms)
{
    nng_socket s;
    nng_msg *m;
    assert_int_equal(nng_req0_open(&s), 0);
    nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms);
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, timeout_ms);
    nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 32u << 20);
    assert_int_equal(nng_dial(s, url, NULL, 0), 0);
    assert_int_equal(nng_msg_alloc(&m, len), 0);
    memcpy(nng_msg_body(m), bytes, len);
    Civic__Rpc__V1__Response *r = NULL;
    if (nng_sendmsg(s, m, 0) != 0) {
        nng_msg_free(m);
    } else if (nng_recvmsg(s, &m, 0) == 0) {
        r = civic__rpc__v1__response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
        assert_non_null(r);
        nng_msg_free(m);
    }
    nng_close(s);
    return r;
}

// envelope packs a Request into a heap buffer.
static uint8_t *
envelope(const char *method, uint64_t call_id, uint32_t timeout_ms, const void *payload,
         size_t plen, Civic__Rpc__V1__Request__MetadataEntry **md, size_t n_md, size_t *len)
{
    Civic__Rpc__V1__Request req = CIVIC__RPC__V1__REQUEST__INIT;
    req.method = (char *) (uintptr_t) method;
    req.call_id = call_id;
    req.timeout_ms = timeout_ms;
    req.payload.data = (uint8_t *) (uintptr_t) payload;
    req.payload.len = plen;
    req.metadata = md;
    req.n_metadata = n_md;
    *len = civic__rpc__v1__request__get_packed_size(&req);
    uint8_t *b = malloc(*len);
    civic__rpc__v1__request__pack(&req, b);
    return b;
}

static int
status_code(const Civic__Rpc__V1__Response *r)
{
    return r->status ? r->status->code : 0;
}

static void
test_health_and_reflection(void **state)
{
    civic_channel *ch = th_channel(&srv);
    Civic__Rpc__V1__ListServicesRequest req = CIVIC__RPC__V1__LIST_SERVICES_REQUEST__INIT;
    ProtobufCMessage *resp;
    civic_status st;
    civic_call_opts o = {.read = 1};
    assert_ok(civic_call(ch, "/civic.rpc.v1.ReflectionService/ListServices", &req.base,
                         &civic__rpc__v1__list_services_response__descriptor, &resp, &o, &st));
    Civic__Rpc__V1__ListServicesResponse *ls = (Civic__Rpc__V1__ListServicesResponse *) resp;
    int points = 0, health = 0;
    for (size_t i = 0; i < ls->n_services; i++) {
        points |= strcmp(ls->services[i], "civic.points.v1.PointsService") == 0;
        health |= strcmp(ls->services[i], "civic.rpc.v1.HealthService") == 0;
    }
    assert_true(points && health);
    protobuf_c_message_free_unpacked(resp, NULL);

    Civic__Rpc__V1__CheckRequest ck = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
    ck.service = "civic.nope.v1.NoService";
    assert_code(civic_call(ch, "/civic.rpc.v1.HealthService/Check", &ck.base,
                           &civic__rpc__v1__check_response__descriptor, &resp, &o, &st),
                CIVIC_NOT_FOUND);
    ck.service = "civic.points.v1.PointsService";
    assert_ok(civic_call(ch, "/civic.rpc.v1.HealthService/Check", &ck.base,
                         &civic__rpc__v1__check_response__descriptor, &resp, &o, &st));
    protobuf_c_message_free_unpacked(resp, NULL);

    Civic__Rpc__V1__GetFileDescriptorSetRequest fr = CIVIC__RPC__V1__GET_FILE_DESCRIPTOR_SET_REQUEST__INIT;
    assert_ok(civic_call(ch, "/civic.rpc.v1.ReflectionService/GetFileDescriptorSet", &fr.base,
                         &civic__rpc__v1__get_file_descriptor_set_response__descriptor, &resp, &o, &st));
    assert_true(((Civic__Rpc__V1__GetFileDescriptorSetResponse *) resp)->file_descriptor_set.len > 1000);
    protobuf_c_message_free_unpacked(resp, NULL);
    civic_channel_close(ch);
}

static void
test_random_bytes(void **state)
{
    srandom(42);
    for (int round = 0; round < 20; round++) {
        uint8_t b[300];
        size_t n = 1 + (size_t) (random() % (long) sizeof b);
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t) random();
        Civic__Rpc__V1__Response *r = raw(srv.url, b, n, 2000);
        // A reply (an error: random bytes are never a valid call) or a drop.
        if (r != NULL) {
            assert_int_not_equal(status_code(r), 0);
            civic__rpc__v1__response__free_unpacked(r, NULL);
        }
    }
    assert_serving(srv.url);
}

static void
test_truncated_envelope(void **state)
{
    size_t len;
    uint8_t p[40] = {0x08, 0x01};
    uint8_t *b = envelope("/civic.points.v1.PointsService/GetArea", 9, 0, p, sizeof p, NULL, 0, &len);
    Civic__Rpc__V1__Response *r = raw(srv.url, b, len - 10, 2000);
    assert_non_null(r);
    assert_int_equal(status_code(r), CIVIC_INVALID_ARGUMENT);
    assert_non_null(strstr(r->status->message, "envelope"));
    civic__rpc__v1__response__free_unpacked(r, NULL);
    free(b);
    assert_serving(srv.url);
}

static void
test_bad_payload(void **state)
{
    size_t len;
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t *b = envelope("/civic.points.v1.PointsService/GetArea", 11, 0, junk, sizeof junk, NULL, 0, &len);
    Civic__Rpc__V1__Response *r = raw(srv.url, b, len, 2000);
    assert_non_null(r);
    assert_int_equal(r->call_id, 11);
    assert_int_equal(status_code(r), CIVIC_INVALID_ARGUMENT);
    assert_int_equal(r->status->n_violations, 1);
    assert_string_equal(r->status->violations[0]->field, "payload");
    civic__rpc__v1__response__free_unpacked(r, NULL);
    free(b);
    assert_serving(srv.url);
}

static void
test_unknown_method(void **state)
{
    size_t len;
    uint8_t *b = envelope("/civic.points.v1.PointsService/Teleport", 12, 0, NULL, 0, NULL, 0, &len);
    Civic__Rpc__V1__Response *r = raw(srv.url, b, len, 2000);
    assert_non_null(r);
    assert_int_equal(status_code(r), CIVIC_UNIMPLEMENTED);
    assert_non_null(strstr(r->status->message, "Teleport"));
    civic__rpc__v1__response__free_unpacked(r, NULL);
    free(b);
    assert_serving(srv.url);
}

static void
test_oversize_message(void **state)
{
    size_t big = 16u << 20, len;
    uint8_t *p = calloc(1, big);
    uint8_t *b = envelope("/civic.points.v1.PointsService/GetArea", 13, 0, p, big, NULL, 0, &len);
    // Over NNG_OPT_RECVMAXSZ the server drops the connection: no reply.
    Civic__Rpc__V1__Response *r = raw(srv.url, b, len, 2000);
    assert_null(r);
    free(b);
    free(p);
    assert_serving(srv.url);

    // The client library refuses to send it at all.
    civic_channel *ch = th_channel(&srv);
    civic_reply rep;
    uint8_t *q = calloc(1, big);
    assert_code(civic_call_raw(ch, "/civic.points.v1.PointsService/GetArea", q, big, NULL, &rep),
                CIVIC_RESOURCE_EXHAUSTED);
    assert_int_equal(rep.attempts, 0);
    civic_reply_fini(&rep);
    free(q);
    civic_channel_close(ch);
}

static void
test_metadata_rules(void **state)
{
    static char big[9000];
    memset(big, 'x', sizeof big - 1);
    Civic__Rpc__V1__Request__MetadataEntry e = CIVIC__RPC__V1__REQUEST__METADATA_ENTRY__INIT, *ep = &e;
    e.key = "x-filler";
    e.value = big;
    size_t len;
    uint8_t *b = envelope("/civic.rpc.v1.HealthService/Check", 14, 0, NULL, 0, &ep, 1, &len);
    Civic__Rpc__V1__Response *r = raw(srv.url, b, len, 2000);
    assert_non_null(r);
    assert_int_equal(status_code(r), CIVIC_INVALID_ARGUMENT);
    assert_string_equal(r->status->violations[0]->field, "metadata");
    civic__rpc__v1__response__free_unpacked(r, NULL);
    free(b);

    e.key = "Request-Id";
    e.value = "abc";
    b = envelope("/civic.rpc.v1.HealthService/Check", 15, 0, NULL, 0, &ep, 1, &len);
    r = raw(srv.url, b, len, 2000);
    assert_non_null(r);
    assert_int_equal(status_code(r), CIVIC_INVALID_ARGUMENT);
    assert_non_null(strstr(r->status->message, "lower-case"));
    civic__rpc__v1__response__free_unpacked(r, NULL);
    free(b);
    assert_serving(srv.url);
}

static void
test_deadline_spent(void **state)
{
    // A server that stalls every call 300 ms: a 50 ms deadline is surely
    // spent before the work starts, and the work is not done.
    th_server slow;
    const char *args[] = {"--test-stall-ms=300", NULL};
    th_server_start(&slow, CIVIC_POINTS_BIN, args);
    civic_channel *ch = th_channel(&slow);
    Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    a.name = "清江浦区";
    a.level = CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA;
    req.area = &a;
    civic_status st;
    civic_call_opts o = {.timeout_ms = 5000, .wire_timeout_ms = 50};
    assert_code(civic_call(ch, "/civic.points.v1.PointsService/CreateArea", &req.base,
                           &civic__points__v1__create_area_response__descriptor, NULL, &o, &st),
                CIVIC_DEADLINE_EXCEEDED);
    // Nothing was written.
    Civic__Points__V1__GetAreaRequest g = CIVIC__POINTS__V1__GET_AREA_REQUEST__INIT;
    g.id = 1;
    civic_call_opts ro = {.timeout_ms = 5000, .read = 1};
    assert_code(civic_call(ch, "/civic.points.v1.PointsService/GetArea", &g.base,
                           &civic__points__v1__get_area_response__descriptor, NULL, &ro, &st),
                CIVIC_NOT_FOUND);
    civic_channel_close(ch);
    assert_serving(slow.url);
    assert_int_equal(th_server_term(&slow), 0);
    th_server_cleanup(&slow);
}

typedef struct client_arg {
    const char *url;
    int ok;
} client_arg;

static void *
client_main(void *p)
{
    client_arg *a = p;
    civic_channel *ch;
    civic_status st;
    if (civic_channel_open(&ch, a->url, NULL, &st) != 0)
        return NULL;
    for (int i = 0; i < 20; i++) {
        Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        civic_call_opts o = {.read = 1};
        if (civic_call(ch, "/civic.rpc.v1.HealthService/Check", &req.base,
                       &civic__rpc__v1__check_response__descriptor, &resp, &o, &st) == 0) {
            a->ok++;
            protobuf_c_message_free_unpacked(resp, NULL);
        }
    }
    civic_channel_close(ch);
    return NULL;
}

static void
test_64_clients(void **state)
{
    pthread_t t[64];
    client_arg a[64];
    for (int i = 0; i < 64; i++) {
        a[i] = (client_arg){.url = srv.url};
        pthread_create(&t[i], NULL, client_main, &a[i]);
    }
    for (int i = 0; i < 64; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, 20);
    }
}

typedef struct tally {
    pthread_mutex_t mu;
    int done, ok, stopping, not_serving, other;
} tally;

// count_reply sorts answers: OK (a Health answer by its status), the
// server's own "server stopping", anything else (a connection cut under
// the call, a deadline).
static void
count_reply(const civic_reply *r, void *arg)
{
    tally *t = arg;
    pthread_mutex_lock(&t->mu);
    t->done++;
    if (r->status.code == CIVIC_OK) {
        Civic__Rpc__V1__CheckResponse *h =
            civic__rpc__v1__check_response__unpack(NULL, r->len, r->payload);
        if (h != NULL && h->status == CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_NOT_SERVING)
            t->not_serving++;
        else
            t->ok++;
        if (h != NULL)
            civic__rpc__v1__check_response__free_unpacked(h, NULL);
    } else if (r->status.code == CIVIC_UNAVAILABLE && strcmp(r->status.message, "server stopping") == 0) {
        t->stopping++;
    } else {
        t->other++;
    }
    pthread_mutex_unlock(&t->mu);
}

static void
wait_done(tally *t, int n)
{
    for (int64_t until = civic_now_ms() + 20000; civic_now_ms() < until;) {
        pthread_mutex_lock(&t->mu);
        int done = t->done;
        pthread_mutex_unlock(&t->mu);
        if (done == n)
            return;
        struct timespec d = {0, 20 * 1000000};
        nanosleep(&d, NULL);
    }
}

static void
test_sigterm_with_calls_in_flight(void **state)
{
    // Every call takes two seconds, so the two sent first are surely in
    // hand when SIGTERM comes, and the stop surely still waits for them when
    // the next calls arrive.
    th_server s;
    const char *args[] = {"--test-stall-ms=2000", NULL};
    th_server_start(&s, CIVIC_POINTS_BIN, args);
    civic_channel_opts co = {.max_attempts = 1};
    civic_channel *ch;
    civic_status st;
    assert_ok(civic_channel_open(&ch, s.url, &co, &st));
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
    uint8_t buf[16];
    size_t n = civic__rpc__v1__check_request__pack(&req, buf);
    civic_call_opts o = {.timeout_ms = 20000};
    for (int i = 0; i < 2; i++)
        assert_ok(civic_call_start(ch, "/civic.points.v1.PointsService/ListAreas", buf, n, &o,
                                   count_reply, &t, &st));
    struct timespec d = {0, 500 * 1000000};
    nanosleep(&d, NULL);
    kill(s.pid, SIGTERM);
    assert_int_equal(th_log_wait(&s, "server.stopping", 10000), 0);
    // While it stops: Health says NOT_SERVING, other calls are refused.
    assert_ok(civic_call_start(ch, "/civic.rpc.v1.HealthService/Check", buf, n, &o, count_reply, &t, &st));
    for (int i = 0; i < 3; i++)
        assert_ok(civic_call_start(ch, "/civic.points.v1.PointsService/ListAreas", buf, n, &o,
                                   count_reply, &t, &st));
    wait_done(&t, 6);
    assert_int_equal(th_server_term(&s), 0); // reaps the process stopped above
    // Every call was answered by the server: those in hand completed, the
    // later ones were told it is stopping. None was cut off.
    assert_int_equal(t.done, 6);
    assert_int_equal(t.ok, 2);
    assert_int_equal(t.not_serving, 1);
    assert_int_equal(t.stopping, 3);
    assert_int_equal(t.other, 0);
    civic_channel_close(ch);
    th_server_cleanup(&s);
}

static void
test_health_while_starting(void **state)
{
    // The server listens three seconds before it serves: Health says
    // NOT_SERVING meanwhile, and other calls are refused UNAVAILABLE.
    th_server s;
    const char *args[] = {"--test-start-delay-ms=3000", NULL};
    th_server_spawn(&s, CIVIC_POINTS_BIN, args);
    civic_channel_opts co = {.max_attempts = 1};
    civic_channel *ch;
    civic_status st;
    assert_ok(civic_channel_open(&ch, s.url, &co, &st));
    Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    civic_call_opts o = {.read = 1};
    assert_ok(civic_call(ch, "/civic.rpc.v1.HealthService/Check", &req.base,
                         &civic__rpc__v1__check_response__descriptor, &resp, &o, &st));
    assert_int_equal(((Civic__Rpc__V1__CheckResponse *) resp)->status,
                     CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_NOT_SERVING);
    protobuf_c_message_free_unpacked(resp, NULL);
    Civic__Points__V1__ListAreasRequest lr = CIVIC__POINTS__V1__LIST_AREAS_REQUEST__INIT;
    assert_int_equal(civic_call(ch, "/civic.points.v1.PointsService/ListAreas", &lr.base,
                                &civic__points__v1__list_areas_response__descriptor, &resp, &o, &st),
                     CIVIC_UNAVAILABLE);
    assert_string_equal(st.message, "server starting");
    civic_channel_close(ch);
    // Then it serves.
    assert_int_equal(th_wait_serving(s.url, 15000), 0);
    assert_int_equal(th_server_term(&s), 0);
    th_server_cleanup(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_reflection),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_truncated_envelope),
        cmocka_unit_test(test_bad_payload),
        cmocka_unit_test(test_unknown_method),
        cmocka_unit_test(test_oversize_message),
        cmocka_unit_test(test_metadata_rules),
        cmocka_unit_test(test_deadline_spent),
        cmocka_unit_test(test_64_clients),
        cmocka_unit_test(test_sigterm_with_calls_in_flight),
        cmocka_unit_test(test_health_while_starting),
    };
    return cmocka_run_group_tests_name("civic.runtime.rpc", tests, setup, teardown);
}
