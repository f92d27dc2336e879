// civic_status: the gRPC canonical status codes civicgrid speaks, with their
// names. Every function in the client library and the runtime that can fail
// for a reason a caller must see returns one of these (0 is OK).
#ifndef CIVIC_STATUS_H
#define CIVIC_STATUS_H

typedef enum civic_code {
    CIVIC_OK = 0,
    CIVIC_CANCELLED = 1,
    CIVIC_UNKNOWN = 2,
    CIVIC_INVALID_ARGUMENT = 3,
    CIVIC_DEADLINE_EXCEEDED = 4,
    CIVIC_NOT_FOUND = 5,
    CIVIC_ALREADY_EXISTS = 6,
    CIVIC_PERMISSION_DENIED = 7,
    CIVIC_RESOURCE_EXHAUSTED = 8,
    CIVIC_FAILED_PRECONDITION = 9,
    CIVIC_ABORTED = 10,
    CIVIC_OUT_OF_RANGE = 11,
    CIVIC_UNIMPLEMENTED = 12,
    CIVIC_INTERNAL = 13,
    CIVIC_UNAVAILABLE = 14,
    CIVIC_DATA_LOSS = 15,
    CIVIC_UNAUTHENTICATED = 16,
} civic_code;

// civic_code_name returns "OK", "INVALID_ARGUMENT", … for a code, and
// "UNKNOWN" for a number outside the table. The string is static.
const char *civic_code_name(int code);

// civic_code_parse returns the code whose name is s, or -1.
int civic_code_parse(const char *s);

#endif
