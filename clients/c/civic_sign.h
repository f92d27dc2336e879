// civic_sign: the signature the gateway puts on the caller's identity, and
// that back ends check. HMAC-SHA256, keyed with the internal key, over
//
//     method "\n" call_id "\n" principal "\n" role "\n" hex(sha256(payload))
//
// (call_id in decimal), sent lower-case hex in the "x-civic-signature"
// metadata beside "x-civic-principal" and "x-civic-role". Binding the method,
// the call id and the payload's hash means a signature cannot be moved to
// another call body; it does not stop a replay of the whole message by
// someone on the internal network (keep that network internal, or use TLS).
#ifndef CIVIC_SIGN_H
#define CIVIC_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define CIVIC_KEY_MAX 256
#define CIVIC_SIG_HEX 65 // 64 hex digits and a NUL

typedef struct civic_key {
    unsigned char bytes[CIVIC_KEY_MAX];
    size_t len;
} civic_key;

// civic_key_load reads a key file (at least 16 bytes; trailing white space is
// not part of the key). Returns 0, or -1 with errno-like reason in *why.
int civic_key_load(civic_key *key, const char *path, const char **why);

// civic_sign writes the signature of one call's identity to hex (65 bytes).
void civic_sign(const civic_key *key, const char *method, uint64_t call_id,
                const char *principal, const char *role, const void *payload,
                size_t payload_len, char hex[CIVIC_SIG_HEX]);

// civic_sign_check returns 1 if hex is the right signature, in constant time.
int civic_sign_check(const civic_key *key, const char *method, uint64_t call_id,
                     const char *principal, const char *role, const void *payload,
                     size_t payload_len, const char *hex);

#endif
