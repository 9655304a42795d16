/*
 * Unit tests for engine/fence.c, fence_parse.c, raster.c and rtree.c: what
 * the engine and the CLI see of fences.  Circle and corridor edges are
 * checked against points placed with Karney's geodesic algorithms on WGS84
 * (tests/data/geodesic_reference.py, GeographicLib via Debian's
 * python3-geographiclib, run once and pasted here): 1.5 m inside and 1.5 m
 * outside the edge.  The index is checked against a brute-force scan that
 * uses plain GEOSCovers_r on geometries this file builds itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fence.h"
#include "engine/geo.h"

#include "tests/unit/engine/geodesic_ref.h"
#include "tests/unit/support.h"

/* Corridors of width 100 m from A to B (1 km, azimuth 70): points 1.5 m
 * inside or outside, beside the middle and past both ends. */
static const double corridor_ab[3][4] = {
	{ 11.4957792988, -0.0015465629, 11.5042207012, 0.0015465629 },
	{ 11.4940411846, 44.9984610399, 11.5059591344, 45.0015386488 },
	{ 24.9876969272, 69.9984667051, 25.0123048802, 70.0015324448 },
};
static const double corridor_pts[3][8][3] = {
	{
		{ 11.5001490123, -0.0004121672, 1 },
		{ 11.5001582296, -0.0004376621, 0 },
		{ 11.4998509877, 0.0004121672, 1 },
		{ 11.4998417704, 0.0004376621, 0 },
		{ 11.5046301092, 0.0016965795, 1 },
		{ 11.5046554334, 0.0017058589, 0 },
		{ 11.4953502349, -0.0014703975, 1 },
		{ 11.4953236948, -0.0014656862, 0 },
	},
	{
		{ 11.5002103808, 44.9995899002, 1 },
		{ 11.5002233939, 44.9995645332, 0 },
		{ 11.4997896162, 45.0004100993, 1 },
		{ 11.4997766027, 45.0004354663, 0 },
		{ 11.5065371719, 45.0016879113, 1 },
		{ 11.5065729269, 45.0016971439, 0 },
		{ 11.4934354284, 44.9985368217, 1 },
		{ 11.4933979589, 44.9985415091, 0 },
	},
	{
		{ 25.0004343848, 69.9995914815, 1 },
		{ 25.0004612534, 69.9995662123, 0 },
		{ 24.9995655982, 70.0004085174, 1 },
		{ 24.9995387274, 70.0004337865, 0 },
		{ 25.0134984621, 70.0016811292, 1 },
		{ 25.0135722924, 70.0016903259, 0 },
		{ 24.9864462289, 69.9985421917, 1 },
		{ 24.9863688659, 69.9985468607, 0 },
	},
};

/* ---- fixtures and helpers ---------------------------------------------- */

static struct fence_geos geos;

static int
setup(void **state)
{
	(void)state;
	fence_geos_attach(&geos, GEOS_init_r());
	return geos.handle != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	GEOS_finish_r(geos.handle);
	return 0;
}

/* A set holding the one Feature json under id; fails the test if refused. */
static struct fence_set *
one(const char *id, const char *json)
{
	struct fence_builder *b = fence_builder_new(&geos);
	char err[256];

	if (fence_builder_add(b, id, json, strlen(json), err, sizeof err) < 0)
		fail_msg("fence refused: %s", err);
	return fence_builder_finish(b);
}

/* Whether the single fence of set covers (lon, lat). */
static bool
inside(const struct fence_set *set, double lon, double lat)
{
	size_t out[4];
	char err[256];
	int n = fence_set_covers(set, lon, lat, out, N_OF(out), err,
	    sizeof err);

	if (n < 0)
		fail_msg("covers failed: %s", err);
	return n > 0;
}

/* A growable string for the generated documents. */
struct text {
	char *s;
	size_t len, cap;
};

static void addf(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
addf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + (size_t)n + 64;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	t->len += (size_t)n;
}

/* ---- polygons ---------------------------------------------------------- */

/* 11.50..11.51 x 48.10..48.11 with a hole 11.503..11.506 x 48.103..48.106 */
static const char square_with_hole[] =
    "{\"type\":\"Feature\",\"properties\":{\"name\":\"yard\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":["
    "[[11.50,48.10],[11.51,48.10],[11.51,48.11],[11.50,48.11],[11.50,48.10]],"
    "[[11.503,48.103],[11.503,48.106],[11.506,48.106],[11.506,48.103],"
    "[11.503,48.103]]]}}";

static void
test_polygon_inside_outside_edges_hole(void **state)
{
	struct fence_set *set = one("yard", square_with_hole);

	(void)state;
	assert_int_equal(fence_set_count(set), 1);
	assert_true(inside(set, 11.501, 48.101));	/* inside */
	assert_true(inside(set, 11.509, 48.1095));
	assert_false(inside(set, 11.52, 48.105));	/* east of it */
	assert_false(inside(set, 11.505, 48.0999));	/* just south */
	assert_false(inside(set, 11.4999999, 48.105));	/* 1 cm west */
	assert_true(inside(set, 11.505, 48.10));	/* on the south edge */
	assert_true(inside(set, 11.50, 48.105));	/* on the west edge */
	assert_true(inside(set, 11.51, 48.11));		/* on a vertex */
	assert_true(inside(set, 11.50, 48.10));		/* the first vertex */
	assert_false(inside(set, 11.5045, 48.1045));	/* in the hole */
	assert_true(inside(set, 11.503, 48.1045));	/* on the hole's edge */
	assert_true(inside(set, 11.506, 48.106));	/* on its vertex */
	assert_true(inside(set, 11.5029999, 48.1045));	/* 1 cm outside it */
	fence_set_free(set);
}

static void
test_multipolygon(void **state)
{
	struct fence_set *set = one("two",
	    "{\"type\":\"Feature\",\"geometry\":{\"type\":\"MultiPolygon\","
	    "\"coordinates\":["
	    "[[[11.50,48.10],[11.51,48.10],[11.51,48.11],[11.50,48.11],"
	    "[11.50,48.10]]],"
	    "[[[11.52,48.10],[11.53,48.10],[11.53,48.11],[11.52,48.11],"
	    "[11.52,48.10]],[[11.524,48.104],[11.524,48.106],[11.526,48.106],"
	    "[11.526,48.104],[11.524,48.104]]]]}}");

	(void)state;
	assert_int_equal(fence_kind(fence_set_get(set, 0)), FENCE_POLYGON);
	assert_true(inside(set, 11.505, 48.105));	/* first part */
	assert_true(inside(set, 11.521, 48.105));	/* second part */
	assert_false(inside(set, 11.515, 48.105));	/* between them */
	assert_false(inside(set, 11.525, 48.105));	/* second part's hole */
	assert_true(inside(set, 11.52, 48.105));	/* second part's edge */
	fence_set_free(set);
}

static void
test_concave_polygon(void **state)
{
	/* A U shape: the notch between the arms is outside. */
	struct fence_set *set = one("u",
	    "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.50,48.10],[11.53,48.10],[11.53,48.13],"
	    "[11.52,48.13],[11.52,48.11],[11.51,48.11],[11.51,48.13],"
	    "[11.50,48.13],[11.50,48.10]]]}}");

	(void)state;
	assert_true(inside(set, 11.505, 48.125));	/* left arm */
	assert_true(inside(set, 11.525, 48.125));	/* right arm */
	assert_false(inside(set, 11.515, 48.125));	/* the notch */
	assert_true(inside(set, 11.515, 48.11));	/* the notch's floor */
	assert_true(inside(set, 11.515, 48.105));	/* the base */
	fence_set_free(set);
}

/* ---- circles and corridors --------------------------------------------- */

static void
test_circle_edges(void **state)
{
	char json[256];
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(circle_ref); i++) {
		const double *r = circle_ref[i];
		struct fence_set *set;

		snprintf(json, sizeof json, "{\"type\":\"Feature\",\"properties\":"
		    "{\"radius\":%.1f},\"geometry\":{\"type\":\"Point\","
		    "\"coordinates\":[%.4f,%.4f]}}", r[2], r[0], r[1]);
		set = one("c", json);
		assert_int_equal(fence_kind(fence_set_get(set, 0)),
		    FENCE_CIRCLE);
		if (!inside(set, r[3], r[4]))
			fail_msg("row %zu: 1.5 m inside the circle is out", i);
		if (inside(set, r[5], r[6]))
			fail_msg("row %zu: 1.5 m outside the circle is in", i);
		assert_true(inside(set, r[0], r[1]));
		fence_set_free(set);
	}
}

static void
test_corridor_edges(void **state)
{
	char json[256];
	size_t i, j;

	(void)state;
	for (i = 0; i < N_OF(corridor_ab); i++) {
		const double *ab = corridor_ab[i];
		struct fence_set *set;

		snprintf(json, sizeof json, "{\"type\":\"Feature\",\"properties\":"
		    "{\"width\":100},\"geometry\":{\"type\":\"LineString\","
		    "\"coordinates\":[[%.10f,%.10f],[%.10f,%.10f]]}}",
		    ab[0], ab[1], ab[2], ab[3]);
		set = one("road", json);
		assert_int_equal(fence_kind(fence_set_get(set, 0)),
		    FENCE_CORRIDOR);
		for (j = 0; j < 8; j++) {
			const double *p = corridor_pts[i][j];
			if (inside(set, p[0], p[1]) != (p[2] != 0))
				fail_msg("corridor %zu point %zu: expected %s",
				    i, j, p[2] != 0 ? "inside" : "outside");
		}
		assert_true(inside(set, ab[0], ab[1]));	/* on the line */
		fence_set_free(set);
	}
}

static void
test_corridor_bend(void **state)
{
	/*
	 * An L at the equator, width 200 m: east 0.01 deg, then north.  Past
	 * the corner (0.01, 0) to the south-east the band is the round cap of
	 * both segments.  At the equator a degree is 111 319.49 m east and
	 * 110 574.27 m north (a and M(0) times pi/180): 0.0006 deg each way is
	 * 66.79 m east and 66.34 m south, 94.1 m from the corner (inside);
	 * 0.00065 deg is 72.36 and 71.87 m, 102.0 m (outside).
	 */
	struct fence_set *set = one("l",
	    "{\"type\":\"Feature\",\"properties\":{\"width\":200},"
	    "\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
	    "[[0,0],[0.01,0],[0.01,0.01]]}}");

	(void)state;
	assert_true(inside(set, 0.0106, -0.0006));
	assert_false(inside(set, 0.01065, -0.00065));
	/* inside the bend, 99 m from both arms: 0.000895 deg north is 99.0 m,
	 * 0.000889 deg west is 99.0 m */
	assert_true(inside(set, 0.01 - 0.000889, 0.000895));
	/* beside the second segment, 0.0009 deg (100.2 m) east: outside */
	assert_false(inside(set, 0.0109, 0.005));
	assert_true(inside(set, 0.0108, 0.005));	/* 89.1 m */
	fence_set_free(set);
}

/* ---- refusals ---------------------------------------------------------- */

static const char *const ring_ok =
    "[[11.50,48.10],[11.51,48.10],[11.51,48.11],[11.50,48.11],[11.50,48.10]]";

struct refusal {
	const char *json;	/* %s: a valid ring where needed */
	const char *reason;	/* the whole message, or its start when it
				 * ends in '*' */
};

static const struct refusal refusals[] = {
	/* the text ends at column 18, where jansson stops */
	{ "{\"type\":\"Feature\",", "fence 'x': bad JSON at line 1 column 18: *" },
	{ "{\"type\":\"Feature\",\n \"geometry\": nul}",
	    "fence 'x': bad JSON at line 2 column *" },
	{ "{\"type\":\"Polygon\",\"coordinates\":[%s]}",
	    "fence 'x': not a GeoJSON Feature (an object with \"type\": "
	    "\"Feature\")" },
	{ "[1,2]", "fence 'x': not a GeoJSON Feature*" },
	{ "{\"type\":\"Feature\",\"properties\":{}}",
	    "fence 'x': has no geometry object" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"MultiLineString\","
	    "\"coordinates\":[]}}",
	    "fence 'x': unsupported geometry type 'MultiLineString' (use "
	    "Polygon, MultiPolygon, Point with radius or LineString with "
	    "width)" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\"}}",
	    "fence 'x': Polygon has no coordinates" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.50,48.10],[11.51,48.10],[11.51,48.11],"
	    "[11.50,48.11],[11.50,48.1001]]]}}",
	    "fence 'x': ring 1 is not closed (its first and last positions "
	    "differ)" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.50,48.10],[11.51,48.10],[11.50,48.10]]]}}",
	    "fence 'x': ring 1 has 3 positions, at least 4 needed" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[%s,[[11.501,48.101],[11.502,48.101],"
	    "[11.501,48.101]]]}}",
	    "fence 'x': ring 2 has 3 positions, at least 4 needed" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.50,48.10],[181,48.10],[11.51,48.11],"
	    "[11.50,48.10]]]}}",
	    "fence 'x': position 2 of ring 1: longitude 181 out of range "
	    "[-180, 180]" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.50,48.10],[11.51,48.10],[11.51,91],"
	    "[11.50,48.10]]]}}",
	    "fence 'x': position 3 of ring 1: latitude 91 out of range "
	    "[-90, 90]" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.50,48.10],[\"11.51\",48.10],[11.51,48.11],"
	    "[11.50,48.10]]]}}",
	    "fence 'x': position 2 of ring 1: longitude and latitude must be "
	    "numbers" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.50,48.10],[11.51],[11.51,48.11],"
	    "[11.50,48.10]]]}}",
	    "fence 'x': position 2 of ring 1 is not a [lon, lat] array" },
	/* a bow tie: the ring crosses itself at (11.505, 48.105) */
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.50,48.10],[11.51,48.11],[11.51,48.10],"
	    "[11.50,48.11],[11.50,48.10]]]}}",
	    "fence 'x': invalid geometry: Self-intersection[11.505 48.105]" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[%s,[[11.60,48.10],[11.60,48.11],[11.61,48.11],"
	    "[11.61,48.10],[11.60,48.10]]]}}",
	    "fence 'x': invalid geometry: Hole lies outside shell*" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"MultiPolygon\","
	    "\"coordinates\":[[%s],[[[11.6,48.1],[11.7,48.1],[11.7,48.2],"
	    "[11.6,48.1]]],[[[1,2],[3,4],[5,6]]]]}}",
	    "fence 'x': ring 1 of polygon 3 has 3 positions, at least 4 "
	    "needed" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"MultiPolygon\","
	    "\"coordinates\":[[%s],[%s]]}}",
	    "fence 'x': invalid geometry: *" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
	    "\"coordinates\":[11.5,48.1]}}",
	    "fence 'x': Point needs properties.radius (metres, > 0)" },
	{ "{\"type\":\"Feature\",\"properties\":{\"radius\":0},\"geometry\":"
	    "{\"type\":\"Point\",\"coordinates\":[11.5,48.1]}}",
	    "fence 'x': properties.radius must be a number of metres > 0" },
	{ "{\"type\":\"Feature\",\"properties\":{\"radius\":\"100\"},"
	    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[11.5,48.1]}}",
	    "fence 'x': properties.radius must be a number of metres > 0" },
	{ "{\"type\":\"Feature\",\"properties\":{\"radius\":100},\"geometry\":"
	    "{\"type\":\"Point\",\"coordinates\":[11.5,-95]}}",
	    "fence 'x': Point: latitude -95 out of range [-90, 90]" },
	{ "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\","
	    "\"coordinates\":[[11.5,48.1],[11.6,48.1]]}}",
	    "fence 'x': LineString needs properties.width (metres, > 0)" },
	{ "{\"type\":\"Feature\",\"properties\":{\"width\":-5},\"geometry\":"
	    "{\"type\":\"LineString\",\"coordinates\":[[11.5,48.1],[11.6,48.1]]}}",
	    "fence 'x': properties.width must be a number of metres > 0" },
	{ "{\"type\":\"Feature\",\"properties\":{\"width\":5},\"geometry\":"
	    "{\"type\":\"LineString\",\"coordinates\":[[11.5,48.1]]}}",
	    "fence 'x': LineString has 1 position, at least 2 needed" },
	{ "{\"type\":\"Feature\",\"properties\":{\"speed_limit\":\"fast\"},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[%s]}}",
	    "fence 'x': properties.speed_limit must be a number of km/h >= 0" },
	{ "{\"type\":\"Feature\",\"properties\":{\"speed_limit\":-1},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[%s]}}",
	    "fence 'x': properties.speed_limit must be a number of km/h >= 0" },
	{ "{\"type\":\"Feature\",\"properties\":{\"devices\":\"123\"},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[%s]}}",
	    "fence 'x': properties.devices must be a list of device id "
	    "strings" },
	{ "{\"type\":\"Feature\",\"properties\":{\"devices\":[\"a\","
	    "359710049095095]},\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[%s]}}",
	    "fence 'x': properties.devices[1] must be a non-empty device id "
	    "string (quoted)" },
	{ "{\"type\":\"Feature\",\"properties\":{\"name\":5},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[%s]}}",
	    "fence 'x': properties.name must be a string" },
	{ "{\"type\":\"Feature\",\"properties\":[],"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[%s]}}",
	    "fence 'x': properties must be an object" },
};

/* Copies tmpl into dst with every "%s" replaced by ring. */
static void
subst(char *dst, size_t size, const char *tmpl, const char *ring)
{
	size_t n = 0, rl = strlen(ring);

	while (*tmpl != '\0' && n + rl + 1 < size) {
		if (tmpl[0] == '%' && tmpl[1] == 's') {
			memcpy(dst + n, ring, rl);
			n += rl;
			tmpl += 2;
		} else
			dst[n++] = *tmpl++;
	}
	dst[n] = '\0';
}

/* err matches want: exactly, or by prefix when want ends in '*'. */
static void
assert_reason(const char *err, const char *want, size_t row)
{
	size_t n = strlen(want);

	if (want[n - 1] == '*' ? strncmp(err, want, n - 1) != 0 :
	    strcmp(err, want) != 0)
		fail_msg("refusal %zu: got \"%s\", want \"%s\"", row, err, want);
}

static void
test_refusals(void **state)
{
	struct fence_builder *b = fence_builder_new(&geos);
	char json[1024], err[256];
	size_t i;

	(void)state;
	assert_int_equal(fence_builder_add(b, "ok", square_with_hole,
	    strlen(square_with_hole), err, sizeof err), 0);
	for (i = 0; i < N_OF(refusals); i++) {
		subst(json, sizeof json, refusals[i].json, ring_ok);
		err[0] = '\0';
		if (fence_builder_add(b, "x", json, strlen(json), err,
		    sizeof err) != -1)
			fail_msg("refusal %zu was accepted: %s", i, json);
		assert_reason(err, refusals[i].reason, i);
		/* the CLI's check says the same */
		assert_int_equal(fence_validate(&geos, "x", json, strlen(json),
		    err, sizeof err), -1);
		assert_reason(err, refusals[i].reason, i);
		/* a refused fence leaves the builder as it was */
		assert_int_equal(fence_builder_count(b), 1);
	}
	/* the id is taken from the Feature when not given */
	snprintf(json, sizeof json, "{\"type\":\"Feature\",\"id\":\"self\","
	    "\"properties\":{\"radius\":-1},\"geometry\":{\"type\":\"Point\","
	    "\"coordinates\":[1,2]}}");
	assert_int_equal(fence_builder_add(b, NULL, json, strlen(json), err,
	    sizeof err), -1);
	assert_string_equal(err, "fence 'self': properties.radius must be a "
	    "number of metres > 0");
	snprintf(json, sizeof json, "{\"type\":\"Feature\",\"properties\":"
	    "{\"radius\":5},\"geometry\":{\"type\":\"Point\","
	    "\"coordinates\":[1,2]}}");
	assert_int_equal(fence_builder_add(b, NULL, json, strlen(json), err,
	    sizeof err), -1);
	assert_string_equal(err, "feature: has no id (give the Feature an "
	    "\"id\")");
	/* duplicates */
	assert_int_equal(fence_builder_add(b, "ok", square_with_hole,
	    strlen(square_with_hole), err, sizeof err), -1);
	assert_string_equal(err, "fence 'ok': duplicate id");
	assert_int_equal(fence_builder_count(b), 1);
	fence_builder_free(b);
}

static void
test_document_all_or_nothing(void **state)
{
	struct fence_builder *b = fence_builder_new(&geos);
	struct fence_set *set;
	char json[2048], err[256];

	(void)state;
	snprintf(json, sizeof json, "{\"type\":\"FeatureCollection\","
	    "\"features\":[{\"type\":\"Feature\",\"id\":\"a\",\"geometry\":"
	    "{\"type\":\"Polygon\",\"coordinates\":[%s]}},"
	    "{\"type\":\"Feature\",\"id\":7,\"properties\":{\"radius\":10},"
	    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[11.5,48.1]}},"
	    "{\"type\":\"Feature\",\"properties\":{\"id\":\"c\",\"width\":0},"
	    "\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
	    "[[11.5,48.1],[11.6,48.1]]}}]}", ring_ok);
	assert_int_equal(fence_builder_add_document(b, json, strlen(json), err,
	    sizeof err), -1);
	assert_string_equal(err, "fence 'c': properties.width must be a "
	    "number of metres > 0");
	assert_int_equal(fence_builder_count(b), 0);

	/* a duplicate inside one document */
	snprintf(json, sizeof json, "{\"type\":\"FeatureCollection\","
	    "\"features\":[{\"type\":\"Feature\",\"id\":\"a\",\"geometry\":"
	    "{\"type\":\"Polygon\",\"coordinates\":[%s]}},"
	    "{\"type\":\"Feature\",\"id\":\"a\",\"properties\":{\"radius\":1},"
	    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[11.5,48.1]}}]}",
	    ring_ok);
	assert_int_equal(fence_builder_add_document(b, json, strlen(json), err,
	    sizeof err), -1);
	assert_string_equal(err, "fence 'a': duplicate id");
	assert_int_equal(fence_builder_count(b), 0);

	/* no id anywhere: the feature's position names it */
	snprintf(json, sizeof json, "{\"type\":\"FeatureCollection\","
	    "\"features\":[{\"type\":\"Feature\",\"id\":\"a\",\"geometry\":"
	    "{\"type\":\"Polygon\",\"coordinates\":[%s]}},{\"type\":"
	    "\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
	    "[%s]}}]}", ring_ok, ring_ok);
	assert_int_equal(fence_builder_add_document(b, json, strlen(json), err,
	    sizeof err), -1);
	assert_string_equal(err, "feature 2: has no id (give the Feature an "
	    "\"id\")");

	snprintf(json, sizeof json, "{\"type\":\"FeatureCollection\"}");
	assert_int_equal(fence_builder_add_document(b, json, strlen(json), err,
	    sizeof err), -1);
	assert_string_equal(err, "document: FeatureCollection has no "
	    "\"features\" array");

	/* a good one: all three, integer id as its decimal text */
	snprintf(json, sizeof json, "{\"type\":\"FeatureCollection\","
	    "\"features\":[{\"type\":\"Feature\",\"id\":\"a\",\"geometry\":"
	    "{\"type\":\"Polygon\",\"coordinates\":[%s]}},"
	    "{\"type\":\"Feature\",\"id\":7,\"properties\":{\"radius\":10},"
	    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[11.5,48.1]}},"
	    "{\"type\":\"Feature\",\"properties\":{\"id\":\"c\",\"width\":8},"
	    "\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
	    "[[11.5,48.1],[11.6,48.1]]}}]}", ring_ok);
	assert_int_equal(fence_builder_add_document(b, json, strlen(json), err,
	    sizeof err), 0);
	set = fence_builder_finish(b);
	assert_int_equal(fence_set_count(set), 3);
	/* numbered in byte order of their ids: "7" < "a" < "c" */
	assert_string_equal(fence_id(fence_set_get(set, 0)), "7");
	assert_string_equal(fence_id(fence_set_get(set, 1)), "a");
	assert_string_equal(fence_id(fence_set_get(set, 2)), "c");
	assert_int_equal(fence_kind(fence_set_get(set, 0)), FENCE_CIRCLE);
	assert_int_equal(fence_kind(fence_set_get(set, 2)), FENCE_CORRIDOR);
	fence_set_free(set);
}

/* ---- the index against a brute-force scan ------------------------------ */

/* xorshift64*: a fixed sequence, so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ull) >> 11) /
	    9007199254740992.0;
}

#define GEN_FENCES 1000
#define GEN_POINTS 10000
#define GEN_MAXV 40

/* What the brute force knows of a generated fence, kept apart from the
 * set under test. */
struct gen {
	char id[16];
	enum fence_kind kind;
	double cx, cy, r;		/* circle; also polygon centre */
	double v[GEN_MAXV + 1][2];	/* polygon ring or corridor line */
	size_t nv;
	GEOSGeometry *geom;		/* polygon, built here */
	double box[4];
};

static bool
brute_covers(const struct gen *g, double lon, double lat)
{
	GEOSContextHandle_t h = geos.handle;
	GEOSGeometry *pt;
	size_t i;
	char c;

	switch (g->kind) {
	case FENCE_CIRCLE:
		return geo_distance(g->cx, g->cy, lon, lat) <= g->r;
	case FENCE_CORRIDOR:
		for (i = 0; i + 1 < g->nv; i++)
			if (geo_segment_distance(lon, lat, g->v[i][0],
			    g->v[i][1], g->v[i + 1][0], g->v[i + 1][1]) <= g->r)
				return true;
		return false;
	case FENCE_POLYGON:
		if (lon < g->box[0] || lon > g->box[2] || lat < g->box[1] ||
		    lat > g->box[3])
			return false;
		pt = GEOSGeom_createPointFromXY_r(h, lon, lat);
		c = GEOSCovers_r(h, g->geom, pt);
		GEOSGeom_destroy_r(h, pt);
		assert_int_not_equal(c, 2);
		return c == 1;
	}
	return false;
}

/* Fences over ~30 x 30 km around Munich: 60 % star polygons (12-40
 * vertices, 100-1500 m), 25 % circles, 15 % corridors. */
static void
generate(struct gen *gens, struct text *doc)
{
	GEOSContextHandle_t h = geos.handle;
	size_t i, k;

	addf(doc, "{\"type\":\"FeatureCollection\",\"features\":[");
	for (i = 0; i < GEN_FENCES; i++) {
		struct gen *g = &gens[i];
		double kind = rnd(), mlat = 1.0 / 111200.0,
		    mlon = mlat / cos(48.1 * M_PI / 180.0);

		snprintf(g->id, sizeof g->id, "g%04zu", (i * 7919) % GEN_FENCES);
		g->cx = 11.3 + 0.4 * rnd();
		g->cy = 47.95 + 0.3 * rnd();
		g->r = 100.0 + 1400.0 * rnd();
		addf(doc, "%s{\"type\":\"Feature\",\"id\":\"%s\",", i ? "," : "",
		    g->id);
		if (kind < 0.6) {
			GEOSCoordSequence *seq;
			g->kind = FENCE_POLYGON;
			g->nv = 12 + (size_t)(28 * rnd());
			for (k = 0; k < g->nv; k++) {
				double a = (k + 0.7 * rnd()) * 2 * M_PI / g->nv;
				double rr = g->r * (0.4 + 0.6 * rnd());
				/* 7 decimals, as written into the document */
				g->v[k][0] = round((g->cx + rr * cos(a) * mlon) *
				    1e7) / 1e7;
				g->v[k][1] = round((g->cy + rr * sin(a) * mlat) *
				    1e7) / 1e7;
			}
			g->v[g->nv][0] = g->v[0][0];
			g->v[g->nv][1] = g->v[0][1];
			addf(doc, "\"geometry\":{\"type\":\"Polygon\","
			    "\"coordinates\":[[");
			g->box[0] = g->box[1] = 1e9;
			g->box[2] = g->box[3] = -1e9;
			seq = GEOSCoordSeq_create_r(h, (unsigned)g->nv + 1, 2);
			for (k = 0; k <= g->nv; k++) {
				addf(doc, "%s[%.7f,%.7f]", k ? "," : "",
				    g->v[k][0], g->v[k][1]);
				GEOSCoordSeq_setXY_r(h, seq, (unsigned)k,
				    g->v[k][0], g->v[k][1]);
				g->box[0] = fmin(g->box[0], g->v[k][0]);
				g->box[1] = fmin(g->box[1], g->v[k][1]);
				g->box[2] = fmax(g->box[2], g->v[k][0]);
				g->box[3] = fmax(g->box[3], g->v[k][1]);
			}
			addf(doc, "]]}}");
			g->geom = GEOSGeom_createPolygon_r(h,
			    GEOSGeom_createLinearRing_r(h, seq), NULL, 0);
			assert_non_null(g->geom);
		} else if (kind < 0.85) {
			g->kind = FENCE_CIRCLE;
			addf(doc, "\"properties\":{\"radius\":%.1f},\"geometry\":"
			    "{\"type\":\"Point\",\"coordinates\":[%.7f,%.7f]}}",
			    g->r, g->cx, g->cy);
			g->r = round(g->r * 10) / 10;
			g->cx = round(g->cx * 1e7) / 1e7;
			g->cy = round(g->cy * 1e7) / 1e7;
		} else {
			g->kind = FENCE_CORRIDOR;
			g->nv = 2 + (size_t)(4 * rnd());
			g->r = round(20.0 + 180.0 * rnd());	/* half width */
			addf(doc, "\"properties\":{\"width\":%.0f},\"geometry\":"
			    "{\"type\":\"LineString\",\"coordinates\":[",
			    2 * g->r);
			for (k = 0; k < g->nv; k++) {
				g->v[k][0] = round((g->cx + (rnd() - 0.5) *
				    0.04) * 1e7) / 1e7;
				g->v[k][1] = round((g->cy + (rnd() - 0.5) *
				    0.03) * 1e7) / 1e7;
				addf(doc, "%s[%.7f,%.7f]", k ? "," : "",
				    g->v[k][0], g->v[k][1]);
			}
			addf(doc, "]}}");
		}
	}
	addf(doc, "]}");
}

static void
test_index_matches_brute_force(void **state)
{
	struct gen *gens = calloc(GEN_FENCES, sizeof *gens);
	struct text doc = { 0 };
	struct fence_builder *b;
	struct fence_set *set;
	size_t out[GEN_FENCES], want[GEN_FENCES], i, k, nwant, hits = 0;
	size_t edge_points = 0;
	char err[256];

	(void)state;
	assert_non_null(gens);
	generate(gens, &doc);
	b = fence_builder_new(&geos);
	if (fence_builder_add_document(b, doc.s, doc.len, err, sizeof err) < 0)
		fail_msg("generated set refused: %s", err);
	set = fence_builder_finish(b);
	assert_int_equal(fence_set_count(set), GEN_FENCES);

	for (i = 0; i < GEN_POINTS; i++) {
		double lon, lat, pick = rnd();
		const struct gen *g = &gens[(size_t)(rnd() * GEN_FENCES)];
		int n;

		if (pick < 0.3 || g->nv == 0) {		/* anywhere */
			lon = 11.28 + 0.44 * rnd();
			lat = 47.93 + 0.34 * rnd();
		} else if (pick < 0.7) {		/* near a fence */
			lon = g->cx + (rnd() - 0.5) * 0.04;
			lat = g->cy + (rnd() - 0.5) * 0.03;
		} else if (pick < 0.85) {	/* a vertex, or off it by a hair */
			k = (size_t)(rnd() * g->nv);
			lon = g->v[k][0] + (rnd() < 0.5 ? 0 : (rnd() - 0.5) * 1e-9);
			lat = g->v[k][1];
			edge_points++;
		} else {			/* on or next to an edge */
			double t = rnd();
			k = (size_t)(rnd() * (g->nv - 1));
			lon = g->v[k][0] + t * (g->v[k + 1][0] - g->v[k][0]);
			lat = g->v[k][1] + t * (g->v[k + 1][1] - g->v[k][1]);
			edge_points++;
		}
		nwant = 0;
		for (k = 0; k < GEN_FENCES; k++)
			if (brute_covers(&gens[k], lon, lat))
				want[nwant++] = (size_t)fence_set_find(set,
				    gens[k].id);
		/* the set numbers fences by id: sort the expectation */
		for (k = 1; k < nwant; k++) {
			size_t v = want[k], j = k;
			for (; j > 0 && want[j - 1] > v; j--)
				want[j] = want[j - 1];
			want[j] = v;
		}
		n = fence_set_covers(set, lon, lat, out, GEN_FENCES, err,
		    sizeof err);
		if (n < 0)
			fail_msg("covers failed: %s", err);
		if ((size_t)n != nwant)
			fail_msg("point %zu (%.9f, %.9f): %d fences, brute "
			    "force %zu", i, lon, lat, n, nwant);
		for (k = 0; k < nwant; k++)
			if (out[k] != want[k])
				fail_msg("point %zu: fence %zu is %zu, brute "
				    "force %zu", i, k, out[k], want[k]);
		hits += nwant;
	}
	/* the data exercise what they should */
	assert_true(hits > GEN_POINTS / 4);
	assert_true(edge_points > GEN_POINTS / 5);

	for (i = 0; i < GEN_FENCES; i++)
		if (gens[i].geom != NULL)
			GEOSGeom_destroy_r(geos.handle, gens[i].geom);
	free(gens);
	free(doc.s);
	fence_set_free(set);
}

/* ---- the query's contract ---------------------------------------------- */

static void
test_order_and_truncation(void **state)
{
	struct fence_builder *b = fence_builder_new(&geos);
	struct fence_set *set;
	const char *ids[] = { "m", "c", "x", "a" };
	size_t out[4] = { 99, 99, 99, 99 }, i;
	char json[256], err[256];

	(void)state;
	/* four concentric circles, added out of order */
	for (i = 0; i < N_OF(ids); i++) {
		snprintf(json, sizeof json, "{\"type\":\"Feature\",\"properties\":"
		    "{\"radius\":%zu},\"geometry\":{\"type\":\"Point\","
		    "\"coordinates\":[11.5,48.1]}}", 100 * (i + 1));
		assert_int_equal(fence_builder_add(b, ids[i], json,
		    strlen(json), err, sizeof err), 0);
	}
	set = fence_builder_finish(b);
	assert_int_equal(fence_set_find(set, "a"), 0);
	assert_int_equal(fence_set_find(set, "c"), 1);
	assert_int_equal(fence_set_find(set, "m"), 2);
	assert_int_equal(fence_set_find(set, "x"), 3);
	assert_int_equal(fence_set_find(set, "b"), -1);
	assert_int_equal(fence_set_find(set, ""), -1);

	assert_int_equal(fence_set_covers(set, 11.5, 48.1, out, 4, err,
	    sizeof err), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(out[i], i);
	/* 250 m north: only radius 300 ("x") and 400 ("a") */
	assert_int_equal(fence_set_covers(set, 11.5, 48.1 + 250 / 111254.0,
	    out, 4, err, sizeof err), 2);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 3);
	/* room for two of four: the count is still 4, the first two kept */
	memset(out, 0xff, sizeof out);
	assert_int_equal(fence_set_covers(set, 11.5, 48.1, out, 2, err,
	    sizeof err), 4);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], (size_t)-1);
	assert_int_equal(fence_set_covers(set, 11.5, 48.1, NULL, 0, err,
	    sizeof err), 4);
	/* far away */
	assert_int_equal(fence_set_covers(set, -70.0, -33.0, out, 4, err,
	    sizeof err), 0);
	fence_set_free(set);
}

static void
test_bad_query_point(void **state)
{
	struct fence_set *set = one("yard", square_with_hole);
	size_t out[2];
	char err[256];

	(void)state;
	assert_int_equal(fence_set_covers(set, NAN, 48.1, out, 2, err,
	    sizeof err), -1);
	assert_string_equal(err, "point (nan, 48.1) is not a valid longitude, "
	    "latitude");
	assert_int_equal(fence_set_covers(set, 11.5, 90.5, out, 2, err,
	    sizeof err), -1);
	assert_int_equal(fence_set_covers(set, 180.5, 48.1, out, 2, err,
	    sizeof err), -1);
	fence_set_free(set);
}

static void
test_empty_set(void **state)
{
	struct fence_set *set = fence_builder_finish(fence_builder_new(&geos));
	size_t out[2];
	char err[256];

	(void)state;
	assert_int_equal(fence_set_count(set), 0);
	assert_int_equal(fence_set_find(set, "x"), -1);
	assert_null(fence_set_get(set, 0));
	assert_int_equal(fence_set_covers(set, 11.5, 48.1, out, 2, err,
	    sizeof err), 0);
	fence_set_free(set);
	fence_set_free(NULL);
	fence_builder_free(NULL);
}

/* ---- accessors and export ---------------------------------------------- */

static void
test_accessors(void **state)
{
	struct fence_set *set = one("depot",
	    "{\"type\":\"Feature\",\"properties\":{\"name\":\"Depot N\","
	    "\"speed_limit\":25.5,\"devices\":[\"359710049095095\","
	    "\"027028241337\",\"123\"]},\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.50,48.10],[11.51,48.10],[11.51,48.11],"
	    "[11.50,48.11],[11.50,48.10]]]}}");
	struct fence_set *bare = one("bare",
	    "{\"type\":\"Feature\",\"properties\":{\"radius\":10,\"name\":null,"
	    "\"devices\":[]},\"geometry\":{\"type\":\"Point\",\"coordinates\":"
	    "[11.5,48.1]}}");
	struct fence_set *open = one("open",
	    "{\"type\":\"Feature\",\"properties\":null,\"geometry\":"
	    "{\"type\":\"Polygon\",\"coordinates\":[[[11.50,48.10],[11.51,48.10],"
	    "[11.51,48.11],[11.50,48.10]]]}}");
	const struct fence *f = fence_set_get(set, 0);
	double kmh = -1, x0, y0, x1, y1;

	(void)state;
	assert_string_equal(fence_id(f), "depot");
	assert_string_equal(fence_name(f), "Depot N");
	assert_true(fence_speed_limit(f, &kmh));
	assert_true(kmh == 25.5);
	assert_int_equal(fence_device_count(f), 3);
	assert_string_equal(fence_device(f, 0), "359710049095095");
	assert_string_equal(fence_device(f, 1), "027028241337");
	assert_string_equal(fence_device(f, 2), "123");
	assert_null(fence_device(f, 3));
	assert_true(fence_device_allowed(f, "027028241337"));
	assert_true(fence_device_allowed(f, "123"));
	assert_false(fence_device_allowed(f, "27028241337"));
	assert_false(fence_device_allowed(f, "1234"));
	assert_false(fence_device_allowed(f, ""));
	fence_envelope(f, &x0, &y0, &x1, &y1);
	assert_true(x0 == 11.50 && y0 == 48.10 && x1 == 11.51 && y1 == 48.11);

	/* an empty list allows nobody; no list allows everybody */
	f = fence_set_get(bare, 0);
	assert_null(fence_name(f));
	assert_false(fence_speed_limit(f, &kmh));
	assert_int_equal(fence_device_count(f), 0);
	assert_false(fence_device_allowed(f, "123"));
	/* a 10 m circle's box: 10 m is 0.0000899 deg of latitude */
	fence_envelope(f, &x0, &y0, &x1, &y1);
	assert_true(y1 - 48.1 > 0.0000899 && y1 - 48.1 < 0.0000950);
	assert_true(x1 - 11.5 > 0.0001347 && x1 - 11.5 < 0.0001420);
	f = fence_set_get(open, 0);
	assert_int_equal(fence_device_count(f), -1);
	assert_true(fence_device_allowed(f, "anything"));
	fence_set_free(set);
	fence_set_free(bare);
	fence_set_free(open);
}

static void
test_json_round_trip(void **state)
{
	struct fence_builder *b = fence_builder_new(&geos);
	struct fence_set *set, *again;
	const char *doc = "{\"type\":\"FeatureCollection\",\"features\":["
	    "{\"type\":\"Feature\",\"properties\":{\"id\":\"p\",\"name\":\"P\","
	    "\"speed_limit\":30},\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[11.5,48.1],[11.51,48.1],[11.51,48.11],"
	    "[11.5,48.1]]]}},{\"type\":\"Feature\",\"id\":\"w\",\"properties\":"
	    "{\"width\":12.5,\"devices\":[\"d1\"]},\"geometry\":{\"type\":"
	    "\"LineString\",\"coordinates\":[[11.123456789,48.1],[11.2,48.2]]}}"
	    "]}";
	const char *json;
	char err[256];
	double kmh;
	size_t i;

	(void)state;
	assert_int_equal(fence_builder_add_document(b, doc, strlen(doc), err,
	    sizeof err), 0);
	set = fence_builder_finish(b);
	json = fence_json(fence_set_get(set, 0));
	assert_string_equal(json, "{\"type\":\"Feature\",\"id\":\"p\","
	    "\"properties\":{\"id\":\"p\",\"name\":\"P\",\"speed_limit\":30},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[11.5,48.1],"
	    "[11.51,48.1],[11.51,48.11],[11.5,48.1]]]}}");
	json = fence_json(fence_set_get(set, 1));
	assert_string_equal(json, "{\"type\":\"Feature\",\"id\":\"w\","
	    "\"properties\":{\"width\":12.5,\"devices\":[\"d1\"]},"
	    "\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
	    "[[11.123456789,48.1],[11.2,48.2]]}}");

	/* each export, added back under no id, is the same fence */
	b = fence_builder_new(&geos);
	for (i = 0; i < 2; i++) {
		json = fence_json(fence_set_get(set, i));
		assert_int_equal(fence_builder_add(b, NULL, json, strlen(json),
		    err, sizeof err), 0);
	}
	again = fence_builder_finish(b);
	assert_string_equal(fence_id(fence_set_get(again, 0)), "p");
	assert_string_equal(fence_name(fence_set_get(again, 0)), "P");
	assert_true(fence_speed_limit(fence_set_get(again, 0), &kmh));
	assert_true(kmh == 30);
	assert_true(fence_device_allowed(fence_set_get(again, 1), "d1"));
	/* text that already names its id is kept as it was */
	assert_string_equal(fence_json(fence_set_get(again, 1)),
	    fence_json(fence_set_get(set, 1)));
	fence_set_free(set);
	fence_set_free(again);
}

static void
test_example_file(void **state)
{
	FILE *fp = fopen("fences.example.geojson", "rb");
	struct fence_builder *b = fence_builder_new(&geos);
	struct fence_set *set;
	char *text, err[256];
	size_t out[8], len;
	long depot, centre, a9, apron;

	(void)state;
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = (size_t)ftell(fp);
	rewind(fp);
	text = malloc(len);
	assert_int_equal(fread(text, 1, len, fp), len);
	fclose(fp);
	if (fence_builder_add_document(b, text, len, err, sizeof err) < 0)
		fail_msg("example refused: %s", err);
	free(text);
	set = fence_builder_finish(b);
	assert_int_equal(fence_set_count(set), 4);
	depot = fence_set_find(set, "depot");
	centre = fence_set_find(set, "munich-centre");
	a9 = fence_set_find(set, "a9-north");
	apron = fence_set_find(set, "airport-apron");
	assert_true(depot >= 0 && centre >= 0 && a9 >= 0 && apron >= 0);
	assert_int_equal(fence_kind(fence_set_get(set, centre)), FENCE_CIRCLE);
	assert_int_equal(fence_kind(fence_set_get(set, a9)), FENCE_CORRIDOR);
	assert_int_equal(fence_device_count(fence_set_get(set, apron)), 2);
	assert_int_equal(fence_device_count(fence_set_get(set, a9)), -1);

	/* Marienplatz */
	assert_int_equal(fence_set_covers(set, 11.5755, 48.1374, out, 8, err,
	    sizeof err), 1);
	assert_int_equal(out[0], (size_t)centre);
	/* the depot's yard, and its workshop (a hole) */
	assert_int_equal(fence_set_covers(set, 11.5885, 48.1885, out, 8, err,
	    sizeof err), 1);
	assert_int_equal(out[0], (size_t)depot);
	assert_int_equal(fence_set_covers(set, 11.5900, 48.1888, out, 8, err,
	    sizeof err), 0);
	/* on the A9, midway between its first two vertices */
	assert_int_equal(fence_set_covers(set, 11.61325, 48.19825, out, 8, err,
	    sizeof err), 1);
	assert_int_equal(out[0], (size_t)a9);
	/* both aprons, not the taxiway between them */
	assert_int_equal(fence_set_covers(set, 11.78, 48.353, out, 8, err,
	    sizeof err), 1);
	assert_int_equal(fence_set_covers(set, 11.78, 48.345, out, 8, err,
	    sizeof err), 1);
	assert_int_equal(fence_set_covers(set, 11.78, 48.349, out, 8, err,
	    sizeof err), 0);
	fence_set_free(set);
}

static void
test_geos_messages(void **state)
{
	GEOSWKTReader *r = GEOSWKTReader_create_r(geos.handle);

	(void)state;
	geos.error[0] = '\0';
	assert_null(GEOSWKTReader_read_r(geos.handle, r, "POLYGON((1 2,"));
	assert_true(strlen(geos.error) > 0);
	assert_null(strchr(geos.error, '\n'));
	GEOSWKTReader_destroy_r(geos.handle, r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_polygon_inside_outside_edges_hole),
		cmocka_unit_test(test_multipolygon),
		cmocka_unit_test(test_concave_polygon),
		cmocka_unit_test(test_circle_edges),
		cmocka_unit_test(test_corridor_edges),
		cmocka_unit_test(test_corridor_bend),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_document_all_or_nothing),
		cmocka_unit_test(test_index_matches_brute_force),
		cmocka_unit_test(test_order_and_truncation),
		cmocka_unit_test(test_bad_query_point),
		cmocka_unit_test(test_empty_set),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_geos_messages),
	};

	return cmocka_run_group_tests_name("engine/fence", tests, setup,
	    teardown);
}
