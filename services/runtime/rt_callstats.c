// Per-method call counters (see rt_callstats.h).
#include "rt_callstats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "civic_desc.h"
#include "civic_status.h"

#define N_CODES 17 // CIVIC_OK … CIVIC_UNAUTHENTICATED
#define N_LAT 16

// Upper bounds of the latency buckets, 100 µs to 10 s, in ns and as printed.
static const int64_t lat_ns[N_LAT] = {
    100000,    250000,    500000,     1000000,    2500000,    5000000,    10000000,   25000000,
    50000000,  100000000, 250000000,  500000000,  1000000000, 2500000000, 5000000000, 10000000000,
};
static const char *const lat_le[N_LAT] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
                                          "0.01",   "0.025",   "0.05",   "0.1",   "0.25",   "0.5",
                                          "1",      "2.5",     "5",      "10"};

struct rt_callstats {
    char *method;
    _Atomic uint64_t codes[N_CODES + 1]; // the last: a code outside the table
    _Atomic uint64_t lat[N_LAT + 1];     // per bucket, not cumulative; the last: +Inf
    _Atomic uint64_t sum_ns;
};

struct rt_calltable {
    pthread_mutex_t mu; // serialises additions; lookups take no lock
    size_t max, mask;
    _Atomic(rt_callstats *) *slots; // open addressing, at least twice max
    rt_callstats **entries;         // in order of addition
    _Atomic size_t n;
    rt_callstats unknown;
};

rt_calltable *
rt_calltable_new(size_t max)
{
    rt_calltable *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    size_t n = 16;
    while (n < 2 * max)
        n *= 2;
    t->slots = calloc(n, sizeof *t->slots);
    t->entries = calloc(max ? max : 1, sizeof *t->entries);
    t->unknown.method = strdup("unknown");
    if (t->slots == NULL || t->entries == NULL || t->unknown.method == NULL) {
        free(t->slots);
        free(t->entries);
        free(t->unknown.method);
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        atomic_init(&t->slots[i], NULL);
    t->max = max;
    t->mask = n - 1;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void
rt_calltable_free(rt_calltable *t)
{
    if (t == NULL)
        return;
    size_t n = atomic_load(&t->n);
    for (size_t i = 0; i < n; i++) {
        free(t->entries[i]->method);
        free(t->entries[i]);
    }
    free(t->entries);
    free(t->slots);
    free(t->unknown.method);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static size_t
hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ull;
    return (size_t) h;
}

// probe returns the entry for method, or NULL with *slot the free slot
// where it would go.
static rt_callstats *
probe(rt_calltable *t, const char *method, size_t *slot)
{
    for (size_t i = hash(method) & t->mask;; i = (i + 1) & t->mask) {
        rt_callstats *p = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (p == NULL) {
            *slot = i;
            return NULL;
        }
        if (strcmp(p->method, method) == 0)
            return p;
    }
}

rt_callstats *
rt_calltable_get(rt_calltable *t, const char *method)
{
    if (method == NULL)
        return &t->unknown;
    size_t slot;
    rt_callstats *p = probe(t, method, &slot);
    if (p != NULL)
        return p;
    if (civic_desc_method_is_read(method) < 0)
        return &t->unknown;
    pthread_mutex_lock(&t->mu);
    p = probe(t, method, &slot);
    size_t n = atomic_load_explicit(&t->n, memory_order_relaxed);
    if (p == NULL && n < t->max && (p = calloc(1, sizeof *p)) != NULL) {
        p->method = strdup(method);
        if (p->method == NULL) {
            free(p);
            p = NULL;
        } else {
            t->entries[n] = p;
            atomic_store_explicit(&t->n, n + 1, memory_order_release);
            atomic_store_explicit(&t->slots[slot], p, memory_order_release);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return p ? p : &t->unknown;
}

void
rt_callstats_record(rt_callstats *s, int code, int64_t ns)
{
    int c = code >= 0 && code < N_CODES ? code : N_CODES;
    atomic_fetch_add_explicit(&s->codes[c], 1, memory_order_relaxed);
    int b = 0;
    while (b < N_LAT && ns > lat_ns[b])
        b++;
    atomic_fetch_add_explicit(&s->lat[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_ns, (uint64_t) (ns > 0 ? ns : 0), memory_order_relaxed);
}

static const char *
code_label(int c)
{
    return c < N_CODES ? civic_code_name(c) : "OTHER";
}

void
rt_calltable_print(rt_calltable *t, rt_strbuf *out)
{
    size_t n = atomic_load_explicit(&t->n, memory_order_acquire);
    rt_strbuf_printf(out, "# HELP civic_calls_total Calls answered, by method and status code.\n"
                          "# TYPE civic_calls_total counter\n");
    for (size_t i = 0; i <= n; i++) {
        rt_callstats *s = i < n ? t->entries[i] : &t->unknown;
        for (int c = 0; c <= N_CODES; c++) {
            uint64_t v = atomic_load_explicit(&s->codes[c], memory_order_relaxed);
            if (v)
                rt_strbuf_printf(out, "civic_calls_total{method=\"%s\",code=\"%s\"} %llu\n",
                                 s->method, code_label(c), (unsigned long long) v);
        }
    }
    rt_strbuf_printf(out,
                     "# HELP civic_call_duration_seconds Time from a request's arrival to its "
                     "reply, by method.\n"
                     "# TYPE civic_call_duration_seconds histogram\n");
    for (size_t i = 0; i <= n; i++) {
        rt_callstats *s = i < n ? t->entries[i] : &t->unknown;
        uint64_t lat[N_LAT + 1], count = 0;
        for (int b = 0; b <= N_LAT; b++)
            count += lat[b] = atomic_load_explicit(&s->lat[b], memory_order_relaxed);
        if (count == 0)
            continue;
        uint64_t cum = 0;
        for (int b = 0; b < N_LAT; b++) {
            cum += lat[b];
            rt_strbuf_printf(out, "civic_call_duration_seconds_bucket{method=\"%s\",le=\"%s\"} %llu\n",
                             s->method, lat_le[b], (unsigned long long) cum);
        }
        uint64_t sum = atomic_load_explicit(&s->sum_ns, memory_order_relaxed);
        rt_strbuf_printf(out,
                         "civic_call_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} %llu\n"
                         "civic_call_duration_seconds_sum{method=\"%s\"} %.9f\n"
                         "civic_call_duration_seconds_count{method=\"%s\"} %llu\n",
                         s->method, (unsigned long long) count, s->method, (double) sum / 1e9,
                         s->method, (unsigned long long) count);
    }
}
