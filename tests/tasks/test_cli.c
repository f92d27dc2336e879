// civic.tasks.cli: a problem's whole life through the real civic CLI against
// a real civic-tasks, acting as each role with --as PRINCIPAL:ROLE: report,
// duplicate report, assign, start, submit, reject, submit, verify, history;
// reassign, extend, duplicate, invalidate, cancel; a unit acting on another
// unit's problem (PERMISSION_DENIED, nothing changed); bad input naming the
// field; and `-o csv --all` exporting exactly the filtered list.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasks_th.h"

static th_server srv;

// cli runs `civic --addr URL ARGS…`, returning the exit status; out and err
// get stdout and stderr.
static char out[1 << 18], err[8192];

#define CLI(...) cli((const char *[]){__VA_ARGS__, NULL})

static int
cli(const char **args)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = "--addr";
    argv[n++] = srv.url;
    for (int i = 0; args[i] != NULL && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return th_cli(out, sizeof out, err, sizeof err, argv);
}

// json_id finds "id": "N" in the output (the first one).
static uint64_t
json_u64(const char *field)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", field);
    const char *p = strstr(out, pat);
    if (p == NULL)
        fail_msg("no %s in: %s", field, out);
    return strtoull(p + strlen(pat), NULL, 10);
}

static int
has(const char *s, const char *needle)
{
    return strstr(s, needle) != NULL;
}

static void
expect_state(uint64_t id, const char *state)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long) id);
    assert_int_equal(CLI("-o", "json", "problems", "get", ids), 0);
    char want[64];
    snprintf(want, sizeof want, "\"PROBLEM_STATE_%s\"", state);
    if (!has(out, want))
        fail_msg("problem %s is not %s: %s", ids, state, out);
}

static void
test_a_problems_life(void **state)
{
    char deadline[64], later[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&(time_t){now + 3 * 86400}, &tm);
    strftime(deadline, sizeof deadline, "%Y-%m-%dT%H:%M:%SZ", &tm);
    gmtime_r(&(time_t){now + 6 * 86400}, &tm);
    strftime(later, sizeof later, "%Y-%m-%dT%H:%M:%SZ", &tm);
    (void) now;

    assert_int_equal(CLI("--as", "insp-1:inspector", "-o", "json", "problems", "report", "--point-id", "12",
                         "--area-id", "1", "--grid-id", "4", "--category", "small-ads", "--description",
                         "电线杆上张贴小广告", "--source", "sweep", "--severity", "high", "--photo",
                         "https://oss.example.cn/before/1.jpg", "--photo", "s3://civic/before/2.jpg"),
                     0);
    uint64_t id = json_u64("id");
    assert_true(has(out, "PROBLEM_STATE_REPORTED"));
    assert_true(has(out, "s3://civic/before/2.jpg"));
    char ids[24];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long) id);

    // The same category at the same point while it is open: that one again.
    assert_int_equal(CLI("--as", "vol-3:volunteer", "-o", "json", "problems", "report", "--point-id", "12",
                         "--area-id", "1", "--grid-id", "4", "--category", "small-ads", "--description",
                         "又见小广告", "--source", "volunteer"),
                     0);
    assert_int_equal(json_u64("id"), id);
    assert_true(has(out, "\"duplicate\": true"));

    // A unit may not assign; an inspector may.
    assert_int_equal(CLI("--as", "7:unit", "problems", "assign", ids, "--unit-id", "7", "--deadline", deadline), 1);
    assert_true(has(err, "PERMISSION_DENIED"));
    assert_int_equal(CLI("--as", "insp-1:inspector", "problems", "assign", ids, "--unit-id", "7", "--deadline",
                         deadline, "--note", "请三日内清理"),
                     0);
    expect_state(id, "ASSIGNED");

    // Another unit acting on it: PERMISSION_DENIED, nothing changed.
    assert_int_equal(CLI("--as", "8:unit", "problems", "start", ids), 1);
    assert_true(has(err, "PERMISSION_DENIED"));
    expect_state(id, "ASSIGNED");
    assert_int_equal(CLI("-o", "json", "problems", "get", ids), 0);
    assert_true(has(out, "\"historyCount\": 2"));

    // Submitting before starting: FAILED_PRECONDITION naming the state.
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "done", "--photo",
                         "https://oss.example.cn/after/1.jpg"),
                     1);
    assert_true(has(err, "FAILED_PRECONDITION") && has(err, "is ASSIGNED"));
    assert_int_equal(CLI("--as", "7:unit", "problems", "start", ids), 0);
    // Bad input names the field: no after-photo, then a bad one.
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "done"), 1);
    assert_true(has(err, "INVALID_ARGUMENT") && has(err, "after_photos"));
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "done", "--photo", "ftp://x/y"), 1);
    assert_true(has(err, "after_photos[0]"));
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "已清理", "--photo",
                         "https://oss.example.cn/after/1.jpg"),
                     0);
    expect_state(id, "SUBMITTED");
    assert_int_equal(CLI("--as", "insp-2:inspector", "problems", "reject", ids, "--reason", "仍有残留"), 0);
    expect_state(id, "IN_PROGRESS");
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "已彻底清理", "--photo",
                         "https://oss.example.cn/after/2.jpg"),
                     0);
    assert_int_equal(CLI("--as", "insp-2:inspector", "problems", "verify", ids, "--note", "销号"), 0);
    expect_state(id, "CLOSED");
    assert_true(has(out, "\"reworkCount\": 1"));
    assert_int_equal(CLI("--as", "insp-3:inspector", "problems", "verify", ids), 1);
    assert_true(has(err, "FAILED_PRECONDITION") && has(err, "is CLOSED"));

    // The history, oldest first, in CSV.
    assert_int_equal(CLI("-o", "csv", "problems", "history", ids, "--all"), 0);
    const char *want[] = {"REPORT,", "ASSIGN,", "START,", "SUBMIT,", "REJECT,", "SUBMIT,", "VERIFY,"};
    const char *p = strchr(out, '\n');
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_non_null(p);
        p++;
        const char *comma = strchr(p, ',');
        comma = strchr(comma + 1, ',');
        if (strncmp(comma + 1, want[i], strlen(want[i])) != 0)
            fail_msg("history line %zu: %.60s, want %s", i + 1, p, want[i]);
        p = strchr(p, '\n');
    }
    assert_true(has(out, "insp-2,inspector"));
    assert_true(has(out, "7,unit"));

    // Reassign, extend, duplicate, invalidate, cancel.
    assert_int_equal(CLI("--as", "insp-1:inspector", "-o", "json", "problems", "report", "--point-id", "13",
                         "--area-id", "1", "--grid-id", "5", "--category", "clutter", "--description", "楼道杂物",
                         "--source", "patrol"),
                     0);
    snprintf(ids, sizeof ids, "%llu", (unsigned long long) json_u64("id"));
    assert_int_equal(CLI("problems", "assign", ids, "--unit-id", "7", "--deadline", deadline), 0);
    assert_int_equal(CLI("problems", "reassign", ids, "--unit-id", "9", "--deadline", deadline), 1);
    assert_true(has(err, "reason"));
    assert_int_equal(CLI("problems", "reassign", ids, "--unit-id", "9", "--deadline", deadline, "--reason",
                         "属物业管理"),
                     0);
    assert_int_equal(CLI("problems", "extend", ids, "--deadline", deadline, "--reason", "x"), 1);
    assert_true(has(err, "later than the current deadline"));
    assert_int_equal(CLI("-o", "json", "problems", "extend", ids, "--deadline", later, "--reason", "需协调"), 0);
    assert_true(has(out, "\"unitId\": \"9\""));
    assert_int_equal(CLI("--as", "insp-1:inspector", "problems", "cancel", ids, "--reason", "x"), 1);
    assert_true(has(err, "PERMISSION_DENIED"));
    assert_int_equal(CLI("problems", "cancel", ids, "--reason", "点位拆迁"), 0);
    expect_state(strtoull(ids, NULL, 10), "CANCELLED");

    assert_int_equal(CLI("-o", "json", "problems", "report", "--point-id", "14", "--area-id", "1", "--grid-id",
                         "4", "--category", "garbage", "--description", "垃圾", "--source", "citizen"),
                     0);
    snprintf(ids, sizeof ids, "%llu", (unsigned long long) json_u64("id"));
    char orig[24];
    snprintf(orig, sizeof orig, "%llu", (unsigned long long) id);
    assert_int_equal(CLI("problems", "duplicate", ids, "--duplicate-of", orig), 0);
    expect_state(strtoull(ids, NULL, 10), "DUPLICATE");
    assert_int_equal(CLI("problems", "invalidate", ids, "--reason", "x"), 1);
    assert_true(has(err, "is DUPLICATE"));

    // Fixed on the spot, by an inspector.
    assert_int_equal(CLI("--as", "insp-1:inspector", "-o", "json", "problems", "report", "--point-id", "15",
                         "--area-id", "1", "--grid-id", "5", "--category", "garbage", "--description", "散落垃圾",
                         "--source", "patrol", "--fixed-on-spot", "true", "--after-photo",
                         "https://oss.example.cn/after/9.jpg"),
                     0);
    assert_true(has(out, "PROBLEM_STATE_SUBMITTED"));
    assert_true(has(out, "\"fixedOnSpot\": true"));
}

// csv_ids reads the id column (the first) of CSV output.
static size_t
csv_ids(uint64_t *ids, size_t max)
{
    size_t n = 0;
    const char *p = strchr(out, '\n');
    while (p && p[1] && n < max) {
        ids[n++] = strtoull(p + 1, NULL, 10);
        p = strchr(p + 1, '\n');
    }
    return n;
}

static void
test_csv_exports_exactly_the_filtered_list(void **state)
{
    civic_channel *ch = th_channel(&srv);
    for (int i = 0; i < 40; i++) {
        uint64_t area = i % 2 ? 6 : 11;
        uint64_t id = tt_report(ch, 200 + (uint64_t) i, area, area + 3, 1 + i % 9);
        if (i % 3)
            assert_ok(tt_assign(ch, id, 1 + (uint64_t) (i % 4), tt_now_ms() + (i + 1) * 3600000LL));
    }
    // Area 11, ASSIGNED: through the client, then the CLI's CSV over pages of 3.
    uint64_t want[64], got[64];
    size_t nw = 0;
    char token[256] = "";
    do {
        Civic__Tasks__V1__ListProblemsRequest req = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
        req.area_id = 11, req.state = CIVIC__TASKS__V1__PROBLEM_STATE__PROBLEM_STATE_ASSIGNED;
        req.page_size = 1000, req.page_token = token;
        ProtobufCMessage *resp;
        assert_ok(tt_call(ch, "viewer-1", "viewer", TT "ListProblems", &req.base,
                          &civic__tasks__v1__list_problems_response__descriptor, &resp, NULL));
        Civic__Tasks__V1__ListProblemsResponse *r = (Civic__Tasks__V1__ListProblemsResponse *) resp;
        for (size_t i = 0; i < r->n_problems; i++)
            want[nw++] = r->problems[i]->id;
        snprintf(token, sizeof token, "%s", r->next_page_token);
        protobuf_c_message_free_unpacked(resp, NULL);
    } while (token[0]);
    civic_channel_close(ch);
    assert_int_equal(nw, 13);
    assert_int_equal(CLI("--as", "viewer-1:viewer", "-o", "csv", "problems", "list", "--area-id", "11", "--state",
                         "assigned", "--page-size", "3", "--all"),
                     0);
    assert_true(strncmp(out, "id,state,", 9) == 0);
    size_t ng = csv_ids(got, 64);
    assert_int_equal(ng, nw);
    for (size_t i = 0; i < nw; i++)
        assert_int_equal(got[i], want[i]);
    // Overdue as of a day and a half from now: assigned ones due before it.
    assert_int_equal(CLI("-o", "csv", "problems", "list", "--overdue", "true", "--as-of",
                         "now", "--all"),
                     0);
    assert_int_equal(csv_ids(got, 64), 0);
    char as_of[32];
    snprintf(as_of, sizeof as_of, "%lld", (long long) (time(NULL) + 36 * 3600));
    assert_int_equal(CLI("-o", "csv", "problems", "list", "--overdue", "true", "--as-of", as_of, "--area-id",
                         "6", "--page-size", "2", "--all"),
                     0);
    ng = csv_ids(got, 64);
    assert_true(ng > 0);
    for (size_t i = 0; i < ng; i++) {
        char id[24];
        snprintf(id, sizeof id, "%llu", (unsigned long long) got[i]);
        assert_int_equal(CLI("-o", "json", "problems", "get", id), 0);
        assert_true(has(out, "\"areaId\": \"6\"") && has(out, "PROBLEM_STATE_ASSIGNED"));
    }
}

static int
setup(void **state)
{
    const char *args[] = {"--unsafe-no-sync", NULL};
    th_server_start(&srv, CIVIC_TASKS_BIN, args);
    return 0;
}

static int
teardown(void **state)
{
    assert_int_equal(th_server_term(&srv), 0);
    char dir[320];
    snprintf(dir, sizeof dir, "%s/data", srv.dir);
    tt_audit(dir);
    th_server_cleanup(&srv);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_problems_life),
        cmocka_unit_test(test_csv_exports_exactly_the_filtered_list),
    };
    return cmocka_run_group_tests_name("civic.tasks.cli", tests, setup, teardown);
}
