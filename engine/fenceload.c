/*
 * fenceload.c: reading P:fences into the engine's fence set and keeping it
 * current.  Key names, the snapshot read and walking its reply are the
 * fence store's (engine/fencestore.c); parsing a Feature is fence.c's;
 * the positions and their evaluation are engine/consume.c's.
 */
#include "engine/fenceload.h"

#include <event2/event.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fence.h"
#include "engine/fencestore.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/rconn.h"
#include "lib/xmalloc.h"

#define POLL_MS 1000		/* P:fences:version safety net, SPEC: 1 s */

struct fenceload {
	struct fencestore *store;
	struct fence_geos geos;
	struct fence_set *set;
	bool ready;			/* set read from Redis at least once */
	char *version;			/* as last loaded; NULL: no key */

	struct rconn *rc;
	struct event *poll;
	bool loading;			/* a snapshot read in flight */
	bool again;			/* asked for while loading */
	bool polling;			/* a version read in flight */

	struct fenceload_hooks hooks;
	void *arg;
	struct metric *m_fences;
};

/* ==== Building a set from a snapshot ==== */

struct refusal {
	struct fenceload *fl;
	struct fence_builder *b;
};

/*
 * A stored fence was refused: say so, and keep the version in use of the
 * same id, if any, so that a bad edit does not silently drop a fence.
 */
static int
on_refused(void *arg, const char *id, const char *reason)
{
	struct refusal *rf = arg;
	struct fenceload *fl = rf->fl;
	char err[512];
	const char *json;
	long old;

	fl->hooks.refused(fl->arg, reason);
	if ((old = fence_set_find(fl->set, id)) < 0)
		return 0;
	json = fence_json(fence_set_get(fl->set, (size_t)old));
	if (fence_builder_add(rf->b, id, json, strlen(json), err,
	    sizeof err) == 0)
		log_warn("fence '%s': keeping the previous version", id);
	return 0;
}

static void
apply(struct fenceload *fl, const redisReply *all, const char *version)
{
	struct refusal rf = { fl, fence_builder_new(&fl->geos) };
	char err[512];

	/* on_refused never stops the walk, and all is an array. */
	if (fencestore_add_all(rf.b, all, on_refused, &rf, err,
	    sizeof err) == -1)
		log_error("fences: %s", err);
	fence_set_free(fl->set);
	fl->set = fence_builder_finish(rf.b);
	fl->ready = true;
	free(fl->version);
	fl->version = version != NULL ? xstrdup(version) : NULL;
	log_info("fences: %zu loaded (version %s)", fence_set_count(fl->set),
	    version != NULL ? version : "none");
	if (fl->m_fences != NULL)
		metric_set(fl->m_fences, (double)fence_set_count(fl->set));
	fl->hooks.loaded(fl->arg);
}

/* ==== Reading ==== */

static int
send_cmd(struct fenceload *fl, rconn_reply_cb *cb,
    const struct fencestore_cmd *cmd)
{
	return rconn_command_argv(fl->rc, cb, fl, cmd->argc, cmd->argv,
	    cmd->argvlen);
}

static void
on_snapshot(struct rconn *rc, redisReply *r, void *arg)
{
	struct fenceload *fl = arg;
	const redisReply *all;
	const char *version;
	char err[512];

	if (r == NULL)
		return;		/* lost: the next connection reads again */
	fl->loading = false;
	if (fencestore_read_result(r, &version, &all, err, sizeof err) == -1) {
		/* The reconnection reads again; its backoff paces retries. */
		log_error("%s", err);
		rconn_reset(rc, err);
		return;
	}
	apply(fl, all, version);
	if (fl->again) {
		fl->again = false;
		fenceload_request(fl);
	}
}

void
fenceload_request(struct fenceload *fl)
{
	const struct fencestore_cmd *cmd;
	size_t n, i;

	if (fl->loading) {
		fl->again = true;
		return;
	}
	cmd = fencestore_read_commands(fl->store, &n);
	/* MULTI first: when it is refused (not connected), nothing is. */
	if (send_cmd(fl, NULL, &cmd[0]) == -1)
		return;
	for (i = 1; i + 1 < n; i++)
		send_cmd(fl, NULL, &cmd[i]);
	send_cmd(fl, on_snapshot, &cmd[n - 1]);
	fl->loading = true;
}

static void
on_version(struct rconn *rc, redisReply *r, void *arg)
{
	struct fenceload *fl = arg;
	const char *v;

	(void)rc;
	if (r == NULL)
		return;
	fl->polling = false;
	if (fl->loading)
		return;		/* that read is at least as new */
	v = r->type == REDIS_REPLY_STRING ? r->str : NULL;
	if ((v == NULL) != (fl->version == NULL) ||
	    (v != NULL && strcmp(v, fl->version) != 0))
		fenceload_request(fl);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct fenceload *fl = arg;
	const char *argv[] = { "GET", fencestore_key_version(fl->store) };
	size_t len[] = { 3, strlen(argv[1]) };

	(void)fd;
	(void)what;
	if (fl->loading || fl->polling)
		return;
	if (rconn_command_argv(fl->rc, on_version, fl, 2, argv, len) == 0)
		fl->polling = true;
}

static void
on_state(struct rconn *rc, bool connected, const char *reason, void *arg)
{
	struct fenceload *fl = arg;

	(void)rc;
	fl->loading = false;
	fl->again = false;
	fl->polling = false;
	if (connected)
		fenceload_request(fl);
	else
		log_warn("fences: redis lost (%s): keeping the %zu fences in "
		    "use", reason, fence_set_count(fl->set));
}

/* ==== Life cycle ==== */

struct fenceload *
fenceload_new(struct event_base *base, const char *url, const char *prefix,
    const struct fenceload_hooks *hooks, void *arg, struct metric *m_fences,
    char *err, size_t errlen)
{
	struct fenceload *fl = xcalloc(1, sizeof *fl);

	fl->store = fencestore_new(prefix);
	fence_geos_attach(&fl->geos, GEOS_init_r());
	fl->set = fence_builder_finish(fence_builder_new(&fl->geos));
	fl->hooks = *hooks;
	fl->arg = arg;
	fl->m_fences = m_fences;
	fl->poll = event_new(base, -1, EV_PERSIST, on_poll, fl);
	event_add(fl->poll, &(struct timeval){ POLL_MS / 1000,
	    (POLL_MS % 1000) * 1000 });
	fl->rc = rconn_new(base, url, "redis-fences", on_state, fl, err,
	    errlen);
	if (fl->rc == NULL) {
		fenceload_free(fl);
		return NULL;
	}
	return fl;
}

void
fenceload_free(struct fenceload *fl)
{
	if (fl == NULL)
		return;
	rconn_free(fl->rc);
	if (fl->poll != NULL)
		event_free(fl->poll);
	fence_set_free(fl->set);
	GEOS_finish_r(fl->geos.handle);
	fencestore_free(fl->store);
	free(fl->version);
	free(fl);
}

bool
fenceload_ready(const struct fenceload *fl)
{
	return fl->ready;
}

const struct fence_set *
fenceload_set(const struct fenceload *fl)
{
	return fl->set;
}

const char *
fenceload_key_control(const struct fenceload *fl)
{
	return fencestore_key_control(fl->store);
}
