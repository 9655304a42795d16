/*
 * rules.h: a loaded rules file (SPEC "Rules (Lua 5.4)"): per-device
 * settings for the built-in rules, and the custom Lua rules run for one
 * position at a time.  Pure: no Redis, no GEOS, no clock.  The engine
 * owns the loop, the built-in rules and where device state is kept.
 *
 * The rules file is a chunk returning
 *   { defaults = {...}, devices = { [id] = {...} }, rules = { name = fn } }
 * A device's settings are defaults overlaid by devices[id] (key by key;
 * speed_limit = false removes a default limit).  A device entry's own
 * `rules` table overlays the shared rules by name (a function replaces
 * the shared rule, false removes it).  Rules run in name order.
 *
 * Device state: each custom rule has its own dev.state table per device,
 * persisted by the caller as one JSON object per device,
 * {"<rule>": {...}, ...}.  Per rule, because a rule that fails is rolled
 * back alone (its alerts, commands and state changes are dropped), one
 * rule cannot clobber another's memory, and a device rule that overrides
 * a shared one by name inherits its state.  State of rules that no longer
 * exist is kept untouched (they may come back with the next reload).  A
 * rule's state is a table (string keys) or a list (keys 1..n).  The
 * tables stay live in the Lua state between positions (rules/devstate.h)
 * as long as the caller passes back the text the last run returned, so a
 * rule should change its dev.state only during its own call.  The text is
 * canonical (sorted keys, compact): equal states give equal texts.
 *
 * Failure policy: a rule that fails (raises, runs out of its instruction
 * budget or memory, returns a malformed alert, or leaves state that
 * cannot be persisted) RULES_FAIL_LIMIT times in a row for one device is
 * disabled for that device until the rules are reloaded (or the engine
 * restarts); a rule that fails RULES_FAIL_ALL times in a row across all
 * devices, with no success in between, is disabled for every device.
 * Why: a looping rule costs its whole budget on every position, which
 * would starve the engine, and a broken rule would flood P:errors; a few
 * strikes tell a broken rule from one odd report; per device, because a
 * rule that trips on one device's data should keep serving the others;
 * until reload, because a reload is how the fix arrives.  Counters live in
 * memory only (RULES_FAIL_TRACK devices at most; beyond that only the
 * rule-wide counter applies).
 *
 * Hot reload: rules_load builds a complete new object (fresh sandbox) and
 * self-checks it: every rule runs once, for every listed device and for a
 * device using the defaults, against a sample position (check.h), and
 * any error refuses the file.  The caller swaps
 * pointers only when rules_load succeeded and frees the old object; the
 * state JSON it holds carries over unchanged.
 */
#ifndef GA_RULES_RULES_H
#define GA_RULES_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/settings.h"

#define RULES_FAIL_LIMIT 3	/* failures in a row: off for the device */
#define RULES_FAIL_ALL 100	/* in a row, all devices: off everywhere */
#define RULES_FAIL_TRACK 4096	/* (device, rule) pairs counted at once */
#define RULES_MAX_ALERTS 16	/* alerts one rule may return per position */
#define RULES_MAX_COMMANDS 8	/* dev.command calls per rule per position */
#define RULES_STATE_MAX 65536	/* bytes of JSON state per rule per device */

struct rules;

struct rules_opts {
	size_t mem_max;		/* Lua heap cap, bytes (0: SANDBOX default) */
	long budget;		/* instructions per rule call (0: default) */
	bool no_self_check;	/* load only (check_file runs it itself) */
};

/* A report field as the stream holds it: text. */
struct rules_field {
	const char *key;	/* NUL-terminated */
	const char *value;
	size_t len;
};

/*
 * One position for rules_run (all borrowed for the call).  In Lua,
 * pos.<key> is a number when the value is a plain decimal number
 * ("-12", "4.5") and the key is not textual by nature (device, imei,
 * iccid, vin, phone, cells, wifi, raw, peer, proto, transport, alarm,
 * result, text), else a string; pos.time is the `time` field in whole
 * seconds and pos.time_ms the original milliseconds; pos.inside,
 * pos.entered, pos.exited are lists of fence ids.  pos and its lists are
 * read-only.
 */
struct rules_pos {
	const struct rules_field *fields;
	size_t nfields;
	const char *const *inside;
	size_t ninside;
	const char *const *entered;
	size_t nentered;
	const char *const *exited;
	size_t nexited;
};

struct rules_alert {
	const char *rule;	/* rule name */
	int index;		/* 0: the rule's only alert; else 1..n */
	const char *type;
	const char *message;	/* NULL when absent */
	const char *extra;	/* other fields as a JSON object; NULL: none */
};

struct rules_command {
	const char *rule;
	const char *name;	/* a SPEC command name */
	const char *param;	/* NULL when absent */
};

struct rules_error {
	const char *device;	/* the device passed to rules_run */
	const char *rule;	/* rule name, or "state" for bad input state */
	const char *message;	/* one line, with file:line when known */
};

/*
 * What rules_run produced.  Everything is owned by the rules object and
 * valid until the next rules_run or rules_free.
 */
struct rules_result {
	const struct rules_alert *alerts;
	size_t nalerts;
	const struct rules_command *commands;
	size_t ncommands;
	const struct rules_error *errors;
	size_t nerrors;
	/* The device's new state when any rule changed it, else NULL (keep
	 * the old one).  "{}" means no state is left. */
	const char *state;
};

/*
 * Loads the rules file at path into a fresh sandbox, validates it and runs
 * the self-check.  opts may be NULL.  Returns the object (free with
 * rules_free), or NULL with one line in err naming the file and line, the
 * device and the key, or the rule that failed.
 */
struct rules *rules_load(const char *path, const struct rules_opts *opts,
    char *err, size_t errlen);

/*
 * Like rules_load for source text already in memory; name is used in
 * messages as the file name.
 */
struct rules *rules_load_string(const char *src, size_t len, const char *name,
    const struct rules_opts *opts, char *err, size_t errlen);

/* Frees the object and its sandbox; NULL does nothing. */
void rules_free(struct rules *r);

/*
 * The built-in settings of a device (a device not listed gets the
 * defaults).  Borrowed; valid until rules_free.  Never NULL.
 */
const struct settings *rules_settings(const struct rules *r,
    const char *device);

/* True when the device has any custom rule (else rules_run is a no-op). */
bool rules_has_custom(const struct rules *r, const char *device);

/*
 * Runs the device's custom rules, in name order, for one position.
 * state is the device's state JSON from the last call (NULL or "" for
 * none).  Never fails as a whole: a rule that fails is reported in
 * errors and skipped, the others run.  Returns the result (owned by r).
 */
const struct rules_result *rules_run(struct rules *r, const char *device,
    const struct rules_pos *pos, const char *state);

/*
 * Clears every failure counter and re-enables every rule (what a reload
 * does; rules_load's self-check calls it).
 */
void rules_reset_failures(struct rules *r);

/* The file name the rules were loaded from (borrowed). */
const char *rules_name(const struct rules *r);

/* The i-th listed device id in sorted order, NULL past the end. */
const char *rules_device_id(const struct rules *r, size_t i);

/* Counts for logs and checks: listed devices, distinct rule functions. */
size_t rules_device_count(const struct rules *r);
size_t rules_rule_count(const struct rules *r);

/* The sandbox (borrowed): for tests (fault injection) and diagnostics. */
struct sandbox *rules_sandbox(struct rules *r);

#endif
