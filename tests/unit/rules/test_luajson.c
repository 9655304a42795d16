/*
 * Unit tests for rules/luajson.c: the text luajson_encode writes is
 * canonical (what jansson writes for the same value; exact texts worked
 * out by hand), refusals name the path, and JSON pushed with luajson_push
 * comes back as the same canonical text, null members left out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <lauxlib.h>

#include "tests/unit/rules/harness.h"

#include "rules/luajson.h"
#include "rules/sandbox.h"

/* Encodes the value Lua expression src evaluates to. */
static int
encode(struct sandbox *sb, const char *src, struct luajson_buf *out, char *err,
    size_t errlen)
{
	lua_State *L = sandbox_lua(sb);
	char chunk[2048];
	int rc;

	snprintf(chunk, sizeof chunk, "return %s", src);
	if (sandbox_load(sb, chunk, strlen(chunk), "=enc", err, errlen) == -1 ||
	    sandbox_call(sb, 0, 1, err, errlen) == -1)
		fail_msg("%s: %s", src, err);
	rc = luajson_encode(L, -1, "v", 1 << 20, out, err, errlen);
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
	struct luajson_buf b = { 0 };
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
	luajson_buf_free(&b);
}

static void
test_text_is_canonical(void **state)
{
	char err[256];
	struct sandbox *sb = sandbox_new(0, 0, err, sizeof err);
	struct luajson_buf b = { 0 };

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
	luajson_buf_free(&b);
	sandbox_free(sb);
}

struct round {
	const char *in;
	struct luajson_buf out;
	int rc;
	char err[256];
};

/* Pushes r->in parsed by jansson, then encodes it (run protected). */
static int
l_round(lua_State *L)
{
	struct round *r = lua_touserdata(L, 1);
	json_t *v = json_loads(r->in, JSON_DECODE_ANY, NULL);

	if (v == NULL)
		return luaL_error(L, "bad JSON in the test: %s", r->in);
	luajson_push(L, v);
	json_decref(v);
	r->rc = luajson_encode(L, -1, "v", 1 << 20, &r->out, r->err,
	    sizeof r->err);
	return 0;
}

/* The text in comes back from Lua as want. */
static void
assert_round(struct sandbox *sb, const char *in, const char *want)
{
	struct round r = { in, { 0 }, -1, "" };
	char err[256];

	if (sandbox_protect(sb, l_round, &r, err, sizeof err) == -1)
		fail_msg("%s: %s", in, err);
	if (r.rc == -1)
		fail_msg("%s: %s", in, r.err);
	if (strcmp(r.out.p, want) != 0)
		fail_msg("%s: got %s, want %s", in, r.out.p, want);
	luajson_buf_free(&r.out);
}

static void
test_push_round_trip(void **state)
{
	struct sandbox *sb = h_sealed(0);

	(void)state;
	assert_round(sb, "{\"b\":[1,2.5,\"x\",true,false],\"a\":{\"k\":\"v\"}}",
	    "{\"a\":{\"k\":\"v\"},\"b\":[1,2.5,\"x\",true,false]}");
	/* Null members vanish (a Lua table cannot hold nil). */
	assert_round(sb, "{\"n\":null,\"o\":{\"m\":null},\"s\":\"\\u00e9\"}",
	    "{\"o\":{},\"s\":\"\xc3\xa9\"}");
	/* Integers stay integers, reals stay reals. */
	assert_round(sb, "[-9223372036854775808,3.0,1e300]",
	    "[-9223372036854775808,3.0,1.0000000000000001e300]");
	assert_round(sb, "{}", "{}");
	sandbox_free(sb);
}

static void
test_buf_put_string(void **state)
{
	struct luajson_buf b = { 0 };

	(void)state;
	luajson_buf_put(&b, "[", 1);
	luajson_buf_put_string(&b, "a\"\\\n\x01/", 6);
	luajson_buf_put(&b, "]", 1);
	assert_int_equal(b.len, strlen(b.p));
	assert_string_equal(b.p, "[\"a\\\"\\\\\\n\\u0001/\"]");
	luajson_buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_is_canonical),
		cmocka_unit_test(test_push_round_trip),
		cmocka_unit_test(test_buf_put_string),
	};

	return cmocka_run_group_tests_name("rules/luajson", tests, NULL, NULL);
}
