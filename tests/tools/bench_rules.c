/*
 * bench_rules.c: the per-position cost of a rules file's Lua rules, in
 * process, one core, no Redis.
 *
 * Positions come from `fleetsim --dump PREFIX` (both dialects), decoded by
 * the session as ingest does and turned into the stream's fields
 * (report_format); each is run through rules_run for its device, with the
 * device's state JSON carried from one position to the next, as the engine
 * does.  Fence lists are empty: fences are their own figure.  After one
 * warm-up pass, passes repeat for --seconds of wall time.
 *
 * Prints `bench: rules_cost N us/position` and `bench: rules N positions/s`;
 * alerts, commands and rule errors per pass go to stderr.
 *
 * usage: bench_rules RULES.lua PREFIX [--seconds S]
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
#include "rules/rules.h"

#define MAX_POSITIONS 100000
#define MAX_DEVICES 4096

struct position {
	int dev;			/* index into devices */
	struct rules_field *fields;
	size_t nfields;
};

struct bench {
	struct position *pos;
	size_t npos;
	char *ids[MAX_DEVICES];
	char *state[MAX_DEVICES];
	int ndev;
	struct report_fields fields;	/* scratch for report_format */
};

static int
device_index(struct bench *b, const char *id)
{
	int i;

	for (i = 0; i < b->ndev; i++)
		if (strcmp(b->ids[i], id) == 0)
			return i;
	if (b->ndev == MAX_DEVICES)
		return -1;
	b->ids[b->ndev] = xstrdup(id);
	return b->ndev++;
}

/* Keeps a copy of each decoded report's stream fields. */
static void
on_frame(void *arg, const struct session_frame *f)
{
	struct bench *b = arg;
	struct position *p;
	int i, dev;

	if (f->result != REPORT_OK || b->npos == MAX_POSITIONS ||
	    report_format(f->report, &b->fields) < 0 ||
	    (dev = device_index(b, f->report->device)) < 0)
		return;
	p = &b->pos[b->npos++];
	p->dev = dev;
	p->nfields = (size_t)b->fields.n;
	p->fields = xcalloc(p->nfields, sizeof *p->fields);
	for (i = 0; i < b->fields.n; i++) {
		p->fields[i].key = b->fields.f[i].key;	/* static names */
		p->fields[i].value = xstrndup(b->fields.f[i].val, b->fields.f[i].len);
		p->fields[i].len = b->fields.f[i].len;
	}
}

static int
load(struct bench *b, const char *path)
{
	struct session *s = session_new(2048);
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	size_t len;
	long sz;
	bool close_peer = false;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "bench_rules: %s: %s\n", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		session_free(s);
		return -1;
	}
	buf = xmalloc((size_t)sz + 1);
	len = fread(buf, 1, (size_t)sz, fp);
	fclose(fp);
	session_feed(s, buf, len, 1700000000000, true, on_frame, b, &close_peer);
	free(buf);
	session_free(s);
	return 0;
}

/* One pass over every position; returns the alerts raised. */
static long
pass(struct bench *b, struct rules *r, long *errors)
{
	static const char *const none[1] = {NULL};
	long alerts = 0;
	size_t i;

	for (i = 0; i < b->npos; i++) {
		struct position *p = &b->pos[i];
		struct rules_pos rp = {p->fields, p->nfields, none, 0, none, 0, none, 0};
		const struct rules_result *res;

		res = rules_run(r, b->ids[p->dev], &rp, b->state[p->dev]);
		alerts += (long)res->nalerts;
		*errors += (long)res->nerrors;
		if (res->state != NULL) {
			free(b->state[p->dev]);
			b->state[p->dev] = xstrdup(res->state);
		}
	}
	return alerts;
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	struct bench *b = xcalloc(1, sizeof *b);
	struct rules *r = NULL;
	char path[4096], err[512];
	double seconds = 2;
	long alerts, errors = 0;
	int64_t t0, t;
	size_t runs = 0;
	int i, rc = 1;

	if (argc == 5 && strcmp(argv[3], "--seconds") == 0)
		seconds = atof(argv[4]);
	else if (argc != 3) {
		fprintf(stderr, "usage: bench_rules RULES.lua PREFIX [--seconds S]\n");
		free(b);
		return 2;
	}
	b->pos = xcalloc(MAX_POSITIONS, sizeof *b->pos);
	snprintf(path, sizeof path, "%s.tk103", argv[2]);
	if (load(b, path) < 0)
		goto out;
	snprintf(path, sizeof path, "%s.gps103", argv[2]);
	if (load(b, path) < 0)
		goto out;
	if (b->npos == 0) {
		fprintf(stderr, "bench_rules: no positions in %s.*\n", argv[2]);
		goto out;
	}
	if ((r = rules_load(argv[1], NULL, err, sizeof err)) == NULL) {
		fprintf(stderr, "bench_rules: %s\n", err);
		goto out;
	}
	alerts = pass(b, r, &errors);	/* warm-up: states settle */
	fprintf(stderr, "bench_rules: %zu positions of %d devices: %ld alerts, "
	    "%ld rule errors per pass\n", b->npos, b->ndev, alerts, errors);
	t0 = clock_mono_ns();
	do {
		pass(b, r, &errors);
		runs += b->npos;
		t = clock_mono_ns();
	} while ((double)(t - t0) < seconds * 1e9);
	printf("bench: rules_cost %.2f us/position\n", (double)(t - t0) / 1e3 / (double)runs);
	printf("bench: rules %.0f positions/s\n", (double)runs / ((double)(t - t0) / 1e9));
	rc = 0;
out:
	rules_free(r);
	for (size_t k = 0; k < b->npos; k++) {
		for (size_t j = 0; j < b->pos[k].nfields; j++)
			free((char *)b->pos[k].fields[j].value);
		free(b->pos[k].fields);
	}
	for (i = 0; i < b->ndev; i++) {
		free(b->ids[i]);
		free(b->state[i]);
	}
	free(b->pos);
	free(b);
	return rc;
}
