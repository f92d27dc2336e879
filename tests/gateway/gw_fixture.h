// A gateway in front of a civic-points, both with an internal key, for the
// gateway's tests.
#ifndef GW_FIXTURE_H
#define GW_FIXTURE_H

#include <jansson.h>

#include "harness.h"

typedef struct gw_fixture {
    char dir[256];
    char key[300];
    th_server points, tasks, volunteers, gateway;
    char admin[128]; // the admin token
    int web_port;    // the gateway's web port (gw_fixture_start_web), else 0
} gw_fixture;

void gw_fixture_start(gw_fixture *f, const char *const *points_args);
// gw_fixture_start_with also gives the gateway extra arguments.
void gw_fixture_start_with(gw_fixture *f, const char *const *points_args,
                           const char *const *gateway_args);
// gw_fixture_start_all gives every back end the same extra arguments
// (--demo, say), and the gateway its own.
void gw_fixture_start_all(gw_fixture *f, const char *const *backend_args, const char *const *gateway_args);
// gw_fixture_start_web also opens the gateway's web port on a free loopback
// port (f->web_port), serving the repository's web/ directory.
void gw_fixture_start_web(gw_fixture *f);
// gw_fixture_start_web_with also gives the gateway extra arguments.
void gw_fixture_start_web_with(gw_fixture *f, const char *const *gateway_args);
// gw_wait_log waits up to ms for a line of s's log to contain what (fails
// the test if none does).
void gw_wait_log(const th_server *s, const char *what, int ms);
void gw_fixture_stop(gw_fixture *f);

// gw_http is the smallest HTTP/1.1 client: it sends method path with the
// headers (CRLF-terminated lines, may be "") and body to the web port, reads
// the whole answer into resp (NUL-terminated, truncated to n) and returns
// the status code, or -1 if the exchange failed.
int gw_http(const gw_fixture *f, const char *method, const char *path, const char *headers,
            const char *body, size_t body_len, char *resp, size_t n);
// gw_http_from is gw_http from a given loopback source address
// ("127.0.0.2"; NULL for any): the gateway sees it as another client.
int gw_http_from(const gw_fixture *f, const char *from, const char *method, const char *path,
                 const char *headers, const char *body, size_t body_len, char *resp, size_t n);
// gw_http_body returns where the body of a response from gw_http begins.
const char *gw_http_body(const char *resp);
// gw_channel opens a channel to the gateway with a token (NULL for none).
civic_channel *gw_channel(gw_fixture *f, const char *token);
// gw_token issues a token through the gateway; returns its text (static
// storage per call site is not assumed: out is the caller's).
void gw_token(gw_fixture *f, const char *principal, const char *role, unsigned ttl, char *out,
              size_t n, uint64_t *id);

// gw_cli runs the CLI against the gateway (-o json) with a token (NULL for
// none), args NULL-terminated; out gets stdout, err (may be NULL) stderr.
// Returns its exit status (and prints stderr when not 0).
int gw_cli(gw_fixture *f, const char *token, char *out, size_t n, const char *const *args);
int gw_cli_err(gw_fixture *f, const char *token, char *out, size_t n, char *err, size_t errn,
               const char *const *args);
// gw_cli_json runs it and parses stdout (fails the test if it exits non-zero
// or prints no JSON); the caller json_decref()s it.
json_t *gw_cli_json(gw_fixture *f, const char *token, const char *const *args);
// gw_jstr and gw_jnum read a dotted path ("volunteer.id") of a JSON object:
// a string (NULL if none), or a number (also from a string, as 64-bit
// integers are; 0 if none).
const char *gw_jstr(json_t *j, const char *path);
double gw_jnum(json_t *j, const char *path);
// gw_register_self registers a volunteer themselves (area 1, no token) and
// gives back the id and token (id 32 bytes, token 128).
void gw_register_self(gw_fixture *f, const char *name, const char *phone, char *id, char *token);
// gw_make_activity makes a new area chain, a point on it and an activity of
// an hour starting at start_s (Unix seconds) with capacity seats; gives back
// the activity's and the point's ids (32 bytes each).
void gw_make_activity(gw_fixture *f, int64_t start_s, int capacity, char *activity, char *point);
// gw_count_events counts the gateway's audit events of a type (`civic
// events`, as the admin).
int gw_count_events(gw_fixture *f, const char *type);

#endif
