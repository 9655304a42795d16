/*
 * Unit tests for ingest/gps103_field.c and the readers of gps103_field.h:
 * splitting on commas, the digit limits of protocols/TK103.md section 3
 * (18 decimal, 15 hex digits; a digit before the '.'), the coordinate
 * "dddmm.mmmm" and the rejection texts.  Expected values by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "ingest/gps103_field.h"
#include "ingest/report.h"

static void
check_field(const struct gps103_field *f, const char *want)
{
	assert_int_equal(f->n, strlen(want));
	assert_memory_equal(f->p, want, f->n);
}

static void
test_split(void **state)
{
	struct gps103_field f[4];
	const char *s;

	(void)state;
	s = "a,,b";
	assert_int_equal(gps103_field_split(s, strlen(s), f, 4), 3);
	check_field(&f[0], "a");
	check_field(&f[1], "");
	check_field(&f[2], "b");
	/* More fields than room: the last one keeps the rest, commas too. */
	s = "1,2,3,4,5";
	assert_int_equal(gps103_field_split(s, strlen(s), f, 3), 3);
	check_field(&f[1], "2");
	check_field(&f[2], "3,4,5");
	/* Nothing is one empty field; a trailing comma one more. */
	assert_int_equal(gps103_field_split("", 0, f, 4), 1);
	check_field(&f[0], "");
	s = "x,";
	assert_int_equal(gps103_field_split(s, strlen(s), f, 4), 2);
	check_field(&f[1], "");
	/* Only s[0..n) is read. */
	assert_int_equal(gps103_field_split("ab,cd", 2, f, 4), 1);
	check_field(&f[0], "ab");
}

static void
test_integers(void **state)
{
	uint64_t u = 7;
	int64_t i = 7;

	(void)state;
	assert_true(gps103_field_uint("123456789012345678", 18, &u));
	assert_true(u == 123456789012345678ULL);
	/* 19 digits are refused, not saturated; *v stays. */
	u = 7;
	assert_false(gps103_field_uint("1234567890123456789", 19, &u));
	assert_int_equal(u, 7);
	assert_false(gps103_field_uint("", 0, &u));
	assert_false(gps103_field_uint("12a", 3, &u));
	assert_false(gps103_field_uint("+1", 2, &u));

	assert_true(gps103_field_int("-5", 2, &i));
	assert_int_equal(i, -5);
	assert_true(gps103_field_int("+88", 3, &i));
	assert_int_equal(i, 88);
	/* The sign does not count against the 18 digits. */
	assert_true(gps103_field_int("-123456789012345678", 19, &i));
	assert_true(i == -123456789012345678LL);
	assert_false(gps103_field_int("-", 1, &i));
	assert_false(gps103_field_int("1234567890123456789", 19, &i));

	/* 0x1E240 = 1*65536 + 14*4096 + 2*256 + 4*16 = 123456. */
	assert_true(gps103_field_hex("1E240", 5, &u));
	assert_int_equal(u, 123456);
	/* 15 hex digits: 2^60 - 1; a 16th is refused. */
	assert_true(gps103_field_hex("fffffffffffffff", 15, &u));
	assert_true(u == 1152921504606846975ULL);
	assert_false(gps103_field_hex("1000000000000000", 16, &u));
	assert_false(gps103_field_hex("1g", 2, &u));
}

static void
test_numbers(void **state)
{
	double v = 0;
	int dec = -1;

	(void)state;
	assert_true(gps103_field_num("45.30", 5, 0, &v, &dec));
	assert_float_equal(v, 45.3, 1e-12);
	assert_int_equal(dec, 2);
	assert_true(gps103_field_num("12.", 3, 0, &v, &dec));
	assert_float_equal(v, 12.0, 1e-12);
	assert_int_equal(dec, 0);
	/* A digit is needed before the '.'. */
	assert_false(gps103_field_num(".5", 2, 0, &v, &dec));
	/* A sign only where allowed. */
	assert_false(gps103_field_num("-1.5", 4, 0, &v, &dec));
	assert_true(gps103_field_num("-1.5", 4, GPS103_FIELD_SIGN, &v, &dec));
	assert_float_equal(v, -1.5, 1e-12);
	assert_false(gps103_field_num("-", 1, GPS103_FIELD_SIGN, &v, &dec));
	/* NEEDFRAC wants a '.' and a decimal. */
	assert_false(gps103_field_num("12", 2, GPS103_FIELD_NEEDFRAC, &v,
	    NULL));
	assert_false(gps103_field_num("12.", 3, GPS103_FIELD_NEEDFRAC, &v,
	    NULL));
	assert_true(gps103_field_num("12.0", 4, GPS103_FIELD_NEEDFRAC, &v,
	    NULL));
	/* 15 integer digits at most; decimals printed are capped at 9. */
	assert_false(gps103_field_num("1234567890123456", 16, 0, &v, NULL));
	assert_true(gps103_field_num("1.0123456789012", 15, 0, &v, &dec));
	assert_int_equal(dec, 9);
	assert_false(gps103_field_num("1.5x", 4, 0, &v, NULL));
}

static void
test_coordinates(void **state)
{
	double deg = 0;

	(void)state;
	/* 48 deg 07.0380 min = 48 + 7.038 / 60 = 48.1173. */
	assert_true(gps103_field_dm("4807.0380", 9, &deg));
	assert_float_equal(deg, 48.1173, 1e-9);
	/* No degrees: 31.5 min = 0.525 deg. */
	assert_true(gps103_field_dm("31.50000", 8, &deg));
	assert_float_equal(deg, 0.525, 1e-9);
	assert_false(gps103_field_dm("4807", 4, &deg));
	assert_false(gps103_field_dm("1234567.5", 9, &deg));
	assert_false(gps103_field_dm("1.1234567890123", 15, &deg));
	assert_false(gps103_field_dm("-4807.5", 7, &deg));
}

static void
test_small_predicates(void **state)
{
	struct gps103_field dashes = { "---", 3 }, none = { "", 0 };
	struct gps103_field mixed = { "-a", 2 }, word = { "OBD", 3 };

	(void)state;
	assert_true(gps103_field_dashes(&dashes));
	assert_false(gps103_field_dashes(&none));
	assert_false(gps103_field_dashes(&mixed));
	assert_true(GPS103_FIELD_IS(&word, "OBD"));
	assert_false(GPS103_FIELD_IS(&word, "OB"));
	assert_int_equal(gps103_field_d2("59"), 59);
	assert_true(gps103_field_digits("0123", 4));
	assert_false(gps103_field_digits("01a3", 4));
	assert_true(gps103_field_is_space('\t'));
	assert_true(gps103_field_is_space('\0'));
	assert_false(gps103_field_is_space(','));
}

static void
test_rejections(void **state)
{
	char err[128], big[100];
	struct gps103_field f = { "4\x01", 2 }, lng = { big, sizeof big };
	char want[128];

	(void)state;
	assert_int_equal(gps103_field_bad(err, sizeof err, "speed", &f),
	    REPORT_ERROR);
	assert_string_equal(err, "gps103: bad speed '4\\x01'");
	/* The value is cut to 63 characters. */
	memset(big, 'a', sizeof big);
	gps103_field_bad(err, sizeof err, "name", &lng);
	strcpy(want, "gps103: bad name '");
	memset(want + strlen(want), 'a', 63);
	strcpy(want + 18 + 63, "'");
	assert_string_equal(err, want);
	/* errlen 0: nothing written. */
	err[0] = 'x';
	assert_int_equal(gps103_field_fail(err, 0, "gps103: %d", 1),
	    REPORT_ERROR);
	assert_int_equal(err[0], 'x');
	assert_int_equal(gps103_field_fail(err, sizeof err,
	    "gps103: report cut short (%d fields)", 4), REPORT_ERROR);
	assert_string_equal(err, "gps103: report cut short (4 fields)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_coordinates),
		cmocka_unit_test(test_small_predicates),
		cmocka_unit_test(test_rejections),
	};

	return cmocka_run_group_tests_name("ingest/gps103_field", tests, NULL,
	    NULL);
}
