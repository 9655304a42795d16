/*
 * builtin.h: the built-in rules (SPEC "Rules": sos, power_cut/low_battery,
 * overspeed, overspeed_end, fence_enter, fence_exit, cooldown) as pure
 * functions over a device's state, one report, its settings and the
 * fences covering the report's fix.
 *
 * Everything is keyed on position time, never on the wall clock: the same
 * state and report always give the same alerts and the same new state, so
 * re-processing a batch after a crash repeats exactly what was lost.  No
 * I/O, no GEOS: the caller asks the fence set which fences cover the fix
 * and passes them in.
 */
#ifndef GA_RULES_BUILTIN_H
#define GA_RULES_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/alert.h"
#include "engine/state.h"
#include "rules/settings.h"

/* What the rules need to know of one fence. */
struct builtin_fence {
	const char *id;
	const char *name;		/* NULL: none */
	bool has_speed_limit;
	double speed_limit;		/* km/h */
};

/*
 * The fences as this device sees them: those whose `devices` list admits
 * the device (the caller filters by that list; builtin filters by the
 * device's `fences` setting, struct settings of rules/settings.h).
 */
struct builtin_fences {
	/* Fences covering the report's fix, sorted by id; empty when the
	 * report has no fix. */
	const struct builtin_fence *hits;
	size_t nhits;
	/*
	 * Looks up a fence by id; returns false when it no longer exists
	 * (or no longer admits the device).  A fence the state remembers
	 * that the lookup does not find is forgotten silently: it was
	 * removed by a reload, there is nothing to exit.
	 */
	bool (*lookup)(void *ctx, const char *id, struct builtin_fence *out);
	void *ctx;
};

/* One report as the built-in rules read it. */
struct builtin_pos {
	int64_t time_ms;		/* position (fix or device) time */
	bool valid;			/* GPS fix valid */
	bool has_fix;			/* lat/lon present */
	double lat, lon;
	bool has_speed;
	double speed;			/* km/h */
	const char *alarm;		/* "sos,power_cut", NULL: none */
};

/* Fence crossings a report confirmed, for the Lua rules' pos table. */
struct builtin_crossings {
	char **entered;			/* fence ids, owned, sorted */
	size_t nentered;
	char **exited;			/* fence ids, owned, sorted */
	size_t nexited;
};

/* Frees the ids and empties c. */
void builtin_crossings_clear(struct builtin_crossings *c);

/*
 * Runs every built-in rule for one report of one device, in the order
 * sos, power_cut, low_battery, overspeed_end, overspeed, fence_exit...,
 * fence_enter... (exits before enters, each by fence id).  Updates st (the
 * device's working state), appends the alerts to out (rule, type, time,
 * position, speed, message, fence; the caller adds nothing but the entry
 * id and device when emitting) and, when cross is not NULL, records the
 * crossings (including those whose alert a cooldown suppressed).
 *
 * A report with a valid fix whose time is not older than the newest fix
 * processed moves fence and overspeed state; any other report raises
 * only alarm alerts, located at its own fix when valid, else at the last
 * valid fix.  Never fails.
 */
void builtin_eval(struct state *st, const struct builtin_pos *pos,
    const struct settings *set, const struct builtin_fences *fences,
    struct alert_list *out, struct builtin_crossings *cross);

/*
 * Sets a's time, position and speed for an alert raised by pos: at the
 * report's fix when valid, else at the device's last valid fix, else at
 * the report's invalid fix, else nowhere (has_pos false).  Custom rule
 * alerts are located the same way.
 */
void builtin_locate(const struct state *st, const struct builtin_pos *pos,
    struct alert *a);

/*
 * The cooldown rule, for one alert about to be raised: returns false when
 * an alert of the same type (and fence, when it has one) was raised for
 * this device less than cooldown seconds of position time before a's time
 * (or after it: a late report does not re-raise what newer ones did);
 * otherwise records a's time and returns true.  cooldown <= 0 always
 * allows.  Used for built-in and custom rule alerts alike.  The entries
 * are kept in the device's state, and dropped once their window has
 * passed at a newer alert's time when a device has 32 or more: a report
 * older than that (buffered history) may then raise an alert again.
 */
bool builtin_cooldown(struct state *st, const struct alert *a,
    double cooldown);

#endif
