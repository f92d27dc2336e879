// civic-tasks: problems from report to close-out, with their audit trail.
// `civic-tasks bulk-load --data DIR --count N …` (with the service stopped)
// loads synthetic problems for benchmarks instead (bulk.c).
#include <string.h>

#include "tasks.h"

static const rt_service_def *const services[] = {&tasks_service_def};

// TEST ONLY: lets a call name its own time (x-civic-test-now-ms metadata),
// so tests pass days and deadlines without waiting. Never in production.
static const rt_cfg_key extra[] = {
    {"test-clock", "CIVIC_TASKS_TEST_CLOCK", RT_CFG_BOOL, "false", 0, 0, &tasks_test_clock,
     "TEST ONLY: honour x-civic-test-now-ms metadata as the call's time"},
};

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "bulk-load") == 0)
        return tasks_bulk_main(argc, argv);
    const rt_app app = {
        .name = "civic-tasks",
        .about = "The civicgrid tasks service: problems, their rectification and close-out.",
        .default_listen = "tcp://127.0.0.1:7002",
        .default_data = "./data/tasks",
        .default_admin = "127.0.0.1:9002",
        .services = services,
        .n_services = 1,
        .dbs = tasks_dbs,
        .schema_version = 1,
        .init = tasks_init,
        .fini = tasks_fini,
        .ready = tasks_ready,
        .extra = extra,
        .n_extra = 1,
    };
    return rt_main(&app, argc, argv);
}
