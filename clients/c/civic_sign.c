// Identity signatures with mbedTLS's SHA-256 and HMAC.
#include "civic_sign.h"

#include <errno.h>
#include <inttypes.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>

int
civic_key_load(civic_key *key, const char *path, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *why = strerror(errno);
        return -1;
    }
    key->len = fread(key->bytes, 1, sizeof key->bytes, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    while (key->len > 0 && (key->bytes[key->len - 1] == '\n' || key->bytes[key->len - 1] == ' ' ||
                            key->bytes[key->len - 1] == '\r' || key->bytes[key->len - 1] == '\t'))
        key->len--;
    if (more) {
        *why = "key file longer than 256 bytes";
        return -1;
    }
    if (key->len < 16) {
        *why = "key shorter than 16 bytes";
        return -1;
    }
    return 0;
}

static void
to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void
civic_sign(const civic_key *key, const char *method, uint64_t call_id, const char *principal,
           const char *role, const void *payload, size_t payload_len, char hex[CIVIC_SIG_HEX])
{
    unsigned char digest[32], mac[32];
    char phex[65], id[24];
    mbedtls_sha256_ret(payload, payload_len, digest, 0);
    to_hex(digest, 32, phex);
    snprintf(id, sizeof id, "%" PRIu64, call_id);

    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    mbedtls_md_setup(&ctx, md, 1);
    mbedtls_md_hmac_starts(&ctx, key->bytes, key->len);
    const char *parts[] = {method, id, principal, role, phex};
    for (size_t i = 0; i < 5; i++) {
        if (i > 0)
            mbedtls_md_hmac_update(&ctx, (const unsigned char *) "\n", 1);
        mbedtls_md_hmac_update(&ctx, (const unsigned char *) parts[i], strlen(parts[i]));
    }
    mbedtls_md_hmac_finish(&ctx, mac);
    mbedtls_md_free(&ctx);
    to_hex(mac, 32, hex);
}

int
civic_sign_check(const civic_key *key, const char *method, uint64_t call_id, const char *principal,
                 const char *role, const void *payload, size_t payload_len, const char *hex)
{
    char want[CIVIC_SIG_HEX];
    civic_sign(key, method, call_id, principal, role, payload, payload_len, want);
    if (strlen(hex) != 64)
        return 0;
    unsigned char diff = 0;
    for (size_t i = 0; i < 64; i++)
        diff |= (unsigned char) (want[i] ^ hex[i]);
    return diff == 0;
}
