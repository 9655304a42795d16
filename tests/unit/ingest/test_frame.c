/*
 * Unit tests for ingest/frame.c: the TK103 and GPS103 stream framers
 * (protocols/TK103.md 2.1 and 3.1).  Expected offsets are counted by hand
 * from the inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/frame.h"

#define TK REPORT_PROTO_TK103
#define GPS REPORT_PROTO_GPS103

/* One result of a simulated connection. */
struct rec {
	enum frame_result res;
	char bytes[512];
	size_t len;
};

/*
 * Feeds data[0..len) to the framer the way session.c does: the buffer
 * grows by the pieces ending at cuts[0..ncuts) (then the rest, with eof),
 * every result other than NEED_MORE is recorded and `used` bytes are
 * dropped after each call.  Returns the number of records.
 */
static int
run(enum report_proto p, const char *data, size_t len, size_t max,
    const size_t *cuts, int ncuts, struct rec *out, int maxout)
{
	uint8_t *buf = malloc(len + 1);
	size_t have = 0, pos = 0;
	int n = 0;

	for (int c = 0; c <= ncuts; c++) {
		size_t e = c < ncuts ? cuts[c] : len;
		bool eof = c == ncuts;

		memcpy(buf + have, data + pos, e - pos);
		have += e - pos;
		pos = e;
		for (;;) {
			struct frame f;
			enum frame_result r = frame_next(p, buf, have, max, eof, &f);

			assert_true(f.used <= have);
			if (r != FRAME_NEED_MORE) {
				assert_true(n < maxout);
				assert_true(f.start + f.len <= have);
				assert_true(f.len < sizeof out[n].bytes);
				out[n].res = r;
				memcpy(out[n].bytes, buf + f.start, f.len);
				out[n].bytes[f.len] = '\0';
				out[n].len = f.len;
				n++;
			}
			memmove(buf, buf + f.used, have - f.used);
			have -= f.used;
			if (r == FRAME_NEED_MORE)
				break;
		}
	}
	free(buf);
	return n;
}

static void
expect(const struct rec *r, enum frame_result res, const char *bytes)
{
	assert_int_equal(r->res, res);
	assert_int_equal(r->len, strlen(bytes));
	assert_memory_equal(r->bytes, bytes, r->len);
}

static void
test_tk103_single_frame(void **state)
{
	const char *in = "(076543210987BP00HSO)";
	struct frame f;

	(void)state;
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 21, 2048, false, &f),
	    FRAME_OK);
	assert_int_equal(f.start, 0);
	assert_int_equal(f.len, 21);
	assert_int_equal(f.used, 21);
	/* Without its ')' the frame waits; nothing may be dropped yet. */
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 20, 2048, false, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(f.used, 0);
}

/* Traccar's stray junk in front of '(' is handed back whole, then the frame. */
static void
test_tk103_junk_before_frame(void **state)
{
	const char *in = "%@#*^$-+<>?$)))$$--(076543210987BP00HSO)";
	struct frame f;

	(void)state;
	assert_int_equal(frame_next(TK, (const uint8_t *)in, strlen(in), 2048,
	    false, &f), FRAME_GARBAGE);
	assert_int_equal(f.start, 0);
	assert_int_equal(f.len, 19);
	assert_int_equal(f.used, 19);
	assert_string_equal(f.reason, "junk before frame");
	assert_int_equal(frame_next(TK, (const uint8_t *)in + 19, 21, 2048,
	    false, &f), FRAME_OK);
	assert_int_equal(f.start, 0);
	assert_int_equal(f.len, 21);
}

/* Leading CR LF is skipped silently: start moves past it. */
static void
test_tk103_whitespace_skipped(void **state)
{
	const char *in = "\r\n \r\n(076543210987BP00HSO)\r\n";
	struct frame f;

	(void)state;
	assert_int_equal(frame_next(TK, (const uint8_t *)in, strlen(in), 2048,
	    false, &f), FRAME_OK);
	assert_int_equal(f.start, 5);
	assert_int_equal(f.len, 21);
	assert_int_equal(f.used, 26);
	assert_int_equal(frame_next(TK, (const uint8_t *)in + 26, 2, 2048,
	    false, &f), FRAME_NEED_MORE);
	assert_int_equal(f.used, 2);
}

/* A ')' and CR LF between '$' signs do not end the frame. */
static void
test_tk103_dollar_text(void **state)
{
	const char *in =
	    "(864123456789012,ZC03,120318,100500,$Status:\r\nGPS ok (fix)$)";
	struct rec r[4];

	(void)state;
	assert_int_equal(run(TK, in, strlen(in), 2048, NULL, 0, r, 4), 1);
	expect(&r[0], FRAME_OK, in);
	/* Up to the ')' after "fix" the '$' count is odd: keep waiting. */
	{
		struct frame f;
		size_t upto = strlen(in) - 2;	/* stops before "$)" */

		assert_int_equal(frame_next(TK, (const uint8_t *)in, upto, 2048,
		    false, &f), FRAME_NEED_MORE);
	}
}

static void
test_tk103_three_in_one_buffer(void **state)
{
	const char *in = "(076543210987BP00HSO)"
	    "(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)"
	    "(076543210987BV001HGCM82633A004352)";
	struct rec r[8];

	(void)state;
	assert_int_equal(run(TK, in, strlen(in), 2048, NULL, 0, r, 8), 3);
	expect(&r[0], FRAME_OK, "(076543210987BP00HSO)");
	expect(&r[1], FRAME_OK,
	    "(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)");
	expect(&r[2], FRAME_OK, "(076543210987BV001HGCM82633A004352)");
}

/* The framing example at the end of protocols/TK103.md 2.8. */
static void
test_tk103_spec_framing_example(void **state)
{
	const char *in = "xx\r\n(864123456789012,ZC03,120318,100500,$Status:\r\n"
	    "GPS ok (fix)$)(864123456789012,ZC20,120318,100501,6,410,65535,255)";
	struct rec r[4];

	(void)state;
	assert_int_equal(run(TK, in, strlen(in), 2048, NULL, 0, r, 4), 3);
	expect(&r[0], FRAME_GARBAGE, "xx\r\n");
	expect(&r[1], FRAME_OK,
	    "(864123456789012,ZC03,120318,100500,$Status:\r\nGPS ok (fix)$)");
	expect(&r[2], FRAME_OK,
	    "(864123456789012,ZC20,120318,100501,6,410,65535,255)");
}

/* Whatever the segmentation, the same frames come out in the same order. */
static void
test_tk103_split_at_every_byte(void **state)
{
	const char *in = "%@#*^$-+<>?$)))$$--(076543210987BP00HSO)\r\n"
	    "(864123456789012,ZC03,120318,100500,$Status:\r\nGPS ok (fix)$)"
	    "(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)";
	size_t len = strlen(in);
	struct rec want[8], got[8];
	size_t *cuts = malloc(len * sizeof *cuts);
	int n;

	(void)state;
	n = run(TK, in, len, 2048, NULL, 0, want, 8);
	assert_int_equal(n, 4);
	expect(&want[0], FRAME_GARBAGE, "%@#*^$-+<>?$)))$$--");
	expect(&want[1], FRAME_OK, "(076543210987BP00HSO)");
	expect(&want[3], FRAME_OK,
	    "(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)");
	/* Two reads, split at each byte. */
	for (size_t k = 1; k < len; k++) {
		assert_int_equal(run(TK, in, len, 2048, &k, 1, got, 8), n);
		for (int i = 0; i < n; i++)
			expect(&got[i], want[i].res, want[i].bytes);
	}
	/* One byte per read. */
	for (size_t k = 0; k < len - 1; k++)
		cuts[k] = k + 1;
	assert_int_equal(run(TK, in, len, 2048, cuts, (int)len - 1, got, 8), n);
	for (int i = 0; i < n; i++)
		expect(&got[i], want[i].res, want[i].bytes);
	free(cuts);
}

/*
 * An odd '$' keeps the frame open and blocks the frames after it (Traccar
 * asserts this) until max bytes are buffered; then the framer drops the
 * broken frame up to the next '(' and the blocked frames come out.
 */
static void
test_tk103_unbalanced_dollar_blocks_then_resyncs(void **state)
{
	const char *bad = "(864123456789012,ZC03,120318,100500,$oops)";	/* 42 */
	const char *good = "(076543210987BP00HSO)";			/* 21 */
	char in[256];
	struct frame f;
	struct rec r[8];

	(void)state;
	snprintf(in, sizeof in, "%s%s%s%s", bad, good, good, good);
	assert_int_equal(strlen(bad), 42);
	/* 42 + 21 = 63 bytes < max 100: blocked, nothing to drop. */
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 63, 100, false, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(f.used, 0);
	/* 105 bytes >= 100: the broken frame is cut at the next '('. */
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 105, 100, false, &f),
	    FRAME_GARBAGE);
	assert_int_equal(f.start, 0);
	assert_int_equal(f.len, 42);
	assert_int_equal(f.used, 42);
	assert_string_equal(f.reason, "unbalanced $ in frame");
	/* The whole stream: the reject, then the three blocked frames. */
	assert_int_equal(run(TK, in, strlen(in), 100, NULL, 0, r, 8), 4);
	expect(&r[0], FRAME_GARBAGE, bad);
	for (int i = 1; i < 4; i++)
		expect(&r[i], FRAME_OK, good);
}

static void
test_tk103_too_long(void **state)
{
	char in[200];
	struct frame f;

	(void)state;
	in[0] = '(';
	memset(in + 1, 'A', sizeof in - 1);
	/* 63 bytes of a 64-byte max: still waiting. */
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 63, 64, false, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 64, 64, false, &f),
	    FRAME_TOO_LONG);
	assert_int_equal(f.start, 0);
	assert_int_equal(f.len, 64);
	assert_int_equal(f.used, 64);
	assert_string_equal(f.reason, "frame longer than max-frame");
	/* A later '(' within the window is where it resynchronises. */
	in[40] = '(';
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 200, 64, false, &f),
	    FRAME_TOO_LONG);
	assert_int_equal(f.len, 40);
	assert_int_equal(f.used, 40);
	/* A frame of exactly max bytes is fine. */
	in[40] = 'A';
	in[63] = ')';
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 200, 64, false, &f),
	    FRAME_OK);
	assert_int_equal(f.len, 64);
}

static void
test_tk103_junk_without_frame_start(void **state)
{
	char in[100];
	struct frame f;

	(void)state;
	memset(in, 'x', sizeof in);
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 10, 64, false, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(f.used, 0);
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 10, 64, true, &f),
	    FRAME_GARBAGE);
	assert_int_equal(f.len, 10);
	assert_int_equal(f.used, 10);
	assert_int_equal(frame_next(TK, (const uint8_t *)in, 100, 64, false, &f),
	    FRAME_GARBAGE);
	assert_int_equal(f.start, 0);
	assert_int_equal(f.len, 64);
	assert_int_equal(f.used, 64);
	assert_string_equal(f.reason, "junk without a frame start");
}

static void
test_tk103_incomplete_at_eof(void **state)
{
	const char *in = "\r\n(076543210987BP0";
	struct frame f;

	(void)state;
	assert_int_equal(frame_next(TK, (const uint8_t *)in, strlen(in), 2048,
	    false, &f), FRAME_NEED_MORE);
	assert_int_equal(f.used, 2);
	assert_int_equal(frame_next(TK, (const uint8_t *)in, strlen(in), 2048,
	    true, &f), FRAME_GARBAGE);
	assert_int_equal(f.start, 2);
	assert_int_equal(f.len, strlen(in) - 2);
	assert_string_equal(f.reason, "incomplete frame at end of input");
}

/* Each terminator ends a frame and stays in it. */
static void
test_gps103_terminators(void **state)
{
	const char *in = "##,imei:864123456789012,A;"
	    "864123456789012\n"
	    "imei:864123456789012,tracker,1803121056,,L,,,1a2b,,3c4d,,,\r\n"
	    "imei:864123456789012,Truck 7,---,------,----,095612,120318,22,1,"
	    "48.11730,11.51667,045,087,0520,0.90,09,1,1,---,*";
	struct rec r[8];

	(void)state;
	assert_int_equal(run(GPS, in, strlen(in), 2048, NULL, 0, r, 8), 4);
	expect(&r[0], FRAME_OK, "##,imei:864123456789012,A;");
	expect(&r[1], FRAME_OK, "864123456789012\n");
	expect(&r[2], FRAME_OK,
	    "imei:864123456789012,tracker,1803121056,,L,,,1a2b,,3c4d,,,\r\n");
	expect(&r[3], FRAME_OK,
	    "imei:864123456789012,Truck 7,---,------,----,095612,120318,22,1,"
	    "48.11730,11.51667,045,087,0520,0.90,09,1,1,---,*");
}

/* CR LF after ';' makes no extra (blank) frame, however it is split. */
static void
test_gps103_crlf_after_semicolon(void **state)
{
	const char *in = "##,imei:864123456789012,A;\r\n864123456789012;\r\n";
	size_t len = strlen(in);
	struct rec r[8];

	(void)state;
	for (size_t k = 1; k < len; k++) {
		assert_int_equal(run(GPS, in, len, 2048, &k, 1, r, 8), 2);
		expect(&r[0], FRAME_OK, "##,imei:864123456789012,A;");
		expect(&r[1], FRAME_OK, "864123456789012;");
	}
}

static void
test_gps103_too_long_and_eof(void **state)
{
	char in[100];
	struct frame f;

	(void)state;
	memset(in, '1', sizeof in);
	assert_int_equal(frame_next(GPS, (const uint8_t *)in, 63, 64, false, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(frame_next(GPS, (const uint8_t *)in, 100, 64, false, &f),
	    FRAME_TOO_LONG);
	assert_int_equal(f.start, 0);
	assert_int_equal(f.len, 64);
	assert_int_equal(f.used, 64);
	/* At eof an unterminated tail is the last message (UDP-like). */
	assert_int_equal(frame_next(GPS, (const uint8_t *)"\r\n864123456789012",
	    17, 64, true, &f), FRAME_OK);
	assert_int_equal(f.start, 2);
	assert_int_equal(f.len, 15);
	/* Whitespace alone at eof is nothing. */
	assert_int_equal(frame_next(GPS, (const uint8_t *)"\r\n", 2, 64, true,
	    &f), FRAME_NEED_MORE);
	assert_int_equal(f.used, 2);
}

/*
 * 1 MiB of random bytes: every call makes progress or waits, a result
 * never spans more than max bytes, and the whole buffer is consumed.
 */
static void
test_random_bytes_bounded(void **state)
{
	size_t len = 1 << 20, off = 0, max = 2048;
	uint8_t *buf = malloc(len);
	uint32_t x = 12345;
	long calls = 0;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (int p = 0; p < 2; p++) {
		off = 0;
		calls = 0;
		while (off < len) {
			struct frame f;
			enum frame_result r = frame_next(p == 0 ? TK : GPS,
			    buf + off, len - off, max, true, &f);

			if (r != FRAME_NEED_MORE)
				assert_true(f.len <= max);
			assert_true(f.used > 0);
			off += f.used;
			calls++;
		}
		assert_int_equal(off, len);
		assert_true(calls <= (long)len);
	}
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tk103_single_frame),
		cmocka_unit_test(test_tk103_junk_before_frame),
		cmocka_unit_test(test_tk103_whitespace_skipped),
		cmocka_unit_test(test_tk103_dollar_text),
		cmocka_unit_test(test_tk103_three_in_one_buffer),
		cmocka_unit_test(test_tk103_spec_framing_example),
		cmocka_unit_test(test_tk103_split_at_every_byte),
		cmocka_unit_test(test_tk103_unbalanced_dollar_blocks_then_resyncs),
		cmocka_unit_test(test_tk103_too_long),
		cmocka_unit_test(test_tk103_junk_without_frame_start),
		cmocka_unit_test(test_tk103_incomplete_at_eof),
		cmocka_unit_test(test_gps103_terminators),
		cmocka_unit_test(test_gps103_crlf_after_semicolon),
		cmocka_unit_test(test_gps103_too_long_and_eof),
		cmocka_unit_test(test_random_bytes_bounded),
	};

	return cmocka_run_group_tests_name("ingest/frame", tests, NULL, NULL);
}
