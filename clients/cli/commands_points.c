// The points service's `civic <resource> <verb>` commands. Each maps onto
// one method; flags set fields of its request by name (see civic.c), so
// adding a command is adding a line here.
#include <stddef.h>

#include "civic/points/v1/points.pb-c.h"
#include "cli.h"

#define P "/civic.points.v1.PointsService/"

static const cli_cmd cmds[] = {
    {"areas", "create", P "CreateArea", "area.", NULL, CMD_WRITE, "area.level=AREA", "parent=parent_id",
     "Create an area, town, community or grid: --name, --level, --parent-id, --kind", NULL, NULL},
    {"areas", "get", P "GetArea", "", "id", 0, NULL, NULL, "Show one node of the grid hierarchy: ID", NULL, NULL},
    {"areas", "update", P "UpdateArea", "area.", "area.id", CMD_WRITE | CMD_MASK, NULL, NULL,
     "Change a node: ID --name/--kind/--demo", NULL, NULL},
    {"areas", "list", P "ListAreas", "", NULL, CMD_LIST, "level=AREA", "parent=parent_id",
     "List nodes: --level (default AREA), --parent-id", NULL, NULL},
    {"grids", "create", P "CreateArea", "area.", NULL, CMD_WRITE, "area.level=GRID", "parent=parent_id",
     "Create a grid: --name, --parent-id (a community)", NULL, NULL},
    {"grids", "list", P "ListAreas", "", NULL, CMD_LIST, "level=GRID", "parent=parent_id",
     "List grids: --parent-id", NULL, NULL},
    {"units", "create", P "CreateUnit", "unit.", NULL, CMD_WRITE, NULL, "area=area_id,phone=contact_phone",
     "Create a responsible unit: --name, --kind, --area-id, --contact-name, --contact-phone", NULL, NULL},
    {"units", "get", P "GetUnit", "", "id", 0, NULL, NULL, "Show a unit: ID", NULL, NULL},
    {"units", "update", P "UpdateUnit", "unit.", "unit.id", CMD_WRITE | CMD_MASK, NULL,
     "area=area_id,phone=contact_phone", "Change a unit: ID and the fields to change", NULL, NULL},
    {"units", "list", P "ListUnits", "", NULL, CMD_LIST, NULL, "area=area_id", "List units: --area-id, --kind", NULL, NULL},
    {"points", "create", P "CreatePoint", "point.", NULL, CMD_WRITE, NULL,
     "lat=location.lat,lng=location.lng,grid=grid_id",
     "Create a point: --name, --kind, --address, --lat, --lng, --grid-id, "
     "--responsible[0].role/.name/.phone", NULL, NULL},
    {"points", "get", P "GetPoint", "", "id", 0, NULL, NULL, "Show a point: ID", NULL, NULL},
    {"points", "update", P "UpdatePoint", "point.", "point.id", CMD_WRITE | CMD_MASK, NULL,
     "lat=location.lat,lng=location.lng,grid=grid_id", "Change a point: ID and the fields to change", NULL, NULL},
    {"points", "archive", P "ArchivePoint", "", "id", CMD_WRITE, NULL, NULL, "Archive a point: ID", NULL, NULL},
    {"points", "list", P "ListPoints", "", NULL, CMD_LIST, NULL, "area=area_id,grid=grid_id,prefix=name_prefix",
     "List points: --area-id, --grid-id, --kind, --name-prefix, --include-archived", NULL, NULL},
    {"points", "import", P "CreatePoint", "point.", NULL, CMD_WRITE | CMD_IMPORT, NULL,
     "lat=location.lat,lng=location.lng,grid=grid_id",
     "Create points from a CSV file whose header names point fields: FILE.csv", NULL, NULL},
    {"patrols", "record", P "RecordPatrol", "", NULL, CMD_WRITE, NULL,
     "point=point_id,lat=location.lat,lng=location.lng,time=patrol_time",
     "Check in at a point: --point-id, --result fine|problems-found, --note, --lat, --lng, --time", NULL, NULL},
    {"patrols", "list", P "ListPatrols", "", NULL, CMD_LIST, NULL, "point=point_id,day=local_day",
     "List check-ins: --point-id and/or --local-day YYYYMMDD", NULL, NULL},
    {"coverage", "get", P "GetCoverage", "", NULL, CMD_LIST, NULL, "area=area_id,grid=grid_id,day=local_day",
     "Points patrolled or not on a day: --area-id or --grid-id, --local-day, --filter", NULL, NULL},
    {"coverage", "summary", P "GetCoverageSummary", "", NULL, 0, NULL, "day=local_day",
     "Coverage per area on a day: --local-day (default today)", NULL, NULL},
    {"points", "events", P "ListEvents", "", NULL, 0, NULL, "after=after_seq",
     "The points service's event log: --after-seq N, --page-size", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL},
};

const cli_table cli_points = {&civic__points__v1__points_service__descriptor, cmds};
