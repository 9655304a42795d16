/*
 * devtab.h: the downlink's table of devices: how each can be reached from
 * this process and the commands waiting for it.
 *
 * A device, found by the id commands name it by, has at most one TCP link
 * (the connection that last showed its id), the last UDP peer it sent
 * from (reachable for udp_ttl_ms after its last datagram) and a queue of
 * items in arrival order.  The table also lists every item held, oldest
 * first, and bounds both: per_device items in a queue, pending_max in all.
 *
 * A link knows every id its connection used (a TK103 unit may show its
 * 12-character id and its IMEI), so a device reached by either id reaches
 * the unit.  The address commands are built with is the id of the last
 * frame, except that once a fixed-layout TK103 frame showed one, only
 * such a frame changes it.
 *
 * Pure bookkeeping: no Redis, no I/O, no clock (the caller passes the
 * monotonic time), no logging.  Items are embedded in the caller's
 * commands; links are kept by the caller with their connection.
 */
#ifndef GA_INGEST_DEVTAB_H
#define GA_INGEST_DEVTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ingest/report.h"

struct conn;
struct devtab;
struct devtab_dev;
struct devtab_link;

/* A queued item's place in the table; embedded in the caller's record. */
struct devtab_item {
	struct devtab_item *prev, *next;	/* every item held, oldest first */
	struct devtab_item *dprev, *dnext;	/* its device's queue */
	struct devtab_dev *dev;		/* NULL: in no device's queue */
};

/* Where a device can be reached now; borrowed from the table. */
struct devtab_endpoint {
	const char *transport;		/* "tcp" or "udp" */
	const char *peer;		/* "ip:port" */
	enum report_proto proto;	/* of its last frame */
	const char *addr;		/* the id commands are built with */
	struct conn *conn;		/* tcp; NULL for udp */
	int fd;				/* udp: the socket it came in on */
	const struct sockaddr *sa;	/* udp: its address */
	socklen_t salen;
};

struct devtab_opts {
	size_t per_device;	/* items in one device's queue, > 0 */
	size_t pending_max;	/* items in the table, > 0 */
	int64_t udp_ttl_ms;	/* a UDP peer's reach after its datagram */
	/* May a bound drop it?  False for an item a claim holds. */
	bool (*evictable)(const struct devtab_item *it);
	/* Drops it (devtab_remove, then whatever else it needs); why names
	 * the bound. */
	void (*evict)(struct devtab_item *it, const char *why, void *arg);
	void *arg;
};

/* Creates an empty table with o's bounds and callbacks (o is copied). */
struct devtab *devtab_new(const struct devtab_opts *o);

/*
 * Frees t and its devices with their UDP peers; devtab_free(NULL) does
 * nothing.  Remove the items first (they are not touched) and free no
 * link after t (links point at t's devices).
 */
void devtab_free(struct devtab *t);

/*
 * The device named id (a C string shorter than REPORT_ID_MAX), created
 * when create is set; NULL when it is not known and create is not set.
 * Borrowed: valid until devtab_sweep or devtab_free.
 */
struct devtab_dev *devtab_get(struct devtab *t, const char *id, bool create);

/* Devices in the table (kept or not yet swept). */
size_t devtab_ndevs(const struct devtab *t);

/*
 * Frees the devices nobody needs at monotonic time mono: no link, no
 * queued item, no UDP peer seen within udp_ttl_ms.
 */
void devtab_sweep(struct devtab *t, int64_t mono);

/*
 * Fills *ep with where d can be reached at monotonic time mono: its link
 * when it has one, else its UDP peer when that is fresh.  Returns false
 * (ep untouched) when d is NULL or cannot be reached.
 */
bool devtab_reach(const struct devtab *t, const struct devtab_dev *d,
    int64_t mono, struct devtab_endpoint *ep);

/*
 * Appends it to the table and, d not NULL, to d's queue.  When a bound is
 * reached, the oldest item there that o.evictable allows goes first,
 * through o.evict.  Returns 0, or -1 with the reason in err (the bound
 * is reached and no item may go) when it was not added.
 */
int devtab_add(struct devtab *t, struct devtab_item *it,
    struct devtab_dev *d, char *err, size_t errlen);

/* Takes it out of the table and of its device's queue (it->dev = NULL). */
void devtab_remove(struct devtab *t, struct devtab_item *it);

/* The oldest item held, or NULL; follow ->next. */
struct devtab_item *devtab_first(const struct devtab *t);

/* The oldest item in d's queue, or NULL; follow ->dnext. */
struct devtab_item *devtab_dev_first(const struct devtab_dev *d);

/* Items held. */
size_t devtab_pending(const struct devtab *t);

/*
 * A link for TCP connection conn, which is only kept, never used; peer
 * ("ip:port") is borrowed for the link's life.  Reaches no device until
 * devtab_link_attach.  The caller frees it with devtab_link_free.
 */
struct devtab_link *devtab_link_new(struct conn *conn, const char *peer);

/*
 * A frame of protocol proto came over l showing id (its own id, fixed
 * when in the fixed TK103 layout): sets the protocol and the address.
 */
void devtab_link_seen(struct devtab_link *l, enum report_proto proto,
    const char *id, bool fixed);

/*
 * Makes l the way to reach d (taking d from its previous link).  A link
 * goes by DEVTAB_LINK_IDS ids at most: a further one takes the place of
 * the oldest, which is then no longer reached through l.
 */
void devtab_link_attach(struct devtab_link *l, struct devtab_dev *d);

/* Frees l; its devices are no longer reached over TCP.  NULL: nothing. */
void devtab_link_free(struct devtab_link *l);

/* Ids one TCP connection may go by (fixed id, IMEI, a comma-layout id). */
#define DEVTAB_LINK_IDS 4

/*
 * A datagram of protocol proto showing id (fixed as for devtab_link_seen)
 * came to socket fd from sa[0..salen) ("ip:port" peer, copied) at
 * monotonic time mono: d is reachable there until mono + udp_ttl_ms.
 * salen is at most sizeof(struct sockaddr_storage).
 */
void devtab_udp_seen(struct devtab_dev *d, int64_t mono, int fd,
    const struct sockaddr *sa, socklen_t salen, enum report_proto proto,
    const char *id, bool fixed, const char *peer);

#endif
