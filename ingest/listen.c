/*
 * listen.c: the TCP listener (evconnlistener) and the UDP socket on the
 * same address.
 *
 * UDP datagrams are read with recvmmsg, UDP_VLEN per call and at most
 * UDP_BATCH per wake-up (so a flood cannot starve TCP peers), into one
 * buffer of UDP_VLEN slots; each is decoded on its own by one shared
 * session, which holds no per-peer state that matters for UDP.  When the
 * socket is closed, the datagrams still queued on it are read first.
 */
#include "ingest/listen.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingest/conn.h"
#include "ingest/session.h"
#include "ingest/writer.h"
#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/xmalloc.h"

/* Out of descriptors: stop accepting for this long (tmux waits a second). */
#define ACCEPT_PAUSE_MS 1000
/* Datagrams per recvmmsg call, and per wake-up at most. */
#define UDP_VLEN 64
#define UDP_BATCH 256
/* Datagrams read at most when closing: more than the receive buffer can
 * hold (it is counted in bytes, with some overhead per datagram). */
#define UDP_DRAIN 65536
/* Receive buffer asked for: room for a few seconds of datagrams while the
 * loop is busy elsewhere (the kernel caps it at net.core.rmem_max). */
#define UDP_RCVBUF (4 << 20)

struct listen {
	struct event_base *base;
	struct conn_set *cs;
	struct writer *w;
	size_t max_frame;
	int port;

	struct evconnlistener *tcp;
	struct event *resume;		/* re-enables accepting after EMFILE */

	evutil_socket_t udp_fd;
	struct event *udp_ev;
	struct session *udp_session;
	struct metric *datagrams;
	uint8_t *udp_buf;		/* UDP_VLEN slots of udp_slot bytes */
	size_t udp_slot;
	int udp_rcvbuf;			/* granted by the kernel */
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_storage *from;
	listen_udp_fn *observe;
	void *observe_arg;
};

/* The datagram being handled, for the session callback. */
struct datagram {
	struct listen *l;
	const struct sockaddr *from;
	socklen_t fromlen;
	char peer[64];
};

/* ---- TCP ---- */

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listen *l = arg;

	(void)lev;
	conn_set_accept(l->cs, fd, sa, salen);
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct listen *l = arg;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { ACCEPT_PAUSE_MS / 1000, (ACCEPT_PAUSE_MS % 1000) * 1000 };

	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		log_warn("tcp: accept: %s (%zu open); not accepting for %d ms",
		    evutil_socket_error_to_string(e), conn_set_count(l->cs),
		    ACCEPT_PAUSE_MS);
		evconnlistener_disable(lev);
		evtimer_add(l->resume, &tv);
		return;
	}
	log_warn("tcp: accept: %s", evutil_socket_error_to_string(e));
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->tcp);
}

/* ---- UDP ---- */

static void
on_udp_frame(void *arg, const struct session_frame *f)
{
	struct datagram *d = arg;

	writer_frame(d->l->w, f, "udp", d->peer, f->report != NULL ?
	    f->report->recv_ms : clock_now_ms());
	if (f->reply != NULL && f->reply->len > 0 &&
	    sendto(d->l->udp_fd, f->reply->buf, f->reply->len, 0, d->from,
	    d->fromlen) == -1)
		log_warn("udp %s: reply not sent: %s", d->peer, strerror(errno));
	if (d->l->observe != NULL)
		d->l->observe(d->l->observe_arg, d->l->udp_fd, d->from,
		    d->fromlen, d->peer, f);
}

/* Reads and handles up to max datagrams, fewer when no more are queued. */
static void
udp_read(struct listen *l, int max)
{
	evutil_socket_t fd = l->udp_fd;
	int got = 0;

	while (got < max) {
		int n;

		for (int i = 0; i < UDP_VLEN; i++) {
			l->msgs[i].msg_hdr.msg_namelen = sizeof l->from[i];
			l->msgs[i].msg_hdr.msg_flags = 0;
		}
		/* MSG_TRUNC: msg_len is the datagram's own length even when
		 * it did not fit its slot. */
		n = recvmmsg(fd, l->msgs, UDP_VLEN, MSG_TRUNC, NULL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("udp: recvmmsg: %s", strerror(errno));
			return;
		}
		got += n;
		metric_add(l->datagrams, n);
		for (int i = 0; i < n; i++) {
			struct datagram d = { l, (struct sockaddr *)&l->from[i],
			    l->msgs[i].msg_hdr.msg_namelen, "" };
			size_t len = l->msgs[i].msg_len;

			/* A datagram longer than its slot (so longer than
			 * max_frame) is rejected on the part that fitted. */
			if (len > l->udp_slot)
				len = l->udp_slot;
			conn_peer_name(d.from, d.peer, sizeof d.peer);
			/* The session rejects empty and over-long datagrams. */
			session_datagram(l->udp_session, l->udp_buf +
			    (size_t)i * l->udp_slot, len, clock_now_ms(),
			    on_udp_frame, &d);
		}
		if (n < UDP_VLEN)
			return;
	}
}

static void
on_udp(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	udp_read(arg, UDP_BATCH);
}

/* ---- Set-up ---- */

static int
resolve(const struct conf_hostport *addr, int port, struct sockaddr_storage *ss,
    socklen_t *len, char *err, size_t errlen)
{
	struct evutil_addrinfo hints, *res = NULL;
	char portstr[8];
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof portstr, "%d", port);
	if ((rc = evutil_getaddrinfo(addr->host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", addr->host, evutil_gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = (socklen_t)res->ai_addrlen;
	evutil_freeaddrinfo(res);
	return 0;
}

static int
bound_port(evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int
udp_open(struct listen *l, const struct sockaddr_storage *ss, socklen_t len,
    char *err, size_t errlen)
{
	int one = 1, rcvbuf = UDP_RCVBUF;
	socklen_t optlen = sizeof rcvbuf;

	l->udp_fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->udp_fd == -1) {
		snprintf(err, errlen, "udp socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(l->udp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(l->udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	/* Linux reports twice what it grants (bookkeeping included). */
	if (getsockopt(l->udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &optlen) == 0)
		l->udp_rcvbuf = rcvbuf / 2;
	if (bind(l->udp_fd, (const struct sockaddr *)ss, len) == -1) {
		int e = errno;

		snprintf(err, errlen, "udp bind: %s", strerror(e));
		errno = e;
		return -1;
	}
	l->udp_ev = event_new(l->base, l->udp_fd, EV_READ | EV_PERSIST, on_udp, l);
	event_add(l->udp_ev, NULL);
	return 0;
}

/* Binds TCP then UDP on ss; on failure nothing stays bound (errno kept). */
static int
bind_pair(struct listen *l, const struct conf_hostport *addr,
    struct sockaddr_storage *ss, socklen_t len, char *err, size_t errlen)
{
	int e;

	l->tcp = evconnlistener_new_bind(l->base, on_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)ss, (int)len);
	if (l->tcp == NULL) {
		e = errno;
		snprintf(err, errlen, "tcp %s:%d: %s", addr->host, addr->port,
		    strerror(e));
		errno = e;
		return -1;
	}
	l->port = bound_port(evconnlistener_get_fd(l->tcp));
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)l->port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)l->port);
	if (udp_open(l, ss, len, err, errlen) == 0) {
		evconnlistener_set_error_cb(l->tcp, on_accept_error);
		return 0;
	}
	e = errno;
	evconnlistener_free(l->tcp);
	l->tcp = NULL;
	if (l->udp_fd != -1)
		close(l->udp_fd);
	l->udp_fd = -1;
	/* Back to the port asked for (0: let the kernel pick again). */
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)addr->port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)addr->port);
	errno = e;
	return -1;
}

struct listen *
listen_new(struct event_base *base, const struct conf_hostport *addr,
    struct conn_set *cs, struct writer *w, size_t max_frame, struct metrics *m,
    char *err, size_t errlen)
{
	struct listen *l = xcalloc(1, sizeof *l);
	struct sockaddr_storage ss;
	socklen_t len;

	l->base = base;
	l->cs = cs;
	l->w = w;
	l->max_frame = max_frame;
	l->udp_fd = -1;
	if (resolve(addr, addr->port, &ss, &len, err, errlen) == -1)
		goto fail;
	/*
	 * Port 0: the kernel picks a TCP port and UDP takes the same one; when
	 * that UDP port is taken already, try another pair.
	 */
	for (int attempt = 0;; attempt++) {
		if (bind_pair(l, addr, &ss, len, err, errlen) == 0)
			break;
		if (addr->port != 0 || errno != EADDRINUSE || attempt == 20)
			goto fail;
	}
	l->resume = evtimer_new(base, on_resume, l);
	l->udp_session = session_new(max_frame);
	/* max_frame + 1 bytes tell an over-long datagram; the reject keeps
	 * at most 512 of them anyway. */
	l->udp_slot = max_frame + 1;
	l->udp_buf = xmalloc(UDP_VLEN * l->udp_slot);
	l->msgs = xcalloc(UDP_VLEN, sizeof *l->msgs);
	l->iov = xcalloc(UDP_VLEN, sizeof *l->iov);
	l->from = xcalloc(UDP_VLEN, sizeof *l->from);
	for (int i = 0; i < UDP_VLEN; i++) {
		l->iov[i].iov_base = l->udp_buf + (size_t)i * l->udp_slot;
		l->iov[i].iov_len = l->udp_slot;
		l->msgs[i].msg_hdr.msg_iov = &l->iov[i];
		l->msgs[i].msg_hdr.msg_iovlen = 1;
		l->msgs[i].msg_hdr.msg_name = &l->from[i];
	}
	l->datagrams = m != NULL ? metrics_counter(m,
	    "geoalarm_ingest_udp_datagrams_total", "UDP datagrams received") : NULL;
	log_info("udp: receive buffer %d KiB (asked for %d KiB)",
	    l->udp_rcvbuf / 1024, UDP_RCVBUF / 1024);
	log_info(strchr(addr->host, ':') != NULL ? "listening on [%s]:%d (tcp and udp)" :
	    "listening on %s:%d (tcp and udp)", addr->host, l->port);
	return l;
fail:
	listen_free(l);
	return NULL;
}

void
listen_free(struct listen *l)
{
	if (l == NULL)
		return;
	/* Datagrams the kernel took before we stopped were sent, as far as
	 * their devices know: they are handled, not dropped with the socket. */
	if (l->udp_fd != -1 && l->udp_session != NULL && l->msgs != NULL)
		udp_read(l, UDP_DRAIN);
	if (l->tcp != NULL)
		evconnlistener_free(l->tcp);
	if (l->resume != NULL)
		event_free(l->resume);
	if (l->udp_ev != NULL)
		event_free(l->udp_ev);
	if (l->udp_fd != -1)
		close(l->udp_fd);
	session_free(l->udp_session);
	free(l->udp_buf);
	free(l->msgs);
	free(l->iov);
	free(l->from);
	free(l);
}

void
listen_observe(struct listen *l, listen_udp_fn *fn, void *arg)
{
	l->observe = fn;
	l->observe_arg = arg;
}
