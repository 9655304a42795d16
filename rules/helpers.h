/*
 * helpers.h: Lua helpers for rules, defined as globals in the sandbox
 * before the rules file loads.  All are keyed on pos.time (never the wall
 * clock) and keep their memory in dev.state under keys starting with "_":
 *
 *   every(dev, pos, key, seconds)        true at most once per period
 *   held(dev, pos, key, cond, seconds)   true once cond held that long
 *                                        (2nd result: seconds held)
 *   latch(dev, key, cond [, rearm])      true once per episode; re-arms
 *                                        when rearm (default: not cond)
 *   edge(dev, key, cond)                 "start" / "end" / nil
 *   forget(dev, key)                     clears the four above for key
 *   within_hours(t, days, from, to [, utc_offset])
 *                                        weekly window, e.g.
 *                                        (pos.time, "mon-fri", "08:00",
 *                                        "18:00", "+02:00")
 */
#ifndef GA_RULES_HELPERS_H
#define GA_RULES_HELPERS_H

#include <stddef.h>

#include "rules/sandbox.h"

/*
 * Loads and runs the helpers chunk in sb (before sandbox_seal).  Returns
 * 0, or -1 with the reason in err (only out of memory can cause it).
 */
int helpers_load(struct sandbox *sb, char *err, size_t errlen);

#endif
