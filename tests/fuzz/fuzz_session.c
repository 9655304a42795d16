/*
 * libFuzzer harness for ingest/session.c: detection, framing, both
 * decoders and photo assembly, fed the way a TCP connection feeds them.
 * Not built by default (it needs clang):
 *
 *   clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
 *     tests/fuzz/fuzz_session.c $(find ingest lib -name '*.c' ! -name main.c) \
 *     $(pkg-config --cflags --libs libevent) -lm -o build/fuzz_session
 *
 * (every ingest and lib source but main.c, built with the fuzzer's
 * coverage, so that the decoders are explored too).
 *
 * The first byte picks max_frame and the read size; the input is fed in
 * reads of that size, keeping unconsumed bytes as conn.c does, then with
 * eof, and once more as a UDP datagram.  The callback checks the
 * session_frame contract and formats every report, as the writers would.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/report.h"
#include "ingest/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct report_fields fields;

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
on_frame(void *arg, const struct session_frame *f)
{
	size_t *calls = arg;

	(*calls)++;
	check(f->raw != NULL || f->len == 0);
	check(f->device != NULL);
	check((f->result == REPORT_OK) == (f->report != NULL));
	check((f->result == REPORT_ERROR) == (f->error != NULL));
	check(f->reply == NULL || f->reply->len <= REPORT_REPLY_MAX);
	if (f->report != NULL)
		(void)report_format(f->report, &fields);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session *s;
	size_t max, step, pos = 0, have = 0, calls = 0;
	uint8_t *buf;
	bool closed = false;

	if (size < 1)
		return 0;
	max = 16 + (size_t)(data[0] & 0x3f) * 32;	/* 16..2032 */
	step = 1 + (size_t)(data[0] >> 6) * 7;		/* 1, 8, 15, 22 */
	data++;
	size--;
	buf = malloc(size + 1);
	s = session_new(max);
	while (!closed) {
		size_t n = size - pos < step ? size - pos : step, used;
		bool eof = pos + n == size;

		memcpy(buf + have, data + pos, n);
		pos += n;
		have += n;
		used = session_feed(s, buf, have, 0, eof, on_frame, &calls,
		    &closed);
		check(used <= have);
		memmove(buf, buf + used, have - used);
		have -= used;
		/* A session never holds back more than about max bytes. */
		check(closed || have <= max + step);
		if (eof)
			break;
	}
	session_free(s);

	s = session_new(max);
	calls = 0;
	session_datagram(s, data, size, 0, on_frame, &calls);
	check(calls == 1);
	session_free(s);
	free(buf);
	return 0;
}
