// rt_arena: a per-call bump allocator with a budget. The dispatcher unpacks a
// request into it (as a ProtobufCAllocator whose free does nothing), the
// handler builds its response in it, and the whole call's memory goes at
// once when the call ends. The first chunk is kept between calls, so a small
// call allocates nothing from the heap. Not thread-safe: one call at a time.
#ifndef RT_ARENA_H
#define RT_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct rt_chunk rt_chunk;

typedef struct rt_arena {
    rt_chunk *chunks;  // extra chunks, newest first
    char *cur;         // free space in the current chunk
    size_t left;
    size_t used;       // bytes handed out since the last reset
    size_t budget;     // used may not pass this
    int exhausted;     // an allocation failed for the budget since the reset
    ProtobufCAllocator pb;
    _Alignas(16) char first[8192];
} rt_arena;

// rt_arena_init prepares a (caller-owned) arena with the given budget in bytes.
void rt_arena_init(rt_arena *a, size_t budget);

// rt_arena_fini frees the arena's heap chunks.
void rt_arena_fini(rt_arena *a);

// rt_arena_reset frees everything allocated since the last reset.
void rt_arena_reset(rt_arena *a);

// rt_arena_alloc returns n bytes aligned to 16, valid until the next reset, or
// NULL when the budget or the heap is exhausted (then a->exhausted is set).
void *rt_arena_alloc(rt_arena *a, size_t n);

// rt_arena_strdup copies s (NULL gives NULL), or returns NULL when exhausted.
char *rt_arena_strdup(rt_arena *a, const char *s);

// rt_arena_printf formats into the arena.
char *rt_arena_printf(rt_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
