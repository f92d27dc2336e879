// Hostile input at every socket: real civic-points, civic-tasks,
// civic-volunteers and civic-gateway (with an internal key; the gateway
// fixture) get, each: raw TCP frames claiming 2^40 bytes, a bogus handshake,
// a message over the 4 MiB limit, envelopes with truncated varints and
// lengths past the end, metadata floods (100,000 entries; one 1 MiB value),
// 100,000 unknown fields in the envelope and in a signed (or token-carrying)
// payload, 3,000-deep nesting and 1,000,000 repeated entries in the payload.
// Each must be refused (an error reply, or the call or connection dropped) or,
// where the input is legal protobuf (unknown fields, deep bytes, repeats),
// answered; every process stays alive and SERVING after each. Then all of it
// again 100 times: RssAnon may not grow past a bound (see mem_bound_kb).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civic/points/v1/points.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic/tasks/v1/tasks.pb-c.h"
#include "civic/volunteers/v1/volunteers.pb-c.h"
#include "gw_fixture.h"
#include "hostile.h"

typedef struct target {
    const char *name;
    th_server *srv;
    const char *method; // a read method it serves (the gateway forwards it)
    const ProtobufCMessageDescriptor *in;
    const civic_key *key; // sign identity (back ends)
    const char *token;    // or a bearer token (the gateway)
} target;

static gw_fixture fx;
static civic_key key;
static target targets[4];
static int verbose = 1;

// Outcomes seen, for the report.
static unsigned long n_refused, n_dropped, n_answered;

static void
setup_targets(void)
{
    const char *why;
    if (civic_key_load(&key, fx.key, &why) != 0)
        fail_msg("key: %s", why);
    targets[0] = (target){"points", &fx.points, "/civic.points.v1.PointsService/ListPoints",
                          &civic__points__v1__list_points_request__descriptor, &key, NULL};
    targets[1] = (target){"tasks", &fx.tasks, "/civic.tasks.v1.TasksService/ListProblems",
                          &civic__tasks__v1__list_problems_request__descriptor, &key, NULL};
    targets[2] = (target){"volunteers", &fx.volunteers,
                          "/civic.volunteers.v1.VolunteersService/ListVolunteers",
                          &civic__volunteers__v1__list_volunteers_request__descriptor, &key, NULL};
    targets[3] = (target){"gateway", &fx.gateway, "/civic.points.v1.PointsService/ListPoints",
                          &civic__points__v1__list_points_request__descriptor, NULL, fx.admin};
}

// all_serving fails the test unless every process is alive and SERVING.
static void
all_serving(const char *after)
{
    th_server *all[] = {&fx.points, &fx.tasks, &fx.volunteers, &fx.gateway};
    for (int i = 0; i < 4; i++) {
        if (!hs_alive(all[i]->pid))
            fail_msg("%s died after %s (log: %s)", all[i]->bin, after, all[i]->log);
        if (th_wait_serving(all[i]->url, 10000) != 0)
            fail_msg("%s not SERVING after %s", all[i]->bin, after);
    }
}

typedef enum { MUST_REFUSE, MAY_ANSWER } expect;

static void
outcome(const target *t, const char *what, int code, expect e)
{
    if (code == -2)
        fail_msg("%s: %s: the reply is not a Response", t->name, what);
    if (code == 0 && e == MUST_REFUSE)
        fail_msg("%s: %s: answered OK, want refused", t->name, what);
    if (code == -1)
        n_dropped++;
    else if (code == 0)
        n_answered++;
    else
        n_refused++;
    if (verbose)
        printf("# %-10s %-34s %s\n", t->name, what,
               code == -1 ? "dropped" : code == 0 ? "answered OK" : civic_code_name(code));
}

// payload_unknown: n unknown varint fields (number 1000).
static void
payload_unknown(hb *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hb_tag(b, 1000, 0);
        hb_varint(b, i & 0x7f);
    }
}

// payload_deep: depth levels of field 1, length-delimited, each inside the last.
static void
payload_deep(hb *b, int depth)
{
    hb inner = {0};
    hb_put(&inner, "x", 1);
    for (int i = 0; i < depth; i++) {
        hb outer = {0};
        hb_bytes(&outer, 1, inner.p, inner.len);
        hb_free(&inner);
        inner = outer;
    }
    hb_put(b, inner.p, inner.len);
    hb_free(&inner);
}

// payload_repeated: n entries of the input's first repeated field (or, if it
// has none, of its first field), each as small as its type allows.
static void
payload_repeated(hb *b, const ProtobufCMessageDescriptor *d, size_t n)
{
    const ProtobufCFieldDescriptor *f = &d->fields[0];
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].label == PROTOBUF_C_LABEL_REPEATED) {
            f = &d->fields[i];
            break;
        }
    int ld = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES ||
             f->type == PROTOBUF_C_TYPE_MESSAGE;
    for (size_t i = 0; i < n; i++) {
        hb_tag(b, f->id, ld ? 2 : 0);
        hb_varint(b, ld ? 0 : 1);
    }
}

static int
send_env(const target *t, const void *payload, size_t n, size_t junk_md, size_t big_md)
{
    static uint64_t call_id = 1000;
    hb env = {0};
    hs_envelope(&env, t->method, ++call_id, payload, n, junk_md, big_md, t->key, t->token);
    int code = hs_send(t->srv->url, env.p, env.len, 20000);
    hb_free(&env);
    return code;
}

// one_round sends every hostile input to t once.
static void
one_round(const target *t)
{
    // Raw TCP: the SP handshake of a REQ peer, then a frame claiming 2^40 bytes.
    static const uint8_t huge[] = {0x00, 0x53, 0x50, 0x00, 0x00, 0x30, 0x00, 0x00,
                                   0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x0a, 0x01, 'x'};
    int r = hs_raw_tcp(t->srv->port, huge, sizeof huge, 5000);
    if (r != 1)
        fail_msg("%s: a frame claiming 2^40 bytes: connection %s", t->name,
                 r < 0 ? "failed" : "kept open for 5 s");
    // Raw TCP: a frame claiming 2^64-1 bytes.
    uint8_t max[sizeof huge];
    memcpy(max, huge, sizeof huge);
    memset(max + 8, 0xff, 8);
    if (hs_raw_tcp(t->srv->port, max, sizeof max, 5000) != 1)
        fail_msg("%s: a frame claiming 2^64-1 bytes was not dropped", t->name);
    // Raw TCP: not SP at all.
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    if (hs_raw_tcp(t->srv->port, http, sizeof http - 1, 5000) != 1)
        fail_msg("%s: an HTTP request on the SP port was not dropped", t->name);
    if (verbose)
        printf("# %-10s %-34s dropped\n", t->name, "raw frames (2^40, 2^64-1, HTTP)");

    // Envelopes that do not decode.
    static const uint8_t trunc_varint[] = {0x10, 0xff, 0xff, 0xff};
    outcome(t, "envelope: truncated varint", hs_send(t->srv->url, trunc_varint, sizeof trunc_varint, 20000),
            MUST_REFUSE);
    static const uint8_t past_end[] = {0x0a, 0x7f, '/', 'c', 'i'};
    outcome(t, "envelope: length past the end", hs_send(t->srv->url, past_end, sizeof past_end, 20000),
            MUST_REFUSE);
    static const uint8_t huge_len[] = {0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    outcome(t, "envelope: payload length 2^32-1", hs_send(t->srv->url, huge_len, sizeof huge_len, 20000),
            MUST_REFUSE);

    // Metadata floods.
    outcome(t, "metadata: 100,000 entries", send_env(t, NULL, 0, 100000, 0), MUST_REFUSE);
    outcome(t, "metadata: one 1 MiB value", send_env(t, NULL, 0, 0, (size_t) 1 << 20), MUST_REFUSE);

    // 100,000 unknown fields in the envelope itself.
    {
        hb env = {0};
        hs_envelope(&env, t->method, 7, NULL, 0, 0, 0, t->key, t->token);
        payload_unknown(&env, 100000);
        outcome(t, "envelope: 100,000 unknown fields", hs_send(t->srv->url, env.p, env.len, 20000),
                MAY_ANSWER);
        hb_free(&env);
    }
    // Payloads (signed, or with the admin's token).
    hb p = {0};
    static const uint8_t trunc[] = {0x08, 0xff, 0xff};
    outcome(t, "payload: truncated varint", send_env(t, trunc, sizeof trunc, 0, 0), MUST_REFUSE);
    static const uint8_t past[] = {0x0a, 0x40, 'a'};
    outcome(t, "payload: length past the end", send_env(t, past, sizeof past, 0, 0), MUST_REFUSE);
    payload_unknown(&p, 100000);
    outcome(t, "payload: 100,000 unknown fields", send_env(t, p.p, p.len, 0, 0), MAY_ANSWER);
    p.len = 0;
    payload_deep(&p, 3000);
    outcome(t, "payload: 3,000-deep nesting", send_env(t, p.p, p.len, 0, 0), MAY_ANSWER);
    p.len = 0;
    payload_repeated(&p, t->in, 1000000);
    outcome(t, "payload: 1,000,000 repeated", send_env(t, p.p, p.len, 0, 0), MAY_ANSWER);
    hb_free(&p);
    // Over the 4 MiB receive limit, for real (raw TCP: the handshake, a
    // 5 MiB frame header and its 5 MiB): the connection is dropped.
    {
        size_t big = (size_t) 5 << 20;
        uint8_t *b = calloc(1, 16 + big);
        memcpy(b, huge, 8);
        for (int i = 0; i < 8; i++)
            b[8 + i] = (uint8_t) ((uint64_t) big >> (56 - 8 * i));
        int rr = hs_raw_tcp(t->srv->port, b, 16 + big, 5000);
        free(b);
        if (rr != 1)
            fail_msg("%s: a 5 MiB message was not dropped (%d)", t->name, rr);
        outcome(t, "message over 4 MiB", -1, MUST_REFUSE);
    }
}

// mem_bound_kb: how much RssAnon may grow over 100 rounds after 10 of
// warm-up. In a release build, 8 MiB. Under ASan (this test is built with
// the servers' flags) the servers run with quarantine_size_mb=0 and the
// bound is 16 MiB (measured: +2.1 to +3.7 MiB over 100 rounds): ASan's
// allocator keeps per-size-class caches and shadow memory that a release
// build does not have, so a leak of about 160 KiB a round fails there (each
// round sends each process some 5 MiB).
static long
mem_bound_kb(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 16 * 1024;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 16 * 1024;
#else
    return 8 * 1024;
#endif
#else
    return 8 * 1024;
#endif
}

static void
test_hostile(void **state)
{
    (void) state;
    // No ASan quarantine in the servers, so their memory shows real growth.
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[512];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0", asan ? asan : "", asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    gw_fixture_start(&fx, NULL);
    setup_targets();
    for (int i = 0; i < 4; i++) {
        one_round(&targets[i]);
        all_serving(targets[i].name);
    }
    printf("# one round: %lu refused, %lu dropped, %lu answered\n", n_refused, n_dropped, n_answered);

    int rounds = getenv("CIVIC_HOSTILE_ROUNDS") ? atoi(getenv("CIVIC_HOSTILE_ROUNDS")) : 100;
    verbose = 0;
    long before[4], after[4];
    for (int w = 0; w < 10; w++)
        for (int i = 0; i < 4; i++)
            one_round(&targets[i]);
    // The services trim their heaps once a second while idle: measure
    // after a trim, as the release bound assumes.
    struct timespec settle = {2, 500000000};
    nanosleep(&settle, NULL);
    for (int i = 0; i < 4; i++)
        before[i] = hs_rss_anon(targets[i].srv->pid);
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 4; i++)
            one_round(&targets[i]);
        all_serving("a round");
    }
    int grew = 0;
    nanosleep(&settle, NULL);
    for (int i = 0; i < 4; i++) {
        after[i] = hs_rss_anon(targets[i].srv->pid);
        printf("# %-10s RssAnon %ld kB -> %ld kB over %d rounds (bound +%ld kB)\n", targets[i].name,
               before[i], after[i], rounds, mem_bound_kb());
        if (before[i] < 0 || after[i] < 0 || after[i] - before[i] > mem_bound_kb())
            grew = 1;
    }
    all_serving("all rounds");
    gw_fixture_stop(&fx);
    if (grew)
        fail_msg("memory grew past the bound");
}

int
main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hostile)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
