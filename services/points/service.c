// The points service's handler table and its state.
#include <stdlib.h>

#include "points.h"

// Who may call what (deny by default: a method missing here is denied).
// The campaign office (admin) keeps the places; anyone who patrols records
// check-ins; every signed-in role reads; the event log carries full phone
// numbers, so only admins read it.
#define ADMIN RT_ROLE_BIT(RT_ROLE_ADMIN)
#define READERS RT_ROLES_SIGNED_IN
#define PATROLLERS                                                                                 \
    (RT_ROLE_BIT(RT_ROLE_ADMIN) | RT_ROLE_BIT(RT_ROLE_INSPECTOR) | RT_ROLE_BIT(RT_ROLE_UNIT) |     \
     RT_ROLE_BIT(RT_ROLE_VOLUNTEER))

static const rt_method methods[] = {
    {"CreateArea", RT_WRITE, handle_create_area, ADMIN, NULL, NULL},
    {"GetArea", RT_READ, handle_get_area, READERS, NULL, NULL},
    {"UpdateArea", RT_WRITE, handle_update_area, ADMIN, NULL, NULL},
    // Public: the campaign's areas and their names are what a volunteer
    // picks from when registering, before they have a token.
    {"ListAreas", RT_READ, handle_list_areas, RT_ROLES_ANYONE, NULL, NULL},
    {"CreateUnit", RT_WRITE, handle_create_unit, ADMIN, NULL, NULL},
    {"GetUnit", RT_READ, handle_get_unit, READERS, NULL, NULL},
    {"UpdateUnit", RT_WRITE, handle_update_unit, ADMIN, NULL, NULL},
    {"ListUnits", RT_READ, handle_list_units, READERS, NULL, NULL},
    {"CreatePoint", RT_WRITE, handle_create_point, ADMIN, NULL, NULL},
    {"GetPoint", RT_READ, handle_get_point, READERS, NULL, NULL},
    {"UpdatePoint", RT_WRITE, handle_update_point, ADMIN, NULL, NULL},
    {"ArchivePoint", RT_WRITE, handle_archive_point, ADMIN, NULL, NULL},
    {"ListPoints", RT_READ, handle_list_points, READERS, NULL, NULL},
    {"RecordPatrol", RT_WRITE, handle_record_patrol, PATROLLERS, NULL, NULL},
    {"ListPatrols", RT_READ, handle_list_patrols, READERS, NULL, NULL},
    {"GetCoverage", RT_READ, handle_get_coverage, READERS, NULL, NULL},
    {"GetCoverageSummary", RT_READ, handle_get_coverage_summary, READERS, NULL, NULL},
    RT_LIST_EVENTS_METHOD(ADMIN),
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
    s->units = rt_store_db(store, "units");
    s->units_by_area = rt_store_db(store, "units_by_area");
    s->points = rt_store_db(store, "points");
    s->pts_by_grid = rt_store_db(store, "pts_by_grid");
    s->pts_by_area = rt_store_db(store, "pts_by_area");
    s->pts_by_name = rt_store_db(store, "pts_by_name");
    s->patrols = rt_store_db(store, "patrols");
    s->patrols_by_point = rt_store_db(store, "patrols_by_point");
    s->patrols_by_day = rt_store_db(store, "patrols_by_day");
    s->counts = rt_store_db(store, "counts");
    s->cov_point = rt_store_db(store, "cov_point");
    s->cov_area = rt_store_db(store, "cov_area");
    s->cov_grid = rt_store_db(store, "cov_grid");
    *state = s;
    return 0;
}

void
points_fini(void *state)
{
    free(state);
}
