/*
 * clock.h: wall-clock readings and calendar arithmetic in UTC.
 *
 * clock_timegm is pure (no tz, no libc state) so decoders can use it.
 */
#ifndef GA_LIB_CLOCK_H
#define GA_LIB_CLOCK_H

#include <stdint.h>

/*
 * Returns milliseconds since the Unix epoch for the given UTC civil time.
 * Out-of-range parts roll over leniently, the way java.util.Calendar does:
 * month 18 of 2006 is June 2007, month 0 of 2000 is December 1999, day 0 is
 * the last day of the previous month, hour 25 is 01:00 the next day.
 * year is the full year (2018, not 18).  Never fails.
 */
int64_t clock_timegm(int year, int month, int day, int hour, int min, int sec);

/* Returns the current wall-clock time in Unix epoch milliseconds. */
int64_t clock_now_ms(void);

/* Returns a monotonic time in milliseconds (for timeouts and latency). */
int64_t clock_mono_ms(void);

/* Returns a monotonic time in nanoseconds (for benchmarks and histograms). */
int64_t clock_mono_ns(void);

#endif
