// The gateway's flows: methods of civic.gateway.v1.GatewayService that call
// the back ends (RT_FLOW in the handler table). The runtime checks the role
// and hands the call to gw_forward, which queues it here; a small pool of
// flow threads runs each flow as straight-line code. A back-end call is the
// same chained aio as forwarding (civic_call_forward) with the caller's
// identity — or the gateway's own, for the dashboard and self-registration —
// signed per call; the flow thread waits for it, and the dashboard starts
// its three calls at once and waits for all of them within one deadline.
// A flow never waits past the caller's deadline: every back-end call gets
// the caller's deadline less a margin.
#include <inttypes.h>
#include <nng/nng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civic/points/v1/points.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic/tasks/v1/tasks.pb-c.h"
#include "civic/volunteers/v1/volunteers.pb-c.h"
#include "civic_util.h"
#include "gateway.h"
#include "rt_check.h"
#include "rt_log.h"

#include "flows.h"

// --- one back-end call, waited for ---

static void
pending_done(void *reply, int code, const char *why, void *arg)
{
    gw_pending *p = arg;
    pthread_mutex_lock(&p->mu);
    p->reply = reply;
    p->code = code;
    snprintf(p->why, sizeof p->why, "%s", why ? why : "");
    p->done = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static _Atomic uint64_t next_call_id = 1;

// gw_call_start sends req to a back end as principal/role (signed), with the
// caller's request-id and an optional idempotency key. It never fails: a
// call that cannot start is a pending already done with its code.
void
gw_call_start(gw_svc *s, int bi, const char *method, const ProtobufCMessage *req, const char *principal,
           const char *role, const char *request_id, const char *idem, int64_t deadline, gw_pending *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    gw_backend *b = &s->backends[bi];
    int64_t now = civic_now_ms();
    if (b->url == NULL || b->ch == NULL || civic_channel_connected(b->ch) <= 0) {
        p->done = 1;
        p->code = CIVIC_UNAVAILABLE;
        snprintf(p->why, sizeof p->why, "the %s service is not connected", b->name);
        return;
    }
    if (deadline - now < 1) {
        p->done = 1;
        p->code = CIVIC_DEADLINE_EXCEEDED;
        snprintf(p->why, sizeof p->why, "deadline exceeded at the gateway");
        return;
    }
    size_t plen = protobuf_c_message_get_packed_size(req);
    uint8_t *payload = malloc(plen ? plen : 1);
    protobuf_c_message_pack(req, payload);
    Civic__Rpc__V1__Request env = CIVIC__RPC__V1__REQUEST__INIT;
    env.method = civic_unconst(method);
    env.call_id = atomic_fetch_add(&next_call_id, 1) + ((uint64_t) now << 20);
    env.timeout_ms = (uint32_t) (deadline - now);
    env.payload.data = payload;
    env.payload.len = plen;
    char sig[CIVIC_SIG_HEX];
    Civic__Rpc__V1__Request__MetadataEntry ents[5], *ptrs[5];
    const char *keys[5], *vals[5];
    size_t n = 0;
    keys[n] = "x-civic-principal", vals[n++] = principal;
    keys[n] = "x-civic-role", vals[n++] = role;
    if (s->key != NULL) {
        civic_sign(s->key, method, env.call_id, principal, role, payload, plen, sig);
        keys[n] = "x-civic-signature", vals[n++] = sig;
    }
    if (request_id != NULL && request_id[0])
        keys[n] = "request-id", vals[n++] = request_id;
    if (idem != NULL && idem[0])
        keys[n] = "idempotency-key", vals[n++] = idem;
    for (size_t i = 0; i < n; i++) {
        civic__rpc__v1__request__metadata_entry__init(&ents[i]);
        ents[i].key = civic_unconst(keys[i]);
        ents[i].value = civic_unconst(vals[i]);
        ptrs[i] = &ents[i];
    }
    env.metadata = ptrs;
    env.n_metadata = n;
    nng_msg *m;
    if (nng_msg_alloc(&m, civic__rpc__v1__request__get_packed_size(&env)) != 0) {
        free(payload);
        p->done = 1;
        p->code = CIVIC_RESOURCE_EXHAUSTED;
        snprintf(p->why, sizeof p->why, "out of memory");
        return;
    }
    civic__rpc__v1__request__pack(&env, nng_msg_body(m));
    free(payload);
    int rc = civic_call_forward(b->ch, m, deadline, pending_done, p);
    if (rc != 0) {
        nng_msg_free(m);
        p->done = 1;
        p->code = rc;
        snprintf(p->why, sizeof p->why, "the %s service is not connected", b->name);
    }
}

// gw_call_wait waits for p and decodes its answer: 0 with *resp (free with
// protobuf_c_message_free_unpacked), or a code with st filled in.
int
gw_call_wait(gw_pending *p, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp, civic_status *st)
{
    pthread_mutex_lock(&p->mu);
    while (!p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    *resp = NULL;
    if (p->reply == NULL)
        return civic_status_set(st, p->code ? p->code : CIVIC_UNAVAILABLE, "%s",
                                p->why[0] ? p->why : "the back end went away");
    Civic__Rpc__V1__Response *r =
        civic__rpc__v1__response__unpack(NULL, nng_msg_len(p->reply), nng_msg_body(p->reply));
    nng_msg_free(p->reply);
    if (r == NULL)
        return civic_status_set(st, CIVIC_INTERNAL, "malformed answer from the back end");
    int code = r->status ? r->status->code : 0;
    if (code != 0) {
        civic_status_set(st, code, "%s", r->status->message ? r->status->message : "");
        for (size_t i = 0; i < r->status->n_violations && i < CIVIC_VIOLATIONS_MAX; i++) {
            snprintf(st->violations[i].field, sizeof st->violations[i].field, "%s", r->status->violations[i]->field);
            snprintf(st->violations[i].description, sizeof st->violations[i].description, "%s",
                     r->status->violations[i]->description);
            st->n_violations = i + 1;
        }
    } else {
        *resp = protobuf_c_message_unpack(desc, NULL, r->payload.len, r->payload.data);
        if (*resp == NULL)
            code = civic_status_set(st, CIVIC_INTERNAL, "undecodable answer from the back end");
    }
    civic__rpc__v1__response__free_unpacked(r, NULL);
    return code;
}

// --- answering the caller ---

static void
answer(rt_forward *fw, int code, const civic_status *st, const ProtobufCMessage *out)
{
    Civic__Rpc__V1__Response r = CIVIC__RPC__V1__RESPONSE__INIT;
    Civic__Rpc__V1__Status status = CIVIC__RPC__V1__STATUS__INIT;
    Civic__Rpc__V1__FieldViolation vs[CIVIC_VIOLATIONS_MAX], *vp[CIVIC_VIOLATIONS_MAX];
    r.call_id = rt_forward_request(fw)->call_id;
    uint8_t *payload = NULL;
    if (code == 0) {
        size_t n = protobuf_c_message_get_packed_size(out);
        payload = malloc(n ? n : 1);
        protobuf_c_message_pack(out, payload);
        r.payload.data = payload;
        r.payload.len = n;
    } else {
        status.code = code;
        status.message = civic_unconst(st->message);
        for (size_t i = 0; i < st->n_violations; i++) {
            civic__rpc__v1__field_violation__init(&vs[i]);
            vs[i].field = civic_unconst(st->violations[i].field);
            vs[i].description = civic_unconst(st->violations[i].description);
            vp[i] = &vs[i];
        }
        status.violations = vp;
        status.n_violations = st->n_violations;
        r.status = &status;
    }
    nng_msg *m;
    if (nng_msg_alloc(&m, civic__rpc__v1__response__get_packed_size(&r)) != 0) {
        free(payload);
        rt_forward_fail(fw, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    civic__rpc__v1__response__pack(&r, nng_msg_body(m));
    free(payload);
    rt_forward_reply(fw, m, code);
}

int
gw_violation(civic_status *st, const char *field, const char *what)
{
    civic_status_set(st, CIVIC_INVALID_ARGUMENT, "%s: %s", field, what);
    snprintf(st->violations[0].field, sizeof st->violations[0].field, "%s", field);
    snprintf(st->violations[0].description, sizeof st->violations[0].description, "%s", what);
    st->n_violations = 1;
    return CIVIC_INVALID_ARGUMENT;
}

// gw_deadline_for gives back-end calls the caller's deadline less a margin, so
// the gateway's own answer reaches the caller before it gives up.
int64_t
gw_deadline_for(const rt_call *call)
{
    int64_t left = call->deadline_ms - civic_now_ms();
    int64_t margin = left / 10 < 50 ? left / 10 : 50;
    return call->deadline_ms - margin;
}

void *
gw_unpack_in(rt_forward *fw, const ProtobufCMessageDescriptor *d)
{
    const Civic__Rpc__V1__Request *r = rt_forward_request(fw);
    return protobuf_c_message_unpack(d, NULL, r->payload.len, r->payload.data);
}

// --- the audit of personal data read by admins ---

typedef struct audit_write {
    rt_write w;
    rt_arena arena;
    char principal[128], method[160], peer[64], request_id[128];
} audit_write;

static int
audit_run(rt_txn *t, rt_write *w)
{
    audit_write *aw = (audit_write *) w;
    Civic__Gateway__V1__PersonalDataRead rec = CIVIC__GATEWAY__V1__PERSONAL_DATA_READ__INIT;
    rec.principal = aw->principal;
    rec.method = aw->method;
    rec.peer = aw->peer;
    rec.request_id = aw->request_id;
    rt_event(t, "personal_data.read", 0, &rec.base);
    return rt_txn_status(t) == 0;
}

static void
audit_done(rt_write *w, int rc, const char *why)
{
    audit_write *aw = (audit_write *) w;
    if (rc != 0)
        rt_log(RT_LOG_ERROR, "audit.lost", "method=%s error=\"%s\"", aw->method, why ? why : "");
    rt_arena_fini(&aw->arena);
    free(aw);
}

void
gw_audit_personal_read(gw_svc *s, const rt_call *call)
{
    audit_write *aw = calloc(1, sizeof *aw);
    if (aw == NULL)
        return;
    rt_arena_init(&aw->arena, 64u << 10);
    snprintf(aw->principal, sizeof aw->principal, "%s", call->principal);
    snprintf(aw->method, sizeof aw->method, "%s", call->method);
    snprintf(aw->peer, sizeof aw->peer, "%s", call->peer ? call->peer : "");
    snprintf(aw->request_id, sizeof aw->request_id, "%s", call->request_id);
    aw->w.deadline_ms = civic_now_ms() + 60000;
    aw->w.run = audit_run;
    aw->w.done = audit_done;
    aw->w.arena = &aw->arena;
    aw->w.principal = aw->principal;
    aw->w.now_ms = call->now_ms;
    if (rt_store_submit(s->store, &aw->w) != 0) {
        rt_log(RT_LOG_ERROR, "audit.lost", "method=%s error=\"write queue full\"", aw->method);
        rt_arena_fini(&aw->arena);
        free(aw);
    }
}

// --- SignUp ---

static const char *
role_of(const rt_call *call)
{
    return rt_role_name(call->role);
}

static int
flow_sign_up(gw_svc *s, rt_forward *fw, ProtobufCMessage **outp, civic_status *st)
{
    const rt_call *call = rt_forward_call(fw);
    Civic__Gateway__V1__SignUpRequest *in = gw_unpack_in(fw, &civic__gateway__v1__sign_up_request__descriptor);
    if (in == NULL)
        return gw_violation(st, "payload", "does not decode as civic.gateway.v1.SignUpRequest");
    uint64_t vid = in->volunteer_id, aid = in->activity_id;
    civic__gateway__v1__sign_up_request__free_unpacked(in, NULL);
    if (call->role == RT_ROLE_VOLUNTEER) {
        char *end;
        uint64_t self = strtoull(call->principal, &end, 10);
        if (*end != '\0' || self == 0)
            return civic_status_set(st, CIVIC_PERMISSION_DENIED, "this volunteer token names no volunteer id");
        if (vid != 0 && vid != self)
            return civic_status_set(st, CIVIC_PERMISSION_DENIED, "a volunteer signs up only themselves");
        vid = self;
    }
    if (aid == 0)
        return gw_violation(st, "activity_id", "required");
    if (vid == 0)
        return gw_violation(st, "volunteer_id", "required for an admin");
    int64_t deadline = gw_deadline_for(call);
    const char *p = call->principal, *r = role_of(call), *rid = call->request_id;
    // The volunteer and the activity at once, then the activity's point.
    Civic__Volunteers__V1__GetVolunteerRequest gv = CIVIC__VOLUNTEERS__V1__GET_VOLUNTEER_REQUEST__INIT;
    Civic__Volunteers__V1__GetActivityRequest ga = CIVIC__VOLUNTEERS__V1__GET_ACTIVITY_REQUEST__INIT;
    gv.id = vid;
    ga.id = aid;
    gw_pending pv, pa;
    gw_call_start(s, B_VOLUNTEERS, VOL "GetVolunteer", &gv.base, p, r, rid, NULL, deadline, &pv);
    gw_call_start(s, B_VOLUNTEERS, VOL "GetActivity", &ga.base, p, r, rid, NULL, deadline, &pa);
    ProtobufCMessage *rv, *ra;
    civic_status sa;
    int cv = gw_call_wait(&pv, &civic__volunteers__v1__get_volunteer_response__descriptor, &rv, st);
    int ca = gw_call_wait(&pa, &civic__volunteers__v1__get_activity_response__descriptor, &ra, &sa);
    int code = cv;
    if (cv == 0 && ca != 0) {
        *st = sa;
        code = ca;
    }
    uint64_t point_id = 0;
    if (code == 0) {
        Civic__Volunteers__V1__Volunteer *v = ((Civic__Volunteers__V1__GetVolunteerResponse *) rv)->volunteer;
        Civic__Volunteers__V1__Activity *a = ((Civic__Volunteers__V1__GetActivityResponse *) ra)->activity;
        if (v == NULL || v->state != CIVIC__VOLUNTEERS__V1__VOLUNTEER_STATE__VOLUNTEER_STATE_ACTIVE)
            code = civic_status_set(st, CIVIC_FAILED_PRECONDITION, "volunteer %" PRIu64 " is not active", vid);
        else if (a == NULL || a->state != CIVIC__VOLUNTEERS__V1__ACTIVITY_STATE__ACTIVITY_STATE_OPEN)
            code = civic_status_set(st, CIVIC_FAILED_PRECONDITION, "activity %" PRIu64 " is not open", aid);
        else
            point_id = a->point_id;
    }
    if (rv)
        protobuf_c_message_free_unpacked(rv, NULL);
    if (ra)
        protobuf_c_message_free_unpacked(ra, NULL);
    if (code != 0)
        return code;
    if (point_id != 0) {
        Civic__Points__V1__GetPointRequest gp = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
        gp.id = point_id;
        gw_pending pp;
        ProtobufCMessage *rp;
        gw_call_start(s, B_POINTS, PTS "GetPoint", &gp.base, p, r, rid, NULL, deadline, &pp);
        if ((code = gw_call_wait(&pp, &civic__points__v1__get_point_response__descriptor, &rp, st)) != 0)
            return code;
        Civic__Points__V1__Point *pt = ((Civic__Points__V1__GetPointResponse *) rp)->point;
        int active = pt != NULL && pt->state == CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ACTIVE;
        protobuf_c_message_free_unpacked(rp, NULL);
        if (!active)
            return civic_status_set(st, CIVIC_FAILED_PRECONDITION, "the activity's point %" PRIu64 " is not active",
                                    point_id);
    }
    // The sign-up itself, as the caller, with the caller's idempotency key:
    // a retry finds the volunteers service's stored answer.
    Civic__Volunteers__V1__SignUpRequest su = CIVIC__VOLUNTEERS__V1__SIGN_UP_REQUEST__INIT;
    su.activity_id = aid;
    su.volunteer_id = vid;
    gw_pending ps;
    ProtobufCMessage *rs;
    gw_call_start(s, B_VOLUNTEERS, VOL "SignUp", &su.base, p, r, rid, call->idempotency_key, deadline, &ps);
    if ((code = gw_call_wait(&ps, &civic__volunteers__v1__sign_up_response__descriptor, &rs, st)) != 0)
        return code;
    Civic__Volunteers__V1__SignUpResponse *sr = (Civic__Volunteers__V1__SignUpResponse *) rs;
    Civic__Gateway__V1__SignUpResponse *out = malloc(sizeof *out);
    civic__gateway__v1__sign_up_response__init(out);
    out->signup = sr->signup;
    sr->signup = NULL;
    out->existing = sr->existing;
    if (out->signup) {
        out->registered = out->signup->state == CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_REGISTERED;
        out->waitlisted = out->signup->state == CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_WAITLISTED;
        out->position = out->signup->position;
    }
    protobuf_c_message_free_unpacked(rs, NULL);
    *outp = &out->base;
    return 0;
}

// --- ReportProblemAtPoint ---

static int
flow_report(gw_svc *s, rt_forward *fw, ProtobufCMessage **outp, civic_status *st)
{
    const rt_call *call = rt_forward_call(fw);
    Civic__Gateway__V1__ReportProblemAtPointRequest *in =
        gw_unpack_in(fw, &civic__gateway__v1__report_problem_at_point_request__descriptor);
    if (in == NULL)
        return gw_violation(st, "payload", "does not decode as civic.gateway.v1.ReportProblemAtPointRequest");
    int code = 0;
    if (in->report == NULL || in->report->point_id == 0) {
        code = gw_violation(st, "report.point_id", "required");
        goto out;
    }
    int64_t deadline = gw_deadline_for(call);
    Civic__Points__V1__GetPointRequest gp = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    gp.id = in->report->point_id;
    gw_pending pp;
    ProtobufCMessage *rp;
    gw_call_start(s, B_POINTS, PTS "GetPoint", &gp.base, call->principal, role_of(call), call->request_id, NULL,
               deadline, &pp);
    if ((code = gw_call_wait(&pp, &civic__points__v1__get_point_response__descriptor, &rp, st)) != 0)
        goto out;
    Civic__Points__V1__Point *pt = ((Civic__Points__V1__GetPointResponse *) rp)->point;
    if (pt == NULL || pt->state != CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ACTIVE) {
        code = civic_status_set(st, CIVIC_FAILED_PRECONDITION, "point %" PRIu64 " is not active", gp.id);
        protobuf_c_message_free_unpacked(rp, NULL);
        goto out;
    }
    in->report->area_id = pt->area_id;
    in->report->grid_id = pt->grid_id;
    protobuf_c_message_free_unpacked(rp, NULL);
    gw_pending pr;
    ProtobufCMessage *rr;
    gw_call_start(s, B_TASKS, TSK "ReportProblem", &in->report->base, call->principal, role_of(call),
               call->request_id, call->idempotency_key, deadline, &pr);
    if ((code = gw_call_wait(&pr, &civic__tasks__v1__report_problem_response__descriptor, &rr, st)) != 0)
        goto out;
    Civic__Tasks__V1__ReportProblemResponse *res = (Civic__Tasks__V1__ReportProblemResponse *) rr;
    Civic__Gateway__V1__ReportProblemAtPointResponse *o = malloc(sizeof *o);
    civic__gateway__v1__report_problem_at_point_response__init(o);
    o->problem = res->problem;
    res->problem = NULL;
    o->duplicate = res->duplicate;
    protobuf_c_message_free_unpacked(rr, NULL);
    *outp = &o->base;
out:
    civic__gateway__v1__report_problem_at_point_request__free_unpacked(in, NULL);
    return code;
}

// --- GetDashboard ---

typedef struct dash {
    Civic__Gateway__V1__AreaDashboard **areas;
    size_t n, cap;
    const uint64_t *only;
    size_t n_only;
} dash;

static Civic__Gateway__V1__AreaDashboard *
dash_area(dash *d, uint64_t id)
{
    if (d->n_only) {
        int wanted = 0;
        for (size_t i = 0; i < d->n_only; i++)
            wanted |= d->only[i] == id;
        if (!wanted)
            return NULL;
    }
    size_t i = 0;
    while (i < d->n && d->areas[i]->area_id < id)
        i++;
    if (i < d->n && d->areas[i]->area_id == id)
        return d->areas[i];
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 16;
        d->areas = realloc(d->areas, d->cap * sizeof *d->areas);
    }
    memmove(&d->areas[i + 1], &d->areas[i], (d->n - i) * sizeof *d->areas);
    d->n++;
    Civic__Gateway__V1__AreaDashboard *a = calloc(1, sizeof *a);
    civic__gateway__v1__area_dashboard__init(a);
    a->area_id = id;
    d->areas[i] = a;
    return a;
}

static Civic__Gateway__V1__DashboardPart *
part(const char *name, int code, const civic_status *st)
{
    Civic__Gateway__V1__DashboardPart *p = malloc(sizeof *p);
    civic__gateway__v1__dashboard_part__init(p);
    p->name = strdup(name);
    p->available = code == 0;
    p->reason = strdup(code == 0 ? "" : st->message);
    return p;
}

static int
flow_dashboard(gw_svc *s, rt_forward *fw, ProtobufCMessage **outp, civic_status *st)
{
    const rt_call *call = rt_forward_call(fw);
    Civic__Gateway__V1__GetDashboardRequest *in = gw_unpack_in(fw, &civic__gateway__v1__get_dashboard_request__descriptor);
    if (in == NULL)
        return gw_violation(st, "payload", "does not decode as civic.gateway.v1.GetDashboardRequest");
    // The campaign's local day (UTC+8 unless configured), whatever the
    // machine's time zone; every part answers for the same day.
    int32_t today = rt_local_day(call->now_ms, s->tz_offset_min);
    int32_t day = in->local_day ? in->local_day : today;
    if (!rt_day_valid(day) || day > today) {
        char why[96];
        if (rt_day_valid(day))
            snprintf(why, sizeof why, "%d is after today (%d)", (int) day, (int) today);
        else
            snprintf(why, sizeof why, "%d is not a date as YYYYMMDD", (int) day);
        civic__gateway__v1__get_dashboard_request__free_unpacked(in, NULL);
        return gw_violation(st, "local_day", why);
    }
    int64_t deadline = gw_deadline_for(call);
    // Aggregate figures only: asked as the gateway itself, read-only.
    const char *p = "gateway:dashboard", *r = "viewer", *rid = call->request_id;
    Civic__Points__V1__GetCoverageSummaryRequest cs = CIVIC__POINTS__V1__GET_COVERAGE_SUMMARY_REQUEST__INIT;
    cs.local_day = day;
    Civic__Volunteers__V1__GetAreaSummaryRequest vs = CIVIC__VOLUNTEERS__V1__GET_AREA_SUMMARY_REQUEST__INIT;
    vs.local_day = day;
    vs.area_ids = in->area_ids;
    vs.n_area_ids = in->n_area_ids;
    Civic__Tasks__V1__GetSummaryRequest ts = CIVIC__TASKS__V1__GET_SUMMARY_REQUEST__INIT;
    ts.local_day = day;
    // The three at once; each answers or fails by the one deadline.
    gw_pending pc, pv, pt;
    gw_call_start(s, B_POINTS, PTS "GetCoverageSummary", &cs.base, p, r, rid, NULL, deadline, &pc);
    gw_call_start(s, B_VOLUNTEERS, VOL "GetAreaSummary", &vs.base, p, r, rid, NULL, deadline, &pv);
    gw_call_start(s, B_TASKS, TSK "GetSummary", &ts.base, p, r, rid, NULL, deadline, &pt);
    civic_status sc, sv, stk;
    ProtobufCMessage *rc_, *rv_, *rt_;
    int cc = gw_call_wait(&pc, &civic__points__v1__get_coverage_summary_response__descriptor, &rc_, &sc);
    int cv = gw_call_wait(&pv, &civic__volunteers__v1__get_area_summary_response__descriptor, &rv_, &sv);
    int ct = gw_call_wait(&pt, &civic__tasks__v1__get_summary_response__descriptor, &rt_, &stk);

    dash d = {.only = in->area_ids, .n_only = in->n_area_ids};
    if (cc == 0) {
        Civic__Points__V1__GetCoverageSummaryResponse *c = (Civic__Points__V1__GetCoverageSummaryResponse *) rc_;
        for (size_t i = 0; i < c->n_areas; i++) {
            Civic__Gateway__V1__AreaDashboard *a = dash_area(&d, c->areas[i]->area_id);
            if (a == NULL)
                continue;
            free(a->name != protobuf_c_empty_string ? a->name : NULL);
            a->name = strdup(c->areas[i]->name ? c->areas[i]->name : "");
            a->points = c->areas[i]->points;
            a->patrolled_today = c->areas[i]->patrolled;
            a->patrolled_share = c->areas[i]->share;
        }
        protobuf_c_message_free_unpacked(rc_, NULL);
    }
    if (cv == 0) {
        Civic__Volunteers__V1__GetAreaSummaryResponse *v = (Civic__Volunteers__V1__GetAreaSummaryResponse *) rv_;
        for (size_t i = 0; i < v->n_areas; i++) {
            Civic__Gateway__V1__AreaDashboard *a = dash_area(&d, v->areas[i]->area_id);
            if (a == NULL)
                continue;
            a->volunteer_hours_this_week = (double) v->areas[i]->minutes_this_week / 60.0;
            a->volunteers_active = v->areas[i]->volunteers_active;
        }
        protobuf_c_message_free_unpacked(rv_, NULL);
    }
    // Problems and works: the tasks service's own summary for the day, from
    // its counters.
    if (ct == 0) {
        Civic__Tasks__V1__GetSummaryResponse *t = (Civic__Tasks__V1__GetSummaryResponse *) rt_;
        for (size_t i = 0; i < t->n_areas; i++) {
            Civic__Gateway__V1__AreaDashboard *a = dash_area(&d, t->areas[i]->area_id);
            if (a == NULL)
                continue;
            a->problems_open = (uint32_t) t->areas[i]->open;
            a->problems_overdue = (uint32_t) t->areas[i]->overdue;
            a->problems_closed_today = (uint32_t) t->areas[i]->closed_today;
            a->works_percent_done = t->areas[i]->works_percent_done;
            a->works = t->areas[i]->works;
        }
        protobuf_c_message_free_unpacked(rt_, NULL);
    }

    Civic__Gateway__V1__GetDashboardResponse *o = malloc(sizeof *o);
    civic__gateway__v1__get_dashboard_response__init(o);
    o->local_day = day;
    o->areas = d.areas;
    o->n_areas = d.n;
    o->parts = malloc(4 * sizeof *o->parts);
    o->n_parts = 4;
    o->parts[0] = part("points", cc, &sc);
    o->parts[1] = part("tasks", ct, &stk);
    o->parts[2] = part("volunteers", cv, &sv);
    o->parts[3] = part("works", ct, &stk);
    civic__gateway__v1__get_dashboard_request__free_unpacked(in, NULL);
    *outp = &o->base;
    return 0;
}

// --- the flow threads ---

typedef int (*flow_fn)(gw_svc *s, rt_forward *fw, ProtobufCMessage **out, civic_status *st);

static const struct {
    const char *method;
    flow_fn fn;
} flows[] = {
    {GW "SignUp", flow_sign_up},
    {GW "ReportProblemAtPoint", flow_report},
    {GW "GetDashboard", flow_dashboard},
    {GW "SelfRegister", gw_flow_self_register},
    {GW "RefreshToken", gw_flow_refresh},
};

int
gw_is_flow(const char *method)
{
    for (size_t i = 0; i < sizeof flows / sizeof flows[0]; i++)
        if (strcmp(flows[i].method, method) == 0)
            return 1;
    return 0;
}

typedef struct flow_item {
    rt_forward *fw;
    struct flow_item *next;
} flow_item;

static void
run_flow(gw_svc *s, rt_forward *fw)
{
    const rt_call *call = rt_forward_call(fw);
    civic_status st;
    memset(&st, 0, sizeof st);
    ProtobufCMessage *out = NULL;
    int code = CIVIC_UNIMPLEMENTED;
    if (civic_now_ms() >= call->deadline_ms) {
        rt_forward_fail(fw, CIVIC_DEADLINE_EXCEEDED, "deadline exceeded before the flow ran");
        return;
    }
    civic_status_set(&st, code, "no such flow");
    for (size_t i = 0; i < sizeof flows / sizeof flows[0]; i++)
        if (strcmp(flows[i].method, call->method) == 0)
            code = flows[i].fn(s, fw, &out, &st);
    answer(fw, code, &st, out);
    if (out != NULL)
        protobuf_c_message_free_unpacked(out, NULL);
}

static void *
flow_main(void *arg)
{
    gw_svc *s = arg;
    pthread_mutex_lock(&s->flow_mu);
    for (;;) {
        while (s->flow_head == NULL && !s->flow_stop)
            pthread_cond_wait(&s->flow_cv, &s->flow_mu);
        flow_item *it = s->flow_head;
        if (it == NULL)
            break;
        s->flow_head = it->next;
        if (s->flow_head == NULL)
            s->flow_tail = NULL;
        pthread_mutex_unlock(&s->flow_mu);
        run_flow(s, it->fw);
        free(it);
        pthread_mutex_lock(&s->flow_mu);
    }
    pthread_mutex_unlock(&s->flow_mu);
    return NULL;
}

void
gw_flow_submit(gw_svc *s, rt_forward *fw)
{
    flow_item *it = malloc(sizeof *it);
    if (it == NULL) {
        rt_forward_fail(fw, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    it->fw = fw;
    it->next = NULL;
    pthread_mutex_lock(&s->flow_mu);
    if (s->flow_tail)
        s->flow_tail->next = it;
    else
        s->flow_head = it;
    s->flow_tail = it;
    pthread_cond_signal(&s->flow_cv);
    pthread_mutex_unlock(&s->flow_mu);
}

int
gw_flows_start(gw_svc *s, int n)
{
    pthread_mutex_init(&s->flow_mu, NULL);
    pthread_cond_init(&s->flow_cv, NULL);
    s->n_flow_threads = 0;
    for (int i = 0; i < n && i < GW_FLOW_THREADS_MAX; i++) {
        if (pthread_create(&s->flow_threads[i], NULL, flow_main, s) != 0)
            return -1;
        s->n_flow_threads++;
    }
    return 0;
}

void
gw_flows_stop(gw_svc *s)
{
    pthread_mutex_lock(&s->flow_mu);
    s->flow_stop = 1;
    pthread_cond_broadcast(&s->flow_cv);
    pthread_mutex_unlock(&s->flow_mu);
    for (int i = 0; i < s->n_flow_threads; i++)
        pthread_join(s->flow_threads[i], NULL);
    pthread_mutex_destroy(&s->flow_mu);
    pthread_cond_destroy(&s->flow_cv);
}
