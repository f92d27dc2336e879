// Helpers for the civic-points tests (see putil.h).
#include "putil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "points.h"
#include "rt_check.h"

// --- kept allocations ---

typedef enum { K_MSG, K_JSON, K_MEM } kept_kind;

static struct kept {
    kept_kind k;
    void *p;
} *kept;
static size_t n_kept, cap_kept;

static void *
keep(kept_kind k, void *p)
{
    if (p == NULL)
        return NULL;
    if (n_kept == cap_kept) {
        cap_kept = cap_kept ? 2 * cap_kept : 256;
        kept = realloc(kept, cap_kept * sizeof *kept);
        assert_non_null(kept);
    }
    kept[n_kept].k = k;
    kept[n_kept].p = p;
    n_kept++;
    return p;
}

void
pu_free_all(void)
{
    for (size_t i = 0; i < n_kept; i++) {
        if (kept[i].k == K_MSG)
            protobuf_c_message_free_unpacked(kept[i].p, NULL);
        else if (kept[i].k == K_JSON)
            json_decref(kept[i].p);
        else
            free(kept[i].p);
    }
    free(kept);
    kept = NULL;
    n_kept = cap_kept = 0;
}

char *
pu_str(const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *s = malloc((size_t) n + 1);
    assert_non_null(s);
    vsnprintf(s, (size_t) n + 1, fmt, aq);
    va_end(aq);
    return keep(K_MEM, s);
}

// --- calls ---

ProtobufCMessage *
pu_call_full(civic_channel *ch, const char *method, const ProtobufCMessage *req,
             const char *principal, const char *role, const char *idem, int want,
             civic_status *st_out)
{
    const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(
        &civic__points__v1__points_service__descriptor, method);
    if (md == NULL)
        fail_msg("no method %s", method);
    int read = strncmp(method, "Get", 3) == 0 || strncmp(method, "List", 4) == 0;
    static unsigned long seq;
    char key[64];
    if (idem == NULL) {
        snprintf(key, sizeof key, "pu-%ld-%lld-%lu", (long) getpid(), (long long) pu_now_ms(), ++seq);
        idem = key;
    }
    const char *md_kv[4] = {"x-civic-principal", principal ? principal : "", "x-civic-role",
                            role ? role : ""};
    civic_call_opts o = {
        .timeout_ms = 10000,
        .read = read,
        .idempotency_key = read ? NULL : idem,
        .metadata = md_kv,
        .n_metadata = role ? 2 : 0,
    };
    char full[160];
    snprintf(full, sizeof full, "/civic.points.v1.PointsService/%s", method);
    ProtobufCMessage *resp = NULL;
    civic_status st;
    int rc = civic_call(ch, full, req, md->output, &resp, &o, &st);
    if (st_out != NULL)
        *st_out = st;
    if (rc != want) {
        char v[1024] = "";
        for (size_t i = 0; i < st.n_violations; i++) {
            size_t l = strlen(v);
            snprintf(v + l, sizeof v - l, " [%s: %s]", st.violations[i].field,
                     st.violations[i].description);
        }
        if (rc == CIVIC_OK)
            protobuf_c_message_free_unpacked(resp, NULL);
        fail_msg("%s: got %s (%s%s), want %s", method, civic_code_name(rc), st.message, v,
                 civic_code_name(want));
    }
    return rc == CIVIC_OK ? keep(K_MSG, resp) : NULL;
}

int
pu_has_violation(const civic_status *st, const char *field)
{
    for (size_t i = 0; i < st->n_violations; i++)
        if (strcmp(st->violations[i].field, field) == 0)
            return 1;
    return 0;
}

// --- builders ---

uint64_t
pu_area_new(civic_channel *ch, Civic__Points__V1__AreaLevel level, uint64_t parent, const char *name)
{
    Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    a.level = level;
    a.parent_id = parent;
    a.name = (char *) (uintptr_t) name;
    if (level == CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA)
        a.kind = CIVIC__POINTS__V1__AREA_KIND__AREA_KIND_DISTRICT;
    req.area = &a;
    Civic__Points__V1__CreateAreaResponse *r = (void *) pu_call(ch, "CreateArea", &req);
    assert_non_null(r->area);
    assert_true(r->area->id > 0);
    return r->area->id;
}

void
pu_hier(civic_channel *ch, const char *name, uint64_t *area, uint64_t *grids, int n_grids)
{
    *area = pu_area_new(ch, CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA, 0, name);
    uint64_t town = pu_area_new(ch, CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_TOWN, *area,
                                pu_str("%s街道", name));
    uint64_t comm = pu_area_new(ch, CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_COMMUNITY, town,
                                pu_str("%s社区", name));
    for (int i = 0; i < n_grids; i++)
        grids[i] = pu_area_new(ch, CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_GRID, comm,
                               pu_str("%s第%d网格", name, i + 1));
}

uint64_t
pu_point_new(civic_channel *ch, uint64_t grid, const char *name, Civic__Points__V1__PointKind kind,
             double lat, double lng, const char *phone)
{
    Civic__Points__V1__CreatePointRequest req = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
    Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
    Civic__Points__V1__LatLng loc = CIVIC__POINTS__V1__LAT_LNG__INIT;
    Civic__Points__V1__ResponsiblePerson r = CIVIC__POINTS__V1__RESPONSIBLE_PERSON__INIT, *rp = &r;
    loc.lat = lat;
    loc.lng = lng;
    p.name = (char *) (uintptr_t) name;
    p.kind = kind;
    p.address = "江苏省淮安市（测试）";
    p.location = &loc;
    p.grid_id = grid;
    if (phone != NULL) {
        r.role = CIVIC__POINTS__V1__RESPONSIBLE_ROLE__RESPONSIBLE_ROLE_MANAGER;
        r.name = "张三";
        r.phone = (char *) (uintptr_t) phone;
        p.responsible = &rp;
        p.n_responsible = 1;
    }
    req.point = &p;
    Civic__Points__V1__CreatePointResponse *resp = (void *) pu_call(ch, "CreatePoint", &req);
    assert_non_null(resp->point);
    assert_int_equal(resp->point->grid_id, grid);
    return resp->point->id;
}

pu_patrol *
pu_patrol_new(civic_channel *ch, uint64_t point, int64_t when_ms, const char *principal,
              const char *role)
{
    Civic__Points__V1__RecordPatrolRequest req = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    req.point_id = point;
    req.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
    if (when_ms != 0) {
        ts.seconds = when_ms / 1000;
        ts.nanos = (int32_t) (when_ms % 1000) * 1000000;
        req.patrol_time = &ts;
    }
    Civic__Points__V1__RecordPatrolResponse *r = (void *) pu_call_full(
        ch, "RecordPatrol", &req.base, principal, role, NULL, CIVIC_OK, NULL);
    assert_non_null(r->patrol);
    assert_int_equal(r->patrol->point_id, point);
    return r->patrol;
}

// --- lists ---

size_t
pu_list_points(civic_channel *ch, const Civic__Points__V1__ListPointsRequest *f, int32_t page_size,
               pu_point ***out)
{
    Civic__Points__V1__ListPointsRequest req = *f;
    size_t n = 0, cap = 0;
    pu_point **all = NULL;
    char *token = "";
    for (int pages = 0;; pages++) {
        assert_true(pages < 10000);
        req.page_size = page_size;
        req.page_token = token;
        Civic__Points__V1__ListPointsResponse *r = (void *) pu_call(ch, "ListPoints", &req);
        assert_true(r->n_points <= (size_t) (page_size ? page_size : 50));
        for (size_t i = 0; i < r->n_points; i++) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                all = realloc(all, cap * sizeof *all);
            }
            all[n++] = r->points[i];
        }
        if (r->next_page_token[0] == '\0')
            break;
        token = r->next_page_token;
    }
    *out = keep(K_MEM, all);
    return n;
}

size_t
pu_list_patrols(civic_channel *ch, uint64_t point, int32_t day, pu_patrol ***out)
{
    Civic__Points__V1__ListPatrolsRequest req = CIVIC__POINTS__V1__LIST_PATROLS_REQUEST__INIT;
    req.point_id = point;
    req.local_day = day;
    req.page_size = 1000;
    size_t n = 0, cap = 0;
    pu_patrol **all = NULL;
    for (;;) {
        Civic__Points__V1__ListPatrolsResponse *r = (void *) pu_call(ch, "ListPatrols", &req);
        for (size_t i = 0; i < r->n_patrols; i++) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                all = realloc(all, cap * sizeof *all);
            }
            all[n++] = r->patrols[i];
        }
        if (r->next_page_token[0] == '\0')
            break;
        req.page_token = r->next_page_token;
    }
    *out = keep(K_MEM, all);
    return n;
}

size_t
pu_event_count(civic_channel *ch)
{
    Civic__Points__V1__ListEventsRequest req = CIVIC__POINTS__V1__LIST_EVENTS_REQUEST__INIT;
    req.page_size = 1000;
    size_t n = 0;
    for (;;) {
        Civic__Points__V1__ListEventsResponse *r = (void *) pu_call(ch, "ListEvents", &req);
        n += r->n_events;
        if (r->n_events == 0)
            break;
        req.after_seq = r->last_seq;
    }
    return n;
}

// --- time ---

int64_t
pu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int32_t
pu_day(int64_t ms)
{
    return rt_local_day(ms, PU_TZ);
}

// --- the CLI ---

#define OUT_MAX (8u << 20)

int
pu_cli_v(const th_server *s, char **out, char **err, const char *const *argv)
{
    const char *a[64];
    int n = 0;
    a[n++] = "--addr";
    a[n++] = s->url;
    for (int i = 0; argv[i] != NULL; i++) {
        assert_true(n < 62);
        a[n++] = argv[i];
    }
    a[n] = NULL;
    char *o = keep(K_MEM, malloc(OUT_MAX)), *e = keep(K_MEM, malloc(64 << 10));
    int rc = th_cli(o, OUT_MAX, e, 64 << 10, a);
    if (out != NULL)
        *out = o;
    if (err != NULL)
        *err = e;
    return rc;
}

json_t *
pu_cli_json_v(const th_server *s, const char *const *argv)
{
    const char *a[64];
    int n = 0;
    a[n++] = "-o";
    a[n++] = "json";
    for (int i = 0; argv[i] != NULL; i++) {
        assert_true(n < 60);
        a[n++] = argv[i];
    }
    a[n] = NULL;
    char *out, *err;
    int rc = pu_cli_v(s, &out, &err, a);
    if (rc != 0)
        fail_msg("civic %s %s: exit %d: %s", argv[0], argv[1] ? argv[1] : "", rc, err);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (j == NULL)
        fail_msg("civic %s: output is not JSON (%s): %.300s", argv[0], je.text, out);
    return keep(K_JSON, j);
}

const char *
pu_js(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

long long
pu_ji(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

// --- CSV ---

size_t
pu_csv(const char *text, char ****rows_out, size_t **nf_out)
{
    size_t n_rows = 0, cap_rows = 0;
    char ***rows = NULL;
    size_t *nfs = NULL;
    const char *p = text;
    while (*p != '\0') {
        char **fields = NULL;
        size_t nf = 0;
        for (;;) {
            size_t cap = strlen(p) + 1, len = 0;
            char *f = keep(K_MEM, malloc(cap));
            if (*p == '"') {
                p++;
                for (; *p; p++) {
                    if (*p == '"' && p[1] == '"') {
                        f[len++] = '"';
                        p++;
                    } else if (*p == '"') {
                        p++;
                        break;
                    } else {
                        f[len++] = *p;
                    }
                }
            }
            while (*p && *p != ',' && *p != '\n' && *p != '\r')
                f[len++] = *p++;
            f[len] = '\0';
            fields = realloc(fields, (nf + 1) * sizeof *fields);
            fields[nf++] = f;
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == '\r')
                p++;
            if (*p == '\n')
                p++;
            break;
        }
        keep(K_MEM, fields);
        if (n_rows == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 64;
            rows = realloc(rows, cap_rows * sizeof *rows);
            nfs = realloc(nfs, cap_rows * sizeof *nfs);
        }
        rows[n_rows] = fields;
        nfs[n_rows] = nf;
        n_rows++;
    }
    *rows_out = keep(K_MEM, rows);
    *nf_out = keep(K_MEM, nfs);
    return n_rows;
}

int
pu_csv_col(char **header, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(header[i], name) == 0)
            return (int) i;
    return -1;
}

// --- the index audit ---

int
pu_audit(const char *data_dir, int (*corrupt)(MDB_txn *txn, const points_svc *svc, void *arg),
         void *arg, char *err, size_t n)
{
    rt_store *st = NULL;
    rt_store_opts o = {.dbs = points_dbs, .schema_version = 1, .max_readers = 16};
    char why[512];
    if (rt_store_open(&st, data_dir, &o, why, sizeof why) != 0)
        fail_msg("rt_store_open %s: %s", data_dir, why);
    rt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.tz_offset_min = PU_TZ;
    void *state = NULL;
    assert_int_equal(points_init(&state, st, &cfg), 0);
    const points_svc *svc = state;
    rt_arena arena;
    rt_arena_init(&arena, 256u << 20);
    rt_txn t;
    memset(&t, 0, sizeof t);
    int rc;
    err[0] = '\0';
    if (corrupt == NULL) {
        MDB_txn *cache = NULL;
        assert_int_equal(rt_read_begin(st, &t, &arena, &cache), 0);
        rc = points_check_indexes(&t, svc, err, n);
        rt_read_end(&t, &cache);
        rt_read_release(&cache);
    } else {
        MDB_txn *w;
        assert_int_equal(mdb_txn_begin(rt_store_env(st), NULL, 0, &w), 0);
        if (corrupt(w, svc, arg) != 0)
            fail_msg("corrupt: could not change the store");
        t.txn = w;
        t.store = st;
        t.arena = &arena;
        rc = points_check_indexes(&t, svc, err, n);
        mdb_txn_abort(w);
    }
    if (rc > 0)
        fail_msg("audit: %s: %s", civic_code_name(rc), t.message);
    rt_arena_fini(&arena);
    points_fini(state);
    rt_store_close(st);
    return rc;
}
