/*
 * dlread.c: the downlink's reading (downlink_int.h): XREAD of P:commands,
 * each entry checked and held as a command (or refused), and of
 * P:command-results, so that a command another process resolved leaves
 * here too.
 */
#include "ingest/downlink_int.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/command.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/rconn.h"
#include "lib/xmalloc.h"

void
dl_resume_read(struct downlink *dl)
{
	if (!dl->reading && dl->ctl_inflight < CLAIM_WINDOW / 2)
		dl_read_next(dl);
}

static void
on_check(struct rconn *rc, struct redisReply *reply, void *arg)
{
	struct dl_cmd *c = arg;
	struct downlink *dl = c->dl;

	(void)rc;
	if (!dl_reply_begin(c))
		return;
	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER &&
	    reply->integer > 0) {
		log_debug("downlink: %s: resolved before this process started",
		    c->id);
		dl_cmd_remove(c);
	} else
		dl_step(c);
	dl_resume_read(dl);
}

/* The value of field `name` in an entry's field list, or NULL. */
static const struct redisReply *
field(const struct redisReply *fields, const char *name)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const struct redisReply *k = fields->element[i];

		if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0 &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING)
			return fields->element[i + 1];
	}
	return NULL;
}

/* Seconds of a ttl field: digits only, > 0; -1 when bad. */
static int64_t
parse_ttl(const struct redisReply *v)
{
	int64_t t = 0;

	if (v->len == 0 || v->len > 12)
		return -1;
	for (size_t i = 0; i < v->len; i++) {
		if (v->str[i] < '0' || v->str[i] > '9')
			return -1;
		t = t * 10 + (v->str[i] - '0');
	}
	return t > 0 ? t : -1;
}

/* One P:commands entry becomes a command held (or refused). */
static void
entry(struct downlink *dl, const struct redisReply *id,
    const struct redisReply *fields)
{
	const struct redisReply *dev, *name, *param, *ttl;
	struct dl_cmd *c;
	struct devtab_dev *d = NULL;
	char why[COMMAND_ERR_LEN];
	int64_t secs = DOWNLINK_TTL_DEFAULT;

	if (id->type != REDIS_REPLY_STRING || id->len >= STREAM_ID_MAX)
		return;
	memcpy(dl->last_id, id->str, id->len + 1);
	metric_add(dl->received, 1);
	if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
		return;
	dev = field(fields, "device");
	name = field(fields, "command");
	param = field(fields, "param");
	ttl = field(fields, "ttl");

	c = xcalloc(1, sizeof *c);
	c->dl = dl;
	memcpy(c->id, id->str, id->len + 1);
	c->t_ms = strtoll(id->str, NULL, 10);
	c->device = dev != NULL ? xstrndup(dev->str, dev->len) : xstrdup("");
	c->name = name != NULL ? xstrndup(name->str, name->len < NAME_MAX_LEN ?
	    name->len : NAME_MAX_LEN) : xstrdup("");
	if (param != NULL) {
		c->param = xmemdup(param->str, param->len + 1);
		c->paramlen = param->len;
	}
	c->state = DL_WAIT;
	c->goal = GOAL_DELIVER;
	why[0] = '\0';
	if (dev == NULL || dev->len == 0)
		snprintf(why, sizeof why, "no device");
	else if (dev->len >= REPORT_ID_MAX)
		snprintf(why, sizeof why, "device id longer than %d bytes",
		    REPORT_ID_MAX - 1);
	else if (strlen(c->device) != dev->len)
		snprintf(why, sizeof why, "device id holds a NUL byte");
	else if (name == NULL || name->len == 0)
		snprintf(why, sizeof why, "no command name");
	else if (ttl != NULL && (secs = parse_ttl(ttl)) < 0)
		snprintf(why, sizeof why, "ttl is not a positive number of "
		    "seconds");
	else
		command_check(c->name, c->param, c->paramlen, why, sizeof why);
	if (secs > DOWNLINK_TTL_MAX)
		secs = DOWNLINK_TTL_MAX;
	c->expires_ms = c->t_ms + (secs > 0 ? secs : 0) * 1000;
	if (why[0] != '\0') {
		c->goal = GOAL_REFUSE;
		c->reason = xstrdup(why);
	} else
		d = devtab_get(dl->tab, c->device, true);
	if (!dl_cmd_add(dl, c, d))
		return;
	/* Read back from before this process: maybe resolved already. */
	if (c->goal != GOAL_REFUSE && c->t_ms < dl->start_ms &&
	    clock_now_ms() < c->expires_ms) {
		char key[256];
		const char *argv[2] = { "EXISTS", key };
		size_t lens[2];

		snprintf(key, sizeof key, "%s%s", dl->claim_prefix, c->id);
		lens[0] = 6;
		lens[1] = strlen(key);
		if (rconn_command_argv(dl->ctl, on_check, c, 2, argv, lens) == 0) {
			c->state = DL_CHECK;
			dl->ctl_inflight++;
			return;
		}
	}
	dl_step(c);
}

/*
 * A P:command-results entry: the command it names was resolved (by us,
 * or by another process that claimed it), so a copy still waiting here
 * goes now rather than at its expiry.
 */
static void
result_seen(struct downlink *dl, const struct redisReply *id,
    const struct redisReply *fields)
{
	const struct redisReply *dev, *cid;
	struct devtab_dev *d;
	struct devtab_item *it;

	if (id->type != REDIS_REPLY_STRING || id->len >= STREAM_ID_MAX)
		return;
	memcpy(dl->last_result, id->str, id->len + 1);
	if (fields == NULL || fields->type != REDIS_REPLY_ARRAY ||
	    (dev = field(fields, "device")) == NULL ||
	    (cid = field(fields, "id")) == NULL ||
	    (d = devtab_get(dl->tab, dev->str, false)) == NULL)
		return;
	for (it = devtab_dev_first(d); it != NULL; it = it->dnext) {
		struct dl_cmd *c = dl_cmd_of(it);

		if (strcmp(c->id, cid->str) != 0)
			continue;
		/* CLAIM: the claim's reply says lost; HELD cannot be. */
		if (dl_evictable(c)) {
			log_debug("downlink: %s: resolved elsewhere", c->id);
			metric_add(dl->elsewhere, 1);
			dl_cmd_remove(c);
		}
		return;
	}
}

static void
on_read(struct rconn *rc, struct redisReply *reply, void *arg)
{
	struct downlink *dl = arg;

	(void)rc;
	dl->reading = false;
	if (dl->freeing || reply == NULL)
		return;		/* reconnecting: on_rd_state reads again */
	if (reply->type == REDIS_REPLY_ERROR) {
		/* The tick tries again within a second. */
		dl_log_trouble(dl, "XREAD refused", reply->str);
		return;
	}
	if (reply->type == REDIS_REPLY_ARRAY) {
		/* [[key, [[id, [field, value, …]], …]], …] */
		for (size_t s = 0; s < reply->elements; s++) {
			const struct redisReply *st = reply->element[s], *es;
			bool cmds;

			if (st->type != REDIS_REPLY_ARRAY || st->elements < 2 ||
			    st->element[0]->type != REDIS_REPLY_STRING ||
			    st->element[1]->type != REDIS_REPLY_ARRAY)
				continue;
			cmds = strcmp(st->element[0]->str, dl->stream_key) == 0;
			es = st->element[1];
			for (size_t i = 0; i < es->elements; i++) {
				const struct redisReply *e = es->element[i];

				if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
					continue;
				if (cmds)
					entry(dl, e->element[0], e->element[1]);
				else
					result_seen(dl, e->element[0], e->element[1]);
			}
		}
	}
	dl_read_next(dl);
}

void
dl_read_next(struct downlink *dl)
{
	const char *argv[] = { "XREAD", "COUNT", READ_COUNT, "BLOCK", NULL,
	    "STREAMS", dl->stream_key, dl->results_key, dl->last_id,
	    dl->last_result };
	size_t lens[sizeof argv / sizeof argv[0]];
	char block[16];

	if (dl->reading || dl->freeing || !rconn_connected(dl->rd) ||
	    dl->ctl_inflight >= CLAIM_WINDOW)
		return;
	snprintf(block, sizeof block, "%d", READ_BLOCK_MS);
	argv[4] = block;
	for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
		lens[i] = strlen(argv[i]);
	if (rconn_command_argv(dl->rd, on_read, dl,
	    (int)(sizeof argv / sizeof argv[0]), argv, lens) == 0)
		dl->reading = true;
}
