/*
 * state.h: what the engine remembers about each device between reports.
 *
 * A struct state is a plain value the built-in rules read and change: the
 * last valid fix, the newest fix time processed (out-of-order detection),
 * the fences the device is inside (by fence id: fence indices change on
 * reload), crossings waiting out their dwell time, the overspeed episode,
 * the cooldown table and the Lua rules' dev.state (opaque JSON text).
 * state_to_json/state_from_json give the form kept in the hash P:state.
 *
 * struct state_table (opaque) holds every device's committed state plus,
 * during a batch, working copies of the devices the batch touched.  The
 * batch changes only working copies; state_table_commit makes them the
 * committed ones once Redis has accepted the batch (EXEC), and
 * state_table_rollback throws them away when it has not.  Redis I/O is the
 * caller's.
 */
#ifndef GA_ENGINE_STATE_H
#define GA_ENGINE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A fence crossing seen but not yet confirmed by fence_dwell. */
struct state_pending {
	char *fence;		/* fence id, owned */
	bool inside;		/* the side the device moved to */
	int64_t since_ms;	/* position time of the first fix on that side */
};

/* One entry of the cooldown table: key "type" or "type:fence". */
struct state_cooldown {
	char *key;		/* owned */
	int64_t last_ms;	/* position time of the last alert raised */
};

enum state_os_alerted {
	STATE_OS_NONE = 0,	/* the episode has not reached its duration */
	STATE_OS_SENT = 1,	/* overspeed was raised for this episode */
	STATE_OS_MUTED = 2,	/* due, but suppressed by the cooldown */
};

/* The current overspeed episode (active == false: none). */
struct state_overspeed {
	bool active;
	int64_t start_ms;	/* position time of the first fix over the limit */
	int64_t last_ms;	/* position time of the latest fix over the limit */
	enum state_os_alerted alerted;
	double max_speed;	/* km/h, highest speed seen in the episode */
	double limit;		/* km/h, the limit at the latest fix over it */
};

struct state {
	bool has_fix;		/* last valid fix, for alerts on fix-less reports */
	int64_t fix_ms;
	double lat, lon;
	bool has_last;		/* newest time of a processed report with a fix */
	int64_t last_ms;
	char **inside;		/* fence ids, sorted (strcmp), owned */
	size_t ninside;
	struct state_pending *pending;	/* sorted by fence id */
	size_t npending;
	struct state_overspeed os;
	struct state_cooldown *cool;	/* sorted by key */
	size_t ncool;
	char *lua;		/* Lua dev.state as JSON text, NULL: none */
};

/* ---- One device's state ---- */

/* Returns a new empty state; free with state_free.  Never fails. */
struct state *state_new(void);

/* Frees st and everything it owns; state_free(NULL) does nothing. */
void state_free(struct state *st);

/* Returns a deep copy of st; free with state_free.  Never fails. */
struct state *state_clone(const struct state *st);

/* True when both states hold the same values (used to skip rewrites). */
bool state_equal(const struct state *a, const struct state *b);

/* True when the device is inside fence id. */
bool state_inside_has(const struct state *st, const char *id);

/* Adds (inside == true) or removes fence id from the inside set. */
void state_inside_set(struct state *st, const char *id, bool inside);

/* Returns the pending crossing of fence id, or NULL (borrowed). */
struct state_pending *state_pending_get(struct state *st, const char *id);

/* Sets the pending crossing of fence id (replacing any). */
void state_pending_set(struct state *st, const char *id, bool inside,
    int64_t since_ms);

/* Removes the pending crossing of fence id, if any. */
void state_pending_del(struct state *st, const char *id);

/*
 * Finds the cooldown entry for key; returns true and sets *last_ms when
 * there is one.
 */
bool state_cooldown_get(const struct state *st, const char *key,
    int64_t *last_ms);

/* Records that an alert with this cooldown key was raised at last_ms. */
void state_cooldown_set(struct state *st, const char *key, int64_t last_ms);

/*
 * The cooldown test of an alert with this key at time_ms: when the entry
 * of key lies less than window_ms before time_ms (or after it: a late
 * report), returns false and changes nothing; otherwise records time_ms
 * as key's and returns true.  One lookup for state_cooldown_get and
 * state_cooldown_set together.
 */
bool state_cooldown_try(struct state *st, const char *key, int64_t time_ms,
    int64_t window_ms);

/* Removes the cooldown entries recorded at or before before_ms; returns
 * how many. */
size_t state_cooldown_expire(struct state *st, int64_t before_ms);

/* Replaces the Lua dev.state text (copied; NULL clears it). */
void state_set_lua(struct state *st, const char *json);

/*
 * Returns st as one compact JSON object, the value stored in P:state; the
 * caller frees it with free().  Never fails.
 */
char *state_to_json(const struct state *st);

/*
 * Parses text[0..len) as written by state_to_json.  Returns a new state
 * (free with state_free), or NULL with a one-line reason in err when the
 * text is not such an object.  Unknown members are ignored, missing ones
 * take their empty values, so older and newer engines read each other's
 * states.
 */
struct state *state_from_json(const char *text, size_t len, char *err,
    size_t errlen);

/* ---- The table of all devices ---- */

struct state_table;

/* Returns a new empty table; free with state_table_free.  Never fails. */
struct state_table *state_table_new(void);

/* Frees the table and every state in it; NULL does nothing. */
void state_table_free(struct state_table *tab);

/* Drops every device (committed and working). */
void state_table_clear(struct state_table *tab);

/* Number of devices with a committed state. */
size_t state_table_count(const struct state_table *tab);

/* Returns device id's committed state (borrowed), or NULL. */
const struct state *state_table_get(const struct state_table *tab,
    const char *id);

/*
 * Makes st (ownership passes to the table) device id's committed state,
 * replacing any.  Used when loading P:state.
 */
void state_table_put(struct state_table *tab, const char *id,
    struct state *st);

/*
 * Returns device id's working state for the current batch (borrowed; valid
 * until commit or rollback): on the first call in a batch, a copy of the
 * committed state (or a new empty one); afterwards the same copy.
 */
struct state *state_table_work(struct state_table *tab, const char *id);

/* Number of devices with a working state in the current batch. */
size_t state_table_nwork(const struct state_table *tab);

/*
 * Calls fn for each working state, in the order the batch first touched
 * the devices, with changed = false when it equals the committed state.
 */
void state_table_foreach_work(const struct state_table *tab,
    void (*fn)(const char *id, const struct state *st, bool changed,
    void *ctx), void *ctx);

/* Working states become the committed ones. */
void state_table_commit(struct state_table *tab);

/* Working states are dropped; the committed ones stay as they were. */
void state_table_rollback(struct state_table *tab);

#endif
