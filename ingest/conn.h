/*
 * conn.h: the TCP peers of one ingest process.
 *
 * Each accepted socket gets a bufferevent and a session; bytes read are fed
 * to session_feed straight from the input buffer, replies go back
 * byte-exact, frames go to the writer.  A peer is closed when it sends
 * nothing for the idle timeout, when its session says so (garbage, an
 * over-long frame), when it stops reading its replies, or at shutdown; a
 * device that was identified on it is then marked offline, unless it has
 * since connected again on another socket.
 */
#ifndef GA_INGEST_CONN_H
#define GA_INGEST_CONN_H

#include <stddef.h>

#include <event2/util.h>

struct event_base;
struct metrics;
struct sockaddr;
struct writer;
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
 * conn_set_free(NULL) does nothing.
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
 * Writes "ip:port" ("[ip6]:port" for IPv6) for sa into buf (size >= 64).
 * Returns buf.
 */
char *conn_peer_name(const struct sockaddr *sa, char *buf, size_t size);

#endif
