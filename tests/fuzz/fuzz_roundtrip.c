// fuzz_roundtrip: for every message type of the generated code (civic's and
// the well-known types'): bytes that unpack must pack, and that packing must
// unpack and pack again to the same bytes (unpack -> pack -> unpack equal).
// Input: bytes 0-1 pick the message type, the rest is the encoding.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// has_tag0 tells whether m or a message in it kept an unknown field numbered
// 0. protobuf-c 1.4.1 (Debian's) accepts field number 0 when its tag is a
// non-minimal varint (80 00), keeps it as an unknown field and packs it back
// as 00, which it then refuses: the round trip breaks. Protobuf forbids field
// 0; newer protobuf-c refuses it on unpack. Found by this target
// (regressions/fuzz_roundtrip/tag0-*): tolerated, and counted, only with a
// protobuf-c older than 1.5.1.
static int
has_tag0(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return 1;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *) m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
            *(const uint32_t *) (const void *) (base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) (const void *) (base + f->quantifier_offset);
            ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *) (const void *) (base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (has_tag0(v[j]))
                    return 1;
        } else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *) (const void *) (base + f->offset);
            if (sub != NULL && has_tag0(sub))
                return 1;
        }
    }
    return 0;
}

static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf == NULL)
        fz_die("out of memory");
    size_t got = protobuf_c_message_pack(m, buf);
    if (got != *len)
        fz_die("%s: packed %zu bytes, get_packed_size said %zu", m->descriptor->name, got, *len);
    return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return -1;
    const ProtobufCMessageDescriptor *d =
        fuzz_descriptors[((size_t) data[0] << 8 | data[1]) % fuzz_n_descriptors];
    ProtobufCMessage *m1 = protobuf_c_message_unpack(d, NULL, size - 2, data + 2);
    if (m1 == NULL)
        return 0;
    if (has_tag0(m1)) {
        if (PROTOBUF_C_VERSION_NUMBER >= 1005001)
            fz_die("%s: protobuf-c %s accepted field number 0", d->name, PROTOBUF_C_VERSION);
        protobuf_c_message_free_unpacked(m1, NULL);
        return 0;
    }
    size_t n1, n2;
    uint8_t *b1 = pack(m1, &n1);
    ProtobufCMessage *m2 = protobuf_c_message_unpack(d, NULL, n1, b1);
    if (m2 == NULL)
        fz_die("%s: its own packing (%zu bytes) does not unpack", d->name, n1);
    uint8_t *b2 = pack(m2, &n2);
    if (n1 != n2 || memcmp(b1, b2, n1) != 0)
        fz_die("%s: unpack -> pack -> unpack -> pack differs (%zu vs %zu bytes)", d->name, n1, n2);
    protobuf_c_message_free_unpacked(m1, NULL);
    protobuf_c_message_free_unpacked(m2, NULL);
    free(b1);
    free(b2);
    return 0;
}
