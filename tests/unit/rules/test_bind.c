/*
 * Unit tests for rules/bind.c, through rules as they see a position:
 * numbers and texts by key, pos.time in seconds and pos.time_ms, the
 * fence lists, writes refused, tables refilled for the next position, and
 * pairs(pos) walking every field of the current position only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/rules/harness.h"

static void
test_position_fields(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	r = h_load_nc("return { rules = { a = function(pos) return { type = 'p',"
	    " message = string.format(string.rep('%s', 13, ' '),"
	    "  math.type(pos.time), pos.time, pos.time_ms,"
	    "  math.type(pos.speed), pos.speed, type(pos.device), type(pos.imei),"
	    "  type(pos.sat), type(pos.odd), #pos.inside, pos.inside[2],"
	    "  #pos.entered, #pos.exited) } end,"
	    " b = function(pos) pos.speed = 0 end,"
	    " c = function(pos) table.insert(pos.inside, 'evil') end,"
	    " d = function(pos) setmetatable(pos, {}) end,"
	    " e = function(pos) return { type = 's' .. pos.speed .. #pos.inside } end } }");
	res = h_run(r, "dev",
	    "time=1732320000999 speed=42.5 device=359710049095095 "
	    "imei=359710049095095 sat=09 odd=1e5 in=f1,f2 exit=f3", &st);
	/* sat=09 has a leading zero: not a plain number, stays a string. */
	assert_string_equal(res->alerts[0].message,
	    "integer 1732320000 1732320000999 float 42.5 string string string "
	    "string 2 f2 0 1");
	/* b, c, d were refused and e saw the position unchanged. */
	assert_int_equal(res->nerrors, 3);
	assert_string_equal(res->alerts[1].type, "s42.52");
	/* The reused tables are refilled: fields of the last report vanish. */
	res = h_run(r, "dev", "time=5000 speed=7", &st);
	assert_string_equal(res->alerts[0].message,
	    "integer 5 5000 integer 7 nil nil nil nil 0 nil 0 0");
	rules_free(r);
	free(st);
}

static void
test_pos_pairs(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	r = h_load_nc("return { rules = { a = function(pos)"
	    " local keys = {} local s = pos.speed"
	    " for k, v in pairs(pos) do keys[#keys + 1] = k .. '=' .."
	    "  (type(v) == 'table' and '#' .. #v or tostring(v)) end"
	    " table.sort(keys)"
	    " return { type = 'p', message = table.concat(keys, ' ') }"
	    " end } }");
	res = h_run(r, "d", "time=2500 speed=5 alarm=sos in=f1", &st);
	assert_string_equal(res->alerts[0].message, "alarm=sos entered=#0 "
	    "exited=#0 inside=#1 speed=5 time=2 time_ms=2500");
	res = h_run(r, "d", "time=3000 power=12.5", &st);
	assert_string_equal(res->alerts[0].message, "entered=#0 exited=#0 "
	    "inside=#0 power=12.5 time=3 time_ms=3000");
	rules_free(r);
	free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_position_fields),
		cmocka_unit_test(test_pos_pairs),
	};

	return cmocka_run_group_tests_name("rules/bind", tests, NULL, NULL);
}
