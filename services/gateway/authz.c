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

typedef struct rule {
    const char *method;
    unsigned roles;
} rule;

#define PTS "/civic.points.v1.PointsService/"

static const rule rules[] = {
    {PTS "CreateArea", A},
    {PTS "GetArea", ALL},
    {PTS "UpdateArea", A},
    {PTS "ListAreas", ALL},
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
