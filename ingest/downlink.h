/*
 * downlink.h: commands from P:commands to the devices connected here.
 *
 * Every ingest process reads all of P:commands (XREAD, no consumer group:
 * each needs to see every command), starting, when it starts, from the
 * longest ttl back, so that commands issued while it was down or before
 * the device came here are known.  Each command waits in memory, in a
 * bounded queue per device, until its device is reachable from this
 * process (a TCP connection that identified as it, or a UDP peer seen
 * within --udp-peer-ttl) or its ttl runs out.  Before sending or
 * expiring a command the process claims it in Redis
 * (`SET P:command:<entry id> <ingest id> NX GET PX …`); only the winner
 * acts and writes the outcome to P:command-results, so with several ingest
 * processes on one Redis a command is delivered once, by one that has the
 * device.  A process that loses a claim drops the command.
 *
 * The downlink has its own two Redis connections: one blocks in XREAD, the
 * other carries the claims.  Results go through the writer (and so the
 * outbox: they survive a Redis outage).  conn.c and listen.c tell the
 * downlink about frames and closed connections; it sends through
 * conn_write and the UDP socket.
 */
#ifndef GA_INGEST_DOWNLINK_H
#define GA_INGEST_DOWNLINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct conn;
struct event_base;
struct metrics;
struct session_frame;
struct writer;
struct downlink;

/* Default ttl of a command without one (seconds). */
#define DOWNLINK_TTL_DEFAULT 3600
/*
 * Longest ttl honoured (a longer one is cut to it), and so how far back a
 * starting process reads P:commands.  Claims live this long past the
 * command's entry time, so a process that reads a command back never
 * resolves it a second time.
 */
#define DOWNLINK_TTL_MAX 86400
/* Commands kept waiting per device, and in all; the oldest waiting
 * command goes when a bound is reached. */
#define DOWNLINK_PER_DEVICE 32
#define DOWNLINK_PENDING_MAX 20000

struct downlink_opts {
	const char *redis;	/* URL, as --redis */
	const char *prefix;	/* key prefix, as --prefix */
	int udp_peer_ttl;	/* seconds a UDP peer stays reachable */
	int redis_timeout;	/* seconds without a reply before a reset */
	size_t per_device;	/* 0: DOWNLINK_PER_DEVICE */
	size_t pending_max;	/* 0: DOWNLINK_PENDING_MAX */
};

/*
 * Creates the downlink and starts reading P:commands.  w is borrowed (the
 * results go through it); m (may be NULL) gets the commands_* metrics.
 * Returns NULL with a reason in err when the Redis URL is bad.
 */
struct downlink *downlink_new(struct event_base *base,
    const struct downlink_opts *o, struct writer *w, struct metrics *m,
    char *err, size_t errlen);

/*
 * Frees dl and every command still waiting (their claims, if any, are
 * left to expire); downlink_free(NULL) does nothing.  Free the connections
 * first (their closed callbacks still reach dl).
 */
void downlink_free(struct downlink *dl);

/*
 * A frame arrived on TCP connection c (its reply already queued): the
 * device ids it carries become reachable through c, and their waiting
 * commands are claimed and sent.
 */
void downlink_tcp_frame(struct downlink *dl, struct conn *c,
    const struct session_frame *f);

/* Connection c is closing: nothing more is sent through it. */
void downlink_tcp_closed(struct downlink *dl, struct conn *c);

/*
 * A datagram's frame from `from` arrived on UDP socket fd: its device ids
 * become reachable at that address for --udp-peer-ttl seconds.
 */
void downlink_udp_frame(struct downlink *dl, int fd,
    const struct sockaddr *from, socklen_t fromlen, const char *peer,
    const struct session_frame *f);

#endif
