/*
 * entries.h: positions-stream entries taken out of a read's reply.
 *
 * XREADGROUP (one stream) answers [[key, [entry, ...]]], or nil when
 * BLOCK ran out; XAUTOCLAIM answers [next-cursor, [entry, ...],
 * [deleted id, ...]].  An entry is [id, [field, value, ...]], or [id, nil]
 * when it was trimmed from the stream while pending.  Pure: everything
 * handed out is borrowed from the reply (or from the entries object, for
 * the fields array) and valid until the reply is freed or the next entry
 * is taken.
 */
#ifndef GA_ENGINE_ENTRIES_H
#define GA_ENGINE_ENTRIES_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/rules.h"

struct redisReply;
struct entries;

/* A reader of replies (never NULL); free with entries_free. */
struct entries *entries_new(void);

/* Frees en; NULL does nothing. */
void entries_free(struct entries *en);

/*
 * Starts on reply r, of XAUTOCLAIM when claim is true (then *cursor gets
 * the next cursor, borrowed from r), else of XREADGROUP.  Returns the
 * number of entries (0 for a nil reply), or -1 when r has neither shape.
 */
long entries_open(struct entries *en, const struct redisReply *r, bool claim,
    const char **cursor);

/*
 * Takes the next entry: its id, and its fields in stream order (fields
 * that are not strings skipped), or *trimmed true and no fields.  An
 * element that is no [id, ...] pair is skipped.  Returns false after the
 * last entry.
 */
bool entries_next(struct entries *en, const char **id,
    const struct rules_field **fields, size_t *nfields, bool *trimmed);

#endif
