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
    // Area 1's problems, 5 a page, with writes between pages: new reports in
    // area 1 (no deadline: they sort after every assigned one) and moves of
    // area 6's problems. Every problem of area 1 that existed before and is
    // not written appears exactly once, in order.
    load_all();
    static tt_row before[N_PROBLEMS + 100], area6[N_PROBLEMS];
    size_t nb = 0, n6 = 0;
    for (size_t i = 0; i < n_all; i++) {
        if (all[i].area == 1)
            before[nb++] = all[i];
        if (all[i].area == 6 && all[i].state == S(REPORTED))
            area6[n6++] = all[i];
    }
    assert_true(nb > 20 && n6 > 3);
    static uint64_t seen[2 * N_PROBLEMS];
    size_t ns = 0, w6 = 0, pages = 0;
    tt_row last = {.deadline = INT64_MIN};
    char token[512] = "";
    do {
        Civic__Tasks__V1__ListProblemsRequest req = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
        req.area_id = 1, req.page_size = 5, req.page_token = token;
        ProtobufCMessage *resp;
        assert_ok(tt_call(ch, "viewer-1", "viewer", TT "ListProblems", &req.base,
                          &civic__tasks__v1__list_problems_response__descriptor, &resp, NULL));
        Civic__Tasks__V1__ListProblemsResponse *r = (Civic__Tasks__V1__ListProblemsResponse *) resp;
        for (size_t i = 0; i < r->n_problems; i++) {
            tt_row x;
            tt_row_of(r->problems[i], &x);
            assert_true(tt_row_cmp(&last, &x) < 0);
            last = x;
            seen[ns++] = x.id;
        }
        snprintf(token, sizeof token, "%s", r->next_page_token);
        protobuf_c_message_free_unpacked(resp, NULL);
        // The writes between pages.
        tt_report(ch, 100 + pages, 1, 4, 1 + (int) (pages % 9));
        if (w6 < n6)
            assert_ok(tt_assign(ch, area6[w6++].id, 3, tt_now_ms() + TT_DAY_MS));
        pages++;
    } while (token[0]);
    for (size_t i = 0; i < nb; i++) {
        int c = 0;
        for (size_t j = 0; j < ns; j++)
            c += seen[j] == before[i].id;
        if (c != 1)
            fail_msg("problem %llu seen %d times", (unsigned long long) before[i].id, c);
    }
    for (size_t j = 1; j < ns; j++)
        for (size_t k = 0; k < j; k++)
            assert_true(seen[j] != seen[k]);
    print_message("paged %zu problems of area 1 over %zu pages with %zu writes between them\n", ns,
                  pages, pages + w6);
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
