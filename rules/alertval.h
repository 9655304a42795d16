/*
 * alertval.h: what a rule returns, as alerts.  A rule returns nil, one
 * alert table { type = ..., message = ..., <field> = ... } or a list of
 * them; type is 1 to 64 letters, digits, '_', '-' or '.', message a
 * string or number, the other fields strings, finite numbers or booleans
 * under names the engine does not fill itself (device, id, lat, lon,
 * position, rule, speed, time).
 */
#ifndef GA_RULES_ALERTVAL_H
#define GA_RULES_ALERTVAL_H

#include <stddef.h>

#include <lua.h>

/* One alert as alertval_parse returns it; strings owned (alertval_clear). */
struct alertval {
	char *type;
	char *message;		/* NULL: none */
	char *extra;		/* JSON object text, sorted keys; NULL: none */
};

/*
 * Parses a rule's return value at idx: nil, an alert table, or a list of
 * alert tables (at most max).  Stores them in out[0..*n).  Returns 0, or
 * -1 with the reason in err (out then holds nothing to free).  Reads raw
 * (no metamethods) and does not raise.
 */
int alertval_parse(lua_State *L, int idx, struct alertval *out, size_t max,
    size_t *n, char *err, size_t errlen);

/* Frees an alert's strings and empties it; an empty one is fine. */
void alertval_clear(struct alertval *a);

#endif
