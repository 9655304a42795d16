/*
 * Unit tests for engine/entries.c: replies of XREADGROUP and XAUTOCLAIM,
 * written here in RESP as Redis 7 sends them, taken apart into entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <string.h>

#include "engine/entries.h"

static redisReply *
parse(const char *resp)
{
	redisReader *rd = redisReaderCreate();
	void *r = NULL;

	assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
	assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
	assert_non_null(r);
	redisReaderFree(rd);
	return r;
}

static void
test_xreadgroup(void **unused)
{
	/* Two entries; the second was trimmed while pending. */
	redisReply *r = parse("*1\r\n*2\r\n$12\r\nga:positions\r\n*2\r\n"
	    "*2\r\n$3\r\n5-0\r\n*4\r\n$6\r\ndevice\r\n$2\r\nd1\r\n"
	    "$3\r\nlat\r\n$9\r\n51.100000\r\n"
	    "*2\r\n$3\r\n6-1\r\n$-1\r\n");
	struct entries *en = entries_new();
	const struct rules_field *f;
	const char *id;
	size_t nf;
	bool trimmed;

	(void)unused;
	assert_int_equal(entries_open(en, r, false, NULL), 2);
	assert_true(entries_next(en, &id, &f, &nf, &trimmed));
	assert_string_equal(id, "5-0");
	assert_false(trimmed);
	assert_int_equal(nf, 2);
	assert_string_equal(f[0].key, "device");
	assert_string_equal(f[0].value, "d1");
	assert_int_equal(f[0].len, 2);
	assert_string_equal(f[1].key, "lat");
	assert_string_equal(f[1].value, "51.100000");
	assert_int_equal(f[1].len, 9);
	assert_true(entries_next(en, &id, &f, &nf, &trimmed));
	assert_string_equal(id, "6-1");
	assert_true(trimmed);
	assert_int_equal(nf, 0);
	assert_false(entries_next(en, &id, &f, &nf, &trimmed));
	freeReplyObject(r);

	/* BLOCK ran out: nil, no entries. */
	r = parse("*-1\r\n");
	assert_int_equal(entries_open(en, r, false, NULL), 0);
	assert_false(entries_next(en, &id, &f, &nf, &trimmed));
	freeReplyObject(r);
	entries_free(en);
}

static void
test_xautoclaim_and_bad_shapes(void **unused)
{
	redisReply *r = parse("*3\r\n$3\r\n7-0\r\n"
	    "*1\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$4\r\ntime\r\n$4\r\n1000\r\n"
	    "*0\r\n");
	struct entries *en = entries_new();
	const struct rules_field *f;
	const char *id, *cursor = NULL;
	size_t nf;
	bool trimmed;

	(void)unused;
	assert_int_equal(entries_open(en, r, true, &cursor), 1);
	assert_string_equal(cursor, "7-0");
	assert_true(entries_next(en, &id, &f, &nf, &trimmed));
	assert_string_equal(id, "4-0");
	assert_int_equal(nf, 1);
	assert_string_equal(f[0].value, "1000");
	assert_false(entries_next(en, &id, &f, &nf, &trimmed));
	/* The same reply is no XREADGROUP reply. */
	assert_int_equal(entries_open(en, r, false, NULL), -1);
	freeReplyObject(r);

	r = parse("+OK\r\n");
	assert_int_equal(entries_open(en, r, true, &cursor), -1);
	assert_int_equal(entries_open(en, r, false, NULL), -1);
	freeReplyObject(r);

	/* Elements that are no [id, fields] pair are skipped. */
	r = parse("*1\r\n*2\r\n$1\r\nk\r\n*3\r\n:1\r\n*1\r\n$3\r\n8-0\r\n"
	    "*2\r\n$3\r\n9-0\r\n*0\r\n");
	assert_int_equal(entries_open(en, r, false, NULL), 3);
	assert_true(entries_next(en, &id, &f, &nf, &trimmed));
	assert_string_equal(id, "9-0");
	assert_int_equal(nf, 0);
	assert_false(trimmed);
	assert_false(entries_next(en, &id, &f, &nf, &trimmed));
	freeReplyObject(r);
	entries_free(en);
}

int main(void);

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xreadgroup),
		cmocka_unit_test(test_xautoclaim_and_bad_shapes),
	};

	return cmocka_run_group_tests_name("engine/entries", tests, NULL,
	    NULL);
}
