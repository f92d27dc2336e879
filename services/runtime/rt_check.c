// Field checks, phone masking, local days and timestamps.
#include "rt_check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

static int
utf8_valid(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s;
        int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0 || (n == 1 && c < 0xc2) || (c == 0xf4 && (s[1] & 0xff) > 0x8f) || c > 0xf4)
            return 0;
        if (c == 0xe0 && n == 2 && s[1] < 0xa0)
            return 0;
        if (c == 0xed && n == 2 && s[1] > 0x9f)
            return 0; // surrogates
        if (c == 0xf0 && n == 3 && s[1] < 0x90)
            return 0;
        s++;
        for (int i = 0; i < n; i++, s++)
            if ((*s & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

int
rt_check_str(rt_txn *t, const char *field, const char *s, size_t max, int required)
{
    if (s == NULL || s[0] == '\0') {
        if (required) {
            rt_txn_violation(t, field, "is required");
            return 0;
        }
        return 1;
    }
    size_t n = strlen(s);
    if (n > max) {
        rt_txn_violation(t, field, "is %zu bytes, more than the %zu allowed", n, max);
        return 0;
    }
    if (!utf8_valid((const unsigned char *) s)) {
        rt_txn_violation(t, field, "is not valid UTF-8");
        return 0;
    }
    return 1;
}

int
rt_check_enum(rt_txn *t, const char *field, const ProtobufCEnumDescriptor *desc, int value,
              int required)
{
    if (value == 0) {
        if (required) {
            rt_txn_violation(t, field, "is required (one of the %s values)", desc->short_name);
            return 0;
        }
        return 1;
    }
    if (protobuf_c_enum_descriptor_get_value(desc, value) == NULL) {
        rt_txn_violation(t, field, "%d is not a %s value", value, desc->short_name);
        return 0;
    }
    return 1;
}

static const char *
phone_digits(const char *p)
{
    if (strncmp(p, "+86", 3) == 0)
        return p + 3;
    if (strncmp(p, "86", 2) == 0 && strlen(p) == 13)
        return p + 2;
    return p;
}

int
rt_check_phone(rt_txn *t, const char *field, const char *phone, int required)
{
    if (phone == NULL || phone[0] == '\0') {
        if (required)
            rt_txn_violation(t, field, "is required");
        return !required;
    }
    const char *d = phone_digits(phone);
    int ok = strlen(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
    for (int i = 0; ok && i < 11; i++)
        ok = d[i] >= '0' && d[i] <= '9';
    if (!ok)
        rt_txn_violation(t, field, "is not a mainland China mobile number (11 digits, 13x–19x)");
    return ok;
}

char *
rt_phone_normalize(rt_txn *t, const char *phone)
{
    return rt_strdup(t, phone && phone[0] ? phone_digits(phone) : "");
}

char *
rt_phone_mask(rt_txn *t, const char *phone)
{
    char m[RT_PHONE_MASKED];
    rt_phone_masked(phone, m);
    return rt_strdup(t, m);
}

void
rt_phone_masked(const char *phone, char out[RT_PHONE_MASKED])
{
    if (phone == NULL || phone[0] == '\0') {
        out[0] = '\0';
    } else if (strlen(phone) != 11) {
        memcpy(out, "****", 5);
    } else {
        memcpy(out, phone, 3);
        memcpy(out + 3, "****", 4);
        memcpy(out + 7, phone + 7, 5);
    }
}

int
rt_check_uri(rt_txn *t, const char *field, const char *uri)
{
    if (!rt_check_str(t, field, uri, 1024, 1))
        return 0;
    const char *rest = NULL;
    if (strncmp(uri, "https://", 8) == 0)
        rest = uri + 8;
    else if (strncmp(uri, "s3://", 5) == 0)
        rest = uri + 5;
    if (rest == NULL || rest[0] == '\0' || rest[0] == '/') {
        rt_txn_violation(t, field, "must be an https:// or s3:// reference with a host or bucket");
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *) uri; *p; p++)
        if (*p <= 0x20 || *p == 0x7f) {
            rt_txn_violation(t, field, "must not contain spaces or control characters");
            return 0;
        }
    return 1;
}

int
rt_check_latlng(rt_txn *t, const char *field, double lat, double lng)
{
    char f[160];
    int ok = 1;
    if (!isfinite(lat) || lat < -90 || lat > 90) {
        snprintf(f, sizeof f, "%s.lat", field);
        rt_txn_violation(t, f, "must be between -90 and 90");
        ok = 0;
    }
    if (!isfinite(lng) || lng < -180 || lng > 180) {
        snprintf(f, sizeof f, "%s.lng", field);
        rt_txn_violation(t, f, "must be between -180 and 180");
        ok = 0;
    }
    return ok;
}

double
rt_distance_m(double lat1, double lng1, double lat2, double lng2)
{
    const double r = 6371008.8, rad = M_PI / 180;
    double dlat = (lat2 - lat1) * rad, dlng = (lng2 - lng1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlng / 2) * sin(dlng / 2);
    return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}

// Days from the civil calendar (Howard Hinnant's algorithms), so no time
// zone database or locale is involved.
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned) (y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

static int32_t
civil_from_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned) (z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t) yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    return (int32_t) (y * 10000 + m * 100 + d);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int32_t
rt_local_day(int64_t unix_ms, int tz_offset_min)
{
    return civil_from_days(floor_div(unix_ms + (int64_t) tz_offset_min * 60000, 86400000));
}

int64_t
rt_day_start_ms(int32_t day, int tz_offset_min)
{
    int64_t days = days_from_civil(day / 10000, (unsigned) (day / 100 % 100), (unsigned) (day % 100));
    return days * 86400000 - (int64_t) tz_offset_min * 60000;
}

int32_t
rt_day_add(int32_t day, int n)
{
    return civil_from_days(days_from_civil(day / 10000, (unsigned) (day / 100 % 100),
                                           (unsigned) (day % 100)) + n);
}

int
rt_day_valid(int32_t day)
{
    int y = day / 10000, m = day / 100 % 100, d = day % 100;
    return !(y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 || d > 31 ||
             civil_from_days(days_from_civil(y, (unsigned) m, (unsigned) d)) != day);
}

int
rt_check_day(rt_txn *t, const char *field, int32_t day)
{
    if (!rt_day_valid(day)) {
        rt_txn_violation(t, field, "%d is not a date as YYYYMMDD", day);
        return 0;
    }
    return 1;
}

int64_t
rt_ts_ms(const Google__Protobuf__Timestamp *ts, int64_t fallback)
{
    if (ts == NULL)
        return fallback;
    return ts->seconds * 1000 + ts->nanos / 1000000;
}

Google__Protobuf__Timestamp *
rt_ts_new(rt_txn *t, int64_t unix_ms)
{
    Google__Protobuf__Timestamp *ts = rt_alloc(t, sizeof *ts);
    if (ts == NULL)
        return NULL;
    google__protobuf__timestamp__init(ts);
    ts->seconds = floor_div(unix_ms, 1000);
    ts->nanos = (int32_t) (unix_ms - ts->seconds * 1000) * 1000000;
    return ts;
}

int
rt_check_ts(rt_txn *t, const char *field, const Google__Protobuf__Timestamp *ts)
{
    // 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, as protobuf defines.
    if (ts != NULL && (ts->seconds < -62135596800LL || ts->seconds > 253402300799LL ||
                       ts->nanos < 0 || ts->nanos > 999999999)) {
        rt_txn_violation(t, field, "is outside the Timestamp range");
        return 0;
    }
    return 1;
}

int
rt_mask_check(rt_txn *t, const Google__Protobuf__FieldMask *mask, const char *const *allowed)
{
    if (mask == NULL || mask->n_paths == 0) {
        rt_txn_violation(t, "update_mask", "is required: name the fields to change");
        return 0;
    }
    int ok = 1;
    for (size_t i = 0; i < mask->n_paths; i++) {
        int found = 0;
        for (size_t j = 0; allowed[j] != NULL; j++)
            found |= strcmp(mask->paths[i], allowed[j]) == 0;
        if (!found) {
            rt_txn_violation(t, "update_mask", "\"%.80s\" cannot be updated", mask->paths[i]);
            ok = 0;
        }
    }
    return ok;
}

int
rt_mask_has(const Google__Protobuf__FieldMask *mask, const char *path)
{
    for (size_t i = 0; mask != NULL && i < mask->n_paths; i++)
        if (strcmp(mask->paths[i], path) == 0)
            return 1;
    return 0;
}

int
rt_audit_bad(rt_audit *a, const char *fmt, ...)
{
    if (!a->bad && a->n > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->err, a->n, fmt, ap);
        va_end(ap);
    }
    a->bad = 1;
    return -1;
}

int
rt_audit_failed(const rt_audit *a)
{
    return a->bad || rt_txn_status(a->t);
}
