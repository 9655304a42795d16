/* Unit tests for lib/metrics.c: the Prometheus text a scrape returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics.h"

/* Renders m into a NUL-terminated string the caller frees. */
static char *
render(struct metrics *m)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	metrics_render(m, b);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static double
seven(void *arg)
{
	(void)arg;
	return 7;
}

static void
test_counter_and_gauges(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *c = metrics_counter(m, "x_total", "Things\nseen \\ here");
	struct metric *g = metrics_gauge(m, "x_level", "Level");
	char *s;

	(void)state;
	metrics_gauge_fn(m, "x_fn", "Read", seven, NULL);
	metric_add(c, 2);
	metric_add(c, 1);
	metric_set(g, 0.25);
	s = render(m);
	assert_string_equal(s,
	    "# HELP x_total Things\\nseen \\\\ here\n"
	    "# TYPE x_total counter\n"
	    "x_total 3\n"
	    "# HELP x_level Level\n"
	    "# TYPE x_level gauge\n"
	    "x_level 0.25\n"
	    "# HELP x_fn Read\n"
	    "# TYPE x_fn gauge\n"
	    "x_fn 7\n");
	assert_true(metric_value(c) == 3);
	free(s);
	metrics_free(m);
}

static void
test_labels_are_escaped_and_bounded(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *f = metrics_labelled(m, "r_total", "Rejects", "reason");
	char name[16], *s;

	(void)state;
	metric_label_add(f, "bad \"x\"\\", 1);
	metric_label_add(f, "bad \"x\"\\", 1);
	metric_label_add(f, "two\nlines", 1);
	s = render(m);
	assert_string_equal(s,
	    "# HELP r_total Rejects\n"
	    "# TYPE r_total counter\n"
	    "r_total{reason=\"bad \\\"x\\\"\\\\\"} 2\n"
	    "r_total{reason=\"two\\nlines\"} 1\n");
	free(s);
	/* Past METRICS_MAX_LABELS distinct values, the rest count as other. */
	for (int i = 0; i < METRICS_MAX_LABELS + 10; i++) {
		snprintf(name, sizeof name, "v%d", i);
		metric_label_add(f, name, 1);
	}
	assert_true(metric_label_value(f, "v29") == 1);
	assert_true(metric_label_value(f, "v31") == 0);
	assert_true(metric_label_value(f, "other") == 12);
	metrics_free(m);
}

static void
test_histogram_buckets_are_cumulative(void **state)
{
	static const double bounds[] = { 0.01, 0.1, 1 };
	struct metrics *m = metrics_new();
	struct metric *h = metrics_histogram(m, "lat_seconds", "Latency", bounds, 3);
	char *s;

	(void)state;
	metric_observe(h, 0.005);
	metric_observe(h, 0.01);	/* le is inclusive */
	metric_observe(h, 0.5);
	metric_observe(h, 3);
	s = render(m);
	assert_string_equal(s,
	    "# HELP lat_seconds Latency\n"
	    "# TYPE lat_seconds histogram\n"
	    "lat_seconds_bucket{le=\"0.01\"} 2\n"
	    "lat_seconds_bucket{le=\"0.1\"} 2\n"
	    "lat_seconds_bucket{le=\"1\"} 3\n"
	    "lat_seconds_bucket{le=\"+Inf\"} 4\n"
	    "lat_seconds_sum 3.515\n"
	    "lat_seconds_count 4\n");
	free(s);
	metrics_free(m);
}

static void
test_null_metric_is_ignored(void **state)
{
	(void)state;
	metric_add(NULL, 1);
	metric_set(NULL, 1);
	metric_label_add(NULL, "x", 1);
	metric_observe(NULL, 1);
	assert_true(metric_value(NULL) == 0);
	metrics_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_and_gauges),
		cmocka_unit_test(test_labels_are_escaped_and_bounded),
		cmocka_unit_test(test_histogram_buckets_are_cumulative),
		cmocka_unit_test(test_null_metric_is_ignored),
	};

	return cmocka_run_group_tests_name("lib/metrics", tests, NULL, NULL);
}
