// The points service's state and the pieces its files share. Domain:
// ../../../shared/design/domain.md, "Places".
#ifndef POINTS_H
#define POINTS_H

#include <lmdb.h>

#include "civic/points/v1/points.pb-c.h"
#include "rt_main.h"

typedef struct points_svc {
    rt_store *store;
    int tz_offset_min;
    // Databases (store.c lists every key layout).
    MDB_dbi areas, areas_by_parent;
} points_svc;

extern const rt_service_def points_service_def;

// points_init and points_fini are the service's rt_app hooks.
int points_init(void **state, rt_store *store, const rt_config *cfg);
void points_fini(void *state);

// The databases, for the store's options.
extern const char *const points_dbs[];

// --- store.c: records and their indexes ---

// points_area_get reads an area; NOT_FOUND (naming field) is recorded when
// it does not exist. Returns NULL then.
Civic__Points__V1__Area *points_area_get(rt_txn *t, const points_svc *s, uint64_t id,
                                         const char *field);
// points_area_put stores an area with its indexes; old is the record it
// replaces (NULL when new), so that index entries can move.
void points_area_put(rt_txn *t, const points_svc *s, const Civic__Points__V1__Area *a,
                     const Civic__Points__V1__Area *old);

// --- handlers.c ---
int handle_create_area(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_area(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_areas(rt_txn *t, const void *in, void *out, const rt_call *call);

#endif
