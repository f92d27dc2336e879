// The tasks service's `civic <resource> <verb>` commands (see commands_points.c
// for the pattern): problems from report to close-out, and their history.
#include <stddef.h>

#include "civic/tasks/v1/tasks.pb-c.h"
#include "cli.h"

#define T "/civic.tasks.v1.TasksService/"

static const cli_cmd cmds[] = {
    {"problems", "report", "/civic.gateway.v1.GatewayService/ReportProblemAtPoint", "report.", NULL, CMD_WRITE, NULL,
     "point=point_id,area=area_id,grid=grid_id,photo=before_photos,after-photo=after_photos,"
     "fixed=fixed_on_spot,recurrence=recurrence_of",
     "Report a problem: --point-id, --area-id, --grid-id, --category, --description, --source, "
     "--severity, --photo URI (repeat), --recurrence-of ID, --allow-duplicate true; fixed on the "
     "spot: --fixed-on-spot true --after-photo URI",
     T "ReportProblem", ""},
    {"problems", "get", T "GetProblem", "", "id", 0, NULL, NULL, "Show a problem: ID", NULL, NULL},
    {"problems", "list", T "ListProblems", "", NULL, CMD_LIST, NULL,
     "point=point_id,area=area_id,grid=grid_id,unit=unit_id",
     "List problems by deadline: --state, --area-id, --grid-id, --point-id, --unit-id, "
     "--category, --overdue true [--as-of TIME]", NULL, NULL},
    {"problems", "assign", T "AssignProblem", "", "id", CMD_WRITE, NULL, "unit=unit_id",
     "Give a REPORTED problem to a unit: ID --unit-id N --deadline TIME [--note]", NULL, NULL},
    {"problems", "reassign", T "ReassignProblem", "", "id", CMD_WRITE, NULL, "unit=unit_id",
     "Give it to another unit: ID --unit-id N --deadline TIME --reason TEXT", NULL, NULL},
    {"problems", "extend", T "ExtendProblemDeadline", "", "id", CMD_WRITE, NULL, NULL,
     "Move the deadline later: ID --deadline TIME --reason TEXT", NULL, NULL},
    {"problems", "start", T "StartProblem", "", "id", CMD_WRITE, NULL, NULL,
     "The assigned unit starts work: ID [--note]", NULL, NULL},
    {"problems", "submit", T "SubmitProblem", "", "id", CMD_WRITE, NULL, "photo=after_photos",
     "The assigned unit reports it fixed: ID --note TEXT --photo URI (repeat)", NULL, NULL},
    {"problems", "verify", T "VerifyProblem", "", "id", CMD_WRITE, NULL, NULL,
     "Verify the fix and close it out (销号): ID [--note]", NULL, NULL},
    {"problems", "reject", T "RejectProblem", "", "id", CMD_WRITE, NULL, NULL,
     "Send the fix back for rework (返工): ID --reason TEXT", NULL, NULL},
    {"problems", "duplicate", T "MarkProblemDuplicate", "", "id", CMD_WRITE, NULL, "of=duplicate_of",
     "Mark it a duplicate: ID --duplicate-of ID [--note]", NULL, NULL},
    {"problems", "invalidate", T "MarkProblemInvalid", "", "id", CMD_WRITE, NULL, NULL,
     "Mark it no problem: ID --reason TEXT", NULL, NULL},
    {"problems", "cancel", T "CancelProblem", "", "id", CMD_WRITE, NULL, NULL,
     "Withdraw an open problem (admin): ID --reason TEXT", NULL, NULL},
    {"problems", "history", T "ListProblemHistory", "", "id", CMD_LIST, NULL, NULL,
     "Every transition of a problem, oldest first: ID", NULL, NULL},
    {"problems", "events", T "ListEvents", "", NULL, 0, NULL, "after=after_seq",
     "The tasks service's event log: --after-seq N, --page-size", NULL, NULL},
    {"reports", "daily", T "GetDailyReport", "", NULL, 0, NULL, "area=area_id",
     "The daily report (日报) per area, unit and category: --day YYYYMMDD (default today), "
     "--area-id N", NULL, NULL},
    {"notices", "list", T "ListNotices", "", NULL, CMD_LIST, NULL, "problems=problems_per_unit",
     "Units with overdue or reworked problems, ranked (通报): --problems-per-unit N", NULL, NULL},
    {"problems", "summary", T "GetSummary", "", NULL, 0, NULL, NULL,
     "The dashboard: per area open, overdue, due today, closed today, works percent done", NULL, NULL},
    {"works", "create", T "CreateWork", "", NULL, CMD_WRITE, NULL, "area=area_id,unit=unit_id",
     "Create a campaign work (重点工作): --name, --area-id, --unit-id, --standard, --target N, "
     "--measure TEXT, --deadline TIME", NULL, NULL},
    {"works", "progress", T "ReportWorkProgress", "", "id", CMD_WRITE, NULL, NULL,
     "Report progress on a work: ID --delta N --note TEXT", NULL, NULL},
    {"works", "get", T "GetWork", "", "id", 0, NULL, NULL, "Show a work and its latest progress: ID", NULL, NULL},
    {"works", "list", T "ListWorks", "", NULL, CMD_LIST, NULL, "area=area_id,unit=unit_id",
     "Works with percent done and behind-schedule flag: --area-id, --unit-id", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL},
};

const cli_table cli_tasks = {&civic__tasks__v1__tasks_service__descriptor, cmds};
