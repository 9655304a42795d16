/*
 * state.c: per-device engine state, its JSON form, and the device table.
 *
 * The sets inside a state are short sorted arrays (a device is inside a
 * handful of fences at most), so lookups are binary searches and updates
 * memmove.  The device table is a glibc tsearch tree keyed by device id;
 * the working copies of a batch are also listed in touch order so that the
 * HSETs of a batch go out in a deterministic order.
 */
#include "engine/state.h"

#include <jansson.h>
#include <math.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/resp.h"
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

/* ==== JSON form ==== */

/*
 * Shape (members absent when empty):
 *   {"fix":{"t":MS,"lat":D,"lon":D},"last":MS,"inside":["id",...],
 *    "pending":[{"fence":"id","inside":B,"since":MS},...],
 *    "overspeed":{"start":MS,"last":MS,"alerted":N,"max":D,"limit":D},
 *    "cooldown":{"key":MS,...},"lua":"<dev.state JSON text>"}
 * Doubles are written with 17 significant digits, so they read back bit
 * for bit: re-processing after a restart sees the same numbers.
 *
 * The bytes are jansson's json_dumps(JSON_COMPACT | JSON_SORT_KEYS) of
 * that object, which is what earlier engines stored.  Nearly every state
 * holds only printable ASCII strings and finite numbers; those are
 * written directly (below), anything else through jansson itself.
 */

static char *
to_json_jansson(const struct state *st)
{
	json_t *o = json_object();
	char *s;
	size_t i;

	if (st->has_fix)
		json_object_set_new(o, "fix", json_pack("{sIsfsf}",
		    "t", (json_int_t)st->fix_ms, "lat", st->lat,
		    "lon", st->lon));
	if (st->has_last)
		json_object_set_new(o, "last", json_integer(st->last_ms));
	if (st->ninside > 0) {
		json_t *a = json_array();

		for (i = 0; i < st->ninside; i++)
			json_array_append_new(a, json_string(st->inside[i]));
		json_object_set_new(o, "inside", a);
	}
	if (st->npending > 0) {
		json_t *a = json_array();

		for (i = 0; i < st->npending; i++)
			json_array_append_new(a, json_pack("{sssbsI}",
			    "fence", st->pending[i].fence,
			    "inside", (int)st->pending[i].inside,
			    "since", (json_int_t)st->pending[i].since_ms));
		json_object_set_new(o, "pending", a);
	}
	if (st->os.active)
		json_object_set_new(o, "overspeed", json_pack(
		    "{sIsIsisfsf}", "start", (json_int_t)st->os.start_ms,
		    "last", (json_int_t)st->os.last_ms,
		    "alerted", (int)st->os.alerted,
		    "max", st->os.max_speed, "limit", st->os.limit));
	if (st->ncool > 0) {
		json_t *c = json_object();

		for (i = 0; i < st->ncool; i++)
			json_object_set_new(c, st->cool[i].key,
			    json_integer(st->cool[i].last_ms));
		json_object_set_new(o, "cooldown", c);
	}
	if (st->lua != NULL)
		json_object_set_new(o, "lua", json_string(st->lua));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (s == NULL) {
		/* json_dumps fails only on allocation (or a non-UTF-8 key,
		 * which the Lua binding never hands us). */
		fprintf(stderr, "fatal: cannot serialize device state\n");
		abort();
	}
	return s;
}

/* A growing text buffer; the text is handed to the caller. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static char *
sb_room(struct sbuf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->p = xrealloc(b->p, b->cap);
	}
	return b->p + b->len;
}

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	memcpy(sb_room(b, n), s, n);
	b->len += n;
}

#define SB_LIT(b, lit) sb_put((b), (lit), sizeof(lit) - 1)

/* A string of printable ASCII (see plain): only '"' and '\' escaped. */
static void
sb_str(struct sbuf *b, const char *s)
{
	size_t n = strlen(s), i;
	char *p = sb_room(b, 2 * n + 2), *q = p;

	*q++ = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			*q++ = '\\';
		*q++ = s[i];
	}
	*q++ = '"';
	b->len += (size_t)(q - p);
}

static void
sb_int(struct sbuf *b, int64_t v)
{
	b->len += resp_int(sb_room(b, RESP_INT_MAX), v);
}

/* A finite double as jansson prints it. */
static void
sb_real(struct sbuf *b, double x)
{
	char buf[JSONW_REAL_MAX];

	sb_put(b, buf, jsonw_real_text(buf, x));
}

/* True when s holds only printable ASCII (no escapes but '"' and '\\'). */
static bool
plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* True when the direct writer gives jansson's bytes for st. */
static bool
writes_plain(const struct state *st)
{
	size_t i;

	if (st->has_fix && (!isfinite(st->lat) || !isfinite(st->lon)))
		return false;
	if (st->os.active && (!isfinite(st->os.max_speed) ||
	    !isfinite(st->os.limit)))
		return false;
	for (i = 0; i < st->ninside; i++)
		if (!plain(st->inside[i]))
			return false;
	for (i = 0; i < st->npending; i++)
		if (!plain(st->pending[i].fence))
			return false;
	for (i = 0; i < st->ncool; i++)
		if (!plain(st->cool[i].key))
			return false;
	return st->lua == NULL || plain(st->lua);
}

char *
state_to_json(const struct state *st)
{
	struct sbuf b;
	bool first = true;
	size_t i;

	if (!writes_plain(st))
		return to_json_jansson(st);
	b.cap = 256;
	b.len = 0;
	b.p = xmalloc(b.cap);
	/* Members in key order: jansson's JSON_SORT_KEYS. */
	SB_LIT(&b, "{");
	if (st->ncool > 0) {
		/* st->cool is sorted by strcmp, as JSON_SORT_KEYS sorts. */
		SB_LIT(&b, "\"cooldown\":{");
		for (i = 0; i < st->ncool; i++) {
			if (i > 0)
				SB_LIT(&b, ",");
			sb_str(&b, st->cool[i].key);
			SB_LIT(&b, ":");
			sb_int(&b, st->cool[i].last_ms);
		}
		SB_LIT(&b, "}");
		first = false;
	}
	if (st->has_fix) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"fix\":{\"lat\":");
		sb_real(&b, st->lat);
		SB_LIT(&b, ",\"lon\":");
		sb_real(&b, st->lon);
		SB_LIT(&b, ",\"t\":");
		sb_int(&b, st->fix_ms);
		SB_LIT(&b, "}");
		first = false;
	}
	if (st->ninside > 0) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"inside\":[");
		for (i = 0; i < st->ninside; i++) {
			if (i > 0)
				SB_LIT(&b, ",");
			sb_str(&b, st->inside[i]);
		}
		SB_LIT(&b, "]");
		first = false;
	}
	if (st->has_last) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"last\":");
		sb_int(&b, st->last_ms);
		first = false;
	}
	if (st->lua != NULL) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"lua\":");
		sb_str(&b, st->lua);
		first = false;
	}
	if (st->os.active) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"overspeed\":{\"alerted\":");
		sb_int(&b, (int)st->os.alerted);
		SB_LIT(&b, ",\"last\":");
		sb_int(&b, st->os.last_ms);
		SB_LIT(&b, ",\"limit\":");
		sb_real(&b, st->os.limit);
		SB_LIT(&b, ",\"max\":");
		sb_real(&b, st->os.max_speed);
		SB_LIT(&b, ",\"start\":");
		sb_int(&b, st->os.start_ms);
		SB_LIT(&b, "}");
		first = false;
	}
	if (st->npending > 0) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"pending\":[");
		for (i = 0; i < st->npending; i++) {
			if (i > 0)
				SB_LIT(&b, ",");
			SB_LIT(&b, "{\"fence\":");
			sb_str(&b, st->pending[i].fence);
			if (st->pending[i].inside)
				SB_LIT(&b, ",\"inside\":true,\"since\":");
			else
				SB_LIT(&b, ",\"inside\":false,\"since\":");
			sb_int(&b, st->pending[i].since_ms);
			SB_LIT(&b, "}");
		}
		SB_LIT(&b, "]");
	}
	SB_LIT(&b, "}");
	b.p[b.len] = '\0';
	return b.p;
}

static bool
get_num(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static bool
get_int(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static int
parse_state(json_t *root, struct state *st, char *err, size_t errlen)
{
	json_t *v, *e;
	size_t i;
	const char *key;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "state is not a JSON object");
		return -1;
	}
	if ((v = json_object_get(root, "fix")) != NULL) {
		if (!get_int(v, "t", &st->fix_ms) ||
		    !get_num(v, "lat", &st->lat) ||
		    !get_num(v, "lon", &st->lon)) {
			snprintf(err, errlen, "state: bad \"fix\"");
			return -1;
		}
		st->has_fix = true;
	}
	if (json_object_get(root, "last") != NULL) {
		if (!get_int(root, "last", &st->last_ms)) {
			snprintf(err, errlen, "state: bad \"last\"");
			return -1;
		}
		st->has_last = true;
	}
	json_array_foreach(json_object_get(root, "inside"), i, e) {
		if (!json_is_string(e)) {
			snprintf(err, errlen, "state: bad \"inside\"");
			return -1;
		}
		state_inside_set(st, json_string_value(e), true);
	}
	json_array_foreach(json_object_get(root, "pending"), i, e) {
		json_t *f = json_object_get(e, "fence");
		json_t *in = json_object_get(e, "inside");
		int64_t since;

		if (!json_is_string(f) || !json_is_boolean(in) ||
		    !get_int(e, "since", &since)) {
			snprintf(err, errlen, "state: bad \"pending\"");
			return -1;
		}
		state_pending_set(st, json_string_value(f), json_is_true(in),
		    since);
	}
	if ((v = json_object_get(root, "overspeed")) != NULL) {
		int64_t alerted;

		if (!get_int(v, "start", &st->os.start_ms) ||
		    !get_int(v, "last", &st->os.last_ms) ||
		    !get_int(v, "alerted", &alerted) || alerted < 0 ||
		    alerted > STATE_OS_MUTED ||
		    !get_num(v, "max", &st->os.max_speed) ||
		    !get_num(v, "limit", &st->os.limit)) {
			snprintf(err, errlen, "state: bad \"overspeed\"");
			return -1;
		}
		st->os.active = true;
		st->os.alerted = (enum state_os_alerted)alerted;
	}
	json_object_foreach(json_object_get(root, "cooldown"), key, v) {
		if (!json_is_integer(v)) {
			snprintf(err, errlen, "state: bad \"cooldown\"");
			return -1;
		}
		state_cooldown_set(st, key, json_integer_value(v));
	}
	if ((v = json_object_get(root, "lua")) != NULL) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "state: bad \"lua\"");
			return -1;
		}
		state_set_lua(st, json_string_value(v));
	}
	return 0;
}

struct state *
state_from_json(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	struct state *st;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "state: %s (column %d)", jerr.text,
		    jerr.column);
		return NULL;
	}
	st = state_new();
	if (parse_state(root, st, err, errlen) == -1) {
		state_free(st);
		st = NULL;
	}
	json_decref(root);
	return st;
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
