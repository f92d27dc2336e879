// civic.tasks.durability: a real civic-tasks, durable (synced commits),
// killed with SIGKILL while transitions are in flight, again and again, then
// stopped and restarted cleanly: every acknowledged transition is there
// with its history entry, and the store's indexes and histories pass the
// audit.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasks_th.h"

#define S(x) CIVIC__TASKS__V1__PROBLEM_STATE__PROBLEM_STATE_##x
#define N 120
#define UNIT 5

typedef struct load {
    pthread_mutex_t mu;
    int started, finished;
    int acked[N]; // 1 once the cycle's move of problem i was acknowledged
} load;

typedef struct one {
    load *l;
    int i;
} one;

static void
on_reply(const civic_reply *r, void *arg)
{
    one *o = arg;
    pthread_mutex_lock(&o->l->mu);
    if (r->status.code == CIVIC_OK)
        o->l->acked[o->i] = 1;
    o->l->finished++;
    pthread_mutex_unlock(&o->l->mu);
    free(o);
}

static int
finished(load *l)
{
    pthread_mutex_lock(&l->mu);
    int n = l->finished;
    pthread_mutex_unlock(&l->mu);
    return n;
}

static int
acked(load *l)
{
    pthread_mutex_lock(&l->mu);
    int n = 0;
    for (int i = 0; i < N; i++)
        n += l->acked[i];
    pthread_mutex_unlock(&l->mu);
    return n;
}

// The next move from each state, as (method, packed request, identity).
static size_t
next_move(int state, uint64_t id, uint8_t *buf, const char **method, const char **principal,
          const char **role)
{
    Google__Protobuf__Timestamp ts;
    char *photos[] = {"https://oss.example.cn/after/k.jpg"};
    *principal = "insp-1", *role = "inspector";
    switch (state) {
    case S(REPORTED): {
        Civic__Tasks__V1__AssignProblemRequest q = CIVIC__TASKS__V1__ASSIGN_PROBLEM_REQUEST__INIT;
        q.id = id, q.unit_id = UNIT, q.deadline = tt_ts(&ts, tt_now_ms() + TT_DAY_MS);
        *method = TT "AssignProblem";
        return civic__tasks__v1__assign_problem_request__pack(&q, buf);
    }
    case S(ASSIGNED): {
        Civic__Tasks__V1__StartProblemRequest q = CIVIC__TASKS__V1__START_PROBLEM_REQUEST__INIT;
        q.id = id;
        *method = TT "StartProblem", *principal = "5", *role = "unit";
        return civic__tasks__v1__start_problem_request__pack(&q, buf);
    }
    case S(IN_PROGRESS): {
        Civic__Tasks__V1__SubmitProblemRequest q = CIVIC__TASKS__V1__SUBMIT_PROBLEM_REQUEST__INIT;
        q.id = id, q.note = "done", q.after_photos = photos, q.n_after_photos = 1;
        *method = TT "SubmitProblem", *principal = "5", *role = "unit";
        return civic__tasks__v1__submit_problem_request__pack(&q, buf);
    }
    case S(SUBMITTED): {
        // Every other one is sent back once: rework, then submitted again.
        Civic__Tasks__V1__RejectProblemRequest q = CIVIC__TASKS__V1__REJECT_PROBLEM_REQUEST__INIT;
        Civic__Tasks__V1__VerifyProblemRequest v = CIVIC__TASKS__V1__VERIFY_PROBLEM_REQUEST__INIT;
        if (id % 2 == 0) {
            q.id = id, q.reason = "返工";
            *method = TT "RejectProblem";
            return civic__tasks__v1__reject_problem_request__pack(&q, buf);
        }
        v.id = id;
        *method = TT "VerifyProblem";
        return civic__tasks__v1__verify_problem_request__pack(&v, buf);
    }
    default:
        return 0;
    }
}

static void
test_kill9_keeps_every_acknowledged_transition(void **state)
{
    th_server srv;
    th_server_start(&srv, CIVIC_TASKS_BIN, NULL);
    civic_channel *ch = th_channel(&srv);
    uint64_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = tt_report(ch, 1 + (uint64_t) i, 1, 4, 1 + i % 9);
    civic_channel_close(ch);

    int total_acked = 0;
    for (int cycle = 0; cycle < 6; cycle++) {
        civic_channel_opts co = {.max_attempts = 1};
        civic_status st;
        assert_ok(civic_channel_open(&ch, srv.url, &co, &st));
        // Where each problem stands now (after the last crash).
        int states[N], counts[N];
        for (int i = 0; i < N; i++) {
            tt_problem *p = tt_get(ch, ids[i]);
            states[i] = p->state;
            counts[i] = (int) p->history_count;
            protobuf_c_message_free_unpacked(&p->base, NULL);
        }
        load l = {.mu = PTHREAD_MUTEX_INITIALIZER};
        int target = 10 + (int) (random() % 40);
        for (int i = 0; i < N && acked(&l) < target; i++) {
            uint8_t buf[256];
            const char *method, *principal, *role;
            size_t n = next_move(states[i], ids[i], buf, &method, &principal, &role);
            if (n == 0)
                continue;
            while (l.started - finished(&l) >= 16)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
            const char *md[] = {"x-civic-principal", principal, "x-civic-role", role};
            civic_call_opts o = {.timeout_ms = 20000, .metadata = md, .n_metadata = 2};
            one *x = malloc(sizeof *x);
            x->l = &l, x->i = i;
            if (civic_call_start(ch, method, buf, n, &o, on_reply, x, &st) != 0) {
                free(x);
                break;
            }
            l.started++;
        }
        th_server_kill(&srv); // with moves still in flight
        civic_channel_close(ch);
        th_server_restart(&srv);
        ch = th_channel(&srv);
        int cycle_acked = 0;
        for (int i = 0; i < N; i++) {
            if (!l.acked[i])
                continue;
            cycle_acked++;
            tt_problem *p = tt_get(ch, ids[i]);
            if ((int) p->history_count != counts[i] + 1)
                fail_msg("cycle %d: problem %llu acknowledged a move but has %u history entries, "
                         "not %d", cycle, (unsigned long long) ids[i], p->history_count, counts[i] + 1);
            assert_int_not_equal(p->state, states[i]);
            protobuf_c_message_free_unpacked(&p->base, NULL);
        }
        total_acked += cycle_acked;
        civic_channel_close(ch);
    }
    print_message("kill -9: 6 cycles, %d acknowledged transitions, none lost\n", total_acked);
    assert_true(total_acked >= 60);

    // A clean stop and start keeps everything; then the audit on the files.
    ch = th_channel(&srv);
    int before[N];
    for (int i = 0; i < N; i++) {
        tt_problem *p = tt_get(ch, ids[i]);
        before[i] = (int) p->history_count;
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&srv), 0);
    th_server_restart(&srv);
    ch = th_channel(&srv);
    for (int i = 0; i < N; i++) {
        tt_problem *p = tt_get(ch, ids[i]);
        assert_int_equal((int) p->history_count, before[i]);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&srv), 0);
    char dir[320];
    snprintf(dir, sizeof dir, "%s/data", srv.dir);
    tt_audit(dir);
    th_server_cleanup(&srv);
}

int
main(void)
{
    srandom(11);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_keeps_every_acknowledged_transition),
    };
    return cmocka_run_group_tests_name("civic.tasks.durability", tests, NULL, NULL);
}
