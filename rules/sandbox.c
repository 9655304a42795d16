/*
 * sandbox.c: the Lua state rules run in: capped allocator with fault
 * injection, allow-listed environment, read-only proxies, instruction
 * budget and one-line error messages.
 *
 * Leaves to others: what the chunks mean (rules.c), how positions and
 * devices become Lua values (bind.c), the guard on string patterns
 * (pattern.c).
 */
#include "rules/sandbox.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lib/escape.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "rules/pattern.h"

/*
 * The count hook fires every HOOK_STEP instructions while the budget lasts:
 * often enough that a loop is stopped within 1% of its budget, rarely
 * enough that the hook costs nothing measurable.
 */
#define HOOK_STEP 1000
#define MAX_FRAMES 5		/* Lua frames named in an error line */

struct sandbox {
	lua_State *L;
	size_t used;		/* bytes allocated */
	size_t mem_max;
	long nallocs;		/* allocations (growths) so far */
	long fail_in;		/* fault injection countdown; 0 = off */
	long budget;		/* instructions per call */
	long spent;		/* instructions of the current call */
	int step;		/* hook period: min(budget, HOOK_STEP) */
	int env_ref;		/* the globals table (registry ref) */
	const void *env;	/* the same, for identity checks */
	int *chunks;		/* loaded chunks (registry refs) */
	size_t nchunks;
	size_t ntrusted;	/* chunks[0..ntrusted) never assign _ENV */
};

/* {==================================================================
 * Allocator
 * =================================================================== */

/*
 * When ptr is NULL, osize is a type tag, not a size.  Only growth can fail
 * (the cap, or injected); frees and shrinks always succeed, as Lua needs.
 */
static void *
sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct sandbox *sb = ud;
	size_t old = ptr != NULL ? osize : 0;
	void *p;

	if (nsize == 0) {
		free(ptr);
		sb->used -= old;
		return NULL;
	}
	if (nsize > old) {
		/* Injected failures persist: Lua retries a failed allocation
		 * after a full collection, which would hide a single one. */
		if (sb->fail_in > 0 && --sb->fail_in == 0) {
			sb->fail_in = 1;
			return NULL;
		}
		if (nsize - old > sb->mem_max - sb->used)
			return NULL;
		sb->nallocs++;
	}
	p = realloc(ptr, nsize);
	if (p == NULL) {
		if (nsize < old)
			return ptr;	/* a failed shrink keeps the block */
		return NULL;
	}
	sb->used = sb->used - old + nsize;
	return p;
}

static int
panic(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);

	log_error("lua panic: %s", msg != NULL ? msg : "?");
	abort();
}

/* {==================================================================
 * Library wrappers
 * =================================================================== */

static int
l_print(lua_State *L)
{
	luaL_Buffer b;
	char line[512];
	int i, n = lua_gettop(L);
	const char *s;
	size_t len;

	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &len);
	escape_bytes(line, sizeof line, (const uint8_t *)s, len);
	log_info("rules: %s", line);
	return 0;
}

/*
 * setmetatable without __gc: finalizers run with hooks off, where no budget
 * could stop them.  Honours __metatable like the original.
 */
static int
l_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
		return luaL_error(L, "cannot change a protected metatable");
	if (t == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "__gc metamethods are not allowed");
		lua_pop(L, 1);
	}
	lua_settop(L, 2);
	lua_setmetatable(L, 1);
	return 1;
}

/* "file:line: " of the Lua code that triggered a metamethod, then msg. */
static int
raise_at_caller(lua_State *L, const char *fmt, const char *what)
{
	luaL_where(L, 1);
	lua_pushfstring(L, fmt, what);
	lua_concat(L, 2);
	return lua_error(L);
}

/*
 * xpcall whose handler never runs once the budget is spent.  Lua calls a
 * message handler with hooks still off when the error comes from a hook,
 * so a looping handler could never be stopped.
 */
static int
l_xpcall_msgh(lua_State *L)
{
	struct sandbox *sb = sandbox_of(L);

	if (sb->spent >= sb->budget)
		return 1;
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static int
l_xpcall(lua_State *L)
{
	int n = lua_gettop(L);

	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, l_xpcall_msgh, 1);
	lua_replace(L, 2);			/* f, msgh, args... */
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2);			/* f, msgh, true, f, args... */
	if (lua_pcall(L, n - 2, LUA_MULTRET, 2) != LUA_OK) {
		lua_pushboolean(L, 0);
		lua_pushvalue(L, -2);
		return 2;
	}
	return lua_gettop(L) - 2;
}

static int
l_ro_newindex(lua_State *L)
{
	return raise_at_caller(L, "cannot set field '%s' of a read-only table",
	    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) :
	    luaL_typename(L, 2));
}

static int
l_env_newindex(lua_State *L)
{
	return raise_at_caller(L, "cannot set global '%s': globals are "
	    "read-only once the rules are loaded (keep memory in dev.state)",
	    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

/* The proxied table: the __index of the proxy's own (raw) metatable. */
static void
push_target(lua_State *L, int idx)
{
	if (!lua_getmetatable(L, idx)) {
		lua_pushnil(L);
		return;
	}
	lua_pushliteral(L, "__index");
	lua_rawget(L, -2);
	lua_remove(L, -2);
}

/* lua_next as a Lua-callable function (the generator of l_ro_pairs). */
static int
l_next(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	if (lua_next(L, 1))
		return 2;
	lua_pushnil(L);
	return 1;
}

static int
l_ro_pairs(lua_State *L)
{
	lua_pushcfunction(L, l_next);
	push_target(L, 1);
	lua_pushnil(L);
	return 3;
}

static int
l_ro_len(lua_State *L)
{
	push_target(L, 1);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
	return 1;
}

static void
make_proxy(lua_State *L, int idx, lua_CFunction newindex)
{
	idx = lua_absindex(L, idx);
	lua_createtable(L, 0, 0);		/* proxy */
	lua_createtable(L, 0, 5);		/* its metatable */
	lua_pushvalue(L, idx);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pushcfunction(L, l_ro_pairs);
	lua_setfield(L, -2, "__pairs");
	lua_pushcfunction(L, l_ro_len);
	lua_setfield(L, -2, "__len");
	lua_setmetatable(L, -2);
	lua_replace(L, idx);
}

void
sandbox_readonly(lua_State *L, int idx)
{
	make_proxy(L, idx, l_ro_newindex);
}

/* {==================================================================
 * Environment
 * =================================================================== */

static const char *const base_allowed[] = {
	"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall",
	"rawequal", "rawget", "rawlen", "select", "tonumber", "tostring",
	"type", "_VERSION", NULL
};

/* Copies the library at package.loaded[name] into env[name], read-only. */
static void
add_library(lua_State *L, int env, const char *name,
    const char *const *only)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getfield(L, -1, name);
	lua_remove(L, -2);
	if (only != NULL) {
		lua_createtable(L, 0, 2);
		for (; *only != NULL; only++) {
			lua_getfield(L, -2, *only);
			lua_setfield(L, -2, *only);
		}
		lua_remove(L, -2);
	}
	sandbox_readonly(L, -1);
	lua_setfield(L, env, name);
}

static int
l_setup(lua_State *L)
{
	struct sandbox *sb = lua_touserdata(L, 1);
	static const char *const os_allowed[] = { "time", "date", NULL };
	const char *const *p;
	int env;

	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
	luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
	lua_settop(L, 1);

	/* string.dump would hand out bytecode; the real table loses it. */
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getfield(L, -1, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	pattern_guard(L, lua_gettop(L));
	lua_pop(L, 2);
	/* Hide the string metatable: getmetatable("") returns false. */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);

	lua_createtable(L, 0, 32);
	env = lua_gettop(L);
	lua_pushglobaltable(L);
	for (p = base_allowed; *p != NULL; p++) {
		lua_getfield(L, -1, *p);
		lua_setfield(L, env, *p);
	}
	lua_pop(L, 1);
	lua_pushcfunction(L, l_setmetatable);
	lua_setfield(L, env, "setmetatable");
	lua_pushcfunction(L, l_print);
	lua_setfield(L, env, "print");
	lua_pushcfunction(L, l_xpcall);
	lua_setfield(L, env, "xpcall");
	add_library(L, env, LUA_STRLIBNAME, NULL);
	add_library(L, env, LUA_TABLIBNAME, NULL);
	add_library(L, env, LUA_MATHLIBNAME, NULL);
	add_library(L, env, LUA_UTF8LIBNAME, NULL);
	add_library(L, env, LUA_OSLIBNAME, os_allowed);
	lua_pushvalue(L, env);
	lua_setfield(L, env, LUA_GNAME);
	sb->env = lua_topointer(L, -1);
	sb->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

static int
l_seal(lua_State *L)
{
	struct sandbox *sb = lua_touserdata(L, 1);
	int env, store;

	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->env_ref);
	env = lua_gettop(L);
	if (lua_getmetatable(L, env))
		return 0;	/* already sealed */
	lua_createtable(L, 0, 64);
	store = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, env)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, store);
	}
	/* Emptying a table while walking it: clear keys after the copy. */
	lua_pushnil(L);
	while (lua_next(L, store)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, env);
	}
	make_proxy(L, store, l_env_newindex);
	/* make_proxy built a new proxy; move its metatable onto env itself so
	 * every chunk's _ENV (which is env) is the sealed table. */
	lua_getmetatable(L, store);
	lua_setmetatable(L, env);
	return 0;
}

/* {==================================================================
 * Calls
 * =================================================================== */

static void
hook(lua_State *L, lua_Debug *ar)
{
	struct sandbox *sb = sandbox_of(L);

	sb->spent += sb->step;
	if (sb->spent < sb->budget)
		return;
	/* Spent: fire on every instruction from now on, so a pcall in the
	 * rule that catches this error is interrupted again at once. */
	lua_sethook(L, hook, LUA_MASKCOUNT, 1);
	lua_getinfo(L, "Sl", ar);
	if (ar->currentline > 0)
		lua_pushfstring(L, "%s:%d: ", ar->short_src, ar->currentline);
	else
		lua_pushliteral(L, "");
	lua_pushfstring(L, "instruction budget of %I exceeded",
	    (lua_Integer)sb->budget);
	lua_concat(L, 2);
	lua_error(L);
}

/*
 * Message handler: the message (or a description of a non-string error
 * object) then the Lua frames of the stack, on one line.
 */
static int
l_msgh(lua_State *L)
{
	luaL_Buffer b;
	lua_Debug ar;
	const char *msg;
	char where[LUA_IDSIZE + 32];
	int level, n = 0;

	msg = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
	if (msg == NULL)
		msg = lua_pushfstring(L, "(error object is a %s value)",
		    luaL_typename(L, 1));
	luaL_buffinit(L, &b);
	luaL_addstring(&b, msg);
	for (level = 1; n < MAX_FRAMES && lua_getstack(L, level, &ar); level++) {
		if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
			continue;
		snprintf(where, sizeof where, "%s:%d", ar.short_src,
		    ar.currentline);
		luaL_addstring(&b, n == 0 ? " [" : " < ");
		luaL_addstring(&b, where);
		n++;
	}
	if (n > 0)
		luaL_addchar(&b, ']');
	luaL_pushresult(&b);
	return 1;
}

/* Copies the error at the top of the stack into err on one line; pops it. */
static void
take_error(struct sandbox *sb, int status, char *err, size_t errlen)
{
	lua_State *L = sb->L;
	const char *msg = NULL;
	char mem[64];
	size_t i;

	if (status == LUA_ERRMEM) {
		snprintf(mem, sizeof mem, "out of memory (rules heap capped "
		    "at %zu KiB)", sb->mem_max >> 10);
		msg = mem;
	} else if (lua_type(L, -1) == LUA_TSTRING)
		msg = lua_tostring(L, -1);
	if (msg == NULL || status == LUA_ERRERR)
		msg = "error in error handling (out of memory or stack overflow)";
	if (errlen > 0) {
		snprintf(err, errlen, "%s", msg);
		for (i = 0; err[i] != '\0'; i++)
			if (err[i] == '\n' || err[i] == '\r' || err[i] == '\t')
				err[i] = ' ';
	}
	lua_pop(L, 1);
}

/*
 * Restores the _ENV of any loaded chunk that code replaced (an upvalue
 * shared by every function of the chunk, so one rule could otherwise swap
 * the globals of all the others); true if one was.  Allocates nothing.
 * Trusted chunks are skipped: only code inside a chunk can assign its
 * _ENV.
 */
static int
env_repaired(struct sandbox *sb)
{
	lua_State *L = sb->L;
	int bad = 0, top = lua_gettop(L);
	size_t i;

	if (!lua_checkstack(L, 3))
		return 0;
	for (i = sb->ntrusted; i < sb->nchunks; i++) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, sb->chunks[i]);
		if (lua_getupvalue(L, -1, 1) != NULL &&
		    lua_topointer(L, -1) != sb->env) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, sb->env_ref);
			lua_setupvalue(L, -3, 1);
			bad = 1;
		}
		lua_settop(L, top);
	}
	return bad;
}

int
sandbox_call(struct sandbox *sb, int nargs, int nresults, char *err,
    size_t errlen)
{
	lua_State *L = sb->L;
	int base = lua_gettop(L) - nargs;	/* the function's index */
	int status;

	if (!lua_checkstack(L, 2)) {
		snprintf(err, errlen, "out of memory (Lua stack)");
		lua_settop(L, base - 1);
		return -1;
	}
	lua_pushcfunction(L, l_msgh);
	lua_insert(L, base);
	sb->spent = 0;
	sb->step = sb->budget < HOOK_STEP ? (int)sb->budget : HOOK_STEP;
	lua_sethook(L, hook, LUA_MASKCOUNT, sb->step);
	status = lua_pcall(L, nargs, nresults, base);
	lua_sethook(L, NULL, 0, 0);
	lua_remove(L, base);
	if (status != LUA_OK) {
		take_error(sb, status, err, errlen);
		env_repaired(sb);
		return -1;
	}
	if (env_repaired(sb)) {
		lua_settop(L, base - 1);
		snprintf(err, errlen, "assigning _ENV is not allowed");
		return -1;
	}
	return 0;
}

int
sandbox_pcall(struct sandbox *sb, int nargs, char *err, size_t errlen)
{
	lua_State *L = sb->L;
	int top = lua_gettop(L) - nargs - 1, status;

	status = lua_pcall(L, nargs, 0, 0);
	if (status != LUA_OK) {
		take_error(sb, status, err, errlen);
		lua_settop(L, top);
		return -1;
	}
	return 0;
}

int
sandbox_protect(struct sandbox *sb, lua_CFunction fn, void *ud, char *err,
    size_t errlen)
{
	lua_pushcfunction(sb->L, fn);
	lua_pushlightuserdata(sb->L, ud);
	return sandbox_pcall(sb, 1, err, errlen);
}

/* {==================================================================
 * Loading
 * =================================================================== */

struct load_args {
	struct sandbox *sb;
	const char *buf;
	size_t len;
	const char *name;
	int status;
};

/* Compiles, sets _ENV, remembers the chunk; leaves it as the only result. */
static int
l_load(lua_State *L)
{
	struct load_args *a = lua_touserdata(L, 1);
	struct sandbox *sb = a->sb;

	lua_settop(L, 0);
	a->status = luaL_loadbufferx(L, a->buf, a->len, a->name, "t");
	if (a->status != LUA_OK)
		return lua_error(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->env_ref);
	lua_setupvalue(L, 1, 1);
	/* Chunks stay referenced: their functions may outlive them (rules
	 * do), and only the chunk leads to the _ENV they share.  The array
	 * grows first, so a failed luaL_ref records nothing. */
	sb->chunks = xreallocarray(sb->chunks, sb->nchunks + 1,
	    sizeof *sb->chunks);
	lua_pushvalue(L, 1);
	sb->chunks[sb->nchunks] = luaL_ref(L, LUA_REGISTRYINDEX);
	sb->nchunks++;
	return 1;
}

int
sandbox_load(struct sandbox *sb, const char *buf, size_t len,
    const char *name, char *err, size_t errlen)
{
	lua_State *L = sb->L;
	struct load_args a = { sb, buf, len, name, LUA_OK };
	int status;

	lua_pushcfunction(L, l_load);
	lua_pushlightuserdata(L, &a);
	status = lua_pcall(L, 1, 1, 0);
	if (status != LUA_OK) {
		take_error(sb, status, err, errlen);
		return -1;
	}
	return 0;
}

int
sandbox_load_file(struct sandbox *sb, const char *path, char *err,
    size_t errlen)
{
	FILE *f;
	char *buf = NULL, *name;
	size_t len = 0, cap = 0, n;
	int rc;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0 && len <= sb->mem_max);
	if (ferror(f) || len > sb->mem_max) {
		snprintf(err, errlen, "%s: %s", path,
		    ferror(f) ? "read error" : "file too large");
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	/* Skip a #! first line the way lua(1) does, keeping line numbers. */
	if (len > 0 && buf[0] == '#') {
		for (n = 0; n < len && buf[n] != '\n'; n++)
			buf[n] = ' ';
		buf[0] = '-';
		if (n > 1)
			buf[1] = '-';
	}
	name = xasprintf("@%s", path);
	rc = sandbox_load(sb, buf, len, name, err, errlen);
	free(name);
	free(buf);
	return rc;
}

/* {==================================================================
 * Life cycle and accessors
 * =================================================================== */

struct sandbox *
sandbox_new(size_t mem_max, long budget, char *err, size_t errlen)
{
	struct sandbox *sb = xcalloc(1, sizeof *sb);

	sb->mem_max = mem_max > 0 ? mem_max : SANDBOX_MEM_DEFAULT;
	sb->budget = budget > 0 ? budget : SANDBOX_BUDGET_DEFAULT;
	sb->env_ref = LUA_NOREF;
	sb->L = lua_newstate(sb_alloc, sb);
	if (sb->L == NULL) {
		snprintf(err, errlen, "cannot create a Lua state within %zu bytes",
		    sb->mem_max);
		free(sb);
		return NULL;
	}
	lua_atpanic(sb->L, panic);
	if (sandbox_protect(sb, l_setup, sb, err, errlen) == -1) {
		sandbox_free(sb);
		return NULL;
	}
	return sb;
}

void
sandbox_free(struct sandbox *sb)
{
	if (sb == NULL)
		return;
	lua_close(sb->L);
	free(sb->chunks);
	free(sb);
}

void
sandbox_trust_loaded(struct sandbox *sb)
{
	sb->ntrusted = sb->nchunks;
}

int
sandbox_seal(struct sandbox *sb, char *err, size_t errlen)
{
	return sandbox_protect(sb, l_seal, sb, err, errlen);
}

lua_State *
sandbox_lua(struct sandbox *sb)
{
	return sb->L;
}

struct sandbox *
sandbox_of(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

void
sandbox_set_budget(struct sandbox *sb, long budget)
{
	sb->budget = budget > 0 ? budget : SANDBOX_BUDGET_DEFAULT;
}

size_t
sandbox_mem_used(const struct sandbox *sb)
{
	return sb->used;
}

size_t
sandbox_mem_max(const struct sandbox *sb)
{
	return sb->mem_max;
}

void
sandbox_fail_alloc(struct sandbox *sb, long nth)
{
	sb->fail_in = nth > 0 ? nth : 0;
}

long
sandbox_budget(const struct sandbox *sb)
{
	return sb->budget;
}

long
sandbox_alloc_count(const struct sandbox *sb)
{
	return sb->nallocs;
}
