// A gateway in front of a civic-points, both with an internal key, for the
// gateway's tests.
#ifndef GW_FIXTURE_H
#define GW_FIXTURE_H

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
void gw_fixture_stop(gw_fixture *f);

// gw_http is the smallest HTTP/1.1 client: it sends method path with the
// headers (CRLF-terminated lines, may be "") and body to the web port, reads
// the whole answer into resp (NUL-terminated, truncated to n) and returns
// the status code, or -1 if the exchange failed.
int gw_http(const gw_fixture *f, const char *method, const char *path, const char *headers,
            const char *body, size_t body_len, char *resp, size_t n);
// gw_http_body returns where the body of a response from gw_http begins.
const char *gw_http_body(const char *resp);
// gw_channel opens a channel to the gateway with a token (NULL for none).
civic_channel *gw_channel(gw_fixture *f, const char *token);
// gw_token issues a token through the gateway; returns its text (static
// storage per call site is not assumed: out is the caller's).
void gw_token(gw_fixture *f, const char *principal, const char *role, unsigned ttl, char *out,
              size_t n, uint64_t *id);

#endif
