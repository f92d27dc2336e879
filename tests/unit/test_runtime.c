// civic.runtime.unit: the runtime's pure pieces — the arena and its budget,
// key encodings and page tokens, configuration, status names, field checks,
// local days and identity signatures.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_sign.h"
#include "harness.h"
#include "rt_arena.h"
#include "rt_check.h"
#include "rt_config.h"
#include "rt_key.h"

static void
test_arena_budget(void **state)
{
    rt_arena a;
    rt_arena_init(&a, 100000);
    // Small allocations come from the embedded first chunk, aligned.
    void *p = rt_arena_alloc(&a, 3), *q = rt_arena_alloc(&a, 5);
    assert_non_null(p);
    assert_int_equal(((uintptr_t) q) % 16, 0);
    // Growing past the first chunk works until the budget, then fails sticky.
    for (int i = 0; i < 9; i++)
        assert_non_null(rt_arena_alloc(&a, 10000));
    assert_null(rt_arena_alloc(&a, 20000));
    assert_true(a.exhausted);
    // A reset gives everything back.
    rt_arena_reset(&a);
    assert_false(a.exhausted);
    assert_non_null(rt_arena_alloc(&a, 90000));
    assert_string_equal(rt_arena_printf(&a, "%s-%d", "x", 7), "x-7");
    rt_arena_fini(&a);
}

static void
test_arena_as_protobuf_allocator(void **state)
{
    // A message that needs more than the budget to unpack fails cleanly.
    rt_arena a;
    rt_arena_init(&a, 4096);
    uint8_t buf[8192];
    // Field 1 (string) of 8000 bytes: length-delimited.
    buf[0] = 0x0a;
    buf[1] = 0xc0;
    buf[2] = 0x3e; // 8000
    memset(buf + 3, 'a', 8000);
    ProtobufCMessage *m = protobuf_c_message_unpack(&civic__rpc__v1__check_request__descriptor,
                                                    &a.pb, 8003, buf);
    assert_null(m);
    assert_true(a.exhausted);
    rt_arena_reset(&a);
    m = protobuf_c_message_unpack(&civic__rpc__v1__check_request__descriptor, &a.pb, 103, buf);
    assert_null(m); // truncated: length says 8000, only 100 there
    assert_false(a.exhausted);
    rt_arena_fini(&a);
}

static void
test_key_order(void **state)
{
    rt_key a, b;
    rt_key_init(&a);
    rt_key_init(&b);
    rt_key_u64(&a, 255);
    rt_key_u64(&b, 256);
    assert_true(memcmp(a.b, b.b, 8) < 0);
    rt_key_init(&a);
    rt_key_init(&b);
    rt_key_i64(&a, -5);
    rt_key_i64(&b, 3);
    assert_true(memcmp(a.b, b.b, 8) < 0);
    // "ab" NUL-terminated sorts before "abc".
    rt_key_init(&a);
    rt_key_init(&b);
    rt_key_str(&a, "ab");
    rt_key_str(&b, "abc");
    assert_true(memcmp(a.b, b.b, 3) < 0);
    assert_int_equal(rt_be64_get(((rt_key){.len = 0}).b) == 0, 1);
    unsigned char x[8];
    rt_be64_put(x, 0x0102030405060708ULL);
    assert_int_equal(x[0], 1);
    assert_int_equal(rt_be64_get(x), 0x0102030405060708ULL);
    rt_be32_put(x, 0xa0b0c0d0u);
    assert_int_equal(rt_be32_get(x), 0xa0b0c0d0u);
    // Overflow is flagged, never truncated silently.
    rt_key_init(&a);
    for (int i = 0; i < 70; i++)
        rt_key_u64(&a, (uint64_t) i);
    assert_true(a.overflow);
}

static void
test_page_tokens(void **state)
{
    for (size_t n = 1; n < 40; n++) {
        unsigned char key[40];
        for (size_t i = 0; i < n; i++)
            key[i] = (unsigned char) (i * 37 + n);
        char tok[64];
        rt_page_token_encode(key, n, tok);
        assert_null(strpbrk(tok, "+/="));
        rt_key k;
        assert_int_equal(rt_page_token_decode(tok, &k), 0);
        assert_int_equal(k.len, n);
        assert_memory_equal(k.b, key, n);
    }
    rt_key k;
    assert_int_equal(rt_page_token_decode("!!!", &k), -1);
    assert_int_equal(rt_page_token_decode("A", &k), -1);
    assert_int_equal(rt_page_token_decode("AB", &k), -1); // leftover bits not zero
    assert_int_equal(rt_page_token_decode("", &k), -1);
}

static void
test_config_table(void **state)
{
    const char *listen = NULL;
    long long contexts = 0;
    size_t map = 0;
    int flag = 0;
    const rt_cfg_key keys[] = {
        {"listen", "CIVIC_TEST_LISTEN", RT_CFG_STR, "tcp://127.0.0.1:1", 0, 0, &listen, "l"},
        {"contexts", "CIVIC_TEST_CONTEXTS", RT_CFG_INT, "8", 1, 100, &contexts, "c"},
        {"map-size", "CIVIC_TEST_MAP", RT_CFG_SIZE, "1G", 1024, (long long) 1 << 40, &map, "m"},
        {"flag", "CIVIC_TEST_FLAG", RT_CFG_BOOL, "false", 0, 0, &flag, "f"},
    };
    char *argv1[] = {"x", NULL};
    assert_int_equal(rt_config_parse(keys, 4, 1, argv1, "x", "t"), 0);
    assert_string_equal(listen, "tcp://127.0.0.1:1");
    assert_int_equal(contexts, 8);
    assert_int_equal(map, (size_t) 1 << 30);
    assert_int_equal(flag, 0);
    setenv("CIVIC_TEST_CONTEXTS", "12", 1);
    char *argv2[] = {"x", "--map-size", "64M", "--flag", "--listen=ipc:///tmp/x", NULL};
    assert_int_equal(rt_config_parse(keys, 4, 5, argv2, "x", "t"), 0);
    assert_int_equal(contexts, 12);
    assert_int_equal(map, (size_t) 64 << 20);
    assert_int_equal(flag, 1);
    assert_string_equal(listen, "ipc:///tmp/x");
    char *argv3[] = {"x", "--contexts", "1000", NULL};
    assert_int_equal(rt_config_parse(keys, 4, 3, argv3, "x", "t"), -1);
    char *argv4[] = {"x", "--nope", NULL};
    assert_int_equal(rt_config_parse(keys, 4, 2, argv4, "x", "t"), -1);
    setenv("CIVIC_TEST_CONTEXTS", "zero", 1);
    assert_int_equal(rt_config_parse(keys, 4, 1, argv1, "x", "t"), -1);
    unsetenv("CIVIC_TEST_CONTEXTS");
    size_t sz;
    assert_int_equal(rt_parse_size("8GiB", &sz), 0);
    assert_int_equal(sz, (size_t) 8 << 30);
    assert_int_equal(rt_parse_size("-1", &sz), -1);
    assert_int_equal(rt_parse_size("12Q", &sz), -1);
}

static void
test_status_names(void **state)
{
    assert_string_equal(civic_code_name(CIVIC_OK), "OK");
    assert_string_equal(civic_code_name(CIVIC_INVALID_ARGUMENT), "INVALID_ARGUMENT");
    assert_string_equal(civic_code_name(CIVIC_UNAUTHENTICATED), "UNAUTHENTICATED");
    assert_string_equal(civic_code_name(99), "UNKNOWN");
    for (int i = 0; i <= 16; i++)
        assert_int_equal(civic_code_parse(civic_code_name(i)), i);
}

static void
test_checks(void **state)
{
    rt_arena a;
    rt_arena_init(&a, 1 << 20);
    rt_txn t = {.arena = &a};
    assert_true(rt_check_phone(&t, "phone", "13812345678", 1));
    assert_true(rt_check_phone(&t, "phone", "+8613812345678", 1));
    assert_int_equal(t.code, 0);
    assert_false(rt_check_phone(&t, "volunteer.phone", "12812345678", 1));
    assert_false(rt_check_str(&t, "name", "\xff\xfe", 10, 1));
    assert_false(rt_check_str(&t, "note", "abcdefghijk", 10, 0));
    assert_false(rt_check_latlng(&t, "location", 91, 0));
    assert_false(rt_check_uri(&t, "photo", "ftp://x/y"));
    assert_true(rt_check_uri(&t, "photo", "s3://bucket/a.jpg"));
    assert_int_equal(t.code, CIVIC_INVALID_ARGUMENT);
    assert_int_equal(t.n_violations, 5);
    assert_string_equal(t.violations[0].field, "volunteer.phone");
    assert_string_equal(t.violations[3].field, "location.lat");
    assert_non_null(strstr(t.message, "volunteer.phone"));
    assert_string_equal(rt_phone_mask(&t, "13812345678"), "138****5678");
    assert_string_equal(rt_phone_mask(&t, "12345"), "****");
    assert_string_equal(rt_phone_normalize(&t, "+8613812345678"), "13812345678");
    assert_true(fabs(rt_distance_m(33.5, 119.0, 33.5, 119.0)) < 1e-6);
    double d = rt_distance_m(33.5, 119.0, 33.6, 119.0); // 0.1° of latitude ≈ 11.1 km
    assert_true(d > 11000 && d < 11200);
    rt_arena_fini(&a);
}

static void
test_local_day(void **state)
{
    // 2026-11-25T16:00:00Z is 2026-11-26 00:00 in China Standard Time.
    int64_t ms = 1795622400000LL;
    assert_int_equal(rt_local_day(ms, 480), 20261126);
    assert_int_equal(rt_local_day(ms - 1, 480), 20261125);
    assert_int_equal(rt_local_day(ms, 0), 20261125);
    assert_int_equal(rt_day_start_ms(20261126, 480), ms);
    assert_int_equal(rt_day_add(20261231, 1), 20270101);
    assert_int_equal(rt_day_add(20240301, -1), 20240229);
    rt_arena a;
    rt_arena_init(&a, 1 << 16);
    rt_txn t = {.arena = &a};
    assert_true(rt_check_day(&t, "day", 20240229));
    assert_false(rt_check_day(&t, "day", 20230229));
    assert_false(rt_check_day(&t, "day", 2026113));
    rt_arena_fini(&a);
}

static void
test_signatures(void **state)
{
    civic_key k = {.len = 32};
    memset(k.bytes, 7, 32);
    char sig[CIVIC_SIG_HEX];
    civic_sign(&k, "/a.B/C", 42, "u1", "unit", "payload", 7, sig);
    assert_int_equal(strlen(sig), 64);
    assert_true(civic_sign_check(&k, "/a.B/C", 42, "u1", "unit", "payload", 7, sig));
    assert_false(civic_sign_check(&k, "/a.B/C", 43, "u1", "unit", "payload", 7, sig));
    assert_false(civic_sign_check(&k, "/a.B/C", 42, "u1", "admin", "payload", 7, sig));
    assert_false(civic_sign_check(&k, "/a.B/C", 42, "u1", "unit", "payloaX", 7, sig));
    assert_false(civic_sign_check(&k, "/a.B/D", 42, "u1", "unit", "payload", 7, sig));
    k.bytes[0] = 8;
    assert_false(civic_sign_check(&k, "/a.B/C", 42, "u1", "unit", "payload", 7, sig));
    assert_false(civic_sign_check(&k, "/a.B/C", 42, "u1", "unit", "payload", 7, "short"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_budget),
        cmocka_unit_test(test_arena_as_protobuf_allocator),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_page_tokens),
        cmocka_unit_test(test_config_table),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_local_day),
        cmocka_unit_test(test_signatures),
    };
    return cmocka_run_group_tests_name("civic.runtime.unit", tests, NULL, NULL);
}
