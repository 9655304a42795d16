/*
 * alert.h: one alert as the rules produce it, its JSON payload, and the
 * Redis commands that emit it.
 *
 * The payload is SPEC's:
 *   {"id":"<entry>:<rule>[:<fence>][:<n>]","type":T,"device":D,"time":MS,
 *    "lat":..,"lon":..,"speed":..,"rule":R,"message":M,
 *    "fence":F,"fence_name":N,"position":"<entry>", <Lua extras>}
 * built from nothing but the alert and the position entry, so the same
 * entry re-processed after a crash yields the same bytes.  Sending the
 * commands is the caller's (engine/consume.c).
 */
#ifndef GA_ENGINE_ALERT_H
#define GA_ENGINE_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_t;
struct jsonw;
struct resp;

struct alert {
	char *rule;		/* rule name, owned */
	char *type;		/* alert type, owned */
	char *message;		/* owned, NULL: none */
	char *fence;		/* fence id, owned or NULL: the fence crossed, or
				 * the fence whose speed limit applied */
	bool fence_in_id;	/* fence alerts: the id ends with ":<fence>" */
	char *fence_name;	/* the fence's name, owned or NULL */
	int n;			/* n-th alert of a custom rule returning several
				 * (1-based); 0: the rule's only alert */
	int64_t time_ms;	/* position time */
	bool has_pos;		/* lat/lon known (the report's or last fix) */
	double lat, lon;
	bool has_speed;
	double speed;		/* km/h */
	struct json_t *extra;	/* JSON object of extra members, owned, NULL */
};

/* A growable list of alerts (one report's, or one batch's). */
struct alert_list {
	struct alert *v;
	size_t n;
	size_t alloc;
};

/*
 * Appends a zeroed alert to list with copies of rule and type, and returns
 * it (borrowed; valid until the next add or clear).  Never fails.
 */
struct alert *alert_list_add(struct alert_list *list, const char *rule,
    const char *type);

/* Removes the last alert of list (used when a cooldown suppresses it). */
void alert_list_pop(struct alert_list *list);

/* Frees every alert and empties list (its array is kept for reuse). */
void alert_list_clear(struct alert_list *list);

/* Frees list's storage; list can be reused afterwards. */
void alert_list_free(struct alert_list *list);

/* Sets a's message from a printf format (replacing any). */
void alert_set_message(struct alert *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Writes a's id ("<entry_id>:<rule>[:<fence>][:<n>]", the fence only when
 * fence_in_id) into buf.  Returns
 * the length it needs (snprintf's contract).
 */
int alert_id(const struct alert *a, const char *entry_id, char *buf,
    size_t size);

/*
 * Writes the JSON payload of a, raised by device for position entry
 * entry_id, as compact text into j (emptied first; jsonw_data gives the
 * text).  Extra members named like a SPEC member are left out, so a Lua
 * rule cannot forge an id or device.  Reals print as with 15 significant
 * digits (51.098, 92.4, 80.0); a non-finite position or speed is left
 * out.  Strings are escaped by lib/json.h (invalid UTF-8 becomes
 * U+FFFD).  Never fails.
 */
void alert_payload_write(struct jsonw *j, const struct alert *a,
    const char *entry_id, const char *device);

/*
 * The same payload as a new string; the caller frees it with free().
 * Never fails.
 */
char *alert_payload(const struct alert *a, const char *entry_id,
    const char *device);

/*
 * Appends to out the RESP encoding of "XADD <key> * type T device D json
 * PAYLOAD" (key is "<prefix>:alerts"), payload being payload[0..plen).
 */
void alert_xadd_resp(struct resp *out, const char *key,
    const struct alert *a, const char *device, const char *payload,
    size_t plen);

/* Same for "PUBLISH <key> PAYLOAD". */
void alert_publish_resp(struct resp *out, const char *key,
    const char *payload, size_t plen);

#endif
