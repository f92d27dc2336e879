// civic.volunteers.unit: the handler table agrees with the .proto (every
// method has a handler; reads exactly where NO_SIDE_EFFECTS), and the hours
// formula and week arithmetic on their edges.
#include <string.h>

#include "volunteers.h"
#include "vt.h"

static void
test_table(void **state)
{
    char err[256] = "";
    if (rt_server_check_table(&volunteers_service_def, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void
test_minutes(void **state)
{
    const int64_t M = 60000, start = 1000 * M, end = 1120 * M; // a two-hour activity
    // Inside the window.
    assert_int_equal(vol_minutes(1010 * M, 1070 * M, start, end), 60);
    // Early arrival counts from the start; late leaving until the end.
    assert_int_equal(vol_minutes(900 * M, 1300 * M, start, end), 120);
    // Whole minutes, rounded down.
    assert_int_equal(vol_minutes(start, start + 59999, start, end), 0);
    assert_int_equal(vol_minutes(start, start + 90000, start, end), 1);
    // Entirely outside the window: zero, never negative.
    assert_int_equal(vol_minutes(1200 * M, 1300 * M, start, end), 0);
    assert_int_equal(vol_minutes(800 * M, 900 * M, start, end), 0);
}

static void
test_monday(void **state)
{
    assert_int_equal(vol_monday(20191124), 20191118); // a Sunday
    assert_int_equal(vol_monday(20191118), 20191118); // a Monday
    assert_int_equal(vol_monday(20200101), 20191230); // across a year
    assert_int_equal(vol_monday(20240301), 20240226); // across a leap February
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_minutes),
        cmocka_unit_test(test_monday),
    };
    return cmocka_run_group_tests_name("civic.volunteers.unit", tests, NULL, NULL);
}
