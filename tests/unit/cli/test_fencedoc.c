/*
 * Unit tests for cli/fencedoc.c: WKT to GeoJSON (expected text written by
 * hand from the WKT), the Feature `fence set` stores, and the all-or-nothing
 * decision of `fence import`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/fencedoc.h"

static int
setup(void **state)
{
	struct fence_geos *g = calloc(1, sizeof *g);

	fence_geos_attach(g, GEOS_init_r());
	*state = g;
	return 0;
}

static int
teardown(void **state)
{
	struct fence_geos *g = *state;

	GEOS_finish_r(g->handle);
	free(g);
	return 0;
}

/* Asserts that wkt converts to exactly want. */
static void
assert_wkt(struct fence_geos *g, const char *wkt, const char *want)
{
	char err[512], *got = fencedoc_wkt_geometry(g, wkt, err, sizeof err);

	if (got == NULL)
		fail_msg("%s: %s", wkt, err);
	assert_string_equal(got, want);
	free(got);
}

/* Asserts that wkt is refused with a reason holding part. */
static void
assert_wkt_refused(struct fence_geos *g, const char *wkt, const char *part)
{
	char err[512] = "", *got = fencedoc_wkt_geometry(g, wkt, err,
	    sizeof err);

	assert_null(got);
	if (strstr(err, part) == NULL)
		fail_msg("%s: reason '%s' lacks '%s'", wkt, err, part);
}

static void
test_wkt_types(void **state)
{
	struct fence_geos *g = *state;

	assert_wkt(g, "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))",
	    "{\"type\":\"Polygon\",\"coordinates\":"
	    "[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}");
	/* x is the longitude and comes first, as in GeoJSON. */
	assert_wkt(g, "POINT(11.5755 48.1374)",
	    "{\"type\":\"Point\",\"coordinates\":[11.5755,48.1374]}");
	assert_wkt(g, "LINESTRING(11.6085 48.1835, 11.618 48.213)",
	    "{\"type\":\"LineString\",\"coordinates\":"
	    "[[11.6085,48.1835],[11.618,48.213]]}");
	/* A hole follows its shell; negative coordinates keep their sign. */
	assert_wkt(g, "MULTIPOLYGON(((-10 -10, 10 -10, 10 10, -10 10, "
	    "-10 -10), (-1 -1, -1 1, 1 1, 1 -1, -1 -1)), "
	    "((20 20, 21 20, 21 21, 20 20)))",
	    "{\"type\":\"MultiPolygon\",\"coordinates\":["
	    "[[[-10,-10],[10,-10],[10,10],[-10,10],[-10,-10]],"
	    "[[-1,-1],[-1,1],[1,1],[1,-1],[-1,-1]]],"
	    "[[[20,20],[21,20],[21,21],[20,20]]]]}");
	/* Z is dropped. */
	assert_wkt(g, "POINT Z (1.25 2.5 300)",
	    "{\"type\":\"Point\",\"coordinates\":[1.25,2.5]}");
}

static void
test_wkt_refused(void **state)
{
	struct fence_geos *g = *state;

	assert_wkt_refused(g, "POLYGON((0 0, 1 0, 1 1, 0 1))", "closed");
	assert_wkt_refused(g, "POLYGON EMPTY", "empty");
	assert_wkt_refused(g, "MULTIPOINT((1 1), (2 2))", "MultiPoint");
	assert_wkt_refused(g, "POLYGON((0 0, 1 0", "WKT");
	assert_wkt_refused(g, "hello", "WKT");
}

static void
test_feature_from_wkt(void **state)
{
	struct fence_geos *g = *state;
	struct fencedoc_props p = { .name = "Yard", .has_speed_limit = true,
	    .speed_limit = 30, .has_radius = true, .radius = 250 };
	char err[512], *f;

	f = fencedoc_feature(g, "yard", "POINT(11.5 48.1)", NULL, 0, &p, err,
	    sizeof err);
	if (f == NULL)
		fail_msg("%s", err);
	assert_string_equal(f, "{\"type\":\"Feature\",\"id\":\"yard\","
	    "\"properties\":{\"name\":\"Yard\",\"speed_limit\":30,"
	    "\"radius\":250},\"geometry\":{\"type\":\"Point\","
	    "\"coordinates\":[11.5,48.1]}}");
	free(f);

	/* A circle needs its radius: refused, naming the fence. */
	p.has_radius = false;
	assert_null(fencedoc_feature(g, "yard", "POINT(11.5 48.1)", NULL, 0,
	    &p, err, sizeof err));
	assert_non_null(strstr(err, "fence 'yard'"));
	assert_non_null(strstr(err, "radius"));

	/* A self-intersecting ring: GEOS's reason. */
	p.name = NULL;
	p.has_speed_limit = false;
	assert_null(fencedoc_feature(g, "tie", "POLYGON((0 0, 1 1, 1 0, 0 1, "
	    "0 0))", NULL, 0, &p, err, sizeof err));
	assert_non_null(strstr(err, "fence 'tie'"));
	assert_non_null(strstr(err, "Self-intersection"));

	/* Latitude out of range. */
	assert_null(fencedoc_feature(g, "far", "POLYGON((0 0, 1 0, 1 95, "
	    "0 0))", NULL, 0, &p, err, sizeof err));
	assert_non_null(strstr(err, "fence 'far'"));
	assert_non_null(strstr(err, "latitude"));
}

static void
test_feature_from_geojson(void **state)
{
	struct fence_geos *g = *state;
	struct fencedoc_props none = { 0 }, p = { .has_width = true,
	    .width = 40 };
	static const char line[] = "{\"type\":\"LineString\",\"coordinates\":"
	    "[[11.6,48.1],[11.7,48.2]]}";
	/* A Feature with its own id and properties: the id given wins, the
	 * properties stay. */
	static const char feature[] = "{\"type\":\"Feature\",\"id\":\"old\","
	    "\"properties\":{\"name\":\"Lot\",\"speed_limit\":10},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
	    "[[[0,0],[1,0],[1,1],[0,0]]]}}";
	char err[512], *f;

	f = fencedoc_feature(g, "road", NULL, line, strlen(line), &p, err,
	    sizeof err);
	if (f == NULL)
		fail_msg("%s", err);
	assert_string_equal(f, "{\"type\":\"Feature\",\"id\":\"road\","
	    "\"properties\":{\"width\":40},\"geometry\":{\"type\":"
	    "\"LineString\",\"coordinates\":[[11.6,48.1],[11.7,48.2]]}}");
	free(f);

	/* A corridor without width. */
	assert_null(fencedoc_feature(g, "road", NULL, line, strlen(line),
	    &none, err, sizeof err));
	assert_non_null(strstr(err, "width"));

	f = fencedoc_feature(g, "lot", NULL, feature, strlen(feature), &none,
	    err, sizeof err);
	if (f == NULL)
		fail_msg("%s", err);
	assert_string_equal(f, "{\"type\":\"Feature\",\"id\":\"lot\","
	    "\"properties\":{\"name\":\"Lot\",\"speed_limit\":10},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
	    "[[[0,0],[1,0],[1,1],[0,0]]]}}");
	free(f);

	/* Bad JSON: where it broke. */
	assert_null(fencedoc_feature(g, "x", NULL, "{\"type\":\n\"Feature\",,}",
	    22, &none, err, sizeof err));
	assert_non_null(strstr(err, "line 2"));
}

/* A FeatureCollection of four fences; the fourth (when bad) is a bow tie. */
static char *
collection(bool with_bad)
{
	const char *good =
	    "{\"type\":\"FeatureCollection\",\"features\":[\n"
	    "{\"type\":\"Feature\",\"id\":\"depot\",\"properties\":{},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
	    "[[[11.588,48.188],[11.592,48.188],[11.592,48.19],"
	    "[11.588,48.188]]]}},\n"
	    "{\"type\":\"Feature\",\"id\":\"centre\",\"properties\":"
	    "{\"radius\":2500},\"geometry\":{\"type\":\"Point\","
	    "\"coordinates\":[11.5755,48.1374]}},\n"
	    "{\"type\":\"Feature\",\"id\":\"a9\",\"properties\":{\"width\":80},"
	    "\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
	    "[[11.6085,48.1835],[11.618,48.213]]}}";
	const char *bad =
	    ",\n{\"type\":\"Feature\",\"id\":\"bowtie\",\"properties\":{},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
	    "[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}";
	size_t n = strlen(good) + strlen(bad) + 8;
	char *s = malloc(n);

	snprintf(s, n, "%s%s]}", good, with_bad ? bad : "");
	return s;
}

static void
test_import_all_or_nothing(void **state)
{
	struct fence_geos *g = *state;
	struct fence_set *set;
	char err[512], *doc;

	doc = collection(true);
	set = fencedoc_import(g, doc, strlen(doc), err, sizeof err);
	assert_null(set);
	assert_non_null(strstr(err, "fence 'bowtie'"));
	assert_non_null(strstr(err, "Self-intersection"));
	free(doc);

	doc = collection(false);
	set = fencedoc_import(g, doc, strlen(doc), err, sizeof err);
	if (set == NULL)
		fail_msg("%s", err);
	assert_int_equal(fence_set_count(set), 3);
	/* Sorted by id: what `fence import` writes, in this order. */
	assert_string_equal(fence_id(fence_set_get(set, 0)), "a9");
	assert_string_equal(fence_id(fence_set_get(set, 1)), "centre");
	assert_string_equal(fence_id(fence_set_get(set, 2)), "depot");
	fence_set_free(set);
	free(doc);

	/* Broken JSON: line and column. */
	set = fencedoc_import(g, "{\n\"type\": \"Feature\"\n\"id\": 1}", 29,
	    err, sizeof err);
	assert_null(set);
	assert_non_null(strstr(err, "line 3"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wkt_types),
		cmocka_unit_test(test_wkt_refused),
		cmocka_unit_test(test_feature_from_wkt),
		cmocka_unit_test(test_feature_from_geojson),
		cmocka_unit_test(test_import_all_or_nothing),
	};

	return cmocka_run_group_tests_name("cli/fencedoc", tests, setup,
	    teardown);
}
