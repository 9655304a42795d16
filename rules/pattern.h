/*
 * pattern.h: the guard that keeps Lua's pattern matcher (C code, out of
 * the count hook's reach) within a call's instruction budget.
 *
 * string.find, match, gmatch and gsub refuse a pattern whose worst case on
 * the subject exceeds 10 matcher steps per instruction of the sandbox's
 * budget (pattern_bound), with an error naming both numbers; plain finds
 * and patterns without repetitions always pass, and what passes runs in
 * the stock matcher.
 */
#ifndef GA_RULES_PATTERN_H
#define GA_RULES_PATTERN_H

#include <stddef.h>

#include <lua.h>

/*
 * The worst-case matcher steps of pattern p[0..plen) on a subject of n
 * bytes: (n+1)^(k+1) * 2^q, with k the repetitions (x*, x+, x-) plus %b
 * and back-references and q the optional items (x?); (n+1)^k * 2^q when
 * anchored with ^.  0 when the pattern has no repetition and fewer than
 * 20 optional items (never refused).  Pure.
 */
double pattern_bound(const char *p, size_t plen, size_t n);

/*
 * Puts the guard in front of find, match, gmatch and gsub of the string
 * library table at idx (the real one: string methods reach it through the
 * string metatable).  The L must belong to a sandbox (sandbox_of), whose
 * budget at call time sets the limit.  May raise (memory).
 */
void pattern_guard(lua_State *L, int idx);

#endif
