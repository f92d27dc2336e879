// The gateway's own `civic` commands: tokens, who-am-I, and the flows that
// span services (sign-up, report at a point, dashboard, self-registration).
#include <stddef.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "cli.h"

#define G "/civic.gateway.v1.GatewayService/"
#define P "/civic.points.v1.PointsService/"

static const cli_cmd cmds[] = {
    {"tokens", "create", G "CreateToken", "", NULL, CMD_WRITE, NULL, "ttl=ttl_seconds",
     "Issue a token (shown once): --principal, --role admin|inspector|unit|volunteer|viewer, "
     "--ttl SECONDS, --note", NULL, NULL},
    {"tokens", "list", G "ListTokens", "", NULL, CMD_LIST, NULL, NULL,
     "List tokens (never their text): --include-inactive true", NULL, NULL},
    {"tokens", "revoke", G "RevokeToken", "", "id", CMD_WRITE, NULL, NULL, "Revoke a token: ID", NULL, NULL},
    {"whoami", "show", G "WhoAmI", "", NULL, CMD_DEFAULT, NULL, NULL, "Who the gateway takes you for", NULL, NULL},
    {"events", "list", G "ListEvents", "", NULL, CMD_DEFAULT, NULL, "after=after_seq",
     "At the gateway, its audit log (admins): tokens created and revoked, full phone numbers read "
     "(--after-seq N, --page-size); pointed at civic-points, that service's event log", P "ListEvents", ""},
    {"audit", "list", G "ListEvents", "", NULL, 0, NULL, "after=after_seq",
     "The gateway's audit log, as `civic events`", NULL, NULL},
    {"tokens", "refresh", G "RefreshToken", "", NULL, CMD_WRITE, NULL, NULL,
     "A volunteer's new token for the same volunteer (shown once; the old one lasts until it expires)", NULL, NULL},
    {"activities", "join", G "SignUp", "", "activity_id", CMD_WRITE, NULL, "volunteer=volunteer_id",
     "Sign up through the gateway (volunteer active, activity open, point active): ACTIVITY "
     "[--volunteer ID, admins]; answers registered or waitlisted with the position", NULL, NULL},
    {"problems", "report-at", G "ReportProblemAtPoint", "report.", "report.point_id", CMD_WRITE, NULL, NULL,
     "Report a problem at a point; area and grid come from the point: POINT --category C "
     "--description TEXT --source S [--severity, --before-photos, --allow-duplicate true]", NULL, NULL},
    {"dashboard", "show", G "GetDashboard", "", NULL, CMD_DEFAULT, NULL, "day=local_day,area=area_ids",
     "Per area, for a day: points, patrolled, problems open/overdue/closed that day, works percent "
     "done, volunteer hours that week [--day YYYYMMDD, --area ID]; a service down shows as "
     "unavailable: a dash in its columns, a line on stderr, exit status 3", NULL, NULL},
    {"volunteers", "register-self", G "SelfRegister", "volunteer.", NULL, CMD_WRITE, NULL, NULL,
     "Register yourself (also `volunteers register --self`), no token needed: --name, --phone, "
     "--kind, --area-id, --community, --consent true; prints your volunteer token (shown once)", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL},
};

const cli_table cli_gateway = {&civic__gateway__v1__gateway_service__descriptor, cmds};
