/*
 * devstate.c: per-device dev.state tables kept live between positions,
 * with the canonical text of each rule's part (see devstate.h).
 *
 * C side: a pool of entries (device id, the device text the tables stand
 * for, the parts sorted by rule name) with a chained hash on the device
 * id and a clock bit for eviction.  Lua side: one registry table mapping
 * pool slot + 1 to the device's { [rule] = state table }.
 *
 * Leaves to others: running the rules and reporting (rules.c), encoding
 * and decoding values (bind.c).
 */
#include "rules/devstate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>

#include "lib/hash.h"
#include "lib/xmalloc.h"
#include "rules/luajson.h"

struct part {
	char *key;		/* rule name (any JSON key, when read back) */
	size_t klen;
	char *text;		/* canonical JSON of its state */
	size_t tlen;
};

struct dentry {
	char *device;		/* NULL: free slot */
	char *json;		/* the device text the tables stand for;
				 * NULL: none (decode again next time) */
	struct part *parts;	/* sorted by key, bytewise */
	size_t nparts, aparts;
	bool used;		/* clock bit */
	int next;		/* hash chain; -1 ends it */
};

struct devstate {
	struct dentry *e;	/* pool of max entries */
	size_t max, n, hand;
	int *heads;		/* hash buckets; -1: empty */
	size_t mask;
	int tables_ref;		/* Lua: slot + 1 -> { [rule] = table } */
	struct dentry *cur;	/* the device of the current run */
	bool changed;		/* a part of cur changed since open */
	json_t *tmp;		/* a decoded part, in case pushing it raises */
	struct luajson_buf buf;
};

/* {==================================================================
 * Entries
 * =================================================================== */

static size_t
hash(const struct devstate *ds, const char *device)
{
	return (size_t)hash_str(device) & ds->mask;
}

static struct dentry *
find(struct devstate *ds, const char *device)
{
	int i;

	for (i = ds->heads[hash(ds, device)]; i >= 0; i = ds->e[i].next)
		if (strcmp(ds->e[i].device, device) == 0)
			return &ds->e[i];
	return NULL;
}

static void
parts_clear(struct dentry *e)
{
	size_t i;

	for (i = 0; i < e->nparts; i++) {
		free(e->parts[i].key);
		free(e->parts[i].text);
	}
	e->nparts = 0;
}

static void
entry_clear(struct dentry *e)
{
	parts_clear(e);
	free(e->parts);
	free(e->device);
	free(e->json);
	memset(e, 0, sizeof *e);
	e->next = -1;
}

static size_t
slot_of(const struct devstate *ds, const struct dentry *e)
{
	return (size_t)(e - ds->e);
}

/* Unlinks slot s from its hash chain and empties it; its Lua tables go. */
static void
evict(struct devstate *ds, lua_State *L, size_t s)
{
	int *p = &ds->heads[hash(ds, ds->e[s].device)];

	while (*p != (int)s)
		p = &ds->e[*p].next;
	*p = ds->e[s].next;
	entry_clear(&ds->e[s]);
	lua_rawgeti(L, LUA_REGISTRYINDEX, ds->tables_ref);
	lua_pushnil(L);		/* nil into an existing or absent key: no allocation */
	lua_rawseti(L, -2, (lua_Integer)s + 1);
	lua_pop(L, 1);
}

/* A slot for a new device (evicting the first one the clock finds idle). */
static struct dentry *
take(struct devstate *ds, lua_State *L, const char *device)
{
	size_t s, h;

	if (ds->n < ds->max)
		s = ds->n++;
	else {
		for (;;) {
			s = ds->hand;
			ds->hand = (ds->hand + 1) % ds->max;
			if (!ds->e[s].used)
				break;
			ds->e[s].used = false;
		}
		evict(ds, L, s);
	}
	h = hash(ds, device);
	ds->e[s].device = xstrdup(device);
	ds->e[s].next = ds->heads[h];
	ds->heads[h] = (int)s;
	return &ds->e[s];
}

static int
cmp_part(const void *a, const void *b)
{
	const struct part *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);

	if (c != 0)
		return c;
	return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static struct part *
find_part(struct dentry *e, const char *key)
{
	struct part k = { (char *)key, strlen(key), NULL, 0 };

	if (e->nparts == 0)
		return NULL;
	return bsearch(&k, e->parts, e->nparts, sizeof *e->parts, cmp_part);
}

/* Adds a part (key and text copied); the caller keeps them sorted. */
static struct part *
add_part(struct dentry *e, const char *key, size_t klen, const char *text,
    size_t tlen)
{
	struct part *p;

	if (e->nparts == e->aparts) {
		e->aparts = e->aparts ? e->aparts * 2 : 4;
		e->parts = xreallocarray(e->parts, e->aparts, sizeof *e->parts);
	}
	p = &e->parts[e->nparts++];
	p->key = xstrndup(key, klen);
	p->klen = klen;
	p->text = xstrndup(text, tlen);
	p->tlen = tlen;
	return p;
}

/* Splits the device text into parts.  Returns 0, or -1 (err set). */
static int
parse(struct dentry *e, const char *json, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(json, JSON_ALLOW_NUL, &jerr), *v;
	const char *key;
	char *text;

	if (root == NULL || !json_is_object(root)) {
		snprintf(err, errlen, "stored state is not a JSON object (%s); "
		    "starting from empty state",
		    root == NULL ? jerr.text : "wrong type");
		json_decref(root);
		return -1;
	}
	json_object_foreach(root, key, v) {
		text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
		if (text == NULL)
			continue;	/* out of memory in jansson: drop it */
		add_part(e, key, strlen(key), text, strlen(text));
		free(text);
	}
	json_decref(root);
	if (e->nparts > 1)
		qsort(e->parts, e->nparts, sizeof *e->parts, cmp_part);
	return 0;
}

/* {==================================================================
 * API
 * =================================================================== */

struct devstate *
devstate_new(lua_State *L, size_t max)
{
	struct devstate *ds;
	size_t nb = 16, i;
	int ref;

	lua_createtable(L, 0, 0);
	ref = luaL_ref(L, LUA_REGISTRYINDEX);
	ds = xcalloc(1, sizeof *ds);
	ds->tables_ref = ref;
	ds->max = max > 0 ? max : 1;
	while (nb < ds->max * 2)
		nb *= 2;
	ds->mask = nb - 1;
	ds->heads = xreallocarray(NULL, nb, sizeof *ds->heads);
	for (i = 0; i < nb; i++)
		ds->heads[i] = -1;
	ds->e = xcalloc(ds->max, sizeof *ds->e);
	for (i = 0; i < ds->max; i++)
		ds->e[i].next = -1;
	return ds;
}

void
devstate_free(struct devstate *ds)
{
	size_t i;

	if (ds == NULL)
		return;
	for (i = 0; i < ds->n; i++)
		entry_clear(&ds->e[i]);
	json_decref(ds->tmp);
	luajson_buf_free(&ds->buf);
	free(ds->e);
	free(ds->heads);
	free(ds);
}

void
devstate_clear(struct devstate *ds, lua_State *L)
{
	size_t i;

	lua_createtable(L, 0, 0);
	lua_rawseti(L, LUA_REGISTRYINDEX, ds->tables_ref);
	for (i = 0; i < ds->n; i++)
		entry_clear(&ds->e[i]);
	for (i = 0; i <= ds->mask; i++)
		ds->heads[i] = -1;
	ds->n = ds->hand = 0;
	ds->cur = NULL;
}

int
devstate_open(struct devstate *ds, lua_State *L, const char *device,
    const char *json, char *err, size_t errlen)
{
	struct dentry *e;

	if (json == NULL || json[0] == '\0')
		json = "{}";
	ds->cur = NULL;
	ds->changed = false;
	json_decref(ds->tmp);
	ds->tmp = NULL;
	e = find(ds, device);
	if (e != NULL && e->json != NULL && strcmp(e->json, json) == 0) {
		e->used = true;
		ds->cur = e;
		return 0;
	}
	if (e == NULL)
		e = take(ds, L, device);
	e->used = true;
	free(e->json);
	e->json = NULL;
	parts_clear(e);
	/* Fresh tables first: if this raises the entry stays undecided. */
	lua_rawgeti(L, LUA_REGISTRYINDEX, ds->tables_ref);
	lua_createtable(L, 0, 4);
	lua_rawseti(L, -2, (lua_Integer)slot_of(ds, e) + 1);
	lua_pop(L, 1);
	ds->cur = e;
	if (parse(e, json, err, errlen) == -1)
		return -1;
	e->json = xstrdup(json);
	return 0;
}

/* Pushes the current device's { [rule] = table }. */
static void
push_tables(struct devstate *ds, lua_State *L)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, ds->tables_ref);
	lua_rawgeti(L, -1, (lua_Integer)slot_of(ds, ds->cur) + 1);
	lua_remove(L, -2);
}

void
devstate_push(struct devstate *ds, lua_State *L, const char *rule)
{
	struct part *p;
	int d;

	push_tables(ds, L);
	d = lua_gettop(L);
	if (lua_getfield(L, d, rule) == LUA_TTABLE) {
		lua_remove(L, d);
		return;
	}
	lua_pop(L, 1);
	p = find_part(ds->cur, rule);
	json_decref(ds->tmp);
	ds->tmp = p != NULL ? json_loads(p->text, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, NULL) : NULL;
	/* A part that is no table (written by someone else) starts empty. */
	if (json_is_object(ds->tmp) || json_is_array(ds->tmp))
		luajson_push(L, ds->tmp);
	else
		lua_createtable(L, 0, 0);
	json_decref(ds->tmp);
	ds->tmp = NULL;
	lua_pushvalue(L, -1);
	lua_setfield(L, d, rule);
	lua_remove(L, d);
}

int
devstate_keep(struct devstate *ds, lua_State *L, const char *rule, int idx,
    size_t max, char *err, size_t errlen)
{
	struct dentry *e = ds->cur;
	struct part *p = find_part(e, rule);
	size_t i;

	idx = lua_absindex(L, idx);
	if (p == NULL) {
		lua_pushnil(L);
		if (!lua_next(L, idx))
			return 0;	/* nothing before, nothing now */
		lua_pop(L, 2);
	}
	if (luajson_encode(L, idx, "dev.state", max, &ds->buf, err,
	    errlen) == -1)
		return -1;
	if (strcmp(ds->buf.p, "{}") == 0) {
		if (p != NULL) {
			i = (size_t)(p - e->parts);
			free(p->key);
			free(p->text);
			memmove(p, p + 1, (e->nparts - i - 1) * sizeof *p);
			e->nparts--;
			ds->changed = true;
		}
		return 0;
	}
	if (p != NULL && p->tlen == ds->buf.len &&
	    memcmp(p->text, ds->buf.p, p->tlen) == 0)
		return 0;
	if (p != NULL) {
		free(p->text);
		p->text = xstrndup(ds->buf.p, ds->buf.len);
		p->tlen = ds->buf.len;
	} else {
		add_part(e, rule, strlen(rule), ds->buf.p, ds->buf.len);
		qsort(e->parts, e->nparts, sizeof *e->parts, cmp_part);
	}
	ds->changed = true;
	return 0;
}

void
devstate_drop(struct devstate *ds, lua_State *L, const char *rule)
{
	const char *k;
	int d;

	if (ds->cur == NULL)
		return;
	push_tables(ds, L);
	d = lua_gettop(L);
	if (lua_type(L, d) == LUA_TTABLE) {
		/* Walk instead of lua_setfield: pushing the name could
		 * allocate, clearing an existing key does not. */
		lua_pushnil(L);
		while (lua_next(L, d)) {
			lua_pop(L, 1);
			k = lua_type(L, -1) == LUA_TSTRING ?
			    lua_tostring(L, -1) : NULL;
			if (k != NULL && strcmp(k, rule) == 0) {
				lua_pushnil(L);
				lua_rawset(L, d);
				break;
			}
		}
	}
	lua_settop(L, d - 1);
}

char *
devstate_changed(struct devstate *ds)
{
	struct dentry *e = ds->cur;
	struct luajson_buf *b = &ds->buf;
	size_t i;

	if (e == NULL || !ds->changed)
		return NULL;
	ds->changed = false;
	b->len = 0;
	luajson_buf_put(b, "{", 1);
	for (i = 0; i < e->nparts; i++) {
		if (i > 0)
			luajson_buf_put(b, ",", 1);
		luajson_buf_put_string(b, e->parts[i].key, e->parts[i].klen);
		luajson_buf_put(b, ":", 1);
		luajson_buf_put(b, e->parts[i].text, e->parts[i].tlen);
	}
	luajson_buf_put(b, "}", 1);
	free(e->json);
	e->json = xstrndup(b->p, b->len);
	return xstrndup(b->p, b->len);
}
