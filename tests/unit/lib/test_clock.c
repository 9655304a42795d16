/* Unit tests for lib/clock.c: calendar arithmetic with lenient roll-over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/clock.h"

static void
test_epoch_and_known_dates(void **state)
{
	(void)state;
	assert_int_equal(clock_timegm(1970, 1, 1, 0, 0, 0), 0);
	/* 2018-03-12T09:56:12Z, the protocol document's example time. */
	assert_int_equal(clock_timegm(2018, 3, 12, 9, 56, 12), 1520848572000LL);
	/* 2000-02-29 exists (divisible by 400); 2100-03-01 follows 2100-02-28. */
	assert_int_equal(clock_timegm(2000, 2, 29, 0, 0, 0), 951782400000LL);
	assert_int_equal(clock_timegm(2100, 2, 29, 0, 0, 0),
	    clock_timegm(2100, 3, 1, 0, 0, 0));
}

static void
test_lenient_rollover(void **state)
{
	(void)state;
	/* Month 18 of 2006 is June 2007; month 0 of 2000 is December 1999. */
	assert_int_equal(clock_timegm(2006, 18, 1, 0, 0, 0),
	    clock_timegm(2007, 6, 1, 0, 0, 0));
	assert_int_equal(clock_timegm(2000, 0, 15, 0, 0, 0),
	    clock_timegm(1999, 12, 15, 0, 0, 0));
	/* Day 0 is the last day of the previous month. */
	assert_int_equal(clock_timegm(2018, 3, 0, 0, 0, 0),
	    clock_timegm(2018, 2, 28, 0, 0, 0));
	/* Hours, minutes and seconds roll into the next day. */
	assert_int_equal(clock_timegm(2018, 3, 12, 24, 0, 0),
	    clock_timegm(2018, 3, 13, 0, 0, 0));
	assert_int_equal(clock_timegm(2018, 3, 12, 0, -30, 0),
	    clock_timegm(2018, 3, 11, 23, 30, 0));
	assert_int_equal(clock_timegm(2018, 12, 31, 23, 59, 60),
	    clock_timegm(2019, 1, 1, 0, 0, 0));
}

static void
test_clocks_advance(void **state)
{
	int64_t a, b;

	(void)state;
	a = clock_mono_ns();
	b = clock_mono_ns();
	assert_true(b >= a);
	/* The wall clock is after 2020 on any machine that runs this. */
	assert_true(clock_now_ms() > clock_timegm(2020, 1, 1, 0, 0, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epoch_and_known_dates),
		cmocka_unit_test(test_lenient_rollover),
		cmocka_unit_test(test_clocks_advance),
	};

	return cmocka_run_group_tests_name("lib/clock", tests, NULL, NULL);
}
