/*
 * settings.h: the settings the built-in rules read, per device, as a C
 * struct.  settings_parse validates them from a Lua table (defaults already
 * overlaid by the device's entry, which rules.c does); everything else in
 * the table (a user's own thresholds) is left to the rules that read
 * dev.settings.
 */
#ifndef GA_RULES_SETTINGS_H
#define GA_RULES_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

#define SETTINGS_HYSTERESIS_DEFAULT 5.0	/* km/h, SPEC */

struct settings {
	bool has_speed_limit;		/* false: no limit (absent or false) */
	double speed_limit;		/* km/h, > 0 */
	double overspeed_duration;	/* s, >= 0, default 0 */
	double overspeed_hysteresis;	/* km/h, >= 0, default 5 */
	bool overspeed_end;		/* default false */
	bool all_fences;		/* fences = "*" (the default) */
	char **fences;			/* else: sorted ids (may be empty) */
	size_t nfences;
	double fence_dwell;		/* s, >= 0, default 0 */
	double cooldown;		/* s, >= 0, default 0 */
};

/*
 * Reads the built-in settings from the table at idx (raw reads; absent
 * keys get their defaults) into *out, which the caller frees with
 * settings_clear.  who names the table in errors ("defaults" or
 * "device '123'").  Returns 0, or -1 with e.g. "device '123': speed_limit
 * must be a positive number (got string)" in err; *out is then empty.
 * Does not raise: only raw reads, no allocation in Lua.
 */
int settings_parse(lua_State *L, int idx, const char *who,
    struct settings *out, char *err, size_t errlen);

/* Frees what settings_parse allocated and resets *s to the defaults. */
void settings_clear(struct settings *s);

/* Fills *s with the defaults (no speed limit, every fence). */
void settings_default(struct settings *s);

/* True when the device's rules apply to fence id (fences "*" or listed). */
bool settings_fence_enabled(const struct settings *s, const char *fence);

#endif
