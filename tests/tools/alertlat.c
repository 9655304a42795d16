/*
 * alertlat.c: end-to-end alert latency, device send to SUBSCRIBE client.
 *
 * Subscribes to the P:alerts channel, notes the receive time of every SOS
 * alert (device, fix time), and once the fleet simulator's --stats file
 * appears, matches them to the simulator's send times of the SOS reports
 * (same device, same fix time) and prints the latency percentiles as
 * `bench: NAME VALUE UNIT` lines.  Both clocks are CLOCK_REALTIME on the
 * same machine.
 *
 * It stops when every SOS the simulator sent has been matched, when no
 * alert has come for --idle seconds after the stats file appeared, at
 * --duration, or on SIGINT/SIGTERM.  It leaves the alerts themselves to
 * the engine and never writes to Redis.
 */
#include <stddef.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis.h>
#include <async.h>
#include <adapters/libevent.h>
#include <jansson.h>

#include "lib/conf.h"
#include "lib/xmalloc.h"

#define MAX_SAMPLES 4000000	/* bound on recorded alerts */

struct sample {
	char dev[24];
	int64_t time_ms;
	int64_t us;		/* receive time, then matched send time */
	int64_t entry_ms;	/* the position's stream entry id: when
				 * Redis ran ingest's XADD */
};

struct lat {
	struct event_base *base;
	redisAsyncContext *rc;
	const char *url, *prefix, *stats, *ready;
	double duration, idle;
	struct sample *recv;
	size_t nrecv, caprecv;
	long long alerts, bad;
	int64_t start_us, last_us;
	/* the simulator's side, once its stats file exists */
	struct sample *sent;
	size_t nsent;
	size_t matched;
	bool done, failed;
};

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
sample_cmp(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int c = strcmp(x->dev, y->dev);

	if (c != 0)
		return c;
	return (x->time_ms > y->time_ms) - (x->time_ms < y->time_ms);
}

/* Reads the simulator's stats: the "sos" list of [device, time, sent_us]. */
static int
load_stats(struct lat *l)
{
	json_error_t jerr;
	json_t *root = json_load_file(l->stats, 0, &jerr), *sos, *e;
	size_t i;

	if (root == NULL)
		return -1;
	sos = json_object_get(root, "sos");
	l->sent = xcalloc(json_array_size(sos) + 1, sizeof *l->sent);
	json_array_foreach(sos, i, e) {
		const char *dev = json_string_value(json_array_get(e, 0));
		if (dev == NULL || strlen(dev) >= sizeof l->sent[0].dev)
			continue;
		strcpy(l->sent[l->nsent].dev, dev);
		l->sent[l->nsent].time_ms = json_integer_value(json_array_get(e, 1));
		l->sent[l->nsent].us = json_integer_value(json_array_get(e, 2));
		l->nsent++;
	}
	json_decref(root);
	qsort(l->sent, l->nsent, sizeof *l->sent, sample_cmp);
	return 0;
}

/*
 * Matches received alerts to sends; fills lat (ms), and when in_ingest is
 * given, the split of each at the position's XADD: send to stream entry
 * (in_ingest) and stream entry to alert received (in_engine), both in ms
 * with the entry id's millisecond resolution, and the send time (s, in
 * sent_s).  Returns the count.
 */
static size_t
match(struct lat *l, double *out, double *in_ingest, double *in_engine,
    double *sent_s)
{
	size_t i = 0, j = 0, n = 0;

	qsort(l->recv, l->nrecv, sizeof *l->recv, sample_cmp);
	while (i < l->nrecv && j < l->nsent) {
		int c = sample_cmp(&l->recv[i], &l->sent[j]);
		if (c < 0)
			i++;
		else if (c > 0)
			j++;
		else {
			if (out != NULL)
				out[n] = (double)(l->recv[i].us - l->sent[j].us) / 1000.0;
			if (in_ingest != NULL) {
				int64_t e = l->recv[i].entry_ms * 1000;

				in_ingest[n] = (double)(e - l->sent[j].us) / 1000.0;
				in_engine[n] = (double)(l->recv[i].us - e) / 1000.0;
				sent_s[n] = (double)l->sent[j].us / 1e6;
			}
			n++;
			j++;
			/* a repeated alert for the same report counts once */
			while (i < l->nrecv && sample_cmp(&l->recv[i], &l->sent[j - 1]) == 0)
				i++;
		}
	}
	return n;
}

static void
on_message(redisAsyncContext *c, void *r, void *arg)
{
	struct lat *l = arg;
	redisReply *reply = r, *msg;
	json_t *j;
	const char *type, *dev, *pos;
	int64_t now = wall_us();

	(void)c;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
		return;
	if (strcmp(reply->element[0]->str, "subscribe") == 0) {
		if (l->ready != NULL) {
			FILE *f = fopen(l->ready, "w");
			if (f != NULL)
				fclose(f);
		}
		return;
	}
	msg = reply->element[2];
	if (msg->type != REDIS_REPLY_STRING)
		return;
	l->alerts++;
	l->last_us = now;
	j = json_loadb(msg->str, msg->len, 0, NULL);
	type = json_string_value(json_object_get(j, "type"));
	dev = json_string_value(json_object_get(j, "device"));
	if (type == NULL || dev == NULL || strlen(dev) >= sizeof l->recv[0].dev) {
		l->bad++;
	} else if (strcmp(type, "sos") == 0 && l->nrecv < MAX_SAMPLES) {
		if (l->nrecv == l->caprecv) {
			l->caprecv = l->caprecv ? l->caprecv * 2 : 4096;
			l->recv = xreallocarray(l->recv, l->caprecv, sizeof *l->recv);
		}
		strcpy(l->recv[l->nrecv].dev, dev);
		l->recv[l->nrecv].time_ms = json_integer_value(json_object_get(j, "time"));
		l->recv[l->nrecv].us = now;
		pos = json_string_value(json_object_get(j, "position"));
		l->recv[l->nrecv].entry_ms = pos != NULL ? strtoll(pos, NULL, 10) : 0;
		l->nrecv++;
	}
	json_decref(j);
}

static void
on_connect(const redisAsyncContext *c, int status)
{
	struct lat *l = c->data;

	if (status != REDIS_OK) {
		fprintf(stderr, "alertlat: redis: %s\n", c->errstr);
		l->failed = true;
		l->rc = NULL;
		event_base_loopbreak(l->base);
	}
}

static void
on_disconnect(const redisAsyncContext *c, int status)
{
	struct lat *l = c->data;

	if (status != REDIS_OK && !l->done) {
		fprintf(stderr, "alertlat: redis connection lost: %s\n", c->errstr);
		l->failed = true;
	}
	l->rc = NULL;
	event_base_loopbreak(l->base);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lat *l = arg;
	int64_t now = wall_us();

	(void)fd;
	(void)what;
	if (l->sent == NULL && access(l->stats, R_OK) == 0 && load_stats(l) == 0)
		l->last_us = l->last_us > now ? l->last_us : now;
	if (l->sent != NULL &&
	    (match(l, NULL, NULL, NULL, NULL) >= l->nsent || now - l->last_us > (int64_t)(l->idle * 1e6)))
		l->done = true;
	if (now - l->start_us > (int64_t)(l->duration * 1e6))
		l->done = true;
	if (l->done)
		event_base_loopbreak(l->base);
}

static void
signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lat *l = arg;

	(void)fd;
	(void)what;
	l->done = true;
	event_base_loopbreak(l->base);
}

static double
pct(const double *v, size_t n, double p)
{
	size_t k = (size_t)ceil(p * (double)n);

	return v[k > 0 ? k - 1 : 0];
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
print_percentiles(struct lat *l, const char *samples)
{
	double *v = xcalloc(l->nrecv + 1, sizeof *v);
	double *vi = xcalloc(l->nrecv + 1, sizeof *vi);
	double *ve = xcalloc(l->nrecv + 1, sizeof *ve);
	double *at = xcalloc(l->nrecv + 1, sizeof *at);
	size_t n = match(l, v, vi, ve, at), i;
	FILE *f;

	if (samples != NULL && (f = fopen(samples, "w")) != NULL) {
		for (i = 0; i < n; i++)
			fprintf(f, "%.3f %.3f %.3f %.6f\n", v[i], vi[i], ve[i], at[i]);
		fclose(f);
	}

	printf("bench: e2e_alerts_received %lld alerts\n", l->alerts);
	printf("bench: e2e_sos_sent %zu reports\n", l->nsent);
	printf("bench: e2e_sos_matched %zu alerts\n", n);
	if (n > 0) {
		qsort(v, n, sizeof *v, dbl_cmp);
		printf("bench: e2e_latency_p50 %.2f ms\n", pct(v, n, 0.50));
		printf("bench: e2e_latency_p99 %.2f ms\n", pct(v, n, 0.99));
		printf("bench: e2e_latency_p999 %.2f ms\n", pct(v, n, 0.999));
		printf("bench: e2e_latency_max %.2f ms\n", v[n - 1]);
		/* Where the time goes: until Redis has the position, and
		 * from there to the subscriber (engine and PUBLISH). */
		qsort(vi, n, sizeof *vi, dbl_cmp);
		qsort(ve, n, sizeof *ve, dbl_cmp);
		printf("bench: e2e_to_stream_p50 %.2f ms\n", pct(vi, n, 0.50));
		printf("bench: e2e_to_stream_p99 %.2f ms\n", pct(vi, n, 0.99));
		printf("bench: e2e_stream_to_alert_p50 %.2f ms\n", pct(ve, n, 0.50));
		printf("bench: e2e_stream_to_alert_p99 %.2f ms\n", pct(ve, n, 0.99));
	}
	free(v);
	free(vi);
	free(ve);
	free(at);
}

struct lat_opts {
	const char *stats, *ready, *samples;
	double duration, idle;
};

static const struct conf_opt lat_opts_table[] = {
	{ .name = "stats", .type = CONF_STRING, .arg = "FILE",
	  .help = "the simulator's --stats file (read once it appears)",
	  .offset = offsetof(struct lat_opts, stats) },
	{ .name = "ready", .type = CONF_STRING, .arg = "FILE",
	  .help = "create FILE once subscribed",
	  .offset = offsetof(struct lat_opts, ready) },
	{ .name = "samples", .type = CONF_STRING, .arg = "FILE",
	  .help = "write every matched latency, one per line: total, to the stream and from it (ms), send time (s)",
	  .offset = offsetof(struct lat_opts, samples) },
	{ .name = "duration", .type = CONF_DOUBLE, .arg = "S", .min = 0.1,
	  .max = 86400, .def = "600", .help = "stop after S seconds in any case",
	  .offset = offsetof(struct lat_opts, duration) },
	{ .name = "idle", .type = CONF_DOUBLE, .arg = "S", .min = 0.1,
	  .max = 3600, .def = "3",
	  .help = "once the stats exist, stop after S seconds without an alert",
	  .offset = offsetof(struct lat_opts, idle) },
	{ .name = NULL },
};

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	struct conf_spec spec = {
		.prog = "alertlat",
		.synopsis = "--stats FILE [flags]",
		.about = "Alert latency: SOS sent by fleetsim to alert on SUBSCRIBE.",
		.opts = lat_opts_table,
	};
	struct lat_opts o;
	struct conf_common common;
	struct conf_redis cr;
	struct lat l;
	struct event *tick, *sigint, *sigterm;
	struct timeval tv = {0, 100000};
	char chan[256], err[CONF_ERR_LEN];
	const char *cmd[2];
	size_t lens[2];
	int first, rc;

	memset(&l, 0, sizeof l);
	memset(&o, 0, sizeof o);
	spec.values = &o;
	rc = conf_parse(&spec, &common, argc, argv, &first, err, sizeof err);
	if (rc == CONF_DONE)
		return 0;
	if (rc == CONF_ERROR || first < argc || o.stats == NULL) {
		fprintf(stderr, "alertlat: %s\n", rc == CONF_ERROR ? err :
		    first < argc ? "unexpected argument" : "--stats: required");
		return 2;
	}
	if (conf_redis_url(common.redis, &cr, err, sizeof err) < 0) {
		fprintf(stderr, "alertlat: --redis: %s\n", err);
		return 2;
	}
	l.url = common.redis;
	l.prefix = common.prefix;
	l.stats = o.stats;
	l.ready = o.ready;
	l.duration = o.duration;
	l.idle = o.idle;
	signal(SIGPIPE, SIG_IGN);
	l.base = event_base_new();
	/* A private bench server: no AUTH or SELECT here. */
	l.rc = cr.unix_socket ? redisAsyncConnectUnix(cr.path) :
	    redisAsyncConnect(cr.host, cr.port);
	if (l.rc == NULL || l.rc->err) {
		fprintf(stderr, "alertlat: redis: %s\n", l.rc ? l.rc->errstr : "out of memory");
		if (l.rc != NULL)
			redisAsyncFree(l.rc);
		event_base_free(l.base);
		return 1;
	}
	l.rc->data = &l;
	redisLibeventAttach(l.rc, l.base);
	redisAsyncSetConnectCallback(l.rc, on_connect);
	redisAsyncSetDisconnectCallback(l.rc, on_disconnect);
	snprintf(chan, sizeof chan, "%s:alerts", l.prefix);
	cmd[0] = "SUBSCRIBE";
	cmd[1] = chan;
	lens[0] = 9;
	lens[1] = strlen(chan);
	redisAsyncCommandArgv(l.rc, on_message, &l, 2, cmd, lens);
	l.start_us = l.last_us = wall_us();
	tick = event_new(l.base, -1, EV_PERSIST, tick_cb, &l);
	sigint = evsignal_new(l.base, SIGINT, signal_cb, &l);
	sigterm = evsignal_new(l.base, SIGTERM, signal_cb, &l);
	event_add(tick, &tv);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	event_base_dispatch(l.base);
	if (l.rc != NULL) {
		l.done = true;
		redisAsyncFree(l.rc);	/* runs on_disconnect, which clears l.rc */
	}
	if (l.sent == NULL && load_stats(&l) < 0)
		fprintf(stderr, "alertlat: %s: no stats from the simulator\n", l.stats);
	print_percentiles(&l, o.samples);
	rc = l.failed || l.bad > 0;
	event_free(tick);
	event_free(sigint);
	event_free(sigterm);
	event_base_free(l.base);
	free(l.recv);
	free(l.sent);
	return rc;
}
