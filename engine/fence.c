/*
 * fence.c: fence sets: building one from GeoJSON, indexing the fences'
 * envelopes, and the point query the engine runs on every fix.
 *
 * Parsing and validation of a single Feature are fence_parse.c's, the
 * envelope index is rtree.c's, the metres are geo.c's.  Redis, alerts and
 * per-device state are the engine's business, not this file's.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fence.h"
#include "engine/fence_parse.h"
#include "engine/geo.h"
#include "engine/rtree.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct fence_builder {
	struct fence_geos *g;
	struct fence **fences;
	size_t n, cap;
	const char **ids;	/* open-addressing set of ids, NULL = empty */
	size_t nids;		/* slots, a power of two, at most half full */
};

/* A slot of the set's id index: fences[idx - 1], 0: empty. */
struct set_slot {
	uint32_t idx;
	uint32_t tag;		/* the id hash's high half */
};

struct fence_set {
	struct fence_geos *g;
	struct fence **fences;	/* sorted by id */
	size_t n;
	/* Open addressing over the ids (linear probing, at most half full):
	 * fence_set_find reaches one or two slots instead of a binary
	 * search touching log2(n) fences scattered in memory. */
	struct set_slot *slots;
	size_t mask;
	struct rtree *tree;	/* over fences[i]->box */
	/* fences[i]->raster, or NULL: a query reads this small array and the
	 * raster, and reaches the fence itself only when they cannot answer. */
	const struct raster **rasters;
};

/* ---- GEOS messages ----------------------------------------------------- */

/* Copies a GEOS message into buf as one line. */
static void
keep_message(char *buf, size_t size, const char *msg)
{
	size_t i;

	snprintf(buf, size, "%s", msg ? msg : "");
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	while (i > 0 && buf[i - 1] == ' ')
		buf[--i] = '\0';
}

static void
on_geos_error(const char *msg, void *userdata)
{
	struct fence_geos *g = userdata;

	keep_message(g->error, sizeof g->error, msg);
	log_debug("GEOS error: %s", g->error);
}

static void
on_geos_notice(const char *msg, void *userdata)
{
	struct fence_geos *g = userdata;

	keep_message(g->notice, sizeof g->notice, msg);
	log_debug("GEOS notice: %s", g->notice);
}

void
fence_geos_attach(struct fence_geos *g, GEOSContextHandle_t handle)
{
	g->handle = handle;
	g->error[0] = '\0';
	g->notice[0] = '\0';
	GEOSContext_setErrorMessageHandler_r(handle, on_geos_error, g);
	GEOSContext_setNoticeMessageHandler_r(handle, on_geos_notice, g);
}

/* ---- the builder ------------------------------------------------------- */

/* The slot holding id, or the empty slot where it would go. */
static size_t
id_slot(const struct fence_builder *b, const char *id)
{
	size_t mask = b->nids - 1, i = hash_str(id) & mask;

	while (b->ids[i] != NULL && strcmp(b->ids[i], id) != 0)
		i = (i + 1) & mask;
	return i;
}

static void
ids_rebuild(struct fence_builder *b, size_t slots)
{
	size_t i;

	free(b->ids);
	b->nids = slots;
	b->ids = xcalloc(slots, sizeof *b->ids);
	for (i = 0; i < b->n; i++)
		b->ids[id_slot(b, b->fences[i]->id)] = b->fences[i]->id;
}

static bool
has_id(const struct fence_builder *b, const char *id)
{
	return b->ids[id_slot(b, id)] != NULL;
}

/* Appends f (the builder owns it from now on); its id must be new. */
static void
append(struct fence_builder *b, struct fence *f)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->fences = xreallocarray(b->fences, b->cap, sizeof *b->fences);
	}
	b->fences[b->n++] = f;
	if (2 * b->n > b->nids)
		ids_rebuild(b, 2 * b->nids);
	else
		b->ids[id_slot(b, f->id)] = f->id;
}

/* Drops the fences added after the first `keep` (a refused document). */
static void
truncate_to(struct fence_builder *b, size_t keep)
{
	if (b->n == keep)
		return;
	while (b->n > keep)
		fence_parse_free(b->g, b->fences[--b->n]);
	ids_rebuild(b, b->nids);
}

struct fence_builder *
fence_builder_new(struct fence_geos *g)
{
	struct fence_builder *b = xcalloc(1, sizeof *b);

	b->g = g;
	ids_rebuild(b, 64);
	return b;
}

size_t
fence_builder_count(const struct fence_builder *b)
{
	return b->n;
}

void
fence_builder_free(struct fence_builder *b)
{
	if (b == NULL)
		return;
	truncate_to(b, 0);
	free(b->fences);
	free(b->ids);
	free(b);
}

/* Parses JSON text; on failure names who and where it broke. */
static json_t *
load(const char *who, const char *json, size_t len, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);

	if (root == NULL)
		snprintf(err, errlen, "%s: bad JSON at line %d column %d: %s",
		    who, je.line, je.column, je.text);
	return root;
}

/* Parses one Feature and adds it; label names it until its id is known. */
static int
add_feature(struct fence_builder *b, const char *id, const char *label,
    json_t *feature, const char *text, size_t len, char *err, size_t errlen)
{
	struct fence *f = fence_parse(b->g, id, label, feature, text, len,
	    err, errlen);
	char who[FENCE_PARSE_WHO];

	if (f == NULL)
		return -1;
	if (has_id(b, f->id)) {
		fence_parse_who(who, sizeof who, f->id);
		snprintf(err, errlen, "%s: duplicate id", who);
		fence_parse_free(b->g, f);
		return -1;
	}
	append(b, f);
	return 0;
}

int
fence_builder_add(struct fence_builder *b, const char *id, const char *json,
    size_t len, char *err, size_t errlen)
{
	char who[FENCE_PARSE_WHO];
	json_t *root;
	int rc;

	if (id != NULL)
		fence_parse_who(who, sizeof who, id);
	else
		snprintf(who, sizeof who, "feature");
	if ((root = load(who, json, len, err, errlen)) == NULL)
		return -1;
	rc = add_feature(b, id, "feature", root, json, len, err, errlen);
	json_decref(root);
	return rc;
}

int
fence_builder_add_document(struct fence_builder *b, const char *json,
    size_t len, char *err, size_t errlen)
{
	size_t keep = b->n, i;
	json_t *root, *type, *features;
	char label[32];
	int rc = 0;

	if ((root = load("document", json, len, err, errlen)) == NULL)
		return -1;
	type = json_object_get(root, "type");
	if (json_is_string(type) &&
	    strcmp(json_string_value(type), "FeatureCollection") == 0) {
		features = json_object_get(root, "features");
		if (!json_is_array(features)) {
			snprintf(err, errlen, "document: FeatureCollection "
			    "has no \"features\" array");
			rc = -1;
		}
		for (i = 0; rc == 0 && i < json_array_size(features); i++) {
			snprintf(label, sizeof label, "feature %zu", i + 1);
			rc = add_feature(b, NULL, label,
			    json_array_get(features, i), NULL, 0, err, errlen);
		}
	} else
		rc = add_feature(b, NULL, "feature", root, json, len, err,
		    errlen);
	json_decref(root);
	if (rc < 0)
		truncate_to(b, keep);
	return rc;
}

int
fence_validate(struct fence_geos *g, const char *id, const char *json,
    size_t len, char *err, size_t errlen)
{
	struct fence_builder *b = fence_builder_new(g);
	int rc = fence_builder_add(b, id, json, len, err, errlen);

	fence_builder_free(b);
	return rc;
}

static int
cmp_fence(const void *a, const void *b)
{
	return strcmp((*(struct fence *const *)a)->id,
	    (*(struct fence *const *)b)->id);
}

static void
index_ids(struct fence_set *set)
{
	size_t slots = 16, i, j;

	while (slots < 2 * set->n)
		slots *= 2;
	set->slots = xcalloc(slots, sizeof *set->slots);
	set->mask = slots - 1;
	for (i = 0; i < set->n; i++) {
		uint64_t h = hash_str(set->fences[i]->id);

		for (j = h & set->mask; set->slots[j].idx != 0;
		    j = (j + 1) & set->mask)
			;
		set->slots[j].idx = (uint32_t)(i + 1);
		set->slots[j].tag = (uint32_t)(h >> 32);
	}
}

struct fence_set *
fence_builder_finish(struct fence_builder *b)
{
	struct fence_set *set = xcalloc(1, sizeof *set);
	double *boxes;
	size_t i;

	set->g = b->g;
	set->fences = b->fences;
	set->n = b->n;
	free(b->ids);
	free(b);

	if (set->n > 0)
		qsort(set->fences, set->n, sizeof *set->fences, cmp_fence);
	boxes = xreallocarray(NULL, set->n + 1, 4 * sizeof *boxes);
	for (i = 0; i < set->n; i++)
		memcpy(boxes + 4 * i, set->fences[i]->box, 4 * sizeof *boxes);
	set->tree = rtree_new(boxes, set->n);
	free(boxes);
	set->rasters = xcalloc(set->n + 1, sizeof *set->rasters);
	for (i = 0; i < set->n; i++)
		set->rasters[i] = set->fences[i]->raster;
	index_ids(set);
	return set;
}

/* ---- the set ----------------------------------------------------------- */

void
fence_set_free(struct fence_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		fence_parse_free(set->g, set->fences[i]);
	free(set->fences);
	free(set->rasters);
	free(set->slots);
	rtree_free(set->tree);
	free(set);
}

size_t
fence_set_count(const struct fence_set *set)
{
	return set->n;
}

const struct fence *
fence_set_get(const struct fence_set *set, size_t i)
{
	return i < set->n ? set->fences[i] : NULL;
}

long
fence_set_find(const struct fence_set *set, const char *id)
{
	uint64_t h = hash_str(id);
	uint32_t tag = (uint32_t)(h >> 32);
	size_t j;

	for (j = h & set->mask; set->slots[j].idx != 0;
	    j = (j + 1) & set->mask) {
		const struct set_slot *sl = &set->slots[j];

		if (sl->tag == tag &&
		    strcmp(set->fences[sl->idx - 1]->id, id) == 0)
			return (long)sl->idx - 1;
	}
	return -1;
}

/* ---- the query --------------------------------------------------------- */

/*
 * A query narrows down in three steps, each cheaper than the next: the
 * R-tree yields the fences whose envelope holds the point (the bounding-box
 * pre-filter), a polygon's raster answers for points away from its rings,
 * and only near a ring does GEOSPreparedCovers_r run.  Its point is made on
 * first need and shared by every fence the query tests: GEOS 3.11 has no
 * predicate on bare coordinates, and a point cannot be moved once made (it
 * caches its envelope), so one per query is the least there can be without
 * mutating the set.
 *
 * Measured with shared/bench/gen_fences.py (50-vertex stars, 200,000
 * points, one core of a shared machine, -O2, best of 5): 6.8 to 9 million
 * points/s with 100 fences, 1.8 to 3.2 million with 1,000 and 310,000 to
 * 460,000 with 10,000.  Without the rasters, 10,000 fences gave 130,000.
 */

struct query {
	const struct fence_set *set;
	double lon, lat;
	GEOSGeometry *pt;	/* the query point, made for the first polygon */
	size_t *out, max;
	int count;
	char *err;
	size_t errlen;
};

/* 1 when f covers the query point, 0 when not, -1 on a GEOS error. */
static int
covers_one(struct query *q, const struct fence *f)
{
	GEOSContextHandle_t h = q->set->g->handle;
	char r, who[FENCE_PARSE_WHO];
	size_t i;

	switch (f->kind) {
	case FENCE_POLYGON:
		if (q->pt == NULL &&
		    (q->pt = GEOSGeom_createPointFromXY_r(h, q->lon,
		    q->lat)) == NULL)
			r = 2;
		else
			r = GEOSPreparedCovers_r(h, f->prep, q->pt);
		if (r == 2) {
			fence_parse_who(who, sizeof who, f->id);
			snprintf(q->err, q->errlen, "%s: GEOS covers test "
			    "failed: %s", who, q->set->g->error[0] ?
			    q->set->g->error : "unknown error");
			return -1;
		}
		return r;
	case FENCE_CIRCLE:
		return geo_in_circle(q->lon, q->lat, f->lon, f->lat,
		    f->radius);
	case FENCE_CORRIDOR:
		for (i = 0; i + 1 < f->npts; i++) {
			const double *sb = f->segbox + 4 * i;
			const double *a = f->pts + 2 * i;
			if (q->lon < sb[0] || q->lon > sb[2] ||
			    q->lat < sb[1] || q->lat > sb[3])
				continue;
			if (geo_segment_distance(q->lon, q->lat, a[0], a[1],
			    a[2], a[3]) <= f->half_width)
				return 1;
		}
		return 0;
	}
	return 0;
}

/* rtree visitor: tests fence i and keeps it in out, in ascending order. */
static int
visit(void *arg, size_t i)
{
	struct query *q = arg;
	const struct raster *r = q->set->rasters[i];
	size_t n, j;
	int in;

	switch (r != NULL ? raster_lookup(r, q->lon, q->lat) : RASTER_EDGE) {
	case RASTER_IN:
		in = 1;
		break;
	case RASTER_OUT:
		in = 0;
		break;
	default:	/* near a polygon's edge, or a circle or corridor */
		in = covers_one(q, q->set->fences[i]);
		break;
	}

	if (in <= 0)
		return in;
	n = (size_t)q->count < q->max ? (size_t)q->count : q->max;
	q->count++;
	if (n == q->max) {
		if (n == 0 || i > q->out[n - 1])
			return 0;
		n--;	/* i displaces the largest kept index */
	}
	for (j = n; j > 0 && q->out[j - 1] > i; j--)
		q->out[j] = q->out[j - 1];
	q->out[j] = i;
	return 0;
}

int
fence_set_covers(const struct fence_set *set, double lon, double lat,
    size_t *out, size_t max, char *err, size_t errlen)
{
	struct query q = { .set = set, .lon = lon, .lat = lat, .out = out,
	    .max = max, .err = err, .errlen = errlen };
	int rc;

	if (!(lon >= -180.0 && lon <= 180.0 && lat >= -90.0 && lat <= 90.0)) {
		snprintf(err, errlen, "point (%g, %g) is not a valid "
		    "longitude, latitude", lon, lat);
		return -1;
	}
	rc = rtree_search(set->tree, lon, lat, visit, &q);
	if (q.pt != NULL)
		GEOSGeom_destroy_r(set->g->handle, q.pt);
	return rc < 0 ? -1 : q.count;
}

/* ---- one fence --------------------------------------------------------- */

const char *
fence_id(const struct fence *f)
{
	return f->id;
}

const char *
fence_name(const struct fence *f)
{
	return f->name;
}

enum fence_kind
fence_kind(const struct fence *f)
{
	return f->kind;
}

bool
fence_speed_limit(const struct fence *f, double *kmh)
{
	if (f->has_speed_limit)
		*kmh = f->speed_limit;
	return f->has_speed_limit;
}

long
fence_device_count(const struct fence *f)
{
	return f->ndevices;
}

const char *
fence_device(const struct fence *f, size_t i)
{
	return (long)i < f->ndevices ? f->devices[i] : NULL;
}

static int
cmp_key(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

bool
fence_device_allowed(const struct fence *f, const char *device_id)
{
	if (f->ndevices < 0)
		return true;
	return bsearch(device_id, f->devices_sorted, (size_t)f->ndevices,
	    sizeof *f->devices_sorted, cmp_key) != NULL;
}

void
fence_envelope(const struct fence *f, double *minx, double *miny,
    double *maxx, double *maxy)
{
	*minx = f->box[0];
	*miny = f->box[1];
	*maxx = f->box[2];
	*maxy = f->box[3];
}

const char *
fence_json(const struct fence *f)
{
	return f->json;
}
