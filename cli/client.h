/*
 * client.h: the CLI's synchronous Redis connection (hiredis 0.14).
 *
 * Every command goes through redisCommandArgv/redisAppendCommandArgv with
 * explicit lengths, never a format string, so fence ids, device ids and
 * Features pass as they are.  Errors are NULL or -1 plus one line in err.
 */
#ifndef GA_CLI_CLIENT_H
#define GA_CLI_CLIENT_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "engine/fencestore.h"

/* Connect and command timeout: a CLI user waits no longer than this. */
#define CLIENT_TIMEOUT_MS 5000

/*
 * Connects to the Redis URL (redis://[:password@]host[:port][/db] or
 * unix:///path[?db=N], lib/conf.h), waiting at most timeout_ms for the
 * connection and for each reply, then sends AUTH and SELECT when the URL
 * asks for them.  Returns a context the caller frees with redisFree, or
 * NULL with a reason naming the URL.
 */
redisContext *client_connect(const char *url, int timeout_ms, char *err,
    size_t errlen);

/*
 * Sends one command and waits for its reply.  Returns the reply (caller
 * frees with freeReplyObject), or NULL with a reason when the connection
 * failed or Redis answered with an error.
 */
redisReply *client_command(redisContext *c, int argc, const char **argv,
    const size_t *argvlen, char *err, size_t errlen);

/* client_command for NUL-terminated arguments. */
redisReply *client_command_strings(redisContext *c, int argc,
    const char **argv, char *err, size_t errlen);

/*
 * Sends cmds[0..n) in one pipeline and reads every reply.  Returns the
 * last one (an EXEC's, for a transaction; caller frees it), or NULL with
 * a reason when the connection failed or any earlier reply was an error
 * (a command refused while queued makes the EXEC fail anyway).
 */
redisReply *client_pipeline(redisContext *c, const struct fencestore_cmd *cmds,
    size_t n, char *err, size_t errlen);

#endif
