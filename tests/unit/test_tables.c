// civic.points.table: every handler table agrees with the .proto files —
// each method has a handler, and a handler is a read exactly when the
// .proto marks the method NO_SIDE_EFFECTS (protoc-c's descriptors carry no
// options, so the embedded descriptor set is the reference).
#include <string.h>

#include "harness.h"
#include "points.h"

static int
fake(rt_txn *t, const void *in, void *out, const rt_call *call)
{
    return 0;
}

static void
test_points_table(void **state)
{
    char err[256] = "";
    if (rt_server_check_table(&points_service_def, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void
test_mismatch_is_caught(void **state)
{
    // GetArea declared a write: refused, naming the method.
    rt_method m[] = {{"GetArea", RT_WRITE, fake, 0, NULL, NULL}};
    rt_service_def d = {&civic__points__v1__points_service__descriptor, m, 1};
    char err[256];
    assert_int_equal(rt_server_check_table(&d, err, sizeof err), -1);
    assert_non_null(strstr(err, "GetArea"));
    // A missing handler is refused too.
    m[0].kind = RT_READ;
    assert_int_equal(rt_server_check_table(&d, err, sizeof err), -1);
    assert_non_null(strstr(err, "no handler"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_points_table),
        cmocka_unit_test(test_mismatch_is_caught),
    };
    return cmocka_run_group_tests_name("civic.points.table", tests, NULL, NULL);
}
