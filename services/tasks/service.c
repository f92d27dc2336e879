// The tasks service's handler table and its state.
#include <stdlib.h>

#include "tasks.h"

int tasks_test_clock;

// Who may call what (deny by default: a method missing here is denied). The
// domain's table decides each move; machine.c checks the same roles again
// per move (and which unit), so this table is the first gate, not the only
// one. Every signed-in role reads problems and their history; the event log
// is for the campaign office and its inspectors.
#define ADMIN RT_ROLE_BIT(RT_ROLE_ADMIN)
#define STAFF (RT_ROLE_BIT(RT_ROLE_ADMIN) | RT_ROLE_BIT(RT_ROLE_INSPECTOR))
#define UNIT RT_ROLE_BIT(RT_ROLE_UNIT)
#define REPORTERS (STAFF | RT_ROLE_BIT(RT_ROLE_VOLUNTEER))
#define READERS RT_ROLES_SIGNED_IN

static const rt_method methods[] = {
    {"ReportProblem", RT_WRITE, handle_report_problem, REPORTERS, NULL, NULL},
    {"GetProblem", RT_READ, handle_get_problem, READERS, NULL, NULL},
    {"ListProblems", RT_READ, handle_list_problems, READERS, NULL, NULL},
    {"AssignProblem", RT_WRITE, handle_assign_problem, STAFF, NULL, NULL},
    {"ReassignProblem", RT_WRITE, handle_reassign_problem, STAFF, NULL, NULL},
    {"ExtendProblemDeadline", RT_WRITE, handle_extend_problem_deadline, STAFF, NULL, NULL},
    {"StartProblem", RT_WRITE, handle_start_problem, UNIT, NULL, NULL},
    {"SubmitProblem", RT_WRITE, handle_submit_problem, UNIT, NULL, NULL},
    {"VerifyProblem", RT_WRITE, handle_verify_problem, STAFF, NULL, NULL},
    {"RejectProblem", RT_WRITE, handle_reject_problem, STAFF, NULL, NULL},
    {"MarkProblemDuplicate", RT_WRITE, handle_mark_problem_duplicate, STAFF, NULL, NULL},
    {"MarkProblemInvalid", RT_WRITE, handle_mark_problem_invalid, STAFF, NULL, NULL},
    {"CancelProblem", RT_WRITE, handle_cancel_problem, ADMIN, NULL, NULL},
    {"ListProblemHistory", RT_READ, handle_list_problem_history, READERS, NULL, NULL},
    {"GetDailyReport", RT_READ, handle_get_daily_report, READERS, NULL, NULL},
    {"ListNotices", RT_READ, handle_list_notices, READERS, NULL, NULL},
    {"GetSummary", RT_READ, handle_get_summary, READERS, NULL, NULL},
    {"CreateWork", RT_WRITE, handle_create_work, ADMIN, NULL, NULL},
    // A unit only on its own works: the handler checks.
    {"ReportWorkProgress", RT_WRITE, handle_report_work_progress, ADMIN | UNIT, NULL, NULL},
    {"GetWork", RT_READ, handle_get_work, READERS, NULL, NULL},
    {"ListWorks", RT_READ, handle_list_works, READERS, NULL, NULL},
    RT_LIST_EVENTS_METHOD(STAFF),
};

const rt_service_def tasks_service_def = {
    &civic__tasks__v1__tasks_service__descriptor,
    methods,
    sizeof methods / sizeof methods[0],
};

void
tasks_open_svc(tasks_svc *s, rt_store *store, int tz_offset_min)
{
    s->store = store;
    s->tz_offset_min = tz_offset_min;
    s->problems = rt_store_db(store, "problems");
    s->history = rt_store_db(store, "history");
    s->counts = rt_store_db(store, "counts");
    s->works = rt_store_db(store, "works");
    s->work_log = rt_store_db(store, "work_log");
    for (int i = 0; i < TASKS_IX_COUNT; i++)
        s->ix[i] = rt_store_db(store, tasks_index_names[i]);
}

int
tasks_init(void **state, rt_store *store, const rt_config *cfg)
{
    tasks_svc *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    tasks_open_svc(s, store, (int) cfg->tz_offset_min);
    s->test_clock = tasks_test_clock;
    // Day rollover: snapshots of each past day (counts.c). Under the test
    // clock days pass as fast as tests say, so it looks more often.
    rt_store_add_periodic(store, tasks_rollover, s, s->test_clock ? 50 : 60000);
    *state = s;
    return 0;
}

void
tasks_fini(void *state)
{
    free(state);
}
