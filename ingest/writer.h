/*
 * writer.h: what each frame becomes in Redis.
 *
 * A decoded report becomes `XADD P:positions MAXLEN ~ N * <fields> raw …
 * recv … transport … peer …` plus `HSET P:device:<id> …` (one outbox
 * entry); a frame without a record (login, heartbeat) refreshes the device
 * hash; a rejected frame becomes `XADD P:rejects MAXLEN ~ 100000 * peer …
 * transport … reason … raw …`; a downlink command's outcome becomes
 * `XADD P:command-results …`.  Commands are encoded here in RESP
 * (lib/resp.h: explicit lengths, never a format string) and queued in the
 * outbox in batches: what one event-loop pass yields goes to the outbox at
 * the end of the pass.  A device's hash updates are merged into one HSET
 * (the same hash as one HSET per frame would leave), written at once for
 * a device reporting less often than WRITER_DEVICE_MS, and at most once
 * per WRITER_DEVICE_MS for a busier one (logins, heartbeats and offline
 * marks never wait).
 */
#ifndef GA_INGEST_WRITER_H
#define GA_INGEST_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/session.h"

struct event_base;
struct metrics;
struct outbox;
struct writer;

/* Rejected bytes kept on P:rejects: the escaped text is cut at this size. */
#define WRITER_REJECT_RAW 512
/* MAXLEN of P:rejects. */
#define WRITER_REJECTS_MAXLEN 100000

/* How long a device's hash updates may wait to be merged (see below). */
#define WRITER_DEVICE_MS 1000

/*
 * Creates a writer queueing into ob (borrowed) with key prefix `prefix`
 * (copied) and the positions stream capped near stream_maxlen entries.
 * A device's hash is written at most once per device_ms (0: once per
 * batch) for its positions; position updates coming sooner merge and
 * wait.  Registers its counters
 * in m (may be NULL).  With a base, each batch is handed to the outbox at
 * the end of the event-loop pass that began it, and a timer hands over
 * the device updates that waited; with base NULL the owner calls
 * writer_flush and writer_tick.
 */
struct writer *writer_new(struct outbox *ob, struct event_base *base,
    const char *prefix, int64_t stream_maxlen, int device_ms,
    struct metrics *m);

/* Drains (writer_drain), then frees w; writer_free(NULL) does nothing. */
void writer_free(struct writer *w);

/*
 * Hands the batch to the outbox now: one entry per report, reject, result
 * or device refresh, in order; each device's merged HSET goes with the
 * last entry that touched it, unless the device's hash was written less
 * than device_ms ago (then it waits).  An entry left without a command is
 * not queued.
 */
void writer_flush(struct writer *w);

/*
 * Flushes, then hands over the device updates whose wait is over, and
 * forgets the devices with nothing waiting and no write for device_ms.
 */
void writer_tick(struct writer *w);

/* Hands everything over now, waiting device updates included (shutdown). */
void writer_drain(struct writer *w);

/*
 * Entries in the batch, not handed to the outbox yet: each becomes at most
 * one outbox entry.  For backpressure, which counts them with the outbox's.
 */
size_t writer_pending(const struct writer *w);

/*
 * Queues what frame f yields: a position, a device refresh or a reject.
 * transport is "tcp" or "udp", peer "ip:port".  Logs rejects (escaped).
 */
void writer_frame(struct writer *w, const struct session_frame *f,
    const char *transport, const char *peer, int64_t recv_ms);

/*
 * Queues a reject that did not come from a session (a UDP datagram longer
 * than --max-frame, a peer cut off by conn.c itself).
 */
void writer_reject(struct writer *w, const char *transport, const char *peer,
    const char *reason, const uint8_t *raw, size_t len);

/* Marks device offline (`HSET P:device:<id> online 0`); id as reported. */
void writer_offline(struct writer *w, const char *device);

/* MAXLEN of P:command-results. */
#define WRITER_RESULTS_MAXLEN 100000

/* The outcome of one downlink command; strings borrowed for the call. */
struct writer_result {
	const char *device;	/* as the command named it */
	const char *command;	/* the command's name */
	const char *status;	/* "sent", "expired" or "unsupported" */
	const uint8_t *raw;	/* bytes sent (escaped here); NULL: none */
	size_t rawlen;
	const char *id;		/* the P:commands entry id */
	const char *reason;	/* why unsupported; NULL: left out */
	const char *transport;	/* "tcp"/"udp" when sent; NULL: left out */
	const char *peer;	/* "ip:port" when sent; NULL: left out */
	const char *ingest;	/* the ingest process that decided */
};

/*
 * Queues `XADD P:command-results MAXLEN ~ 100000 * device … command …
 * status … raw … id … [reason …] [transport … peer …] ingest …`.
 */
void writer_result(struct writer *w, const struct writer_result *r);

#endif
