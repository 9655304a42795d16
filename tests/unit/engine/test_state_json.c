/* Unit tests for engine/state_json.c: a state as P:state's JSON and back. */
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
test_json_parse_of_written_text(void **unused)
{
	/* Written by hand from the format described in state_json.c. */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip_is_exact),
		cmocka_unit_test(test_json_text_is_sorted_and_compact),
		cmocka_unit_test(test_json_parse_of_written_text),
		cmocka_unit_test(test_json_empty_and_bad),
	};

	return cmocka_run_group_tests_name("engine/state_json", tests, NULL, NULL);
}
