/*
 * state.c: per-device engine state and the device table (the JSON form is
 * in state_json.c).
 *
 * The sets inside a state are short sorted arrays (a device is inside a
 * handful of fences at most), so lookups are binary searches and updates
 * memmove.  The device table is a glibc tsearch tree keyed by device id;
 * the working copies of a batch are also listed in touch order so that the
 * HSETs of a batch go out in a deterministic order.
 */
#include "engine/state.h"

#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

/* ==== One device's state ==== */

struct state *
state_new(void)
{
	return xcalloc(1, sizeof(struct state));
}

void
state_free(struct state *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->ninside; i++)
		free(st->inside[i]);
	free(st->inside);
	for (i = 0; i < st->npending; i++)
		free(st->pending[i].fence);
	free(st->pending);
	for (i = 0; i < st->ncool; i++)
		free(st->cool[i].key);
	free(st->cool);
	free(st->lua);
	free(st);
}

struct state *
state_clone(const struct state *st)
{
	struct state *c = xmalloc(sizeof *c);
	size_t i;

	*c = *st;
	c->inside = xreallocarray(NULL, st->ninside, sizeof *c->inside);
	for (i = 0; i < st->ninside; i++)
		c->inside[i] = xstrdup(st->inside[i]);
	c->pending = xreallocarray(NULL, st->npending, sizeof *c->pending);
	for (i = 0; i < st->npending; i++) {
		c->pending[i] = st->pending[i];
		c->pending[i].fence = xstrdup(st->pending[i].fence);
	}
	c->cool = xreallocarray(NULL, st->ncool, sizeof *c->cool);
	for (i = 0; i < st->ncool; i++) {
		c->cool[i] = st->cool[i];
		c->cool[i].key = xstrdup(st->cool[i].key);
	}
	c->lua = st->lua != NULL ? xstrdup(st->lua) : NULL;
	return c;
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
state_equal(const struct state *a, const struct state *b)
{
	size_t i;

	if (a->has_fix != b->has_fix || a->has_last != b->has_last ||
	    a->ninside != b->ninside || a->npending != b->npending ||
	    a->ncool != b->ncool || !str_eq(a->lua, b->lua))
		return false;
	if (a->has_fix && (a->fix_ms != b->fix_ms || a->lat != b->lat ||
	    a->lon != b->lon))
		return false;
	if (a->has_last && a->last_ms != b->last_ms)
		return false;
	if (a->os.active != b->os.active)
		return false;
	if (a->os.active && (a->os.start_ms != b->os.start_ms ||
	    a->os.last_ms != b->os.last_ms || a->os.alerted != b->os.alerted ||
	    a->os.max_speed != b->os.max_speed || a->os.limit != b->os.limit))
		return false;
	for (i = 0; i < a->ninside; i++)
		if (strcmp(a->inside[i], b->inside[i]) != 0)
			return false;
	for (i = 0; i < a->npending; i++)
		if (strcmp(a->pending[i].fence, b->pending[i].fence) != 0 ||
		    a->pending[i].inside != b->pending[i].inside ||
		    a->pending[i].since_ms != b->pending[i].since_ms)
			return false;
	for (i = 0; i < a->ncool; i++)
		if (strcmp(a->cool[i].key, b->cool[i].key) != 0 ||
		    a->cool[i].last_ms != b->cool[i].last_ms)
			return false;
	return true;
}

/*
 * Binary search over n sorted elements of size sz whose first member is a
 * char * key.  Returns the index of key, or -(insertion point) - 1.
 */
static long
find_sorted(const void *base, size_t n, size_t sz, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = *(char *const *)((const char *)base + mid * sz);
		int c = strcmp(key, k);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -(long)lo - 1;
}

/* Opens a gap at index at in an array of n elements of size sz. */
static void *
insert_at(void *base, size_t *n, size_t sz, size_t at)
{
	char *b = xreallocarray(base, *n + 1, sz);

	memmove(b + (at + 1) * sz, b + at * sz, (*n - at) * sz);
	(*n)++;
	return b;
}

static void
remove_at(void *base, size_t *n, size_t sz, size_t at)
{
	char *b = base;

	memmove(b + at * sz, b + (at + 1) * sz, (*n - at - 1) * sz);
	(*n)--;
}

bool
state_inside_has(const struct state *st, const char *id)
{
	return find_sorted(st->inside, st->ninside, sizeof *st->inside, id) >= 0;
}

void
state_inside_set(struct state *st, const char *id, bool inside)
{
	long at = find_sorted(st->inside, st->ninside, sizeof *st->inside, id);

	if (inside && at < 0) {
		at = -at - 1;
		st->inside = insert_at(st->inside, &st->ninside,
		    sizeof *st->inside, (size_t)at);
		st->inside[at] = xstrdup(id);
	} else if (!inside && at >= 0) {
		free(st->inside[at]);
		remove_at(st->inside, &st->ninside, sizeof *st->inside,
		    (size_t)at);
	}
}

struct state_pending *
state_pending_get(struct state *st, const char *id)
{
	long at = find_sorted(st->pending, st->npending, sizeof *st->pending,
	    id);

	return at >= 0 ? &st->pending[at] : NULL;
}

void
state_pending_set(struct state *st, const char *id, bool inside,
    int64_t since_ms)
{
	long at = find_sorted(st->pending, st->npending, sizeof *st->pending,
	    id);

	if (at < 0) {
		at = -at - 1;
		st->pending = insert_at(st->pending, &st->npending,
		    sizeof *st->pending, (size_t)at);
		st->pending[at].fence = xstrdup(id);
	}
	st->pending[at].inside = inside;
	st->pending[at].since_ms = since_ms;
}

void
state_pending_del(struct state *st, const char *id)
{
	long at = find_sorted(st->pending, st->npending, sizeof *st->pending,
	    id);

	if (at >= 0) {
		free(st->pending[at].fence);
		remove_at(st->pending, &st->npending, sizeof *st->pending,
		    (size_t)at);
	}
}

bool
state_cooldown_get(const struct state *st, const char *key, int64_t *last_ms)
{
	long at = find_sorted(st->cool, st->ncool, sizeof *st->cool, key);

	if (at < 0)
		return false;
	*last_ms = st->cool[at].last_ms;
	return true;
}

void
state_cooldown_set(struct state *st, const char *key, int64_t last_ms)
{
	long at = find_sorted(st->cool, st->ncool, sizeof *st->cool, key);

	if (at < 0) {
		at = -at - 1;
		st->cool = insert_at(st->cool, &st->ncool, sizeof *st->cool,
		    (size_t)at);
		st->cool[at].key = xstrdup(key);
	}
	st->cool[at].last_ms = last_ms;
}

bool
state_cooldown_try(struct state *st, const char *key, int64_t time_ms,
    int64_t window_ms)
{
	long at = find_sorted(st->cool, st->ncool, sizeof *st->cool, key);

	if (at >= 0) {
		if (time_ms - st->cool[at].last_ms < window_ms)
			return false;
	} else {
		at = -at - 1;
		st->cool = insert_at(st->cool, &st->ncool, sizeof *st->cool,
		    (size_t)at);
		st->cool[at].key = xstrdup(key);
	}
	st->cool[at].last_ms = time_ms;
	return true;
}

size_t
state_cooldown_expire(struct state *st, int64_t before_ms)
{
	size_t i, kept = 0, n = st->ncool;

	for (i = 0; i < n; i++) {
		if (st->cool[i].last_ms <= before_ms)
			free(st->cool[i].key);
		else
			st->cool[kept++] = st->cool[i];
	}
	st->ncool = kept;
	return n - kept;
}

void
state_set_lua(struct state *st, const char *json)
{
	free(st->lua);
	st->lua = json != NULL ? xstrdup(json) : NULL;
}

/* ==== The device table ==== */

struct dev_entry {
	char *id;		/* first member: the tsearch key */
	struct state *committed;	/* NULL: none yet */
	struct state *work;	/* NULL: not touched by this batch */
};

struct state_table {
	void *root;		/* tsearch tree of struct dev_entry */
	size_t count;		/* entries with a committed state */
	struct dev_entry **touched;	/* entries with work, in touch order */
	size_t ntouched;
	size_t atouched;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dev_entry *)a)->id,
	    ((const struct dev_entry *)b)->id);
}

static void
entry_free(void *p)
{
	struct dev_entry *e = p;

	free(e->id);
	state_free(e->committed);
	state_free(e->work);
	free(e);
}

struct state_table *
state_table_new(void)
{
	return xcalloc(1, sizeof(struct state_table));
}

void
state_table_clear(struct state_table *tab)
{
	tdestroy(tab->root, entry_free);
	tab->root = NULL;
	tab->count = 0;
	tab->ntouched = 0;
}

void
state_table_free(struct state_table *tab)
{
	if (tab == NULL)
		return;
	state_table_clear(tab);
	free(tab->touched);
	free(tab);
}

size_t
state_table_count(const struct state_table *tab)
{
	return tab->count;
}

static struct dev_entry *
lookup(const struct state_table *tab, const char *id)
{
	struct dev_entry key = { .id = (char *)id };
	void *node = tfind(&key, &tab->root, entry_cmp);

	return node != NULL ? *(struct dev_entry **)node : NULL;
}

static struct dev_entry *
lookup_or_add(struct state_table *tab, const char *id)
{
	struct dev_entry *e = lookup(tab, id), **node;

	if (e != NULL)
		return e;
	e = xcalloc(1, sizeof *e);
	e->id = xstrdup(id);
	node = tsearch(e, &tab->root, entry_cmp);
	if (node == NULL) {
		fprintf(stderr, "fatal: out of memory in tsearch\n");
		abort();
	}
	return e;
}

const struct state *
state_table_get(const struct state_table *tab, const char *id)
{
	struct dev_entry *e = lookup(tab, id);

	return e != NULL ? e->committed : NULL;
}

void
state_table_put(struct state_table *tab, const char *id, struct state *st)
{
	struct dev_entry *e = lookup_or_add(tab, id);

	if (e->committed == NULL)
		tab->count++;
	state_free(e->committed);
	e->committed = st;
}

struct state *
state_table_work(struct state_table *tab, const char *id)
{
	struct dev_entry *e = lookup_or_add(tab, id);

	if (e->work != NULL)
		return e->work;
	e->work = e->committed != NULL ? state_clone(e->committed) :
	    state_new();
	if (tab->ntouched == tab->atouched) {
		tab->atouched = tab->atouched ? tab->atouched * 2 : 64;
		tab->touched = xreallocarray(tab->touched, tab->atouched,
		    sizeof *tab->touched);
	}
	tab->touched[tab->ntouched++] = e;
	return e->work;
}

size_t
state_table_nwork(const struct state_table *tab)
{
	return tab->ntouched;
}

void
state_table_foreach_work(const struct state_table *tab,
    void (*fn)(const char *id, const struct state *st, bool changed,
    void *ctx), void *ctx)
{
	size_t i;

	for (i = 0; i < tab->ntouched; i++) {
		struct dev_entry *e = tab->touched[i];
		bool changed = e->committed == NULL ||
		    !state_equal(e->committed, e->work);

		fn(e->id, e->work, changed, ctx);
	}
}

void
state_table_commit(struct state_table *tab)
{
	size_t i;

	for (i = 0; i < tab->ntouched; i++) {
		struct dev_entry *e = tab->touched[i];

		if (e->committed == NULL)
			tab->count++;
		state_free(e->committed);
		e->committed = e->work;
		e->work = NULL;
	}
	tab->ntouched = 0;
}

void
state_table_rollback(struct state_table *tab)
{
	size_t i;

	/*
	 * An entry created by this batch keeps existing with no committed
	 * state; state_table_get returns NULL for it, as before the batch.
	 */
	for (i = 0; i < tab->ntouched; i++) {
		state_free(tab->touched[i]->work);
		tab->touched[i]->work = NULL;
	}
	tab->ntouched = 0;
}
