/*
 * outbox.h: the bounded, ordered queue of Redis commands between the
 * writer and the Redis connection.
 *
 * One entry is one report's worth of commands (its XADD, with the device
 * HSET when the writer sends one along), or one reject, result or device
 * refresh.  Entries are sent pipelined, many in flight, and
 * leave the queue only when Redis has acknowledged every command of the
 * entry; when the connection drops, everything not acknowledged is sent
 * again, in order, once it is back.  When the queue holds `capacity`
 * entries, pushing drops the oldest one and counts it.
 *
 * The outbox does no I/O itself: it calls a send function with runs of
 * commands and is told the replies, one per command, in order, with
 * outbox_reply.  That keeps it
 * testable without Redis; ingest's main.c wires it to an rconn.
 */
#ifndef GA_INGEST_OUTBOX_H
#define GA_INGEST_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redisReply;
struct metric;
struct outbox;

#define OUTBOX_MAX_CMDS 3

/* What an entry carries, for the drop counts. */
enum outbox_kind { OUTBOX_REPORT, OUTBOX_DEVICE, OUTBOX_REJECT };

/*
 * Sends n (>= 1) RESP-encoded commands lying back to back in cmds, the
 * i-th of lens[i] bytes (all borrowed for the call), pipelined; their
 * replies come back through outbox_reply, one each, in order.  Returns 0,
 * or -1 when they cannot be sent now (not connected): then none was.
 */
typedef int outbox_send_fn(void *arg, const char *cmds, const size_t *lens,
    int n);

/* One RESP-encoded command (lib/resp.h), borrowed. */
struct outbox_cmd {
	const char *buf;
	size_t len;
};

/* What outbox_reply asks of the caller. */
enum outbox_verdict {
	OUTBOX_CONTINUE = 0,
	OUTBOX_RESET = 1,	/* the server cannot serve now: drop the
				   connection; unacknowledged entries are
				   re-sent after the reconnect */
};

/*
 * Creates an outbox of at most capacity entries (>= 1) with at most
 * window commands in flight at once.  send/arg are called by
 * outbox_flush.  latency (may be NULL) is a histogram that gets, for each
 * acknowledged entry, the seconds between push and acknowledgement.
 */
struct outbox *outbox_new(size_t capacity, size_t window, outbox_send_fn *send,
    void *arg, struct metric *latency);

/* Frees ob and every entry still queued; outbox_free(NULL) does nothing. */
void outbox_free(struct outbox *ob);

/*
 * Queues one entry of n (1..OUTBOX_MAX_CMDS) commands, copied.  Drops the
 * oldest entry first when full.  Sends nothing: outbox_flush does.
 */
void outbox_push(struct outbox *ob, enum outbox_kind kind,
    const struct outbox_cmd *cmds, int n);

/*
 * Sends what is queued and not sent yet, as far as the connection is up
 * and the window allows: entries pushed one after another go out together
 * in one call of the send function (replies come back one per command all
 * the same).  outbox_reply and outbox_connected send on their own.
 */
void outbox_flush(struct outbox *ob);

/* Tells the outbox the connection is up (sends) or down (rewinds). */
void outbox_connected(struct outbox *ob, bool up);

/*
 * Hands the reply to the oldest command in flight (reply NULL: the
 * connection died before it came).  The reply is borrowed.  Returns
 * OUTBOX_RESET when the reply says the server is not able to serve now
 * (LOADING, BUSY, OOM, READONLY, MASTERDOWN, TRYAGAIN…); other errors are
 * logged, counted, and the command is not retried.
 */
enum outbox_verdict outbox_reply(struct outbox *ob, const struct redisReply *reply);

/* Entries queued (sent or not, not yet acknowledged). */
size_t outbox_len(const struct outbox *ob);
/* Commands sent and awaiting their reply. */
size_t outbox_in_flight(const struct outbox *ob);

/*
 * Backpressure, for the producers that can be slowed down (TCP peers, whose
 * reports wait in their own socket buffers): given `queued` entries (in
 * the outbox and on their way to it), the outbox's capacity, whether Redis
 * is connected, and whether the producers are held now, returns whether
 * they should be held.  They are held from OUTBOX_HIGH_PCT % of capacity
 * on (rounded up) until the queue is down to OUTBOX_LOW_PCT % (rounded
 * down), so one hold lasts while Redis takes a quarter of the buffer, not
 * one entry.  Never while Redis is not connected: then the producers are
 * read and the oldest entries dropped when the queue is full, as before
 * (the SPEC's outage rule), since holding them would only move the loss to
 * their side.  Pure.
 */
#define OUTBOX_HIGH_PCT 75
#define OUTBOX_LOW_PCT 50
bool outbox_hold(size_t queued, size_t capacity, bool connected, bool held);

/* The capacity given to outbox_new. */
size_t outbox_capacity(const struct outbox *ob);

/* Counters since creation. */
struct outbox_stats {
	uint64_t pushed;		/* entries queued */
	uint64_t acked;			/* entries acknowledged */
	uint64_t dropped;		/* entries dropped because the queue was full */
	uint64_t dropped_reports;	/* of which OUTBOX_REPORT */
	uint64_t errors;		/* commands Redis refused for good */
	uint64_t resent;		/* commands sent again after a reconnect */
};
void outbox_stats(const struct outbox *ob, struct outbox_stats *st);

#endif
