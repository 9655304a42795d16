/*
 * cmd_alerts.c: `geoalarm alerts [--type T] [--device D] [--since DUR]`,
 * follows the P:alerts channel and prints each alert's payload, one JSON
 * per line, exactly as published.
 *
 * Without gaps or repeats: the channel is subscribed first, then the
 * P:alerts stream is replayed from the start point (--since, or the moment
 * the connection was lost), then the channel's messages are read.  The
 * engine adds each alert to the stream and publishes it in one
 * transaction, so an alert published after the subscription and before
 * the replay's XRANGE is both in the replay and waiting on the channel:
 * the ids of recently printed alerts are kept and such a repeat dropped.
 *
 * A lost connection (Redis restarted, or silent for two pings) is said on
 * stderr and retried for ever; alerts raised meanwhile come from the
 * stream once it is back.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/clock.h"
#include "lib/xmalloc.h"

/*
 * Alert ids remembered to drop repeats.  Repeats come only from the few
 * alerts published while a replay runs, so this is plenty.
 */
#define RECENT_MAX 4096
/* Entries per XRANGE call of a replay. */
#define REPLAY_COUNT "500"
/* A silent channel is pinged after this long, and given up on after two. */
#define PING_MS 15000
/* Reconnect attempts back off up to this. */
#define BACKOFF_MAX_MS 2000
/* After a loss, replay from this long before it: clocks and in-flight
 * messages are not exact. */
#define GAP_MARGIN_MS 5000

/*
 * Milliseconds to wait between subscribing and replaying: widens the seam
 * so that tests can make alerts land in it every time.  Unset in use.
 */
#define SEAM_DELAY_ENV "GEOALARM_TEST_SEAM_DELAY_MS"

struct alerts_flags {
	const char *type, *device, *since;
};

static int
check_since(const char *val, char *err, size_t errlen)
{
	int64_t ms;

	return cmd_parse_duration(val, &ms, err, errlen);
}

static const struct conf_opt alerts_opts[] = {
	{ .name = "type", .type = CONF_STRING, .arg = "T",
	  .help = "only alerts of this type (overspeed, sos, fence_enter, ...)",
	  .offset = offsetof(struct alerts_flags, type) },
	{ .name = "device", .type = CONF_STRING, .arg = "D",
	  .help = "only alerts of this device",
	  .offset = offsetof(struct alerts_flags, device) },
	{ .name = "since", .type = CONF_STRING, .arg = "DURATION",
	  .help = "first print the alerts of the last DURATION (30s, 15m, "
	      "1h, 2d) from the stream", .check = check_since,
	  .offset = offsetof(struct alerts_flags, since) },
	{ .name = NULL },
};

struct follow {
	const char *prog;
	const struct alerts_flags *fl;
	const char *url;
	char *key;			/* P:alerts, stream and channel */

	redisContext *sub;		/* subscribed to key */
	bool ping_sent;
	int64_t skew_ms;		/* Redis clock - ours */

	/* Recently printed ids: a FIFO of RECENT_MAX and a set. */
	char *recent[RECENT_MAX];
	size_t recent_next;
	json_t *recent_set;

	bool out_closed;		/* stdout gone (a pipe reader quit) */
	int seam_delay_ms;		/* see SEAM_DELAY_ENV */
	char err[CMD_ERR_LEN];
};

/* ==== printing ==== */

static bool
seen(struct follow *f, const char *id)
{
	return json_object_get(f->recent_set, id) != NULL;
}

static void
remember(struct follow *f, const char *id)
{
	char **slot = &f->recent[f->recent_next];

	if (*slot != NULL) {
		json_object_del(f->recent_set, *slot);
		free(*slot);
	}
	*slot = xstrdup(id);
	json_object_set_new(f->recent_set, id, json_true());
	f->recent_next = (f->recent_next + 1) % RECENT_MAX;
}

static bool
matches(const char *want, json_t *o, const char *key)
{
	const char *v;

	if (want == NULL)
		return true;
	v = json_string_value(json_object_get(o, key));
	return v != NULL && strcmp(v, want) == 0;
}

/*
 * Prints one payload unless it repeats one already printed or the filters
 * drop it.  A payload that is not a JSON object passes only when there is
 * no filter.  Returns -1 when stdout is gone.
 */
static int
emit(struct follow *f, const char *payload, size_t len)
{
	json_t *o = json_loadb(payload, len, 0, NULL);
	const char *id = json_string_value(json_object_get(o, "id"));
	bool show;

	if (!json_is_object(o))
		show = f->fl->type == NULL && f->fl->device == NULL;
	else if (id != NULL && seen(f, id))
		show = false;
	else
		show = matches(f->fl->type, o, "type") &&
		    matches(f->fl->device, o, "device");
	if (id != NULL && !seen(f, id))
		remember(f, id);
	json_decref(o);
	if (!show)
		return 0;
	if (fwrite(payload, 1, len, stdout) != len || putchar('\n') == EOF ||
	    fflush(stdout) != 0) {
		f->out_closed = true;
		return -1;
	}
	return 0;
}

/* ==== connecting ==== */

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Redis's clock in ms (TIME), or -1. */
static int64_t
server_time(redisContext *q, char *err, size_t errlen)
{
	const char *argv[] = { "TIME" };
	redisReply *r = client_command_strings(q, 1, argv, err, errlen);
	int64_t ms = -1;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[1]->type == REDIS_REPLY_STRING)
		ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
		    strtoll(r->element[1]->str, NULL, 10) / 1000;
	else if (r != NULL)
		snprintf(err, errlen, "TIME: unexpected reply");
	freeReplyObject(r);
	return ms;
}

/*
 * Prints the stream's alerts from from_ms on (XRANGE in pages).
 * Returns 0, or -1 with f->err (or stdout gone).
 */
static int
replay(struct follow *f, redisContext *q, int64_t from_ms)
{
	char start[64];
	const char *argv[] = { "XRANGE", f->key, start, "+", "COUNT",
	    REPLAY_COUNT };
	redisReply *r;
	size_t i, k;

	snprintf(start, sizeof start, "%lld-0",
	    (long long)(from_ms > 0 ? from_ms : 0));
	for (;;) {
		if ((r = client_command_strings(q, 6, argv, f->err,
		    sizeof f->err)) == NULL)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY) {
			snprintf(f->err, sizeof f->err, "XRANGE: unexpected "
			    "reply");
			freeReplyObject(r);
			return -1;
		}
		for (i = 0; i < r->elements; i++) {
			const redisReply *e = r->element[i], *fv;

			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING)
				continue;
			snprintf(start, sizeof start, "(%s",
			    e->element[0]->str);
			fv = e->element[1];
			for (k = 0; fv->type == REDIS_REPLY_ARRAY &&
			    k + 1 < fv->elements; k += 2)
				if (fv->element[k]->type == REDIS_REPLY_STRING &&
				    strcmp(fv->element[k]->str, "json") == 0 &&
				    fv->element[k + 1]->type ==
				    REDIS_REPLY_STRING) {
					if (emit(f, fv->element[k + 1]->str,
					    fv->element[k + 1]->len) == -1) {
						freeReplyObject(r);
						return -1;
					}
					break;
				}
		}
		k = r->elements;
		freeReplyObject(r);
		if (k < (size_t)atoi(REPLAY_COUNT))
			return 0;
	}
}

/*
 * Connects, subscribes, then replays from from_ms (Redis time; -1: no
 * replay, and when since_ms >= 0, from Redis's now - since_ms).  Returns
 * 0, or -1 with f->err.
 */
static int
connect_follow(struct follow *f, int64_t from_ms, int64_t since_ms)
{
	const char *argv[] = { "SUBSCRIBE", f->key };
	redisContext *q = NULL;
	redisReply *r;
	int64_t now;

	if ((f->sub = client_connect(f->url, CLIENT_TIMEOUT_MS, f->err,
	    sizeof f->err)) == NULL)
		return -1;
	f->ping_sent = false;
	/* SUBSCRIBE's reply is the confirmation: from here on every
	 * publication reaches this socket. */
	if ((r = client_command_strings(f->sub, 2, argv, f->err,
	    sizeof f->err)) == NULL)
		goto fail;
	freeReplyObject(r);

	/* A subscribed connection takes no other command: a second one
	 * reads the clock and the stream, then goes. */
	if ((q = client_connect(f->url, CLIENT_TIMEOUT_MS, f->err,
	    sizeof f->err)) == NULL)
		goto fail;
	if (f->seam_delay_ms > 0)
		sleep_ms(f->seam_delay_ms);
	if ((now = server_time(q, f->err, sizeof f->err)) < 0)
		goto fail;
	f->skew_ms = now - clock_now_ms();
	if (from_ms < 0 && since_ms >= 0)
		from_ms = now - since_ms;
	if (from_ms >= 0 && replay(f, q, from_ms) == -1)
		goto fail;
	redisFree(q);
	return 0;
fail:
	redisFree(q);
	redisFree(f->sub);
	f->sub = NULL;
	return -1;
}

/* ==== following ==== */

/* Handles one reply on the subscribed connection.  -1: stdout gone. */
static int
on_reply(struct follow *f, redisReply *r)
{
	const redisReply *kind;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    (kind = r->element[0])->type != REDIS_REPLY_STRING)
		return 0;
	if (strcmp(kind->str, "pong") == 0) {
		f->ping_sent = false;
		return 0;
	}
	if (strcmp(kind->str, "message") == 0 && r->elements == 3 &&
	    r->element[2]->type == REDIS_REPLY_STRING)
		return emit(f, r->element[2]->str, r->element[2]->len);
	return 0;
}

/*
 * Reads the channel until the connection is lost (returns 0, reason in
 * f->err) or stdout goes (-1).
 */
static int
follow_channel(struct follow *f)
{
	struct pollfd pfd = { .fd = f->sub->fd, .events = POLLIN };
	void *p;
	int n;

	for (;;) {
		/* Replies already read (during SUBSCRIBE, or several in one
		 * read) wait in the reader; take them first. */
		for (;;) {
			if (redisGetReplyFromReader(f->sub, &p) != REDIS_OK) {
				snprintf(f->err, sizeof f->err, "%s",
				    f->sub->errstr);
				return 0;
			}
			if (p == NULL)
				break;
			n = on_reply(f, p);
			freeReplyObject(p);
			if (n == -1)
				return -1;
		}
		n = poll(&pfd, 1, PING_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(f->err, sizeof f->err, "poll: %s",
			    strerror(errno));
			return 0;
		}
		if (n == 0) {
			int done = 0;

			if (f->ping_sent) {
				snprintf(f->err, sizeof f->err, "no answer to "
				    "PING for %d s", PING_MS / 1000);
				return 0;
			}
			if (redisAppendCommand(f->sub, "PING") != REDIS_OK)
				done = -1;
			while (done == 0)
				if (redisBufferWrite(f->sub, &done) !=
				    REDIS_OK)
					done = -1;
			if (done == -1) {
				snprintf(f->err, sizeof f->err, "%s",
				    f->sub->err ? f->sub->errstr :
				    "cannot send PING");
				return 0;
			}
			f->ping_sent = true;
			continue;
		}
		if (redisBufferRead(f->sub) != REDIS_OK) {
			snprintf(f->err, sizeof f->err, "%s", f->sub->err ==
			    REDIS_ERR_EOF ? "connection closed by Redis" :
			    f->sub->errstr);
			return 0;
		}
	}
}

static int
follow_run(struct follow *f, int64_t since_ms)
{
	int64_t lost_at;
	int backoff;
	bool told;

	if (connect_follow(f, -1, since_ms) == -1)
		return f->out_closed ? CMD_OK : cmd_fail(f->prog, "%s",
		    f->err);
	for (;;) {
		if (follow_channel(f) == -1)
			return CMD_OK;	/* stdout closed: nobody to print to */
		redisFree(f->sub);
		f->sub = NULL;
		lost_at = clock_now_ms();
		fprintf(stderr, "%s: lost Redis (%s); reconnecting\n",
		    f->prog, f->err);
		backoff = 100;
		told = false;
		while (connect_follow(f, lost_at + f->skew_ms - GAP_MARGIN_MS,
		    -1) == -1) {
			if (f->out_closed)
				return CMD_OK;
			if (!told)
				fprintf(stderr, "%s: %s; still trying\n",
				    f->prog, f->err);
			told = true;
			sleep_ms(backoff);
			backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 :
			    BACKOFF_MAX_MS;
		}
		fprintf(stderr, "%s: reconnected to Redis\n", f->prog);
	}
}

static int
cmd_alerts_exec(int argc, char **argv)
{
	struct alerts_flags fl = { 0 };
	struct conf_common common;
	struct conf_spec spec = {
		.prog = "geoalarm alerts",
		.synopsis = "[--type T] [--device D] [--since DURATION]",
		.about = "Follows the alerts as the engine publishes them, one "
		    "JSON per line, until interrupted.",
		.opts = alerts_opts,
		.values = &fl,
	};
	struct follow f = { .prog = spec.prog, .fl = &fl };
	int64_t since_ms = -1;
	size_t i;
	int first, rc;

	if ((rc = cmd_flags(&spec, &common, argc, argv, 0, 0, NULL,
	    &first)) >= 0)
		return rc;
	if (fl.since != NULL && cmd_parse_duration(fl.since, &since_ms, f.err,
	    sizeof f.err) == -1)
		return cmd_usage_error(spec.prog, "--since: %s", f.err);
	f.url = common.redis;
	if (getenv(SEAM_DELAY_ENV) != NULL)
		f.seam_delay_ms = atoi(getenv(SEAM_DELAY_ENV));
	f.key = xasprintf("%s:alerts", common.prefix);
	f.recent_set = json_object();
	rc = follow_run(&f, since_ms);
	redisFree(f.sub);
	for (i = 0; i < RECENT_MAX; i++)
		free(f.recent[i]);
	json_decref(f.recent_set);
	free(f.key);
	return rc;
}

const struct cmd_entry cmd_alerts_entry = {
	.name = "alerts",
	.synopsis = "alerts [--type T] [--device D] [--since DURATION]",
	.about = "follow the alerts, one JSON per line",
	.exec = cmd_alerts_exec,
};
