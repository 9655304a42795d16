/*
 * outbox.c: a ring of entries addressed by ever-growing sequence numbers.
 *
 *   head <= next <= tail
 *   [head, tail)  entries queued, oldest first
 *   [head, next)  entries whose commands have been handed to the
 *                 connection (all, or those not yet acknowledged)
 *
 * Redis answers the commands of one connection in order, so a second ring,
 * `flight`, records (entry, command) for each command sent; outbox_reply
 * pops its oldest record.  An entry whose commands are all acknowledged is
 * done; done entries at the head leave the queue.  On disconnect the
 * flight ring is emptied and next goes back to head: every entry not done
 * is sent again (its acknowledged commands are skipped).
 *
 * The entries' bytes are bump-allocated from chunks of CHUNK_SIZE: entries
 * come and go in order, so a chunk is free again once the last entry in it
 * is; one or two spare chunks are kept.  A malloc and a free per entry,
 * and the page faults of a heap that grows and shrinks with the queue,
 * showed in profiles.
 */
#include "ingest/outbox.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/xmalloc.h"

/* A full queue drops an entry per push; say so at most this often. */
#define DROP_LOG_INTERVAL_MS 10000
/* Bytes per chunk: a few hundred entries. */
#define CHUNK_SIZE (256 * 1024)
/* Empty chunks kept for reuse. */
#define CHUNK_SPARES 2
/* Commands handed to the send function in one call at most. */
#define RUN_MAX 256

struct chunk {
	struct chunk *next;	/* spares list */
	size_t size, used;
	size_t live;		/* entries in it not cleared yet */
	char data[];
};

struct outbox_entry {
	struct chunk *chunk;
	char *buf;		/* the commands back to back, in chunk */
	uint32_t lens[OUTBOX_MAX_CMDS];
	uint8_t n;
	uint8_t kind;
	uint8_t acked;		/* bit i: command i acknowledged (or refused) */
	bool tried;		/* sent at least once */
	int64_t pushed_ms;
};

struct flight {
	uint64_t seq;
	int cmd;
};

struct outbox {
	struct outbox_entry *ring;
	size_t cap;
	uint64_t head, next, tail;

	struct flight *flight;
	size_t window, fhead, flen;

	bool up;
	outbox_send_fn *send;
	void *arg;
	struct metric *latency;

	struct chunk *cur;		/* being filled */
	struct chunk *spares;
	int nspares;

	struct outbox_stats st;
	uint64_t drops_logged;
	int64_t drop_log_ms;
};

struct outbox *
outbox_new(size_t capacity, size_t window, outbox_send_fn *send, void *arg,
    struct metric *latency)
{
	struct outbox *ob = xcalloc(1, sizeof *ob);

	if (capacity < 1)
		capacity = 1;
	if (window < OUTBOX_MAX_CMDS)
		window = OUTBOX_MAX_CMDS;
	ob->cap = capacity;
	ob->ring = xcalloc(capacity, sizeof *ob->ring);
	ob->window = window;
	ob->flight = xcalloc(window, sizeof *ob->flight);
	ob->send = send;
	ob->arg = arg;
	ob->latency = latency;
	return ob;
}

static struct outbox_entry *
entry(const struct outbox *ob, uint64_t seq)
{
	return &ob->ring[seq % ob->cap];
}

/* A chunk with no entry left: kept as a spare, or freed. */
static void
chunk_retire(struct outbox *ob, struct chunk *c)
{
	if (ob->nspares < CHUNK_SPARES && c->size == CHUNK_SIZE) {
		c->next = ob->spares;
		ob->spares = c;
		ob->nspares++;
	} else
		free(c);
}

/* Room for len bytes of one entry; *chunk gets where they lie. */
static char *
chunk_alloc(struct outbox *ob, size_t len, struct chunk **chunk)
{
	struct chunk *c = ob->cur;
	char *p;

	if (c == NULL || c->size - c->used < len) {
		if (c != NULL && c->live == 0)
			chunk_retire(ob, c);
		if (len <= CHUNK_SIZE && ob->spares != NULL) {
			c = ob->spares;
			ob->spares = c->next;
			ob->nspares--;
		} else {
			size_t size = len > CHUNK_SIZE ? len : CHUNK_SIZE;

			c = xmalloc(sizeof *c + size);
			c->size = size;
		}
		c->used = 0;
		c->live = 0;
		ob->cur = c;
	}
	p = c->data + c->used;
	c->used += len;
	c->live++;
	*chunk = c;
	return p;
}

static void
entry_clear(struct outbox *ob, struct outbox_entry *e)
{
	struct chunk *c = e->chunk;

	if (c != NULL && --c->live == 0) {
		if (c == ob->cur)
			c->used = 0;	/* start it over */
		else
			chunk_retire(ob, c);
	}
	memset(e, 0, sizeof *e);
}

/* Where command i of e starts in e->buf. */
static size_t
cmd_offset(const struct outbox_entry *e, int i)
{
	size_t off = 0;

	for (int k = 0; k < i; k++)
		off += e->lens[k];
	return off;
}

void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	if (ob->tail > ob->head)
		log_warn("outbox: %llu entries not written to Redis are lost",
		    (unsigned long long)(ob->tail - ob->head));
	for (uint64_t s = ob->head; s < ob->tail; s++)
		entry_clear(ob, entry(ob, s));
	free(ob->cur);
	while (ob->spares != NULL) {
		struct chunk *c = ob->spares;

		ob->spares = c->next;
		free(c);
	}
	free(ob->ring);
	free(ob->flight);
	free(ob);
}

static bool
done(const struct outbox_entry *e)
{
	return e->acked == (1u << e->n) - 1;
}

/* Removes done entries from the head. */
static void
pop_done(struct outbox *ob)
{
	int64_t now = ob->latency != NULL ? clock_mono_ms() : 0;

	while (ob->head < ob->tail && done(entry(ob, ob->head))) {
		struct outbox_entry *e = entry(ob, ob->head);

		if (ob->latency != NULL)
			metric_observe(ob->latency, (double)(now - e->pushed_ms) / 1000.0);
		entry_clear(ob, e);
		ob->st.acked++;
		ob->head++;
		if (ob->next < ob->head)
			ob->next = ob->head;
	}
}

/* Records command cmd of entry seq as sent. */
static void
fly(struct outbox *ob, uint64_t seq, int cmd)
{
	struct flight *f = &ob->flight[(ob->fhead + ob->flen) % ob->window];

	f->seq = seq;
	f->cmd = cmd;
	ob->flen++;
}

/* Sends the commands of e not yet acknowledged; -1 when the link is gone. */
static int
send_entry(struct outbox *ob, struct outbox_entry *e)
{
	size_t lens[OUTBOX_MAX_CMDS];

	if (e->acked == 0) {
		/* The usual case: the whole entry in one call. */
		for (int i = 0; i < e->n; i++)
			lens[i] = e->lens[i];
		if (ob->send(ob->arg, e->buf, lens, e->n) == -1)
			return -1;
		for (int i = 0; i < e->n; i++)
			fly(ob, ob->next, i);
		if (e->tried)
			ob->st.resent += e->n;
		return 0;
	}
	for (int i = 0; i < e->n; i++) {
		if (e->acked & (1u << i))
			continue;
		lens[0] = e->lens[i];
		if (ob->send(ob->arg, e->buf + cmd_offset(e, i), lens, 1) == -1)
			return -1;
		fly(ob, ob->next, i);
		if (e->tried)
			ob->st.resent++;
	}
	return 0;
}

/*
 * Sends entries from next on while connected and the window has room.
 * Whole entries whose bytes follow one another (pushed one after the
 * other into the same chunk) go out together, in one call.
 */
static void
flush(struct outbox *ob)
{
	size_t lens[RUN_MAX];

	while (ob->up && ob->next < ob->tail) {
		struct outbox_entry *e = entry(ob, ob->next);
		const char *start = e->buf, *end = e->buf;
		uint64_t seq = ob->next;
		int n = 0;

		if (ob->flen + e->n > ob->window)
			return;
		if (e->acked != 0 || e->tried) {
			/* After a reconnect: entry by entry, as it was. */
			if (send_entry(ob, e) == -1)
				goto gone;
			e->tried = true;
			ob->next++;
			continue;
		}
		while (seq < ob->tail) {
			e = entry(ob, seq);
			if (e->acked != 0 || e->tried || e->buf != end ||
			    n + e->n > RUN_MAX || ob->flen + n + e->n > ob->window)
				break;
			for (int i = 0; i < e->n; i++) {
				lens[n++] = e->lens[i];
				end += e->lens[i];
			}
			seq++;
		}
		if (ob->send(ob->arg, start, lens, n) == -1)
			goto gone;
		for (; ob->next < seq; ob->next++) {
			e = entry(ob, ob->next);
			for (int i = 0; i < e->n; i++)
				fly(ob, ob->next, i);
			e->tried = true;
		}
	}
	return;
gone:
	/* The connection is going away; the state callback will rewind. */
	ob->up = false;
}

static void
log_drops(struct outbox *ob)
{
	int64_t now = clock_mono_ms();

	if (ob->drops_logged != 0 && now - ob->drop_log_ms < DROP_LOG_INTERVAL_MS)
		return;
	log_warn("outbox: full (%zu entries): dropped %llu oldest so far "
	    "(%llu reports)", ob->cap, (unsigned long long)ob->st.dropped,
	    (unsigned long long)ob->st.dropped_reports);
	ob->drops_logged = ob->st.dropped;
	ob->drop_log_ms = now;
}

void
outbox_push(struct outbox *ob, enum outbox_kind kind,
    const struct outbox_cmd *cmds, int n)
{
	struct outbox_entry *e;
	size_t total = 0, off = 0;

	if (n < 1 || n > OUTBOX_MAX_CMDS)
		return;
	if (ob->tail - ob->head == ob->cap) {
		e = entry(ob, ob->head);
		if (!done(e)) {
			ob->st.dropped++;
			if (e->kind == OUTBOX_REPORT)
				ob->st.dropped_reports++;
		}
		/* Replies still due for it find seq < head and are ignored. */
		entry_clear(ob, e);
		ob->head++;
		if (ob->next < ob->head)
			ob->next = ob->head;
		log_drops(ob);
	}
	e = entry(ob, ob->tail++);
	for (int i = 0; i < n; i++)
		total += cmds[i].len;
	e->buf = chunk_alloc(ob, total, &e->chunk);
	for (int i = 0; i < n; i++) {
		memcpy(e->buf + off, cmds[i].buf, cmds[i].len);
		off += cmds[i].len;
		e->lens[i] = (uint32_t)cmds[i].len;
	}
	e->n = (uint8_t)n;
	e->kind = (uint8_t)kind;
	e->acked = 0;
	e->tried = false;
	e->pushed_ms = clock_mono_ms();
	ob->st.pushed++;
}

void
outbox_flush(struct outbox *ob)
{
	flush(ob);
}

void
outbox_connected(struct outbox *ob, bool up)
{
	ob->up = up;
	if (!up) {
		ob->fhead = ob->flen = 0;
		ob->next = ob->head;
		return;
	}
	if (ob->tail > ob->head)
		log_info("outbox: sending %llu queued entries",
		    (unsigned long long)(ob->tail - ob->head));
	flush(ob);
}

/* Errors after which the same command may well succeed on a fresh try. */
static bool
transient(const char *msg)
{
	static const char *const codes[] = {
		"LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "TRYAGAIN",
		"CLUSTERDOWN", "NOREPLICAS", "MISCONF",
	};

	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		size_t n = strlen(codes[i]);

		if (strncmp(msg, codes[i], n) == 0 && (msg[n] == ' ' || msg[n] == '\0'))
			return true;
	}
	return false;
}

enum outbox_verdict
outbox_reply(struct outbox *ob, const struct redisReply *reply)
{
	struct flight f;
	struct outbox_entry *e;
	enum outbox_verdict v = OUTBOX_CONTINUE;

	if (ob->flen == 0)
		return OUTBOX_CONTINUE;
	f = ob->flight[ob->fhead];
	ob->fhead = (ob->fhead + 1) % ob->window;
	ob->flen--;
	if (reply == NULL)
		return OUTBOX_CONTINUE;
	if (f.seq < ob->head)
		goto out;	/* dropped while in flight */
	e = entry(ob, f.seq);
	if (reply->type == REDIS_REPLY_ERROR) {
		if (transient(reply->str)) {
			log_warn("outbox: Redis cannot serve now: %s", reply->str);
			ob->up = false;
			return OUTBOX_RESET;
		}
		ob->st.errors++;
		log_error("outbox: Redis refused a command, not retrying: %s",
		    reply->str);
	}
	e->acked |= (uint8_t)(1u << f.cmd);
	pop_done(ob);
out:
	flush(ob);
	return v;
}

size_t
outbox_len(const struct outbox *ob)
{
	return (size_t)(ob->tail - ob->head);
}

size_t
outbox_capacity(const struct outbox *ob)
{
	return ob->cap;
}

bool
outbox_hold(size_t queued, size_t capacity, bool connected, bool held)
{
	size_t high = capacity - capacity * (100 - OUTBOX_HIGH_PCT) / 100;
	size_t low = capacity * OUTBOX_LOW_PCT / 100;

	if (!connected)
		return false;
	return held ? queued > low : queued >= high;
}

size_t
outbox_in_flight(const struct outbox *ob)
{
	return ob->flen;
}

void
outbox_stats(const struct outbox *ob, struct outbox_stats *st)
{
	*st = ob->st;
}
