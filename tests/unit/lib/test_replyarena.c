/*
 * Unit tests for lib/replyarena.c: hiredis's reader fed RESP bytes builds
 * the same reply trees in the arena as the protocol says, one at a time,
 * and the arena gives its memory back down to REPLYARENA_KEEP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/replyarena.h"

struct fixture {
	struct replyarena *arena;
	redisReader *reader;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	f->arena = replyarena_new();
	f->reader = redisReaderCreate();
	replyarena_attach(f->arena, f->reader);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	redisReaderFree(f->reader);
	replyarena_free(f->arena);
	free(f);
	return 0;
}

/* Feeds bytes (in pieces of step bytes) and returns the reply, or NULL. */
static redisReply *
feed(struct fixture *f, const char *bytes, size_t len, size_t step)
{
	void *reply = NULL;
	size_t i;

	for (i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;

		assert_int_equal(redisReaderFeed(f->reader, bytes + i, n),
		    REDIS_OK);
		assert_int_equal(redisReaderGetReply(f->reader, &reply),
		    REDIS_OK);
		if (reply != NULL) {
			assert_int_equal(i + n, len);
			return reply;
		}
	}
	return NULL;
}

static void
done(struct fixture *f, redisReply *r)
{
	f->reader->fn->freeObject(r);
}

static void
check_nested(redisReply *r)
{
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 3);
	assert_int_equal(r->element[0]->type, REDIS_REPLY_STRING);
	assert_int_equal(r->element[0]->len, 3);
	assert_string_equal(r->element[0]->str, "foo");
	assert_int_equal(r->element[1]->type, REDIS_REPLY_INTEGER);
	assert_int_equal(r->element[1]->integer, -42);
	assert_int_equal(r->element[2]->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->element[2]->elements, 2);
	assert_int_equal(r->element[2]->element[0]->type, REDIS_REPLY_NIL);
	assert_int_equal(r->element[2]->element[1]->type, REDIS_REPLY_STATUS);
	assert_string_equal(r->element[2]->element[1]->str, "QUEUED");
}

static const char nested[] =
    "*3\r\n$3\r\nfoo\r\n:-42\r\n*2\r\n$-1\r\n+QUEUED\r\n";

static void
test_nested_reply(void **state)
{
	struct fixture *f = *state;
	redisReply *r = feed(f, nested, sizeof nested - 1, sizeof nested);

	check_nested(r);
	done(f, r);
}

static void
test_byte_by_byte_and_one_after_another(void **state)
{
	struct fixture *f = *state;
	redisReply *r;
	int k;

	/* The same reply three times, fed a byte at a time, each freed
	 * before the next, as an async context does. */
	for (k = 0; k < 3; k++) {
		r = feed(f, nested, sizeof nested - 1, 1);
		check_nested(r);
		done(f, r);
	}
}

static void
test_scalars(void **state)
{
	struct fixture *f = *state;
	static const char bin[] = "$5\r\na\0b\r\n\r\n";
	redisReply *r;

	r = feed(f, bin, sizeof bin - 1, 64);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_int_equal(r->len, 5);
	assert_memory_equal(r->str, "a\0b\r\n", 6);	/* NUL-terminated */
	done(f, r);

	r = feed(f, "-ERR wrong type\r\n", 17, 64);
	assert_int_equal(r->type, REDIS_REPLY_ERROR);
	assert_string_equal(r->str, "ERR wrong type");
	done(f, r);

	r = feed(f, "*0\r\n", 4, 64);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 0);
	assert_null(r->element);
	done(f, r);

	r = feed(f, "*-1\r\n", 5, 64);
	assert_int_equal(r->type, REDIS_REPLY_NIL);
	done(f, r);
}

/* "*n\r\n" followed by n bulk strings of len bytes, all 'x'. */
static char *
big_array(size_t n, size_t len, size_t *out)
{
	size_t cap = 32 + n * (len + 32), i, pos;
	char *s = malloc(cap);

	pos = (size_t)sprintf(s, "*%zu\r\n", n);
	for (i = 0; i < n; i++) {
		pos += (size_t)sprintf(s + pos, "$%zu\r\n", len);
		memset(s + pos, 'x', len);
		pos += len;
		memcpy(s + pos, "\r\n", 2);
		pos += 2;
	}
	*out = pos;
	return s;
}

static void
test_memory_is_reused_and_bounded(void **state)
{
	struct fixture *f = *state;
	size_t len, small, i;
	char *bytes = big_array(1000, 100, &len);
	redisReply *r;

	r = feed(f, bytes, len, 16384);
	assert_int_equal(r->elements, 1000);
	done(f, r);
	small = replyarena_size(f->arena);
	assert_true(small > 1000 * 100);
	/* The same reply again fits in what was kept. */
	r = feed(f, bytes, len, 16384);
	assert_int_equal(r->element[999]->len, 100);
	done(f, r);
	assert_int_equal(replyarena_size(f->arena), small);
	free(bytes);

	/* 200,000 strings of 100 bytes: well over REPLYARENA_KEEP while
	 * alive, back within it once freed. */
	bytes = big_array(200000, 100, &len);
	r = feed(f, bytes, len, 1 << 20);
	assert_int_equal(r->elements, 200000);
	for (i = 0; i < r->elements; i++)
		assert_int_equal(r->element[i]->len, 100);
	assert_true(replyarena_size(f->arena) > REPLYARENA_KEEP);
	done(f, r);
	assert_true(replyarena_size(f->arena) <= REPLYARENA_KEEP);
	free(bytes);

	r = feed(f, nested, sizeof nested - 1, sizeof nested);
	check_nested(r);
	done(f, r);
}

static void
test_reader_freed_mid_reply(void **state)
{
	struct fixture *f = *state;
	void *reply = NULL;

	/* Half a reply: freeing the reader frees the partial tree through
	 * the arena (teardown), which must not touch freed memory. */
	assert_int_equal(redisReaderFeed(f->reader, "*2\r\n$3\r\nfoo\r\n", 13),
	    REDIS_OK);
	assert_int_equal(redisReaderGetReply(f->reader, &reply), REDIS_OK);
	assert_null(reply);
}

int main(void);

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nested_reply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_byte_by_byte_and_one_after_another, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scalars, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_memory_is_reused_and_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_freed_mid_reply,
		    setup, teardown),
	};

	return cmocka_run_group_tests_name("lib/replyarena", tests, NULL,
	    NULL);
}
