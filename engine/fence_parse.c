/*
 * fence_parse.c: one GeoJSON Feature -> one validated, prepared fence.
 *
 * Coordinates are read here rather than through GEOS's GeoJSON reader so
 * that every refusal names what is wrong and where ("ring 2 of polygon 1 is
 * not closed"); GEOS then builds the geometry from our coordinates, judges
 * its validity (self-intersections, holes outside shells: GEOS's words are
 * passed on) and prepares it.  The index and the queries are fence.c's.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fence_parse.h"
#include "engine/geo.h"
#include "lib/escape.h"
#include "lib/xmalloc.h"

struct parse {
	struct fence_geos *g;
	char who[FENCE_PARSE_WHO];	/* "fence 'depot'" or "feature 3" */
	char *err;
	size_t errlen;
	double box[4];			/* extent of the coordinates read */
	double *xy;			/* coordinates read, as lon,lat pairs */
	size_t nxy, cap;
	size_t *ends;			/* vertex count after each ring */
	size_t nends, ends_cap;
};

static int fail(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes "<who>: <reason>" into the caller's buffer; returns -1. */
static int
fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->errlen == 0)
		return -1;
	n = snprintf(p->err, p->errlen, "%s: ", p->who);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void
fence_parse_who(char *dst, size_t size, const char *id)
{
	char shown[65];		/* ids are cut to 64 bytes, escaped */
	size_t used = escape_bytes(shown, sizeof shown, (const uint8_t *)id,
	    strlen(id));

	snprintf(dst, size, "fence '%s%s'", shown,
	    used < strlen(id) ? "..." : "");
}

static const char *
geos_msg(const struct parse *p)
{
	return p->g->error[0] != '\0' ? p->g->error : "unknown GEOS error";
}

/* ---- coordinates ------------------------------------------------------- */

/*
 * Reads one position [lon, lat, ...] into the scratch array.  In errors it
 * is "position <nth> of <what>", or just <what> when nth is 0.
 */
static int
position(struct parse *p, json_t *pos, size_t nth, const char *what)
{
	char where[96];
	double lon = 0.0, lat = 0.0;
	json_t *x = json_array_get(pos, 0), *y = json_array_get(pos, 1);

	if (json_is_number(x) && json_is_number(y)) {
		lon = json_number_value(x);
		lat = json_number_value(y);
		if (lon >= -180.0 && lon <= 180.0 && lat >= -90.0 &&
		    lat <= 90.0)
			goto ok;
	}
	/* The error path: only now is the position's name worth printing. */
	if (nth > 0)
		snprintf(where, sizeof where, "position %zu of %s", nth, what);
	else
		snprintf(where, sizeof where, "%s", what);
	if (!json_is_array(pos) || json_array_size(pos) < 2)
		return fail(p, "%s is not a [lon, lat] array", where);
	if (!json_is_number(x) || !json_is_number(y))
		return fail(p, "%s: longitude and latitude must be numbers",
		    where);
	if (!(lon >= -180.0 && lon <= 180.0))
		return fail(p, "%s: longitude %g out of range [-180, 180]",
		    where, lon);
	return fail(p, "%s: latitude %g out of range [-90, 90]", where, lat);

ok:
	if (p->nxy + 2 > p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->xy = xreallocarray(p->xy, p->cap, sizeof *p->xy);
	}
	p->xy[p->nxy++] = lon;
	p->xy[p->nxy++] = lat;
	if (lon < p->box[0])
		p->box[0] = lon;
	if (lat < p->box[1])
		p->box[1] = lat;
	if (lon > p->box[2])
		p->box[2] = lon;
	if (lat > p->box[3])
		p->box[3] = lat;
	return 0;
}

/*
 * Appends an array of at least min positions to the scratch array; what
 * names it in errors ("ring 1").
 */
static int
positions(struct parse *p, json_t *arr, size_t min, const char *what)
{
	size_t i, n;

	if (!json_is_array(arr))
		return fail(p, "%s is not an array of positions", what);
	n = json_array_size(arr);
	if (n < min)
		return fail(p, "%s has %zu position%s, at least %zu needed",
		    what, n, n == 1 ? "" : "s", min);
	for (i = 0; i < n; i++)
		if (position(p, json_array_get(arr, i), i + 1, what) < 0)
			return -1;
	return 0;
}

/* A linear ring: at least 4 positions, the last equal to the first. */
static GEOSGeometry *
ring(struct parse *p, json_t *arr, const char *what)
{
	GEOSContextHandle_t h = p->g->handle;
	GEOSCoordSequence *seq;
	GEOSGeometry *r;
	size_t start = p->nxy;
	const double *xy;

	if (positions(p, arr, 4, what) < 0)
		return NULL;
	xy = p->xy + start;
	if (xy[0] != p->xy[p->nxy - 2] || xy[1] != p->xy[p->nxy - 1]) {
		fail(p, "%s is not closed (its first and last positions "
		    "differ)", what);
		return NULL;
	}
	if (p->nends == p->ends_cap) {
		p->ends_cap = p->ends_cap ? 2 * p->ends_cap : 8;
		p->ends = xreallocarray(p->ends, p->ends_cap, sizeof *p->ends);
	}
	p->ends[p->nends++] = p->nxy / 2;
	seq = GEOSCoordSeq_copyFromBuffer_r(h, xy, (p->nxy - start) / 2, 0, 0);
	r = seq ? GEOSGeom_createLinearRing_r(h, seq) : NULL;
	if (r == NULL)
		fail(p, "%s: %s", what, geos_msg(p));
	return r;
}

/* One Polygon's coordinates: shell then holes.  nth > 0 inside a Multi. */
static GEOSGeometry *
polygon(struct parse *p, json_t *rings, size_t nth)
{
	GEOSContextHandle_t h = p->g->handle;
	GEOSGeometry *shell = NULL, **holes = NULL, *poly;
	char what[80], of[40] = "";
	size_t i, n;

	if (nth > 0)
		snprintf(of, sizeof of, " of polygon %zu", nth);
	if (!json_is_array(rings) || json_array_size(rings) == 0) {
		fail(p, "polygon%s has no rings", of);
		return NULL;
	}
	n = json_array_size(rings);
	holes = xcalloc(n, sizeof *holes);
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof what, "ring %zu%s", i + 1, of);
		GEOSGeometry *r = ring(p, json_array_get(rings, i), what);
		if (r == NULL)
			goto fail;
		if (i == 0)
			shell = r;
		else
			holes[i - 1] = r;
	}
	poly = GEOSGeom_createPolygon_r(h, shell, holes, (unsigned)(n - 1));
	free(holes);	/* the polygon owns the rings now */
	if (poly == NULL)
		fail(p, "polygon%s: %s", of, geos_msg(p));
	return poly;

fail:
	for (i = 0; i + 1 < n; i++)
		if (holes[i] != NULL)
			GEOSGeom_destroy_r(h, holes[i]);
	if (shell != NULL)
		GEOSGeom_destroy_r(h, shell);
	free(holes);
	return NULL;
}

/* Polygon or MultiPolygon -> validated, prepared geometry in f. */
static int
area(struct parse *p, struct fence *f, json_t *coords, bool multi)
{
	GEOSContextHandle_t h = p->g->handle;
	GEOSGeometry *pt;
	char valid, covers;

	p->nxy = p->nends = 0;
	if (!multi)
		f->geom = polygon(p, coords, 0);
	else {
		GEOSGeometry **parts;
		size_t i, n;

		if (!json_is_array(coords) || json_array_size(coords) == 0)
			return fail(p, "MultiPolygon has no polygons");
		n = json_array_size(coords);
		parts = xcalloc(n, sizeof *parts);
		for (i = 0; i < n; i++)
			if ((parts[i] = polygon(p, json_array_get(coords, i),
			    i + 1)) == NULL)
				break;
		if (i == n) {
			f->geom = GEOSGeom_createCollection_r(h,
			    GEOS_MULTIPOLYGON, parts, (unsigned)n);
			if (f->geom == NULL)
				fail(p, "MultiPolygon: %s", geos_msg(p));
		} else
			while (i-- > 0)
				GEOSGeom_destroy_r(h, parts[i]);
		free(parts);
	}
	if (f->geom == NULL)
		return -1;

	valid = GEOSisValid_r(h, f->geom);
	if (valid == 2)
		return fail(p, "validity check failed: %s", geos_msg(p));
	if (valid == 0) {
		char *reason = GEOSisValidReason_r(h, f->geom);
		fail(p, "invalid geometry: %s",
		    reason ? reason : "(no reason given)");
		if (reason != NULL)
			GEOSFree_r(h, reason);
		return -1;
	}

	f->prep = GEOSPrepare_r(h, f->geom);
	if (f->prep == NULL)
		return fail(p, "cannot prepare geometry: %s", geos_msg(p));
	f->raster = raster_new(p->box, p->xy, p->ends, p->nends);
	/*
	 * GEOS builds the prepared polygon's point locator on first use; do it
	 * now with a vertex (always covered), so the set is complete once built
	 * and the first query pays nothing extra.
	 */
	pt = GEOSGeom_createPointFromXY_r(h, p->xy[0], p->xy[1]);
	covers = pt ? GEOSPreparedCovers_r(h, f->prep, pt) : 2;
	if (pt != NULL)
		GEOSGeom_destroy_r(h, pt);
	if (covers == 2)
		return fail(p, "cannot prepare geometry: %s", geos_msg(p));
	return 0;
}

/* Reads a positive, finite number of metres from properties.name. */
static int
metres(struct parse *p, json_t *props, const char *name, const char *geom,
    double *out)
{
	json_t *v = props ? json_object_get(props, name) : NULL;

	if (v == NULL || json_is_null(v))
		return fail(p, "%s needs properties.%s (metres, > 0)", geom,
		    name);
	if (!json_is_number(v) || !(json_number_value(v) > 0.0) ||
	    !isfinite(json_number_value(v)))
		return fail(p, "properties.%s must be a number of metres > 0",
		    name);
	*out = json_number_value(v);
	return 0;
}

static int
circle(struct parse *p, struct fence *f, json_t *coords, json_t *props)
{
	double dlon, dlat;

	p->nxy = 0;
	if (position(p, coords, 0, "Point") < 0 ||
	    metres(p, props, "radius", "Point", &f->radius) < 0)
		return -1;
	f->lon = p->xy[0];
	f->lat = p->xy[1];
	geo_degree_margin(f->lat, f->radius, &dlon, &dlat);
	f->box[0] = f->lon - dlon;
	f->box[1] = f->lat - dlat;
	f->box[2] = f->lon + dlon;
	f->box[3] = f->lat + dlat;
	return 0;
}

static int
corridor(struct parse *p, struct fence *f, json_t *coords, json_t *props)
{
	double width, dlon, dlat, lat;
	size_t i;

	p->nxy = 0;
	if (positions(p, coords, 2, "LineString") < 0 ||
	    metres(p, props, "width", "LineString", &width) < 0)
		return -1;
	f->half_width = width / 2.0;
	f->npts = p->nxy / 2;
	f->pts = xmemdup(p->xy, p->nxy * sizeof *p->xy);
	f->segbox = xreallocarray(NULL, 4 * (f->npts - 1), sizeof *f->segbox);
	/* One margin for the whole line, taken at its most poleward point. */
	lat = fabs(p->box[1]) > fabs(p->box[3]) ? p->box[1] : p->box[3];
	geo_degree_margin(lat, f->half_width, &dlon, &dlat);
	for (i = 0; i + 1 < f->npts; i++) {
		const double *a = f->pts + 2 * i, *b = a + 2;
		double *sb = f->segbox + 4 * i;
		sb[0] = fmin(a[0], b[0]) - dlon;
		sb[1] = fmin(a[1], b[1]) - dlat;
		sb[2] = fmax(a[0], b[0]) + dlon;
		sb[3] = fmax(a[1], b[1]) + dlat;
	}
	f->box[0] = p->box[0] - dlon;
	f->box[1] = p->box[1] - dlat;
	f->box[2] = p->box[2] + dlon;
	f->box[3] = p->box[3] + dlat;
	return 0;
}

/* ---- properties -------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
properties(struct parse *p, struct fence *f, json_t *props)
{
	json_t *v;
	size_t i;

	if (props == NULL || json_is_null(props))
		return 0;
	if (!json_is_object(props))
		return fail(p, "properties must be an object");

	v = json_object_get(props, "name");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return fail(p, "properties.name must be a string");
		f->name = xstrdup(json_string_value(v));
	}

	v = json_object_get(props, "speed_limit");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_number(v) || !(json_number_value(v) >= 0.0) ||
		    !isfinite(json_number_value(v)))
			return fail(p, "properties.speed_limit must be a "
			    "number of km/h >= 0");
		f->has_speed_limit = true;
		f->speed_limit = json_number_value(v);
	}

	v = json_object_get(props, "devices");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return fail(p, "properties.devices must be a list of "
			    "device id strings");
		for (i = 0; i < json_array_size(v); i++) {
			json_t *d = json_array_get(v, i);
			if (!json_is_string(d) || json_string_length(d) == 0)
				return fail(p, "properties.devices[%zu] must be "
				    "a non-empty device id string (quoted)", i);
		}
		f->ndevices = (long)json_array_size(v);
		f->devices = xcalloc(i + 1, sizeof *f->devices);
		f->devices_sorted = xcalloc(i + 1, sizeof *f->devices_sorted);
		for (i = 0; i < json_array_size(v); i++) {
			f->devices[i] = xstrdup(json_string_value(
			    json_array_get(v, i)));
			f->devices_sorted[i] = f->devices[i];
		}
		qsort(f->devices_sorted, i, sizeof *f->devices_sorted, cmp_str);
	}
	return 0;
}

/* ---- the Feature ------------------------------------------------------- */

/* The id a Feature gives itself: "id", else properties.id. */
static char *
own_id(json_t *feature, json_t *props)
{
	json_t *v = json_object_get(feature, "id");

	if ((v == NULL || json_is_null(v)) && json_is_object(props))
		v = json_object_get(props, "id");
	if (json_is_string(v) && json_string_length(v) > 0)
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	return NULL;
}

/*
 * The text fence_json gives: the Feature's own text when it has one and
 * already carries this id (what the CLI stores, so the engine's loads copy
 * rather than print), else the Feature with "id" set to the fence id,
 * printed compactly.  Up to 15
 * significant digits print every double read from a decimal of 15 digits or
 * fewer back as the same decimal (DBL_DIG), where jansson's default of 17
 * would turn 48.1 into 48.100000000000001.
 */
static char *
canonical(json_t *feature, const char *id, const char *text, size_t len)
{
	json_t *own = json_object_get(feature, "id"), *copy;
	char *s, *out;

	if (text != NULL && json_is_string(own) &&
	    strcmp(json_string_value(own), id) == 0) {
		while (len > 0 && (text[len - 1] == '\n' ||
		    text[len - 1] == ' ' || text[len - 1] == '\r' ||
		    text[len - 1] == '\t'))
			len--;
		return xstrndup(text, len);
	}
	copy = json_copy(feature);
	if (own != NULL)
		json_object_set_new(copy, "id", json_string(id));
	else {
		/* Put "id" first, where readers expect it. */
		json_t *ordered = json_object();
		const char *key;
		json_t *val;

		json_object_set_new(ordered, "type", json_string("Feature"));
		json_object_set_new(ordered, "id", json_string(id));
		json_object_foreach(copy, key, val)
			json_object_set(ordered, key, val);
		json_decref(copy);
		copy = ordered;
	}
	s = json_dumps(copy, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(copy);
	if (s == NULL)
		return NULL;
	out = xstrdup(s);
	free(s);
	return out;
}

struct fence *
fence_parse(struct fence_geos *g, const char *id, const char *label,
    json_t *feature, const char *text, size_t len, char *err, size_t errlen)
{
	struct parse p = { .g = g, .err = err, .errlen = errlen,
	    .box = { 1e300, 1e300, -1e300, -1e300 } };
	struct fence *f = xcalloc(1, sizeof *f);
	json_t *geom, *props, *type, *coords;
	const char *gt;
	int rc;

	f->ndevices = -1;
	g->error[0] = '\0';
	snprintf(p.who, sizeof p.who, "%s", label ? label : "feature");
	if (id != NULL)
		fence_parse_who(p.who, sizeof p.who, id);

	type = json_object_get(feature, "type");
	if (!json_is_object(feature) || !json_is_string(type) ||
	    strcmp(json_string_value(type), "Feature") != 0) {
		fail(&p, "not a GeoJSON Feature (an object with \"type\": "
		    "\"Feature\")");
		goto fail;
	}
	props = json_object_get(feature, "properties");
	if (id != NULL)
		f->id = xstrdup(id);
	else if ((f->id = own_id(feature, props)) == NULL) {
		fail(&p, "has no id (give the Feature an \"id\")");
		goto fail;
	} else
		fence_parse_who(p.who, sizeof p.who, f->id);
	if (properties(&p, f, props) < 0)
		goto fail;

	geom = json_object_get(feature, "geometry");
	if (!json_is_object(geom)) {
		fail(&p, "has no geometry object");
		goto fail;
	}
	type = json_object_get(geom, "type");
	coords = json_object_get(geom, "coordinates");
	gt = json_is_string(type) ? json_string_value(type) : "";
	if (strcmp(gt, "Polygon") == 0 || strcmp(gt, "MultiPolygon") == 0)
		f->kind = FENCE_POLYGON;
	else if (strcmp(gt, "Point") == 0)
		f->kind = FENCE_CIRCLE;
	else if (strcmp(gt, "LineString") == 0)
		f->kind = FENCE_CORRIDOR;
	else {
		fail(&p, "unsupported geometry type '%.32s' (use Polygon, "
		    "MultiPolygon, Point with radius or LineString with width)",
		    *gt ? gt : "(none)");
		goto fail;
	}
	if (coords == NULL) {
		fail(&p, "%s has no coordinates", gt);
		goto fail;
	}
	switch (f->kind) {
	case FENCE_POLYGON:
		rc = area(&p, f, coords, gt[0] == 'M');
		memcpy(f->box, p.box, sizeof f->box);
		break;
	case FENCE_CIRCLE:
		rc = circle(&p, f, coords, props);
		break;
	default:
		rc = corridor(&p, f, coords, props);
		break;
	}
	if (rc < 0)
		goto fail;
	if ((f->json = canonical(feature, f->id, text, len)) == NULL) {
		fail(&p, "cannot serialize the Feature");
		goto fail;
	}
	free(p.xy);
	free(p.ends);
	return f;

fail:
	free(p.xy);
	free(p.ends);
	fence_parse_free(g, f);
	return NULL;
}

void
fence_parse_free(struct fence_geos *g, struct fence *f)
{
	long i;

	if (f == NULL)
		return;
	if (f->prep != NULL)
		GEOSPreparedGeom_destroy_r(g->handle, f->prep);
	if (f->geom != NULL)
		GEOSGeom_destroy_r(g->handle, f->geom);
	raster_free(f->raster);
	for (i = 0; i < f->ndevices; i++)
		free(f->devices[i]);
	free(f->devices);
	free(f->devices_sorted);
	free(f->pts);
	free(f->segbox);
	free(f->json);
	free(f->name);
	free(f->id);
	free(f);
}
