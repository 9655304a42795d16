/*
 * support.h: small helpers shared by the unit tests (header-only, static
 * inline; the Makefile builds only tests/unit/<dir>/test_*.c).  Include
 * after <cmocka.h>.
 */
#ifndef GA_TESTS_UNIT_SUPPORT_H
#define GA_TESTS_UNIT_SUPPORT_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Fails unless |got - want| <= eps, in double precision (cmocka 1.1's
 * assert_float_equal works in float, too coarse for metres at 6e6 m or
 * degrees to 1e-9).  what and n say where: a function and a table row,
 * or a file and a line.
 */
static inline void
support_near(double got, double want, double eps, const char *what, size_t n)
{
	if (!(fabs(got - want) <= eps))
		fail_msg("%s, %zu: got %.17g, want %.17g +- %g", what, n, got,
		    want, eps);
}

/* support_near at the caller's line. */
#define assert_near(got, want, eps) \
	support_near((got), (want), (eps), __FILE__ " line", __LINE__)

/* The one block support_hold keeps (per test file). */
static inline void **
support_held(void)
{
	static void *held;

	return &held;
}

/* Frees the block support_hold keeps; a cmocka setup/teardown. */
static inline int
support_release(void **state)
{
	(void)state;
	free(*support_held());
	*support_held() = NULL;
	return 0;
}

/*
 * A heap copy of exactly s[0..n), so the address sanitizer catches a
 * decoder reading past the end.  Kept (what was decoded may point into
 * it) until the next support_hold or support_release.
 */
static inline void *
support_hold(const void *s, size_t n)
{
	void *p;

	support_release(NULL);
	p = malloc(n > 0 ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	*support_held() = p;
	return p;
}

#endif
