// civic.tasks.lists: ListProblems against a brute-force computation over
// random problems — every filter, overdue as of many instants (deadlines are
// in the future when assigned, so overdue is judged at future instants:
// nothing waits on the clock), small pages — and paging that stays stable
// while writes go on between its pages.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks_th.h"

#define S(x) CIVIC__TASKS__V1__PROBLEM_STATE__PROBLEM_STATE_##x
#define N_PROBLEMS 400

static th_server srv;
static civic_channel *ch;
static int64_t t0;

// list pages through ListProblems with req's filters, page_size ps; ids out.
static size_t
list(Civic__Tasks__V1__ListProblemsRequest *req, int ps, tt_row *out, size_t max)
{
    char token[512] = "";
    size_t n = 0;
    req->page_size = ps;
    do {
        req->page_token = token;
        ProtobufCMessage *resp;
        civic_status st;
        if (tt_call(ch, "viewer-1", "viewer", TT "ListProblems", &req->base,
                    &civic__tasks__v1__list_problems_response__descriptor, &resp, &st) != 0)
            fail_msg("list: %s: %s", civic_code_name(st.code), st.message);
        Civic__Tasks__V1__ListProblemsResponse *r = (Civic__Tasks__V1__ListProblemsResponse *) resp;
        assert_true(r->n_problems <= (size_t) ps);
        for (size_t i = 0; i < r->n_problems && n < max; i++)
            tt_row_of(r->problems[i], &out[n++]);
        snprintf(token, sizeof token, "%s", r->next_page_token);
        protobuf_c_message_free_unpacked(resp, NULL);
    } while (token[0]);
    req->page_token = NULL;
    return n;
}

static tt_row all[N_PROBLEMS + 100];
static size_t n_all;

static void
load_all(void)
{
    Civic__Tasks__V1__ListProblemsRequest req = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
    n_all = list(&req, 1000, all, sizeof all / sizeof all[0]);
}

static void
compare(const tt_filter *f, int ps)
{
    static tt_row want[N_PROBLEMS + 100], got[N_PROBLEMS + 100];
    size_t nw = tt_brute(all, n_all, f, want);
    Civic__Tasks__V1__ListProblemsRequest req = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
    Google__Protobuf__Timestamp ts;
    req.state = f->state, req.category = f->category, req.area_id = f->area, req.grid_id = f->grid;
    req.point_id = f->point, req.unit_id = f->unit, req.overdue = f->overdue;
    if (f->overdue)
        req.as_of = tt_ts(&ts, f->as_of);
    size_t ng = list(&req, ps, got, sizeof got / sizeof got[0]);
    if (ng != nw)
        fail_msg("filter state=%d cat=%d area=%llu grid=%llu point=%llu unit=%llu overdue=%d as_of=%lld: "
                 "got %zu, want %zu", f->state, f->category, (unsigned long long) f->area,
                 (unsigned long long) f->grid, (unsigned long long) f->point,
                 (unsigned long long) f->unit, f->overdue, (long long) (f->as_of - t0), ng, nw);
    for (size_t i = 0; i < nw; i++)
        if (got[i].id != want[i].id)
            fail_msg("item %zu: got problem %llu, want %llu", i, (unsigned long long) got[i].id,
                     (unsigned long long) want[i].id);
}

static void
test_lists_against_brute_force(void **state)
{
    srandom(5);
    t0 = tt_now_ms();
    // Random problems at 40 points (point p: area 1 + 5·(p % 4), grid area + 3
    // + p % 2), moved to random states with random deadlines 1 hour to 10
    // days out, at 6 units.
    for (int i = 0; i < N_PROBLEMS; i++) {
        uint64_t point = 1 + (uint64_t) (random() % 40), area = 1 + 5 * (point % 4);
        uint64_t id = tt_report(ch, point, area, area + 3 + point % 2, 1 + (int) (random() % 9));
        int steps = (int) (random() % 6), unit = 1 + (int) (random() % 6);
        int64_t due = tt_now_ms() + 3600000 + (int64_t) (random() % (10 * 24)) * 3600000;
        if (steps >= 1)
            assert_ok(tt_assign(ch, id, (uint64_t) unit, due));
        if (steps >= 2)
            assert_ok(tt_start(ch, id, (uint64_t) unit));
        if (steps >= 3)
            assert_ok(tt_submit(ch, id, (uint64_t) unit));
        if (steps >= 4)
            assert_ok(tt_verify(ch, id, "insp-1", NULL));
    }
    load_all();
    assert_int_equal(n_all, N_PROBLEMS);
    for (int k = 0; k < 300; k++) {
        tt_filter f = {0};
        int which = (int) (random() % 8);
        if (which == 0 || random() % 3 == 0)
            f.area = 1 + 5 * (uint64_t) (random() % 4);
        if (which == 1)
            f.grid = all[random() % n_all].grid;
        if (which == 2)
            f.point = 1 + (uint64_t) (random() % 40);
        if (which == 3 || random() % 4 == 0)
            f.unit = 1 + (uint64_t) (random() % 6);
        if (which == 4 || random() % 4 == 0)
            f.category = 1 + (int) (random() % 9);
        f.overdue = random() % 2;
        if (f.overdue) {
            f.as_of = t0 + (int64_t) (random() % (11 * 24)) * 3600000;
            if (random() % 4 == 0)
                f.state = random() % 2 ? S(ASSIGNED) : S(IN_PROGRESS);
        } else if (which >= 5 || random() % 3 == 0) {
            f.state = 1 + (int) (random() % 5);
        }
        compare(&f, 1 + (int) (random() % 9));
    }
    // Overdue as of now: none (every deadline was in the future).
    tt_filter now = {.overdue = 1, .as_of = t0};
    compare(&now, 50);
}

static void
test_paging_stable_while_writing(void **state)
{
    // Area 1's ASSIGNED problems (the running index under area 1), 3 a page,
    // with writes between pages that shift what an offset would count. After
    // even pages: two new problems assigned deadlines before the last one
    // seen (they sort before the cursor) and a seen one reassigned to an
    // earlier deadline (it moves, still before the cursor): two more ahead of
    // the cursor. After odd pages: two seen ones started or cancelled (they
    // leave the list): two fewer. An offset-based pager would see problems
    // twice after the first kind and skip some after the second. The pages
    // must be the list as it stood before, exactly: every problem that was
    // in it (each stays in it until it has been seen) once and in order,
    // none of the new ones.
    load_all();
    static tt_row want[N_PROBLEMS + 100];
    tt_filter f = {.area = 1, .state = S(ASSIGNED)};
    size_t nw = tt_brute(all, n_all, &f, want);
    assert_true(nw >= 12);
    static tt_row seen[N_PROBLEMS + 100];
    size_t ns = 0, na = 0, pages = 0, gone = 0, moved = 0;
    char token[512] = "";
    for (;;) {
        Civic__Tasks__V1__ListProblemsRequest req = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
        req.area_id = 1, req.state = S(ASSIGNED), req.page_size = 3, req.page_token = token;
        ProtobufCMessage *resp;
        assert_ok(tt_call(ch, "viewer-1", "viewer", TT "ListProblems", &req.base,
                          &civic__tasks__v1__list_problems_response__descriptor, &resp, NULL));
        Civic__Tasks__V1__ListProblemsResponse *r = (Civic__Tasks__V1__ListProblemsResponse *) resp;
        for (size_t i = 0; i < r->n_problems && ns < nw + 2 * N_PROBLEMS; i++)
            tt_row_of(r->problems[i], &seen[ns++]);
        snprintf(token, sizeof token, "%s", r->next_page_token);
        protobuf_c_message_free_unpacked(resp, NULL);
        if (!token[0] || ns == 0)
            break;
        const tt_row *last = &seen[ns - 1];
        if (pages++ % 2 == 0) {
            for (int k = 1; k <= 2; k++) {
                uint64_t id = tt_report(ch, 300 + na, 1, 4, 1 + (int) (na % 9));
                assert_ok(tt_assign(ch, id, 2, last->deadline - k * 1000));
                na++;
            }
            // The earliest seen one still in the list, to halfway between
            // now and its deadline, and to unit 4.
            if (gone < ns) {
                Google__Protobuf__Timestamp ts;
                Civic__Tasks__V1__ReassignProblemRequest q = CIVIC__TASKS__V1__REASSIGN_PROBLEM_REQUEST__INIT;
                int64_t now = tt_now_ms();
                q.id = seen[gone].id, q.unit_id = 4, q.reason = "换单位";
                q.deadline = tt_ts(&ts, now + (seen[gone].deadline - now) / 2);
                ProtobufCMessage *x;
                assert_ok(tt_call(ch, "insp-1", "inspector", TT "ReassignProblem", &q.base,
                                  &civic__tasks__v1__reassign_problem_response__descriptor, &x, NULL));
                protobuf_c_message_free_unpacked(x, NULL);
                seen[gone].unit = 4; // its unit now, for the start below
                moved++;
            }
        } else {
            // The two earliest seen ones still in the list leave it.
            for (int k = 0; k < 2 && gone < ns; k++, gone++) {
                if (k == 0)
                    assert_ok(tt_start(ch, seen[gone].id, seen[gone].unit));
                else
                    assert_ok(tt_cancel(ch, seen[gone].id));
            }
        }
    }
    print_message("paged %zu ASSIGNED problems of area 1 over %zu pages; between them %zu added before the "
                  "cursor, %zu moved, %zu gone\n", ns, pages + 1, na, moved, gone);
    assert_true(na >= 4 && gone >= 4);
    if (ns != nw)
        fail_msg("the pages hold %zu problems, the list held %zu", ns, nw);
    for (size_t i = 0; i < nw; i++)
        if (seen[i].id != want[i].id)
            fail_msg("item %zu: got problem %llu, want %llu", i, (unsigned long long) seen[i].id,
                     (unsigned long long) want[i].id);
}

static int
setup(void **state)
{
    tt_server_start(&srv, 0);
    ch = th_channel(&srv);
    return 0;
}

static int
teardown(void **state)
{
    civic_channel_close(ch);
    tt_server_finish(&srv);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_against_brute_force),
        cmocka_unit_test(test_paging_stable_while_writing),
    };
    return cmocka_run_group_tests_name("civic.tasks.lists", tests, setup, teardown);
}
