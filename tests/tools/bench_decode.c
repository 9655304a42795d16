/*
 * bench_decode.c: in-process decode rate for a realistic mix of both
 * dialects, on one core: protocol detection, framing and decoding, the way
 * ingest runs them on every TCP read (ingest/session.h).
 *
 * Input is what `fleetsim --dump PREFIX` writes: PREFIX.tk103 and
 * PREFIX.gps103, each the byte stream device connections would carry
 * (logins, reports, SOS, heartbeats).  Two sessions, one per dialect, are
 * fed alternately in reads of 4 KiB for --seconds of wall time.  The first
 * pass is a check: a frame the session rejects is a failure (exit 1), since
 * the simulator only sends what the protocol allows.
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

#include "ingest/report.h"
#include "ingest/session.h"
#include "lib/clock.h"
#include "lib/xmalloc.h"

#define READ_SIZE 4096
#define MAX_FRAME 2048		/* ingest's --max-frame default */

struct stream {
	uint8_t *buf;
	size_t len, off;
	struct session *s;
};

struct counts {
	long long frames, ok, errors;
	struct report_fields *fields;	/* NULL: decode only */
	bool verbose;
};

static int
load(const char *path, struct stream *st)
{
	FILE *fp = fopen(path, "rb");
	long sz;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "bench_decode: %s: %s\n", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	st->buf = xmalloc((size_t)sz + 1);
	st->len = fread(st->buf, 1, (size_t)sz, fp);
	fclose(fp);
	st->s = session_new(MAX_FRAME);
	return 0;
}

static void
on_frame(void *arg, const struct session_frame *f)
{
	struct counts *c = arg;

	c->frames++;
	if (f->result == REPORT_OK) {
		c->ok++;
		if (c->fields != NULL)
			report_format(f->report, c->fields);
	} else if (f->result == REPORT_ERROR) {
		if (c->verbose && c->errors == 0)
			fprintf(stderr, "bench_decode: frame rejected: %.*s: %s\n",
			    (int)(f->len > 200 ? 200 : f->len), (const char *)f->raw,
			    f->error);
		c->errors++;
	}
}

/* One read's worth of st into its session; false once st is consumed. */
static bool
feed(struct stream *st, struct counts *c)
{
	size_t n = st->len - st->off, used;
	bool close_peer = false;

	if (n == 0)
		return false;
	if (n > READ_SIZE)
		n = READ_SIZE;
	used = session_feed(st->s, st->buf + st->off, n, 1700000000000,
	    st->off + n == st->len, on_frame, c, &close_peer);
	if (close_peer) {
		fprintf(stderr, "bench_decode: the session cut the peer off\n");
		st->off = st->len;
		c->errors++;
		return false;
	}
	st->off += used;
	return used > 0;
}

/* Feeds both streams from their start, alternating reads. */
static void
pass(struct stream *a, struct stream *b, struct counts *c)
{
	bool more_a = true, more_b = true;

	a->off = b->off = 0;
	while (more_a || more_b) {
		if (more_a)
			more_a = feed(a, c);
		if (more_b)
			more_b = feed(b, c);
	}
}

static double
timed(struct stream *a, struct stream *b, struct counts *c, double seconds)
{
	int64_t t0 = clock_mono_ns(), t;

	c->frames = 0;
	do {
		pass(a, b, c);
		t = clock_mono_ns();
	} while ((double)(t - t0) < seconds * 1e9);
	return (double)c->frames / ((double)(t - t0) / 1e9);
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	struct stream tk, gps;
	struct counts c;
	char path[4096];
	double seconds = 2, rate;
	int rc = 1;

	memset(&tk, 0, sizeof tk);
	memset(&gps, 0, sizeof gps);
	memset(&c, 0, sizeof c);
	if (argc == 4 && strcmp(argv[2], "--seconds") == 0)
		seconds = atof(argv[3]);
	else if (argc != 2) {
		fprintf(stderr, "usage: bench_decode PREFIX [--seconds S]\n");
		rc = 2;
		goto out;
	}
	snprintf(path, sizeof path, "%s.tk103", argv[1]);
	if (load(path, &tk) < 0)
		goto out;
	snprintf(path, sizeof path, "%s.gps103", argv[1]);
	if (load(path, &gps) < 0)
		goto out;
	c.verbose = true;
	pass(&tk, &gps, &c);
	if (c.errors > 0 || c.ok == 0) {
		fprintf(stderr, "bench_decode: %lld frames, %lld records, %lld rejected\n",
		    c.frames, c.ok, c.errors);
		goto out;
	}
	fprintf(stderr, "bench_decode: %lld frames (%lld records) in the mix\n",
	    c.frames, c.ok);
	c.verbose = false;
	rate = timed(&tk, &gps, &c, seconds);
	printf("bench: decode %.0f msgs/s\n", rate);
	c.fields = xmalloc(sizeof *c.fields);
	rate = timed(&tk, &gps, &c, seconds);
	printf("bench: decode_format %.0f msgs/s\n", rate);
	rc = c.errors > 0;
out:
	free(tk.buf);
	free(gps.buf);
	session_free(tk.s);
	session_free(gps.s);
	free(c.fields);
	return rc;
}
