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
 * at proxy reads) gets a metatable that converts fields of ref->pos on
 * demand, the proxy a __pairs that converts them all.  ref must outlive
 * the Lua state.  May raise.
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

/* Pushes v as a Lua value (objects and arrays as tables).  May raise. */
void bind_push_json(lua_State *L, const json_t *v);

/* A growable text buffer; p is NUL-terminated once written. */
struct bind_buf {
	char *p;
	size_t len, cap;
};

/* Frees b's storage and empties it. */
void bind_buf_free(struct bind_buf *b);

/* Appends s[0..len) as it is, or as a JSON string (quoted, escaped like
 * bind_to_text does).  Never fail. */
void bind_buf_put(struct bind_buf *b, const char *s, size_t len);
void bind_buf_put_string(struct bind_buf *b, const char *s, size_t len);

/*
 * Encodes the value at idx (what names it in errors, e.g. "dev.state") as
 * compact JSON text into out (emptied first): object keys sorted
 * bytewise, numbers and strings as jansson's json_dumps(JSON_COMPACT |
 * JSON_SORT_KEYS) writes them, so equal values give equal text.  Only
 * strings (UTF-8), finite numbers, booleans and tables with either string
 * keys or the keys 1..n, nested at most BIND_DEPTH deep, without cycles,
 * about max bytes of JSON at most, can be kept.  Returns 0, or -1 with
 * e.g. "dev.state.f: cannot keep a function value" in err (out then holds
 * a partial text).  Does not raise.
 */
int bind_to_text(lua_State *L, int idx, const char *what, size_t max,
    struct bind_buf *out, char *err, size_t errlen);

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
