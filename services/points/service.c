// The points service's handler table and wiring.
#include <stdlib.h>

#include "points.h"

#define ADMIN RT_ROLE_BIT(RT_ROLE_ADMIN)
#define READERS RT_ROLES_SIGNED_IN

// Not yet written: answers UNIMPLEMENTED.
static int
handle_todo(rt_txn *t, const void *in, void *out, const rt_call *call)
{
    return rt_txn_fail(t, CIVIC_UNIMPLEMENTED, "%s is not implemented yet", call->method);
}

static const rt_method methods[] = {
    {"CreateArea", RT_WRITE, handle_create_area, ADMIN, NULL, NULL},
    {"GetArea", RT_READ, handle_get_area, READERS, NULL, NULL},
    {"ListAreas", RT_READ, handle_list_areas, READERS, NULL, NULL},
    RT_LIST_EVENTS_METHOD(ADMIN),
    {"GetUnit", RT_READ, handle_todo, READERS, NULL, NULL},
    {"ListUnits", RT_READ, handle_todo, READERS, NULL, NULL},
    {"GetPoint", RT_READ, handle_todo, READERS, NULL, NULL},
    {"ListPoints", RT_READ, handle_todo, READERS, NULL, NULL},
    {"ListPatrols", RT_READ, handle_todo, READERS, NULL, NULL},
    {"GetCoverage", RT_READ, handle_todo, READERS, NULL, NULL},
    {"GetCoverageSummary", RT_READ, handle_todo, READERS, NULL, NULL},
    {"UpdateArea", RT_WRITE, handle_todo, READERS, NULL, NULL},
    {"CreateUnit", RT_WRITE, handle_todo, READERS, NULL, NULL},
    {"UpdateUnit", RT_WRITE, handle_todo, READERS, NULL, NULL},
    {"CreatePoint", RT_WRITE, handle_todo, READERS, NULL, NULL},
    {"UpdatePoint", RT_WRITE, handle_todo, READERS, NULL, NULL},
    {"ArchivePoint", RT_WRITE, handle_todo, READERS, NULL, NULL},
    {"RecordPatrol", RT_WRITE, handle_todo, READERS, NULL, NULL},
};

const rt_service_def points_service_def = {
    &civic__points__v1__points_service__descriptor,
    methods,
    sizeof methods / sizeof methods[0],
};

int
points_init(void **state, rt_store *store, const rt_config *cfg)
{
    points_svc *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    s->store = store;
    s->tz_offset_min = (int) cfg->tz_offset_min;
    s->areas = rt_store_db(store, "areas");
    s->areas_by_parent = rt_store_db(store, "areas_by_parent");
    *state = s;
    return 0;
}

void
points_fini(void *state)
{
    free(state);
}
