/*
 * fencestore.c: the Redis side of fences (keys, the write transaction, the
 * snapshot read and turning its reply into a fence set).  Pure: commands
 * are built as argv arrays and replies are read from redisReply; sending
 * them is the caller's business (sync in the CLI, async in the engine).
 * Parsing and validating a Feature is fence.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fencestore.h"
#include "lib/xmalloc.h"

#define READ_CMDS 4

struct fencestore {
	char *fences, *version, *control;

	/* The snapshot read, built once. */
	struct fencestore_cmd read[READ_CMDS];
	const char *read_argv[READ_CMDS][2];
	size_t read_len[READ_CMDS][2];
};

/* A growable argv with lengths. */
struct args {
	const char **argv;
	size_t *len;
	int n, cap;
};

struct fencestore_tx {
	const struct fencestore *fs;
	struct args set;	/* HSET key id json id json ... */
	struct args del;	/* HDEL key id ... */
	bool has_set, has_del;

	/* Built by fencestore_tx_commands. */
	struct fencestore_cmd cmds[6];
	size_t ncmds;
	const char *fixed_argv[4][3];	/* MULTI, INCR, PUBLISH, EXEC */
	size_t fixed_len[4][3];
};

/* ---- keys ---------------------------------------------------------------- */

static void
set_cmd(struct fencestore_cmd *c, const char **argv, size_t *len, int argc)
{
	int i;

	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	c->argc = argc;
	c->argv = argv;
	c->argvlen = len;
}

struct fencestore *
fencestore_new(const char *prefix)
{
	struct fencestore *fs = xcalloc(1, sizeof *fs);

	fs->fences = xasprintf("%s:fences", prefix);
	fs->version = xasprintf("%s:fences:version", prefix);
	fs->control = xasprintf("%s:control", prefix);

	fs->read_argv[0][0] = "MULTI";
	fs->read_argv[1][0] = "GET";
	fs->read_argv[1][1] = fs->version;
	fs->read_argv[2][0] = "HGETALL";
	fs->read_argv[2][1] = fs->fences;
	fs->read_argv[3][0] = "EXEC";
	set_cmd(&fs->read[0], fs->read_argv[0], fs->read_len[0], 1);
	set_cmd(&fs->read[1], fs->read_argv[1], fs->read_len[1], 2);
	set_cmd(&fs->read[2], fs->read_argv[2], fs->read_len[2], 2);
	set_cmd(&fs->read[3], fs->read_argv[3], fs->read_len[3], 1);
	return fs;
}

void
fencestore_free(struct fencestore *fs)
{
	if (fs == NULL)
		return;
	free(fs->fences);
	free(fs->version);
	free(fs->control);
	free(fs);
}

const char *
fencestore_key_fences(const struct fencestore *fs)
{
	return fs->fences;
}

const char *
fencestore_key_version(const struct fencestore *fs)
{
	return fs->version;
}

const char *
fencestore_key_control(const struct fencestore *fs)
{
	return fs->control;
}

/* ---- the write transaction ---------------------------------------------- */

static void
args_push(struct args *a, const char *s, size_t len)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 8;
		a->argv = xreallocarray(a->argv, (size_t)a->cap,
		    sizeof *a->argv);
		a->len = xreallocarray(a->len, (size_t)a->cap, sizeof *a->len);
	}
	a->argv[a->n] = s;
	a->len[a->n] = len;
	a->n++;
}

struct fencestore_tx *
fencestore_tx_new(const struct fencestore *fs)
{
	struct fencestore_tx *tx = xcalloc(1, sizeof *tx);

	tx->fs = fs;
	args_push(&tx->set, "HSET", 4);
	args_push(&tx->set, fs->fences, strlen(fs->fences));
	args_push(&tx->del, "HDEL", 4);
	args_push(&tx->del, fs->fences, strlen(fs->fences));
	return tx;
}

void
fencestore_tx_free(struct fencestore_tx *tx)
{
	if (tx == NULL)
		return;
	free(tx->set.argv);
	free(tx->set.len);
	free(tx->del.argv);
	free(tx->del.len);
	free(tx);
}

void
fencestore_tx_set(struct fencestore_tx *tx, const char *id, const char *json,
    size_t len)
{
	args_push(&tx->set, id, strlen(id));
	args_push(&tx->set, json, len);
	tx->has_set = true;
}

void
fencestore_tx_del(struct fencestore_tx *tx, const char *id)
{
	args_push(&tx->del, id, strlen(id));
	tx->has_del = true;
}

const struct fencestore_cmd *
fencestore_tx_commands(struct fencestore_tx *tx, size_t *n)
{
	const struct fencestore *fs = tx->fs;
	size_t k = 0;

	tx->fixed_argv[0][0] = "MULTI";
	tx->fixed_argv[1][0] = "INCR";
	tx->fixed_argv[1][1] = fs->version;
	tx->fixed_argv[2][0] = "PUBLISH";
	tx->fixed_argv[2][1] = fs->control;
	tx->fixed_argv[2][2] = FENCESTORE_MESSAGE;
	tx->fixed_argv[3][0] = "EXEC";

	set_cmd(&tx->cmds[k++], tx->fixed_argv[0], tx->fixed_len[0], 1);
	if (tx->has_set)
		tx->cmds[k++] = (struct fencestore_cmd){ tx->set.n,
		    tx->set.argv, tx->set.len };
	if (tx->has_del)
		tx->cmds[k++] = (struct fencestore_cmd){ tx->del.n,
		    tx->del.argv, tx->del.len };
	set_cmd(&tx->cmds[k++], tx->fixed_argv[1], tx->fixed_len[1], 2);
	set_cmd(&tx->cmds[k++], tx->fixed_argv[2], tx->fixed_len[2], 3);
	set_cmd(&tx->cmds[k++], tx->fixed_argv[3], tx->fixed_len[3], 1);
	tx->ncmds = k;
	*n = k;
	return tx->cmds;
}

/* Writes "what: reason" for a reply that is an error or has a bad type. */
static int
reply_error(const char *what, const redisReply *r, char *err, size_t errlen)
{
	if (r == NULL)
		snprintf(err, errlen, "%s: no reply", what);
	else if (r->type == REDIS_REPLY_ERROR)
		snprintf(err, errlen, "%s: %.*s", what, (int)r->len, r->str);
	else if (r->type == REDIS_REPLY_NIL)
		snprintf(err, errlen, "%s: transaction aborted", what);
	else
		snprintf(err, errlen, "%s: unexpected reply type %d", what,
		    r->type);
	return -1;
}

long long
fencestore_tx_result(const struct fencestore_tx *tx, const redisReply *exec,
    long long *hdel, char *err, size_t errlen)
{
	/* Replies inside EXEC: [HSET] [HDEL] INCR PUBLISH. */
	size_t want = 2 + (tx->has_set ? 1 : 0) + (tx->has_del ? 1 : 0), i;
	const redisReply *incr;

	if (hdel != NULL)
		*hdel = 0;
	if (exec == NULL || exec->type != REDIS_REPLY_ARRAY)
		return reply_error("fence write", exec, err, errlen);
	if (exec->elements != want) {
		snprintf(err, errlen, "fence write: %zu replies in the "
		    "transaction, expected %zu", exec->elements, want);
		return -1;
	}
	for (i = 0; i < want; i++)
		if (exec->element[i]->type == REDIS_REPLY_ERROR)
			return reply_error("fence write", exec->element[i],
			    err, errlen);
	if (tx->has_del && hdel != NULL &&
	    exec->element[tx->has_set ? 1 : 0]->type == REDIS_REPLY_INTEGER)
		*hdel = exec->element[tx->has_set ? 1 : 0]->integer;
	incr = exec->element[want - 2];
	if (incr->type != REDIS_REPLY_INTEGER)
		return reply_error("INCR", incr, err, errlen);
	return incr->integer;
}

/* ---- reading ------------------------------------------------------------- */

const struct fencestore_cmd *
fencestore_read_commands(const struct fencestore *fs, size_t *n)
{
	*n = READ_CMDS;
	return fs->read;
}

int
fencestore_read_result(const redisReply *exec, const char **version,
    const redisReply **all, char *err, size_t errlen)
{
	const redisReply *v, *h;

	*version = NULL;
	*all = NULL;
	if (exec == NULL || exec->type != REDIS_REPLY_ARRAY)
		return reply_error("reading fences", exec, err, errlen);
	if (exec->elements != 2) {
		snprintf(err, errlen, "reading fences: %zu replies in the "
		    "transaction, expected 2", exec->elements);
		return -1;
	}
	v = exec->element[0];
	h = exec->element[1];
	if (v->type == REDIS_REPLY_STRING)
		*version = v->str;
	else if (v->type != REDIS_REPLY_NIL)
		return reply_error("GET fences version", v, err, errlen);
	if (h->type != REDIS_REPLY_ARRAY)
		return reply_error("HGETALL fences", h, err, errlen);
	*all = h;
	return 0;
}

long
fencestore_add_all(struct fence_builder *b, const redisReply *all,
    fencestore_refused_cb refused, void *arg, char *err, size_t errlen)
{
	char reason[512];
	long nrefused = 0;
	size_t i;

	if (all == NULL || all->type != REDIS_REPLY_ARRAY)
		return reply_error("HGETALL fences", all, err, errlen);
	for (i = 0; i + 1 < all->elements; i += 2) {
		const redisReply *k = all->element[i];
		const redisReply *v = all->element[i + 1];
		const char *id = k->type == REDIS_REPLY_STRING ? k->str : "?";

		if (k->type == REDIS_REPLY_STRING &&
		    v->type == REDIS_REPLY_STRING &&
		    fence_builder_add(b, k->str, v->str, v->len, reason,
		    sizeof reason) == 0)
			continue;
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			snprintf(reason, sizeof reason, "fence field %zu of "
			    "the hash is not a string", i / 2 + 1);
		nrefused++;
		if (refused != NULL && refused(arg, id, reason) == -1) {
			snprintf(err, errlen, "%s", reason);
			return -1;
		}
	}
	return nrefused;
}
