// civic.gateway.tokens: tokens and limits at a real gateway — the
// self-registration limit per phone (apart from the one per address),
// RefreshToken and the volunteer token's lifetime, a token's expiry, the
// per-client rate limit (another address unaffected), and a revoked token:
// refused, and token.revoked in the gateway's audit (`civic events`).
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_fixture.h"

#define SELF_REGISTER "/v1/civic.gateway.v1.GatewayService/SelfRegister"
#define JSON_HDR "Content-Type: application/json\r\n"

// http_register self-registers phone over HTTP from the address from;
// returns the HTTP status (resp gets the answer).
static int
http_register(gw_fixture *f, const char *from, const char *name, const char *phone, char *resp, size_t n)
{
    char body[512];
    int len = snprintf(body, sizeof body,
                       "{\"volunteer\": {\"name\": \"%s\", \"phone\": \"%s\", \"kind\": \"VOLUNTEER_KIND_RESIDENT\", "
                       "\"areaId\": \"1\", \"community\": \"示范社区\", \"consent\": true}}",
                       name, phone);
    return gw_http_from(f, from, "POST", SELF_REGISTER, JSON_HDR, body, (size_t) len, resp, n);
}

static void
test_self_register_per_phone(void **state)
{
    gw_fixture f;
    const char *gargs[] = {"--rate-self-register=0.001/2", NULL};
    gw_fixture_start_web_with(&f, gargs);
    static char resp[16384];
    // One phone from three addresses: the first registers, the second is
    // refused by the volunteers service (a phone registers once), the third
    // is over the phone's limit although its address has made no call.
    assert_int_equal(http_register(&f, "127.0.0.2", "甲", "13600000001", resp, sizeof resp), 200);
    assert_int_equal(http_register(&f, "127.0.0.3", "甲", "13600000001", resp, sizeof resp), 409);
    assert_int_equal(http_register(&f, "127.0.0.4", "甲", "13600000001", resp, sizeof resp), 429);
    if (strstr(gw_http_body(resp), "for this phone") == NULL)
        fail_msg("want the phone's limit named: %s", gw_http_body(resp));
    // That address may still register another phone; the per-address limit
    // is its own (a burst of 2: the third from one address is refused).
    assert_int_equal(http_register(&f, "127.0.0.4", "乙", "13600000002", resp, sizeof resp), 200);
    assert_int_equal(http_register(&f, "127.0.0.5", "丙", "13600000003", resp, sizeof resp), 200);
    assert_int_equal(http_register(&f, "127.0.0.5", "丁", "13600000004", resp, sizeof resp), 200);
    assert_int_equal(http_register(&f, "127.0.0.5", "戊", "13600000005", resp, sizeof resp), 429);
    assert_null(strstr(gw_http_body(resp), "for this phone"));
    // The CLI's self form registers too (from 127.0.0.1, its own address).
    const char *self[] = {"volunteers", "register", "--self", "--name", "己", "--phone", "13600000006",
                          "--kind", "resident", "--area-id", "1", "--consent", "true", NULL};
    json_t *j = gw_cli_json(&f, NULL, self);
    assert_non_null(gw_jstr(j, "token"));
    assert_string_equal(gw_jstr(j, "volunteer.phone"), "136****0006");
    json_decref(j);
    gw_fixture_stop(&f);
}

// seconds_until parses an RFC 3339 UTC time ("2026-11-26T14:20:00Z") and
// returns how far it is from now.
static long
seconds_until(const char *rfc3339)
{
    assert_non_null(rfc3339);
    struct tm tm = {0};
    assert_non_null(strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm));
    return (long) (timegm(&tm) - time(NULL));
}

static void
test_refresh_and_expiry(void **state)
{
    gw_fixture f;
    const char *gargs[] = {"--volunteer-token-ttl=600", NULL};
    gw_fixture_start_with(&f, NULL, gargs);
    char id[32], tok[128], out[4096], err[2048];
    const char *reg[] = {"volunteers", "register-self", "--name", "庚", "--phone", "13600000011", "--kind",
                         "resident", "--area-id", "1", "--consent", "true", NULL};
    json_t *j = gw_cli_json(&f, NULL, reg);
    snprintf(tok, sizeof tok, "%s", gw_jstr(j, "token"));
    snprintf(id, sizeof id, "%s", gw_jstr(j, "volunteer.id"));
    long left = seconds_until(gw_jstr(j, "expireTime"));
    assert_true(left > 590 && left <= 600); // --volunteer-token-ttl
    json_decref(j);

    // RefreshToken: a new token for the same volunteer, the same lifetime;
    // the old one still works until it expires.
    const char *refresh[] = {"tokens", "refresh", NULL};
    j = gw_cli_json(&f, tok, refresh);
    char tok2[128];
    snprintf(tok2, sizeof tok2, "%s", gw_jstr(j, "token"));
    left = seconds_until(gw_jstr(j, "expireTime"));
    assert_true(left > 590 && left <= 600);
    assert_string_not_equal(tok2, tok);
    json_decref(j);
    const char *who[] = {"whoami", NULL};
    j = gw_cli_json(&f, tok2, who);
    assert_string_equal(gw_jstr(j, "principal"), id);
    assert_string_equal(gw_jstr(j, "role"), "ROLE_VOLUNTEER");
    json_decref(j);
    assert_int_equal(gw_cli(&f, tok, out, sizeof out, who), 0);
    // Only a volunteer refreshes: an inspector's token may not.
    char insp[128];
    gw_token(&f, "巡查员", "inspector", 0, insp, sizeof insp, NULL);
    assert_int_equal(gw_cli_err(&f, insp, out, sizeof out, err, sizeof err, refresh), 1);
    assert_non_null(strstr(err, "PERMISSION_DENIED"));

    // A token past its expiry is refused, for any method, refresh included.
    char short_lived[128];
    gw_token(&f, id, "volunteer", 1, short_lived, sizeof short_lived, NULL);
    assert_int_equal(gw_cli(&f, short_lived, out, sizeof out, who), 0);
    struct timespec d = {2, 200 * 1000000};
    nanosleep(&d, NULL);
    assert_int_equal(gw_cli_err(&f, short_lived, out, sizeof out, err, sizeof err, who), 1);
    assert_non_null(strstr(err, "UNAUTHENTICATED"));
    assert_int_equal(gw_cli_err(&f, short_lived, out, sizeof out, err, sizeof err, refresh), 1);
    assert_non_null(strstr(err, "UNAUTHENTICATED"));
    gw_fixture_stop(&f);
}

static void
test_rate_per_client(void **state)
{
    gw_fixture f;
    const char *gargs[] = {"--rate-per-client=0.001/3", NULL};
    gw_fixture_start_web_with(&f, gargs);
    char out[4096], err[2048];
    static char resp[16384];
    // Three calls from this address (the fixture's health checks do not
    // count), then it is over: RESOURCE_EXHAUSTED, whatever the token.
    const char *who[] = {"--attempts", "1", "whoami", NULL};
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_cli(&f, f.admin, out, sizeof out, who), 0);
    assert_int_equal(gw_cli_err(&f, f.admin, out, sizeof out, err, sizeof err, who), 1);
    assert_non_null(strstr(err, "RESOURCE_EXHAUSTED"));
    assert_non_null(strstr(err, "client address"));
    const char *acts[] = {"--attempts", "1", "activities", "list", NULL};
    assert_int_equal(gw_cli_err(&f, NULL, out, sizeof out, err, sizeof err, acts), 1);
    assert_non_null(strstr(err, "RESOURCE_EXHAUSTED"));
    // Another address is unaffected.
    char hdr[256];
    snprintf(hdr, sizeof hdr, JSON_HDR "Authorization: Bearer %s\r\n", f.admin);
    assert_int_equal(gw_http_from(&f, "127.0.0.2", "POST", "/v1/civic.gateway.v1.GatewayService/WhoAmI", hdr, "{}",
                                  2, resp, sizeof resp),
                     200);
    gw_fixture_stop(&f);
}

static void
test_revoked(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    char tok[128], out[4096], err[2048], sid[32];
    uint64_t id;
    gw_token(&f, "巡查员", "inspector", 0, tok, sizeof tok, &id);
    const char *who[] = {"whoami", NULL};
    assert_int_equal(gw_cli(&f, tok, out, sizeof out, who), 0);
    assert_int_equal(gw_count_events(&f, "token.revoked"), 0);
    snprintf(sid, sizeof sid, "%llu", (unsigned long long) id);
    const char *revoke[] = {"tokens", "revoke", sid, NULL};
    assert_int_equal(gw_cli(&f, f.admin, out, sizeof out, revoke), 0);
    assert_int_equal(gw_cli_err(&f, tok, out, sizeof out, err, sizeof err, who), 1);
    assert_non_null(strstr(err, "UNAUTHENTICATED"));
    // The audit says who revoked which token.
    assert_int_equal(gw_count_events(&f, "token.revoked"), 1);
    const char *args[] = {"events", "--page-size", "1000", NULL};
    json_t *j = gw_cli_json(&f, f.admin, args);
    json_t *evs = json_object_get(j, "events");
    json_t *last = json_array_get(evs, json_array_size(evs) - 1);
    assert_string_equal(gw_jstr(last, "type"), "token.revoked");
    assert_string_equal(gw_jstr(last, "subjectId"), sid);
    json_decref(j);
    // The audit is for admins only.
    assert_int_equal(gw_cli_err(&f, NULL, out, sizeof out, err, sizeof err, args), 1);
    gw_fixture_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_register_per_phone),
        cmocka_unit_test(test_refresh_and_expiry),
        cmocka_unit_test(test_rate_per_client),
        cmocka_unit_test(test_revoked),
    };
    return cmocka_run_group_tests_name("civic.gateway.tokens", tests, NULL, NULL);
}
