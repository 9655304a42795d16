/*
 * ruleset.c: the table a rules file returns, checked and turned into
 * entries: settings overlaid key by key (defaults, then the device's
 * own), dev.settings as read-only copies, rule lists overlaid by name.
 *
 * Leaves to others: loading and running the file (rules.c), what a
 * setting means (settings.c), the failure policy (rules.c).
 */
#include "rules/ruleset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lib/xmalloc.h"
#include "rules/bind.h"

static const char *const builtin_names[] = {
	"fence_enter", "fence_exit", "overspeed", "overspeed_end", "power_cut",
	"sos", NULL
};

static int
raise_fmt(lua_State *L, struct ruleset *rs, const char *fmt, const char *a,
    const char *b)
{
	return luaL_error(L, "%s: %s", rs->name,
	    lua_pushfstring(L, fmt, a, b));
}

static void
add_rule_object(struct ruleset *rs, struct ruleset_rule *ru)
{
	rs->all = xreallocarray(rs->all, rs->nall + 1, sizeof *rs->all);
	rs->all[rs->nall++] = ru;
}

/* New rule from the function on top of the stack (popped). */
static struct ruleset_rule *
new_rule(lua_State *L, struct ruleset *rs, const char *name)
{
	struct ruleset_rule *ru = xcalloc(1, sizeof *ru);

	ru->name = xstrdup(name);
	ru->ref = LUA_NOREF;
	add_rule_object(rs, ru);
	ru->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return ru;
}

static void
check_rule_name(lua_State *L, struct ruleset *rs, const char *who, int kidx)
{
	const char *const *b;
	const char *name;
	size_t len, i;

	if (lua_type(L, kidx) != LUA_TSTRING)
		raise_fmt(L, rs, "%s: rule names must be strings (got %s)", who,
		    luaL_typename(L, kidx));
	name = lua_tolstring(L, kidx, &len);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-')
			break;
	if (len == 0 || len > RULESET_NAME_MAX || i < len)
		raise_fmt(L, rs, "%s: rule name '%s' must be 1 to 64 letters, "
		    "digits, '_' or '-'", who, name);
	for (b = builtin_names; *b != NULL; b++)
		if (strcmp(*b, name) == 0)
			raise_fmt(L, rs, "%s: rule name '%s' is taken by a "
			    "built-in rule", who, name);
}

static int
cmp_rule_ptr(const void *a, const void *b)
{
	return strcmp((*(struct ruleset_rule *const *)a)->name,
	    (*(struct ruleset_rule *const *)b)->name);
}

/* Copies every key of the table at src into the table at dst (raw). */
static void
copy_into(lua_State *L, int dst, int src, const char *skip)
{
	lua_pushnil(L);
	while (lua_next(L, src)) {
		if (skip != NULL && lua_type(L, -2) == LUA_TSTRING &&
		    strcmp(lua_tostring(L, -2), skip) == 0) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, dst);
	}
}

/*
 * Fills e: settings (defaults at idefs overlaid by the device table at
 * idev, 0 for the defaults entry), dev.settings view, rule list (shared
 * rules at ishared[0..nshared) overlaid by the device's own).
 */
static void
build_entry(lua_State *L, struct ruleset *rs, struct ruleset_entry *e,
    int idefs, int idev, struct ruleset_rule **shared, size_t nshared)
{
	static const char *const skip[] = { "rules", NULL };
	char who[RULESET_NAME_MAX + 16], err[512];
	int merged, own = 0, t;
	size_t i, nown = 0;

	snprintf(who, sizeof who, e->id != NULL ? "device '%s'" : "defaults",
	    e->id);
	lua_createtable(L, 0, 16);
	merged = lua_gettop(L);
	copy_into(L, merged, idefs, NULL);
	if (idev != 0)
		copy_into(L, merged, idev, "rules");
	if (settings_parse(L, merged, who, &e->settings, err,
	    sizeof err) == -1)
		raise_fmt(L, rs, "%s", err, NULL);
	bind_readonly_copy(L, merged, skip);
	e->view = luaL_ref(L, LUA_REGISTRYINDEX);
	if (idev != 0) {
		lua_pushliteral(L, "rules");
		t = lua_rawget(L, idev);
		if (t == LUA_TTABLE) {
			own = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, own)) {
				nown++;
				lua_pop(L, 1);
			}
		} else if (t != LUA_TNIL)
			raise_fmt(L, rs, "%s: rules must be a table of functions "
			    "(got %s)", who, luaL_typename(L, -1));
	}
	e->rules = xcalloc(nshared + nown + 1, sizeof *e->rules);
	for (i = 0; i < nshared; i++) {
		if (own != 0) {
			lua_pushstring(L, shared[i]->name);
			t = lua_rawget(L, own);
			lua_pop(L, 1);
			if (t != LUA_TNIL)
				continue;
		}
		e->rules[e->nrules++] = shared[i];
	}
	if (own != 0) {
		lua_pushnil(L);
		while (lua_next(L, own)) {
			check_rule_name(L, rs, who, -2);
			t = lua_type(L, -1);
			if (t == LUA_TFUNCTION)
				e->rules[e->nrules++] = new_rule(L, rs,
				    lua_tostring(L, -2));
			else if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))
				lua_pop(L, 1);
			else
				raise_fmt(L, rs, "%s: rules.%s must be a function "
				    "or false", who, lua_tostring(L, -2));
		}
	}
	qsort(e->rules, e->nrules, sizeof *e->rules, cmp_rule_ptr);
	if (e->id != NULL) {
		e->fails = xcalloc(e->nrules + 1, sizeof *e->fails);
		e->off = xcalloc(e->nrules + 1, sizeof *e->off);
	}
	lua_settop(L, merged - 1);
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct ruleset_entry *)a)->id,
	    ((const struct ruleset_entry *)b)->id);
}

/* Device id of the key at kidx as text, into buf. */
static const char *
device_key(lua_State *L, struct ruleset *rs, int kidx, char *buf, size_t size)
{
	const char *s;
	size_t len, i;

	if (lua_type(L, kidx) == LUA_TNUMBER && lua_isinteger(L, kidx)) {
		snprintf(buf, size, "%lld", (long long)lua_tointeger(L, kidx));
		return buf;
	}
	if (lua_type(L, kidx) != LUA_TSTRING)
		raise_fmt(L, rs, "devices: keys must be device ids (got a %s)",
		    luaL_typename(L, kidx), NULL);
	s = lua_tolstring(L, kidx, &len);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			break;
	if (len == 0 || len > RULESET_NAME_MAX || i < len)
		raise_fmt(L, rs, "devices: '%s' is not a device id (1 to 64 "
		    "printable characters, no spaces)", s, NULL);
	return s;
}

void
ruleset_build(lua_State *L, int res, struct ruleset *rs)
{
	struct ruleset_rule **shared = NULL;
	char idbuf[32];
	int irules, idefs, idevs, top = lua_gettop(L);
	size_t n;

	res = lua_absindex(L, res);
	if (!lua_istable(L, res))
		raise_fmt(L, rs, "the file must return a table "
		    "{ defaults = ..., devices = ..., rules = ... } (got %s)",
		    luaL_typename(L, res), NULL);
	lua_pushnil(L);
	while (lua_next(L, res)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ?
		    lua_tostring(L, -2) : "?";

		if (strcmp(k, "defaults") != 0 && strcmp(k, "devices") != 0 &&
		    strcmp(k, "rules") != 0)
			raise_fmt(L, rs, "unknown top-level key '%s' "
			    "(expected defaults, devices, rules)", k, NULL);
		if (!lua_istable(L, -1))
			raise_fmt(L, rs, "%s must be a table (got %s)", k,
			    luaL_typename(L, -1));
		lua_pop(L, 1);
	}
	lua_getfield(L, res, "rules");
	irules = lua_gettop(L);
	lua_getfield(L, res, "defaults");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_createtable(L, 0, 0);
	}
	idefs = lua_gettop(L);
	lua_getfield(L, res, "devices");
	idevs = lua_gettop(L);

	lua_pushliteral(L, "rules");
	if (lua_rawget(L, idefs) != LUA_TNIL)
		raise_fmt(L, rs, "defaults: rules go in the top-level "
		    "rules table (or a device's own)", NULL, NULL);
	lua_pop(L, 1);
	n = 0;
	if (lua_istable(L, irules)) {
		lua_pushnil(L);
		while (lua_next(L, irules)) {
			n++;
			lua_pop(L, 1);
		}
	}
	/* shared[] borrows rule objects owned by rs->all. */
	lua_newuserdatauv(L, (n + 1) * sizeof *shared, 0);
	shared = lua_touserdata(L, -1);
	n = 0;
	if (lua_istable(L, irules)) {
		lua_pushnil(L);
		while (lua_next(L, irules)) {
			check_rule_name(L, rs, "rules", -2);
			if (!lua_isfunction(L, -1))
				raise_fmt(L, rs, "rules.%s must be a "
				    "function (got %s)", lua_tostring(L, -2),
				    luaL_typename(L, -1));
			shared[n] = new_rule(L, rs, lua_tostring(L, -2));
			n++;
		}
	}
	qsort(shared, n, sizeof *shared, cmp_rule_ptr);
	build_entry(L, rs, &rs->defaults, idefs, 0, shared, n);

	if (lua_istable(L, idevs)) {
		size_t ndev = 0;

		lua_pushnil(L);
		while (lua_next(L, idevs)) {
			ndev++;
			lua_pop(L, 1);
		}
		rs->devices = xcalloc(ndev + 1, sizeof *rs->devices);
		lua_pushnil(L);
		while (lua_next(L, idevs)) {
			struct ruleset_entry *e = &rs->devices[rs->ndevices];
			const char *id = device_key(L, rs, -2, idbuf,
			    sizeof idbuf);

			if (!lua_istable(L, -1))
				raise_fmt(L, rs, "device '%s' must be a "
				    "table of settings (got %s)", id,
				    luaL_typename(L, -1));
			settings_default(&e->settings);
			e->view = LUA_NOREF;
			e->id = xstrdup(id);
			rs->ndevices++;
			build_entry(L, rs, e, idefs, lua_gettop(L), shared, n);
			lua_pop(L, 1);
		}
		qsort(rs->devices, rs->ndevices, sizeof *rs->devices, cmp_entry);
		for (n = 1; n < rs->ndevices; n++)
			if (strcmp(rs->devices[n - 1].id, rs->devices[n].id) == 0)
				raise_fmt(L, rs, "device '%s' is listed "
				    "twice", rs->devices[n].id, NULL);
	}
	lua_settop(L, top);
}

static int
cmp_entry_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct ruleset_entry *)elem)->id);
}

struct ruleset_entry *
ruleset_find(const struct ruleset *rs, const char *device)
{
	struct ruleset_entry *e = NULL;

	if (rs->ndevices > 0)
		e = bsearch(device, rs->devices, rs->ndevices, sizeof *rs->devices,
		    cmp_entry_id);
	return e != NULL ? e : (struct ruleset_entry *)&rs->defaults;
}

void
ruleset_init(struct ruleset *rs, const char *name)
{
	memset(rs, 0, sizeof *rs);
	rs->name = name;
	settings_default(&rs->defaults.settings);
	rs->defaults.view = LUA_NOREF;
}

void
ruleset_reset(struct ruleset *rs)
{
	size_t i, j;

	for (i = 0; i < rs->nall; i++) {
		rs->all[i]->streak = 0;
		rs->all[i]->off_all = false;
	}
	for (i = 0; i < rs->ndevices; i++)
		for (j = 0; j < rs->devices[i].nrules; j++) {
			rs->devices[i].fails[j] = 0;
			rs->devices[i].off[j] = false;
		}
}

static void
entry_clear(struct ruleset_entry *e)
{
	free(e->id);
	settings_clear(&e->settings);
	free(e->rules);
	free(e->fails);
	free(e->off);
}

void
ruleset_clear(struct ruleset *rs)
{
	size_t i;

	entry_clear(&rs->defaults);
	for (i = 0; i < rs->ndevices; i++)
		entry_clear(&rs->devices[i]);
	free(rs->devices);
	for (i = 0; i < rs->nall; i++) {
		free(rs->all[i]->name);
		free(rs->all[i]);
	}
	free(rs->all);
	memset(rs, 0, sizeof *rs);
}
