/*
 * downlink.c: P:commands -> claims -> bytes to devices (downlink.h).
 *
 * A command lives in two lists: every command held, in stream order (the
 * tick walks it for expiries and retries), and its device's queue (walked
 * when the device shows up).  Its states:
 *
 *   CHECK  read back from before this process started: EXISTS on its
 *          claim key is in flight (a claimed command is dropped at once)
 *   WAIT   waiting for its device, its expiry or a Redis to claim on
 *   CLAIM  SET NX GET in flight, for one goal: deliver, expire, refuse
 *   HELD   claimed by us, the device went away before the bytes went out:
 *          sent when it is back here, or reported expired
 *
 * The devices, how each is reached (its TCP link, its last UDP peer) and
 * the two lists with their bounds are devtab.c's: a command embeds its
 * devtab_item, and the table calls back here to ask whether a bound may
 * drop a command and to drop it.
 *
 * A Redis reply callback may find its command dropped meanwhile (evicted
 * by a queue bound): such a command is unlinked and marked orphan, and the
 * callback frees it.
 *
 * Reading P:commands and P:command-results is dlread.c's; the two share
 * downlink_int.h.
 */
#include "ingest/downlink_int.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/command.h"
#include "ingest/conn.h"
#include "ingest/devtab.h"
#include "ingest/frameids.h"
#include "ingest/report.h"
#include "ingest/session.h"
#include "ingest/writer.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/rconn.h"
#include "lib/xmalloc.h"

/* Logs a Redis trouble once per distinct text (then at debug level). */
void
dl_log_trouble(struct downlink *dl, const char *what, const char *why)
{
	char line[sizeof dl->last_error];

	snprintf(line, sizeof line, "%s: %s", what, why);
	if (strcmp(line, dl->last_error) != 0) {
		log_warn("downlink: %s", line);
		memcpy(dl->last_error, line, sizeof line);
	} else
		log_debug("downlink: %s", line);
}

/* ---- Commands held ---- */

struct dl_cmd *
dl_cmd_of(const struct devtab_item *it)
{
	return (struct dl_cmd *)((const char *)it -
	    offsetof(struct dl_cmd, item));
}

/* Where c's device can be reached from here now; false when nowhere. */
static bool
reachable(const struct dl_cmd *c, struct devtab_endpoint *ep)
{
	return devtab_reach(c->dl->tab, c->item.dev, clock_mono_ms(), ep);
}

static void
cmd_free(struct dl_cmd *c)
{
	free(c->device);
	free(c->name);
	free(c->param);
	free(c->reason);
	free(c);
}

/* Takes c out of both lists; frees it unless a reply is still due. */
void
dl_cmd_remove(struct dl_cmd *c)
{
	devtab_remove(c->dl->tab, &c->item);
	if (c->state == DL_CHECK || c->state == DL_CLAIM)
		c->orphan = true;
	else
		cmd_free(c);
}

/* Drops a command to make room (a queue bound); says so. */
static void
cmd_evict(struct devtab_item *it, const char *bound, void *arg)
{
	struct dl_cmd *c = dl_cmd_of(it);
	char dev[4 * REPORT_ID_MAX + 1];

	(void)arg;
	escape_bytes(dev, sizeof dev, (const uint8_t *)c->device,
	    strlen(c->device));
	log_warn("downlink: command %s for %s dropped: %s", c->id, dev, bound);
	metric_add(c->dl->dropped, 1);
	dl_cmd_remove(c);
}

/* A command a bound may drop: no claim of ours is at stake. */
bool
dl_evictable(const struct dl_cmd *c)
{
	return c->state == DL_WAIT || c->state == DL_CHECK;
}

static bool
item_evictable(const struct devtab_item *it)
{
	return dl_evictable(dl_cmd_of(it));
}

/*
 * Appends c to the lists, dropping the oldest droppable commands when a
 * bound is reached.  Returns false (c freed) when there was no room.
 */
bool
dl_cmd_add(struct downlink *dl, struct dl_cmd *c, struct devtab_dev *d)
{
	char why[80];

	if (devtab_add(dl->tab, &c->item, d, why, sizeof why) == 0)
		return true;
	log_warn("downlink: command %s dropped: %s", c->id, why);
	metric_add(dl->dropped, 1);
	cmd_free(c);
	return false;
}

/* ---- Results ---- */

/* Writes the outcome of c to P:command-results, logs and counts it. */
static void
result(struct dl_cmd *c, const char *status, const struct command_bytes *b,
    const char *reason, const struct devtab_endpoint *ep)
{
	struct downlink *dl = c->dl;
	struct writer_result r = {
		.device = c->device, .command = c->name, .status = status,
		.raw = b != NULL ? (const uint8_t *)b->buf : NULL,
		.rawlen = b != NULL ? b->len : 0, .id = c->id, .reason = reason,
		.transport = ep != NULL ? ep->transport : NULL,
		.peer = ep != NULL ? ep->peer : NULL, .ingest = dl->ingest_id,
	};
	char dev[4 * REPORT_ID_MAX + 1], name[4 * NAME_MAX_LEN + 1];
	char raw[4 * COMMAND_BYTES_MAX + 1];

	writer_result(dl->w, &r);
	escape_bytes(dev, sizeof dev, (const uint8_t *)c->device,
	    strlen(c->device));
	escape_bytes(name, sizeof name, (const uint8_t *)c->name,
	    strlen(c->name));
	if (b != NULL) {
		escape_bytes(raw, sizeof raw, (const uint8_t *)b->buf, b->len);
		log_info("downlink: %s %s for %s: sent over %s %s: %s", c->id,
		    name, dev, ep->transport, ep->peer, raw);
		metric_add(dl->sent, 1);
	} else if (reason != NULL) {
		log_info("downlink: %s %s for %s: unsupported: %s", c->id, name,
		    dev, reason);
		metric_add(dl->unsupported, 1);
	} else {
		log_info("downlink: %s %s for %s: expired", c->id, name, dev);
		metric_add(dl->expired, 1);
	}
}

/* ---- Delivery ---- */

static bool
send_bytes(const struct devtab_endpoint *ep, const struct command_bytes *b)
{
	if (ep->conn != NULL)
		return conn_write(ep->conn, b->buf, b->len) == 0;
	if (sendto(ep->fd, b->buf, b->len, 0, ep->sa, ep->salen) ==
	    (ssize_t)b->len)
		return true;
	log_warn("downlink: udp %s: %s", ep->peer, strerror(errno));
	return false;
}

/* c is claimed by us: send it if its device is here, else expire it. */
static void
deliver(struct dl_cmd *c)
{
	struct devtab_endpoint ep;
	struct command_bytes b;
	char err[COMMAND_ERR_LEN];

	if (reachable(c, &ep)) {
		if (command_build(ep.proto, ep.addr, c->name, c->param,
		    c->paramlen, &b, err, sizeof err) == -1) {
			result(c, "unsupported", NULL, err, NULL);
			dl_cmd_remove(c);
			return;
		}
		if (send_bytes(&ep, &b)) {
			result(c, "sent", &b, NULL, &ep);
			dl_cmd_remove(c);
			return;
		}
	}
	if (clock_now_ms() >= c->expires_ms) {
		result(c, "expired", NULL, NULL, NULL);
		dl_cmd_remove(c);
	}
}

/* ---- Claims ---- */

/*
 * The start of every reply to a claim or a check: one less in flight, an
 * orphan freed.  Returns false when c is gone or the downlink is being
 * freed, else true with c back in WAIT.
 */
bool
dl_reply_begin(struct dl_cmd *c)
{
	c->dl->ctl_inflight--;
	if (c->orphan) {
		cmd_free(c);
		return false;
	}
	if (c->dl->freeing)
		return false;
	c->state = DL_WAIT;
	return true;
}

static void
on_claim(struct rconn *rc, struct redisReply *reply, void *arg)
{
	struct dl_cmd *c = arg;
	struct downlink *dl = c->dl;

	(void)rc;
	if (!dl_reply_begin(c))
		return;
	if (reply == NULL) {
		/* Redis went away: the tick claims again once it is back. */
	} else if (reply->type == REDIS_REPLY_ERROR) {
		dl_log_trouble(dl, "claim refused", reply->str);
	} else if (reply->type != REDIS_REPLY_NIL &&
	    (reply->type != REDIS_REPLY_STRING ||
	    strcmp(reply->str, dl->ingest_id) != 0)) {
		/*
		 * Another process holds it.  (NIL: the key was free and is
		 * ours now; our own id: an earlier claim of ours whose reply
		 * the lost connection took, so ours too.)
		 */
		log_debug("downlink: %s: claimed by %s", c->id,
		    reply->type == REDIS_REPLY_STRING ? reply->str : "?");
		metric_add(dl->elsewhere, 1);
		dl_cmd_remove(c);
	} else {
		c->state = DL_HELD;
		switch (c->goal) {
		case GOAL_REFUSE:
			result(c, "unsupported", NULL, c->reason, NULL);
			dl_cmd_remove(c);
			break;
		case GOAL_EXPIRE:
			result(c, "expired", NULL, NULL, NULL);
			dl_cmd_remove(c);
			break;
		case GOAL_DELIVER:
			deliver(c);
			break;
		}
	}
	dl_resume_read(dl);
}

/* Sends the claim for c's goal; on failure c stays WAIT for the tick. */
static void
claim(struct dl_cmd *c, enum dl_goal goal)
{
	struct downlink *dl = c->dl;
	char key[256], px[24];
	const char *argv[7];
	size_t lens[7];
	int64_t left;

	c->goal = goal;
	/* Past the read-back window of any process that may see c. */
	left = c->t_ms + (int64_t)DOWNLINK_TTL_MAX * 1000 + CLAIM_GRACE_MS -
	    clock_now_ms();
	if (left < CLAIM_GRACE_MS)
		left = CLAIM_GRACE_MS;
	snprintf(key, sizeof key, "%s%s", dl->claim_prefix, c->id);
	snprintf(px, sizeof px, "%" PRId64, left);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = dl->ingest_id;
	argv[3] = "NX";
	argv[4] = "GET";
	argv[5] = "PX";
	argv[6] = px;
	for (int i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	if (rconn_command_argv(dl->ctl, on_claim, c, 7, argv, lens) == 0) {
		c->state = DL_CLAIM;
		dl->ctl_inflight++;
	}
}

/* Moves c on as far as it can go now. */
void
dl_step(struct dl_cmd *c)
{
	struct devtab_endpoint ep;

	switch (c->state) {
	case DL_WAIT:
		if (c->goal == GOAL_REFUSE)
			claim(c, GOAL_REFUSE);
		else if (clock_now_ms() >= c->expires_ms)
			claim(c, GOAL_EXPIRE);
		else if (reachable(c, &ep))
			claim(c, GOAL_DELIVER);
		break;
	case DL_HELD:
		deliver(c);
		break;
	case DL_CHECK:
	case DL_CLAIM:
		break;
	}
}

/* Steps every command of d, in stream order. */
static void
advance(struct devtab_dev *d)
{
	struct devtab_item *it, *next;

	for (it = devtab_dev_first(d); it != NULL; it = next) {
		next = it->dnext;
		dl_step(dl_cmd_of(it));
	}
}

static void
advance_all(struct downlink *dl)
{
	struct devtab_item *it, *next;

	for (it = devtab_first(dl->tab); it != NULL; it = next) {
		next = it->next;
		dl_step(dl_cmd_of(it));
	}
}

static void
on_rd_state(struct rconn *rc, bool up, const char *reason, void *arg)
{
	struct downlink *dl = arg;

	(void)rc;
	(void)reason;
	if (up)
		dl_read_next(dl);
}

static void
on_ctl_state(struct rconn *rc, bool up, const char *reason, void *arg)
{
	struct downlink *dl = arg;

	(void)rc;
	(void)reason;
	if (up) {
		dl->last_error[0] = '\0';
		advance_all(dl);
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct downlink *dl = arg;

	(void)fd;
	(void)what;
	advance_all(dl);
	dl_read_next(dl);
	if (++dl->ticks % SWEEP_TICKS == 0)
		devtab_sweep(dl->tab, clock_mono_ms());
}

/* ---- Frames from the devices ---- */

void
downlink_tcp_frame(struct downlink *dl, struct conn *c,
    const struct session_frame *f)
{
	struct frame_ids ids;
	struct devtab_link *l;

	if (!frame_ids(f, &ids))
		return;
	if ((l = conn_udata(c)) == NULL) {
		l = devtab_link_new(c, conn_peer(c));
		conn_set_udata(c, l);
	}
	devtab_link_seen(l, frame_proto(f), ids.id[0], ids.fixed);
	for (int i = 0; i < ids.n; i++) {
		struct devtab_dev *d = devtab_get(dl->tab, ids.id[i], true);

		devtab_link_attach(l, d);
		if (devtab_dev_first(d) != NULL)
			advance(d);
	}
}

void
downlink_tcp_closed(struct downlink *dl, struct conn *c)
{
	struct devtab_link *l = conn_udata(c);

	(void)dl;
	if (l == NULL)
		return;
	conn_set_udata(c, NULL);
	devtab_link_free(l);
}

void
downlink_udp_frame(struct downlink *dl, int fd, const struct sockaddr *from,
    socklen_t fromlen, const char *peer, const struct session_frame *f)
{
	struct frame_ids ids;

	if (!frame_ids(f, &ids) || fromlen > sizeof(struct sockaddr_storage))
		return;
	for (int i = 0; i < ids.n; i++) {
		struct devtab_dev *d = devtab_get(dl->tab, ids.id[i], true);

		devtab_udp_seen(d, clock_mono_ms(), fd, from, fromlen,
		    frame_proto(f), ids.id[0], ids.fixed, peer);
		if (devtab_dev_first(d) != NULL)
			advance(d);
	}
}

/* ---- Life cycle ---- */

static double
m_pending(void *arg)
{
	return (double)devtab_pending(((struct downlink *)arg)->tab);
}

static void
register_metrics(struct downlink *dl, struct metrics *m)
{
	if (m == NULL)
		return;
	dl->received = metrics_counter(m, "geoalarm_ingest_commands_received_total",
	    "P:commands entries read");
	dl->sent = metrics_counter(m, "geoalarm_ingest_commands_sent_total",
	    "Commands sent to a device by this process");
	dl->expired = metrics_counter(m, "geoalarm_ingest_commands_expired_total",
	    "Commands reported expired by this process");
	dl->unsupported = metrics_counter(m,
	    "geoalarm_ingest_commands_unsupported_total",
	    "Commands reported unsupported by this process");
	dl->elsewhere = metrics_counter(m,
	    "geoalarm_ingest_commands_claimed_elsewhere_total",
	    "Commands another ingest process claimed or resolved");
	dl->dropped = metrics_counter(m, "geoalarm_ingest_commands_dropped_total",
	    "Commands dropped because a queue bound was reached");
	metrics_gauge_fn(m, "geoalarm_ingest_commands_pending",
	    "Commands held in memory", m_pending, dl);
}

struct downlink *
downlink_new(struct event_base *base, const struct downlink_opts *o,
    struct writer *w, struct metrics *m, char *err, size_t errlen)
{
	struct downlink *dl = xcalloc(1, sizeof *dl);
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };
	struct devtab_opts to = {
		.per_device = o->per_device > 0 ? o->per_device :
		    DOWNLINK_PER_DEVICE,
		.pending_max = o->pending_max > 0 ? o->pending_max :
		    DOWNLINK_PENDING_MAX,
		.udp_ttl_ms = (int64_t)o->udp_peer_ttl * 1000,
		.evictable = item_evictable, .evict = cmd_evict, .arg = dl,
	};
	char host[64];

	dl->base = base;
	dl->w = w;
	dl->stream_key = xasprintf("%s:commands", o->prefix);
	dl->results_key = xasprintf("%s:command-results", o->prefix);
	dl->claim_prefix = xasprintf("%s:command:", o->prefix);
	dl->tab = devtab_new(&to);
	dl->start_ms = clock_now_ms();
	if (gethostname(host, sizeof host) == -1)
		snprintf(host, sizeof host, "ingest");
	host[sizeof host - 1] = '\0';
	snprintf(dl->ingest_id, sizeof dl->ingest_id, "%s:%ld:%" PRId64, host,
	    (long)getpid(), dl->start_ms);
	snprintf(dl->last_id, sizeof dl->last_id, "%" PRId64 "-0",
	    dl->start_ms - (int64_t)DOWNLINK_TTL_MAX * 1000);
	/* Results from before are covered by the claim check of entry(). */
	snprintf(dl->last_result, sizeof dl->last_result, "%" PRId64 "-0",
	    dl->start_ms);
	register_metrics(dl, m);
	dl->rd = rconn_new(base, o->redis, "redis-commands", on_rd_state, dl,
	    err, errlen);
	if (dl->rd == NULL)
		goto fail;
	dl->ctl = rconn_new(base, o->redis, "redis-claims", on_ctl_state, dl,
	    err, errlen);
	if (dl->ctl == NULL)
		goto fail;
	rconn_set_reply_timeout(dl->rd, READ_BLOCK_MS + o->redis_timeout * 1000);
	rconn_set_reply_timeout(dl->ctl, o->redis_timeout * 1000);
	dl->tick = event_new(base, -1, EV_PERSIST, on_tick, dl);
	evtimer_add(dl->tick, &tv);
	return dl;
fail:
	downlink_free(dl);
	return NULL;
}

void
downlink_free(struct downlink *dl)
{
	if (dl == NULL)
		return;
	/* Reply callbacks run with NULL here: orphans are freed by them,
	 * the rest stay listed and go below. */
	dl->freeing = true;
	rconn_free(dl->rd);
	rconn_free(dl->ctl);
	if (dl->tick != NULL)
		event_free(dl->tick);
	if (dl->tab != NULL) {
		struct devtab_item *it;

		while ((it = devtab_first(dl->tab)) != NULL) {
			struct dl_cmd *c = dl_cmd_of(it);

			c->state = DL_WAIT;
			dl_cmd_remove(c);
		}
		devtab_free(dl->tab);
	}
	free(dl->stream_key);
	free(dl->results_key);
	free(dl->claim_prefix);
	free(dl);
}

