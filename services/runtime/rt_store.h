// rt_store: a service's LMDB environment, its one writer thread, and the
// transaction type every handler works in.
//
// Reads run in a short read-only transaction, begun and ended within the
// call, on whatever thread the call is on (MDB_NOTLS). Writes run whole on
// the writer: it takes every write queued, runs each in a child transaction
// of one batch transaction (a failing write aborts only its child), commits
// the batch once, durably, and only then completes the writes. A lone write
// commits at once; batches grow only under load.
//
// rt_txn carries a sticky error in the manner of Knot DNS: after the first
// failure every rt_* step on the transaction does nothing and
// rt_txn_status() returns that first error, so a handler reads as a
// straight line. Errors are civic status codes with a message and, for
// INVALID_ARGUMENT, field violations.
//
// Caveats (after lmdb.h):
// - Data returned by rt_get is valid only until the transaction ends; copy it
//   or unpack it (rt_get_msg copies into the call's arena).
// - A handler never begins, commits or aborts a transaction itself.
// - The map size is address space: when it is full, writes fail with
//   RESOURCE_EXHAUSTED naming --map-size and reads go on.
#ifndef RT_STORE_H
#define RT_STORE_H

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "civic_client.h"
#include "rt_arena.h"
#include "rt_key.h"

typedef struct rt_store rt_store;

#define RT_TXN_VIOLATIONS 16

typedef struct rt_txn {
    MDB_txn *txn;
    rt_store *store;
    rt_arena *arena;       // the call's arena: unpacked records, responses
    const char *principal; // for events: who writes
    int64_t now_ms;        // for events: wall-clock time of the call
    int code;              // first error, civic_code; 0 while all is well
    char message[256];
    size_t n_violations;
    struct {
        const char *field;
        const char *description;
    } violations[RT_TXN_VIOLATIONS];
} rt_txn;

// rt_txn_status returns the transaction's first error, or 0.
static inline int
rt_txn_status(const rt_txn *t)
{
    return t->code;
}

// rt_txn_fail records an error (if none is recorded yet) and returns the
// transaction's first error.
int rt_txn_fail(rt_txn *t, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// rt_txn_violation records a bad field: INVALID_ARGUMENT, with the field's
// path ("point.location.lat") and what is wrong. Several may be recorded;
// the message names the first. Returns INVALID_ARGUMENT.
int rt_txn_violation(rt_txn *t, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// rt_txn_mdb records an LMDB error from a call the handler made itself
// (cursors): MDB_MAP_FULL becomes RESOURCE_EXHAUSTED, others INTERNAL.
// Returns the civic code (0 for rc 0 or MDB_NOTFOUND, which is no error).
int rt_txn_mdb(rt_txn *t, int rc, const char *what);

// rt_alloc and rt_strdup allocate in the call's arena (freed with the call).
// On exhaustion they record RESOURCE_EXHAUSTED and return NULL.
void *rt_alloc(rt_txn *t, size_t n);
char *rt_strdup(rt_txn *t, const char *s);

// rt_get looks key up. Returns 0 with *v set (borrowed: valid only until the
// transaction ends), MDB_NOTFOUND, or -1 if the transaction has an error.
int rt_get(rt_txn *t, MDB_dbi db, const void *key, size_t klen, MDB_val *v);

// rt_put stores key → value. rt_del removes key (absent is fine).
void rt_put(rt_txn *t, MDB_dbi db, const void *key, size_t klen, const void *val, size_t vlen);
void rt_del(rt_txn *t, MDB_dbi db, const void *key, size_t klen);

// rt_get_msg looks key up and unpacks the record into the call's arena.
// Returns 0 with *out set, MDB_NOTFOUND, or -1 (error recorded, including a
// record that does not decode: INTERNAL).
int rt_get_msg(rt_txn *t, MDB_dbi db, const void *key, size_t klen,
               const ProtobufCMessageDescriptor *desc, void **out);

// rt_put_msg packs msg and stores it under key.
void rt_put_msg(rt_txn *t, MDB_dbi db, const void *key, size_t klen, const ProtobufCMessage *msg);

// rt_record_get reads the record stored under its big-endian id (the key
// layout every service uses for its records) into the arena. When there is
// none it records NOT_FOUND naming field ("point_id: no point 12"), or, with
// field NULL, INTERNAL (an index names a record that does not exist).
// Returns the record, or NULL.
void *rt_record_get(rt_txn *t, MDB_dbi db, const ProtobufCMessageDescriptor *desc, const char *what,
                    uint64_t id, const char *field);

// rt_record_put stores rec under its big-endian id.
void rt_record_put(rt_txn *t, MDB_dbi db, uint64_t id, const ProtobufCMessage *rec);

// rt_index_move makes the index entry under from (NULL: none) become the one
// under to (NULL: none) with value val; an entry whose key did not change,
// and whose value did not either (same_val), is left alone. A key over
// RT_KEY_MAX is a bug (field checks keep keys short): INTERNAL.
void rt_index_move(rt_txn *t, MDB_dbi db, const rt_key *from, const rt_key *to, const void *val,
                   size_t vlen, int same_val);

// rt_index_first returns the id (big-endian, the key's last 8 bytes) of the
// first entry of db whose key is prefix followed by an id, or 0 for none.
uint64_t rt_index_first(rt_txn *t, MDB_dbi db, const rt_key *prefix);

// rt_seq_next returns the next value (from 1) of the named id sequence, kept
// in the meta database. Write transactions only.
uint64_t rt_seq_next(rt_txn *t, const char *name);

// rt_counter_add adds delta to the signed 64-bit counter under key (absent
// counts as 0) and returns the new value; a counter that reaches 0 is
// deleted, so counters cost nothing once they return to zero.
int64_t rt_counter_add(rt_txn *t, MDB_dbi db, const void *key, size_t klen, int64_t delta);

// rt_counter_get returns the counter under key, or 0.
int64_t rt_counter_get(rt_txn *t, MDB_dbi db, const void *key, size_t klen);

// rt_event appends an event to the service's log in this transaction:
// its type ("point.created"), the subject's id, and data (the record after
// the write; may be NULL). It commits or aborts with the write.
void rt_event(rt_txn *t, const char *type, uint64_t subject_id, const ProtobufCMessage *data);

// rt_events_list reads up to limit events after after_seq into the arena as
// civic.rpc.v1.Event messages.
struct Civic__Rpc__V1__EventList;
void rt_events_list(rt_txn *t, uint64_t after_seq, size_t limit,
                    struct Civic__Rpc__V1__EventList *out);

// --- the store ---

// rt_migrate_fn upgrades the service's data from schema version from to
// from + 1 inside the open transaction.
typedef int (*rt_migrate_fn)(rt_txn *t, unsigned from);

// rt_periodic_fn runs on the writer between batches, in a write transaction
// of its own; it should do a small step (say, 100 records) and return 1 if
// there is more to do right away, else 0.
typedef int (*rt_periodic_fn)(rt_txn *t, void *arg);

typedef struct rt_store_opts {
    size_t map_size;            // default 8 GiB
    unsigned max_readers;       // reader slots: every context and thread
    int unsafe_no_sync;         // commit without fsync: tests and benchmarks only
    int batch_max;              // writes per commit; 1 = batch-of-one; default 1024
    int queue_max;              // writes waiting; default 4096
    const char *const *dbs;     // the service's named databases, NULL-terminated
    unsigned schema_version;    // the version this build writes (>= 1)
    rt_migrate_fn migrate;      // for stores of an older version; may be NULL
    uint32_t idempotency_ttl_s; // how long retries are recognised; default 7 days
} rt_store_opts;

// rt_store_open opens (creating if needed) the LMDB environment in dir, runs
// migrations, clears readers left by a killed process and starts the
// writer. On success *out owns the store; release it with rt_store_close().
// Returns 0, or a civic code with the reason in err.
int rt_store_open(rt_store **out, const char *dir, const rt_store_opts *opts, char *err,
                  size_t errlen);

// rt_store_close drains the writer's queue, stops it and closes the
// environment. NULL does nothing.
void rt_store_close(rt_store *st);

// rt_store_db returns the handle of a named database given in opts.dbs.
MDB_dbi rt_store_db(rt_store *st, const char *name);

// rt_store_env returns the environment (for statistics).
MDB_env *rt_store_env(rt_store *st);

// rt_store_add_periodic registers a job the writer runs every interval_ms.
// Call before any write is submitted.
void rt_store_add_periodic(rt_store *st, rt_periodic_fn fn, void *arg, int interval_ms);

// rt_read_begin starts a read-only transaction in t, reusing *cache (a
// per-thread or per-context handle, NULL at first) when it can.
// rt_read_end ends it, keeping the handle in *cache for next time;
// rt_read_release frees a cached handle.
int rt_read_begin(rt_store *st, rt_txn *t, rt_arena *arena, MDB_txn **cache);
void rt_read_end(rt_txn *t, MDB_txn **cache);
void rt_read_release(MDB_txn **cache);

// rt_write is one queued write. The server embeds it in its call state.
typedef struct rt_write rt_write;
struct rt_write {
    rt_write *next;
    int64_t deadline_ms;        // monotonic; past it the write is skipped
    // run executes the write in t, a child transaction of the batch; it
    // returns 1 to commit the child, 0 to abort it.
    int (*run)(rt_txn *t, rt_write *w);
    // done runs after the batch committed (rc 0) or failed (a civic code),
    // or with DEADLINE_EXCEEDED or UNAVAILABLE for a write never run.
    void (*done)(rt_write *w, int rc, const char *why);
    rt_arena *arena;
    const char *principal;
    int64_t now_ms;
    // Set by the writer: the write's own failure (its transaction would not
    // begin or commit), answered instead of the batch's result.
    int code;
    const char *why;
};

// rt_store_submit queues a write. Returns 0, RESOURCE_EXHAUSTED when the
// queue is full, or UNAVAILABLE when the store is closing; done then never
// runs.
int rt_store_submit(rt_store *st, rt_write *w);

// Idempotency records, for the server's write path. rt_idem_find looks up
// (principal, method, key): returns 0 with the stored reply body in *body
// (arena copy) when the hash matches, INVALID_ARGUMENT (recorded) when it
// does not, MDB_NOTFOUND when there is no record.
int rt_idem_find(rt_txn *t, const char *principal, const char *method, const char *key,
                 const unsigned char hash[32], void **body, size_t *len);
void rt_idem_put(rt_txn *t, const char *principal, const char *method, const char *key,
                 const unsigned char hash[32], const void *body, size_t len);

// rt_store_backup writes a compacted copy of the environment, taken in one
// read transaction while writes go on, to a new directory under the data
// directory (backups/<UTC time>). path gets that directory. Returns 0 or a
// civic code.
int rt_store_backup(rt_store *st, char *path, size_t pathlen);

// Statistics for metrics and benchmarks.
typedef struct rt_store_stats {
    uint64_t batches, writes, queue_depth;
    uint64_t batch_hist[8]; // batch sizes 1, 2-3, 4-7, … 128+
} rt_store_stats;
void rt_store_stats_get(rt_store *st, rt_store_stats *out);

#endif
