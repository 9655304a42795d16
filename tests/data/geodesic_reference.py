#!/usr/bin/python3
"""Reference values for tests/unit/engine/test_geo.c and test_fence.c.

Computed with Karney's geodesic algorithms on the WGS84 ellipsoid
(GeographicLib's Python port, Debian package python3-geographiclib), which
are exact to about 15 nm: an independent check of engine/geo.c, whose local
radii-of-curvature frame shares no code with it.  Run once; its output was
pasted into the tests.  Not run by the test suite.

    /usr/bin/python3 tests/data/geodesic_reference.py
"""
import math
from geographiclib.geodesic import Geodesic

G = Geodesic.WGS84


def direct(lat, lon, az, s):
    r = G.Direct(lat, lon, az, s)
    return r["lat2"], r["lon2"]


def inverse(lat1, lon1, lat2, lon2):
    return G.Inverse(lat1, lon1, lat2, lon2)["s12"]


print("/* radii of curvature from tiny geodesic arcs: lat, M, N */")
d = 1e-4
for lat in (0.0, 45.0, 70.0):
    m = inverse(lat - d, 0, lat + d, 0) / math.radians(2 * d)
    n = inverse(lat, 0, lat, d) / math.radians(d) / math.cos(math.radians(lat))
    print("\t{ %.1f, %.4f, %.4f }," % (lat, m, n))
polar = inverse(90 - d, 0, 90 - d, 180) / math.radians(2 * d)
print("\t/* pole: M = N = %.4f */" % polar)

print("/* distances: lon1, lat1, lon2, lat2, s12 (Karney inverse) */")
for lat, lon in ((0.0, 11.5), (45.0, 11.5), (70.0, 25.0), (-70.0, -60.0)):
    for s, az in ((100.0, 0.0), (1000.0, 37.0), (3000.0, 90.0),
                  (5000.0, 135.0), (2500.0, 300.0)):
        lat2, lon2 = direct(lat, lon, az, s)
        print("\t{ %.10f, %.10f, %.10f, %.10f, %.6f }," %
              (lon, lat, lon2, lat2, inverse(lat, lon, lat2, lon2)))

print("/* parallel arcs: lat, dlon, s12 */")
for lat in (0.0, 45.0, 70.0):
    print("\t{ %.1f, 0.01, %.6f }," % (lat, inverse(lat, 11.5, lat, 11.51)))

print("/* segments: plon, plat, alon, alat, blon, blat, distance */")
for lat, lon in ((0.0, 11.5), (45.0, 11.5), (70.0, 25.0)):
    for az in (0.0, 60.0, 90.0):
        alat, alon = direct(lat, lon, az + 180, 500)
        blat, blon = direct(lat, lon, az, 500)
        cases = []
        for dd in (50.0, 300.0, 1500.0):
            cases.append((direct(lat, lon, az + 90, dd), dd))
        cases.append((direct(lat, lon, az - 90, 700.0), 700.0))
        p = direct(blat, blon, az, 200.0)  # beyond B, on the line
        cases.append((p, inverse(p[0], p[1], blat, blon)))
        p = direct(alat, alon, az + 180 + 45, 300.0)  # beyond A, aside
        cases.append((p, inverse(p[0], p[1], alat, alon)))
        for (plat, plon), dist in cases:
            print("\t{ %.10f, %.10f, %.10f, %.10f, %.10f, %.10f, %.4f },"
                  % (plon, plat, alon, alat, blon, blat, dist))

print("/* circles: clon, clat, r, then lon, lat at r - 1.5 m and at r + 1.5 m (azimuths 0, 45, 90, 135, 200, 290) */")
for lat, lon, r in ((0.0, 11.5, 1000.0), (45.0, 11.5, 2000.0),
                    (70.0, 25.0, 3000.0), (-70.0, -60.0, 500.0)):
    for az in (0.0, 45.0, 90.0, 135.0, 200.0, 290.0):
        ilat, ilon = direct(lat, lon, az, r - 1.5)
        olat, olon = direct(lat, lon, az, r + 1.5)
        print("\t{ %.4f, %.4f, %.1f, %.10f, %.10f, %.10f, %.10f },"
              % (lon, lat, r, ilon, ilat, olon, olat))

print("/* corridors: A, B (1 km apart), width 100 m; inside/outside points */")
for lat, lon in ((0.0, 11.5), (45.0, 11.5), (70.0, 25.0)):
    az = 70.0
    alat, alon = direct(lat, lon, az + 180, 500)
    blat, blon = direct(lat, lon, az, 500)
    print("\t/* lat %.0f: A %.10f, %.10f  B %.10f, %.10f */" % (lat, alon, alat, blon, blat))
    pts = []
    for side in (90.0, -90.0):
        pts.append(direct(lat, lon, az + side, 48.5) + (1,))
        pts.append(direct(lat, lon, az + side, 51.5) + (0,))
    pts.append(direct(blat, blon, az, 48.5) + (1,))   # round cap at B
    pts.append(direct(blat, blon, az, 51.5) + (0,))
    pts.append(direct(alat, alon, az + 180 + 30, 48.5) + (1,))
    pts.append(direct(alat, alon, az + 180 + 30, 51.5) + (0,))
    for plat, plon, inside in pts:
        print("\t{ %.10f, %.10f, %d }," % (plon, plat, inside))
