/*
 * listen.h: the one port ingest serves, TCP and UDP.
 *
 * The TCP listener hands accepted sockets to conn.c; when the process runs
 * out of file descriptors it stops accepting for a while rather than spin.
 * The UDP socket reads datagrams, decodes each one on its own through a
 * session, sends replies back to the datagram's source, writes frames
 * through the writer and tells an observer (the downlink) about each.
 */
#ifndef GA_INGEST_LISTEN_H
#define GA_INGEST_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

struct conf_hostport;
struct session_frame;
struct conn_set;
struct event_base;
struct metrics;
struct writer;
struct listen;

/*
 * Binds TCP and UDP on addr (port 0: the TCP listener picks a port and UDP
 * binds the same one).  Returns NULL with a reason in err when either
 * cannot be bound.  cs, w are borrowed; m may be NULL.
 */
struct listen *listen_new(struct event_base *base,
    const struct conf_hostport *addr, struct conn_set *cs, struct writer *w,
    size_t max_frame, struct metrics *m, char *err, size_t errlen);

/*
 * Stops listening and frees l; listen_free(NULL) does nothing.  The
 * datagrams already queued on the UDP socket are handled first (written,
 * answered, observed), as if read by the loop.
 */
void listen_free(struct listen *l);

/*
 * Called for every datagram's frame after its reply was sent: fd is the
 * UDP socket (to send more to `from`), peer is "ip:port".  All borrowed for
 * the call.
 */
typedef void listen_udp_fn(void *arg, int fd, const struct sockaddr *from,
    socklen_t fromlen, const char *peer, const struct session_frame *f);

/* Sets the datagram observer (the downlink); fn NULL removes it. */
void listen_observe(struct listen *l, listen_udp_fn *fn, void *arg);

#endif
