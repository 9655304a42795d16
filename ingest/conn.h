/*
 * conn.h: the TCP peers of one ingest process.
 *
 * Each accepted socket gets a read event, a session and a bufferevent for
 * the replies; bytes read are fed to session_feed straight from one read
 * buffer shared by the set, replies go back byte-exact, frames go to the
 * writer.  A peer is closed when it sends
 * nothing for the idle timeout, when its session says so (garbage, an
 * over-long frame), when it stops reading its replies, or at shutdown; a
 * device that was identified on it is then marked offline, unless it has
 * since connected again on another socket.
 */
#ifndef GA_INGEST_CONN_H
#define GA_INGEST_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/util.h>

struct event_base;
struct metrics;
struct session_frame;
struct sockaddr;
struct writer;
struct conn;
struct conn_set;

struct conn_limits {
	size_t max_frame;	/* --max-frame: longest frame, in bytes */
	int idle_timeout;	/* --idle-timeout: seconds without a byte */
};

/*
 * Creates an empty set of connections writing through w (borrowed).
 * Registers its metrics in m (may be NULL).
 */
struct conn_set *conn_set_new(struct event_base *base, struct writer *w,
    const struct conn_limits *lim, struct metrics *m);

/*
 * Closes every connection (devices are marked offline) and frees cs;
 * conn_set_free(NULL) does nothing.  What the peers had sent and the
 * kernel holds (or the set had read during a hold) is decoded and handed
 * to the writer first; only incomplete frames are lost.
 */
void conn_set_free(struct conn_set *cs);

/*
 * Takes over an accepted, non-blocking socket fd from peer sa.  On failure
 * the socket is closed and the failure logged.
 */
void conn_set_accept(struct conn_set *cs, evutil_socket_t fd,
    const struct sockaddr *sa, int salen);

/* Number of open connections. */
size_t conn_set_count(const struct conn_set *cs);

/*
 * Who hears about the peers besides the writer (the downlink).  frame runs
 * for every frame of a peer, after its reply was queued; closed runs once
 * per connection when it starts closing (nothing more can be written to
 * it), before the connection is freed.  Either may be NULL.
 */
struct conn_observer {
	void (*frame)(void *arg, struct conn *c, const struct session_frame *f);
	void (*closed)(void *arg, struct conn *c);
	void *arg;
};

/*
 * Backpressure.  conn_set_hold(cs, true) stops reading from every peer,
 * false reads again.  While held, peers stay connected, their replies and
 * downlink commands still go out, and new connections are accepted but
 * not read from either (so a device connecting meanwhile has its login
 * answered once reading resumes); the time held does not count toward a
 * peer's idle timeout.  A peer's bytes are decoded in order whatever the
 * holds: what was read and not decoded yet when the hold came is decoded
 * on resume, before its socket is read again.  Holding a held set (or
 * resuming a running one) does nothing.
 */
void conn_set_hold(struct conn_set *cs, bool hold);

/* True while held. */
bool conn_set_held(const struct conn_set *cs);

/* Seconds spent held since creation, the current hold included. */
double conn_set_held_seconds(const struct conn_set *cs);

/*
 * The policy (ingest's main.c): fn(arg) runs while the set decodes what
 * it read, after every KiB (about ten reports) at most, and may call
 * conn_set_hold(cs, true): the set then stops decoding at once and keeps
 * the rest for the resume, so a hold comes within one such piece.  NULL:
 * nobody asks (never held but by conn_set_hold).
 */
typedef void conn_pace_fn(void *arg);
void conn_set_pace(struct conn_set *cs, conn_pace_fn *fn, void *arg);

/* Sets the observer (copied); NULL removes it. */
void conn_set_observe(struct conn_set *cs, const struct conn_observer *obs);

/*
 * Queues buf[0..len) on c's output.  Returns 0 when the bytes were queued
 * on an open connection, -1 when c is closing or the queue refused them.
 */
int conn_write(struct conn *c, const void *buf, size_t len);

/* The peer's "ip:port" (owned by c). */
const char *conn_peer(const struct conn *c);

/* A pointer the observer keeps on c (NULL until set); not freed by c. */
void conn_set_udata(struct conn *c, void *udata);
void *conn_udata(const struct conn *c);

/*
 * Writes "ip:port" ("[ip6]:port" for IPv6) for sa into buf (size >= 64).
 * Returns buf.
 */
char *conn_peer_name(const struct sockaddr *sa, char *buf, size_t size);

#endif
