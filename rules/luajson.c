/*
 * luajson.c: JSON <-> Lua values for dev.state: jansson values pushed as
 * Lua tables, and Lua values encoded as canonical JSON text.  Leaves to
 * others which values to convert and when (devstate.c), and where the
 * text is kept (the engine).
 */
#include "rules/luajson.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lib/json.h"
#include "lib/xmalloc.h"

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
		if (depth >= LUAJSON_DEPTH)
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
		if (depth >= LUAJSON_DEPTH)
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
luajson_push(lua_State *L, const json_t *v)
{
	push_json(L, v, 0);
}

/* {==================================================================
 * Lua -> JSON text
 *
 * The text is canonical: compact, object keys sorted bytewise, numbers
 * and strings written the way jansson's json_dumps(JSON_COMPACT |
 * JSON_SORT_KEYS) writes them, so equal values give equal texts and a
 * state can be compared with its previous text by memcmp.
 * =================================================================== */

void
luajson_buf_free(struct luajson_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static void
put(struct luajson_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n + 1) {
		while (b->cap - b->len < n + 1)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
put_ch(struct luajson_buf *b, char c)
{
	if (b->cap - b->len >= 2) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
	} else
		put(b, &c, 1);
}

/* A JSON string; like jansson: only '"', '\\' and controls escaped. */
static void
put_string(struct luajson_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;
	char esc[6];
	unsigned char c;

	put_ch(b, '"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': case '\\': esc[1] = (char)c; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			put(b, "\\u00", 4);
			esc[0] = hex[c >> 4];
			esc[1] = hex[c & 15];
			put(b, esc, 2);
			continue;
		}
		put(b, esc, 2);
	}
	put(b, s + run, len - run);
	put_ch(b, '"');
}

/* An integer in decimal (what "%lld" writes, without printf). */
static void
put_int(struct luajson_buf *b, lua_Integer v)
{
	char buf[24], *p = buf + sizeof buf;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	put(b, p, (size_t)(buf + sizeof buf - p));
}

/* A real as jansson writes it. */
static void
put_real(struct luajson_buf *b, double d)
{
	char buf[JSONW_REAL_MAX];

	put(b, buf, jsonw_real_text(buf, d));
}

void
luajson_buf_put(struct luajson_buf *b, const char *s, size_t len)
{
	put(b, s, len);
}

void
luajson_buf_put_string(struct luajson_buf *b, const char *s, size_t len)
{
	put_string(b, s, len);
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF),
 * what jansson accepts in strings and keys. */
static bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else
			return false;
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

struct member {
	const char *key;	/* borrowed from the table being encoded */
	size_t klen;
	size_t start, end;	/* "key":value in the output */
};

struct enc {
	lua_State *L;
	const void *seen[LUAJSON_DEPTH];	/* tables on the current path */
	int depth;
	size_t size, max;		/* approximate JSON bytes so far */
	const char *what;		/* the root's name */
	struct step {			/* the path to the value at hand */
		const char *key;	/* NULL: list index n */
		lua_Integer n;
	} path[LUAJSON_DEPTH * 2 + 2];
	int npath;
	struct luajson_buf *out;
	struct luajson_buf scratch;	/* for sorting members */
	char *err;
	size_t errlen;
};

static int enc_value(struct enc *e, int idx);

static int
enc_fail(struct enc *e, const char *why)
{
	char path[160];
	size_t o;
	int i;

	/* The path is spelled out only here, on failure. */
	o = (size_t)snprintf(path, sizeof path, "%s", e->what);
	for (i = 0; i < e->npath && o < sizeof path; i++) {
		if (e->path[i].key != NULL)
			o += (size_t)snprintf(path + o, sizeof path - o, ".%s",
			    e->path[i].key);
		else
			o += (size_t)snprintf(path + o, sizeof path - o,
			    "[%lld]", (long long)e->path[i].n);
	}
	snprintf(e->err, e->errlen, "%s: %s", path, why);
	return -1;
}

/* Appends ".key" or "[n]" to the path; returns the old length. */
static int
path_push(struct enc *e, const char *key, lua_Integer n)
{
	e->path[e->npath].key = key;
	e->path[e->npath].n = n;
	return e->npath++;
}

static int
cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);

	if (c != 0)
		return c;
	return x->klen < y->klen ? -1 : x->klen > y->klen;
}

/* Rewrites the members m[0..n) of the object ending the output in key
 * order.  The members are contiguous, separated by commas. */
static void
sort_members(struct enc *e, struct member *m, size_t n)
{
	struct luajson_buf *o = e->out, *t = &e->scratch;
	size_t first = m[0].start, i;

	qsort(m, n, sizeof *m, cmp_member);
	t->len = 0;
	put(t, o->p + first, o->len - first);
	o->len = first;
	for (i = 0; i < n; i++) {
		if (i > 0)
			put_ch(o, ',');
		put(o, t->p + (m[i].start - first), m[i].end - m[i].start);
	}
}

static int
enc_object(struct enc *e, int idx)
{
	lua_State *L = e->L;
	struct member local[16], *m = local;
	size_t nm = 0, am = 16, klen;
	int old;
	const char *k;
	int rc = -1;

	put_ch(e->out, '{');
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		k = lua_tolstring(L, -2, &klen);
		old = path_push(e, k, 0);
		e->size += klen + 4;
		if (nm > 0)
			put_ch(e->out, ',');
		if (nm == am) {
			am *= 2;
			m = m == local ? memcpy(xreallocarray(NULL, am, sizeof *m),
			    local, sizeof local) : xreallocarray(m, am, sizeof *m);
		}
		m[nm].key = k;
		m[nm].klen = klen;
		m[nm].start = e->out->len;
		put_string(e->out, k, klen);
		put_ch(e->out, ':');
		if (enc_value(e, lua_gettop(L)) == -1) {
			lua_pop(L, 2);
			goto out;
		}
		if (!utf8_valid((const unsigned char *)k, klen)) {
			lua_pop(L, 2);
			enc_fail(e, "key is not valid UTF-8");
			goto out;
		}
		m[nm++].end = e->out->len;
		e->npath = old;
		lua_pop(L, 1);
	}
	if (nm > 1)
		sort_members(e, m, nm);
	put_ch(e->out, '}');
	rc = 0;
out:
	if (m != local)
		free(m);
	return rc;
}

static int
enc_table(struct enc *e, int idx)
{
	lua_State *L = e->L;
	const void *p = lua_topointer(L, idx);
	size_t nstr = 0;
	lua_Integer nint = 0, maxk = 0, i;
	char why[64];
	int kt, rc = 0, old;

	for (i = 0; i < e->depth; i++)
		if (e->seen[i] == p)
			return enc_fail(e, "cyclic table");
	if (e->depth >= LUAJSON_DEPTH)
		return enc_fail(e, "tables nested too deep");
	if (!lua_checkstack(L, 4))
		return enc_fail(e, "out of memory");
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
			return enc_fail(e, why);
		}
		lua_pop(L, 1);
	}
	if (nstr > 0 && nint > 0)
		return enc_fail(e, "a table cannot mix string and number keys");
	if (nint > 0 && maxk != nint)
		return enc_fail(e, "a list must have the keys 1..n without holes");
	e->seen[e->depth++] = p;
	if (nint > 0) {
		put_ch(e->out, '[');
		for (i = 1; i <= nint && rc == 0; i++) {
			if (i > 1)
				put_ch(e->out, ',');
			lua_rawgeti(L, idx, i);
			old = path_push(e, NULL, i);
			rc = enc_value(e, lua_gettop(L));
			lua_pop(L, 1);
			if (rc == 0)
				e->npath = old;
		}
		put_ch(e->out, ']');
	} else
		rc = enc_object(e, idx);
	e->depth--;
	return rc;
}

static int
enc_value(struct enc *e, int idx)
{
	lua_State *L = e->L;
	const char *s;
	size_t len;
	double d;
	char why[64];

	e->size += 8;
	if (e->size > e->max) {
		snprintf(why, sizeof why, "more than %zu bytes of state", e->max);
		return enc_fail(e, why);
	}
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		e->size += len;
		if (e->size > e->max) {
			snprintf(why, sizeof why, "more than %zu bytes of state",
			    e->max);
			return enc_fail(e, why);
		}
		if (!utf8_valid((const unsigned char *)s, len))
			return enc_fail(e, "string is not valid UTF-8");
		put_string(e->out, s, len);
		return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			put_int(e->out, lua_tointeger(L, idx));
			return 0;
		}
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			return enc_fail(e, "NaN and infinity cannot be kept");
		put_real(e->out, d);
		return 0;
	case LUA_TBOOLEAN:
		if (lua_toboolean(L, idx))
			put(e->out, "true", 4);
		else
			put(e->out, "false", 5);
		return 0;
	case LUA_TTABLE:
		return enc_table(e, idx);
	default:
		snprintf(why, sizeof why, "cannot keep a %s value",
		    luaL_typename(L, idx));
		return enc_fail(e, why);
	}
}

int
luajson_encode(lua_State *L, int idx, const char *what, size_t max,
    struct luajson_buf *out, char *err, size_t errlen)
{
	struct enc e;
	int rc;

	memset(&e, 0, sizeof e);
	e.L = L;
	e.max = max;
	e.out = out;
	e.err = err;
	e.errlen = errlen;
	out->len = 0;
	put(out, "", 0);
	e.what = what;
	rc = enc_value(&e, lua_absindex(L, idx));
	luajson_buf_free(&e.scratch);
	return rc;
}
