// Page tokens: the key to resume from, URL-safe base64.
#include "rt_key.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
rt_page_token_encode(const void *key, size_t n, char *out)
{
    const unsigned char *p = key;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t) p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = alphabet[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = alphabet[v & 63];
    }
    out[o] = '\0';
}

static int
sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int
rt_page_token_decode(const char *token, rt_key *k)
{
    rt_key_init(k);
    size_t n = strlen(token);
    if (n == 0 || n % 4 == 1)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int s = sextet(token[i]);
        if (s < 0)
            return -1;
        acc = (acc << 6) | (uint32_t) s;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            unsigned char b = (unsigned char) (acc >> bits);
            rt_key_bytes(k, &b, 1);
        }
    }
    // Leftover bits must be zero in a token we wrote.
    if ((acc & ((1u << bits) - 1)) != 0 || k->overflow)
        return -1;
    return 0;
}
