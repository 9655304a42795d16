/*
 * geoalarm-engine: turns the positions stream into alerts.
 *
 * main.c parses the flags, runs `--check FILE` (no Redis), or wires the
 * consumer (engine/consume.h), the metrics server and the signals, and runs
 * the event loop.  SIGHUP reloads rules and fences; SIGINT and SIGTERM stop
 * at once: whatever batch is in flight is uncommitted and will be
 * re-processed by the next start (see engine/consume.c), so there is
 * nothing to drain.
 */
#include <event2/event.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/consume.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/metrics.h"
#include "rules/check.h"
#include "rules/rules.h"

#define PROG "geoalarm-engine"

struct engine_opts {
	const char *rules;
	const char *group;
	const char *consumer;
	bool from_start;
	int64_t batch;
	int64_t block;
	int64_t claim_idle;
	const char *metrics;
	const char *check;
};

static int
check_hostport(const char *val, char *err, size_t errlen)
{
	struct conf_hostport hp;

	return conf_parse_hostport(val, &hp, err, errlen);
}

static const struct conf_opt engine_opts_table[] = {
	{ .name = "rules", .type = CONF_STRING, .arg = "FILE",
	  .help = "Lua rules file (default: built-in rules with SPEC defaults)",
	  .offset = offsetof(struct engine_opts, rules) },
	{ .name = "group", .type = CONF_STRING, .arg = "NAME",
	  .def = "engine", .help = "consumer group on the positions stream",
	  .offset = offsetof(struct engine_opts, group) },
	{ .name = "consumer", .type = CONF_STRING, .arg = "NAME",
	  .def = "engine-1",
	  .help = "consumer name; keep it stable across restarts so pending "
	    "entries are picked up at once",
	  .offset = offsetof(struct engine_opts, consumer) },
	{ .name = "from-start", .type = CONF_BOOL,
	  .help = "a newly created group reads the stream from its start",
	  .offset = offsetof(struct engine_opts, from_start) },
	{ .name = "batch", .type = CONF_INT, .arg = "N", .min = 1,
	  .max = 100000, .def = "1000",
	  .help = "entries read and committed per transaction",
	  .offset = offsetof(struct engine_opts, batch) },
	{ .name = "block", .type = CONF_INT, .arg = "MS", .min = 1,
	  .max = 60000, .def = "1000",
	  .help = "how long one read waits for new entries",
	  .offset = offsetof(struct engine_opts, block) },
	{ .name = "claim-idle", .type = CONF_INT, .arg = "MS", .min = 1,
	  .max = 86400000, .def = "60000",
	  .help = "claim entries another consumer left pending this long",
	  .offset = offsetof(struct engine_opts, claim_idle) },
	{ .name = "metrics", .type = CONF_STRING, .arg = "HOST:PORT",
	  .help = "serve GET /metrics and /healthz over HTTP",
	  .offset = offsetof(struct engine_opts, metrics),
	  .check = check_hostport },
	{ .name = "check", .type = CONF_STRING, .arg = "FILE",
	  .help = "load and lint a rules file, print the verdict, exit "
	    "(0 good, 1 not); no Redis",
	  .offset = offsetof(struct engine_opts, check) },
	{ .name = NULL },
};

struct engine {
	struct engine_opts o;
	struct conf_common common;
	struct event_base *base;
	struct metrics *metrics;
	struct consume *consume;
	struct event *sighup, *sigint, *sigterm;
};

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct engine *e = arg;

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: reloading rules and fences");
		consume_reload(e->consume);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(e->base);
}

static bool
health(void *arg, char *why, size_t whylen)
{
	struct engine *e = arg;

	if (consume_ready(e->consume)) {
		snprintf(why, whylen, "ok");
		return true;
	}
	snprintf(why, whylen, "not consuming (redis down or starting)");
	return false;
}

static int
run(struct engine *e)
{
	struct consume_conf cc = {
		.redis_url = e->common.redis,
		.prefix = e->common.prefix,
		.group = e->o.group,
		.consumer = e->o.consumer,
		.from_start = e->o.from_start,
		.batch = (int)e->o.batch,
		.block_ms = (int)e->o.block,
		.claim_idle_ms = (int)e->o.claim_idle,
		.rules_path = e->o.rules,
	};
	char err[CONF_ERR_LEN];
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);
	e->base = loop_new();
	if (e->base == NULL) {
		log_error("cannot create the event loop");
		return 1;
	}
	e->metrics = metrics_new();
	cc.metrics = e->metrics;
	e->consume = consume_new(e->base, &cc, err, sizeof err);
	if (e->consume == NULL) {
		log_error("%s", err);
		goto out;
	}
	metrics_set_health(e->metrics, health, e);
	if (e->o.metrics != NULL && metrics_serve_addr(e->metrics, e->base,
	    e->o.metrics, err, sizeof err) == -1) {
		log_error("--metrics: %s", err);
		goto out;
	}
	e->sighup = evsignal_new(e->base, SIGHUP, on_signal, e);
	e->sigint = evsignal_new(e->base, SIGINT, on_signal, e);
	e->sigterm = evsignal_new(e->base, SIGTERM, on_signal, e);
	evsignal_add(e->sighup, NULL);
	evsignal_add(e->sigint, NULL);
	evsignal_add(e->sigterm, NULL);
	/* The Redis URL is not logged: it may hold a password. */
	log_info("started (prefix %s, group %s, consumer %s, rules %s)",
	    e->common.prefix, e->o.group, e->o.consumer,
	    e->o.rules != NULL ? e->o.rules : "(defaults)");
	event_base_dispatch(e->base);
	rc = 0;
out:
	consume_free(e->consume);
	metrics_free(e->metrics);
	if (e->sighup != NULL)
		event_free(e->sighup);
	if (e->sigint != NULL)
		event_free(e->sigint);
	if (e->sigterm != NULL)
		event_free(e->sigterm);
	event_base_free(e->base);
	if (rc == 0)
		log_info("stopped");
	return rc;
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	static struct engine e;
	struct conf_spec spec = {
		.prog = PROG,
		.synopsis = "[--rules FILE] [--group NAME] [--consumer NAME] "
		    "[flags] | --check FILE",
		.about = "Consumes the positions stream, evaluates fences and "
		    "rules, and emits alerts exactly once.",
		.opts = engine_opts_table,
		.values = &e.o,
	};
	int first, rc;

	if ((rc = conf_parse_main(&spec, &e.common, argc, argv, &first)) >= 0)
		return rc;
	if (first < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG,
		    argv[first]);
		return 2;
	}
	log_set_name("engine");
	log_set_level((enum log_level)e.common.log_level);
	if (e.o.check != NULL)
		return check_file(e.o.check, stdout);
	log_hook_libevent();
	return run(&e);
}
