/*
 * clock.c: UTC calendar arithmetic and clock readings.
 *
 * The calendar conversion is Howard Hinnant's days-from-civil algorithm,
 * after folding out-of-range months into years; days, hours, minutes and
 * seconds then simply add up, which gives the lenient roll-over devices
 * rely on.
 */
#include "lib/clock.h"

#include <time.h>

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of the given proleptic Gregorian date, 1 <= m <= 12. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t
clock_timegm(int year, int month, int day, int hour, int min, int sec)
{
	int64_t y = year, m0 = (int64_t)month - 1, days, secs;

	y += floor_div(m0, 12);
	m0 -= floor_div(m0, 12) * 12;
	/* day 1 of the month, then add the (possibly out of range) day. */
	days = days_from_civil(y, (int)m0 + 1, 1) + ((int64_t)day - 1);
	secs = days * 86400 + (int64_t)hour * 3600 + (int64_t)min * 60 + sec;
	return secs * 1000;
}

int64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000;
}

int64_t
clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
