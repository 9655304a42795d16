/*
 * Unit tests for rules/devstate.c (and the encoder it relies on,
 * bind_to_text): the state text is canonical (what jansson writes for the
 * same value), the live tables follow the text the caller passes (a
 * rolled-back batch gets the older state back), a failed rule is rolled
 * back although its table was changed in place, devices past the cache's
 * size keep their state, and pairs(pos) sees every field of the current
 * position only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <lauxlib.h>

#include "tests/unit/rules/harness.h"

#include "rules/bind.h"
#include "rules/devstate.h"
#include "rules/sandbox.h"

/* Encodes the value Lua expression src evaluates to. */
static int
encode(struct sandbox *sb, const char *src, struct bind_buf *out, char *err,
    size_t errlen)
{
	lua_State *L = sandbox_lua(sb);
	char chunk[2048];
	int rc;

	snprintf(chunk, sizeof chunk, "return %s", src);
	if (sandbox_load(sb, chunk, strlen(chunk), "=enc", err, errlen) == -1 ||
	    sandbox_call(sb, 0, 1, err, errlen) == -1)
		fail_msg("%s: %s", src, err);
	rc = bind_to_text(L, -1, "v", 1 << 20, out, err, errlen);
	lua_pop(L, 1);
	return rc;
}

/*
 * The text must parse, and jansson's own canonical dump of what it parsed
 * must be the very same bytes.
 */
static void
assert_canonical(struct sandbox *sb, const char *src)
{
	struct bind_buf b = { 0 };
	char err[256], *again;
	json_t *v;

	if (encode(sb, src, &b, err, sizeof err) == -1)
		fail_msg("%s: %s", src, err);
	v = json_loads(b.p, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (v == NULL)
		fail_msg("%s: not JSON: %s", src, b.p);
	again = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (strcmp(again, b.p) != 0)
		fail_msg("%s: %s, jansson writes %s", src, b.p, again);
	free(again);
	json_decref(v);
	bind_buf_free(&b);
}

static void
test_text_is_canonical(void **state)
{
	char err[256];
	struct sandbox *sb = sandbox_new(0, 0, err, sizeof err);
	struct bind_buf b = { 0 };

	(void)state;
	assert_non_null(sb);
	/* Exact texts worked out by hand. */
	assert_int_equal(encode(sb, "{ b = 1, a = { 2, 3 }, c = { y = true, "
	    "x = false } }", &b, err, sizeof err), 0);
	assert_string_equal(b.p,
	    "{\"a\":[2,3],\"b\":1,\"c\":{\"x\":false,\"y\":true}}");
	assert_int_equal(encode(sb, "{ s = 'a\"b\\\\c\\n\\1\\127/\\u{e9}' }", &b,
	    err, sizeof err), 0);
	assert_string_equal(b.p, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\x7f/\xc3\xa9\"}");
	assert_int_equal(encode(sb, "{ 0.5, -3.0, 1e300, 2^63, "
	    "-9223372036854775807 - 1 }", &b, err, sizeof err), 0);
	assert_string_equal(b.p, "[0.5,-3.0,1.0000000000000001e300,"
	    "9.2233720368547758e18,-9223372036854775808]");
	assert_int_equal(encode(sb, "{}", &b, err, sizeof err), 0);
	assert_string_equal(b.p, "{}");
	/* Keys sort bytewise, a prefix first; nested objects too. */
	assert_int_equal(encode(sb, "{ ab = 1, a = 2, B = 3, ['a b'] = 4, "
	    "z = { k2 = 1, k10 = 2, k1 = 3 } }", &b, err, sizeof err), 0);
	assert_string_equal(b.p, "{\"B\":3,\"a\":2,\"a b\":4,\"ab\":1,"
	    "\"z\":{\"k1\":3,\"k10\":2,\"k2\":1}}");
	/* And jansson agrees on all sorts of values. */
	assert_canonical(sb, "{ 0.1, 1/3, -1e-7, 123456789.125, 1e21, 5e-324 }");
	assert_canonical(sb, "{ t = { '\\0\\31\\8\\12\\13\\9', 'x' }, "
	    "['\\u{10FFFF}'] = 1, ['\\u{7FF}\\u{800}'] = { {}, { {} } } }");
	assert_canonical(sb, "(function() local t = {} for i = 1, 50 do "
	    "t['k' .. (i * 7919 % 50)] = i end return t end)()");
	/* Refusals name the path. */
	assert_int_equal(encode(sb, "{ a = { b = { 1, print } } }", &b, err,
	    sizeof err), -1);
	assert_string_equal(err, "v.a.b[2]: cannot keep a function value");
	assert_int_equal(encode(sb, "{ s = '\\xff' }", &b, err, sizeof err), -1);
	assert_string_equal(err, "v.s: string is not valid UTF-8");
	assert_int_equal(encode(sb, "{ ['\\xed\\xa0\\x80'] = 1 }", &b, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "key is not valid UTF-8"));
	assert_int_equal(encode(sb, "{ s = '\\xc0\\x80' }", &b, err, sizeof err),
	    -1);
	bind_buf_free(&b);
	sandbox_free(sb);
}

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
		cmocka_unit_test(test_text_is_canonical),
		cmocka_unit_test(test_follows_the_callers_text),
		cmocka_unit_test(test_failed_rule_rolled_back),
		cmocka_unit_test(test_many_devices),
		cmocka_unit_test(test_pos_pairs),
	};

	return cmocka_run_group_tests_name("rules/devstate", tests, NULL, NULL);
}
