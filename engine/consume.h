/*
 * consume.h: the engine's loop over the positions stream.
 *
 * A consume object owns two Redis connections (commands, and SUBSCRIBE
 * on P:control), the device states, the fences (engine/fenceload.h, with
 * a connection of its own) and the rules.  On every (re)connection it
 * creates the consumer group if missing, loads every device state, waits
 * until the fences have been read once, re-processes this consumer's
 * pending entries, claims those left by dead consumers, and then reads new
 * ones, a batch at a time: evaluate (engine/eval.h), then one MULTI/EXEC
 * with the alerts, the changed states and the XACKs.
 */
#ifndef GA_ENGINE_CONSUME_H
#define GA_ENGINE_CONSUME_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct metrics;
struct consume;

struct consume_conf {
	const char *redis_url;
	const char *prefix;
	const char *group;		/* consumer group, default "engine" */
	const char *consumer;		/* consumer name, default "engine-1" */
	bool from_start;		/* a new group starts at 0, not $ */
	int batch;			/* entries per XREADGROUP (COUNT) */
	int block_ms;			/* XREADGROUP BLOCK */
	int claim_idle_ms;		/* XAUTOCLAIM min-idle-time */
	const char *rules_path;		/* NULL: SPEC defaults, no custom rules */
	struct metrics *metrics;	/* NULL: no metrics */
};

/*
 * Creates the consumer on base and starts connecting (strings in conf are
 * copied).  Loads the rules file first: returns NULL with the reason in
 * err when it is broken (at start there is no previous version to keep)
 * or the Redis URL is bad.  Free with consume_free.
 */
struct consume *consume_new(struct event_base *base,
    const struct consume_conf *conf, char *err, size_t errlen);

/* Closes the connections and frees everything; NULL does nothing. */
void consume_free(struct consume *c);

/*
 * Reloads the rules file and the fences (SIGHUP, PUBLISH P:control
 * reload).  A broken rules file or fence is refused with its reason in
 * P:errors and the log; the previous version stays live.
 */
void consume_reload(struct consume *c);

/* True when the command connection is up and past its start-up. */
bool consume_ready(const struct consume *c);

#endif
