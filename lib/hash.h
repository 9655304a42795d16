/*
 * hash.h: the string hash of every in-memory table (FNV-1a, 64 bits).
 *
 * Inline because the tables that use it sit on hot paths (a lookup per
 * frame, per entry, per fence crossing).  Not for anything an attacker's
 * choice of keys could degrade into a denial of service beyond the
 * bounded tables it serves: device ids and fence ids are bounded in
 * length and the tables grow with their load.
 */
#ifndef GA_LIB_HASH_H
#define GA_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Returns the FNV-1a hash of p[0..len). */
static inline uint64_t
hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h;
}

/* Returns the FNV-1a hash of the NUL-terminated s. */
static inline uint64_t
hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

#endif
