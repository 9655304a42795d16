/*
 * replyarena.h: hiredis reply objects carved from one arena.
 *
 * hiredis's reader builds every reply from malloc'd objects, two per
 * string: a batch of a thousand stream entries of twenty fields is some
 * eighty thousand allocations, freed again one by one when the callback
 * returns, and that churn (with the fragmentation it leaves for the big
 * buffers around it) is where a stream consumer's time goes.  An arena
 * attached to a reader gives the same struct redisReply trees from a few
 * large blocks, bump-allocated, and "frees" a reply by rewinding.
 *
 * This relies on how hiredis 0.14 uses a reader: it builds one reply at a
 * time (redisReaderGetReply stops as soon as one is complete) and frees
 * it through the reader's freeObject before building the next (async
 * contexts do so right after the reply's callback).  So at most one reply
 * tree is alive, and freeing its root frees everything in the arena.
 * Callers must not keep a reply, or anything in it, past that free, which
 * is the hiredis async contract anyway (lib/rconn.h).
 *
 * Ownership: the arena outlives every reader it is attached to; the
 * caller frees it with replyarena_free after the last such reader is
 * freed.
 */
#ifndef GA_LIB_REPLYARENA_H
#define GA_LIB_REPLYARENA_H

#include <stddef.h>

struct redisReader;
struct replyarena;

/* A new empty arena (never NULL); free with replyarena_free. */
struct replyarena *replyarena_new(void);

/* Frees the arena and its blocks; NULL does nothing. */
void replyarena_free(struct replyarena *a);

/*
 * Makes reader build its replies in a (sets the reader's object functions
 * and privdata), and keep its read buffer however large it grew instead of
 * freeing it whenever it empties.  Attach before the reader has read
 * anything.
 */
void replyarena_attach(struct replyarena *a, struct redisReader *reader);

/*
 * Bytes held in blocks (used or not).  After a reply is freed the arena
 * keeps at most REPLYARENA_KEEP of them for the next one.
 */
size_t replyarena_size(const struct replyarena *a);

/*
 * What an arena keeps between replies: enough for a batch of several
 * thousand stream entries, so that the steady state allocates nothing.
 */
#define REPLYARENA_KEEP (8u << 20)

#endif
