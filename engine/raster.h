/*
 * raster.h: a coarse grid over a polygon's envelope that tells, for most
 * points, whether the polygon covers them without asking GEOS.
 *
 * Each cell is IN (wholly inside the polygon), OUT (wholly outside) or EDGE
 * (some ring may pass through it, or close to it).  The classification is
 * conservative: a cell is IN or OUT only when no edge comes within a small
 * margin of it, so the answer for any point that falls in such a cell is
 * exact; points in EDGE cells go to GEOSPreparedCovers_r.  With 50-vertex
 * polygons about one cell in eight is EDGE, so most of the exact tests, and
 * their cache misses on the prepared geometry, are skipped.
 */
#ifndef GA_ENGINE_RASTER_H
#define GA_ENGINE_RASTER_H

#include <stddef.h>

enum raster_cell { RASTER_OUT = 0, RASTER_IN = 1, RASTER_EDGE = 2 };

struct raster;

/*
 * Builds the grid over box (minx, miny, maxx, maxy, which must hold every
 * vertex and have a non-zero width and height) from the rings of a valid
 * polygon or multipolygon: xy holds all ring vertices as lon,lat pairs,
 * ring k being vertices [ends[k-1], ends[k]) (ends[-1] = 0), each ring
 * closed.  Coverage is taken by the even-odd rule, which is the polygon's
 * for valid geometry.  Never returns NULL; free with raster_free.
 */
struct raster *raster_new(const double box[4], const double *xy,
    const size_t *ends, size_t nrings);

/* Frees r; NULL is a no-op. */
void raster_free(struct raster *r);

/* The class of the cell holding (x, y); points outside the box are OUT. */
enum raster_cell raster_lookup(const struct raster *r, double x, double y);

#endif
