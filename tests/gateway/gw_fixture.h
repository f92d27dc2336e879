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
} gw_fixture;

void gw_fixture_start(gw_fixture *f, const char *const *points_args);
// gw_fixture_start_with also gives the gateway extra arguments.
void gw_fixture_start_with(gw_fixture *f, const char *const *points_args,
                           const char *const *gateway_args);
// gw_fixture_start_all gives every back end the same extra arguments
// (--demo, say), and the gateway its own.
void gw_fixture_start_all(gw_fixture *f, const char *const *backend_args, const char *const *gateway_args);
void gw_fixture_stop(gw_fixture *f);
// gw_channel opens a channel to the gateway with a token (NULL for none).
civic_channel *gw_channel(gw_fixture *f, const char *token);
// gw_token issues a token through the gateway; returns its text (static
// storage per call site is not assumed: out is the caller's).
void gw_token(gw_fixture *f, const char *principal, const char *role, unsigned ttl, char *out,
              size_t n, uint64_t *id);

#endif
