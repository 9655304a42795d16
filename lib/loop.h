/*
 * loop.h: the event loop of a daemon.
 *
 * libevent's epoll backend makes one epoll_ctl call per event added or
 * deleted.  hiredis's libevent adapter uses one-shot events, deleted by
 * libevent when they fire and added back by hiredis at once: two system
 * calls around every read from Redis (`strace -p` on the engine: DEL, ADD
 * per reply).  With the changelist, the changes to one descriptor between
 * two polls are gathered and applied as one call before the next
 * epoll_wait (a MOD there).  libevent's caveat for the changelist,
 * descriptors made with dup() that share one open file, does not apply:
 * the daemons never dup a socket; a descriptor closed and its number
 * reused before the next poll is handled (libevent retries a failed MOD
 * as an ADD).
 */
#ifndef GA_LIB_LOOP_H
#define GA_LIB_LOOP_H

struct event_base;

/* A new event base as above; NULL when libevent cannot make one. */
struct event_base *loop_new(void);

#endif
