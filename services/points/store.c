// The points service's key layout. Every index is written in the same
// transaction as its record.
//
//   areas            id                        → Area
//   areas_by_parent  parent_id, id             → ""   (parent 0: the areas)
#include <string.h>

#include "points.h"
#include "rt_key.h"

const char *const points_dbs[] = {"areas", "areas_by_parent", NULL};

Civic__Points__V1__Area *
points_area_get(rt_txn *t, const points_svc *s, uint64_t id, const char *field)
{
    unsigned char k[8];
    void *a = NULL;
    rt_be64_put(k, id);
    int rc = rt_get_msg(t, s->areas, k, 8, &civic__points__v1__area__descriptor, &a);
    if (rc == MDB_NOTFOUND)
        rt_txn_fail(t, CIVIC_NOT_FOUND, "%s: no area %llu", field, (unsigned long long) id);
    return rc == 0 ? a : NULL;
}

void
points_area_put(rt_txn *t, const points_svc *s, const Civic__Points__V1__Area *a,
                const Civic__Points__V1__Area *old)
{
    unsigned char k[8];
    rt_key ix;
    rt_be64_put(k, a->id);
    rt_put_msg(t, s->areas, k, 8, &a->base);
    if (old == NULL || old->parent_id != a->parent_id) {
        if (old != NULL) {
            rt_key_init(&ix);
            rt_key_u64(&ix, old->parent_id);
            rt_key_u64(&ix, old->id);
            rt_del(t, s->areas_by_parent, ix.b, ix.len);
        }
        rt_key_init(&ix);
        rt_key_u64(&ix, a->parent_id);
        rt_key_u64(&ix, a->id);
        rt_put(t, s->areas_by_parent, ix.b, ix.len, "", 0);
    }
}
