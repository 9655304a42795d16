/*
 * rules.c: loading a rules file into a fresh sandbox, running a device's
 * custom rules for one position with per-rule rollback, and the failure
 * policy.
 *
 * Leaves to others: what the file may contain (ruleset.c), the sandbox
 * mechanics (sandbox.c), value conversions (bind.c, luajson.c,
 * alertval.c), the self-check (check.c), the built-in rules and where
 * state is stored (engine).
 */
#include "rules/rules.h"

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
#include "rules/ruleset.h"
#include "rules/sandbox.h"
#include "rules/strikes.h"

#define LOAD_BUDGET_FACTOR 100	/* the file's own chunk may build big tables */
#define ERR_LEN 512

struct rules {
	struct sandbox *sb;
	char *name;
	struct ruleset set;
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

/* {==================================================================
 * Failure policy (see rules.h)
 * =================================================================== */

static bool
rule_off(struct rules *r, struct ruleset_entry *e, size_t i, const char *device)
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
rule_ok(struct rules *r, struct ruleset_entry *e, size_t i, const char *device)
{
	e->rules[i]->streak = 0;
	if (e->id != NULL)
		e->fails[i] = 0;
	else
		strikes_del(r->strikes, device, i);
}

static void
rule_failed(struct rules *r, struct ruleset_entry *e, size_t i, const char *device,
    const char *msg)
{
	struct ruleset_rule *ru = e->rules[i];
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
	struct ruleset_entry *e;
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
	struct ruleset_rule *rule;
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

const struct settings *
rules_settings(const struct rules *r, const char *device)
{
	return &ruleset_find(&r->set, device)->settings;
}

bool
rules_has_custom(const struct rules *r, const char *device)
{
	return ruleset_find(&r->set, device)->nrules > 0;
}

const struct rules_result *
rules_run(struct rules *r, const char *device, const struct rules_pos *pos,
    const char *state)
{
	struct ruleset_entry *e = ruleset_find(&r->set, device);
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
raise_text(lua_State *L, const char *msg)
{
	lua_pushstring(L, msg);
	return lua_error(L);
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
	char *chunk;
	int rc, i;

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
	ruleset_build(L, 1, &r->set);
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
	strikes_clear(r->strikes);
	ruleset_reset(&r->set);
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
	ruleset_init(&r->set, r->name);
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

/* build, then the self-check unless opts turn it off. */
static struct rules *
load(const char *name, const char *src, size_t len,
    const struct rules_opts *opts, char *err, size_t errlen)
{
	struct rules *r = build(name, src, len, opts, err, errlen);

	if (r != NULL && (opts == NULL || !opts->no_self_check) &&
	    check_self(r, NULL, err, errlen) > 0) {
		rules_free(r);
		return NULL;
	}
	return r;
}

struct rules *
rules_load(const char *path, const struct rules_opts *opts, char *err,
    size_t errlen)
{
	return load(path, NULL, 0, opts, err, errlen);
}

struct rules *
rules_load_string(const char *src, size_t len, const char *name,
    const struct rules_opts *opts, char *err, size_t errlen)
{
	return load(name, src, len, opts, err, errlen);
}

void
rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	sandbox_free(r->sb);
	devstate_free(r->states);
	result_free(r->out);
	strikes_free(r->strikes);
	ruleset_clear(&r->set);
	free(r->name);
	free(r);
}

size_t
rules_device_count(const struct rules *r)
{
	return r->set.ndevices;
}

size_t
rules_rule_count(const struct rules *r)
{
	return r->set.nall;
}

struct sandbox *
rules_sandbox(struct rules *r)
{
	return r->sb;
}

const char *
rules_device_id(const struct rules *r, size_t i)
{
	return i < r->set.ndevices ? r->set.devices[i].id : NULL;
}

const char *
rules_name(const struct rules *r)
{
	return r->name;
}
