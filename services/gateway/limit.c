// Rate limits: token buckets in memory, one per key ("token 12",
// "client 10.0.0.5"), in a fixed hash table under one mutex. A bucket holds
// up to burst calls and refills at rate per second; a full bucket is the
// same as none, so when the table is crowded the stalest bucket of a probe
// run is reused.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

int
gw_rate_parse(const char *text, gw_rate *r)
{
    r->rate = r->burst = 0;
    if (text == NULL || text[0] == '\0')
        return 0;
    char *end;
    r->rate = strtod(text, &end);
    if (end == text || r->rate < 0)
        return -1;
    if (*end == '/') {
        const char *b = end + 1;
        r->burst = strtod(b, &end);
        if (end == b || r->burst < 1)
            return -1;
    } else {
        r->burst = r->rate < 1 ? 1 : r->rate;
    }
    return *end == '\0' ? 0 : -1;
}

static uint64_t
fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ull;
    return h;
}

int
gw_limit_take(gw_limiter *l, const gw_rate *r, const char *key, int64_t now_ms)
{
    if (r->rate <= 0)
        return 1;
    uint64_t h = fnv(key);
    pthread_mutex_lock(&l->mu);
    gw_bucket *b = NULL, *stalest = NULL;
    for (int i = 0; i < 16; i++) {
        gw_bucket *c = &l->slots[(h + (uint64_t) i) % GW_BUCKETS];
        if (c->used && c->hash == h && strcmp(c->key, key) == 0) {
            b = c;
            break;
        }
        if (!c->used) {
            if (stalest == NULL || stalest->used)
                stalest = c;
        } else if (stalest == NULL || (stalest->used && c->last_ms < stalest->last_ms)) {
            stalest = c;
        }
    }
    if (b == NULL) {
        b = stalest;
        b->used = 1;
        b->hash = h;
        snprintf(b->key, sizeof b->key, "%s", key);
        b->tokens = r->burst;
        b->last_ms = now_ms;
    }
    double t = b->tokens + (double) (now_ms - b->last_ms) / 1000.0 * r->rate;
    b->tokens = t > r->burst ? r->burst : t;
    b->last_ms = now_ms;
    int ok = b->tokens >= 1;
    if (ok)
        b->tokens -= 1;
    pthread_mutex_unlock(&l->mu);
    return ok;
}
