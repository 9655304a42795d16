/*
 * rtree.h: a static packed R-tree over axis-aligned boxes (the fence
 * envelopes), answering "which boxes hold this point".
 *
 * Built once from all boxes (Hilbert-sorted leaves, nodes of RTREE_NODE
 * consecutive children, as in Flatbush), stored in flat arrays, never
 * changed afterwards: a search reads only and allocates nothing.  It knows
 * nothing of fences; items are the boxes' positions in the input array.
 */
#ifndef GA_ENGINE_RTREE_H
#define GA_ENGINE_RTREE_H

#include <stddef.h>

#define RTREE_NODE 16	/* children per node */

struct rtree;

/*
 * Builds the tree over n boxes, boxes[4*i .. 4*i+3] = minx, miny, maxx,
 * maxy of item i (copied; the caller keeps its array).  n may be 0.  Never
 * returns NULL; the caller frees with rtree_free.
 */
struct rtree *rtree_new(const double *boxes, size_t n);

/* Frees the tree; NULL is a no-op. */
void rtree_free(struct rtree *t);

/*
 * Calls visit(arg, item) for every item whose box holds (x, y), edges
 * included, in no particular order.  Stops at the first visit that returns
 * non-zero and returns that value; returns 0 when all were visited.
 */
int rtree_search(const struct rtree *t, double x, double y,
    int (*visit)(void *arg, size_t item), void *arg);

#endif
