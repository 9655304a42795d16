/*
 * bind.h: the Lua values a rule reads: the position and read-only copies
 * of settings (dev.state is devstate.h's, what a rule returns
 * alertval.h's).
 *
 * Every function here allocates in Lua ("may raise") and must run inside
 * sandbox_protect or a function it runs.
 */
#ifndef GA_RULES_BIND_H
#define GA_RULES_BIND_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

#include "rules/rules.h"

#define BIND_DEPTH 32		/* nesting of settings tables */

/*
 * The position rules are looking at.  Fields are converted to Lua values
 * lazily: the first time a rule reads pos.<key> (most rules read a few
 * of a report's twenty-odd fields), and kept in the data table for the
 * rest of the position.
 */
#define BIND_KEYS 32		/* field names remembered for clearing */
#define BIND_KEY_LEN 24

struct bind_posref {
	const struct rules_pos *pos;	/* NULL: none (outside rules_run) */
	char keys[BIND_KEYS][BIND_KEY_LEN];	/* values data holds */
	size_t nkeys;
	bool dirty;			/* data holds values not in keys */
	bool all;			/* every field is in data (pairs) */
	bool lists_set;			/* data holds the three list proxies */
};

/*
 * Sets up the position tables once: data (the table the read-only proxy
 * at proxy, made by sandbox_readonly, reads) gets a metatable that
 * converts fields of ref->pos on demand, the proxy a __pairs that
 * converts them all first.  ref must outlive the Lua state.  May raise.
 */
void bind_pos_init(lua_State *L, int data, int proxy,
    struct bind_posref *ref);

/*
 * Starts a position: empties data of the previous position's values,
 * refills the lists lists[0..2] (inside, entered, exited) with the fence
 * ids and makes pos the one fields are read from (borrowed until the
 * caller sets ref->pos to NULL).  data's "inside", "entered" and "exited"
 * are the proxies at proxies[0..2], whatever the report holds.  All
 * indices absolute.  May raise.
 */
void bind_pos(lua_State *L, int data, const int lists[3],
    const int proxies[3], struct bind_posref *ref,
    const struct rules_pos *pos);

/*
 * Pushes a deep copy of the table at idx in which every table is a
 * read-only proxy; keys listed in skip (NULL-terminated, top level only)
 * are left out.  Raises on cycles, on nesting deeper than BIND_DEPTH and
 * on memory.
 */
void bind_readonly_copy(lua_State *L, int idx, const char *const *skip);

#endif
