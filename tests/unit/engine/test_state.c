/* Unit tests for engine/state.c: per-device state and the batch table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/state.h"
#include "state_fixture.h"

static void
test_inside_set_is_sorted_and_unique(void **unused)
{
	struct state *st = state_new();

	(void)unused;
	state_inside_set(st, "zoo", true);
	state_inside_set(st, "depot", true);
	state_inside_set(st, "home", true);
	state_inside_set(st, "depot", true);
	assert_int_equal(st->ninside, 3);
	assert_string_equal(st->inside[0], "depot");
	assert_string_equal(st->inside[1], "home");
	assert_string_equal(st->inside[2], "zoo");
	assert_true(state_inside_has(st, "home"));
	state_inside_set(st, "home", false);
	state_inside_set(st, "nowhere", false);
	assert_false(state_inside_has(st, "home"));
	assert_int_equal(st->ninside, 2);
	assert_string_equal(st->inside[1], "zoo");
	state_free(st);
}

static void
test_pending_and_cooldown(void **unused)
{
	struct state *st = state_new();
	struct state_pending *p;
	int64_t t = 0;

	(void)unused;
	state_pending_set(st, "b", true, 1000);
	state_pending_set(st, "a", false, 2000);
	state_pending_set(st, "b", false, 3000);
	assert_int_equal(st->npending, 2);
	p = state_pending_get(st, "b");
	assert_non_null(p);
	assert_false(p->inside);
	assert_int_equal(p->since_ms, 3000);
	state_pending_del(st, "a");
	assert_null(state_pending_get(st, "a"));
	assert_int_equal(st->npending, 1);

	assert_false(state_cooldown_get(st, "sos", &t));
	state_cooldown_set(st, "sos", 5000);
	state_cooldown_set(st, "fence_enter:depot", 6000);
	state_cooldown_set(st, "sos", 7000);
	assert_true(state_cooldown_get(st, "sos", &t));
	assert_int_equal(t, 7000);
	assert_true(state_cooldown_get(st, "fence_enter:depot", &t));
	assert_int_equal(t, 6000);
	assert_int_equal(st->ncool, 2);
	state_free(st);
}

static void
test_cooldown_try_window(void **unused)
{
	struct state *st = state_new();
	int64_t last;

	(void)unused;
	/* No entry: allowed and recorded. */
	assert_true(state_cooldown_try(st, "sos", 10000, 60000));
	assert_true(state_cooldown_get(st, "sos", &last));
	assert_int_equal(last, 10000);
	/* 59.999 s later: inside the window, nothing changes. */
	assert_false(state_cooldown_try(st, "sos", 69999, 60000));
	/* A late report (before the entry) is inside the window too. */
	assert_false(state_cooldown_try(st, "sos", 5000, 60000));
	assert_true(state_cooldown_get(st, "sos", &last));
	assert_int_equal(last, 10000);
	/* Exactly 60 s later: allowed, the entry moves. */
	assert_true(state_cooldown_try(st, "sos", 70000, 60000));
	assert_true(state_cooldown_get(st, "sos", &last));
	assert_int_equal(last, 70000);
	/* Keys are independent and kept sorted. */
	assert_true(state_cooldown_try(st, "fence_enter:a", 70001, 60000));
	assert_int_equal(st->ncool, 2);
	assert_string_equal(st->cool[0].key, "fence_enter:a");
	state_free(st);
}

static void
test_clone_is_deep(void **unused)
{
	struct state *st = full_state(), *c = state_clone(st);

	(void)unused;
	assert_true(state_equal(st, c));
	state_inside_set(c, "depot", false);
	state_cooldown_set(c, "overspeed", 1);
	assert_true(state_inside_has(st, "depot"));
	assert_false(state_equal(st, c));
	state_free(st);
	state_free(c);
}

struct seen {
	int n;
	char ids[4][16];
	bool changed[4];
};

static void
collect(const char *id, const struct state *st, bool changed, void *ctx)
{
	struct seen *s = ctx;

	(void)st;
	strcpy(s->ids[s->n], id);
	s->changed[s->n++] = changed;
}

static void
test_table_commit_and_rollback(void **unused)
{
	struct state_table *tab = state_table_new();
	struct state *w;
	struct seen seen = { 0 };

	(void)unused;
	state_table_put(tab, "dev1", full_state());
	assert_int_equal(state_table_count(tab), 1);

	/* A rolled-back batch leaves nothing behind. */
	w = state_table_work(tab, "dev1");
	state_inside_set(w, "depot", false);
	assert_ptr_equal(state_table_work(tab, "dev1"), w);
	w = state_table_work(tab, "dev2");
	w->has_fix = true;
	state_table_rollback(tab);
	assert_true(state_inside_has(state_table_get(tab, "dev1"), "depot"));
	assert_null(state_table_get(tab, "dev2"));
	assert_int_equal(state_table_count(tab), 1);
	assert_int_equal(state_table_nwork(tab), 0);

	/* A committed one replaces the states; touch order is kept. */
	w = state_table_work(tab, "dev3");
	w->has_fix = true;
	(void)state_table_work(tab, "dev1");	/* touched, unchanged */
	w = state_table_work(tab, "dev2");
	w->has_last = true;
	state_table_foreach_work(tab, collect, &seen);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.ids[0], "dev3");
	assert_string_equal(seen.ids[1], "dev1");
	assert_string_equal(seen.ids[2], "dev2");
	assert_true(seen.changed[0]);
	assert_false(seen.changed[1]);
	assert_true(seen.changed[2]);
	state_table_commit(tab);
	assert_int_equal(state_table_count(tab), 3);
	assert_true(state_table_get(tab, "dev2")->has_last);
	assert_true(state_table_get(tab, "dev3")->has_fix);

	state_table_clear(tab);
	assert_int_equal(state_table_count(tab), 0);
	assert_null(state_table_get(tab, "dev1"));
	state_table_free(tab);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside_set_is_sorted_and_unique),
		cmocka_unit_test(test_pending_and_cooldown),
		cmocka_unit_test(test_cooldown_try_window),
		cmocka_unit_test(test_clone_is_deep),
		cmocka_unit_test(test_table_commit_and_rollback),
	};

	return cmocka_run_group_tests_name("engine/state", tests, NULL, NULL);
}
