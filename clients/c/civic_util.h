// civic_util: small helpers shared by the client library and the runtime.
#ifndef CIVIC_UTIL_H
#define CIVIC_UTIL_H

#include <stdint.h>

// civic_unconst gives a const string to a protobuf-c field (which is
// declared char * but is only read while packing).
static inline char *
civic_unconst(const char *s)
{
    return (char *) (uintptr_t) s;
}

#endif
