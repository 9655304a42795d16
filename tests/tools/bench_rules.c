/*
 * bench_rules.c: in-process cost of a rules file's custom Lua rules per
 * position, the way engine/eval.c calls them: rules_run for each
 * position with the device's dev.state JSON from its previous position,
 * keeping the new state when the result carries one.
 *
 * usage: bench_rules RULES [MIX] [--seconds S] [--devices N]
 *
 * Positions: with MIX (what `fleetsim --dump MIX` writes: MIX.tk103 and
 * MIX.gps103, device byte streams) the reports decoded from it, the
 * fields ingest would write; without it (or when it yields nothing) a
 * synthetic fleet of N devices (default 1000; the devices a rules file
 * lists come first) driving through a day: moving, idling with the
 * ignition on, parked, power dipping, now and then a tampering alarm.
 * Either way each position is inside fence "north" for a stretch, so
 * pos.inside, pos.entered and pos.exited change like the engine's.
 *
 * A first pass over every position is a check: a rule error is a failure
 * (exit 1).  Then positions are replayed for --seconds (default 2) of
 * wall time, times moving forward every lap.  The cost is the thread's
 * CPU time per position (the machine may be shared: wall time would count
 * the other processes' turns too).  Prints
 *   bench: rules_per_position_us VALUE us
 *   bench: rules_positions_per_s VALUE pos/s
 */
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/report.h"
#include "ingest/session.h"
#include "lib/clock.h"
#include "lib/xmalloc.h"
#include "rules/rules.h"

#define MAX_POSITIONS 200000
#define MAX_FRAME 2048
#define T0_MS 1732320000000LL	/* a Saturday, 00:00 UTC */

struct bpos {
	int dev;			/* index into devices */
	size_t nfields;
	struct rules_field *fields;	/* key and value owned */
	int time_field;			/* index of "time" */
	int64_t time_ms;
	int phase;			/* 0 outside, 1 entered, 2 inside, 3 exited */
};

#define HASH_SLOTS 65536		/* device ids: open addressing */

struct bench {
	int hash[HASH_SLOTS];		/* device index + 1, 0: empty */
	struct bpos *pos;
	size_t npos, apos;
	char **devices;			/* ids, owned */
	char **states;			/* dev.state JSON per device, owned */
	size_t ndevices;
	struct rules *rules;
};

/* CPU time of this thread, nanoseconds. */
static int64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rules RULES [MIX] [--seconds S] "
	    "[--devices N]\n");
	exit(2);
}

static int
device_index(struct bench *b, const char *id)
{
	uint32_t h = 2166136261u;
	const char *c;
	size_t i;

	for (c = id; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	for (i = h % HASH_SLOTS; b->hash[i] != 0; i = (i + 1) % HASH_SLOTS)
		if (strcmp(b->devices[b->hash[i] - 1], id) == 0)
			return b->hash[i] - 1;
	if (b->ndevices >= HASH_SLOTS / 2) {
		fprintf(stderr, "bench_rules: too many devices\n");
		exit(1);
	}
	b->hash[i] = (int)b->ndevices + 1;
	b->devices = xreallocarray(b->devices, b->ndevices + 1,
	    sizeof *b->devices);
	b->devices[b->ndevices] = xstrdup(id);
	return (int)b->ndevices++;
}

/* Starts a position of device id; fields are added with add(). */
static struct bpos *
new_pos(struct bench *b, const char *id, size_t maxfields)
{
	struct bpos *p;

	if (b->npos == b->apos) {
		b->apos = b->apos ? b->apos * 2 : 1024;
		b->pos = xreallocarray(b->pos, b->apos, sizeof *b->pos);
	}
	p = &b->pos[b->npos++];
	memset(p, 0, sizeof *p);
	p->dev = device_index(b, id);
	p->fields = xcalloc(maxfields, sizeof *p->fields);
	p->time_field = -1;
	return p;
}

static void
add(struct bpos *p, const char *key, const char *val, size_t len)
{
	struct rules_field *f = &p->fields[p->nfields++];

	f->key = xstrdup(key);
	f->value = xstrndup(val, len);
	f->len = len;
	if (strcmp(key, "time") == 0) {
		p->time_field = (int)p->nfields - 1;
		p->time_ms = strtoll(f->value, NULL, 10);
	}
}

/* Adds v with the given number of decimals. */
static void
addf(struct bpos *p, const char *key, int decimals, double v)
{
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%.*f", decimals, v);

	add(p, key, buf, (size_t)n);
}

/* ==== Positions from a fleetsim dump ==== */

static void
on_frame(void *arg, const struct session_frame *f)
{
	struct bench *b = arg;
	struct report_fields *rf;
	struct bpos *p;
	const char *dev = NULL;
	size_t dlen = 0;
	char id[80];
	int i;

	if (f->result != REPORT_OK || b->npos >= MAX_POSITIONS)
		return;
	rf = xmalloc(sizeof *rf);
	if (report_format(f->report, rf) == 0) {
		for (i = 0; i < rf->n; i++)
			if (strcmp(rf->f[i].key, "device") == 0) {
				dev = rf->f[i].val;
				dlen = rf->f[i].len;
			}
	}
	if (dev != NULL && dlen > 0 && dlen < sizeof id) {
		memcpy(id, dev, dlen);
		id[dlen] = '\0';
		p = new_pos(b, id, (size_t)rf->n + 4);
		for (i = 0; i < rf->n; i++)
			add(p, rf->f[i].key, rf->f[i].val, rf->f[i].len);
		add(p, "raw", "(bench)", 7);
		add(p, "transport", "tcp", 3);
		add(p, "peer", "127.0.0.1:40000", 15);
		if (p->time_field < 0)
			b->npos--;	/* no fix time: the engine skips it */
	}
	free(rf);
}

static void
load_mix(struct bench *b, const char *prefix)
{
	static const char *const ext[] = { ".tk103", ".gps103" };
	struct session *s;
	uint8_t *buf;
	char *path;
	FILE *fp;
	size_t len, used, off;
	bool close_peer = false;
	int k;

	for (k = 0; k < 2; k++) {
		path = xasprintf("%s%s", prefix, ext[k]);
		fp = fopen(path, "rb");
		if (fp == NULL) {
			fprintf(stderr, "bench_rules: %s: %s\n", path,
			    strerror(errno));
			free(path);
			continue;
		}
		buf = xmalloc(64 << 20);
		len = fread(buf, 1, 64 << 20, fp);
		fclose(fp);
		s = session_new(MAX_FRAME);
		for (off = 0; off < len && !close_peer; off += used) {
			size_t n = len - off < 4096 ? len - off : 4096;

			used = session_feed(s, buf + off, n, T0_MS, off + n == len,
			    on_frame, b, &close_peer);
			if (used == 0)
				break;
		}
		session_free(s);
		free(buf);
		free(path);
	}
}

/* ==== A synthetic fleet ==== */

static void
synth(struct bench *b, size_t ndev)
{
	const char *id;
	char idbuf[32];
	size_t d, i, steps = MAX_POSITIONS / 2 / (ndev > 0 ? ndev : 1);
	struct bpos *p;
	int64_t t;
	uint32_t rng = 12345;

	for (d = 0; d < ndev; d++) {
		id = rules_device_id(b->rules, d);
		if (id == NULL) {
			snprintf(idbuf, sizeof idbuf, "35971004%07zu", d);
			id = idbuf;
		}
		device_index(b, id);
	}
	if (steps < 10)
		steps = 10;
	for (i = 0; i < steps; i++)
		for (d = 0; d < ndev; d++) {
			/* A 48-step cycle: 12 moving, 12 idling with the
			 * ignition on, 24 parked; power sags while parked. */
			int phase = (int)((i + d) % 48);
			bool moving = phase < 12, idle = phase >= 12 && phase < 24;
			double speed, power;

			rng = rng * 1103515245u + 12345u;
			speed = moving ? 20 + (rng >> 16) % 90 : 0;
			power = phase < 30 ? 12.6 : 11.0 + (double)(rng % 10) / 10;
			t = T0_MS + (int64_t)i * 60000 + (int64_t)d * 7;
			p = new_pos(b, b->devices[d], 20);
			add(p, "device", b->devices[d], strlen(b->devices[d]));
			add(p, "proto", d % 2 ? "tk103" : "gps103",
			    d % 2 ? 5 : 6);
			addf(p, "time", 0, (double)t);
			addf(p, "recv", 0, (double)t + 300);
			add(p, "valid", "1", 1);
			addf(p, "lat", 6, 51.0 + (double)(i % 100) / 1000);
			addf(p, "lon", 6, -114.0 - (double)(d % 100) / 1000);
			addf(p, "speed", 1, speed);
			addf(p, "course", 0, (double)((i * 7 + d) % 360));
			add(p, "ignition", moving || idle ? "1" : "0", 1);
			addf(p, "power", 1, power);
			addf(p, "battery", 1, 4.1);
			addf(p, "sat", 0, (double)(7 + rng % 5));
			if ((rng >> 8) % 500 == 0)
				add(p, "alarm", "tampering", 9);
			add(p, "raw", "(027028241337BR00...)", 21);
			add(p, "transport", "tcp", 3);
			add(p, "peer", "127.0.0.1:40000", 15);
		}
}

/* ==== Running ==== */

static const char *const north[] = { "north" };

/* Fence phases: a device is inside "north" for 10 of every 30 positions. */
static void
assign_phases(struct bench *b)
{
	size_t *seen = xcalloc(b->ndevices, sizeof *seen), i;
	size_t k;

	for (i = 0; i < b->npos; i++) {
		k = seen[b->pos[i].dev]++ % 30;
		b->pos[i].phase = k < 19 ? 0 : k == 19 ? 1 : k < 29 ? 2 : 3;
	}
	free(seen);
}

/* One rules_run; returns the number of errors (printing the first). */
static size_t
run_one(struct bench *b, struct bpos *p, int64_t shift_ms, bool verbose)
{
	struct rules_pos rp;
	const struct rules_result *res;
	char tbuf[32];
	const char *dev = b->devices[p->dev];
	struct rules_field saved = { 0 };

	memset(&rp, 0, sizeof rp);
	rp.fields = p->fields;
	rp.nfields = p->nfields;
	if (shift_ms != 0 && p->time_field >= 0) {
		struct rules_field *tf = &p->fields[p->time_field];

		saved = *tf;
		tf->len = (size_t)snprintf(tbuf, sizeof tbuf, "%lld",
		    (long long)(p->time_ms + shift_ms));
		tf->value = tbuf;
	}
	if (p->phase == 1 || p->phase == 2) {
		rp.inside = north;
		rp.ninside = 1;
	}
	if (p->phase == 1) {
		rp.entered = north;
		rp.nentered = 1;
	} else if (p->phase == 3) {
		rp.exited = north;
		rp.nexited = 1;
	}
	res = rules_run(b->rules, dev, &rp, b->states[p->dev]);
	if (shift_ms != 0 && p->time_field >= 0)
		p->fields[p->time_field] = saved;
	if (res->state != NULL) {
		free(b->states[p->dev]);
		b->states[p->dev] = strcmp(res->state, "{}") == 0 ? NULL :
		    xstrdup(res->state);
	}
	if (verbose && res->nerrors > 0)
		fprintf(stderr, "bench_rules: device %s, rule %s: %s\n", dev,
		    res->errors[0].rule, res->errors[0].message);
	return res->nerrors;
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	static struct bench b;
	const char *rules_path = NULL, *mix = NULL;
	double seconds = 2;
	long ndev = 1000;
	char err[512];
	int64_t start, now, deadline, span_ms, cpu0, cpu;
	long long runs = 0, laps = 0;
	size_t i, errors = 0;
	bool from_mix;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--seconds") == 0 && a + 1 < argc)
			seconds = atof(argv[++a]);
		else if (strcmp(argv[a], "--devices") == 0 && a + 1 < argc)
			ndev = atol(argv[++a]);
		else if (argv[a][0] == '-')
			usage();
		else if (rules_path == NULL)
			rules_path = argv[a];
		else if (mix == NULL)
			mix = argv[a];
		else
			usage();
	}
	if (rules_path == NULL || seconds <= 0 || ndev < 1)
		usage();
	b.rules = rules_load(rules_path, NULL, err, sizeof err);
	if (b.rules == NULL) {
		fprintf(stderr, "bench_rules: %s\n", err);
		return 1;
	}
	if (mix != NULL)
		load_mix(&b, mix);
	from_mix = b.npos > 0;
	if (!from_mix)
		synth(&b, (size_t)ndev);
	b.states = xcalloc(b.ndevices, sizeof *b.states);
	assign_phases(&b);

	for (i = 0; i < b.npos; i++)
		errors += run_one(&b, &b.pos[i], 0, errors == 0);
	if (errors > 0) {
		fprintf(stderr, "bench_rules: %zu rule errors in the check "
		    "pass\n", errors);
		return 1;
	}
	span_ms = b.pos[b.npos - 1].time_ms - b.pos[0].time_ms + 60000;
	if (span_ms < 60000)
		span_ms = 60000;
	start = clock_mono_ns();
	cpu0 = cpu_ns();
	deadline = start + (int64_t)(seconds * 1e9);
	do {
		laps++;
		for (i = 0; i < b.npos; i++)
			run_one(&b, &b.pos[i], laps * span_ms, false);
		runs += (long long)b.npos;
		now = clock_mono_ns();
	} while (now < deadline);
	cpu = cpu_ns() - cpu0;
	printf("bench: rules_per_position_us %.3f us\n",
	    (double)cpu / 1e3 / (double)runs);
	printf("bench: rules_positions_per_s %.0f pos/s\n",
	    (double)runs / ((double)cpu / 1e9));
	fprintf(stderr, "bench_rules: %zu positions of %zu devices, %lld "
	    "laps, %s\n", b.npos, b.ndevices, laps,
	    from_mix ? "from the mix" : "synthetic");

	for (i = 0; i < b.npos; i++) {
		size_t k;

		for (k = 0; k < b.pos[i].nfields; k++) {
			free((char *)b.pos[i].fields[k].key);
			free((char *)b.pos[i].fields[k].value);
		}
		free(b.pos[i].fields);
	}
	free(b.pos);
	for (i = 0; i < b.ndevices; i++) {
		free(b.devices[i]);
		free(b.states[i]);
	}
	free(b.devices);
	free(b.states);
	rules_free(b.rules);
	return 0;
}
