/*
 * raster.c: the IN/OUT/EDGE grid of a polygon (see raster.h).
 *
 * Built in two passes over the rings: every edge marks the cells it passes
 * through (each cell grown by a margin of a millionth of its size, far above
 * the rounding of the cell arithmetic) as EDGE; then one horizontal line
 * through each row's cell centres is crossed with all edges, and the parity
 * of the crossings left of a non-EDGE cell's centre says IN or OUT.  As no
 * edge comes near such a cell, its centre speaks for the whole cell, and a
 * point that the lookup's rounding puts in a neighbouring cell still lies
 * within that cell's margin.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/raster.h"
#include "lib/xmalloc.h"

/* Cells per vertex: enough that a typical ring's EDGE cells are few. */
#define CELLS_PER_VERTEX 24
#define MIN_CELLS 256
#define MAX_CELLS 16384
#define MARGIN 1e-6	/* of a cell's width and height */

struct raster {
	double box[4];
	double sx, sy;		/* cells per degree */
	unsigned nx, ny;
	uint8_t cell[];		/* 2 bits per cell, row-major */
};

static void
set_cell(struct raster *r, size_t i, size_t j, enum raster_cell c)
{
	size_t k = j * r->nx + i;
	unsigned shift = (unsigned)(k & 3) * 2;

	r->cell[k >> 2] = (uint8_t)((r->cell[k >> 2] & ~(3u << shift)) |
	    ((unsigned)c << shift));
}

static enum raster_cell
get_cell(const struct raster *r, size_t i, size_t j)
{
	size_t k = j * r->nx + i;

	return (enum raster_cell)((r->cell[k >> 2] >> ((k & 3) * 2)) & 3);
}

/* Column (or row) of coordinate v, clamped to [0, n). */
static size_t
slot(double v, double lo, double per, unsigned n)
{
	double f = (v - lo) * per;

	if (!(f > 0.0))
		return 0;
	return f >= n ? n - 1 : (size_t)f;
}

/* Marks the cells that segment a-b passes through or near as EDGE. */
static void
mark_edge(struct raster *r, const double *a, const double *b)
{
	double cw = (r->box[2] - r->box[0]) / r->nx;
	double ch = (r->box[3] - r->box[1]) / r->ny;
	double ex = cw * MARGIN, ey = ch * MARGIN;
	double dx = b[0] - a[0], dy = b[1] - a[1];
	size_t i0 = slot(fmin(a[0], b[0]) - ex, r->box[0], r->sx, r->nx);
	size_t i1 = slot(fmax(a[0], b[0]) + ex, r->box[0], r->sx, r->nx);
	size_t j0 = slot(fmin(a[1], b[1]) - ey, r->box[1], r->sy, r->ny);
	size_t j1 = slot(fmax(a[1], b[1]) + ey, r->box[1], r->sy, r->ny);
	size_t i, j;

	for (j = j0; j <= j1; j++)
		for (i = i0; i <= i1; i++) {
			/*
			 * In a single row or column the segment crosses every
			 * cell of its box; elsewhere, skip a cell whose four
			 * (grown) corners lie strictly on one side of it.
			 */
			if (i0 != i1 && j0 != j1) {
				double x0 = r->box[0] + i * cw - ex - a[0];
				double x1 = r->box[0] + (i + 1) * cw + ex - a[0];
				double y0 = r->box[1] + j * ch - ey - a[1];
				double y1 = r->box[1] + (j + 1) * ch + ey - a[1];
				double c[4] = { dx * y0 - dy * x0,
				    dx * y0 - dy * x1, dx * y1 - dy * x0,
				    dx * y1 - dy * x1 };
				if ((c[0] > 0 && c[1] > 0 && c[2] > 0 &&
				    c[3] > 0) || (c[0] < 0 && c[1] < 0 &&
				    c[2] < 0 && c[3] < 0))
					continue;
			}
			set_cell(r, i, j, RASTER_EDGE);
		}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct raster *
raster_new(const double box[4], const double *xy, const size_t *ends,
    size_t nrings)
{
	double w = box[2] - box[0], h = box[3] - box[1], wm, target;
	size_t nv = ends[nrings - 1], cells, k, v, i, j, n;
	double *xs = xreallocarray(NULL, nv + 1, sizeof *xs);
	struct raster *r;
	unsigned nx, ny;

	/* Roughly square cells on the ground: degrees of longitude shrink. */
	wm = w * cos((box[1] + box[3]) * M_PI / 360.0);
	target = fmin(fmax((double)nv * CELLS_PER_VERTEX, MIN_CELLS), MAX_CELLS);
	nx = (unsigned)fmin(fmax(ceil(sqrt(target * wm / h)), 1.0), 1024.0);
	ny = (unsigned)fmin(fmax(ceil(target / nx), 1.0), 1024.0);
	cells = (size_t)nx * ny;
	r = xcalloc(1, sizeof *r + (cells + 3) / 4);
	for (k = 0; k < 4; k++)
		r->box[k] = box[k];
	r->nx = nx;
	r->ny = ny;
	r->sx = nx / w;
	r->sy = ny / h;

	for (k = 0, v = 0; k < nrings; k++) {
		for (; v + 1 < ends[k]; v++)
			mark_edge(r, xy + 2 * v, xy + 2 * v + 2);
		v = ends[k];
	}

	for (j = 0; j < ny; j++) {
		double yc = box[1] + (j + 0.5) * (h / ny);

		n = 0;
		for (k = 0, v = 0; k < nrings; k++) {
			for (; v + 1 < ends[k]; v++) {
				const double *a = xy + 2 * v, *b = a + 2;
				if ((a[1] <= yc) != (b[1] <= yc))
					xs[n++] = a[0] + (yc - a[1]) *
					    (b[0] - a[0]) / (b[1] - a[1]);
			}
			v = ends[k];
		}
		qsort(xs, n, sizeof *xs, cmp_double);
		for (i = 0, k = 0; i < nx; i++) {
			double xc = box[0] + (i + 0.5) * (w / nx);
			while (k < n && xs[k] < xc)
				k++;
			if (get_cell(r, i, j) != RASTER_EDGE && (k & 1))
				set_cell(r, i, j, RASTER_IN);
		}
	}
	free(xs);
	return r;
}

void
raster_free(struct raster *r)
{
	free(r);
}

enum raster_cell
raster_lookup(const struct raster *r, double x, double y)
{
	if (x < r->box[0] || x > r->box[2] || y < r->box[1] || y > r->box[3])
		return RASTER_OUT;
	return get_cell(r, slot(x, r->box[0], r->sx, r->nx),
	    slot(y, r->box[1], r->sy, r->ny));
}
