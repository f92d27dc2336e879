// civic-points: areas, grids, units, points, patrols and coverage.
#include "points.h"

static const rt_service_def *const services[] = {&points_service_def};

int
main(int argc, char **argv)
{
    const rt_app app = {
        .name = "civic-points",
        .about = "The civicgrid points service: areas, grids, units, points, patrols, coverage.",
        .default_listen = "tcp://127.0.0.1:7001",
        .default_data = "./data/points",
        .default_admin = "127.0.0.1:9001",
        .services = services,
        .n_services = 1,
        .dbs = points_dbs,
        .schema_version = 1,
        .init = points_init,
        .fini = points_fini,
        .ready = points_ready,
    };
    return rt_main(&app, argc, argv);
}
