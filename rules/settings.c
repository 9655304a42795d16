/*
 * settings.c: validation of the built-in rules' settings (SPEC "Rules"):
 * speed_limit, overspeed_duration, overspeed_hysteresis, overspeed_end,
 * fences, fence_dwell, cooldown.
 */
#include "rules/settings.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lib/xmalloc.h"

enum kind { NUM_POSITIVE, NUM_NONNEG };

void
settings_default(struct settings *s)
{
	memset(s, 0, sizeof *s);
	s->overspeed_hysteresis = SETTINGS_HYSTERESIS_DEFAULT;
	s->all_fences = true;
}

void
settings_clear(struct settings *s)
{
	size_t i;

	for (i = 0; i < s->nfences; i++)
		free(s->fences[i]);
	free(s->fences);
	settings_default(s);
}

/* Pushes t[key] (raw) and returns its type. */
static int
raw_field(lua_State *L, int idx, const char *key)
{
	lua_pushstring(L, key);
	return lua_rawget(L, idx);
}

/*
 * Reads a number setting; absent keeps *out.  Returns 0, 1 when the key
 * holds false (only allowed where `nullable`), or -1 with err.
 */
static int
number(lua_State *L, int idx, const char *key, enum kind kind, bool nullable,
    double *out, const char *who, char *err, size_t errlen)
{
	int t = raw_field(L, idx, key), rc = 0;
	double v;

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t == LUA_TBOOLEAN && nullable && !lua_toboolean(L, -1)) {
		lua_pop(L, 1);
		return 1;
	}
	v = lua_tonumber(L, -1);
	if (t != LUA_TNUMBER || !isfinite(v) ||
	    (kind == NUM_POSITIVE ? v <= 0 : v < 0)) {
		snprintf(err, errlen, "%s: %s must be %s%s (got %s%s)", who, key,
		    kind == NUM_POSITIVE ? "a positive number" :
		    "a number >= 0", nullable ? " or false" : "",
		    t == LUA_TNUMBER ? "" : lua_typename(L, t),
		    t == LUA_TNUMBER ? "a number out of range" : "");
		rc = -1;
	} else
		*out = v;
	lua_pop(L, 1);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
fences(lua_State *L, int idx, struct settings *s, const char *who, char *err,
    size_t errlen)
{
	int t = raw_field(L, idx, "fences");
	lua_Integer i, n;
	size_t len;
	const char *id;

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t == LUA_TSTRING && strcmp(lua_tostring(L, -1), "*") == 0) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TTABLE) {
		snprintf(err, errlen, "%s: fences must be \"*\" or a list of "
		    "fence ids (got %s)", who, lua_typename(L, t));
		lua_pop(L, 1);
		return -1;
	}
	n = (lua_Integer)lua_rawlen(L, -1);
	s->all_fences = false;
	s->fences = xcalloc((size_t)n + 1, sizeof *s->fences);
	for (i = 1; i <= n; i++) {
		if (lua_rawgeti(L, -1, i) != LUA_TSTRING ||
		    (id = lua_tolstring(L, -1, &len)) == NULL || len == 0) {
			snprintf(err, errlen, "%s: fences[%lld] must be a "
			    "non-empty string (got %s)", who, (long long)i,
			    luaL_typename(L, -1));
			lua_pop(L, 2);
			return -1;
		}
		s->fences[s->nfences++] = xstrndup(id, len);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	qsort(s->fences, s->nfences, sizeof *s->fences, cmp_str);
	return 0;
}

int
settings_parse(lua_State *L, int idx, const char *who, struct settings *out,
    char *err, size_t errlen)
{
	int t, rc;

	idx = lua_absindex(L, idx);
	settings_default(out);
	rc = number(L, idx, "speed_limit", NUM_POSITIVE, true,
	    &out->speed_limit, who, err, errlen);
	if (rc == -1)
		goto fail;
	t = raw_field(L, idx, "speed_limit");
	out->has_speed_limit = t == LUA_TNUMBER;
	lua_pop(L, 1);
	if (number(L, idx, "overspeed_duration", NUM_NONNEG, false,
	    &out->overspeed_duration, who, err, errlen) != 0 ||
	    number(L, idx, "overspeed_hysteresis", NUM_NONNEG, false,
	    &out->overspeed_hysteresis, who, err, errlen) != 0 ||
	    number(L, idx, "fence_dwell", NUM_NONNEG, false,
	    &out->fence_dwell, who, err, errlen) != 0 ||
	    number(L, idx, "cooldown", NUM_NONNEG, false,
	    &out->cooldown, who, err, errlen) != 0)
		goto fail;
	t = raw_field(L, idx, "overspeed_end");
	if (t != LUA_TNIL && t != LUA_TBOOLEAN) {
		snprintf(err, errlen, "%s: overspeed_end must be true or false "
		    "(got %s)", who, lua_typename(L, t));
		lua_pop(L, 1);
		goto fail;
	}
	out->overspeed_end = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (fences(L, idx, out, who, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	settings_clear(out);
	return -1;
}

bool
settings_fence_enabled(const struct settings *s, const char *fence)
{
	if (s->all_fences)
		return true;
	return bsearch(&fence, s->fences, s->nfences, sizeof *s->fences,
	    cmp_str) != NULL;
}
