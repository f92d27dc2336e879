// fuzz_dispatch: every method of every back end (points, tasks, volunteers)
// through the real server's dispatch to its real handlers, on real stores in
// a temporary directory, reset every CIVIC_FUZZ_RESET runs (default 2000).
// Input: byte 0 the service, byte 1 the method, byte 2 the caller's role,
// byte 3 flags (1: idempotency-key, 2: a 1 ms deadline), the rest the
// payload. A reply must come, decode as a Response, and when OK carry a
// payload that decodes as the method's output; nothing may crash.
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long runs, reset_every = 2000;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (getenv("CIVIC_FUZZ_RESET"))
        reset_every = strtoul(getenv("CIVIC_FUZZ_RESET"), NULL, 10);
    fz_start();
    atexit(fz_stop);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return -1;
    if (reset_every && ++runs % reset_every == 0)
        fz_reset();
    int svc = data[0] % FZ_N_SERVICES;
    uint8_t *msg = NULL, *reply = NULL;
    const ProtobufCMessageDescriptor *out = NULL;
    size_t len = fz_envelope(svc, data[1], data[2], data[3], data + 4, size - 4, &msg, &out);
    long n = fz_call(svc, msg, len, &reply);
    if (n < 0)
        fz_die("no reply within 20 s");
    fz_check_reply(reply, (size_t) n, out);
    free(msg);
    free(reply);
    return 0;
}
