/*
 * Unit tests for rules/devstate.c: the live tables follow the text the
 * caller passes (a rolled-back batch gets the older state back), a failed
 * rule is rolled back although its table was changed in place, and
 * devices past the cache's size keep their state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>

#include "tests/unit/rules/harness.h"

#include "rules/devstate.h"
#include "rules/sandbox.h"

static const char counter[] =
    "return { rules = {"
    " n = function(pos, dev) dev.state.n = (dev.state.n or 0) + 1"
    "   return { type = 'n', message = tostring(dev.state.n) } end,"
    " bad = function(pos, dev) dev.state.k = (dev.state.k or 0) + 1"
    "   if pos.boom == 1 then error('boom') end end } }";

static void
test_follows_the_callers_text(void **state)
{
	struct rules *r = h_load(counter);
	const struct rules_result *res;
	char *st = NULL, *older;

	(void)state;
	res = h_run(r, "d", "time=1", &st);
	assert_string_equal(res->alerts[0].message, "1");
	res = h_run(r, "d", "time=2", &st);
	assert_string_equal(res->alerts[0].message, "2");
	assert_string_equal(st, "{\"bad\":{\"k\":2},\"n\":{\"n\":2}}");
	older = xstrdup(st);
	res = h_run(r, "d", "time=3", &st);
	assert_string_equal(res->alerts[0].message, "3");
	/* The caller rolled its batch back: it passes the older text. */
	free(st);
	st = older;
	res = h_run(r, "d", "time=3", &st);
	assert_string_equal(res->alerts[0].message, "3");
	assert_string_equal(st, "{\"bad\":{\"k\":3},\"n\":{\"n\":3}}");
	/* A restart: no state at all. */
	free(st);
	st = NULL;
	res = h_run(r, "d", "time=4", &st);
	assert_string_equal(res->alerts[0].message, "1");
	/* State of another writer, keys in any order and spaced. */
	free(st);
	st = xstrdup("{ \"n\" : { \"n\" : 41 }, \"other\": [1, 2] }");
	res = h_run(r, "d", "time=5", &st);
	assert_string_equal(res->alerts[0].message, "42");
	assert_string_equal(st, "{\"bad\":{\"k\":1},\"n\":{\"n\":42},"
	    "\"other\":[1,2]}");
	rules_free(r);
	free(st);
}

static void
test_failed_rule_rolled_back(void **state)
{
	struct rules *r = h_load(counter);
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	h_run(r, "d", "time=1", &st);
	assert_string_equal(st, "{\"bad\":{\"k\":1},\"n\":{\"n\":1}}");
	/* bad raised after changing its table in place: k stays 1. */
	res = h_run(r, "d", "time=2 boom=1", &st);
	assert_int_equal(res->nerrors, 1);
	assert_string_equal(res->errors[0].rule, "bad");
	assert_string_equal(st, "{\"bad\":{\"k\":1},\"n\":{\"n\":2}}");
	res = h_run(r, "d", "time=3", &st);
	assert_int_equal(res->nerrors, 0);
	assert_string_equal(st, "{\"bad\":{\"k\":2},\"n\":{\"n\":3}}");
	/* An unchanged state is not reported again. */
	rules_free(r);
	r = h_load("return { rules = { same = function(pos, dev)"
	    " dev.state.x = 1 end } }");
	free(st);
	st = NULL;
	res = h_run(r, "d", "time=1", &st);
	assert_string_equal(res->state, "{\"same\":{\"x\":1}}");
	res = h_run(r, "d", "time=2", &st);
	assert_null(res->state);
	rules_free(r);
	free(st);
}

/* More devices than the cache holds, visited round robin twice. */
static void
test_many_devices(void **state)
{
	struct rules *r = h_load(counter);
	const struct rules_result *res;
	size_t n = DEVSTATE_MAX + 100, i, k;
	char **st = xcalloc(n, sizeof *st), dev[32], want[16];

	(void)state;
	for (k = 1; k <= 2; k++)
		for (i = 0; i < n; i++) {
			snprintf(dev, sizeof dev, "dev%zu", i);
			res = h_run(r, dev, "time=1", &st[i]);
			snprintf(want, sizeof want, "%zu", k);
			if (res->nalerts != 1 ||
			    strcmp(res->alerts[0].message, want) != 0)
				fail_msg("%s, pass %zu: %s", dev, k,
				    res->nalerts ? res->alerts[0].message : "-");
		}
	for (i = 0; i < n; i++)
		free(st[i]);
	free(st);
	rules_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows_the_callers_text),
		cmocka_unit_test(test_failed_rule_rolled_back),
		cmocka_unit_test(test_many_devices),
	};

	return cmocka_run_group_tests_name("rules/devstate", tests, NULL, NULL);
}
