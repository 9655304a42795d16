/*
 * fencedoc.h: fence documents as the CLI makes and checks them before
 * anything reaches Redis: WKT to GeoJSON, the Feature `fence set` stores,
 * and the all-or-nothing check behind `fence import`.  No I/O.
 *
 * Validation is engine/fence.c's (the same code the engine loads fences
 * with), so whatever passes here loads there.
 */
#ifndef GA_CLI_FENCEDOC_H
#define GA_CLI_FENCEDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/fence.h"

/*
 * Converts WKT (a Polygon, MultiPolygon, Point or LineString, as GEOS's
 * WKT reader reads it) into a GeoJSON geometry object, printed compactly
 * with up to 15 significant digits per coordinate (x = longitude first).
 * Z and M values are dropped.  Returns text the caller frees with free(),
 * or NULL with a reason (GEOS's parse error, another geometry type, an
 * empty geometry, a coordinate that is not finite).
 */
char *fencedoc_wkt_geometry(struct fence_geos *g, const char *wkt,
    char *err, size_t errlen);

/* What `fence set` puts in the Feature's properties (NULL/false: keep). */
struct fencedoc_props {
	const char *name;
	bool has_speed_limit;
	double speed_limit;	/* km/h */
	bool has_radius;
	double radius;		/* m, for a Point */
	bool has_width;
	double width;		/* m, full width, for a LineString */
};

/*
 * Builds the Feature stored for fence id: its geometry from WKT (wkt not
 * NULL) or from a GeoJSON text (a Feature, whose other properties are
 * kept, or a bare geometry object), the properties in props set over
 * it, and "id" set to id.  The result is validated as the engine would
 * load it.  Returns compact JSON text (free()), or NULL with a reason
 * naming the fence.
 */
char *fencedoc_feature(struct fence_geos *g, const char *id, const char *wkt,
    const char *geojson, size_t len, const struct fencedoc_props *props,
    char *err, size_t errlen);

/*
 * Parses and validates every fence of a Feature or FeatureCollection
 * (json[0..len)).  All or nothing: returns the set of all of them (sorted
 * by id; caller frees with fence_set_free; fence_json gives each Feature
 * to store), or NULL with the first bad fence's id and reason in err.
 */
struct fence_set *fencedoc_import(struct fence_geos *g, const char *json,
    size_t len, char *err, size_t errlen);

#endif
