/*
 * devhash.c: see devhash.h.
 */
#include "ingest/devhash.h"

#include <stdlib.h>
#include <string.h>

#include "lib/escape.h"
#include "lib/hash.h"
#include "lib/resp.h"
#include "lib/xmalloc.h"

#define FIRST_BUCKETS 1024

void
devhash_init(struct devhash *t, const char *prefix)
{
	memset(t, 0, sizeof *t);
	t->nbuckets = FIRST_BUCKETS;
	t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets);
	t->prefix = xstrdup(prefix);
}

/* Forgets the fields waiting (their memory too: a device that is not
 * busy costs only its record). */
static void
clear_fields(struct devhash_dev *d)
{
	free(d->pairs);
	free(d->arena);
	d->pairs = NULL;
	d->arena = NULL;
	d->n = d->cap = 0;
	d->alen = d->acap = 0;
}

static void
list_remove(struct devhash *t, struct devhash_dev *d)
{
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		t->first = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	else
		t->last = d->prev;
	d->prev = d->next = NULL;
}

static void
list_append(struct devhash *t, struct devhash_dev *d)
{
	d->prev = t->last;
	d->next = NULL;
	if (t->last != NULL)
		t->last->next = d;
	else
		t->first = d;
	t->last = d;
}

void
devhash_forget(struct devhash *t, struct devhash_dev *d)
{
	struct devhash_dev **pp = &t->buckets[d->hash & (t->nbuckets - 1)];

	while (*pp != d)
		pp = &(*pp)->hnext;
	*pp = d->hnext;
	list_remove(t, d);
	t->ndevs--;
	clear_fields(d);
	free(d);
}

void
devhash_free(struct devhash *t)
{
	while (t->first != NULL)
		devhash_forget(t, t->first);
	free(t->buckets);
	free(t->prefix);
	memset(t, 0, sizeof *t);
}

static void
grow_buckets(struct devhash *t)
{
	size_t n = t->nbuckets * 2;
	struct devhash_dev **b = xcalloc(n, sizeof *b);

	for (struct devhash_dev *d = t->first; d != NULL; d = d->next) {
		d->hnext = b[d->hash & (n - 1)];
		b[d->hash & (n - 1)] = d;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

struct devhash_dev *
devhash_get(struct devhash *t, const char *id, bool *created)
{
	size_t idlen = strnlen(id, REPORT_ID_MAX - 1);
	size_t h = (size_t)hash_bytes(id, idlen);
	char esc[4 * REPORT_ID_MAX + 1];
	size_t plen, elen;
	struct devhash_dev *d;

	*created = false;
	for (d = t->buckets[h & (t->nbuckets - 1)]; d != NULL; d = d->hnext) {
		if (d->hash == h && strncmp(d->id, id, REPORT_ID_MAX - 1) == 0)
			return d;
	}
	if (t->ndevs >= t->nbuckets)
		grow_buckets(t);
	escape_bytes(esc, sizeof esc, (const uint8_t *)id, idlen);
	plen = strlen(t->prefix);
	elen = strlen(esc);
	d = xcalloc(1, sizeof *d + plen + elen + 1);
	memcpy(d->id, id, idlen);
	memcpy(d->key, t->prefix, plen);
	memcpy(d->key + plen, esc, elen);
	d->keylen = plen + elen;
	d->hash = h;
	d->owner = -1;
	d->hnext = t->buckets[h & (t->nbuckets - 1)];
	t->buckets[h & (t->nbuckets - 1)] = d;
	list_append(t, d);
	t->ndevs++;
	*created = true;
	return d;
}

void
devhash_written(struct devhash *t, struct devhash_dev *d, int64_t now)
{
	d->written = true;
	d->urgent = false;
	d->written_ms = now;
	clear_fields(d);
	/* The list stays in order of writes. */
	list_remove(t, d);
	list_append(t, d);
}

/* Copies p[0..len) into d's arena; returns its offset. */
static uint32_t
arena_put(struct devhash_dev *d, const void *p, size_t len)
{
	uint32_t off = d->alen;

	if (d->acap - d->alen < len) {
		size_t cap = d->acap > 0 ? d->acap : 256;

		while (cap - d->alen < len)
			cap *= 2;
		d->arena = xrealloc(d->arena, cap);
		d->acap = (uint32_t)cap;
	}
	if (len > 0)
		memcpy(d->arena + off, p, len);
	d->alen += (uint32_t)len;
	return off;
}

void
devhash_set(struct devhash_dev *d, int old, int *at, const char *k,
    size_t klen, const char *v, size_t vlen)
{
	struct devhash_pair *pr;

	for (int j = 0; j < old; j++) {
		int i = (*at + j) % old;

		pr = &d->pairs[i];
		if (pr->klen != klen || memcmp(d->arena + pr->k, k, klen) != 0)
			continue;
		/* The value overwritten when it fits: a device's values keep
		 * their lengths, so its arena stays small. */
		if (vlen <= pr->vlen)
			memcpy(d->arena + pr->v, v, vlen);
		else
			pr->v = arena_put(d, v, vlen);
		pr->vlen = (uint32_t)vlen;
		*at = i + 1;
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap > 0 ? 2 * d->cap : 32;
		d->pairs = xreallocarray(d->pairs, (size_t)d->cap, sizeof *d->pairs);
	}
	pr = &d->pairs[d->n++];
	pr->k = arena_put(d, k, klen);
	pr->klen = (uint32_t)klen;
	pr->v = arena_put(d, v, vlen);
	pr->vlen = (uint32_t)vlen;
}

void
devhash_set_s(struct devhash_dev *d, int old, int *at, const char *k,
    const char *v)
{
	devhash_set(d, old, at, k, strlen(k), v, strlen(v));
}

void
devhash_encode(const struct devhash_dev *d, struct resp *out)
{
	resp_array(out, 2 + 2 * (size_t)d->n);
	resp_bulk(out, "HSET", 4);
	resp_bulk(out, d->key, d->keylen);
	for (int i = 0; i < d->n; i++) {
		resp_bulk(out, d->arena + d->pairs[i].k, d->pairs[i].klen);
		resp_bulk(out, d->arena + d->pairs[i].v, d->pairs[i].vlen);
	}
}
