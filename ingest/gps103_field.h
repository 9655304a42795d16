/*
 * gps103_field.h: the comma-separated fields of a GPS103 message and the
 * readers that put the protocol's limits on them (protocols/TK103.md
 * section 3), shared by gps103.c and gps103_alt.c.
 *
 * A field borrows its bytes from the frame.  Every reader takes a whole
 * field p[0..n) and reads nothing outside it: a field longer than 18
 * decimal or 15 hex digits is rejected rather than saturated, and a number
 * needs a digit before its '.'.  The readers are static inline, like the
 * hot ones of parse.h, because they run for nearly every field of every
 * report; splitting and the error texts are gps103_field.c's.
 */
#ifndef GA_INGEST_GPS103_FIELD_H
#define GA_INGEST_GPS103_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/parse.h"

/* A comma-separated field: p[0..n), borrowed from the frame. */
struct gps103_field {
	const char *p;
	size_t n;
};

/* The regular report has 19 fields; a few more leave room for extras. */
#define GPS103_FIELD_MAX 24

/* Flags of gps103_field_num. */
#define GPS103_FIELD_SIGN	1	/* a leading '-' or '+' is allowed */
#define GPS103_FIELD_NEEDFRAC	2	/* a '.' and a decimal needed */

/*
 * Splits s[0..n) on commas into at most max fields; when there are more,
 * the last field holds the whole remainder, commas included.  Returns the
 * number of fields (at least 1); f borrows from s.
 */
static inline int
gps103_field_split(const char *s, size_t n, struct gps103_field *f,
    int max)
{
	const char *e = s + n, *c;
	int k = 0;

	for (;;) {
		if (k == max - 1) {
			f[k].p = s;
			f[k].n = (size_t)(e - s);
			return max;
		}
		c = memchr(s, ',', (size_t)(e - s));
		f[k].p = s;
		if (c == NULL) {
			f[k].n = (size_t)(e - s);
			return k + 1;
		}
		f[k].n = (size_t)(c - s);
		k++;
		s = c + 1;
	}
}

/*
 * Writes fmt as formatted into err (when errlen > 0) and returns
 * REPORT_ERROR, so that a decoder can return the call.
 */
int gps103_field_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Writes "gps103: bad <what> '<value>'" into err, the value escaped
 * (escape.h) and cut to fit 64 bytes, and returns REPORT_ERROR.
 */
int gps103_field_bad(char *err, size_t errlen, const char *what,
    const struct gps103_field *f);

static inline bool
gps103_field_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The blanks around a message: CR, LF, space, tab and NUL. */
static inline bool
gps103_field_is_space(char c)
{
	return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '\0';
}

/* The value of two characters already known to be digits. */
static inline int
gps103_field_d2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* True when p[0..n) holds digits only (n == 0 included). */
static inline bool
gps103_field_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!gps103_field_is_digit(p[i]))
			return false;
	}
	return true;
}

/* True when the field is exactly s[0..n). */
static inline bool
gps103_field_is(const struct gps103_field *f, const char *s, size_t n)
{
	return f->n == n && memcmp(f->p, s, n) == 0;
}

#define GPS103_FIELD_IS(f, lit) gps103_field_is((f), lit, sizeof lit - 1)

/* True for a run of one or more dashes ("---", "absent"). */
static inline bool
gps103_field_dashes(const struct gps103_field *f)
{
	if (f->n == 0)
		return false;
	for (size_t i = 0; i < f->n; i++) {
		if (f->p[i] != '-')
			return false;
	}
	return true;
}

/* Parses "d+" (at most 18 digits) into *v; false (*v alone) otherwise. */
static inline bool
gps103_field_uint(const char *p, size_t n, uint64_t *v)
{
	return n <= 18 && parse_uint_all(p, p + n, v);
}

/* Parses "[-+]?d+" (at most 18 digits) into *v; false otherwise. */
static inline bool
gps103_field_int(const char *p, size_t n, int64_t *v)
{
	size_t sign = n > 0 && (p[0] == '-' || p[0] == '+');

	return n - sign <= 18 && parse_int_all(p, p + n, v);
}

/* Parses "x+" (at most 15 hex digits) into *v; false otherwise. */
static inline bool
gps103_field_hex(const char *p, size_t n, uint64_t *v)
{
	return n <= 15 && parse_hex_all(p, p + n, v);
}

/*
 * Parses "[-+]?d+(.d*)?" per flags (GPS103_FIELD_*): at most 15 integer
 * digits and 18 decimals.  *decimals (may be NULL) gets the number of
 * decimals written, at most 9 (for printing).  False, with *v and
 * *decimals alone, when the field is not such a number.
 */
static inline bool
gps103_field_num(const char *p, size_t n, int flags, double *v,
    int *decimals)
{
	struct parse_number x;
	size_t sign = 0;
	double d;

	if ((flags & GPS103_FIELD_SIGN) && n > 0 &&
	    (p[0] == '-' || p[0] == '+'))
		sign = 1;
	if (n == sign || parse_number_scan(p + sign, p + n, &x) != n - sign ||
	    x.nint == 0 || x.nint > 15 || x.nfrac > 18)
		return false;
	if ((flags & GPS103_FIELD_NEEDFRAC) && x.nfrac == 0)
		return false;
	d = parse_number_value(&x);
	*v = sign == 1 && p[0] == '-' ? -d : d;
	if (decimals != NULL)
		*decimals = x.nfrac > 9 ? 9 : (int)x.nfrac;
	return true;
}

/*
 * Parses a "dddmm.mmmm" coordinate into degrees: the last two digits
 * before the point and the decimals are minutes, whatever precedes them
 * degrees (possibly none: "31.50000" is 0 deg 31.5 min).  1 to 6 digits
 * before the point, 1 to 12 after it; false (*deg alone) otherwise.
 */
static inline bool
gps103_field_dm(const char *p, size_t n, double *deg)
{
	struct parse_number x;

	if (n == 0 || parse_number_scan(p, p + n, &x) != n || x.nint == 0 ||
	    x.nint > 6 || x.nfrac == 0 || x.nfrac > 12)
		return false;
	*deg = parse_number_ddmm(&x);
	return true;
}

#endif
