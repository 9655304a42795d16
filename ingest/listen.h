/*
 * listen.h: the one port ingest serves, TCP and UDP.
 *
 * The TCP listener hands accepted sockets to conn.c; when the process runs
 * out of file descriptors it stops accepting for a while rather than spin.
 * The UDP socket reads datagrams, decodes each one on its own through a
 * session, sends replies back to the datagram's source and writes frames
 * through the writer.
 */
#ifndef GA_INGEST_LISTEN_H
#define GA_INGEST_LISTEN_H

#include <stddef.h>

struct conf_hostport;
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

/* Stops listening and frees l; listen_free(NULL) does nothing. */
void listen_free(struct listen *l);

/* The port actually bound. */
int listen_port(const struct listen *l);

#endif
