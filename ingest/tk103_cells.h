/*
 * tk103_cells.h: the cell and WiFi lists of the TK103 protocol
 * (protocols/TK103.md section 2): the "{mcc,mnc,lac,cid}" groups of BZ00
 * and BP05, the flat BZ00 cell and the cell plus WiFi list of DW5x.
 *
 * Pure functions over a message body: no I/O, no allocation, no clock, no
 * globals.  tk103.c splits the message, reads what precedes the lists (a
 * BP05 IMEI, a DW5x event code) and calls these by command code.
 *
 * The lists become string attributes: "cells" holds "mcc,mnc,lac,cid"
 * entries in decimal, "wifi" "mac,rssi,channel" entries, both separated
 * by ';'.  An entry that does not fit REPORT_ARENA is left out whole.
 */
#ifndef GA_INGEST_TK103_CELLS_H
#define GA_INGEST_TK103_CELLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/report.h"

/* A ';'-separated list composed here, then copied into a report. */
struct tk103_cells_list {
	char buf[REPORT_ARENA];
	size_t len;
	size_t mark;		/* start of the entry being written */
	bool full;		/* an entry did not fit */
};

/* A DW5x body read by tk103_cells_dw5, not yet in a report. */
struct tk103_cells_dw5 {
	uint64_t mcc, mnc, lac, cid;	/* the serving cell */
	struct tk103_cells_list wifi;
	int64_t time_ms;		/* UTC */
};

/*
 * Decodes "{mcc,mnc,lac,cid}" groups (decimal) from [body, end), skipping
 * the commas, CR, LF and spaces between them, up to the first byte that
 * opens no group (the trailing ",NNNNNNNN" status word is not read).  Adds
 * "cells" to *r.
 *
 * Returns NULL, or a static reason: "unterminated cell", "bad cell", "no
 * cell" (*r is then left as it was).
 */
const char *tk103_cells_braces(const char *body, const char *end,
    struct report *r);

/*
 * Decodes the flat BZ00 body [body, end): ",mcc,mnc,LAC,CID[,...]" (the
 * leading comma optional), LAC and CID in hex of at most 8 digits; only
 * the first cell is read.  Adds "cells" (in decimal) to *r.
 *
 * Returns NULL, or the static reason "bad cell" (*r left as it was).
 */
const char *tk103_cells_bz00(const char *body, const char *end,
    struct report *r);

/*
 * Reads a DW5x body [body, end):
 * "mcc,mnc,lac,cid,nWifi,[mac*rssi*channel,]...,ddmmyy,hhmmss" into *d.
 * A MAC may not hold ';' (the list separator).
 *
 * Returns NULL, or a static reason: "bad cell", "bad WiFi count",
 * "truncated WiFi list", "bad WiFi entry", "bad date or time" (*d is then
 * unusable).
 */
const char *tk103_cells_dw5(const char *body, const char *end,
    struct tk103_cells_dw5 *d);

/*
 * Adds "cells" (the serving cell) and then "wifi" (when any access point
 * was listed) from d to *r; the time is the caller's to set.
 */
void tk103_cells_dw5_apply(const struct tk103_cells_dw5 *d,
    struct report *r);

#endif
