/*
 * parse.h: small field parsers shared by the TK103 and GPS103 decoders.
 *
 * Every function reads [p, end) only and never past end, allocates
 * nothing and keeps no state.  The scanning ones return how many bytes
 * they consumed (0: nothing matched, and *v is then left untouched), so a
 * decoder chains them over a cursor.  No locale, no errno, no libc number
 * parsing: these sit on the decoders' hot path.
 */
#ifndef GA_INGEST_PARSE_H
#define GA_INGEST_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns the value of the hex digit c (either case), or -1. */
int parse_hexdigit(int c);

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
size_t parse_uint(const char *p, const char *end, uint64_t *v);

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
