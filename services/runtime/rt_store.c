// The LMDB environment, the sticky-error transaction, and the writer.
#include "rt_store.h"

#include <errno.h>
#include <inttypes.h>
#include <mbedtls/sha256.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "civic_util.h"
#include "rt_key.h"
#include "rt_log.h"

#define MAX_DBS 32
#define MAX_PERIODIC 8

typedef struct periodic {
    rt_periodic_fn fn;
    void *arg;
    int interval_ms;
    int64_t next_ms;
} periodic;

struct rt_store {
    MDB_env *env;
    char dir[4096];
    rt_store_opts opts;
    size_t n_dbs;
    const char *db_names[MAX_DBS];
    MDB_dbi dbs[MAX_DBS];
    MDB_dbi meta, events, idem, idem_exp;

    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rt_write *head, *tail;
    int queued;
    int closing;
    periodic jobs[MAX_PERIODIC];
    int n_jobs;
    rt_arena job_arena; // writer thread only

    pthread_mutex_t stats_mu;
    rt_store_stats stats;
};

// --- the sticky-error transaction ---

int
rt_txn_fail(rt_txn *t, int code, const char *fmt, ...)
{
    if (t->code != 0)
        return t->code;
    t->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof t->message, fmt, ap);
    va_end(ap);
    return code;
}

int
rt_txn_violation(rt_txn *t, const char *field, const char *fmt, ...)
{
    if (t->code != 0 && t->code != CIVIC_INVALID_ARGUMENT)
        return t->code;
    char desc[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    if (t->code == 0) {
        t->code = CIVIC_INVALID_ARGUMENT;
        snprintf(t->message, sizeof t->message, "invalid %.100s: %.140s", field, desc);
    }
    if (t->n_violations < RT_TXN_VIOLATIONS) {
        t->violations[t->n_violations].field = rt_arena_strdup(t->arena, field);
        t->violations[t->n_violations].description = rt_arena_strdup(t->arena, desc);
        if (t->violations[t->n_violations].field && t->violations[t->n_violations].description)
            t->n_violations++;
    }
    return t->code;
}

static const char *
map_full_message(void)
{
    return "the database map is full: restart the service with a larger --map-size";
}

int
rt_txn_mdb(rt_txn *t, int rc, const char *what)
{
    if (rc == 0 || rc == MDB_NOTFOUND)
        return 0;
    if (rc == MDB_MAP_FULL)
        return rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "%s", map_full_message());
    if (rc == MDB_BAD_VALSIZE)
        return rt_txn_fail(t, CIVIC_INVALID_ARGUMENT, "%s: key too long", what);
    return rt_txn_fail(t, CIVIC_INTERNAL, "%s: %s", what, mdb_strerror(rc));
}

void *
rt_alloc(rt_txn *t, size_t n)
{
    void *p = rt_arena_alloc(t->arena, n);
    if (p == NULL) {
        rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "call memory budget exhausted");
        return NULL;
    }
    memset(p, 0, n);
    return p;
}

char *
rt_strdup(rt_txn *t, const char *s)
{
    char *p = rt_arena_strdup(t->arena, s ? s : "");
    if (p == NULL)
        rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "call memory budget exhausted");
    return p;
}

int
rt_get(rt_txn *t, MDB_dbi db, const void *key, size_t klen, MDB_val *v)
{
    if (t->code != 0)
        return -1;
    MDB_val k = {klen, (void *) (uintptr_t) key};
    int rc = mdb_get(t->txn, db, &k, v);
    if (rc == 0 || rc == MDB_NOTFOUND)
        return rc;
    rt_txn_mdb(t, rc, "get");
    return -1;
}

void
rt_put(rt_txn *t, MDB_dbi db, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (t->code != 0)
        return;
    MDB_val k = {klen, (void *) (uintptr_t) key}, v = {vlen, (void *) (uintptr_t) val};
    rt_txn_mdb(t, mdb_put(t->txn, db, &k, &v, 0), "put");
}

void
rt_del(rt_txn *t, MDB_dbi db, const void *key, size_t klen)
{
    if (t->code != 0)
        return;
    MDB_val k = {klen, (void *) (uintptr_t) key};
    rt_txn_mdb(t, mdb_del(t->txn, db, &k, NULL), "del");
}

int
rt_get_msg(rt_txn *t, MDB_dbi db, const void *key, size_t klen,
           const ProtobufCMessageDescriptor *desc, void **out)
{
    MDB_val v;
    int rc = rt_get(t, db, key, klen, &v);
    if (rc != 0)
        return rc;
    *out = protobuf_c_message_unpack(desc, &t->arena->pb, v.mv_size, v.mv_data);
    if (*out == NULL) {
        if (t->arena->exhausted)
            rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "call memory budget exhausted");
        else
            rt_txn_fail(t, CIVIC_INTERNAL, "stored %s does not decode", desc->name);
        return -1;
    }
    return 0;
}

void
rt_put_msg(rt_txn *t, MDB_dbi db, const void *key, size_t klen, const ProtobufCMessage *msg)
{
    if (t->code != 0)
        return;
    size_t n = protobuf_c_message_get_packed_size(msg);
    MDB_val k = {klen, (void *) (uintptr_t) key}, v = {n, NULL};
    // Reserve the value in the map and pack straight into it: no copy.
    int rc = mdb_put(t->txn, db, &k, &v, MDB_RESERVE);
    if (rt_txn_mdb(t, rc, "put") == 0)
        protobuf_c_message_pack(msg, v.mv_data);
}

void *
rt_record_get(rt_txn *t, MDB_dbi db, const ProtobufCMessageDescriptor *desc, const char *what,
              uint64_t id, const char *field)
{
    unsigned char k[8];
    void *rec = NULL;
    rt_be64_put(k, id);
    int rc = rt_get_msg(t, db, k, 8, desc, &rec);
    if (rc == MDB_NOTFOUND && field != NULL)
        rt_txn_fail(t, CIVIC_NOT_FOUND, "%s: no %s %llu", field, what, (unsigned long long) id);
    else if (rc == MDB_NOTFOUND)
        rt_txn_fail(t, CIVIC_INTERNAL, "an index names %s %llu, which does not exist", what,
                    (unsigned long long) id);
    return rc == 0 ? rec : NULL;
}

void
rt_record_put(rt_txn *t, MDB_dbi db, uint64_t id, const ProtobufCMessage *rec)
{
    unsigned char k[8];
    rt_be64_put(k, id);
    rt_put_msg(t, db, k, 8, rec);
}

static int
key_eq(const rt_key *a, const rt_key *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

uint64_t
rt_index_first(rt_txn *t, MDB_dbi db, const rt_key *prefix)
{
    MDB_cursor *c;
    if (rt_txn_status(t) || rt_txn_mdb(t, mdb_cursor_open(t->txn, db, &c), "cursor"))
        return 0;
    MDB_val k = {prefix->len, (void *) (uintptr_t) prefix->b}, v;
    uint64_t id = 0;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && k.mv_size == prefix->len + 8 && memcmp(k.mv_data, prefix->b, prefix->len) == 0)
        id = rt_be64_get((const unsigned char *) k.mv_data + prefix->len);
    else if (rc != 0 && rc != MDB_NOTFOUND)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
    return id;
}

void
rt_index_move(rt_txn *t, MDB_dbi db, const rt_key *from, const rt_key *to, const void *val,
              size_t vlen, int same_val)
{
    if ((from && from->overflow) || (to && to->overflow)) {
        rt_txn_fail(t, CIVIC_INTERNAL, "index key over %d bytes", RT_KEY_MAX);
        return;
    }
    if (from != NULL && to != NULL && key_eq(from, to) && same_val)
        return;
    if (from != NULL && !(to != NULL && key_eq(from, to)))
        rt_del(t, db, from->b, from->len);
    if (to != NULL)
        rt_put(t, db, to->b, to->len, val, vlen);
}

uint64_t
rt_seq_next(rt_txn *t, const char *name)
{
    rt_key k;
    rt_key_init(&k);
    rt_key_prefix_str(&k, "seq/");
    rt_key_prefix_str(&k, name);
    MDB_val v;
    uint64_t next = 1;
    if (rt_get(t, t->store->meta, k.b, k.len, &v) == 0 && v.mv_size == 8)
        next = rt_be64_get(v.mv_data) + 1;
    unsigned char b[8];
    rt_be64_put(b, next);
    rt_put(t, t->store->meta, k.b, k.len, b, 8);
    return t->code ? 0 : next;
}

int64_t
rt_counter_get(rt_txn *t, MDB_dbi db, const void *key, size_t klen)
{
    MDB_val v;
    if (rt_get(t, db, key, klen, &v) == 0 && v.mv_size == 8)
        return (int64_t) rt_be64_get(v.mv_data);
    return 0;
}

int64_t
rt_counter_add(rt_txn *t, MDB_dbi db, const void *key, size_t klen, int64_t delta)
{
    int64_t n = rt_counter_get(t, db, key, klen) + delta;
    if (n == 0) {
        rt_del(t, db, key, klen);
    } else {
        unsigned char b[8];
        rt_be64_put(b, (uint64_t) n);
        rt_put(t, db, key, klen, b, 8);
    }
    return n;
}

// --- the event log ---

void
rt_event(rt_txn *t, const char *type, uint64_t subject_id, const ProtobufCMessage *data)
{
    if (t->code != 0)
        return;
    MDB_cursor *c;
    MDB_val k, v;
    uint64_t seq = 1;
    if (rt_txn_mdb(t, mdb_cursor_open(t->txn, t->store->events, &c), "events") != 0)
        return;
    if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
        seq = rt_be64_get(k.mv_data) + 1;
    mdb_cursor_close(c);

    Civic__Rpc__V1__Event ev = CIVIC__RPC__V1__EVENT__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    ev.seq = seq;
    ev.type = civic_unconst(type);
    ev.subject_id = subject_id;
    ts.seconds = t->now_ms / 1000;
    ts.nanos = (int32_t) (t->now_ms % 1000) * 1000000;
    ev.time = &ts;
    ev.principal = civic_unconst(t->principal ? t->principal : "");
    if (data != NULL) {
        size_t n = protobuf_c_message_get_packed_size(data);
        uint8_t *buf = rt_alloc(t, n ? n : 1);
        char *url = rt_arena_printf(t->arena, "type.googleapis.com/%s", data->descriptor->name);
        if (buf == NULL || url == NULL) {
            rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "call memory budget exhausted");
            return;
        }
        protobuf_c_message_pack(data, buf);
        any.type_url = url;
        any.value.data = buf;
        any.value.len = n;
        ev.data = &any;
    }
    unsigned char key[8];
    rt_be64_put(key, seq);
    rt_put_msg(t, t->store->events, key, 8, &ev.base);
}

void
rt_events_list(rt_txn *t, uint64_t after_seq, size_t limit, Civic__Rpc__V1__EventList *out)
{
    out->last_seq = after_seq;
    if (t->code != 0)
        return;
    out->events = rt_alloc(t, limit * sizeof *out->events);
    if (out->events == NULL)
        return;
    MDB_cursor *c;
    if (rt_txn_mdb(t, mdb_cursor_open(t->txn, t->store->events, &c), "events") != 0)
        return;
    unsigned char key[8];
    rt_be64_put(key, after_seq + 1);
    MDB_val k = {8, key}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && out->n_events < limit) {
        Civic__Rpc__V1__Event *ev =
            civic__rpc__v1__event__unpack(&t->arena->pb, v.mv_size, v.mv_data);
        if (ev == NULL) {
            rt_txn_fail(t, CIVIC_INTERNAL, "stored event does not decode");
            break;
        }
        out->events[out->n_events++] = ev;
        out->last_seq = ev->seq;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
}

// --- idempotency ---

static int
idem_key(rt_txn *t, rt_key *k, const char *principal, const char *method, const char *key)
{
    rt_key_init(k);
    rt_key_str(k, principal);
    rt_key_str(k, method);
    rt_key_str(k, key);
    if (k->overflow)
        return rt_txn_violation(t, "metadata.idempotency-key", "too long");
    return 0;
}

int
rt_idem_find(rt_txn *t, const char *principal, const char *method, const char *key,
             const unsigned char hash[32], void **body, size_t *len)
{
    rt_key k;
    MDB_val v;
    if (idem_key(t, &k, principal, method, key) != 0)
        return -1;
    int rc = rt_get(t, t->store->idem, k.b, k.len, &v);
    if (rc != 0)
        return rc;
    if (v.mv_size < 40) {
        rt_txn_fail(t, CIVIC_INTERNAL, "idempotency record is damaged");
        return -1;
    }
    const unsigned char *p = v.mv_data;
    if (rt_be64_get(p) <= (uint64_t) civic_wall_ms())
        return MDB_NOTFOUND; // expired; the purge job has not reached it yet
    if (memcmp(p + 8, hash, 32) != 0)
        return rt_txn_violation(t, "metadata.idempotency-key",
                                "already used for a different request");
    *len = v.mv_size - 40;
    *body = rt_alloc(t, *len ? *len : 1);
    if (*body == NULL)
        return -1;
    memcpy(*body, p + 40, *len);
    return 0;
}

void
rt_idem_put(rt_txn *t, const char *principal, const char *method, const char *key,
            const unsigned char hash[32], const void *body, size_t len)
{
    rt_key k, x;
    if (idem_key(t, &k, principal, method, key) != 0)
        return;
    uint64_t expiry = (uint64_t) civic_wall_ms() + (uint64_t) t->store->opts.idempotency_ttl_s * 1000;
    MDB_val kv = {k.len, k.b}, v = {40 + len, NULL};
    if (t->code != 0 || rt_txn_mdb(t, mdb_put(t->txn, t->store->idem, &kv, &v, MDB_RESERVE), "idem"))
        return;
    unsigned char *p = v.mv_data;
    rt_be64_put(p, expiry);
    memcpy(p + 8, hash, 32);
    memcpy(p + 40, body, len);
    rt_key_init(&x);
    rt_key_u64(&x, expiry);
    rt_key_bytes(&x, k.b, k.len);
    if (x.overflow)
        return; // longest keys are not indexed for expiry; they still expire on read
    rt_put(t, t->store->idem_exp, x.b, x.len, "", 0);
}

// purge_idem deletes up to 256 expired idempotency records.
static int
purge_idem(rt_txn *t, void *arg)
{
    (void) arg;
    MDB_cursor *c;
    MDB_val k, v;
    uint64_t now = (uint64_t) civic_wall_ms();
    int n = 0;
    if (rt_txn_mdb(t, mdb_cursor_open(t->txn, t->store->idem_exp, &c), "idem") != 0)
        return 0;
    while (n < 256 && mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0 && k.mv_size > 8 &&
           rt_be64_get(k.mv_data) <= now) {
        // The record goes only if this entry is its expiry: a key used
        // again after its record expired has a new record, and a later entry.
        MDB_val ik = {k.mv_size - 8, (char *) k.mv_data + 8}, iv;
        int rc = mdb_get(t->txn, t->store->idem, &ik, &iv);
        if (rc == 0 && iv.mv_size >= 8 && memcmp(iv.mv_data, k.mv_data, 8) == 0)
            rc = mdb_del(t->txn, t->store->idem, &ik, NULL);
        else if (rc == 0)
            rc = MDB_NOTFOUND;
        if (rc == 0 || rc == MDB_NOTFOUND)
            rc = mdb_cursor_del(c, 0);
        if (rt_txn_mdb(t, rc, "idem purge") != 0)
            break;
        n++;
    }
    mdb_cursor_close(c);
    return n == 256;
}

// --- the writer ---

static void
stats_batch(rt_store *st, int n)
{
    pthread_mutex_lock(&st->stats_mu);
    st->stats.batches++;
    st->stats.writes += (uint64_t) n;
    int b = 0;
    while (b < 7 && (1 << (b + 1)) <= n)
        b++;
    st->stats.batch_hist[b]++;
    pthread_mutex_unlock(&st->stats_mu);
}

static void
run_jobs(rt_store *st, int64_t now)
{
    for (int i = 0; i < st->n_jobs; i++) {
        periodic *j = &st->jobs[i];
        if (now < j->next_ms)
            continue;
        rt_txn t = {.store = st, .arena = &st->job_arena, .principal = "system", .now_ms = civic_wall_ms()};
        int more = 0;
        if (mdb_txn_begin(st->env, NULL, 0, &t.txn) == 0) {
            more = j->fn(&t, j->arg);
            if (t.code == 0) {
                int rc = mdb_txn_commit(t.txn);
                if (rc != 0)
                    rt_log(RT_LOG_WARN, "store.job_failed", "error=\"%s\"", mdb_strerror(rc));
            } else {
                rt_log(RT_LOG_WARN, "store.job_failed", "code=%s error=\"%s\"",
                       civic_code_name(t.code), t.message);
                mdb_txn_abort(t.txn);
                more = 0;
            }
        }
        rt_arena_reset(&st->job_arena);
        // A job with more to do runs again soon, but yields to writes first.
        j->next_ms = now + (more ? 1 : j->interval_ms);
    }
}

static int64_t
next_job_ms(rt_store *st)
{
    int64_t next = INT64_MAX;
    for (int i = 0; i < st->n_jobs; i++)
        if (st->jobs[i].next_ms < next)
            next = st->jobs[i].next_ms;
    return next;
}

static void
run_batch(rt_store *st, rt_write *batch, int n)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0) {
        rt_log(RT_LOG_ERROR, "store.begin_failed", "error=\"%s\"", mdb_strerror(rc));
        for (rt_write *w = batch, *next; w != NULL; w = next) {
            next = w->next;
            w->done(w, rc == MDB_MAP_RESIZED ? CIVIC_UNAVAILABLE : CIVIC_INTERNAL,
                    "cannot begin a write transaction");
        }
        return;
    }
    int64_t now = civic_now_ms();
    int ran = 0;
    for (rt_write *w = batch; w != NULL; w = w->next) {
        w->code = 0;
        w->why = NULL;
        if (now >= w->deadline_ms) {
            w->code = CIVIC_DEADLINE_EXCEEDED;
            w->why = "deadline exceeded before the write ran";
            continue;
        }
        rt_txn t = {.store = st, .arena = w->arena, .principal = w->principal, .now_ms = w->now_ms};
        rc = mdb_txn_begin(st->env, txn, 0, &t.txn);
        if (rc == 0) {
            if (w->run(&t, w))
                rc = mdb_txn_commit(t.txn); // on failure LMDB aborts it
            else
                mdb_txn_abort(t.txn);
            ran++;
        }
        // The write's own transaction failed: its changes are gone while the
        // batch goes on, so it must not be answered with the batch's OK.
        if (rc != 0) {
            rt_log(RT_LOG_ERROR, "store.write_failed", "error=\"%s\"", mdb_strerror(rc));
            w->code = rc == MDB_MAP_FULL || rc == ENOMEM ? CIVIC_RESOURCE_EXHAUSTED : CIVIC_INTERNAL;
            w->why = rc == MDB_MAP_FULL ? map_full_message() : mdb_strerror(rc);
        }
    }
    rc = mdb_txn_commit(txn);
    const char *why = rc == MDB_MAP_FULL ? map_full_message() : rc ? mdb_strerror(rc) : NULL;
    if (rc != 0)
        rt_log(RT_LOG_ERROR, "store.commit_failed", "writes=%d error=\"%s\"", n, mdb_strerror(rc));
    int code = rc == 0 ? 0 : rc == MDB_MAP_FULL ? CIVIC_RESOURCE_EXHAUSTED : CIVIC_INTERNAL;
    stats_batch(st, ran);
    for (rt_write *w = batch, *next; w != NULL; w = next) {
        next = w->next;
        if (w->code != 0)
            w->done(w, w->code, w->why);
        else
            w->done(w, code, why);
    }
}

static void *
writer_main(void *arg)
{
    rt_store *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (st->head == NULL && !st->closing) {
            int64_t next = next_job_ms(st), now = civic_now_ms();
            if (next <= now) {
                pthread_mutex_unlock(&st->mu);
                run_jobs(st, now);
                pthread_mutex_lock(&st->mu);
                continue;
            }
            if (next == INT64_MAX) {
                pthread_cond_wait(&st->cv, &st->mu);
            } else {
                struct timespec abs;
                clock_gettime(CLOCK_MONOTONIC, &abs);
                int64_t ns = abs.tv_nsec + (next - now) * 1000000;
                abs.tv_sec += ns / 1000000000;
                abs.tv_nsec = ns % 1000000000;
                pthread_cond_timedwait(&st->cv, &st->mu, &abs);
            }
        }
        if (st->head == NULL && st->closing)
            break;
        // Take what is queued, up to batch_max: a lone write goes at once.
        rt_write *batch = st->head, *last = batch;
        int n = 1;
        while (last->next != NULL && n < st->opts.batch_max) {
            last = last->next;
            n++;
        }
        st->head = last->next;
        if (st->head == NULL)
            st->tail = NULL;
        last->next = NULL;
        st->queued -= n;
        pthread_mutex_unlock(&st->mu);
        run_batch(st, batch, n);
        int64_t now = civic_now_ms();
        if (next_job_ms(st) <= now)
            run_jobs(st, now);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

int
rt_store_submit(rt_store *st, rt_write *w)
{
    pthread_mutex_lock(&st->mu);
    if (st->closing) {
        pthread_mutex_unlock(&st->mu);
        return CIVIC_UNAVAILABLE;
    }
    if (st->queued >= st->opts.queue_max) {
        pthread_mutex_unlock(&st->mu);
        return CIVIC_RESOURCE_EXHAUSTED;
    }
    w->next = NULL;
    if (st->tail)
        st->tail->next = w;
    else
        st->head = w;
    st->tail = w;
    st->queued++;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return 0;
}

void
rt_store_add_periodic(rt_store *st, rt_periodic_fn fn, void *arg, int interval_ms)
{
    pthread_mutex_lock(&st->mu);
    if (st->n_jobs < MAX_PERIODIC)
        st->jobs[st->n_jobs++] =
            (periodic){.fn = fn, .arg = arg, .interval_ms = interval_ms, .next_ms = civic_now_ms() + interval_ms};
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

// --- reads ---

int
rt_read_begin(rt_store *st, rt_txn *t, rt_arena *arena, MDB_txn **cache)
{
    *t = (rt_txn){.store = st, .arena = arena};
    int rc = *cache ? mdb_txn_renew(*cache) : mdb_txn_begin(st->env, NULL, MDB_RDONLY, cache);
    if (rc != 0) {
        if (*cache) {
            mdb_txn_abort(*cache);
            *cache = NULL;
        }
        rt_txn_fail(t, CIVIC_UNAVAILABLE, "cannot begin a read transaction: %s", mdb_strerror(rc));
        return t->code;
    }
    t->txn = *cache;
    return 0;
}

void
rt_read_end(rt_txn *t, MDB_txn **cache)
{
    if (t->txn != NULL)
        mdb_txn_reset(t->txn);
    t->txn = NULL;
    (void) cache;
}

void
rt_read_release(MDB_txn **cache)
{
    if (*cache != NULL)
        mdb_txn_abort(*cache);
    *cache = NULL;
}

// --- open and close ---

MDB_dbi
rt_store_db(rt_store *st, const char *name)
{
    for (size_t i = 0; i < st->n_dbs; i++)
        if (strcmp(st->db_names[i], name) == 0)
            return st->dbs[i];
    rt_log(RT_LOG_ERROR, "store.no_db", "db=%s", name);
    abort(); // a service asked for a database it did not declare: a bug
}

MDB_env *
rt_store_env(rt_store *st)
{
    return st->env;
}

static int
open_dbs(rt_store *st, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        goto fail;
    for (size_t i = 0; i < st->n_dbs; i++)
        if ((rc = mdb_dbi_open(txn, st->db_names[i], MDB_CREATE, &st->dbs[i])) != 0) {
            mdb_txn_abort(txn);
            goto fail;
        }
    st->meta = st->dbs[0];
    st->events = st->dbs[1];
    st->idem = st->dbs[2];
    st->idem_exp = st->dbs[3];

    // Schema version: a new store takes this build's; an older one migrates
    // one step at a time, all in this transaction; a newer one is refused.
    rt_txn t = {.txn = txn, .store = st, .arena = &st->job_arena, .principal = "system",
                .now_ms = civic_wall_ms()};
    static const char vkey[] = "schema_version";
    MDB_val v;
    unsigned have = st->opts.schema_version;
    if (rt_get(&t, st->meta, vkey, sizeof vkey - 1, &v) == 0 && v.mv_size == 4)
        have = rt_be32_get(v.mv_data);
    if (have > st->opts.schema_version) {
        mdb_txn_abort(txn);
        snprintf(err, errlen, "data directory has schema version %u, newer than this build's %u",
                 have, st->opts.schema_version);
        return CIVIC_FAILED_PRECONDITION;
    }
    for (; have < st->opts.schema_version && t.code == 0; have++) {
        rt_log(RT_LOG_INFO, "store.migrate", "from=%u to=%u", have, have + 1);
        if (st->opts.migrate == NULL || st->opts.migrate(&t, have) != 0)
            rt_txn_fail(&t, CIVIC_INTERNAL, "no migration from schema version %u", have);
    }
    unsigned char b[4];
    rt_be32_put(b, st->opts.schema_version);
    rt_put(&t, st->meta, vkey, sizeof vkey - 1, b, 4);
    if (t.code != 0) {
        mdb_txn_abort(txn);
        snprintf(err, errlen, "%s", t.message);
        return t.code;
    }
    rt_arena_reset(&st->job_arena);
    if ((rc = mdb_txn_commit(txn)) != 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot open databases: %s%s", mdb_strerror(rc),
             rc == MDB_MAP_FULL ? " (restart with a larger --map-size)" : "");
    return rc == MDB_MAP_FULL ? CIVIC_RESOURCE_EXHAUSTED : CIVIC_INTERNAL;
}

int
rt_store_open(rt_store **out, const char *dir, const rt_store_opts *opts, char *err, size_t errlen)
{
    rt_store *st = calloc(1, sizeof *st);
    int rc, code = CIVIC_INTERNAL;
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return CIVIC_RESOURCE_EXHAUSTED;
    }
    st->opts = *opts;
    if (st->opts.map_size == 0)
        st->opts.map_size = (size_t) 8 << 30;
    if (st->opts.max_readers == 0)
        st->opts.max_readers = 512;
    if (st->opts.batch_max <= 0)
        st->opts.batch_max = 1024;
    if (st->opts.queue_max <= 0)
        st->opts.queue_max = 4096;
    if (st->opts.schema_version == 0)
        st->opts.schema_version = 1;
    if (st->opts.idempotency_ttl_s == 0)
        st->opts.idempotency_ttl_s = 7 * 24 * 3600;
    snprintf(st->dir, sizeof st->dir, "%s", dir);
    static const char *const builtin[] = {"meta", "events", "idem", "idem_exp"};
    for (size_t i = 0; i < 4; i++)
        st->db_names[st->n_dbs++] = builtin[i];
    for (size_t i = 0; opts->dbs && opts->dbs[i] && st->n_dbs < MAX_DBS; i++)
        st->db_names[st->n_dbs++] = opts->dbs[i];
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->stats_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cv, &ca);
    pthread_condattr_destroy(&ca);
    rt_arena_init(&st->job_arena, 64u << 20);

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    // No MDB_WRITEMAP (it rules out nested transactions) and no
    // MDB_NOMEMINIT (it can write stale heap bytes into the file).
    unsigned flags = MDB_NOTLS | (st->opts.unsafe_no_sync ? MDB_NOSYNC : 0);
    if ((rc = mdb_env_create(&st->env)) != 0 ||
        (rc = mdb_env_set_mapsize(st->env, st->opts.map_size)) != 0 ||
        (rc = mdb_env_set_maxreaders(st->env, st->opts.max_readers)) != 0 ||
        (rc = mdb_env_set_maxdbs(st->env, MAX_DBS)) != 0 ||
        (rc = mdb_env_open(st->env, dir, flags, 0600)) != 0) {
        snprintf(err, errlen, "cannot open LMDB environment in %s: %s", dir, mdb_strerror(rc));
        goto fail;
    }
    int dead = 0;
    mdb_reader_check(st->env, &dead);
    if (dead > 0)
        rt_log(RT_LOG_WARN, "store.dead_readers", "cleared=%d", dead);
    if ((code = open_dbs(st, err, errlen)) != 0)
        goto fail;
    st->jobs[st->n_jobs++] =
        (periodic){.fn = purge_idem, .interval_ms = 60000, .next_ms = civic_now_ms() + 1000};
    if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
        snprintf(err, errlen, "cannot start the writer thread");
        code = CIVIC_INTERNAL;
        goto fail;
    }
    *out = st;
    return 0;
fail:
    if (st->env)
        mdb_env_close(st->env);
    rt_arena_fini(&st->job_arena);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->stats_mu);
    pthread_cond_destroy(&st->cv);
    free(st);
    return code ? code : CIVIC_INTERNAL;
}

void
rt_store_close(rt_store *st)
{
    if (st == NULL)
        return;
    pthread_mutex_lock(&st->mu);
    st->closing = 1;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->writer, NULL);
    mdb_env_close(st->env);
    rt_arena_fini(&st->job_arena);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->stats_mu);
    pthread_cond_destroy(&st->cv);
    free(st);
}

int
rt_store_backup(rt_store *st, char *path, size_t pathlen)
{
    char dir[4200];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(dir, sizeof dir, "%s/backups", st->dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return CIVIC_INTERNAL;
    snprintf(dir, sizeof dir, "%s/backups/%04d%02d%02dT%02d%02d%02dZ", st->dir, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    for (int i = 1; mkdir(dir, 0700) != 0; i++) {
        if (errno != EEXIST || i > 99)
            return CIVIC_INTERNAL;
        snprintf(dir + strlen(dir) - (i > 1 ? 3 : 0), 8, "-%02d", i);
    }
    int rc = mdb_env_copy2(st->env, dir, MDB_CP_COMPACT);
    if (rc != 0) {
        rt_log(RT_LOG_ERROR, "store.backup_failed", "dir=%s error=\"%s\"", dir, mdb_strerror(rc));
        return CIVIC_INTERNAL;
    }
    snprintf(path, pathlen, "%s", dir);
    return 0;
}

void
rt_store_stats_get(rt_store *st, rt_store_stats *out)
{
    pthread_mutex_lock(&st->stats_mu);
    *out = st->stats;
    pthread_mutex_unlock(&st->stats_mu);
    pthread_mutex_lock(&st->mu);
    out->queue_depth = (uint64_t) st->queued;
    pthread_mutex_unlock(&st->mu);
}
