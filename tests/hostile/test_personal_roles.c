// civic.hostile.personal_roles: one rule for every person record (a
// volunteer, a unit's contact, a point's responsible people): a full phone
// number only for the admin role. Against the demo campaign through the
// gateway, every read method is called as every role — with an empty
// request and with every id field set — and every reply is searched, as
// JSON, for a full phone number; so are the replies of the writes that
// return a person (self-registration). Only the admin's replies
// may hold one, and they must (or the search proves nothing).
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "civic_desc.h"
#include "civic_msg.h"
#include "gw_fixture.h"

static const char *const roles[] = {"admin", "inspector", "unit", "volunteer", "viewer", "anonymous"};
#define N_ROLES 6
#define ANON 5

static regex_t phone_re;

typedef struct scan {
    civic_channel *ch[N_ROLES];
    int full[N_ROLES]; // full phones seen per role
    int ok[N_ROLES];   // calls answered OK per role
    int calls;
} scan;

// find_phones counts the strings in j holding a full phone number, printing
// where for a role that may not see one.
static int
find_phones(json_t *j, const char *path, const char *who, int loud)
{
    int n = 0;
    if (json_is_string(j)) {
        if (regexec(&phone_re, json_string_value(j), 0, NULL, 0) == 0) {
            n++;
            if (loud)
                fprintf(stderr, "# %s sees a full phone at %s: %s\n", who, path, json_string_value(j));
        }
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s.%s", path, k);
            n += find_phones(v, sub, who, loud);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            n += find_phones(v, sub, who, loud);
        }
    }
    return n;
}

// check_reply calls method with req as role r and searches the reply.
static void
check_reply(scan *s, int r, const char *method, const ProtobufCMessage *req,
            const ProtobufCMessageDescriptor *out, int write)
{
    ProtobufCMessage *resp = NULL;
    civic_status st;
    char key[64];
    snprintf(key, sizeof key, "pr-%d-%d", r, s->calls);
    civic_call_opts o = {.timeout_ms = 10000, .read = !write, .idempotency_key = write ? key : NULL};
    s->calls++;
    if (civic_call(s->ch[r], method, req, out, &resp, &o, &st) != 0)
        return;
    s->ok[r]++;
    json_t *j = civic_msg_to_json(resp);
    char who[300];
    snprintf(who, sizeof who, "%s (%s)", roles[r], method);
    s->full[r] += find_phones(j, "reply", who, r != 0);
    json_decref(j);
    protobuf_c_message_free_unpacked(resp, NULL);
}

static void
each_method(const char *method, int read, void *arg)
{
    scan *s = arg;
    const char *in_name, *out_name;
    if (!read || civic_desc_method_types(method, &in_name, &out_name) != 0)
        return;
    const ProtobufCMessageDescriptor *in = civic_msg_find_type(in_name), *out = civic_msg_find_type(out_name);
    if (in == NULL || out == NULL)
        return;
    for (int r = 0; r < N_ROLES; r++) {
        ProtobufCMessage *req = civic_msg_new(in);
        check_reply(s, r, method, req, out, 0);
        // Every id field set: Get methods answer, lists narrow to one
        // record's neighbours.
        int any = 0;
        for (unsigned f = 0; f < in->n_fields; f++) {
            const ProtobufCFieldDescriptor *fd = &in->fields[f];
            size_t len = strlen(fd->name);
            if (fd->label == PROTOBUF_C_LABEL_REPEATED ||
                !(strcmp(fd->name, "id") == 0 || (len > 3 && strcmp(fd->name + len - 3, "_id") == 0)))
                continue;
            char err[200];
            if (civic_msg_set(req, fd->name, "1", err, sizeof err) == 0)
                any = 1;
        }
        if (any)
            check_reply(s, r, method, req, out, 0);
        protobuf_c_message_free_unpacked(req, NULL);
    }
}

static void
test_roles(void **state)
{
    (void) state;
    assert_int_equal(regcomp(&phone_re, "(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)", REG_EXTENDED | REG_NOSUB), 0);
    static gw_fixture f;
    const char *demo[] = {"--demo", NULL};
    gw_fixture_start_all(&f, demo, NULL);
    scan s = {0};
    // The unit and the volunteer are records of the demo (ids 1).
    const char *principal[N_ROLES] = {"admin-1", "inspector-1", "1", "1", "viewer-1", NULL};
    for (int r = 0; r < N_ROLES; r++) {
        char tok[128];
        if (r == ANON) {
            s.ch[r] = gw_channel(&f, NULL);
            continue;
        }
        if (r == 0)
            snprintf(tok, sizeof tok, "%s", f.admin);
        else
            gw_token(&f, principal[r], roles[r], 0, tok, sizeof tok, NULL);
        s.ch[r] = gw_channel(&f, tok);
    }
    civic_desc_foreach_method(each_method, &s);

    // A write that answers with a person: a self-registration (public; its
    // reply is the caller's own record, phone masked all the same).
    const ProtobufCMessageDescriptor *sr = civic_msg_find_type("civic.gateway.v1.SelfRegisterRequest");
    const ProtobufCMessageDescriptor *sro = civic_msg_find_type("civic.gateway.v1.SelfRegisterResponse");
    assert_non_null(sr);
    assert_non_null(sro);
    ProtobufCMessage *req = civic_msg_new(sr);
    json_error_t je;
    json_t *j = json_loads("{\"volunteer\":{\"name\":\"自注册\",\"phone\":\"13912345678\",\"kind\":"
                           "\"VOLUNTEER_KIND_RESIDENT\",\"areaId\":\"1\",\"community\":\"c\",\"consent\":true}}",
                           0, &je);
    char err[300];
    if (civic_msg_from_json(req, j, err, sizeof err) != 0)
        fail_msg("SelfRegisterRequest: %s", err);
    json_decref(j);
    check_reply(&s, ANON, "/civic.gateway.v1.GatewayService/SelfRegister", req, sro, 1);
    protobuf_c_message_free_unpacked(req, NULL);

    int leaks = 0, ok = 0;
    for (int r = 0; r < N_ROLES; r++) {
        print_message("# %-9s %3d replies, %3d full phones\n", roles[r], s.ok[r], s.full[r]);
        ok += s.ok[r];
        if (r != 0)
            leaks += s.full[r];
    }
    print_message("# %d calls in all\n", s.calls);
    for (int r = 0; r < N_ROLES; r++)
        civic_channel_close(s.ch[r]);
    gw_fixture_stop(&f);
    regfree(&phone_re);
    assert_true(s.ok[0] > 20);
    for (int r = 1; r < ANON; r++)
        assert_true(s.ok[r] > 5); // each role saw real replies
    assert_true(s.ok[ANON] > 3);  // the public methods, self-registration among them
    if (s.full[0] == 0)
        fail_msg("the admin saw no full phone: the search proves nothing");
    assert_int_equal(leaks, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_roles)};
    return cmocka_run_group_tests_name("civic.hostile.personal_roles", tests, NULL, NULL);
}
