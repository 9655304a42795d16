/*
 * session.c: one peer's protocol state (session.h): detection, framing
 * (frame.c), decoding (tk103.c, gps103.c) and photo assembly (photo.c).
 *
 * No I/O and no clock: the caller owns the bytes and the receive time.
 * A session stays small (well under 1 KiB; the daemon budgets 4 KiB per
 * connected device): the report and reply of a frame live on the stack
 * for the callback, and photo memory exists only while a photo is under
 * way.
 */
#include "ingest/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/detect.h"
#include "ingest/frame.h"
#include "ingest/gps103.h"
#include "ingest/photo.h"
#include "ingest/tk103.h"
#include "lib/xmalloc.h"

#define ERR_LEN 256

struct session {
	size_t max_frame;
	enum session_proto proto;
	bool closed;		/* close_peer was set: ignore further bytes */
	size_t bad;		/* bytes since the last valid frame */
	struct photo *photo;	/* only while a photo is under way */
	char device[REPORT_ID_MAX];
};

struct session *
session_new(size_t max_frame)
{
	struct session *s = xcalloc(1, sizeof *s);

	s->max_frame = max_frame > 0 ? max_frame : 1;
	return s;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	photo_free(s->photo);
	free(s);
}

enum session_proto
session_proto(const struct session *s)
{
	return s->proto;
}

const char *
session_device(const struct session *s)
{
	return s->device;
}

size_t
session_memory(const struct session *s)
{
	return sizeof *s + (s->photo != NULL ? photo_memory(s->photo) : 0);
}

const char *
session_proto_name(enum session_proto p)
{
	switch (p) {
	case SESSION_TK103:
		return "tk103";
	case SESSION_GPS103:
		return "gps103";
	default:
		return "unknown";
	}
}

/* ---- Callbacks ---- */

static void
emit_reject(struct session *s, enum session_proto proto, const uint8_t *raw,
    size_t len, const char *reason, session_frame_cb *cb, void *arg)
{
	struct session_frame f = {
		.raw = raw, .len = len, .proto = proto, .result = REPORT_ERROR,
		.report = NULL, .reply = NULL, .error = reason,
		.device = s->device,
	};

	cb(arg, &f);
}

/*
 * A photo part of a GPS103 frame.  An announce starts a photo (replacing
 * one under way); a data packet adds to it and may complete it, which
 * turns the frame's result into the photo record.  A data packet with no
 * photo under way is a valid frame with no record (Traccar ignores it).
 */
static int
photo_part(struct session *s, const struct gps103_photo_part *part,
    int64_t recv_ms, struct report *r, int rc, char *err, size_t errlen)
{
	char device[REPORT_ID_MAX];
	int done;

	if (part->announce > 0) {
		photo_free(s->photo);
		s->photo = photo_new(part->announce, PHOTO_MAX_BYTES);
		return rc;
	}
	if (!part->data || s->photo == NULL)
		return rc;
	done = photo_add(s->photo, part->index, part->hex, part->hexlen, err,
	    errlen);
	if (done < 0) {
		photo_free(s->photo);
		s->photo = NULL;
		return REPORT_ERROR;
	}
	if (done == 0)
		return rc;
	/* photo_report resets r: take the id out of it first. */
	memcpy(device, r->device[0] != '\0' ? r->device : s->device,
	    sizeof device);
	photo_report(s->photo, device, recv_ms, r);
	return REPORT_OK;
}

/*
 * Decodes one message of protocol proto and calls cb for it.  raw/rawlen
 * is what the callback shows (the whole datagram for UDP), msg/len what
 * the decoder gets.  Returns the decoder's result.
 */
static int
decode_one(struct session *s, enum session_proto proto, const uint8_t *raw,
    size_t rawlen, const uint8_t *msg, size_t len, int64_t recv_ms,
    session_frame_cb *cb, void *arg)
{
	struct report r;
	struct reply reply;
	struct gps103_photo_part part;
	char err[ERR_LEN];
	int rc;
	bool finished = false;
	struct session_frame f;

	err[0] = '\0';
	reply.len = 0;
	if (proto == SESSION_TK103)
		rc = tk103_decode(msg, len, recv_ms, &r, &reply, err, sizeof err);
	else {
		memset(&part, 0, sizeof part);
		rc = gps103_decode(msg, len, recv_ms, &r, &reply, &part, err,
		    sizeof err);
		if (rc != REPORT_ERROR && (part.announce > 0 || part.data)) {
			rc = photo_part(s, &part, recv_ms, &r, rc, err, sizeof err);
			finished = part.data && rc == REPORT_OK;
		}
	}
	if (rc != REPORT_ERROR && r.device[0] != '\0')
		memcpy(s->device, r.device, sizeof s->device);
	if (rc == REPORT_ERROR && err[0] == '\0')
		snprintf(err, sizeof err, "undecodable frame");

	f.raw = raw;
	f.len = rawlen;
	f.proto = proto;
	f.result = rc;
	f.report = rc == REPORT_OK ? &r : NULL;
	f.reply = reply.len > 0 ? &reply : NULL;
	f.error = rc == REPORT_ERROR ? err : NULL;
	f.device = s->device;
	cb(arg, &f);
	if (finished) {
		/* The photo's image text lived in it until the callback ended. */
		photo_free(s->photo);
		s->photo = NULL;
	}
	return rc;
}

/* ---- Streams (TCP) ---- */

static bool
all_space(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!frame_is_space(b[i]))
			return false;
	}
	return true;
}

/*
 * Detects the protocol at the front of buf.  Returns the bytes consumed
 * (whitespace and junk in front of the first frame, all of buf on a
 * reject), setting *stop when nothing more can be done with buf now.
 */
static size_t
detect_or_reject(struct session *s, const uint8_t *buf, size_t len, bool eof,
    session_frame_cb *cb, void *arg, bool *stop)
{
	struct detect d;
	size_t j, n;

	*stop = false;
	switch (detect_proto(buf, len, s->max_frame, eof, &d)) {
	case DETECT_NEED_MORE:
		*stop = true;
		return d.start;
	case DETECT_REJECT:
		n = len - d.start < s->max_frame ? len - d.start : s->max_frame;
		emit_reject(s, SESSION_UNKNOWN, buf + d.start, n, d.reason, cb,
		    arg);
		s->closed = true;
		*stop = true;
		return len;
	case DETECT_TK103:
		s->proto = SESSION_TK103;
		break;
	case DETECT_GPS103:
		s->proto = SESSION_GPS103;
		break;
	}
	/* Junk in front of the first frame goes to the rejects as one piece. */
	for (j = 0; j < d.start && frame_is_space(buf[j]); j++)
		;
	if (!all_space(buf + j, d.start - j))
		emit_reject(s, s->proto, buf + j, d.start - j,
		    "junk before frame", cb, arg);
	return d.start;
}

size_t
session_feed(struct session *s, const uint8_t *buf, size_t len,
    int64_t recv_ms, bool eof, session_frame_cb *cb, void *arg,
    bool *close_peer)
{
	size_t off = 0;

	*close_peer = s->closed;
	while (!s->closed) {
		struct frame fr;
		enum frame_result res;
		enum report_proto rp;
		int rc;

		if (s->proto == SESSION_UNKNOWN) {
			bool stop;
			size_t n = detect_or_reject(s, buf + off, len - off, eof,
			    cb, arg, &stop);

			off += n;
			s->bad += n;
			if (stop)
				break;
		}
		rp = s->proto == SESSION_TK103 ? REPORT_PROTO_TK103 :
		    REPORT_PROTO_GPS103;
		res = frame_next(rp, buf + off, len - off, s->max_frame, eof, &fr);
		switch (res) {
		case FRAME_NEED_MORE:
			off += fr.used;
			s->bad += fr.used;
			break;
		case FRAME_GARBAGE:
		case FRAME_TOO_LONG:
			emit_reject(s, s->proto, buf + off + fr.start, fr.len,
			    fr.reason, cb, arg);
			off += fr.used;
			s->bad += fr.used;
			if (res == FRAME_TOO_LONG)
				s->closed = true;
			break;
		case FRAME_OK:
			rc = decode_one(s, s->proto, buf + off + fr.start, fr.len,
			    buf + off + fr.start, fr.len, recv_ms, cb, arg);
			off += fr.used;
			if (rc == REPORT_ERROR)
				s->bad += fr.used;
			else
				s->bad = 0;
			break;
		}
		/* A peer that sends max-frame bytes and nothing valid goes. */
		if (s->bad >= s->max_frame)
			s->closed = true;
		if (res == FRAME_NEED_MORE)
			break;
	}
	if (s->closed) {
		*close_peer = true;
		return len;
	}
	return off;
}

/* ---- Datagrams (UDP) ---- */

void
session_datagram(struct session *s, const uint8_t *buf, size_t len,
    int64_t recv_ms, session_frame_cb *cb, void *arg)
{
	struct detect d;
	size_t n = len;
	enum session_proto proto;

	/*
	 * One session serves every UDP peer, so a datagram stands for itself:
	 * the id of the previous datagram (another device, maybe) must not
	 * be credited to this one.
	 */
	s->device[0] = '\0';
	while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
		n--;
	if (len > s->max_frame) {
		emit_reject(s, SESSION_UNKNOWN, buf, len,
		    "datagram longer than max-frame", cb, arg);
		return;
	}
	/*
	 * Detection sees the whole datagram: the trailing CR LF does not
	 * change what a text protocol looks like, and GT06 is recognised by
	 * its closing CR LF.  The decoder gets the message without it.
	 */
	switch (detect_proto(buf, len, s->max_frame, true, &d)) {
	case DETECT_NEED_MORE:
		emit_reject(s, SESSION_UNKNOWN, buf, len, "empty datagram", cb,
		    arg);
		return;
	case DETECT_REJECT:
		emit_reject(s, SESSION_UNKNOWN, buf, len, d.reason, cb, arg);
		return;
	case DETECT_TK103:
		proto = SESSION_TK103;
		break;
	default:
		proto = SESSION_GPS103;
		break;
	}
	if (d.start >= n) {
		emit_reject(s, proto, buf, len, "empty datagram", cb, arg);
		return;
	}
	decode_one(s, proto, buf, len, buf + d.start, n - d.start, recv_ms, cb,
	    arg);
}
