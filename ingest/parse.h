/*
 * parse.h: small field parsers shared by the TK103 and GPS103 decoders.
 *
 * Every function reads [p, end) only and never past end, allocates
 * nothing and keeps no state.  The scanning ones return how many bytes
 * they consumed (0: nothing matched, and *v is then left untouched), so a
 * decoder chains them over a cursor.  No locale, no errno, no libc number
 * parsing: these sit on the decoders' hot path.  For the same reason the
 * readers called for nearly every field (parse_uint and the number
 * scanner) are static inline here: as calls into parse.c they cost the
 * GPS103 decoder about a tenth more instructions per report.
 */
#ifndef GA_INGEST_PARSE_H
#define GA_INGEST_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/escape.h"

/*
 * Returns the value of the hex digit c (either case), or -1.  The one
 * implementation lives in lib/escape.h, which lib/ code needs as well.
 */
static inline int
parse_hexdigit(int c)
{
	return escape_hexdigit(c);
}

/*
 * Reads exactly n decimal digits at p into *v.  Returns false (and leaves
 * *v alone) when fewer than n bytes remain or one of them is not a digit.
 * n is at most 9.
 */
bool parse_digits(const char *p, const char *end, size_t n, int *v);

/*
 * Reads a run of decimal digits.  Returns the number of digits consumed
 * (0 when p is not on a digit).  The value saturates at UINT64_MAX; the
 * whole run is consumed regardless.
 */
static inline size_t
parse_uint(const char *p, const char *end, uint64_t *v)
{
	/* 19 digits always fit: only a longer run needs the overflow test. */
	const char *fits = end - p > 19 ? p + 19 : end;
	const char *q = p;
	uint64_t x = 0;
	unsigned d;

	while (q < fits && (d = (unsigned)(unsigned char)*q - '0') <= 9) {
		x = x * 10 + d;
		q++;
	}
	while (q < end && (d = (unsigned)(unsigned char)*q - '0') <= 9) {
		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
		q++;
	}
	if (q == p)
		return 0;
	*v = x;
	return (size_t)(q - p);
}

/*
 * Reads an optional sign ('+' or '-') and a run of decimal digits.
 * Returns the bytes consumed, 0 when there is no digit.  The magnitude
 * saturates at INT64_MAX.
 */
size_t parse_int(const char *p, const char *end, int64_t *v);

/*
 * Reads a run of hex digits (either case).  Returns the number consumed,
 * 0 when there is none.  Digits past the 16th are consumed but shift the
 * older ones out (only the low 64 bits are kept).
 */
size_t parse_hex(const char *p, const char *end, uint64_t *v);

/*
 * The same three, for a whole field: true when [p, end) is non-empty and
 * read to its end, false otherwise (and *v is then left alone).  The
 * values saturate as above; a decoder that wants fewer digits checks the
 * length itself.
 */
bool parse_uint_all(const char *p, const char *end, uint64_t *v);
bool parse_int_all(const char *p, const char *end, int64_t *v);
bool parse_hex_all(const char *p, const char *end, uint64_t *v);

/*
 * Decodes the hex digit pairs of [p, end) into out[0..max): the span past
 * 2 * max characters is not read.  Returns the number of bytes written, or
 * -1 when the span has an odd length or a pair read holds a non-hex digit.
 */
long parse_hexbytes(const char *p, const char *end, uint8_t *out, size_t max);

/* Fraction digits kept by parse_number_scan: 19 always fit a uint64_t. */
#define PARSE_FRAC_MAX 18

/* 1e0 to 1e18, for the fraction of a number. */
extern const double parse_pow10[PARSE_FRAC_MAX + 1];

/* An unsigned decimal number "digits[.digits]" split into its parts. */
struct parse_number {
	uint64_t ipart;		/* the integer digits, saturating */
	uint64_t fpart;		/* the first PARSE_FRAC_MAX fraction digits */
	size_t nint;		/* integer digits read */
	size_t nfrac;		/* fraction digits read, all of them */
	bool dot;		/* the '.' was read */
};

/*
 * Reads "digits[.digits]" (no sign) into *num, for a decoder that applies
 * its own limits on the digit counts.  At least one digit is needed on one
 * side of the '.'; "12." keeps the '.' (dot set, nfrac 0).  Returns the
 * bytes consumed, 0 when there is no number (*num is then left alone).
 */
static inline size_t
parse_number_scan(const char *p, const char *end, struct parse_number *num)
{
	struct parse_number x = { 0, 0, 0, 0, false };
	const char *q = p;

	x.nint = parse_uint(q, end, &x.ipart);
	q += x.nint;
	if (q < end && *q == '.') {
		const char *r = q + 1;

		while (r < end && (unsigned)(unsigned char)*r - '0' <= 9) {
			if (x.nfrac < PARSE_FRAC_MAX)
				x.fpart = x.fpart * 10 + (uint64_t)(*r - '0');
			x.nfrac++;
			r++;
		}
		/* A lone '.' with no digit on either side is not a number. */
		if (x.nint > 0 || r > q + 1) {
			q = r;
			x.dot = true;
		}
	}
	if (q == p)
		return 0;
	*num = x;
	return (size_t)(q - p);
}

/* Returns the value of a number read by parse_number_scan. */
static inline double
parse_number_value(const struct parse_number *num)
{
	size_t nf = num->nfrac < PARSE_FRAC_MAX ? num->nfrac : PARSE_FRAC_MAX;

	return (double)num->ipart + (double)num->fpart / parse_pow10[nf];
}

/*
 * Returns a number read by parse_number_scan as an NMEA "dddmm.mmmm"
 * coordinate in decimal degrees (see parse_ddmm).
 */
static inline double
parse_number_ddmm(const struct parse_number *num)
{
	size_t nf = num->nfrac < PARSE_FRAC_MAX ? num->nfrac : PARSE_FRAC_MAX;

	return (double)(num->ipart / 100) + ((double)(num->ipart % 100) +
	    (double)num->fpart / parse_pow10[nf]) / 60.0;
}

/*
 * Reads a decimal number: optional sign, digits, optional '.' and
 * digits ("45.3", "045.30", "0", "-70", ".5", "12.").  At least one digit
 * is needed.  Fraction digits past the 18th are consumed and ignored.
 * Returns the bytes consumed, 0 when there is no number.
 */
size_t parse_decimal(const char *p, const char *end, double *v);

/*
 * Reads a NMEA-style coordinate "dddmm.mmmm" (no sign, no hemisphere) and
 * stores it in decimal degrees: the last two digits before the '.' plus
 * the fraction are minutes, anything before them is degrees, possibly
 * none ("31.50000" = 0 deg 31.5 min = 0.525).  Any number of fraction
 * digits (4 and 5 are common); the fraction is optional.  Returns the
 * bytes consumed, 0 when there is no number or it has more than 18 digits
 * before the point.
 */
size_t parse_ddmm(const char *p, const char *end, double *deg);

#endif
