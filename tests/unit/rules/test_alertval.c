/*
 * Unit tests for rules/alertval.c: a rule's return value (a Lua value
 * built in a sandbox) parsed into alerts, and every refusal alertval.h
 * lists, each worked out from the rules there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/rules/harness.h"

#include "rules/alertval.h"
#include "rules/sandbox.h"

static struct sandbox *sb;
static struct alertval out[4];
static size_t n;
static char err[256];

static int
setup(void **state)
{
	(void)state;
	sb = h_sealed(0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sandbox_free(sb);
	return 0;
}

/* Parses the value of the Lua expression src (at most max alerts). */
static int
parse(const char *src, size_t max)
{
	lua_State *L = sandbox_lua(sb);
	int rc;

	h_sb_eval(sb, src);
	err[0] = '\0';
	rc = alertval_parse(L, -1, out, max, &n, err, sizeof err);
	lua_pop(L, 1);
	assert_int_equal(lua_gettop(L), 0);
	return rc;
}

static void
clear_all(void)
{
	size_t i;

	for (i = 0; i < n; i++)
		alertval_clear(&out[i]);
}

/* src is refused with an error containing want, leaving nothing. */
static void
refused(const char *src, const char *want)
{
	if (parse(src, 4) != -1)
		fail_msg("%s: accepted", src);
	assert_int_equal(n, 0);
	if (strstr(err, want) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", src, err, want);
}

static void
test_accepted(void **state)
{
	(void)state;
	assert_int_equal(parse("nil", 4), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse("{}", 4), 0);
	assert_int_equal(n, 0);

	assert_int_equal(parse("{ type = 'a' }", 4), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].type, "a");
	assert_null(out[0].message);
	assert_null(out[0].extra);
	clear_all();

	/* Numbers as messages: integers as such, reals with 14 digits. */
	assert_int_equal(parse("{ { type = 'x.y-z_1', message = 12 },"
	    " { type = 'b', message = 1.5 }, { type = 'c', message = 1/3 } }",
	    4), 0);
	assert_int_equal(n, 3);
	assert_string_equal(out[0].type, "x.y-z_1");
	assert_string_equal(out[0].message, "12");
	assert_string_equal(out[1].message, "1.5");
	assert_string_equal(out[2].message, "0.33333333333333");
	clear_all();

	/* Other fields: a JSON object with sorted keys. */
	assert_int_equal(parse("{ type = 't', message = 'm', z = 1, a = 'x',"
	    " b = true, f = 0.25 }", 4), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].message, "m");
	assert_string_equal(out[0].extra,
	    "{\"a\":\"x\",\"b\":true,\"f\":0.25,\"z\":1}");
	clear_all();

	/* A type of exactly 64 characters is fine. */
	assert_int_equal(parse("{ type = string.rep('t', 64) }", 4), 0);
	assert_int_equal(strlen(out[0].type), 64);
	clear_all();
}

static void
test_refused(void **state)
{
	(void)state;
	refused("'text'", "must return nil, an alert table or a list of them "
	    "(got string)");
	refused("{ message = 'no type' }", "an alert needs a 'type'");
	refused("{ type = 'bad type' }", "an alert needs a 'type'");
	refused("{ type = string.rep('t', 65) }", "an alert needs a 'type'");
	refused("{ type = 'a', time = 1 }", "alert field 'time' is set by the "
	    "engine");
	refused("{ type = 'a', [1] = 2 }", "alert field names must be strings "
	    "(got a number key)");
	refused("{ type = 'a', t = {} }", "alert field 't' must be a string");
	refused("{ type = 'a', x = 0/0 }", "alert field 'x' must be a string");
	refused("{ type = 'a', message = {} }", "alert message must be a "
	    "string (got table)");
	refused("{ type = 'a', message = string.rep('m', 1025) }",
	    "alert message longer than 1024 bytes");
	refused("(function() local t = { type = 'a' } for i = 1, 33 do"
	    " t['f' .. i] = i end return t end)()", "more than 32 alert fields");
	/* In a list: the first bad one is named, the good ones freed. */
	refused("{ { type = 'a' }, 5 }", "alert 2 is a number, not a table");
	refused("{ { type = 'a' }, { type = 'b', id = 1 } }", "'id'");
	/* At most max alerts. */
	assert_int_equal(parse("{ { type = 'a' }, { type = 'b' },"
	    " { type = 'c' } }", 2), -1);
	assert_int_equal(n, 0);
	assert_string_equal(err, "a rule may return at most 2 alerts (got 3)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests_name("rules/alertval", tests, setup,
	    teardown);
}
