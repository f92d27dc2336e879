// fuzz_seeds DIR: writes seed corpora of real messages for every fuzz target
// under DIR/<target>/: each back end's every method's request, filled field by
// field (fz_fill), as a dispatch input and as a whole envelope; and every
// message type, filled, for the round trips.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "rt_server.h"

static void
put(const char *dir, const char *target, unsigned n, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        fz_die("mkdir %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s/seed-%05u", dir, target, n);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
        fclose(f) != 0)
        fz_die("write %s failed", path);
}

int
main(int argc, char **argv)
{
    if (argc != 2)
        fz_die("usage: fuzz_seeds DIR");
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST)
        fz_die("mkdir %s: %s", argv[1], strerror(errno));
    rt_arena a;
    rt_arena_init(&a, (size_t) 64 << 20);
    unsigned n = 0;
    for (int svc = 0; svc < FZ_N_SERVICES; svc++) {
        const ProtobufCServiceDescriptor *sd = fz_service_desc(svc);
        for (unsigned mi = 0; mi < sd->n_methods; mi++) {
            for (unsigned salt = 0; salt < 2; salt++) {
                rt_arena_reset(&a);
                const ProtobufCMessageDescriptor *in = sd->methods[mi].input;
                ProtobufCMessage *m = rt_arena_alloc(&a, in->sizeof_message);
                protobuf_c_message_init(in, m);
                if (salt)
                    fz_fill(in, m, &a, 3, salt * 7);
                size_t len = protobuf_c_message_get_packed_size(m);
                uint8_t *payload = rt_arena_alloc(&a, len + 1);
                protobuf_c_message_pack(m, payload);
                uint8_t head[4] = {(uint8_t) svc, (uint8_t) mi, RT_ROLE_ADMIN, 0};
                put(argv[1], "fuzz_dispatch", n, head, 4, payload, len);
                uint8_t *env = NULL;
                size_t elen = fz_envelope(svc, mi, RT_ROLE_ADMIN, salt, payload, len, &env, NULL);
                put(argv[1], "fuzz_envelope", n, env, elen, NULL, 0);
                free(env);
                n++;
            }
        }
    }
    for (size_t i = 0; i < fuzz_n_descriptors; i++) {
        rt_arena_reset(&a);
        const ProtobufCMessageDescriptor *d = fuzz_descriptors[i];
        ProtobufCMessage *m = rt_arena_alloc(&a, d->sizeof_message);
        protobuf_c_message_init(d, m);
        fz_fill(d, m, &a, 3, (unsigned) i);
        size_t len = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = rt_arena_alloc(&a, len + 1);
        protobuf_c_message_pack(m, buf);
        uint8_t head[2] = {(uint8_t) (i >> 8), (uint8_t) i};
        put(argv[1], "fuzz_roundtrip", (unsigned) i, head, 2, buf, len);
    }
    rt_arena_fini(&a);
    printf("fuzz_seeds: %u dispatch and envelope seeds, %zu round-trip seeds in %s\n", n,
           fuzz_n_descriptors, argv[1]);
    return 0;
}
