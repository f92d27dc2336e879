// rt_key: LMDB key encodings. Keys sort the way queries read them, so every
// integer is big-endian and a composite key is its parts side by side:
//
//     rt_key k; rt_key_init(&k);
//     rt_key_u64(&k, grid_id); rt_key_u64(&k, point_id);   // points by grid
//
// Strings inside a composite key end with a NUL so that "ab" sorts before
// "abc…" and a prefix scan stays exact. A key holds at most 511 bytes, LMDB's
// default limit; a longer one is flagged, never silently truncated.
#ifndef RT_KEY_H
#define RT_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RT_KEY_MAX 511

typedef struct rt_key {
    size_t len;
    int overflow;
    unsigned char b[RT_KEY_MAX];
} rt_key;

static inline void
rt_key_init(rt_key *k)
{
    k->len = 0;
    k->overflow = 0;
}

static inline void
rt_be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char) v;
        v >>= 8;
    }
}

static inline uint64_t
rt_be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void
rt_be32_put(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

static inline uint32_t
rt_be32_get(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static inline void
rt_key_bytes(rt_key *k, const void *p, size_t n)
{
    if (k->len + n > RT_KEY_MAX) {
        k->overflow = 1;
        return;
    }
    memcpy(k->b + k->len, p, n);
    k->len += n;
}

static inline void
rt_key_u64(rt_key *k, uint64_t v)
{
    unsigned char b[8];
    rt_be64_put(b, v);
    rt_key_bytes(k, b, 8);
}

static inline void
rt_key_u32(rt_key *k, uint32_t v)
{
    unsigned char b[4];
    rt_be32_put(b, v);
    rt_key_bytes(k, b, 4);
}

// rt_key_i64 encodes a signed value so that negative ones sort first.
static inline void
rt_key_i64(rt_key *k, int64_t v)
{
    rt_key_u64(k, (uint64_t) v ^ ((uint64_t) 1 << 63));
}

// rt_key_str appends s and its NUL.
static inline void
rt_key_str(rt_key *k, const char *s)
{
    rt_key_bytes(k, s, strlen(s) + 1);
}

// rt_key_prefix_str appends s without its NUL: a prefix for a range scan.
static inline void
rt_key_prefix_str(rt_key *k, const char *s)
{
    rt_key_bytes(k, s, strlen(s));
}

// rt_page_token_encode writes key as an opaque page token (URL-safe base64,
// no padding) into out, which must hold 4 * ((n + 2) / 3) + 1 bytes.
void rt_page_token_encode(const void *key, size_t n, char *out);

// rt_page_token_decode decodes a token into k. Returns 0, or -1 if the token
// is not one this service could have written.
int rt_page_token_decode(const char *token, rt_key *k);

#endif
