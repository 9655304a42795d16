/*
 * fencestore.h: how fences live in Redis (SPEC "Fences"), in one place for
 * every writer (the CLI) and reader (the engine).
 *
 *   P:fences           hash: field = fence id, value = a GeoJSON Feature
 *   P:fences:version   counter, INCR'd by every write
 *   P:control          channel; a write publishes "fences" on it
 *
 * A write is one transaction:
 *
 *   MULTI
 *   HSET P:fences id1 json1 id2 json2 ...     (when anything is set)
 *   HDEL P:fences id3 ...                     (when anything is removed)
 *   INCR P:fences:version
 *   PUBLISH P:control fences
 *   EXEC
 *
 * so a reader never sees fences without the version bump, nor a bump
 * without the fences.  A read is a snapshot (MULTI, GET version, HGETALL
 * fences, EXEC), so the version read matches the fences read.
 *
 * Nothing here does I/O: the helpers build argv/argvlen arrays that a
 * synchronous client (redisCommandArgv, redisAppendCommandArgv) and an
 * asynchronous one (redisAsyncCommandArgv) send alike, and they read the
 * replies (hiredis's redisReply, the same struct for both APIs).
 */
#ifndef GA_ENGINE_FENCESTORE_H
#define GA_ENGINE_FENCESTORE_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "engine/fence.h"

/* What a write publishes on P:control. */
#define FENCESTORE_MESSAGE "fences"

struct fencestore;

/*
 * The key names for one prefix (copied), and the snapshot read's
 * commands.  Never NULL; free with fencestore_free.
 */
struct fencestore *fencestore_new(const char *prefix);

/* Frees fs; NULL does nothing.  Free its transactions first. */
void fencestore_free(struct fencestore *fs);

/* "P:fences", "P:fences:version", "P:control" (borrowed from fs). */
const char *fencestore_key_fences(const struct fencestore *fs);
const char *fencestore_key_version(const struct fencestore *fs);
const char *fencestore_key_control(const struct fencestore *fs);

/*
 * One command of a transaction.  argv and argvlen have argc entries; both
 * are borrowed from the transaction (or from the caller, for the values
 * it handed in) and stay valid until it is freed.
 */
struct fencestore_cmd {
	int argc;
	const char **argv;
	const size_t *argvlen;
};

struct fencestore_tx;

/*
 * Starts a write (fs is borrowed: it must outlive the transaction).
 * Never NULL; free with fencestore_tx_free.
 */
struct fencestore_tx *fencestore_tx_new(const struct fencestore *fs);

/* Frees tx; NULL does nothing.  Borrowed ids and values are untouched. */
void fencestore_tx_free(struct fencestore_tx *tx);

/*
 * Sets fence id to the Feature json[0..len).  id (NUL-terminated) and json
 * are borrowed until tx is freed.  Setting an id twice sends both; Redis
 * keeps the last.
 */
void fencestore_tx_set(struct fencestore_tx *tx, const char *id,
    const char *json, size_t len);

/* Removes fence id (borrowed until tx is freed). */
void fencestore_tx_del(struct fencestore_tx *tx, const char *id);

/*
 * The commands to send, in order: MULTI, HSET (when something is set),
 * HDEL (when something is removed), INCR, PUBLISH, EXEC.  Stores their
 * number in *n.  The array is borrowed from tx and valid until the next
 * fencestore_tx_set/del or fencestore_tx_free.
 */
const struct fencestore_cmd *fencestore_tx_commands(struct fencestore_tx *tx,
    size_t *n);

/*
 * Checks the EXEC reply of a write.  Returns the new P:fences:version
 * (>= 1), or -1 with a one-line reason in err (transaction aborted, or a
 * command inside failed, such as WRONGTYPE).  When hdel is not NULL it
 * receives how many fields HDEL removed (0 when there was no HDEL).
 */
long long fencestore_tx_result(const struct fencestore_tx *tx,
    const redisReply *exec, long long *hdel, char *err, size_t errlen);

/*
 * The snapshot read: MULTI, GET P:fences:version, HGETALL P:fences, EXEC.
 * Stores their number (4) in *n; the array is borrowed from fs.
 */
const struct fencestore_cmd *fencestore_read_commands(
    const struct fencestore *fs, size_t *n);

/*
 * Takes apart the EXEC reply of the snapshot read: *version is the
 * counter's text (NULL when the key does not exist), *all the HGETALL
 * reply (an array of id, Feature, id, Feature ...), both borrowed from
 * exec.  Returns 0, or -1 with a reason.
 */
int fencestore_read_result(const redisReply *exec, const char **version,
    const redisReply **all, char *err, size_t errlen);

/*
 * Called for a stored fence that does not parse or validate: id, and
 * the reason naming it.  Return 0 to carry on, -1 to stop.
 */
typedef int (*fencestore_refused_cb)(void *arg, const char *id,
    const char *reason);

/*
 * Adds every fence of an HGETALL reply (id, Feature, ...) to b with
 * fence_builder_add.  A fence that is refused is skipped after
 * refused(arg, id, reason) has been called (refused may be NULL); a
 * refused callback returning -1 stops the walk.  A field or value that is
 * not a string counts as refused.  Returns the number of fences refused,
 * or -1 when refused asked to stop or all is not an array (err then holds
 * the reason; the builder keeps what was added).
 */
long fencestore_add_all(struct fence_builder *b, const redisReply *all,
    fencestore_refused_cb refused, void *arg, char *err, size_t errlen);

#endif
