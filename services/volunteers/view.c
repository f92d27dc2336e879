// What callers see of the store, and who may act for whom. Every handler
// that returns a volunteer passes it through vol_volunteer_view, every
// sign-up through vol_signup_view and every activity through
// vol_activity_view, so the rules live here once.
//
// Personal data: a phone is shown in full only to the admin role, masked
// ("138****5678") for everyone else — a volunteer reading their own record
// included, since a volunteer token is weaker proof of identity than an
// admin's. A volunteer may read other volunteers (masked), but never their
// sign-ups or hours: those answer NOT_FOUND, as for an id that does not
// exist.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "volunteers.h"

void
vol_volunteer_view(rt_txn *t, const rt_call *call, vol_volunteer *v)
{
    if (v != NULL && call->role != RT_ROLE_ADMIN)
        v->phone = rt_phone_mask(t, v->phone);
}

void
vol_activity_view(rt_txn *t, const vol_svc *s, vol_activity *a)
{
    if (a == NULL)
        return;
    a->registered = vol_seats_taken(t, s, a->id);
    a->waitlisted = vol_signup_state_count(t, s, a->id, SU_WAITLISTED);
    a->seats_left = a->capacity > a->registered ? a->capacity - a->registered : 0;
}

void
vol_signup_view(rt_txn *t, const vol_svc *s, vol_signup *su)
{
    if (su == NULL || su->state != SU_WAITLISTED || rt_txn_status(t))
        return;
    // The position is one more than the number of waitlist entries ahead:
    // those of the activity's WAITLISTED prefix with a smaller key.
    rt_key prefix, self;
    unsigned char st = SU_WAITLISTED;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, su->activity_id);
    rt_key_bytes(&prefix, &st, 1);
    vol_key_su_act_state(&self, su);
    MDB_cursor *c;
    if (rt_txn_mdb(t, mdb_cursor_open(t->txn, s->su_by_act_state, &c), "cursor"))
        return;
    MDB_val k = {prefix.len, prefix.b}, v;
    uint32_t ahead = 0;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != self.len || memcmp(k.mv_data, prefix.b, prefix.len) != 0 ||
            memcmp(k.mv_data, self.b, self.len) >= 0)
            break;
        ahead++;
    }
    if (rc != 0)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
    su->position = ahead + 1;
}

uint64_t
vol_caller_volunteer(const rt_call *call)
{
    if (call->role != RT_ROLE_VOLUNTEER || call->principal == NULL || call->principal[0] < '1' ||
        call->principal[0] > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long long id = strtoull(call->principal, &end, 10);
    return errno == 0 && *end == '\0' ? (uint64_t) id : 0;
}

int
vol_check_self(rt_txn *t, const rt_call *call, uint64_t volunteer_id)
{
    if (call->role != RT_ROLE_VOLUNTEER)
        return rt_txn_status(t);
    uint64_t self = vol_caller_volunteer(call);
    if (self == 0 || self != volunteer_id)
        return rt_txn_fail(t, CIVIC_PERMISSION_DENIED,
                           "a volunteer acts only for themselves: volunteer_id %llu is not the "
                           "caller",
                           (unsigned long long) volunteer_id);
    return rt_txn_status(t);
}

int
vol_may_see(const rt_call *call, uint64_t volunteer_id)
{
    return call->role != RT_ROLE_VOLUNTEER || vol_caller_volunteer(call) == volunteer_id;
}
