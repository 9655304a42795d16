/*
 * attrs.h: checks of a decoded report's attributes, shared by the
 * decoder unit tests (header-only, static inline).  Each fails the test
 * with the key, what it got and what it wanted.  Include after <cmocka.h>.
 */
#ifndef GA_TESTS_INGEST_ATTRS_H
#define GA_TESTS_INGEST_ATTRS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ingest/report.h"

/* The attribute key of r; fails when it is missing. */
static inline const struct report_attr *
attr(const struct report *r, const char *key)
{
	const struct report_attr *a = report_attr(r, key);

	if (a == NULL)
		fail_msg("attribute %s missing", key);
	return a;
}

static inline void
attr_bool(const struct report *r, const char *key, bool v)
{
	const struct report_attr *a = attr(r, key);

	assert_int_equal(a->type, REPORT_ATTR_BOOL);
	if (a->i != (v ? 1 : 0))
		fail_msg("%s: got %lld, want %d", key, (long long)a->i, v);
}

static inline void
attr_int(const struct report *r, const char *key, int64_t v)
{
	const struct report_attr *a = attr(r, key);

	assert_int_equal(a->type, REPORT_ATTR_INT);
	if (a->i != v)
		fail_msg("%s: got %lld, want %lld", key, (long long)a->i,
		    (long long)v);
}

/* A number within 1e-9 of v; returns the attribute (for its decimals). */
static inline const struct report_attr *
attr_num(const struct report *r, const char *key, double v)
{
	const struct report_attr *a = attr(r, key);

	assert_int_equal(a->type, REPORT_ATTR_NUM);
	if (fabs(a->d - v) > 1e-9)
		fail_msg("%s: got %.9f, want %.9f", key, a->d, v);
	return a;
}

static inline void
attr_str(const struct report *r, const char *key, const char *v)
{
	const struct report_attr *a = attr(r, key);

	assert_int_equal(a->type, REPORT_ATTR_STR);
	if (a->len != strlen(v) || memcmp(a->s, v, a->len) != 0)
		fail_msg("%s: got \"%.*s\", want \"%s\"", key, (int)a->len,
		    a->s, v);
}

static inline void
no_attr(const struct report *r, const char *key)
{
	if (report_attr(r, key) != NULL)
		fail_msg("attribute %s present", key);
}

#endif
