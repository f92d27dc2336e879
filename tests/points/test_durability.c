// civic.points.durability: a real civic-points (fsync on, as in production)
// killed with SIGKILL while writers are busy keeps every acknowledged
// create and check-in, doubles nothing when the unanswered writes are
// retried with their keys, and its indexes still agree with its records;
// stopped with SIGTERM and restarted, it answers every read as before, and
// new records get new ids.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "putil.h"

#define K(x) CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_##x
#define N_WRITERS 3
#define MAX_PER 400
#define WANT_ACKED 90

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

static int
after_each(void **state)
{
    pu_free_all();
    return 0;
}

typedef struct acked {
    uint64_t point, patrol; // patrol 0: not acknowledged
    char name[48];
} acked;

typedef struct writer {
    const char *url;
    uint64_t grid;
    int index;
    pthread_mutex_t *mu;
    int *total; // acknowledged creates over all writers
    acked done[MAX_PER];
    int n_done;
    char pending_name[48], pending_key[64]; // the create that got no answer
    int has_pending;
} writer;

static int
create_point(civic_channel *ch, uint64_t grid, const char *name, const char *key, uint64_t *id)
{
    Civic__Points__V1__CreatePointRequest req = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
    Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
    Civic__Points__V1__LatLng loc = CIVIC__POINTS__V1__LAT_LNG__INIT;
    loc.lat = 33.55;
    loc.lng = 119.05;
    p.name = (char *) (uintptr_t) name;
    p.kind = K(BACK_STREET);
    p.location = &loc;
    p.grid_id = grid;
    req.point = &p;
    ProtobufCMessage *resp = NULL;
    civic_status st;
    civic_call_opts o = {.idempotency_key = key, .timeout_ms = 5000};
    int rc = civic_call(ch, "/civic.points.v1.PointsService/CreatePoint", &req.base,
                        &civic__points__v1__create_point_response__descriptor, &resp, &o, &st);
    if (rc == 0) {
        *id = ((Civic__Points__V1__CreatePointResponse *) resp)->point->id;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return rc;
}

static void *
write_until_killed(void *arg)
{
    writer *w = arg;
    civic_channel *ch;
    civic_status st;
    civic_channel_opts co = {.max_attempts = 1};
    if (civic_channel_open(&ch, w->url, &co, &st) != 0)
        return NULL;
    for (int i = 0; i < MAX_PER; i++) {
        acked *a = &w->done[w->n_done];
        char key[64];
        snprintf(a->name, sizeof a->name, "耐久点 %d-%03d", w->index, i);
        snprintf(key, sizeof key, "dur-%d-%d", w->index, i);
        if (create_point(ch, w->grid, a->name, key, &a->point) != 0) {
            snprintf(w->pending_name, sizeof w->pending_name, "%s", a->name);
            snprintf(w->pending_key, sizeof w->pending_key, "%s", key);
            w->has_pending = 1;
            break;
        }
        a->patrol = 0;
        w->n_done++;
        pthread_mutex_lock(w->mu);
        (*w->total)++;
        pthread_mutex_unlock(w->mu);
        Civic__Points__V1__RecordPatrolRequest rp = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
        rp.point_id = a->point;
        rp.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
        snprintf(key, sizeof key, "dur-patrol-%d-%d", w->index, i);
        civic_call_opts o = {.idempotency_key = key, .timeout_ms = 5000};
        ProtobufCMessage *resp = NULL;
        if (civic_call(ch, "/civic.points.v1.PointsService/RecordPatrol", &rp.base,
                       &civic__points__v1__record_patrol_response__descriptor, &resp, &o, &st) != 0)
            break;
        a->patrol = ((Civic__Points__V1__RecordPatrolResponse *) resp)->patrol->id;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    civic_channel_close(ch);
    return NULL;
}

static size_t
count_named(pu_point **pts, size_t n, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += strcmp(pts[i]->name, name) == 0;
    return c;
}

static void
test_kill_9_keeps_acknowledged(void **state)
{
    civic_channel *ch = th_channel(&srv);
    uint64_t area, grid;
    pu_hier(ch, "耐久测试区", &area, &grid, 1);
    civic_channel_close(ch);

    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int total = 0;
    static writer w[N_WRITERS];
    pthread_t th[N_WRITERS];
    for (int i = 0; i < N_WRITERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].url = srv.url;
        w[i].grid = grid;
        w[i].index = i;
        w[i].mu = &mu;
        w[i].total = &total;
        pthread_create(&th[i], NULL, write_until_killed, &w[i]);
    }
    // Kill once enough writes were acknowledged, with more in flight.
    int64_t until = civic_now_ms() + 30000;
    for (;;) {
        pthread_mutex_lock(&mu);
        int n = total;
        pthread_mutex_unlock(&mu);
        if (n >= WANT_ACKED)
            break;
        if (civic_now_ms() > until)
            fail_msg("only %d writes acknowledged in 30 s", n);
        struct timespec d = {0, 2 * 1000000};
        nanosleep(&d, NULL);
    }
    th_server_kill(&srv);
    for (int i = 0; i < N_WRITERS; i++)
        pthread_join(th[i], NULL);

    th_server_restart(&srv);
    ch = th_channel(&srv);
    Civic__Points__V1__ListPointsRequest f = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    f.grid_id = grid;
    pu_point **pts;
    size_t n = pu_list_points(ch, &f, 1000, &pts);
    size_t n_acked = 0;
    for (int i = 0; i < N_WRITERS; i++) {
        for (int k = 0; k < w[i].n_done; k++) {
            acked *a = &w[i].done[k];
            n_acked++;
            Civic__Points__V1__GetPointRequest gp = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
            gp.id = a->point;
            Civic__Points__V1__GetPointResponse *g = (void *) pu_call(ch, "GetPoint", &gp);
            assert_string_equal(g->point->name, a->name);
            assert_int_equal(count_named(pts, n, a->name), 1);
            pu_patrol **ps;
            size_t np = pu_list_patrols(ch, a->point, 0, &ps);
            if (a->patrol != 0) {
                assert_int_equal(np, 1);
                assert_int_equal(ps[0]->id, a->patrol);
            } else {
                assert_true(np <= 1); // its answer was lost: there or not, once
            }
        }
    }
    assert_true(n_acked >= WANT_ACKED);
    assert_true(n >= n_acked && n <= n_acked + N_WRITERS); // at most the unanswered ones more

    // Retrying the unanswered creates with their keys doubles nothing.
    for (int i = 0; i < N_WRITERS; i++) {
        if (!w[i].has_pending)
            continue;
        uint64_t id;
        assert_int_equal(create_point(ch, grid, w[i].pending_name, w[i].pending_key, &id), 0);
        assert_int_equal(create_point(ch, grid, w[i].pending_name, w[i].pending_key, &id), 0);
        n = pu_list_points(ch, &f, 1000, &pts);
        assert_int_equal(count_named(pts, n, w[i].pending_name), 1);
    }
    civic_channel_close(ch);

    // The store after the crash: indexes and counters agree with records.
    assert_int_equal(th_server_term(&srv), 0);
    char dir[400], err[512];
    snprintf(dir, sizeof dir, "%s/data", srv.dir);
    if (pu_audit(dir, NULL, NULL, err, sizeof err) != 0)
        fail_msg("after kill -9: %s", err);
    th_server_restart(&srv);
}

// What a restart must give back: reads before and after, compared.
typedef struct view {
    size_t events, points, patrols_today;
    uint32_t cov_points, cov_patrolled;
    char name[64], phone[32];
    int state;
    uint64_t grid;
} view;

static void
read_view(civic_channel *ch, uint64_t area, uint64_t pt, view *v)
{
    v->events = pu_event_count(ch);
    Civic__Points__V1__ListPointsRequest f = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    f.area_id = area;
    f.include_archived = 1;
    pu_point **pts;
    v->points = pu_list_points(ch, &f, 1000, &pts);
    pu_patrol **ps;
    v->patrols_today = pu_list_patrols(ch, 0, pu_day(pu_now_ms()), &ps);
    Civic__Points__V1__GetCoverageRequest gc = CIVIC__POINTS__V1__GET_COVERAGE_REQUEST__INIT;
    gc.area_id = area;
    Civic__Points__V1__GetCoverageResponse *c = (void *) pu_call(ch, "GetCoverage", &gc);
    v->cov_points = c->points;
    v->cov_patrolled = c->patrolled;
    Civic__Points__V1__GetPointRequest gp = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    gp.id = pt;
    Civic__Points__V1__GetPointResponse *g = (void *) pu_call(ch, "GetPoint", &gp);
    snprintf(v->name, sizeof v->name, "%s", g->point->name);
    snprintf(v->phone, sizeof v->phone, "%s", g->point->n_responsible ? g->point->responsible[0]->phone : "");
    v->state = g->point->state;
    v->grid = g->point->grid_id;
}

static void
test_sigterm_restart(void **state)
{
    civic_channel *ch = th_channel(&srv);
    uint64_t area, grids[2];
    pu_hier(ch, "重启测试区", &area, grids, 2);
    uint64_t pts[12];
    for (int i = 0; i < 12; i++)
        pts[i] = pu_point_new(ch, grids[i % 2], pu_str("重启点 %02d", i), K(KEY_AREA), 33.5, 119.0,
                              "13812345678");
    for (int i = 0; i < 12; i += 2)
        pu_patrol_new(ch, pts[i], 0, NULL, NULL);
    Civic__Points__V1__UpdatePointRequest up = CIVIC__POINTS__V1__UPDATE_POINT_REQUEST__INIT;
    Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
    Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[] = {"name", "grid_id"};
    m.paths = paths;
    m.n_paths = 2;
    p.id = pts[0];
    p.name = "重启点（改）";
    p.grid_id = grids[1];
    up.point = &p;
    up.update_mask = &m;
    pu_call(ch, "UpdatePoint", &up);
    Civic__Points__V1__ArchivePointRequest ap = CIVIC__POINTS__V1__ARCHIVE_POINT_REQUEST__INIT;
    ap.id = pts[2];
    pu_call(ch, "ArchivePoint", &ap);
    view before, after;
    read_view(ch, area, pts[0], &before);
    assert_int_equal(before.points, 12);
    assert_int_equal(before.cov_points, 11);
    assert_int_equal(before.cov_patrolled, 5);
    civic_channel_close(ch);

    assert_int_equal(th_server_term(&srv), 0);
    th_server_restart(&srv);
    ch = th_channel(&srv);
    read_view(ch, area, pts[0], &after);
    assert_int_equal(after.events, before.events);
    assert_int_equal(after.points, before.points);
    assert_int_equal(after.patrols_today, before.patrols_today);
    assert_int_equal(after.cov_points, before.cov_points);
    assert_int_equal(after.cov_patrolled, before.cov_patrolled);
    assert_string_equal(after.name, "重启点（改）");
    assert_string_equal(after.phone, "13812345678");
    assert_int_equal(after.grid, grids[1]);
    Civic__Points__V1__GetPointRequest gp = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    gp.id = pts[2];
    Civic__Points__V1__GetPointResponse *g = (void *) pu_call(ch, "GetPoint", &gp);
    assert_int_equal(g->point->state, CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ARCHIVED);

    // New ids continue after the old ones.
    uint64_t fresh = pu_point_new(ch, grids[0], "重启后新点", K(KEY_AREA), 33.5, 119.0, NULL);
    assert_true(fresh > pts[11]);
    civic_channel_close(ch);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kill_9_keeps_acknowledged, after_each),
        cmocka_unit_test_teardown(test_sigterm_restart, after_each),
    };
    return cmocka_run_group_tests_name("civic.points.durability", tests, setup, teardown);
}
