// A growing text buffer (see rt_strbuf.h).
#include "rt_strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
rt_strbuf_printf(rt_strbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->buf != NULL && (size_t) n < room) {
            b->len += (size_t) n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= (size_t) n)
            cap *= 2;
        char *p = realloc(b->buf, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->buf = p;
        b->cap = cap;
    }
}

char *
rt_strbuf_take(rt_strbuf *b, size_t *len)
{
    char *p = b->failed ? NULL : b->buf;
    if (p == NULL)
        free(b->buf);
    if (!b->failed && p == NULL)
        p = calloc(1, 1); // nothing appended: an empty string
    *len = p ? b->len : 0;
    b->buf = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return p;
}

void
rt_strbuf_fini(rt_strbuf *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}
