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

/* One frame and what became of it; everything is borrowed for the call. */
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

/* Creates a session; max_frame bounds a frame and unframed garbage. */
struct session *session_new(size_t max_frame);

/* Frees s; session_free(NULL) does nothing. */
void session_free(struct session *s);

/*
 * Feeds stream bytes (TCP): buf[0..len) is everything buffered and not yet
 * consumed.  Calls cb once per complete frame, in order (also for rejected
 * garbage and over-long frames, with result REPORT_ERROR).  Returns how
 * many bytes of buf were consumed: the caller drops them and keeps the
 * rest for the next call.  Sets *close_peer when the peer should be cut
 * off: it sent max_frame bytes without a valid frame, or a frame longer
 * than max_frame, or bytes of neither protocol.  eof: no more bytes will
 * come (flush what is pending).
 */
size_t session_feed(struct session *s, const uint8_t *buf, size_t len,
    int64_t recv_ms, bool eof, session_frame_cb *cb, void *arg,
    bool *close_peer);

/*
 * Handles one UDP datagram: detects its protocol on its own, decodes it as
 * one message and calls cb once.  s keeps no per-peer state for UDP but
 * the photo assembly (pass a session per peer if that matters).
 */
void session_datagram(struct session *s, const uint8_t *buf, size_t len,
    int64_t recv_ms, session_frame_cb *cb, void *arg);

/* The detected protocol, SESSION_UNKNOWN until detection. */
enum session_proto session_proto(const struct session *s);

/* The last device id the peer identified as ("" when none yet). */
const char *session_device(const struct session *s);

/* "tk103", "gps103" or "unknown". */
const char *session_proto_name(enum session_proto p);

#endif
