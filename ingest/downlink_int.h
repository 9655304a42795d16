/*
 * downlink_int.h: what downlink.c (claims, delivery, device frames) and
 * dlread.c (reading P:commands and P:command-results) share.  Private to
 * those two; the rest of ingest uses downlink.h.
 */
#ifndef GA_INGEST_DOWNLINK_INT_H
#define GA_INGEST_DOWNLINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/devtab.h"
#include "ingest/downlink.h"

struct event;
struct event_base;
struct metric;
struct rconn;
struct writer;

/* XREAD batch and block time; the reply timeout adds --redis-timeout. */
#define READ_COUNT "128"
#define READ_BLOCK_MS 2000
/* Claims in flight beyond which reading more commands waits. */
#define CLAIM_WINDOW 1024
/* A claim outlives the read-back window by this much (clock skew). */
#define CLAIM_GRACE_MS 60000
#define TICK_MS 1000
/* Devices with nothing pending and no live peer are swept this often. */
#define SWEEP_TICKS 10
#define STREAM_ID_MAX 48
#define NAME_MAX_LEN 64

enum dl_state { DL_CHECK, DL_WAIT, DL_CLAIM, DL_HELD };
enum dl_goal { GOAL_DELIVER, GOAL_EXPIRE, GOAL_REFUSE };

struct dl_cmd {
	struct devtab_item item;	/* item.dev NULL: a refused entry */
	struct downlink *dl;
	enum dl_state state;
	enum dl_goal goal;
	bool orphan;			/* unlinked; the reply callback frees */
	int64_t t_ms;			/* entry time (from its id) */
	int64_t expires_ms;
	char *device;
	char *name;
	char *param;			/* NULL: none */
	size_t paramlen;
	char *reason;			/* GOAL_REFUSE: why */
	char id[STREAM_ID_MAX];
};

struct downlink {
	struct event_base *base;
	struct writer *w;
	struct rconn *rd;		/* XREAD BLOCK */
	struct rconn *ctl;		/* claims and checks */
	struct event *tick;
	char *stream_key;
	char *results_key;
	char *claim_prefix;
	char ingest_id[128];
	int64_t start_ms;
	char last_id[STREAM_ID_MAX];	/* of P:commands */
	char last_result[STREAM_ID_MAX];	/* of P:command-results */
	bool reading;
	bool freeing;
	size_t ctl_inflight;
	unsigned ticks;
	char last_error[160];

	struct devtab *tab;

	struct metric *received, *sent, *expired, *unsupported, *elsewhere,
	    *dropped;
};

/* Logs a Redis trouble once per distinct text (then at debug level). */
void dl_log_trouble(struct downlink *dl, const char *what, const char *why);

/* The command that embeds it. */
struct dl_cmd *dl_cmd_of(const struct devtab_item *it);

/* Takes c out of both lists; frees it unless a reply is still due. */
void dl_cmd_remove(struct dl_cmd *c);

/* A command a bound may drop: no claim of ours is at stake. */
bool dl_evictable(const struct dl_cmd *c);

/*
 * Appends c to the lists, dropping the oldest droppable commands when a
 * bound is reached.  Returns false (c freed) when there was no room.
 */
bool dl_cmd_add(struct downlink *dl, struct dl_cmd *c, struct devtab_dev *d);

/*
 * The start of every reply to a claim or a check: one less in flight, an
 * orphan freed.  Returns false when c is gone or the downlink is being
 * freed, else true with c back in WAIT.
 */
bool dl_reply_begin(struct dl_cmd *c);

/* Moves c on as far as it can go now. */
void dl_step(struct dl_cmd *c);

/* Sends the next XREAD of both streams unless one is in flight, Redis is
 * away or too many claims are (dlread.c). */
void dl_read_next(struct downlink *dl);

/* Reading waits while too many claims are in flight; picks up here. */
void dl_resume_read(struct downlink *dl);

#endif
