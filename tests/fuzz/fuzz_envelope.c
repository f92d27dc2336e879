// fuzz_envelope: any bytes, as a whole request message, into a back end's
// real server (envelope decode, metadata checks, identity, routing, payload
// decode, handlers): a reply that decodes as a Response must come back, and
// nothing may crash. The same bytes are first decoded as the server does,
// with Request's unpack into an rt_arena with the server's 16 MiB budget.
// The stores are reset every CIVIC_FUZZ_RESET runs (default 10000).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rt_arena arena;
static unsigned long runs, reset_every = 10000;

static void
at_exit(void)
{
    fz_stop();
    rt_arena_fini(&arena);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (getenv("CIVIC_FUZZ_RESET"))
        reset_every = strtoul(getenv("CIVIC_FUZZ_RESET"), NULL, 10);
    rt_arena_init(&arena, (size_t) 16 << 20);
    fz_start();
    atexit(at_exit);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (reset_every && ++runs % reset_every == 0)
        fz_reset();
    rt_arena_reset(&arena);
    int svc = FZ_POINTS;
    Civic__Rpc__V1__Request *req = civic__rpc__v1__request__unpack(&arena.pb, size, data);
    if (req != NULL) {
        // Touch everything the server reads, so a bad pointer shows here.
        size_t total = strlen(req->method);
        for (size_t i = 0; i < req->n_metadata; i++)
            total += strlen(req->metadata[i]->key) + strlen(req->metadata[i]->value);
        for (size_t i = 0; i < req->payload.len; i++)
            total += req->payload.data[i];
        if (total == (size_t) -1)
            abort();
        if (strstr(req->method, "civic.tasks.") != NULL)
            svc = FZ_TASKS;
        else if (strstr(req->method, "civic.volunteers.") != NULL)
            svc = FZ_VOLUNTEERS;
    }
    uint8_t *reply = NULL;
    long n = fz_call(svc, data, size, &reply);
    if (n < 0)
        fz_die("no reply within 20 s to a %zu-byte request", size);
    fz_check_reply(reply, (size_t) n, NULL);
    free(reply);
    return 0;
}
