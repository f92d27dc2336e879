// The envelope's rules: replies, deadlines, metadata, stored errors.
#include "rt_envelope.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "civic_client.h"
#include "civic_util.h"

int64_t
rt_deadline_ms(int64_t start_ms, uint32_t timeout_ms)
{
    if (timeout_ms == 0)
        timeout_ms = RT_TIMEOUT_DEFAULT_MS;
    if (timeout_ms > RT_TIMEOUT_MAX_MS)
        timeout_ms = RT_TIMEOUT_MAX_MS;
    return start_ms + timeout_ms;
}

int
rt_check_metadata(rt_txn *t, const Civic__Rpc__V1__Request *req)
{
    size_t total = 0;
    for (size_t i = 0; i < req->n_metadata; i++) {
        const char *k = req->metadata[i]->key;
        total += strlen(k) + strlen(req->metadata[i]->value);
        for (const char *p = k; *p; p++)
            if (isupper((unsigned char) *p)) {
                rt_txn_violation(t, "metadata", "key \"%.64s\" must be lower-case", k);
                break;
            }
    }
    if (total > RT_METADATA_MAX)
        rt_txn_violation(t, "metadata", "%zu bytes of keys and values, over the %d-byte limit",
                         total, RT_METADATA_MAX);
    return t->code;
}

int
rt_code_deterministic(int code)
{
    switch (code) {
    case CIVIC_INVALID_ARGUMENT:
    case CIVIC_NOT_FOUND:
    case CIVIC_ALREADY_EXISTS:
    case CIVIC_PERMISSION_DENIED:
    case CIVIC_FAILED_PRECONDITION:
    case CIVIC_OUT_OF_RANGE:
    case CIVIC_UNAUTHENTICATED:
        return 1;
    default:
        return 0;
    }
}

static size_t
varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *
varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t) v;
    return p;
}

// call_id_put writes field 1 (when call_id is not 0) at p.
static uint8_t *
call_id_put(uint8_t *p, uint64_t call_id)
{
    if (call_id) {
        *p++ = 0x08;
        p = varint_put(p, call_id);
    }
    return p;
}

static size_t
call_id_len(uint64_t call_id)
{
    return call_id ? 1 + varint_len(call_id) : 0;
}

nng_msg *
rt_reply_msg(uint64_t call_id, const void *body, size_t len)
{
    nng_msg *m;
    if (nng_msg_alloc(&m, call_id_len(call_id) + len) != 0)
        return NULL;
    uint8_t *p = call_id_put(nng_msg_body(m), call_id);
    if (len)
        memcpy(p, body, len);
    return m;
}

// payload_put writes out, n bytes packed, as field 3 at p.
static void
payload_put(uint8_t *p, const ProtobufCMessage *out, size_t n)
{
    if (n) {
        *p++ = 0x1a;
        p = varint_put(p, n);
        protobuf_c_message_pack(out, p);
    }
}

uint8_t *
rt_body_ok(rt_arena *a, const ProtobufCMessage *out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(out);
    size_t total = n ? 1 + varint_len(n) + n : 0;
    uint8_t *b = rt_arena_alloc(a, total ? total : 1);
    if (b == NULL)
        return NULL;
    payload_put(b, out, n);
    *len = total;
    return b;
}

nng_msg *
rt_reply_ok_msg(uint64_t call_id, const ProtobufCMessage *out)
{
    size_t n = protobuf_c_message_get_packed_size(out);
    size_t body = n ? 1 + varint_len(n) + n : 0;
    nng_msg *m;
    if (nng_msg_alloc(&m, call_id_len(call_id) + body) != 0)
        return NULL;
    payload_put(call_id_put(nng_msg_body(m), call_id), out, n);
    return m;
}

uint8_t *
rt_body_status(int code, const char *message, const rt_txn *t, size_t *len)
{
    Civic__Rpc__V1__Status st = CIVIC__RPC__V1__STATUS__INIT;
    Civic__Rpc__V1__FieldViolation fv[RT_TXN_VIOLATIONS], *fvp[RT_TXN_VIOLATIONS];
    st.code = code;
    st.message = civic_unconst(message);
    for (size_t i = 0; t != NULL && i < t->n_violations; i++) {
        civic__rpc__v1__field_violation__init(&fv[i]);
        fv[i].field = civic_unconst(t->violations[i].field);
        fv[i].description = civic_unconst(t->violations[i].description);
        fvp[i] = &fv[i];
        st.n_violations++;
    }
    st.violations = fvp;
    size_t n = civic__rpc__v1__status__get_packed_size(&st);
    uint8_t *b = malloc(1 + varint_len(n) + n);
    if (b == NULL)
        return NULL;
    uint8_t *p = b;
    *p++ = 0x12;
    p = varint_put(p, n);
    civic__rpc__v1__status__pack(&st, p);
    *len = (size_t) (p - b) + n;
    return b;
}
