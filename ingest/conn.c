/*
 * conn.c: one bufferevent per TCP peer, fed to its session.
 *
 * Memory per idle peer is kept small: no deferred callbacks, no input
 * buffer space once everything read is consumed (evbuffer frees drained
 * chains), and a read high-watermark of twice max_frame so a peer can
 * never make us hold more than that.  The set keeps the open
 * connections in a list (for shutdown) and a map from device id to the
 * connection that last identified as it (so a stale socket does not mark
 * a reconnected device offline).  An observer (the downlink) hears of
 * every frame and of each connection that closes, and writes through
 * conn_write.
 */
#include "ingest/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ingest/report.h"
#include "ingest/session.h"
#include "ingest/writer.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/xmalloc.h"

/* A peer that lets this much of our replies pile up is not reading them. */
#define CONN_MAX_OUTPUT 16384
/* How long a closing peer gets to take its last replies. */
#define CONN_LINGER_S 5
#define CONN_MAP_BUCKETS 4096

struct conn {
	struct conn_set *set;
	struct bufferevent *bev;
	struct session *s;
	struct conn *prev, *next;	/* all connections */
	struct conn *map_next;		/* same bucket of the device map */
	bool in_map;
	bool closing;
	void *udata;			/* the observer's */
	char device[REPORT_ID_MAX];	/* id this conn is mapped under */
	char peer[64];
	char why[48];			/* the last reject's reason, for the log */
};

struct conn_set {
	struct event_base *base;
	struct writer *w;
	struct conn_limits lim;
	struct conn *head;
	size_t count;
	struct conn_observer obs;
	struct conn *map[CONN_MAP_BUCKETS];
	struct metric *accepted;
	struct metric *closed;		/* by reason */
	struct metric *bytes;
};

static void conn_free(struct conn *c, const char *reason);

char *
conn_peer_name(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
		snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
		snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else
		snprintf(buf, size, "unknown");
	return buf;
}

/* ---- Device map ---- */

static unsigned
bucket(const char *id)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % CONN_MAP_BUCKETS;
}

static void
map_remove(struct conn *c)
{
	struct conn **pp;

	if (!c->in_map)
		return;
	for (pp = &c->set->map[bucket(c->device)]; *pp != NULL; pp = &(*pp)->map_next) {
		if (*pp == c) {
			*pp = c->map_next;
			break;
		}
	}
	c->in_map = false;
	c->map_next = NULL;
}

static struct conn *
map_find(struct conn_set *cs, const char *id)
{
	for (struct conn *c = cs->map[bucket(id)]; c != NULL; c = c->map_next) {
		if (strcmp(c->device, id) == 0)
			return c;
	}
	return NULL;
}

/* Maps id to c, taking it over from an older connection. */
static void
map_set(struct conn *c, const char *id)
{
	struct conn *old;
	unsigned b;

	if (c->in_map && strcmp(c->device, id) == 0)
		return;
	map_remove(c);
	if ((old = map_find(c->set, id)) != NULL) {
		log_info("tcp %s: device %s moved here from %s", c->peer, id,
		    old->peer);
		map_remove(old);
	} else
		log_info("tcp %s: device %s", c->peer, id);
	snprintf(c->device, sizeof c->device, "%s", id);
	b = bucket(c->device);
	c->map_next = c->set->map[b];
	c->set->map[b] = c;
	c->in_map = true;
}

/* ---- I/O ---- */

static void
on_frame(void *arg, const struct session_frame *f)
{
	struct conn *c = arg;

	writer_frame(c->set->w, f, "tcp", c->peer, f->report != NULL ?
	    f->report->recv_ms : clock_now_ms());
	if (f->result == REPORT_ERROR && f->error != NULL)
		escape_bytes(c->why, sizeof c->why, (const uint8_t *)f->error,
		    strlen(f->error));
	if (f->reply != NULL && f->reply->len > 0 && !c->closing)
		bufferevent_write(c->bev, f->reply->buf, f->reply->len);
	if (f->device != NULL && f->device[0] != '\0')
		map_set(c, f->device);
	else if (f->report != NULL && f->report->device[0] != '\0')
		map_set(c, f->report->device);
	if (c->set->obs.frame != NULL && !c->closing)
		c->set->obs.frame(c->set->obs.arg, c, f);
}

static void
on_drained(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	conn_free(c, NULL);
}

/*
 * Closes c once its replies are out (at most CONN_LINGER_S later), or at
 * once when nothing is pending.
 */
static void
conn_close(struct conn *c, const char *reason)
{
	struct timeval linger = { CONN_LINGER_S, 0 };

	if (c->closing)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c, reason);
		return;
	}
	c->closing = true;
	if (c->set->obs.closed != NULL)
		c->set->obs.closed(c->set->obs.arg, c);
	log_info("tcp %s: closing: %s", c->peer, reason);
	metric_label_add(c->set->closed, reason, 1);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, on_drained, NULL, c);
	bufferevent_set_timeouts(c->bev, NULL, &linger);
}

/* Feeds everything buffered to the session; returns false once c is gone. */
static bool
feed(struct conn *c, bool eof)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), used;
	bool close_peer = false;
	const uint8_t *p;

	if (len == 0 && !eof)
		return true;
	p = len > 0 ? evbuffer_pullup(in, -1) : (const uint8_t *)"";
	used = session_feed(c->s, p, len, clock_now_ms(), eof, on_frame, c,
	    &close_peer);
	if (used > len)
		used = len;
	evbuffer_drain(in, used);
	if (close_peer) {
		char reason[sizeof c->why + 16];

		snprintf(reason, sizeof reason, "bad input: %s",
		    c->why[0] != '\0' ? c->why : "rejected");
		conn_close(c, reason);
		return false;
	}
	if (!eof && evbuffer_get_length(in) >= 2 * c->set->lim.max_frame) {
		/* The session kept the read limit full: it would never read
		 * again, so cut the peer off. */
		size_t n = evbuffer_get_length(in);

		writer_reject(c->set->w, "tcp", c->peer, "frame too long",
		    evbuffer_pullup(in, -1), n);
		conn_close(c, "frame too long");
		return false;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > CONN_MAX_OUTPUT) {
		conn_free(c, "peer does not read its replies");
		return false;
	}
	return true;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	metric_add(c->set->bytes, (double)evbuffer_get_length(bufferevent_get_input(bev)));
	feed(c, false);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char reason[128];

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		if (!c->closing && !feed(c, true))
			return;
		conn_free(c, "closed by peer");
	} else if (what & BEV_EVENT_ERROR) {
		snprintf(reason, sizeof reason, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		conn_free(c, reason);
	} else if (what & BEV_EVENT_TIMEOUT) {
		if (what & BEV_EVENT_READING)
			snprintf(reason, sizeof reason, "idle for %d s",
			    c->set->lim.idle_timeout);
		else
			snprintf(reason, sizeof reason, "replies not taken within %d s",
			    CONN_LINGER_S);
		conn_free(c, reason);
	}
}

/* ---- Life cycle ---- */

struct conn_set *
conn_set_new(struct event_base *base, struct writer *w,
    const struct conn_limits *lim, struct metrics *m)
{
	struct conn_set *cs = xcalloc(1, sizeof *cs);

	cs->base = base;
	cs->w = w;
	cs->lim = *lim;
	cs->accepted = m != NULL ? metrics_counter(m,
	    "geoalarm_ingest_connections_total", "TCP connections accepted") : NULL;
	cs->closed = m != NULL ? metrics_labelled(m,
	    "geoalarm_ingest_disconnects_total", "TCP connections closed by us, "
	    "by reason", "reason") : NULL;
	cs->bytes = m != NULL ? metrics_counter(m,
	    "geoalarm_ingest_tcp_bytes_total", "Bytes received over TCP") : NULL;
	return cs;
}

void
conn_set_free(struct conn_set *cs)
{
	if (cs == NULL)
		return;
	while (cs->head != NULL)
		conn_free(cs->head, "shutting down");
	free(cs);
}

size_t
conn_set_count(const struct conn_set *cs)
{
	return cs->count;
}

void
conn_set_observe(struct conn_set *cs, const struct conn_observer *obs)
{
	if (obs != NULL)
		cs->obs = *obs;
	else
		memset(&cs->obs, 0, sizeof cs->obs);
}

int
conn_write(struct conn *c, const void *buf, size_t len)
{
	if (c->closing)
		return -1;
	return bufferevent_write(c->bev, buf, len) == 0 ? 0 : -1;
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

void
conn_set_udata(struct conn *c, void *udata)
{
	c->udata = udata;
}

void *
conn_udata(const struct conn *c)
{
	return c->udata;
}

void
conn_set_accept(struct conn_set *cs, evutil_socket_t fd,
    const struct sockaddr *sa, int salen)
{
	struct timeval idle = { cs->lim.idle_timeout, 0 };
	struct conn *c;

	(void)salen;
	c = xcalloc(1, sizeof *c);
	c->set = cs;
	conn_peer_name(sa, c->peer, sizeof c->peer);
	c->bev = bufferevent_socket_new(cs->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_error("tcp %s: cannot set up the connection", c->peer);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->s = session_new(cs->lim.max_frame);
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	/* The session keeps at most about max_frame bytes; twice that is the
	 * most a peer can make us hold. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 * cs->lim.max_frame);
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_enable(c->bev, EV_READ);
	c->next = cs->head;
	if (cs->head != NULL)
		cs->head->prev = c;
	cs->head = c;
	cs->count++;
	metric_add(cs->accepted, 1);
	log_info("tcp %s: connected (%zu open)", c->peer, cs->count);
}

/* Frees c; reason NULL when conn_close already logged why. */
static void
conn_free(struct conn *c, const char *reason)
{
	struct conn_set *cs = c->set;

	if (reason != NULL) {
		log_info("tcp %s: closed: %s%s%s", c->peer, reason,
		    c->device[0] != '\0' ? ", device " : "", c->device);
		if (strcmp(reason, "closed by peer") != 0)
			metric_label_add(cs->closed, reason, 1);
	}
	/* A closing connection told the observer already. */
	if (!c->closing && cs->obs.closed != NULL)
		cs->obs.closed(cs->obs.arg, c);
	if (c->in_map) {
		writer_offline(cs->w, c->device);
		map_remove(c);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	cs->count--;
	bufferevent_free(c->bev);
	session_free(c->s);
	free(c);
}
