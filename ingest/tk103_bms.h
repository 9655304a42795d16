/*
 * tk103_bms.h: the battery-management payloads of the TK103 protocol,
 * BS50 (protocols/TK103.md section 2.5.1) and BS51 (section 2.5.2).
 *
 * Pure functions over a message body: no I/O, no allocation, no clock, no
 * globals.  tk103.c splits the message and calls them by command code.
 */
#ifndef GA_INGEST_TK103_BMS_H
#define GA_INGEST_TK103_BMS_H

#include "ingest/report.h"

/*
 * Decodes a BS50 body [body, end): the hex text after the command code,
 * closing ')' excluded.  Adds the cell voltages battery1..N, charge,
 * current, battery, battery_level, the protection flags, cycles, fault,
 * the temperatures and the capacities to *r (keys are static; nothing
 * borrows from the body).  Hex past the first 88 bytes is not read.
 *
 * Returns NULL, or a static one-line reason ("payload too short", "bad
 * hex payload"); *r is then left as it was.
 */
const char *tk103_bms_bs50(const char *body, const char *end,
    struct report *r);

/*
 * Decodes a BS51 body [body, end): comma-separated "KK:HEX" groups.  Adds
 * the attributes of groups 90, 91, 92 and 96 to *r, in body order; other
 * keys are skipped.  16-bit values are read big-endian (see tk103_bms.c).
 *
 * Returns NULL, or a static one-line reason ("bad group", "short group
 * 9x"); the attributes of the groups before the bad one stay in *r.
 */
const char *tk103_bms_bs51(const char *body, const char *end,
    struct report *r);

#endif
