// Handlers for reporting a problem and reading one back.
//
// A report names its point with the point's area and grid: the gateway fills
// them in from the points service; a direct caller supplies them, and this
// service takes them as given (it never calls the points service). An open
// problem of the same category at the same point is most likely the same
// problem: the report returns it, marked duplicate, and creates nothing.
#include <stdio.h>
#include <string.h>

#include "tasks.h"

int
tasks_check_photos(rt_txn *t, const char *field, char *const *uris, size_t n, size_t min, size_t max)
{
    if (n < min) {
        rt_txn_violation(t, field, "needs at least %zu photo reference%s", min, min == 1 ? "" : "s");
        return 0;
    }
    if (n > max) {
        rt_txn_violation(t, field, "holds %zu photo references; at most %zu", n, max);
        return 0;
    }
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        char f[80];
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        ok &= rt_check_uri(t, f, uris[i]);
    }
    return ok;
}

static void
check_report(rt_txn *t, const Civic__Tasks__V1__ReportProblemRequest *in)
{
    if (in->point_id == 0)
        rt_txn_violation(t, "point_id", "is required");
    if (in->area_id == 0)
        rt_txn_violation(t, "area_id", "is required (the point's area)");
    if (in->grid_id == 0)
        rt_txn_violation(t, "grid_id", "is required (the point's grid)");
    rt_check_enum(t, "category", &civic__tasks__v1__problem_category__descriptor, in->category, 1);
    rt_check_str(t, "description", in->description, TASKS_TEXT_MAX, 1);
    rt_check_enum(t, "source", &civic__tasks__v1__problem_source__descriptor, in->source, 1);
    rt_check_enum(t, "severity", &civic__tasks__v1__problem_severity__descriptor, in->severity, 0);
    tasks_check_photos(t, "before_photos", in->before_photos, in->n_before_photos, 0, TASKS_PHOTOS_MAX);
    if (in->fixed_on_spot)
        tasks_check_photos(t, "after_photos", in->after_photos, in->n_after_photos, 1, TASKS_PHOTOS_MAX);
    else if (in->n_after_photos > 0)
        rt_txn_violation(t, "after_photos", "only a report fixed on the spot has after-photos");
}

int
handle_report_problem(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__ReportProblemRequest *in = vin;
    Civic__Tasks__V1__ReportProblemResponse *out = vout;
    const tasks_svc *s = call->service;
    check_report(t, in);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    tasks_action action = in->fixed_on_spot ? TASKS_ACTION(REPORT_FIXED) : TASKS_ACTION(REPORT);
    if (!(tasks_move_find(action)->roles & RT_ROLE_BIT(call->role)))
        return rt_txn_fail(t, CIVIC_PERMISSION_DENIED, "role %s may not report a problem%s",
                           rt_role_name(call->role), in->fixed_on_spot ? " fixed on the spot" : "");

    if (!in->allow_duplicate) {
        uint64_t open = tasks_open_find(t, s, in->point_id, in->category);
        if (open != 0) {
            out->problem = tasks_problem_get(t, s, open, NULL);
            out->duplicate = 1;
            return rt_txn_status(t);
        }
    }
    if (in->recurrence_of != 0) {
        tasks_problem *was = tasks_problem_get(t, s, in->recurrence_of, "recurrence_of");
        if (was != NULL && was->state != TASKS_STATE(CLOSED))
            return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                               "recurrence_of: problem %llu is %s: only a CLOSED problem recurs",
                               (unsigned long long) was->id, tasks_state_name(was->state));
    }
    tasks_problem *n = rt_alloc(t, sizeof *n);
    tasks_entry *e = rt_alloc(t, sizeof *e);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    civic__tasks__v1__problem__init(n);
    civic__tasks__v1__history_entry__init(e);
    n->id = rt_seq_next(t, "problem");
    n->point_id = in->point_id;
    n->area_id = in->area_id;
    n->grid_id = in->grid_id;
    n->category = in->category;
    n->description = in->description;
    n->source = in->source;
    n->severity = in->severity ? in->severity : CIVIC__TASKS__V1__PROBLEM_SEVERITY__PROBLEM_SEVERITY_MEDIUM;
    n->before_photos = in->before_photos;
    n->n_before_photos = in->n_before_photos;
    n->recurrence_of = in->recurrence_of;
    n->reporter = rt_strdup(t, call->principal);
    n->fixed_on_spot = in->fixed_on_spot;
    n->demo = in->demo;
    if (in->fixed_on_spot) {
        n->after_photos = in->after_photos;
        n->n_after_photos = in->n_after_photos;
        e->photos = in->after_photos;
        e->n_photos = in->n_after_photos;
    } else {
        e->photos = in->before_photos;
        e->n_photos = in->n_before_photos;
    }
    tasks_commit(t, call, n, NULL, action, 0, e);
    out->problem = n;
    return rt_txn_status(t);
}

int
handle_get_problem(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__GetProblemRequest *in = vin;
    Civic__Tasks__V1__GetProblemResponse *out = vout;
    out->problem = tasks_problem_get(t, call->service, in->id, "id");
    return rt_txn_status(t);
}
