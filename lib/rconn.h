/*
 * rconn.h: one hiredis 0.14 async connection on a libevent base, that
 * stays connected.
 *
 * rconn connects by URL (conf_redis_url), runs AUTH and SELECT when the URL
 * asks for them, and declares itself ready only once PING answers PONG (a
 * Redis that is still loading its data answers -LOADING: rconn waits).  When
 * the connection fails or drops it reconnects with capped exponential
 * backoff (100 ms doubling up to 5 s) and tells the owner through the state
 * callback.  What to do with commands that were in flight is the owner's
 * business (ingest's outbox re-sends them).
 *
 * Ownership of replies: a reply passed to a reply callback belongs to
 * hiredis and is freed by it after the callback returns.  Callers never
 * free it and never keep a pointer to it or into it.
 */
#ifndef GA_LIB_RCONN_H
#define GA_LIB_RCONN_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct redisReply;
struct rconn;

/*
 * Called when the connection becomes ready (connected true) and when a
 * ready connection is lost (connected false, reason says why).  Failed
 * attempts in between are logged, not reported.
 */
typedef void rconn_state_cb(struct rconn *rc, bool connected,
    const char *reason, void *arg);

/*
 * Called with the reply to one command, or with reply NULL when the
 * connection went away before the reply came (also during rconn_free).
 * The reply is borrowed (see above).  For SUBSCRIBE and PSUBSCRIBE the
 * callback runs for every message until the connection drops, when it
 * runs once more with NULL.
 */
typedef void rconn_reply_cb(struct rconn *rc, struct redisReply *reply,
    void *arg);

/*
 * Creates a connection to url ("redis://…" or "unix:///…") and starts
 * connecting at once.  name labels its log lines ("redis", "redis-sub").
 * state_cb may be NULL.  Returns NULL with a reason in err when the URL is
 * bad; a server that is down is not an error (rconn keeps trying).
 */
struct rconn *rconn_new(struct event_base *base, const char *url,
    const char *name, rconn_state_cb *state_cb, void *arg, char *err,
    size_t errlen);

/*
 * Disconnects at once and frees rc; pending reply callbacks run with NULL
 * before it returns.  rconn_free(NULL) does nothing.  Not to be called from
 * inside one of rc's own callbacks.
 */
void rconn_free(struct rconn *rc);

/* True when connected and ready (PING answered). */
bool rconn_connected(const struct rconn *rc);

/*
 * Sends a command given as argc strings with explicit lengths (binary
 * safe; device text never goes through a format string).  cb (may be NULL)
 * gets the reply.  Returns 0, or -1 when rc is not ready (nothing is sent
 * and cb is not called).
 */
int rconn_command_argv(struct rconn *rc, rconn_reply_cb *cb, void *arg,
    int argc, const char **argv, const size_t *argvlen);

/*
 * Same with a command already encoded in RESP (redisFormatCommandArgv):
 * exactly one command in cmd[0..len), not SUBSCRIBE.  cmd is copied.
 */
int rconn_command_formatted(struct rconn *rc, rconn_reply_cb *cb, void *arg,
    const char *cmd, size_t len);

/*
 * Sends n (>= 1) commands already encoded in RESP, lying back to back in
 * cmds, the i-th of lens[i] bytes (none a SUBSCRIBE); all are copied.  cb
 * (may be NULL) runs once per command, in order, with that command's
 * reply (or NULL, see above).  Costs one allocation for the n commands
 * rather than one each.  Returns 0, or -1 when rc is not ready (nothing is
 * sent and cb is not called).
 */
int rconn_command_formatted_n(struct rconn *rc, rconn_reply_cb *cb,
    void *arg, const char *cmds, const size_t *lens, int n);

/*
 * Drops the current connection (as if it had failed: the state callback
 * runs with connected false) and reconnects after the backoff delay.  For
 * owners that saw a reply telling them the server cannot serve now.
 */
void rconn_reset(struct rconn *rc, const char *reason);

/*
 * Treats the server as gone when commands are pending and none has been
 * answered for ms milliseconds (a stopped or wedged server): the
 * connection is reset.  0 turns the check off (the default; a connection
 * that blocks on purpose, such as XREADGROUP BLOCK, leaves it off or sets
 * it above its block time).
 */
void rconn_set_reply_timeout(struct rconn *rc, int ms);

/*
 * Builds this connection's replies in an arena (lib/replyarena.h) from now
 * on, for every connection it makes: for a connection that reads large
 * replies, whose thousands of small objects would otherwise each be
 * malloc'd and freed.  Call right after rconn_new.  Replies stay borrowed
 * exactly as above: the next reply reuses their memory.
 */
void rconn_use_arena(struct rconn *rc);

/*
 * Makes room for bytes more of commands in rc's output buffer, for an
 * owner about to queue that much at once (hiredis would otherwise grow
 * the buffer step by step, copying it each time).  Does nothing when rc
 * is not ready.
 */
void rconn_reserve(struct rconn *rc, size_t bytes);

/*
 * Writes the commands queued on rc to the socket now, instead of when the
 * event loop next runs: for an owner about to be busy for a while (inside
 * a reply callback, say) that wants the server working meanwhile.  A
 * write error is not reported here; the connection is dropped from the
 * event loop as usual.  Safe inside rc's own callbacks.
 */
void rconn_flush(struct rconn *rc);

#endif
