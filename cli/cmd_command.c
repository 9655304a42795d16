/*
 * cmd_command.c: `geoalarm command DEVICE NAME [PARAM] [--ttl SECONDS]`,
 * queues a downlink command for ingest (SPEC: XADD P:commands * device D
 * command NAME [param V] [ttl S]).  Sending it to the device, and mapping
 * the name to each protocol's bytes, is ingest's.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "ingest/command.h"
#include "lib/xmalloc.h"

struct command_flags {
	int64_t ttl;
};

static const struct conf_opt command_opts[] = {
	/* 0 means "not given": ingest then applies its default of 1 h. */
	{ .name = "ttl", .type = CONF_INT, .arg = "SECONDS", .min = 1,
	  .max = 30 * 86400,
	  .help = "give up when the device has not connected within this "
	      "time (ingest's default: 3600)",
	  .offset = offsetof(struct command_flags, ttl) },
	{ .name = NULL },
};

static int
cmd_command_exec(int argc, char **argv)
{
	static const char *const names[] = { "DEVICE", "NAME", NULL };
	struct command_flags fl = { 0 };
	struct conf_common common;
	struct conf_spec spec = {
		.prog = "geoalarm command",
		.synopsis = "[--ttl SECONDS] DEVICE NAME [PARAM]",
		.about = "Queues a command for a device: engine_stop, "
		    "engine_resume, position_single, position_periodic SECONDS, "
		    "stop_tracking, arm, disarm, custom TEXT.",
		.opts = command_opts,
		.values = &fl,
	};
	const char *argvx[12];
	const char *device, *name, *param;
	char err[CMD_ERR_LEN], why[COMMAND_ERR_LEN], ttl[32];
	redisContext *c;
	redisReply *r;
	char *key;
	int first, rc, ac = 0;

	if ((rc = cmd_flags(&spec, &common, argc, argv, 2, 3, names,
	    &first)) >= 0)
		return rc;
	device = argv[first];
	name = argv[first + 1];
	param = argc - first > 2 ? argv[first + 2] : NULL;

	if (device[0] == '\0')
		return cmd_usage_error(spec.prog, "DEVICE is empty");
	/* Usage first (a missing or stray PARAM), then ingest's own check. */
	if (param == NULL && command_takes_param(name))
		return cmd_usage_error(spec.prog, "missing argument PARAM: %s "
		    "needs %s", name, strcmp(name, "custom") == 0 ?
		    "the exact text to send" : "the interval in seconds");
	if (param != NULL && !command_takes_param(name) &&
	    command_check(name, NULL, 0, why, sizeof why) == 0)
		return cmd_usage_error(spec.prog, "%s takes no parameter (got "
		    "'%s')", name, param);
	if (command_check(name, param, param != NULL ? strlen(param) : 0, why,
	    sizeof why) == -1)
		return cmd_usage_error(spec.prog, "%s", why);

	if ((c = client_connect(common.redis, CLIENT_TIMEOUT_MS, err,
	    sizeof err)) == NULL)
		return cmd_fail(spec.prog, "%s", err);
	key = xasprintf("%s:commands", common.prefix);
	argvx[ac++] = "XADD";
	argvx[ac++] = key;
	argvx[ac++] = "*";
	argvx[ac++] = "device";
	argvx[ac++] = device;
	argvx[ac++] = "command";
	argvx[ac++] = name;
	if (param != NULL) {
		argvx[ac++] = "param";
		argvx[ac++] = param;
	}
	if (fl.ttl > 0) {
		snprintf(ttl, sizeof ttl, "%lld", (long long)fl.ttl);
		argvx[ac++] = "ttl";
		argvx[ac++] = ttl;
	}
	r = client_command_strings(c, ac, argvx, err, sizeof err);
	free(key);
	redisFree(c);
	if (r == NULL)
		return cmd_fail(spec.prog, "%s", err);
	if (r->type == REDIS_REPLY_STRING)
		printf("%s\n", r->str);
	freeReplyObject(r);
	return CMD_OK;
}

const struct cmd_entry cmd_command_entry = {
	.name = "command",
	.synopsis = "command DEVICE NAME [PARAM] [--ttl SECONDS]",
	.about = "queue a command for a device",
	.exec = cmd_command_exec,
};
