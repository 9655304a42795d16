/*
 * builtin.c: the built-in rules over (state, report, settings, fences).
 *
 * Time is always the report's position time.  Two consequences worth
 * keeping in mind when changing anything here:
 *  - re-processing the same entries from the same committed state gives
 *    byte-identical alerts (engine/consume.c relies on it for
 *    exactly-once after a crash);
 *  - durations (overspeed_duration, fence_dwell, cooldown) are measured
 *    between reports, so a condition is only ever confirmed by a report.
 */
#include "rules/builtin.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

/* Cooldown entries of a device before the expired ones are dropped. */
#define COOLDOWN_PRUNE_AT 32

void
builtin_crossings_clear(struct builtin_crossings *c)
{
	size_t i;

	for (i = 0; i < c->nentered; i++)
		free(c->entered[i]);
	for (i = 0; i < c->nexited; i++)
		free(c->exited[i]);
	free(c->entered);
	free(c->exited);
	memset(c, 0, sizeof *c);
}

static int64_t
sec_to_ms(double s)
{
	return s > 0 ? (int64_t)llround(s * 1000.0) : 0;
}

/* True when the comma-separated list contains name. */
static bool
alarm_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len == n && memcmp(p, name, n) == 0)
			return true;
		p = end != NULL ? end + 1 : NULL;
	}
	return false;
}

void
builtin_locate(const struct state *st, const struct builtin_pos *pos,
    struct alert *a)
{
	a->time_ms = pos->time_ms;
	a->has_speed = pos->has_speed;
	a->speed = pos->speed;
	if (pos->has_fix && pos->valid) {
		a->has_pos = true;
		a->lat = pos->lat;
		a->lon = pos->lon;
	} else if (st->has_fix) {
		a->has_pos = true;
		a->lat = st->lat;
		a->lon = st->lon;
	} else if (pos->has_fix) {
		/* An invalid fix is better than nothing for a first alarm. */
		a->has_pos = true;
		a->lat = pos->lat;
		a->lon = pos->lon;
	} else {
		a->has_pos = false;
	}
}

/*
 * Appends an alert of rule to out, located where builtin_eval was called
 * (w: a copy of the state as it was before this report moved it).
 */
static struct alert *
add(struct alert_list *out, const char *rule, const struct builtin_pos *pos,
    const struct state *w)
{
	struct alert *a = alert_list_add(out, rule, rule);

	builtin_locate(w, pos, a);
	return a;
}

/* Keeps the last alert of out unless the cooldown suppresses it. */
static bool
keep(struct state *st, struct alert_list *out, double cooldown)
{
	if (builtin_cooldown(st, &out->v[out->n - 1], cooldown))
		return true;
	alert_list_pop(out);
	return false;
}

bool
builtin_cooldown(struct state *st, const struct alert *a, double cooldown)
{
	char buf[256], *own = NULL;
	const char *key = a->type;
	size_t tl, fl;
	bool allow;

	if (cooldown <= 0)
		return true;
	if (a->fence != NULL) {
		/* The key "type:fence", built without allocating when short. */
		tl = strlen(a->type);
		fl = strlen(a->fence);
		own = tl + fl + 2 <= sizeof buf ? buf : xmalloc(tl + fl + 2);
		memcpy(own, a->type, tl);
		own[tl] = ':';
		memcpy(own + tl + 1, a->fence, fl + 1);
		key = own;
	}
	/* A negative difference (a late report) is inside the window too. */
	allow = state_cooldown_try(st, key, a->time_ms, sec_to_ms(cooldown));
	/*
	 * One entry per key ("type:fence" for fence alerts, any type a Lua
	 * rule makes up) would pile up in the device's state for ever: once
	 * there are COOLDOWN_PRUNE_AT, the ones whose window has passed at
	 * this alert's time go (they hold nothing back from here on).
	 */
	if (st->ncool >= COOLDOWN_PRUNE_AT)
		state_cooldown_expire(st, a->time_ms - sec_to_ms(cooldown));
	if (own != buf)
		free(own);
	return allow;
}

/* ==== Alarms ==== */

static void
eval_alarms(struct state *st, const struct builtin_pos *pos,
    const struct settings *set, const struct state *w,
    struct alert_list *out)
{
	if (pos->alarm == NULL)
		return;
	if (alarm_has(pos->alarm, "sos")) {
		alert_set_message(add(out, "sos", pos, w), "SOS alarm");
		keep(st, out, set->cooldown);
	}
	if (alarm_has(pos->alarm, "power_cut")) {
		alert_set_message(add(out, "power_cut", pos, w),
		    "external power cut");
		keep(st, out, set->cooldown);
	}
	if (alarm_has(pos->alarm, "low_power") ||
	    alarm_has(pos->alarm, "low_battery")) {
		alert_set_message(add(out, "low_battery", pos, w),
		    "low battery");
		keep(st, out, set->cooldown);
	}
}

/* ==== Overspeed ==== */

/*
 * The limit at this fix: the lowest speed_limit of the fences covering it,
 * else the device's.  Returns false when there is none.
 */
static bool
current_limit(const struct settings *set,
    const struct builtin_fences *fences, double *limit,
    const struct builtin_fence **from)
{
	size_t i;

	*from = NULL;
	for (i = 0; i < fences->nhits; i++) {
		const struct builtin_fence *f = &fences->hits[i];

		if (f->has_speed_limit &&
		    (*from == NULL || f->speed_limit < *limit)) {
			*limit = f->speed_limit;
			*from = f;
		}
	}
	if (*from != NULL)
		return true;
	*limit = set->speed_limit;
	return set->has_speed_limit;
}

static void
eval_overspeed(struct state *st, const struct builtin_pos *pos,
    const struct settings *set, const struct builtin_fences *fences,
    const struct state *w, struct alert_list *out)
{
	struct state_overspeed *os = &st->os;
	const struct builtin_fence *from;
	double limit = 0;
	bool has_limit = current_limit(set, fences, &limit, &from);
	struct alert *a;

	if (has_limit && pos->speed > limit) {
		if (!os->active) {
			memset(os, 0, sizeof *os);
			os->active = true;
			os->start_ms = pos->time_ms;
		}
		os->last_ms = pos->time_ms;
		os->limit = limit;
		if (pos->speed > os->max_speed)
			os->max_speed = pos->speed;
		if (os->alerted == STATE_OS_NONE &&
		    pos->time_ms - os->start_ms >=
		    sec_to_ms(set->overspeed_duration)) {
			a = add(out, "overspeed", pos, w);
			alert_set_message(a, "%.0f km/h over limit %g for %lld s",
			    pos->speed, limit,
			    (long long)((pos->time_ms - os->start_ms) / 1000));
			if (from != NULL) {
				a->fence = xstrdup(from->id);
				if (from->name != NULL)
					a->fence_name = xstrdup(from->name);
			}
			os->alerted = keep(st, out, set->cooldown) ?
			    STATE_OS_SENT : STATE_OS_MUTED;
		}
		return;
	}
	/*
	 * Between limit - hysteresis and the limit the episode goes on (a
	 * speed hovering around the limit is one episode, not many); no
	 * limit at all (the device left the only fence with one) ends it.
	 */
	if (!os->active ||
	    (has_limit && pos->speed > limit - set->overspeed_hysteresis))
		return;
	if (os->alerted == STATE_OS_SENT && set->overspeed_end) {
		long long dur = (long long)((pos->time_ms - os->start_ms) /
		    1000);

		a = add(out, "overspeed_end", pos, w);
		alert_set_message(a, "overspeed ended: max %.0f km/h over "
		    "limit %g for %lld s", os->max_speed, os->limit, dur);
		a->extra = json_pack("{sfsI}", "max_speed", os->max_speed,
		    "duration", (json_int_t)dur);
		keep(st, out, set->cooldown);
	}
	memset(os, 0, sizeof *os);
}

/* ==== Fences ==== */

static bool
watched(const struct settings *set, const char *id)
{
	return settings_fence_enabled(set, id);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct builtin_fence *
find_hit(const struct builtin_fences *fences, const char *id)
{
	size_t i;

	for (i = 0; i < fences->nhits; i++)
		if (strcmp(fences->hits[i].id, id) == 0)
			return &fences->hits[i];
	return NULL;
}

/* Appends a copy of id, placed at pool[*used], to ids. */
static void
pool_id(char **ids, size_t *n, char *pool, size_t *used, const char *id)
{
	size_t len = strlen(id) + 1;

	memcpy(pool + *used, id, len);
	ids[(*n)++] = pool + *used;
	*used += len;
}

/* A confirmed crossing, kept until all are known so exits go first. */
struct crossing {
	char *id;		/* owned */
	char *name;		/* owned, NULL: none */
	bool entered;
};

static void
push_id(char ***v, size_t *n, const char *id)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(id);
}

/* "<a> <b>" as a new string. */
static char *
join_words(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = xmalloc(la + lb + 2);

	memcpy(s, a, la);
	s[la] = ' ';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

static void
emit_crossings(struct state *st, const struct builtin_pos *pos,
    const struct settings *set, const struct state *w,
    struct crossing *c, size_t nc, bool entered, struct alert_list *out,
    struct builtin_crossings *cross)
{
	size_t i;

	for (i = 0; i < nc; i++) {
		struct alert *a;

		if (c[i].entered != entered)
			continue;
		if (cross != NULL) {
			if (entered)
				push_id(&cross->entered, &cross->nentered,
				    c[i].id);
			else
				push_id(&cross->exited, &cross->nexited,
				    c[i].id);
		}
		a = add(out, entered ? "fence_enter" : "fence_exit", pos, w);
		a->fence = xstrdup(c[i].id);
		a->fence_in_id = true;
		if (c[i].name != NULL)
			a->fence_name = xstrdup(c[i].name);
		a->message = join_words(entered ? "entered" : "left",
		    c[i].name != NULL ? c[i].name : c[i].id);
		keep(st, out, set->cooldown);
	}
}

/*
 * Moves fence state for a valid, in-order fix.  The fences looked at are
 * those covering the fix and those the state remembers (inside, or with a
 * pending crossing); for each, "covering" is compared with "inside":
 *  - equal: nothing changes and a pending crossing is cancelled (the
 *    device came back before fence_dwell was over: edge jitter);
 *  - different: a crossing, confirmed at once when fence_dwell is 0, else
 *    once a later fix on the same side is fence_dwell after the first.
 */
static void
eval_fences(struct state *st, const struct builtin_pos *pos,
    const struct settings *set, const struct builtin_fences *fences,
    const struct state *w, struct alert_list *out,
    struct builtin_crossings *cross)
{
	/*
	 * The ids looked at, copied (the loop below frees state strings)
	 * into one pool: on the stack when they fit.
	 */
	char *idbuf[64], **ids = idbuf, poolbuf[2048], *pool = poolbuf;
	size_t nids = 0, i, nc = 0, total = 0, max;
	struct crossing *c = NULL;
	int64_t dwell = sec_to_ms(set->fence_dwell);

	max = fences->nhits + st->ninside + st->npending;
	for (i = 0; i < fences->nhits; i++)
		total += strlen(fences->hits[i].id) + 1;
	for (i = 0; i < st->ninside; i++)
		total += strlen(st->inside[i]) + 1;
	for (i = 0; i < st->npending; i++)
		total += strlen(st->pending[i].fence) + 1;
	if (max > sizeof idbuf / sizeof *idbuf)
		ids = xreallocarray(NULL, max, sizeof *ids);
	if (total > sizeof poolbuf)
		pool = xmalloc(total);
	total = 0;
	for (i = 0; i < fences->nhits; i++)
		if (watched(set, fences->hits[i].id))
			pool_id(ids, &nids, pool, &total, fences->hits[i].id);
	for (i = 0; i < st->ninside; i++)
		pool_id(ids, &nids, pool, &total, st->inside[i]);
	for (i = 0; i < st->npending; i++)
		pool_id(ids, &nids, pool, &total, st->pending[i].fence);
	if (nids > 1)
		qsort(ids, nids, sizeof *ids, cmp_str);

	for (i = 0; i < nids; i++) {
		const struct builtin_fence *hit;
		struct builtin_fence info;
		struct state_pending *p;
		bool covering, inside;

		if (i > 0 && strcmp(ids[i], ids[i - 1]) == 0)
			continue;
		hit = watched(set, ids[i]) ? find_hit(fences, ids[i]) : NULL;
		if (hit != NULL) {
			covering = true;
			info = *hit;
		} else if (watched(set, ids[i]) && fences->lookup != NULL &&
		    fences->lookup(fences->ctx, ids[i], &info)) {
			covering = false;
		} else {
			/* Removed by a reload, or no longer watched. */
			state_inside_set(st, ids[i], false);
			state_pending_del(st, ids[i]);
			continue;
		}
		inside = state_inside_has(st, ids[i]);
		if (covering == inside) {
			state_pending_del(st, ids[i]);
			continue;
		}
		if (dwell > 0) {
			p = state_pending_get(st, ids[i]);
			if (p == NULL || p->inside != covering) {
				state_pending_set(st, ids[i], covering,
				    pos->time_ms);
				continue;
			}
			if (pos->time_ms - p->since_ms < dwell)
				continue;
		}
		state_pending_del(st, ids[i]);
		state_inside_set(st, ids[i], covering);
		c = xreallocarray(c, nc + 1, sizeof *c);
		c[nc].id = xstrdup(ids[i]);
		c[nc].name = info.name != NULL ? xstrdup(info.name) : NULL;
		c[nc].entered = covering;
		nc++;
	}
	emit_crossings(st, pos, set, w, c, nc, false, out, cross);
	emit_crossings(st, pos, set, w, c, nc, true, out, cross);

	for (i = 0; i < nc; i++) {
		free(c[i].id);
		free(c[i].name);
	}
	free(c);
	if (ids != idbuf)
		free(ids);
	if (pool != poolbuf)
		free(pool);
}

/* ==== All rules ==== */

void
builtin_eval(struct state *st, const struct builtin_pos *pos,
    const struct settings *set, const struct builtin_fences *fences,
    struct alert_list *out, struct builtin_crossings *cross)
{
	struct state w;
	bool valid_fix = pos->has_fix && pos->valid;
	/*
	 * Equal times count as in order: devices that report twice in one
	 * second (an alarm and a fix) must not lose the second.
	 */
	bool in_order = !st->has_last || pos->time_ms >= st->last_ms;
	bool moves = valid_fix && in_order;

	/* Alerts are located from the last fix as it was before this one. */
	memset(&w, 0, sizeof w);
	w.has_fix = st->has_fix;
	w.lat = st->lat;
	w.lon = st->lon;

	eval_alarms(st, pos, set, &w, out);
	if (moves && pos->has_speed)
		eval_overspeed(st, pos, set, fences, &w, out);
	if (moves)
		eval_fences(st, pos, set, fences, &w, out, cross);

	if (pos->has_fix && in_order) {
		st->has_last = true;
		st->last_ms = pos->time_ms;
	}
	if (moves) {
		st->has_fix = true;
		st->fix_ms = pos->time_ms;
		st->lat = pos->lat;
		st->lon = pos->lon;
	}
}
