/*
 * Unit tests for engine/fencestore.c: the commands of the fence write
 * transaction and of the snapshot read, as argv arrays, and the reading of
 * their replies (fed to hiredis's own reader as RESP text written here by
 * hand, so the replies are the ones Redis would send).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine/fencestore.h"

/* Asserts that cmd is exactly the words given (NULL-terminated). */
static void
assert_cmd(const struct fencestore_cmd *cmd, ...)
{
	va_list ap;
	const char *w;
	int i = 0;

	va_start(ap, cmd);
	while ((w = va_arg(ap, const char *)) != NULL) {
		assert_true(i < cmd->argc);
		assert_int_equal(cmd->argvlen[i], strlen(w));
		assert_memory_equal(cmd->argv[i], w, strlen(w));
		i++;
	}
	va_end(ap);
	assert_int_equal(cmd->argc, i);
}

/* Parses one RESP reply from text. */
static redisReply *
resp(const char *text)
{
	redisReader *rd = redisReaderCreate();
	void *reply = NULL;

	assert_int_equal(redisReaderFeed(rd, text, strlen(text)), REDIS_OK);
	assert_int_equal(redisReaderGetReply(rd, &reply), REDIS_OK);
	assert_non_null(reply);
	redisReaderFree(rd);
	return reply;
}

static void
test_keys(void **state)
{
	struct fencestore *fs = fencestore_new("ga");

	(void)state;
	assert_string_equal(fencestore_key_fences(fs), "ga:fences");
	assert_string_equal(fencestore_key_version(fs), "ga:fences:version");
	assert_string_equal(fencestore_key_control(fs), "ga:control");
	fencestore_free(fs);
}

static void
test_write_set_and_del(void **state)
{
	struct fencestore *fs = fencestore_new("geoalarm");
	struct fencestore_tx *tx = fencestore_tx_new(fs);
	/* A value is sent with its length: bytes after it are not part of
	 * it, and an id with a space stays one argument. */
	const char a[] = "{\"type\":\"Feature\"}XXXX";
	const struct fencestore_cmd *c;
	size_t n;

	(void)state;
	fencestore_tx_set(tx, "depot", a, 18);
	fencestore_tx_set(tx, "north gate", "{}", 2);
	fencestore_tx_del(tx, "old");
	c = fencestore_tx_commands(tx, &n);
	assert_int_equal(n, 6);
	assert_cmd(&c[0], "MULTI", NULL);
	assert_cmd(&c[1], "HSET", "geoalarm:fences", "depot",
	    "{\"type\":\"Feature\"}", "north gate", "{}", NULL);
	assert_cmd(&c[2], "HDEL", "geoalarm:fences", "old", NULL);
	assert_cmd(&c[3], "INCR", "geoalarm:fences:version", NULL);
	assert_cmd(&c[4], "PUBLISH", "geoalarm:control", "fences", NULL);
	assert_cmd(&c[5], "EXEC", NULL);
	fencestore_tx_free(tx);
	fencestore_free(fs);
}

static void
test_write_only_set_or_only_del(void **state)
{
	struct fencestore *fs = fencestore_new("p");
	struct fencestore_tx *tx = fencestore_tx_new(fs);
	const struct fencestore_cmd *c;
	size_t n;

	(void)state;
	fencestore_tx_set(tx, "x", "{}", 2);
	c = fencestore_tx_commands(tx, &n);
	assert_int_equal(n, 5);
	assert_cmd(&c[1], "HSET", "p:fences", "x", "{}", NULL);
	assert_cmd(&c[2], "INCR", "p:fences:version", NULL);
	fencestore_tx_free(tx);

	tx = fencestore_tx_new(fs);
	fencestore_tx_del(tx, "x");
	fencestore_tx_del(tx, "y");
	c = fencestore_tx_commands(tx, &n);
	assert_int_equal(n, 5);
	assert_cmd(&c[1], "HDEL", "p:fences", "x", "y", NULL);
	assert_cmd(&c[3], "PUBLISH", "p:control", "fences", NULL);
	fencestore_tx_free(tx);
	fencestore_free(fs);
}

static void
test_write_result(void **state)
{
	struct fencestore *fs = fencestore_new("p");
	struct fencestore_tx *tx = fencestore_tx_new(fs);
	redisReply *r;
	long long hdel = -5;
	char err[256];

	(void)state;
	fencestore_tx_set(tx, "a", "{}", 2);
	fencestore_tx_del(tx, "b");
	/* EXEC: HSET added 1, HDEL removed 1, version now 7, 2 listeners. */
	r = resp("*4\r\n:1\r\n:1\r\n:7\r\n:2\r\n");
	assert_int_equal(fencestore_tx_result(tx, r, &hdel, err, sizeof err),
	    7);
	assert_int_equal(hdel, 1);
	freeReplyObject(r);

	/* An aborted transaction (EXEC answers nil). */
	r = resp("*-1\r\n");
	assert_int_equal(fencestore_tx_result(tx, r, NULL, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "aborted"));
	freeReplyObject(r);

	/* P:fences is not a hash: HSET fails inside the transaction. */
	r = resp("*4\r\n-WRONGTYPE Operation against a key holding the "
	    "wrong kind of value\r\n:0\r\n:8\r\n:0\r\n");
	assert_int_equal(fencestore_tx_result(tx, r, NULL, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "WRONGTYPE"));
	freeReplyObject(r);

	/* EXECABORT: a command was refused while queued. */
	r = resp("-EXECABORT Transaction discarded\r\n");
	assert_int_equal(fencestore_tx_result(tx, r, NULL, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "EXECABORT"));
	freeReplyObject(r);
	fencestore_tx_free(tx);
	fencestore_free(fs);
}

static void
test_read(void **state)
{
	struct fencestore *fs = fencestore_new("p");
	const struct fencestore_cmd *c;
	const redisReply *all;
	const char *version;
	redisReply *r;
	char err[256];
	size_t n;

	(void)state;
	c = fencestore_read_commands(fs, &n);
	assert_int_equal(n, 4);
	assert_cmd(&c[0], "MULTI", NULL);
	assert_cmd(&c[1], "GET", "p:fences:version", NULL);
	assert_cmd(&c[2], "HGETALL", "p:fences", NULL);
	assert_cmd(&c[3], "EXEC", NULL);

	r = resp("*2\r\n$2\r\n12\r\n*2\r\n$1\r\na\r\n$2\r\n{}\r\n");
	assert_int_equal(fencestore_read_result(r, &version, &all, err,
	    sizeof err), 0);
	assert_string_equal(version, "12");
	assert_int_equal(all->elements, 2);
	assert_string_equal(all->element[0]->str, "a");
	freeReplyObject(r);

	/* Nothing written yet: no version, empty hash. */
	r = resp("*2\r\n$-1\r\n*0\r\n");
	assert_int_equal(fencestore_read_result(r, &version, &all, err,
	    sizeof err), 0);
	assert_null(version);
	assert_int_equal(all->elements, 0);
	freeReplyObject(r);
	fencestore_free(fs);
}

/* Records the refused ids. */
struct refusals {
	int n;
	char ids[4][32];
	char reason[256];
};

static int
on_refused(void *arg, const char *id, const char *reason)
{
	struct refusals *rf = arg;

	snprintf(rf->ids[rf->n++ % 4], sizeof rf->ids[0], "%s", id);
	snprintf(rf->reason, sizeof rf->reason, "%s", reason);
	return 0;
}

static int
stop_at_first(void *arg, const char *id, const char *reason)
{
	(void)arg;
	(void)id;
	(void)reason;
	return -1;
}

/* Appends a RESP bulk string. */
static void
bulk(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, "$%zu\r\n%s\r\n", strlen(s), s);
}

static void
test_add_all(void **state)
{
	static const char circle[] = "{\"type\":\"Feature\",\"properties\":"
	    "{\"radius\":100},\"geometry\":{\"type\":\"Point\","
	    "\"coordinates\":[11.5,48.1]}}";
	static const char square[] = "{\"type\":\"Feature\",\"properties\":{},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],"
	    "[1,1],[0,1],[0,0]]]}}";
	/* A bow tie: the ring crosses itself at (0.5, 0.5). */
	static const char bowtie[] = "{\"type\":\"Feature\",\"properties\":{},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,1],"
	    "[1,0],[0,1],[0,0]]]}}";
	struct refusals rf = { 0 };
	struct fence_geos g;
	struct fence_builder *b;
	struct fence_set *set;
	redisReply *r;
	char text[2048] = "*6\r\n", err[256];

	(void)state;
	bulk(text, sizeof text, "c");
	bulk(text, sizeof text, circle);
	bulk(text, sizeof text, "tie");
	bulk(text, sizeof text, bowtie);
	bulk(text, sizeof text, "a");
	bulk(text, sizeof text, square);
	r = resp(text);

	fence_geos_attach(&g, GEOS_init_r());
	b = fence_builder_new(&g);
	assert_int_equal(fencestore_add_all(b, r, on_refused, &rf, err,
	    sizeof err), 1);
	assert_int_equal(rf.n, 1);
	assert_string_equal(rf.ids[0], "tie");
	assert_non_null(strstr(rf.reason, "fence 'tie'"));
	assert_non_null(strstr(rf.reason, "Self-intersection"));
	set = fence_builder_finish(b);
	assert_int_equal(fence_set_count(set), 2);
	assert_string_equal(fence_id(fence_set_get(set, 0)), "a");
	assert_string_equal(fence_id(fence_set_get(set, 1)), "c");
	fence_set_free(set);

	/* A callback may stop the walk. */
	b = fence_builder_new(&g);
	assert_int_equal(fencestore_add_all(b, r, stop_at_first, NULL, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "fence 'tie'"));
	fence_builder_free(b);

	freeReplyObject(r);
	GEOS_finish_r(g.handle);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_write_set_and_del),
		cmocka_unit_test(test_write_only_set_or_only_del),
		cmocka_unit_test(test_write_result),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_add_all),
	};

	return cmocka_run_group_tests_name("cli/fencestore", tests, NULL,
	    NULL);
}
