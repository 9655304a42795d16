/*
 * txn.c: building a batch's MULTI ... EXEC into one buffer, and sending
 * the buffers in order, each after the previous one's EXEC succeeded.
 * What the batch's commands are is engine/eval.c's; when a batch is ready
 * is engine/consume.c's.
 */
#include "engine/txn.h"

#include <assert.h>
#include <hiredis.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eval.h"
#include "engine/state.h"
#include "lib/log.h"
#include "lib/rconn.h"
#include "lib/resp.h"
#include "lib/xmalloc.h"

/* One transaction, RESP-encoded, with what the metrics count. */
struct tx {
	bool built;
	bool hook;			/* PING instead of EXEC: the test hook */

	char *buf;			/* the commands, back to back */
	struct resp *scratch;		/* one command being encoded */
	size_t len, cap;
	size_t *off;			/* command i is buf[off[i]..off[i+1]) */
	size_t ncmds, acmds;

	char *names;			/* alert types, NUL-terminated */
	size_t nlen, ncap;
	const char **types;		/* into names */
	size_t atypes;

	struct txn_counts counts;
};

struct txn {
	struct rconn *rc;
	struct txn_keys keys;
	struct txn_hooks hooks;
	void *arg;
	struct tx v[2];
	struct tx *sent;		/* in flight when inflight */
	struct tx *next;		/* built and waiting when next->built */
	bool inflight;
};

static void
tx_clear(struct tx *t)
{
	t->built = false;
	t->hook = false;
	t->len = 0;
	t->ncmds = 0;
	t->nlen = 0;
	memset(&t->counts, 0, sizeof t->counts);
}

static void
tx_free(struct tx *t)
{
	free(t->buf);
	resp_free(t->scratch);
	free(t->off);
	free(t->names);
	free(t->types);
}

struct txn *
txn_new(struct rconn *rc, const struct txn_keys *keys,
    const struct txn_hooks *hooks, void *arg)
{
	struct txn *t = xcalloc(1, sizeof *t);

	t->rc = rc;
	t->keys = *keys;
	t->hooks = *hooks;
	t->arg = arg;
	t->sent = &t->v[0];
	t->next = &t->v[1];
	return t;
}

void
txn_free(struct txn *t)
{
	if (t == NULL)
		return;
	tx_free(&t->v[0]);
	tx_free(&t->v[1]);
	free(t);
}

bool
txn_waiting(const struct txn *t)
{
	return t->next->built;
}

void
txn_drop(struct txn *t)
{
	t->inflight = false;
	tx_clear(t->sent);
	tx_clear(t->next);
}

/* ==== Building ==== */

static void
grow(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 64 * 1024;
	*p = xrealloc(*p, *cap);
}

static void
append(struct tx *t, const char *cmd, size_t len)
{
	if (t->ncmds + 1 >= t->acmds) {
		t->acmds = t->acmds ? t->acmds * 2 : 1024;
		t->off = xreallocarray(t->off, t->acmds, sizeof *t->off);
	}
	grow(&t->buf, &t->cap, t->len + len);
	memcpy(t->buf + t->len, cmd, len);
	t->off[t->ncmds++] = t->len;
	t->len += len;
	t->off[t->ncmds] = t->len;
}

/* Encodes with lib/resp.h: no sprintf per argument header, no malloc
 * per command (hiredis's redisFormatCommandArgv does both). */
static void
append_argv(struct tx *t, int argc, const char **argv, const size_t *len)
{
	if (t->scratch == NULL)
		t->scratch = resp_new(0);
	resp_clear(t->scratch);
	resp_command(t->scratch, argc, argv, len);
	append(t, resp_data(t->scratch), resp_len(t->scratch));
}

static void
append_word(struct tx *t, const char *word)
{
	size_t len = strlen(word);

	append_argv(t, 1, &word, &len);
}

static void
add_type(struct tx *t, const char *type)
{
	size_t len = strlen(type) + 1;

	grow(&t->names, &t->ncap, t->nlen + len);
	memcpy(t->names + t->nlen, type, len);
	t->nlen += len;
}

/* The HSET P:state arguments of the changed devices. */
struct hset {
	const char **argv;
	size_t *len;
	char **owned;
	int argc;
};

static void
hset_add(const char *id, const struct state *st, bool changed, void *arg)
{
	struct hset *h = arg;
	char *json;

	if (!changed)
		return;
	json = state_to_json(st);
	h->argv[h->argc] = id;
	h->len[h->argc++] = strlen(id);
	h->owned[h->argc] = json;
	h->argv[h->argc] = json;
	h->len[h->argc++] = strlen(json);
}

static void
build_hset(struct tx *t, const char *key, const struct state_table *states)
{
	size_t nwork = state_table_nwork(states), i;
	struct hset h;

	h.argv = xreallocarray(NULL, 2 + 2 * nwork, sizeof *h.argv);
	h.len = xreallocarray(NULL, 2 + 2 * nwork, sizeof *h.len);
	h.owned = xcalloc(2 + 2 * nwork, sizeof *h.owned);
	h.argv[0] = "HSET";
	h.len[0] = 4;
	h.argv[1] = key;
	h.len[1] = strlen(key);
	h.argc = 2;
	state_table_foreach_work(states, hset_add, &h);
	if (h.argc > 2)
		append_argv(t, h.argc, h.argv, h.len);
	for (i = 0; i < (size_t)h.argc; i++)
		free(h.owned[i]);
	free(h.owned);
	free(h.argv);
	free(h.len);
}

static void
build_xack(struct tx *t, const struct txn_keys *keys, const char *const *acks,
    size_t nacks)
{
	const char **argv = xreallocarray(NULL, 3 + nacks, sizeof *argv);
	size_t *len = xreallocarray(NULL, 3 + nacks, sizeof *len), i;

	argv[0] = "XACK";
	argv[1] = keys->positions;
	argv[2] = keys->group;
	for (i = 0; i < 3; i++)
		len[i] = strlen(argv[i]);
	for (i = 0; i < nacks; i++) {
		argv[3 + i] = acks[i];
		len[3 + i] = strlen(acks[i]);
	}
	append_argv(t, (int)(3 + nacks), argv, len);
	free(argv);
	free(len);
}

static void
tx_build(struct tx *t, const struct txn_keys *keys, const struct eval_batch *b,
    const struct state_table *states, const char *const *acks,
    size_t nacks, int64_t start_ns, bool hook)
{
	const char *p;
	size_t i;

	tx_clear(t);
	append_word(t, "MULTI");
	for (i = 0; i < b->n; i++)
		append(t, b->cmd[i], b->len[i]);
	build_hset(t, keys->state, states);
	build_xack(t, keys, acks, nacks);
	append_word(t, hook ? "PING" : "EXEC");

	for (i = 0; i < b->ntypes; i++)
		add_type(t, b->types[i]);
	if (b->ntypes > t->atypes) {
		t->atypes = b->ntypes;
		t->types = xreallocarray(t->types, t->atypes,
		    sizeof *t->types);
	}
	for (i = 0, p = t->names; i < b->ntypes; i++, p += strlen(p) + 1)
		t->types[i] = p;

	t->counts.start_ns = start_ns;
	t->counts.nentries = b->nentries;
	t->counts.nskipped = b->nskipped;
	t->counts.nerrors = b->nerrors;
	t->counts.nacks = nacks;
	t->counts.types = t->types;
	t->counts.ntypes = b->ntypes;
	t->hook = hook;
	t->built = true;
}

/* ==== Sending, in order ==== */

static void send_next(struct txn *t);

static void
on_exec(struct rconn *rc, redisReply *r, void *arg)
{
	struct txn *t = arg;
	struct tx *done;
	char reason[256];
	size_t i;

	(void)rc;
	if (r == NULL || !t->inflight)
		return;		/* lost: the owner drops it all */
	t->inflight = false;
	if (r->type != REDIS_REPLY_ARRAY) {
		/* EXECABORT (a queued command was refused) or a nil. */
		snprintf(reason, sizeof reason, "batch transaction: %s",
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		t->hooks.failed(t->arg, reason);
		return;
	}
	/*
	 * Redis has applied the batch.  A command that failed inside EXEC
	 * (say XADD to an alerts key of the wrong type) does not undo the
	 * others, so its states stand all the same and the failure is
	 * logged.
	 */
	for (i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_ERROR)
			log_error("batch: command %zu failed: %s", i,
			    r->element[i]->str);
	done = t->sent;
	if (t->next->built)
		send_next(t);		/* done is now t->next */
	t->hooks.committed(t->arg, &done->counts);
	tx_clear(done);
}

static void
on_crash_hook(struct rconn *rc, redisReply *r, void *arg)
{
	(void)rc;
	(void)r;
	(void)arg;
	log_warn("test hook: exiting before EXEC");
	_exit(99);
}

/* Sends every command of t->next; it becomes t->sent. */
static void
send_next(struct txn *t)
{
	struct tx *x = t->next;
	size_t i;

	t->next = t->sent;
	t->sent = x;
	rconn_reserve(t->rc, x->len);
	for (i = 0; i < x->ncmds; i++) {
		bool last = i + 1 == x->ncmds;
		rconn_reply_cb *cb = !last ? NULL : x->hook ? on_crash_hook :
		    on_exec;

		/* rc refuses only when not connected: then nothing went. */
		if (rconn_command_formatted(t->rc, cb, last ? t : NULL,
		    x->buf + x->off[i], x->off[i + 1] - x->off[i]) == -1) {
			tx_clear(x);
			return;
		}
	}
	t->inflight = true;
}

void
txn_commit(struct txn *t, const struct eval_batch *b,
    const struct state_table *states, const char *const *acks,
    size_t nacks, int64_t start_ns, bool crash_hook)
{
	assert(!t->next->built);
	tx_build(t->next, &t->keys, b, states, acks, nacks, start_ns,
	    crash_hook);
	if (!t->inflight)
		send_next(t);
}
