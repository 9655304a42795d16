/*
 * Unit tests for rules/helpers.c: every, held, latch, edge, forget and
 * within_hours, driven with sequences of positions and times.  Expected
 * values are worked out by hand from each helper's definition.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/rules/harness.h"

/* Runs the steps "spec|expected types" in order on one device. */
static void
sequence(struct rules *r, const char *const *steps, size_t n)
{
	char spec[256], *bar;
	const struct rules_result *res;
	char *st = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(spec, sizeof spec, "%s", steps[i]);
		bar = strchr(spec, '|');
		*bar = '\0';
		res = h_run(r, "d", spec, &st);
		if (res->nerrors > 0)
			fail_msg("step %zu: %s", i, res->errors[0].message);
		if (strcmp(h_types(res), bar + 1) != 0)
			fail_msg("step %zu (%s): got \"%s\", want \"%s\"", i, spec,
			    h_types(res), bar + 1);
	}
	free(st);
}

static void
test_every(void **state)
{
	static const char *const steps[] = {
		"time=0|e", "time=30000|", "time=59999|", "time=60000|e",
		"time=100000|", "time=120000|e",
		"time=50000|",		/* older than the last alert */
		"time=180000|e",
	};
	struct rules *r = h_load("return { rules = { r = function(pos, dev)"
	    " if every(dev, pos, 'k', 60) then return { type = 'e' } end end } }");

	(void)state;
	sequence(r, steps, sizeof steps / sizeof *steps);
	rules_free(r);
}

static void
test_held(void **state)
{
	static const char *const steps[] = {
		"time=0 speed=20|", "time=20000 speed=20|",
		"time=30000 speed=20|h30", "time=35000 speed=20|h35",
		"time=40000 speed=5|", "time=50000 speed=20|",
		"time=79000 speed=20|", "time=80000 speed=20|h30",
	};
	struct rules *r = h_load("return { rules = { r = function(pos, dev)"
	    " local ok, d = held(dev, pos, 'k', (pos.speed or 0) > 10, 30)"
	    " if ok then return { type = 'h' .. d } end end } }");

	(void)state;
	sequence(r, steps, sizeof steps / sizeof *steps);
	rules_free(r);
}

static void
test_latch(void **state)
{
	/* Fires below 5, re-arms only above 8. */
	static const char *const steps[] = {
		"time=1 v=4|l", "time=2 v=3|", "time=3 v=6|", "time=4 v=4|",
		"time=5 v=9|", "time=6 v=4|l",
	};
	/* Default re-arm: as soon as the condition is false. */
	static const char *const plain[] = {
		"time=1 v=1|l", "time=2 v=1|", "time=3 v=0|", "time=4 v=1|l",
	};
	struct rules *r = h_load("return { rules = { r = function(pos, dev)"
	    " if latch(dev, 'k', (pos.v or 10) < 5, (pos.v or 10) > 8) then"
	    " return { type = 'l' } end end } }");

	(void)state;
	sequence(r, steps, sizeof steps / sizeof *steps);
	rules_free(r);
	r = h_load("return { rules = { r = function(pos, dev)"
	    " if latch(dev, 'k', pos.v == 1) then return { type = 'l' } end end } }");
	sequence(r, plain, sizeof plain / sizeof *plain);
	rules_free(r);
}

static void
test_edge_and_forget(void **state)
{
	static const char *const steps[] = {
		"time=1 v=0|", "time=2 v=1|start", "time=3 v=1|", "time=4 v=0|end",
		"time=5 v=0|", "time=6 v=1|start",
		/* forget: the edge starts over, so a true cond starts again */
		"time=7 v=1 f=1|", "time=8 v=1|start",
	};
	struct rules *r = h_load("return { rules = { r = function(pos, dev)"
	    " if pos.f == 1 then forget(dev, 'k') return end"
	    " local e = edge(dev, 'k', pos.v == 1)"
	    " if e then return { type = e } end end } }");

	(void)state;
	sequence(r, steps, sizeof steps / sizeof *steps);
	rules_free(r);
}

static void
test_helpers_state_is_json(void **state)
{
	struct rules *r = h_load("return { rules = { r = function(pos, dev)"
	    " every(dev, pos, 'a', 10); latch(dev, 'b', true) end } }");
	char *st = NULL;

	(void)state;
	h_run(r, "d", "time=5000", &st);
	assert_string_equal(st, "{\"r\":{\"_every\":{\"a\":5},"
	    "\"_latch\":{\"b\":true}}}");
	rules_free(r);
	free(st);
}

static void
test_within_hours(void **state)
{
	/* 2024-11-25 (a Monday) 00:00 UTC is 1732492800. */
	static const char *const steps[] = {
		/* Mon-Fri 08:00-18:00 at UTC+2 */
		"t=1732514400 days=mon-fri from=08:00 to=18:00 off=2|true",
		"t=1732514340 days=mon-fri from=08:00 to=18:00 off=2|false",
		"t=1732550340 days=mon-fri from=08:00 to=18:00 off=2|true",
		"t=1732550400 days=mon-fri from=08:00 to=18:00 off=2|false",
		"t=1732356000 days=mon-fri from=08:00 to=18:00 off=2|false",
		/* UTC-7: Monday 15:00 UTC is 08:00 local */
		"t=1732546800 days=mon-fri from=08:00 to=18:00 off=-7|true",
		"t=1732546740 days=mon-fri from=08:00 to=18:00 off=-7|false",
		/* Friday night 22:00-06:00 at UTC+2, past midnight */
		"t=1732919400 days=fri from=22:00 to=06:00 off=2|true",
		"t=1732941000 days=fri from=22:00 to=06:00 off=2|false",
		/* "+05:30": Monday 02:30 UTC is 08:00 local */
		"t=1732501800 days=mon from=08:00 to=09:00 off=+05:30|true",
		"t=1732501740 days=mon from=08:00 to=09:00 off=+05:30|false",
		/* Lists and every day */
		"t=1732356000 days=sat,sun from=10:00 to=13:00 off=0|true",
		"t=1732356000 days=sat,sun from=10:01 to=13:00 off=0|false",
		"t=1732356000 days=* from=10:00 to=10:01 off=0|true",
	};
	char spec[256], want[16];
	struct rules *r = h_load_nc("return { rules = { r = function(pos)"
	    " return { type = tostring(within_hours(pos.t, pos.days, pos.from,"
	    " pos.to, pos.off)) } end } }");
	const struct rules_result *res;
	char *st = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof steps / sizeof *steps; i++) {
		snprintf(spec, sizeof spec, "time=1 %s", steps[i]);
		*strchr(spec, '|') = '\0';
		snprintf(want, sizeof want, "%s", strchr(steps[i], '|') + 1);
		res = h_run(r, "d", spec, &st);
		if (res->nalerts != 1 || strcmp(res->alerts[0].type, want) != 0)
			fail_msg("%s: got %s", steps[i], res->nalerts ?
			    res->alerts[0].type : res->errors[0].message);
	}
	res = h_run(r, "d", "time=1 t=1 days=funday from=08:00 to=09:00", &st);
	assert_non_null(strstr(res->errors[0].message, "funday"));
	res = h_run(r, "d", "time=1 t=1 days=mon from=8h to=09:00", &st);
	assert_non_null(strstr(res->errors[0].message, "8h"));
	rules_free(r);
	free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every),
		cmocka_unit_test(test_held),
		cmocka_unit_test(test_latch),
		cmocka_unit_test(test_edge_and_forget),
		cmocka_unit_test(test_helpers_state_is_json),
		cmocka_unit_test(test_within_hours),
	};

	return cmocka_run_group_tests_name("rules/helpers", tests, NULL, NULL);
}
