// civic.runtime.store: the store in-process — the sticky-error transaction,
// sequences and counters, the writer (batches, a failing write among good
// ones, deadlines), the event log, idempotency records, migrations, a full
// map and backups. Each test has its own temporary directory.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "harness.h"
#include "rt_key.h"
#include "rt_store.h"

static const char *const dbs[] = {"things", NULL};

typedef struct fixture {
    char dir[256];
    rt_store *st;
} fixture;

static rt_store *
open_store(const char *dir, unsigned version, rt_migrate_fn migrate, size_t map, int batch_max)
{
    rt_store_opts o = {.dbs = dbs, .schema_version = version, .migrate = migrate,
                       .map_size = map, .batch_max = batch_max, .unsafe_no_sync = 1};
    rt_store *st = NULL;
    char err[256];
    int rc = rt_store_open(&st, dir, &o, err, sizeof err);
    if (rc != 0)
        print_message("open: %s\n", err);
    return rc == 0 ? st : NULL;
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    th_tmpdir(f->dir, sizeof f->dir);
    f->st = open_store(f->dir, 1, NULL, 64u << 20, 0);
    assert_non_null(f->st);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    rt_store_close(f->st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

// --- a small synchronous write helper over the real writer ---

typedef struct job {
    rt_write w;
    rt_arena arena;
    int (*fn)(rt_txn *t, void *arg);
    void *arg;
    int rc, done;
    int code;          // the handler's status
    char message[256]; // and its message
    pthread_mutex_t mu;
    pthread_cond_t cv;
} job;

static int
job_run(rt_txn *t, rt_write *w)
{
    job *j = (job *) (void *) w;
    j->fn(t, j->arg);
    j->code = t->code;
    snprintf(j->message, sizeof j->message, "%s", t->message);
    return t->code == 0;
}

static void
job_done(rt_write *w, int rc, const char *why)
{
    job *j = (job *) (void *) w;
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->done = 1;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void
job_init(job *j, int (*fn)(rt_txn *, void *), void *arg, int64_t deadline)
{
    memset(j, 0, sizeof *j);
    rt_arena_init(&j->arena, 1 << 20);
    j->fn = fn;
    j->arg = arg;
    j->w.run = job_run;
    j->w.done = job_done;
    j->w.arena = &j->arena;
    j->w.principal = "tester";
    j->w.now_ms = 1;
    j->w.deadline_ms = deadline ? deadline : civic_now_ms() + 10000;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
}

static void
job_wait(job *j)
{
    pthread_mutex_lock(&j->mu);
    while (!j->done)
        pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
    rt_arena_fini(&j->arena);
}

static int
write_sync(rt_store *st, int (*fn)(rt_txn *, void *), void *arg, int *code)
{
    job j;
    job_init(&j, fn, arg, 0);
    assert_int_equal(rt_store_submit(st, &j.w), 0);
    job_wait(&j);
    if (code)
        *code = j.code;
    return j.rc;
}

static int
put_thing(rt_txn *t, void *arg)
{
    uint64_t id = rt_seq_next(t, "thing");
    unsigned char k[8];
    rt_be64_put(k, id);
    rt_put(t, rt_store_db(t->store, "things"), k, 8, arg, strlen(arg));
    rt_event(t, "thing.created", id, NULL);
    return t->code;
}

static int
fail_after_put(rt_txn *t, void *arg)
{
    put_thing(t, arg);
    return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION, "refused");
}

static size_t
count_things(rt_store *st)
{
    MDB_txn *cache = NULL;
    rt_arena a;
    rt_arena_init(&a, 1 << 20);
    rt_txn t;
    assert_int_equal(rt_read_begin(st, &t, &a, &cache), 0);
    MDB_stat s;
    mdb_stat(t.txn, rt_store_db(st, "things"), &s);
    rt_read_end(&t, &cache);
    rt_read_release(&cache);
    rt_arena_fini(&a);
    return s.ms_entries;
}

static void
test_sticky_errors(void **state)
{
    fixture *f = *state;
    rt_arena a;
    rt_arena_init(&a, 1 << 20);
    rt_txn t = {.store = f->st, .arena = &a};
    assert_int_equal(mdb_txn_begin(rt_store_env(f->st), NULL, 0, &t.txn), 0);
    MDB_dbi db = rt_store_db(f->st, "things");
    rt_put(&t, db, "a", 1, "1", 1);
    assert_int_equal(rt_txn_fail(&t, CIVIC_NOT_FOUND, "first"), CIVIC_NOT_FOUND);
    assert_int_equal(rt_txn_fail(&t, CIVIC_INTERNAL, "second"), CIVIC_NOT_FOUND);
    rt_put(&t, db, "b", 1, "2", 1); // does nothing
    MDB_val v;
    assert_int_equal(rt_get(&t, db, "a", 1, &v), -1);
    assert_string_equal(t.message, "first");
    assert_int_equal(rt_txn_status(&t), CIVIC_NOT_FOUND);
    // Violations accumulate; the message names the first.
    rt_txn u = {.store = f->st, .arena = &a, .txn = t.txn};
    rt_txn_violation(&u, "a.b", "bad");
    rt_txn_violation(&u, "c", "worse");
    assert_int_equal(u.code, CIVIC_INVALID_ARGUMENT);
    assert_int_equal(u.n_violations, 2);
    assert_non_null(strstr(u.message, "a.b"));
    mdb_txn_abort(t.txn);
    rt_arena_fini(&a);
}

static void
test_seq_and_counters(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(write_sync(f->st, put_thing, "x", NULL), 0);
    assert_int_equal(count_things(f->st), 3);
    // Sequences survive a reopen.
    rt_store_close(f->st);
    f->st = open_store(f->dir, 1, NULL, 64u << 20, 0);
    assert_int_equal(write_sync(f->st, put_thing, "y", NULL), 0);
    rt_arena a;
    rt_arena_init(&a, 1 << 20);
    rt_txn t = {.store = f->st, .arena = &a};
    assert_int_equal(mdb_txn_begin(rt_store_env(f->st), NULL, 0, &t.txn), 0);
    unsigned char k[8];
    rt_be64_put(k, 4);
    MDB_val v;
    assert_int_equal(rt_get(&t, rt_store_db(f->st, "things"), k, 8, &v), 0);
    assert_int_equal(rt_seq_next(&t, "thing"), 5);
    MDB_dbi db = rt_store_db(f->st, "things");
    assert_int_equal(rt_counter_add(&t, db, "c", 1, 5), 5);
    assert_int_equal(rt_counter_add(&t, db, "c", 1, -2), 3);
    assert_int_equal(rt_counter_add(&t, db, "c", 1, -3), 0);
    assert_int_equal(rt_get(&t, db, "c", 1, &v), MDB_NOTFOUND); // zero is no record
    mdb_txn_abort(t.txn);
    rt_arena_fini(&a);
}

// A gate holds the writer inside a write until it is opened, so that the
// writes queued meanwhile are surely one batch.
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, open;
} gate;

static int
wait_at_gate(rt_txn *t, void *arg)
{
    gate *g = arg;
    pthread_mutex_lock(&g->mu);
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return put_thing(t, "gate");
}

static void
test_batch_with_a_failing_write(void **state)
{
    fixture *f = *state;
    // Hold the writer in a first write, queue 20 writes behind it, then let
    // it go: the 20 are one batch, and every third one fails.
    gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    job first;
    job_init(&first, wait_at_gate, &g, 0);
    assert_int_equal(rt_store_submit(f->st, &first.w), 0);
    pthread_mutex_lock(&g.mu);
    while (!g.entered)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    job jobs[20];
    for (int i = 0; i < 20; i++) {
        job_init(&jobs[i], i % 3 == 1 ? fail_after_put : put_thing, "v", 0);
        assert_int_equal(rt_store_submit(f->st, &jobs[i].w), 0);
    }
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    job_wait(&first);
    int failed = 0;
    for (int i = 0; i < 20; i++) {
        job_wait(&jobs[i]);
        assert_int_equal(jobs[i].rc, 0); // the batch committed
        failed += jobs[i].code != 0;
    }
    assert_int_equal(failed, 7);
    assert_int_equal(count_things(f->st), 14); // the gate's write and 13
    rt_store_stats s;
    rt_store_stats_get(f->st, &s);
    assert_int_equal(s.writes, 21);
    assert_int_equal(s.batches, 2); // the gate alone, then the 20 together
}

static void
test_deadline_skips_write(void **state)
{
    fixture *f = *state;
    job j;
    job_init(&j, put_thing, "late", civic_now_ms() - 1);
    assert_int_equal(rt_store_submit(f->st, &j.w), 0);
    job_wait(&j);
    assert_int_equal(j.rc, CIVIC_DEADLINE_EXCEEDED);
    assert_int_equal(count_things(f->st), 0);
}

static void
test_events_in_commit_order(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 5; i++)
        write_sync(f->st, i == 2 ? fail_after_put : put_thing, "e", NULL);
    MDB_txn *cache = NULL;
    rt_arena a;
    rt_arena_init(&a, 1 << 20);
    rt_txn t;
    assert_int_equal(rt_read_begin(f->st, &t, &a, &cache), 0);
    Civic__Rpc__V1__EventList out = CIVIC__RPC__V1__EVENT_LIST__INIT;
    rt_events_list(&t, 0, 10, &out);
    // The failed write left no event: four events, dense, in order.
    assert_int_equal(out.n_events, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(out.events[i]->seq, i + 1);
        assert_string_equal(out.events[i]->type, "thing.created");
        assert_string_equal(out.events[i]->principal, "tester");
    }
    assert_int_equal(out.last_seq, 4);
    Civic__Rpc__V1__EventList rest = CIVIC__RPC__V1__EVENT_LIST__INIT;
    rt_events_list(&t, 2, 10, &rest);
    assert_int_equal(rest.n_events, 2);
    assert_int_equal(rest.events[0]->seq, 3);
    rt_read_end(&t, &cache);
    rt_read_release(&cache);
    rt_arena_fini(&a);
}

static void
test_idempotency_records(void **state)
{
    fixture *f = *state;
    rt_arena a;
    rt_arena_init(&a, 1 << 20);
    rt_txn t = {.store = f->st, .arena = &a};
    assert_int_equal(mdb_txn_begin(rt_store_env(f->st), NULL, 0, &t.txn), 0);
    unsigned char h1[32] = {1}, h2[32] = {2};
    void *body;
    size_t len;
    assert_int_equal(rt_idem_find(&t, "p", "/m", "k", h1, &body, &len), MDB_NOTFOUND);
    rt_idem_put(&t, "p", "/m", "k", h1, "reply", 5);
    assert_int_equal(rt_idem_find(&t, "p", "/m", "k", h1, &body, &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(body, "reply", 5);
    // The same key from another principal or for another method is another record.
    assert_int_equal(rt_idem_find(&t, "q", "/m", "k", h1, &body, &len), MDB_NOTFOUND);
    assert_int_equal(rt_idem_find(&t, "p", "/n", "k", h1, &body, &len), MDB_NOTFOUND);
    // The same key with a different request is refused, naming the key.
    assert_int_equal(rt_idem_find(&t, "p", "/m", "k", h2, &body, &len), CIVIC_INVALID_ARGUMENT);
    assert_string_equal(t.violations[0].field, "metadata.idempotency-key");
    mdb_txn_abort(t.txn);
    rt_arena_fini(&a);
}

// put_record stores an idempotency record for key arg ("p", "/m").
static int
put_record(rt_txn *t, void *arg)
{
    unsigned char h[32] = {7};
    rt_idem_put(t, "p", "/m", arg, h, "reply", 5);
    return t->code;
}

// record_count counts the idempotency records stored, expired or not.
static size_t
record_count(rt_store *st)
{
    MDB_txn *txn;
    MDB_dbi db;
    MDB_stat s;
    assert_int_equal(mdb_txn_begin(rt_store_env(st), NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "idem", 0, &db), 0);
    assert_int_equal(mdb_stat(txn, db, &s), 0);
    mdb_txn_abort(txn);
    return s.ms_entries;
}

static void
test_idempotency_expiry(void **state)
{
    fixture *f = *state;
    // Records that live 2 s: "old" expires unused; "again" expires and is
    // used once more (after a restart with a 60 s life), which makes a new
    // record that outlives the old one's entry in the expiry index. The
    // purge, 1 s after the store opens, must delete "old" and keep "again".
    rt_store_close(f->st);
    rt_store_opts o = {.dbs = dbs, .schema_version = 1, .map_size = 64u << 20,
                       .unsafe_no_sync = 1, .idempotency_ttl_s = 2};
    char err[256];
    assert_int_equal(rt_store_open(&f->st, f->dir, &o, err, sizeof err), 0);
    assert_int_equal(write_sync(f->st, put_record, "old", NULL), 0);
    assert_int_equal(write_sync(f->st, put_record, "again", NULL), 0);
    assert_int_equal(record_count(f->st), 2);
    struct timespec d = {2, 200 * 1000000L}; // past both expiries
    nanosleep(&d, NULL);

    rt_arena a;
    rt_arena_init(&a, 1 << 20);
    rt_txn t = {.store = f->st, .arena = &a};
    unsigned char h[32] = {7};
    void *body;
    size_t len;
    assert_int_equal(mdb_txn_begin(rt_store_env(f->st), NULL, MDB_RDONLY, &t.txn), 0);
    assert_int_equal(rt_idem_find(&t, "p", "/m", "again", h, &body, &len), MDB_NOTFOUND);
    mdb_txn_abort(t.txn);
    rt_store_close(f->st);
    o.idempotency_ttl_s = 60;
    assert_int_equal(rt_store_open(&f->st, f->dir, &o, err, sizeof err), 0);
    assert_int_equal(write_sync(f->st, put_record, "again", NULL), 0);
    for (int i = 0; i < 200 && record_count(f->st) > 1; i++) {
        struct timespec p = {0, 50 * 1000000L};
        nanosleep(&p, NULL);
    }
    assert_int_equal(record_count(f->st), 1);
    t.store = f->st;
    assert_int_equal(mdb_txn_begin(rt_store_env(f->st), NULL, MDB_RDONLY, &t.txn), 0);
    assert_int_equal(rt_idem_find(&t, "p", "/m", "again", h, &body, &len), 0);
    assert_memory_equal(body, "reply", 5);
    mdb_txn_abort(t.txn);
    rt_arena_fini(&a);
}

static unsigned migrated[8];
static int n_migrated;

static int
migrate(rt_txn *t, unsigned from)
{
    migrated[n_migrated++] = from;
    rt_put(t, rt_store_db(t->store, "things"), "m", 1, "v", 1);
    return 0;
}

static void
test_migrations(void **state)
{
    fixture *f = *state;
    rt_store_close(f->st);
    n_migrated = 0;
    f->st = open_store(f->dir, 3, migrate, 64u << 20, 0);
    assert_non_null(f->st);
    assert_int_equal(n_migrated, 2);
    assert_int_equal(migrated[0], 1);
    assert_int_equal(migrated[1], 2);
    assert_int_equal(count_things(f->st), 1);
    rt_store_close(f->st);
    // Opening again at the same version migrates nothing.
    f->st = open_store(f->dir, 3, migrate, 64u << 20, 0);
    assert_int_equal(n_migrated, 2);
    rt_store_close(f->st);
    // An older build refuses data a newer one wrote.
    assert_null(open_store(f->dir, 2, migrate, 64u << 20, 0));
    f->st = open_store(f->dir, 3, migrate, 64u << 20, 0);
}

static int
put_big(rt_txn *t, void *arg)
{
    static char blob[60000];
    uint64_t id = rt_seq_next(t, "big");
    unsigned char k[8];
    rt_be64_put(k, id);
    rt_put(t, rt_store_db(t->store, "things"), k, 8, blob, sizeof blob);
    return t->code;
}

static void
test_map_full(void **state)
{
    fixture *f = *state;
    rt_store_close(f->st);
    f->st = open_store(f->dir, 1, NULL, 1u << 20, 0);
    int code = 0, n = 0;
    while (n < 100) {
        assert_int_equal(write_sync(f->st, put_big, NULL, &code), 0);
        if (code != 0)
            break;
        n++;
    }
    assert_int_equal(code, CIVIC_RESOURCE_EXHAUSTED);
    assert_true(n > 0);
    job j; // the answer tells the operator what to do
    job_init(&j, put_big, NULL, 0);
    assert_int_equal(rt_store_submit(f->st, &j.w), 0);
    job_wait(&j);
    assert_non_null(strstr(j.message, "--map-size"));
    // Reads go on.
    assert_int_equal(count_things(f->st), (size_t) n);
    // A restart with a larger map accepts writes again, with nothing lost.
    rt_store_close(f->st);
    f->st = open_store(f->dir, 1, NULL, 16u << 20, 0);
    assert_int_equal(write_sync(f->st, put_big, NULL, &code), 0);
    assert_int_equal(code, 0);
    assert_int_equal(count_things(f->st), (size_t) n + 1);
}

static void
test_backup(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 10; i++)
        write_sync(f->st, put_thing, "b", NULL);
    char path[512];
    assert_int_equal(rt_store_backup(f->st, path, sizeof path), 0);
    assert_non_null(strstr(path, "/backups/"));
    rt_store *copy = open_store(path, 1, NULL, 64u << 20, 0);
    assert_non_null(copy);
    assert_int_equal(count_things(copy), 10);
    rt_store_close(copy);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sticky_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seq_and_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_with_a_failing_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_skips_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_in_commit_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
    };
    return cmocka_run_group_tests_name("civic.runtime.store", tests, NULL, NULL);
}
