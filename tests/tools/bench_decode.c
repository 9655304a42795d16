/*
 * bench_decode.c: in-process decode rate for a realistic mix of both
 * dialects, on one core.
 *
 * Input is what `fleetsim --dump PREFIX` writes: PREFIX.tk103 and
 * PREFIX.gps103, each the byte stream a device connection would carry
 * (logins, reports, SOS, heartbeats).  The frames are cut once up front;
 * then the two decoders run over them, interleaved the way the simulator
 * produced them, for --seconds of wall time.  Every frame is first decoded
 * once and checked: a frame either decoder rejects is a failure (exit 1),
 * since the simulator only sends what the protocol allows.
 *
 * Prints `bench: decode N msgs/s` and `bench: decode_format N msgs/s`
 * (decode plus report_format, the stream fields ingest writes).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/gps103.h"
#include "ingest/report.h"
#include "ingest/tk103.h"
#include "lib/clock.h"
#include "lib/xmalloc.h"

struct frames {
	char *buf;
	size_t len;
	size_t n, cap;
	size_t *off, *flen;
};

static int
load(const char *path, struct frames *f, char close_ch)
{
	FILE *fp = fopen(path, "rb");
	size_t start = 0, i;
	long sz;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "bench_decode: %s: %s\n", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	f->buf = xmalloc((size_t)sz + 1);
	f->len = fread(f->buf, 1, (size_t)sz, fp);
	fclose(fp);
	/* The simulator's frames hold no terminator inside, so cutting at
	 * ')' (TK103) or ';' (GPS103) is the framing. */
	for (i = 0; i < f->len; i++) {
		if (f->buf[i] != close_ch)
			continue;
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 4096;
			f->off = xreallocarray(f->off, f->cap, sizeof *f->off);
			f->flen = xreallocarray(f->flen, f->cap, sizeof *f->flen);
		}
		f->off[f->n] = start;
		f->flen[f->n++] = i + 1 - start;
		start = i + 1;
	}
	return 0;
}

static int
decode_one(bool gps, const struct frames *f, size_t k, struct report *r,
    struct report_fields *fields, char *err, size_t errlen)
{
	struct reply reply;
	struct gps103_photo_part part;
	const uint8_t *p = (const uint8_t *)f->buf + f->off[k];
	int rc;

	if (gps)
		rc = gps103_decode(p, f->flen[k], 1700000000000, r, &reply, &part,
		    err, errlen);
	else
		rc = tk103_decode(p, f->flen[k], 1700000000000, r, &reply, err, errlen);
	if (rc == REPORT_OK && fields != NULL)
		report_format(r, fields);
	return rc;
}

/* Decodes every frame of both streams once, interleaved; returns count. */
static size_t
pass(const struct frames *tk, const struct frames *gps, struct report *r,
    struct report_fields *fields, long long *ok, long long *errs)
{
	char err[256];
	size_t i, n = 0, m = tk->n > gps->n ? tk->n : gps->n;
	int rc;

	for (i = 0; i < m; i++) {
		if (i < tk->n) {
			rc = decode_one(false, tk, i, r, fields, err, sizeof err);
			*ok += rc == REPORT_OK;
			*errs += rc == REPORT_ERROR;
			n++;
		}
		if (i < gps->n) {
			rc = decode_one(true, gps, i, r, fields, err, sizeof err);
			*ok += rc == REPORT_OK;
			*errs += rc == REPORT_ERROR;
			n++;
		}
	}
	return n;
}

static int
check(const struct frames *f, bool gps, struct report *r)
{
	char err[256];
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (decode_one(gps, f, i, r, NULL, err, sizeof err) == REPORT_ERROR) {
			fprintf(stderr, "bench_decode: frame rejected: %.*s: %s\n",
			    (int)f->flen[i], f->buf + f->off[i], err);
			return -1;
		}
	}
	return 0;
}

static double
timed(const struct frames *tk, const struct frames *gps, struct report *r,
    struct report_fields *fields, double seconds, long long *ok)
{
	int64_t t0 = clock_mono_ns(), t;
	long long frames = 0, errs = 0;

	do {
		frames += (long long)pass(tk, gps, r, fields, ok, &errs);
		t = clock_mono_ns();
	} while ((double)(t - t0) < seconds * 1e9);
	return (double)frames / ((double)(t - t0) / 1e9);
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	struct frames tk, gps;
	struct report *r = xmalloc(sizeof *r);
	struct report_fields *fields = xmalloc(sizeof *fields);
	char path[4096];
	double seconds = 2, rate;
	long long ok = 0;
	int rc = 1;

	memset(&tk, 0, sizeof tk);
	memset(&gps, 0, sizeof gps);
	if (argc == 4 && strcmp(argv[2], "--seconds") == 0)
		seconds = atof(argv[3]);
	else if (argc != 2) {
		fprintf(stderr, "usage: bench_decode PREFIX [--seconds S]\n");
		rc = 2;
		goto out;
	}
	snprintf(path, sizeof path, "%s.tk103", argv[1]);
	if (load(path, &tk, ')') < 0)
		goto out;
	snprintf(path, sizeof path, "%s.gps103", argv[1]);
	if (load(path, &gps, ';') < 0)
		goto out;
	if (tk.n + gps.n == 0) {
		fprintf(stderr, "bench_decode: no frames\n");
		goto out;
	}
	if (check(&tk, false, r) < 0 || check(&gps, true, r) < 0)
		goto out;
	rate = timed(&tk, &gps, r, NULL, seconds, &ok);
	printf("bench: decode %.0f msgs/s\n", rate);
	rate = timed(&tk, &gps, r, fields, seconds, &ok);
	printf("bench: decode_format %.0f msgs/s\n", rate);
	fprintf(stderr, "bench_decode: %zu TK103 + %zu GPS103 frames in the mix\n",
	    tk.n, gps.n);
	rc = ok > 0 ? 0 : 1;
out:
	free(tk.buf);
	free(tk.off);
	free(tk.flen);
	free(gps.buf);
	free(gps.off);
	free(gps.flen);
	free(r);
	free(fields);
	return rc;
}
