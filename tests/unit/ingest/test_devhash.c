/*
 * Unit tests for ingest/devhash.c: device records found by id, listed
 * oldest write first, and their merged fields as one HSET.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/devhash.h"
#include "lib/resp.h"
#include "resptext.h"

/* The HSET of d as "arg|arg|...", decoded back from its RESP bytes. */
static const char *
hset_text(const struct devhash_dev *d)
{
	static char out[4096];
	struct resp *r = resp_new(0);

	devhash_encode(d, r);
	resp_text(resp_data(r), resp_len(r), out);
	resp_free(r);
	return out;
}

static void
test_get_finds_one_record_per_id(void **state)
{
	struct devhash t;
	struct devhash_dev *a, *b;
	bool created;
	char id[16];

	(void)state;
	devhash_init(&t, "ga:device:");
	a = devhash_get(&t, "0123", &created);
	assert_true(created);
	assert_string_equal(a->key, "ga:device:0123");
	assert_int_equal(a->keylen, strlen("ga:device:0123"));
	assert_int_equal(a->owner, -1);
	assert_ptr_equal(devhash_get(&t, "0123", &created), a);
	assert_false(created);
	/* A hostile id cannot split the key: escaped, one to one. */
	b = devhash_get(&t, "x\r\n y", &created);
	assert_string_equal(b->key, "ga:device:x\\x0d\\x0a y");
	/* Past the first 1,024 buckets: every record still found. */
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "d%d", i);
		devhash_get(&t, id, &created);
		assert_true(created);
	}
	assert_int_equal(t.ndevs, 3002);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "d%d", i);
		assert_string_equal(devhash_get(&t, id, &created)->id, id);
		assert_false(created);
	}
	devhash_forget(&t, b);
	assert_int_equal(t.ndevs, 3001);
	assert_true(devhash_get(&t, "x\r\n y", &created) != NULL);
	assert_true(created);
	devhash_free(&t);
}

static void
test_list_is_oldest_write_first(void **state)
{
	struct devhash t;
	struct devhash_dev *a, *b, *c;
	bool created;

	(void)state;
	devhash_init(&t, "p:");
	a = devhash_get(&t, "a", &created);
	b = devhash_get(&t, "b", &created);
	c = devhash_get(&t, "c", &created);
	assert_ptr_equal(t.first, a);
	assert_ptr_equal(t.last, c);
	devhash_set_s(a, 0, &(int){ 0 }, "speed", "10");
	devhash_written(&t, a, 500);
	assert_true(a->written);
	assert_int_equal(a->written_ms, 500);
	assert_int_equal(a->n, 0);		/* handed over: forgotten */
	assert_ptr_equal(t.first, b);
	assert_ptr_equal(b->next, c);
	assert_ptr_equal(c->next, a);
	assert_ptr_equal(t.last, a);
	devhash_forget(&t, c);
	assert_ptr_equal(b->next, a);
	assert_ptr_equal(a->prev, b);
	devhash_free(&t);
	assert_null(t.first);
}

/* Two updates merge as two HSETs would leave the hash: the first's fields
 * replaced in place, new ones appended, a longer value moved. */
static void
test_updates_merge_field_by_field(void **state)
{
	struct devhash t;
	struct devhash_dev *d;
	bool created;
	int at, old;

	(void)state;
	devhash_init(&t, "ga:device:");
	d = devhash_get(&t, "7", &created);
	at = 0;
	devhash_set_s(d, 0, &at, "speed", "10.0");
	devhash_set_s(d, 0, &at, "lat", "1.5");
	devhash_set_s(d, 0, &at, "alarm", "");
	assert_string_equal(hset_text(d),
	    "HSET|ga:device:7|speed|10.0|lat|1.5|alarm|");
	old = d->n;
	at = 0;
	devhash_set_s(d, old, &at, "lat", "2.25");
	devhash_set_s(d, old, &at, "alarm", "sos");
	devhash_set_s(d, old, &at, "odometer", "1200");
	devhash_set_s(d, old, &at, "speed", "9.5");
	assert_string_equal(hset_text(d),
	    "HSET|ga:device:7|speed|9.5|lat|2.25|alarm|sos|odometer|1200");
	/* A field repeated within one update: both go, the later wins in
	 * Redis too. */
	old = d->n;
	at = 0;
	devhash_set_s(d, old, &at, "extra", "a");
	devhash_set_s(d, old, &at, "extra", "b");
	assert_string_equal(hset_text(d),
	    "HSET|ga:device:7|speed|9.5|lat|2.25|alarm|sos|odometer|1200|"
	    "extra|a|extra|b");
	/* Values with NUL bytes are kept whole. */
	devhash_set(d, d->n, &at, "raw", 3, "a\0b", 3);
	assert_int_equal(d->pairs[d->n - 1].vlen, 3);
	assert_memory_equal(d->arena + d->pairs[d->n - 1].v, "a\0b", 3);
	devhash_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_finds_one_record_per_id),
		cmocka_unit_test(test_list_is_oldest_write_first),
		cmocka_unit_test(test_updates_merge_field_by_field),
	};

	return cmocka_run_group_tests_name("ingest/devhash", tests, NULL, NULL);
}
