// rt_callstats: per-method call counters for /metrics — calls by status
// code and a latency histogram — updated with relaxed atomics on the call's
// own thread, so counting costs a few uncontended increments per call.
//
// Methods are looked up by name in a bounded table: a method the server
// hosts is added at start (its route keeps the pointer); others (the
// gateway's forwarded calls) are added on first use, but only if the
// compiled descriptors declare them and the table has room. Every other
// name counts under method="unknown", so a caller cannot grow the table.
#ifndef RT_CALLSTATS_H
#define RT_CALLSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "rt_strbuf.h"

typedef struct rt_callstats rt_callstats;
typedef struct rt_calltable rt_calltable;

// rt_calltable_new makes a table with room for max methods; NULL without
// memory. rt_calltable_free frees it and every entry (NULL does nothing).
rt_calltable *rt_calltable_new(size_t max);
void rt_calltable_free(rt_calltable *t);

// rt_calltable_get returns method's counters, adding them if need be (see
// above); the "unknown" entry for NULL, undeclared methods or a full table.
// The pointer lives as long as the table. Safe from any thread.
rt_callstats *rt_calltable_get(rt_calltable *t, const char *method);

// rt_callstats_record counts one call answered with code after ns.
void rt_callstats_record(rt_callstats *s, int code, int64_t ns);

// rt_calltable_print appends civic_calls_total and
// civic_call_duration_seconds for every method that was called.
void rt_calltable_print(rt_calltable *t, rt_strbuf *out);

#endif
