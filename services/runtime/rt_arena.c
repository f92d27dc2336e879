// Bump allocation in chunks that double in size, within a budget.
#include "rt_arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_chunk {
    rt_chunk *next;
    size_t size;
    _Alignas(16) char data[];
};

static void *
pb_alloc(void *data, size_t n)
{
    return rt_arena_alloc(data, n);
}

static void
pb_free(void *data, void *p)
{
    (void) data;
    (void) p;
}

void
rt_arena_init(rt_arena *a, size_t budget)
{
    a->chunks = NULL;
    a->budget = budget;
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
    rt_arena_reset(a);
}

void
rt_arena_reset(rt_arena *a)
{
    rt_chunk *c = a->chunks;
    while (c != NULL) {
        rt_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->chunks = NULL;
    a->cur = a->first;
    a->left = sizeof a->first;
    a->used = 0;
    a->exhausted = 0;
}

void
rt_arena_fini(rt_arena *a)
{
    rt_arena_reset(a);
}

void *
rt_arena_alloc(rt_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t) 15;
    if (n == 0)
        n = 16;
    if (n > a->budget || a->used > a->budget - n) {
        a->exhausted = 1;
        return NULL;
    }
    if (n > a->left) {
        size_t size = a->chunks ? a->chunks->size * 2 : sizeof a->first * 2;
        if (size < n)
            size = n;
        rt_chunk *c = malloc(sizeof *c + size);
        if (c == NULL) {
            a->exhausted = 1;
            return NULL;
        }
        c->size = size;
        c->next = a->chunks;
        a->chunks = c;
        a->cur = c->data;
        a->left = size;
    }
    void *p = a->cur;
    a->cur += n;
    a->left -= n;
    a->used += n;
    return p;
}

char *
rt_arena_strdup(rt_arena *a, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = rt_arena_alloc(a, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

char *
rt_arena_printf(rt_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = rt_arena_alloc(a, (size_t) n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return p;
}
