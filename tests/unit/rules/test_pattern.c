/*
 * Unit tests for rules/pattern.c: the worst-case bound worked out by hand
 * from the formula in pattern.h, and the guard in a sandbox: what
 * exceeds the budget is refused at once, every way in, while ordinary
 * patterns run and give the stock results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "tests/unit/rules/harness.h"

#include "rules/pattern.h"
#include "rules/sandbox.h"

#define P(s) (s), strlen(s)

static void
test_bound(void **state)
{
	(void)state;
	/* No repetition, fewer than 20 optional items: never refused. */
	assert_true(pattern_bound(P("abc"), 1000) == 0);
	assert_true(pattern_bound(P("%d%d:(%a)"), 1000) == 0);
	assert_true(pattern_bound(P("a?b?c?"), 1000) == 0);
	/* k = 1, unanchored: (n+1)^2 = 11^2. */
	assert_true(pattern_bound(P("a*b"), 10) == 121);
	/* Anchored: one start position, (n+1)^k = 11. */
	assert_true(pattern_bound(P("^a+b"), 10) == 11);
	/* k = 3 (x*, x-, x+): 11^4 = 14641. */
	assert_true(pattern_bound(P("a*b-c+"), 10) == 14641);
	/* %b and back-references scan too: k = 2, 11^3 = 1331. */
	assert_true(pattern_bound(P("%b()(a)%1"), 10) == 1331);
	/* A set counts once, its repetition too: [a*]* is k = 1. */
	assert_true(pattern_bound(P("[a*]*"), 10) == 121);
	/* %f[set] does not repeat; an escaped %* is a literal. */
	assert_true(pattern_bound(P("%f[%a]%*"), 10) == 0);
	/* Optional items double the bound: k = 1, q = 2: 11^2 * 4. */
	assert_true(pattern_bound(P("a*b?c?"), 10) == 484);
	/* Twenty optional items and no repetition: (n+1) * 2^20. */
	assert_true(pattern_bound(P("a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?"),
	    10) == 11.0 * 1048576);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Patterns run in C, out of the hook's reach: the guard bounds them. */
static void
test_patterns_bounded(void **state)
{
	struct sandbox *sb = h_sealed(0);
	char out[512];
	double t0;

	(void)state;
	/* (n+1)^(k+1) = 50001^21 steps: refused at once, every way in. */
	t0 = now_s();
	h_refused(sb, "return string.rep('a', 50000):find(string.rep('a*', 20) .. 'b')",
	    "pattern too complex for a subject of 50000 bytes (20 repetitions");
	h_refused(sb, "local s = string.rep('a', 50000) "
	    "return s:match(string.rep('a-', 20) .. 'b')", "too complex");
	h_refused(sb, "for w in string.gmatch(string.rep('a', 5000), "
	    "'(a+)(a+)(a+)b') do end", "too complex");
	h_refused(sb, "return (string.rep('x', 5000):gsub('x*x*x*y', ''))",
	    "too complex");
	h_refused(sb, "return string.rep('(', 3000):find('%b()%b()%b()')",
	    "too complex");
	h_refused(sb, "return string.rep('a', 1000):find(string.rep('a?', 40) .. 'b')",
	    "too complex");
	/* A rule's pcall gets the error, not a stall; the next call is fine. */
	assert_int_equal(h_sb_run(sb, "local ok, e = pcall(string.find, "
	    "string.rep('a', 50000), string.rep('a*', 20) .. 'b') "
	    "return tostring(ok) .. ' ' .. tostring(e:find('too complex') ~= nil)",
	    out, sizeof out), 0);
	assert_string_equal(out, "false true");
	assert_true(now_s() - t0 < 2.0);
	/* Ordinary patterns are untouched, and still right. */
	assert_int_equal(h_sb_run(sb, "local s = string.rep('x', 100000) "
	    "local a, b = s:find('^x*$') "
	    "local c = select(2, s:gsub('x', 'y')) "
	    "local d = s:find('x*x*', 99990, true) "
	    "local k, v = ('k=v; '):rep(10):match('(%w+)=(%w+)') "
	    "local n = 0 for w in ('a,bb,ccc'):gmatch('[^,]+') do n = n + #w end "
	    "local h, m = ('07:30'):match('^(%d%d?):(%d%d)$') "
	    "local g = ('hello world'):gsub('(%w+)', '<%1>') "
	    "return string.format('%d %d %d %s %s%s %d %s:%s %s', a, b, c, "
	    "tostring(d), k, v, n, h, m, g)", out, sizeof out), 0);
	assert_string_equal(out, "1 100000 100000 nil kv 6 07:30 "
	    "<hello> <world>");
	/* The limit follows the budget: what a big budget allows, a small
	 * one refuses. */
	assert_int_equal(h_sb_run(sb, "return tostring((string.rep('ab', 500)"
	    ":find('(b+)$')))", out, sizeof out), 0);
	assert_string_equal(out, "1000");
	sandbox_free(sb);
	sb = h_sealed(1000);
	h_refused(sb, "return (string.rep('ab', 500):find('(b+)$'))",
	    "too complex");
	sandbox_free(sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_patterns_bounded),
	};

	return cmocka_run_group_tests_name("rules/pattern", tests, NULL, NULL);
}
