/*
 * frame.c: the stream framers of both protocols (frame.h).  Stateless:
 * each call rescans the front of the buffer, which costs at most about
 * max bytes, so feeding a frame one byte at a time stays bounded.
 */
#include "ingest/frame.h"

#include <string.h>

bool
frame_is_space(uint8_t c)
{
	return c == '\r' || c == '\n' || c == ' ' || c == '\0';
}

static size_t
skip_space(const uint8_t *buf, size_t len)
{
	size_t i = 0;

	while (i < len && frame_is_space(buf[i]))
		i++;
	return i;
}

static enum frame_result
set(struct frame *f, enum frame_result r, size_t start, size_t len,
    size_t used, const char *reason)
{
	f->start = start;
	f->len = len;
	f->used = used;
	f->reason = reason;
	return r;
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * TK103 (section 2.1).  Traccar drops junk in front of '(' silently; we
 * hand it back as GARBAGE so that it reaches the rejects stream, but only
 * once the '(' (or max bytes, or eof) shows where the junk ends.
 */
static enum frame_result
tk103_next(const uint8_t *buf, size_t len, size_t max, bool eof,
    struct frame *f)
{
	size_t ws = skip_space(buf, len), s, end, k, dollars = 0;
	const uint8_t *p;
	bool seen_close = false;

	if (ws == len)
		return set(f, FRAME_NEED_MORE, 0, 0, ws, NULL);
	end = min_size(len, ws + max);
	p = memchr(buf + ws, '(', end - ws);
	if (p == NULL) {
		if (end - ws >= max)
			return set(f, FRAME_GARBAGE, ws, max, ws + max,
			    "junk without a frame start");
		if (eof)
			return set(f, FRAME_GARBAGE, ws, len - ws, len,
			    "junk without a frame start");
		return set(f, FRAME_NEED_MORE, 0, 0, ws, NULL);
	}
	s = (size_t)(p - buf);
	if (s > ws)
		return set(f, FRAME_GARBAGE, ws, s - ws, s, "junk before frame");

	end = min_size(len, s + max);
	for (k = s + 1; k < end; k++) {
		if (buf[k] == '$')
			dollars++;
		else if (buf[k] == ')') {
			if (dollars % 2 == 0)
				return set(f, FRAME_OK, s, k - s + 1, k + 1, NULL);
			seen_close = true;
		}
	}
	if (len - s >= max) {
		/* Cut the frame: resynchronise at the next '(' (Traccar). */
		const uint8_t *q = memchr(buf + s + 1, '(', end - s - 1);
		size_t used = q != NULL ? (size_t)(q - buf) : end;

		if (seen_close)
			return set(f, FRAME_GARBAGE, s, used - s, used,
			    "unbalanced $ in frame");
		return set(f, FRAME_TOO_LONG, s, used - s, used,
		    "frame longer than max-frame");
	}
	if (eof)
		return set(f, FRAME_GARBAGE, s, len - s, len,
		    "incomplete frame at end of input");
	return set(f, FRAME_NEED_MORE, 0, 0, s, NULL);
}

/* GPS103 (section 3.1): up to the first ';', LF or '*', kept. */
static enum frame_result
gps103_next(const uint8_t *buf, size_t len, size_t max, bool eof,
    struct frame *f)
{
	size_t s = skip_space(buf, len), end, k;

	if (s == len)
		return set(f, FRAME_NEED_MORE, 0, 0, s, NULL);
	end = min_size(len, s + max);
	for (k = s; k < end; k++) {
		if (buf[k] == ';' || buf[k] == '\n' || buf[k] == '*')
			return set(f, FRAME_OK, s, k - s + 1, k + 1, NULL);
	}
	if (len - s >= max)
		return set(f, FRAME_TOO_LONG, s, max, s + max,
		    "frame longer than max-frame");
	if (eof)
		return set(f, FRAME_OK, s, len - s, len, NULL);
	return set(f, FRAME_NEED_MORE, 0, 0, s, NULL);
}

enum frame_result
frame_next(enum report_proto proto, const uint8_t *buf, size_t len,
    size_t max, bool eof, struct frame *f)
{
	if (max == 0)
		max = 1;
	if (proto == REPORT_PROTO_TK103)
		return tk103_next(buf, len, max, eof, f);
	return gps103_next(buf, len, max, eof, f);
}
