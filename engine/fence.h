/*
 * fence.h: geofences, as loaded from GeoJSON Features (SPEC "Fences"), and
 * the question the engine asks of every fix: which fences cover this point.
 *
 * A fence is a Polygon or MultiPolygon (holes honoured), a circle (Point
 * plus properties.radius in metres) or a corridor (LineString plus
 * properties.width in metres, full width).  Optional properties: name,
 * speed_limit (km/h), devices (list of device ids; absent = every device).
 *
 * Life cycle:
 *
 *     struct fence_geos g;
 *     fence_geos_attach(&g, GEOS_init_r());           // once per process
 *     struct fence_builder *b = fence_builder_new(&g);
 *     fence_builder_add(b, "depot", text, len, err, sizeof err);  // per fence
 *     struct fence_set *set = fence_builder_finish(b, err, sizeof err);
 *     n = fence_set_covers(set, lon, lat, idx, max, err, sizeof err);
 *     fence_set_free(set);
 *
 * Every fence is parsed, validated (GEOSisValidReason_r) and prepared once,
 * while it is added; a refused fence leaves the builder as it was, so a
 * caller may skip it or give up.  A finished set is immutable: queries do
 * not change it.  Fences in a set are numbered 0..count-1 in ascending byte
 * order of their ids, whatever order they were added in.
 *
 * GEOS handles are not thread-safe: a set and its builder are used from the
 * thread that owns the handle.  Errors are -1 (or NULL) plus a one-line
 * reason in the caller's err buffer, naming the fence.  Fences crossing the
 * antimeridian are not supported (their envelope would span the globe).
 *
 * The parser lives in fence_parse.c, the envelope index in rtree.c.
 */
#ifndef GA_ENGINE_FENCE_H
#define GA_ENGINE_FENCE_H

#ifndef GEOS_USE_ONLY_R_API
#define GEOS_USE_ONLY_R_API
#endif
#include <geos_c.h>

#include <stdbool.h>
#include <stddef.h>

#define FENCE_GEOS_MSG_LEN 256

enum fence_kind {
	FENCE_POLYGON,		/* Polygon or MultiPolygon */
	FENCE_CIRCLE,		/* Point + radius */
	FENCE_CORRIDOR,		/* LineString + width */
};

/*
 * The caller's GEOS context and the last messages GEOS sent through it.
 * The caller owns this struct (it must outlive every builder and set that
 * uses it) and the handle (GEOS_finish_r after the last set is freed).
 */
struct fence_geos {
	GEOSContextHandle_t handle;
	char error[FENCE_GEOS_MSG_LEN];		/* last error, "" if none */
	char notice[FENCE_GEOS_MSG_LEN];	/* last notice, "" if none */
};

struct fence;
struct fence_builder;
struct fence_set;

/*
 * Points g at handle and installs GEOS error and notice handlers on it that
 * copy each message into g->error / g->notice (and log it at debug level).
 */
void fence_geos_attach(struct fence_geos *g, GEOSContextHandle_t handle);

/* ---- building a set ---------------------------------------------------- */

/* Starts an empty set (never NULL).  g is borrowed. */
struct fence_builder *fence_builder_new(struct fence_geos *g);

/*
 * Parses one GeoJSON Feature (json[0..len), need not be NUL-terminated),
 * validates and prepares it, and adds it under id.  A NULL id takes the
 * Feature's "id" (string or integer), else properties.id.  Returns 0, or -1
 * with a reason such as "fence 'depot': ring 1 of polygon 1 is not closed"
 * in err; the builder is then unchanged.  A duplicate id is refused here.
 */
int fence_builder_add(struct fence_builder *b, const char *id,
    const char *json, size_t len, char *err, size_t errlen);

/*
 * Adds every fence of a document that is a Feature or a FeatureCollection,
 * each under its own id (as fence_builder_add with id NULL).  All or
 * nothing: returns 0, or -1 with the first fence's reason and the builder
 * unchanged.
 */
int fence_builder_add_document(struct fence_builder *b, const char *json,
    size_t len, char *err, size_t errlen);

/* Number of fences added so far. */
size_t fence_builder_count(const struct fence_builder *b);

/*
 * Sorts the fences by id and indexes their envelopes.  Consumes b (do not
 * use or free it afterwards) and returns the set (never NULL; it may hold
 * no fence).  The caller frees it with fence_set_free.
 */
struct fence_set *fence_builder_finish(struct fence_builder *b);

/* Frees an unfinished builder and its fences; NULL is a no-op. */
void fence_builder_free(struct fence_builder *b);

/*
 * Checks one Feature without keeping it: 0 when fence_builder_add would
 * accept it, else -1 and the reason.  For the CLI's validation.
 */
int fence_validate(struct fence_geos *g, const char *id, const char *json,
    size_t len, char *err, size_t errlen);

/* ---- querying a set ---------------------------------------------------- */

/* Frees the set, its fences and their geometries; NULL is a no-op. */
void fence_set_free(struct fence_set *set);

/* Number of fences in the set. */
size_t fence_set_count(const struct fence_set *set);

/* Fence number i (0 <= i < count), borrowed from the set. */
const struct fence *fence_set_get(const struct fence_set *set, size_t i);

/* Index of the fence with this id, or -1 when there is none. */
long fence_set_find(const struct fence_set *set, const char *id);

/*
 * The fences whose area covers (lon, lat), a point on an edge counting as
 * inside: stores the smallest min(count, max) of their indices into out in
 * ascending order and returns count (which may exceed max: then out holds
 * the first max).  Cost grows with the number of fences near the point, not
 * with the size of the set.  Returns -1 with a reason when the coordinates
 * are not finite or out of range, or GEOS fails.
 */
int fence_set_covers(const struct fence_set *set, double lon, double lat,
    size_t *out, size_t max, char *err, size_t errlen);

/* ---- one fence --------------------------------------------------------- */

/* The fence's id (borrowed, never NULL). */
const char *fence_id(const struct fence *f);

/* properties.name (borrowed), or NULL when the fence has none. */
const char *fence_name(const struct fence *f);

enum fence_kind fence_kind(const struct fence *f);

/* True and *kmh set when the fence has a speed_limit. */
bool fence_speed_limit(const struct fence *f, double *kmh);

/*
 * Number of ids in properties.devices, or -1 when the fence has no devices
 * list (and so applies to every device).
 */
long fence_device_count(const struct fence *f);

/* Device id number i of the list, as written (borrowed). */
const char *fence_device(const struct fence *f, size_t i);

/* True when the fence applies to device_id (no list, or id in the list). */
bool fence_device_allowed(const struct fence *f, const char *device_id);

/*
 * The fence's envelope in degrees (circles and corridors expanded by their
 * radius or half-width, with a margin).
 */
void fence_envelope(const struct fence *f, double *minx, double *miny,
    double *maxx, double *maxy);

/*
 * The fence as one GeoJSON Feature whose "id" is the fence's id: the text
 * it was added from when that already carried this id (fence_builder_add),
 * else the Feature it was read from with "id" set, printed compactly (same
 * member order; numbers with up to 15 significant digits, which loses
 * nothing a GPS gives).  Adding it back gives the same fence.  Borrowed
 * from the set.
 */
const char *fence_json(const struct fence *f);

#endif
