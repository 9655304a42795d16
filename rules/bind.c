/*
 * bind.c: C <-> Lua values for rules: position fields, dev.state as JSON,
 * alert tables, read-only settings copies.  Leaves the call sequence and
 * the bookkeeping to rules.c.
 */
#include "rules/bind.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lib/xmalloc.h"
#include "rules/sandbox.h"

#define TYPE_MAX 64		/* alert type length */
#define TEXT_MAX 1024		/* alert message and extra string length */
#define EXTRA_MAX 32		/* extra fields per alert */

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
	char buf[64];
	size_t i = 0, digits;
	bool frac = false;
	long long ll;
	char *end;

	if (len == 0 || len >= sizeof buf)
		return false;
	if (s[0] == '-')
		i++;
	for (digits = 0; i < len && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (digits == 0 || (digits > 1 && s[i - digits] == '0'))
		return false;
	if (i < len && s[i] == '.') {
		frac = true;
		for (i++, digits = 0; i < len && isdigit((unsigned char)s[i]); i++)
			digits++;
		if (digits == 0)
			return false;
	}
	if (i != len)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!frac) {
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
    const struct rules_pos *pos)
{
	static const char *const names[3] = { "inside", "entered", "exited" };
	const char *const *v[3] = { pos->inside, pos->entered, pos->exited };
	size_t n[3] = { pos->ninside, pos->nentered, pos->nexited };
	const struct rules_field *f;
	size_t i;

	luaL_checkstack(L, 4, "binding a position");
	clear_table(L, data);
	for (i = 0; i < pos->nfields; i++) {
		f = &pos->fields[i];
		if (strcmp(f->key, "time") == 0 &&
		    push_number(L, f->value, f->len)) {
			if (lua_isinteger(L, -1)) {
				lua_Integer ms = lua_tointeger(L, -1);

				lua_setfield(L, data, "time_ms");
				/* Floor division: whole seconds, also before
				 * 1970. */
				lua_pushinteger(L, ms >= 0 ? ms / 1000 :
				    -((-ms + 999) / 1000));
			}
		} else if (is_text_key(f->key) ||
		    !push_number(L, f->value, f->len))
			lua_pushlstring(L, f->value, f->len);
		lua_setfield(L, data, f->key);
	}
	for (i = 0; i < 3; i++) {
		fill_list(L, lists[i], v[i], n[i]);
		lua_pushvalue(L, proxies[i]);
		lua_setfield(L, data, names[i]);
	}
}

/* {==================================================================
 * JSON -> Lua
 * =================================================================== */

static void
push_json(lua_State *L, const json_t *v, int depth)
{
	const char *key;
	json_t *item;
	size_t i;

	luaL_checkstack(L, 3, "decoding state");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(v));
		if (depth >= BIND_DEPTH)
			break;
		json_object_foreach((json_t *)v, key, item) {
			if (json_is_null(item))
				continue;
			lua_pushstring(L, key);
			push_json(L, item, depth + 1);
			lua_rawset(L, -3);
		}
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(v), 0);
		if (depth >= BIND_DEPTH)
			break;
		json_array_foreach(v, i, item) {
			push_json(L, item, depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		lua_pushboolean(L, json_is_true(v));
		break;
	default:
		lua_pushnil(L);
	}
}

void
bind_push_json(lua_State *L, const json_t *v)
{
	push_json(L, v, 0);
}

/* {==================================================================
 * Lua -> JSON
 * =================================================================== */

struct enc {
	lua_State *L;
	const void *seen[BIND_DEPTH];	/* tables on the current path */
	int depth;
	size_t size, max;		/* approximate JSON bytes so far */
	char path[160];
	char *err;
	size_t errlen;
};

static json_t *enc_value(struct enc *e, int idx);

static json_t *
enc_fail(struct enc *e, json_t *partial, const char *why)
{
	snprintf(e->err, e->errlen, "%s: %s", e->path, why);
	json_decref(partial);
	return NULL;
}

/* Appends ".key" or "[n]" to the path; returns the old length. */
static size_t
path_push(struct enc *e, const char *key, lua_Integer n)
{
	size_t old = strlen(e->path);

	if (key != NULL)
		snprintf(e->path + old, sizeof e->path - old, ".%s", key);
	else
		snprintf(e->path + old, sizeof e->path - old, "[%lld]",
		    (long long)n);
	return old;
}

static json_t *
enc_table(struct enc *e, int idx)
{
	lua_State *L = e->L;
	const void *p = lua_topointer(L, idx);
	size_t nstr = 0, old;
	lua_Integer nint = 0, maxk = 0, i;
	json_t *out = NULL, *v;
	char why[64];
	int kt;

	for (i = 0; i < e->depth; i++)
		if (e->seen[i] == p)
			return enc_fail(e, NULL, "cyclic table");
	if (e->depth >= BIND_DEPTH)
		return enc_fail(e, NULL, "tables nested too deep");
	if (!lua_checkstack(L, 4))
		return enc_fail(e, NULL, "out of memory");
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		kt = lua_type(L, -2);
		if (kt == LUA_TSTRING)
			nstr++;
		else if (kt == LUA_TNUMBER && lua_isinteger(L, -2) &&
		    lua_tointeger(L, -2) >= 1) {
			nint++;
			if (lua_tointeger(L, -2) > maxk)
				maxk = lua_tointeger(L, -2);
		} else {
			snprintf(why, sizeof why, "a key of type %s cannot be kept",
			    kt == LUA_TNUMBER ? "non-positive or fractional number"
			    : lua_typename(L, kt));
			lua_pop(L, 2);
			return enc_fail(e, NULL, why);
		}
		lua_pop(L, 1);
	}
	if (nstr > 0 && nint > 0)
		return enc_fail(e, NULL, "a table cannot mix string and number "
		    "keys");
	if (nint > 0 && maxk != nint)
		return enc_fail(e, NULL, "a list must have the keys 1..n "
		    "without holes");
	e->seen[e->depth++] = p;
	if (nint > 0) {
		out = json_array();
		for (i = 1; i <= nint; i++) {
			lua_rawgeti(L, idx, i);
			old = path_push(e, NULL, i);
			v = enc_value(e, lua_gettop(L));
			lua_pop(L, 1);
			if (v == NULL)
				goto fail;
			e->path[old] = '\0';
			json_array_append_new(out, v);
		}
	} else {
		out = json_object();
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			size_t klen;
			const char *k = lua_tolstring(L, -2, &klen);

			old = path_push(e, k, 0);
			e->size += klen + 4;
			v = enc_value(e, lua_gettop(L));
			if (v == NULL) {
				lua_pop(L, 2);
				goto fail;
			}
			if (json_object_setn_new(out, k, klen, v) == -1) {
				lua_pop(L, 2);
				enc_fail(e, NULL, "key is not valid UTF-8");
				goto fail;
			}
			e->path[old] = '\0';
			lua_pop(L, 1);
		}
	}
	e->depth--;
	return out;
fail:
	e->depth--;
	json_decref(out);
	return NULL;
}

static json_t *
enc_value(struct enc *e, int idx)
{
	lua_State *L = e->L;
	const char *s;
	size_t len;
	double d;
	json_t *v;
	char why[64];

	e->size += 8;
	if (e->size > e->max) {
		snprintf(why, sizeof why, "more than %zu bytes of state", e->max);
		return enc_fail(e, NULL, why);
	}
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		e->size += len;
		if (e->size > e->max) {
			snprintf(why, sizeof why, "more than %zu bytes of state",
			    e->max);
			return enc_fail(e, NULL, why);
		}
		if ((v = json_stringn(s, len)) == NULL)
			return enc_fail(e, NULL, "string is not valid UTF-8");
		return v;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			return enc_fail(e, NULL, "NaN and infinity cannot be kept");
		return json_real(d);
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TTABLE:
		return enc_table(e, idx);
	default:
		snprintf(why, sizeof why, "cannot keep a %s value",
		    luaL_typename(L, idx));
		return enc_fail(e, NULL, why);
	}
}

json_t *
bind_to_json(lua_State *L, int idx, const char *what, size_t max, char *err,
    size_t errlen)
{
	struct enc e;

	memset(&e, 0, sizeof e);
	e.L = L;
	e.max = max;
	e.err = err;
	e.errlen = errlen;
	snprintf(e.path, sizeof e.path, "%s", what);
	return enc_value(&e, lua_absindex(L, idx));
}

/* {==================================================================
 * Alerts
 * =================================================================== */

/* Fields the engine fills itself; a rule may not set them. */
static const char *const reserved[] = {
	"device", "id", "lat", "lon", "position", "rule", "speed", "time", NULL
};

static bool
is_reserved(const char *k)
{
	const char *const *r;

	for (r = reserved; *r != NULL; r++)
		if (strcmp(*r, k) == 0)
			return true;
	return false;
}

/* Pushes t[key] raw; returns its type. */
static int
raw_get(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);	/* short literal keys: interned, cached */
	return lua_rawget(L, t);
}

/* A string or number at idx as new text (numbers formatted in C). */
static char *
scalar_text(lua_State *L, int idx, size_t max)
{
	char buf[64];
	const char *s;
	size_t len;

	if (lua_type(L, idx) == LUA_TSTRING) {
		s = lua_tolstring(L, idx, &len);
		return len <= max ? xstrndup(s, len) : NULL;
	}
	if (lua_isinteger(L, idx))
		snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, idx));
	else
		snprintf(buf, sizeof buf, "%.14g", lua_tonumber(L, idx));
	return xstrdup(buf);
}

static bool
valid_type(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > TYPE_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static int
one_alert(lua_State *L, int t, struct bind_alert *a, char *err, size_t errlen)
{
	json_t *extra = NULL, *v;
	const char *s, *k;
	size_t len, n = 0;
	int kt, vt;

	memset(a, 0, sizeof *a);
	s = raw_get(L, t, "type") == LUA_TSTRING ?
	    lua_tolstring(L, -1, &len) : NULL;
	if (s == NULL || !valid_type(s, len)) {
		snprintf(err, errlen, "an alert needs a 'type': a string of 1 to "
		    "%d letters, digits, '_', '-' or '.'", TYPE_MAX);
		lua_pop(L, 1);
		return -1;
	}
	a->type = xstrndup(s, len);
	lua_pop(L, 1);
	vt = raw_get(L, t, "message");
	if (vt == LUA_TSTRING || vt == LUA_TNUMBER) {
		if ((a->message = scalar_text(L, -1, TEXT_MAX)) == NULL) {
			snprintf(err, errlen, "alert message longer than %d bytes",
			    TEXT_MAX);
			goto fail_pop;
		}
	} else if (vt != LUA_TNIL) {
		snprintf(err, errlen, "alert message must be a string (got %s)",
		    lua_typename(L, vt));
		goto fail_pop;
	}
	lua_pop(L, 1);
	lua_pushnil(L);
	while (lua_next(L, t)) {
		kt = lua_type(L, -2);
		vt = lua_type(L, -1);
		k = kt == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		if (k != NULL && (strcmp(k, "type") == 0 ||
		    strcmp(k, "message") == 0)) {
			lua_pop(L, 1);
			continue;
		}
		if (k == NULL) {
			snprintf(err, errlen, "alert field names must be strings "
			    "(got a %s key)", lua_typename(L, kt));
			goto fail_pop2;
		}
		if (is_reserved(k)) {
			snprintf(err, errlen, "alert field '%s' is set by the "
			    "engine", k);
			goto fail_pop2;
		}
		if (++n > EXTRA_MAX) {
			snprintf(err, errlen, "more than %d alert fields",
			    EXTRA_MAX);
			goto fail_pop2;
		}
		if (vt == LUA_TSTRING) {
			s = lua_tolstring(L, -1, &len);
			v = len <= TEXT_MAX ? json_stringn(s, len) : NULL;
		} else if (vt == LUA_TNUMBER && lua_isinteger(L, -1))
			v = json_integer((json_int_t)lua_tointeger(L, -1));
		else if (vt == LUA_TNUMBER && isfinite(lua_tonumber(L, -1)))
			v = json_real(lua_tonumber(L, -1));
		else if (vt == LUA_TBOOLEAN)
			v = json_boolean(lua_toboolean(L, -1));
		else
			v = NULL;
		if (v == NULL) {
			snprintf(err, errlen, "alert field '%s' must be a string "
			    "(UTF-8, at most %d bytes), a finite number or a "
			    "boolean (got %s)", k, TEXT_MAX, lua_typename(L, vt));
			goto fail_pop2;
		}
		if (extra == NULL)
			extra = json_object();
		json_object_set_new(extra, k, v);
		lua_pop(L, 1);
	}
	if (extra != NULL) {
		a->extra = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(extra);
		if (a->extra == NULL) {
			snprintf(err, errlen, "alert field names must be UTF-8");
			bind_alert_clear(a);
			return -1;
		}
	}
	return 0;
fail_pop2:
	lua_pop(L, 1);
fail_pop:
	lua_pop(L, 1);
	json_decref(extra);
	bind_alert_clear(a);
	return -1;
}

int
bind_alerts(lua_State *L, int idx, struct bind_alert *out, size_t max,
    size_t *n, char *err, size_t errlen)
{
	lua_Integer i, len;
	int t;

	*n = 0;
	idx = lua_absindex(L, idx);
	t = lua_type(L, idx);
	if (t == LUA_TNIL)
		return 0;
	if (t != LUA_TTABLE || !lua_checkstack(L, 4)) {
		snprintf(err, errlen, "a rule must return nil, an alert table or "
		    "a list of them (got %s)", lua_typename(L, t));
		return -1;
	}
	if (raw_get(L, idx, "type") != LUA_TNIL) {
		lua_pop(L, 1);
		if (one_alert(L, idx, &out[0], err, errlen) == -1)
			return -1;
		*n = 1;
		return 0;
	}
	lua_pop(L, 1);
	len = (lua_Integer)lua_rawlen(L, idx);
	if (len == 0) {
		lua_pushnil(L);
		if (lua_next(L, idx)) {
			lua_pop(L, 2);
			snprintf(err, errlen, "an alert needs a 'type'");
			return -1;
		}
		return 0;
	}
	if ((size_t)len > max) {
		snprintf(err, errlen, "a rule may return at most %zu alerts "
		    "(got %lld)", max, (long long)len);
		return -1;
	}
	for (i = 1; i <= len; i++) {
		if (lua_rawgeti(L, idx, i) != LUA_TTABLE) {
			snprintf(err, errlen, "alert %lld is a %s, not a table",
			    (long long)i, luaL_typename(L, -1));
			lua_pop(L, 1);
			goto fail;
		}
		if (one_alert(L, lua_gettop(L), &out[*n], err, errlen) == -1) {
			lua_pop(L, 1);
			goto fail;
		}
		(*n)++;
		lua_pop(L, 1);
	}
	return 0;
fail:
	while (*n > 0)
		bind_alert_clear(&out[--*n]);
	return -1;
}

void
bind_alert_clear(struct bind_alert *a)
{
	free(a->type);
	free(a->message);
	free(a->extra);
	memset(a, 0, sizeof *a);
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
