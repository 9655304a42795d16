/*
 * devtab.c: devices, their TCP links and UDP peers, and the queues of
 * items waiting for them (devtab.h).
 *
 * Devices are kept in a hash by id (FNV-1a, chained, doubled when it
 * holds two devices a bucket).  A device points at its link and its UDP
 * peer; a link lists its devices so that closing it reaches them all.
 * Items are linked twice, in the table's list and in their device's
 * queue, so both walks and removal take no search.  What an item is and
 * what dropping one means are the caller's (the callbacks of
 * devtab_opts).
 */
#include "ingest/devtab.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/xmalloc.h"

/* One TCP connection that identified as one or more devices. */
struct devtab_link {
	struct conn *conn;
	const char *peer;
	enum report_proto proto;
	bool fixed;			/* addr is a fixed-layout TK103 id */
	char addr[REPORT_ID_MAX];	/* what commands address it by */
	int ndevs;
	struct devtab_dev *devs[DEVTAB_LINK_IDS];
};

/* The last UDP peer of a device. */
struct udp_peer {
	int64_t seen_ms;		/* monotonic */
	int fd;
	struct sockaddr_storage sa;
	socklen_t salen;
	enum report_proto proto;
	bool fixed;
	char addr[REPORT_ID_MAX];
	char peer[64];
};

struct devtab_dev {
	struct devtab_dev *hnext;
	struct devtab_link *tcp;	/* NULL when not connected here */
	struct udp_peer *udp;		/* NULL until a datagram came */
	struct devtab_item *head, *tail;
	size_t npending;
	char id[REPORT_ID_MAX];
};

struct devtab {
	struct devtab_opts o;
	struct devtab_item *head, *tail;
	size_t npending;
	struct devtab_dev **buckets;
	size_t nbuckets;		/* a power of 2 */
	size_t ndevs;
};

/* Buckets to start with: a few hundred devices per process is common. */
#define BUCKETS_START 1024

/* ---- Devices ---- */

static size_t
hash(const char *id, size_t n)
{
	return (size_t)hash_str(id) & (n - 1);
}

static void
grow(struct devtab *t)
{
	size_t n = t->nbuckets * 2;
	struct devtab_dev **b = xcalloc(n, sizeof *b);

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct devtab_dev *d = t->buckets[i], *next;

		for (; d != NULL; d = next) {
			size_t k = hash(d->id, n);

			next = d->hnext;
			d->hnext = b[k];
			b[k] = d;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

/* The device table with o's bounds (contract in devtab.h). */
struct devtab *
devtab_new(const struct devtab_opts *o)
{
	struct devtab *t = xcalloc(1, sizeof *t);

	t->o = *o;
	t->nbuckets = BUCKETS_START;
	t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets);
	return t;
}

/* Frees the table and its devices, not the items (devtab.h). */
void
devtab_free(struct devtab *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct devtab_dev *d, *next;

		for (d = t->buckets[i]; d != NULL; d = next) {
			next = d->hnext;
			free(d->udp);
			free(d);
		}
	}
	free(t->buckets);
	free(t);
}

/* The device named id, maybe created (contract in devtab.h). */
struct devtab_dev *
devtab_get(struct devtab *t, const char *id, bool create)
{
	size_t k = hash(id, t->nbuckets);
	struct devtab_dev *d;

	for (d = t->buckets[k]; d != NULL; d = d->hnext) {
		if (strcmp(d->id, id) == 0)
			return d;
	}
	if (!create)
		return NULL;
	if (t->ndevs >= 2 * t->nbuckets) {
		grow(t);
		k = hash(id, t->nbuckets);
	}
	d = xcalloc(1, sizeof *d);
	snprintf(d->id, sizeof d->id, "%s", id);
	d->hnext = t->buckets[k];
	t->buckets[k] = d;
	t->ndevs++;
	return d;
}

/* Devices held (devtab.h). */
size_t
devtab_ndevs(const struct devtab *t)
{
	return t->ndevs;
}

static bool
udp_fresh(const struct devtab *t, const struct devtab_dev *d, int64_t mono)
{
	return d->udp != NULL && mono - d->udp->seen_ms <= t->o.udp_ttl_ms;
}

/* Frees the devices nobody needs (contract in devtab.h). */
void
devtab_sweep(struct devtab *t, int64_t mono)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct devtab_dev **pp = &t->buckets[i];

		while (*pp != NULL) {
			struct devtab_dev *d = *pp;

			if (d->tcp == NULL && d->npending == 0 &&
			    !udp_fresh(t, d, mono)) {
				*pp = d->hnext;
				free(d->udp);
				free(d);
				t->ndevs--;
			} else
				pp = &d->hnext;
		}
	}
}

/* Where d can be reached now (contract in devtab.h). */
bool
devtab_reach(const struct devtab *t, const struct devtab_dev *d,
    int64_t mono, struct devtab_endpoint *ep)
{
	if (d == NULL)
		return false;
	if (d->tcp != NULL) {
		ep->transport = "tcp";
		ep->peer = d->tcp->peer;
		ep->proto = d->tcp->proto;
		ep->addr = d->tcp->addr;
		ep->conn = d->tcp->conn;
		ep->fd = -1;
		ep->sa = NULL;
		ep->salen = 0;
		return true;
	}
	if (udp_fresh(t, d, mono)) {
		ep->transport = "udp";
		ep->peer = d->udp->peer;
		ep->proto = d->udp->proto;
		ep->addr = d->udp->addr;
		ep->conn = NULL;
		ep->fd = d->udp->fd;
		ep->sa = (const struct sockaddr *)&d->udp->sa;
		ep->salen = d->udp->salen;
		return true;
	}
	return false;
}

/* ---- Items ---- */

/* Drops the oldest droppable item of a list to make room; false: none. */
static bool
make_room(struct devtab *t, struct devtab_item *o, bool dev, const char *why)
{
	while (o != NULL && !t->o.evictable(o))
		o = dev ? o->dnext : o->next;
	if (o == NULL)
		return false;
	t->o.evict(o, why, t->o.arg);
	return true;
}

/* Appends it, making room within the bounds (contract in devtab.h). */
int
devtab_add(struct devtab *t, struct devtab_item *it, struct devtab_dev *d,
    char *err, size_t errlen)
{
	if (d != NULL && d->npending >= t->o.per_device &&
	    !make_room(t, d->head, true,
	    "too many commands waiting for the device")) {
		snprintf(err, errlen, "the queue of its device holds only "
		    "claimed commands");
		return -1;
	}
	if (t->npending >= t->o.pending_max &&
	    !make_room(t, t->head, false, "too many commands waiting")) {
		snprintf(err, errlen, "%zu commands held already", t->npending);
		return -1;
	}
	it->prev = t->tail;
	it->next = NULL;
	if (t->tail != NULL)
		t->tail->next = it;
	else
		t->head = it;
	t->tail = it;
	t->npending++;
	it->dev = d;
	if (d != NULL) {
		it->dprev = d->tail;
		it->dnext = NULL;
		if (d->tail != NULL)
			d->tail->dnext = it;
		else
			d->head = it;
		d->tail = it;
		d->npending++;
	}
	return 0;
}

/* Unlinks it from the table and its queue (devtab.h). */
void
devtab_remove(struct devtab *t, struct devtab_item *it)
{
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		t->head = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	else
		t->tail = it->prev;
	t->npending--;
	if (it->dev != NULL) {
		struct devtab_dev *d = it->dev;

		if (it->dprev != NULL)
			it->dprev->dnext = it->dnext;
		else
			d->head = it->dnext;
		if (it->dnext != NULL)
			it->dnext->dprev = it->dprev;
		else
			d->tail = it->dprev;
		d->npending--;
		it->dev = NULL;
	}
}

/* The oldest item held (devtab.h). */
struct devtab_item *
devtab_first(const struct devtab *t)
{
	return t->head;
}

/* The oldest item of d's queue (devtab.h). */
struct devtab_item *
devtab_dev_first(const struct devtab_dev *d)
{
	return d->head;
}

/* Items held (devtab.h). */
size_t
devtab_pending(const struct devtab *t)
{
	return t->npending;
}

/* ---- Links and peers ---- */

/* The address a peer is commanded by, from what its frames showed. */
static void
set_addr(char *addr, bool *fixed, const char *id, bool id_fixed)
{
	if (id_fixed || !*fixed)
		snprintf(addr, REPORT_ID_MAX, "%s", id);
	if (id_fixed)
		*fixed = true;
}

/* A link for conn, reaching nothing yet (contract in devtab.h). */
struct devtab_link *
devtab_link_new(struct conn *conn, const char *peer)
{
	struct devtab_link *l = xcalloc(1, sizeof *l);

	l->conn = conn;
	l->peer = peer;
	return l;
}

/* A frame came over l: protocol and address (devtab.h). */
void
devtab_link_seen(struct devtab_link *l, enum report_proto proto,
    const char *id, bool fixed)
{
	l->proto = proto;
	set_addr(l->addr, &l->fixed, id, fixed);
}

static void
link_drop_dev(struct devtab_link *l, struct devtab_dev *d)
{
	for (int i = 0; i < l->ndevs; i++) {
		if (l->devs[i] == d) {
			memmove(&l->devs[i], &l->devs[i + 1],
			    (size_t)(l->ndevs - i - 1) * sizeof l->devs[0]);
			l->ndevs--;
			return;
		}
	}
}

/* Makes l the way to reach d (contract in devtab.h). */
void
devtab_link_attach(struct devtab_link *l, struct devtab_dev *d)
{
	if (d->tcp == l)
		return;
	if (d->tcp != NULL)
		link_drop_dev(d->tcp, d);
	if (l->ndevs == DEVTAB_LINK_IDS) {
		if (l->devs[0]->tcp == l)
			l->devs[0]->tcp = NULL;
		link_drop_dev(l, l->devs[0]);
	}
	l->devs[l->ndevs++] = d;
	d->tcp = l;
}

/* Frees l, detaching its devices (devtab.h). */
void
devtab_link_free(struct devtab_link *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < l->ndevs; i++) {
		if (l->devs[i]->tcp == l)
			l->devs[i]->tcp = NULL;
	}
	free(l);
}

/* d was heard from over UDP (contract in devtab.h). */
void
devtab_udp_seen(struct devtab_dev *d, int64_t mono, int fd,
    const struct sockaddr *sa, socklen_t salen, enum report_proto proto,
    const char *id, bool fixed, const char *peer)
{
	struct udp_peer *u;

	assert(salen <= sizeof u->sa);
	if (d->udp == NULL)
		d->udp = xcalloc(1, sizeof *d->udp);
	u = d->udp;
	u->seen_ms = mono;
	u->fd = fd;
	memcpy(&u->sa, sa, salen);
	u->salen = salen;
	u->proto = proto;
	set_addr(u->addr, &u->fixed, id, fixed);
	snprintf(u->peer, sizeof u->peer, "%s", peer);
}
