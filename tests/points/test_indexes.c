// civic.points.indexes: after many writes of every kind through a real
// civic-points (areas at every level and their updates, units created,
// renamed and moved between areas, points created, renamed, moved between
// grids and areas, given new people and locations, archived and changed
// while archived, check-ins on several days with retried idempotency keys,
// refused writes, and concurrent writers whose writes share commits), the
// service is stopped and its data directory opened in-process: every index
// entry and counter must agree with the records (points_check_indexes). The
// audit itself must catch a store whose entries or counters were changed
// behind the records' back.
#include <pthread.h>
#include <string.h>

#include "points.h"
#include "putil.h"

#define K(x) CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_##x
#define N_THREADS 4
#define PER_THREAD 25

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

static void
update_point(civic_channel *ch, Civic__Points__V1__Point *p, const char *path)
{
    Civic__Points__V1__UpdatePointRequest up = CIVIC__POINTS__V1__UPDATE_POINT_REQUEST__INIT;
    Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[1] = {(char *) (uintptr_t) path};
    m.paths = paths;
    m.n_paths = 1;
    up.point = p;
    up.update_mask = &m;
    pu_call(ch, "UpdatePoint", &up);
}

// --- concurrent writers (plain C client: no cmocka calls off the main thread) ---

typedef struct writer {
    const char *url;
    uint64_t grid;
    int index, failed;
} writer;

static void *
write_many(void *arg)
{
    writer *w = arg;
    civic_channel *ch;
    civic_status st;
    if (civic_channel_open(&ch, w->url, NULL, &st) != 0) {
        w->failed = PER_THREAD;
        return NULL;
    }
    for (int i = 0; i < PER_THREAD; i++) {
        char name[64], key[64];
        snprintf(name, sizeof name, "并发点 %d-%02d", w->index, i);
        snprintf(key, sizeof key, "idx-%d-%d", w->index, i);
        Civic__Points__V1__CreatePointRequest req = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
        Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
        Civic__Points__V1__LatLng loc = CIVIC__POINTS__V1__LAT_LNG__INIT;
        loc.lat = 33.5;
        loc.lng = 119.0;
        p.name = name;
        p.kind = K(STAIRWELL);
        p.location = &loc;
        p.grid_id = w->grid;
        req.point = &p;
        ProtobufCMessage *resp = NULL;
        civic_call_opts o = {.idempotency_key = key};
        if (civic_call(ch, "/civic.points.v1.PointsService/CreatePoint", &req.base,
                       &civic__points__v1__create_point_response__descriptor, &resp, &o, &st) != 0) {
            w->failed++;
            continue;
        }
        uint64_t id = ((Civic__Points__V1__CreatePointResponse *) resp)->point->id;
        protobuf_c_message_free_unpacked(resp, NULL);
        Civic__Points__V1__RecordPatrolRequest rp = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
        rp.point_id = id;
        rp.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
        snprintf(key, sizeof key, "idx-patrol-%d-%d", w->index, i);
        o.idempotency_key = key;
        if (civic_call(ch, "/civic.points.v1.PointsService/RecordPatrol", &rp.base,
                       &civic__points__v1__record_patrol_response__descriptor, &resp, &o, &st) != 0)
            w->failed++;
        else
            protobuf_c_message_free_unpacked(resp, NULL);
    }
    civic_channel_close(ch);
    return NULL;
}

static void
every_kind_of_write(civic_channel *ch)
{
    uint64_t a1, g1[3], a2, g2[2];
    pu_hier(ch, "索引测试区一", &a1, g1, 3);
    pu_hier(ch, "索引测试区二", &a2, g2, 2);

    // Area updates: name, kind, demo.
    Civic__Points__V1__UpdateAreaRequest ua = CIVIC__POINTS__V1__UPDATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *apaths[] = {"name", "kind", "demo"};
    m.paths = apaths;
    m.n_paths = 3;
    a.id = a2;
    a.name = "索引测试区二（改）";
    a.kind = CIVIC__POINTS__V1__AREA_KIND__AREA_KIND_PLATFORM;
    a.demo = 1;
    ua.area = &a;
    ua.update_mask = &m;
    pu_call(ch, "UpdateArea", &ua);
    a.id = g1[2];
    a.kind = 0;
    m.paths = apaths;
    m.n_paths = 1;
    a.name = "改名的网格";
    pu_call(ch, "UpdateArea", &ua);

    // Units: created, renamed, moved to another area, phone changed.
    uint64_t units[4];
    for (int i = 0; i < 4; i++) {
        Civic__Points__V1__CreateUnitRequest cu = CIVIC__POINTS__V1__CREATE_UNIT_REQUEST__INIT;
        Civic__Points__V1__Unit u = CIVIC__POINTS__V1__UNIT__INIT;
        u.name = pu_str("索引单位 %d", i);
        u.kind = (Civic__Points__V1__UnitKind) (1 + i % 4);
        u.area_id = i % 2 ? a2 : a1;
        u.contact_phone = "13800000000";
        cu.unit = &u;
        units[i] = ((Civic__Points__V1__CreateUnitResponse *) pu_call(ch, "CreateUnit", &cu))->unit->id;
    }
    for (int i = 0; i < 4; i++) {
        Civic__Points__V1__UpdateUnitRequest uu = CIVIC__POINTS__V1__UPDATE_UNIT_REQUEST__INIT;
        Civic__Points__V1__Unit u = CIVIC__POINTS__V1__UNIT__INIT;
        char *upaths[] = {"area_id", "name", "contact_phone", "kind"};
        m.paths = upaths;
        m.n_paths = (size_t) (1 + i);
        u.id = units[i];
        u.area_id = i % 2 ? a1 : a2;
        u.name = pu_str("索引单位 %d（改）", i);
        u.contact_phone = "+8613900000000";
        u.kind = CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_CONTRACTOR;
        uu.unit = &u;
        uu.update_mask = &m;
        pu_call(ch, "UpdateUnit", &uu);
    }

    // Points and their changes.
    uint64_t pts[30];
    for (int i = 0; i < 30; i++)
        pts[i] = pu_point_new(ch, i < 20 ? g1[i % 3] : g2[i % 2], pu_str("索引点 %02d", i),
                              (Civic__Points__V1__PointKind) (1 + i % 7), 33.5, 119.0 + i * 1e-3,
                              i % 3 ? "13812345678" : NULL);
    int64_t now = pu_now_ms();
    int32_t today = pu_day(now);
    for (int i = 0; i < 30; i++) {
        for (int d = 0; d < 3; d++) {
            int64_t when = rt_day_start_ms(rt_day_add(today, -d), PU_TZ) + 1000 * (i + 1);
            if ((i + d) % 2 == 0)
                pu_patrol_new(ch, pts[i], when < now - 60000 ? when : now - 60000, NULL, NULL);
        }
    }
    // A retried check-in with its key: recorded once.
    Civic__Points__V1__RecordPatrolRequest rp = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
    rp.point_id = pts[1];
    rp.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_PROBLEMS_FOUND;
    for (int k = 0; k < 3; k++)
        pu_call_full(ch, "RecordPatrol", &rp.base, "x", "inspector", "retry-1", CIVIC_OK, NULL);

    Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
    Civic__Points__V1__LatLng loc = CIVIC__POINTS__V1__LAT_LNG__INIT;
    Civic__Points__V1__ResponsiblePerson r = CIVIC__POINTS__V1__RESPONSIBLE_PERSON__INIT, *rr = &r;
    for (int i = 0; i < 10; i++) {
        civic__points__v1__point__init(&p);
        p.id = pts[i];
        p.name = pu_str("索引点（改）%02d", i); // the name index moves
        update_point(ch, &p, "name");
        p.grid_id = i % 2 ? g1[(i + 1) % 3] : g2[i % 2]; // within the area, or to the other
        update_point(ch, &p, "grid_id");
        loc.lat = 33.6;
        loc.lng = 119.1;
        p.location = &loc;
        update_point(ch, &p, "location");
        r.role = CIVIC__POINTS__V1__RESPONSIBLE_ROLE__RESPONSIBLE_ROLE_CLEANER;
        r.name = "新人";
        r.phone = "13700000000";
        p.responsible = &rr;
        p.n_responsible = 1;
        update_point(ch, &p, "responsible");
    }
    for (int i = 10; i < 16; i++) {
        Civic__Points__V1__ArchivePointRequest ap = CIVIC__POINTS__V1__ARCHIVE_POINT_REQUEST__INIT;
        ap.id = pts[i];
        pu_call(ch, "ArchivePoint", &ap);
    }
    // Archived points changed: renamed and moved.
    for (int i = 10; i < 13; i++) {
        civic__points__v1__point__init(&p);
        p.id = pts[i];
        p.name = pu_str("归档后改名 %d", i);
        update_point(ch, &p, "name");
        p.grid_id = g2[0];
        update_point(ch, &p, "grid_id");
    }
    // More check-ins after the moves.
    for (int i = 0; i < 10; i++)
        pu_patrol_new(ch, pts[i], 0, NULL, NULL);
    // Refused writes leave nothing behind.
    civic__points__v1__point__init(&p);
    p.id = pts[0];
    p.grid_id = 99999;
    Civic__Points__V1__UpdatePointRequest up = CIVIC__POINTS__V1__UPDATE_POINT_REQUEST__INIT;
    char *gp = "grid_id";
    m.paths = &gp;
    m.n_paths = 1;
    up.point = &p;
    up.update_mask = &m;
    pu_call_want(ch, "UpdatePoint", &up, CIVIC_NOT_FOUND, NULL);
    rp.point_id = pts[12];
    pu_call_want(ch, "RecordPatrol", &rp, CIVIC_FAILED_PRECONDITION, NULL);

    // Concurrent writers: their writes share commits.
    pthread_t th[N_THREADS];
    writer w[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (writer){srv.url, i % 2 ? g1[0] : g2[1], i, 0};
        pthread_create(&th[i], NULL, write_many, &w[i]);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failed, 0);
    }
}

// Ways to corrupt a store, each of which the audit must catch.
static int
del_first(MDB_txn *txn, MDB_dbi db)
{
    MDB_cursor *c;
    MDB_val k, v;
    if (mdb_cursor_open(txn, db, &c) != 0)
        return -1;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    if (rc == 0)
        rc = mdb_cursor_del(c, 0);
    mdb_cursor_close(c);
    return rc;
}

static int
corrupt_name_index(MDB_txn *txn, const points_svc *s, void *arg)
{
    return del_first(txn, s->pts_by_name);
}

static int
corrupt_cov_area(MDB_txn *txn, const points_svc *s, void *arg)
{
    return del_first(txn, s->cov_area);
}

static int
corrupt_count(MDB_txn *txn, const points_svc *s, void *arg)
{
    return del_first(txn, s->counts);
}

static int
corrupt_stray_entry(MDB_txn *txn, const points_svc *s, void *arg)
{
    // A grid entry naming a point that does not exist.
    unsigned char key[16] = {0};
    key[7] = 3;
    key[14] = 0x7f;
    MDB_val k = {sizeof key, key}, v = {0, (void *) (uintptr_t) ""};
    return mdb_put(txn, s->pts_by_grid, &k, &v, 0);
}

static int
corrupt_patrol_day(MDB_txn *txn, const points_svc *s, void *arg)
{
    return del_first(txn, s->patrols_by_day);
}

static void
test_indexes_after_every_write(void **state)
{
    civic_channel *ch = th_channel(&srv);
    every_kind_of_write(ch);
    size_t events = pu_event_count(ch);
    assert_true(events > 300);
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&srv), 0);

    char dir[400], err[512];
    snprintf(dir, sizeof dir, "%s/data", srv.dir);
    int rc = pu_audit(dir, NULL, NULL, err, sizeof err);
    if (rc != 0)
        fail_msg("the indexes disagree with the records: %s", err);

    // The audit catches each kind of damage (and names it).
    struct {
        int (*fn)(MDB_txn *, const points_svc *, void *);
        const char *names;
    } damage[] = {
        {corrupt_name_index, "pts_by_name"},
        {corrupt_cov_area, "cov_area"},
        {corrupt_count, "counts"},
        {corrupt_stray_entry, "pts_by_grid"},
        {corrupt_patrol_day, "patrols_by_day"},
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        rc = pu_audit(dir, damage[i].fn, NULL, err, sizeof err);
        if (rc != -1 || strstr(err, damage[i].names) == NULL)
            fail_msg("damage %zu: audit returned %d (%s), want -1 naming %s", i, rc, err,
                     damage[i].names);
    }
    // Nothing was kept: the store still audits clean, and serves.
    assert_int_equal(pu_audit(dir, NULL, NULL, err, sizeof err), 0);
    th_server_restart(&srv);
    ch = th_channel(&srv);
    assert_int_equal(pu_event_count(ch), events);
    civic_channel_close(ch);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_indexes_after_every_write, after_each),
    };
    return cmocka_run_group_tests_name("civic.points.indexes", tests, setup, teardown);
}
