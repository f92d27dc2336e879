// civic.tasks.table: the handler table agrees with tasks.proto (every method
// has a handler; reads exactly where the .proto says NO_SIDE_EFFECTS), and
// with the transition table: a role the method table lets in is one some
// move of that method allows, and the other way round.
#include <string.h>

#include "tasks.h"
#include "tasks_th.h"

static void
test_tasks_table(void **state)
{
    char err[256] = "";
    if (rt_server_check_table(&tasks_service_def, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static const struct {
    const char *method;
    tasks_action a, b; // the moves the method makes (b: 0 if one)
} method_moves[] = {
    {"ReportProblem", TASKS_ACTION(REPORT), TASKS_ACTION(REPORT_FIXED)},
    {"AssignProblem", TASKS_ACTION(ASSIGN), 0},
    {"ReassignProblem", TASKS_ACTION(REASSIGN), 0},
    {"ExtendProblemDeadline", TASKS_ACTION(EXTEND), 0},
    {"StartProblem", TASKS_ACTION(START), 0},
    {"SubmitProblem", TASKS_ACTION(SUBMIT), 0},
    {"VerifyProblem", TASKS_ACTION(VERIFY), 0},
    {"RejectProblem", TASKS_ACTION(REJECT), 0},
    {"MarkProblemDuplicate", TASKS_ACTION(MARK_DUPLICATE), 0},
    {"MarkProblemInvalid", TASKS_ACTION(MARK_INVALID), 0},
    {"CancelProblem", TASKS_ACTION(CANCEL), 0},
};

static void
test_roles_agree_with_moves(void **state)
{
    for (size_t i = 0; i < sizeof method_moves / sizeof method_moves[0]; i++) {
        const rt_method *m = NULL;
        for (size_t j = 0; j < tasks_service_def.n_methods; j++)
            if (strcmp(tasks_service_def.methods[j].name, method_moves[i].method) == 0)
                m = &tasks_service_def.methods[j];
        assert_non_null(m);
        assert_int_equal(m->kind, RT_WRITE);
        unsigned roles = tasks_move_find(method_moves[i].a)->roles;
        if (method_moves[i].b)
            roles |= tasks_move_find(method_moves[i].b)->roles;
        if (roles != m->roles)
            fail_msg("%s: the method table lets in roles %#x, its moves %#x", m->name, m->roles, roles);
    }
    // Every action of the enum but UNSPECIFIED has a row.
    const ProtobufCEnumDescriptor *d = &civic__tasks__v1__problem_action__descriptor;
    for (unsigned i = 0; i < d->n_values; i++)
        if (d->values[i].value != 0 && tasks_move_find((tasks_action) d->values[i].value) == NULL)
            fail_msg("no transition row for %s", d->values[i].name);
}

static void
test_unit_principal(void **state)
{
    assert_int_equal(tasks_unit_principal("7"), 7);
    assert_int_equal(tasks_unit_principal("12345"), 12345);
    assert_int_equal(tasks_unit_principal("0"), 0);
    assert_int_equal(tasks_unit_principal("07"), 0);
    assert_int_equal(tasks_unit_principal("7a"), 0);
    assert_int_equal(tasks_unit_principal(""), 0);
    assert_int_equal(tasks_unit_principal("99999999999999999999999"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks_table),
        cmocka_unit_test(test_roles_agree_with_moves),
        cmocka_unit_test(test_unit_principal),
    };
    return cmocka_run_group_tests_name("civic.tasks.table", tests, NULL, NULL);
}
