/*
 * fencedoc.c: fence documents made and checked by the CLI: WKT read by
 * GEOS and written out as GeoJSON coordinates, the Feature of `fence set`,
 * and the all-or-nothing check of `fence import`.  Parsing and validating
 * a Feature is engine/fence.c's; storing is engine/fencestore.c's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/fencedoc.h"
#include "engine/fence_parse.h"
#include "lib/xmalloc.h"

/* The same printing fence.c uses for the Features it keeps: 15 digits
 * give back every decimal of up to 15 digits unchanged. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* ---- WKT ---------------------------------------------------------------- */

/* A number as JSON: an integer when it is one, so 80 stays "80". */
static json_t *
number(double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* Appends [x, y] of every point of seq to arr; -1 on a bad coordinate. */
static int
add_coords(struct fence_geos *g, const GEOSCoordSequence *seq, json_t *arr,
    char *err, size_t errlen)
{
	unsigned int n, i;
	double x, y;

	if (seq == NULL || GEOSCoordSeq_getSize_r(g->handle, seq, &n) == 0)
		goto geos;
	for (i = 0; i < n; i++) {
		if (GEOSCoordSeq_getXY_r(g->handle, seq, i, &x, &y) == 0)
			goto geos;
		if (!isfinite(x) || !isfinite(y)) {
			snprintf(err, errlen, "WKT: coordinate %u is not a "
			    "finite number", i + 1);
			return -1;
		}
		json_array_append_new(arr, json_pack("[oo]", number(x),
		    number(y)));
	}
	return 0;
geos:
	snprintf(err, errlen, "WKT: GEOS cannot read the coordinates: %s",
	    g->error[0] ? g->error : "unknown error");
	return -1;
}

/* A line or ring's positions as a new array, or NULL. */
static json_t *
line_coords(struct fence_geos *g, const GEOSGeometry *line, char *err,
    size_t errlen)
{
	json_t *arr = json_array();

	if (line == NULL || add_coords(g, GEOSGeom_getCoordSeq_r(g->handle,
	    line), arr, err, errlen) == -1) {
		if (line == NULL)
			snprintf(err, errlen, "WKT: GEOS lost a ring: %s",
			    g->error[0] ? g->error : "unknown error");
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* A polygon's rings (exterior first) as a new array, or NULL. */
static json_t *
polygon_coords(struct fence_geos *g, const GEOSGeometry *poly, char *err,
    size_t errlen)
{
	json_t *rings = json_array(), *ring;
	int n = 0, i;

	if ((ring = line_coords(g, GEOSGetExteriorRing_r(g->handle, poly),
	    err, errlen)) == NULL)
		goto fail;
	json_array_append_new(rings, ring);
	if ((n = GEOSGetNumInteriorRings_r(g->handle, poly)) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((ring = line_coords(g, GEOSGetInteriorRingN_r(g->handle,
		    poly, i), err, errlen)) == NULL)
			goto fail;
		json_array_append_new(rings, ring);
	}
	return rings;
fail:
	if (n < 0)
		snprintf(err, errlen, "WKT: GEOS cannot count the holes: %s",
		    g->error[0] ? g->error : "unknown error");
	json_decref(rings);
	return NULL;
}

/* geom as a GeoJSON geometry object, or NULL with a reason. */
static json_t *
geometry_json(struct fence_geos *g, const GEOSGeometry *geom, char *err,
    size_t errlen)
{
	GEOSContextHandle_t h = g->handle;
	const char *type;
	json_t *coords = NULL, *poly;
	int n, i;

	if (GEOSisEmpty_r(h, geom) == 1) {
		snprintf(err, errlen, "WKT: the geometry is empty");
		return NULL;
	}
	switch (GEOSGeomTypeId_r(h, geom)) {
	case GEOS_POINT:
		type = "Point";
		coords = json_array();
		if (add_coords(g, GEOSGeom_getCoordSeq_r(h, geom), coords,
		    err, errlen) == -1)
			goto fail;
		/* A Point's coordinates are one position, not a list. */
		poly = json_incref(json_array_get(coords, 0));
		json_decref(coords);
		coords = poly;
		break;
	case GEOS_LINESTRING:
		type = "LineString";
		if ((coords = line_coords(g, geom, err, errlen)) == NULL)
			goto fail;
		break;
	case GEOS_POLYGON:
		type = "Polygon";
		if ((coords = polygon_coords(g, geom, err, errlen)) == NULL)
			goto fail;
		break;
	case GEOS_MULTIPOLYGON:
		type = "MultiPolygon";
		coords = json_array();
		n = GEOSGetNumGeometries_r(h, geom);
		for (i = 0; i < n; i++) {
			if ((poly = polygon_coords(g, GEOSGetGeometryN_r(h,
			    geom, i), err, errlen)) == NULL)
				goto fail;
			json_array_append_new(coords, poly);
		}
		break;
	default: {
		/* GEOSGeomType_r's string is ours to free. */
		char *name = GEOSGeomType_r(h, geom);

		snprintf(err, errlen, "WKT: a %s is not a fence (Polygon, "
		    "MultiPolygon, Point with a radius or LineString with a "
		    "width)", name != NULL ? name : "geometry");
		GEOSFree_r(h, name);
		return NULL;
	}
	}
	return json_pack("{ssso}", "type", type, "coordinates", coords);
fail:
	json_decref(coords);
	return NULL;
}

/* Reads WKT into a new GeoJSON geometry object, or NULL. */
static json_t *
wkt_json(struct fence_geos *g, const char *wkt, char *err, size_t errlen)
{
	GEOSWKTReader *rd = GEOSWKTReader_create_r(g->handle);
	GEOSGeometry *geom;
	json_t *out;

	if (rd == NULL) {
		snprintf(err, errlen, "WKT: GEOS cannot make a reader: %s",
		    g->error[0] ? g->error : "unknown error");
		return NULL;
	}
	g->error[0] = '\0';
	geom = GEOSWKTReader_read_r(g->handle, rd, wkt);
	GEOSWKTReader_destroy_r(g->handle, rd);
	if (geom == NULL) {
		snprintf(err, errlen, "WKT: %s", g->error[0] ? g->error :
		    "GEOS cannot read it");
		return NULL;
	}
	out = geometry_json(g, geom, err, errlen);
	GEOSGeom_destroy_r(g->handle, geom);
	return out;
}

char *
fencedoc_wkt_geometry(struct fence_geos *g, const char *wkt, char *err,
    size_t errlen)
{
	json_t *j = wkt_json(g, wkt, err, errlen);
	char *s, *out;

	if (j == NULL)
		return NULL;
	s = json_dumps(j, DUMP_FLAGS);
	json_decref(j);
	if (s == NULL) {
		snprintf(err, errlen, "WKT: cannot print the geometry");
		return NULL;
	}
	out = xstrdup(s);
	free(s);
	return out;
}

/* ---- the Feature of `fence set` ------------------------------------------ */

static bool
is_geometry_type(const char *t)
{
	return strcmp(t, "Polygon") == 0 || strcmp(t, "MultiPolygon") == 0 ||
	    strcmp(t, "Point") == 0 || strcmp(t, "LineString") == 0 ||
	    strcmp(t, "MultiPoint") == 0 ||
	    strcmp(t, "MultiLineString") == 0 ||
	    strcmp(t, "GeometryCollection") == 0;
}

/* Reads the --geojson text into a new Feature, or NULL. */
static json_t *
geojson_feature(const char *who, const char *text, size_t len, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	json_t *type, *f;

	if (root == NULL) {
		snprintf(err, errlen, "%s: bad JSON at line %d column %d: %s",
		    who, je.line, je.column, je.text);
		return NULL;
	}
	type = json_object_get(root, "type");
	if (!json_is_string(type)) {
		snprintf(err, errlen, "%s: the GeoJSON has no \"type\"", who);
		json_decref(root);
		return NULL;
	}
	if (strcmp(json_string_value(type), "Feature") == 0)
		return root;
	if (is_geometry_type(json_string_value(type))) {
		f = json_pack("{ss}", "type", "Feature");
		json_object_set_new(f, "properties", json_object());
		json_object_set_new(f, "geometry", root);
		return f;
	}
	snprintf(err, errlen, "%s: a GeoJSON %s is not a Feature or a "
	    "geometry (import a FeatureCollection with `fence import`)", who,
	    json_string_value(type));
	json_decref(root);
	return NULL;
}

char *
fencedoc_feature(struct fence_geos *g, const char *id, const char *wkt,
    const char *geojson, size_t len, const struct fencedoc_props *props,
    char *err, size_t errlen)
{
	char who[FENCE_PARSE_WHO], *s, *out = NULL;
	json_t *f, *geom, *p, *ordered, *v;
	const char *key;

	fence_parse_who(who, sizeof who, id);
	if (wkt != NULL) {
		char why[512];

		if ((geom = wkt_json(g, wkt, why, sizeof why)) == NULL) {
			snprintf(err, errlen, "%s: %s", who, why);
			return NULL;
		}
		f = json_pack("{ss}", "type", "Feature");
		json_object_set_new(f, "properties", json_object());
		json_object_set_new(f, "geometry", geom);
	} else if ((f = geojson_feature(who, geojson, len, err, errlen)) ==
	    NULL)
		return NULL;

	p = json_object_get(f, "properties");
	if (!json_is_object(p)) {
		p = json_object();
		json_object_set_new(f, "properties", p);
	}
	if (props->name != NULL) {
		if ((v = json_string(props->name)) == NULL) {
			snprintf(err, errlen, "%s: --name must be UTF-8 text",
			    who);
			json_decref(f);
			return NULL;
		}
		json_object_set_new(p, "name", v);
	}
	if (props->has_speed_limit)
		json_object_set_new(p, "speed_limit",
		    number(props->speed_limit));
	if (props->has_radius)
		json_object_set_new(p, "radius", number(props->radius));
	if (props->has_width)
		json_object_set_new(p, "width", number(props->width));
	json_object_del(p, "id");	/* the fence's id is the Feature's */

	/* "type" and "id" first, where readers look for them. */
	if ((ordered = json_pack("{ssss}", "type", "Feature", "id", id)) ==
	    NULL) {
		/* jansson refuses a string that is not UTF-8 */
		snprintf(err, errlen, "%s: a fence id must be UTF-8 text", who);
		json_decref(f);
		return NULL;
	}
	json_object_foreach(f, key, v)
		if (strcmp(key, "type") != 0 && strcmp(key, "id") != 0)
			json_object_set(ordered, key, v);
	json_decref(f);
	s = json_dumps(ordered, DUMP_FLAGS);
	json_decref(ordered);
	if (s == NULL) {
		snprintf(err, errlen, "%s: cannot print the Feature", who);
		return NULL;
	}
	if (fence_validate(g, id, s, strlen(s), err, errlen) == 0)
		out = xstrdup(s);
	free(s);
	return out;
}

/* ---- import -------------------------------------------------------------- */

struct fence_set *
fencedoc_import(struct fence_geos *g, const char *json, size_t len,
    char *err, size_t errlen)
{
	struct fence_builder *b = fence_builder_new(g);

	if (fence_builder_add_document(b, json, len, err, errlen) == -1) {
		fence_builder_free(b);
		return NULL;
	}
	return fence_builder_finish(b);
}
