/*
 * fleetsim.c: a fleet of simulated TK103-family trackers for tests and
 * benchmarks.
 *
 * N devices over TCP (one connection each) and M over UDP (one socket
 * each) drive tracks (straight legs between waypoints, a speed per leg,
 * stops, GPS jitter) and send them in both dialects: TK103 fixed-layout
 * frames (BP05 login, BR00 reports, BO01 code 2 for SOS) and GPS103 lines
 * (`##,imei:…,A;` login, `imei:…,tracker,…;` F reports with local date and
 * UTC time, `help me` for SOS).  Reports go out at an aggregate rate or as
 * fast as the sockets take them, bounded by --duration and --count, to a
 * loopback address only.
 *
 * With --fences the legs run through fence centres, so they cross edges;
 * with --expect the simulator writes, one JSON object per line, the alerts
 * the engine should raise for what it sent: fence enters and exits computed
 * with its own geometry (circles in a local ellipsoidal projection,
 * polygons by crossing number, corridors by segment distance), SOS reports
 * and overspeed episodes under the rule settings given as flags.  GPS
 * jitter is redrawn when a fix would land within a few metres of an edge,
 * so the expectation never depends on rounding at a boundary.
 *
 * With --stats it writes what it sent (per transport and dialect) and the
 * send time of every SOS report, keyed by device and fix time, for
 * latency measurement (tests/tools/alertlat.c).  --dump writes the frames
 * to files instead of sending them (input for tests/tools/bench_decode.c).
 *
 * Device i (of N TCP and M UDP) is a UDP device when floor((i+1)M/(N+M))
 * > floor(iM/(N+M)); the k-th device of its transport speaks TK103 when k
 * is even, else GPS103.  Ids for seed s: TK103 "0" + s mod 100 (2 digits)
 * + i (9 digits), with IMEI "35" + s mod 100 + i (11 digits); GPS103 IMEI
 * "86" + s mod 100 + i (11 digits).
 *
 * What it leaves to others: the server's decoding and alerting (it only
 * predicts them) and Redis (it never talks to it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/xmalloc.h"
#include "tests/tools/simframe.h"
#include "tests/tools/simgeo.h"

#define TCP_ROOM 16384		/* unsent bytes a TCP device may queue */
#define SAT_BURST 8		/* reports per write, as fast as possible */
#define MAX_INFLIGHT 256	/* concurrent connects: keeps the listen backlog sane */
#define LOGIN_WAIT_MS 5000	/* a device that hears no ack reports anyway */
#define DRAIN_MS 10000		/* bound on flushing queued bytes at the end */
#define SOS_MAX 2000000		/* bound on recorded SOS send times */

/* ==== Options ==== */

struct opts {
	const char *target, *center;
	int64_t tcp, udp, count, start, seed, interval, sos_every, heartbeat_every;
	double rate, duration, hold, connect_timeout;
	double speed_limit, od_duration, od_hyst, radius_km;
	const char *fences, *stats, *expect, *dump, *ready;
	/* derived */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	double clon, clat;
};

/*
 * Parses HOST:PORT into *ss when HOST is a loopback address (127.0.0.0/8,
 * ::1, ::ffff:127.x.y.z or "localhost"); anything else is refused, since
 * the simulator is a load generator.  Returns 0, or -1 with err set.
 */
static int
target_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    char *err, size_t errlen)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(s, ':');
	char host[64], *end;
	size_t hl;
	long port;

	if (colon == NULL) {
		snprintf(err, errlen, "expected HOST:PORT");
		return -1;
	}
	hl = (size_t)(colon - s);
	if (hl > 1 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	port = strtol(colon + 1, &end, 10);
	if (hl == 0 || hl >= sizeof host || *end != '\0' || end == colon + 1 ||
	    port < 1 || port > 65535) {
		snprintf(err, errlen, "expected HOST:PORT with a port in 1-65535");
		return -1;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof *a4;
		if ((ntohl(a4->sin_addr.s_addr) >> 24) == 127)
			return 0;
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		const uint8_t *b = a6->sin6_addr.s6_addr;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof *a6;
		if (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && b[12] == 127))
			return 0;
	} else {
		snprintf(err, errlen, "%s is not a numeric loopback address", host);
		return -1;
	}
	snprintf(err, errlen, "refusing %s: only loopback targets", host);
	return -1;
}

static int
check_target(const char *val, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return target_parse(val, &ss, &len, err, errlen);
}

static int
center_parse(const char *val, double *lon, double *lat, char *err, size_t errlen)
{
	char *end;

	*lon = strtod(val, &end);
	if (*end == ',')
		*lat = strtod(end + 1, &end);
	if (*end != '\0' || !(fabs(*lon) <= 180) || !(fabs(*lat) <= 80)) {
		snprintf(err, errlen, "expected LON,LAT (latitude within 80)");
		return -1;
	}
	return 0;
}

static int
check_center(const char *val, char *err, size_t errlen)
{
	double lon = 0, lat = 0;

	return center_parse(val, &lon, &lat, err, errlen);
}

#define OPT(n, t, a, lo, hi, d, h, f) { .name = n, .type = t, .arg = a, \
	.min = lo, .max = hi, .def = d, .help = h, .offset = offsetof(struct opts, f) }

static const struct conf_opt fleet_opts[] = {
	{ .name = "target", .type = CONF_STRING, .arg = "HOST:PORT",
	  .help = "the ingest to load; loopback addresses only",
	  .offset = offsetof(struct opts, target), .check = check_target },
	OPT("tcp", CONF_INT, "N", 0, 60000, "10", "devices over TCP, one connection each", tcp),
	OPT("udp", CONF_INT, "M", 0, 60000, "0", "devices over UDP, one socket each", udp),
	OPT("rate", CONF_DOUBLE, "R", 0, 1e8, "100",
	    "aggregate reports/s; 0 = as fast as the sockets take them", rate),
	OPT("duration", CONF_DOUBLE, "S", 0.01, 86400, "10", "length of the reporting phase, s", duration),
	OPT("count", CONF_INT, "C", 0, 1e11, "0", "stop after C reports in all (0: no limit)", count),
	OPT("seed", CONF_INT, "N", 0, 4e9, "1", "tracks, ids and dialects derive from it", seed),
	OPT("fences", CONF_STRING, "FILE", 0, 0, NULL,
	    "GeoJSON FeatureCollection to aim the tracks through", fences),
	OPT("sos-every", CONF_INT, "K", 0, 1e9, "0", "every K-th report of a device is an SOS", sos_every),
	OPT("heartbeat-every", CONF_INT, "K", 0, 1e9, "0", "a heartbeat after every K-th report", heartbeat_every),
	OPT("interval", CONF_INT, "S", 1, 86400, "10", "simulated seconds between a device's fixes", interval),
	OPT("start", CONF_INT, "EPOCH_S", 946684800, 4102444800, NULL,
	    "fix time of every device's first report (default: a day ago)", start),
	OPT("stats", CONF_STRING, "FILE", 0, 0, NULL, "write counts and SOS send times (JSON)", stats),
	OPT("expect", CONF_STRING, "FILE", 0, 0, NULL,
	    "write the alerts the tracks should raise (JSON lines)", expect),
	OPT("dump", CONF_STRING, "PREFIX", 0, 0, NULL,
	    "write the frames to PREFIX.tk103 and PREFIX.gps103 instead (needs --count)", dump),
	OPT("ready", CONF_STRING, "FILE", 0, 0, NULL, "create FILE once every device is connected", ready),
	OPT("hold", CONF_DOUBLE, "S", 0, 3600, "0", "then wait S seconds before reporting", hold),
	OPT("connect-timeout", CONF_DOUBLE, "S", 0.1, 3600, "30", "bound on the connect phase", connect_timeout),
	OPT("speed-limit", CONF_DOUBLE, "KMH", 1, 1000, "100", "rule setting for --expect", speed_limit),
	OPT("overspeed-duration", CONF_DOUBLE, "S", 0, 86400, "30", "rule setting for --expect", od_duration),
	OPT("overspeed-hysteresis", CONF_DOUBLE, "KMH", 0, 1000, "5", "rule setting for --expect", od_hyst),
	{ .name = "center", .type = CONF_STRING, .arg = "LON,LAT", .def = "11.5,48.1",
	  .help = "centre of the tracks when there are no fences",
	  .offset = offsetof(struct opts, center), .check = check_center },
	OPT("radius", CONF_DOUBLE, "KM", 0.1, 2000, "20", "tracks stay within KM of the centre", radius_km),
	{ .name = NULL },
};

static void
bad_flag(const char *name, const char *why)
{
	fprintf(stderr, "fleetsim: --%s: %s\n", name, why);
	exit(2);
}

static void
parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct conf_spec spec = {
		.prog = "fleetsim",
		.synopsis = "--target 127.0.0.1:PORT [flags]  |  --dump PREFIX --count C [flags]",
		.about = "A fleet of simulated TK103/GPS103 trackers over TCP and UDP.",
		.opts = fleet_opts,
	};
	struct conf_spec sp = spec;
	struct conf_common common;
	char err[CONF_ERR_LEN];
	int first, rc;

	memset(o, 0, sizeof *o);
	sp.values = o;
	rc = conf_parse(&sp, &common, argc, argv, &first, err, sizeof err);
	if (rc == CONF_DONE)
		exit(0);
	if (rc == CONF_ERROR) {
		fprintf(stderr, "fleetsim: %s\n", err);
		exit(2);
	}
	if (first < argc) {
		fprintf(stderr, "fleetsim: unexpected argument: %s\n", argv[first]);
		exit(2);
	}
	if (o->target != NULL &&
	    target_parse(o->target, &o->addr, &o->addrlen, err, sizeof err) < 0)
		bad_flag("target", err);
	if (center_parse(o->center, &o->clon, &o->clat, err, sizeof err) < 0)
		bad_flag("center", err);
	if (o->dump != NULL && o->count == 0)
		bad_flag("dump", "needs --count");
	if (o->dump == NULL && o->target == NULL)
		bad_flag("target", "required (127.0.0.1:PORT)");
	if (o->tcp + o->udp == 0)
		bad_flag("tcp", "no devices (--tcp and --udp are both 0)");
}

/* ==== Simulation state ==== */

enum dev_state { DS_IDLE, DS_CONNECTING, DS_LOGIN, DS_READY };

struct fleet;

struct device {
	struct fleet *fl;
	int idx;
	bool gps103, udp;
	char id[16];		/* TK103: 12-char id; GPS103: IMEI */
	char imei[16];
	int tz_min;		/* GPS103 device clock offset from UTC */
	struct track tr;
	long long seq;		/* reports made */
	/* network */
	enum dev_state state;
	struct bufferevent *bev;
	int fd;
	struct event *rev, *wev;
	char *pend;		/* UDP datagram waiting for EAGAIN to pass */
	size_t pendlen;
	int64_t since_ms, retry_ms;
	int backoff_ms;
	bool logged_in;
	/* expectation */
	int *inside;
	int ninside, capinside;
	bool od_on, od_alerted;
	int64_t od_start;
};

struct sos_rec {
	int dev;
	int64_t time_ms, sent_us;
};

struct fleet {
	struct opts o;
	struct event_base *base;
	struct device *devs;
	int ndev;
	struct simgeo geo;
	struct track_params tp;
	FILE *expect, *dump_tk, *dump_gps;
	int64_t t0_ms;		/* simulated time of every device's first fix */
	/* phases */
	int phase;		/* 0 connect, 1 hold, 2 report, 3 drain */
	int64_t phase_ms, report_start_ms;
	int conn_cursor, inflight, nready, rr;
	bool stop;
	struct event *tick, *house, *sigint, *sigterm;
	/* counters */
	long long total, total_at_start, per[2][2];	/* [udp][gps103] */
	long long sos, heartbeats, bytes, lost, replies, ambiguous;
	long long connects, connect_fail, disconnects, login_timeouts, lag;
	int64_t first_us, last_us;
	struct sos_rec *sosv;
	size_t nsos, capsos;
};

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ==== Expectation ==== */

static void
expect_line(struct fleet *fl, const struct device *d, int64_t t,
    const char *type, const char *fence)
{
	fprintf(fl->expect, "{\"device\":\"%s\",\"time\":%lld,\"type\":\"%s\"",
	    d->id, (long long)t, type);
	if (fence != NULL) {
		json_t *js = json_string(fence);
		fputs(",\"fence\":", fl->expect);
		if (js == NULL || json_dumpf(js, fl->expect, JSON_ENCODE_ANY) < 0)
			fputs("null", fl->expect);
		json_decref(js);
	}
	fputs("}\n", fl->expect);
}

static void
expect_report(struct fleet *fl, struct device *d, const struct simframe_seen *sn,
    const int *in, int nin)
{
	double limit = fl->o.speed_limit;
	const char *from = NULL;	/* the fence whose limit applies */
	int i, j;

	if (sn->sos)
		expect_line(fl, d, sn->time_ms, "sos", NULL);
	/* A fence's limit wins inside it; inside several, the lowest (the
	 * first id in byte order among equals), and the alert names it. */
	for (i = 0; i < nin; i++) {
		const struct sim_fence *f = &fl->geo.fences[in[i]];
		if (f->speed_limit > 0 && (from == NULL || f->speed_limit < limit ||
		    (f->speed_limit == limit && strcmp(f->id, from) < 0))) {
			limit = f->speed_limit;
			from = f->id;
		}
	}
	if (sn->speed > limit) {
		if (!d->od_on) {
			d->od_on = true;
			d->od_alerted = false;
			d->od_start = sn->time_ms;
		}
		if (!d->od_alerted &&
		    sn->time_ms - d->od_start >= (int64_t)(fl->o.od_duration * 1000)) {
			d->od_alerted = true;
			expect_line(fl, d, sn->time_ms, "overspeed", from);
		}
	} else if (sn->speed <= limit - fl->o.od_hyst)
		d->od_on = false;
	/* Exits before enters; both lists are sorted by fence index. */
	for (i = 0, j = 0; i < d->ninside; i++) {
		while (j < nin && in[j] < d->inside[i])
			j++;
		if (j == nin || in[j] != d->inside[i])
			expect_line(fl, d, sn->time_ms, "fence_exit",
			    fl->geo.fences[d->inside[i]].id);
	}
	for (i = 0, j = 0; i < nin; i++) {
		while (j < d->ninside && d->inside[j] < in[i])
			j++;
		if (j == d->ninside || d->inside[j] != in[i])
			expect_line(fl, d, sn->time_ms, "fence_enter",
			    fl->geo.fences[in[i]].id);
	}
	if (nin > d->capinside) {
		d->capinside = nin;
		d->inside = xreallocarray(d->inside, (size_t)nin, sizeof(int));
	}
	if (nin > 0)
		memcpy(d->inside, in, (size_t)nin * sizeof(int));
	d->ninside = nin;
}

/*
 * Makes the device's next report: advances the track, picks a jittered
 * fix away from fence edges, writes the expectation.  Returns the length.
 */
static size_t
next_report(struct fleet *fl, struct device *d, char *buf, bool *sos)
{
	int64_t t = fl->t0_ms + d->seq * fl->o.interval * 1000;
	double x, y;
	int in[64], nin = 0, tries;
	bool near = false;
	struct simframe_seen sn = {0, 0, 0, 0, false};
	size_t n = 0;

	if (d->seq > 0)
		track_advance(&fl->geo, &fl->tp, &d->tr, (double)fl->o.interval);
	/* Each device in its own phase, so SOS alerts come at an even rate
	 * rather than from the whole fleet at once every K rounds. */
	*sos = fl->o.sos_every > 0 && d->seq > 0 &&
	    (d->seq + d->idx) % fl->o.sos_every == 0;
	for (tries = 0; tries < 16; tries++) {
		track_fix(&d->tr, tries, &x, &y);
		struct simframe_in fin = {d->id, d->imei, d->gps103, d->seq == 0,
		    *sos, d->tz_min, t, y, x, d->tr.speed, d->tr.course, d->tr.odo};
		n = simframe_report(&fin, buf, &sn);
		if (fl->expect == NULL)
			break;
		nin = simgeo_covering(&fl->geo, d->id, sn.lon, sn.lat, in, 64, &near);
		if (!near)
			break;
	}
	if (near)
		fl->ambiguous++;
	if (fl->expect != NULL)
		expect_report(fl, d, &sn, in, nin);
	d->seq++;
	return n;
}

/* ==== Devices ==== */

static void
device_init(struct fleet *fl, struct device *d, int idx)
{
	static const int tzs[] = {0, 60, 120, -300, 330, 540, -480, 180};
	long long n = fl->o.tcp + fl->o.udp, m = fl->o.udp;
	long long udp_before = idx * m / n;
	uint64_t seed;

	memset(d, 0, sizeof *d);
	d->fl = fl;
	d->idx = idx;
	d->fd = -1;
	/* UDP devices are spread evenly among the TCP ones, so a pass of the
	 * scheduler never sends them in one burst; within each transport the
	 * dialects alternate, TK103 first. */
	d->udp = (idx + 1) * m / n > udp_before;
	d->gps103 = (d->udp ? udp_before : idx - udp_before) % 2 == 1;
	seed = (uint64_t)fl->o.seed * 0x100000001b3ULL + (uint64_t)idx * 0x9e3779b97f4a7c15ULL + 1;
	snprintf(d->imei, sizeof d->imei, "%s%02lu%011d", d->gps103 ? "86" : "35",
	    (unsigned long)(fl->o.seed % 100), idx);
	if (d->gps103)
		memcpy(d->id, d->imei, sizeof d->id);
	else
		snprintf(d->id, sizeof d->id, "0%02lu%09d", (unsigned long)(fl->o.seed % 100), idx);
	d->tz_min = tzs[rnd(&seed) % 8];
	track_init(&fl->geo, &fl->tp, &d->tr, seed);
}

/*
 * Counts a report; now is the wall time taken just before its bytes were
 * handed to the socket (or queued for it), so a latency measured from it
 * can err only on the high side, by the event-loop pass that writes them.
 */
static void
count_sent(struct fleet *fl, struct device *d, bool sos, int64_t t_ms, int64_t now)
{
	fl->total++;
	fl->per[d->udp][d->gps103]++;
	if (fl->phase == 2) {
		if (fl->first_us == 0)
			fl->first_us = now;
		fl->last_us = now;
	}
	if (sos) {
		fl->sos++;
		if (fl->nsos < SOS_MAX) {
			if (fl->nsos == fl->capsos) {
				fl->capsos = fl->capsos ? fl->capsos * 2 : 1024;
				fl->sosv = xreallocarray(fl->sosv, fl->capsos, sizeof *fl->sosv);
			}
			fl->sosv[fl->nsos++] = (struct sos_rec){d->idx, t_ms, now};
		}
	}
}

static void udp_write_cb(evutil_socket_t fd, short what, void *arg);

/* Sends one datagram or keeps it for the write event; false if lost. */
static bool
udp_send(struct device *d, const char *buf, size_t len)
{
	ssize_t n = send(d->fd, buf, len, 0);

	if (n < 0 && errno == ECONNREFUSED)	/* an earlier datagram's ICMP */
		n = send(d->fd, buf, len, 0);
	if (n == (ssize_t)len) {
		d->fl->bytes += (long long)len;
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
		d->pend = xmemdup(buf, len);
		d->pendlen = len;
		event_add(d->wev, NULL);
		return true;
	}
	d->fl->lost++;
	return false;
}

static void
udp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct device *d = arg;
	ssize_t n = send(fd, d->pend, d->pendlen, 0);

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
		event_add(d->wev, NULL);
		return;
	}
	if (n == (ssize_t)d->pendlen)
		d->fl->bytes += (long long)n;
	else
		d->fl->lost++;
	free(d->pend);
	d->pend = NULL;
}

/* Queues bytes on the device's transport. */
static void
dev_send(struct device *d, const char *buf, size_t len)
{
	if (d->udp)
		udp_send(d, buf, len);
	else {
		bufferevent_write(d->bev, buf, len);
		d->fl->bytes += (long long)len;
	}
}

static bool
dev_has_room(const struct device *d)
{
	if (d->state != DS_READY)
		return false;
	if (d->udp) {
		/* Datagrams see no backpressure: as fast as possible, keep
		 * each UDP device to the pace of the average TCP device. */
		const struct fleet *fl = d->fl;
		if (fl->o.rate == 0 && fl->o.tcp > 0 &&
		    d->seq > (fl->per[0][0] + fl->per[0][1]) / fl->o.tcp + 1)
			return false;
		return d->pend == NULL;
	}
	return evbuffer_get_length(bufferevent_get_output(d->bev)) < TCP_ROOM;
}

static bool
budget_left(const struct fleet *fl)
{
	return fl->o.count == 0 || fl->total < fl->o.count;
}

static void
send_report(struct fleet *fl, struct device *d)
{
	char buf[SIMFRAME_MAX];
	int64_t t = fl->t0_ms + d->seq * fl->o.interval * 1000;
	bool sos;
	size_t n = next_report(fl, d, buf, &sos);

	int64_t now = wall_us();

	dev_send(d, buf, n);
	count_sent(fl, d, sos, t, now);
	if (fl->o.heartbeat_every > 0 && d->seq % fl->o.heartbeat_every == 0) {
		dev_send(d, buf, simframe_heartbeat(d->gps103, d->id, d->imei, buf));
		fl->heartbeats++;
	}
}

static void
set_ready(struct fleet *fl, struct device *d)
{
	if (d->state != DS_READY) {
		d->state = DS_READY;
		fl->nready++;
	}
}

static void
start_login(struct fleet *fl, struct device *d)
{
	char buf[SIMFRAME_MAX];

	d->state = DS_LOGIN;
	d->since_ms = clock_mono_ms();
	if (d->gps103)
		dev_send(d, buf, simframe_login(d->imei, buf));
	else if (d->seq == 0) {
		if (!budget_left(fl)) {
			set_ready(fl, d);
			return;
		}
		send_report(fl, d);	/* BP05: the login is also a report */
	} else {
		dev_send(d, buf, simframe_heartbeat(d->gps103, d->id, d->imei, buf));
		fl->heartbeats++;
	}
	if (d->udp)
		set_ready(fl, d);	/* UDP devices do not wait for the ack */
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct device *d = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char buf[4096];
	int n;

	while ((n = evbuffer_remove(in, buf, sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		d->fl->replies += n;
		if (d->state == DS_LOGIN &&
		    (strstr(buf, "LOAD") != NULL || strstr(buf, "AP05)") != NULL ||
		     strstr(buf, "AP01HSO)") != NULL)) {
			d->logged_in = true;
			set_ready(d->fl, d);
		}
	}
}

static void
tcp_drop(struct fleet *fl, struct device *d)
{
	if (d->state == DS_READY)
		fl->nready--;
	if (d->bev != NULL) {
		fl->lost += evbuffer_get_length(bufferevent_get_output(d->bev)) > 0;
		bufferevent_free(d->bev);
		d->bev = NULL;
	}
	d->state = DS_IDLE;
	d->backoff_ms = d->backoff_ms == 0 ? 100 : d->backoff_ms * 2;
	if (d->backoff_ms > 2000)
		d->backoff_ms = 2000;
	d->retry_ms = clock_mono_ms() + d->backoff_ms;
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct device *d = arg;
	struct fleet *fl = d->fl;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		fl->inflight--;
		fl->connects++;
		d->backoff_ms = 0;
		start_login(fl, d);
		return;
	}
	if (d->state == DS_CONNECTING) {
		fl->inflight--;
		fl->connect_fail++;
	} else
		fl->disconnects++;
	tcp_drop(fl, d);
}

static void
tcp_connect(struct fleet *fl, struct device *d)
{
	d->bev = bufferevent_socket_new(fl->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(d->bev, tcp_read_cb, NULL, tcp_event_cb, d);
	bufferevent_enable(d->bev, EV_READ | EV_WRITE);
	d->state = DS_CONNECTING;
	fl->inflight++;
	if (bufferevent_socket_connect(d->bev, (struct sockaddr *)&fl->o.addr,
	    (int)fl->o.addrlen) < 0) {
		/* bufferevent already reported through the event callback
		 * when it could; otherwise (EMFILE) treat it the same way. */
		if (d->bev != NULL && d->state == DS_CONNECTING) {
			fl->inflight--;
			fl->connect_fail++;
			tcp_drop(fl, d);
		}
	}
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct device *d = arg;
	char buf[512];
	ssize_t n;

	(void)what;
	while ((n = recv(fd, buf, sizeof buf, 0)) >= 0)
		d->fl->replies += n;
}

static int
udp_open(struct fleet *fl, struct device *d)
{
	d->fd = socket(fl->o.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0 || connect(d->fd, (struct sockaddr *)&fl->o.addr, fl->o.addrlen) < 0) {
		fprintf(stderr, "fleetsim: udp socket: %s\n", strerror(errno));
		return -1;
	}
	d->rev = event_new(fl->base, d->fd, EV_READ | EV_PERSIST, udp_read_cb, d);
	d->wev = event_new(fl->base, d->fd, EV_WRITE, udp_write_cb, d);
	event_add(d->rev, NULL);
	start_login(fl, d);
	return 0;
}

/* ==== Phases ==== */

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *fl = arg;
	int64_t now = clock_mono_ms(), due;
	int scanned = 0, made = 0;
	struct timeval tv = {0, 1000};

	(void)fd;
	(void)what;
	if (fl->phase != 2)
		return;
	if (fl->stop || !budget_left(fl) ||
	    now - fl->report_start_ms >= (int64_t)(fl->o.duration * 1000)) {
		fl->phase = 3;
		fl->phase_ms = now;
		return;
	}
	if (fl->o.rate > 0) {
		due = (int64_t)(fl->o.rate * (double)(now - fl->report_start_ms) / 1000.0)
		    - (fl->total - fl->total_at_start + fl->lag);
		/* Fall behind by at most 100 ms worth of reports, then give up
		 * on them (counted): a burst would distort latency figures. */
		if (due > (int64_t)(fl->o.rate / 10) + 1) {
			fl->lag += due - (int64_t)(fl->o.rate / 10);
			due = (int64_t)(fl->o.rate / 10);
		}
	} else
		due = 8192;
	while (made < due && scanned < fl->ndev && budget_left(fl)) {
		struct device *d = &fl->devs[fl->rr];
		/* As fast as possible, a TCP device sends a few reports in
		 * one write, as a tracker uploading the fixes it stored does;
		 * paced, one report per write. */
		int burst = fl->o.rate == 0 && !d->udp ? SAT_BURST : 1;

		fl->rr = (fl->rr + 1) % fl->ndev;
		if (!dev_has_room(d)) {
			scanned++;
			continue;
		}
		for (int k = 0; k < burst && made < due && budget_left(fl); k++) {
			send_report(fl, d);
			made++;
		}
		scanned = 0;
	}
	if (fl->o.rate == 0 && made > 0)
		tv.tv_usec = 0;
	evtimer_add(fl->tick, &tv);
}

static void
begin_reporting(struct fleet *fl)
{
	struct timeval tv = {0, 0};

	fl->phase = 2;
	fl->report_start_ms = clock_mono_ms();
	fl->total_at_start = fl->total;
	evtimer_add(fl->tick, &tv);
}

static bool
all_flushed(const struct fleet *fl)
{
	int i;

	for (i = 0; i < fl->ndev; i++) {
		const struct device *d = &fl->devs[i];
		if (d->pend != NULL)
			return false;
		if (d->bev != NULL && d->state != DS_CONNECTING &&
		    evbuffer_get_length(bufferevent_get_output(d->bev)) > 0)
			return false;
	}
	return true;
}

static void
house_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *fl = arg;
	int64_t now = clock_mono_ms();
	int i;
	FILE *f;

	(void)fd;
	(void)what;
	if (fl->phase == 3) {
		if (all_flushed(fl) || now - fl->phase_ms > DRAIN_MS)
			event_base_loopexit(fl->base, NULL);
		return;
	}
	for (i = 0; i < fl->ndev; i++) {
		struct device *d = &fl->devs[i];
		if (d->state == DS_LOGIN && now - d->since_ms > LOGIN_WAIT_MS) {
			fl->login_timeouts++;
			set_ready(fl, d);
		} else if (d->state == DS_IDLE && !d->udp && d->retry_ms != 0 &&
		    now >= d->retry_ms && fl->inflight < MAX_INFLIGHT)
			tcp_connect(fl, d);
	}
	while (fl->conn_cursor < fl->ndev && fl->inflight < MAX_INFLIGHT) {
		struct device *d = &fl->devs[fl->conn_cursor++];
		if (d->udp) {
			if (udp_open(fl, d) < 0)
				fl->stop = true;
		} else
			tcp_connect(fl, d);
	}
	if (fl->stop && fl->phase < 2) {
		fl->phase = 3;
		fl->phase_ms = now;
		return;
	}
	if (fl->phase == 0 && (fl->nready == fl->ndev ||
	    now - fl->phase_ms > (int64_t)(fl->o.connect_timeout * 1000))) {
		if (fl->nready < fl->ndev)
			fprintf(stderr, "fleetsim: %d of %d devices ready after %.0f s\n",
			    fl->nready, fl->ndev, fl->o.connect_timeout);
		if (fl->o.ready != NULL && (f = fopen(fl->o.ready, "w")) != NULL) {
			fprintf(f, "%d\n", fl->nready);
			fclose(f);
		}
		fl->phase = 1;
		fl->phase_ms = now;
	}
	if (fl->phase == 1 && (fl->stop || now - fl->phase_ms >= (int64_t)(fl->o.hold * 1000)))
		begin_reporting(fl);
}

static void
signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *fl = arg;

	(void)fd;
	(void)what;
	fl->stop = true;
}

/* ==== Output ==== */

/* Written under a temporary name, then renamed: readers never see half. */
static int
write_stats(const struct fleet *fl, const char *path)
{
	char tmp[4096];
	FILE *f;
	size_t i;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "{\"reports\":%lld,\"tcp\":{\"tk103\":%lld,\"gps103\":%lld},"
	    "\"udp\":{\"tk103\":%lld,\"gps103\":%lld},\"sos_sent\":%lld,"
	    "\"heartbeats\":%lld,\"bytes\":%lld,\"lost\":%lld,\"reply_bytes\":%lld,"
	    "\"connects\":%lld,\"connect_failures\":%lld,\"disconnects\":%lld,"
	    "\"login_timeouts\":%lld,\"rate_lag\":%lld,\"edge_ambiguous\":%lld,"
	    "\"devices\":%d,\"ready\":%d,\"first_send_us\":%lld,\"last_send_us\":%lld,"
	    "\"sos\":[",
	    fl->total, fl->per[0][0], fl->per[0][1], fl->per[1][0], fl->per[1][1],
	    fl->sos, fl->heartbeats, fl->bytes, fl->lost, fl->replies, fl->connects,
	    fl->connect_fail, fl->disconnects, fl->login_timeouts, fl->lag,
	    fl->ambiguous, fl->ndev, fl->nready, (long long)fl->first_us,
	    (long long)fl->last_us);
	for (i = 0; i < fl->nsos; i++)
		fprintf(f, "%s[\"%s\",%lld,%lld]", i ? "," : "",
		    fl->devs[fl->sosv[i].dev].id, (long long)fl->sosv[i].time_ms,
		    (long long)fl->sosv[i].sent_us);
	fputs("]}\n", f);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static int
run_dump(struct fleet *fl)
{
	char path[4096], buf[SIMFRAME_MAX];
	long long i;
	bool sos;

	snprintf(path, sizeof path, "%s.tk103", fl->o.dump);
	fl->dump_tk = fopen(path, "w");
	snprintf(path, sizeof path, "%s.gps103", fl->o.dump);
	fl->dump_gps = fopen(path, "w");
	if (fl->dump_tk == NULL || fl->dump_gps == NULL) {
		fprintf(stderr, "fleetsim: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < fl->o.count; i++) {
		struct device *d = &fl->devs[i % fl->ndev];
		FILE *out = d->gps103 ? fl->dump_gps : fl->dump_tk;
		if (d->gps103 && d->seq == 0)
			fwrite(buf, 1, simframe_login(d->imei, buf), out);
		fwrite(buf, 1, next_report(fl, d, buf, &sos), out);
		count_sent(fl, d, sos, 0, wall_us());
		if (fl->o.heartbeat_every > 0 && d->seq % fl->o.heartbeat_every == 0)
			fwrite(buf, 1, simframe_heartbeat(d->gps103, d->id, d->imei, buf), out);
	}
	return 0;
}

static void
fleet_free(struct fleet *fl)
{
	int i;

	for (i = 0; i < fl->ndev; i++) {
		struct device *d = &fl->devs[i];
		if (d->bev != NULL)
			bufferevent_free(d->bev);
		if (d->rev != NULL)
			event_free(d->rev);
		if (d->wev != NULL)
			event_free(d->wev);
		if (d->fd >= 0)
			close(d->fd);
		free(d->pend);
		free(d->inside);
	}
	free(fl->devs);
	simgeo_free(&fl->geo);
	free(fl->sosv);
	if (fl->tick != NULL)
		event_free(fl->tick);
	if (fl->house != NULL)
		event_free(fl->house);
	if (fl->sigint != NULL)
		event_free(fl->sigint);
	if (fl->sigterm != NULL)
		event_free(fl->sigterm);
	if (fl->base != NULL)
		event_base_free(fl->base);
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	struct fleet fl;
	struct rlimit rl;
	struct timeval tv = {0, 10000};
	char err[256];
	int i, rc = 0;

	memset(&fl, 0, sizeof fl);
	parse_opts(&fl.o, argc, argv);
	fl.tp = (struct track_params){fl.o.speed_limit, fl.o.od_hyst,
	    (double)fl.o.interval, fl.o.clon, fl.o.clat, fl.o.radius_km * 1000};
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (fl.o.fences != NULL && simgeo_load(&fl.geo, fl.o.fences, err, sizeof err) < 0) {
		fprintf(stderr, "fleetsim: --fences: %s\n", err);
		fleet_free(&fl);
		return 2;
	}
	if (fl.o.expect != NULL && (fl.expect = fopen(fl.o.expect, "w")) == NULL) {
		fprintf(stderr, "fleetsim: %s: %s\n", fl.o.expect, strerror(errno));
		fleet_free(&fl);
		return 1;
	}
	/* Fixes start a day back, on a whole second: history, not future. */
	fl.t0_ms = fl.o.start > 0 ? fl.o.start * 1000 : (clock_now_ms() / 1000 - 86400) * 1000;
	fl.ndev = (int)(fl.o.tcp + fl.o.udp);
	fl.devs = xcalloc((size_t)fl.ndev, sizeof *fl.devs);
	for (i = 0; i < fl.ndev; i++)
		device_init(&fl, &fl.devs[i], i);
	if (fl.o.dump != NULL) {
		rc = run_dump(&fl) < 0;
		goto done;
	}
	fl.base = event_base_new();
	fl.tick = evtimer_new(fl.base, tick_cb, &fl);
	fl.house = event_new(fl.base, -1, EV_PERSIST, house_cb, &fl);
	fl.sigint = evsignal_new(fl.base, SIGINT, signal_cb, &fl);
	fl.sigterm = evsignal_new(fl.base, SIGTERM, signal_cb, &fl);
	event_add(fl.house, &tv);
	event_add(fl.sigint, NULL);
	event_add(fl.sigterm, NULL);
	fl.phase_ms = clock_mono_ms();
	event_base_dispatch(fl.base);
	fprintf(stderr, "fleetsim: %lld reports (%lld sos) from %d devices in %.2f s, "
	    "%lld lost, %lld connect failures\n", fl.total, fl.sos, fl.ndev,
	    (double)(fl.last_us - fl.first_us) / 1e6, fl.lost, fl.connect_fail);
	if (fl.o.tcp > 0 && fl.connects == 0)
		rc = 1;		/* nothing listens there */
done:
	if (fl.dump_tk != NULL && fclose(fl.dump_tk) != 0)
		rc = 1;
	if (fl.dump_gps != NULL && fclose(fl.dump_gps) != 0)
		rc = 1;
	if (fl.expect != NULL && fclose(fl.expect) != 0)
		rc = 1;
	if (fl.o.stats != NULL && write_stats(&fl, fl.o.stats) != 0) {
		fprintf(stderr, "fleetsim: %s: %s\n", fl.o.stats, strerror(errno));
		rc = 1;
	}
	fleet_free(&fl);
	return rc;
}
