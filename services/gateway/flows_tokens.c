// Self-registration and token refresh: the flows that issue a volunteer
// token. The token is written by the store's writer (a token write), its
// text shown once in the reply and never kept or logged.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "civic/volunteers/v1/volunteers.pb-c.h"
#include "civic_util.h"
#include "flows.h"
#include "rt_check.h"
#include "rt_log.h"

// --- the token writes ---

typedef struct tok_write {
    rt_write w;
    rt_arena arena;
    gw_svc *s;
    const char *principal, *created_by, *note;
    uint32_t ttl;
    char secret[64];
    int64_t expire_s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, rc;
    char why[300];
} tok_write;

static int
tok_run(rt_txn *t, rt_write *w)
{
    tok_write *tw = (tok_write *) w;
    Civic__Gateway__V1__Token *tok = rt_alloc(t, sizeof *tok);
    if (tok == NULL)
        return 0;
    civic__gateway__v1__token__init(tok);
    gw_token_new(tw->secret, sizeof tw->secret);
    tok->id = rt_seq_next(t, "token");
    tok->principal = rt_strdup(t, tw->principal);
    tok->role = CIVIC__GATEWAY__V1__ROLE__ROLE_VOLUNTEER;
    tok->create_time = rt_ts_new(t, w->now_ms);
    tok->expire_time = rt_ts_new(t, w->now_ms + (int64_t) tw->ttl * 1000);
    tok->created_by = rt_strdup(t, tw->created_by);
    tok->note = rt_strdup(t, tw->note);
    gw_token_put(t, tw->s, tw->secret, tok);
    rt_event(t, "token.created", tok->id, &tok->base);
    if (rt_txn_status(t) != 0) {
        snprintf(tw->why, sizeof tw->why, "%s", t->message);
        return 0;
    }
    tw->expire_s = tok->expire_time->seconds;
    return 1;
}

static void
tok_done(rt_write *w, int rc, const char *why)
{
    tok_write *tw = (tok_write *) w;
    pthread_mutex_lock(&tw->mu);
    tw->rc = rc;
    if (rc != 0 && why && !tw->why[0])
        snprintf(tw->why, sizeof tw->why, "%s", why);
    tw->done = 1;
    pthread_cond_signal(&tw->cv);
    pthread_mutex_unlock(&tw->mu);
}

// issue_token stores a new volunteer token for principal and waits for the
// commit. Returns 0 with secret and expiry, or a code in st.
static int
issue_token(gw_svc *s, const rt_call *call, const char *principal, const char *created_by, const char *note,
            char *secret, size_t n, int64_t *expire_s, civic_status *st)
{
    tok_write *tw = calloc(1, sizeof *tw);
    rt_arena_init(&tw->arena, 1u << 20);
    pthread_mutex_init(&tw->mu, NULL);
    pthread_cond_init(&tw->cv, NULL);
    tw->s = s;
    tw->principal = principal;
    tw->created_by = created_by;
    tw->note = note;
    tw->ttl = (uint32_t) gw_cfg.volunteer_token_ttl;
    tw->w.deadline_ms = call->deadline_ms;
    tw->w.run = tok_run;
    tw->w.done = tok_done;
    tw->w.arena = &tw->arena;
    tw->w.principal = created_by;
    tw->w.now_ms = call->now_ms;
    int rc = rt_store_submit(s->store, &tw->w);
    if (rc == 0) {
        pthread_mutex_lock(&tw->mu);
        while (!tw->done)
            pthread_cond_wait(&tw->cv, &tw->mu);
        pthread_mutex_unlock(&tw->mu);
        rc = tw->rc;
        if (rc != 0)
            civic_status_set(st, rc, "the token was not stored: %s", tw->why);
        else {
            snprintf(secret, n, "%s", tw->secret);
            *expire_s = tw->expire_s;
        }
    } else {
        civic_status_set(st, rc, "the token store is busy");
    }
    memset(tw->secret, 0, sizeof tw->secret);
    pthread_mutex_destroy(&tw->mu);
    pthread_cond_destroy(&tw->cv);
    rt_arena_fini(&tw->arena);
    free(tw);
    return rc;
}

// --- SelfRegister and RefreshToken ---

int
gw_flow_self_register(gw_svc *s, rt_forward *fw, ProtobufCMessage **outp, civic_status *st)
{
    const rt_call *call = rt_forward_call(fw);
    char key[128];
    gw_peer_key(call, "self-register client ", key, sizeof key);
    if (!gw_limit_take(&s->limiter, &s->rate_self_register, key, civic_now_ms()))
        return civic_status_set(st, CIVIC_RESOURCE_EXHAUSTED, "too many self-registrations from this address; try later");
    Civic__Gateway__V1__SelfRegisterRequest *in = gw_unpack_in(fw, &civic__gateway__v1__self_register_request__descriptor);
    if (in == NULL)
        return gw_violation(st, "payload", "does not decode as civic.gateway.v1.SelfRegisterRequest");
    int code = 0;
    Civic__Volunteers__V1__Volunteer *v = in->volunteer;
    if (v == NULL || v->phone == NULL || v->phone[0] == '\0') {
        code = gw_violation(st, "volunteer.phone", "required");
        goto out;
    }
    snprintf(key, sizeof key, "self-register phone %.80s", v->phone);
    if (!gw_limit_take(&s->limiter, &s->rate_self_register, key, civic_now_ms())) {
        code = civic_status_set(st, CIVIC_RESOURCE_EXHAUSTED, "too many self-registrations for this phone; try later");
        goto out;
    }
    // Only what a person may say about themselves; the volunteers service
    // checks it (and refuses a phone already registered).
    Civic__Volunteers__V1__Volunteer nv = CIVIC__VOLUNTEERS__V1__VOLUNTEER__INIT;
    nv.name = v->name;
    nv.phone = v->phone;
    nv.kind = v->kind;
    nv.area_id = v->area_id;
    nv.community = v->community;
    nv.consent = v->consent;
    Civic__Volunteers__V1__RegisterVolunteerRequest rr = CIVIC__VOLUNTEERS__V1__REGISTER_VOLUNTEER_REQUEST__INIT;
    rr.volunteer = &nv;
    gw_pending pr;
    ProtobufCMessage *res;
    gw_call_start(s, B_VOLUNTEERS, VOL "RegisterVolunteer", &rr.base, "gateway:self-register", "admin", call->request_id,
               NULL, gw_deadline_for(call), &pr);
    if ((code = gw_call_wait(&pr, &civic__volunteers__v1__register_volunteer_response__descriptor, &res, st)) != 0)
        goto out;
    Civic__Volunteers__V1__RegisterVolunteerResponse *reg = (Civic__Volunteers__V1__RegisterVolunteerResponse *) res;
    char principal[32], secret[64];
    snprintf(principal, sizeof principal, "%" PRIu64, reg->volunteer ? reg->volunteer->id : 0);
    int64_t expire = 0;
    code = issue_token(s, call, principal, "self-register", "self-registered volunteer", secret, sizeof secret,
                       &expire, st);
    if (code == 0) {
        rt_log(RT_LOG_INFO, "volunteer.self_registered", "volunteer=%s peer=%s", principal,
               call->peer ? call->peer : "");
        Civic__Gateway__V1__SelfRegisterResponse *o = malloc(sizeof *o);
        civic__gateway__v1__self_register_response__init(o);
        o->volunteer = reg->volunteer;
        reg->volunteer = NULL;
        // Registered as admin, answered to a caller who is not: the one
        // rule for person records holds here too (the phone masked).
        if (o->volunteer != NULL && o->volunteer->phone != NULL) {
            char m[RT_PHONE_MASKED];
            rt_phone_masked(o->volunteer->phone, m);
            free(o->volunteer->phone);
            o->volunteer->phone = strdup(m);
        }
        o->token = strdup(secret);
        o->expire_time = malloc(sizeof *o->expire_time);
        google__protobuf__timestamp__init(o->expire_time);
        o->expire_time->seconds = expire;
        *outp = &o->base;
    }
    memset(secret, 0, sizeof secret);
    protobuf_c_message_free_unpacked(res, NULL);
out:
    civic__gateway__v1__self_register_request__free_unpacked(in, NULL);
    return code;
}

int
gw_flow_refresh(gw_svc *s, rt_forward *fw, ProtobufCMessage **outp, civic_status *st)
{
    const rt_call *call = rt_forward_call(fw);
    char secret[64];
    int64_t expire = 0;
    int code = issue_token(s, call, call->principal, call->principal, "refreshed volunteer token", secret,
                           sizeof secret, &expire, st);
    if (code != 0)
        return code;
    Civic__Gateway__V1__RefreshTokenResponse *o = malloc(sizeof *o);
    civic__gateway__v1__refresh_token_response__init(o);
    o->token = strdup(secret);
    memset(secret, 0, sizeof secret);
    o->expire_time = malloc(sizeof *o->expire_time);
    google__protobuf__timestamp__init(o->expire_time);
    o->expire_time->seconds = expire;
    *outp = &o->base;
    return 0;
}
