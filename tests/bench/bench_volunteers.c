// civic-bench modes for the volunteers service: durable sign-ups.
//
//   signup-one   64 (or --inflight) calls in flight all signing up to ONE
//                activity: every write reads and bumps the same seat
//                counters — the worst case for the writer.
//   signup-many  the same spread over 256 activities.
//
// Call n signs up volunteer n mod V (V volunteers registered in setup,
// CIVIC_BENCH_VOLUNTEERS, default 4000, 64 registrations in flight); once
// every volunteer holds the current activity the calls move on to the next
// one (32 activities a day apart for signup-one), so every call is a new
// sign-up, never the cheaper "already signed up" answer, for up to 32 V
// calls (128,000 with the default; more than a 3.5 s run makes here).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "civic/volunteers/v1/volunteers.pb-c.h"

#define V "/civic.volunteers.v1.VolunteersService/"
#define ONE_ACTIVITIES 32
#define MANY_ACTIVITIES 256

// One allocation (civic-bench frees fixtures with free()).
typedef struct fixtures {
    size_t n_vol;
    uint64_t act[MANY_ACTIVITIES];
    size_t n_act;
    int spread;
    uint64_t vol[];
} fixtures;

typedef struct reg {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t done, failed;
    fixtures *f;
} reg;

typedef struct reg_one {
    reg *r;
    size_t i;
} reg_one;

static void
on_registered(const civic_reply *rep, void *arg)
{
    reg_one *o = arg;
    reg *r = o->r;
    Civic__Volunteers__V1__RegisterVolunteerResponse *resp = NULL;
    if (rep->status.code == 0)
        resp = civic__volunteers__v1__register_volunteer_response__unpack(NULL, rep->len, rep->payload);
    pthread_mutex_lock(&r->mu);
    if (resp != NULL)
        r->f->vol[o->i] = resp->volunteer->id;
    else
        r->failed++;
    r->done++;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (resp)
        civic__volunteers__v1__register_volunteer_response__free_unpacked(resp, NULL);
    free(o);
}

static int
register_volunteers(civic_channel *ch, fixtures *f)
{
    reg r = {.f = f};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    unsigned base = (unsigned) getpid() * 7919u + (unsigned) time(NULL);
    for (size_t i = 0; i < f->n_vol; i++) {
        pthread_mutex_lock(&r.mu);
        while (i - r.done >= 64)
            pthread_cond_wait(&r.cv, &r.mu);
        pthread_mutex_unlock(&r.mu);
        Civic__Volunteers__V1__RegisterVolunteerRequest req =
            CIVIC__VOLUNTEERS__V1__REGISTER_VOLUNTEER_REQUEST__INIT;
        Civic__Volunteers__V1__Volunteer v = CIVIC__VOLUNTEERS__V1__VOLUNTEER__INIT;
        char name[48], phone[16];
        snprintf(name, sizeof name, "基准志愿者%zu", i);
        snprintf(phone, sizeof phone, "19%09u", (base + (unsigned) i) % 1000000000u);
        v.name = name;
        v.phone = phone;
        v.kind = 1 + (int) (i % 5);
        v.area_id = 1 + 5 * (i % 8);
        req.volunteer = &v;
        uint8_t buf[256];
        size_t len = civic__volunteers__v1__register_volunteer_request__pack(&req, buf);
        reg_one *o = malloc(sizeof *o);
        o->r = &r;
        o->i = i;
        civic_call_opts co = {.timeout_ms = 30000};
        civic_status st;
        if (civic_call_start(ch, V "RegisterVolunteer", buf, len, &co, on_registered, o, &st) != 0) {
            free(o);
            fprintf(stderr, "civic-bench: RegisterVolunteer: %s\n", st.message);
            return -1;
        }
    }
    pthread_mutex_lock(&r.mu);
    while (r.done < f->n_vol)
        pthread_cond_wait(&r.cv, &r.mu);
    pthread_mutex_unlock(&r.mu);
    if (r.failed)
        fprintf(stderr, "civic-bench: %zu registrations failed\n", r.failed);
    return r.failed ? -1 : 0;
}

static int
setup(civic_channel *ch, void **ctx, int spread)
{
    const char *env = getenv("CIVIC_BENCH_VOLUNTEERS");
    size_t n_vol = env && atoi(env) > 0 ? (size_t) atoi(env) : 4000;
    fixtures *f = calloc(1, sizeof *f + n_vol * sizeof *f->vol);
    if (f == NULL)
        return -1;
    f->n_vol = n_vol;
    f->spread = spread;
    f->n_act = spread ? MANY_ACTIVITIES : ONE_ACTIVITIES;
    *ctx = f;
    if (register_volunteers(ch, f) != 0)
        return -1;
    // Activities in the future, none overlapping another: an hour each,
    // two hours apart (signup-many) or a day apart (signup-one).
    int64_t t0 = (int64_t) time(NULL) + 86400, step = spread ? 7200 : 86400;
    for (size_t j = 0; j < f->n_act; j++) {
        Civic__Volunteers__V1__CreateActivityRequest req = CIVIC__VOLUNTEERS__V1__CREATE_ACTIVITY_REQUEST__INIT;
        Civic__Volunteers__V1__Activity a = CIVIC__VOLUNTEERS__V1__ACTIVITY__INIT;
        Google__Protobuf__Timestamp s = GOOGLE__PROTOBUF__TIMESTAMP__INIT, e = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        s.seconds = t0 + (int64_t) j * step;
        e.seconds = s.seconds + 3600;
        a.title = "基准三清行动";
        a.kind = CIVIC__VOLUNTEERS__V1__ACTIVITY_KIND__ACTIVITY_KIND_THREE_CLEARS;
        a.area_id = 1;
        a.start_time = &s;
        a.end_time = &e;
        a.capacity = 100000;
        req.activity = &a;
        ProtobufCMessage *resp;
        if (bench_call(ch, V "CreateActivity", &req.base,
                       &civic__volunteers__v1__create_activity_response__descriptor, &resp))
            return -1;
        f->act[j] = ((Civic__Volunteers__V1__CreateActivityResponse *) resp)->activity->id;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return 0;
}

static int
setup_one(civic_channel *ch, void **ctx)
{
    return setup(ch, ctx, 0);
}

static int
setup_many(civic_channel *ch, void **ctx)
{
    return setup(ch, ctx, 1);
}

static size_t
signup_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    const fixtures *f = ctx;
    Civic__Volunteers__V1__SignUpRequest req = CIVIC__VOLUNTEERS__V1__SIGN_UP_REQUEST__INIT;
    if (f == NULL) {
        req.activity_id = 1;
        req.volunteer_id = 1;
    } else {
        uint64_t v = n % f->n_vol, round = n / f->n_vol;
        req.volunteer_id = f->vol[v];
        // signup-one: everyone on one activity, then the next; signup-many:
        // consecutive calls on different activities, each pair once.
        req.activity_id = f->act[(f->spread ? round + v : round) % f->n_act];
    }
    return civic__volunteers__v1__sign_up_request__pack(&req, buf);
}

const bench_mode bench_volunteers_modes[] = {
    {"signup-one", V "SignUp", 1, setup_one, signup_payload},
    {"signup-many", V "SignUp", 1, setup_many, signup_payload},
    {NULL, NULL, 0, NULL, NULL},
};
