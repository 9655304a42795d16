/*
 * fenceload.h: the engine's live fence set, read from Redis through the
 * fence store contract (engine/fencestore.h) and kept current.
 *
 * A fenceload owns the GEOS handle, the fence set in use, the
 * P:fences:version it was read at, and a Redis connection of its own.  It
 * reads the fences when that connection comes up, when its owner asks
 * (P:control "fences" or "reload", SIGHUP), and when the version it reads
 * once a second has moved (the safety net for a lost PUBLISH).  A read is
 * the store's snapshot transaction, so the version kept always matches the
 * fences.
 *
 * Why its own connection: the engine's command connection spends most of
 * its time in XREADGROUP BLOCK or behind a batch's transaction, and a read
 * queued there would wait for them; on its own connection a change is
 * loaded as soon as it is published, whatever --block says (SPEC: "within
 * a second").
 *
 * Reloads coalesce: a request while a read is in flight runs one more
 * read after it.  A stored fence that does not parse is refused through
 * the refused hook (P:errors) and, when the set in use has a fence of
 * that id, its previous version stays live in the new set.  The set is
 * swapped inside a reply callback, never during an evaluation, so a batch
 * sees one set from start to end.
 */
#ifndef GA_ENGINE_FENCELOAD_H
#define GA_ENGINE_FENCELOAD_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct fence_set;
struct metric;
struct fenceload;

/* What a fenceload tells its owner; arg is the one given to fenceload_new. */
struct fenceload_hooks {
	/* A stored fence was refused: message names it and says why. */
	void (*refused)(void *arg, const char *message);
	/* A new set is in use (the first one makes fenceload_ready true). */
	void (*loaded)(void *arg);
};

/*
 * Creates an empty set for the keys under prefix and starts connecting to
 * url (both copied).  hooks is copied; m_fences (may be NULL) is set to
 * the number of fences after each load.  Returns NULL with the reason in
 * err when url is bad.  Free with fenceload_free.
 */
struct fenceload *fenceload_new(struct event_base *base, const char *url,
    const char *prefix, const struct fenceload_hooks *hooks, void *arg,
    struct metric *m_fences, char *err, size_t errlen);

/* Closes the connection and frees the set; NULL does nothing. */
void fenceload_free(struct fenceload *fl);

/*
 * True once a set has been read from Redis (it then stays true: across a
 * lost connection the last set read stays in use).
 */
bool fenceload_ready(const struct fenceload *fl);

/* The set in use (borrowed; valid until the next load completes). */
const struct fence_set *fenceload_set(const struct fenceload *fl);

/* "P:control", where writers publish "fences" (borrowed). */
const char *fenceload_key_control(const struct fenceload *fl);

/*
 * Reads the fences now (or, when a read is in flight, once more after
 * it).  Does nothing while disconnected: the connection reads them when
 * it comes back.
 */
void fenceload_request(struct fenceload *fl);

#endif
