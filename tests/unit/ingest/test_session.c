/*
 * Unit tests for ingest/session.c: detection, framing, decoding and photo
 * assembly per peer, seen through the callbacks a daemon would get.
 * Replies and ids are the byte-exact ones of protocols/TK103.md 2.6, 3.4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/session.h"

#define T0 1520848572000LL	/* 2018-03-12T09:56:12Z */

#define BP00 "(076543210987BP00HSO)"
#define AP01 "(076543210987AP01HSO)"
/* Section 2.8: 2018-03-12T09:56:42Z, valid, 48.117300, 11.516667. */
#define BR00 "(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)"
#define BR00_TIME 1520848602000LL
#define IMEI "864123456789012"

struct call {
	int result;
	enum session_proto proto;
	char raw[4096];
	size_t len;
	char error[256];
	bool has_reply;
	char reply[80];
	char device[64];
	bool has_report;
	char rdevice[64];
	bool has_time;
	int64_t time_ms;
	char image[64];
	int64_t image_size;
};

struct rec {
	int n;			/* callbacks made */
	struct call c[64];	/* the first 64 of them */
	size_t consumed;
	bool closed;
};

static void
on_frame(void *arg, const struct session_frame *f)
{
	struct rec *r = arg;
	struct call *c;

	assert_non_null(f->device);
	assert_true(f->result != REPORT_ERROR || f->error != NULL);
	assert_true((f->result == REPORT_OK) == (f->report != NULL));
	if (r->n++ >= 64)
		return;
	c = &r->c[r->n - 1];
	memset(c, 0, sizeof *c);
	c->result = f->result;
	c->proto = f->proto;
	c->len = f->len < sizeof c->raw ? f->len : sizeof c->raw - 1;
	memcpy(c->raw, f->raw, c->len);
	if (f->error != NULL)
		snprintf(c->error, sizeof c->error, "%s", f->error);
	if (f->reply != NULL) {
		c->has_reply = true;
		snprintf(c->reply, sizeof c->reply, "%.*s", (int)f->reply->len,
		    f->reply->buf);
	}
	snprintf(c->device, sizeof c->device, "%s", f->device);
	if (f->report != NULL) {
		const struct report_attr *a;

		c->has_report = true;
		snprintf(c->rdevice, sizeof c->rdevice, "%s", f->report->device);
		c->has_time = f->report->has_time;
		c->time_ms = f->report->time_ms;
		if ((a = report_attr(f->report, "image")) != NULL)
			snprintf(c->image, sizeof c->image, "%.*s", (int)a->len,
			    a->s);
		if ((a = report_attr(f->report, "image_size")) != NULL)
			c->image_size = a->i;
	}
}

/*
 * Runs data through a new session as a connection would: the pieces end
 * at cuts[0..ncuts), then the rest with eof; unconsumed bytes are kept.
 * Stops feeding once the session asks to close the peer.
 */
static struct session *
run(size_t max, const void *data, size_t len, const size_t *cuts, int ncuts,
    struct rec *r)
{
	struct session *s = session_new(max);
	uint8_t *buf = malloc(len + 1);
	size_t have = 0, pos = 0;

	memset(r, 0, sizeof *r);
	for (int i = 0; i <= ncuts && !r->closed; i++) {
		size_t e = i < ncuts ? cuts[i] : len, used;

		memcpy(buf + have, (const uint8_t *)data + pos, e - pos);
		have += e - pos;
		pos = e;
		used = session_feed(s, buf, have, T0, i == ncuts, on_frame, r,
		    &r->closed);
		assert_true(used <= have);
		memmove(buf, buf + used, have - used);
		have -= used;
		r->consumed = pos - have;
	}
	free(buf);
	return s;
}

static void
runs(size_t max, const char *data, struct rec *r)
{
	session_free(run(max, data, strlen(data), NULL, 0, r));
}

static void
expect_raw(const struct call *c, const char *raw)
{
	assert_int_equal(c->len, strlen(raw));
	assert_memory_equal(c->raw, raw, c->len);
}

static void
test_tk103_handshake(void **state)
{
	struct rec r;
	struct session *s;

	(void)state;
	s = run(2048, BP00, strlen(BP00), NULL, 0, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.c[0].result, REPORT_NONE);
	assert_int_equal(r.c[0].proto, SESSION_TK103);
	expect_raw(&r.c[0], BP00);
	assert_true(r.c[0].has_reply);
	assert_string_equal(r.c[0].reply, AP01);
	assert_string_equal(r.c[0].device, "076543210987");
	assert_false(r.closed);
	assert_int_equal(session_proto(s), SESSION_TK103);
	assert_string_equal(session_device(s), "076543210987");
	assert_string_equal(session_proto_name(session_proto(s)), "tk103");
	session_free(s);
}

/* Traccar's stray bytes before the first '(' become one reject. */
static void
test_junk_before_first_frame(void **state)
{
	struct rec r;

	(void)state;
	runs(2048, "%@#*^$-+<>?$)))$$--" BP00, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.c[0].result, REPORT_ERROR);
	assert_int_equal(r.c[0].proto, SESSION_TK103);
	expect_raw(&r.c[0], "%@#*^$-+<>?$)))$$--");
	assert_string_equal(r.c[0].error, "junk before frame");
	assert_int_equal(r.c[1].result, REPORT_NONE);
	assert_string_equal(r.c[1].reply, AP01);
	assert_false(r.closed);
	/* CR LF alone in front is no reject. */
	runs(2048, "\r\n\r\n" BP00 "\r\n" BP00 "\r\n", &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.c[0].result, REPORT_NONE);
	assert_int_equal(r.c[1].result, REPORT_NONE);
}

static void
test_three_in_one_buffer(void **state)
{
	struct rec r;

	(void)state;
	runs(2048, BP00 BR00 "(076543210987BV001HGCM82633A004352)", &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.c[0].result, REPORT_NONE);
	assert_int_equal(r.c[1].result, REPORT_OK);
	expect_raw(&r.c[1], BR00);
	assert_string_equal(r.c[1].rdevice, "076543210987");
	assert_true(r.c[1].has_time);
	assert_int_equal(r.c[1].time_ms, BR00_TIME);
	assert_false(r.c[1].has_reply);
	assert_int_equal(r.c[2].result, REPORT_OK);
	expect_raw(&r.c[2], "(076543210987BV001HGCM82633A004352)");
}

/* Every split of a stream into two reads, and one byte per read, gives the
 * same callbacks as one read. */
static void
test_split_at_every_byte(void **state)
{
	const char *in = "xx\r\n" BP00 "\r\n"
	    "(864123456789012,ZC03,120318,100500,$Status:\r\nGPS ok (fix)$)"
	    BR00;
	size_t len = strlen(in);
	struct rec want, got;
	size_t *cuts = malloc(len * sizeof *cuts);

	(void)state;
	session_free(run(2048, in, len, NULL, 0, &want));
	assert_int_equal(want.n, 4);
	expect_raw(&want.c[0], "xx\r\n");
	assert_int_equal(want.c[0].result, REPORT_ERROR);
	expect_raw(&want.c[1], BP00);
	expect_raw(&want.c[2],
	    "(864123456789012,ZC03,120318,100500,$Status:\r\nGPS ok (fix)$)");
	assert_int_equal(want.c[2].result, REPORT_OK);
	expect_raw(&want.c[3], BR00);
	assert_int_equal(want.c[3].result, REPORT_OK);
	for (size_t k = 0; k + 1 < len; k++)
		cuts[k] = k + 1;
	for (size_t k = 0; k <= len; k++) {
		if (k == len)
			session_free(run(2048, in, len, cuts, (int)len - 1, &got));
		else
			session_free(run(2048, in, len, &k, 1, &got));
		assert_int_equal(got.n, want.n);
		for (int i = 0; i < want.n; i++) {
			assert_int_equal(got.c[i].result, want.c[i].result);
			assert_int_equal(got.c[i].len, want.c[i].len);
			assert_memory_equal(got.c[i].raw, want.c[i].raw,
			    want.c[i].len);
			assert_string_equal(got.c[i].reply, want.c[i].reply);
		}
		assert_int_equal(got.consumed, len);
	}
	free(cuts);
}

/* Login, heartbeat, each followed by CR LF: two callbacks, no blank one. */
static void
test_gps103_login_heartbeat_crlf(void **state)
{
	struct rec r;

	(void)state;
	runs(2048, "##,imei:" IMEI ",A;\r\n" IMEI ";\r\n", &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.c[0].proto, SESSION_GPS103);
	assert_int_equal(r.c[0].result, REPORT_NONE);
	expect_raw(&r.c[0], "##,imei:" IMEI ",A;");
	assert_string_equal(r.c[0].reply, "LOAD");
	assert_string_equal(r.c[0].device, IMEI);
	assert_int_equal(r.c[1].result, REPORT_NONE);
	expect_raw(&r.c[1], IMEI ";");
	assert_string_equal(r.c[1].reply, "ON");
	/* An unterminated heartbeat at the end of the stream still counts. */
	runs(2048, IMEI, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.c[0].reply, "ON");
}

static void
test_gps103_report(void **state)
{
	struct rec r;

	(void)state;
	runs(2048, "imei:" IMEI ",tracker,180312105612,,F,095612.000,A,"
	    "4807.0380,N,01131.0000,E,24.46,87.25;", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.c[0].result, REPORT_OK);
	assert_string_equal(r.c[0].rdevice, IMEI);
	assert_int_equal(r.c[0].time_ms, T0);
}

/* A reject by name, then the session is closed and stays closed. */
static void
expect_named_reject(const void *data, size_t len, const char *needle)
{
	struct rec r;
	struct session *s = run(2048, data, len, NULL, 0, &r);
	bool closed = false;

	assert_int_equal(r.n, 1);
	assert_int_equal(r.c[0].result, REPORT_ERROR);
	assert_int_equal(r.c[0].proto, SESSION_UNKNOWN);
	assert_non_null(strstr(r.c[0].error, needle));
	assert_true(r.closed);
	assert_int_equal(session_feed(s, (const uint8_t *)BP00, 21, T0, false,
	    on_frame, &r, &closed), 21);
	assert_true(closed);
	assert_int_equal(r.n, 1);
	session_free(s);
}

static void
test_gt06_h02_http_rejected(void **state)
{
	static const uint8_t gt06[] = {
		0x78, 0x78, 0x0d, 0x01, 0x03, 0x51, 0x60, 0x80, 0x80, 0x77,
		0x92, 0x88, 0x00, 0x22, 0x79, 0x4e, 0x0d, 0x0a,
	};
	const char *h02 = "*HQ,4106012736,V1,224831,A,2238.1119,N,11401.9938,E,"
	    "0.00,0,160113,FFFFFBFF#";
	const char *http = "GET / HTTP/1.1\r\nHost: tracker\r\n\r\n";

	(void)state;
	expect_named_reject(gt06, sizeof gt06, "GT06");
	expect_named_reject(h02, strlen(h02), "H02");
	expect_named_reject(http, strlen(http), "HTTP");
}

static void
test_neither_protocol_closes(void **state)
{
	char junk[3000];
	struct rec r;

	(void)state;
	memset(junk, 'z', sizeof junk);
	session_free(run(2048, junk, sizeof junk, NULL, 0, &r));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.c[0].len, 2048);
	assert_non_null(strstr(r.c[0].error, "neither TK103 nor GPS103"));
	assert_true(r.closed);
}

static void
test_over_long_frame_closes(void **state)
{
	char big[3000];
	struct rec r;

	(void)state;
	memcpy(big, BP00, 21);
	big[21] = '(';
	memset(big + 22, 'A', sizeof big - 22);
	session_free(run(2048, big, sizeof big, NULL, 0, &r));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.c[0].result, REPORT_NONE);
	assert_int_equal(r.c[1].result, REPORT_ERROR);
	assert_string_equal(r.c[1].error, "frame longer than max-frame");
	assert_int_equal(r.c[1].len, 2048);
	assert_true(r.closed);

	memcpy(big, "imei:", 5);
	memset(big + 5, '1', sizeof big - 5);
	session_free(run(2048, big, sizeof big, NULL, 0, &r));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.c[0].proto, SESSION_GPS103);
	assert_string_equal(r.c[0].error, "frame longer than max-frame");
	assert_true(r.closed);
}

/* An odd '$' blocks until max bytes, then the later frames get through. */
static void
test_unbalanced_dollar_resyncs(void **state)
{
	const char *bad = "(864123456789012,ZC03,120318,100500,$oops)";
	char in[512];
	struct rec r;

	(void)state;
	snprintf(in, sizeof in, "%s%s%s%s%s%s", bad, BP00, BP00, BP00, BP00,
	    BP00);
	/* 42 + 5 * 21 = 147 bytes; max 120. */
	session_free(run(120, in, strlen(in), NULL, 0, &r));
	assert_int_equal(r.n, 6);
	assert_int_equal(r.c[0].result, REPORT_ERROR);
	expect_raw(&r.c[0], bad);
	assert_string_equal(r.c[0].error, "unbalanced $ in frame");
	for (int i = 1; i < 6; i++) {
		assert_int_equal(r.c[i].result, REPORT_NONE);
		assert_string_equal(r.c[i].reply, AP01);
	}
	assert_false(r.closed);
}

/* max bytes of frames that all fail to decode close the peer; a valid
 * frame in between starts the count again. */
static void
test_undecodable_frames_close(void **state)
{
	char in[4096] = "";
	struct rec r;

	(void)state;
	/* "(garbage)" is 9 bytes: the 12th reaches 108 >= 100. */
	for (int i = 0; i < 20; i++)
		strcat(in, "(garbage)");
	session_free(run(100, in, strlen(in), NULL, 0, &r));
	assert_true(r.closed);
	assert_int_equal(r.n, 12);
	for (int i = 0; i < 12; i++)
		assert_int_equal(r.c[i].result, REPORT_ERROR);

	in[0] = '\0';
	for (int i = 0; i < 20; i++)
		strcat(in, "(garbage)(garbage)(garbage)" BP00);
	session_free(run(100, in, strlen(in), NULL, 0, &r));
	assert_false(r.closed);
	assert_int_equal(r.n, 80);
}

/* 1 MiB of random bytes: the peer is cut off after a bounded amount. */
static void
test_random_megabyte_closes(void **state)
{
	size_t len = 1 << 20;
	uint8_t *buf = malloc(len);
	uint32_t x = 7;
	struct rec r;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	/* Reads of 4 KiB, as a socket would deliver them. */
	{
		size_t cuts[256];

		for (int i = 0; i < 256; i++)
			cuts[i] = (size_t)(i + 1) * 4096;
		session_free(run(2048, buf, len, cuts, 255, &r));
	}
	assert_true(r.closed);
	assert_true(r.consumed <= 4 * 4096);
	assert_true(r.n >= 1);
	free(buf);
}

/* Section 3.8: vt2 announces two packets; the second completes the photo. */
static void
test_photo_assembly(void **state)
{
	const char *vt = "imei:" IMEI ",vt2,180312105612,,F,095612.000,A,"
	    "4807.0380,N,01131.0000,E,0.00,0;";
	/* index 0 (LE), 2 ignored, JPEG ffd8ffe0, 2 ignored. */
	const char *vr0 = "imei:" IMEI ",vr,00000000ffd8ffe00000;";
	const char *vr1 = "imei:" IMEI ",vr,010000000010ffd91234;";
	char in[512];
	struct rec r;
	struct session *s;

	(void)state;
	snprintf(in, sizeof in, "%s%s%s", vt, vr0, vr1);
	s = run(2048, in, strlen(in), NULL, 0, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.c[0].result, REPORT_OK);
	assert_string_equal(r.c[0].image, "");
	assert_int_equal(r.c[1].result, REPORT_NONE);
	assert_int_equal(r.c[2].result, REPORT_OK);
	expect_raw(&r.c[2], vr1);
	assert_string_equal(r.c[2].rdevice, IMEI);
	assert_string_equal(r.c[2].image, "ffd8ffe00010ffd9");
	assert_int_equal(r.c[2].image_size, 8);
	/* The photo memory is gone once the photo is out. */
	assert_true(session_memory(s) < 256);
	session_free(s);

	/* A data packet with no photo announced is a frame with no record. */
	runs(2048, vr1, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.c[0].result, REPORT_NONE);
}

/* Over 256 KiB of JPEG: an error for that packet, the photo dropped. */
static void
test_photo_over_cap(void **state)
{
	size_t jpeg = 200 * 1024, max = 2 * jpeg + 100;
	const char *vt = "imei:" IMEI ",vt3,180312105612,,F,095612.000,A,"
	    "4807.0380,N,01131.0000,E,0.00,0;";
	char *in = malloc(3 * max);
	size_t o = 0;
	struct rec r;
	struct session *s;

	(void)state;
	o += (size_t)sprintf(in + o, "%s", vt);
	for (unsigned idx = 0; idx < 3; idx++) {
		o += (size_t)sprintf(in + o, "imei:" IMEI ",vr,%02x000000", idx);
		memset(in + o, 'a', 2 * jpeg);
		o += 2 * jpeg;
		o += (size_t)sprintf(in + o, "0000;");
	}
	s = session_new(max);
	{
		bool closed = false;
		size_t used, half;

		memset(&r, 0, sizeof r);
		/* The announce and the first packet: a photo is under way. */
		half = strlen(vt) + 24 + 8 + 2 * jpeg + 5;
		used = session_feed(s, (uint8_t *)in, half, T0, false, on_frame,
		    &r, &closed);
		assert_int_equal(used, half);
		assert_true(session_memory(s) > jpeg);
		used += session_feed(s, (uint8_t *)in + half, o - half, T0, true,
		    on_frame, &r, &closed);
		assert_int_equal(used, o);
		assert_false(closed);
	}
	assert_int_equal(r.n, 4);
	assert_int_equal(r.c[1].result, REPORT_NONE);
	assert_int_equal(r.c[2].result, REPORT_ERROR);
	assert_non_null(strstr(r.c[2].error, "larger than 262144 bytes"));
	/* The third packet finds no photo: no record, no error. */
	assert_int_equal(r.c[3].result, REPORT_NONE);
	assert_true(session_memory(s) < 256);
	session_free(s);
	free(in);
}

/* An idle session is small: the daemon budgets 4 KiB per device. */
static void
test_idle_session_is_small(void **state)
{
	struct session *s = session_new(2048);

	(void)state;
	assert_true(session_memory(s) < 256);
	assert_int_equal(session_proto(s), SESSION_UNKNOWN);
	assert_string_equal(session_device(s), "");
	session_free(s);
	session_free(NULL);
}

static void
test_datagrams(void **state)
{
	struct session *s = session_new(2048);
	struct rec r;
	static const uint8_t gt06[] = {
		0x78, 0x78, 0x0d, 0x01, 0x03, 0x51, 0x60, 0x80, 0x80, 0x77,
		0x92, 0x88, 0x00, 0x22, 0x79, 0x4e, 0x0d, 0x0a,
	};
	char big[3000];

	(void)state;
	memset(&r, 0, sizeof r);
	session_datagram(s, (const uint8_t *)BP00 "\r\n", 23, T0, on_frame, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.c[0].proto, SESSION_TK103);
	assert_int_equal(r.c[0].result, REPORT_NONE);
	expect_raw(&r.c[0], BP00 "\r\n");
	assert_string_equal(r.c[0].reply, AP01);

	session_datagram(s, (const uint8_t *)IMEI, 15, T0, on_frame, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.c[1].proto, SESSION_GPS103);
	assert_string_equal(r.c[1].reply, "ON");
	/* Detection is per datagram; the session's own stays unknown. */
	assert_int_equal(session_proto(s), SESSION_UNKNOWN);

	assert_string_equal(r.c[1].device, IMEI);

	session_datagram(s, gt06, sizeof gt06, T0, on_frame, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.c[2].result, REPORT_ERROR);
	assert_non_null(strstr(r.c[2].error, "GT06"));
	/* Another peer's junk is not credited to the last device seen. */
	assert_string_equal(r.c[2].device, "");

	session_datagram(s, (const uint8_t *)"\r\n", 2, T0, on_frame, &r);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.c[3].error, "empty datagram");

	memset(big, '(', sizeof big);
	session_datagram(s, (const uint8_t *)big, sizeof big, T0, on_frame, &r);
	assert_int_equal(r.n, 5);
	assert_string_equal(r.c[4].error, "datagram longer than max-frame");
	session_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tk103_handshake),
		cmocka_unit_test(test_junk_before_first_frame),
		cmocka_unit_test(test_three_in_one_buffer),
		cmocka_unit_test(test_split_at_every_byte),
		cmocka_unit_test(test_gps103_login_heartbeat_crlf),
		cmocka_unit_test(test_gps103_report),
		cmocka_unit_test(test_gt06_h02_http_rejected),
		cmocka_unit_test(test_neither_protocol_closes),
		cmocka_unit_test(test_over_long_frame_closes),
		cmocka_unit_test(test_unbalanced_dollar_resyncs),
		cmocka_unit_test(test_undecodable_frames_close),
		cmocka_unit_test(test_random_megabyte_closes),
		cmocka_unit_test(test_photo_assembly),
		cmocka_unit_test(test_photo_over_cap),
		cmocka_unit_test(test_idle_session_is_small),
		cmocka_unit_test(test_datagrams),
	};

	return cmocka_run_group_tests_name("ingest/session", tests, NULL, NULL);
}
