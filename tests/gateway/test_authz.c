// civic.gateway.authz: the authorization matrix. Every method in the
// compiled descriptors, called through a real gateway (in front of a real
// civic-points) by every role, with no token, a malformed one, a revoked one
// and an expired one, must meet authz_expectations.txt — and a method with
// no line there fails the test. With the argument "http"
// (civic.gateway.web_authz) every call goes as JSON over the gateway's web
// port instead, and must meet the same lines: 403 where the binary call is
// PERMISSION_DENIED, 401 where it is UNAUTHENTICATED, neither where allowed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "civic_desc.h"
#include "gw_fixture.h"

#define MAX_RULES 256

typedef struct expect {
    char method[160];
    int public_;
    unsigned roles; // bit per role name index
} expect;

static const char *const roles[] = {"admin", "inspector", "unit", "volunteer", "viewer"};
static expect expects[MAX_RULES];
static int n_expects;

static void
load_expectations(void)
{
    FILE *f = fopen(CIVIC_AUTHZ_EXPECTATIONS, "r");
    assert_non_null(f);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        expect *e = &expects[n_expects++];
        memset(e, 0, sizeof *e);
        char *save = NULL, *tok = strtok_r(line, " \t\n", &save);
        snprintf(e->method, sizeof e->method, "%s", tok);
        while ((tok = strtok_r(NULL, " \t\n", &save)) != NULL) {
            if (strcmp(tok, "public") == 0) {
                e->public_ = 1;
                continue;
            }
            int found = 0;
            for (int r = 0; r < 5; r++)
                if (strcmp(tok, roles[r]) == 0) {
                    e->roles |= 1u << r;
                    found = 1;
                }
            if (!found)
                fail_msg("%s: unknown role %s", e->method, tok);
        }
    }
    fclose(f);
}

static const expect *
find(const char *method)
{
    for (int i = 0; i < n_expects; i++)
        if (strcmp(expects[i].method, method) == 0)
            return &expects[i];
    return NULL;
}

typedef struct matrix {
    gw_fixture *f;
    civic_channel *by_role[5], *none, *malformed, *revoked, *expired;
    int checked, missing;
    // Over HTTP: the tokens (NULL for none) in the same places.
    int http;
    const char *tok_role[5], *tok_none, *tok_malformed, *tok_revoked, *tok_expired;
} matrix;

// http_code makes the call as POST /v1/… with an empty JSON object (the
// binary test's empty payload) and turns the HTTP status back into the
// status code it stands for, checking the JSON error's code agrees.
static int
http_code(const gw_fixture *f, const char *token, const char *method)
{
    char headers[512] = "Content-Type: application/json\r\n", path[300];
    if (token != NULL)
        snprintf(headers + strlen(headers), sizeof headers - strlen(headers),
                 "Authorization: Bearer %s\r\n", token);
    snprintf(path, sizeof path, "/v1%s", method);
    static char resp[1 << 20];
    int status = gw_http(f, "POST", path, headers, "{}", 2, resp, sizeof resp);
    if (status < 0)
        fail_msg("%s over HTTP: no answer", method);
    if (status == 200)
        return CIVIC_OK;
    int code = -1;
    const char *c = strstr(gw_http_body(resp), "\"code\":");
    if (c == NULL || sscanf(c + 7, "%d", &code) != 1)
        fail_msg("%s over HTTP: %d without a JSON error: %.300s", method, status, resp);
    if ((status == 401) != (code == CIVIC_UNAUTHENTICATED) || (status == 403) != (code == CIVIC_PERMISSION_DENIED))
        fail_msg("%s over HTTP: status %d with code %d", method, status, code);
    return code;
}

static int
call_code(civic_channel *ch, const char *method)
{
    civic_reply r;
    civic_call_opts o = {.timeout_ms = 5000};
    int code = civic_call_raw(ch, method, "", 0, &o, &r);
    civic_reply_fini(&r);
    return code;
}

static int
refused(int code)
{
    return code == CIVIC_UNAUTHENTICATED || code == CIVIC_PERMISSION_DENIED;
}

static void
check_method(const char *method, int read, void *arg)
{
    matrix *m = arg;
    const expect *e = find(method);
    if (e == NULL) {
        print_message("no expectation for %s\n", method);
        m->missing++;
        return;
    }
    for (int r = 0; r < 5; r++) {
        int code = m->http ? http_code(m->f, m->tok_role[r], method) : call_code(m->by_role[r], method);
        int allowed = e->public_ || (e->roles & (1u << r));
        if (allowed && refused(code))
            fail_msg("%s as %s: refused with %s, expected allowed", method, roles[r], civic_code_name(code));
        if (!allowed && code != CIVIC_PERMISSION_DENIED)
            fail_msg("%s as %s: got %s, expected PERMISSION_DENIED", method, roles[r], civic_code_name(code));
        m->checked++;
    }
    int code = m->http ? http_code(m->f, NULL, method) : call_code(m->none, method);
    if (e->public_ ? refused(code) : code != CIVIC_UNAUTHENTICATED)
        fail_msg("%s without a token: got %s", method, civic_code_name(code));
    // A bad token is refused even for public methods: it is a mistake to
    // report, not a caller to serve anonymously.
    civic_channel *bad[] = {m->malformed, m->revoked, m->expired};
    const char *bad_tok[] = {m->tok_malformed, m->tok_revoked, m->tok_expired};
    for (int i = 0; i < 3; i++)
        if ((code = m->http ? http_code(m->f, bad_tok[i], method) : call_code(bad[i], method)) !=
            CIVIC_UNAUTHENTICATED)
            fail_msg("%s with a %s token: got %s", method, i == 0 ? "malformed" : i == 1 ? "revoked" : "expired",
                     civic_code_name(code));
    m->checked += 4;
}

static void
run_matrix(int http)
{
    gw_fixture f;
    if (http)
        gw_fixture_start_web(&f);
    else
        gw_fixture_start(&f, NULL);
    load_expectations();
    matrix m = {.f = &f, .http = http};
    static char toks[7][128];
    for (int r = 0; r < 5; r++) {
        gw_token(&f, "12", roles[r], 0, toks[r], sizeof toks[r], NULL);
        m.by_role[r] = gw_channel(&f, toks[r]);
        m.tok_role[r] = toks[r];
    }
    m.none = gw_channel(&f, NULL);
    m.malformed = gw_channel(&f, "not-a-token");
    m.tok_malformed = "not-a-token";
    uint64_t id;
    gw_token(&f, "gone", "admin", 0, toks[5], sizeof toks[5], &id);
    m.revoked = gw_channel(&f, toks[5]);
    m.tok_revoked = toks[5];
    char idtxt[32];
    snprintf(idtxt, sizeof idtxt, "%llu", (unsigned long long) id);
    char out[4096], err[1024];
    setenv("CIVIC_TOKEN", f.admin, 1);
    const char *argv[] = {"--addr", f.gateway.url, "tokens", "revoke", idtxt, NULL};
    assert_int_equal(th_cli(out, sizeof out, err, sizeof err, argv), 0);
    gw_token(&f, "brief", "admin", 1, toks[6], sizeof toks[6], NULL);
    m.expired = gw_channel(&f, toks[6]);
    m.tok_expired = toks[6];
    // The one-second token is surely expired two seconds on.
    struct timespec d = {2, 100 * 1000000};
    nanosleep(&d, NULL);

    civic_desc_foreach_method(check_method, &m);
    print_message("authz matrix%s: %d checks\n", http ? " over HTTP" : "", m.checked);
    assert_int_equal(m.missing, 0);
    assert_true(m.checked > 100);
    for (int r = 0; r < 5; r++)
        civic_channel_close(m.by_role[r]);
    civic_channel_close(m.none);
    civic_channel_close(m.malformed);
    civic_channel_close(m.revoked);
    civic_channel_close(m.expired);
    gw_fixture_stop(&f);
}

static void
test_matrix(void **state)
{
    (void) state;
    run_matrix(0);
}

static void
test_matrix_http(void **state)
{
    (void) state;
    run_matrix(1);
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "http") == 0) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_matrix_http)};
        return cmocka_run_group_tests_name("civic.gateway.web_authz", tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_matrix)};
    return cmocka_run_group_tests_name("civic.gateway.authz", tests, NULL, NULL);
}
