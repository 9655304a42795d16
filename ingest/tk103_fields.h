/*
 * tk103_fields.h: a cursor over the comma-separated fields of a TK103
 * message body (protocols/TK103.md section 2), shared by tk103.c and
 * tk103_cells.c.
 *
 * A field borrows its bytes from the message; nothing is read outside
 * [p, end).  The functions are static inline because the comma-layout
 * decoders call them for every field of every message (see parse.h on
 * what calls cost there).
 */
#ifndef GA_INGEST_TK103_FIELDS_H
#define GA_INGEST_TK103_FIELDS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ingest/parse.h"
#include "lib/clock.h"

/* What is left of [p, end); done once the last field was yielded. */
struct tk103_fields {
	const char *p, *end;
	bool done;
};

static inline void
tk103_fields_init(struct tk103_fields *c, const char *p, const char *end)
{
	c->p = p;
	c->end = end;
	c->done = false;
}

/*
 * Yields the next field as [*f, *fend): "a," yields "a" then "".  False
 * once every field was yielded (and *f, *fend are then left alone).
 */
static inline bool
tk103_fields_next(struct tk103_fields *c, const char **f, const char **fend)
{
	const char *q;

	if (c->done)
		return false;
	q = memchr(c->p, ',', (size_t)(c->end - c->p));
	*f = c->p;
	if (q == NULL) {
		*fend = c->end;
		c->p = c->end;
		c->done = true;
	} else {
		*fend = q;
		c->p = q + 1;
	}
	return true;
}

/* The next field as an unsigned decimal that fills it exactly. */
static inline bool
tk103_fields_uint(struct tk103_fields *c, uint64_t *v)
{
	const char *f, *fe;

	return tk103_fields_next(c, &f, &fe) && parse_uint_all(f, fe, v);
}

/*
 * The next field as "ddmmyy" followed by a field "hhmmss", as UTC
 * milliseconds in *ms.  False when either is missing or not 6 digits;
 * the cursor has then moved past the fields read.
 */
static inline bool
tk103_fields_date_time(struct tk103_fields *c, int64_t *ms)
{
	const char *f, *fe, *t, *te;
	int dd, mo, yy, hh, mi, ss;

	if (!tk103_fields_next(c, &f, &fe) || fe - f != 6 ||
	    !parse_digits(f, fe, 2, &dd) || !parse_digits(f + 2, fe, 2, &mo) ||
	    !parse_digits(f + 4, fe, 2, &yy))
		return false;
	if (!tk103_fields_next(c, &t, &te) || te - t != 6 ||
	    !parse_digits(t, te, 2, &hh) || !parse_digits(t + 2, te, 2, &mi) ||
	    !parse_digits(t + 4, te, 2, &ss))
		return false;
	*ms = clock_timegm(2000 + yy, mo, dd, hh, mi, ss);
	return true;
}

#endif
