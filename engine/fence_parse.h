/*
 * fence_parse.h: GeoJSON Feature -> struct fence, for fence.c only.
 *
 * struct fence is defined here rather than in fence.c because the parser
 * fills it and fence.c queries it; everyone else sees it opaque through
 * fence.h.  Callers outside engine/fence*.c use fence.h.
 */
#ifndef GA_ENGINE_FENCE_PARSE_H
#define GA_ENGINE_FENCE_PARSE_H

#include <jansson.h>

#include "engine/fence.h"
#include "engine/raster.h"

struct fence {
	char *id;
	char *name;			/* NULL when absent */
	char *json;			/* canonical Feature text (fence_json) */
	enum fence_kind kind;
	bool has_speed_limit;
	double speed_limit;		/* km/h */
	long ndevices;			/* -1: no list, every device */
	char **devices;			/* as written */
	char **devices_sorted;		/* same strings, sorted, for lookups */
	double box[4];			/* minx, miny, maxx, maxy (degrees) */

	/* FENCE_POLYGON: the base geometry, its prepared form, and the grid
	 * that answers for most points without GEOS. */
	GEOSGeometry *geom;
	const GEOSPreparedGeometry *prep;
	struct raster *raster;

	/* FENCE_CIRCLE: centre and radius. */
	double lon, lat, radius;

	/* FENCE_CORRIDOR: npts vertices as lon,lat pairs; per-segment boxes
	 * (4 per segment) already expanded by the half-width. */
	double *pts;
	size_t npts;
	double *segbox;
	double half_width;
};

/*
 * Builds a fence from a parsed Feature.  id (copied) names it; when NULL,
 * the Feature's "id" or properties.id does, and label (such as "feature 3")
 * names it in errors until then.  text[0..len) is the Feature's source
 * text when the caller has it (else NULL): kept as the fence's JSON when it
 * already names the fence's id.  Returns a fence the caller frees with
 * fence_parse_free, or NULL with "fence 'ID': reason" in err.
 */
struct fence *fence_parse(struct fence_geos *g, const char *id,
    const char *label, json_t *feature, const char *text, size_t len,
    char *err, size_t errlen);

/* Room for fence_parse_who's text. */
#define FENCE_PARSE_WHO 80

/*
 * Writes "fence '<id>'" into dst for error messages, the id escaped
 * (lib/escape.h) and cut to 64 bytes.
 */
void fence_parse_who(char *dst, size_t size, const char *id);

/* Frees f and its geometries (prepared first); NULL is a no-op. */
void fence_parse_free(struct fence_geos *g, struct fence *f);

#endif
