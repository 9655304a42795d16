/*
 * bind.h: conversions between the engine's C values and the Lua values a
 * rule sees: the position, dev.state <-> JSON (jansson), the alerts a rule
 * returns, and read-only copies of settings.
 *
 * Functions marked "may raise" allocate in Lua and must run inside
 * sandbox_protect; the others only read (raw access, no metamethods, no
 * Lua allocation) and can be called anywhere.
 */
#ifndef GA_RULES_BIND_H
#define GA_RULES_BIND_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <lua.h>

#include "rules/rules.h"

#define BIND_DEPTH 32		/* nesting of state and settings tables */

/*
 * Refills the reused position tables: data (cleared first) gets the
 * fields, lists[0..2] (inside, entered, exited) the fence ids; data's
 * "inside"/"entered"/"exited" are set to the proxies at proxies[0..2].
 * All indices absolute.  May raise.
 */
void bind_pos(lua_State *L, int data, const int lists[3],
    const int proxies[3], const struct rules_pos *pos);

/* Pushes v as a Lua value (objects and arrays as tables).  May raise. */
void bind_push_json(lua_State *L, const json_t *v);

/*
 * Encodes the value at idx (what names it in errors, e.g. "dev.state") as
 * JSON.  Only strings (UTF-8), finite numbers, booleans and tables with
 * either string keys or the keys 1..n, nested at most BIND_DEPTH deep,
 * without cycles, about max bytes of JSON at most, can be kept.  Returns a
 * new reference, or NULL with e.g. "dev.state.f: cannot keep a function
 * value" in err.  Does not raise.
 */
json_t *bind_to_json(lua_State *L, int idx, const char *what, size_t max,
    char *err, size_t errlen);

/* One alert as bind_alerts parses it; strings owned (bind_alert_clear). */
struct bind_alert {
	char *type;
	char *message;		/* NULL: none */
	char *extra;		/* JSON object text, NULL: none */
};

/*
 * Parses a rule's return value at idx: nil, an alert table, or a list of
 * alert tables (at most max).  Stores them in out[0..*n).  Returns 0, or
 * -1 with the reason in err (out then holds nothing to free).  Does not
 * raise.
 */
int bind_alerts(lua_State *L, int idx, struct bind_alert *out, size_t max,
    size_t *n, char *err, size_t errlen);

/* Frees an alert's strings. */
void bind_alert_clear(struct bind_alert *a);

/*
 * Pushes a deep copy of the table at idx in which every table is a
 * read-only proxy; keys listed in skip (NULL-terminated, top level only)
 * are left out.  Raises on cycles, on nesting deeper than BIND_DEPTH and
 * on memory.
 */
void bind_readonly_copy(lua_State *L, int idx, const char *const *skip);

#endif
