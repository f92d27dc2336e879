// civic.runtime.durability: the store through a real service — concurrent
// writers, kill -9 right after acknowledged writes (no write lost, none
// doubled), idempotent retries across a crash, a stop under write load, and
// the event log. Writes are CreateArea calls on civic-points with unique
// names, so the areas list is the ground truth.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "civic/points/v1/points.pb-c.h"
#include "harness.h"

#define CREATE "/civic.points.v1.PointsService/CreateArea"

typedef struct names {
    char **v;
    size_t n;
} names;

static void
list_names(const char *url, names *out)
{
    civic_channel *ch;
    civic_status st;
    assert_ok(civic_channel_open(&ch, url, NULL, &st));
    out->v = NULL;
    out->n = 0;
    char token[256] = "";
    do {
        Civic__Points__V1__ListAreasRequest req = CIVIC__POINTS__V1__LIST_AREAS_REQUEST__INIT;
        req.page_size = 1000;
        req.page_token = token;
        ProtobufCMessage *resp;
        civic_call_opts o = {.read = 1};
        assert_ok(civic_call(ch, "/civic.points.v1.PointsService/ListAreas", &req.base,
                             &civic__points__v1__list_areas_response__descriptor, &resp, &o, &st));
        Civic__Points__V1__ListAreasResponse *r = (Civic__Points__V1__ListAreasResponse *) resp;
        out->v = realloc(out->v, (out->n + r->n_areas + 1) * sizeof *out->v);
        for (size_t i = 0; i < r->n_areas; i++)
            out->v[out->n++] = strdup(r->areas[i]->name);
        snprintf(token, sizeof token, "%s", r->next_page_token);
        protobuf_c_message_free_unpacked(resp, NULL);
    } while (token[0] != '\0');
    civic_channel_close(ch);
}

static size_t
count_name(const names *ns, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < ns->n; i++)
        c += strcmp(ns->v[i], name) == 0;
    return c;
}

static void
names_free(names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

// --- asynchronous writers ---

typedef struct load {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started, finished, acked, failed;
    char (*name)[48];
    int *ack;   // per write: 1 once acknowledged OK
    int *fired;
} load;

typedef struct one {
    load *l;
    int i;
} one;

static void
on_reply(const civic_reply *r, void *arg)
{
    one *o = arg;
    load *l = o->l;
    pthread_mutex_lock(&l->mu);
    if (r->status.code == CIVIC_OK) {
        l->ack[o->i] = 1;
        l->acked++;
    } else {
        l->failed++;
    }
    l->finished++;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    free(o);
}

static int
start_write(civic_channel *ch, load *l, int i, const char *name, const char *idem)
{
    Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    a.name = (char *) (uintptr_t) name;
    a.level = CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA;
    req.area = &a;
    uint8_t buf[128];
    size_t n = civic__points__v1__create_area_request__pack(&req, buf);
    one *o = malloc(sizeof *o);
    o->l = l;
    o->i = i;
    civic_call_opts co = {.timeout_ms = 10000, .idempotency_key = idem};
    civic_status st;
    int rc = civic_call_start(ch, CREATE, buf, n, &co, on_reply, o, &st);
    if (rc != 0) {
        free(o);
        return rc;
    }
    pthread_mutex_lock(&l->mu);
    l->started++;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

static void
load_init(load *l, int n)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->name = calloc((size_t) n, sizeof *l->name);
    l->ack = calloc((size_t) n, sizeof *l->ack);
}

static void
load_wait(load *l, int count, int ms)
{
    int64_t until = civic_now_ms() + ms;
    pthread_mutex_lock(&l->mu);
    while (l->finished < count && civic_now_ms() < until) {
        pthread_mutex_unlock(&l->mu);
        struct timespec d = {0, 5 * 1000000};
        nanosleep(&d, NULL);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
}

// throttle waits until fewer than max writes are in flight.
static void
throttle(load *l, int max)
{
    pthread_mutex_lock(&l->mu);
    int started = l->started;
    pthread_mutex_unlock(&l->mu);
    load_wait(l, started - max + 1, 20000);
}

static void
load_free(load *l)
{
    free(l->name);
    free(l->ack);
}

static void
test_64_concurrent_writers(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_POINTS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    load l;
    load_init(&l, 640);
    for (int i = 0; i < 640; i++) {
        snprintf(l.name[i], sizeof l.name[i], "concurrent-%d", i);
        throttle(&l, 64);
        assert_ok(start_write(ch, &l, i, l.name[i], NULL));
    }
    load_wait(&l, 640, 30000);
    assert_int_equal(l.acked, 640);
    civic_channel_close(ch);
    names ns;
    list_names(s.url, &ns);
    assert_int_equal(ns.n, 640);
    for (int i = 0; i < 640; i++)
        assert_int_equal(count_name(&ns, l.name[i]), 1);
    names_free(&ns);
    load_free(&l);
    assert_int_equal(th_server_term(&s), 0);
    th_server_cleanup(&s);
}

static void
test_kill9_loses_nothing_acknowledged(void **state)
{
    const int cycles = getenv("CIVIC_CRASH_CYCLES") ? atoi(getenv("CIVIC_CRASH_CYCLES")) : 20;
    const int per = 200;
    th_server s;
    th_server_start(&s, CIVIC_POINTS_BIN, NULL);
    int total = cycles * per;
    load l;
    load_init(&l, total);
    for (int c = 0; c < cycles; c++) {
        civic_channel_opts co = {.max_attempts = 1};
        civic_channel *ch;
        civic_status st;
        assert_ok(civic_channel_open(&ch, s.url, &co, &st));
        int base = c * per, target_acks = 5 + (int) (random() % 40);
        pthread_mutex_lock(&l.mu);
        int acked_before = l.acked;
        pthread_mutex_unlock(&l.mu);
        for (int i = base; i < base + per; i++) {
            snprintf(l.name[i], sizeof l.name[i], "crash-%d-%d", c, i);
            throttle(&l, 32);
            if (start_write(ch, &l, i, l.name[i], NULL) != 0)
                break;
            pthread_mutex_lock(&l.mu);
            int acked = l.acked;
            pthread_mutex_unlock(&l.mu);
            if (acked - acked_before >= target_acks)
                break; // crash with writes still in flight
        }
        th_server_kill(&s);
        civic_channel_close(ch); // ends what was in flight (not acknowledged)
        th_server_restart(&s);
    }
    names ns;
    list_names(s.url, &ns);
    int lost = 0, doubled = 0, acked = 0;
    for (int i = 0; i < total; i++) {
        if (l.name[i][0] == '\0')
            continue;
        size_t c = count_name(&ns, l.name[i]);
        doubled += c > 1;
        if (l.ack[i]) {
            acked++;
            lost += c == 0;
        }
    }
    print_message("crash loop: %d cycles, %d writes acknowledged, %d lost, %d doubled\n", cycles,
                  acked, lost, doubled);
    assert_int_equal(lost, 0);
    assert_int_equal(doubled, 0);
    assert_true(acked >= cycles * 5);
    names_free(&ns);
    load_free(&l);
    assert_int_equal(th_server_term(&s), 0);
    th_server_cleanup(&s);
}

// create_node creates an area node (a town when parent is not 0) under
// an idempotency key (NULL for none); returns its id, or 0 with *code set.
static uint64_t
create_node(civic_channel *ch, const char *name, uint64_t parent, const char *key, int *code)
{
    Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    a.name = (char *) (uintptr_t) name;
    a.level = parent ? CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_TOWN
                     : CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA;
    a.parent_id = parent;
    req.area = &a;
    ProtobufCMessage *resp = NULL;
    civic_status st;
    civic_call_opts o = {.idempotency_key = key};
    *code = civic_call(ch, CREATE, &req.base, &civic__points__v1__create_area_response__descriptor,
                       &resp, &o, &st);
    uint64_t id = 0;
    if (*code == 0) {
        id = ((Civic__Points__V1__CreateAreaResponse *) resp)->area->id;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return id;
}

static uint64_t
create_with_key(civic_channel *ch, const char *name, const char *key, int *code)
{
    return create_node(ch, name, 0, key, code);
}

static void
test_idempotent_retries_across_a_crash(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_POINTS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    int code;
    uint64_t id = create_with_key(ch, "淮阴区", "key-1", &code);
    assert_int_equal(code, 0);
    assert_int_equal(create_with_key(ch, "淮阴区", "key-1", &code), id);
    assert_int_equal(code, 0);
    // The same key with a different request is refused.
    create_with_key(ch, "洪泽区", "key-1", &code);
    assert_int_equal(code, CIVIC_INVALID_ARGUMENT);
    // An error is remembered too: a town under area id+1, which does not
    // exist yet, is NOT_FOUND; once that area exists, a retry under the same
    // key still answers NOT_FOUND (the stored reply), while the same request
    // under a new key succeeds.
    create_node(ch, "王营镇", id + 1, "key-2", &code);
    assert_int_equal(code, CIVIC_NOT_FOUND);
    assert_int_equal(create_with_key(ch, "洪泽区", NULL, &code), id + 1);
    create_node(ch, "王营镇", id + 1, "key-2", &code);
    assert_int_equal(code, CIVIC_NOT_FOUND);
    civic_channel_close(ch);
    th_server_kill(&s);
    th_server_restart(&s);
    ch = th_channel(&s);
    assert_int_equal(create_with_key(ch, "淮阴区", "key-1", &code), id);
    assert_int_equal(code, 0);
    create_node(ch, "王营镇", id + 1, "key-2", &code);
    assert_int_equal(code, CIVIC_NOT_FOUND);
    assert_int_not_equal(create_node(ch, "王营镇", id + 1, "key-3", &code), 0);
    assert_int_equal(code, 0);
    civic_channel_close(ch);
    names ns;
    list_names(s.url, &ns);
    assert_int_equal(ns.n, 3); // 淮阴区, 洪泽区 and the one 王营镇
    names_free(&ns);
    assert_int_equal(th_server_term(&s), 0);
    th_server_cleanup(&s);
}

static void
test_sigterm_under_write_load(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_POINTS_BIN, NULL);
    civic_channel_opts co = {.max_attempts = 1};
    civic_channel *ch;
    civic_status st;
    assert_ok(civic_channel_open(&ch, s.url, &co, &st));
    load l;
    load_init(&l, 2000);
    int sent = 0, rc = -2;
    for (int i = 0; i < 2000; i++) {
        snprintf(l.name[i], sizeof l.name[i], "term-%d", i);
        throttle(&l, 64);
        if (start_write(ch, &l, i, l.name[i], NULL) != 0)
            break;
        sent++;
        if (i == 300)
            kill(s.pid, SIGTERM);
        if (i > 300 && l.failed > 0)
            break;
    }
    load_wait(&l, l.started, 20000);
    rc = th_server_term(&s); // reaps the process the SIGTERM above stopped
    assert_int_equal(rc, 0);
    civic_channel_close(ch);
    th_server_restart(&s);
    names ns;
    list_names(s.url, &ns);
    int lost = 0;
    for (int i = 0; i < sent; i++)
        if (l.ack[i] && count_name(&ns, l.name[i]) != 1)
            lost++;
    assert_int_equal(lost, 0);
    assert_true(l.acked >= 100);
    names_free(&ns);
    load_free(&l);
    assert_int_equal(th_server_term(&s), 0);
    th_server_cleanup(&s);
}

static void
test_events_follow_writes(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_POINTS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    uint64_t ids[30];
    int code;
    for (int i = 0; i < 30; i++) {
        char name[32];
        snprintf(name, sizeof name, "ev-%d", i);
        ids[i] = create_with_key(ch, name, NULL, &code);
        assert_int_equal(code, 0);
        if (i == 10) // a failed write leaves no event
            create_with_key(ch, "", NULL, &code);
    }
    uint64_t after = 0;
    int seen = 0;
    for (;;) {
        Civic__Points__V1__ListEventsRequest req = CIVIC__POINTS__V1__LIST_EVENTS_REQUEST__INIT;
        req.after_seq = after;
        req.page_size = 7;
        ProtobufCMessage *resp;
        civic_status st;
        civic_call_opts o = {.read = 1};
        assert_ok(civic_call(ch, "/civic.points.v1.PointsService/ListEvents", &req.base,
                             &civic__points__v1__list_events_response__descriptor, &resp, &o, &st));
        Civic__Points__V1__ListEventsResponse *r = (Civic__Points__V1__ListEventsResponse *) resp;
        for (size_t i = 0; i < r->n_events; i++) {
            assert_int_equal(r->events[i]->seq, (uint64_t) seen + 1);
            assert_string_equal(r->events[i]->type, "area.created");
            assert_int_equal(r->events[i]->subject_id, ids[seen]);
            assert_non_null(r->events[i]->data);
            seen++;
        }
        int done = r->n_events == 0;
        after = r->last_seq;
        protobuf_c_message_free_unpacked(resp, NULL);
        if (done)
            break;
    }
    assert_int_equal(seen, 30);
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    th_server_cleanup(&s);
}

int
main(void)
{
    srandom((unsigned) time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_64_concurrent_writers),
        cmocka_unit_test(test_kill9_loses_nothing_acknowledged),
        cmocka_unit_test(test_idempotent_retries_across_a_crash),
        cmocka_unit_test(test_sigterm_under_write_load),
        cmocka_unit_test(test_events_follow_writes),
    };
    return cmocka_run_group_tests_name("civic.runtime.durability", tests, NULL, NULL);
}
