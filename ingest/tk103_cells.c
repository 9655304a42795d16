/*
 * tk103_cells.c: the cell and WiFi lists of TK103 messages
 * (tk103_cells.h): braces groups, the flat BZ00 cell and DW5x.
 *
 * Each list is composed in a local buffer by the sb_* functions, an entry
 * at a time (an entry that does not fit is rolled back whole), then
 * copied into the report arena.  Fields are read with tk103_fields.h and
 * parse.h, never past the body's end; splitting the message and the event
 * codes are tk103.c's.
 */
#include "ingest/tk103_cells.h"

#include <string.h>

#include "ingest/parse.h"
#include "ingest/tk103_fields.h"

/* ---- Composing a list ---- */

static void
sb_init(struct tk103_cells_list *b)
{
	b->len = 0;
	b->full = false;
}

static void
sb_put(struct tk103_cells_list *b, const char *s, size_t n)
{
	if (b->full || sizeof b->buf - b->len < n) {
		b->full = true;
		return;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}

static void
sb_int(struct tk103_cells_list *b, int64_t v)
{
	char tmp[24];
	size_t n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		tmp[sizeof tmp - 1 - n++] = '-';
	sb_put(b, tmp + sizeof tmp - n, n);
}

/* Starts a list entry (';' between entries); sb_end_entry keeps it. */
static void
sb_begin_entry(struct tk103_cells_list *b)
{
	b->mark = b->len;
	if (b->len > 0)
		sb_put(b, ";", 1);
}

/* Returns false when the entry did not fit and was rolled back. */
static bool
sb_end_entry(struct tk103_cells_list *b)
{
	if (!b->full)
		return true;
	b->len = b->mark;
	return false;
}

static bool
sb_cell(struct tk103_cells_list *b, uint64_t mcc, uint64_t mnc,
    uint64_t lac, uint64_t cid)
{
	sb_begin_entry(b);
	sb_int(b, (int64_t)mcc);
	sb_put(b, ",", 1);
	sb_int(b, (int64_t)mnc);
	sb_put(b, ",", 1);
	sb_int(b, (int64_t)lac);
	sb_put(b, ",", 1);
	sb_int(b, (int64_t)cid);
	return sb_end_entry(b);
}

static void
sb_attr(const struct tk103_cells_list *b, struct report *r, const char *key)
{
	if (b->len > 0)
		report_add_strcpy(r, key, b->buf, b->len);
}

/* ---- The lists ---- */

/* "{mcc,mnc,lac,cid}" groups separated by LF (contract in the .h). */
const char *
tk103_cells_braces(const char *body, const char *end, struct report *r)
{
	const char *p = body, *close;
	struct tk103_cells_list b;
	int ncells = 0;

	sb_init(&b);
	for (;;) {
		struct tk103_fields c;
		uint64_t mcc, mnc, lac, cid;

		while (p < end && (*p == ',' || *p == '\n' || *p == '\r' ||
		    *p == ' '))
			p++;
		if (p == end || *p != '{')
			break;
		if ((close = memchr(p, '}', (size_t)(end - p))) == NULL)
			return "unterminated cell";
		tk103_fields_init(&c, p + 1, close);
		if (!tk103_fields_uint(&c, &mcc) ||
		    !tk103_fields_uint(&c, &mnc) ||
		    !tk103_fields_uint(&c, &lac) ||
		    !tk103_fields_uint(&c, &cid) || !c.done)
			return "bad cell";
		sb_cell(&b, mcc, mnc, lac, cid);
		ncells++;
		p = close + 1;
	}
	if (ncells == 0)
		return "no cell";
	/*
	 * The trailing ",NNNNNNNN" is left out: Traccar reads it as a hex
	 * odometer, but it looks like the status word of the flat BZ00 and
	 * no value seen makes sense as a distance.
	 */
	sb_attr(&b, r, "cells");
	return NULL;
}

/* ",mcc,mnc,LAC,CID[,...]", the first cell only (contract in the .h). */
const char *
tk103_cells_bz00(const char *body, const char *end, struct report *r)
{
	const char *p = body, *f, *fe;
	uint64_t mcc, mnc, lac, cid;
	struct tk103_fields c;
	struct tk103_cells_list b;

	if (p < end && *p == ',')
		p++;
	tk103_fields_init(&c, p, end);
	if (!tk103_fields_uint(&c, &mcc) || !tk103_fields_uint(&c, &mnc))
		return "bad cell";
	if (!tk103_fields_next(&c, &f, &fe) || fe - f > 8 ||
	    !parse_hex_all(f, fe, &lac))
		return "bad cell";
	if (!tk103_fields_next(&c, &f, &fe) || fe - f > 8 ||
	    !parse_hex_all(f, fe, &cid))
		return "bad cell";
	sb_init(&b);
	sb_cell(&b, mcc, mnc, lac, cid);
	sb_attr(&b, r, "cells");
	return NULL;
}

/* The cell, the WiFi list and the time of DW5x (contract in the .h). */
const char *
tk103_cells_dw5(const char *body, const char *end, struct tk103_cells_dw5 *d)
{
	uint64_t nwifi;
	struct tk103_fields c;

	tk103_fields_init(&c, body, end);
	if (!tk103_fields_uint(&c, &d->mcc) ||
	    !tk103_fields_uint(&c, &d->mnc) ||
	    !tk103_fields_uint(&c, &d->lac) ||
	    !tk103_fields_uint(&c, &d->cid))
		return "bad cell";
	if (!tk103_fields_uint(&c, &nwifi))
		return "bad WiFi count";
	sb_init(&d->wifi);
	for (uint64_t i = 0; i < nwifi; i++) {
		const char *f, *fe, *s1, *s2;
		int64_t rssi;
		uint64_t ch;

		if (!tk103_fields_next(&c, &f, &fe))
			return "truncated WiFi list";
		s1 = memchr(f, '*', (size_t)(fe - f));
		s2 = s1 == NULL ? NULL :
		    memchr(s1 + 1, '*', (size_t)(fe - s1 - 1));
		if (s1 == NULL || s2 == NULL || s1 == f ||
		    !parse_int_all(s1 + 1, s2, &rssi) ||
		    !parse_uint_all(s2 + 1, fe, &ch))
			return "bad WiFi entry";
		if (memchr(f, ';', (size_t)(s1 - f)) != NULL)
			return "bad WiFi entry";
		sb_begin_entry(&d->wifi);
		sb_put(&d->wifi, f, (size_t)(s1 - f));
		sb_put(&d->wifi, ",", 1);
		sb_int(&d->wifi, rssi);
		sb_put(&d->wifi, ",", 1);
		sb_int(&d->wifi, (int64_t)ch);
		sb_end_entry(&d->wifi);
	}
	if (!tk103_fields_date_time(&c, &d->time_ms))
		return "bad date or time";
	return NULL;
}

/* "cells", then "wifi", from a DW5x body (contract in the .h). */
void
tk103_cells_dw5_apply(const struct tk103_cells_dw5 *d, struct report *r)
{
	struct tk103_cells_list cells;

	sb_init(&cells);
	sb_cell(&cells, d->mcc, d->mnc, d->lac, d->cid);
	sb_attr(&cells, r, "cells");
	sb_attr(&d->wifi, r, "wifi");
}
