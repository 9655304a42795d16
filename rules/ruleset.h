/*
 * ruleset.h: the validated content of a rules file (see rules.h for the
 * format): the built-in settings of each listed device and of the
 * defaults, each one's rule list (shared rules overlaid by the device's
 * own, sorted by name) and the rule functions, built from the table the
 * file returns.
 *
 * The structs are visible, not opaque: rules.c walks an entry's rule list
 * on every position and keeps the failure counters in them (the policy
 * is rules.c's; they live here so that they go with the rules they count).
 */
#ifndef GA_RULES_RULESET_H
#define GA_RULES_RULESET_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

#include "rules/settings.h"

#define RULESET_NAME_MAX 64	/* rule names and device ids */

struct ruleset_rule {
	char *name;
	int ref;		/* the function, in the registry */
	int streak;		/* failures in a row, all devices */
	bool off_all;		/* disabled for every device */
};

struct ruleset_entry {
	char *id;		/* NULL: the defaults */
	struct settings settings;
	int view;		/* dev.settings (read-only copy), registry ref */
	struct ruleset_rule **rules;	/* sorted by name, borrowed from all */
	size_t nrules;
	int *fails;		/* listed devices: per rule, in a row */
	bool *off;		/* listed devices: per rule, disabled */
};

struct ruleset {
	const char *name;	/* the file, for messages (borrowed) */
	struct ruleset_entry defaults;
	struct ruleset_entry *devices;	/* sorted by id */
	size_t ndevices;
	struct ruleset_rule **all;	/* every rule object, owned */
	size_t nall;
};

/* Makes rs empty (default settings, no rules); name is borrowed. */
void ruleset_init(struct ruleset *rs, const char *name);

/*
 * Fills the empty rs from the table at idx (what the rules file
 * returned): checks the top-level keys, the rule names and functions and
 * every device's settings, makes the dev.settings views and references
 * the rule functions in the registry.  Raises "<name>: <reason>" naming
 * the device and key, or the rule, on the first problem (rs then holds
 * what was built so far, for ruleset_clear).  Run protected.
 */
void ruleset_build(lua_State *L, int idx, struct ruleset *rs);

/* The entry of device, or the defaults entry when it is not listed.
 * Never NULL; borrowed from rs. */
struct ruleset_entry *ruleset_find(const struct ruleset *rs,
    const char *device);

/* Zeroes every failure counter and re-enables every rule. */
void ruleset_reset(struct ruleset *rs);

/* Frees what rs holds (the registry references go with the Lua state). */
void ruleset_clear(struct ruleset *rs);

#endif
