/*
 * client.c: the CLI's synchronous Redis connection: URL to context, AUTH
 * and SELECT, one command, a pipeline.  Following a channel across
 * restarts is cmd_alerts.c's business.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "cli/client.h"
#include "lib/conf.h"

/* Puts the context's error (or "connection lost") into err. */
static void
context_error(const redisContext *c, const char *what, char *err,
    size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, c->err ? c->errstr :
	    "connection lost");
}

redisReply *
client_command(redisContext *c, int argc, const char **argv,
    const size_t *argvlen, char *err, size_t errlen)
{
	redisReply *r = redisCommandArgv(c, argc, argv, argvlen);

	if (r == NULL) {
		context_error(c, argv[0], err, errlen);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s: %.*s", argv[0], (int)r->len, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

redisReply *
client_command_strings(redisContext *c, int argc, const char **argv,
    char *err, size_t errlen)
{
	size_t len[16];
	int i;

	if (argc > 16) {
		snprintf(err, errlen, "%s: too many arguments", argv[0]);
		return NULL;
	}
	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	return client_command(c, argc, argv, len, err, errlen);
}

redisReply *
client_pipeline(redisContext *c, const struct fencestore_cmd *cmds, size_t n,
    char *err, size_t errlen)
{
	redisReply *r, *last = NULL;
	void *p;
	size_t i;
	int failed = 0;

	for (i = 0; i < n; i++)
		if (redisAppendCommandArgv(c, cmds[i].argc, cmds[i].argv,
		    cmds[i].argvlen) != REDIS_OK) {
			context_error(c, cmds[i].argv[0], err, errlen);
			return NULL;
		}
	for (i = 0; i < n; i++) {
		if (redisGetReply(c, &p) != REDIS_OK) {
			context_error(c, cmds[i].argv[0], err, errlen);
			freeReplyObject(last);
			return NULL;
		}
		r = p;
		if (r->type == REDIS_REPLY_ERROR && !failed) {
			snprintf(err, errlen, "%s: %.*s", cmds[i].argv[0],
			    (int)r->len, r->str);
			failed = 1;
		}
		if (i + 1 < n)
			freeReplyObject(r);
		else
			last = r;
	}
	if (failed) {
		freeReplyObject(last);
		return NULL;
	}
	return last;
}

redisContext *
client_connect(const char *url, int timeout_ms, char *err, size_t errlen)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct conf_redis cr;
	redisContext *c;
	redisReply *r;
	char why[CONF_ERR_LEN], db[16];

	if (conf_redis_url(url, &cr, why, sizeof why) == -1) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	if (cr.unix_socket)
		c = redisConnectUnixWithTimeout(cr.path, tv);
	else
		c = redisConnectWithTimeout(cr.host, cr.port, tv);
	if (c == NULL || c->err) {
		snprintf(err, errlen, "cannot connect to Redis at %s: %s", url,
		    c != NULL ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(err, errlen, "Redis at %s: cannot set the timeout",
		    url);
		redisFree(c);
		return NULL;
	}
	if (cr.password[0] != '\0') {
		const char *argv[] = { "AUTH", cr.password };

		if ((r = client_command_strings(c, 2, argv, why,
		    sizeof why)) == NULL)
			goto fail;
		freeReplyObject(r);
	}
	if (cr.db != 0) {
		const char *argv[] = { "SELECT", db };

		snprintf(db, sizeof db, "%d", cr.db);
		if ((r = client_command_strings(c, 2, argv, why,
		    sizeof why)) == NULL)
			goto fail;
		freeReplyObject(r);
	}
	return c;
fail:
	snprintf(err, errlen, "Redis at %s: %s", url, why);
	redisFree(c);
	return NULL;
}
