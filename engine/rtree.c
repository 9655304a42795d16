/*
 * rtree.c: static packed R-tree (see rtree.h).
 *
 * Why not GEOS's STRtree: its query takes a GEOSGeometry (one allocated
 * point per query) and reaches each candidate through a C++ visitor and a
 * callback; this tree is a few flat arrays walked with compares only.  On
 * the benchmark's star fences (shared/bench/gen_fences.py, 200,000 points)
 * finding the candidate envelopes took 69, 160 and 481 ns per point for
 * 100, 1,000 and 10,000 fences here, against 105, 197 and 701 ns with
 * GEOSSTRtree_query_r.  Float boxes (half the memory) gained nothing
 * measurable, so boxes stay exact doubles.
 *
 * Layout: all entries of all levels in one box array, level 0 (the items,
 * in Hilbert order of their centres) first, then each level above.  Entry i
 * of level L > 0 covers entries [i*RTREE_NODE, (i+1)*RTREE_NODE) of level
 * L-1, so no child pointers are stored.
 */
#include <stdint.h>
#include <stdlib.h>

#include "engine/rtree.h"
#include "lib/xmalloc.h"

/* 16^15 > 2^60 items: more levels than any set can need. */
#define MAX_LEVELS 16

struct rtree {
	size_t n;			/* items */
	double *box;			/* 4 per entry, all levels */
	size_t *item;			/* level-0 entry -> item */
	size_t nlevels;
	size_t start[MAX_LEVELS];	/* first entry of each level */
	size_t count[MAX_LEVELS];	/* entries in each level */
};

struct keyed {
	uint32_t key;
	size_t item;
};

/* Position of (x, y) on the Hilbert curve of order 16 (x, y < 65536). */
static uint32_t
hilbert(uint32_t x, uint32_t y)
{
	uint32_t d = 0, s, rx, ry, t;

	for (s = 1u << 15; s > 0; s >>= 1) {
		rx = (x & s) ? 1 : 0;
		ry = (y & s) ? 1 : 0;
		d += s * s * ((3 * rx) ^ ry);
		if (ry == 0) {	/* rotate the quadrant */
			if (rx == 1) {
				x = s - 1 - (x & (s - 1));
				y = s - 1 - (y & (s - 1));
			}
			t = x;
			x = y;
			y = t;
		}
		x &= s - 1;
		y &= s - 1;
	}
	return d;
}

static int
cmp_keyed(const void *a, const void *b)
{
	const struct keyed *ka = a, *kb = b;

	if (ka->key != kb->key)
		return ka->key < kb->key ? -1 : 1;
	return ka->item < kb->item ? -1 : ka->item > kb->item;
}

static uint32_t
grid(double v, double lo, double span)
{
	double g = span > 0.0 ? (v - lo) / span * 65535.0 : 0.0;

	if (!(g >= 0.0))
		return 0;
	return g > 65535.0 ? 65535u : (uint32_t)g;
}

struct rtree *
rtree_new(const double *boxes, size_t n)
{
	struct rtree *t = xcalloc(1, sizeof *t);
	struct keyed *k;
	double lo[2], hi[2];
	size_t i, j, total, level;

	t->n = n;
	if (n == 0)
		return t;

	lo[0] = lo[1] = 1e300;
	hi[0] = hi[1] = -1e300;
	for (i = 0; i < n; i++)
		for (j = 0; j < 2; j++) {
			double c = 0.5 * (boxes[4 * i + j] + boxes[4 * i + j + 2]);
			if (c < lo[j])
				lo[j] = c;
			if (c > hi[j])
				hi[j] = c;
		}
	k = xreallocarray(NULL, n, sizeof *k);
	for (i = 0; i < n; i++) {
		const double *b = boxes + 4 * i;
		k[i].key = hilbert(grid(0.5 * (b[0] + b[2]), lo[0], hi[0] - lo[0]),
		    grid(0.5 * (b[1] + b[3]), lo[1], hi[1] - lo[1]));
		k[i].item = i;
	}
	qsort(k, n, sizeof *k, cmp_keyed);

	/* Level sizes: each level has ceil(below / RTREE_NODE) entries. */
	total = 0;
	for (level = 0, j = n;; level++) {
		t->start[level] = total;
		t->count[level] = j;
		total += j;
		if (j <= 1)
			break;
		j = (j + RTREE_NODE - 1) / RTREE_NODE;
	}
	t->nlevels = level + 1;

	t->box = xreallocarray(NULL, total, 4 * sizeof *t->box);
	t->item = xreallocarray(NULL, n, sizeof *t->item);
	for (i = 0; i < n; i++) {
		t->item[i] = k[i].item;
		for (j = 0; j < 4; j++)
			t->box[4 * i + j] = boxes[4 * k[i].item + j];
	}
	free(k);

	for (level = 1; level < t->nlevels; level++) {
		const double *below = t->box + 4 * t->start[level - 1];
		double *b = t->box + 4 * t->start[level];

		for (i = 0; i < t->count[level]; i++, b += 4) {
			size_t c = i * RTREE_NODE;
			size_t end = c + RTREE_NODE;

			if (end > t->count[level - 1])
				end = t->count[level - 1];
			b[0] = b[1] = 1e300;
			b[2] = b[3] = -1e300;
			for (; c < end; c++) {
				const double *cb = below + 4 * c;
				if (cb[0] < b[0])
					b[0] = cb[0];
				if (cb[1] < b[1])
					b[1] = cb[1];
				if (cb[2] > b[2])
					b[2] = cb[2];
				if (cb[3] > b[3])
					b[3] = cb[3];
			}
		}
	}
	return t;
}

void
rtree_free(struct rtree *t)
{
	if (t == NULL)
		return;
	free(t->box);
	free(t->item);
	free(t);
}

/* Searches entries [first, end) of level. */
static int
search(const struct rtree *t, size_t level, size_t first, size_t end,
    double x, double y, int (*visit)(void *, size_t), void *arg)
{
	const double *b = t->box + 4 * (t->start[level] + first);
	size_t i;
	int rc;

	for (i = first; i < end; i++, b += 4) {
		if (x < b[0] || x > b[2] || y < b[1] || y > b[3])
			continue;
		if (level == 0)
			rc = visit(arg, t->item[i]);
		else {
			size_t c = i * RTREE_NODE, ce = c + RTREE_NODE;
			if (ce > t->count[level - 1])
				ce = t->count[level - 1];
			rc = search(t, level - 1, c, ce, x, y, visit, arg);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
rtree_search(const struct rtree *t, double x, double y,
    int (*visit)(void *arg, size_t item), void *arg)
{
	size_t top;

	if (t->n == 0)
		return 0;
	top = t->nlevels - 1;
	return search(t, top, 0, t->count[top], x, y, visit, arg);
}
