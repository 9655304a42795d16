/*
 * tk103.h: the parenthesised TK103 protocol (protocols/TK103.md section 2).
 *
 * A pure function over bytes: no I/O, no allocation, no clock, no globals.
 */
#ifndef GA_INGEST_TK103_H
#define GA_INGEST_TK103_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/report.h"

/*
 * Decodes one TK103 message: a whole frame "(...)" as the framer emits it,
 * or one UDP datagram (parentheses optional there).  recv_ms is the server
 * receive time (used when the device time is unusable).
 *
 * Fills *r (report_init is done here) and *reply (len 0 when the protocol
 * wants no answer).  r->device holds the parsed id whenever one could be
 * read, also when there is no record.  String attributes in *r may borrow
 * from frame: keep it alive while using *r.
 *
 * Returns REPORT_OK (a record in *r), REPORT_NONE (a valid message with no
 * record, such as BP00 or BQ86) or REPORT_ERROR (err holds a one-line
 * reason).
 */
int tk103_decode(const uint8_t *frame, size_t len, int64_t recv_ms,
    struct report *r, struct reply *reply, char *err, size_t errlen);

#endif
