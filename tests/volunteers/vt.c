// Helpers for the volunteers service's tests (see vt.h).
#include "vt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "volunteers.h"

int64_t
vt_now_s(void)
{
    return (int64_t) time(NULL);
}

int
vt_call(civic_channel *ch, const char *principal, const char *role, const char *method,
        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out, ProtobufCMessage **resp,
        const char *idem, civic_status *st)
{
    civic_status local;
    const char *md[4] = {"x-civic-principal", principal, "x-civic-role", role};
    civic_call_opts o = {.timeout_ms = 30000,
                         .idempotency_key = idem,
                         .metadata = md,
                         .n_metadata = role ? 2 : 0};
    *resp = NULL;
    return civic_call(ch, method, req, out, resp, &o, st ? st : &local);
}

uint64_t
vt_volunteer(civic_channel *ch, int n, const char *phone, uint64_t area_id)
{
    Civic__Volunteers__V1__RegisterVolunteerRequest req =
        CIVIC__VOLUNTEERS__V1__REGISTER_VOLUNTEER_REQUEST__INIT;
    Civic__Volunteers__V1__Volunteer v = CIVIC__VOLUNTEERS__V1__VOLUNTEER__INIT;
    char name[32], ph[16];
    snprintf(name, sizeof name, "测试志愿者%d", n);
    snprintf(ph, sizeof ph, "1390%07d", n);
    v.name = name;
    v.phone = phone ? (char *) (uintptr_t) phone : ph;
    v.kind = 1 + n % 5;
    v.area_id = area_id;
    v.community = "测试社区";
    v.consent = 1;
    req.volunteer = &v;
    ProtobufCMessage *r;
    civic_status st;
    int rc = vt_call(ch, NULL, NULL, VT "RegisterVolunteer", &req.base,
                     &civic__volunteers__v1__register_volunteer_response__descriptor, &r, NULL, &st);
    if (rc != 0)
        fail_msg("RegisterVolunteer %d: %s %s", n, civic_code_name(rc), st.message);
    uint64_t id = ((Civic__Volunteers__V1__RegisterVolunteerResponse *) r)->volunteer->id;
    protobuf_c_message_free_unpacked(r, NULL);
    return id;
}

uint64_t
vt_activity(civic_channel *ch, uint64_t area_id, int64_t start_s, int64_t end_s, int capacity)
{
    Civic__Volunteers__V1__CreateActivityRequest req = CIVIC__VOLUNTEERS__V1__CREATE_ACTIVITY_REQUEST__INIT;
    Civic__Volunteers__V1__Activity a = CIVIC__VOLUNTEERS__V1__ACTIVITY__INIT;
    Google__Protobuf__Timestamp s = GOOGLE__PROTOBUF__TIMESTAMP__INIT, e = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    s.seconds = start_s;
    e.seconds = end_s;
    a.title = "测试三清行动";
    a.kind = CIVIC__VOLUNTEERS__V1__ACTIVITY_KIND__ACTIVITY_KIND_THREE_CLEARS;
    a.area_id = area_id;
    a.start_time = &s;
    a.end_time = &e;
    a.capacity = capacity;
    req.activity = &a;
    ProtobufCMessage *r;
    civic_status st;
    int rc = vt_call(ch, NULL, NULL, VT "CreateActivity", &req.base,
                     &civic__volunteers__v1__create_activity_response__descriptor, &r, NULL, &st);
    if (rc != 0)
        fail_msg("CreateActivity: %s %s", civic_code_name(rc), st.message);
    uint64_t id = ((Civic__Volunteers__V1__CreateActivityResponse *) r)->activity->id;
    protobuf_c_message_free_unpacked(r, NULL);
    return id;
}

int
vt_signup(civic_channel *ch, uint64_t volunteer, uint64_t activity, const char *idem,
          Civic__Volunteers__V1__Signup **out, civic_status *st)
{
    Civic__Volunteers__V1__SignUpRequest req = CIVIC__VOLUNTEERS__V1__SIGN_UP_REQUEST__INIT;
    req.activity_id = activity;
    req.volunteer_id = volunteer;
    char p[24];
    snprintf(p, sizeof p, "%llu", (unsigned long long) volunteer);
    ProtobufCMessage *r;
    int rc = vt_call(ch, p, "volunteer", VT "SignUp", &req.base,
                     &civic__volunteers__v1__sign_up_response__descriptor, &r, idem, st);
    *out = NULL;
    if (rc == 0) {
        Civic__Volunteers__V1__SignUpResponse *sr = (Civic__Volunteers__V1__SignUpResponse *) r;
        *out = sr->signup;
        sr->signup = NULL;
        protobuf_c_message_free_unpacked(r, NULL);
    }
    return rc;
}

size_t
vt_list_signups(civic_channel *ch, uint64_t activity, Civic__Volunteers__V1__Signup ***out)
{
    size_t n = 0;
    char token[512] = "";
    *out = NULL;
    do {
        Civic__Volunteers__V1__ListSignupsRequest req = CIVIC__VOLUNTEERS__V1__LIST_SIGNUPS_REQUEST__INIT;
        req.activity_id = activity;
        req.page_size = 37; // pages that end mid-waitlist
        req.page_token = token;
        ProtobufCMessage *r;
        civic_status st;
        int rc = vt_call(ch, NULL, NULL, VT "ListSignups", &req.base,
                         &civic__volunteers__v1__list_signups_response__descriptor, &r, NULL, &st);
        if (rc != 0)
            fail_msg("ListSignups: %s %s", civic_code_name(rc), st.message);
        Civic__Volunteers__V1__ListSignupsResponse *lr = (Civic__Volunteers__V1__ListSignupsResponse *) r;
        *out = realloc(*out, (n + lr->n_signups + 1) * sizeof **out);
        for (size_t i = 0; i < lr->n_signups; i++) {
            (*out)[n++] = lr->signups[i];
            lr->signups[i] = NULL;
        }
        lr->n_signups = 0;
        snprintf(token, sizeof token, "%s", lr->next_page_token);
        protobuf_c_message_free_unpacked(r, NULL);
    } while (token[0] != '\0');
    return n;
}

void
vt_signups_free(Civic__Volunteers__V1__Signup **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&v[i]->base, NULL);
    free(v);
}

void
vt_audit(const char *dir)
{
    rt_store *st;
    char err[512] = "";
    rt_store_opts o = {.dbs = volunteers_dbs, .schema_version = 1};
    if (rt_store_open(&st, dir, &o, err, sizeof err) != 0)
        fail_msg("open %s: %s", dir, err);
    vol_svc s;
    vol_svc_open(&s, st, 480);
    rt_arena a;
    rt_arena_init(&a, 64u << 20);
    rt_txn t;
    MDB_txn *cache = NULL;
    assert_int_equal(rt_read_begin(st, &t, &a, &cache), 0);
    int rc = vol_check_indexes(&t, &s, err, sizeof err);
    rt_read_end(&t, &cache);
    rt_read_release(&cache);
    rt_arena_fini(&a);
    rt_store_close(st);
    if (rc != 0)
        fail_msg("audit: %s", err);
}

int
vt_move_activity(civic_channel *ch, uint64_t id, int64_t start_s, int64_t end_s, civic_status *st)
{
    Civic__Volunteers__V1__UpdateActivityRequest req = CIVIC__VOLUNTEERS__V1__UPDATE_ACTIVITY_REQUEST__INIT;
    Civic__Volunteers__V1__Activity a = CIVIC__VOLUNTEERS__V1__ACTIVITY__INIT;
    Google__Protobuf__Timestamp s = GOOGLE__PROTOBUF__TIMESTAMP__INIT, e = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[] = {"start_time", "end_time"};
    s.seconds = start_s;
    e.seconds = end_s;
    a.id = id;
    a.start_time = &s;
    a.end_time = &e;
    m.paths = paths;
    m.n_paths = 2;
    req.activity = &a;
    req.update_mask = &m;
    ProtobufCMessage *r;
    int rc = vt_call(ch, NULL, NULL, VT "UpdateActivity", &req.base,
                     &civic__volunteers__v1__update_activity_response__descriptor, &r, NULL, st);
    protobuf_c_message_free_unpacked(r, NULL);
    return rc;
}

// --- the CLI ---

void
vt_cli_start(vt_cli *c)
{
    memset(c, 0, sizeof *c);
    th_tmpdir(c->dir, sizeof c->dir);
    snprintf(c->key, sizeof c->key, "%s/internal.key", c->dir);
    FILE *f = fopen(c->key, "w");
    if (f == NULL)
        fail_msg("cannot write %s", c->key);
    fputs("a-volunteers-test-key-of-some-length\n", f);
    fclose(f);
    char arg[320];
    snprintf(arg, sizeof arg, "--internal-key-file=%s", c->key);
    const char *args[] = {arg, NULL};
    th_server_start(&c->srv, CIVIC_VOLUNTEERS_BIN, args);
}

void
vt_cli_stop(vt_cli *c)
{
    assert_int_equal(th_server_term(&c->srv), 0);
    vt_audit(c->srv.dir);
    th_server_cleanup(&c->srv);
    unlink(c->key);
    rmdir(c->dir);
}

int
vt_cli_run(vt_cli *c, const char *as, const char *a0, ...)
{
    const char *argv[48];
    int n = 0;
    argv[n++] = "--addr";
    argv[n++] = c->srv.url;
    argv[n++] = "-o";
    argv[n++] = "json";
    argv[n++] = "--internal-key-file";
    argv[n++] = c->key;
    argv[n++] = "--as";
    argv[n++] = as ? as : "office:admin";
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a != NULL && n < 47; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    size_t len = 0;
    c->cmd[0] = '\0';
    for (int i = 4; i < n && len < sizeof c->cmd; i++) // from --internal-key-file on
        len += (size_t) snprintf(c->cmd + len, sizeof c->cmd - len, "%s%s", i > 4 ? " " : "",
                                 i == 5 ? "KEY" : argv[i]);
    c->out[0] = c->err[0] = '\0';
    return th_cli(c->out, sizeof c->out, c->err, sizeof c->err, argv);
}

void
vt_cli_fails(const vt_cli *c, int rc, const char *s0, ...)
{
    if (rc != 1)
        fail_msg("civic %s: exit %d, want 1 (a refused call): %s%s", c->cmd, rc, c->out, c->err);
    va_list ap;
    va_start(ap, s0);
    for (const char *s = s0; s != NULL; s = va_arg(ap, const char *))
        if (strstr(c->err, s) == NULL)
            fail_msg("civic %s: the error should say \"%s\": %s", c->cmd, s, c->err);
    va_end(ap);
}

const char *
vt_json(const char *json, const char *name, char *buf, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", name);
    const char *p = strstr(json, pat);
    buf[0] = '\0';
    if (p == NULL)
        return buf;
    p += strlen(pat);
    if (*p == '"')
        p++;
    size_t i = 0;
    while (*p && *p != '"' && *p != ',' && *p != '\n' && i + 1 < n)
        buf[i++] = *p++;
    buf[i] = '\0';
    return buf;
}

int
vt_json_count(const char *json, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", name);
    int k = 0;
    for (const char *p = strstr(json, pat); p != NULL; p = strstr(p + 1, pat))
        k++;
    return k;
}

// csv_cell copies the cell at p (quoted or not) into buf and returns what
// follows it: the separator or the line's end.
static const char *
csv_cell(const char *p, char *buf, size_t n)
{
    size_t i = 0;
    int quoted = *p == '"';
    if (quoted)
        p++;
    for (; *p; p++) {
        if (quoted && p[0] == '"' && p[1] == '"')
            p++;
        else if (quoted && *p == '"') {
            p++;
            break;
        } else if (!quoted && (*p == ',' || *p == '\n' || *p == '\r'))
            break;
        if (i + 1 < n)
            buf[i++] = *p;
    }
    buf[i] = '\0';
    return p;
}

const char *
vt_csv(const char *csv, const char *name, char *buf, size_t n)
{
    const char *row = strchr(csv, '\n');
    int col = -1;
    char cell[256];
    const char *p = csv;
    for (int i = 0; row != NULL && p < row; i++) {
        p = csv_cell(p, cell, sizeof cell);
        if (strcmp(cell, name) == 0)
            col = i;
        if (*p == ',')
            p++;
        else
            break;
    }
    if (col < 0)
        fail_msg("no column %s in: %s", name, csv);
    p = row + 1;
    for (int i = 0; i <= col; i++) {
        p = csv_cell(p, buf, n);
        if (i < col && *p != ',')
            fail_msg("the first row has no column %d (%s): %s", col, name, csv);
        p++;
    }
    return buf;
}

const char *
vt_rfc3339(char *buf, size_t n, int64_t unix_s)
{
    time_t t = (time_t) unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

const char *
vt_as(char *buf, size_t n, const char *volunteer_id)
{
    snprintf(buf, n, "%s:volunteer", volunteer_id);
    return buf;
}
