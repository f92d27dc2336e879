// rt_strbuf: a growing text buffer on the heap, for building the admin
// server's responses. A failed allocation is sticky: later appends do
// nothing and failed is set, so a caller checks once at the end.
#ifndef RT_STRBUF_H
#define RT_STRBUF_H

#include <stddef.h>

typedef struct rt_strbuf {
    char *buf; // NUL-terminated once anything was appended; malloc'd
    size_t len, cap;
    int failed;
} rt_strbuf;

// rt_strbuf_printf appends formatted text.
void rt_strbuf_printf(rt_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// rt_strbuf_take returns the text (the caller frees it with free()) and
// leaves b empty; NULL when an append failed. rt_strbuf_fini frees b's text.
char *rt_strbuf_take(rt_strbuf *b, size_t *len);
void rt_strbuf_fini(rt_strbuf *b);

#endif
