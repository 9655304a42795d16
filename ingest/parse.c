/*
 * parse.c: digit, hex, decimal and ddmm.mmmm readers for the decoders.
 *
 * Written by hand rather than with strtod/sscanf: those need a NUL-ended
 * string (device frames are not), depend on the locale and cost far more
 * than these loops on a path that runs millions of times a second.
 */
#include "ingest/parse.h"

const double parse_pow10[PARSE_FRAC_MAX + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

bool
parse_digits(const char *p, const char *end, size_t n, int *v)
{
	int x = 0;

	if ((size_t)(end - p) < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)p[i] - '0';

		if (d > 9)
			return false;
		x = x * 10 + (int)d;
	}
	*v = x;
	return true;
}

size_t
parse_int(const char *p, const char *end, int64_t *v)
{
	const char *q = p;
	bool neg = false;
	uint64_t u;
	size_t n;

	if (q < end && (*q == '-' || *q == '+'))
		neg = *q++ == '-';
	if ((n = parse_uint(q, end, &u)) == 0)
		return 0;
	if (u > INT64_MAX)
		u = INT64_MAX;
	*v = neg ? -(int64_t)u : (int64_t)u;
	return (size_t)(q - p) + n;
}

size_t
parse_hex(const char *p, const char *end, uint64_t *v)
{
	const char *q = p;
	uint64_t x = 0;
	int d;

	while (q < end && (d = parse_hexdigit((unsigned char)*q)) >= 0) {
		x = x << 4 | (uint64_t)d;
		q++;
	}
	if (q == p)
		return 0;
	*v = x;
	return (size_t)(q - p);
}

bool
parse_uint_all(const char *p, const char *end, uint64_t *v)
{
	uint64_t x;
	size_t n = parse_uint(p, end, &x);

	if (n == 0 || n != (size_t)(end - p))
		return false;
	*v = x;
	return true;
}

bool
parse_int_all(const char *p, const char *end, int64_t *v)
{
	int64_t x;
	size_t n = parse_int(p, end, &x);

	if (n == 0 || n != (size_t)(end - p))
		return false;
	*v = x;
	return true;
}

bool
parse_hex_all(const char *p, const char *end, uint64_t *v)
{
	uint64_t x;
	size_t n = parse_hex(p, end, &x);

	if (n == 0 || n != (size_t)(end - p))
		return false;
	*v = x;
	return true;
}

long
parse_hexbytes(const char *p, const char *end, uint8_t *out, size_t max)
{
	size_t n = 0;

	if ((end - p) % 2 != 0)
		return -1;
	for (; p < end && n < max; p += 2) {
		int hi = parse_hexdigit((unsigned char)p[0]);
		int lo = parse_hexdigit((unsigned char)p[1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return (long)n;
}

size_t
parse_decimal(const char *p, const char *end, double *v)
{
	struct parse_number x;
	const char *q = p;
	bool neg = false;
	size_t n;

	if (q < end && (*q == '-' || *q == '+'))
		neg = *q++ == '-';
	if ((n = parse_number_scan(q, end, &x)) == 0)
		return 0;
	*v = parse_number_value(&x);
	if (neg)
		*v = -*v;
	return (size_t)(q - p) + n;
}

size_t
parse_ddmm(const char *p, const char *end, double *deg)
{
	struct parse_number x;
	size_t n;

	if ((n = parse_number_scan(p, end, &x)) == 0 || x.nint > 18)
		return 0;
	*deg = parse_number_ddmm(&x);
	return n;
}
