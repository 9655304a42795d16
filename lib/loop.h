/*
 * loop.h: the event loop of a daemon.
 *
 * libevent's epoll backend makes one epoll_ctl call per event added or
 * deleted.  hiredis's libevent adapter uses one-shot events, deleted by
 * libevent when they fire and added back by hiredis at once: two system
 * calls around every read from Redis, and two more around every write
 * (EPOLLOUT armed, then disarmed).  With the changelist those changes are
 * gathered and applied once, before the next epoll_wait, where an add
 * that undoes a delete costs nothing.  (libevent's caveat for the
 * changelist, descriptors made with dup() that share one open file, does
 * not apply: the daemons never dup a socket.)
 */
#ifndef GA_LIB_LOOP_H
#define GA_LIB_LOOP_H

struct event_base;

/* A new event base as above; NULL when libevent cannot make one. */
struct event_base *loop_new(void);

#endif
