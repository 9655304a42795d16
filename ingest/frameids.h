/*
 * frameids.h: which devices a decoded frame speaks for.
 *
 * A downlink command names its device by the id a user sees: a TK103's
 * 12-character id or its IMEI, a GPS103's IMEI.  A frame shows its device
 * id, and a TK103 login or report may also carry the IMEI (BP05's, or an
 * `imei` field): both then reach the same connection.  Pure: no sockets,
 * no state.
 */
#ifndef GA_INGEST_FRAMEIDS_H
#define GA_INGEST_FRAMEIDS_H

#include <stdbool.h>

#include "ingest/report.h"
#include "ingest/session.h"

struct frame_ids {
	int n;			/* ids in id[]: 1 or 2 */
	const char *id[2];	/* the device id, then the IMEI when it differs */
	bool fixed;		/* TK103 fixed layout: "(" + id + code, no comma */
	char imei[REPORT_ID_MAX];	/* id[1] points here */
};

/*
 * Fills ids from f; false when f speaks for no device: a rejected frame,
 * or one whose device id does not appear in its bytes (the UDP session is
 * shared by every peer, so the session's "last device" of a datagram
 * without an id would be another peer's).  ids->id[0] points into f.
 */
bool frame_ids(const struct session_frame *f, struct frame_ids *ids);

/* The dialect of f as the command module names it. */
enum report_proto frame_proto(const struct session_frame *f);

#endif
