// The one table of status names.
#include "civic_status.h"

#include <string.h>

static const char *const names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *
civic_code_name(int code)
{
    if (code < 0 || code >= (int) (sizeof names / sizeof names[0]))
        return "UNKNOWN";
    return names[code];
}

int
civic_code_parse(const char *s)
{
    for (int i = 0; i < (int) (sizeof names / sizeof names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}
