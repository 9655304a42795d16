/*
 * frame.h: cutting a TCP byte stream into messages, for both protocols
 * (protocols/TK103.md 2.1 and 3.1).
 *
 * A pure function over bytes: it keeps no state, allocates nothing and
 * never looks past buf[0..len).  The caller (session.c) owns the buffer:
 * it calls frame_next on what it holds, handles the result, drops
 * `used` bytes from the front and calls again.  Decoding the frame is the
 * decoders' job; what to do with garbage (report it, close the peer) is
 * the session's.
 */
#ifndef GA_INGEST_FRAME_H
#define GA_INGEST_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/report.h"

enum frame_result {
	FRAME_NEED_MORE,	/* no complete frame yet: wait for more bytes */
	FRAME_OK,		/* buf[start..start+len) is one frame */
	FRAME_GARBAGE,		/* buf[start..start+len) is not a frame: reject it */
	FRAME_TOO_LONG,		/* a frame grew past max: reject it */
};

struct frame {
	size_t start;		/* OK, GARBAGE, TOO_LONG: offset of the bytes */
	size_t len;		/* and their length */
	size_t used;		/* bytes to drop from the front of buf now */
	const char *reason;	/* GARBAGE, TOO_LONG: static one-line reason */
};

/*
 * Finds the next frame of protocol proto at the front of buf[0..len).
 * max bounds a frame and a run of junk (--max-frame); eof says that no
 * more bytes will follow, so an incomplete tail is garbage instead of a
 * reason to wait.  Fills *f and returns:
 *
 * FRAME_OK        f->start/f->len: the frame, terminator or parentheses
 *                 included; f->used = start + len.  Whitespace (CR, LF,
 *                 space, NUL) in front of a frame is skipped.
 * FRAME_NEED_MORE f->used: leading bytes that can be dropped already
 *                 (whitespace only); keep the rest and call again with more.
 * FRAME_GARBAGE   f->start/f->len: bytes that are no frame: junk in front
 *                 of '(' (kept until the '(' arrives, so that a run of
 *                 junk is one reject however it was split), max bytes of
 *                 junk with no '(', a frame whose '$' never balance, an
 *                 unclosed frame at eof.  TK103 only: in GPS103 every
 *                 byte up to a terminator belongs to a frame.  f->used:
 *                 how far to skip to resynchronise.
 * FRAME_TOO_LONG  f->start/f->len: the first max bytes of a frame that has
 *                 no end within max bytes; f->used: where to resynchronise.
 *
 * TK103: a frame runs from '(' to the first ')' preceded (since the '(')
 * by an even number of '$'; free text between '$' may hold ')', CR and LF.
 * A frame that has not closed after max bytes is cut: GARBAGE with reason
 * "unbalanced $" when a ')' was seen (only the '$' count kept it open),
 * TOO_LONG otherwise; both resynchronise at the next '(' after its start.
 *
 * GPS103: a frame ends at the first ';', LF or '*', kept; a CR before the
 * LF stays in the frame (the "\r\n" terminator).  At eof a non-blank
 * unterminated tail is a frame (the decoder accepts a missing terminator).
 *
 * Work per call is bounded by about max bytes of scanning whatever len is.
 */
enum frame_result frame_next(enum report_proto proto, const uint8_t *buf,
    size_t len, size_t max, bool eof, struct frame *f);

/* True for the bytes skipped between frames: CR, LF, space, NUL. */
bool frame_is_space(uint8_t c);

#endif
