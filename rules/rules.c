/*
 * rules.c: loading a rules file (validation, settings overlay, per-device
 * rule lists), running a device's custom rules for one position with
 * per-rule rollback, the failure policy, the self-check and --check.
 *
 * Leaves to others: the sandbox mechanics (sandbox.c), value conversions
 * (bind.c), the built-in rules and where state is stored (engine).
 */
#include "rules/rules.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lib/xmalloc.h"
#include "rules/alertval.h"
#include "rules/bind.h"
#include "rules/check.h"
#include "rules/devstate.h"
#include "rules/helpers.h"
#include "rules/result.h"
#include "rules/sandbox.h"
#include "rules/strikes.h"

#define NAME_MAX_LEN 64		/* rule names and device ids */
#define LOAD_BUDGET_FACTOR 100	/* the file's own chunk may build big tables */
#define ERR_LEN 512

struct rule {
	char *name;
	int ref;		/* the function, in the registry */
	int streak;		/* failures in a row, all devices */
	bool off_all;
};

struct entry {
	char *id;		/* NULL: the defaults */
	struct settings settings;
	int view;		/* dev.settings (read-only copy), registry ref */
	struct rule **rules;	/* sorted by name */
	size_t nrules;
	int *fails;		/* listed devices: per rule, in a row */
	bool *off;
};

struct rules {
	struct sandbox *sb;
	char *name;
	struct entry defaults;
	struct entry *devices;	/* sorted by id */
	size_t ndevices;
	struct rule **all;
	size_t nall;
	struct strikes *strikes;	/* devices using the defaults */
	int pos_data, pos_proxy, lists[3], proxies[3], dev_data, dev_proxy;
	int bind_fn, rule_fn;		/* l_bind, l_rule closures */
	struct bind_posref posref;	/* the position being run */
	struct devstate *states;	/* dev.state tables of recent devices */
	/* during a rule call */
	const char *cur_rule;
	size_t cur_cmds;
	struct result *out;
};

static const char *const builtin_names[] = {
	"fence_enter", "fence_exit", "overspeed", "overspeed_end", "power_cut",
	"sos", NULL
};

/* {==================================================================
 * Failure policy (see rules.h)
 * =================================================================== */

static bool
rule_off(struct rules *r, struct entry *e, size_t i, const char *device)
{
	struct strike *s;

	if (e->rules[i]->off_all)
		return true;
	if (e->id != NULL)
		return e->off[i];
	s = strikes_get(r->strikes, device, i, false);
	return s != NULL && s->off;
}

static void
rule_ok(struct rules *r, struct entry *e, size_t i, const char *device)
{
	e->rules[i]->streak = 0;
	if (e->id != NULL)
		e->fails[i] = 0;
	else
		strikes_del(r->strikes, device, i);
}

static void
rule_failed(struct rules *r, struct entry *e, size_t i, const char *device,
    const char *msg)
{
	struct rule *ru = e->rules[i];
	struct strike *s = NULL;
	char line[ERR_LEN + 128], note[128] = "";
	int fails;

	if (e->id != NULL)
		fails = ++e->fails[i];
	else if ((s = strikes_get(r->strikes, device, i, true)) != NULL)
		fails = ++s->fails;
	else
		fails = 0;
	if (++ru->streak >= RULES_FAIL_ALL) {
		ru->off_all = true;
		snprintf(note, sizeof note, "; rule disabled for every device "
		    "until the rules are reloaded (%d failures in a row)",
		    RULES_FAIL_ALL);
	} else if (fails >= RULES_FAIL_LIMIT) {
		if (e->id != NULL)
			e->off[i] = true;
		else
			s->off = true;
		snprintf(note, sizeof note, "; rule disabled for this device "
		    "until the rules are reloaded (%d failures in a row)",
		    RULES_FAIL_LIMIT);
	}
	snprintf(line, sizeof line, "%s%s", msg, note);
	result_error(r->out, device, ru->name, line);
}

/* {==================================================================
 * Running rules
 * =================================================================== */

/* dev.command(name [, param]): queues a downlink after checking it. */
static int
l_command(lua_State *L)
{
	struct rules *r = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	const char *param = luaL_optstring(L, 2, NULL);
	char err[160];

	if (result_check_command(name, param, err, sizeof err) == -1)
		return luaL_error(L, "dev.command: %s", err);
	if (r->cur_rule == NULL)
		return luaL_error(L, "dev.command: no rule is running");
	if (r->cur_cmds >= RULES_MAX_COMMANDS)
		return luaL_error(L, "dev.command: at most %d commands per "
		    "rule and position", RULES_MAX_COMMANDS);
	result_command(r->out, r->cur_rule, name, param);
	r->cur_cmds++;
	return 0;
}

struct bind_args {
	struct rules *r;
	struct entry *e;
	const char *device;
	const struct rules_pos *pos;
	const char *state;
	bool bad_state;		/* state was refused: err says why */
	char err[ERR_LEN];
};

/*
 * Binds the position and the device (protected).  A closure made once at
 * load: upvalue 1 is pos's data table, 2-4 the inside, entered and exited
 * lists, 5-7 their proxies, 8 dev's data table.
 */
static int
l_bind(lua_State *L)
{
	struct bind_args *a = lua_touserdata(L, 1);
	struct rules *r = a->r;
	static const int lists[3] = { 3, 4, 5 }, proxies[3] = { 6, 7, 8 };
	int i;

	/* The cache may hold at most half the heap: the rules need the rest. */
	if (sandbox_mem_used(r->sb) > sandbox_mem_max(r->sb) / 2)
		devstate_clear(r->states, L);
	lua_settop(L, 1);
	for (i = 1; i <= 8; i++)
		lua_pushvalue(L, lua_upvalueindex(i));
	bind_pos(L, 2, lists, proxies, &r->posref, a->pos);
	lua_pushstring(L, a->device);
	lua_setfield(L, 9, "id");
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->e->view);
	lua_setfield(L, 9, "settings");
	if (devstate_open(r->states, L, a->device, a->state, a->err,
	    sizeof a->err) == -1)
		a->bad_state = true;
	return 0;
}

struct call {
	struct rules *r;
	struct rule *rule;
	char err[ERR_LEN];
	bool failed;
};

/*
 * Runs one rule (protected); failures go to c->err (a raise here is one
 * too).  A closure made once at load: upvalue 1 is dev's data table, 2
 * the pos proxy, 3 the dev proxy.
 */
static int
l_rule(lua_State *L)
{
	struct call *c = lua_touserdata(L, 1);
	struct rules *r = c->r;
	struct alertval tmp[RULES_MAX_ALERTS];
	size_t n, i;
	int st;

	devstate_push(r->states, L, c->rule->name);
	st = lua_gettop(L);
	lua_pushvalue(L, st);
	lua_setfield(L, lua_upvalueindex(1), "state");
	lua_rawgeti(L, LUA_REGISTRYINDEX, c->rule->ref);
	lua_pushvalue(L, lua_upvalueindex(2));
	lua_pushvalue(L, lua_upvalueindex(3));
	if (sandbox_call(r->sb, 2, 1, c->err, sizeof c->err) == -1) {
		c->failed = true;
		return 0;
	}
	if (alertval_parse(L, -1, tmp, RULES_MAX_ALERTS, &n, c->err,
	    sizeof c->err) == -1) {
		c->failed = true;
		return 0;
	}
	if (devstate_keep(r->states, L, c->rule->name, st, RULES_STATE_MAX,
	    c->err, sizeof c->err) == -1) {
		for (i = 0; i < n; i++)
			alertval_clear(&tmp[i]);
		c->failed = true;
		return 0;
	}
	/* Success: commit the alerts. */
	for (i = 0; i < n; i++)
		result_alert(r->out, c->rule->name, n > 1 ? (int)i + 1 : 0,
		    &tmp[i]);
	return 0;
}

static int
cmp_entry_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct entry *)elem)->id);
}

static struct entry *
find_entry(const struct rules *r, const char *device)
{
	struct entry *e = NULL;

	if (r->ndevices > 0)
		e = bsearch(device, r->devices, r->ndevices, sizeof *r->devices,
		    cmp_entry_id);
	return e != NULL ? e : (struct entry *)&r->defaults;
}

const struct settings *
rules_settings(const struct rules *r, const char *device)
{
	return &find_entry(r, device)->settings;
}

bool
rules_has_custom(const struct rules *r, const char *device)
{
	return find_entry(r, device)->nrules > 0;
}

const struct rules_result *
rules_run(struct rules *r, const char *device, const struct rules_pos *pos,
    const char *state)
{
	struct entry *e = find_entry(r, device);
	struct result *o = r->out;
	lua_State *L = sandbox_lua(r->sb);
	struct bind_args ba;
	struct call c;
	size_t i, ncmds;
	char err[ERR_LEN], *json;

	result_reset(o);
	if (e->nrules == 0)
		return result_view(o);
	memset(&ba, 0, sizeof ba);
	ba.r = r;
	ba.e = e;
	ba.device = device;
	ba.pos = pos;
	ba.state = state;
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->bind_fn);
	lua_pushlightuserdata(L, &ba);
	if (sandbox_pcall(r->sb, 1, err, sizeof err) == -1) {
		for (i = 0; i < e->nrules; i++)
			if (!rule_off(r, e, i, device))
				rule_failed(r, e, i, device, err);
		goto done;
	}
	if (ba.bad_state)
		result_error(o, device, "state", ba.err);
	memset(&c, 0, sizeof c);
	c.r = r;
	for (i = 0; i < e->nrules; i++) {
		if (rule_off(r, e, i, device))
			continue;
		c.rule = e->rules[i];
		c.failed = false;
		ncmds = result_ncommands(o);
		r->cur_rule = c.rule->name;
		r->cur_cmds = 0;
		lua_rawgeti(L, LUA_REGISTRYINDEX, r->rule_fn);
		lua_pushlightuserdata(L, &c);
		if (sandbox_pcall(r->sb, 1, c.err, sizeof c.err) == -1)
			c.failed = true;
		r->cur_rule = NULL;
		if (c.failed) {
			devstate_drop(r->states, L, c.rule->name);
			result_truncate_commands(o, ncmds);
			rule_failed(r, e, i, device, c.err);
		} else
			rule_ok(r, e, i, device);
	}
	if ((json = devstate_changed(r->states)) != NULL)
		result_set_state(o, json);
done:
	r->posref.pos = NULL;
	return result_view(o);
}

/* {==================================================================
 * Loading
 * =================================================================== */

struct build {
	struct rules *r;
	const char *src;	/* NULL: read r->name as a file */
	size_t len;
	long budget;
	char err[ERR_LEN];
};

static int
raise_fmt(lua_State *L, struct rules *r, const char *fmt, const char *a,
    const char *b)
{
	return luaL_error(L, "%s: %s", r->name,
	    lua_pushfstring(L, fmt, a, b));
}

static int
raise_text(lua_State *L, const char *msg)
{
	lua_pushstring(L, msg);
	return lua_error(L);
}

static void
add_rule_object(struct rules *r, struct rule *ru)
{
	r->all = xreallocarray(r->all, r->nall + 1, sizeof *r->all);
	r->all[r->nall++] = ru;
}

/* New rule from the function on top of the stack (popped). */
static struct rule *
new_rule(lua_State *L, struct rules *r, const char *name)
{
	struct rule *ru = xcalloc(1, sizeof *ru);

	ru->name = xstrdup(name);
	ru->ref = LUA_NOREF;
	add_rule_object(r, ru);
	ru->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return ru;
}

static void
check_rule_name(lua_State *L, struct rules *r, const char *who, int kidx)
{
	const char *const *b;
	const char *name;
	size_t len, i;

	if (lua_type(L, kidx) != LUA_TSTRING)
		raise_fmt(L, r, "%s: rule names must be strings (got %s)", who,
		    luaL_typename(L, kidx));
	name = lua_tolstring(L, kidx, &len);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-')
			break;
	if (len == 0 || len > NAME_MAX_LEN || i < len)
		raise_fmt(L, r, "%s: rule name '%s' must be 1 to 64 letters, "
		    "digits, '_' or '-'", who, name);
	for (b = builtin_names; *b != NULL; b++)
		if (strcmp(*b, name) == 0)
			raise_fmt(L, r, "%s: rule name '%s' is taken by a "
			    "built-in rule", who, name);
}

static int
cmp_rule_ptr(const void *a, const void *b)
{
	return strcmp((*(struct rule *const *)a)->name,
	    (*(struct rule *const *)b)->name);
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
build_entry(lua_State *L, struct build *b, struct entry *e, int idefs,
    int idev, struct rule **shared, size_t nshared)
{
	static const char *const skip[] = { "rules", NULL };
	struct rules *r = b->r;
	char who[NAME_MAX_LEN + 16];
	int merged, own = 0, t;
	size_t i, nown = 0;

	snprintf(who, sizeof who, e->id != NULL ? "device '%s'" : "defaults",
	    e->id);
	lua_createtable(L, 0, 16);
	merged = lua_gettop(L);
	copy_into(L, merged, idefs, NULL);
	if (idev != 0)
		copy_into(L, merged, idev, "rules");
	if (settings_parse(L, merged, who, &e->settings, b->err,
	    sizeof b->err) == -1)
		raise_fmt(L, r, "%s", b->err, NULL);
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
			raise_fmt(L, r, "%s: rules must be a table of functions "
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
			check_rule_name(L, r, who, -2);
			t = lua_type(L, -1);
			if (t == LUA_TFUNCTION)
				e->rules[e->nrules++] = new_rule(L, r,
				    lua_tostring(L, -2));
			else if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))
				lua_pop(L, 1);
			else
				raise_fmt(L, r, "%s: rules.%s must be a function "
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
	return strcmp(((const struct entry *)a)->id,
	    ((const struct entry *)b)->id);
}

/* Device id of the key at kidx as text, into buf. */
static const char *
device_key(lua_State *L, struct rules *r, int kidx, char *buf, size_t size)
{
	const char *s;
	size_t len, i;

	if (lua_type(L, kidx) == LUA_TNUMBER && lua_isinteger(L, kidx)) {
		snprintf(buf, size, "%lld", (long long)lua_tointeger(L, kidx));
		return buf;
	}
	if (lua_type(L, kidx) != LUA_TSTRING)
		raise_fmt(L, r, "devices: keys must be device ids (got a %s)",
		    luaL_typename(L, kidx), NULL);
	s = lua_tolstring(L, kidx, &len);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			break;
	if (len == 0 || len > NAME_MAX_LEN || i < len)
		raise_fmt(L, r, "devices: '%s' is not a device id (1 to 64 "
		    "printable characters, no spaces)", s, NULL);
	return s;
}

/* A table and its read-only proxy, both referenced. */
static void
new_bound(lua_State *L, int *data, int *proxy)
{
	lua_createtable(L, 0, 32);
	lua_pushvalue(L, -1);
	*data = luaL_ref(L, LUA_REGISTRYINDEX);
	sandbox_readonly(L, -1);
	*proxy = luaL_ref(L, LUA_REGISTRYINDEX);
}

static int
l_build(lua_State *L)
{
	struct build *b = lua_touserdata(L, 1);
	struct rules *r = b->r;
	struct rule **shared = NULL;
	char idbuf[32], *chunk;
	int res, irules, idefs, idevs, rc, i;
	size_t n;

	lua_settop(L, 0);
	if (helpers_load(r->sb, b->err, sizeof b->err) == -1)
		return raise_text(L, b->err);
	if (b->src != NULL) {
		chunk = xasprintf("@%s", r->name);
		rc = sandbox_load(r->sb, b->src, b->len, chunk, b->err,
		    sizeof b->err);
		free(chunk);
	} else
		rc = sandbox_load_file(r->sb, r->name, b->err, sizeof b->err);
	if (rc == -1)
		return raise_text(L, b->err);
	sandbox_set_budget(r->sb, b->budget * LOAD_BUDGET_FACTOR);
	rc = sandbox_call(r->sb, 0, 1, b->err, sizeof b->err);
	sandbox_set_budget(r->sb, b->budget);
	if (rc == -1)
		return raise_text(L, b->err);
	res = 1;
	if (!lua_istable(L, res))
		return raise_fmt(L, r, "the file must return a table "
		    "{ defaults = ..., devices = ..., rules = ... } (got %s)",
		    luaL_typename(L, res), NULL);
	lua_pushnil(L);
	while (lua_next(L, res)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ?
		    lua_tostring(L, -2) : "?";

		if (strcmp(k, "defaults") != 0 && strcmp(k, "devices") != 0 &&
		    strcmp(k, "rules") != 0)
			return raise_fmt(L, r, "unknown top-level key '%s' "
			    "(expected defaults, devices, rules)", k, NULL);
		if (!lua_istable(L, -1))
			return raise_fmt(L, r, "%s must be a table (got %s)", k,
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
		return raise_fmt(L, r, "defaults: rules go in the top-level "
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
	/* shared[] borrows rule objects owned by r->all. */
	lua_newuserdatauv(L, (n + 1) * sizeof *shared, 0);
	shared = lua_touserdata(L, -1);
	n = 0;
	if (lua_istable(L, irules)) {
		lua_pushnil(L);
		while (lua_next(L, irules)) {
			check_rule_name(L, r, "rules", -2);
			if (!lua_isfunction(L, -1))
				return raise_fmt(L, r, "rules.%s must be a "
				    "function (got %s)", lua_tostring(L, -2),
				    luaL_typename(L, -1));
			shared[n] = new_rule(L, r, lua_tostring(L, -2));
			n++;
		}
	}
	qsort(shared, n, sizeof *shared, cmp_rule_ptr);
	build_entry(L, b, &r->defaults, idefs, 0, shared, n);

	if (lua_istable(L, idevs)) {
		size_t ndev = 0;

		lua_pushnil(L);
		while (lua_next(L, idevs)) {
			ndev++;
			lua_pop(L, 1);
		}
		r->devices = xcalloc(ndev + 1, sizeof *r->devices);
		lua_pushnil(L);
		while (lua_next(L, idevs)) {
			struct entry *e = &r->devices[r->ndevices];
			const char *id = device_key(L, r, -2, idbuf,
			    sizeof idbuf);

			if (!lua_istable(L, -1))
				return raise_fmt(L, r, "device '%s' must be a "
				    "table of settings (got %s)", id,
				    luaL_typename(L, -1));
			settings_default(&e->settings);
			e->view = LUA_NOREF;
			e->id = xstrdup(id);
			r->ndevices++;
			build_entry(L, b, e, idefs, lua_gettop(L), shared, n);
			lua_pop(L, 1);
		}
		qsort(r->devices, r->ndevices, sizeof *r->devices, cmp_entry);
		for (n = 1; n < r->ndevices; n++)
			if (strcmp(r->devices[n - 1].id, r->devices[n].id) == 0)
				return raise_fmt(L, r, "device '%s' is listed "
				    "twice", r->devices[n].id, NULL);
	}

	new_bound(L, &r->pos_data, &r->pos_proxy);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->pos_data);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->pos_proxy);
	bind_pos_init(L, -2, -1, &r->posref);
	lua_pop(L, 2);
	r->states = devstate_new(L, DEVSTATE_MAX);
	for (i = 0; i < 3; i++)
		new_bound(L, &r->lists[i], &r->proxies[i]);
	new_bound(L, &r->dev_data, &r->dev_proxy);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->pos_data);
	for (i = 0; i < 3; i++)
		lua_rawgeti(L, LUA_REGISTRYINDEX, r->lists[i]);
	for (i = 0; i < 3; i++)
		lua_rawgeti(L, LUA_REGISTRYINDEX, r->proxies[i]);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->dev_data);
	lua_pushcclosure(L, l_bind, 8);
	r->bind_fn = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->dev_data);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->pos_proxy);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->dev_proxy);
	lua_pushcclosure(L, l_rule, 3);
	r->rule_fn = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->dev_data);
	lua_pushlightuserdata(L, r);
	lua_pushcclosure(L, l_command, 1);
	lua_setfield(L, -2, "command");
	if (sandbox_seal(r->sb, b->err, sizeof b->err) == -1)
		return raise_text(L, b->err);
	return 0;
}

/* {==================================================================
 * Self-check, life cycle
 * =================================================================== */

void
rules_reset_failures(struct rules *r)
{
	size_t i, j;

	strikes_clear(r->strikes);
	for (i = 0; i < r->nall; i++) {
		r->all[i]->streak = 0;
		r->all[i]->off_all = false;
	}
	for (i = 0; i < r->ndevices; i++)
		for (j = 0; j < r->devices[i].nrules; j++) {
			r->devices[i].fails[j] = 0;
			r->devices[i].off[j] = false;
		}
}

static struct rules *
build(const char *name, const char *src, size_t len,
    const struct rules_opts *opts, char *err, size_t errlen)
{
	struct rules *r = xcalloc(1, sizeof *r);
	struct build b;

	memset(&b, 0, sizeof b);
	r->name = xstrdup(name);
	r->strikes = strikes_new(RULES_FAIL_TRACK);
	r->out = result_new();
	settings_default(&r->defaults.settings);
	r->defaults.view = LUA_NOREF;
	r->sb = sandbox_new(opts != NULL ? opts->mem_max : 0,
	    opts != NULL ? opts->budget : 0, err, errlen);
	if (r->sb == NULL) {
		rules_free(r);
		return NULL;
	}
	b.r = r;
	b.src = src;
	b.len = len;
	b.budget = opts != NULL && opts->budget > 0 ? opts->budget :
	    SANDBOX_BUDGET_DEFAULT;
	if (sandbox_protect(r->sb, l_build, &b, err, errlen) == -1) {
		rules_free(r);
		return NULL;
	}
	return r;
}

struct rules *
rules_load(const char *path, const struct rules_opts *opts, char *err,
    size_t errlen)
{
	struct rules *r = build(path, NULL, 0, opts, err, errlen);

	if (r != NULL && (opts == NULL || !opts->no_self_check) && check_self(r, NULL, err, errlen) > 0) {
		rules_free(r);
		return NULL;
	}
	return r;
}

struct rules *
rules_load_string(const char *src, size_t len, const char *name,
    const struct rules_opts *opts, char *err, size_t errlen)
{
	struct rules *r = build(name, src, len, opts, err, errlen);

	if (r != NULL && (opts == NULL || !opts->no_self_check) && check_self(r, NULL, err, errlen) > 0) {
		rules_free(r);
		return NULL;
	}
	return r;
}

static void
entry_clear(struct entry *e)
{
	free(e->id);
	settings_clear(&e->settings);
	free(e->rules);
	free(e->fails);
	free(e->off);
}

void
rules_free(struct rules *r)
{
	size_t i;

	if (r == NULL)
		return;
	sandbox_free(r->sb);
	devstate_free(r->states);
	result_free(r->out);
	strikes_free(r->strikes);
	entry_clear(&r->defaults);
	for (i = 0; i < r->ndevices; i++)
		entry_clear(&r->devices[i]);
	free(r->devices);
	for (i = 0; i < r->nall; i++) {
		free(r->all[i]->name);
		free(r->all[i]);
	}
	free(r->all);
	free(r->name);
	free(r);
}

size_t
rules_device_count(const struct rules *r)
{
	return r->ndevices;
}

size_t
rules_rule_count(const struct rules *r)
{
	return r->nall;
}

struct sandbox *
rules_sandbox(struct rules *r)
{
	return r->sb;
}

const char *
rules_device_id(const struct rules *r, size_t i)
{
	return i < r->ndevices ? r->devices[i].id : NULL;
}

const char *
rules_name(const struct rules *r)
{
	return r->name;
}
