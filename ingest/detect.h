/*
 * detect.h: telling TK103 from GPS103 by the first bytes a peer sends
 * (protocols/TK103.md section 1), and naming the look-alikes we refuse.
 *
 * A pure function over bytes, like the framers: the session calls it on
 * everything it holds until it returns something other than
 * DETECT_NEED_MORE, once per TCP connection and once per UDP datagram.
 */
#ifndef GA_INGEST_DETECT_H
#define GA_INGEST_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum detect_result {
	DETECT_NEED_MORE,	/* not decided yet: call again with more bytes */
	DETECT_TK103,
	DETECT_GPS103,
	DETECT_REJECT,		/* neither: close the peer */
};

struct detect {
	size_t start;		/* TK103/GPS103: offset of the first byte of
				 * the protocol ('(', 'i', '#' or a digit);
				 * bytes before it are whitespace or junk.
				 * REJECT: the first byte not whitespace.
				 * NEED_MORE: leading whitespace to drop */
	const char *kind;	/* REJECT: short static name: "gt06", "h02",
				 * "http", "tls" or "unknown" */
	const char *reason;	/* REJECT: static one-line reason */
};

/*
 * Decides the protocol of buf[0..len).  Leading CR, LF, space and NUL are
 * skipped.  Then '(' means TK103; "imei:", "##," or an ASCII digit means
 * GPS103; GT06 (78 78 / 79 79), H02 ("*HQ,"), HTTP ("GET ", "POST ", ...)
 * and TLS (16 03) are rejected by name.  Anything else is junk: the first
 * of '(', "imei:" and "##," within max bytes decides, and d->start points
 * at it.  With none in max bytes (or at eof), the peer is rejected.
 *
 * A prefix that could still become a start token or a look-alike ("im",
 * "*H", one 0x78 byte) gives DETECT_NEED_MORE unless eof is set.  Work is
 * bounded by about max bytes whatever len is.
 */
enum detect_result detect_proto(const uint8_t *buf, size_t len, size_t max,
    bool eof, struct detect *d);

#endif
