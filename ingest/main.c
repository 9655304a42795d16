/*
 * geoalarm-ingest: receives TK103 and GPS103 trackers on one TCP+UDP port
 * and writes their reports to Redis streams.
 *
 * main.c parses the flags, wires the pieces together (listener and
 * connections -> sessions -> writer -> outbox -> rconn; P:commands ->
 * downlink -> connections and the UDP socket) and runs the event loop.  On
 * SIGINT or SIGTERM it stops accepting, closes the peers (their devices go
 * offline), gives the outbox a few seconds to reach Redis, and exits 0.  A
 * second signal exits at once.
 *
 * Backpressure is decided here (pace): while Redis is connected and the
 * outbox fills faster than Redis empties it, the TCP peers are held (not
 * read: their reports wait in their sockets, and they slow down) from 75 %
 * of --buffer until it is down to 50 % (outbox_hold).  UDP devices cannot
 * be slowed down; they are read as ever, and when Redis is down nobody is
 * held, so a full outbox drops its oldest entries, as the SPEC asks.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/conn.h"
#include "ingest/decode.h"
#include "ingest/downlink.h"
#include "ingest/listen.h"
#include "ingest/outbox.h"
#include "ingest/writer.h"
#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/metrics.h"
#include "lib/rconn.h"

#define PROG "geoalarm-ingest"
/* Commands in flight on the Redis connection at once.  Replies are read
 * once per event-loop pass, and a pass over 10,000 busy peers can take tens
 * of milliseconds: the window must hold what arrives meanwhile (with 4,096
 * the outbox grew by 50,000 reports a second while 10,000 peers offered
 * 80,000).  A few MiB of hiredis buffer and callbacks at most. */
#define OUTBOX_WINDOW 65536
/* At shutdown, how long queued reports get to reach Redis. */
#define DRAIN_MS 5000
/* Holds and resumes are logged at info at most this often (the others at
 * debug): a Redis slower than the devices for good holds them every
 * second or so. */
#define HOLD_LOG_MS 10000

struct ingest_opts {
	struct conf_hostport listen;
	int64_t max_frame;
	int64_t idle_timeout;
	int64_t buffer;
	int64_t stream_maxlen;
	int64_t udp_peer_ttl;
	int64_t redis_timeout;
	const char *metrics;
	bool decode;
	bool udp;
};

struct ingest {
	struct ingest_opts o;
	struct conf_common common;
	struct event_base *base;
	struct metrics *metrics;
	struct outbox *outbox;
	struct writer *writer;
	struct rconn *rc;
	struct conn_set *conns;
	struct listen *listen;
	struct downlink *downlink;
	struct event *sigint, *sigterm, *drain;
	int64_t drain_deadline;
	bool stopping;
	int64_t hold_ms;		/* when the current hold began */
	int64_t hold_log_ms;		/* last hold line at info */
	bool hold_info;			/* the current hold was logged at info */
	uint64_t holds, holds_logged;
	double held_logged_s;		/* seconds held at the last info line */
	double held_total_s;		/* for the metric */
};

static int
check_hostport(const char *val, char *err, size_t errlen)
{
	struct conf_hostport hp;

	return conf_parse_hostport(val, &hp, err, errlen);
}

static const struct conf_opt ingest_opts_table[] = {
	{ .name = "listen", .type = CONF_HOSTPORT, .arg = "HOST:PORT",
	  .def = "0.0.0.0:8888", .help = "TCP and UDP address for the devices",
	  .offset = offsetof(struct ingest_opts, listen) },
	{ .name = "max-frame", .type = CONF_INT, .arg = "BYTES", .min = 64,
	  .max = 8192, .def = "2048",
	  .help = "longest frame; a peer sending more without one is cut off",
	  .offset = offsetof(struct ingest_opts, max_frame) },
	{ .name = "idle-timeout", .type = CONF_INT, .arg = "SECONDS", .min = 1,
	  .max = 86400, .def = "600",
	  .help = "close a TCP peer silent for this long",
	  .offset = offsetof(struct ingest_opts, idle_timeout) },
	{ .name = "buffer", .type = CONF_INT, .arg = "REPORTS", .min = 1,
	  .max = 10000000, .def = "100000",
	  .help = "reports held while Redis is down; the oldest go first",
	  .offset = offsetof(struct ingest_opts, buffer) },
	{ .name = "stream-maxlen", .type = CONF_INT, .arg = "N", .min = 1,
	  .max = 1e12, .def = "1000000",
	  .help = "approximate cap of the positions stream (XADD MAXLEN ~)",
	  .offset = offsetof(struct ingest_opts, stream_maxlen) },
	{ .name = "udp-peer-ttl", .type = CONF_INT, .arg = "SECONDS", .min = 1,
	  .max = 86400, .def = "300",
	  .help = "a UDP device counts as reachable this long after a datagram",
	  .offset = offsetof(struct ingest_opts, udp_peer_ttl) },
	{ .name = "redis-timeout", .type = CONF_INT, .arg = "SECONDS", .min = 1,
	  .max = 3600, .def = "10",
	  .help = "drop and reconnect a Redis that answers nothing this long "
	      "(what it had not acknowledged is sent again)",
	  .offset = offsetof(struct ingest_opts, redis_timeout) },
	{ .name = "metrics", .type = CONF_STRING, .arg = "HOST:PORT",
	  .help = "serve GET /metrics and /healthz over HTTP",
	  .offset = offsetof(struct ingest_opts, metrics),
	  .check = check_hostport },
	{ .name = "decode", .type = CONF_BOOL,
	  .help = "decode FILEs (or stdin) offline, one JSON line per frame",
	  .offset = offsetof(struct ingest_opts, decode) },
	{ .name = "udp", .type = CONF_BOOL,
	  .help = "with --decode: each FILE is one datagram",
	  .offset = offsetof(struct ingest_opts, udp) },
	{ .name = NULL },
};

/* ---- Backpressure ---- */

/*
 * Holds or resumes the TCP peers as outbox_hold says.  One line per
 * change: a hold and its resume at info when the last hold at info was
 * HOLD_LOG_MS ago or more (that line counts the holds in between), else
 * at debug.
 */
static void
pace(struct ingest *ing)
{
	size_t queued, cap = outbox_capacity(ing->outbox);
	bool held, hold, up = rconn_connected(ing->rc);
	int64_t now;
	enum log_level lv;

	if (ing->conns == NULL)
		return;
	held = conn_set_held(ing->conns);
	queued = outbox_len(ing->outbox) + writer_pending(ing->writer);
	hold = outbox_hold(queued, cap, up, held);
	if (hold == held)
		return;
	now = clock_mono_ms();
	if (hold) {
		double total = conn_set_held_seconds(ing->conns);

		conn_set_hold(ing->conns, true);
		ing->holds++;
		ing->hold_ms = now;
		ing->hold_info = ing->holds == 1 ||
		    now - ing->hold_log_ms >= HOLD_LOG_MS;
		lv = ing->hold_info ? LOG_INFO : LOG_DEBUG;
		if (log_enabled(lv)) {
			char since[96] = "";

			if (lv == LOG_INFO && ing->holds > 1)
				snprintf(since, sizeof since, " (%llu holds, "
				    "%.1f s in all, in the %.0f s before)",
				    (unsigned long long)(ing->holds - 1 -
				    ing->holds_logged), total - ing->held_logged_s,
				    (double)(now - ing->hold_log_ms) / 1000.0);
			log_line(lv, "backpressure: %zu of %zu entries queued "
			    "for Redis: not reading from the %zu TCP peers "
			    "until %zu%s", queued, cap,
			    conn_set_count(ing->conns),
			    cap * OUTBOX_LOW_PCT / 100, since);
		}
		if (ing->hold_info) {
			ing->hold_log_ms = now;
			ing->holds_logged = ing->holds - 1;
			ing->held_logged_s = total;
		}
		return;
	}
	conn_set_hold(ing->conns, false);
	lv = ing->hold_info ? LOG_INFO : LOG_DEBUG;
	if (log_enabled(lv))
		log_line(lv, "backpressure: %s: reading from the TCP peers "
		    "again after %.3f s", up ? "queue down" :
		    "Redis disconnected", (double)(now - ing->hold_ms) / 1000.0);
}

static void
on_pace(void *arg)
{
	pace(arg);
}

/* ---- Redis plumbing ---- */

static void
on_reply(struct rconn *rc, struct redisReply *reply, void *arg)
{
	struct ingest *ing = arg;

	if (outbox_reply(ing->outbox, reply) == OUTBOX_RESET)
		rconn_reset(rc, "server cannot serve now");
	else if (ing->conns != NULL && conn_set_held(ing->conns))
		pace(ing);
}

static int
send_cmds(void *arg, const char *cmds, const size_t *lens, int n)
{
	struct ingest *ing = arg;
	size_t total = 0;

	for (int i = 0; i < n; i++)
		total += lens[i];
	/* hiredis's buffer grown once for the run, not step by step. */
	rconn_reserve(ing->rc, total);
	return rconn_command_formatted_n(ing->rc, on_reply, ing, cmds, lens, n);
}

static void
on_redis(struct rconn *rc, bool up, const char *reason, void *arg)
{
	struct ingest *ing = arg;

	(void)rc;
	(void)reason;
	outbox_connected(ing->outbox, up);
	/* Down: nobody waits for a Redis that is not there.  Up: the queue
	 * may be over the mark already. */
	pace(ing);
}

/* ---- Downlink ---- */

static void
on_tcp_frame(void *arg, struct conn *c, const struct session_frame *f)
{
	downlink_tcp_frame(((struct ingest *)arg)->downlink, c, f);
}

static void
on_tcp_closed(void *arg, struct conn *c)
{
	downlink_tcp_closed(((struct ingest *)arg)->downlink, c);
}

static void
on_udp_frame(void *arg, int fd, const struct sockaddr *from,
    socklen_t fromlen, const char *peer, const struct session_frame *f)
{
	downlink_udp_frame(((struct ingest *)arg)->downlink, fd, from, fromlen,
	    peer, f);
}

/* ---- Metrics ---- */

static double
m_queued(void *arg)
{
	return (double)outbox_len(((struct ingest *)arg)->outbox);
}

static double
m_written(void *arg)
{
	struct outbox_stats st;

	outbox_stats(((struct ingest *)arg)->outbox, &st);
	return (double)st.acked;
}

static double
m_dropped(void *arg)
{
	struct outbox_stats st;

	outbox_stats(((struct ingest *)arg)->outbox, &st);
	return (double)st.dropped_reports;
}

static double
m_redis_errors(void *arg)
{
	struct outbox_stats st;

	outbox_stats(((struct ingest *)arg)->outbox, &st);
	return (double)st.errors;
}

static double
m_connections(void *arg)
{
	struct ingest *ing = arg;

	return ing->conns != NULL ? (double)conn_set_count(ing->conns) : 0;
}

static double
m_redis_up(void *arg)
{
	return rconn_connected(((struct ingest *)arg)->rc) ? 1 : 0;
}

static double
m_held(void *arg)
{
	struct ingest *ing = arg;

	return ing->conns != NULL && conn_set_held(ing->conns) ? 1 : 0;
}

static double
m_held_seconds(void *arg)
{
	struct ingest *ing = arg;

	/* Kept when the connections go at shutdown. */
	if (ing->conns != NULL)
		ing->held_total_s = conn_set_held_seconds(ing->conns);
	return ing->held_total_s;
}

static bool
health(void *arg, char *why, size_t whylen)
{
	struct ingest *ing = arg;

	if (rconn_connected(ing->rc)) {
		snprintf(why, whylen, "ok");
		return true;
	}
	snprintf(why, whylen, "redis disconnected; %zu entries queued",
	    outbox_len(ing->outbox));
	return false;
}

static struct metric *
register_metrics(struct ingest *ing)
{
	static const double bounds[] = {
		0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
		1, 2.5, 5, 10, 30, 60,
	};
	struct metrics *m = ing->metrics;

	metrics_gauge_fn(m, "geoalarm_ingest_connections",
	    "TCP connections open", m_connections, ing);
	metrics_gauge_fn(m, "geoalarm_ingest_redis_connected",
	    "1 when the Redis connection is ready", m_redis_up, ing);
	metrics_gauge_fn(m, "geoalarm_ingest_outbox_entries",
	    "Entries waiting for Redis to acknowledge them", m_queued, ing);
	metrics_counter_fn(m, "geoalarm_ingest_written_total",
	    "Outbox entries acknowledged by Redis", m_written, ing);
	metrics_counter_fn(m, "geoalarm_ingest_dropped_total",
	    "Reports dropped because the outbox was full", m_dropped, ing);
	metrics_counter_fn(m, "geoalarm_ingest_redis_errors_total",
	    "Commands Redis refused for good", m_redis_errors, ing);
	metrics_gauge_fn(m, "geoalarm_ingest_backpressure",
	    "1 while TCP peers are not read because Redis is slower than "
	    "them", m_held, ing);
	metrics_counter_fn(m, "geoalarm_ingest_backpressure_seconds_total",
	    "Seconds TCP peers were not read because Redis was slower than "
	    "them", m_held_seconds, ing);
	metrics_set_health(m, health, ing);
	return metrics_histogram(m, "geoalarm_ingest_write_latency_seconds",
	    "Time from receiving a frame to Redis acknowledging it", bounds,
	    (int)(sizeof bounds / sizeof bounds[0]));
}

/* ---- Stopping ---- */

static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *ing = arg;
	struct timeval tv = { 0, 50000 };

	(void)fd;
	(void)what;
	if (outbox_len(ing->outbox) == 0 || clock_mono_ms() >= ing->drain_deadline) {
		event_base_loopbreak(ing->base);
		return;
	}
	evtimer_add(ing->drain, &tv);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct ingest *ing = arg;

	(void)what;
	if (ing->stopping) {
		log_warn("signal %d again: exiting now", (int)sig);
		event_base_loopbreak(ing->base);
		return;
	}
	ing->stopping = true;
	log_info("signal %d: stopping", (int)sig);
	listen_free(ing->listen);
	ing->listen = NULL;
	conn_set_free(ing->conns);
	ing->conns = NULL;
	/* The peers' last frames and their offline marks. */
	writer_drain(ing->writer);
	ing->drain_deadline = clock_mono_ms() + DRAIN_MS;
	on_drain(-1, 0, ing);
}

/* ---- Main ---- */

static int
run(struct ingest *ing)
{
	struct conn_limits lim = { (size_t)ing->o.max_frame, (int)ing->o.idle_timeout };
	struct conn_observer obs = { on_tcp_frame, on_tcp_closed, ing };
	struct downlink_opts dlo = { 0 };
	struct metric *latency;
	char err[CONF_ERR_LEN];
	int rc = 1;

	ing->base = loop_new();
	if (ing->base == NULL) {
		log_error("cannot create the event loop");
		return 1;
	}
	ing->metrics = metrics_new();
	latency = register_metrics(ing);
	ing->outbox = outbox_new((size_t)ing->o.buffer, OUTBOX_WINDOW, send_cmds,
	    ing, latency);
	ing->writer = writer_new(ing->outbox, ing->base, ing->common.prefix,
	    ing->o.stream_maxlen, WRITER_DEVICE_MS, ing->metrics);
	ing->rc = rconn_new(ing->base, ing->common.redis, "redis", on_redis, ing,
	    err, sizeof err);
	if (ing->rc == NULL) {
		log_error("--redis: %s", err);
		goto out;
	}
	/* A reply object per XADD was a malloc and a free each. */
	rconn_use_arena(ing->rc);
	rconn_set_reply_timeout(ing->rc, (int)ing->o.redis_timeout * 1000);
	dlo.redis = ing->common.redis;
	dlo.prefix = ing->common.prefix;
	dlo.udp_peer_ttl = (int)ing->o.udp_peer_ttl;
	dlo.redis_timeout = (int)ing->o.redis_timeout;
	ing->downlink = downlink_new(ing->base, &dlo, ing->writer, ing->metrics,
	    err, sizeof err);
	if (ing->downlink == NULL) {
		log_error("--redis: %s", err);
		goto out;
	}
	ing->conns = conn_set_new(ing->base, ing->writer, &lim, ing->metrics);
	conn_set_observe(ing->conns, &obs);
	conn_set_pace(ing->conns, on_pace, ing);
	ing->listen = listen_new(ing->base, &ing->o.listen, ing->conns,
	    ing->writer, (size_t)ing->o.max_frame, ing->metrics, err, sizeof err);
	if (ing->listen == NULL) {
		log_error("cannot listen: %s", err);
		goto out;
	}
	listen_observe(ing->listen, on_udp_frame, ing);
	if (ing->o.metrics != NULL && metrics_serve_addr(ing->metrics, ing->base,
	    ing->o.metrics, err, sizeof err) == -1) {
		log_error("--metrics: %s", err);
		goto out;
	}
	ing->sigint = evsignal_new(ing->base, SIGINT, on_signal, ing);
	ing->sigterm = evsignal_new(ing->base, SIGTERM, on_signal, ing);
	ing->drain = evtimer_new(ing->base, on_drain, ing);
	evsignal_add(ing->sigint, NULL);
	evsignal_add(ing->sigterm, NULL);
	/* The Redis URL is not logged: it may hold a password. */
	log_info("started (prefix %s, buffer %lld reports)", ing->common.prefix,
	    (long long)ing->o.buffer);
	event_base_dispatch(ing->base);
	rc = 0;
out:
	listen_free(ing->listen);
	conn_set_free(ing->conns);
	downlink_free(ing->downlink);
	/* Whatever the last pass queued, before the connection goes. */
	writer_drain(ing->writer);
	rconn_free(ing->rc);
	writer_free(ing->writer);
	outbox_free(ing->outbox);
	metrics_free(ing->metrics);
	if (ing->sigint != NULL)
		event_free(ing->sigint);
	if (ing->sigterm != NULL)
		event_free(ing->sigterm);
	if (ing->drain != NULL)
		event_free(ing->drain);
	event_base_free(ing->base);
	if (rc == 0)
		log_info("stopped");
	return rc;
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	static struct ingest ing;
	struct conf_spec spec = {
		.prog = PROG,
		.synopsis = "[flags] | --decode [--udp] [FILE...]",
		.about = "Receives TK103/GPS103 trackers on one TCP+UDP port and "
		    "writes their reports to Redis.",
		.opts = ingest_opts_table,
		.values = &ing.o,
	};
	char err[CONF_ERR_LEN];
	int first, rc;

	if ((rc = conf_parse_main(&spec, &ing.common, argc, argv, &first)) >= 0)
		return rc;
	log_set_name("ingest");
	log_set_level((enum log_level)ing.common.log_level);
	if (ing.o.udp && !ing.o.decode) {
		fprintf(stderr, "%s: --udp: only with --decode\n", PROG);
		return 2;
	}
	if (ing.o.decode) {
		if (decode_run(argv + first, argc - first, ing.o.udp,
		    (size_t)ing.o.max_frame, stdout, err, sizeof err) == -1) {
			fprintf(stderr, "%s: %s\n", PROG, err);
			return 1;
		}
		return 0;
	}
	if (first < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (files only with "
		    "--decode)\n", PROG, argv[first]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_hook_libevent();
	return run(&ing);
}
