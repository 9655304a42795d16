/*
 * loop.c: see loop.h.
 */
#include "lib/loop.h"

#include <event2/event.h>
#include <stddef.h>

struct event_base *
loop_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}
