// civic.integrators.call: `civic call` and `civic describe` from reflection
// alone, through a real gateway in front of real points, tasks and
// volunteers services: a read and a write of each service succeed with JSON
// in and out, and every method the gateway describes is reached (answered
// by its service, never UNIMPLEMENTED or unknown to the CLI).
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../gateway/gw_fixture.h"

static char out[1 << 18], err[1 << 14];

// call runs `civic --addr GW --token TOKEN ARGS...`; returns the exit status.
static int
call(gw_fixture *f, const char *token, const char *const *args)
{
    const char *argv[24] = {"--addr", f->gateway.url, "--token", token};
    int k = 4;
    for (int i = 0; args[i] && k < 23; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    unsetenv("CIVIC_TOKEN");
    setenv("CIVIC_TOKEN_FILE", "/nonexistent", 1);
    err[0] = '\0';
    return th_cli(out, sizeof out, err, sizeof err, argv);
}

// ok calls METHOD with JSON and returns the reply, which must be JSON.
static json_t *
ok(gw_fixture *f, const char *method, const char *json)
{
    const char *args[] = {"call", method, json, NULL};
    int rc = call(f, f->admin, args);
    if (rc != 0)
        fail_msg("civic call %s %s: exit %d: %s", method, json, rc, err);
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    if (j == NULL)
        fail_msg("civic call %s: not JSON: %s", method, out);
    return j;
}

static const char *
jget(json_t *j, const char *a, const char *b)
{
    json_t *o = json_object_get(j, a);
    o = o && b ? json_object_get(o, b) : o;
    return json_string_value(o);
}

static void
test_read_and_write_each_service(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    char buf[512];

    // points: a write, then reads of what it wrote.
    json_t *a = ok(&f, "/civic.points.v1.PointsService/CreateArea",
                   "{\"area\":{\"level\":\"AREA_LEVEL_AREA\",\"name\":\"高良涧\",\"kind\":\"AREA_KIND_DISTRICT\"}}");
    const char *area_id = jget(a, "area", "id");
    assert_non_null(area_id);
    assert_string_equal(jget(a, "area", "name"), "高良涧");
    snprintf(buf, sizeof buf, "{\"id\":\"%s\"}", area_id);
    json_t *g = ok(&f, "civic.points.v1.PointsService/GetArea", buf);
    assert_string_equal(jget(g, "area", "kind"), "AREA_KIND_DISTRICT");
    json_decref(g);
    g = ok(&f, "ListAreas", "{\"page_size\":10}"); // snake_case accepted
    assert_int_equal(json_array_size(json_object_get(g, "areas")), 1);
    json_decref(g);

    // volunteers: a write and a read.
    snprintf(buf, sizeof buf,
             "{\"volunteer\":{\"name\":\"志愿者甲\",\"phone\":\"13900000001\",\"areaId\":%s,\"consent\":true,\"kind\":\"VOLUNTEER_KIND_GRID_WORKER\"}}",
             area_id);
    json_t *v = ok(&f, "civic.volunteers.v1.VolunteersService/RegisterVolunteer", buf);
    const char *vid = jget(v, "volunteer", "id");
    assert_non_null(vid);
    snprintf(buf, sizeof buf, "{\"id\":\"%s\"}", vid);
    g = ok(&f, "VolunteersService/GetVolunteer", buf);
    assert_string_equal(jget(g, "volunteer", "name"), "志愿者甲");
    json_decref(g);
    json_decref(v);

    // tasks: a write (64-bit integers as numbers and strings, a Timestamp)
    // and reads of it.
    snprintf(buf, sizeof buf, "{\"unit\":{\"name\":\"城管局\",\"kind\":1,\"area_id\":%s}}", area_id);
    json_t *u = ok(&f, "CreateUnit", buf);
    char unit_id[32];
    snprintf(unit_id, sizeof unit_id, "%s", jget(u, "unit", "id"));
    json_decref(u);
    // A deadline 30 days ahead, written at +08:00; it reads back in UTC.
    time_t dl = time(NULL) / 60 * 60 + 30 * 86400, dl8 = dl + 8 * 3600;
    struct tm tm;
    char dl_local[64], dl_utc[64];
    strftime(dl_local, sizeof dl_local, "%Y-%m-%dT%H:%M:%S+08:00", gmtime_r(&dl8, &tm));
    strftime(dl_utc, sizeof dl_utc, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&dl, &tm));
    snprintf(buf, sizeof buf,
             "{\"name\":\"背街小巷整治\",\"unitId\":%s,\"areaId\":\"%s\",\"standard\":\"路面无破损\",\"target\":40,"
             "\"measure\":\"条\",\"deadline\":\"%s\"}",
             unit_id, area_id, dl_local);
    json_t *w = ok(&f, "/civic.tasks.v1.TasksService/CreateWork", buf);
    const char *wid = jget(w, "work", "id");
    assert_non_null(wid);
    assert_string_equal(jget(w, "work", "target"), "40");
    assert_string_equal(jget(w, "work", "deadline"), dl_utc);
    snprintf(buf, sizeof buf, "{\"id\":\"%s\"}", wid);
    g = ok(&f, "civic.tasks.v1.TasksService.GetWork", buf);
    assert_string_equal(jget(g, "work", "name"), "背街小巷整治");
    json_decref(g);
    g = ok(&f, "ListWorks", "{}");
    assert_int_equal(json_array_size(json_object_get(g, "works")), 1);
    json_decref(g);
    json_decref(w);
    // A write its service refuses, for its content: a status, exit 1.
    const char *wargs[] = {"call", "/civic.tasks.v1.TasksService/ReportProblem", "{\"pointId\":\"999999\"}", NULL};
    int rc = call(&f, f.admin, wargs);
    assert_int_equal(rc, 1);
    assert_null(strstr(err, "UNIMPLEMENTED"));

    // gateway: a write and a read.
    json_t *t = ok(&f, "/civic.gateway.v1.GatewayService/CreateToken",
                   "{\"principal\":\"巡查员乙\",\"role\":\"ROLE_INSPECTOR\",\"ttlSeconds\":600}");
    json_decref(t);
    g = ok(&f, "/civic.gateway.v1.GatewayService/WhoAmI", "{}");
    assert_non_null(strstr(out, "ROLE_ADMIN"));
    json_decref(g);
    json_decref(a);

    // Errors: an unknown field names its path; an unknown method.
    const char *bad[] = {"call", "CreateArea", "{\"area\":{\"levl\":1}}", NULL};
    assert_int_equal(call(&f, f.admin, bad), 2);
    assert_non_null(strstr(err, "area.levl"));
    const char *nom[] = {"call", "/civic.points.v1.PointsService/NoSuch", "{}", NULL};
    assert_int_equal(call(&f, f.admin, nom), 1);
    assert_non_null(strstr(err, "NOT_FOUND"));
    gw_fixture_stop(&f);
}

static void
test_every_method_reached(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    const char *dargs[] = {"-o", "json", "describe", NULL};
    assert_int_equal(call(&f, f.admin, dargs), 0);
    json_error_t e;
    json_t *methods = json_loads(out, 0, &e);
    assert_non_null(methods);
    const char *want_svc[] = {"/civic.points.v1.PointsService/", "/civic.tasks.v1.TasksService/",
                              "/civic.volunteers.v1.VolunteersService/", "/civic.gateway.v1.GatewayService/"};
    int per_svc[4] = {0};
    size_t i;
    json_t *m;
    json_array_foreach(methods, i, m) {
        const char *name = json_string_value(json_object_get(m, "method"));
        for (int s = 0; s < 4; s++)
            per_svc[s] += strncmp(name, want_svc[s], strlen(want_svc[s])) == 0;
        const char *args[] = {"call", name, "{}", NULL};
        int rc = call(&f, f.admin, args);
        // 0 or a service's refusal; never usage errors (2), never a method
        // the gateway does not route or this CLI cannot type.
        if (rc > 1 || strstr(err, "UNIMPLEMENTED") || strstr(err, "not compiled") || strstr(err, "no such method"))
            fail_msg("%s: exit %d: %s", name, rc, err);
        if (rc == 0) {
            json_t *j = json_loads(out, 0, &e);
            if (j == NULL)
                fail_msg("%s: reply not JSON: %s", name, out);
            json_decref(j);
        }
    }
    for (int s = 0; s < 4; s++)
        if (per_svc[s] < 5)
            fail_msg("describe at the gateway lists %d methods of %s", per_svc[s], want_svc[s]);
    // describe MESSAGE from the server's descriptor set.
    const char *margs[] = {"describe", "civic.points.v1.LatLng", NULL};
    assert_int_equal(call(&f, f.admin, margs), 0);
    assert_non_null(strstr(out, "lat"));
    json_decref(methods);
    gw_fixture_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_and_write_each_service),
        cmocka_unit_test(test_every_method_reached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
