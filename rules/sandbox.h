/*
 * sandbox.h: one Lua 5.4 state that untrusted rule code runs in.
 *
 * The sandbox owns the lua_State, its allocator (a byte cap, plus fault
 * injection for tests), the instruction budget of each call, and the
 * global environment rule chunks see.  It knows nothing of positions,
 * devices or alerts: rules.c and bind.c build those on top.
 *
 * What code loaded through the sandbox can reach:
 *   base:   assert error getmetatable ipairs next pairs pcall print
 *           rawequal rawget rawlen select setmetatable tonumber tostring
 *           type xpcall _G _VERSION
 *   string table math utf8 (string.dump removed), os.time and os.date.
 * Library tables are read-only proxies, the string metatable is hidden
 * (getmetatable("") is false), setmetatable refuses protected metatables
 * and __gc (finalizers run with hooks off, so a looping one could never be
 * stopped), print writes an info line to the log.  Nothing opens files,
 * processes or sockets; chunks load in text mode only.  string.find,
 * match, gmatch and gsub refuse a pattern whose worst case on the subject
 * would outrun the budget (the matcher runs in C, where the count hook
 * cannot stop it; see pattern.h).
 *
 * Lifecycle: sandbox_new, sandbox_load (any number of chunks, run with
 * sandbox_call while globals may still be defined), sandbox_seal (globals
 * become read-only: later code can neither create nor replace one), then
 * sandbox_call for each rule.  Every Lua API call that may allocate must
 * run inside sandbox_call or sandbox_protect: out of memory there is an
 * error, never a panic.
 */
#ifndef GA_RULES_SANDBOX_H
#define GA_RULES_SANDBOX_H

#include <stddef.h>

#include <lua.h>

/*
 * 64 MiB holds any sane rules file with room to spare (a state of a few
 * thousand devices' settings is well under 1 MiB) and stops a runaway
 * string.rep or table long before it hurts the host.
 */
#define SANDBOX_MEM_DEFAULT ((size_t)64 << 20)
/*
 * One million VM instructions is a few milliseconds: orders of magnitude
 * more than any real rule needs, and small enough that a rule stuck in a
 * loop stalls the engine only briefly.
 */
#define SANDBOX_BUDGET_DEFAULT 1000000L

struct sandbox;

/*
 * Creates a sandbox whose Lua heap may not exceed mem_max bytes (0: the
 * default) and whose calls each get budget instructions (<= 0: the
 * default).  Returns NULL with a reason in err when Lua cannot start
 * (mem_max too small).  Free with sandbox_free.
 */
struct sandbox *sandbox_new(size_t mem_max, long budget, char *err,
    size_t errlen);

/* Closes the Lua state and frees the sandbox; NULL does nothing. */
void sandbox_free(struct sandbox *sb);

/* The Lua state (borrowed; lives as long as the sandbox). */
lua_State *sandbox_lua(struct sandbox *sb);

/* The sandbox a Lua state belongs to (from a C function called by Lua). */
struct sandbox *sandbox_of(lua_State *L);

/* Sets the instruction budget of later calls (<= 0: the default). */
void sandbox_set_budget(struct sandbox *sb, long budget);

/* The instruction budget of each call (always > 0). */
long sandbox_budget(const struct sandbox *sb);

/* Bytes currently allocated by the Lua state, and the cap. */
size_t sandbox_mem_used(const struct sandbox *sb);
size_t sandbox_mem_max(const struct sandbox *sb);

/*
 * Fault injection (tests): from the nth allocation from now (1 = the next
 * one) on, every allocation fails as if the cap were reached, until
 * sandbox_fail_alloc(sb, 0) turns it off.  (A single failure would not
 * show: Lua retries after a full collection.)  sandbox_alloc_count counts every allocation (growth) so far, so a
 * test can walk n over every allocation of an operation.
 */
void sandbox_fail_alloc(struct sandbox *sb, long nth);
long sandbox_alloc_count(const struct sandbox *sb);

/*
 * Compiles buf[0..len) (text only) as a chunk named name (Lua's convention:
 * "@file" or "=label") whose _ENV is the sandbox's globals, and pushes it.
 * The sandbox keeps every chunk it loaded for its whole life (a rules
 * sandbox loads two) so that sandbox_call can restore a replaced _ENV.
 * Returns 0, or -1 with the compiler's "file:line: reason" in err (nothing
 * pushed).
 */
int sandbox_load(struct sandbox *sb, const char *buf, size_t len,
    const char *name, char *err, size_t errlen);

/*
 * Reads path and loads it like sandbox_load (chunk name "@path").  Returns
 * 0, or -1 with the reason (unreadable file, syntax error) in err.
 */
int sandbox_load_file(struct sandbox *sb, const char *path, char *err,
    size_t errlen);

/*
 * Calls the function below nargs arguments on the stack, like lua_pcall,
 * under the instruction budget and a traceback message handler.  On
 * success pushes nresults values and returns 0.  On failure pushes
 * nothing, returns -1 and writes one line to err: the message, then the
 * Lua frames as "[file:line < file:line]".  An exhausted budget stays
 * exhausted until the call returns, so the code's own pcall cannot swallow
 * it.  A call that assigned a chunk's _ENV fails too (the environment is
 * restored).
 */
int sandbox_call(struct sandbox *sb, int nargs, int nresults, char *err,
    size_t errlen);

/*
 * Runs fn(L) protected, without a budget, with ud as its only argument (a
 * light userdata) and discards its results.  For C code that builds Lua
 * values: returns 0, or -1 with the error (out of memory) in err.
 */
int sandbox_protect(struct sandbox *sb, lua_CFunction fn, void *ud, char *err,
    size_t errlen);

/*
 * Calls the function below nargs arguments protected, without a budget,
 * and discards its results: sandbox_protect for a function already on the
 * stack (a C closure with upvalues).  Returns 0, or -1 with the error in
 * err (nothing left on the stack).
 */
int sandbox_pcall(struct sandbox *sb, int nargs, char *err, size_t errlen);

/*
 * Marks the chunks loaded so far as our own code, which never assigns
 * _ENV: sandbox_call stops checking them after each call (only code
 * inside a chunk can assign its _ENV, so rule code cannot reach theirs).
 */
void sandbox_trust_loaded(struct sandbox *sb);

/*
 * Seals the globals: from now on assigning any global raises an error, so
 * one rule cannot replace a function or library another rule uses.
 * Returns 0, or -1 when out of memory.
 */
int sandbox_seal(struct sandbox *sb, char *err, size_t errlen);

/*
 * Replaces the table at idx by a read-only proxy of it (reads, pairs, ipairs
 * and # work; writes and setmetatable raise; getmetatable is false).  Only
 * the top level is protected.  May raise (memory): call protected.
 */
void sandbox_readonly(lua_State *L, int idx);

#endif
