// civic.gateway.web: the gateway's web port as HTTP — a JSON call answered,
// errors as JSON with the HTTP status grpc-gateway gives their code and the
// bad field named, the body and method limits, no CORS, and static files
// with their types and security headers, never outside the web root.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_fixture.h"

static char resp[2 << 20];

static int
post(const gw_fixture *f, const char *method, const char *token, const char *body)
{
    char headers[512] = "Content-Type: application/json\r\n", path[300];
    if (token != NULL)
        snprintf(headers + strlen(headers), sizeof headers - strlen(headers),
                 "Authorization: Bearer %s\r\n", token);
    snprintf(path, sizeof path, "/v1/%s", method);
    return gw_http(f, "POST", path, headers, body, strlen(body), resp, sizeof resp);
}

static void
assert_has(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("expected \"%s\" in:\n%.2000s", needle, hay);
}

static void
test_web(void **state)
{
    (void) state;
    gw_fixture f;
    gw_fixture_start_web(&f);
    char viewer[128];
    gw_token(&f, "看板", "viewer", 0, viewer, sizeof viewer, NULL);

    // A call answered, in protobuf's canonical JSON.
    assert_int_equal(post(&f, "civic.gateway.v1.GatewayService/WhoAmI", viewer, "{}"), 200);
    assert_has(resp, "Content-Type: application/json");
    assert_has(gw_http_body(resp), "\"principal\":\"看板\"");
    assert_has(gw_http_body(resp), "\"role\":\"ROLE_VIEWER\"");
    assert_has(resp, "Cache-Control: no-store");
    // No token: 401 with a challenge; a role without the method: 403.
    assert_int_equal(post(&f, "civic.gateway.v1.GatewayService/WhoAmI", NULL, "{}"), 401);
    assert_has(resp, "WWW-Authenticate: Bearer");
    assert_has(gw_http_body(resp), "\"code\":16");
    assert_int_equal(post(&f, "civic.gateway.v1.GatewayService/ListTokens", viewer, "{}"), 403);
    assert_has(gw_http_body(resp), "\"code\":7");
    // A bad field: 400 naming it, in the JSON and as a BadRequest detail.
    assert_int_equal(post(&f, "civic.points.v1.PointsService/GetArea", viewer, "{\"id\": \"x\"}"), 400);
    assert_has(gw_http_body(resp), "\"field\":\"id\"");
    assert_has(gw_http_body(resp), "type.googleapis.com/google.rpc.BadRequest");
    assert_int_equal(post(&f, "civic.points.v1.PointsService/GetArea", viewer, "{\"nope\": 1}"), 400);
    assert_has(gw_http_body(resp), "\"field\":\"nope\"");
    assert_int_equal(post(&f, "civic.points.v1.PointsService/GetArea", viewer, "{\"id\": "), 400);
    assert_has(gw_http_body(resp), "\"field\":\"body\"");
    assert_int_equal(post(&f, "civic.points.v1.PointsService/GetArea", viewer, "[1]"), 400);
    assert_has(gw_http_body(resp), "\"field\":\"body\"");
    // Violations the server finds come through too.
    assert_int_equal(post(&f, "civic.points.v1.PointsService/ListPoints", viewer, "{\"pageSize\": -1}"), 400);
    assert_has(gw_http_body(resp), "\"field\":\"page_size\"");
    // Not found is 404; an unknown method 501; a non-JSON body 415.
    assert_int_equal(post(&f, "civic.points.v1.PointsService/GetArea", viewer, "{\"id\": \"999999\"}"), 404);
    assert_has(gw_http_body(resp), "\"code\":5");
    assert_int_equal(post(&f, "civic.points.v1.PointsService/Nope", viewer, "{}"), 501);
    assert_int_equal(gw_http(&f, "POST", "/v1/civic.gateway.v1.GatewayService/WhoAmI",
                             "Content-Type: text/plain\r\n", "{}", 2, resp, sizeof resp),
                     415);
    // The public listing needs no token and no body.
    assert_int_equal(gw_http(&f, "POST", "/v1/civic.volunteers.v1.VolunteersService/ListActivities", "",
                             NULL, 0, resp, sizeof resp),
                     200);

    // Over the body cap: 413, announced or not.
    size_t big = (1u << 20) + 10;
    char *b = malloc(big + 1);
    memset(b, ' ', big);
    b[big] = '\0';
    assert_int_equal(post(&f, "civic.gateway.v1.GatewayService/WhoAmI", viewer, b), 413);
    free(b);
    // Headers over the connection's memory are refused by the server.
    size_t hl = 80 * 1024;
    char *h = malloc(hl + 32);
    snprintf(h, 32, "X-Big: ");
    memset(h + 7, 'a', hl);
    memcpy(h + 7 + hl, "\r\n", 3);
    int st = gw_http(&f, "GET", "/", h, NULL, 0, resp, sizeof resp);
    free(h);
    assert_true(st == 431 || st == 413 || st == 400 || st == -1);

    // No CORS: OPTIONS is 405 and nothing says Access-Control.
    assert_int_equal(gw_http(&f, "OPTIONS", "/v1/civic.gateway.v1.GatewayService/WhoAmI",
                             "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n",
                             NULL, 0, resp, sizeof resp),
                     405);
    assert_null(strstr(resp, "Access-Control"));
    assert_int_equal(post(&f, "civic.gateway.v1.GatewayService/WhoAmI", viewer, "{}"), 200);
    assert_null(strstr(resp, "Access-Control"));
    assert_int_equal(gw_http(&f, "PUT", "/index.html", "", NULL, 0, resp, sizeof resp), 405);

    // Static files: types, caching, security headers; nothing outside.
    assert_int_equal(gw_http(&f, "GET", "/", "", NULL, 0, resp, sizeof resp), 200);
    assert_has(resp, "Content-Type: text/html; charset=utf-8");
    assert_has(resp, "Content-Security-Policy: default-src 'self'");
    assert_has(resp, "X-Content-Type-Options: nosniff");
    assert_has(resp, "Cache-Control: no-cache");
    assert_int_equal(gw_http(&f, "GET", "/app.css", "", NULL, 0, resp, sizeof resp), 200);
    assert_has(resp, "Content-Type: text/css");
    assert_int_equal(gw_http(&f, "GET", "/api.js", "", NULL, 0, resp, sizeof resp), 200);
    assert_has(resp, "Content-Type: text/javascript");
    assert_int_equal(gw_http(&f, "HEAD", "/dashboard.html", "", NULL, 0, resp, sizeof resp), 200);
    static const char *const outside[] = {
        "/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/..%2fCMakeLists.txt", "/.hidden",
        "/../../../../etc/passwd", "/nope.html", "//etc/passwd", "/%2e%2e%2f%2e%2e%2fetc/passwd",
    };
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        st = gw_http(&f, "GET", outside[i], "", NULL, 0, resp, sizeof resp);
        if (st != 404 && st != 400)
            fail_msg("GET %s: %d", outside[i], st);
        assert_null(strstr(resp, "cmake_minimum_required"));
        assert_null(strstr(resp, "root:"));
    }
    gw_fixture_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_web),
    };
    return cmocka_run_group_tests_name("civic.gateway.web", tests, NULL, NULL);
}
