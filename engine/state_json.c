/*
 * state_json.c: a device's state as the JSON text kept in P:state, and
 * back (engine/state.h).
 */
#include "engine/state.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/resp.h"
#include "lib/xmalloc.h"

/* ==== JSON form ==== */

/*
 * Shape (members absent when empty):
 *   {"fix":{"t":MS,"lat":D,"lon":D},"last":MS,"inside":["id",...],
 *    "pending":[{"fence":"id","inside":B,"since":MS},...],
 *    "overspeed":{"start":MS,"last":MS,"alerted":N,"max":D,"limit":D},
 *    "cooldown":{"key":MS,...},"lua":"<dev.state JSON text>"}
 * Doubles are written with 17 significant digits, so they read back bit
 * for bit: re-processing after a restart sees the same numbers.
 *
 * The bytes are jansson's json_dumps(JSON_COMPACT | JSON_SORT_KEYS) of
 * that object, which is what earlier engines stored.  Nearly every state
 * holds only printable ASCII strings and finite numbers; those are
 * written directly (below), anything else through jansson itself.
 */

static char *
to_json_jansson(const struct state *st)
{
	json_t *o = json_object();
	char *s;
	size_t i;

	if (st->has_fix)
		json_object_set_new(o, "fix", json_pack("{sIsfsf}",
		    "t", (json_int_t)st->fix_ms, "lat", st->lat,
		    "lon", st->lon));
	if (st->has_last)
		json_object_set_new(o, "last", json_integer(st->last_ms));
	if (st->ninside > 0) {
		json_t *a = json_array();

		for (i = 0; i < st->ninside; i++)
			json_array_append_new(a, json_string(st->inside[i]));
		json_object_set_new(o, "inside", a);
	}
	if (st->npending > 0) {
		json_t *a = json_array();

		for (i = 0; i < st->npending; i++)
			json_array_append_new(a, json_pack("{sssbsI}",
			    "fence", st->pending[i].fence,
			    "inside", (int)st->pending[i].inside,
			    "since", (json_int_t)st->pending[i].since_ms));
		json_object_set_new(o, "pending", a);
	}
	if (st->os.active)
		json_object_set_new(o, "overspeed", json_pack(
		    "{sIsIsisfsf}", "start", (json_int_t)st->os.start_ms,
		    "last", (json_int_t)st->os.last_ms,
		    "alerted", (int)st->os.alerted,
		    "max", st->os.max_speed, "limit", st->os.limit));
	if (st->ncool > 0) {
		json_t *c = json_object();

		for (i = 0; i < st->ncool; i++)
			json_object_set_new(c, st->cool[i].key,
			    json_integer(st->cool[i].last_ms));
		json_object_set_new(o, "cooldown", c);
	}
	if (st->lua != NULL)
		json_object_set_new(o, "lua", json_string(st->lua));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (s == NULL) {
		/* json_dumps fails only on allocation (or a non-UTF-8 key,
		 * which the Lua binding never hands us). */
		fprintf(stderr, "fatal: cannot serialize device state\n");
		abort();
	}
	return s;
}

/* A growing text buffer; the text is handed to the caller. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static char *
sb_room(struct sbuf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->p = xrealloc(b->p, b->cap);
	}
	return b->p + b->len;
}

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	memcpy(sb_room(b, n), s, n);
	b->len += n;
}

#define SB_LIT(b, lit) sb_put((b), (lit), sizeof(lit) - 1)

/* A string of printable ASCII (see plain): only '"' and '\' escaped. */
static void
sb_str(struct sbuf *b, const char *s)
{
	size_t n = strlen(s), i;
	char *p = sb_room(b, 2 * n + 2), *q = p;

	*q++ = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			*q++ = '\\';
		*q++ = s[i];
	}
	*q++ = '"';
	b->len += (size_t)(q - p);
}

static void
sb_int(struct sbuf *b, int64_t v)
{
	b->len += resp_int(sb_room(b, RESP_INT_MAX), v);
}

/* A finite double as jansson prints it. */
static void
sb_real(struct sbuf *b, double x)
{
	char buf[JSONW_REAL_MAX];

	sb_put(b, buf, jsonw_real_text(buf, x));
}

/* True when s holds only printable ASCII (no escapes but '"' and '\\'). */
static bool
plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* True when the direct writer gives jansson's bytes for st. */
static bool
writes_plain(const struct state *st)
{
	size_t i;

	if (st->has_fix && (!isfinite(st->lat) || !isfinite(st->lon)))
		return false;
	if (st->os.active && (!isfinite(st->os.max_speed) ||
	    !isfinite(st->os.limit)))
		return false;
	for (i = 0; i < st->ninside; i++)
		if (!plain(st->inside[i]))
			return false;
	for (i = 0; i < st->npending; i++)
		if (!plain(st->pending[i].fence))
			return false;
	for (i = 0; i < st->ncool; i++)
		if (!plain(st->cool[i].key))
			return false;
	return st->lua == NULL || plain(st->lua);
}

char *
state_to_json(const struct state *st)
{
	struct sbuf b;
	bool first = true;
	size_t i;

	if (!writes_plain(st))
		return to_json_jansson(st);
	b.cap = 256;
	b.len = 0;
	b.p = xmalloc(b.cap);
	/* Members in key order: jansson's JSON_SORT_KEYS. */
	SB_LIT(&b, "{");
	if (st->ncool > 0) {
		/* st->cool is sorted by strcmp, as JSON_SORT_KEYS sorts. */
		SB_LIT(&b, "\"cooldown\":{");
		for (i = 0; i < st->ncool; i++) {
			if (i > 0)
				SB_LIT(&b, ",");
			sb_str(&b, st->cool[i].key);
			SB_LIT(&b, ":");
			sb_int(&b, st->cool[i].last_ms);
		}
		SB_LIT(&b, "}");
		first = false;
	}
	if (st->has_fix) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"fix\":{\"lat\":");
		sb_real(&b, st->lat);
		SB_LIT(&b, ",\"lon\":");
		sb_real(&b, st->lon);
		SB_LIT(&b, ",\"t\":");
		sb_int(&b, st->fix_ms);
		SB_LIT(&b, "}");
		first = false;
	}
	if (st->ninside > 0) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"inside\":[");
		for (i = 0; i < st->ninside; i++) {
			if (i > 0)
				SB_LIT(&b, ",");
			sb_str(&b, st->inside[i]);
		}
		SB_LIT(&b, "]");
		first = false;
	}
	if (st->has_last) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"last\":");
		sb_int(&b, st->last_ms);
		first = false;
	}
	if (st->lua != NULL) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"lua\":");
		sb_str(&b, st->lua);
		first = false;
	}
	if (st->os.active) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"overspeed\":{\"alerted\":");
		sb_int(&b, (int)st->os.alerted);
		SB_LIT(&b, ",\"last\":");
		sb_int(&b, st->os.last_ms);
		SB_LIT(&b, ",\"limit\":");
		sb_real(&b, st->os.limit);
		SB_LIT(&b, ",\"max\":");
		sb_real(&b, st->os.max_speed);
		SB_LIT(&b, ",\"start\":");
		sb_int(&b, st->os.start_ms);
		SB_LIT(&b, "}");
		first = false;
	}
	if (st->npending > 0) {
		if (!first)
			SB_LIT(&b, ",");
		SB_LIT(&b, "\"pending\":[");
		for (i = 0; i < st->npending; i++) {
			if (i > 0)
				SB_LIT(&b, ",");
			SB_LIT(&b, "{\"fence\":");
			sb_str(&b, st->pending[i].fence);
			if (st->pending[i].inside)
				SB_LIT(&b, ",\"inside\":true,\"since\":");
			else
				SB_LIT(&b, ",\"inside\":false,\"since\":");
			sb_int(&b, st->pending[i].since_ms);
			SB_LIT(&b, "}");
		}
		SB_LIT(&b, "]");
	}
	SB_LIT(&b, "}");
	b.p[b.len] = '\0';
	return b.p;
}

static bool
get_num(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static bool
get_int(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static int
parse_state(json_t *root, struct state *st, char *err, size_t errlen)
{
	json_t *v, *e;
	size_t i;
	const char *key;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "state is not a JSON object");
		return -1;
	}
	if ((v = json_object_get(root, "fix")) != NULL) {
		if (!get_int(v, "t", &st->fix_ms) ||
		    !get_num(v, "lat", &st->lat) ||
		    !get_num(v, "lon", &st->lon)) {
			snprintf(err, errlen, "state: bad \"fix\"");
			return -1;
		}
		st->has_fix = true;
	}
	if (json_object_get(root, "last") != NULL) {
		if (!get_int(root, "last", &st->last_ms)) {
			snprintf(err, errlen, "state: bad \"last\"");
			return -1;
		}
		st->has_last = true;
	}
	json_array_foreach(json_object_get(root, "inside"), i, e) {
		if (!json_is_string(e)) {
			snprintf(err, errlen, "state: bad \"inside\"");
			return -1;
		}
		state_inside_set(st, json_string_value(e), true);
	}
	json_array_foreach(json_object_get(root, "pending"), i, e) {
		json_t *f = json_object_get(e, "fence");
		json_t *in = json_object_get(e, "inside");
		int64_t since;

		if (!json_is_string(f) || !json_is_boolean(in) ||
		    !get_int(e, "since", &since)) {
			snprintf(err, errlen, "state: bad \"pending\"");
			return -1;
		}
		state_pending_set(st, json_string_value(f), json_is_true(in),
		    since);
	}
	if ((v = json_object_get(root, "overspeed")) != NULL) {
		int64_t alerted;

		if (!get_int(v, "start", &st->os.start_ms) ||
		    !get_int(v, "last", &st->os.last_ms) ||
		    !get_int(v, "alerted", &alerted) || alerted < 0 ||
		    alerted > STATE_OS_MUTED ||
		    !get_num(v, "max", &st->os.max_speed) ||
		    !get_num(v, "limit", &st->os.limit)) {
			snprintf(err, errlen, "state: bad \"overspeed\"");
			return -1;
		}
		st->os.active = true;
		st->os.alerted = (enum state_os_alerted)alerted;
	}
	json_object_foreach(json_object_get(root, "cooldown"), key, v) {
		if (!json_is_integer(v)) {
			snprintf(err, errlen, "state: bad \"cooldown\"");
			return -1;
		}
		state_cooldown_set(st, key, json_integer_value(v));
	}
	if ((v = json_object_get(root, "lua")) != NULL) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "state: bad \"lua\"");
			return -1;
		}
		state_set_lua(st, json_string_value(v));
	}
	return 0;
}

struct state *
state_from_json(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	struct state *st;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "state: %s (column %d)", jerr.text,
		    jerr.column);
		return NULL;
	}
	st = state_new();
	if (parse_state(root, st, err, errlen) == -1) {
		state_free(st);
		st = NULL;
	}
	json_decref(root);
	return st;
}
