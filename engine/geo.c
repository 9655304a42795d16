/*
 * geo.c: WGS84 radii of curvature and the local east/north frame built on
 * them (see geo.h).  Fence geometry and indexing live in fence.c; this file
 * only measures.
 */
#include <math.h>

#include "engine/geo.h"

#define DEG (M_PI / 180.0)
/* First eccentricity squared: e^2 = f (2 - f). */
#define E2 (GEO_WGS84_F * (2.0 - GEO_WGS84_F))

/* Longitude difference b - a folded into [-180, 180]. */
static double
dlon(double a, double b)
{
	double d = b - a;

	if (d > 180.0)
		d -= 360.0;
	else if (d < -180.0)
		d += 360.0;
	return d;
}

void
geo_radii(double lat_deg, double *m, double *n)
{
	double s = sin(lat_deg * DEG);
	double w = 1.0 - E2 * s * s;
	double sw = sqrt(w);

	*n = GEO_WGS84_A / sw;
	*m = GEO_WGS84_A * (1.0 - E2) / (w * sw);
}

void
geo_offset(double lon0, double lat0, double lon1, double lat1,
    double *east, double *north)
{
	double mid = 0.5 * (lat0 + lat1), m, n;

	geo_radii(mid, &m, &n);
	*east = n * cos(mid * DEG) * dlon(lon0, lon1) * DEG;
	*north = m * (lat1 - lat0) * DEG;
}

double
geo_distance(double lon0, double lat0, double lon1, double lat1)
{
	double e, n;

	geo_offset(lon0, lat0, lon1, lat1, &e, &n);
	return hypot(e, n);
}

/*
 * The frame centred at P has fixed scales, so the lon/lat-straight segment
 * stays straight in it and the nearest point is a plain projection.  Those
 * scales are off by the change of the parallel's radius between P and Q
 * (about tan(lat) * distance / R), which would cost ~1 m over 2 km at 70
 * degrees, so the final distance P-Q is measured again at their mean
 * latitude.  The foot point itself is insensitive to the scale error: the
 * distance is stationary there.
 */
double
geo_segment_distance(double lon, double lat, double alon, double alat,
    double blon, double blat)
{
	double m, n, kx, ky, ax, ay, dx, dy, len2, t = 0.0;

	geo_radii(lat, &m, &n);
	kx = n * cos(lat * DEG) * DEG;
	ky = m * DEG;
	ax = dlon(lon, alon) * kx;
	ay = (alat - lat) * ky;
	dx = dlon(alon, blon) * kx;
	dy = (blat - alat) * ky;
	len2 = dx * dx + dy * dy;
	if (len2 > 0.0) {
		t = -(ax * dx + ay * dy) / len2;
		if (t < 0.0)
			t = 0.0;
		else if (t > 1.0)
			t = 1.0;
	}
	return geo_distance(lon, lat, alon + t * dlon(alon, blon),
	    alat + t * (blat - alat));
}

bool
geo_in_circle(double lon, double lat, double clon, double clat,
    double radius_m)
{
	return geo_distance(clon, clat, lon, lat) <= radius_m;
}

/*
 * The margin (1 % plus ~1 cm) covers the mean-latitude approximation and
 * rounding; boxes only pre-filter, so a slightly larger one costs nothing
 * but an extra exact test.
 */
void
geo_degree_margin(double lat, double dist_m, double *dlon_out,
    double *dlat_out)
{
	double m, n, far, dlat;

	geo_radii(lat, &m, &n);
	dlat = dist_m / m / DEG * 1.01 + 1e-7;
	far = fabs(lat) + dlat;
	*dlat_out = dlat;
	if (far >= 89.0) {
		*dlon_out = 360.0;
		return;
	}
	/* The parallel is shortest at the box's poleward edge. */
	geo_radii(far, &m, &n);
	*dlon_out = dist_m / (n * cos(far * DEG)) / DEG * 1.01 + 1e-7;
}
