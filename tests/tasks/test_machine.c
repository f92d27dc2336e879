// civic.tasks.machine: the state machine against a real civic-tasks, table
// driven over every (state, action, role): each call is allowed or refused
// with the code the domain's table gives (restated in tasks_th.c,
// independently of the service's own table), a refusal changes nothing, and an allowed move
// lands in the right state with one more history entry. Then: two verifiers
// closing the same problem at once, duplicates and recurrences, bad input,
// and one event per transition.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks_th.h"

#define S(x) CIVIC__TASKS__V1__PROBLEM_STATE__PROBLEM_STATE_##x
#define CAT_CLUTTER CIVIC__TASKS__V1__PROBLEM_CATEGORY__PROBLEM_CATEGORY_CLUTTER

static th_server srv;
static civic_channel *ch;
static uint64_t next_point = 1000;
static uint64_t anchor; // an open problem duplicates are marked against

// make_fixture makes a problem in fixture f's state at a new point.
static uint64_t
make_fixture(int f)
{
    return tt_fixture(ch, f, ++next_point, anchor);
}

static int
act(int a, uint64_t id, int role, civic_status *st)
{
    const char *p = tt_role_principal[role], *r = tt_role_name[role];
    Google__Protobuf__Timestamp ts;
    char *photos[] = {"https://oss.example.cn/after/2.jpg"};
    ProtobufCMessage *resp = NULL;
    int rc;
    switch (a) {
    case TT_A_ASSIGN: {
        Civic__Tasks__V1__AssignProblemRequest q = CIVIC__TASKS__V1__ASSIGN_PROBLEM_REQUEST__INIT;
        q.id = id, q.unit_id = TT_OWN_UNIT, q.deadline = tt_ts(&ts, tt_now_ms() + 2 * TT_DAY_MS);
        rc = tt_call(ch, p, r, TT "AssignProblem", &q.base, &civic__tasks__v1__assign_problem_response__descriptor, &resp, st);
        break;
    }
    case TT_A_REASSIGN: {
        Civic__Tasks__V1__ReassignProblemRequest q = CIVIC__TASKS__V1__REASSIGN_PROBLEM_REQUEST__INIT;
        q.id = id, q.unit_id = 9, q.deadline = tt_ts(&ts, tt_now_ms() + 3 * TT_DAY_MS), q.reason = "换单位";
        rc = tt_call(ch, p, r, TT "ReassignProblem", &q.base, &civic__tasks__v1__reassign_problem_response__descriptor, &resp, st);
        break;
    }
    case TT_A_EXTEND: {
        Civic__Tasks__V1__ExtendProblemDeadlineRequest q = CIVIC__TASKS__V1__EXTEND_PROBLEM_DEADLINE_REQUEST__INIT;
        q.id = id, q.deadline = tt_ts(&ts, tt_now_ms() + 30 * TT_DAY_MS), q.reason = "延期";
        rc = tt_call(ch, p, r, TT "ExtendProblemDeadline", &q.base,
                     &civic__tasks__v1__extend_problem_deadline_response__descriptor, &resp, st);
        break;
    }
    case TT_A_START: {
        Civic__Tasks__V1__StartProblemRequest q = CIVIC__TASKS__V1__START_PROBLEM_REQUEST__INIT;
        q.id = id;
        rc = tt_call(ch, p, r, TT "StartProblem", &q.base, &civic__tasks__v1__start_problem_response__descriptor, &resp, st);
        break;
    }
    case TT_A_SUBMIT: {
        Civic__Tasks__V1__SubmitProblemRequest q = CIVIC__TASKS__V1__SUBMIT_PROBLEM_REQUEST__INIT;
        q.id = id, q.note = "已整改", q.after_photos = photos, q.n_after_photos = 1;
        rc = tt_call(ch, p, r, TT "SubmitProblem", &q.base, &civic__tasks__v1__submit_problem_response__descriptor, &resp, st);
        break;
    }
    case TT_A_VERIFY: {
        Civic__Tasks__V1__VerifyProblemRequest q = CIVIC__TASKS__V1__VERIFY_PROBLEM_REQUEST__INIT;
        q.id = id;
        rc = tt_call(ch, p, r, TT "VerifyProblem", &q.base, &civic__tasks__v1__verify_problem_response__descriptor, &resp, st);
        break;
    }
    case TT_A_REJECT: {
        Civic__Tasks__V1__RejectProblemRequest q = CIVIC__TASKS__V1__REJECT_PROBLEM_REQUEST__INIT;
        q.id = id, q.reason = "返工";
        rc = tt_call(ch, p, r, TT "RejectProblem", &q.base, &civic__tasks__v1__reject_problem_response__descriptor, &resp, st);
        break;
    }
    case TT_A_DUPLICATE: {
        Civic__Tasks__V1__MarkProblemDuplicateRequest q = CIVIC__TASKS__V1__MARK_PROBLEM_DUPLICATE_REQUEST__INIT;
        q.id = id, q.duplicate_of = anchor;
        rc = tt_call(ch, p, r, TT "MarkProblemDuplicate", &q.base,
                     &civic__tasks__v1__mark_problem_duplicate_response__descriptor, &resp, st);
        break;
    }
    case TT_A_INVALID: {
        Civic__Tasks__V1__MarkProblemInvalidRequest q = CIVIC__TASKS__V1__MARK_PROBLEM_INVALID_REQUEST__INIT;
        q.id = id, q.reason = "不属实";
        rc = tt_call(ch, p, r, TT "MarkProblemInvalid", &q.base,
                     &civic__tasks__v1__mark_problem_invalid_response__descriptor, &resp, st);
        break;
    }
    default: {
        Civic__Tasks__V1__CancelProblemRequest q = CIVIC__TASKS__V1__CANCEL_PROBLEM_REQUEST__INIT;
        q.id = id, q.reason = "撤销";
        rc = tt_call(ch, p, r, TT "CancelProblem", &q.base, &civic__tasks__v1__cancel_problem_response__descriptor, &resp, st);
        break;
    }
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

static Civic__Tasks__V1__HistoryEntry *
last_entry(uint64_t id, Civic__Tasks__V1__ListProblemHistoryResponse **keep)
{
    Civic__Tasks__V1__ListProblemHistoryRequest q = CIVIC__TASKS__V1__LIST_PROBLEM_HISTORY_REQUEST__INIT;
    q.id = id;
    q.page_size = 1000;
    ProtobufCMessage *resp;
    assert_ok(tt_call(ch, "viewer-1", "viewer", TT "ListProblemHistory", &q.base,
                      &civic__tasks__v1__list_problem_history_response__descriptor, &resp, NULL));
    *keep = (Civic__Tasks__V1__ListProblemHistoryResponse *) resp;
    assert_true((*keep)->n_entries > 0);
    return (*keep)->entries[(*keep)->n_entries - 1];
}

static void
test_every_state_action_role(void **state)
{
    int checked = 0, allowed = 0;
    for (int f = 0; f < TT_N_FIXTURES; f++) {
        for (int a = 0; a < TT_N_ACTIONS; a++) {
            uint64_t id = make_fixture(f);
            for (int r = 0; r < TT_N_ROLES; r++) {
                tt_problem *before = tt_get(ch, id);
                int want = tt_want(a, r, before);
                civic_status st;
                int got = act(a, id, r, &st);
                if (got != want)
                    fail_msg("%s, %s as %s (%s): got %s (%s), want %s", tt_fixture_name[f], tt_moves[a].name,
                             tt_role_principal[r], tt_role_name[r], civic_code_name(got), st.message,
                             civic_code_name(want));
                tt_problem *after = tt_get(ch, id);
                if (got != CIVIC_OK) {
                    // Nothing changed.
                    assert_int_equal(after->state, before->state);
                    assert_int_equal(after->history_count, before->history_count);
                    assert_int_equal(after->unit_id, before->unit_id);
                    if (got == CIVIC_FAILED_PRECONDITION) {
                        char named[64];
                        snprintf(named, sizeof named, "is %s", tt_fixture_name[f]);
                        named[strcspn(named, "(")] = '\0';
                        assert_non_null(strstr(st.message, named));
                    }
                } else {
                    int to = tt_want_state(a, before);
                    assert_int_equal(after->state, to);
                    assert_int_equal(after->history_count, before->history_count + 1);
                    Civic__Tasks__V1__ListProblemHistoryResponse *h;
                    Civic__Tasks__V1__HistoryEntry *e = last_entry(id, &h);
                    assert_int_equal(e->seq, after->history_count);
                    assert_int_equal(e->action, tt_moves[a].action);
                    assert_int_equal(e->from_state, before->state);
                    assert_int_equal(e->to_state, to);
                    assert_string_equal(e->actor, tt_role_principal[r]);
                    assert_string_equal(e->actor_role, tt_role_name[r]);
                    protobuf_c_message_free_unpacked(&h->base, NULL);
                    allowed++;
                }
                protobuf_c_message_free_unpacked(&before->base, NULL);
                protobuf_c_message_free_unpacked(&after->base, NULL);
                checked++;
                if (got == CIVIC_OK && r + 1 < TT_N_ROLES)
                    id = make_fixture(f); // the next role meets the same state
            }
        }
    }
    print_message("state machine: %d (state, action, role) checked, %d allowed\n", checked, allowed);
    assert_int_equal(checked, TT_N_FIXTURES * TT_N_ACTIONS * TT_N_ROLES);
}

static void
test_report_roles(void **state)
{
    for (int r = 0; r < TT_N_ROLES; r++) {
        Civic__Tasks__V1__ReportProblemRequest q = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
        q.point_id = ++next_point, q.area_id = 1, q.grid_id = 4, q.category = CAT_CLUTTER;
        q.description = "小广告", q.source = CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_CITIZEN;
        ProtobufCMessage *resp;
        int got = tt_call(ch, tt_role_principal[r], tt_role_name[r], TT "ReportProblem", &q.base,
                          &civic__tasks__v1__report_problem_response__descriptor, &resp, NULL);
        int ok = r == TT_R_ADMIN || r == TT_R_INSPECTOR || r == TT_R_VOLUNTEER;
        assert_int_equal(got, ok ? CIVIC_OK : CIVIC_PERMISSION_DENIED);
        if (ok) {
            tt_problem *p = ((Civic__Tasks__V1__ReportProblemResponse *) resp)->problem;
            assert_int_equal(p->state, S(REPORTED));
            assert_string_equal(p->reporter, tt_role_principal[r]);
            assert_int_equal(p->history_count, 1);
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        // Fixed on the spot: inspectors and admins only.
        int code;
        tt_report_fixed(ch, ++next_point, tt_role_principal[r], tt_role_name[r], &code);
        assert_int_equal(code, r == TT_R_ADMIN || r == TT_R_INSPECTOR ? CIVIC_OK : CIVIC_PERMISSION_DENIED);
    }
}

// --- two verifiers at once ---

typedef struct race {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, codes[2];
    char msg[2][256];
} race;

typedef struct racer {
    race *r;
    int i;
} racer;

static void
on_verify(const civic_reply *reply, void *arg)
{
    racer *x = arg;
    pthread_mutex_lock(&x->r->mu);
    x->r->codes[x->i] = reply->status.code;
    snprintf(x->r->msg[x->i], sizeof x->r->msg[x->i], "%.200s", reply->status.message);
    x->r->done++;
    pthread_cond_broadcast(&x->r->cv);
    pthread_mutex_unlock(&x->r->mu);
}

static void
test_two_verifiers_one_wins(void **state)
{
    for (int round = 0; round < 20; round++) {
        uint64_t id = make_fixture(TT_F_SUBMITTED);
        race r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
        racer x[2] = {{&r, 0}, {&r, 1}};
        Civic__Tasks__V1__VerifyProblemRequest q = CIVIC__TASKS__V1__VERIFY_PROBLEM_REQUEST__INIT;
        q.id = id;
        uint8_t buf[64];
        size_t n = civic__tasks__v1__verify_problem_request__pack(&q, buf);
        for (int i = 0; i < 2; i++) {
            const char *md[] = {"x-civic-principal", i ? "insp-b" : "insp-a", "x-civic-role", "inspector"};
            civic_call_opts o = {.timeout_ms = 20000, .metadata = md, .n_metadata = 2};
            civic_status st;
            assert_ok(civic_call_start(ch, TT "VerifyProblem", buf, n, &o, on_verify, &x[i], &st));
        }
        pthread_mutex_lock(&r.mu);
        while (r.done < 2)
            pthread_cond_wait(&r.cv, &r.mu);
        pthread_mutex_unlock(&r.mu);
        int wins = (r.codes[0] == CIVIC_OK) + (r.codes[1] == CIVIC_OK);
        assert_int_equal(wins, 1);
        int loser = r.codes[0] == CIVIC_OK;
        assert_int_equal(r.codes[loser], CIVIC_FAILED_PRECONDITION);
        assert_non_null(strstr(r.msg[loser], "is CLOSED"));
        tt_problem *p = tt_get(ch, id);
        assert_int_equal(p->state, S(CLOSED));
        Civic__Tasks__V1__ListProblemHistoryResponse *h;
        Civic__Tasks__V1__HistoryEntry *e = last_entry(id, &h);
        assert_int_equal(h->n_entries, p->history_count);
        assert_int_equal(e->action, 8);
        int verifies = 0;
        for (size_t i = 0; i < h->n_entries; i++)
            verifies += h->entries[i]->action == 8;
        assert_int_equal(verifies, 1);
        protobuf_c_message_free_unpacked(&h->base, NULL);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
}

// --- duplicates and recurrences ---

static Civic__Tasks__V1__ReportProblemResponse *
report_at(uint64_t point, int allow, uint64_t recurrence_of, int *code)
{
    Civic__Tasks__V1__ReportProblemRequest q = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
    q.point_id = point, q.area_id = 6, q.grid_id = 9, q.category = CAT_CLUTTER;
    q.description = "楼道杂物", q.source = CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_VOLUNTEER;
    q.allow_duplicate = allow, q.recurrence_of = recurrence_of;
    ProtobufCMessage *resp;
    *code = tt_call(ch, "vol-1", "volunteer", TT "ReportProblem", &q.base,
                    &civic__tasks__v1__report_problem_response__descriptor, &resp, NULL);
    return (Civic__Tasks__V1__ReportProblemResponse *) resp;
}

static void
test_duplicates_and_recurrence(void **state)
{
    uint64_t point = ++next_point;
    int code;
    Civic__Tasks__V1__ReportProblemResponse *a = report_at(point, 0, 0, &code);
    assert_ok(code);
    assert_false(a->duplicate);
    uint64_t first = a->problem->id;
    // Again while it is open: the same problem, marked, nothing created.
    Civic__Tasks__V1__ReportProblemResponse *b = report_at(point, 0, 0, &code);
    assert_ok(code);
    assert_true(b->duplicate);
    assert_int_equal(b->problem->id, first);
    assert_int_equal(b->problem->history_count, 1);
    // Unless asked for a new one.
    Civic__Tasks__V1__ReportProblemResponse *c = report_at(point, 1, 0, &code);
    assert_ok(code);
    assert_false(c->duplicate);
    assert_true(c->problem->id > first);
    // A recurrence names a CLOSED problem only.
    report_at(point + 1, 1, first, &code);
    assert_int_equal(code, CIVIC_FAILED_PRECONDITION);
    report_at(point + 1, 1, 999999, &code);
    assert_int_equal(code, CIVIC_NOT_FOUND);
    assert_ok(tt_assign(ch, first, TT_OWN_UNIT, tt_now_ms() + TT_DAY_MS));
    assert_ok(tt_start(ch, first, TT_OWN_UNIT));
    assert_ok(tt_submit(ch, first, TT_OWN_UNIT));
    assert_ok(tt_verify(ch, first, "insp-1", NULL));
    Civic__Tasks__V1__ReportProblemResponse *d = report_at(point + 1, 0, first, &code);
    assert_ok(code);
    assert_int_equal(d->problem->recurrence_of, first);
    protobuf_c_message_free_unpacked(&a->base, NULL);
    protobuf_c_message_free_unpacked(&b->base, NULL);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    protobuf_c_message_free_unpacked(&d->base, NULL);
}

// --- bad input ---

static void
expect_violation(int code, const civic_status *st, const char *field)
{
    assert_int_equal(code, CIVIC_INVALID_ARGUMENT);
    for (size_t i = 0; i < st->n_violations; i++)
        if (strcmp(st->violations[i].field, field) == 0)
            return;
    fail_msg("no violation names %s (message: %s)", field, st->message);
}

static void
test_bad_input_names_the_field(void **state)
{
    civic_status st;
    ProtobufCMessage *resp;
    char *bad_uri[] = {"http://insecure.example/x.jpg"};
    char *spaces[] = {"https://oss.example.cn/a b.jpg"};
    Civic__Tasks__V1__ReportProblemRequest q = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
    q.point_id = 1, q.area_id = 1, q.grid_id = 4, q.category = 99, q.source = 1;
    q.before_photos = bad_uri, q.n_before_photos = 1;
    int code = tt_call(ch, "insp-1", "inspector", TT "ReportProblem", &q.base,
                       &civic__tasks__v1__report_problem_response__descriptor, &resp, &st);
    expect_violation(code, &st, "category");
    expect_violation(code, &st, "description");
    expect_violation(code, &st, "before_photos[0]");
    q.category = CAT_CLUTTER, q.description = "x", q.before_photos = spaces;
    code = tt_call(ch, "insp-1", "inspector", TT "ReportProblem", &q.base,
                   &civic__tasks__v1__report_problem_response__descriptor, &resp, &st);
    expect_violation(code, &st, "before_photos[0]");
    q.before_photos = NULL, q.n_before_photos = 0, q.point_id = 0;
    code = tt_call(ch, "insp-1", "inspector", TT "ReportProblem", &q.base,
                   &civic__tasks__v1__report_problem_response__descriptor, &resp, &st);
    expect_violation(code, &st, "point_id");
    q.point_id = 1, q.fixed_on_spot = 1;
    code = tt_call(ch, "insp-1", "inspector", TT "ReportProblem", &q.base,
                   &civic__tasks__v1__report_problem_response__descriptor, &resp, &st);
    expect_violation(code, &st, "after_photos");

    uint64_t id = make_fixture(TT_F_REPORTED);
    Google__Protobuf__Timestamp ts;
    Civic__Tasks__V1__AssignProblemRequest a = CIVIC__TASKS__V1__ASSIGN_PROBLEM_REQUEST__INIT;
    a.id = id, a.deadline = tt_ts(&ts, tt_now_ms() - 1000);
    code = tt_call(ch, "insp-1", "inspector", TT "AssignProblem", &a.base,
                   &civic__tasks__v1__assign_problem_response__descriptor, &resp, &st);
    expect_violation(code, &st, "deadline");
    expect_violation(code, &st, "unit_id");
    a.deadline = NULL, a.unit_id = 3;
    code = tt_call(ch, "insp-1", "inspector", TT "AssignProblem", &a.base,
                   &civic__tasks__v1__assign_problem_response__descriptor, &resp, &st);
    expect_violation(code, &st, "deadline");
    tt_problem *p = tt_get(ch, id);
    assert_int_equal(p->state, S(REPORTED));
    assert_int_equal(p->history_count, 1);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    // A reason is required where the table says so.
    Civic__Tasks__V1__MarkProblemInvalidRequest inv = CIVIC__TASKS__V1__MARK_PROBLEM_INVALID_REQUEST__INIT;
    inv.id = id;
    code = tt_call(ch, "insp-1", "inspector", TT "MarkProblemInvalid", &inv.base,
                   &civic__tasks__v1__mark_problem_invalid_response__descriptor, &resp, &st);
    expect_violation(code, &st, "reason");
    // Unknown problems are NOT_FOUND; a forged page token is refused.
    Civic__Tasks__V1__GetProblemRequest g = CIVIC__TASKS__V1__GET_PROBLEM_REQUEST__INIT;
    g.id = 987654321;
    assert_int_equal(tt_call(ch, "viewer-1", "viewer", TT "GetProblem", &g.base,
                             &civic__tasks__v1__get_problem_response__descriptor, &resp, &st),
                     CIVIC_NOT_FOUND);
    Civic__Tasks__V1__ListProblemsRequest l = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
    l.page_token = "AAAA";
    code = tt_call(ch, "viewer-1", "viewer", TT "ListProblems", &l.base,
                   &civic__tasks__v1__list_problems_response__descriptor, &resp, &st);
    expect_violation(code, &st, "page_token");
    l.page_token = "", l.overdue = 1, l.state = S(SUBMITTED);
    code = tt_call(ch, "viewer-1", "viewer", TT "ListProblems", &l.base,
                   &civic__tasks__v1__list_problems_response__descriptor, &resp, &st);
    expect_violation(code, &st, "state");
}

// --- events: one per transition ---

static void
test_one_event_per_transition(void **state)
{
    // Sum history_count over every problem, against the event log's length.
    uint64_t history = 0;
    char token[256] = "";
    do {
        Civic__Tasks__V1__ListProblemsRequest l = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
        l.page_size = 1000, l.page_token = token;
        ProtobufCMessage *resp;
        assert_ok(tt_call(ch, "viewer-1", "viewer", TT "ListProblems", &l.base,
                          &civic__tasks__v1__list_problems_response__descriptor, &resp, NULL));
        Civic__Tasks__V1__ListProblemsResponse *r = (Civic__Tasks__V1__ListProblemsResponse *) resp;
        for (size_t i = 0; i < r->n_problems; i++)
            history += r->problems[i]->history_count;
        snprintf(token, sizeof token, "%s", r->next_page_token);
        protobuf_c_message_free_unpacked(resp, NULL);
    } while (token[0]);
    uint64_t events = 0, after = 0;
    for (;;) {
        Civic__Tasks__V1__ListEventsRequest e = CIVIC__TASKS__V1__LIST_EVENTS_REQUEST__INIT;
        e.after_seq = after, e.page_size = 1000;
        ProtobufCMessage *resp;
        assert_ok(tt_call(ch, "insp-1", "inspector", TT "ListEvents", &e.base,
                          &civic__tasks__v1__list_events_response__descriptor, &resp, NULL));
        Civic__Tasks__V1__ListEventsResponse *r = (Civic__Tasks__V1__ListEventsResponse *) resp;
        size_t n = r->n_events;
        for (size_t i = 0; i < n; i++)
            assert_int_equal(strncmp(r->events[i]->type, "problem.", 8), 0);
        events += n;
        after = r->last_seq;
        protobuf_c_message_free_unpacked(resp, NULL);
        if (n == 0)
            break;
    }
    assert_true(history > 100);
    assert_int_equal(events, history);
}

static int
setup(void **state)
{
    tt_server_start(&srv, 0);
    ch = th_channel(&srv);
    anchor = tt_report(ch, 1, 1, 4, CIVIC__TASKS__V1__PROBLEM_CATEGORY__PROBLEM_CATEGORY_GARBAGE);
    return 0;
}

static int
teardown(void **state)
{
    civic_channel_close(ch);
    tt_server_finish(&srv); // after every kind of move above
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_state_action_role),
        cmocka_unit_test(test_report_roles),
        cmocka_unit_test(test_two_verifiers_one_wins),
        cmocka_unit_test(test_duplicates_and_recurrence),
        cmocka_unit_test(test_bad_input_names_the_field),
        cmocka_unit_test(test_one_event_per_transition),
    };
    return cmocka_run_group_tests_name("civic.tasks.machine", tests, setup, teardown);
}
