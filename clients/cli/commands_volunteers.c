// The volunteers service's `civic <resource> <verb>` commands (see
// commands_points.c for the pattern): volunteers, activities, signups and
// hours. A caller with the volunteer role may leave out --volunteer-id on
// sign-ups, totals and lists: it means themselves.
#include <stddef.h>

#include "civic/volunteers/v1/volunteers.pb-c.h"
#include "cli.h"

#define V "/civic.volunteers.v1.VolunteersService/"

static const cli_cmd cmds[] = {
    {"volunteers", "register", V "RegisterVolunteer", "volunteer.", NULL, CMD_WRITE, NULL, "area=area_id",
     "Register a volunteer: --name, --phone, --kind grid-worker|party-member|student|cadre|resident, "
     "--area-id, --community, --consent true", NULL, NULL},
    {"volunteers", "get", V "GetVolunteer", "", "id", 0, NULL, NULL, "Show a volunteer: ID", NULL, NULL},
    {"volunteers", "list", V "ListVolunteers", "", NULL, CMD_LIST, NULL, "area=area_id,prefix=name_prefix",
     "List volunteers: --area-id [--community], --kind, --name-prefix, --include-inactive", NULL, NULL},
    {"volunteers", "update", V "UpdateVolunteer", "volunteer.", "volunteer.id", CMD_WRITE | CMD_MASK, NULL,
     "area=area_id", "Change a volunteer: ID and the fields to change", NULL, NULL},
    {"volunteers", "deactivate", V "DeactivateVolunteer", "", "id", CMD_WRITE, NULL, NULL,
     "Deactivate a volunteer (their future sign-ups are cancelled): ID", NULL, NULL},
    {"volunteers", "anonymise", V "AnonymiseVolunteer", "", "id", CMD_WRITE, NULL, NULL,
     "Erase a volunteer's name and phone, keeping their hours: ID", NULL, NULL},
    {"volunteers", "totals", V "GetVolunteerTotals", "", NULL, 0, NULL, "volunteer=volunteer_id",
     "A volunteer's total minutes served: --volunteer-id", NULL, NULL},
    {"volunteers", "ranking", V "RankHours", "", NULL, 0, "by=VOLUNTEER", "from=from_day,to=to_day,area=area_id",
     "Rank by minutes over days: --from YYYYMMDD --to YYYYMMDD [--by volunteer|area|kind] [--area-id] "
     "[--kind] [--limit]", NULL, NULL},
    {"volunteers", "summary", V "GetAreaSummary", "", NULL, 0, NULL, "day=local_day,area=area_ids",
     "Per area: minutes this week, volunteers active: [--local-day] [--area-ids ID]...", NULL, NULL},
    {"volunteers", "events", V "ListEvents", "", NULL, 0, NULL, "after=after_seq",
     "The volunteers service's event log: --after-seq N, --page-size", NULL, NULL},
    {"activities", "create", V "CreateActivity", "activity.", NULL, CMD_WRITE, NULL,
     "area=area_id,point=point_id,start=start_time,end=end_time",
     "Create an activity: --title, --kind three-clears|door-to-door|duty|other, --area-id, --point-id, "
     "--start, --end (RFC 3339), --capacity, --description", NULL, NULL},
    {"activities", "get", V "GetActivity", "", "id", 0, NULL, NULL, "Show an activity with seats left: ID", NULL, NULL},
    {"activities", "list", V "ListActivities", "", NULL, CMD_LIST, NULL, "area=area_id,after=ended_after",
     "Activities not yet ended: --area-id, --kind, --ended-after, --include-cancelled", NULL, NULL},
    {"activities", "update", V "UpdateActivity", "activity.", "activity.id", CMD_WRITE | CMD_MASK, NULL,
     "area=area_id,point=point_id,start=start_time,end=end_time",
     "Change an activity (raising --capacity promotes the waitlist): ID and the fields to change", NULL, NULL},
    {"activities", "cancel", V "CancelActivity", "", "id", CMD_WRITE, NULL, NULL,
     "Cancel an activity and every sign-up: ID [--reason]", NULL, NULL},
    {"signups", "create", "/civic.gateway.v1.GatewayService/SignUp", "", NULL, CMD_WRITE, NULL,
     "activity=activity_id,volunteer=volunteer_id",
     "Sign a volunteer up: --activity-id, --volunteer-id (yourself as a volunteer); through the "
     "gateway's flow (volunteer active, activity open, point active), or straight to the service",
     V "SignUp", ""},
    {"signups", "get", V "GetSignup", "", "id", 0, NULL, NULL, "Show a sign-up with its waitlist position: ID", NULL, NULL},
    {"signups", "list", V "ListSignups", "", NULL, CMD_LIST, NULL, "activity=activity_id,volunteer=volunteer_id",
     "Sign-ups of an activity or a volunteer: --activity-id, --volunteer-id, --state", NULL, NULL},
    {"signups", "cancel", V "CancelSignup", "", "id", CMD_WRITE, NULL, NULL,
     "Cancel a sign-up (a freed seat goes to the waitlist): ID [--reason]", NULL, NULL},
    {"signups", "check-in", V "CheckIn", "", "signup_id", CMD_WRITE, NULL, NULL,
     "Check in (签到): SIGNUP-ID [--time]", NULL, NULL},
    {"signups", "check-out", V "CheckOut", "", "signup_id", CMD_WRITE, NULL, NULL,
     "Check out (签退), recording the hours: SIGNUP-ID [--time]", NULL, NULL},
    {"hours", "get", V "GetHours", "", "id", 0, NULL, NULL, "Show an hours record with its history: ID", NULL, NULL},
    {"hours", "list", V "ListHours", "", NULL, CMD_LIST, NULL, "volunteer=volunteer_id,activity=activity_id",
     "Hours records of a volunteer or an activity: --volunteer-id, --activity-id", NULL, NULL},
    {"hours", "correct", V "CorrectHours", "", "id", CMD_WRITE, NULL, NULL,
     "Correct an hours record: ID --minutes N --reason TEXT", NULL, NULL},
    {"hours", "decline", V "DeclineHours", "", "id", CMD_WRITE, NULL, NULL,
     "Decline an hours record: ID --reason TEXT", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL},
};

const cli_table cli_volunteers = {&civic__volunteers__v1__volunteers_service__descriptor, cmds};
