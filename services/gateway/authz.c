// Who may call what through the gateway: one hand-kept line per forwarded
// method, deny by default (a method missing here is refused to every role).
// The back ends check again what only they can: ownership of an object,
// masking of personal data. tests/gateway/authz_expectations.txt holds the
// same matrix as the test suite expects it, for every method in the
// descriptors: a method added to a .proto without a line in both fails it.
#include <string.h>

#include "gateway.h"

#define A RT_ROLE_BIT(RT_ROLE_ADMIN)
#define I RT_ROLE_BIT(RT_ROLE_INSPECTOR)
#define U RT_ROLE_BIT(RT_ROLE_UNIT)
#define V RT_ROLE_BIT(RT_ROLE_VOLUNTEER)
#define W RT_ROLE_BIT(RT_ROLE_VIEWER)
#define ALL (A | I | U | V | W)
#define PUBLIC (ALL | RT_ROLE_BIT(RT_ROLE_NONE)) // no token needed

typedef struct rule {
    const char *method;
    unsigned roles;
} rule;

#define PTS "/civic.points.v1.PointsService/"
#define TSK "/civic.tasks.v1.TasksService/"
#define VOL "/civic.volunteers.v1.VolunteersService/"

static const rule rules[] = {
    {PTS "CreateArea", A},
    {PTS "GetArea", ALL},
    {PTS "UpdateArea", A},
    {PTS "ListAreas", PUBLIC}, // area names: the self-registration page needs them
    {PTS "CreateUnit", A},
    {PTS "GetUnit", ALL},
    {PTS "UpdateUnit", A},
    {PTS "ListUnits", ALL},
    {PTS "CreatePoint", A},
    {PTS "GetPoint", ALL},
    {PTS "UpdatePoint", A},
    {PTS "ArchivePoint", A},
    {PTS "ListPoints", ALL},
    {PTS "RecordPatrol", A | I | U | V},
    {PTS "ListPatrols", ALL},
    {PTS "GetCoverage", ALL},
    {PTS "GetCoverageSummary", ALL},
    {PTS "ListEvents", A},
    {TSK "ReportProblem", A | I | V},
    {TSK "GetProblem", ALL},
    {TSK "ListProblems", ALL},
    {TSK "AssignProblem", A | I},
    {TSK "ReassignProblem", A | I},
    {TSK "ExtendProblemDeadline", A | I},
    {TSK "StartProblem", U},
    {TSK "SubmitProblem", U},
    {TSK "VerifyProblem", A | I},
    {TSK "RejectProblem", A | I},
    {TSK "MarkProblemDuplicate", A | I},
    {TSK "MarkProblemInvalid", A | I},
    {TSK "CancelProblem", A},
    {TSK "ListProblemHistory", ALL},
    {TSK "ListEvents", A | I},
    {TSK "GetDailyReport", ALL},
    {TSK "ListNotices", ALL},
    {TSK "GetSummary", ALL},
    {TSK "CreateWork", A},
    {TSK "ReportWorkProgress", A | U},
    {TSK "GetWork", ALL},
    {TSK "ListWorks", ALL},
    {VOL "RegisterVolunteer", A},
    {VOL "GetVolunteer", ALL},
    {VOL "ListVolunteers", ALL},
    {VOL "UpdateVolunteer", A | V},
    {VOL "DeactivateVolunteer", A | V},
    {VOL "AnonymiseVolunteer", A | V},
    {VOL "CreateActivity", A},
    {VOL "GetActivity", ALL},
    {VOL "ListActivities", PUBLIC},
    {VOL "UpdateActivity", A},
    {VOL "CancelActivity", A},
    {VOL "SignUp", A | V},
    {VOL "GetSignup", ALL},
    {VOL "ListSignups", ALL},
    {VOL "CancelSignup", A | V},
    {VOL "CheckIn", A | V},
    {VOL "CheckOut", A | V},
    {VOL "GetHours", ALL},
    {VOL "ListHours", ALL},
    {VOL "CorrectHours", A},
    {VOL "DeclineHours", A},
    {VOL "GetVolunteerTotals", ALL},
    {VOL "RankHours", ALL},
    {VOL "GetAreaSummary", ALL},
    {VOL "ListEvents", A},
};

unsigned
gw_authz_roles(const char *method)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].method, method) == 0)
            return rules[i].roles;
    return 0;
}

void
gw_authz_foreach(void (*fn)(const char *method, unsigned roles, void *arg), void *arg)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        fn(rules[i].method, rules[i].roles, arg);
}
