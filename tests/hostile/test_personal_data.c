// Personal data in logs: a run through the gateway (all four processes, with
// an internal key) that registers volunteers with phones, creates tokens and
// makes failing calls with them (a forged token, a role that may not, a
// duplicate and a malformed phone, a missing volunteer, a hostile payload
// carrying a phone) must leave no token (cg_…) and no phone number
// (1[3-9] and 9 more digits, not inside a longer number) in any server's log.
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic/volunteers/v1/volunteers.pb-c.h"
#include "civic_msg.h"
#include "gw_fixture.h"

static regex_t phone_re, token_re;

static void
compile(void)
{
    assert_int_equal(regcomp(&phone_re, "(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)", REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(regcomp(&token_re, "cg_[A-Za-z0-9_-]{6,}", REG_EXTENDED | REG_NOSUB), 0);
}

// hits counts the lines of a log with a phone number, a token or one of the
// exact secrets, printing each when loud.
static int
hits(const char *path, const char *const *secrets, int loud)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot read %s", path);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        int bad = regexec(&phone_re, line, 0, NULL, 0) == 0 || regexec(&token_re, line, 0, NULL, 0) == 0;
        for (int i = 0; secrets[i] != NULL; i++)
            if (secrets[i][0] != '\0' && strstr(line, secrets[i]) != NULL)
                bad = 1;
        if (bad && loud)
            fprintf(stderr, "personal data in %s: %s", path, line);
        n += bad;
    }
    fclose(f);
    return n;
}

static int
call(civic_channel *ch, const char *method, ProtobufCMessage *req,
     const ProtobufCMessageDescriptor *out, uint64_t *id)
{
    ProtobufCMessage *resp = NULL;
    civic_status st;
    int code = civic_call(ch, method, req, out, &resp, NULL, &st);
    if (code == 0 && id != NULL && out == &civic__volunteers__v1__register_volunteer_response__descriptor)
        *id = ((Civic__Volunteers__V1__RegisterVolunteerResponse *) resp)->volunteer->id;
    protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

static int
register_volunteer(civic_channel *ch, const char *name, const char *phone, uint64_t *id)
{
    ProtobufCMessage *req = civic_msg_new(&civic__volunteers__v1__register_volunteer_request__descriptor);
    char err[256];
    assert_int_equal(civic_msg_set(req, "volunteer.name", name, err, sizeof err), 0);
    assert_int_equal(civic_msg_set(req, "volunteer.phone", phone, err, sizeof err), 0);
    assert_int_equal(civic_msg_set(req, "volunteer.kind", "GRID_WORKER", err, sizeof err), 0);
    assert_int_equal(civic_msg_set(req, "volunteer.area_id", "1", err, sizeof err), 0);
    assert_int_equal(civic_msg_set(req, "volunteer.consent", "true", err, sizeof err), 0);
    int code = call(ch, "/civic.volunteers.v1.VolunteersService/RegisterVolunteer", req,
                    &civic__volunteers__v1__register_volunteer_response__descriptor, id);
    protobuf_c_message_free_unpacked(req, NULL);
    return code;
}

static void
test_no_personal_data_in_logs(void **state)
{
    (void) state;
    compile();
    // The matcher itself finds what it must (so a pass means something).
    {
        char path[300], dir[256];
        th_tmpdir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/sample.log", dir);
        FILE *f = fopen(path, "w");
        fputs("x phone=13812345678 y\nauthorization=cg_abcDEF123456\nms=0.653 id=123456789012 t=2026-11-26\n", f);
        fclose(f);
        const char *none[] = {NULL};
        assert_int_equal(hits(path, none, 0), 2);
        remove(path);
        remove(dir);
    }

    gw_fixture fx;
    gw_fixture_start(&fx, NULL);
    char vol_token[128], viewer_token[128], forged[128];
    gw_token(&fx, "vol-1", "volunteer", 3600, vol_token, sizeof vol_token, NULL);
    gw_token(&fx, "viewer-1", "viewer", 3600, viewer_token, sizeof viewer_token, NULL);
    snprintf(forged, sizeof forged, "%s", vol_token);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'A' ? 'B' : 'A';

    civic_channel *admin = gw_channel(&fx, fx.admin);
    uint64_t id1 = 0, id2 = 0;
    assert_ok(register_volunteer(admin, "Zhang Wei", "13812345678", &id1));
    assert_ok(register_volunteer(admin, "Li Na", "15987654321", &id2));
    // Failing calls, each carrying a phone or a token.
    assert_code(register_volunteer(admin, "Zhang Again", "13812345678", NULL), CIVIC_ALREADY_EXISTS);
    int bad_phone = register_volunteer(admin, "Short", "1381234567", NULL);
    assert_true(bad_phone != CIVIC_OK);
    civic_channel *vol = gw_channel(&fx, vol_token);
    assert_code(register_volunteer(vol, "By Volunteer", "17711112222", NULL), CIVIC_PERMISSION_DENIED);
    civic_channel *view = gw_channel(&fx, viewer_token);
    assert_code(register_volunteer(view, "By Viewer", "18633334444", NULL), CIVIC_PERMISSION_DENIED);
    civic_channel *bad = gw_channel(&fx, forged);
    assert_code(register_volunteer(bad, "Forged", "13955556666", NULL), CIVIC_UNAUTHENTICATED);
    civic_channel *junk = gw_channel(&fx, "cg_not-a-real-token-at-all");
    assert_code(register_volunteer(junk, "Junk", "13077778888", NULL), CIVIC_UNAUTHENTICATED);
    {
        Civic__Volunteers__V1__GetVolunteerRequest g = CIVIC__VOLUNTEERS__V1__GET_VOLUNTEER_REQUEST__INIT;
        g.id = 999999;
        assert_code(call(admin, "/civic.volunteers.v1.VolunteersService/GetVolunteer", &g.base,
                         &civic__volunteers__v1__get_volunteer_response__descriptor, NULL),
                    CIVIC_NOT_FOUND);
        g.id = id1;
        assert_ok(call(vol, "/civic.volunteers.v1.VolunteersService/GetVolunteer", &g.base,
                       &civic__volunteers__v1__get_volunteer_response__descriptor, NULL));
        assert_code(call(bad, "/civic.volunteers.v1.VolunteersService/GetVolunteer", &g.base,
                         &civic__volunteers__v1__get_volunteer_response__descriptor, NULL),
                    CIVIC_UNAUTHENTICATED);
    }
    civic_channel_close(admin);
    civic_channel_close(vol);
    civic_channel_close(view);
    civic_channel_close(bad);
    civic_channel_close(junk);

    // Stop every process (so its log is complete), then read the logs
    // before the fixture removes them.
    th_server *all[] = {&fx.points, &fx.tasks, &fx.volunteers, &fx.gateway};
    for (int i = 0; i < 4; i++)
        th_server_term(all[i]);
    const char *secrets[] = {fx.admin, vol_token, viewer_token, forged, NULL};
    int total = 0;
    long bytes = 0;
    for (int i = 0; i < 4; i++) {
        total += hits(all[i]->log, secrets, 1);
        FILE *f = fopen(all[i]->log, "r");
        if (f != NULL) {
            fseek(f, 0, SEEK_END);
            bytes += ftell(f);
            fclose(f);
        }
    }
    printf("# personal data: %d hits in %ld bytes of 4 servers' logs\n", total, bytes);
    gw_fixture_stop(&fx);
    regfree(&phone_re);
    regfree(&token_re);
    assert_true(bytes > 0);
    assert_int_equal(total, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_personal_data_in_logs)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
