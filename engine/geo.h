/*
 * geo.h: WGS84 geodesy for fences that are small next to the Earth.
 *
 * Circles and corridors are measured in a local east/north frame whose
 * scales are the ellipsoid's radii of curvature (meridional M, prime
 * vertical N) at the latitude of the points involved.  Over a few
 * kilometres this agrees with the true ellipsoidal geodesic to a few
 * centimetres at latitudes up to +-70 degrees, where a spherical Earth is
 * off by up to 0.5 %.  Longitudes are degrees east, latitudes degrees north;
 * longitude differences are taken the short way round the antimeridian.
 * Pure math: no allocation, no state, no GEOS.
 */
#ifndef GA_ENGINE_GEO_H
#define GA_ENGINE_GEO_H

#include <stdbool.h>

#define GEO_WGS84_A  6378137.0			/* semi-major axis, m */
#define GEO_WGS84_F  (1.0 / 298.257223563)	/* flattening */

/*
 * Radii of curvature of the WGS84 ellipsoid at geodetic latitude lat_deg:
 * *m the meridional radius (north-south), *n the prime-vertical radius
 * (east-west: a parallel's radius is n * cos(lat)).  Both in metres.
 */
void geo_radii(double lat_deg, double *m, double *n);

/*
 * Metres east (*east) and north (*north) from point 0 to point 1, using
 * the radii of curvature at their mean latitude.  Meant for points a few
 * kilometres apart; the error grows with the square of the distance.
 */
void geo_offset(double lon0, double lat0, double lon1, double lat1,
    double *east, double *north);

/* Distance in metres between two nearby points (see geo_offset). */
double geo_distance(double lon0, double lat0, double lon1, double lat1);

/*
 * Distance in metres from point P to the segment A-B.  The segment is the
 * straight line between its ends in longitude/latitude (GeoJSON's reading
 * of a LineString).  The segment is projected into the local frame centred
 * at P to find its point Q nearest to P; the result is geo_distance(P, Q).
 * A degenerate segment (A == B) is the point A.
 */
double geo_segment_distance(double lon, double lat, double alon, double alat,
    double blon, double blat);

/* True when P lies within radius_m metres of the centre C (edge included). */
bool geo_in_circle(double lon, double lat, double clon, double clat,
    double radius_m);

/*
 * Half-extents in degrees of a box around (lon, lat) that holds every point
 * within dist_m metres of it, with a safety margin: *dlat in latitude,
 * *dlon in longitude (360 when the box would reach a pole).
 */
void geo_degree_margin(double lat, double dist_m, double *dlon, double *dlat);

#endif
