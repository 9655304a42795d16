/* Unit tests for engine/state.c: per-device state, JSON form, batch table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/state.h"

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

static struct state *
full_state(void)
{
	struct state *st = state_new();

	st->has_fix = true;
	st->fix_ms = 1732320000000LL;
	st->lat = 51.0981234567891;
	st->lon = -114.0831;
	st->has_last = true;
	st->last_ms = 1732320005000LL;
	state_inside_set(st, "depot", true);
	state_inside_set(st, "yard \"2\"", true);
	state_pending_set(st, "home", true, 1732319990000LL);
	st->os.active = true;
	st->os.start_ms = 1732319970000LL;
	st->os.last_ms = 1732320000000LL;
	st->os.alerted = STATE_OS_SENT;
	st->os.max_speed = 92.4;
	st->os.limit = 80;
	state_cooldown_set(st, "overspeed", 1732320000000LL);
	state_set_lua(st, "{\"count\":3,\"name\":\"x\"}");
	return st;
}

static void
test_json_round_trip_is_exact(void **unused)
{
	struct state *st = full_state(), *back;
	char *text, err[128];

	(void)unused;
	text = state_to_json(st);
	back = state_from_json(text, strlen(text), err, sizeof err);
	assert_non_null(back);
	assert_true(state_equal(st, back));
	/* Bit-exact doubles: re-processing must see the same numbers. */
	assert_true(back->lat == 51.0981234567891);
	assert_string_equal(back->inside[1], "yard \"2\"");
	assert_string_equal(back->lua, "{\"count\":3,\"name\":\"x\"}");
	free(text);
	state_free(st);
	state_free(back);
}

static void
test_json_text_is_sorted_and_compact(void **unused)
{
	struct state *st = state_new();
	char *text;

	(void)unused;
	st->has_fix = true;
	st->fix_ms = 1000;
	st->lat = 1.5;
	st->lon = -2;
	st->has_last = true;
	st->last_ms = 2000;
	state_inside_set(st, "b", true);
	state_inside_set(st, "a\\", true);
	state_pending_set(st, "c", false, 1500);
	st->os.active = true;
	st->os.start_ms = 100;
	st->os.last_ms = 900;
	st->os.alerted = STATE_OS_MUTED;
	st->os.max_speed = 120.5;
	st->os.limit = 100;
	state_cooldown_set(st, "sos", 700);
	state_cooldown_set(st, "enter:c", -3);
	state_set_lua(st, "{\"n\":1e300}");
	text = state_to_json(st);
	/* Keys sorted at every level, no spaces, reals always with a '.'
	 * or an exponent. */
	assert_string_equal(text, "{\"cooldown\":{\"enter:c\":-3,\"sos\":700},"
	    "\"fix\":{\"lat\":1.5,\"lon\":-2.0,\"t\":1000},"
	    "\"inside\":[\"a\\\\\",\"b\"],\"last\":2000,"
	    "\"lua\":\"{\\\"n\\\":1e300}\","
	    "\"overspeed\":{\"alerted\":2,\"last\":900,\"limit\":100.0,"
	    "\"max\":120.5,\"start\":100},"
	    "\"pending\":[{\"fence\":\"c\",\"inside\":false,\"since\":1500}]}");
	free(text);

	/* Exponents lose '+' and leading zeros; other strings keep UTF-8
	 * and escape control characters. */
	state_free(st);
	st = state_new();
	st->has_fix = true;
	st->lat = 1e20;
	st->lon = -2.5e-7;
	state_inside_set(st, "caf\xc3\xa9", true);
	state_set_lua(st, "a\tb");
	text = state_to_json(st);
	assert_string_equal(text, "{\"fix\":{\"lat\":1e20,"
	    "\"lon\":-2.4999999999999999e-7,\"t\":0},"
	    "\"inside\":[\"caf\xc3\xa9\"],\"lua\":\"a\\tb\"}");
	free(text);
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
test_json_parse_of_written_text(void **unused)
{
	/* Written by hand from the format described in state.c. */
	const char *text = "{\"fix\":{\"t\":1000,\"lat\":1.5,\"lon\":-2},"
	    "\"last\":2000,\"inside\":[\"b\",\"a\"],"
	    "\"pending\":[{\"fence\":\"c\",\"inside\":false,\"since\":1500}],"
	    "\"overspeed\":{\"start\":100,\"last\":900,\"alerted\":2,"
	    "\"max\":120.5,\"limit\":100},\"cooldown\":{\"sos\":700},"
	    "\"future\":[1,2,3]}";
	char err[128];
	struct state *st = state_from_json(text, strlen(text), err, sizeof err);
	int64_t t;

	(void)unused;
	assert_non_null(st);
	assert_true(st->has_fix);
	assert_int_equal(st->fix_ms, 1000);
	assert_true(st->lat == 1.5 && st->lon == -2.0);
	assert_int_equal(st->last_ms, 2000);
	assert_int_equal(st->ninside, 2);
	assert_string_equal(st->inside[0], "a");
	assert_int_equal(st->npending, 1);
	assert_false(st->pending[0].inside);
	assert_int_equal(st->pending[0].since_ms, 1500);
	assert_true(st->os.active);
	assert_int_equal(st->os.alerted, STATE_OS_MUTED);
	assert_true(st->os.max_speed == 120.5);
	assert_true(state_cooldown_get(st, "sos", &t));
	assert_int_equal(t, 700);
	assert_null(st->lua);
	state_free(st);
}

static void
test_json_empty_and_bad(void **unused)
{
	char err[128];
	struct state *st;

	(void)unused;
	st = state_from_json("{}", 2, err, sizeof err);
	assert_non_null(st);
	assert_false(st->has_fix);
	assert_false(st->os.active);
	state_free(st);

	err[0] = '\0';
	assert_null(state_from_json("{\"inside\":", 10, err, sizeof err));
	assert_true(strncmp(err, "state:", 6) == 0);
	assert_null(state_from_json("[1]", 3, err, sizeof err));
	assert_string_equal(err, "state is not a JSON object");
	assert_null(state_from_json("{\"inside\":[1]}", 14, err, sizeof err));
	assert_string_equal(err, "state: bad \"inside\"");
	assert_null(state_from_json("{\"overspeed\":{\"start\":1}}", 25, err,
	    sizeof err));
	assert_string_equal(err, "state: bad \"overspeed\"");
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
		cmocka_unit_test(test_json_round_trip_is_exact),
		cmocka_unit_test(test_json_text_is_sorted_and_compact),
		cmocka_unit_test(test_cooldown_try_window),
		cmocka_unit_test(test_json_parse_of_written_text),
		cmocka_unit_test(test_json_empty_and_bad),
		cmocka_unit_test(test_clone_is_deep),
		cmocka_unit_test(test_table_commit_and_rollback),
	};

	return cmocka_run_group_tests_name("engine/state", tests, NULL, NULL);
}
