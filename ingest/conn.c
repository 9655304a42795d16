/*
 * conn.c: one TCP peer per struct conn, fed to its session.
 *
 * Reading does not go through the bufferevent: a read event per peer
 * (whose timeout is the idle timeout, on one libevent common-timeout
 * queue, so re-arming it costs no heap operation) recv()s into one buffer
 * shared by the set, and session_feed decodes straight from it.  That is
 * one system call per read (no FIONREAD), no evbuffer chain, no pullup.
 * Only the bytes of a frame not complete yet are kept, in a small buffer
 * of the peer's own, freed once they are consumed: an idle peer holds no
 * input buffer at all, and none holds more than twice max_frame (but
 * for a hold, below).  The
 * bufferevent is for the replies only (its reading stays disabled): it
 * queues what the peer does not take at once and lingers on close.
 *
 * Holding (backpressure).  What was read is decoded CONN_PIECE bytes at a
 * time, and after each piece the pace function (main.c's policy) may hold
 * the set: every peer's read event is deleted, and the piece loop stops,
 * keeping what was read and not decoded yet as the peer's backlog (up to
 * one read).  A resume adds the read events back and activates those of
 * peers with a backlog, which on_read decodes before reading again: a
 * peer's bytes are decoded in order whatever the holds.  The idle timeout
 * counts only the time the set listens: a hold notes how long each peer
 * had been quiet, and the resume arms what is left of the timeout.
 *
 * The end of a peer.  Whatever way it ends (end of stream, a reset, an
 * error writing the replies), the bytes the kernel still holds for it are
 * read and decoded, and its last incomplete frame is flushed as at end of
 * stream, before the connection goes: a report that reached us is never
 * dropped because the peer hung up abruptly.  At shutdown, too, what the
 * kernel holds is read and decoded first (but for incomplete frames).
 * Only peers we cut off on purpose (bad input, idle, replies not taken)
 * lose what they sent after.
 *
 * The set keeps the open
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
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/xmalloc.h"

/* A peer that lets this much of our replies pile up is not reading them. */
#define CONN_MAX_OUTPUT 16384
/* How long a closing peer gets to take its last replies. */
#define CONN_LINGER_S 5
#define CONN_MAP_BUCKETS 4096
/* Bytes read per wake-up at most: several frames of a busy peer at once. */
#define CONN_READ_MAX (64 * 1024)
/* Bytes decoded between two looks at the pace: about ten reports, which
 * bounds how far a hold overshoots (one piece per hold). */
#define CONN_PIECE 1024
/* Reads when draining a peer that is going (its kernel buffer at most). */
#define CONN_DRAIN_READS 256

struct conn {
	struct conn_set *set;
	struct bufferevent *bev;	/* replies; reading disabled */
	struct event *rev;		/* reading, and the idle timeout */
	struct session *s;
	uint8_t *rest;			/* bytes of a frame not complete yet,
					   or the backlog */
	size_t restlen, restcap;
	int64_t heard_ms;		/* listening: last bytes (mono) */
	int64_t quiet_ms;		/* held: quiet time before the hold */
	bool backlog;			/* rest has bytes not decoded yet */
	bool rearm;			/* rev has a shortened idle timeout */
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
	const struct timeval *idle;	/* the common-timeout idle timeval */
	uint8_t *rbuf;			/* one read at a time, any peer */
	size_t rsize;
	conn_pace_fn *pace;
	void *pace_arg;
	bool held;
	int64_t held_ms;		/* when the hold began (mono) */
	int64_t held_total_ms;		/* finished holds */
};

static void conn_free(struct conn *c, const char *reason);
static void on_event(struct bufferevent *bev, short what, void *arg);

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
	return (unsigned)(hash_str(id) % CONN_MAP_BUCKETS);
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
	event_del(c->rev);
	bufferevent_setcb(c->bev, NULL, on_drained, on_event, c);
	bufferevent_set_timeouts(c->bev, NULL, &linger);
}

/*
 * Keeps buf[0..len) (in the set's read buffer, never in c->rest): the start
 * of a frame, or a backlog, for the next read.
 */
static void
keep_rest(struct conn *c, const uint8_t *buf, size_t len)
{
	if (len == 0) {
		free(c->rest);
		c->rest = NULL;
		c->restlen = c->restcap = 0;
		return;
	}
	if (len > c->restcap || (c->restcap > 4096 && len <= 1024)) {
		/* A frame is at most max_frame, which bounds the growth; the
		 * room a backlog took (one read) is given back after. */
		c->restcap = len < 256 ? 256 : len;
		c->rest = xrealloc(c->rest, c->restcap);
	}
	memcpy(c->rest, buf, len);
	c->restlen = len;
}

/*
 * Feeds buf[0..len) (the kept bytes, then what was read) to the session,
 * CONN_PIECE bytes at a time; paced: asks the pace after each piece and
 * stops when the set is held, keeping the rest as c's backlog.  eof: no
 * more bytes will come (all in one piece, never paced).  Returns false
 * once c is gone (or closing).
 */
static bool
feed(struct conn *c, const uint8_t *buf, size_t len, bool eof, bool paced)
{
	struct conn_set *cs = c->set;
	bool close_peer = false;
	int64_t now;
	size_t off = 0, end = 0;

	if (len == 0 && !eof) {
		keep_rest(c, buf, 0);
		return true;
	}
	now = clock_now_ms();
	do {
		size_t used;

		/* The piece goes on from where the last one ended, so the
		 * session sees each byte once in a piece of its own and a
		 * frame cut by a piece edge whole the next time. */
		end = eof || len - end <= CONN_PIECE ? len : end + CONN_PIECE;
		used = session_feed(c->s, len > 0 ? buf + off :
		    (const uint8_t *)"", end - off, now, eof, on_frame, c,
		    &close_peer);
		if (used > end - off)
			used = end - off;
		off += used;
		if (close_peer) {
			char reason[sizeof c->why + 16];

			snprintf(reason, sizeof reason, "bad input: %s",
			    c->why[0] != '\0' ? c->why : "rejected");
			conn_close(c, reason);
			return false;
		}
		if (paced && cs->pace != NULL) {
			cs->pace(cs->pace_arg);
			if (cs->held && end < len) {
				c->backlog = true;
				break;
			}
		}
	} while (end < len);
	if (!c->backlog && !eof && len - off >= 2 * cs->lim.max_frame) {
		/* The session keeps asking for more without a frame: it would
		 * hold ever more, so cut the peer off. */
		writer_reject(cs->w, "tcp", c->peer, "frame too long",
		    buf + off, len - off);
		conn_close(c, "frame too long");
		return false;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > CONN_MAX_OUTPUT) {
		conn_free(c, "peer does not read its replies");
		return false;
	}
	keep_rest(c, buf + off, len - off);
	return true;
}

/*
 * Decodes c's backlog, if any, into the read buffer; returns the bytes
 * kept there for the next read (c->rest copied to the front of rbuf), or
 * -1 once c is gone.  *stopped: paced and held again, with a backlog
 * left.
 */
static ssize_t
take_backlog(struct conn *c, bool paced, bool *stopped)
{
	struct conn_set *cs = c->set;

	*stopped = false;
	if (c->restlen > 0)
		memcpy(cs->rbuf, c->rest, c->restlen);
	if (!c->backlog)
		return (ssize_t)c->restlen;
	c->backlog = false;
	if (!feed(c, cs->rbuf, c->restlen, false, paced))
		return -1;
	if (c->backlog || (paced && cs->held)) {
		*stopped = true;
		return 0;
	}
	if (c->restlen > 0)
		memcpy(cs->rbuf, c->rest, c->restlen);
	return (ssize_t)c->restlen;
}

/*
 * Reads what the kernel still holds for c (it arrived before the end, or
 * before a shutdown) and decodes it, holds or not; eof: the peer is gone
 * (a reset, a failed write), so its last incomplete frame is flushed as at
 * end of stream.  Returns false once c is gone (or closing).
 */
static bool
drain(struct conn *c, bool eof)
{
	struct conn_set *cs = c->set;
	evutil_socket_t fd = event_get_fd(c->rev);
	bool stopped;
	ssize_t have, n;

	if ((have = take_backlog(c, false, &stopped)) == -1)
		return false;
	for (int i = 0; i < CONN_DRAIN_READS; i++) {
		n = recv(fd, cs->rbuf + have, cs->rsize - (size_t)have, 0);
		if (n <= 0)
			break;
		metric_add(cs->bytes, (double)n);
		if (!feed(c, cs->rbuf, (size_t)have + (size_t)n, false, false))
			return false;
		have = (ssize_t)c->restlen;
		if (have > 0)
			memcpy(cs->rbuf, c->rest, (size_t)have);
	}
	return !eof || feed(c, cs->rbuf, (size_t)have, true, false);
}

/* The peer is gone: what it sent before is decoded, then c is freed. */
static void
conn_end(struct conn *c, const char *reason)
{
	if (drain(c, true))
		conn_free(c, reason);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct conn_set *cs = c->set;
	char reason[128];
	bool stopped;
	ssize_t have, n;

	if (what & EV_TIMEOUT) {
		snprintf(reason, sizeof reason, "idle for %d s",
		    cs->lim.idle_timeout);
		conn_free(c, reason);
		return;
	}
	if (c->rearm) {
		/* Resumed with what was left of the idle timeout: from the
		 * first wake-up on, the whole of it again. */
		c->rearm = false;
		event_add(c->rev, cs->idle);
	}
	/* Bytes read before a hold come before the socket's. */
	if ((have = take_backlog(c, true, &stopped)) == -1 || stopped)
		return;
	n = recv(fd, cs->rbuf + have, cs->rsize - (size_t)have, 0);
	if (n > 0) {
		metric_add(cs->bytes, (double)n);
		c->heard_ms = clock_mono_ms();
		feed(c, cs->rbuf, (size_t)have + (size_t)n, false, true);
		return;
	}
	if (n == 0) {
		/* End of stream: what is left may still make a frame. */
		if (!feed(c, cs->rbuf, (size_t)have, true, false))
			return;
		conn_free(c, "closed by peer");
		return;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return;
	/* A reset comes after the bytes sent before it: none is lost. */
	snprintf(reason, sizeof reason, "%s", strerror(errno));
	conn_end(c, reason);
}

/* The replies' side: write errors and the linger timeout. */
static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char reason[128];

	(void)bev;
	if (what & BEV_EVENT_ERROR) {
		snprintf(reason, sizeof reason, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		/* A reply that cannot be written (the peer reset) must not
		 * lose the frames it sent before: they may still be unread. */
		if (c->closing)
			conn_free(c, reason);
		else
			conn_end(c, reason);
	} else if (what & (BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) {
		if (what & BEV_EVENT_TIMEOUT)
			snprintf(reason, sizeof reason, "replies not taken within %d s",
			    CONN_LINGER_S);
		else
			snprintf(reason, sizeof reason, "closed by peer");
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
	{
		struct timeval idle = { lim->idle_timeout, 0 };

		cs->idle = event_base_init_common_timeout(base, &idle);
	}
	/* Kept bytes (< 2 max_frame) plus a read. */
	cs->rsize = 2 * lim->max_frame + CONN_READ_MAX;
	cs->rbuf = xmalloc(cs->rsize);
	return cs;
}

void
conn_set_free(struct conn_set *cs)
{
	if (cs == NULL)
		return;
	/* What the peers sent before the end, taken by the kernel (so sent,
	 * as far as they know) or read before a hold, is decoded first;
	 * only incomplete frames go with the connections. */
	for (struct conn *c = cs->head, *next; c != NULL; c = next) {
		next = c->next;
		if (!c->closing)
			(void)drain(c, false);
	}
	while (cs->head != NULL)
		conn_free(cs->head, "shutting down");
	free(cs->rbuf);
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

void
conn_set_pace(struct conn_set *cs, conn_pace_fn *fn, void *arg)
{
	cs->pace = fn;
	cs->pace_arg = arg;
}

/* Starts listening to c again, with what is left of its idle timeout. */
static void
resume(struct conn *c, int64_t now)
{
	int64_t idle_ms = (int64_t)c->set->lim.idle_timeout * 1000;

	c->heard_ms = now - c->quiet_ms;
	/* Quiet for under 1 % of the timeout (a busy peer): the whole of
	 * it, on the common queue, rather than a timer of its own. */
	if (c->quiet_ms * 100 < idle_ms)
		event_add(c->rev, c->set->idle);
	else {
		int64_t left = idle_ms - c->quiet_ms;
		struct timeval tv;

		if (left < 0)
			left = 0;
		tv.tv_sec = (time_t)(left / 1000);
		tv.tv_usec = (suseconds_t)(left % 1000 * 1000);
		event_add(c->rev, &tv);
		c->rearm = true;
	}
	/* Read before the hold, not decoded yet: on_read takes it first. */
	if (c->backlog)
		event_active(c->rev, EV_READ, 0);
}

void
conn_set_hold(struct conn_set *cs, bool hold)
{
	int64_t now;

	if (hold == cs->held)
		return;
	now = clock_mono_ms();
	cs->held = hold;
	if (hold)
		cs->held_ms = now;
	else
		cs->held_total_ms += now - cs->held_ms;
	for (struct conn *c = cs->head; c != NULL; c = c->next) {
		if (c->closing)
			continue;
		if (hold) {
			c->quiet_ms = now - c->heard_ms;
			event_del(c->rev);
		} else
			resume(c, now);
	}
}

bool
conn_set_held(const struct conn_set *cs)
{
	return cs->held;
}

double
conn_set_held_seconds(const struct conn_set *cs)
{
	int64_t ms = cs->held_total_ms;

	if (cs->held)
		ms += clock_mono_ms() - cs->held_ms;
	return (double)ms / 1000.0;
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
	bufferevent_setcb(c->bev, NULL, NULL, on_event, c);
	c->rev = event_new(cs->base, fd, EV_READ | EV_PERSIST, on_read, c);
	/* Held: read from the resume on, like the others (its login waits). */
	c->heard_ms = clock_mono_ms();
	if (!cs->held)
		event_add(c->rev, cs->idle);
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
	event_free(c->rev);
	bufferevent_free(c->bev);
	session_free(c->s);
	free(c->rest);
	free(c);
}
