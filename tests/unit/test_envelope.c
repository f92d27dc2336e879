// civic.runtime.envelope: the envelope's rules apart from the sockets — a
// reply's wire form (read back by protobuf-c and by the client's own
// reader), deadline arithmetic, the metadata rules, which errors an
// idempotency record keeps, and the design's status table as the runtime's
// helpers produce it.
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic/points/v1/points.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"
#include "harness.h"
#include "rt_envelope.h"

static Civic__Rpc__V1__Response *
decode(nng_msg *m)
{
    assert_non_null(m);
    Civic__Rpc__V1__Response *r =
        civic__rpc__v1__response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
    assert_non_null(r);
    return r;
}

static void
test_reply_ok(void **state)
{
    Civic__Points__V1__GetPointRequest in = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    in.id = 300; // two bytes as a varint
    // call_ids of one, two and ten bytes; 0 leaves the field out.
    uint64_t ids[] = {1, 200, UINT64_MAX, 0};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        nng_msg *m = rt_reply_ok_msg(ids[i], &in.base);
        Civic__Rpc__V1__Response *r = decode(m);
        assert_int_equal(r->call_id, ids[i]);
        assert_null(r->status);
        Civic__Points__V1__GetPointRequest *back = civic__points__v1__get_point_request__unpack(
            NULL, r->payload.len, r->payload.data);
        assert_non_null(back);
        assert_int_equal(back->id, 300);
        assert_int_equal(civic_response_code(nng_msg_body(m), nng_msg_len(m)), 0);
        protobuf_c_message_free_unpacked(&back->base, NULL);
        civic__rpc__v1__response__free_unpacked(r, NULL);
        nng_msg_free(m);
    }
    // The same reply built from a stored body (an idempotent write's replay)
    // is byte for byte the one built directly.
    rt_arena a;
    rt_arena_init(&a, 4096);
    size_t len;
    uint8_t *body = rt_body_ok(&a, &in.base, &len);
    assert_non_null(body);
    nng_msg *m1 = rt_reply_msg(77, body, len), *m2 = rt_reply_ok_msg(77, &in.base);
    assert_int_equal(nng_msg_len(m1), nng_msg_len(m2));
    assert_memory_equal(nng_msg_body(m1), nng_msg_body(m2), nng_msg_len(m1));
    nng_msg_free(m1);
    nng_msg_free(m2);
    // An empty message is an empty payload: the reply is the call_id alone.
    Civic__Rpc__V1__CheckRequest empty = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
    m1 = rt_reply_ok_msg(5, &empty.base);
    assert_int_equal(nng_msg_len(m1), 2);
    nng_msg_free(m1);
    rt_arena_fini(&a);
}

static void
test_reply_status(void **state)
{
    rt_arena a;
    rt_arena_init(&a, 4096);
    rt_txn t = {.arena = &a};
    rt_txn_violation(&t, "point.location.lat", "must be within [-90, 90]");
    rt_txn_violation(&t, "point.name", "is required");
    size_t len;
    uint8_t *body = rt_body_status(t.code, t.message, &t, &len);
    nng_msg *m = rt_reply_msg(42, body, len);
    free(body);
    Civic__Rpc__V1__Response *r = decode(m);
    assert_int_equal(r->call_id, 42);
    assert_non_null(r->status);
    assert_int_equal(r->status->code, CIVIC_INVALID_ARGUMENT);
    assert_int_equal(r->status->n_violations, 2);
    assert_string_equal(r->status->violations[0]->field, "point.location.lat");
    assert_string_equal(r->status->violations[1]->field, "point.name");
    assert_int_equal(r->payload.len, 0);
    assert_int_equal(civic_response_code(nng_msg_body(m), nng_msg_len(m)), CIVIC_INVALID_ARGUMENT);
    civic__rpc__v1__response__free_unpacked(r, NULL);
    nng_msg_free(m);
    // Without a transaction: code and message only.
    body = rt_body_status(CIVIC_UNAVAILABLE, "server stopping", NULL, &len);
    m = rt_reply_msg(0, body, len);
    free(body);
    r = decode(m);
    assert_int_equal(r->call_id, 0);
    assert_int_equal(r->status->code, CIVIC_UNAVAILABLE);
    assert_string_equal(r->status->message, "server stopping");
    assert_int_equal(r->status->n_violations, 0);
    civic__rpc__v1__response__free_unpacked(r, NULL);
    nng_msg_free(m);
    // The client's reader refuses what is not a Response.
    assert_int_equal(civic_response_code("\x0a\x05", 2), -1);
    rt_arena_fini(&a);
}

static void
test_deadlines(void **state)
{
    assert_int_equal(rt_deadline_ms(1000, 0), 1000 + 10000); // 0: the default 10 s
    assert_int_equal(rt_deadline_ms(1000, 1), 1001);
    assert_int_equal(rt_deadline_ms(1000, 250), 1250);
    assert_int_equal(rt_deadline_ms(1000, 300000), 301000);  // the cap itself
    assert_int_equal(rt_deadline_ms(1000, 300001), 301000);  // past it: the cap
    assert_int_equal(rt_deadline_ms(1000, UINT32_MAX), 301000);
    // Wall-clock sized starts do not overflow.
    int64_t now = 1795000000000;
    assert_int_equal(rt_deadline_ms(now, UINT32_MAX), now + 300000);
}

// request_with makes a Request with n metadata entries into storage.
static void
request_with(Civic__Rpc__V1__Request *req, Civic__Rpc__V1__Request__MetadataEntry *ents,
             Civic__Rpc__V1__Request__MetadataEntry **ptrs, size_t n, char **keys, char **vals)
{
    civic__rpc__v1__request__init(req);
    for (size_t i = 0; i < n; i++) {
        civic__rpc__v1__request__metadata_entry__init(&ents[i]);
        ents[i].key = keys[i];
        ents[i].value = vals[i];
        ptrs[i] = &ents[i];
    }
    req->metadata = ptrs;
    req->n_metadata = n;
}

static int
metadata_code(size_t n, char **keys, char **vals, const char **field)
{
    Civic__Rpc__V1__Request req;
    Civic__Rpc__V1__Request__MetadataEntry ents[4], *ptrs[4];
    request_with(&req, ents, ptrs, n, keys, vals);
    rt_arena a;
    rt_arena_init(&a, 4096);
    rt_txn t = {.arena = &a};
    int code = rt_check_metadata(&t, &req);
    static char f[64];
    snprintf(f, sizeof f, "%s", t.n_violations ? t.violations[0].field : "");
    *field = f;
    rt_arena_fini(&a);
    return code;
}

static void
test_metadata_rules(void **state)
{
    const char *field;
    char *k1[] = {"request-id", "idempotency-key"}, *v1[] = {"r-1", "k-1"};
    assert_int_equal(metadata_code(2, k1, v1, &field), 0);
    char *k2[] = {"request-id", "X-Civic-Role"}, *v2[] = {"r-1", "admin"};
    assert_int_equal(metadata_code(2, k2, v2, &field), CIVIC_INVALID_ARGUMENT);
    assert_string_equal(field, "metadata");
    // 8 KiB of keys and values in all is allowed, one byte more is not.
    char *big = malloc(RT_METADATA_MAX + 2);
    memset(big, 'v', RT_METADATA_MAX + 1);
    big[RT_METADATA_MAX - 3] = '\0'; // "key" (3) + 8189 = 8192
    char *k3[] = {"key"}, *v3[] = {big};
    assert_int_equal(metadata_code(1, k3, v3, &field), 0);
    big[RT_METADATA_MAX - 3] = 'v';
    big[RT_METADATA_MAX - 2] = '\0'; // 8193
    assert_int_equal(metadata_code(1, k3, v3, &field), CIVIC_INVALID_ARGUMENT);
    assert_string_equal(field, "metadata");
    free(big);
}

static void
test_stored_errors(void **state)
{
    // A retry of the same request would get these again: they are kept.
    int kept[] = {CIVIC_INVALID_ARGUMENT, CIVIC_NOT_FOUND, CIVIC_ALREADY_EXISTS,
                  CIVIC_PERMISSION_DENIED, CIVIC_FAILED_PRECONDITION, CIVIC_OUT_OF_RANGE,
                  CIVIC_UNAUTHENTICATED};
    // These may pass: a retry must run the write again.
    int not_kept[] = {CIVIC_OK, CIVIC_CANCELLED, CIVIC_UNKNOWN, CIVIC_DEADLINE_EXCEEDED,
                      CIVIC_RESOURCE_EXHAUSTED, CIVIC_ABORTED, CIVIC_UNIMPLEMENTED,
                      CIVIC_INTERNAL, CIVIC_UNAVAILABLE, CIVIC_DATA_LOSS};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        assert_true(rt_code_deterministic(kept[i]));
    for (size_t i = 0; i < sizeof not_kept / sizeof not_kept[0]; i++)
        assert_false(rt_code_deterministic(not_kept[i]));
}

static void
test_status_table(void **state)
{
    // The design's table: gRPC's numbers.
    static const struct {
        int code;
        int number;
    } table[] = {
        {CIVIC_INVALID_ARGUMENT, 3}, {CIVIC_NOT_FOUND, 5},       {CIVIC_ALREADY_EXISTS, 6},
        {CIVIC_FAILED_PRECONDITION, 9}, {CIVIC_UNAUTHENTICATED, 16}, {CIVIC_PERMISSION_DENIED, 7},
        {CIVIC_RESOURCE_EXHAUSTED, 8}, {CIVIC_DEADLINE_EXCEEDED, 4}, {CIVIC_UNAVAILABLE, 14},
        {CIVIC_UNIMPLEMENTED, 12},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_int_equal(table[i].code, table[i].number);
    // As the store's helpers give them: a bad field, a full map, a key
    // over LMDB's limit, a failure of LMDB's own, a spent call budget.
    rt_arena a;
    rt_arena_init(&a, 64);
    rt_txn t = {.arena = &a};
    rt_txn_violation(&t, "page_token", "is not one this server made");
    assert_int_equal(t.code, CIVIC_INVALID_ARGUMENT);
    assert_string_equal(t.violations[0].field, "page_token");
    rt_txn u = {.arena = &a};
    assert_int_equal(rt_txn_mdb(&u, MDB_NOTFOUND, "get"), 0);
    assert_int_equal(rt_txn_mdb(&u, MDB_MAP_FULL, "put"), CIVIC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(u.message, "--map-size"));
    rt_txn v = {.arena = &a};
    assert_int_equal(rt_txn_mdb(&v, MDB_BAD_VALSIZE, "put"), CIVIC_INVALID_ARGUMENT);
    rt_txn w = {.arena = &a};
    assert_int_equal(rt_txn_mdb(&w, MDB_CORRUPTED, "get"), CIVIC_INTERNAL);
    rt_txn x = {.arena = &a};
    assert_null(rt_alloc(&x, 1 << 20));
    assert_int_equal(x.code, CIVIC_RESOURCE_EXHAUSTED);
    // The first error sticks: a later one does not replace it.
    assert_int_equal(rt_txn_fail(&x, CIVIC_NOT_FOUND, "later"), CIVIC_RESOURCE_EXHAUSTED);
    rt_arena_fini(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_ok),       cmocka_unit_test(test_reply_status),
        cmocka_unit_test(test_deadlines),      cmocka_unit_test(test_metadata_rules),
        cmocka_unit_test(test_stored_errors),  cmocka_unit_test(test_status_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
