/*
 * pattern.c: the guard in front of string.find, match, gmatch and gsub.
 *
 * Lua's pattern matcher runs in C, where the count hook never fires, and
 * backtracks: each repetition (x*, x+, x-) may retry the rest of the
 * pattern at every position of the subject, so "a*a*a*...b" on a long run
 * of a's takes time exponential in the number of repetitions.  Before
 * string.find, match, gmatch and gsub run, the guard bounds the worst case
 * from the pattern's shape: with n the subject's length, k the
 * repetitions plus %b and back-references (each may scan the subject) and
 * q the optional items (x?), at most (n+1)^(k+1) * 2^q steps ((n+1)^k
 * when anchored with ^: one start position).  A call whose bound exceeds
 * PATTERN_STEPS_PER_INSTR times the call's instruction budget is refused
 * with an error naming both numbers.  Plain finds and patterns without
 * repetitions are never refused; what passes runs in the stock matcher
 * at full speed.  The bound is conservative: a pattern with several
 * repetitions over a long subject may be refused although its actual
 * run would be quick (anchor it, or match a shorter piece).
 *
 * Leaves to others: the budget (sandbox.c) and everything else about the
 * string library.
 */
#include "rules/pattern.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <lauxlib.h>

#include "rules/sandbox.h"

/*
 * A matcher step costs about what a VM instruction does; ten per
 * instruction of budget keeps the worst refused-or-not call within a few
 * times the stall a looping rule may cause.
 */
#define PATTERN_STEPS_PER_INSTR 10

/* Skips the set starting at p ('[' already consumed); returns past ']'. */
static const char *
skip_set(const char *p, const char *end)
{
	if (p < end && *p == '^')
		p++;
	do {		/* the first character may be a literal ']' */
		if (p >= end)
			return end;
		if (*p == '%' && p + 1 < end)
			p++;
		p++;
	} while (p < end && *p != ']');
	return p < end ? p + 1 : end;
}

/* Counts repetitions (and scanning items) and optional items. */
static void
pattern_shape(const char *p, size_t len, int *k, int *q, int *anchored)
{
	const char *end = p + len;

	*k = *q = 0;
	*anchored = len > 0 && *p == '^';
	if (*anchored)
		p++;
	while (p < end) {
		switch (*p) {
		case '(':
		case ')':
			p++;
			continue;
		case '%':
			if (p + 1 >= end)
				return;
			if (p[1] == 'b') {
				(*k)++;
				p += 4;
				continue;
			}
			if (p[1] == 'f') {
				p += 2;
				if (p < end && *p == '[')
					p = skip_set(p + 1, end);
				continue;
			}
			if (p[1] >= '1' && p[1] <= '9') {
				(*k)++;
				p += 2;
				continue;
			}
			p += 2;
			break;
		case '[':
			p = skip_set(p + 1, end);
			break;
		default:
			p++;
			break;
		}
		if (p < end && (*p == '*' || *p == '+' || *p == '-')) {
			(*k)++;
			p++;
		} else if (p < end && *p == '?') {
			(*q)++;
			p++;
		}
	}
}

/* pattern_bound, with the repetitions counted in *k. */
static double
bound(const char *p, size_t plen, size_t n, int *k)
{
	int q, anchored;

	pattern_shape(p, plen, k, &q, &anchored);
	if (*k == 0 && q < 20)
		return 0;
	return pow((double)n + 1, (double)(*k + !anchored)) * pow(2, q);
}

double
pattern_bound(const char *p, size_t plen, size_t n)
{
	int k;

	return bound(p, plen, n, &k);
}

/* Raises unless s may be searched for pattern p within the budget. */
static void
pattern_check(lua_State *L, size_t n, const char *p, size_t plen)
{
	double steps, limit;
	int k;

	steps = bound(p, plen, n, &k);
	limit = (double)sandbox_budget(sandbox_of(L)) * PATTERN_STEPS_PER_INSTR;
	if (steps <= limit)
		return;
	luaL_where(L, 1);
	lua_pushfstring(L, "pattern too complex for a subject of %I bytes "
	    "(%d repetitions: up to %f steps, at most %f allowed; anchor it "
	    "or match a shorter string)", (lua_Integer)n, k, steps, limit);
	lua_concat(L, 2);
	lua_error(L);
}

/* Calls the original function (upvalue 1) with every argument. */
static int
call_original(lua_State *L)
{
	int n = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, n, LUA_MULTRET);
	return lua_gettop(L);
}

/* True when p has none of Lua's pattern specials (find: a plain search). */
static bool
no_specials(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (strchr("^$*+?.([%-", p[i]) != NULL)
			return false;
	return true;
}

/*
 * string.find, match, gmatch and gsub: subject and pattern come first.
 * Upvalue 1: the original function; upvalue 2: true for find, which
 * searches plainly (no matcher) with a true 4th argument or a pattern
 * without specials.
 */
static int
l_guard(lua_State *L)
{
	size_t n, plen;
	const char *p;

	luaL_checklstring(L, 1, &n);
	p = luaL_checklstring(L, 2, &plen);
	if (!lua_toboolean(L, lua_upvalueindex(2)) ||
	    (!lua_toboolean(L, 4) && !no_specials(p, plen)))
		pattern_check(L, n, p, plen);
	return call_original(L);
}

void
pattern_guard(lua_State *L, int idx)
{
	static const char *const names[] = { "find", "match", "gmatch", "gsub",
	    NULL };
	const char *const *n;

	idx = lua_absindex(L, idx);
	for (n = names; *n != NULL; n++) {
		lua_getfield(L, idx, *n);
		lua_pushboolean(L, n == names);
		lua_pushcclosure(L, l_guard, 2);
		lua_setfield(L, idx, *n);
	}
}
