// civic.tasks.cli_restart: through the real civic CLI against a durable
// civic-tasks (synced commits). Idempotency keys (--idempotency-key): a
// retried report answers the same problem and creates nothing, a retried
// move answers as before and adds no history, and the same key with a
// different request is INVALID_ARGUMENT naming metadata.idempotency-key.
// Then kill -9, twice, with CLI moves in flight, and restart: every move a
// CLI acknowledged (exit 0) is in `civic problems history`, in order, once;
// each in-flight move retried with its key afterwards is there exactly once
// whether or not it had landed; and the keys given before the crash still
// hold after it.
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "tasks_th.h"

#define N 8        // problems taken through their life
#define STEPS 6    // assign, start, submit, reject, submit, verify
#define HIST (1 + STEPS)

static th_server srv;
static tt_cli c = {.srv = &srv};

#define CLI(...) TT_CLI(&c, __VA_ARGS__)

// Each problem's life, one move a step, and what its history must say.
static const struct {
    const char *verb, *as, *action; // the CLI's verb, --as, the history's action
} steps[STEPS] = {
    {"assign", "insp-1:inspector", "PROBLEM_ACTION_ASSIGN"},
    {"start", "7:unit", "PROBLEM_ACTION_START"},
    {"submit", "7:unit", "PROBLEM_ACTION_SUBMIT"},
    {"reject", "insp-2:inspector", "PROBLEM_ACTION_REJECT"},
    {"submit", "7:unit", "PROBLEM_ACTION_SUBMIT"},
    {"verify", "insp-2:inspector", "PROBLEM_ACTION_VERIFY"},
};

typedef struct life {
    uint64_t id;
    char ids[24];
    int done; // steps acknowledged
} life;

static life lives[N];
static char deadline[40];

// step_args fills args (room for 24) for problem l's next step, with key
// (NULL: the CLI makes one).
static const char *const *
step_args(const life *l, const char *key, const char **args)
{
    int n = 0, s = l->done;
    if (key != NULL)
        args[n++] = "--idempotency-key", args[n++] = key;
    args[n++] = "--as", args[n++] = steps[s].as, args[n++] = "problems", args[n++] = steps[s].verb;
    args[n++] = l->ids;
    if (s == 0)
        args[n++] = "--unit-id", args[n++] = "7", args[n++] = "--deadline", args[n++] = deadline;
    else if (strcmp(steps[s].verb, "submit") == 0)
        args[n++] = "--note", args[n++] = "已清理", args[n++] = "--photo", args[n++] = "https://oss.example.cn/a.jpg";
    else if (strcmp(steps[s].verb, "reject") == 0)
        args[n++] = "--reason", args[n++] = "仍有残留";
    args[n] = NULL;
    return args;
}

// expect_history fails unless `civic problems history` of l lists its
// report and then exactly its acknowledged steps, numbered 1…, by whom the
// steps say.
static void
expect_history(const life *l)
{
    assert_int_equal(CLI("-o", "json", "problems", "history", l->ids), 0);
    json_error_t e;
    json_t *j = json_loads(c.out, 0, &e);
    if (j == NULL)
        fail_msg("history %s: not JSON (%s): %.200s", l->ids, e.text, c.out);
    json_t *entries = json_object_get(j, "entries");
    if (json_array_size(entries) != (size_t) (1 + l->done))
        fail_msg("problem %s: %zu history entries, %d moves acknowledged: %s", l->ids, json_array_size(entries),
                 l->done, c.out);
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *x = json_array_get(entries, i);
        const char *action = json_string_value(json_object_get(x, "action"));
        const char *actor = json_string_value(json_object_get(x, "actor"));
        const char *seq = json_string_value(json_object_get(x, "seq")); // uint64: a string in JSON
        const char *want = i == 0 ? "PROBLEM_ACTION_REPORT" : steps[i - 1].action;
        const char *as = i == 0 ? "insp-1:inspector" : steps[i - 1].as;
        char who[32], n[24];
        snprintf(who, sizeof who, "%.*s", (int) strcspn(as, ":"), as);
        snprintf(n, sizeof n, "%zu", i + 1);
        if (action == NULL || strcmp(action, want) != 0 || actor == NULL || strcmp(actor, who) != 0 ||
            seq == NULL || strcmp(seq, n) != 0)
            fail_msg("problem %s entry %zu: %s by %s (seq %s), want %s by %s", l->ids, i + 1,
                     action ? action : "?", actor ? actor : "?", seq ? seq : "?", want, who);
    }
    json_decref(j);
}

// count_problems is how many problems `civic -o csv problems list` exports.
static size_t
count_problems(void)
{
    uint64_t ids[1];
    assert_int_equal(CLI("-o", "csv", "problems", "list"), 0);
    return tt_csv_ids(&c, ids, 0);
}

static const char *const report_args[] = {
    "--idempotency-key", "report-1", "--as", "insp-1:inspector", "-o", "json", "problems", "report",
    "--point-id", "500", "--area-id", "1", "--grid-id", "4", "--category", "clutter", "--source", "patrol",
    "--allow-duplicate", "true", "--description", "楼道杂物", NULL};

// report_again retries the keyed report (with another description if
// other) and checks the answer: the same problem, or INVALID_ARGUMENT naming
// the key; nothing created either way.
static void
report_again(uint64_t id, size_t problems, int other)
{
    const char *args[32];
    size_t n = 0;
    for (; report_args[n] != NULL; n++)
        args[n] = report_args[n];
    if (other)
        args[n - 1] = "楼道杂物（另一处）";
    args[n] = NULL;
    int rc = tt_cli_run(&c, args);
    if (other) {
        assert_int_equal(rc, 1);
        if (strstr(c.err, "INVALID_ARGUMENT") == NULL || strstr(c.err, "metadata.idempotency-key") == NULL)
            fail_msg("the key reused for another report: %s", c.err);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(tt_json_u64(&c, "id"), id);
        assert_null(strstr(c.out, "\"duplicate\": true"));
        assert_non_null(strstr(c.out, "\"historyCount\": 1"));
    }
    assert_int_equal(count_problems(), problems);
}

static void
test_keys_and_kill9_through_the_cli(void **state)
{
    tt_server_start(&srv, 1);
    tt_time(deadline, sizeof deadline, tt_now_ms() + 3 * TT_DAY_MS);
    // A keyed report, retried: the same problem, nothing new (allow-
    // duplicate: the duplicate check cannot be what answers); the key with
    // another request: refused, naming it.
    assert_int_equal(tt_cli_run(&c, report_args), 0);
    uint64_t keyed = tt_json_u64(&c, "id");
    size_t problems = count_problems();
    report_again(keyed, problems, 0);
    report_again(keyed, problems, 1);

    // The lives, each moved as far as its index (mod STEPS) by acknowledged
    // CLI calls; problem 1's assign carries a key, retried below.
    for (int i = 0; i < N; i++) {
        life *l = &lives[i];
        assert_int_equal(CLI("--as", "insp-1:inspector", "-o", "json", "problems", "report", "--point-id", "600",
                             "--area-id", "1", "--grid-id", "4", "--category", "garbage", "--source", "sweep",
                             "--allow-duplicate", "true", "--description", "散落垃圾"),
                         0);
        l->id = tt_json_u64(&c, "id");
        snprintf(l->ids, sizeof l->ids, "%llu", (unsigned long long) l->id);
        for (int s = 0; s < i % STEPS; s++) {
            const char *args[24];
            if (tt_cli_run(&c, step_args(l, i == 1 ? "assign-1" : NULL, args)) != 0)
                fail_msg("problem %s step %d: %s", l->ids, s + 1, c.err);
            l->done++;
        }
    }
    problems += N;

    for (int cycle = 0; cycle < 2; cycle++) {
        // Each unfinished life's next move in its own CLI process; kill -9
        // as soon as one of them has landed, the others still on their
        // way; restart.
        civic_channel *ch = th_channel(&srv);
        th_cli_proc p[N];
        char keys[N][32];
        const char *argv[N][40];
        int flying[N] = {0}, n_flying = 0, landed = 0;
        for (int i = 0; i < N; i++) {
            if (lives[i].done == STEPS)
                continue;
            const char *args[24];
            snprintf(keys[i], sizeof keys[i], "fly-%d-%d", cycle, i);
            th_cli_start(&p[i], tt_cli_argv(&srv, argv[i], 40, step_args(&lives[i], keys[i], args)));
            flying[i] = 1, n_flying++;
        }
        for (int64_t until = tt_now_ms() + 10000; landed == 0 && tt_now_ms() < until;) {
            for (int i = 0; i < N; i++) {
                if (!flying[i])
                    continue;
                tt_problem *x = tt_get(ch, lives[i].id);
                landed += (int) x->history_count > 1 + lives[i].done;
                protobuf_c_message_free_unpacked(&x->base, NULL);
            }
        }
        th_server_kill(&srv);
        civic_channel_close(ch);
        assert_true(landed > 0);
        th_server_restart(&srv);
        // Each CLI either got its answer (perhaps by retrying across the
        // restart) or gave up; either way, the same call again with its key
        // must now succeed, once: replayed if it had landed, made if not.
        int acked = 0;
        for (int i = 0; i < N; i++) {
            if (!flying[i])
                continue;
            char out[4096], err[4096];
            acked += th_cli_wait(&p[i], out, sizeof out, err, sizeof err) == 0;
            const char *args[24];
            if (tt_cli_run(&c, step_args(&lives[i], keys[i], args)) != 0)
                fail_msg("cycle %d: problem %s, step %d retried with its key: %s", cycle, lives[i].ids,
                         lives[i].done + 1, c.err);
            lives[i].done++;
        }
        print_message("kill -9 #%d: %d of %d moves in flight had landed when it came; %d CLIs exited 0\n", cycle + 1,
                      landed, n_flying, acked);
        for (int i = 0; i < N; i++)
            expect_history(&lives[i]);
    }

    // Keys given before the crashes still hold: the report, and problem 1's
    // assign, replayed: exit 0 with the first answer (the problem as it was
    // then, ASSIGNED; it is SUBMITTED now), no new history entry.
    report_again(keyed, problems, 0);
    report_again(keyed, problems, 1);
    life first = lives[1];
    first.done = 0;
    const char *args[24];
    assert_int_equal(tt_cli_run(&c, step_args(&first, "assign-1", args)), 0);
    assert_true(strstr(c.out, "ASSIGNED") != NULL && strstr(c.out, "SUBMITTED") == NULL);
    tt_expect_state(&c, lives[1].id, "SUBMITTED");
    expect_history(&lives[1]);
    tt_server_finish(&srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_and_kill9_through_the_cli),
    };
    return cmocka_run_group_tests_name("civic.tasks.cli_restart", tests, NULL, NULL);
}
