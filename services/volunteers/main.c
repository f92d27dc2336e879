// civic-volunteers: volunteers, activities, sign-ups, attendance and hours.
#include "volunteers.h"

static const rt_service_def *const services[] = {&volunteers_service_def};

int
main(int argc, char **argv)
{
    const rt_app app = {
        .name = "civic-volunteers",
        .about = "The civicgrid volunteers service: volunteers, activities, sign-ups, hours.",
        .default_listen = "tcp://127.0.0.1:7003",
        .default_data = "./data/volunteers",
        .default_admin = "127.0.0.1:9003",
        .services = services,
        .n_services = 1,
        .dbs = volunteers_dbs,
        .schema_version = 1,
        .init = volunteers_init,
        .fini = volunteers_fini,
        .ready = volunteers_ready,
    };
    return rt_main(&app, argc, argv);
}
