/*
 * Unit tests for rules/sandbox.c: every escape attempt is refused, loops,
 * memory and recursion are stopped, and after each the sandbox still runs
 * a normal rule correctly; fault injection walks the out-of-memory paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>

#include "tests/unit/rules/harness.h"

#include "rules/sandbox.h"

static void
test_escapes_refused(void **state)
{
	struct sandbox *sb = h_sealed(0);

	(void)state;
	h_still_fine(sb);
	h_refused(sb, "return io.open('/etc/passwd')", "probe.lua:1:");
	h_refused(sb, "return os.execute('true')", "execute");
	h_refused(sb, "return os.getenv('HOME')", "getenv");
	h_refused(sb, "return os.exit(1)", "exit");
	h_refused(sb, "return os.remove('/tmp/x')", "remove");
	h_refused(sb, "return require('io')", "require");
	h_refused(sb, "return load('return 1')()", "load");
	h_refused(sb, "return dofile('/etc/passwd')", "dofile");
	h_refused(sb, "return loadfile('/etc/passwd')", "loadfile");
	h_refused(sb, "return string.dump(function() end)", "dump");
	h_refused(sb, "return ('').dump(function() end)", "dump");
	h_refused(sb, "return debug.getinfo(1)", "debug");
	h_refused(sb, "return package.loaded", "package");
	h_refused(sb, "return collectgarbage('count')", "collectgarbage");
	h_refused(sb, "return coroutine.create(print)", "coroutine");
	h_refused(sb, "return rawset(string, 'upper', 1)", "rawset");
	/* Binary chunks are refused: text mode only. */
	{
		char err[256];

		assert_int_equal(sandbox_load(sb, "\x1bLua\x54", 5, "=bin", err,
		    sizeof err), -1);
		assert_non_null(strstr(err, "binary"));
		h_still_fine(sb);
	}
	/* Only os.time and os.date are there, and they work. */
	{
		char out[128];

		assert_int_equal(h_sb_run(sb, "return os.date('!%Y-%m-%d', "
		    "os.time({year=2024, month=11, day=23, hour=12}))", out,
		    sizeof out), 0);
		assert_string_equal(out, "2024-11-23");
	}
	sandbox_free(sb);
}

static void
test_tampering_refused(void **state)
{
	struct sandbox *sb = h_sealed(0);
	char out[128];

	(void)state;
	/* The string metatable is hidden, the libraries are read-only. */
	assert_int_equal(h_sb_run(sb, "return tostring(getmetatable(''))", out,
	    sizeof out), 0);
	assert_string_equal(out, "false");
	h_refused(sb, "getmetatable('').__index.upper = nil", "index");
	h_refused(sb, "string.upper = function() return 'evil' end", "read-only");
	h_refused(sb, "string.format = nil", "read-only");
	h_refused(sb, "table.insert(string, 'x')", "read-only");
	h_refused(sb, "setmetatable(string, {})", "protected");
	h_refused(sb, "math.floor = nil", "read-only");
	h_refused(sb, "os.time = nil", "read-only");
	/* Globals: neither replaced nor created, even through _G. */
	h_refused(sb, "print = nil", "global 'print'");
	h_refused(sb, "_G.tostring = nil", "global 'tostring'");
	h_refused(sb, "x = 1", "global 'x'");
	h_refused(sb, "setmetatable(_G, {})", "protected");
	h_refused(sb, "_ENV = { string = { format = function() return 'evil' end } }",
	    "_ENV");
	/* __gc finalizers would run with hooks off: refused. */
	h_refused(sb, "setmetatable({}, { __gc = function() while true do end end })",
	    "__gc");
	/* pairs over a library still works through the proxy. */
	assert_int_equal(h_sb_run(sb, "local n = 0 for k in pairs(math) do n = n + 1 "
	    "end return tostring(n > 20)", out, sizeof out), 0);
	assert_string_equal(out, "true");
	sandbox_free(sb);
}

static void
test_loops_stopped(void **state)
{
	struct sandbox *sb = h_sealed(100000);

	(void)state;
	h_refused(sb, "while true do end", "instruction budget of 100000");
	h_refused(sb, "while true do end", "probe.lua:1:");
	/* The rule's own pcall cannot swallow the budget error. */
	h_refused(sb, "for i = 1, 1000 do pcall(function() while true do end end) end "
	    "return 'swallowed'", "instruction budget");
	h_refused(sb, "while true do pcall(error, 'x') end", "instruction budget");
	h_refused(sb, "local ok = xpcall(function() while true do end end, "
	    "function(m) while true do end end) return 'swallowed'", "");
	h_refused(sb, "local t = setmetatable({}, { __index = function(t, k) "
	    "while true do end end }) return t.x", "instruction budget");
	h_refused(sb, "table.sort({3, 2, 1, 5, 4}, function(a, b) while true do end end)",
	    "instruction budget");
	h_refused(sb, "return ('x'):rep(100):gsub('x', function() while true do end end)",
	    "instruction budget");
	sandbox_free(sb);
}

static void
test_memory_capped(void **state)
{
	char err[256];
	struct sandbox *sb = sandbox_new(8u << 20, 0, err, sizeof err);
	lua_State *L;

	(void)state;
	assert_non_null(sb);
	assert_int_equal(sandbox_seal(sb, err, sizeof err), 0);
	assert_int_equal(sandbox_mem_max(sb), 8u << 20);
	h_refused(sb, "return #string.rep('x', 1 << 30)", "memory");
	h_refused(sb, "local ok, e = pcall(string.rep, 'x', 1 << 30) "
	    "return #string.rep('y', 1 << 30)", "memory");
	h_refused(sb, "local t = {} for i = 1, 1e8 do t[i] = i end", "");
	h_refused(sb, "local s = 'x' while true do s = s .. s end", "memory");
	h_refused(sb, "local t = {} for i = 1, 1e6 do t[i] = {i} end", "");
	/* After the garbage is collected the heap is small again. */
	L = sandbox_lua(sb);
	lua_gc(L, LUA_GCCOLLECT);
	assert_true(sandbox_mem_used(sb) < (1u << 20));
	sandbox_free(sb);
	/* A cap too small for Lua itself is an error, not a crash. */
	assert_null(sandbox_new(1024, 0, err, sizeof err));
	assert_true(err[0] != '\0');
}

static void
test_recursion_stopped(void **state)
{
	/* A budget large enough that the stack limits come first. */
	struct sandbox *sb = h_sealed(50000000);

	(void)state;
	h_refused(sb, "local function f(n) return 1 + f(n + 1) end return f(1)",
	    "stack overflow");
	h_refused(sb, "local t = setmetatable({}, { __index = function(t, k) "
	    "return t[k] end }) return t.x", "overflow");
	h_refused(sb, "local function f(s) return (s:gsub('.', f)) end return f('ab')",
	    "");
	h_refused(sb, "local t = {} t = setmetatable({}, { __tostring = function(x) "
	    "return tostring(x) end }) return tostring(t)", "overflow");
	sandbox_free(sb);
}

static void
test_error_messages(void **state)
{
	struct sandbox *sb = h_sealed(0);
	char out[512];

	(void)state;
	assert_int_equal(h_sb_run(sb, "local function inner()\n error('deep')\nend\n"
	    "local function outer()\n inner()\nend\nouter()", out, sizeof out),
	    -1);
	/* The message, then the Lua frames, on one line. */
	assert_non_null(strstr(out, "probe.lua:2: deep"));
	assert_non_null(strstr(out, "[probe.lua:2 < probe.lua:5 < probe.lua:7]"));
	assert_null(strchr(out, '\n'));
	assert_int_equal(h_sb_run(sb, "error({})", out, sizeof out), -1);
	assert_non_null(strstr(out, "error object is a table value"));
	assert_int_equal(h_sb_run(sb, "local x = nil\nreturn x.y", out, sizeof out),
	    -1);
	assert_non_null(strstr(out, "probe.lua:2: attempt to index a nil value"));
	sandbox_free(sb);
}

static void
test_fault_injection(void **state)
{
	struct sandbox *sb = h_sealed(0);
	char out[256];
	long before, n, count, failures = 0;

	(void)state;
	/* Count the allocations of one run, then fail each of them once. */
	before = sandbox_alloc_count(sb);
	h_still_fine(sb);
	count = sandbox_alloc_count(sb) - before;
	assert_true(count > 5);
	for (n = 1; n <= count + 2; n++) {
		sandbox_fail_alloc(sb, n);
		if (h_sb_run(sb, h_normal, out, sizeof out) == -1) {
			failures++;
			if (strstr(out, "memory") == NULL)
				fail_msg("n=%ld: %s", n, out);
		} else
			assert_string_equal(out, "42:OK:a,b");
		sandbox_fail_alloc(sb, 0);
		h_still_fine(sb);
	}
	assert_true(failures > 0);
	sandbox_free(sb);
}

static void
test_fault_injection_rules(void **state)
{
	struct rules *r;
	struct sandbox *sb;
	const struct rules_result *res;
	char *st = NULL;
	long n, failures = 0;

	(void)state;
	r = h_load("return { rules = { a = function(pos, dev)"
	    " dev.state.n = (dev.state.n or 0) + 1; dev.state.t = { pos.time }"
	    " return { type = 'a', message = 'n' .. dev.state.n, v = pos.speed } end,"
	    " b = function(pos) return { type = 'b' } end } }");
	sb = rules_sandbox(r);
	for (n = 1; n <= 60; n++) {
		sandbox_fail_alloc(sb, n);
		res = h_run(r, "d", "time=5000 speed=12.5 in=f1,f2", &st);
		sandbox_fail_alloc(sb, 0);
		if (res->nerrors > 0) {
			failures++;
			if (strstr(res->errors[0].message, "memory") == NULL)
				fail_msg("n=%ld: %s", n, res->errors[0].message);
		}
		rules_reset_failures(r);
	}
	assert_true(failures > 0);
	/* Whatever failed, a clean run is right and the state consistent. */
	res = h_run(r, "d", "time=6000 speed=1", &st);
	assert_int_equal(res->nerrors, 0);
	assert_string_equal(h_types(res), "a b");
	rules_free(r);
	free(st);
}

/* Wall-clock seconds (the guard must answer at once). */
/* The pos table is shared by all rules: tricks on it must not leak. */
static void
test_pos_tricks(void **state)
{
	struct rules *r;
	const struct rules_result *res;
	char *st = NULL;

	(void)state;
	r = h_load_nc("return { rules = {"
	    " a1 = function(pos) setmetatable(pos, { __index = function() return 'evil' end }) end,"
	    " a2 = function(pos) getmetatable(pos).__index = {} end,"
	    " a3 = function(pos) rawset(pos, 'speed', 0) end,"
	    " a4 = function(pos) getmetatable('').__index = { upper = function() return 'evil' end } end,"
	    " a5 = function(pos, dev) dev.command = nil end,"
	    " a6 = function(pos, dev) _ENV = { type = function() return 'evil' end } end,"
	    " a7 = function(pos, dev) string.format = function() return 'evil' end end,"
	    " z = function(pos, dev) return { type = 'ok', message ="
	    "   string.format('%s %s %s %s', pos.speed, tostring(pos.missing),"
	    "   ('x'):upper(), type(dev.command)) } end } }");
	res = h_run(r, "d", "time=1 speed=50", &st);
	assert_int_equal(res->nerrors, 7);
	assert_int_equal(res->nalerts, 1);
	assert_string_equal(res->alerts[0].message, "50 nil X function");
	res = h_run(r, "d", "time=2 speed=60", &st);
	assert_string_equal(res->alerts[0].message, "60 nil X function");
	rules_free(r);
	free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes_refused),
		cmocka_unit_test(test_tampering_refused),
		cmocka_unit_test(test_loops_stopped),
		cmocka_unit_test(test_memory_capped),
		cmocka_unit_test(test_recursion_stopped),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_fault_injection),
		cmocka_unit_test(test_fault_injection_rules),
		cmocka_unit_test(test_pos_tricks),
	};

	return cmocka_run_group_tests_name("rules/sandbox", tests, NULL, NULL);
}
