/* Unit tests for ingest/parse.c: the decoders' field readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "ingest/parse.h"

#include "tests/unit/support.h"

/* [s, s + strlen(s)): the readers must stop at end, not at a NUL. */
#define SPAN(s) (s), (s) + strlen(s)

static void
test_digits(void **state)
{
	int v = -1;

	(void)state;
	assert_true(parse_digits(SPAN("180312"), 2, &v));
	assert_int_equal(v, 18);
	assert_true(parse_digits(SPAN("180312"), 6, &v));
	assert_int_equal(v, 180312);
	v = -1;
	assert_false(parse_digits(SPAN("18031"), 6, &v));	/* too short */
	assert_false(parse_digits(SPAN("18x312"), 6, &v));
	assert_int_equal(v, -1);
	/* end bounds the read even when more digits follow in memory. */
	{
		const char *s = "123456";

		assert_false(parse_digits(s, s + 3, 4, &v));
		assert_true(parse_digits(s, s + 4, 4, &v));
		assert_int_equal(v, 1234);
	}
}

static void
test_uint_int_hex(void **state)
{
	uint64_t u = 7;
	int64_t i = 7;
	const char *s = "98765";

	(void)state;
	assert_int_equal(parse_uint(SPAN("0042,x"), &u), 4);
	assert_int_equal(u, 42);
	u = 7;
	assert_int_equal(parse_uint(SPAN(",1"), &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(parse_uint(s, s + 2, &u), 2);
	assert_int_equal(u, 98);
	/* 2^64 saturates; the whole run is consumed. */
	assert_int_equal(parse_uint(SPAN("18446744073709551616"), &u), 20);
	assert_true(u == UINT64_MAX);

	assert_int_equal(parse_int(SPAN("-70*6"), &i), 3);
	assert_int_equal(i, -70);
	assert_int_equal(parse_int(SPAN("+22"), &i), 3);
	assert_int_equal(i, 22);
	i = 7;
	assert_int_equal(parse_int(SPAN("-"), &i), 0);
	assert_int_equal(parse_int(SPAN("+x"), &i), 0);
	assert_int_equal(i, 7);

	assert_int_equal(parse_hex(SPAN("0001E2F5)"), &u), 8);
	assert_int_equal(u, 0x1E2F5);
	assert_int_equal(parse_hex(SPAN("abCD"), &u), 4);
	assert_int_equal(u, 0xABCD);
	u = 7;
	assert_int_equal(parse_hex(SPAN("g1"), &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(parse_hexdigit('f'), 15);
	assert_int_equal(parse_hexdigit('A'), 10);
	assert_int_equal(parse_hexdigit('9'), 9);
	assert_int_equal(parse_hexdigit('g'), -1);
}

static void
test_decimal(void **state)
{
	double v = 7;
	const char *s = "45.30";

	(void)state;
	assert_int_equal(parse_decimal(SPAN("045.3,"), &v), 5);
	assert_near(v, 45.3, 1e-9);
	assert_int_equal(parse_decimal(SPAN("00000"), &v), 5);
	assert_near(v, 0, 1e-9);
	assert_int_equal(parse_decimal(SPAN("-70"), &v), 3);
	assert_near(v, -70, 1e-9);
	assert_int_equal(parse_decimal(SPAN(".5"), &v), 2);
	assert_near(v, 0.5, 1e-9);
	assert_int_equal(parse_decimal(SPAN("12."), &v), 3);
	assert_near(v, 12, 1e-9);
	assert_int_equal(parse_decimal(s, s + 4, &v), 4);	/* "45.3" */
	assert_near(v, 45.3, 1e-9);
	/* Fraction digits past the 18th are read and ignored. */
	assert_int_equal(parse_decimal(SPAN("1.1234567890123456789999"), &v), 24);
	assert_near(v, 1.123456789012345678, 1e-9);
	v = 7;
	assert_int_equal(parse_decimal(SPAN("."), &v), 0);
	assert_int_equal(parse_decimal(SPAN("-."), &v), 0);
	assert_int_equal(parse_decimal(SPAN("+"), &v), 0);
	assert_int_equal(parse_decimal(SPAN(""), &v), 0);
	assert_near(v, 7, 1e-9);
}

static void
test_ddmm(void **state)
{
	double v = 7;
	const char *s = "4807.0380N";

	(void)state;
	/* 48 deg + 7.038 min. */
	assert_int_equal(parse_ddmm(s, s + strlen(s), &v), 9);
	assert_near(v, 48 + 7.038 / 60, 1e-9);
	assert_int_equal(parse_ddmm(SPAN("01131.00000E"), &v), 11);
	assert_near(v, 11 + 31.0 / 60, 1e-9);
	/* Missing degree digits: 0 deg 31.5 min. */
	assert_int_equal(parse_ddmm(SPAN("31.50000"), &v), 8);
	assert_near(v, 0.525, 1e-9);
	assert_int_equal(parse_ddmm(SPAN("5.5"), &v), 3);
	assert_near(v, 5.5 / 60, 1e-9);
	/* Three degree digits, and no fraction. */
	assert_int_equal(parse_ddmm(SPAN("9901.50000"), &v), 10);
	assert_near(v, 99.025, 1e-9);
	assert_int_equal(parse_ddmm(SPAN("4807"), &v), 4);
	assert_near(v, 48 + 7.0 / 60, 1e-9);
	v = 7;
	assert_int_equal(parse_ddmm(SPAN("N"), &v), 0);
	assert_int_equal(parse_ddmm(SPAN("-4807.0380"), &v), 0);
	assert_int_equal(parse_ddmm(SPAN("1234567890123456789.5"), &v), 0);
	assert_near(v, 7, 1e-9);
}

static void
test_whole_fields(void **state)
{
	uint64_t u = 7;
	int64_t i = 7;
	const char *s = "1234,";

	(void)state;
	assert_true(parse_uint_all(SPAN("0042"), &u));
	assert_int_equal(u, 42);
	assert_true(parse_uint_all(s, s + 4, &u));
	assert_int_equal(u, 1234);
	u = 7;
	assert_false(parse_uint_all(SPAN("1234,"), &u));	/* not to the end */
	assert_false(parse_uint_all(SPAN(""), &u));
	assert_false(parse_uint_all(SPAN("+1"), &u));
	assert_false(parse_uint_all(SPAN(" 1"), &u));
	assert_int_equal(u, 7);

	assert_true(parse_int_all(SPAN("-70"), &i));
	assert_int_equal(i, -70);
	assert_true(parse_int_all(SPAN("+088"), &i));
	assert_int_equal(i, 88);
	i = 7;
	assert_false(parse_int_all(SPAN("-"), &i));
	assert_false(parse_int_all(SPAN(""), &i));
	assert_false(parse_int_all(SPAN("-7x"), &i));
	assert_int_equal(i, 7);

	assert_true(parse_hex_all(SPAN("0001E240"), &u));
	assert_int_equal(u, 123456);
	assert_true(parse_hex_all(SPAN("ff"), &u));
	assert_int_equal(u, 255);
	u = 7;
	assert_false(parse_hex_all(SPAN("12G"), &u));
	assert_false(parse_hex_all(SPAN(""), &u));
	assert_false(parse_hex_all(SPAN("0x12"), &u));
	assert_int_equal(u, 7);
}

static void
test_uint_long_runs(void **state)
{
	uint64_t u = 7;

	(void)state;
	/* 19 nines fit; UINT64_MAX itself (20 digits) is exact, one more
	 * saturates, and so does a run of 25 digits. */
	assert_int_equal(parse_uint(SPAN("9999999999999999999"), &u), 19);
	assert_true(u == 9999999999999999999ULL);
	assert_int_equal(parse_uint(SPAN("18446744073709551615"), &u), 20);
	assert_true(u == 18446744073709551615ULL);
	assert_int_equal(parse_uint(SPAN("18446744073709551620"), &u), 20);
	assert_true(u == UINT64_MAX);
	assert_int_equal(parse_uint(SPAN("1000000000000000000000000,"), &u), 25);
	assert_true(u == UINT64_MAX);
	/* Leading zeros do not count towards an overflow. */
	assert_int_equal(parse_uint(SPAN("0000000000000000000000042"), &u), 25);
	assert_int_equal(u, 42);
}

static void
test_hexbytes(void **state)
{
	uint8_t b[4] = { 0xAA, 0xAA, 0xAA, 0xAA };
	const char *s = "00ffE4";

	(void)state;
	assert_int_equal(parse_hexbytes(SPAN("00ffE40c"), b, sizeof b), 4);
	assert_int_equal(b[0], 0x00);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(b[2], 0xe4);
	assert_int_equal(b[3], 0x0c);
	/* Only max bytes are written; the rest of the span is not read. */
	b[1] = 0xAA;
	assert_int_equal(parse_hexbytes(SPAN("12zz"), b, 1), 1);
	assert_int_equal(b[0], 0x12);
	assert_int_equal(b[1], 0xAA);
	assert_int_equal(parse_hexbytes(s, s + 2, b, sizeof b), 1);
	assert_int_equal(parse_hexbytes(SPAN(""), b, sizeof b), 0);
	assert_int_equal(parse_hexbytes(SPAN("123"), b, sizeof b), -1);
	assert_int_equal(parse_hexbytes(SPAN("1g"), b, sizeof b), -1);
	assert_int_equal(parse_hexbytes(SPAN("12 4"), b, sizeof b), -1);
}

static void
test_number_scan(void **state)
{
	struct parse_number x = { 0 };
	const char *s = "087.25,";

	(void)state;
	assert_int_equal(parse_number_scan(s, s + strlen(s), &x), 6);
	assert_int_equal(x.ipart, 87);
	assert_int_equal(x.nint, 3);
	assert_int_equal(x.fpart, 25);
	assert_int_equal(x.nfrac, 2);
	assert_true(x.dot);
	assert_near(parse_number_value(&x), 87.25, 1e-9);

	assert_int_equal(parse_number_scan(SPAN("12."), &x), 3);
	assert_true(x.dot);
	assert_int_equal(x.nfrac, 0);
	assert_near(parse_number_value(&x), 12, 1e-9);

	assert_int_equal(parse_number_scan(SPAN("5"), &x), 1);
	assert_false(x.dot);
	assert_int_equal(x.nint, 1);
	assert_near(parse_number_value(&x), 5, 1e-9);

	assert_int_equal(parse_number_scan(SPAN(".5"), &x), 2);
	assert_int_equal(x.nint, 0);
	assert_true(x.dot);
	assert_near(parse_number_value(&x), 0.5, 1e-9);

	/* 20 fraction digits: all counted, the first 18 kept. */
	assert_int_equal(parse_number_scan(SPAN("0.12345678901234567899"), &x),
	    22);
	assert_int_equal(x.nfrac, 20);
	assert_true(x.fpart == 123456789012345678ULL);
	assert_near(parse_number_value(&x), 0.123456789012345678, 1e-9);

	/* 48 deg 7.038 min; 0 deg 31.5 min. */
	assert_int_equal(parse_number_scan(SPAN("4807.0380"), &x), 9);
	assert_near(parse_number_ddmm(&x), 48 + 7.038 / 60, 1e-9);
	assert_int_equal(parse_number_scan(SPAN("31.50000"), &x), 8);
	assert_near(parse_number_ddmm(&x), 0.525, 1e-9);

	x.nint = 99;
	assert_int_equal(parse_number_scan(SPAN("."), &x), 0);
	assert_int_equal(parse_number_scan(SPAN("-1"), &x), 0);
	assert_int_equal(parse_number_scan(SPAN(""), &x), 0);
	assert_int_equal(x.nint, 99);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digits),
		cmocka_unit_test(test_uint_int_hex),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_ddmm),
		cmocka_unit_test(test_whole_fields),
		cmocka_unit_test(test_uint_long_runs),
		cmocka_unit_test(test_hexbytes),
		cmocka_unit_test(test_number_scan),
	};

	return cmocka_run_group_tests_name("ingest/parse", tests, NULL, NULL);
}
