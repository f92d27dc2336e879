// Helpers for the civic-points tests: calls by method name through the C
// client (responses are kept and freed by pu_free_all, so tests stay
// leak-free under ASan), the CLI with JSON or CSV output, and a few builders
// for areas, grids, points and patrols. Everything goes to a real
// civic-points started with th_server_start.
#ifndef PUTIL_H
#define PUTIL_H

#include <jansson.h>
#include <lmdb.h>

#include "civic/points/v1/points.pb-c.h"
#include "harness.h"
#include "rt_check.h"

typedef Civic__Points__V1__Area pu_area;
typedef Civic__Points__V1__Point pu_point;
typedef Civic__Points__V1__Patrol pu_patrol;

#define PU_TZ 480 // the service's default: China Standard Time

// pu_call calls PointsService/<method> with req, as the given principal and
// role when role is not NULL (unsigned metadata: the service is in open
// mode), else as nobody in particular (admin in open mode). Writes carry a
// fresh idempotency key unless idem is given. Fails the test unless the
// status is want. Returns the response (kept until pu_free_all) or NULL when
// want is not OK; st (optional) gets the status.
ProtobufCMessage *pu_call_full(civic_channel *ch, const char *method, const ProtobufCMessage *req,
                               const char *principal, const char *role, const char *idem,
                               int want, civic_status *st);
#define pu_call(ch, method, req) pu_call_full(ch, method, &(req)->base, NULL, NULL, NULL, CIVIC_OK, NULL)
#define pu_call_want(ch, method, req, want, st)                                                   \
    pu_call_full(ch, method, &(req)->base, NULL, NULL, NULL, want, st)

// pu_free_all frees every response pu_call kept, and every string pu_str made.
void pu_free_all(void);

// pu_str formats a string kept until pu_free_all.
char *pu_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// pu_has_violation tells whether st names field among its violations.
int pu_has_violation(const civic_status *st, const char *field);

// Builders (as admin). pu_hier makes an area with one town, one community
// and n_grids grids (ids into grids).
uint64_t pu_area_new(civic_channel *ch, Civic__Points__V1__AreaLevel level, uint64_t parent,
                     const char *name);
void pu_hier(civic_channel *ch, const char *name, uint64_t *area, uint64_t *grids, int n_grids);
uint64_t pu_point_new(civic_channel *ch, uint64_t grid, const char *name,
                      Civic__Points__V1__PointKind kind, double lat, double lng, const char *phone);
// pu_patrol_new records a check-in at when_ms (0: now) as principal
// (NULL: admin). Returns the patrol (kept).
pu_patrol *pu_patrol_new(civic_channel *ch, uint64_t point, int64_t when_ms, const char *principal,
                         const char *role);

// pu_list_points pages through ListPoints with the filters of f (page_size
// and page_token are set here) and returns every point (kept) in *out.
size_t pu_list_points(civic_channel *ch, const Civic__Points__V1__ListPointsRequest *f,
                      int32_t page_size, pu_point ***out);
// pu_list_patrols pages through ListPatrols by point and/or day.
size_t pu_list_patrols(civic_channel *ch, uint64_t point, int32_t day, pu_patrol ***out);
// pu_event_count counts the event log.
size_t pu_event_count(civic_channel *ch);

// Time: now in ms (wall clock), and the local day of a time.
int64_t pu_now_ms(void);
int32_t pu_day(int64_t ms);

// pu_cli runs the CLI against s with the arguments (NULL-terminated), with
// stdout in a buffer kept until pu_free_all (*out) and stderr in *err.
int pu_cli_v(const th_server *s, char **out, char **err, const char *const *argv);
#define PU_CLI(s, out, err, ...)                                                                   \
    pu_cli_v(s, out, err, (const char *const[]){__VA_ARGS__, NULL})
// pu_cli_json runs the CLI with -o json, asserts exit status 0 and returns
// the parsed output (a new reference kept until pu_free_all).
json_t *pu_cli_json_v(const th_server *s, const char *const *argv);
#define PU_JSON(s, ...) pu_cli_json_v(s, (const char *const[]){__VA_ARGS__, NULL})

// JSON accessors: a string field, an int64 field (64-bit ints are strings in
// protobuf's JSON, 32-bit ones numbers; absent is 0).
const char *pu_js(const json_t *o, const char *key);
long long pu_ji(const json_t *o, const char *key);

// CSV: parse an RFC 4180 document into rows of fields (kept). Returns rows.
size_t pu_csv(const char *text, char ****rows, size_t **n_fields);
// pu_csv_col finds a header column by name; -1 if absent.
int pu_csv_col(char **header, size_t n, const char *name);

// pu_audit opens a stopped civic-points' data directory in-process (the
// service's databases and schema), and runs points_check_indexes in a read
// transaction; with corrupt set, in a write transaction after corrupt(txn,
// svc, arg) changed it, aborted afterwards so the store is left as it was.
// Returns the audit's result, err its first disagreement.
struct points_svc;
int pu_audit(const char *data_dir, int (*corrupt)(MDB_txn *txn, const struct points_svc *svc, void *arg),
             void *arg, char *err, size_t n);

#endif
