// civic.tasks.cli_machine: the state machine through the real civic CLI
// against a real civic-tasks. For every state × action: a refused case —
// exit status 1, the status name on stderr (and the state named, for
// FAILED_PRECONDITION), nothing changed — and, where the domain's table
// allows the move from that state at all, an allowed case: exit status 0,
// the problem in the state the table gives, one more history entry. The
// roles rotate over the cells (every role is used); the full (state,
// action, role) table runs on the C client in civic.tasks.machine.
#include <stdio.h>
#include <string.h>

#include "tasks.h"
#include "tasks_th.h"

static th_server srv;
static tt_cli c = {.srv = &srv};
static civic_channel *ch;
static uint64_t anchor; // an open problem duplicates are marked against

// move runs `civic --as PRINCIPAL:ROLE -o json problems VERB ID FLAGS…` for
// move a on problem id, with the flags each move needs.
static int
move(int a, uint64_t id, int role)
{
    char ids[24], as[64], of[24], d[40];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long) id);
    snprintf(as, sizeof as, "%s:%s", tt_role_principal[role], tt_role_name[role]);
    snprintf(of, sizeof of, "%llu", (unsigned long long) anchor);
    const char *args[20] = {"--as", as, "-o", "json", "problems", tt_moves[a].name, ids};
    int n = 7;
    switch (a) {
    case TT_A_ASSIGN:
        args[n++] = "--unit-id", args[n++] = "7", args[n++] = "--deadline";
        args[n++] = tt_time(d, sizeof d, tt_now_ms() + 2 * TT_DAY_MS);
        break;
    case TT_A_REASSIGN:
        args[n++] = "--unit-id", args[n++] = "9", args[n++] = "--reason", args[n++] = "换单位";
        args[n++] = "--deadline", args[n++] = tt_time(d, sizeof d, tt_now_ms() + 3 * TT_DAY_MS);
        break;
    case TT_A_EXTEND:
        args[n++] = "--reason", args[n++] = "延期", args[n++] = "--deadline";
        args[n++] = tt_time(d, sizeof d, tt_now_ms() + 30 * TT_DAY_MS);
        break;
    case TT_A_SUBMIT:
        args[n++] = "--note", args[n++] = "已整改", args[n++] = "--photo";
        args[n++] = "https://oss.example.cn/after/3.jpg";
        break;
    case TT_A_DUPLICATE:
        args[n++] = "--duplicate-of", args[n++] = of;
        break;
    case TT_A_REJECT:
    case TT_A_INVALID:
    case TT_A_CANCEL:
        args[n++] = "--reason", args[n++] = "测试原因";
        break;
    default: // start, verify: the id is all
        break;
    }
    args[n] = NULL;
    return tt_cli_run(&c, args);
}

static void
test_every_state_and_action_through_the_cli(void **state)
{
    tt_server_start(&srv, 0);
    ch = th_channel(&srv);
    anchor = tt_report(ch, 1, 1, 4, CIVIC__TASKS__V1__PROBLEM_CATEGORY__PROBLEM_CATEGORY_GARBAGE);
    int cells = 0, allowed = 0, used[TT_N_ROLES] = {0}, by_state_refused = 0;
    for (int f = 0; f < TT_N_FIXTURES; f++) {
        for (int a = 0; a < TT_N_ACTIONS; a++) {
            uint64_t id = tt_fixture(ch, f, 2000 + (uint64_t) cells, anchor);
            tt_problem *before = tt_get(ch, id);
            // The roles the table lets make this move from this state, and
            // those it refuses, by state or by role. A move never allowed
            // from this state is refused to a role that may make it
            // elsewhere (the state is the reason, named on stderr).
            int ok[TT_N_ROLES], by_state[TT_N_ROLES], by_role[TT_N_ROLES];
            int n_ok = 0, n_state = 0, n_role = 0;
            for (int r = 0; r < TT_N_ROLES; r++) {
                int w = tt_want(a, r, before);
                if (w == CIVIC_OK)
                    ok[n_ok++] = r;
                else if (w == CIVIC_FAILED_PRECONDITION)
                    by_state[n_state++] = r;
                else
                    by_role[n_role++] = r;
            }
            int r = n_state ? by_state[cells % n_state] : by_role[cells % n_role];
            int want = tt_want(a, r, before);
            used[r]++;
            int rc = move(a, id, r);
            if (rc != 1 || strstr(c.err, civic_code_name(want)) == NULL)
                fail_msg("%s, %s as %s (%s): exit %d, stderr %s; want exit 1 and %s", tt_fixture_name[f],
                         tt_moves[a].name, tt_role_principal[r], tt_role_name[r], rc, c.err,
                         civic_code_name(want));
            if (want == CIVIC_FAILED_PRECONDITION) {
                char named[64];
                snprintf(named, sizeof named, "is %s", tasks_state_name((int) before->state));
                assert_non_null(strstr(c.err, named));
            }
            by_state_refused += want == CIVIC_FAILED_PRECONDITION;
            tt_problem *after = tt_get(ch, id);
            assert_int_equal(after->state, before->state);
            assert_int_equal(after->history_count, before->history_count);
            assert_int_equal(after->unit_id, before->unit_id);
            protobuf_c_message_free_unpacked(&after->base, NULL);
            if (n_ok > 0) {
                r = ok[cells % n_ok];
                used[r]++;
                rc = move(a, id, r);
                if (rc != 0)
                    fail_msg("%s, %s as %s (%s): exit %d: %s", tt_fixture_name[f], tt_moves[a].name,
                             tt_role_principal[r], tt_role_name[r], rc, c.err);
                char named[64];
                int to = tt_want_state(a, before);
                snprintf(named, sizeof named, "\"PROBLEM_STATE_%s\"", tasks_state_name(to));
                assert_non_null(strstr(c.out, named));
                after = tt_get(ch, id);
                assert_int_equal(after->state, to);
                assert_int_equal(after->history_count, before->history_count + 1);
                protobuf_c_message_free_unpacked(&after->base, NULL);
                allowed++;
            }
            protobuf_c_message_free_unpacked(&before->base, NULL);
            cells++;
        }
    }
    print_message("through the CLI: %d (state, action) cells, %d allowed moves, %d refused by role, %d by "
                  "state\n", cells, allowed, cells - by_state_refused, by_state_refused);
    assert_int_equal(cells, TT_N_FIXTURES * TT_N_ACTIONS);
    assert_int_equal(allowed, 20); // the domain's table: 20 (state, move) pairs allowed
    for (int r = 0; r < TT_N_ROLES; r++)
        if (used[r] == 0)
            fail_msg("role %s (%s) never used", tt_role_principal[r], tt_role_name[r]);
    civic_channel_close(ch);
    tt_server_finish(&srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_state_and_action_through_the_cli),
    };
    return cmocka_run_group_tests_name("civic.tasks.cli_machine", tests, NULL, NULL);
}
