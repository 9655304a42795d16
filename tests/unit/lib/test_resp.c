/* Unit tests for lib/resp.c: RESP2 commands, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/resp.h"

/* b holds exactly the len bytes of want. */
static void
assert_bytes(const struct resp *b, const char *want, size_t len)
{
	assert_int_equal(resp_len(b), len);
	assert_memory_equal(resp_data(b), want, len);
}

#define ASSERT_RESP(b, lit) assert_bytes((b), (lit), sizeof(lit) - 1)

static void
test_command_of_strings(void **state)
{
	struct resp *b = resp_new(0);
	const char *argv[] = { "HSET", "ga:device:0123", "online", "1" };
	const size_t lens[] = { 4, 14, 6, 1 };

	(void)state;
	resp_command(b, 4, argv, lens);
	ASSERT_RESP(b, "*4\r\n$4\r\nHSET\r\n$14\r\nga:device:0123\r\n"
	    "$6\r\nonline\r\n$1\r\n1\r\n");
	resp_free(b);
}

static void
test_pieces_make_the_same_command(void **state)
{
	struct resp *b = resp_new(0);

	(void)state;
	resp_array(b, 3);
	resp_bulk_str(b, "SET");
	resp_bulk(b, "key", 3);
	resp_bulk_int(b, 1700000000123LL);
	ASSERT_RESP(b, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$13\r\n1700000000123\r\n");
	resp_free(b);
}

static void
test_binary_and_empty_arguments(void **state)
{
	struct resp *b = resp_new(0);
	/* CR, LF, NUL and 8-bit bytes pass as they are: the length says
	 * where the argument ends. */
	static const char bin[] = { 'a', '\r', '\n', '\0', (char)0xff };

	(void)state;
	resp_array(b, 3);
	resp_bulk(b, bin, sizeof bin);
	resp_bulk(b, NULL, 0);
	resp_bulk_str(b, "");
	ASSERT_RESP(b, "*3\r\n$5\r\na\r\n\0\xff\r\n$0\r\n\r\n$0\r\n\r\n");
	resp_free(b);
}

static void
test_integers(void **state)
{
	char out[RESP_INT_MAX];
	struct resp *b = resp_new(0);

	(void)state;
	assert_int_equal(resp_int(out, 0), 1);
	assert_memory_equal(out, "0", 1);
	assert_int_equal(resp_int(out, -7), 2);
	assert_memory_equal(out, "-7", 2);
	assert_int_equal(resp_int(out, 10), 2);
	assert_memory_equal(out, "10", 2);
	assert_int_equal(resp_int(out, INT64_MAX), 19);
	assert_memory_equal(out, "9223372036854775807", 19);
	assert_int_equal(resp_int(out, INT64_MIN), 20);
	assert_memory_equal(out, "-9223372036854775808", 20);
	resp_bulk_int(b, -1);
	resp_bulk_int(b, 100000);
	ASSERT_RESP(b, "$2\r\n-1\r\n$6\r\n100000\r\n");
	resp_free(b);
}

static void
test_lengths_of_several_digits(void **state)
{
	struct resp *b = resp_new(0);
	char big[1234];
	const char *argv[12];
	size_t lens[12];

	(void)state;
	memset(big, 'x', sizeof big);
	resp_bulk(b, big, sizeof big);
	assert_int_equal(resp_len(b), 7 + 1234 + 2);
	assert_memory_equal(resp_data(b), "$1234\r\nxxx", 10);
	assert_memory_equal(resp_data(b) + 7 + 1234, "\r\n", 2);
	/* A command of 12 arguments: a two-digit array header. */
	resp_clear(b);
	for (int i = 0; i < 12; i++) {
		argv[i] = "v";
		lens[i] = 1;
	}
	resp_command(b, 12, argv, lens);
	assert_int_equal(resp_len(b), 5 + 12 * 7);
	assert_memory_equal(resp_data(b), "*12\r\n$1\r\nv\r\n", 12);
	resp_free(b);
}

static void
test_pipeline_grows_past_the_hint(void **state)
{
	struct resp *b = resp_new(8);
	const char *argv[] = { "PING" };
	const size_t lens[] = { 4 };
	const char one[] = "*1\r\n$4\r\nPING\r\n";

	(void)state;
	/* 1000 commands back to back, far beyond the 8 bytes first asked
	 * for: every one intact and in place. */
	for (int i = 0; i < 1000; i++)
		resp_command(b, 1, argv, lens);
	assert_int_equal(resp_len(b), 1000 * (sizeof one - 1));
	for (int i = 0; i < 1000; i++)
		assert_memory_equal(resp_data(b) + (size_t)i * (sizeof one - 1),
		    one, sizeof one - 1);
	resp_free(b);
}

static void
test_truncate_and_clear(void **state)
{
	struct resp *b = resp_new(0);
	size_t mark;

	(void)state;
	resp_array(b, 1);
	resp_bulk_str(b, "PING");
	mark = resp_len(b);
	resp_array(b, 2);
	resp_bulk_str(b, "GET");
	resp_truncate(b, mark);
	ASSERT_RESP(b, "*1\r\n$4\r\nPING\r\n");
	/* Truncating beyond the end changes nothing. */
	resp_truncate(b, 1000);
	assert_int_equal(resp_len(b), 14);
	resp_clear(b);
	assert_int_equal(resp_len(b), 0);
	resp_bulk_str(b, "ok");
	ASSERT_RESP(b, "$2\r\nok\r\n");
	resp_free(b);
	resp_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_of_strings),
		cmocka_unit_test(test_pieces_make_the_same_command),
		cmocka_unit_test(test_binary_and_empty_arguments),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_lengths_of_several_digits),
		cmocka_unit_test(test_pipeline_grows_past_the_hint),
		cmocka_unit_test(test_truncate_and_clear),
	};

	return cmocka_run_group_tests_name("lib/resp", tests, NULL, NULL);
}
