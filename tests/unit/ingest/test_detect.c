/*
 * Unit tests for ingest/detect.c: which protocol a peer speaks, from its
 * first bytes (protocols/TK103.md section 1), and the named rejects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest/detect.h"

static enum detect_result
det(const char *s, size_t len, bool eof, struct detect *d)
{
	return detect_proto((const uint8_t *)s, len, 2048, eof, d);
}

static enum detect_result
dets(const char *s, bool eof, struct detect *d)
{
	return det(s, strlen(s), eof, d);
}

static void
test_start_tokens(void **state)
{
	struct detect d;

	(void)state;
	assert_int_equal(dets("(076543210987BP00HSO)", false, &d), DETECT_TK103);
	assert_int_equal(d.start, 0);
	assert_int_equal(dets("##,imei:864123456789012,A;", false, &d),
	    DETECT_GPS103);
	assert_int_equal(dets("imei:864123456789012,tracker,", false, &d),
	    DETECT_GPS103);
	assert_int_equal(dets("864123456789012;", false, &d), DETECT_GPS103);
	/* An IMEI glued in front of a report starts with a digit. */
	assert_int_equal(dets("864123456789012imei:864123456789012,tracker",
	    false, &d), DETECT_GPS103);
	/* One byte is enough for '(' and a digit. */
	assert_int_equal(dets("(", false, &d), DETECT_TK103);
	assert_int_equal(dets("8", false, &d), DETECT_GPS103);
}

/* CR, LF, space and NUL in front are skipped; start points past them. */
static void
test_leading_whitespace(void **state)
{
	struct detect d;

	(void)state;
	assert_int_equal(det("\r\n \0(0765", 9, false, &d), DETECT_TK103);
	assert_int_equal(d.start, 4);
	assert_int_equal(dets("\r\n##,imei:1", false, &d), DETECT_GPS103);
	assert_int_equal(d.start, 2);
	/* Whitespace alone: wait, and the whitespace may be dropped. */
	assert_int_equal(dets("\r\n  ", false, &d), DETECT_NEED_MORE);
	assert_int_equal(d.start, 4);
}

/* A prefix of a start token waits; at eof it is junk. */
static void
test_partial_tokens_wait(void **state)
{
	struct detect d;

	(void)state;
	assert_int_equal(dets("im", false, &d), DETECT_NEED_MORE);
	assert_int_equal(dets("imei", false, &d), DETECT_NEED_MORE);
	assert_int_equal(dets("#", false, &d), DETECT_NEED_MORE);
	assert_int_equal(dets("##", false, &d), DETECT_NEED_MORE);
	assert_int_equal(dets("imei", true, &d), DETECT_REJECT);
	assert_string_equal(d.kind, "unknown");
	/* "imex" cannot become "imei:": junk, still waiting for a token. */
	assert_int_equal(dets("imex", false, &d), DETECT_NEED_MORE);
}

/*
 * Junk: the first of '(', "imei:" and "##," decides, even when the junk
 * holds '$', ')', '*' and ';' (Traccar's stray bytes).
 */
static void
test_junk_then_token(void **state)
{
	struct detect d;

	(void)state;
	assert_int_equal(dets("%@#*^$-+<>?$)))$$--(076543210987BP00HSO)", false,
	    &d), DETECT_TK103);
	assert_int_equal(d.start, 19);
	assert_int_equal(dets("xx\r\n(864123456789012,ZC03", false, &d),
	    DETECT_TK103);
	assert_int_equal(d.start, 4);
	assert_int_equal(dets("garbage;imei:864123456789012,tracker", false,
	    &d), DETECT_GPS103);
	assert_int_equal(d.start, 8);
	assert_int_equal(dets("zz##,imei:864123456789012,A;(", false, &d),
	    DETECT_GPS103);
	assert_int_equal(d.start, 2);
	assert_int_equal(dets("zz)(imei:", false, &d), DETECT_TK103);
	assert_int_equal(d.start, 3);
	/* No token yet: wait. */
	assert_int_equal(dets("%@#*^$-+<>?$)))$$--", false, &d),
	    DETECT_NEED_MORE);
}

/* No start token within max bytes (or before eof): reject, named. */
static void
test_junk_without_token(void **state)
{
	char buf[3000];
	struct detect d;

	(void)state;
	memset(buf, 'z', sizeof buf);
	assert_int_equal(det(buf, 2047, false, &d), DETECT_NEED_MORE);
	assert_int_equal(det(buf, 2048, false, &d), DETECT_REJECT);
	assert_string_equal(d.kind, "unknown");
	assert_non_null(strstr(d.reason, "neither TK103 nor GPS103"));
	/* A '(' past the first max bytes does not count. */
	buf[2500] = '(';
	assert_int_equal(det(buf, sizeof buf, false, &d), DETECT_REJECT);
	assert_int_equal(dets("hello", true, &d), DETECT_REJECT);
	assert_non_null(strstr(d.reason, "end of input"));
}

static void
test_gt06_rejected(void **state)
{
	/* A GT06 login: 78 78, length 0x0d, ..., stop bytes 0d 0a. */
	static const uint8_t login[] = {
		0x78, 0x78, 0x0d, 0x01, 0x03, 0x51, 0x60, 0x80, 0x80, 0x77,
		0x92, 0x88, 0x00, 0x22, 0x79, 0x4e, 0x0d, 0x0a,
	};
	static const uint8_t ext[] = {
		0x79, 0x79, 0x00, 0x06, 0x94, 0x00, 0x00, 0x01, 0xab, 0xcd,
		0x0d, 0x0a,
	};
	struct detect d;

	(void)state;
	assert_int_equal(detect_proto(login, sizeof login, 2048, false, &d),
	    DETECT_REJECT);
	assert_string_equal(d.kind, "gt06");
	assert_non_null(strstr(d.reason, "GT06"));
	assert_int_equal(detect_proto(ext, sizeof ext, 2048, false, &d),
	    DETECT_REJECT);
	assert_string_equal(d.kind, "gt06");
	/* Until the stop bytes are in, it could still be junk: wait. */
	assert_int_equal(detect_proto(login, 10, 2048, false, &d),
	    DETECT_NEED_MORE);
	assert_int_equal(detect_proto(login, 1, 2048, false, &d),
	    DETECT_NEED_MORE);
}

static void
test_h02_http_tls_rejected(void **state)
{
	struct detect d;

	(void)state;
	assert_int_equal(dets("*HQ,4106012736,V1,", false, &d), DETECT_REJECT);
	assert_string_equal(d.kind, "h02");
	assert_non_null(strstr(d.reason, "H02"));
	assert_int_equal(dets("*H", false, &d), DETECT_NEED_MORE);

	assert_int_equal(dets("GET / HTTP/1.1\r\n", false, &d), DETECT_REJECT);
	assert_string_equal(d.kind, "http");
	assert_non_null(strstr(d.reason, "HTTP request (GET)"));
	assert_int_equal(dets("POST /api HTTP/1.1", false, &d), DETECT_REJECT);
	assert_non_null(strstr(d.reason, "POST"));
	assert_int_equal(dets("HEAD / HTTP/1.0", false, &d), DETECT_REJECT);
	assert_string_equal(d.kind, "http");
	assert_int_equal(dets("GE", false, &d), DETECT_NEED_MORE);

	assert_int_equal(det("\x16\x03\x01\x02\x00\x01", 6, false, &d),
	    DETECT_REJECT);
	assert_string_equal(d.kind, "tls");
	assert_int_equal(dets("SSH-2.0-OpenSSH_9.2\r\n", false, &d),
	    DETECT_REJECT);
	assert_string_equal(d.kind, "ssh");
}

/* Text junk that starts like GT06 ("xx") is not GT06. */
static void
test_xx_junk_is_not_gt06(void **state)
{
	struct detect d;

	(void)state;
	assert_int_equal(dets("xx\r\n(864123456789012,ZC20,120318,100501,6,410,"
	    "65535,255)", false, &d), DETECT_TK103);
	assert_int_equal(d.start, 4);
	/* Too short to check the GT06 end yet, but eof: junk decides. */
	assert_int_equal(dets("xx\r\n(0", true, &d), DETECT_TK103);
}

/* 1 MiB of random bytes: one call decides, looking at max bytes at most. */
static void
test_random_bytes(void **state)
{
	size_t len = 1 << 20;
	uint8_t *buf = malloc(len);
	uint32_t x = 99;
	struct detect d;
	enum detect_result r;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		x = x * 1664525u + 1013904223u;
		buf[i] = (uint8_t)(x >> 24);
	}
	r = detect_proto(buf, len, 2048, false, &d);
	assert_int_not_equal(r, DETECT_NEED_MORE);
	if (r != DETECT_REJECT)
		assert_true(d.start < 2048 + 8);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_tokens),
		cmocka_unit_test(test_leading_whitespace),
		cmocka_unit_test(test_partial_tokens_wait),
		cmocka_unit_test(test_junk_then_token),
		cmocka_unit_test(test_junk_without_token),
		cmocka_unit_test(test_gt06_rejected),
		cmocka_unit_test(test_h02_http_tls_rejected),
		cmocka_unit_test(test_xx_junk_is_not_gt06),
		cmocka_unit_test(test_random_bytes),
	};

	return cmocka_run_group_tests_name("ingest/detect", tests, NULL, NULL);
}
