/*
 * consume.c: XREADGROUP in, MULTI/EXEC out, exactly once.
 *
 * The invariant everything here keeps: what Redis holds (P:state, the
 * group's pending list, P:alerts) always describes one consistent point,
 * "these entries are acknowledged, these alerts raised, these states
 * reached".  A batch changes working copies of states only
 * (engine/state.h), and its alerts, states and XACKs reach Redis in one
 * MULTI/EXEC (engine/txn.h), which is the only thing that commits.
 * Crash points:
 *
 *  - before EXEC is sent (during evaluation, between MULTI and EXEC, or
 *    the test hook GEOALARM_TEST_CRASH_BEFORE_EXEC): the server discards
 *    a transaction whose connection closes, so nothing of the batch
 *    exists; its entries stay in this consumer's pending list and the
 *    next start re-evaluates them from the same P:state, giving the same
 *    alerts with the same ids (engine/eval.h);
 *  - after EXEC ran: everything is there and acknowledged; nothing is
 *    re-read;
 *  - EXEC sent, connection lost before its reply: either of the above;
 *    we cannot tell which, so we drop every in-memory state and reload
 *    P:state and the pending list, which is right in both cases.
 *
 * The same reset (drop, reconnect, reload) handles every Redis error.
 *
 * Pipelining.  Redis and the engine run on different cores, so while one
 * batch's EXEC runs the engine evaluates the next one:
 *
 *  - when a read returns a full batch (there is more), the next read is
 *    sent and flushed before this batch is evaluated, without BLOCK (a
 *    transaction sent after it must not wait behind it);
 *  - a batch's states are made the committed ones as soon as its
 *    transaction is built, so the next batch evaluates on top of them;
 *  - a transaction is sent only after the EXEC before it has succeeded
 *    (engine/txn.h); until then it waits, built.
 *
 * Why this stays exactly once.  Batches are still read, evaluated and
 * committed in stream order, one transaction in flight at a time.  The
 * in-memory states may run one or two batches ahead of P:state, but only
 * with the effects of transactions that are in flight or waiting; any
 * failure of one of those (EXECABORT, an error reply, a lost connection)
 * resets the connection, drops the waiting transaction unsent, and
 * reloads every state from P:state and re-reads the pending list, exactly
 * as after a crash.  A transaction is never sent on top of one that did
 * not commit, since it waits for that one's successful EXEC.  And a read's
 * reply never finds a transaction waiting: a read goes out after every
 * transaction sent so far, and the one waiting is sent as soon as the
 * reply of the one before it arrives, which precedes the read's reply on
 * the connection.  Reads other than the prefetch are sent only when
 * nothing waits, so they follow every transaction on the connection and
 * may BLOCK.
 *
 * The steady cycle.  When a read returns less than a full batch, the
 * batch's transaction goes out at once (nothing is in flight) and the
 * next XREADGROUP BLOCK right behind it, in the same write: nothing waits
 * for EXEC's reply before reading.  Redis runs the EXEC, then the read,
 * which answers at once with what arrived meanwhile or blocks until the
 * next XADD; the engine wakes once per batch, with both replies.  If that
 * EXEC fails, the read behind it may still have delivered entries: they
 * are in this consumer's pending list, not acknowledged, and the reset
 * re-reads them (PH_PENDING) in stream order together with the failed
 * batch's, from the reloaded P:state.
 */
#include "engine/consume.h"

#include <assert.h>
#include <event2/event.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/entries.h"
#include "engine/eval.h"
#include "engine/fenceload.h"
#include "engine/fencestore.h"
#include "engine/state.h"
#include "engine/txn.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/rconn.h"
#include "lib/xmalloc.h"
#include "rules/rules.h"

#define PENDING_POLL_MS 1000	/* the pending-entries gauge's refresh */

enum phase {
	PH_DOWN,		/* not connected */
	PH_SETUP,		/* group and states on their way */
	PH_PENDING,		/* re-processing our pending entries */
	PH_CLAIM,		/* claiming entries of dead consumers */
	PH_LIVE,		/* reading new entries */
};

struct consume {
	struct event_base *base;
	struct consume_conf conf;	/* strings owned */
	char *key_positions, *key_alerts, *key_errors, *key_commands;
	char *key_state;

	struct rconn *rc;		/* commands */
	struct rconn *sub;		/* SUBSCRIBE P:control */
	enum phase phase;
	bool live_once;			/* reached PH_LIVE since connecting */
	bool reading;			/* a read in flight */
	char cursor[64];		/* XAUTOCLAIM cursor */
	int64_t last_claim_ms;		/* monotonic time of the last claim */
	struct event *poll;

	struct state_table *states;
	struct fenceload *fences;
	struct rules *rules;

	struct eval_batch batch;	/* the batch being evaluated */
	const char **acks;		/* its entry ids, borrowed from the reply */
	size_t nacks, aacks;
	struct entries *entries;	/* the reply being evaluated */
	struct txn *txn;		/* transactions in flight and waiting */
	long batches;			/* transactions built */
	long crash_at;			/* test hook: batch number, 0 off */

	struct metric *m_reports, *m_skipped, *m_alerts, *m_errors;
	struct metric *m_batch, *m_pending, *m_fences, *m_devices;
};

static void read_next(struct consume *c, bool prefetch);

/* ==== Small helpers ==== */

/* Sends a command made of NUL-terminated strings. */
static int
send_strings(struct consume *c, struct rconn *rc, rconn_reply_cb *cb,
    int argc, const char **argv)
{
	size_t len[16];
	int i;

	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	return rconn_command_argv(rc, cb, c, argc, argv, len);
}

/* Drops the connection after a Redis error; the reset reloads it all. */
static void
fail(struct consume *c, const char *what, const redisReply *r)
{
	char reason[256];

	snprintf(reason, sizeof reason, "%s: %s", what,
	    r != NULL && r->type == REDIS_REPLY_ERROR ? r->str :
	    "unexpected reply");
	log_error("%s", reason);
	c->phase = PH_DOWN;
	rconn_reset(c->rc, reason);
}

/* An error outside a batch (fences, rules): straight to P:errors. */
static void
report_error(struct consume *c, const char *source, const char *message)
{
	const char *argv[] = { "XADD", c->key_errors, "MAXLEN", "~",
	    "100000", "*", "source", source, "device", "", "message",
	    message };

	log_error("%s: %s", source, message);
	if (c->rc != NULL && rconn_connected(c->rc))
		send_strings(c, c->rc, NULL, 12, argv);
	if (c->m_errors != NULL)
		metric_add(c->m_errors, 1);
}

/* ==== Fences ==== */

static void
on_fence_refused(void *arg, const char *message)
{
	report_error(arg, "fence", message);
}

/* The first set lets the start-up go on (see read_next). */
static void
on_fence_loaded(void *arg)
{
	struct consume *c = arg;

	if (!txn_waiting(c->txn))
		read_next(c, false);
}

static const struct fenceload_hooks fence_hooks = {
	on_fence_refused, on_fence_loaded,
};

static void
on_xpending(struct rconn *rc, redisReply *r, void *arg)
{
	struct consume *c = arg;

	(void)rc;
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER && c->m_pending != NULL)
		metric_set(c->m_pending, (double)r->element[0]->integer);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct consume *c = arg;
	const char *xp[] = { "XPENDING", c->key_positions, c->conf.group };

	(void)fd;
	(void)what;
	if (c->phase != PH_DOWN && c->phase != PH_SETUP)
		send_strings(c, c->rc, on_xpending, 3, xp);
}

/* ==== Rules ==== */

static void
reload_rules(struct consume *c)
{
	struct rules *r;
	char err[512];

	if (c->conf.rules_path == NULL)
		return;
	r = rules_load(c->conf.rules_path, NULL, err, sizeof err);
	if (r == NULL) {
		report_error(c, "rules", err);
		log_warn("rules: keeping the previous version");
		return;
	}
	/* Evaluation is synchronous, so no batch is using the old rules. */
	rules_free(c->rules);
	c->rules = r;
	log_info("rules: reloaded %s (%zu devices, %zu rules)",
	    c->conf.rules_path, rules_device_count(r), rules_rule_count(r));
}

void
consume_reload(struct consume *c)
{
	reload_rules(c);
	fenceload_request(c->fences);
}

/* ==== A batch ==== */

static void
clear_batch(struct consume *c)
{
	eval_batch_clear(&c->batch);
	c->nacks = 0;
	state_table_rollback(c->states);
}

static void
on_committed(void *arg, const struct txn_counts *k)
{
	struct consume *c = arg;
	size_t i;

	log_debug("batch: %zu entries, %zu alerts committed", k->nacks,
	    k->ntypes);
	if (c->m_reports != NULL) {
		metric_add(c->m_reports, (double)k->nentries);
		metric_add(c->m_skipped, (double)k->nskipped);
		metric_add(c->m_errors, (double)k->nerrors);
		for (i = 0; i < k->ntypes; i++)
			metric_label_add(c->m_alerts, k->types[i], 1);
		metric_observe(c->m_batch, (double)(clock_mono_ns() -
		    k->start_ns) / 1e9);
		metric_set(c->m_devices,
		    (double)state_table_count(c->states));
	}
	/* After the waiting transaction, which txn has sent already. */
	if (!c->reading)
		read_next(c, false);
}

/* The reset reloads P:state, which is what is committed. */
static void
on_commit_failed(void *arg, const char *reason)
{
	struct consume *c = arg;

	log_error("%s", reason);
	c->phase = PH_DOWN;
	rconn_reset(c->rc, reason);
}

static const struct txn_hooks txn_hooks = {
	on_committed, on_commit_failed,
};

/*
 * Hands the batch's transaction to txn, which sends it now or after the
 * one in flight.  The states it writes become the committed ones at once,
 * so the next batch evaluates on top of them (see the header comment for
 * why that is safe).
 */
static void
commit_batch(struct consume *c, int64_t start_ns)
{
	c->batches++;
	txn_commit(c->txn, &c->batch, c->states, c->acks, c->nacks, start_ns,
	    c->crash_at > 0 && c->batches == c->crash_at);
	state_table_commit(c->states);
	eval_batch_clear(&c->batch);
	c->nacks = 0;
}

/*
 * Evaluates the n entries opened in c->entries, collecting their ids
 * (borrowed from the reply) for the XACK.  Returns the number of entries.
 */
static size_t
evaluate(struct consume *c, size_t n)
{
	struct eval_ctx ctx = { c->key_alerts, c->key_errors,
	    c->key_commands, c->states, fenceload_set(c->fences), c->rules };
	const struct rules_field *f;
	const char *id;
	size_t nf;
	bool trimmed;

	if (n > c->aacks) {
		c->aacks = n;
		c->acks = xreallocarray(c->acks, c->aacks, sizeof *c->acks);
	}
	while (entries_next(c->entries, &id, &f, &nf, &trimmed)) {
		c->acks[c->nacks++] = id;
		if (trimmed)
			c->batch.nskipped++;	/* nothing to evaluate */
		else
			eval_entry(&ctx, &c->batch, id, f, nf);
	}
	return c->nacks;
}

/* ==== Reading ==== */

static void
on_read(struct rconn *rc, redisReply *r, void *arg)
{
	struct consume *c = arg;
	int64_t start_ns = clock_mono_ns();
	const char *cursor = NULL;
	long got;
	size_t n;

	(void)rc;
	if (r == NULL)
		return;
	c->reading = false;
	if (c->phase == PH_DOWN)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		fail(c, "reading positions", r);
		return;
	}
	got = entries_open(c->entries, r, c->phase == PH_CLAIM, &cursor);
	if (got == -1) {
		fail(c, "reading positions", r);
		return;
	}
	if (cursor != NULL)
		snprintf(c->cursor, sizeof c->cursor, "%s", cursor);
	/* See the header comment: a read's reply never finds one waiting. */
	assert(!txn_waiting(c->txn));
	n = (size_t)got;
	/*
	 * A full batch says there is more: ask for the next one now, so
	 * that Redis reads it while we evaluate this one.
	 */
	if (c->phase == PH_LIVE && n >= (size_t)c->conf.batch) {
		read_next(c, true);
		rconn_flush(c->rc);
	}
	if (n > 0 && evaluate(c, n) > 0) {
		commit_batch(c, start_ns);
	} else {
		clear_batch(c);
		/* Nothing (more) in this phase: move on. */
		if (c->phase == PH_PENDING) {
			c->phase = PH_CLAIM;
			snprintf(c->cursor, sizeof c->cursor, "0-0");
		} else if (c->phase == PH_CLAIM &&
		    strcmp(c->cursor, "0-0") == 0) {
			if (!c->live_once)
				log_info("consumer %s: up to date, reading "
				    "new positions", c->conf.consumer);
			c->live_once = true;
			c->phase = PH_LIVE;
		}
	}
	if (!c->reading && !txn_waiting(c->txn))
		read_next(c, false);
}

/*
 * Sends the next read.  A prefetch goes out before the transaction of
 * the batch in hand, so it must not BLOCK (the transaction would wait
 * behind it) and is only for new entries; any other read follows every
 * transaction sent.
 */
static void
read_next(struct consume *c, bool prefetch)
{
	char count[32], block[32], idle[32];
	int rv;

	/*
	 * Nothing is evaluated before the fences are read once: entries
	 * re-processed against an empty set would leave every fence.
	 */
	if (c->reading || c->phase < PH_PENDING ||
	    !fenceload_ready(c->fences))
		return;
	/*
	 * Entries of a consumer that died after we started only become
	 * claimable once idle long enough: look again every claim_idle.
	 */
	if (c->phase == PH_LIVE && clock_mono_ms() - c->last_claim_ms >=
	    c->conf.claim_idle_ms) {
		if (prefetch)
			return;
		c->phase = PH_CLAIM;
		snprintf(c->cursor, sizeof c->cursor, "0-0");
	}
	snprintf(count, sizeof count, "%d", c->conf.batch);
	snprintf(block, sizeof block, "%d", c->conf.block_ms);
	snprintf(idle, sizeof idle, "%d", c->conf.claim_idle_ms);
	if (c->phase == PH_CLAIM) {
		const char *argv[] = { "XAUTOCLAIM", c->key_positions,
		    c->conf.group, c->conf.consumer, idle, c->cursor, "COUNT",
		    count };

		c->last_claim_ms = clock_mono_ms();
		rv = send_strings(c, c->rc, on_read, 8, argv);
	} else if (c->phase == PH_PENDING) {
		/* Our own delivered, unacknowledged entries, oldest first. */
		const char *argv[] = { "XREADGROUP", "GROUP", c->conf.group,
		    c->conf.consumer, "COUNT", count, "STREAMS",
		    c->key_positions, "0" };

		rv = send_strings(c, c->rc, on_read, 9, argv);
	} else {
		const char *argv[] = { "XREADGROUP", "GROUP", c->conf.group,
		    c->conf.consumer, "COUNT", count, "BLOCK", block,
		    "STREAMS", c->key_positions, ">" };

		/* Without BLOCK and its value. */
		if (prefetch) {
			argv[6] = "STREAMS";
			argv[7] = c->key_positions;
			argv[8] = ">";
		}
		rv = send_strings(c, c->rc, on_read, prefetch ? 9 : 11, argv);
	}
	if (rv == 0)
		c->reading = true;
}

/* ==== Start-up on every connection ==== */

static void
on_states(struct rconn *rc, redisReply *r, void *arg)
{
	struct consume *c = arg;
	char err[256];
	size_t i, bad = 0;

	(void)rc;
	if (r == NULL)
		return;
	if (r->type != REDIS_REPLY_ARRAY) {
		fail(c, "loading device states", r);
		return;
	}
	state_table_clear(c->states);
	for (i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];
		struct state *st;

		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		st = state_from_json(v->str, v->len, err, sizeof err);
		if (st == NULL) {
			/* Unreadable: the device starts afresh (its next
			 * report writes a good state). */
			char *msg = xasprintf("device %s: %s", k->str, err);

			report_error(c, "state", msg);
			free(msg);
			bad++;
			continue;
		}
		state_table_put(c->states, k->str, st);
	}
	log_info("states: %zu devices loaded%s", state_table_count(c->states),
	    bad > 0 ? " (some unreadable, see P:errors)" : "");
	c->phase = PH_PENDING;
	read_next(c, false);
}

static void
on_group(struct rconn *rc, redisReply *r, void *arg)
{
	struct consume *c = arg;

	(void)rc;
	if (r == NULL)
		return;
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9))
		fail(c, "creating the consumer group", r);
}

static void
on_state(struct rconn *rc, bool connected, const char *reason, void *arg)
{
	struct consume *c = arg;
	const char *group[] = { "XGROUP", "CREATE", c->key_positions,
	    c->conf.group, c->conf.from_start ? "0" : "$", "MKSTREAM" };
	const char *states[] = { "HGETALL", c->key_state };

	(void)rc;
	if (!connected) {
		log_warn("engine: redis lost (%s): uncommitted work dropped",
		    reason);
		c->phase = PH_DOWN;
		c->reading = false;
		txn_drop(c->txn);
		clear_batch(c);
		return;
	}
	/* Pipelined; each reply callback fails the whole set-up on error. */
	c->phase = PH_SETUP;
	c->live_once = false;
	send_strings(c, c->rc, on_group, 6, group);
	send_strings(c, c->rc, on_states, 2, states);
}

/* ==== The control channel ==== */

static void
on_control(struct rconn *rc, redisReply *r, void *arg)
{
	struct consume *c = arg;
	const redisReply *msg;

	(void)rc;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0)
		return;
	msg = r->element[2];
	if (msg->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(msg->str, FENCESTORE_MESSAGE) == 0) {
		log_info("control: fences changed");
		fenceload_request(c->fences);
	} else if (strcmp(msg->str, "reload") == 0) {
		log_info("control: reload");
		consume_reload(c);
	}
}

static void
on_sub_state(struct rconn *rc, bool connected, const char *reason,
    void *arg)
{
	struct consume *c = arg;
	const char *sub[] = { "SUBSCRIBE",
	    fenceload_key_control(c->fences) };

	(void)reason;
	if (connected)
		send_strings(c, rc, on_control, 2, sub);
}

/* ==== Life cycle ==== */

bool
consume_ready(const struct consume *c)
{
	return c->phase >= PH_PENDING && fenceload_ready(c->fences);
}

static void
register_metrics(struct consume *c, struct metrics *m)
{
	static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025,
	    0.05, 0.1, 0.25, 0.5, 1, 2.5 };

	c->m_reports = metrics_counter(m, "geoalarm_engine_reports_total",
	    "Position entries evaluated and committed.");
	c->m_skipped = metrics_counter(m, "geoalarm_engine_skipped_total",
	    "Entries acknowledged without evaluation (no device or time).");
	c->m_alerts = metrics_labelled(m, "geoalarm_engine_alerts_total",
	    "Alerts raised, by type.", "type");
	c->m_errors = metrics_counter(m, "geoalarm_engine_errors_total",
	    "Entries written to P:errors.");
	c->m_batch = metrics_histogram(m, "geoalarm_engine_batch_seconds",
	    "Time from reading a batch to its EXEC reply.", bounds,
	    (int)(sizeof bounds / sizeof bounds[0]));
	c->m_pending = metrics_gauge(m, "geoalarm_engine_pending",
	    "Entries delivered to the group and not yet acknowledged.");
	c->m_fences = metrics_gauge(m, "geoalarm_engine_fences",
	    "Fences loaded.");
	c->m_devices = metrics_gauge(m, "geoalarm_engine_devices",
	    "Devices with a state.");
}

struct consume *
consume_new(struct event_base *base, const struct consume_conf *conf,
    char *err, size_t errlen)
{
	struct consume *c = xcalloc(1, sizeof *c);
	const char *p = conf->prefix, *hook;
	char e[512];

	c->base = base;
	c->conf = *conf;
	c->conf.redis_url = xstrdup(conf->redis_url);
	c->conf.prefix = xstrdup(conf->prefix);
	c->conf.group = xstrdup(conf->group);
	c->conf.consumer = xstrdup(conf->consumer);
	c->conf.rules_path = conf->rules_path != NULL ?
	    xstrdup(conf->rules_path) : NULL;
	c->key_positions = xasprintf("%s:positions", p);
	c->key_alerts = xasprintf("%s:alerts", p);
	c->key_errors = xasprintf("%s:errors", p);
	c->key_commands = xasprintf("%s:commands", p);
	c->key_state = xasprintf("%s:state", p);
	c->states = state_table_new();
	c->entries = entries_new();
	/* Test hook (tests/e2e/test_engine.py): see commit_batch. */
	if ((hook = getenv("GEOALARM_TEST_CRASH_BEFORE_EXEC")) != NULL)
		c->crash_at = strtol(hook, NULL, 10);
	if (conf->metrics != NULL)
		register_metrics(c, conf->metrics);

	if (c->conf.rules_path != NULL) {
		c->rules = rules_load(c->conf.rules_path, NULL, e, sizeof e);
		if (c->rules == NULL) {
			snprintf(err, errlen, "%s", e);
			goto fail;
		}
		log_info("rules: loaded %s (%zu devices, %zu rules)",
		    c->conf.rules_path, rules_device_count(c->rules),
		    rules_rule_count(c->rules));
	}
	if (c->m_pending != NULL) {
		c->poll = event_new(base, -1, EV_PERSIST, on_poll, c);
		event_add(c->poll, &(struct timeval){ PENDING_POLL_MS / 1000,
		    (PENDING_POLL_MS % 1000) * 1000 });
	}
	c->fences = fenceload_new(base, c->conf.redis_url, p, &fence_hooks, c,
	    c->m_fences, err, errlen);
	if (c->fences == NULL)
		goto fail;
	c->rc = rconn_new(base, c->conf.redis_url, "redis", on_state, c, err,
	    errlen);
	if (c->rc == NULL)
		goto fail;
	/* Batches of entries are big replies of many small strings. */
	rconn_use_arena(c->rc);
	c->txn = txn_new(c->rc, &(struct txn_keys){ c->key_state,
	    c->key_positions, c->conf.group }, &txn_hooks, c);
	c->sub = rconn_new(base, c->conf.redis_url, "redis-control",
	    on_sub_state, c, err, errlen);
	if (c->sub == NULL)
		goto fail;
	return c;
fail:
	consume_free(c);
	return NULL;
}

void
consume_free(struct consume *c)
{
	if (c == NULL)
		return;
	rconn_free(c->sub);
	rconn_free(c->rc);
	fenceload_free(c->fences);
	if (c->poll != NULL)
		event_free(c->poll);
	clear_batch(c);
	eval_batch_free(&c->batch);
	txn_free(c->txn);
	free(c->acks);
	entries_free(c->entries);
	state_table_free(c->states);
	rules_free(c->rules);
	free((char *)c->conf.redis_url);
	free((char *)c->conf.prefix);
	free((char *)c->conf.group);
	free((char *)c->conf.consumer);
	free((char *)c->conf.rules_path);
	free(c->key_positions);
	free(c->key_alerts);
	free(c->key_errors);
	free(c->key_commands);
	free(c->key_state);
	free(c);
}
