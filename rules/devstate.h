/*
 * devstate.h: the dev.state tables of recently seen devices, kept live in
 * the rules' Lua state between positions.
 *
 * The caller (the engine) owns each device's state as JSON text,
 * {"<rule>": {...}, ...}, and hands it to every rules_run.  Decoding it
 * into Lua tables and encoding it back on every position would cost more
 * than the rules themselves, so the cache keeps, per device, the Lua
 * tables and the canonical text of each rule's part, and remembers which
 * device text they stand for.  When the caller passes that same text
 * again (the usual case: it stores what the last run returned), the
 * tables are used as they are; any other text (a rolled-back batch, a
 * restart, a device evicted from the cache) is decoded afresh.  After a
 * rule succeeds its table is encoded (luajson_encode) and compared with its
 * part: that is how a change is seen and the new device text built.
 *
 * A rule that fails is rolled back by dropping its table: the next use
 * decodes it again from its part, which still holds the state from before
 * the failed call.
 *
 * At most DEVSTATE_MAX devices are kept (then the least recently used one,
 * approximately: a clock sweep, is dropped).  All functions take the Lua
 * state of the rules; those marked "may raise" allocate in Lua and must
 * run protected (sandbox_protect or inside a sandbox_call'ed function).
 */
#ifndef GA_RULES_DEVSTATE_H
#define GA_RULES_DEVSTATE_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

/*
 * Sixteen thousand devices of a few hundred bytes of Lua tables each stay
 * well inside the rules heap (SANDBOX_MEM_DEFAULT), and cover a fleet
 * whose positions arrive in bursts per batch.
 */
#define DEVSTATE_MAX 16384

struct devstate;

/* Creates the cache (its Lua table in the registry).  May raise. */
struct devstate *devstate_new(lua_State *L, size_t max);

/* Frees the C side (the Lua side goes with the Lua state); NULL is fine. */
void devstate_free(struct devstate *ds);

/* Forgets every device (a memory valve).  May raise. */
void devstate_clear(struct devstate *ds, lua_State *L);

/*
 * Makes device the current one with state json (NULL or "": none).
 * Returns 0, or -1 with the reason in err when json is not a JSON object:
 * the device then starts from empty state, and the same text will be
 * refused (and reported) again next time.  May raise.
 */
int devstate_open(struct devstate *ds, lua_State *L, const char *device,
    const char *json, char *err, size_t errlen);

/* Pushes the current device's table for rule (decoded or new).  May raise. */
void devstate_push(struct devstate *ds, lua_State *L, const char *rule);

/*
 * After rule succeeded: encodes its table at idx and records it as the
 * rule's part (an empty table removes the part).  Returns 0, or -1 with
 * the reason in err when the table cannot be kept (the caller then
 * rolls the rule back).  Does not raise.
 */
int devstate_keep(struct devstate *ds, lua_State *L, const char *rule,
    int idx, size_t max, char *err, size_t errlen);

/* Rolls rule back to its last kept state.  Allocates nothing, never raises. */
void devstate_drop(struct devstate *ds, lua_State *L, const char *rule);

/*
 * The current device's new state text when any part changed since
 * devstate_open, else NULL.  Returns a new string the caller frees.
 */
char *devstate_changed(struct devstate *ds);

#endif
