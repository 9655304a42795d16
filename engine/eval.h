/*
 * eval.h: one position entry in, Redis commands out.
 *
 * eval_entry reads a positions-stream entry, runs the built-in rules
 * (rules/builtin.h) against the fences covering its fix, then the
 * device's custom Lua rules (rules/rules.h), applies cooldowns, and
 * appends to a batch the commands that publish the result: XADD + PUBLISH
 * per alert, XADD to P:commands per queued downlink, XADD to P:errors per
 * rule error.  Device state changes go to the working states of the
 * state table.  Nothing is sent: engine/consume.c wraps a whole batch,
 * the HSETs of the changed states and the XACKs in one MULTI/EXEC, so a
 * batch is published entirely or not at all.
 *
 * Given the same committed states, fences and rules, the same entries
 * produce the same commands (alert ids and payloads): that is what makes
 * re-processing after a crash exact.  Custom Lua rules that read the wall
 * clock (os.time) are the one exception, and theirs to own.
 */
#ifndef GA_ENGINE_EVAL_H
#define GA_ENGINE_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/rules.h"

struct state_table;
struct fence_set;

/* What evaluation reads; all borrowed. */
struct eval_ctx {
	const char *key_alerts;		/* "<prefix>:alerts" */
	const char *key_errors;		/* "<prefix>:errors" */
	const char *key_commands;	/* "<prefix>:commands" */
	struct state_table *states;
	const struct fence_set *fences;	/* NULL: no fences */
	struct rules *rules;		/* NULL: SPEC defaults, no custom rules */
};

/*
 * Commands of one batch, RESP-encoded, plus what the metrics count.  The
 * commands lie back to back in one buffer that cmd[i] points into; the
 * alert types likewise in another.  Both stay valid until the next
 * append, eval_batch_clear or eval_batch_free.
 */
struct eval_batch {
	char **cmd;			/* command i: cmd[i][0..len[i]) */
	size_t *len;
	size_t n;
	size_t alloc;
	char **types;			/* alert types raised, NUL-terminated */
	size_t ntypes;
	size_t nerrors;			/* P:errors entries */
	size_t nentries;		/* entries evaluated */
	size_t nskipped;		/* entries without device or time */
	/* Storage, eval.c's own. */
	struct resp *enc;		/* the commands */
	size_t *off;			/* command i starts at enc[off[i]] */
	char *names;			/* the types, back to back */
	size_t nlen, ncap, atypes;
	size_t *toff;			/* type i starts at names[toff[i]] */
	struct jsonw *json;		/* payload scratch */
};

/* Frees the contents of b and empties it (storage kept for reuse). */
void eval_batch_clear(struct eval_batch *b);

/* Frees all of b's storage. */
void eval_batch_free(struct eval_batch *b);

/*
 * Appends one command (argc strings with lengths) to b, RESP-encoded.
 * Never fails.
 */
void eval_batch_add(struct eval_batch *b, int argc, const char **argv,
    const size_t *argvlen);

/*
 * Appends "XADD <errors> MAXLEN ~ N * source S device D message M" to b.
 * device may be NULL (written as "").
 */
void eval_batch_error(const struct eval_ctx *ctx, struct eval_batch *b,
    const char *source, const char *device, const char *message);

/*
 * Evaluates one entry (fields as the stream holds them, borrowed).
 * Returns 1 when it was evaluated, 0 when it lacks `device` or a numeric
 * `time` (a trimmed or foreign entry: the caller acks and skips it).
 */
int eval_entry(const struct eval_ctx *ctx, struct eval_batch *b,
    const char *entry_id, const struct rules_field *fields, size_t nfields);

#endif
