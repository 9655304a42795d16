/*
 * simgeo.h: the fleet simulator's own geometry: fences as it reads them
 * from GeoJSON, what covers a point, and the tracks its devices drive.
 *
 * Header-only (static functions, the way hiredis ships its adapters)
 * because the Makefile builds each tool from a single .c file, and
 * only fleetsim.c includes this.  It is deliberately independent of the
 * engine's fence code: the simulator predicts what the engine should say,
 * so it must not share the engine's geometry.
 *
 * Circles use a local projection with the WGS84 radii of curvature at the
 * mid latitude (within 1 cm of the geodesic up to 10 km, also at 70
 * degrees); polygons are tested by crossing number on lon/lat, as GEOS
 * does; corridors by distance to their segments.
 */
#ifndef GA_TOOLS_SIMGEO_H
#define GA_TOOLS_SIMGEO_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/xmalloc.h"

#define DEG (M_PI / 180.0)
#define WGS_A 6378137.0
#define WGS_E2 6.69437999014e-3
/* The engine's circles are right to 1 m and coordinates travel with 6
 * decimals (0.1 m): a fix this close to an edge could go either way. */
#define SIMGEO_EDGE_MARGIN_M 2.5

/* splitmix64: a small, seedable, well-mixed generator. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
urand(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * (double)(rnd(s) >> 11) / 9007199254740992.0;
}

/* Metres per degree of longitude and latitude at lat (WGS84 radii). */
static void
scale_at(double lat, double *kx, double *ky)
{
	double s = sin(lat * DEG), w = 1.0 - WGS_E2 * s * s;

	*kx = WGS_A / sqrt(w) * cos(lat * DEG) * DEG;
	*ky = WGS_A * (1.0 - WGS_E2) / (w * sqrt(w)) * DEG;
}

/* Distance in metres from p to the segment a-b, all in a local plane. */
static double
seg_dist(double px, double py, double ax, double ay, double bx, double by)
{
	double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy, t = 0;

	if (l2 > 0) {
		t = ((px - ax) * dx + (py - ay) * dy) / l2;
		t = t < 0 ? 0 : t > 1 ? 1 : t;
	}
	return hypot(px - ax - t * dx, py - ay - t * dy);
}

enum fence_kind { FK_CIRCLE, FK_POLY, FK_CORRIDOR };

struct sim_fence {
	char *id;
	enum fence_kind kind;
	double clon, clat;	/* what tracks aim at */
	double kx, ky;		/* metres per degree at the centre */
	double radius;		/* circle radius or corridor half width, m */
	double x0, y0, x1, y1;	/* bbox in degrees, widened by the margin */
	int nrings;
	int *ring_off;		/* nrings + 1 offsets into xy (points) */
	double *xy;		/* lon, lat pairs; corridor: one line */
	double speed_limit;	/* 0: none */
	char **devices;		/* NULL: every device */
	int ndevices;
};

struct grid {
	double x0, y0, cell;
	int nx, ny;
	int *start;		/* nx * ny + 1 */
	int *items;
};
struct simgeo {
	struct sim_fence *fences;
	int nfences;
	struct grid grid;
};


static int
load_ring(struct sim_fence *f, json_t *ring, int *cap, int *npts)
{
	size_t i;
	json_t *pt;

	if (!json_is_array(ring) || json_array_size(ring) < 2)
		return -1;
	json_array_foreach(ring, i, pt) {
		if (!json_is_array(pt) || json_array_size(pt) < 2)
			return -1;
		if (*npts == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			f->xy = xreallocarray(f->xy, (size_t)*cap, 2 * sizeof(double));
		}
		f->xy[2 * *npts] = json_number_value(json_array_get(pt, 0));
		f->xy[2 * *npts + 1] = json_number_value(json_array_get(pt, 1));
		(*npts)++;
	}
	f->ring_off = xreallocarray(f->ring_off, (size_t)f->nrings + 2, sizeof(int));
	f->ring_off[++f->nrings] = *npts;
	return 0;
}

static int
load_fence(struct sim_fence *f, json_t *feat, char *err, size_t errlen)
{
	json_t *geom = json_object_get(feat, "geometry");
	json_t *props = json_object_get(feat, "properties");
	json_t *id = json_object_get(feat, "id"), *coords, *poly, *ring, *v;
	const char *type = json_string_value(json_object_get(geom, "type"));
	int cap = 0, npts = 0, first_end, k;
	size_t i, j;
	char buf[32];

	if (id == NULL && props != NULL)
		id = json_object_get(props, "id");
	if (json_is_string(id))
		f->id = xstrdup(json_string_value(id));
	else if (json_is_integer(id)) {
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(id));
		f->id = xstrdup(buf);
	} else {
		snprintf(err, errlen, "a feature has no id");
		return -1;
	}
	coords = json_object_get(geom, "coordinates");
	f->ring_off = xcalloc(1, sizeof(int));
	if (type == NULL)
		goto bad;
	if (strcmp(type, "Point") == 0) {
		f->kind = FK_CIRCLE;
		f->radius = json_number_value(json_object_get(props, "radius"));
		if (json_array_size(coords) < 2 || !(f->radius > 0))
			goto bad;
		f->clon = json_number_value(json_array_get(coords, 0));
		f->clat = json_number_value(json_array_get(coords, 1));
	} else if (strcmp(type, "LineString") == 0) {
		f->kind = FK_CORRIDOR;
		f->radius = json_number_value(json_object_get(props, "width")) / 2;
		if (!(f->radius > 0) || load_ring(f, coords, &cap, &npts) < 0)
			goto bad;
	} else if (strcmp(type, "Polygon") == 0 || strcmp(type, "MultiPolygon") == 0) {
		f->kind = FK_POLY;
		if (type[0] == 'P') {
			json_array_foreach(coords, j, ring)
				if (load_ring(f, ring, &cap, &npts) < 0)
					goto bad;
		} else {
			json_array_foreach(coords, i, poly)
				json_array_foreach(poly, j, ring)
					if (load_ring(f, ring, &cap, &npts) < 0)
						goto bad;
		}
		if (f->nrings == 0 || f->ring_off[1] < 4)
			goto bad;
	} else
		goto bad;
	if (f->kind != FK_CIRCLE) {
		/* Aim at the mean of the outer ring's vertices (a star's centre),
		 * or at a corridor's middle vertex. */
		first_end = f->ring_off[1];
		if (f->kind == FK_CORRIDOR) {
			f->clon = f->xy[2 * (first_end / 2)];
			f->clat = f->xy[2 * (first_end / 2) + 1];
		} else {
			for (k = 0; k < first_end - 1; k++) {
				f->clon += f->xy[2 * k] / (first_end - 1);
				f->clat += f->xy[2 * k + 1] / (first_end - 1);
			}
		}
	}
	scale_at(f->clat, &f->kx, &f->ky);
	if (f->kind == FK_CIRCLE) {
		f->x0 = f->clon - (f->radius + 10) / f->kx;
		f->x1 = f->clon + (f->radius + 10) / f->kx;
		f->y0 = f->clat - (f->radius + 10) / f->ky;
		f->y1 = f->clat + (f->radius + 10) / f->ky;
	} else {
		double w = f->kind == FK_CORRIDOR ? f->radius + 10 : 10;
		f->x0 = f->x1 = f->xy[0];
		f->y0 = f->y1 = f->xy[1];
		for (k = 1; k < npts; k++) {
			f->x0 = fmin(f->x0, f->xy[2 * k]);
			f->x1 = fmax(f->x1, f->xy[2 * k]);
			f->y0 = fmin(f->y0, f->xy[2 * k + 1]);
			f->y1 = fmax(f->y1, f->xy[2 * k + 1]);
		}
		f->x0 -= w / f->kx;
		f->x1 += w / f->kx;
		f->y0 -= w / f->ky;
		f->y1 += w / f->ky;
	}
	f->speed_limit = json_number_value(json_object_get(props, "speed_limit"));
	v = json_object_get(props, "devices");
	if (json_is_array(v)) {
		f->devices = xcalloc(json_array_size(v) + 1, sizeof(char *));
		json_array_foreach(v, i, id)
			if (json_is_string(id))
				f->devices[f->ndevices++] = xstrdup(json_string_value(id));
	}
	return 0;
bad:
	snprintf(err, errlen, "fence %s: unsupported or malformed geometry", f->id);
	return -1;
}

static void
grid_build(struct simgeo *fl)
{
	struct grid *g = &fl->grid;
	double x1, y1;
	int i, cx, cy, pass, *fill;

	g->x0 = fl->fences[0].x0;
	g->y0 = fl->fences[0].y0;
	x1 = fl->fences[0].x1;
	y1 = fl->fences[0].y1;
	for (i = 1; i < fl->nfences; i++) {
		g->x0 = fmin(g->x0, fl->fences[i].x0);
		g->y0 = fmin(g->y0, fl->fences[i].y0);
		x1 = fmax(x1, fl->fences[i].x1);
		y1 = fmax(y1, fl->fences[i].y1);
	}
	g->cell = fmax(0.005, fmax(x1 - g->x0, y1 - g->y0) / 512);
	g->nx = (int)((x1 - g->x0) / g->cell) + 1;
	g->ny = (int)((y1 - g->y0) / g->cell) + 1;
	g->start = xcalloc((size_t)g->nx * g->ny + 1, sizeof(int));
	fill = xcalloc((size_t)g->nx * g->ny, sizeof(int));
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < fl->nfences; i++) {
			struct sim_fence *f = &fl->fences[i];
			int cx0 = (int)((f->x0 - g->x0) / g->cell);
			int cx1 = (int)((f->x1 - g->x0) / g->cell);
			int cy0 = (int)((f->y0 - g->y0) / g->cell);
			int cy1 = (int)((f->y1 - g->y0) / g->cell);
			for (cy = cy0; cy <= cy1; cy++)
				for (cx = cx0; cx <= cx1; cx++) {
					int c = cy * g->nx + cx;
					if (pass == 0)
						g->start[c + 1]++;
					else
						g->items[g->start[c] + fill[c]++] = i;
				}
		}
		if (pass == 0) {
			for (i = 0; i < g->nx * g->ny; i++)
				g->start[i + 1] += g->start[i];
			g->items = xcalloc((size_t)g->start[g->nx * g->ny] + 1, sizeof(int));
		}
	}
	free(fill);
}

/*
 * Loads a GeoJSON FeatureCollection into g: Polygon and MultiPolygon (holes
 * honoured), Point with properties.radius, LineString with
 * properties.width; speed_limit and devices properties.  Returns 0, or -1
 * with err set.  Free g with simgeo_free in either case.
 */
static int
simgeo_load(struct simgeo *fl, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *feats, *feat;
	size_t i;

	if (root == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		return -1;
	}
	feats = json_object_get(root, "features");
	if (!json_is_array(feats) || json_array_size(feats) == 0) {
		snprintf(err, errlen, "%s: not a FeatureCollection with features", path);
		json_decref(root);
		return -1;
	}
	fl->fences = xcalloc(json_array_size(feats), sizeof *fl->fences);
	json_array_foreach(feats, i, feat) {
		if (load_fence(&fl->fences[fl->nfences++], feat, err, errlen) < 0) {
			json_decref(root);
			return -1;
		}
	}
	json_decref(root);
	grid_build(fl);
	return 0;
}

static bool
fence_applies(const struct sim_fence *f, const char *dev)
{
	int i;

	if (f->devices == NULL)
		return true;
	for (i = 0; i < f->ndevices; i++)
		if (strcmp(f->devices[i], dev) == 0)
			return true;
	return false;
}

/* Covers test plus the distance to the boundary (metres) in *edge. */
static bool
fence_test(const struct sim_fence *f, double x, double y, double *edge)
{
	double px = x * f->kx, py = y * f->ky, d, best = INFINITY;
	bool in = false;
	int r, k;

	if (f->kind == FK_CIRCLE) {
		/* Scales at the mid latitude: within 1 cm of the geodesic
		 * distance up to 10 km, also at 70 degrees. */
		double kx, ky;
		scale_at((y + f->clat) / 2, &kx, &ky);
		d = hypot((x - f->clon) * kx, (y - f->clat) * ky);
		*edge = fabs(d - f->radius);
		return d <= f->radius;
	}
	for (r = 0; r < f->nrings; r++) {
		int a = f->ring_off[r], b = f->ring_off[r + 1];
		for (k = a; k + 1 < b; k++) {
			const double *p = &f->xy[2 * k], *q = &f->xy[2 * k + 2];
			double kx = f->kx;
			if (f->kind == FK_CORRIDOR) {
				double ky;
				scale_at((2 * y + p[1] + q[1]) / 4, &kx, &ky);
				d = seg_dist(x * kx, y * ky, p[0] * kx, p[1] * ky,
				    q[0] * kx, q[1] * ky);
			} else {
				d = seg_dist(px, py, p[0] * kx, p[1] * f->ky,
				    q[0] * kx, q[1] * f->ky);
				if ((p[1] > y) != (q[1] > y) &&
				    x < p[0] + (y - p[1]) * (q[0] - p[0]) / (q[1] - p[1]))
					in = !in;
			}
			best = fmin(best, d);
		}
	}
	if (f->kind == FK_CORRIDOR) {
		*edge = fabs(best - f->radius);
		return best <= f->radius;
	}
	*edge = best;
	return in;
}

/*
 * Indices of the fences that apply to device dev and cover (x, y), sorted,
 * into out (cap entries); returns the count.  *near is set when the point
 * lies within the margin of one of their edges.
 */
static int
simgeo_covering(const struct simgeo *fl, const char *dev, double x, double y,
    int *out, int cap, bool *near)
{
	const struct grid *g = &fl->grid;
	int cx = (int)floor((x - g->x0) / g->cell);
	int cy = (int)floor((y - g->y0) / g->cell);
	int n = 0, i, j, c;
	double edge;

	*near = false;
	if (cx < 0 || cy < 0 || cx >= g->nx || cy >= g->ny)
		return 0;
	c = cy * g->nx + cx;
	for (i = g->start[c]; i < g->start[c + 1]; i++) {
		struct sim_fence *f = &fl->fences[g->items[i]];
		if (x < f->x0 || x > f->x1 || y < f->y0 || y > f->y1 ||
		    !fence_applies(f, dev))
			continue;
		if (fence_test(f, x, y, &edge) && n < cap) {
			for (j = n++; j > 0 && out[j - 1] > g->items[i]; j--)
				out[j] = out[j - 1];
			out[j] = g->items[i];
		}
		if (edge < SIMGEO_EDGE_MARGIN_M)
			*near = true;
	}
	return n;
}

/* ==== Tracks ==== */

/* Where a device drives: straight legs at one speed each, and stops. */
struct track {
	uint64_t rng;
	double ax, ay, bx, by;	/* current leg, degrees */
	double leg_len, leg_pos; /* metres */
	double speed;		/* km/h on this leg, 0 when parked */
	double stop_left;	/* seconds still parked */
	double course, odo;	/* degrees; metres driven */
	int last_fence;		/* the fence the leg aims at, -1: none */
};

struct track_params {
	double speed_limit, hysteresis;	/* speeds avoid the band between */
	double interval;		/* seconds between fixes */
	double clon, clat, radius_m;	/* the area without fences */
};

static void
new_leg(const struct simgeo *fl, const struct track_params *tp, struct track *d)
{
	double kx, ky, r = tp->radius_m, p;
	int i, k, best = -1, moves = 0;

	d->ax = d->bx;
	d->ay = d->by;
	scale_at(d->ay, &kx, &ky);
	if (fl->nfences > 0) {
		/* The nearest of a few random fences: short legs that run
		 * through the centre, entering and then leaving. */
		double bd = INFINITY;
		for (i = 0; i < 12; i++) {
			k = (int)(rnd(&d->rng) % (uint64_t)fl->nfences);
			struct sim_fence *f = &fl->fences[k];
			double dd = hypot((f->clon - d->ax) * kx, (f->clat - d->ay) * ky);
			if (k != d->last_fence && dd < bd) {
				bd = dd;
				best = k;
			}
		}
	}
	if (best >= 0) {
		d->bx = fl->fences[best].clon;
		d->by = fl->fences[best].clat;
		d->last_fence = best;
	} else {
		double ang = urand(&d->rng, 0, 2 * M_PI), len = urand(&d->rng, 300, 3000);
		double cx, cy;
		d->bx = d->ax + len * cos(ang) / kx;
		d->by = d->ay + len * sin(ang) / ky;
		scale_at(tp->clat, &cx, &cy);
		if (hypot((d->bx - tp->clon) * cx, (d->by - tp->clat) * cy) > r) {
			d->bx = tp->clon + urand(&d->rng, -0.5, 0.5) * r / cx;
			d->by = tp->clat + urand(&d->rng, -0.5, 0.5) * r / cy;
		}
	}
	d->leg_len = hypot((d->bx - d->ax) * kx, (d->by - d->ay) * ky);
	d->leg_pos = 0;
	if (d->leg_len > 0.5)
		d->course = fmod(atan2((d->bx - d->ax) * kx, (d->by - d->ay) * ky) / DEG + 360, 360);
	/* Speeds by road class; none inside the band where overspeed episodes
	 * would hinge on the hysteresis, so the expectation is unambiguous. */
	p = urand(&d->rng, 0, 1);
	if (p < 0.25)
		d->speed = urand(&d->rng, 20, 50);
	else if (p < 0.65)
		d->speed = urand(&d->rng, 55, 90);
	else if (p < 0.92)
		d->speed = urand(&d->rng, 110, 140);
	else {
		d->speed = 0;
		d->stop_left = tp->interval * (double)(2 + rnd(&d->rng) % 6);
	}
	/* The default limit and every fence's: a speed in a band is moved
	 * below it (or above, for low limits), and the bands checked again. */
	for (k = 0; k <= fl->nfences; k++) {
		double lim = k == 0 ? tp->speed_limit : fl->fences[k - 1].speed_limit;
		double lo = lim - tp->hysteresis - 2, hi = lim + 2;
		if (lim > 0 && d->speed > lo && d->speed <= hi && moves++ < 100) {
			d->speed = lo > 10 ? lo - 3 : hi + 10;
			k = -1;
		}
	}
	d->speed = round(d->speed * 10) / 10;
}

/* Moves the track on by secs seconds of driving (or standing). */
static void
track_advance(const struct simgeo *fl, const struct track_params *tp, struct track *d, double secs)
{
	double left = secs, f;

	while (left > 1e-9) {
		if (d->speed == 0) {
			double s = fmin(left, d->stop_left);
			d->stop_left -= s;
			left -= s;
			if (d->stop_left <= 1e-9) {
				d->bx = d->ax;
				d->by = d->ay;
				new_leg(fl, tp, d);
			}
			continue;
		}
		f = d->speed / 3.6 * left;
		if (d->leg_pos + f < d->leg_len) {
			d->leg_pos += f;
			d->odo += f;
			break;
		}
		left -= (d->leg_len - d->leg_pos) / (d->speed / 3.6);
		d->odo += d->leg_len - d->leg_pos;
		new_leg(fl, tp, d);
	}
}

/*
 * Starts a track from seed: near a random fence (1 to 3 km off) when there
 * are fences, else anywhere in the area.
 */
static void
track_init(const struct simgeo *fl, const struct track_params *tp,
    struct track *d, uint64_t seed)
{
	double kx, ky;

	memset(d, 0, sizeof *d);
	d->rng = seed;
	d->last_fence = -1;
	if (fl->nfences > 0) {
		struct sim_fence *f = &fl->fences[rnd(&d->rng) % (uint64_t)fl->nfences];
		double r = urand(&d->rng, 1000, 3000), a = urand(&d->rng, 0, 2 * M_PI);
		scale_at(f->clat, &kx, &ky);
		d->bx = f->clon + r * cos(a) / kx;
		d->by = f->clat + r * sin(a) / ky;
	} else {
		scale_at(tp->clat, &kx, &ky);
		d->bx = tp->clon + urand(&d->rng, -0.5, 0.5) * tp->radius_m / kx;
		d->by = tp->clat + urand(&d->rng, -0.5, 0.5) * tp->radius_m / ky;
	}
	d->odo = urand(&d->rng, 0, 5e6);
	new_leg(fl, tp, d);
}

/*
 * The GPS fix for the track's position: off by up to 4 m plus 2 m per
 * earlier try (callers retry when a fix lands too close to an edge).
 */
static void
track_fix(struct track *d, int tries, double *x, double *y)
{
	double kx, ky, f = d->leg_len > 0 ? d->leg_pos / d->leg_len : 0;
	double r = urand(&d->rng, 0, 4 + 2.0 * tries), a = urand(&d->rng, 0, 2 * M_PI);

	scale_at(d->ay, &kx, &ky);
	*x = d->ax + f * (d->bx - d->ax) + r * cos(a) / kx;
	*y = d->ay + f * (d->by - d->ay) + r * sin(a) / ky;
}

static void
simgeo_free(struct simgeo *g)
{
	int i, j;

	for (i = 0; i < g->nfences; i++) {
		struct sim_fence *f = &g->fences[i];
		for (j = 0; j < f->ndevices; j++)
			free(f->devices[j]);
		free(f->devices);
		free(f->id);
		free(f->ring_off);
		free(f->xy);
	}
	free(g->fences);
	free(g->grid.start);
	free(g->grid.items);
}

#endif
