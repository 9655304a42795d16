/*
 * txn.h: the engine's batch transactions, built and sent in order.
 *
 * Each batch becomes one transaction:
 *
 *   MULTI
 *   <the batch's commands: XADD + PUBLISH per alert, XADD per downlink
 *    and per error>                                  (engine/eval.h)
 *   HSET P:state <device> <state JSON> ...            (changed devices)
 *   XACK P:positions <group> <entry id> ...
 *   EXEC
 *
 * A struct txn keeps at most one transaction in flight and one waiting:
 * engine/consume.c evaluates the next batch while the previous EXEC runs,
 * and that batch's transaction is built at once but sent only when the
 * EXEC before it has answered with success.  So a transaction that Redis
 * refuses as a whole (EXECABORT) is never followed by one built on top of
 * it: the failed hook runs, the owner drops the connection and everything
 * uncommitted (txn_drop), and starts again from what Redis holds.
 */
#ifndef GA_ENGINE_TXN_H
#define GA_ENGINE_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eval_batch;
struct rconn;
struct state_table;
struct txn;

/* Key names and group, borrowed for the life of the txn. */
struct txn_keys {
	const char *state;		/* "<prefix>:state" */
	const char *positions;		/* "<prefix>:positions" */
	const char *group;
};

/* What the metrics count of a committed transaction. */
struct txn_counts {
	int64_t start_ns;		/* when its batch was read */
	size_t nentries;		/* entries evaluated */
	size_t nskipped;		/* entries acked unevaluated */
	size_t nerrors;			/* P:errors entries */
	size_t nacks;			/* entries acknowledged */
	const char *const *types;	/* alert types raised, one per alert */
	size_t ntypes;
};

/* What a txn tells its owner; arg is the one given to txn_new. */
struct txn_hooks {
	/*
	 * A transaction has committed (the next one, if built, is already
	 * on its way).  counts is borrowed for the call.
	 */
	void (*committed)(void *arg, const struct txn_counts *counts);
	/*
	 * Redis refused a transaction as a whole, or answered EXEC with
	 * something else than its replies: reason says what.  The owner
	 * resets the connection and calls txn_drop.
	 */
	void (*failed)(void *arg, const char *reason);
};

/*
 * Creates the transactions of the connection rc (borrowed, as are keys'
 * strings).  hooks is copied.  Never NULL; free with txn_free.
 */
struct txn *txn_new(struct rconn *rc, const struct txn_keys *keys,
    const struct txn_hooks *hooks, void *arg);

/* Frees t; NULL does nothing.  Free the connection first. */
void txn_free(struct txn *t);

/*
 * Builds the transaction of a batch: b's commands and counts, the HSET of
 * every working state of states that changed, and the XACK of the nacks
 * entry ids (borrowed; they need only live through this call).  Sends it
 * when no transaction is in flight, else keeps it until that one has
 * committed.  One must not be waiting already (see txn_waiting).
 * start_ns is when the batch was read.  With crash_hook (a test hook),
 * the transaction ends with PING instead of EXEC and the process exits
 * with status 99 when the PING's "QUEUED" proves the server has read
 * everything before it.
 */
void txn_commit(struct txn *t, const struct eval_batch *b,
    const struct state_table *states, const char *const *acks,
    size_t nacks, int64_t start_ns, bool crash_hook);

/* True when a transaction is built and waits for the one in flight. */
bool txn_waiting(const struct txn *t);

/*
 * Forgets the transaction in flight and the waiting one (the connection
 * is gone; their callbacks, if still to come, do nothing).
 */
void txn_drop(struct txn *t);

#endif
