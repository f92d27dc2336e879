// The volunteers service's handler table and its state.
#include <stdlib.h>
#include <string.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "volunteers.h"

// Who may call what (deny by default: a method missing here is denied).
// The campaign office (admin) registers volunteers (the gateway does so
// for self-registration), runs activities and rules on hours; a volunteer
// acts for themselves (the handlers check the principal); every signed-in
// role reads, with phones masked for all but admins. The event log is
// admin only.
#define ADMIN RT_ROLE_BIT(RT_ROLE_ADMIN)
#define SELF (RT_ROLE_BIT(RT_ROLE_ADMIN) | RT_ROLE_BIT(RT_ROLE_VOLUNTEER))
#define READERS RT_ROLES_SIGNED_IN

static const rt_method methods[] = {
    {"RegisterVolunteer", RT_WRITE, handle_register_volunteer, ADMIN, NULL, NULL},
    {"GetVolunteer", RT_READ, handle_get_volunteer, READERS, NULL, NULL},
    {"ListVolunteers", RT_READ, handle_list_volunteers, READERS, NULL, NULL},
    {"UpdateVolunteer", RT_WRITE, handle_update_volunteer, SELF, NULL, NULL},
    {"DeactivateVolunteer", RT_WRITE, handle_deactivate_volunteer, SELF, NULL, NULL},
    {"AnonymiseVolunteer", RT_WRITE, handle_anonymise_volunteer, SELF, NULL, NULL},
    {"CreateActivity", RT_WRITE, handle_create_activity, ADMIN, NULL, NULL},
    {"GetActivity", RT_READ, handle_get_activity, READERS, NULL, NULL},
    {"ListActivities", RT_READ, handle_list_activities, READERS, NULL, NULL},
    {"UpdateActivity", RT_WRITE, handle_update_activity, ADMIN, NULL, NULL},
    {"CancelActivity", RT_WRITE, handle_cancel_activity, ADMIN, NULL, NULL},
    {"SignUp", RT_WRITE, handle_sign_up, SELF, NULL, NULL},
    {"GetSignup", RT_READ, handle_get_signup, READERS, NULL, NULL},
    {"ListSignups", RT_READ, handle_list_signups, READERS, NULL, NULL},
    {"CancelSignup", RT_WRITE, handle_cancel_signup, SELF, NULL, NULL},
    {"CheckIn", RT_WRITE, handle_check_in, SELF, NULL, NULL},
    {"CheckOut", RT_WRITE, handle_check_out, SELF, NULL, NULL},
    {"GetHours", RT_READ, handle_get_hours, READERS, NULL, NULL},
    {"ListHours", RT_READ, handle_list_hours, READERS, NULL, NULL},
    {"CorrectHours", RT_WRITE, handle_correct_hours, ADMIN, NULL, NULL},
    {"DeclineHours", RT_WRITE, handle_decline_hours, ADMIN, NULL, NULL},
    {"GetVolunteerTotals", RT_READ, handle_get_volunteer_totals, READERS, NULL, NULL},
    {"RankHours", RT_SLOW_READ, handle_rank_hours, READERS, NULL, NULL},
    {"GetAreaSummary", RT_READ, handle_get_area_summary, READERS, NULL, NULL},
    RT_LIST_EVENTS_METHOD(ADMIN),
};

const rt_service_def volunteers_service_def = {
    &civic__volunteers__v1__volunteers_service__descriptor,
    methods,
    sizeof methods / sizeof methods[0],
};

// How often the writer looks for activities that have ended.
#define NOSHOW_INTERVAL_MS 1000

void
vol_svc_open(vol_svc *s, rt_store *store, int tz_offset_min)
{
    memset(s, 0, sizeof *s);
    s->store = store;
    s->tz_offset_min = tz_offset_min;
    s->volunteers = rt_store_db(store, "volunteers");
    s->vol_by_phone = rt_store_db(store, "vol_by_phone");
    s->vol_by_area = rt_store_db(store, "vol_by_area");
    s->vol_by_kind = rt_store_db(store, "vol_by_kind");
    s->vol_by_name = rt_store_db(store, "vol_by_name");
    s->activities = rt_store_db(store, "activities");
    s->act_by_end = rt_store_db(store, "act_by_end");
    s->act_by_area = rt_store_db(store, "act_by_area");
    s->act_by_kind = rt_store_db(store, "act_by_kind");
    s->signups = rt_store_db(store, "signups");
    s->su_by_act_vol = rt_store_db(store, "su_by_act_vol");
    s->su_by_act_state = rt_store_db(store, "su_by_act_state");
    s->su_by_vol = rt_store_db(store, "su_by_vol");
    s->su_hold = rt_store_db(store, "su_hold");
    s->su_due = rt_store_db(store, "su_due");
    s->hours = rt_store_db(store, "hours");
    s->hours_by_vol = rt_store_db(store, "hours_by_vol");
    s->hours_by_act = rt_store_db(store, "hours_by_act");
    s->counts = rt_store_db(store, "counts");
    s->h_day = rt_store_db(store, "h_day");
    s->h_week = rt_store_db(store, "h_week");
}

int
volunteers_init(void **state, rt_store *store, const rt_config *cfg)
{
    vol_svc *s = malloc(sizeof *s);
    if (s == NULL)
        return -1;
    vol_svc_open(s, store, (int) cfg->tz_offset_min);
    rt_store_add_periodic(store, vol_noshow_job, s, NOSHOW_INTERVAL_MS);
    *state = s;
    return 0;
}

void
volunteers_fini(void *state)
{
    free(state);
}
