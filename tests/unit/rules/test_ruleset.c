/*
 * Unit tests for rules/ruleset.c: entries built from a rules table (ids
 * sorted, rule lists overlaid by name and sorted, settings overlaid key by
 * key), lookups, counters reset, and every validation error naming the
 * device and key or the rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>

#include "tests/unit/rules/harness.h"

#include "rules/ruleset.h"
#include "rules/sandbox.h"

/* A rule name one character too long. */
#define R65 "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"

struct args {
	const char *src;
	struct ruleset *rs;
};

/* Runs the chunk a->src and builds a->rs from its value (protected). */
static int
l_build(lua_State *L)
{
	struct args *a = lua_touserdata(L, 1);

	if (luaL_loadstring(L, a->src) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	ruleset_build(L, -1, a->rs);
	return 0;
}

static const char *
names(const struct ruleset_entry *e)
{
	static char buf[256];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < e->nrules; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s",
		    i ? " " : "", e->rules[i]->name);
	return buf;
}

static void
test_entries(void **state)
{
	char err[256];
	struct sandbox *sb = h_sealed(0);
	struct ruleset rs;
	struct args a = { "return { defaults = { speed_limit = 50 },"
	    " rules = { b = function() end, a = function() end },"
	    " devices = { z = { rules = { c = function() end, a = false } },"
	    " [7] = { speed_limit = false } } }", &rs };
	struct ruleset_entry *z;

	(void)state;
	ruleset_init(&rs, "f.lua");
	if (sandbox_protect(sb, l_build, &a, err, sizeof err) == -1)
		fail_msg("%s", err);
	/* a, b shared; c z's own. */
	assert_int_equal(rs.nall, 3);
	assert_int_equal(rs.ndevices, 2);
	assert_string_equal(rs.devices[0].id, "7");
	assert_string_equal(rs.devices[1].id, "z");
	assert_null(rs.defaults.id);
	assert_string_equal(names(&rs.defaults), "a b");
	assert_string_equal(names(&rs.devices[0]), "a b");
	assert_string_equal(names(&rs.devices[1]), "b c");
	assert_true(rs.defaults.settings.has_speed_limit);
	assert_true(rs.defaults.settings.speed_limit == 50);
	assert_false(rs.devices[0].settings.has_speed_limit);
	assert_true(rs.devices[1].settings.speed_limit == 50);
	/* Lookups: listed ids, else the defaults. */
	z = ruleset_find(&rs, "z");
	assert_ptr_equal(z, &rs.devices[1]);
	assert_ptr_equal(ruleset_find(&rs, "7"), &rs.devices[0]);
	assert_ptr_equal(ruleset_find(&rs, "y"), &rs.defaults);
	/* Counters start at zero and reset to zero. */
	assert_int_equal(z->fails[1], 0);
	assert_false(z->off[1]);
	z->fails[1] = 2;
	z->off[0] = true;
	z->rules[1]->streak = 7;
	z->rules[1]->off_all = true;
	ruleset_reset(&rs);
	assert_int_equal(z->fails[1], 0);
	assert_false(z->off[0]);
	assert_int_equal(z->rules[1]->streak, 0);
	assert_false(z->rules[1]->off_all);
	ruleset_clear(&rs);
	sandbox_free(sb);
}

/* src must be refused with an error containing want. */
static void
refused(const char *src, const char *want)
{
	char err[256];
	struct sandbox *sb = h_sealed(0);
	struct ruleset rs;
	struct args a = { src, &rs };

	ruleset_init(&rs, "f.lua");
	if (sandbox_protect(sb, l_build, &a, err, sizeof err) == 0)
		fail_msg("%s: accepted", src);
	if (strstr(err, want) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", src, err, want);
	ruleset_clear(&rs);
	sandbox_free(sb);
}

static void
test_refusals(void **state)
{
	(void)state;
	/* An integer id and the same id as a string. */
	refused("return { devices = { [7] = {}, ['7'] = {} } }",
	    "f.lua: device '7' is listed twice");
	refused("return { rules = { a = 1 } }", "f.lua: rules.a must be a "
	    "function (got number)");
	refused("return { defaults = { rules = {} } }", "f.lua: defaults: "
	    "rules go in the top-level rules table");
	refused("return { rules = { ['" R65 "'] = function() end } }",
	    "rule name '" R65 "' must be 1 to 64 letters");
	refused("return { devices = { x = 5 } }", "f.lua: device 'x' must be a "
	    "table of settings (got number)");
	refused("return { devices = { [true] = {} } }", "f.lua: devices: keys "
	    "must be device ids (got a boolean)");
	refused("return { devices = { x = { rules = 5 } } }", "f.lua: device "
	    "'x': rules must be a table of functions (got number)");
}

static void
test_settings_overlay(void **state)
{
	struct rules *r;
	const struct settings *s;

	(void)state;
	r = h_load("return { defaults = { speed_limit = 100, "
	    "overspeed_duration = 30, cooldown = 60, limit_v = 11 },"
	    " devices = { ['111'] = { speed_limit = 80, fences = {'z', 'depot'} },"
	    " [222] = { speed_limit = false, overspeed_end = true,"
	    " overspeed_hysteresis = 2, fence_dwell = 15 } } }");
	/* Unlisted: the defaults; SPEC defaults for the rest. */
	s = rules_settings(r, "999");
	assert_true(s->has_speed_limit);
	assert_true(s->speed_limit == 100);
	assert_true(s->overspeed_duration == 30);
	assert_true(s->overspeed_hysteresis == 5);
	assert_false(s->overspeed_end);
	assert_true(s->all_fences);
	assert_true(s->fence_dwell == 0);
	assert_true(s->cooldown == 60);
	assert_true(settings_fence_enabled(s, "anything"));
	/* 111 overrides the limit and the fences, inherits the rest. */
	s = rules_settings(r, "111");
	assert_true(s->speed_limit == 80);
	assert_true(s->overspeed_duration == 30);
	assert_true(s->cooldown == 60);
	assert_false(s->all_fences);
	assert_int_equal(s->nfences, 2);
	assert_true(settings_fence_enabled(s, "depot"));
	assert_true(settings_fence_enabled(s, "z"));
	assert_false(settings_fence_enabled(s, "home"));
	/* 222 (an integer key) removes the limit. */
	s = rules_settings(r, "222");
	assert_false(s->has_speed_limit);
	assert_true(s->overspeed_end);
	assert_true(s->overspeed_hysteresis == 2);
	assert_true(s->fence_dwell == 15);
	assert_int_equal(rules_device_count(r), 2);
	rules_free(r);
}

static void
test_settings_validation(void **state)
{
	const char *e;

	(void)state;
	e = h_load_err("return { devices = { ['123'] = { speed_limit = '80' } } }");
	assert_non_null(strstr(e, "device '123'"));
	assert_non_null(strstr(e, "speed_limit"));
	e = h_load_err("return { defaults = { overspeed_duration = -1 } }");
	assert_non_null(strstr(e, "defaults"));
	assert_non_null(strstr(e, "overspeed_duration"));
	e = h_load_err("return { devices = { x = { fences = 5 } } }");
	assert_non_null(strstr(e, "device 'x'"));
	assert_non_null(strstr(e, "fences"));
	e = h_load_err("return { devices = { x = { fences = {'a', 3} } } }");
	assert_non_null(strstr(e, "fences[2]"));
	e = h_load_err("return { devices = { x = { overspeed_end = 1 } } }");
	assert_non_null(strstr(e, "overspeed_end"));
	e = h_load_err("return { devices = { y = { cooldown = true } } }");
	assert_non_null(strstr(e, "device 'y': cooldown"));
	e = h_load_err("return { default = {} }");
	assert_non_null(strstr(e, "unknown top-level key 'default'"));
	e = h_load_err("return { rules = { sos = function() end } }");
	assert_non_null(strstr(e, "built-in"));
	e = h_load_err("return { rules = { ['a:b'] = function() end } }");
	assert_non_null(strstr(e, "a:b"));
	e = h_load_err("return { devices = { x = { rules = { r = 5 } } } }");
	assert_non_null(strstr(e, "device 'x': rules.r"));
	e = h_load_err("return { devices = { ['a b'] = {} } }");
	assert_non_null(strstr(e, "a b"));
	e = h_load_err("return 5");
	assert_non_null(strstr(e, "must return a table"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_settings_overlay),
		cmocka_unit_test(test_settings_validation),
	};

	return cmocka_run_group_tests_name("rules/ruleset", tests, NULL, NULL);
}
