/*
 * Unit tests for rules/rules.c: load errors, settings seen by rules,
 * custom rule order and overriding, alerts, dev.state through JSON,
 * dev.command, the failure policy, reload, and the example file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "tests/unit/rules/harness.h"

#include "rules/check.h"

static void
test_settings_visible_read_only(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	r = h_load_nc("return { defaults = { limit_v = 11, speed_limit = 90 },"
	    " devices = { a = { limit_v = 24, fences = {'depot'} } },"
	    " rules = { show = function(pos, dev) return { type = 'v', "
	    " message = dev.id .. ':' .. dev.settings.limit_v .. ':' .. "
	    " dev.settings.speed_limit .. ':' .. tostring(dev.settings.rules) "
	    " .. ':' .. (dev.settings.fences and dev.settings.fences[1] or '*') } end,"
	    " poke = function(pos, dev) dev.settings.limit_v = 0 end,"
	    " poke2 = function(pos, dev) dev.settings.fences[1] = 'x' end } }");
	res = h_run(r, "a", "time=1000", &st);
	assert_int_equal(res->nalerts, 1);
	assert_string_equal(res->alerts[0].message, "a:24:90:nil:depot");
	/* Both writes into the settings were refused. */
	assert_int_equal(res->nerrors, 2);
	assert_non_null(strstr(res->errors[0].message, "read-only"));
	assert_string_equal(res->errors[0].rule, "poke");
	res = h_run(r, "b", "time=1000", &st);
	assert_string_equal(res->alerts[0].message, "b:11:90:nil:*");
	rules_free(r);
	free(st);
}

static void
test_load_errors_name_the_line(void **state)
{
	const char *e;

	(void)state;
	/* Syntax and runtime errors name the file and the line. */
	e = h_load_err("return {\n defaults = { x = }\n}");
	assert_non_null(strstr(e, "t.lua:2:"));
	e = h_load_err("local a = 1\nerror('boom')\nreturn {}");
	assert_non_null(strstr(e, "t.lua:2: boom"));
}

static void
test_rule_order_and_override(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	r = h_load("local function a(t) return function() return {type = t} end end\n"
	    "return { rules = { c = a('c'), a = a('a'), b = a('b') },"
	    " devices = { d1 = { rules = { b = a('B'), z = a('z') } },"
	    "             d2 = { rules = { a = false } } } }");
	res = h_run(r, "other", "time=1", &st);
	assert_string_equal(h_types(res), "a b c");
	assert_string_equal(res->alerts[1].rule, "b");
	res = h_run(r, "d1", "time=1", &st);
	assert_string_equal(h_types(res), "a B c z");
	assert_string_equal(res->alerts[1].rule, "b");
	res = h_run(r, "d2", "time=1", &st);
	assert_string_equal(h_types(res), "b c");
	assert_true(rules_has_custom(r, "d2"));
	rules_free(r);
	r = h_load("return { devices = { x = { speed_limit = 5 } } }");
	assert_false(rules_has_custom(r, "x"));
	res = h_run(r, "x", "time=1", &st);
	assert_int_equal(res->nalerts + res->nerrors, 0);
	assert_null(res->state);
	rules_free(r);
}

static void
test_alerts(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	r = h_load("return { rules = {"
	    " one = function() return { type = 'hot', message = 'm', n = 3,"
	    "   f = 1.5, ok = true, s = 't' } end,"
	    " two = function() return { { type = 'x' }, { type = 'y', message = 42 } } end,"
	    " three = function() return {} end } }");
	res = h_run(r, "d", "time=1", &st);
	assert_int_equal(res->nerrors, 0);
	assert_int_equal(res->nalerts, 3);
	assert_string_equal(res->alerts[0].rule, "one");
	assert_int_equal(res->alerts[0].index, 0);
	assert_string_equal(res->alerts[0].type, "hot");
	assert_string_equal(res->alerts[0].message, "m");
	assert_string_equal(res->alerts[0].extra,
	    "{\"f\":1.5,\"n\":3,\"ok\":true,\"s\":\"t\"}");
	assert_string_equal(res->alerts[1].rule, "two");
	assert_int_equal(res->alerts[1].index, 1);
	assert_null(res->alerts[1].message);
	assert_null(res->alerts[1].extra);
	assert_int_equal(res->alerts[2].index, 2);
	assert_string_equal(res->alerts[2].message, "42");
	rules_free(r);

	r = h_load_nc("return { rules = {"
	    " a = function() return { type = 'x', device = 'spoof' } end,"
	    " b = function() return { message = 'no type' } end,"
	    " c = function() return 'text' end,"
	    " d = function() return { type = 'x', t = {} } end,"
	    " e = function() return { type = 'bad type!' } end,"
	    " f = function() return { type = 'fine' } end } }");
	res = h_run(r, "d", "time=1", &st);
	assert_string_equal(h_types(res), "fine");
	assert_int_equal(res->nerrors, 5);
	assert_non_null(strstr(res->errors[0].message, "'device'"));
	assert_non_null(strstr(res->errors[1].message, "type"));
	assert_non_null(strstr(res->errors[2].message, "string"));
	assert_non_null(strstr(res->errors[3].message, "'t'"));
	assert_string_equal(res->errors[4].rule, "e");
	assert_string_equal(res->errors[4].device, "d");
	rules_free(r);
	free(st);
}

static void
test_state_round_trip(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	r = h_load("return { rules = { count = function(pos, dev)"
	    "  local s = dev.state; s.n = (s.n or 0) + 1; s.list = s.list or {}"
	    "  s.list[#s.list + 1] = pos.time; s.deep = { x = { y = true }, f = 0.5 }"
	    "  if s.n >= 3 then return { type = 'third', message = tostring(#s.list) } end"
	    " end, quiet = function(pos, dev) end } }");
	res = h_run(r, "d", "time=1000", &st);
	assert_string_equal(st, "{\"count\":{\"deep\":{\"f\":0.5,\"x\":{\"y\":true}},"
	    "\"list\":[1],\"n\":1}}");
	res = h_run(r, "d", "time=2000", &st);
	res = h_run(r, "d", "time=3000", &st);
	assert_string_equal(h_types(res), "third");
	assert_string_equal(res->alerts[0].message, "3");
	assert_string_equal(st, "{\"count\":{\"deep\":{\"f\":0.5,\"x\":{\"y\":true}},"
	    "\"list\":[1,2,3],\"n\":3}}");
	rules_free(r);

	/* Unchanged state: no new state reported.  Emptied: "{}". */
	r = h_load("return { rules = { keep = function(pos, dev)"
	    " if pos.clear == 1 then dev.state.n = nil end end } }");
	free(st);
	st = xstrdup("{\"keep\":{\"n\":5},\"gone_rule\":{\"a\":1}}");
	res = h_run(r, "d", "time=1", &st);
	assert_null(res->state);
	res = h_run(r, "d", "time=1 clear=1", &st);
	assert_string_equal(st, "{\"gone_rule\":{\"a\":1}}");
	rules_free(r);
	free(st);
}

static void
test_state_refusals(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	r = h_load_nc("return { rules = {"
	    " a_fn = function(pos, dev) dev.state.ok = 1; dev.state.f = print end,"
	    " b_cycle = function(pos, dev) local t = {}; t.t = t; dev.state.c = t end,"
	    " c_mixed = function(pos, dev) dev.state.m = { 1, 2, x = 3 } end,"
	    " d_holes = function(pos, dev) dev.state.h = { [1] = 1, [5] = 5 } end,"
	    " e_nan = function(pos, dev) dev.state.n = 0/0 end,"
	    " f_keys = function(pos, dev) dev.state[true] = 1 end,"
	    " g_good = function(pos, dev) dev.state.n = (dev.state.n or 0) + 1;"
	    "   return { type = 'g' } end } }");
	res = h_run(r, "d", "time=1", &st);
	assert_string_equal(h_types(res), "g");
	assert_int_equal(res->nerrors, 6);
	assert_string_equal(res->errors[0].rule, "a_fn");
	assert_non_null(strstr(res->errors[0].message, "dev.state.f"));
	assert_non_null(strstr(res->errors[0].message, "function"));
	assert_non_null(strstr(res->errors[1].message, "cyclic"));
	assert_non_null(strstr(res->errors[2].message, "mix"));
	assert_non_null(strstr(res->errors[3].message, "holes"));
	assert_non_null(strstr(res->errors[4].message, "NaN"));
	assert_non_null(strstr(res->errors[5].message, "boolean"));
	/* Only the good rule's state was kept; the failed ones rolled back. */
	assert_string_equal(st, "{\"g_good\":{\"n\":1}}");
	/* Bad stored state is reported and replaced by empty state. */
	free(st);
	st = xstrdup("not json");
	res = h_run(r, "d", "time=1", &st);
	assert_string_equal(res->errors[0].rule, "state");
	assert_string_equal(st, "{\"g_good\":{\"n\":1}}");
	rules_free(r);
	free(st);
}

static void
test_commands(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	r = h_load_nc("return { rules = {"
	    " a = function(pos, dev) dev.command('engine_stop');"
	    "   dev.command('position_periodic', 30); dev.command('custom', 'SET 1') end,"
	    " b = function(pos, dev) dev.command('arm'); error('late') end,"
	    " c = function(pos, dev) dev.command('self_destruct') end,"
	    " d = function(pos, dev) dev.command('position_periodic') end,"
	    " e = function(pos, dev) dev.command('disarm', 'x') end } }");
	res = h_run(r, "d", "time=1", &st);
	assert_int_equal(res->ncommands, 3);
	assert_string_equal(res->commands[0].name, "engine_stop");
	assert_null(res->commands[0].param);
	assert_string_equal(res->commands[0].rule, "a");
	assert_string_equal(res->commands[1].name, "position_periodic");
	assert_string_equal(res->commands[1].param, "30");
	assert_string_equal(res->commands[2].param, "SET 1");
	/* b's arm was dropped with its failure. */
	assert_int_equal(res->nerrors, 4);
	assert_non_null(strstr(res->errors[1].message, "self_destruct"));
	assert_non_null(strstr(res->errors[2].message, "seconds"));
	assert_non_null(strstr(res->errors[3].message, "no parameter"));
	rules_free(r);
}

static void
test_failure_policy(void **state)
{
	struct rules *r, *r2;
	const struct rules_result *res;
	char *st = NULL;
	int i;

	(void)state;
	r = h_load("return { devices = { listed = {} }, rules = {"
	    " flaky = function(pos) if pos.bad == 1 then error('bad') end"
	    "   return { type = 'flaky' } end,"
	    " loop = function(pos) if pos.bad == 1 then while true do end end end,"
	    " other = function() return { type = 'other' } end } }");
	/* Two failures, a success, two failures: still enabled. */
	h_run(r, "listed", "time=1 bad=1", &st);
	h_run(r, "listed", "time=1 bad=1", &st);
	h_run(r, "listed", "time=1", &st);
	h_run(r, "listed", "time=1 bad=1", &st);
	res = h_run(r, "listed", "time=1 bad=1", &st);
	assert_int_equal(res->nerrors, 2);
	assert_null(strstr(res->errors[0].message, "disabled"));
	assert_non_null(strstr(res->errors[1].message, "instruction budget"));
	/* The third in a row disables both failing rules for the device. */
	res = h_run(r, "listed", "time=1 bad=1", &st);
	assert_int_equal(res->nerrors, 2);
	assert_non_null(strstr(res->errors[0].message, "disabled for this device"));
	assert_string_equal(h_types(res), "other");
	res = h_run(r, "listed", "time=1", &st);
	assert_int_equal(res->nerrors, 0);
	assert_string_equal(h_types(res), "other");
	/* Same for a device on the defaults; other devices are unaffected. */
	for (i = 0; i < 3; i++)
		res = h_run(r, "unlisted", "time=1 bad=1", &st);
	assert_non_null(strstr(res->errors[0].message, "disabled for this device"));
	res = h_run(r, "unlisted", "time=1", &st);
	assert_string_equal(h_types(res), "other");
	res = h_run(r, "third", "time=1", &st);
	assert_string_equal(h_types(res), "flaky other");
	/* A reload (a new object) re-enables. */
	r2 = h_load("return { devices = { listed = {} }, rules = {"
	    " flaky = function(pos) return { type = 'flaky' } end } }");
	rules_free(r);
	res = h_run(r2, "listed", "time=1", &st);
	assert_string_equal(h_types(res), "flaky");
	rules_free(r2);

	/* A rule failing everywhere is switched off for every device. */
	r = h_load_nc("return { rules = { broken = function(pos) error('x') end } }");
	for (i = 0; i < RULES_FAIL_ALL; i++) {
		char dev[32];

		snprintf(dev, sizeof dev, "dev%d", i);
		res = h_run(r, dev, "time=1", &st);
	}
	assert_non_null(strstr(res->errors[0].message, "every device"));
	res = h_run(r, "fresh", "time=1", &st);
	assert_int_equal(res->nerrors, 0);
	rules_free(r);
	free(st);
}

static void
test_reload_keeps_old(void **state)
{
	struct rules *live, *next;
	const struct rules_result *res;
	const char *e;
	char *st = NULL;

	(void)state;
	live = h_load("return { rules = { a = function(pos, dev)"
	    " dev.state.n = (dev.state.n or 0) + 1 return { type = 'v1' } end } }");
	h_run(live, "d", "time=1", &st);
	/* A broken file and a file whose rule fails the self-check are both
	 * refused; the live rules keep running. */
	e = h_load_err("return { rules = { a = function( } }");
	assert_non_null(strstr(e, "t.lua:1:"));
	e = h_load_err("return { rules = { a = function(pos, dev)\n"
	    " return { type = 'v2', message = pos.nope .. 'x' } end } }");
	assert_non_null(strstr(e, "self-check"));
	assert_non_null(strstr(e, "rule 'a'"));
	assert_non_null(strstr(e, "t.lua:2:"));
	res = h_run(live, "d", "time=1", &st);
	assert_string_equal(h_types(res), "v1");
	/* A good file goes live; the state the caller holds carries over. */
	next = h_load("return { rules = { a = function(pos, dev)"
	    " return { type = 'v2', message = tostring(dev.state.n) } end } }");
	rules_free(live);
	live = next;
	res = h_run(live, "d", "time=1", &st);
	assert_string_equal(res->alerts[0].message, "2");
	rules_free(live);
	free(st);
}

static void
test_example_file(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	const struct settings *s;
	char err[512], *st = NULL;
	FILE *out = tmpfile();

	(void)state;
	r = rules_load("rules.example.lua", NULL, err, sizeof err);
	if (r == NULL)
		fail_msg("%s", err);
	s = rules_settings(r, "359710049095095");
	assert_true(s->speed_limit == 80);
	assert_true(settings_fence_enabled(s, "depot"));
	assert_false(settings_fence_enabled(s, "yard"));
	assert_true(rules_settings(r, "x")->speed_limit == 100);
	assert_true(rules_settings(r, "x")->overspeed_duration == 30);
	/* Low power on a default device: once, not again within the hour,
	 * again after recovering. */
	res = h_run(r, "x", "time=1000000 power=11.0", &st);
	assert_string_equal(h_types(res), "low_power");
	res = h_run(r, "x", "time=1001000 power=11.0", &st);
	assert_string_equal(h_types(res), "");
	res = h_run(r, "x", "time=1002000 power=12.5", &st);
	res = h_run(r, "x", "time=1003000 power=11.0", &st);
	assert_string_equal(h_types(res), "low_power");
	rules_free(r);
	free(st);
	assert_int_equal(check_file("rules.example.lua", out), 0);
	fclose(out);
}

static void
test_check_file_reports(void **state)
{
	char path[] = "/tmp/ga-rules-XXXXXX", buf[2048];
	FILE *f, *out = tmpfile();
	size_t n;
	int fd;

	(void)state;
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs("return { devices = { d = {} }, rules = {\n"
	    "  a = function(pos) return pos.x.y end,\n"
	    "  b = function() return { type = 'ok' } end } }\n", f);
	fclose(f);
	assert_int_equal(check_file(path, out), 1);
	rewind(out);
	n = fread(buf, 1, sizeof buf - 1, out);
	buf[n] = '\0';
	/* Both the default device and d fail rule a, at line 2. */
	assert_non_null(strstr(buf, "device 'sample device', rule 'a'"));
	assert_non_null(strstr(buf, "device 'd', rule 'a'"));
	assert_non_null(strstr(buf, ":2:"));
	assert_null(strstr(buf, "rule 'b'"));
	fclose(out);
	out = tmpfile();
	f = fopen(path, "w");
	fputs("return { rules = { a = function( }\n", f);
	fclose(f);
	assert_int_equal(check_file(path, out), 1);
	rewind(out);
	n = fread(buf, 1, sizeof buf - 1, out);
	buf[n] = '\0';
	assert_non_null(strstr(buf, ":1:"));
	fclose(out);
	unlink(path);
	assert_int_equal(check_file("/nonexistent/rules.lua", stderr), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_visible_read_only),
		cmocka_unit_test(test_load_errors_name_the_line),
		cmocka_unit_test(test_rule_order_and_override),
		cmocka_unit_test(test_alerts),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_refusals),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_failure_policy),
		cmocka_unit_test(test_reload_keeps_old),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_check_file_reports),
	};

	return cmocka_run_group_tests_name("rules/rules", tests, NULL, NULL);
}
