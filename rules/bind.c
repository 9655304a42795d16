/*
 * bind.c: C <-> Lua values for rules: position fields, dev.state as JSON,
 * alert tables, read-only settings copies.  Leaves the call sequence and
 * the bookkeeping to rules.c.
 */
#include "rules/bind.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
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

/* Raw next, the generator pairs(pos) returns. */
static int
l_next_raw(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	if (lua_next(L, 1))
		return 2;
	lua_pushnil(L);
	return 1;
}

/* __pairs of the pos proxy: every field, then next over data. */
static int
l_pos_pairs(lua_State *L)
{
	struct bind_posref *ref = lua_touserdata(L, lua_upvalueindex(1));
	int data;

	luaL_checkstack(L, 6, "pairs(pos)");
	lua_getmetatable(L, 1);
	lua_pushliteral(L, "__index");
	lua_rawget(L, -2);
	data = lua_gettop(L);
	if (ref->pos != NULL && !ref->all) {
		store_all(L, data, ref->pos, ref);
		ref->all = true;
		ref->dirty = true;
	}
	lua_pushcfunction(L, l_next_raw);
	lua_pushvalue(L, data);
	lua_pushnil(L);
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
	lua_pushcclosure(L, l_pos_pairs, 1);
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
 * Lua -> JSON text
 *
 * The text is canonical: compact, object keys sorted bytewise, numbers
 * and strings written the way jansson's json_dumps(JSON_COMPACT |
 * JSON_SORT_KEYS) writes them, so equal values give equal texts and a
 * state can be compared with its previous text by memcmp.
 * =================================================================== */

void
bind_buf_free(struct bind_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static void
put(struct bind_buf *b, const char *s, size_t n)
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
put_ch(struct bind_buf *b, char c)
{
	if (b->cap - b->len >= 2) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
	} else
		put(b, &c, 1);
}

/* A JSON string; like jansson: only '"', '\\' and controls escaped. */
static void
put_string(struct bind_buf *b, const char *s, size_t len)
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
put_int(struct bind_buf *b, lua_Integer v)
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

/* A real as jansson writes it: %.17g, ".0" if it looks like an integer,
 * no '+' nor leading zeros in the exponent. */
static void
put_real(struct bind_buf *b, double d)
{
	char buf[40], *e, *from;
	int n = snprintf(buf, sizeof buf - 3, "%.17g", d);

	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	if ((e = strchr(buf, 'e')) != NULL) {
		e++;
		if (*e == '-')
			e++;
		for (from = e; *from == '+' || *from == '0'; from++)
			;
		if (*from == '\0')
			from--;		/* keep one zero */
		memmove(e, from, strlen(from) + 1);
		n = (int)strlen(buf);
	}
	put(b, buf, (size_t)n);
}

void
bind_buf_put(struct bind_buf *b, const char *s, size_t len)
{
	put(b, s, len);
}

void
bind_buf_put_string(struct bind_buf *b, const char *s, size_t len)
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
	const void *seen[BIND_DEPTH];	/* tables on the current path */
	int depth;
	size_t size, max;		/* approximate JSON bytes so far */
	const char *what;		/* the root's name */
	struct step {			/* the path to the value at hand */
		const char *key;	/* NULL: list index n */
		lua_Integer n;
	} path[BIND_DEPTH * 2 + 2];
	int npath;
	struct bind_buf *out;
	struct bind_buf scratch;	/* for sorting members */
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
	struct bind_buf *o = e->out, *t = &e->scratch;
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
	if (e->depth >= BIND_DEPTH)
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
bind_to_text(lua_State *L, int idx, const char *what, size_t max,
    struct bind_buf *out, char *err, size_t errlen)
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
	bind_buf_free(&e.scratch);
	return rc;
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
