/* A state with every member set, for the state tests. */
#ifndef GA_TESTS_STATE_FIXTURE_H
#define GA_TESTS_STATE_FIXTURE_H

#include "engine/state.h"

static inline struct state *
full_state(void)
{
	struct state *st = state_new();

	st->has_fix = true;
	st->fix_ms = 1732320000000LL;
	st->lat = 51.0981234567891;
	st->lon = -114.0831;
	st->has_last = true;
	st->last_ms = 1732320005000LL;
	state_inside_set(st, "depot", true);
	state_inside_set(st, "yard \"2\"", true);
	state_pending_set(st, "home", true, 1732319990000LL);
	st->os.active = true;
	st->os.start_ms = 1732319970000LL;
	st->os.last_ms = 1732320000000LL;
	st->os.alerted = STATE_OS_SENT;
	st->os.max_speed = 92.4;
	st->os.limit = 80;
	state_cooldown_set(st, "overspeed", 1732320000000LL);
	state_set_lua(st, "{\"count\":3,\"name\":\"x\"}");
	return st;
}

#endif
