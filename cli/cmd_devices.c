/*
 * cmd_devices.c: `geoalarm devices [--json]`, the devices ingest keeps in
 * P:device:<id> hashes: id, protocol, online, last seen, last position.
 * The keys are found with SCAN (never KEYS, which blocks Redis for as long
 * as it walks the whole keyspace).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/xmalloc.h"

/* Keys asked of each SCAN step and hashes read per pipeline. */
#define SCAN_COUNT "500"
#define BATCH 256

struct devices_flags {
	bool json;
};

static const struct conf_opt devices_opts[] = {
	{ .name = "json", .type = CONF_BOOL,
	  .help = "print one JSON array (every field of each device hash)",
	  .offset = offsetof(struct devices_flags, json) },
	{ .name = NULL },
};

/* One device: its id and its hash as read. */
struct device {
	char *id;
	redisReply *hash;	/* HGETALL reply: field, value, ... */
};

/* Hash fields that are text even when they look like numbers. */
static const char *const textual[] = { "device", "imei", "iccid", "vin",
	"phone", "cells", "wifi", "raw", "peer", "proto", "transport",
	"alarm", "result", "text", "event", NULL };

static const char *
field(const struct device *d, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < d->hash->elements; i += 2)
		if (strcmp(d->hash->element[i]->str, name) == 0)
			return d->hash->element[i + 1]->str;
	return NULL;
}

/* MATCH pattern for keys starting with prefix: glob characters escaped. */
static char *
match_pattern(const char *prefix)
{
	char *out = xmalloc(2 * strlen(prefix) + 2), *p = out;

	for (; *prefix != '\0'; prefix++) {
		if (strchr("*?[]\\", *prefix) != NULL)
			*p++ = '\\';
		*p++ = *prefix;
	}
	*p++ = '*';
	*p = '\0';
	return out;
}

static int
cmp_device(const void *a, const void *b)
{
	return strcmp(((const struct device *)a)->id,
	    ((const struct device *)b)->id);
}

/* Collects every P:device:* key's id.  Returns 0, or -1 with err. */
static int
scan_ids(redisContext *c, const char *prefix, char ***ids, size_t *n,
    char *err, size_t errlen)
{
	char *pattern = match_pattern(prefix), cursor[32] = "0";
	const char *argv[] = { "SCAN", cursor, "MATCH", pattern, "COUNT",
	    SCAN_COUNT };
	size_t plen = strlen(prefix), cap = 0, i;
	redisReply *r, *keys;

	*ids = NULL;
	*n = 0;
	do {
		if ((r = client_command_strings(c, 6, argv, err,
		    errlen)) == NULL) {
			free(pattern);
			return -1;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			snprintf(err, errlen, "SCAN: unexpected reply");
			freeReplyObject(r);
			free(pattern);
			return -1;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		keys = r->element[1];
		for (i = 0; i < keys->elements; i++) {
			if (keys->element[i]->type != REDIS_REPLY_STRING ||
			    keys->element[i]->len <= plen)
				continue;
			if (*n == cap) {
				cap = cap ? 2 * cap : 64;
				*ids = xreallocarray(*ids, cap, sizeof **ids);
			}
			(*ids)[(*n)++] = xstrdup(keys->element[i]->str + plen);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	free(pattern);
	return 0;
}

/*
 * Reads the hashes of ids, BATCH at a time in one pipeline each.  Keys
 * that vanished (or are not hashes) since SCAN are left out.  Returns the
 * number of devices in *out, or -1 with err.
 */
static long
read_devices(redisContext *c, const char *prefix, char **ids, size_t n,
    struct device **out, char *err, size_t errlen)
{
	struct device *d = xcalloc(n + 1, sizeof *d);
	size_t i, j, k = 0;
	char *key;
	void *p;

	for (i = 0; i < n; i += BATCH) {
		size_t end = i + BATCH < n ? i + BATCH : n;

		for (j = i; j < end; j++) {
			const char *argv[2] = { "HGETALL", NULL };
			size_t len[2] = { 7, 0 };

			key = xasprintf("%s%s", prefix, ids[j]);
			argv[1] = key;
			len[1] = strlen(key);
			redisAppendCommandArgv(c, 2, argv, len);
			free(key);
		}
		for (j = i; j < end; j++) {
			redisReply *r;

			if (redisGetReply(c, &p) != REDIS_OK) {
				snprintf(err, errlen, "HGETALL: %s",
				    c->err ? c->errstr : "connection lost");
				goto fail;
			}
			r = p;
			if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
				freeReplyObject(r);
				continue;
			}
			d[k].id = ids[j];
			ids[j] = NULL;
			d[k].hash = r;
			k++;
		}
	}
	qsort(d, k, sizeof *d, cmp_device);
	*out = d;
	return (long)k;
fail:
	for (j = 0; j < k; j++) {
		free(d[j].id);
		freeReplyObject(d[j].hash);
	}
	free(d);
	return -1;
}

/* Control characters as '?' so a hostile id cannot garble the terminal. */
static const char *
cell(char *dst, size_t size, const char *s)
{
	size_t i;

	snprintf(dst, size, "%s", s != NULL ? s : "-");
	for (i = 0; dst[i] != '\0'; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
	return dst;
}

/* "2026-11-23T02:10:44Z" and "12 s ago" from a last_seen in ms. */
static void
seen(const char *last_seen, int64_t now, char *iso, size_t isize, char *ago,
    size_t asize)
{
	char *end;
	long long ms = last_seen != NULL ? strtoll(last_seen, &end, 10) : 0;

	if (last_seen == NULL || end == last_seen || *end != '\0') {
		snprintf(iso, isize, "-");
		snprintf(ago, asize, "-");
		return;
	}
	cmd_iso_time(ms, iso, isize);
	snprintf(ago, asize, "%lld s ago", (long long)(now - ms) / 1000 >= 0 ?
	    (long long)(now - ms) / 1000 : 0);
}

static void
print_table(const struct device *d, size_t n)
{
	int64_t now = clock_now_ms();
	int wid = 2, wproto = 5;
	char id[128], proto[32], iso[32], ago[32], lat[32], lon[32], sp[32];
	size_t i;

	for (i = 0; i < n; i++) {
		int l = (int)strlen(cell(id, sizeof id, d[i].id));

		wid = l > wid ? l : wid;
		l = (int)strlen(cell(proto, sizeof proto,
		    field(&d[i], "proto")));
		wproto = l > wproto ? l : wproto;
	}
	printf("%-*s  %-*s  %-6s  %-20s  %12s  %10s  %11s  %6s\n", wid, "ID",
	    wproto, "PROTO", "ONLINE", "LAST SEEN (UTC)", "AGO", "LAT", "LON",
	    "SPEED");
	for (i = 0; i < n; i++) {
		const char *online = field(&d[i], "online");

		seen(field(&d[i], "last_seen"), now, iso, sizeof iso, ago,
		    sizeof ago);
		printf("%-*s  %-*s  %-6s  %-20s  %12s  %10s  %11s  %6s\n", wid,
		    cell(id, sizeof id, d[i].id), wproto,
		    cell(proto, sizeof proto, field(&d[i], "proto")),
		    online == NULL ? "-" : strcmp(online, "1") == 0 ? "yes" :
		    "no", iso, ago,
		    cell(lat, sizeof lat, field(&d[i], "lat")),
		    cell(lon, sizeof lon, field(&d[i], "lon")),
		    cell(sp, sizeof sp, field(&d[i], "speed")));
	}
}

static bool
is_textual(const char *k)
{
	size_t i;

	for (i = 0; textual[i] != NULL; i++)
		if (strcmp(k, textual[i]) == 0)
			return true;
	return false;
}

static void
print_json(const struct device *d, size_t n)
{
	struct jsonw *j = jsonw_new();
	size_t i, f;

	jsonw_array_open(j);
	for (i = 0; i < n; i++) {
		const redisReply *h = d[i].hash;

		jsonw_object_open(j);
		jsonw_key(j, "id", 2);
		jsonw_string(j, d[i].id, strlen(d[i].id));
		for (f = 0; f + 1 < h->elements; f += 2) {
			const redisReply *k = h->element[f];
			const redisReply *v = h->element[f + 1];

			if (k->type != REDIS_REPLY_STRING ||
			    v->type != REDIS_REPLY_STRING)
				continue;
			jsonw_key(j, k->str, k->len);
			if (strcmp(k->str, "online") == 0 &&
			    (strcmp(v->str, "1") == 0 ||
			    strcmp(v->str, "0") == 0))
				jsonw_bool(j, v->str[0] == '1');
			else if (!is_textual(k->str) &&
			    jsonw_is_number(v->str, v->len))
				jsonw_number(j, v->str, v->len);
			else
				jsonw_string(j, v->str, v->len);
		}
		jsonw_object_close(j);
	}
	jsonw_array_close(j);
	printf("%s\n", jsonw_data(j, NULL));
	jsonw_free(j);
}

static int
cmd_devices_exec(int argc, char **argv)
{
	struct devices_flags fl = { 0 };
	struct conf_common common;
	struct conf_spec spec = {
		.prog = "geoalarm devices",
		.synopsis = "[--json]",
		.about = "Lists the devices ingest has seen: id, protocol, "
		    "online, last seen, last position.",
		.opts = devices_opts,
		.values = &fl,
	};
	char err[CMD_ERR_LEN], *prefix, **ids;
	struct device *d = NULL;
	redisContext *c;
	size_t n, i;
	long nd;
	int first, rc;

	if ((rc = cmd_flags(&spec, &common, argc, argv, 0, 0, NULL,
	    &first)) >= 0)
		return rc;
	if ((c = client_connect(common.redis, CLIENT_TIMEOUT_MS, err,
	    sizeof err)) == NULL)
		return cmd_fail(spec.prog, "%s", err);
	prefix = xasprintf("%s:device:", common.prefix);
	if (scan_ids(c, prefix, &ids, &n, err, sizeof err) == -1)
		nd = -1;
	else
		nd = read_devices(c, prefix, ids, n, &d, err, sizeof err);
	redisFree(c);
	free(prefix);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	if (nd < 0)
		return cmd_fail(spec.prog, "%s", err);

	if (fl.json)
		print_json(d, (size_t)nd);
	else
		print_table(d, (size_t)nd);
	for (i = 0; i < (size_t)nd; i++) {
		free(d[i].id);
		freeReplyObject(d[i].hash);
	}
	free(d);
	if (fflush(stdout) != 0)
		return cmd_fail(spec.prog, "cannot write the output");
	return CMD_OK;
}

const struct cmd_entry cmd_devices_entry = {
	.name = "devices",
	.synopsis = "devices [--json]",
	.about = "list the devices: id, protocol, online, last seen, last "
	    "position",
	.exec = cmd_devices_exec,
};
