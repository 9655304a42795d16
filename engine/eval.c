/*
 * eval.c: evaluating one position entry into a batch of commands.
 */
#include "engine/eval.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alert.h"
#include "engine/fence.h"
#include "engine/state.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/resp.h"
#include "lib/xmalloc.h"
#include "rules/builtin.h"

/*
 * P:errors is a diagnostic stream: the newest hundred thousand entries are
 * plenty to find what went wrong, and a rule failing on every report must
 * not fill the server.
 */
#define EVAL_ERRORS_MAXLEN "100000"

/* ==== The batch ==== */

void
eval_batch_clear(struct eval_batch *b)
{
	if (b->enc != NULL)
		resp_clear(b->enc);
	b->n = 0;
	b->nlen = 0;
	b->ntypes = 0;
	b->nerrors = 0;
	b->nentries = 0;
	b->nskipped = 0;
}

void
eval_batch_free(struct eval_batch *b)
{
	resp_free(b->enc);
	jsonw_free(b->json);
	free(b->cmd);
	free(b->len);
	free(b->off);
	free(b->types);
	free(b->toff);
	free(b->names);
	memset(b, 0, sizeof *b);
}

/* Where the next command starts in b's buffer. */
static size_t
cmd_begin(struct eval_batch *b)
{
	if (b->enc == NULL)
		b->enc = resp_new(64 * 1024);
	return resp_len(b->enc);
}

/*
 * Records the command encoded from start to the end of b's buffer, and
 * re-points every cmd[i] when the buffer has moved.
 */
static void
cmd_end(struct eval_batch *b, size_t start)
{
	const char *base;
	size_t i;

	if (b->n == b->alloc) {
		b->alloc = b->alloc ? b->alloc * 2 : 256;
		b->cmd = xreallocarray(b->cmd, b->alloc, sizeof *b->cmd);
		b->len = xreallocarray(b->len, b->alloc, sizeof *b->len);
		b->off = xreallocarray(b->off, b->alloc, sizeof *b->off);
	}
	base = resp_data(b->enc);
	b->off[b->n] = start;
	b->len[b->n] = resp_len(b->enc) - start;
	b->cmd[b->n++] = (char *)base + start;
	if (b->cmd[0] != base + b->off[0])
		for (i = 0; i < b->n; i++)
			b->cmd[i] = (char *)base + b->off[i];
}

static void
add_type(struct eval_batch *b, const char *type)
{
	size_t len = strlen(type) + 1, i;

	if (b->nlen + len > b->ncap) {
		while (b->nlen + len > b->ncap)
			b->ncap = b->ncap ? b->ncap * 2 : 4096;
		b->names = xrealloc(b->names, b->ncap);
	}
	if (b->ntypes == b->atypes) {
		b->atypes = b->atypes ? b->atypes * 2 : 256;
		b->types = xreallocarray(b->types, b->atypes,
		    sizeof *b->types);
		b->toff = xreallocarray(b->toff, b->atypes, sizeof *b->toff);
	}
	memcpy(b->names + b->nlen, type, len);
	b->toff[b->ntypes] = b->nlen;
	b->types[b->ntypes++] = b->names + b->nlen;
	b->nlen += len;
	if (b->types[0] != b->names + b->toff[0])
		for (i = 0; i < b->ntypes; i++)
			b->types[i] = b->names + b->toff[i];
}

void
eval_batch_add(struct eval_batch *b, int argc, const char **argv,
    const size_t *argvlen)
{
	size_t start = cmd_begin(b);

	resp_command(b->enc, argc, argv, argvlen);
	cmd_end(b, start);
}

static void
add_strings(struct eval_batch *b, int argc, const char **argv)
{
	size_t len[16];
	int i;

	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	eval_batch_add(b, argc, argv, len);
}

void
eval_batch_error(const struct eval_ctx *ctx, struct eval_batch *b,
    const char *source, const char *device, const char *message)
{
	const char *argv[] = { "XADD", ctx->key_errors, "MAXLEN", "~",
	    EVAL_ERRORS_MAXLEN, "*", "source", source, "device",
	    device != NULL ? device : "", "message", message };

	add_strings(b, 12, argv);
	b->nerrors++;
}

static void
emit_alert(const struct eval_ctx *ctx, struct eval_batch *b,
    const struct alert *a, const char *entry_id, const char *device)
{
	const char *payload;
	size_t plen, start;

	if (b->json == NULL)
		b->json = jsonw_new();
	alert_payload_write(b->json, a, entry_id, device);
	payload = jsonw_data(b->json, &plen);
	start = cmd_begin(b);
	alert_xadd_resp(b->enc, ctx->key_alerts, a, device, payload, plen);
	cmd_end(b, start);
	start = cmd_begin(b);
	alert_publish_resp(b->enc, ctx->key_alerts, payload, plen);
	cmd_end(b, start);
	add_type(b, a->type);
	log_debug("alert %s:%s device %s", entry_id, a->rule, device);
}

/* ==== Reading the entry ==== */

static const struct rules_field *
field(const struct rules_field *f, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].key, key) == 0)
			return &f[i];
	return NULL;
}

static bool
parse_double(const struct rules_field *f, double *out)
{
	char *end;

	if (f == NULL || f->len == 0)
		return false;
	errno = 0;
	*out = strtod(f->value, &end);
	return errno == 0 && end == f->value + f->len;
}

static bool
parse_ms(const struct rules_field *f, int64_t *out)
{
	char *end;

	if (f == NULL || f->len == 0)
		return false;
	errno = 0;
	*out = strtoll(f->value, &end, 10);
	return errno == 0 && end == f->value + f->len;
}

/* ==== Fences as the built-in rules see them ==== */

struct lookup_ctx {
	const struct fence_set *set;
	const char *device;
};

static void
fence_info(const struct fence *f, struct builtin_fence *out)
{
	out->id = fence_id(f);
	out->name = fence_name(f);
	out->has_speed_limit = fence_speed_limit(f, &out->speed_limit);
}

static bool
lookup(void *arg, const char *id, struct builtin_fence *out)
{
	struct lookup_ctx *lc = arg;
	const struct fence *f;
	long i;

	if (lc->set == NULL || (i = fence_set_find(lc->set, id)) < 0)
		return false;
	f = fence_set_get(lc->set, (size_t)i);
	if (!fence_device_allowed(f, lc->device))
		return false;
	fence_info(f, out);
	return true;
}

/*
 * Fills *hits (caller frees) with the fences covering (lat, lon) that
 * admit the device, in id order.  Returns their number; a point GEOS
 * refuses (out of range) covers nothing.
 */
static size_t
covering(const struct fence_set *set, const char *device, double lat,
    double lon, struct builtin_fence **hits)
{
	size_t idx[64], *v = idx, max = 64, i, n = 0;
	char err[256];
	int count;

	*hits = NULL;
	if (set == NULL)
		return 0;
	count = fence_set_covers(set, lon, lat, v, max, err, sizeof err);
	if (count > (int)max) {
		max = (size_t)count;
		v = xreallocarray(NULL, max, sizeof *v);
		count = fence_set_covers(set, lon, lat, v, max, err,
		    sizeof err);
	}
	if (count < 0) {
		log_warn("device %s: %s", device, err);
		count = 0;
	}
	*hits = xreallocarray(NULL, (size_t)count, sizeof **hits);
	for (i = 0; i < (size_t)count; i++) {
		const struct fence *f = fence_set_get(set, v[i]);

		if (fence_device_allowed(f, device))
			fence_info(f, &(*hits)[n++]);
	}
	if (v != idx)
		free(v);
	return n;
}

/* ==== Custom rules ==== */

/* Turns one Lua alert into an alert of list (located like built-ins). */
static void
lua_alert(struct state *st, const struct builtin_pos *pos,
    const struct rules_alert *ra, const struct fence_set *set,
    struct alert_list *list)
{
	struct alert *a = alert_list_add(list, ra->rule, ra->type);
	json_t *extra, *fence;

	builtin_locate(st, pos, a);
	a->n = ra->index;
	if (ra->message != NULL)
		a->message = xstrdup(ra->message);
	if (ra->extra == NULL)
		return;
	extra = json_loads(ra->extra, JSON_DECODE_ANY, NULL);
	if (!json_is_object(extra)) {
		json_decref(extra);
		return;
	}
	/* A rule may name the fence its alert is about. */
	fence = json_object_get(extra, "fence");
	if (json_is_string(fence)) {
		long i = set != NULL ? fence_set_find(set,
		    json_string_value(fence)) : -1;
		const char *name = i >= 0 ?
		    fence_name(fence_set_get(set, (size_t)i)) : NULL;

		a->fence = xstrdup(json_string_value(fence));
		if (name != NULL)
			a->fence_name = xstrdup(name);
	}
	a->extra = extra;
}

static void
run_custom(const struct eval_ctx *ctx, struct eval_batch *b,
    const char *device, struct state *st,
    const struct builtin_pos *pos, const struct settings *set,
    const struct rules_field *fields, size_t nfields,
    const struct builtin_crossings *cross, struct alert_list *alerts)
{
	struct rules_pos rp = { fields, nfields,
	    (const char *const *)st->inside, st->ninside,
	    (const char *const *)cross->entered, cross->nentered,
	    (const char *const *)cross->exited, cross->nexited };
	const struct rules_result *res;
	size_t i;

	if (ctx->rules == NULL || !rules_has_custom(ctx->rules, device))
		return;
	res = rules_run(ctx->rules, device, &rp, st->lua);
	for (i = 0; i < res->nerrors; i++) {
		char *msg = xasprintf("rule '%s': %s", res->errors[i].rule,
		    res->errors[i].message);

		log_warn("device %s: %s", device, msg);
		eval_batch_error(ctx, b, "rules", device, msg);
		free(msg);
	}
	for (i = 0; i < res->nalerts; i++) {
		lua_alert(st, pos, &res->alerts[i], ctx->fences, alerts);
		if (!builtin_cooldown(st, &alerts->v[alerts->n - 1],
		    set->cooldown))
			alert_list_pop(alerts);
	}
	for (i = 0; i < res->ncommands; i++) {
		const struct rules_command *c = &res->commands[i];
		const char *argv[] = { "XADD", ctx->key_commands, "*",
		    "device", device, "command", c->name, "param", c->param };

		add_strings(b, c->param != NULL ? 9 : 7, argv);
	}
	if (res->state != NULL)
		state_set_lua(st, strcmp(res->state, "{}") == 0 ? NULL :
		    res->state);
}

/* ==== One entry ==== */

int
eval_entry(const struct eval_ctx *ctx, struct eval_batch *b,
    const char *entry_id, const struct rules_field *fields, size_t nfields)
{
	const struct rules_field *dev = field(fields, nfields, "device");
	const struct rules_field *alarm = field(fields, nfields, "alarm");
	const struct rules_field *valid = field(fields, nfields, "valid");
	struct builtin_pos pos = { 0 };
	struct builtin_fence *hits = NULL;
	struct lookup_ctx lc;
	struct builtin_fences fences = { NULL, 0, lookup, &lc };
	struct builtin_crossings cross = { 0 };
	struct alert_list alerts = { 0 };
	struct settings defaults;
	const struct settings *set;
	struct state *st;
	size_t i;

	if (dev == NULL || dev->len == 0 ||
	    !parse_ms(field(fields, nfields, "time"), &pos.time_ms)) {
		b->nskipped++;
		return 0;
	}
	b->nentries++;
	pos.valid = valid != NULL && strcmp(valid->value, "1") == 0;
	pos.has_fix = parse_double(field(fields, nfields, "lat"), &pos.lat) &&
	    parse_double(field(fields, nfields, "lon"), &pos.lon);
	pos.has_speed = parse_double(field(fields, nfields, "speed"),
	    &pos.speed);
	pos.alarm = alarm != NULL ? alarm->value : NULL;

	if (ctx->rules != NULL) {
		set = rules_settings(ctx->rules, dev->value);
	} else {
		settings_default(&defaults);
		set = &defaults;
	}
	lc.set = ctx->fences;
	lc.device = dev->value;
	/* Only a valid fix moves fence state, so only it needs GEOS. */
	if (pos.has_fix && pos.valid)
		fences.nhits = covering(ctx->fences, dev->value, pos.lat,
		    pos.lon, &hits);
	fences.hits = hits;

	st = state_table_work(ctx->states, dev->value);
	builtin_eval(st, &pos, set, &fences, &alerts, &cross);
	run_custom(ctx, b, dev->value, st, &pos, set, fields,
	    nfields, &cross, &alerts);
	for (i = 0; i < alerts.n; i++)
		emit_alert(ctx, b, &alerts.v[i], entry_id, dev->value);

	alert_list_free(&alerts);
	builtin_crossings_clear(&cross);
	free(hits);
	return 1;
}
