/*
 * session.h: the protocol side of one peer: detection, framing, decoding,
 * photo assembly.  No I/O: conn.c (TCP), the UDP path and decode.c
 * (--decode) feed it bytes and get one callback per frame.
 */
#ifndef GA_INGEST_SESSION_H
#define GA_INGEST_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/report.h"

struct session;

/* Which protocol a session speaks, once detected. */
enum session_proto {
	SESSION_UNKNOWN = 0,
	SESSION_TK103,
	SESSION_GPS103,
};

/*
 * One frame and what became of it.  Everything is borrowed for the call
 * only: copy what must outlive it.
 */
struct session_frame {
	const uint8_t *raw;		/* the frame (or rejected bytes) */
	size_t len;
	enum session_proto proto;
	int result;			/* REPORT_OK, REPORT_NONE, REPORT_ERROR */
	const struct report *report;	/* REPORT_OK only, else NULL */
	const struct reply *reply;	/* NULL when nothing is sent back */
	const char *error;		/* REPORT_ERROR only: the reason */
	const char *device;		/* id the peer identified as, or "" */
};

typedef void session_frame_cb(void *arg, const struct session_frame *f);

/*
 * Returns a new session (never NULL; free it with session_free).  max_frame
 * (--max-frame) bounds a frame and a run of garbage.
 */
struct session *session_new(size_t max_frame);

/* Frees s; session_free(NULL) does nothing. */
void session_free(struct session *s);

/*
 * Feeds stream bytes (TCP): buf[0..len) is everything buffered and not yet
 * consumed.  Calls cb once per complete frame, in order, and also once per
 * rejected piece (result REPORT_ERROR, error set, report NULL): junk in
 * front of a frame (whitespace alone is dropped silently), a frame whose
 * '$' never balance, an over-long frame, a peer of another protocol.
 * A GPS103 photo packet that completes a photo comes back as REPORT_OK
 * with the photo record (device, `image`, `image_size`); one that passes
 * the cap as REPORT_ERROR.
 *
 * Returns how many bytes of buf were consumed: the caller drops them and
 * keeps the rest (at most about max_frame bytes) for the next call.  Sets
 * *close_peer when the peer should be cut off: max_frame bytes went by
 * without a valid frame (rejects and undecodable frames count), a frame
 * was longer than max_frame, or the bytes are of neither protocol.  Once
 * set it stays set and later calls consume everything without callbacks.
 * eof: no more bytes will come (flush what is pending: an unterminated
 * GPS103 message is decoded, an unclosed TK103 frame rejected).
 */
size_t session_feed(struct session *s, const uint8_t *buf, size_t len,
    int64_t recv_ms, bool eof, session_frame_cb *cb, void *arg,
    bool *close_peer);

/*
 * Handles one UDP datagram: detects its protocol on its own, decodes it
 * as one message (without trailing CR and LF, and from the start token
 * on: junk in front is skipped) and calls cb exactly once, with raw = the
 * whole datagram.  Empty datagrams, datagrams longer
 * than max_frame and other protocols give one REPORT_ERROR callback.
 * s keeps no per-peer state for UDP but the photo assembly and the last
 * device id (pass a session per peer if that matters).
 */
void session_datagram(struct session *s, const uint8_t *buf, size_t len,
    int64_t recv_ms, session_frame_cb *cb, void *arg);

/* The detected protocol, SESSION_UNKNOWN until detection. */
enum session_proto session_proto(const struct session *s);

/* The last device id the peer identified as ("" when none yet). */
const char *session_device(const struct session *s);

/*
 * Heap bytes s holds: the session itself (well under 1 KiB) plus a photo
 * while one is under way.  The daemon budgets 4 KiB per connected device.
 */
size_t session_memory(const struct session *s);

/* "tk103", "gps103" or "unknown". */
const char *session_proto_name(enum session_proto p);

#endif
