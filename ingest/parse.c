/*
 * parse.c: digit, hex, decimal and ddmm.mmmm readers for the decoders.
 *
 * Written by hand rather than with strtod/sscanf: those need a NUL-ended
 * string (device frames are not), depend on the locale and cost far more
 * than these loops on a path that runs millions of times a second.
 */
#include "ingest/parse.h"

static const double pow10_table[19] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

/* Fraction digits kept; more would overflow the uint64_t accumulator. */
#define FRAC_MAX 18

int
parse_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

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
parse_uint(const char *p, const char *end, uint64_t *v)
{
	const char *q = p;
	uint64_t x = 0;

	while (q < end) {
		unsigned d = (unsigned)(unsigned char)*q - '0';

		if (d > 9)
			break;
		if (x > (UINT64_MAX - d) / 10)
			x = UINT64_MAX;
		else
			x = x * 10 + d;
		q++;
	}
	if (q == p)
		return 0;
	*v = x;
	return (size_t)(q - p);
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

/*
 * Reads "digits[.digits]" without a sign: the integer part (saturating),
 * the fraction digits (at most FRAC_MAX kept) and how many were kept.
 * Returns the bytes consumed, 0 when there is no digit at all.
 */
static size_t
scan_number(const char *p, const char *end, uint64_t *ip, size_t *nint,
    uint64_t *fp, size_t *nfrac)
{
	const char *q = p;
	size_t ni = 0, nf = 0;
	uint64_t i = 0, f = 0;

	ni = parse_uint(q, end, &i);
	q += ni;
	if (q < end && *q == '.') {
		const char *r = q + 1;

		while (r < end && (unsigned)(unsigned char)*r - '0' <= 9) {
			if (nf < FRAC_MAX) {
				f = f * 10 + (uint64_t)(*r - '0');
				nf++;
			}
			r++;
		}
		/* A lone '.' with no digit on either side is not a number. */
		if (ni > 0 || r > q + 1)
			q = r;
	}
	if (q == p)
		return 0;
	*ip = i;
	*nint = ni;
	*fp = f;
	*nfrac = nf;
	return (size_t)(q - p);
}

size_t
parse_decimal(const char *p, const char *end, double *v)
{
	const char *q = p;
	bool neg = false;
	uint64_t ip, fp;
	size_t ni, nf, n;

	if (q < end && (*q == '-' || *q == '+'))
		neg = *q++ == '-';
	if ((n = scan_number(q, end, &ip, &ni, &fp, &nf)) == 0)
		return 0;
	*v = (double)ip + (double)fp / pow10_table[nf];
	if (neg)
		*v = -*v;
	return (size_t)(q - p) + n;
}

size_t
parse_ddmm(const char *p, const char *end, double *deg)
{
	uint64_t ip, fp;
	size_t ni, nf, n;

	if ((n = scan_number(p, end, &ip, &ni, &fp, &nf)) == 0 || ni > 18)
		return 0;
	*deg = (double)(ip / 100) +
	    ((double)(ip % 100) + (double)fp / pow10_table[nf]) / 60.0;
	return n;
}
