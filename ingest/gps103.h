/*
 * gps103.h: the Xexun/Coban "imei:" protocol (protocols/TK103.md section 3).
 *
 * A pure function over bytes: no I/O, no allocation, no clock, no globals.
 * Photo transfer (section 3.8) is stateful per connection, so the decoder
 * only describes the photo part a frame carries; the session assembles.
 */
#ifndef GA_INGEST_GPS103_H
#define GA_INGEST_GPS103_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/report.h"

/* The photo part of one frame, when it has one. */
struct gps103_photo_part {
	int announce;		/* > 0: a "vt<N>" report announced N packets */
	bool data;		/* a "vr" data packet */
	unsigned index;		/* data: the packet index (little-endian u16) */
	const char *hex;	/* data: the JPEG bytes, still hex, borrowed */
	size_t hexlen;		/* from frame; index and trailer removed */
};

/*
 * Decodes one GPS103 message: a frame as the framer emits it (terminator
 * `;`, `*`, LF or CR LF kept at its end) or one UDP datagram (terminator
 * optional).  recv_ms is the server receive time.
 *
 * Fills *r (report_init is done here), *reply (len 0: no answer) and *part
 * (zeroed when the frame carries no photo part).  r->device is set whenever
 * an IMEI was read (login and heartbeat too).  String attributes in *r and
 * part->hex may borrow from frame.
 *
 * Returns REPORT_OK (a record), REPORT_NONE (login, heartbeat, blank frame,
 * photo data packet) or REPORT_ERROR (err holds a one-line reason).
 */
int gps103_decode(const uint8_t *frame, size_t len, int64_t recv_ms,
    struct report *r, struct reply *reply, struct gps103_photo_part *part,
    char *err, size_t errlen);

#endif
