/*
 * bind.c: the values a rule reads: the position (fields converted on
 * demand, the fence lists) and read-only copies of the settings.  Leaves
 * the call sequence and the bookkeeping to rules.c, dev.state to
 * devstate.c and luajson.c, what a rule returns to alertval.c.
 */
#include "rules/bind.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "rules/sandbox.h"

/* {==================================================================
 * Position
 * =================================================================== */

/* Keys whose values stay strings even when they look like numbers (ids,
 * lists, free text).  Sorted for bsearch. */
static const char *const text_keys[] = {
	"alarm", "cells", "device", "iccid", "imei", "peer", "phone", "proto",
	"raw", "result", "text", "transport", "vin", "wifi",
};

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
is_text_key(const char *key)
{
	return bsearch(&key, text_keys, sizeof text_keys / sizeof *text_keys,
	    sizeof *text_keys, cmp_key) != NULL;
}

/*
 * Pushes s[0..len) as a number when it is a plain decimal number
 * (-?digits[.digits], no leading zeros except "0", no exponent or hex),
 * else returns false and pushes nothing.
 */
static bool
push_number(lua_State *L, const char *s, size_t len)
{
	/* Powers of ten exact in a double. */
	static const double p10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
		1e22,
	};
	char buf[64];
	size_t i = 0, digits, fdigits = 0;
	bool neg = false;
	uint64_t m = 0;
	long long ll;
	char *end;

	if (len == 0 || len >= sizeof buf)
		return false;
	if (s[0] == '-') {
		neg = true;
		i++;
	}
	for (digits = 0; i < len && isdigit((unsigned char)s[i]); i++) {
		digits++;
		m = m * 10 + (uint64_t)(s[i] - '0');	/* used when short */
	}
	if (digits == 0 || (digits > 1 && s[i - digits] == '0'))
		return false;
	if (i < len && s[i] == '.') {
		for (i++; i < len && isdigit((unsigned char)s[i]); i++) {
			fdigits++;
			m = m * 10 + (uint64_t)(s[i] - '0');
		}
		if (fdigits == 0)
			return false;
	}
	if (i != len)
		return false;
	/*
	 * Fast paths, exact: an integer of at most 18 digits fits an int64;
	 * a mantissa of at most 15 digits and a power of ten up to 1e22 are
	 * both exact doubles, so their quotient is correctly rounded, as
	 * strtod's result is.
	 */
	if (fdigits == 0 && digits <= 18) {
		lua_pushinteger(L, neg ? -(lua_Integer)m : (lua_Integer)m);
		return true;
	}
	if (fdigits > 0 && digits + fdigits <= 15) {
		double d = (double)m / p10[fdigits];

		lua_pushnumber(L, neg ? -d : d);
		return true;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (fdigits == 0) {
		errno = 0;
		ll = strtoll(buf, &end, 10);
		if (errno == 0) {
			lua_pushinteger(L, (lua_Integer)ll);
			return true;
		}
	}
	lua_pushnumber(L, strtod(buf, &end));
	return true;
}

/*
 * Pushes field f as a rule sees it (see rules.h): a number for a plain
 * decimal number unless the key is textual, else the text.
 */
static void
push_field(lua_State *L, const struct rules_field *f)
{
	if (is_text_key(f->key) || !push_number(L, f->value, f->len))
		lua_pushlstring(L, f->value, f->len);
}

/* The last field named key (a report never repeats one; last wins). */
static const struct rules_field *
find_field(const struct rules_pos *pos, const char *key, size_t klen)
{
	size_t i;

	for (i = pos->nfields; i-- > 0;)
		if (pos->fields[i].key[0] == key[0] &&
		    strncmp(pos->fields[i].key, key, klen) == 0 &&
		    pos->fields[i].key[klen] == '\0')
			return &pos->fields[i];
	return NULL;
}

/* Remembers that data holds key, for bind_pos to clear. */
static void
note_key(struct bind_posref *ref, const char *key, size_t klen)
{
	if (ref->nkeys == BIND_KEYS || klen >= BIND_KEY_LEN) {
		ref->dirty = true;
		return;
	}
	memcpy(ref->keys[ref->nkeys], key, klen + 1);
	ref->nkeys++;
}

/*
 * Stores pos.time and pos.time_ms in data from the `time` field f: an
 * integer of milliseconds gives whole seconds (floor division, also before
 * 1970) and time_ms; anything else is stored like another field.
 */
static void
store_time(lua_State *L, int data, const struct rules_field *f,
    struct bind_posref *ref)
{
	lua_Integer ms;

	note_key(ref, "time", 4);
	if (!push_number(L, f->value, f->len)) {
		lua_pushlstring(L, f->value, f->len);
		lua_setfield(L, data, "time");
		return;
	}
	if (lua_isinteger(L, -1)) {
		ms = lua_tointeger(L, -1);
		note_key(ref, "time_ms", 7);
		lua_setfield(L, data, "time_ms");
		lua_pushinteger(L, ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	}
	lua_setfield(L, data, "time");
}

/*
 * __index of the data table behind pos: converts the field a rule asks
 * for, keeps it in data (so the next read is a plain table hit) and
 * returns it.  Upvalue 1: the struct bind_posref.
 */
static int
l_pos_index(lua_State *L)
{
	struct bind_posref *ref = lua_touserdata(L, lua_upvalueindex(1));
	const struct rules_field *f;
	const char *key;
	size_t klen;

	if (ref->pos == NULL || lua_type(L, 2) != LUA_TSTRING)
		return 0;
	key = lua_tolstring(L, 2, &klen);
	if (klen == 0 || strlen(key) != klen)
		return 0;
	/* time_ms is derived from time (a field of that name loses). */
	if (strcmp(key, "time") == 0 || strcmp(key, "time_ms") == 0) {
		if ((f = find_field(ref->pos, "time", 4)) != NULL) {
			store_time(L, 1, f, ref);
			lua_pushvalue(L, 2);
			if (lua_rawget(L, 1) != LUA_TNIL || key[4] == '\0')
				return 1;
			lua_pop(L, 1);
		}
	}
	if ((f = find_field(ref->pos, key, klen)) == NULL)
		return 0;
	push_field(L, f);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	note_key(ref, key, klen);
	return 1;
}

/* Converts every field into data (what pairs(pos) walks). */
static void
store_all(lua_State *L, int data, const struct rules_pos *pos,
    struct bind_posref *ref)
{
	const struct rules_field *f;
	size_t i;

	for (i = 0; i < pos->nfields; i++) {
		f = &pos->fields[i];
		if (strcmp(f->key, "inside") == 0 || strcmp(f->key, "entered") == 0 ||
		    strcmp(f->key, "exited") == 0)
			continue;
		if (strcmp(f->key, "time") == 0) {
			store_time(L, data, f, ref);
			continue;
		}
		push_field(L, f);
		lua_setfield(L, data, f->key);
	}
}

/*
 * __pairs of the pos proxy: converts every field into data, then walks
 * data as any read-only proxy does (upvalue 2: the proxy's own __pairs,
 * from sandbox_readonly).
 */
static int
l_pos_pairs(lua_State *L)
{
	struct bind_posref *ref = lua_touserdata(L, lua_upvalueindex(1));

	luaL_checkstack(L, 4, "pairs(pos)");
	if (ref->pos != NULL && !ref->all) {
		lua_getmetatable(L, 1);
		lua_pushliteral(L, "__index");
		lua_rawget(L, -2);
		store_all(L, lua_gettop(L), ref->pos, ref);
		ref->all = true;
		ref->dirty = true;
		lua_settop(L, 1);
	}
	lua_pushvalue(L, lua_upvalueindex(2));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 3);
	return 3;
}

void
bind_pos_init(lua_State *L, int data, int proxy, struct bind_posref *ref)
{
	data = lua_absindex(L, data);
	proxy = lua_absindex(L, proxy);
	memset(ref, 0, sizeof *ref);
	lua_createtable(L, 0, 2);
	lua_pushlightuserdata(L, ref);
	lua_pushcclosure(L, l_pos_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, data);
	lua_getmetatable(L, proxy);
	lua_pushlightuserdata(L, ref);
	lua_pushliteral(L, "__pairs");
	lua_rawget(L, -3);
	lua_pushcclosure(L, l_pos_pairs, 2);
	lua_setfield(L, -2, "__pairs");
	lua_pop(L, 1);
}

static void
clear_table(lua_State *L, int t)
{
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, t);
	}
}

static void
fill_list(lua_State *L, int t, const char *const *v, size_t n)
{
	size_t i, old = lua_rawlen(L, t);

	for (i = 0; i < n; i++) {
		lua_pushstring(L, v[i]);
		lua_rawseti(L, t, (lua_Integer)i + 1);
	}
	for (i = n; i < old; i++) {
		lua_pushnil(L);
		lua_rawseti(L, t, (lua_Integer)i + 1);
	}
}

void
bind_pos(lua_State *L, int data, const int lists[3], const int proxies[3],
    struct bind_posref *ref, const struct rules_pos *pos)
{
	static const char *const names[3] = { "inside", "entered", "exited" };
	const char *const *v[3] = { pos->inside, pos->entered, pos->exited };
	size_t n[3] = { pos->ninside, pos->nentered, pos->nexited };
	size_t i;

	luaL_checkstack(L, 4, "binding a position");
	ref->pos = NULL;
	if (ref->dirty || !ref->lists_set) {
		clear_table(L, data);
		for (i = 0; i < 3; i++) {
			lua_pushvalue(L, proxies[i]);
			lua_setfield(L, data, names[i]);
		}
		ref->lists_set = true;
	} else {
		/* The keys' buffers stay put, so Lua's string cache finds
		 * them without hashing. */
		for (i = 0; i < ref->nkeys; i++) {
			lua_pushnil(L);
			lua_setfield(L, data, ref->keys[i]);
		}
	}
	ref->nkeys = 0;
	ref->dirty = false;
	ref->all = false;
	for (i = 0; i < 3; i++)
		fill_list(L, lists[i], v[i], n[i]);
	ref->pos = pos;
}

/* {==================================================================
 * Read-only copies
 * =================================================================== */

static void
ro_copy(lua_State *L, int idx, const char *const *skip, int depth)
{
	const char *const *s;

	if (depth >= BIND_DEPTH)
		luaL_error(L, "settings nested too deep (or cyclic)");
	luaL_checkstack(L, 4, "copying settings");
	lua_createtable(L, 0, 0);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (skip != NULL && lua_type(L, -2) == LUA_TSTRING) {
			for (s = skip; *s != NULL; s++)
				if (strcmp(*s, lua_tostring(L, -2)) == 0)
					break;
			if (*s != NULL) {
				lua_pop(L, 1);
				continue;
			}
		}
		if (lua_type(L, -1) == LUA_TTABLE) {
			ro_copy(L, lua_gettop(L), NULL, depth + 1);
			lua_remove(L, -2);
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
	sandbox_readonly(L, -1);
}

void
bind_readonly_copy(lua_State *L, int idx, const char *const *skip)
{
	ro_copy(L, lua_absindex(L, idx), skip, 0);
}
