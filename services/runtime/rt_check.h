// rt_check: validation and small domain helpers every service uses. Each
// check records a field violation on the transaction (INVALID_ARGUMENT with
// the field's path) and returns 0 when the value is bad, 1 when it is good,
// so a handler can check every field and report them all at once.
#ifndef RT_CHECK_H
#define RT_CHECK_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_store.h"

struct Google__Protobuf__Timestamp;
struct Google__Protobuf__FieldMask;

// rt_check_str: s is valid UTF-8 of at most max bytes, and not empty when
// required.
int rt_check_str(rt_txn *t, const char *field, const char *s, size_t max, int required);

// rt_check_enum: value is one of desc's values, and not 0 (UNSPECIFIED) when
// required.
int rt_check_enum(rt_txn *t, const char *field, const ProtobufCEnumDescriptor *desc, int value,
                  int required);

// rt_check_phone: a mainland China mobile number, 11 digits starting 13–19
// (an optional "+86" or "86" prefix is accepted; required or empty).
int rt_check_phone(rt_txn *t, const char *field, const char *phone, int required);

// rt_phone_normalize returns the 11 digits of a valid phone in the arena.
char *rt_phone_normalize(rt_txn *t, const char *phone);

// rt_phone_mask returns "138****5678" for "13812345678" (in the arena); any
// other non-empty text is masked whole as "****".
char *rt_phone_mask(rt_txn *t, const char *phone);
// rt_phone_masked does the same into out, for a reply built outside a call.
#define RT_PHONE_MASKED 12
void rt_phone_masked(const char *phone, char out[RT_PHONE_MASKED]);

// rt_check_uri: an evidence reference, "https://…" or "s3://bucket/key",
// without spaces or control characters, at most 1024 bytes.
int rt_check_uri(rt_txn *t, const char *field, const char *uri);

// rt_check_latlng: lat in [-90, 90] and lng in [-180, 180], both finite.
int rt_check_latlng(rt_txn *t, const char *field, double lat, double lng);

// rt_distance_m returns the great-circle distance between two points.
double rt_distance_m(double lat1, double lng1, double lat2, double lng2);

// Time. Instants are Unix milliseconds in UTC; the campaign's local day is
// YYYYMMDD at tz_offset_min minutes east of UTC.
int32_t rt_local_day(int64_t unix_ms, int tz_offset_min);
// rt_day_start_ms returns the first instant of a local day.
int64_t rt_day_start_ms(int32_t day, int tz_offset_min);
// rt_day_valid returns 1 if day is a real calendar date as YYYYMMDD between
// 2000 and 2999, else 0. rt_check_day is the same check as a violation of
// field on t (returns 1 if valid).
int rt_day_valid(int32_t day);
int rt_check_day(rt_txn *t, const char *field, int32_t day);
// rt_day_add returns the day n days after (or before) day.
int32_t rt_day_add(int32_t day, int n);

// rt_ts_ms converts a Timestamp to Unix ms (NULL gives fallback).
int64_t rt_ts_ms(const struct Google__Protobuf__Timestamp *ts, int64_t fallback);
// rt_ts_new makes a Timestamp in the arena.
struct Google__Protobuf__Timestamp *rt_ts_new(rt_txn *t, int64_t unix_ms);
// rt_check_ts: seconds and nanos within protobuf's Timestamp range.
int rt_check_ts(rt_txn *t, const char *field, const struct Google__Protobuf__Timestamp *ts);

// rt_mask_check: every path of mask is one of allowed (NULL-terminated), and
// the mask is not empty. Violations name "update_mask".
int rt_mask_check(rt_txn *t, const struct Google__Protobuf__FieldMask *mask,
                  const char *const *allowed);
// rt_mask_has tells whether mask names path.
int rt_mask_has(const struct Google__Protobuf__FieldMask *mask, const char *path);

// rt_audit is what an index checker carries: its read transaction and the
// first disagreement it found (written to err, n bytes).
typedef struct rt_audit {
    rt_txn *t;
    char *err;
    size_t n;
    int bad;
} rt_audit;

// rt_audit_bad records a disagreement (only the first one's text is kept)
// and returns -1.
int rt_audit_bad(rt_audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// rt_audit_failed tells whether a disagreement or a store error was met.
int rt_audit_failed(const rt_audit *a);

#endif
