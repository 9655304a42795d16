/*
 * bench_fences.c: in-process fence evaluation, one core, no Redis.
 *
 * For each F given (default 100 1000 10000), loads DIR/fences_F.geojson and
 * DIR/points_F.csv as scripts/gen_fences.py writes them, builds the set
 * with engine/fence.h (parse, validate, prepare, index), then times
 * fence_set_covers over the points, pass after pass, for --seconds of wall
 * time.  Prints `bench: fences_F N points/s` and the build time
 * `bench: fences_F_build N ms`; the share of points inside some fence goes
 * to stderr as a sanity check (it grows with F: at F = 10000 the fences
 * overlap and cover most of the square).
 *
 * usage: bench_fences [--seconds S] DIR [F ...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fence.h"
#include "lib/clock.h"
#include "lib/xmalloc.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long sz;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "bench_fences: %s: %s\n", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return NULL;
	}
	buf = xmalloc((size_t)sz + 1);
	*len = fread(buf, 1, (size_t)sz, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

/* Reads "lon,lat" lines into a new array (caller frees); count in *n. */
static double *
load_points(const char *path, size_t *n)
{
	size_t len, cap = 0;
	char *buf = slurp(path, &len), *p, *end;
	double *xy = NULL;

	*n = 0;
	if (buf == NULL)
		return NULL;
	for (p = buf; p < buf + len; p = end + 1) {
		double lon = strtod(p, &end), lat;
		if (end == p || *end != ',')
			break;
		lat = strtod(end + 1, &end);
		if (*n == cap) {
			cap = cap ? cap * 2 : 65536;
			xy = xreallocarray(xy, cap, 2 * sizeof *xy);
		}
		xy[2 * *n] = lon;
		xy[2 * *n + 1] = lat;
		(*n)++;
		end = strchr(end, '\n');
		if (end == NULL)
			break;
	}
	free(buf);
	return xy;
}

static int
bench_one(struct fence_geos *g, const char *dir, const char *f, double seconds)
{
	char path[4096], err[512];
	size_t len, npts, out[64], i = 0, inside = 0, done = 0;
	struct fence_builder *b;
	struct fence_set *set;
	double *xy;
	char *doc;
	int64_t t0, t;
	int n, rc = -1;

	snprintf(path, sizeof path, "%s/fences_%s.geojson", dir, f);
	if ((doc = slurp(path, &len)) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/points_%s.csv", dir, f);
	if ((xy = load_points(path, &npts)) == NULL || npts == 0) {
		fprintf(stderr, "bench_fences: %s: no points\n", path);
		free(doc);
		free(xy);
		return -1;
	}
	t0 = clock_mono_ns();
	b = fence_builder_new(g);
	if (fence_builder_add_document(b, doc, len, err, sizeof err) < 0) {
		fprintf(stderr, "bench_fences: F=%s: %s\n", f, err);
		fence_builder_free(b);
		goto out;
	}
	set = fence_builder_finish(b);
	t = clock_mono_ns();
	printf("bench: fences_%s_build %.0f ms\n", f, (double)(t - t0) / 1e6);
	t0 = clock_mono_ns();
	do {
		/* 1000 points between clock reads: the clock costs nothing. */
		size_t stop = done + 1000;
		for (; done < stop; done++, i = (i + 1) % npts) {
			n = fence_set_covers(set, xy[2 * i], xy[2 * i + 1], out, 64,
			    err, sizeof err);
			if (n < 0) {
				fprintf(stderr, "bench_fences: F=%s: %s\n", f, err);
				fence_set_free(set);
				goto out;
			}
			inside += n > 0 && done < npts;
		}
		t = clock_mono_ns();
	} while ((double)(t - t0) < seconds * 1e9);
	printf("bench: fences_%s %.0f points/s\n", f, (double)done / ((double)(t - t0) / 1e9));
	fflush(stdout);
	fprintf(stderr, "bench_fences: F=%s: %zu fences, %zu points, %.1f%% inside%s\n",
	    f, fence_set_count(set), npts,
	    100.0 * (double)inside / (double)(done < npts ? done : npts),
	    done < npts ? " (of the points reached)" : "");
	fence_set_free(set);
	rc = 0;
out:
	free(doc);
	free(xy);
	return rc;
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	static const char *defaults[] = {"100", "1000", "10000"};
	struct fence_geos g;
	double seconds = 2;
	int i = 1, rc = 0, k;

	if (argc > 2 && strcmp(argv[1], "--seconds") == 0) {
		seconds = atof(argv[2]);
		i = 3;
	}
	if (i >= argc || seconds <= 0) {
		fprintf(stderr, "usage: bench_fences [--seconds S] DIR [F ...]\n");
		return 2;
	}
	fence_geos_attach(&g, GEOS_init_r());
	if (i + 1 < argc) {
		for (k = i + 1; k < argc; k++)
			rc |= bench_one(&g, argv[i], argv[k], seconds) < 0;
	} else {
		for (k = 0; k < 3; k++)
			rc |= bench_one(&g, argv[i], defaults[k], seconds) < 0;
	}
	GEOS_finish_r(g.handle);
	return rc;
}
