/*
 * libFuzzer harness for ingest/frame.c.  Not built by default (it needs
 * clang):
 *
 *   clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
 *     tests/fuzz/fuzz_frame.c ingest/frame.c -o build/fuzz_frame
 *
 * The first input byte picks the protocol, the eof flag and max; the rest
 * is the stream.  Each call is checked against the contract in frame.h:
 * offsets inside the buffer, progress or a wait, and frames that look like
 * frames.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum report_proto proto;
	size_t max, off = 0;
	bool eof;

	if (size < 1)
		return 0;
	proto = data[0] & 1 ? REPORT_PROTO_GPS103 : REPORT_PROTO_TK103;
	eof = (data[0] & 2) != 0;
	max = 8 + (size_t)(data[0] >> 2) * 8;	/* 8..512 */
	data++;
	size--;
	while (off < size) {
		struct frame f;
		const uint8_t *b = data + off;
		size_t len = size - off;
		enum frame_result r = frame_next(proto, b, len, max, eof, &f);

		check(f.used <= len);
		if (r == FRAME_NEED_MORE) {
			/* Only whitespace may be dropped while waiting. */
			for (size_t i = 0; i < f.used; i++)
				check(frame_is_space(b[i]));
			if (f.used == 0)
				break;
			off += f.used;
			continue;
		}
		check(f.start + f.len <= len);
		check(f.start + f.len <= f.used || r != FRAME_OK);
		check(f.len > 0 && f.len <= max);
		check(f.used > 0);
		if (r == FRAME_OK) {
			uint8_t last = b[f.start + f.len - 1];

			check(f.used == f.start + f.len);
			if (proto == REPORT_PROTO_TK103)
				check(b[f.start] == '(' && last == ')');
			else if (!eof || f.used < len)
				check(last == ';' || last == '\n' || last == '*');
		} else
			check(f.reason != NULL && f.reason[0] != '\0');
		off += f.used;
	}
	return 0;
}
