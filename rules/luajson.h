/*
 * luajson.h: JSON <-> Lua values, for dev.state: a jansson value pushed as
 * Lua tables, and a Lua value encoded as canonical JSON text (what the
 * engine stores and compares).
 *
 * luajson_push allocates in Lua and must run inside sandbox_protect;
 * luajson_encode only reads (raw access, no metamethods, no Lua
 * allocation) and can be called anywhere.
 */
#ifndef GA_RULES_LUAJSON_H
#define GA_RULES_LUAJSON_H

#include <stddef.h>

#include <jansson.h>
#include <lua.h>

#define LUAJSON_DEPTH 32	/* nesting of state tables */

/*
 * Pushes v as a Lua value (objects and arrays as tables, JSON null members
 * left out, nesting past LUAJSON_DEPTH as empty tables).  May raise.
 */
void luajson_push(lua_State *L, const json_t *v);

/* A growable text buffer; p is NUL-terminated once written. */
struct luajson_buf {
	char *p;
	size_t len, cap;
};

/* Frees b's storage and empties it. */
void luajson_buf_free(struct luajson_buf *b);

/* Appends s[0..len) as it is.  Never fails (out of memory aborts). */
void luajson_buf_put(struct luajson_buf *b, const char *s, size_t len);

/* Appends s[0..len) as a JSON string (quoted, escaped the way
 * luajson_encode writes strings).  Never fails. */
void luajson_buf_put_string(struct luajson_buf *b, const char *s,
    size_t len);

/*
 * Encodes the value at idx (what names it in errors, e.g. "dev.state") as
 * compact JSON text into out (emptied first): object keys sorted
 * bytewise, numbers and strings as jansson's json_dumps(JSON_COMPACT |
 * JSON_SORT_KEYS) writes them, so equal values give equal text.  Only
 * strings (UTF-8), finite numbers, booleans and tables with either string
 * keys or the keys 1..n, nested at most LUAJSON_DEPTH deep, without
 * cycles, about max bytes of JSON at most, can be kept.  Returns 0, or -1
 * with e.g. "dev.state.f: cannot keep a function value" in err (out then
 * holds a partial text).  Does not raise.
 */
int luajson_encode(lua_State *L, int idx, const char *what, size_t max,
    struct luajson_buf *out, char *err, size_t errlen);

#endif
