/*
 * Unit tests for ingest/frameids.c: the ids a frame speaks for, on frames
 * the real session decodes (protocols/TK103.md examples), and on frames
 * made by hand for the refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ingest/frameids.h"
#include "ingest/session.h"

#define T0 1520848572000LL

/* What frame_ids said of the last frame the session gave. */
struct seen {
	int frames;
	bool ok;
	int n;
	char id[2][REPORT_ID_MAX];
	bool fixed;
	enum report_proto proto;
};

static void
on_frame(void *arg, const struct session_frame *f)
{
	struct seen *s = arg;
	struct frame_ids ids;

	s->frames++;
	memset(&ids, 0x55, sizeof ids);	/* nothing may be left unset */
	s->ok = frame_ids(f, &ids);
	s->n = s->ok ? ids.n : 0;
	for (int i = 0; i < s->n; i++)
		strcpy(s->id[i], ids.id[i]);
	s->fixed = ids.fixed;
	s->proto = frame_proto(f);
}

/* Feeds text to a fresh TCP session; the last frame's ids land in *s. */
static void
feed(const char *text, struct seen *s)
{
	struct session *ss = session_new(2048);
	bool close_peer = false;

	memset(s, 0, sizeof *s);
	session_feed(ss, (const uint8_t *)text, strlen(text), T0, true,
	    on_frame, s, &close_peer);
	session_free(ss);
	assert_int_equal(s->frames, 1);
}

/* Feeds text and checks the ids of its one frame: id0, then id1 or NULL. */
static void
expect_ids(const char *text, const char *id0, const char *id1, bool fixed,
    enum report_proto proto)
{
	struct seen s;

	feed(text, &s);
	assert_true(s.ok);
	assert_int_equal(s.n, id1 != NULL ? 2 : 1);
	assert_string_equal(s.id[0], id0);
	if (id1 != NULL)
		assert_string_equal(s.id[1], id1);
	assert_int_equal(s.fixed, fixed);
	assert_int_equal(s.proto, proto);
}

/* BP05, fixed layout: the 12-character id, and the IMEI of its body. */
static void
test_tk103_login_gives_id_and_imei(void **state)
{
	(void)state;
	expect_ids("(076543210987BP05354321076543210180312A4807.0380N01131.0000E"
	    "045.3095612087.2501000000L0001E240)", "076543210987",
	    "354321076543210", true, REPORT_PROTO_TK103);
}

static void
test_tk103_report_gives_its_id(void **state)
{
	(void)state;
	expect_ids("(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.25"
	    "01000000L0001E2F5)", "076543210987", NULL, true, REPORT_PROTO_TK103);
}

/* Comma layout: the id is the IMEI; a comma follows it, so not fixed. */
static void
test_tk103_comma_layout_is_not_fixed(void **state)
{
	(void)state;
	expect_ids("(864123456789012,BP05,120318,A,4807.03800N,01131.00000E,45.30,"
	    "095612,87.25,520.0,9)", "864123456789012", NULL, false,
	    REPORT_PROTO_TK103);
}

static void
test_gps103_login_and_report_give_the_imei(void **state)
{
	(void)state;
	expect_ids("##,imei:864123456789012,A;", "864123456789012", NULL, false,
	    REPORT_PROTO_GPS103);
	expect_ids("imei:864123456789012,tracker,180312105612,,F,095612.000,A,"
	    "4807.0380,N,01131.0000,E,24.46,87.25;", "864123456789012", NULL,
	    false, REPORT_PROTO_GPS103);
}

/* A rejected frame, and a frame whose id is not in its bytes (a UDP
 * datagram without an id carries the shared session's last device). */
static void
test_refusals(void **state)
{
	struct session_frame f;
	struct frame_ids ids;

	(void)state;
	memset(&f, 0, sizeof f);
	f.raw = (const uint8_t *)"(076543210987BP00HSO)";
	f.len = strlen((const char *)f.raw);
	f.proto = SESSION_TK103;
	f.result = REPORT_NONE;
	f.device = "076543210987";
	assert_true(frame_ids(&f, &ids));
	f.result = REPORT_ERROR;
	f.error = "bad";
	assert_false(frame_ids(&f, &ids));
	f.result = REPORT_NONE;
	f.device = "076543210988";
	assert_false(frame_ids(&f, &ids));
	f.device = "";
	assert_false(frame_ids(&f, &ids));
	f.device = NULL;
	assert_false(frame_ids(&f, &ids));
	/* The id at the end of the bytes, nothing after it: not fixed. */
	f.raw = (const uint8_t *)"(076543210987";
	f.len = strlen((const char *)f.raw);
	f.device = "076543210987";
	assert_true(frame_ids(&f, &ids));
	assert_false(ids.fixed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tk103_login_gives_id_and_imei),
		cmocka_unit_test(test_tk103_report_gives_its_id),
		cmocka_unit_test(test_tk103_comma_layout_is_not_fixed),
		cmocka_unit_test(test_gps103_login_and_report_give_the_imei),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests_name("ingest/frameids", tests, NULL, NULL);
}
