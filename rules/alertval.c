/*
 * alertval.c: the value a rule returns, checked and converted into alerts
 * (type, message, the other fields as a JSON object).  Leaves to others
 * when a rule runs and what becomes of its alerts (rules.c, result.c).
 */
#include "rules/alertval.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>

#include "lib/xmalloc.h"

#define TYPE_MAX 64		/* alert type length */
#define TEXT_MAX 1024		/* alert message and extra string length */
#define EXTRA_MAX 32		/* extra fields per alert */

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
one_alert(lua_State *L, int t, struct alertval *a, char *err, size_t errlen)
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
			alertval_clear(a);
			return -1;
		}
	}
	return 0;
fail_pop2:
	lua_pop(L, 1);
fail_pop:
	lua_pop(L, 1);
	json_decref(extra);
	alertval_clear(a);
	return -1;
}

int
alertval_parse(lua_State *L, int idx, struct alertval *out, size_t max,
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
		alertval_clear(&out[--*n]);
	return -1;
}

void
alertval_clear(struct alertval *a)
{
	free(a->type);
	free(a->message);
	free(a->extra);
	memset(a, 0, sizeof *a);
}
