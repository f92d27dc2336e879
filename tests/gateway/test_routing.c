// civic.gateway.routing: identity and failing back ends. A forged identity
// never reaches a back end; a back end with a key refuses unsigned
// identity; a back end killed or stopped gives UNAVAILABLE or
// DEADLINE_EXCEEDED within the caller's deadline, never a hang, the gateway
// keeps answering, and recovery needs no restart of the gateway. A retried
// CreateToken (its reply holds the token, so it is never stored) issues no
// second token.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "civic/points/v1/points.pb-c.h"
#include "civic_msg.h"
#include "gw_fixture.h"

#define PTS "/civic.points.v1.PointsService/"

static uint64_t
make_point(civic_channel *admin)
{
    uint64_t parent = 0;
    for (int level = 1; level <= 4; level++) {
        Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
        Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
        a.name = "测试";
        a.level = level;
        a.parent_id = parent;
        req.area = &a;
        ProtobufCMessage *resp;
        civic_status st;
        assert_ok(civic_call(admin, PTS "CreateArea", &req.base, &civic__points__v1__create_area_response__descriptor,
                             &resp, NULL, &st));
        parent = ((Civic__Points__V1__CreateAreaResponse *) resp)->area->id;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    Civic__Points__V1__CreatePointRequest req = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
    Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
    Civic__Points__V1__LatLng loc = CIVIC__POINTS__V1__LAT_LNG__INIT;
    loc.lat = 33.5;
    loc.lng = 119.1;
    p.name = "测试点位";
    p.kind = CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_KEY_AREA;
    p.location = &loc;
    p.grid_id = parent;
    req.point = &p;
    ProtobufCMessage *resp;
    civic_status st;
    assert_ok(civic_call(admin, PTS "CreatePoint", &req.base, &civic__points__v1__create_point_response__descriptor,
                         &resp, NULL, &st));
    uint64_t id = ((Civic__Points__V1__CreatePointResponse *) resp)->point->id;
    protobuf_c_message_free_unpacked(resp, NULL);
    return id;
}

static int
get_point(civic_channel *ch, uint64_t id, uint32_t timeout_ms, int64_t *elapsed)
{
    Civic__Points__V1__GetPointRequest req = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    req.id = id;
    civic_status st;
    civic_call_opts o = {.timeout_ms = timeout_ms, .read = 1};
    int64_t t0 = civic_now_ms();
    ProtobufCMessage *resp = NULL;
    int code = civic_call(ch, PTS "GetPoint", &req.base, &civic__points__v1__get_point_response__descriptor, &resp,
                          &o, &st);
    if (elapsed)
        *elapsed = civic_now_ms() - t0;
    protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

static int
who_am_i(civic_channel *ch)
{
    Civic__Gateway__V1__WhoAmIRequest req = CIVIC__GATEWAY__V1__WHO_AM_IREQUEST__INIT;
    civic_status st;
    civic_call_opts o = {.timeout_ms = 3000, .read = 1};
    ProtobufCMessage *resp = NULL;
    int code = civic_call(ch, "/civic.gateway.v1.GatewayService/WhoAmI", &req.base,
                          &civic__gateway__v1__who_am_iresponse__descriptor, &resp, &o, &st);
    protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

// wait_ok polls until GetPoint succeeds through the gateway (the dialer
// reconnecting), up to a generous bound.
static void
wait_ok(civic_channel *ch, uint64_t id)
{
    for (int64_t until = civic_now_ms() + 20000; civic_now_ms() < until;) {
        if (get_point(ch, id, 1000, NULL) == CIVIC_OK)
            return;
        struct timespec d = {0, 100 * 1000000};
        nanosleep(&d, NULL);
    }
    fail_msg("GetPoint did not recover through the gateway");
}

static void
test_forged_identity(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    civic_channel *admin = gw_channel(&f, f.admin);
    uint64_t point = make_point(admin);
    char tok[128];
    gw_token(&f, "巡查员甲", "inspector", 0, tok, sizeof tok, NULL);
    civic_channel *insp = gw_channel(&f, tok);

    // The inspector claims to be mallory, an admin: the claim is dropped, and
    // the patrol is recorded as the token's principal.
    Civic__Points__V1__RecordPatrolRequest req = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
    req.point_id = point;
    req.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
    const char *md[] = {"x-civic-principal", "mallory", "x-civic-role", "admin"};
    civic_call_opts o = {.metadata = md, .n_metadata = 2};
    ProtobufCMessage *resp;
    civic_status st;
    assert_ok(civic_call(insp, PTS "RecordPatrol", &req.base, &civic__points__v1__record_patrol_response__descriptor,
                         &resp, &o, &st));
    assert_string_equal(((Civic__Points__V1__RecordPatrolResponse *) resp)->patrol->patroller, "巡查员甲");
    protobuf_c_message_free_unpacked(resp, NULL);
    // Nor does the claim raise the role.
    Civic__Points__V1__CreateAreaRequest ca = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
    assert_code(civic_call(insp, PTS "CreateArea", &ca.base, &civic__points__v1__create_area_response__descriptor,
                           NULL, &o, &st),
                CIVIC_PERMISSION_DENIED);

    // Straight to the back end, which has the key: unsigned identity is
    // anonymous, and anonymous callers get only Health and Reflection.
    civic_channel *direct = th_channel(&f.points);
    civic_call_opts ro = {.metadata = md, .n_metadata = 2, .read = 1};
    Civic__Points__V1__ListPointsRequest la = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    assert_code(civic_call(direct, PTS "ListPoints", &la.base, &civic__points__v1__list_points_response__descriptor,
                           NULL, &ro, &st),
                CIVIC_UNAUTHENTICATED);
    // A signature made with the wrong key is no better.
    civic_key wrong = {.len = 20};
    memset(wrong.bytes, 'x', 20);
    civic_channel_opts co = {.key = &wrong, .principal = "admin", .role = "admin"};
    civic_channel *forger;
    assert_ok(civic_channel_open(&forger, f.points.url, &co, &st));
    assert_code(civic_call(forger, PTS "ListPoints", &la.base, &civic__points__v1__list_points_response__descriptor,
                           NULL, &ro, &st),
                CIVIC_UNAUTHENTICATED);
    civic_channel_close(forger);
    // With the right key (an operator calling directly), it works.
    civic_key right;
    const char *why;
    assert_int_equal(civic_key_load(&right, f.key, &why), 0);
    co.key = &right;
    assert_ok(civic_channel_open(&forger, f.points.url, &co, &st));
    // (The claim in md is dropped by the client when it signs.)
    assert_ok(civic_call(forger, PTS "ListPoints", &la.base, &civic__points__v1__list_points_response__descriptor,
                         &resp, &ro, &st));
    protobuf_c_message_free_unpacked(resp, NULL);
    civic_channel_close(forger);
    civic_channel_close(direct);
    civic_channel_close(insp);
    civic_channel_close(admin);
    gw_fixture_stop(&f);
}

typedef struct tally {
    pthread_mutex_t mu;
    int done, ok, unavailable, deadline, other;
    int64_t worst_ms;
} tally;

typedef struct pending {
    tally *t;
    int64_t t0;
} pending;

static void
count(const civic_reply *r, void *arg)
{
    pending *p = arg;
    tally *t = p->t;
    int64_t took = civic_now_ms() - p->t0;
    pthread_mutex_lock(&t->mu);
    t->done++;
    if (took > t->worst_ms)
        t->worst_ms = took;
    switch (r->status.code) {
    case CIVIC_OK: t->ok++; break;
    case CIVIC_UNAVAILABLE: t->unavailable++; break;
    case CIVIC_DEADLINE_EXCEEDED: t->deadline++; break;
    default: t->other++; break;
    }
    pthread_mutex_unlock(&t->mu);
    free(p);
}

static void
test_backend_killed(void **state)
{
    // Every points call stalls 300 ms, so calls are surely in flight at the kill.
    gw_fixture f;
    const char *pargs[] = {"--test-stall-ms=300", NULL};
    gw_fixture_start(&f, pargs);
    civic_channel *admin = gw_channel(&f, f.admin);
    uint64_t point = make_point(admin);
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    Civic__Points__V1__GetPointRequest req = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    req.id = point;
    uint8_t buf[32];
    size_t n = civic__points__v1__get_point_request__pack(&req, buf);
    civic_call_opts o = {.timeout_ms = 3000, .read = 1};
    civic_status st;
    for (int i = 0; i < 8; i++) {
        pending *p = malloc(sizeof *p);
        *p = (pending){&t, civic_now_ms()};
        assert_ok(civic_call_start(admin, PTS "GetPoint", buf, n, &o, count, p, &st));
    }
    struct timespec d = {0, 100 * 1000000};
    nanosleep(&d, NULL);
    th_server_kill(&f.points);
    for (int64_t until = civic_now_ms() + 10000; civic_now_ms() < until;) {
        pthread_mutex_lock(&t.mu);
        int done = t.done;
        pthread_mutex_unlock(&t.mu);
        if (done == 8)
            break;
        nanosleep(&d, NULL);
    }
    assert_int_equal(t.done, 8);
    assert_int_equal(t.other, 0);
    assert_true(t.unavailable + t.deadline + t.ok == 8);
    assert_true(t.worst_ms <= 3000 + 1500); // within the deadline (and scheduling slack), never a hang
    // The gateway itself goes on, and so do the other back ends.
    assert_ok(who_am_i(admin));
    civic_reply rep;
    civic_call_opts lo = {.timeout_ms = 3000, .read = 1};
    assert_ok(civic_call_raw(admin, "/civic.tasks.v1.TasksService/ListProblems", "", 0, &lo, &rep));
    civic_reply_fini(&rep);
    assert_ok(civic_call_raw(admin, "/civic.volunteers.v1.VolunteersService/ListActivities", "", 0, &lo, &rep));
    civic_reply_fini(&rep);
    // Calls to the dead back end fail fast.
    int64_t took;
    assert_code(get_point(admin, point, 10000, &took), CIVIC_UNAVAILABLE);
    assert_true(took < 5000); // at once, not at the 10 s deadline
    // Restarted, the back end serves through the same gateway again.
    th_server_restart(&f.points);
    wait_ok(admin, point);
    civic_channel_close(admin);
    gw_fixture_stop(&f);
}

static void
test_backend_stopped(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    civic_channel *admin = gw_channel(&f, f.admin);
    uint64_t point = make_point(admin);
    assert_ok(get_point(admin, point, 2000, NULL));
    kill(f.points.pid, SIGSTOP);
    // SIGSTOP lands asynchronously: wait until the process is really stopped.
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) f.points.pid);
    for (int64_t until = civic_now_ms() + 5000; civic_now_ms() < until;) {
        FILE *sf = fopen(path, "r");
        size_t n = sf ? fread(stat, 1, sizeof stat - 1, sf) : 0;
        if (sf)
            fclose(sf);
        stat[n] = '\0';
        char *rp = strrchr(stat, ')');
        if (rp && (rp[2] == 'T' || rp[2] == 't'))
            break;
        struct timespec d = {0, 5 * 1000000};
        nanosleep(&d, NULL);
    }
    int64_t took;
    int code = get_point(admin, point, 1000, &took);
    // A stopped process keeps its connection: the call runs into its deadline
    // (or, once the prober has closed the dead connection, fails fast).
    assert_true(code == CIVIC_DEADLINE_EXCEEDED || code == CIVIC_UNAVAILABLE);
    assert_true(took <= 1000 + 1500); // the deadline, plus scheduling slack
    assert_ok(who_am_i(admin));
    civic_reply rep;
    civic_call_opts lo = {.timeout_ms = 3000, .read = 1};
    assert_ok(civic_call_raw(admin, "/civic.tasks.v1.TasksService/ListProblems", "", 0, &lo, &rep));
    civic_reply_fini(&rep);
    kill(f.points.pid, SIGCONT);
    wait_ok(admin, point);
    civic_channel_close(admin);
    gw_fixture_stop(&f);
}

static void
test_token_retry(void **state)
{
    (void) state;
    static gw_fixture f;
    gw_fixture_start(&f, NULL);
    civic_channel *admin = gw_channel(&f, f.admin);
    Civic__Gateway__V1__CreateTokenRequest req = CIVIC__GATEWAY__V1__CREATE_TOKEN_REQUEST__INIT;
    req.principal = "retry-me";
    req.role = CIVIC__GATEWAY__V1__ROLE__ROLE_VIEWER;
    req.ttl_seconds = 600;
    civic_call_opts o = {.idempotency_key = "token-retry-1"};
    ProtobufCMessage *resp = NULL;
    civic_status st;
    assert_ok(civic_call(admin, "/civic.gateway.v1.GatewayService/CreateToken", &req.base,
                         &civic__gateway__v1__create_token_response__descriptor, &resp, &o, &st));
    protobuf_c_message_free_unpacked(resp, NULL);
    resp = NULL;
    // The same key again: done already, and the token is not shown twice.
    assert_code(civic_call(admin, "/civic.gateway.v1.GatewayService/CreateToken", &req.base,
                           &civic__gateway__v1__create_token_response__descriptor, &resp, &o, &st),
                CIVIC_ALREADY_EXISTS);
    assert_null(resp);
    assert_non_null(strstr(st.message, "earlier attempt"));
    // The same key with another request is refused as a misuse of the key.
    req.principal = "someone-else";
    assert_int_not_equal(civic_call(admin, "/civic.gateway.v1.GatewayService/CreateToken", &req.base,
                                    &civic__gateway__v1__create_token_response__descriptor, &resp, &o, &st),
                         CIVIC_OK);
    // One token for retry-me, none for someone-else.
    Civic__Gateway__V1__ListTokensRequest lr = CIVIC__GATEWAY__V1__LIST_TOKENS_REQUEST__INIT;
    lr.page_size = 500;
    civic_call_opts ro = {.read = 1};
    assert_ok(civic_call(admin, "/civic.gateway.v1.GatewayService/ListTokens", &lr.base,
                         &civic__gateway__v1__list_tokens_response__descriptor, &resp, &ro, &st));
    Civic__Gateway__V1__ListTokensResponse *l = (Civic__Gateway__V1__ListTokensResponse *) resp;
    int mine = 0, other = 0;
    for (size_t i = 0; i < l->n_tokens; i++) {
        mine += strcmp(l->tokens[i]->principal, "retry-me") == 0;
        other += strcmp(l->tokens[i]->principal, "someone-else") == 0;
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    assert_int_equal(mine, 1);
    assert_int_equal(other, 0);
    civic_channel_close(admin);
    gw_fixture_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forged_identity),
        cmocka_unit_test(test_backend_killed),
        cmocka_unit_test(test_backend_stopped),
        cmocka_unit_test(test_token_retry),
    };
    return cmocka_run_group_tests_name("civic.gateway.routing", tests, NULL, NULL);
}
