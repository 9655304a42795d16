/*
 * Unit tests for ingest/photo.c: assembling a GPS103 photo
 * (protocols/TK103.md 3.8) and its cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest/photo.h"

static void
test_three_packets_complete(void **state)
{
	struct photo *p = photo_new(3, PHOTO_MAX_BYTES);
	static const uint8_t want[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0xff, 0xd9 };
	const uint8_t *got;
	struct report *r = malloc(sizeof *r);
	const struct report_attr *a;
	char err[128];
	size_t len;

	(void)state;
	assert_int_equal(photo_add(p, 0, "FFD8", 4, err, sizeof err), 0);
	assert_int_equal(photo_add(p, 1, "ffe00010", 8, err, sizeof err), 0);
	assert_int_equal(photo_add(p, 2, "FfD9", 4, err, sizeof err), 1);
	got = photo_bytes(p, &len);
	assert_int_equal(len, sizeof want);
	assert_memory_equal(got, want, sizeof want);

	photo_report(p, "864123456789012", 1520848572000LL, r);
	assert_string_equal(r->device, "864123456789012");
	assert_int_equal(r->proto, REPORT_PROTO_GPS103);
	assert_false(r->has_fix);
	assert_false(r->valid);
	assert_int_equal(r->recv_ms, 1520848572000LL);
	a = report_attr(r, "image");
	assert_non_null(a);
	assert_int_equal(a->type, REPORT_ATTR_STR);
	assert_int_equal(a->len, 16);
	assert_memory_equal(a->s, "ffd8ffe00010ffd9", 16);
	a = report_attr(r, "image_size");
	assert_non_null(a);
	assert_int_equal(a->i, 8);
	free(r);
	photo_free(p);
	photo_free(NULL);
}

/* index + 1 >= N completes: a late high index ends it early (Traccar). */
static void
test_completion_by_index(void **state)
{
	struct photo *p = photo_new(14, PHOTO_MAX_BYTES);
	char err[128];

	(void)state;
	assert_int_equal(photo_add(p, 12, "00", 2, err, sizeof err), 0);
	assert_int_equal(photo_add(p, 13, "01", 2, err, sizeof err), 1);
	photo_free(p);
	p = photo_new(14, PHOTO_MAX_BYTES);
	assert_int_equal(photo_add(p, 20, "02", 2, err, sizeof err), 1);
	photo_free(p);
}

static void
test_bad_hex(void **state)
{
	struct photo *p = photo_new(2, PHOTO_MAX_BYTES);
	char err[128];

	(void)state;
	assert_int_equal(photo_add(p, 0, "abc", 3, err, sizeof err), -1);
	assert_non_null(strstr(err, "odd number"));
	photo_free(p);
	p = photo_new(2, PHOTO_MAX_BYTES);
	assert_int_equal(photo_add(p, 0, "zz", 2, err, sizeof err), -1);
	assert_non_null(strstr(err, "bad hex"));
	photo_free(p);
}

/* 256 KiB fit exactly; one byte more is refused. */
static void
test_cap(void **state)
{
	size_t chunk = 64 * 1024;
	char *hex = malloc(2 * chunk);
	struct photo *p = photo_new(10, PHOTO_MAX_BYTES);
	char err[128];
	size_t len;

	(void)state;
	assert_int_equal(PHOTO_MAX_BYTES, 262144);
	memset(hex, 'a', 2 * chunk);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(photo_add(p, i, hex, 2 * chunk, err, sizeof err), 0);
	photo_bytes(p, &len);
	assert_int_equal(len, 262144);
	assert_int_equal(photo_add(p, 4, "00", 2, err, sizeof err), -1);
	assert_non_null(strstr(err, "larger than 262144 bytes"));
	photo_free(p);
	free(hex);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_packets_complete),
		cmocka_unit_test(test_completion_by_index),
		cmocka_unit_test(test_bad_hex),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests_name("ingest/photo", tests, NULL, NULL);
}
