// What callers see of the store: records with the personal data their role
// may not see masked. Every handler that returns a unit, point or patrol
// passes it through its view function, so the rules live here once.
#include <string.h>

#include "points.h"

static int
is_admin(const rt_call *call)
{
    return call->role == RT_ROLE_ADMIN;
}

void
points_unit_view(rt_txn *t, const rt_call *call, points_unit *u)
{
    if (u != NULL && !is_admin(call))
        u->contact_phone = rt_phone_mask(t, u->contact_phone);
}

void
points_point_view(rt_txn *t, const rt_call *call, points_point *p)
{
    if (p == NULL || is_admin(call) || p->n_responsible == 0)
        return;
    // New person objects, not edits: the stored record's may be shared with
    // another copy of it in this call.
    Civic__Points__V1__ResponsiblePerson **list = rt_alloc(t, p->n_responsible * sizeof *list);
    for (size_t i = 0; list != NULL && i < p->n_responsible; i++) {
        list[i] = rt_alloc(t, sizeof *list[i]);
        if (list[i] == NULL)
            return;
        *list[i] = *p->responsible[i];
        list[i]->phone = rt_phone_mask(t, p->responsible[i]->phone);
    }
    if (list != NULL)
        p->responsible = list;
}

void
points_patrol_view(rt_txn *t, const rt_call *call, points_patrol *p)
{
    (void) t;
    if (p != NULL && !is_admin(call) && strcmp(p->patroller, call->principal) != 0)
        p->location = NULL;
}
