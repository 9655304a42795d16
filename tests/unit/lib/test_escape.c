/* Unit tests for lib/escape.c: the \xNN form of device bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/escape.h"

static void
test_hexdigit(void **state)
{
	(void)state;
	assert_int_equal(escape_hexdigit('0'), 0);
	assert_int_equal(escape_hexdigit('9'), 9);
	assert_int_equal(escape_hexdigit('a'), 10);
	assert_int_equal(escape_hexdigit('f'), 15);
	assert_int_equal(escape_hexdigit('A'), 10);
	assert_int_equal(escape_hexdigit('F'), 15);
	/* The neighbours of each range. */
	assert_int_equal(escape_hexdigit('/'), -1);
	assert_int_equal(escape_hexdigit(':'), -1);
	assert_int_equal(escape_hexdigit('`'), -1);
	assert_int_equal(escape_hexdigit('g'), -1);
	assert_int_equal(escape_hexdigit('@'), -1);
	assert_int_equal(escape_hexdigit('G'), -1);
	assert_int_equal(escape_hexdigit(0), -1);
	assert_int_equal(escape_hexdigit(0xe1), -1);
	assert_int_equal(escape_hexdigit(-31), -1);	/* 0xe1 as signed char */
}

static void
test_escape(void **state)
{
	static const uint8_t in[] = { 'a', '\\', '\r', '\n', 0x00, 0xff, 'z' };
	char out[64];

	(void)state;
	assert_int_equal(escape_bytes(out, sizeof out, in, sizeof in), sizeof in);
	assert_string_equal(out, "a\\\\\\x0d\\x0a\\x00\\xffz");
	/* Cut at whole escapes: "a" "\\\\" fit in 4 bytes, "\x0d" does not. */
	assert_int_equal(escape_bytes(out, 4, in, sizeof in), 2);
	assert_string_equal(out, "a\\\\");
}

static void
test_unescape(void **state)
{
	uint8_t out[16];
	const char *s = "A\\x0D\\xfF\\\\b";

	(void)state;
	assert_int_equal(unescape_bytes(out, sizeof out, s, strlen(s)), 5);
	assert_memory_equal(out, "A\r\xff\\b", 5);
	/* Malformed escapes: a non-hex digit, cut short, unknown letter. */
	assert_int_equal(unescape_bytes(out, sizeof out, "\\x0g", 4), -1);
	assert_int_equal(unescape_bytes(out, sizeof out, "\\xg0", 4), -1);
	assert_int_equal(unescape_bytes(out, sizeof out, "\\x0", 3), -1);
	assert_int_equal(unescape_bytes(out, sizeof out, "\\n", 2), -1);
	assert_int_equal(unescape_bytes(out, sizeof out, "\\x\xc3\xa9", 4), -1);
	/* dst too small. */
	assert_int_equal(unescape_bytes(out, 2, "abc", 3), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hexdigit),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_unescape),
	};

	return cmocka_run_group_tests_name("lib/escape", tests, NULL, NULL);
}
