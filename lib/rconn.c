/*
 * rconn.c: a hiredis async context that reconnects by itself.
 *
 * States: IDLE (waiting for the backoff timer), CONNECTING (socket being
 * connected), HANDSHAKE (AUTH, SELECT and PING in flight, or waiting to
 * PING again while the server loads), READY, CLOSING (dropped by us,
 * waiting for hiredis to call back the disconnect).  hiredis frees its
 * context itself after a failed connect or a disconnect; rc->ac is cleared
 * in those callbacks and nowhere else.
 */
#include "lib/rconn.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/replyarena.h"
#include "lib/xmalloc.h"

/* Backoff bounds: fast enough to notice a restarted Redis at once, slow
 * enough not to spin on a dead one. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* A connect or handshake that takes longer than this is abandoned. */
#define CONNECT_TIMEOUT_MS 5000
/*
 * Send buffer asked for: a deep pipeline (the ingest keeps thousands of
 * commands in flight) then leaves in whole writes.  hiredis moves what a
 * partial write left to the front of its buffer, and with the default
 * 208 KiB that copy showed in profiles.  The kernel caps it at
 * net.core.wmem_max.
 */
#define SNDBUF_BYTES (4 << 20)

enum rconn_state { RC_IDLE, RC_CONNECTING, RC_HANDSHAKE, RC_READY, RC_CLOSING };

/*
 * The callback of one command, or of n commands sent together (refs
 * replies still due); SUBSCRIBE ones live until the connection ends.
 */
struct rconn_call {
	struct rconn *rc;
	rconn_reply_cb *cb;
	void *arg;
	int refs;
	bool sub;
	bool done;
	struct rconn_call *next;	/* subs list */
};

struct rconn {
	struct event_base *base;
	struct conf_redis url;
	char name[32];
	rconn_state_cb *state_cb;
	void *arg;

	redisAsyncContext *ac;
	enum rconn_state state;
	bool was_ready;			/* state_cb(true) was called */
	bool freeing;
	struct event *timer;		/* backoff, and re-PING while loading */
	struct event *watchdog;		/* connect and handshake timeout */
	struct event *stall;		/* reply timeout check, when set */
	int reply_timeout_ms;
	int64_t last_reply_ms;		/* last progress seen by on_stall */
	uint64_t replies;		/* replies received, ever */
	uint64_t replies_seen;		/* replies at last_reply_ms */
	int backoff_ms;
	size_t pending;
	struct rconn_call *subs;
	struct rconn_call nocb;		/* shared by commands without callback */
	struct replyarena *arena;	/* NULL: hiredis's own reply objects */
	char last_error[128];		/* to log a repeated failure once */
	char reset_reason[128];		/* why we dropped the connection */
};

static void rc_connect(struct rconn *rc);

static void
arm(struct event *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* Logs a failure, once per distinct reason (then at debug level). */
static void
log_failure(struct rconn *rc, const char *what, const char *reason)
{
	char line[sizeof rc->last_error];

	snprintf(line, sizeof line, "%s: %s", what, reason);
	if (strcmp(line, rc->last_error) != 0) {
		log_warn("%s: %s; retrying every %d ms at most", rc->name, line,
		    BACKOFF_MAX_MS);
		memcpy(rc->last_error, line, sizeof line);
	} else
		log_debug("%s: %s", rc->name, line);
}

static void
schedule_retry(struct rconn *rc)
{
	rc->state = RC_IDLE;
	evtimer_del(rc->watchdog);
	if (rc->freeing)
		return;
	arm(rc->timer, rc->backoff_ms);
	rc->backoff_ms *= 2;
	if (rc->backoff_ms > BACKOFF_MAX_MS)
		rc->backoff_ms = BACKOFF_MAX_MS;
}

static void
free_subs(struct rconn *rc)
{
	while (rc->subs != NULL) {
		struct rconn_call *c = rc->subs;

		rc->subs = c->next;
		free(c);
	}
}

/* ---- hiredis callbacks ---- */

static void
on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rconn_call *call = privdata;
	struct rconn *rc = call->rc;

	(void)ac;
	if (call->sub) {
		if (call->done)
			return;
		if (r == NULL)
			call->done = true;
		if (call->cb != NULL)
			call->cb(rc, r, call->arg);
		return;
	}
	rc->pending--;
	rc->replies++;
	if (call->cb != NULL)
		call->cb(rc, r, call->arg);
	if (call != &rc->nocb && --call->refs == 0)
		free(call);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;
	char reason[128];
	bool was_ready = rc->was_ready;

	if (ac->err != 0 && ac->errstr != NULL)
		snprintf(reason, sizeof reason, "%s", ac->errstr);
	else if (rc->state == RC_CLOSING && rc->reset_reason[0] != '\0')
		snprintf(reason, sizeof reason, "%s", rc->reset_reason);
	else
		snprintf(reason, sizeof reason, "%s",
		    status == REDIS_OK ? "closed" : "connection lost");
	rc->ac = NULL;
	rc->was_ready = false;
	rc->pending = 0;
	free_subs(rc);
	if (rc->freeing)
		return;
	if (was_ready)
		log_warn("%s: disconnected: %s", rc->name, reason);
	schedule_retry(rc);
	if (was_ready && rc->state_cb != NULL)
		rc->state_cb(rc, false, reason, rc->arg);
}

static void
on_ready(struct rconn *rc)
{
	rc->state = RC_READY;
	rc->was_ready = true;
	rc->backoff_ms = BACKOFF_MIN_MS;
	rc->last_error[0] = '\0';
	evtimer_del(rc->watchdog);
	if (rc->url.unix_socket)
		log_info("%s: connected to unix:%s", rc->name, rc->url.path);
	else
		log_info("%s: connected to %s:%d", rc->name, rc->url.host,
		    rc->url.port);
	if (rc->state_cb != NULL)
		rc->state_cb(rc, true, "connected", rc->arg);
}

static void
on_ping(struct rconn *rc, struct redisReply *reply, void *arg)
{
	(void)arg;
	if (reply == NULL || rc->state != RC_HANDSHAKE)
		return;
	if (reply->type == REDIS_REPLY_STATUS && strcasecmp(reply->str, "PONG") == 0) {
		on_ready(rc);
		return;
	}
	/* -LOADING (or another refusal): keep the connection, ask again. */
	log_failure(rc, "not ready", reply->type == REDIS_REPLY_ERROR ?
	    reply->str : "unexpected PING reply");
	arm(rc->timer, rc->backoff_ms);
	if (rc->backoff_ms < BACKOFF_MAX_MS)
		rc->backoff_ms *= 2;
	evtimer_del(rc->watchdog);
}

static void
on_setup(struct rconn *rc, struct redisReply *reply, void *arg)
{
	const char *what = arg;

	if (reply == NULL || rc->state != RC_HANDSHAKE)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		char why[256];

		snprintf(why, sizeof why, "%s refused: %s", what, reply->str);
		rconn_reset(rc, why);
	}
}

static bool
is_subscribe(int argc, const char **argv, const size_t *argvlen)
{
	return argc > 0 && (strncasecmp(argv[0], "subscribe", argvlen[0]) ==
	    0 || strncasecmp(argv[0], "psubscribe", argvlen[0]) == 0) &&
	    (argvlen[0] == 9 || argvlen[0] == 10);
}

static int
send_call(struct rconn *rc, rconn_reply_cb *cb, void *arg, int argc,
    const char **argv, const size_t *argvlen, const char *cmd, size_t len)
{
	struct rconn_call *call;
	int r;

	/* Most commands of a batch want no reply: no allocation for them. */
	if (cb == NULL && (argv == NULL || !is_subscribe(argc, argv,
	    argvlen))) {
		r = argv != NULL ?
		    redisAsyncCommandArgv(rc->ac, on_reply, &rc->nocb, argc,
		    argv, argvlen) :
		    redisAsyncFormattedCommand(rc->ac, on_reply, &rc->nocb,
		    cmd, len);
		if (r != REDIS_OK)
			return -1;
		if (rc->pending++ == 0)
			rc->last_reply_ms = clock_mono_ms();
		return 0;
	}
	call = xcalloc(1, sizeof *call);
	call->rc = rc;
	call->cb = cb;
	call->arg = arg;
	call->refs = 1;
	if (argv != NULL)
		call->sub = is_subscribe(argc, argv, argvlen);
	if (argv != NULL)
		r = redisAsyncCommandArgv(rc->ac, on_reply, call, argc, argv, argvlen);
	else
		r = redisAsyncFormattedCommand(rc->ac, on_reply, call, cmd, len);
	if (r != REDIS_OK) {
		free(call);
		return -1;
	}
	if (call->sub) {
		call->next = rc->subs;
		rc->subs = call;
	} else if (rc->pending++ == 0)
		rc->last_reply_ms = clock_mono_ms();
	return 0;
}

static void
handshake_cmd(struct rconn *rc, rconn_reply_cb *cb, void *arg, int argc,
    const char **argv)
{
	size_t lens[3];

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	send_call(rc, cb, arg, argc, argv, lens, NULL, 0);
}

static void
send_ping(struct rconn *rc)
{
	const char *ping[] = { "PING" };

	handshake_cmd(rc, on_ping, NULL, 1, ping);
	arm(rc->watchdog, CONNECT_TIMEOUT_MS);
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;
	int sndbuf = SNDBUF_BYTES;
	char db[16];

	if (status != REDIS_OK) {
		/* hiredis frees the context after this returns. */
		log_failure(rc, "connect", ac->errstr != NULL ? ac->errstr : "failed");
		rc->ac = NULL;
		schedule_retry(rc);
		return;
	}
	rc->state = RC_HANDSHAKE;
	if (setsockopt(ac->c.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == -1)
		log_debug("%s: SO_SNDBUF: %s", rc->name, strerror(errno));
	if (rc->url.password[0] != '\0') {
		const char *auth[] = { "AUTH", rc->url.password };

		handshake_cmd(rc, on_setup, (void *)"AUTH", 2, auth);
	}
	if (rc->url.db != 0) {
		const char *sel[] = { "SELECT", db };

		snprintf(db, sizeof db, "%d", rc->url.db);
		handshake_cmd(rc, on_setup, (void *)"SELECT", 2, sel);
	}
	send_ping(rc);
}

/* ---- Timers ---- */

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *rc = arg;

	(void)fd;
	(void)what;
	if (rc->state == RC_IDLE)
		rc_connect(rc);
	else if (rc->state == RC_HANDSHAKE && rc->ac != NULL)
		send_ping(rc);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *rc = arg;

	(void)fd;
	(void)what;
	if (rc->state == RC_CONNECTING || rc->state == RC_HANDSHAKE)
		rconn_reset(rc, "no answer within 5 s");
}

static void
on_stall(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *rc = arg;
	char why[64];

	(void)fd;
	(void)what;
	/* Replies are counted, not timed (no clock read per reply): any
	 * since the last tick is progress now. */
	if (rc->replies != rc->replies_seen) {
		rc->replies_seen = rc->replies;
		rc->last_reply_ms = clock_mono_ms();
	}
	if (rc->state == RC_READY && rc->pending > 0 &&
	    clock_mono_ms() - rc->last_reply_ms > rc->reply_timeout_ms) {
		snprintf(why, sizeof why, "no reply within %d ms",
		    rc->reply_timeout_ms);
		rconn_reset(rc, why);
	}
}

static void
rc_connect(struct rconn *rc)
{
	redisAsyncContext *ac;

	if (rc->url.unix_socket)
		ac = redisAsyncConnectUnix(rc->url.path);
	else
		ac = redisAsyncConnect(rc->url.host, rc->url.port);
	if (ac == NULL) {
		log_failure(rc, "connect", "out of memory");
		schedule_retry(rc);
		return;
	}
	if (ac->err != 0) {
		log_failure(rc, "connect", ac->errstr);
		redisAsyncFree(ac);
		schedule_retry(rc);
		return;
	}
	ac->data = rc;
	rc->ac = ac;
	if (rc->arena != NULL)
		replyarena_attach(rc->arena, ac->c.reader);
	rc->state = RC_CONNECTING;
	redisLibeventAttach(ac, rc->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	arm(rc->watchdog, CONNECT_TIMEOUT_MS);
}

/* ---- Public API ---- */

struct rconn *
rconn_new(struct event_base *base, const char *url, const char *name,
    rconn_state_cb *state_cb, void *arg, char *err, size_t errlen)
{
	struct rconn *rc = xcalloc(1, sizeof *rc);

	if (conf_redis_url(url, &rc->url, err, errlen) == -1) {
		free(rc);
		return NULL;
	}
	rc->base = base;
	snprintf(rc->name, sizeof rc->name, "%s", name);
	rc->state_cb = state_cb;
	rc->arg = arg;
	rc->backoff_ms = BACKOFF_MIN_MS;
	rc->nocb.rc = rc;
	rc->timer = evtimer_new(base, on_timer, rc);
	rc->watchdog = evtimer_new(base, on_watchdog, rc);
	rc_connect(rc);
	return rc;
}

void
rconn_free(struct rconn *rc)
{
	if (rc == NULL)
		return;
	rc->freeing = true;
	if (rc->ac != NULL)
		redisAsyncFree(rc->ac);
	/* A context that never connected gets no disconnect callback. */
	rc->ac = NULL;
	free_subs(rc);
	event_free(rc->timer);
	event_free(rc->watchdog);
	if (rc->stall != NULL)
		event_free(rc->stall);
	replyarena_free(rc->arena);
	free(rc);
}

void
rconn_reserve(struct rconn *rc, size_t bytes)
{
	sds obuf;

	if (rc->state != RC_READY || rc->ac == NULL)
		return;
	/* hiredis grows its output buffer by doubling, copying each time. */
	obuf = sdsMakeRoomFor(rc->ac->c.obuf, bytes);
	if (obuf == NULL) {
		fprintf(stderr, "fatal: out of memory\n");
		abort();
	}
	rc->ac->c.obuf = obuf;
}

void
rconn_flush(struct rconn *rc)
{
	int done;

	if (rc->state != RC_READY || rc->ac == NULL)
		return;
	/*
	 * redisBufferWrite rather than redisAsyncHandleWrite: on a write
	 * error the latter frees the context at once, which must not happen
	 * inside one of its reply callbacks.  The former only records the
	 * error, and the event loop's next write or read on the context
	 * finds it and disconnects from a safe place.
	 */
	(void)redisBufferWrite(&rc->ac->c, &done);
}

void
rconn_use_arena(struct rconn *rc)
{
	if (rc->arena != NULL)
		return;
	rc->arena = replyarena_new();
	/* rconn_new has created the first context; it has read nothing. */
	if (rc->ac != NULL)
		replyarena_attach(rc->arena, rc->ac->c.reader);
}

bool
rconn_connected(const struct rconn *rc)
{
	return rc->state == RC_READY;
}

int
rconn_command_argv(struct rconn *rc, rconn_reply_cb *cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	if (rc->state != RC_READY || argc < 1)
		return -1;
	return send_call(rc, cb, arg, argc, argv, argvlen, NULL, 0);
}

int
rconn_command_formatted(struct rconn *rc, rconn_reply_cb *cb, void *arg,
    const char *cmd, size_t len)
{
	if (rc->state != RC_READY)
		return -1;
	return send_call(rc, cb, arg, 0, NULL, NULL, cmd, len);
}

int
rconn_command_formatted_n(struct rconn *rc, rconn_reply_cb *cb, void *arg,
    const char *cmds, const size_t *lens, int n)
{
	struct rconn_call *call;
	size_t off = 0;

	if (rc->state != RC_READY || n < 1)
		return -1;
	call = xcalloc(1, sizeof *call);
	call->rc = rc;
	call->cb = cb;
	call->arg = arg;
	for (int i = 0; i < n; i++) {
		/* hiredis fails only when the context is closing; the replies
		 * of the commands already queued still come (NULL at worst). */
		if (redisAsyncFormattedCommand(rc->ac, on_reply, call, cmds + off,
		    lens[i]) != REDIS_OK)
			break;
		off += lens[i];
		call->refs++;
		if (rc->pending++ == 0)
			rc->last_reply_ms = clock_mono_ms();
	}
	if (call->refs == 0) {
		free(call);
		return -1;
	}
	return 0;
}

void
rconn_reset(struct rconn *rc, const char *reason)
{
	if (rc->ac == NULL || rc->state == RC_CLOSING)
		return;
	snprintf(rc->reset_reason, sizeof rc->reset_reason, "%s", reason);
	if (!rc->was_ready)
		log_failure(rc, "dropped", reason);
	if (!(rc->ac->c.flags & REDIS_CONNECTED)) {
		/* Still connecting: hiredis will not call on_disconnect. */
		redisAsyncFree(rc->ac);
		rc->ac = NULL;
		schedule_retry(rc);
		return;
	}
	rc->state = RC_CLOSING;
	/* Deferred by hiredis when called from inside one of its callbacks;
	 * on_disconnect then schedules the reconnect. */
	redisAsyncFree(rc->ac);
}

void
rconn_set_reply_timeout(struct rconn *rc, int ms)
{
	struct timeval tv = { 0, 250000 };

	if (rc->stall == NULL)
		rc->stall = event_new(rc->base, -1, EV_PERSIST, on_stall, rc);
	rc->reply_timeout_ms = ms;
	if (ms > 0)
		evtimer_add(rc->stall, &tv);
	else
		evtimer_del(rc->stall);
}

