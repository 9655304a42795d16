/*
 * Unit tests for rules/builtin.c: the built-in rules, driven report by
 * report the way the engine drives them.  Expected alerts are worked out
 * by hand from SPEC's "Rules" table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "rules/builtin.h"

#define S(sec) ((int64_t)(sec) * 1000 + 1700000000000LL)

/* The fences that exist in these tests. */
static const struct builtin_fence all_fences[] = {
	{ "a", NULL, false, 0 },
	{ "b", NULL, false, 0 },
	{ "c", NULL, false, 0 },
	{ "d", NULL, false, 0 },
	{ "depot", "Main depot", false, 0 },
	{ "highway", NULL, true, 120 },
	{ "school", "School zone", true, 30 },
	{ "town", NULL, true, 50 },
};
#define NFENCES (sizeof all_fences / sizeof all_fences[0])

static bool
lookup(void *ctx, const char *id, struct builtin_fence *out)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < NFENCES; i++)
		if (strcmp(all_fences[i].id, id) == 0) {
			*out = all_fences[i];
			return true;
		}
	return false;
}

/* Fence id lists for settings.fences (sorted, as rules.c keeps them). */
static char id_a[] = "a", id_c[] = "c", id_gone[] = "gone";
static char *ids_a[] = { id_a };
static char *ids_c[] = { id_c };

/* One test run: a device, its settings, and the alerts of the last step. */
struct run {
	struct state *st;
	struct settings set;
	struct alert_list out;
	struct builtin_crossings cross;
};

static struct run *
run_new(void)
{
	struct run *r = calloc(1, sizeof *r);

	r->st = state_new();
	settings_default(&r->set);
	return r;
}

static void
run_free(struct run *r)
{
	state_free(r->st);
	alert_list_free(&r->out);
	builtin_crossings_clear(&r->cross);
	free(r);
}

/*
 * Feeds one report.  inside is a space-separated list of the fences the
 * fix lies in (sorted); speed < 0 means none; lat/lon are only used by
 * tests that look at them.
 */
static struct alert_list *
step_full(struct run *r, int64_t t, bool valid, bool has_fix, double lat,
    double lon, double speed, const char *alarm, const char *inside)
{
	struct builtin_fence hits[NFENCES];
	struct builtin_fences fences = { hits, 0, lookup, NULL };
	struct builtin_pos pos = { t, valid, has_fix, lat, lon, speed >= 0,
	    speed, alarm };
	char buf[128], *tok, *save;

	alert_list_clear(&r->out);
	builtin_crossings_clear(&r->cross);
	if (has_fix && inside != NULL) {
		snprintf(buf, sizeof buf, "%s", inside);
		for (tok = strtok_r(buf, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save))
			assert_true(lookup(NULL, tok, &hits[fences.nhits++]));
	}
	builtin_eval(r->st, &pos, &r->set, &fences, &r->out, &r->cross);
	return &r->out;
}

static struct alert_list *
step(struct run *r, int64_t t, double speed, const char *inside)
{
	return step_full(r, t, true, true, 51.0, -114.0, speed, NULL, inside);
}

/* "rule[:fence] rule[:fence] ..." for the alerts of the last step. */
static const char *
summary(const struct alert_list *l)
{
	static char buf[512];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s%s",
		    i > 0 ? " " : "", l->v[i].rule,
		    l->v[i].fence != NULL ? ":" : "",
		    l->v[i].fence != NULL ? l->v[i].fence : "");
	return buf;
}

static void
test_enter_and_exit(void **unused)
{
	struct run *r = run_new();
	char id[64];

	(void)unused;
	assert_string_equal(summary(step(r, S(0), 10, "")), "");
	assert_string_equal(summary(step(r, S(10), 10, "depot")),
	    "fence_enter:depot");
	assert_string_equal(r->out.v[0].type, "fence_enter");
	assert_string_equal(r->out.v[0].fence_name, "Main depot");
	assert_string_equal(r->out.v[0].message, "entered Main depot");
	assert_int_equal(r->out.v[0].time_ms, S(10));
	alert_id(&r->out.v[0], "1-0", id, sizeof id);
	assert_string_equal(id, "1-0:fence_enter:depot");
	assert_int_equal(r->cross.nentered, 1);
	assert_string_equal(r->cross.entered[0], "depot");
	/* Staying inside raises nothing. */
	assert_string_equal(summary(step(r, S(20), 10, "depot")), "");
	assert_string_equal(summary(step(r, S(30), 10, "")),
	    "fence_exit:depot");
	assert_string_equal(r->out.v[0].message, "left Main depot");
	assert_int_equal(r->cross.nexited, 1);
	assert_false(state_inside_has(r->st, "depot"));
	run_free(r);
}

/* Every id starting with "long-" names a fence without a name. */
static bool
lookup_long(void *ctx, const char *id, struct builtin_fence *out)
{
	(void)ctx;
	if (strncmp(id, "long-", 5) != 0)
		return false;
	memset(out, 0, sizeof *out);
	out->id = id;
	return true;
}

static void
test_many_fences_at_once(void **unused)
{
	enum { N = 150 };
	static char names[N][64];
	struct builtin_fence hits[N];
	struct builtin_fences fences = { hits, N, lookup_long, NULL };
	struct builtin_pos pos = { S(10), true, true, 51.0, -114.0, false, 0,
	    NULL };
	struct run *r = run_new();
	size_t i;

	(void)unused;
	/* More ids, and longer, than fit the built-ins' stack buffers. */
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i],
		    "long-%03zu-an-identifier-of-some-length", N - 1 - i);
		memset(&hits[i], 0, sizeof hits[i]);
		hits[i].id = names[i];
	}
	builtin_eval(r->st, &pos, &r->set, &fences, &r->out, &r->cross);
	assert_int_equal(r->out.n, N);
	assert_string_equal(r->out.v[0].fence,
	    "long-000-an-identifier-of-some-length");
	assert_string_equal(r->out.v[N - 1].fence,
	    "long-149-an-identifier-of-some-length");
	assert_string_equal(r->out.v[N - 1].message,
	    "entered long-149-an-identifier-of-some-length");
	assert_int_equal(r->st->ninside, N);

	/* All left at once: exits, in id order, found through lookup. */
	alert_list_clear(&r->out);
	builtin_crossings_clear(&r->cross);
	fences.nhits = 0;
	pos.time_ms = S(20);
	builtin_eval(r->st, &pos, &r->set, &fences, &r->out, &r->cross);
	assert_int_equal(r->out.n, N);
	assert_string_equal(r->out.v[1].type, "fence_exit");
	assert_string_equal(r->out.v[1].fence,
	    "long-001-an-identifier-of-some-length");
	assert_int_equal(r->cross.nexited, N);
	assert_int_equal(r->st->ninside, 0);
	run_free(r);
}

static void
test_exits_before_enters(void **unused)
{
	struct run *r = run_new();

	(void)unused;
	assert_string_equal(summary(step(r, S(0), 10, "b d")),
	    "fence_enter:b fence_enter:d");
	/* Leaving b and d and entering a and c in one report. */
	assert_string_equal(summary(step(r, S(10), 10, "a c")),
	    "fence_exit:b fence_exit:d fence_enter:a fence_enter:c");
	run_free(r);
}

static void
test_dwell_ignores_jitter(void **unused)
{
	struct run *r = run_new();

	(void)unused;
	r->set.fence_dwell = 30;
	step(r, S(0), 10, "");
	/* In and out on the edge: nothing. */
	assert_string_equal(summary(step(r, S(10), 10, "a")), "");
	assert_string_equal(summary(step(r, S(20), 10, "")), "");
	assert_string_equal(summary(step(r, S(25), 10, "a")), "");
	assert_string_equal(summary(step(r, S(40), 10, "")), "");
	/* In for good: confirmed by the first fix 30 s after arriving. */
	assert_string_equal(summary(step(r, S(50), 10, "a")), "");
	assert_string_equal(summary(step(r, S(70), 10, "a")), "");
	assert_string_equal(summary(step(r, S(80), 10, "a")),
	    "fence_enter:a");
	assert_int_equal(r->out.v[0].time_ms, S(80));
	assert_string_equal(summary(step(r, S(90), 10, "a")), "");
	/* Out for 29 s, back in: no exit; then out for 30 s: exit. */
	assert_string_equal(summary(step(r, S(100), 10, "")), "");
	assert_string_equal(summary(step(r, S(129), 10, "")), "");
	assert_string_equal(summary(step(r, S(130), 10, "a")), "");
	assert_string_equal(summary(step(r, S(140), 10, "")), "");
	assert_string_equal(summary(step(r, S(170), 10, "")),
	    "fence_exit:a");
	run_free(r);
}

static void
test_cooldown(void **unused)
{
	struct run *r = run_new();

	(void)unused;
	r->set.cooldown = 60;
	assert_string_equal(summary(step_full(r, S(0), true, true, 1, 2, 0,
	    "sos", "")), "sos");
	assert_string_equal(summary(step_full(r, S(30), true, true, 1, 2, 0,
	    "sos,power_cut", "")), "power_cut");
	assert_string_equal(summary(step_full(r, S(59), true, true, 1, 2, 0,
	    "sos", "")), "");
	assert_string_equal(summary(step_full(r, S(60), true, true, 1, 2, 0,
	    "sos", "")), "sos");
	/* Per fence: a's enter is muted, b's is not. */
	assert_string_equal(summary(step(r, S(100), 10, "a")),
	    "fence_enter:a");
	assert_string_equal(summary(step(r, S(110), 10, "")), "fence_exit:a");
	assert_string_equal(summary(step(r, S(120), 10, "a")), "");
	assert_true(state_inside_has(r->st, "a"));
	assert_int_equal(r->cross.nentered, 1);	/* crossed, not alerted */
	assert_string_equal(summary(step(r, S(125), 10, "a b")),
	    "fence_enter:b");
	/* a's exit comes 60 s after the last one (110): allowed. */
	assert_string_equal(summary(step(r, S(170), 10, "")),
	    "fence_exit:a fence_exit:b");
	assert_string_equal(summary(step(r, S(170), 10, "")), "");
	run_free(r);
}

static void
test_cooldown_on_custom_alert(void **unused)
{
	struct state *st = state_new();
	struct alert_list l = { 0 };
	struct alert *a;

	(void)unused;
	a = alert_list_add(&l, "night", "curfew");
	a->time_ms = S(0);
	assert_true(builtin_cooldown(st, a, 10));
	a->time_ms = S(9);
	assert_false(builtin_cooldown(st, a, 10));
	a->time_ms = S(-5);	/* a late report inside the window */
	assert_false(builtin_cooldown(st, a, 10));
	a->time_ms = S(10);
	assert_true(builtin_cooldown(st, a, 10));
	assert_true(builtin_cooldown(st, a, 0));
	alert_list_free(&l);
	state_free(st);
}

/*
 * A device crossing fence after fence keeps one cooldown entry per fence
 * only while it can still hold an alert back: 200 fences a second apart
 * with a 10 s cooldown leave at most 32 entries, and the fences of the
 * last 10 s still suppress a repeat.
 */
static void
test_cooldown_entries_do_not_pile_up(void **unused)
{
	struct state *st = state_new();
	struct alert_list l = { 0 };
	struct alert *a;
	char fence[16];

	(void)unused;
	a = alert_list_add(&l, "fence_enter", "entered");
	for (int i = 0; i < 200; i++) {
		snprintf(fence, sizeof fence, "f%d", i);
		free(a->fence);
		a->fence = xstrdup(fence);
		a->time_ms = S(i);
		assert_true(builtin_cooldown(st, a, 10));
		assert_true(st->ncool <= 32);
	}
	/* f195 alerted 4 s ago: held back; f150 40 s ago: raised again. */
	free(a->fence);
	a->fence = xstrdup("f195");
	a->time_ms = S(199);
	assert_false(builtin_cooldown(st, a, 10));
	free(a->fence);
	a->fence = xstrdup("f150");
	assert_true(builtin_cooldown(st, a, 10));
	alert_list_free(&l);
	state_free(st);
}

static void
test_overspeed_episode(void **unused)
{
	struct run *r = run_new();
	json_t *extra;

	(void)unused;
	r->set.has_speed_limit = true;
	r->set.speed_limit = 80;
	r->set.overspeed_duration = 30;
	r->set.overspeed_end = true;
	assert_string_equal(summary(step(r, S(0), 70, "")), "");
	assert_string_equal(summary(step(r, S(10), 85, "")), "");
	assert_string_equal(summary(step(r, S(20), 90, "")), "");
	/* 78 is within the 5 km/h hysteresis: the episode goes on. */
	assert_string_equal(summary(step(r, S(30), 78, "")), "");
	assert_string_equal(summary(step(r, S(40), 92.4, "")), "overspeed");
	assert_string_equal(r->out.v[0].message,
	    "92 km/h over limit 80 for 30 s");
	assert_true(r->out.v[0].speed == 92.4);
	assert_null(r->out.v[0].fence);
	/* One alert per episode. */
	assert_string_equal(summary(step(r, S(50), 97, "")), "");
	assert_string_equal(summary(step(r, S(60), 76, "")), "");
	assert_string_equal(summary(step(r, S(70), 75, "")), "overspeed_end");
	assert_string_equal(r->out.v[0].message,
	    "overspeed ended: max 97 km/h over limit 80 for 60 s");
	extra = r->out.v[0].extra;
	assert_true(json_real_value(json_object_get(extra, "max_speed")) ==
	    97.0);
	assert_int_equal(json_integer_value(json_object_get(extra,
	    "duration")), 60);
	/* A new episode, too short to alert, ends without overspeed_end. */
	assert_string_equal(summary(step(r, S(80), 85, "")), "");
	assert_string_equal(summary(step(r, S(109), 85, "")), "");
	assert_string_equal(summary(step(r, S(110), 60, "")), "");
	assert_false(r->st->os.active);
	/* Reports without speed, or invalid, do not count. */
	assert_string_equal(summary(step(r, S(120), 85, "")), "");
	assert_string_equal(summary(step(r, S(140), -1, "")), "");
	assert_string_equal(summary(step_full(r, S(150), false, true, 1, 2,
	    50, NULL, "")), "");
	assert_string_equal(summary(step(r, S(150), 90, "")), "overspeed");
	run_free(r);
}

static void
test_overspeed_end_off_by_default(void **unused)
{
	struct run *r = run_new();

	(void)unused;
	r->set.has_speed_limit = true;
	r->set.speed_limit = 80;
	/* Duration 0: the first fix over the limit alerts. */
	assert_string_equal(summary(step(r, S(0), 81, "")), "overspeed");
	assert_string_equal(r->out.v[0].message,
	    "81 km/h over limit 80 for 0 s");
	assert_string_equal(summary(step(r, S(10), 20, "")), "");
	/* No limit at all: never overspeed. */
	r->set.has_speed_limit = false;
	assert_string_equal(summary(step(r, S(20), 300, "")), "");
	run_free(r);
}

static void
test_fence_speed_limit_wins(void **unused)
{
	struct run *r = run_new();

	(void)unused;
	r->set.has_speed_limit = true;
	r->set.speed_limit = 100;
	r->set.all_fences = false;
	r->set.fences = ids_a;
	r->set.nfences = 1;	/* limits apply whatever fences are watched */
	/* Inside a 30 and a 50 zone: the lowest, 30, applies. */
	assert_string_equal(summary(step(r, S(0), 45, "school town")),
	    "overspeed:school");
	assert_string_equal(r->out.v[0].message,
	    "45 km/h over limit 30 for 0 s");
	assert_string_equal(r->out.v[0].fence_name, "School zone");
	assert_false(r->out.v[0].fence_in_id);
	/* Out of the zones at 45: under the device's 100, episode ends. */
	assert_string_equal(summary(step(r, S(10), 45, "")), "");
	assert_false(r->st->os.active);
	/* A higher fence limit wins too: 110 on a 120 highway is fine. */
	assert_string_equal(summary(step(r, S(20), 110, "highway")), "");
	assert_string_equal(summary(step(r, S(30), 110, "")), "overspeed");
	assert_string_equal(r->out.v[0].message,
	    "110 km/h over limit 100 for 0 s");
	run_free(r);
}

static void
test_out_of_order_and_no_fix(void **unused)
{
	struct run *r = run_new();

	(void)unused;
	step_full(r, S(100), true, true, 1.5, 2.5, 10, NULL, "a");
	assert_true(state_inside_has(r->st, "a"));
	/* An older fix outside does not exit; its alarm still fires there. */
	assert_string_equal(summary(step_full(r, S(50), true, true, 9, 9, 10,
	    "sos", "")), "sos");
	assert_true(r->out.v[0].lat == 9 && r->out.v[0].lon == 9);
	assert_true(state_inside_has(r->st, "a"));
	assert_int_equal(r->st->last_ms, S(100));
	assert_true(r->st->lat == 1.5);
	/* No fix: located at the last valid fix, no fence change. */
	assert_string_equal(summary(step_full(r, S(200), true, false, 0, 0,
	    -1, "power_cut", NULL)), "power_cut");
	assert_true(r->out.v[0].has_pos);
	assert_true(r->out.v[0].lat == 1.5 && r->out.v[0].lon == 2.5);
	assert_false(r->out.v[0].has_speed);
	assert_true(state_inside_has(r->st, "a"));
	/* An invalid fix outside: no exit either, located at the last fix. */
	assert_string_equal(summary(step_full(r, S(210), false, true, 7, 7,
	    0, "low_power,low_battery", "")), "low_battery");
	assert_string_equal(r->out.v[0].type, "low_battery");
	assert_true(r->out.v[0].lat == 1.5);
	assert_true(state_inside_has(r->st, "a"));
	/* The next valid fix outside exits. */
	assert_string_equal(summary(step(r, S(220), 10, "")), "fence_exit:a");
	run_free(r);
}

static void
test_first_alarm_without_any_fix(void **unused)
{
	struct run *r = run_new();

	(void)unused;
	step_full(r, S(0), true, false, 0, 0, -1, "sos", NULL);
	assert_string_equal(summary(&r->out), "sos");
	assert_false(r->out.v[0].has_pos);
	run_free(r);
}

static void
test_fence_filters_and_removed_fences(void **unused)
{
	struct run *r = run_new();
	static char *watch[] = { id_a, id_gone };

	(void)unused;
	/* Only watched fences raise crossings. */
	r->set.all_fences = false;
	r->set.fences = watch;
	r->set.nfences = 2;
	assert_string_equal(summary(step(r, S(0), 10, "a b")),
	    "fence_enter:a");
	assert_false(state_inside_has(r->st, "b"));
	/* A fence removed by a reload is forgotten without an exit. */
	state_inside_set(r->st, "gone", true);
	assert_string_equal(summary(step(r, S(10), 10, "a")), "");
	assert_false(state_inside_has(r->st, "gone"));
	/* Unwatching a fence the device is in forgets it silently too. */
	r->set.all_fences = true;
	r->set.fences = NULL;
	r->set.nfences = 0;
	assert_string_equal(summary(step(r, S(20), 10, "a c")),
	    "fence_enter:c");
	r->set.all_fences = false;
	r->set.fences = ids_c;
	r->set.nfences = 1;
	assert_string_equal(summary(step(r, S(30), 10, "c")), "");
	assert_false(state_inside_has(r->st, "a"));
	assert_string_equal(summary(step(r, S(40), 10, "")), "fence_exit:c");
	run_free(r);
}

/* Replays one track from a copy of a state; returns all messages joined. */
static char *
replay(const struct state *from)
{
	struct run *r = run_new();
	static const double speeds[] = { 50, 95, 99, 40, 101, 130 };
	static const char *const where[] = { "", "depot", "depot school",
	    "", "a", "a b" };
	char *all = strdup(""), *tmp;
	size_t i, j;

	state_free(r->st);
	r->st = state_clone(from);
	r->set.has_speed_limit = true;
	r->set.speed_limit = 90;
	r->set.overspeed_end = true;
	for (i = 0; i < 6; i++) {
		step(r, S(10 * i), speeds[i], where[i]);
		for (j = 0; j < r->out.n; j++) {
			char *p = alert_payload(&r->out.v[j], "9-0", "d");

			if (asprintf(&tmp, "%s%s\n", all, p) < 0)
				abort();
			free(all);
			free(p);
			all = tmp;
		}
	}
	run_free(r);
	return all;
}

static void
test_replay_is_identical(void **unused)
{
	struct state *st = state_new();
	char *a, *b;

	(void)unused;
	a = replay(st);
	b = replay(st);
	assert_true(strlen(a) > 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	state_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enter_and_exit),
		cmocka_unit_test(test_exits_before_enters),
		cmocka_unit_test(test_many_fences_at_once),
		cmocka_unit_test(test_dwell_ignores_jitter),
		cmocka_unit_test(test_cooldown),
		cmocka_unit_test(test_cooldown_on_custom_alert),
		cmocka_unit_test(test_cooldown_entries_do_not_pile_up),
		cmocka_unit_test(test_overspeed_episode),
		cmocka_unit_test(test_overspeed_end_off_by_default),
		cmocka_unit_test(test_fence_speed_limit_wins),
		cmocka_unit_test(test_out_of_order_and_no_fix),
		cmocka_unit_test(test_first_alarm_without_any_fix),
		cmocka_unit_test(test_fence_filters_and_removed_fences),
		cmocka_unit_test(test_replay_is_identical),
	};

	return cmocka_run_group_tests_name("rules/builtin", tests, NULL, NULL);
}
