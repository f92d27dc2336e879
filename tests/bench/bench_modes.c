// Every service's benchmark modes.
#include "bench.h"

const bench_mode *const bench_mode_tables[] = {
    bench_points_modes,
    bench_tasks_modes,
    bench_volunteers_modes,
    NULL,
};
