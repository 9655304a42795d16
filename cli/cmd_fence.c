/*
 * cmd_fence.c: `geoalarm fence import|set|ls|get|rm|export`, the fences in
 * P:fences.  Documents are made and checked by fencedoc.c (with the
 * engine's own validation), keys and the write transaction are
 * engine/fencestore.c's, so the CLI and the engine agree by construction.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/fencedoc.h"
#include "engine/fencestore.h"
#include "lib/xmalloc.h"

/* Largest fence document read (a country's outline fits several times). */
#define FENCE_FILE_MAX (64u << 20)

/* ==== shared ==== */

/* What every fence subcommand holds while it runs. */
struct fence_ctx {
	const char *prog;		/* "geoalarm fence import" */
	struct conf_common common;
	struct fence_geos geos;
	struct fencestore *fs;
	redisContext *redis;
	char err[CMD_ERR_LEN];
};

static void
ctx_geos(struct fence_ctx *c)
{
	fence_geos_attach(&c->geos, GEOS_init_r());
}

static int
ctx_connect(struct fence_ctx *c)
{
	c->fs = fencestore_new(c->common.prefix);
	c->redis = client_connect(c->common.redis, CLIENT_TIMEOUT_MS, c->err,
	    sizeof c->err);
	return c->redis != NULL ? 0 : -1;
}

static void
ctx_free(struct fence_ctx *c)
{
	if (c->redis != NULL)
		redisFree(c->redis);
	fencestore_free(c->fs);
	if (c->geos.handle != NULL)
		GEOS_finish_r(c->geos.handle);
}

/*
 * Reads a whole file ("-": stdin) into a NUL-terminated buffer the caller
 * frees.  NULL with a reason on failure.
 */
static char *
read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 65536, n = 0, got;
	char *buf;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(cap);
	while ((got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
		n += got;
		if (n + 1 == cap) {
			if (cap >= FENCE_FILE_MAX) {
				snprintf(err, errlen, "%s: larger than %u "
				    "bytes", path, FENCE_FILE_MAX);
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fp != stdin)
		fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	if (fp != stdin)
		fclose(fp);
	free(buf);
	return NULL;
}

/* Runs a write transaction; prints nothing.  Returns the new version. */
static long long
run_tx(struct fence_ctx *c, struct fencestore_tx *tx, long long *hdel)
{
	const struct fencestore_cmd *cmds;
	redisReply *r;
	long long v;
	size_t n;

	cmds = fencestore_tx_commands(tx, &n);
	if ((r = client_pipeline(c->redis, cmds, n, c->err,
	    sizeof c->err)) == NULL)
		return -1;
	v = fencestore_tx_result(tx, r, hdel, c->err, sizeof c->err);
	freeReplyObject(r);
	return v;
}

/* Reads the snapshot: the EXEC reply (caller frees) and its HGETALL. */
static redisReply *
read_all(struct fence_ctx *c, const redisReply **all)
{
	const struct fencestore_cmd *cmds;
	const char *version;
	redisReply *r;
	size_t n;

	cmds = fencestore_read_commands(c->fs, &n);
	if ((r = client_pipeline(c->redis, cmds, n, c->err,
	    sizeof c->err)) == NULL)
		return NULL;
	if (fencestore_read_result(r, &version, all, c->err,
	    sizeof c->err) == -1) {
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Order of an HGETALL's pairs (pointers to the field) by field. */
static int
cmp_pair(const void *a, const void *b)
{
	const redisReply *x = **(redisReply **const *)a;
	const redisReply *y = **(redisReply **const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int d = memcmp(x->str, y->str, n);

	return d != 0 ? d : (x->len > y->len) - (x->len < y->len);
}

/*
 * The HGETALL's pairs whose field and value are strings, sorted by id:
 * each points at the field's slot in all->element, the value being the
 * next slot.  Caller frees the array.
 */
static redisReply ***
sorted_pairs(const redisReply *all, size_t *n)
{
	redisReply ***f = xreallocarray(NULL, all->elements / 2 + 1,
	    sizeof *f);
	size_t i, k = 0;

	for (i = 0; i + 1 < all->elements; i += 2)
		if (all->element[i]->type == REDIS_REPLY_STRING &&
		    all->element[i + 1]->type == REDIS_REPLY_STRING)
			f[k++] = &all->element[i];
	qsort(f, k, sizeof *f, cmp_pair);
	*n = k;
	return f;
}

/* Writes s into dst with control characters as '?', for a table cell. */
static const char *
cell(char *dst, size_t size, const char *s)
{
	size_t i;

	snprintf(dst, size, "%s", s);
	for (i = 0; dst[i] != '\0'; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
	return dst;
}

/* ==== import ==== */

static int
fence_import(struct fence_ctx *c, int argc, char **argv)
{
	struct fencestore_tx *tx;
	struct fence_set *set;
	size_t len, i, n;
	long long v;
	char *text;

	(void)argc;
	ctx_geos(c);
	if ((text = read_file(argv[0], &len, c->err, sizeof c->err)) == NULL)
		return cmd_fail(c->prog, "%s", c->err);
	set = fencedoc_import(&c->geos, text, len, c->err, sizeof c->err);
	free(text);
	if (set == NULL)
		return cmd_fail(c->prog, "%s: %s; nothing imported", argv[0],
		    c->err);
	if ((n = fence_set_count(set)) == 0) {
		fence_set_free(set);
		return cmd_fail(c->prog, "%s: no fence in the document",
		    argv[0]);
	}
	if (ctx_connect(c) == -1) {
		fence_set_free(set);
		return cmd_fail(c->prog, "%s; nothing imported", c->err);
	}
	tx = fencestore_tx_new(c->fs);
	for (i = 0; i < n; i++) {
		const struct fence *f = fence_set_get(set, i);

		fencestore_tx_set(tx, fence_id(f), fence_json(f),
		    strlen(fence_json(f)));
	}
	v = run_tx(c, tx, NULL);
	fencestore_tx_free(tx);
	fence_set_free(set);
	if (v < 0)
		return cmd_fail(c->prog, "%s; nothing imported", c->err);
	printf("%zu fence%s imported (fences version %lld)\n", n,
	    n == 1 ? "" : "s", v);
	return CMD_OK;
}

/* ==== set ==== */

struct set_flags {
	const char *wkt, *geojson, *name;
	double speed_limit, radius, width;
};

static const struct conf_opt set_opts[] = {
	{ .name = "wkt", .type = CONF_STRING, .arg = "WKT",
	  .help = "the geometry as WKT: POLYGON, MULTIPOLYGON, POINT "
	      "(with --radius) or LINESTRING (with --width), lon lat order",
	  .offset = offsetof(struct set_flags, wkt) },
	{ .name = "geojson", .type = CONF_STRING, .arg = "FILE",
	  .help = "the fence as a GeoJSON Feature or geometry ('-': stdin)",
	  .offset = offsetof(struct set_flags, geojson) },
	{ .name = "name", .type = CONF_STRING, .arg = "N",
	  .help = "properties.name",
	  .offset = offsetof(struct set_flags, name) },
	{ .name = "speed-limit", .type = CONF_DOUBLE, .arg = "KMH",
	  .min = 0, .max = 1000, .help = "speed limit inside the fence, km/h",
	  .offset = offsetof(struct set_flags, speed_limit) },
	{ .name = "radius", .type = CONF_DOUBLE, .arg = "M",
	  .min = 0.01, .max = 20000000,
	  .help = "radius in metres of a circle (a POINT)",
	  .offset = offsetof(struct set_flags, radius) },
	{ .name = "width", .type = CONF_DOUBLE, .arg = "M",
	  .min = 0.01, .max = 20000000,
	  .help = "full width in metres of a corridor (a LINESTRING)",
	  .offset = offsetof(struct set_flags, width) },
	{ .name = NULL },
};

static int
fence_set(struct fence_ctx *c, const struct set_flags *fl, char **argv)
{
	struct fencedoc_props props = { .name = fl->name };
	struct fencestore_tx *tx;
	char *doc = NULL, *feature;
	size_t len = 0;
	long long v;

	if ((fl->wkt == NULL) == (fl->geojson == NULL))
		return cmd_usage_error(c->prog, "give exactly one of --wkt "
		    "and --geojson (see --help)");
	props.has_speed_limit = !isnan(fl->speed_limit);
	props.speed_limit = fl->speed_limit;
	props.has_radius = !isnan(fl->radius);
	props.radius = fl->radius;
	props.has_width = !isnan(fl->width);
	props.width = fl->width;

	ctx_geos(c);
	if (fl->geojson != NULL && (doc = read_file(fl->geojson, &len,
	    c->err, sizeof c->err)) == NULL)
		return cmd_fail(c->prog, "%s", c->err);
	feature = fencedoc_feature(&c->geos, argv[0], fl->wkt, doc, len,
	    &props, c->err, sizeof c->err);
	free(doc);
	if (feature == NULL)
		return cmd_fail(c->prog, "%s; nothing written", c->err);
	if (ctx_connect(c) == -1) {
		free(feature);
		return cmd_fail(c->prog, "%s; nothing written", c->err);
	}
	tx = fencestore_tx_new(c->fs);
	fencestore_tx_set(tx, argv[0], feature, strlen(feature));
	v = run_tx(c, tx, NULL);
	fencestore_tx_free(tx);
	free(feature);
	if (v < 0)
		return cmd_fail(c->prog, "%s; nothing written", c->err);
	printf("fence %s set (fences version %lld)\n", argv[0], v);
	return CMD_OK;
}

/* ==== ls ==== */

/* A refused stored fence: say so and keep listing. */
static int
ls_refused(void *arg, const char *id, const char *reason)
{
	struct fence_ctx *c = arg;

	(void)id;
	fprintf(stderr, "%s: warning: %s (the engine refuses it)\n", c->prog,
	    reason);
	return 0;
}

static const char *
kind_name(enum fence_kind k)
{
	switch (k) {
	case FENCE_POLYGON:
		return "polygon";
	case FENCE_CIRCLE:
		return "circle";
	case FENCE_CORRIDOR:
		return "corridor";
	}
	return "?";
}

static int
fence_ls(struct fence_ctx *c)
{
	struct fence_builder *b;
	struct fence_set *set;
	const redisReply *all;
	redisReply *r;
	size_t n, i;
	int wid = 2, wname = 4;
	char buf[256], lim[32];
	double kmh;

	if (ctx_connect(c) == -1)
		return cmd_fail(c->prog, "%s", c->err);
	if ((r = read_all(c, &all)) == NULL)
		return cmd_fail(c->prog, "%s", c->err);
	ctx_geos(c);
	b = fence_builder_new(&c->geos);
	fencestore_add_all(b, all, ls_refused, c, c->err, sizeof c->err);
	freeReplyObject(r);
	set = fence_builder_finish(b);

	n = fence_set_count(set);
	for (i = 0; i < n; i++) {
		const struct fence *f = fence_set_get(set, i);
		int l = (int)strlen(cell(buf, sizeof buf, fence_id(f)));

		wid = l > wid ? l : wid;
		if (fence_name(f) != NULL) {
			l = (int)strlen(cell(buf, sizeof buf, fence_name(f)));
			wname = l > wname ? l : wname;
		}
	}
	printf("%-*s  %-8s  %-*s  %s\n", wid, "ID", "KIND", wname, "NAME",
	    "SPEED LIMIT");
	for (i = 0; i < n; i++) {
		const struct fence *f = fence_set_get(set, i);
		char name[256];

		if (fence_speed_limit(f, &kmh))
			snprintf(lim, sizeof lim, "%g km/h", kmh);
		else
			snprintf(lim, sizeof lim, "-");
		printf("%-*s  %-8s  %-*s  %s\n", wid,
		    cell(buf, sizeof buf, fence_id(f)), kind_name(fence_kind(f)),
		    wname, fence_name(f) != NULL ? cell(name, sizeof name,
		    fence_name(f)) : "-", lim);
	}
	fence_set_free(set);
	return CMD_OK;
}

/* ==== get, rm ==== */

static int
fence_get(struct fence_ctx *c, char **argv)
{
	const char *cmd[] = { "HGET", NULL, argv[0] };
	redisReply *r;

	if (ctx_connect(c) == -1)
		return cmd_fail(c->prog, "%s", c->err);
	cmd[1] = fencestore_key_fences(c->fs);
	if ((r = client_command_strings(c->redis, 3, cmd, c->err,
	    sizeof c->err)) == NULL)
		return cmd_fail(c->prog, "%s", c->err);
	if (r->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return cmd_fail(c->prog, "no fence '%s'", argv[0]);
	}
	fwrite(r->str, 1, r->len, stdout);
	putchar('\n');
	freeReplyObject(r);
	return CMD_OK;
}

static int
fence_rm(struct fence_ctx *c, int argc, char **argv)
{
	const char *cmd[] = { "HEXISTS", NULL, NULL };
	struct fencestore_tx *tx;
	redisReply *r;
	long long v;
	int i;

	if (ctx_connect(c) == -1)
		return cmd_fail(c->prog, "%s", c->err);
	cmd[1] = fencestore_key_fences(c->fs);
	/* Refuse the whole command when one id is unknown: a typo should
	 * not remove the other fences. */
	for (i = 0; i < argc; i++) {
		cmd[2] = argv[i];
		if ((r = client_command_strings(c->redis, 3, cmd, c->err,
		    sizeof c->err)) == NULL)
			return cmd_fail(c->prog, "%s", c->err);
		v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
		freeReplyObject(r);
		if (v != 1)
			return cmd_fail(c->prog, "no fence '%s'; nothing "
			    "removed", argv[i]);
	}
	tx = fencestore_tx_new(c->fs);
	for (i = 0; i < argc; i++)
		fencestore_tx_del(tx, argv[i]);
	v = run_tx(c, tx, NULL);
	fencestore_tx_free(tx);
	if (v < 0)
		return cmd_fail(c->prog, "%s", c->err);
	printf("%d fence%s removed (fences version %lld)\n", argc,
	    argc == 1 ? "" : "s", v);
	return CMD_OK;
}

/* ==== export ==== */

static int
fence_export(struct fence_ctx *c)
{
	const redisReply *all;
	redisReply *r, ***pairs;
	size_t n, i;
	json_error_t je;
	json_t *j;

	if (ctx_connect(c) == -1)
		return cmd_fail(c->prog, "%s", c->err);
	if ((r = read_all(c, &all)) == NULL)
		return cmd_fail(c->prog, "%s", c->err);
	pairs = sorted_pairs(all, &n);

	/* Check first, so a broken value never leaves half a document. */
	for (i = 0; i < n; i++) {
		const redisReply *v = pairs[i][1];

		j = json_loadb(v->str, v->len, 0, &je);
		if (!json_is_object(j)) {
			cmd_fail(c->prog, "fence '%s' is not a JSON object "
			    "(%s); nothing exported", pairs[i][0]->str,
			    j == NULL ? je.text : "another JSON value");
			json_decref(j);
			free(pairs);
			freeReplyObject(r);
			return CMD_FAIL;
		}
		json_decref(j);
	}
	/* The stored Features as they are, one per line: nothing is lost
	 * to reprinting. */
	printf("{\"type\":\"FeatureCollection\",\"features\":[");
	for (i = 0; i < n; i++) {
		printf("%s\n", i == 0 ? "" : ",");
		fwrite(pairs[i][1]->str, 1, pairs[i][1]->len, stdout);
	}
	printf("\n]}\n");
	free(pairs);
	freeReplyObject(r);
	if (fflush(stdout) != 0)
		return cmd_fail(c->prog, "stdout: %s", strerror(errno));
	return CMD_OK;
}

/* ==== dispatch ==== */

enum fence_sub { SUB_IMPORT, SUB_SET, SUB_LS, SUB_GET, SUB_RM, SUB_EXPORT };

static const struct {
	const char *name, *synopsis, *about;
	int min, max;
	const char *const operands[2];
} subs[] = {
	[SUB_IMPORT] = { "import", "[flags] FILE.geojson",
	    "Stores every fence of a Feature or FeatureCollection, all or "
	    "none.", 1, 1, { "FILE", NULL } },
	[SUB_SET] = { "set", "[flags] ID (--wkt WKT | --geojson FILE) "
	    "[--name N] [--speed-limit K] [--radius M] [--width M]",
	    "Creates or replaces one fence.", 1, 1, { "ID", NULL } },
	[SUB_LS] = { "ls", "[flags]",
	    "Lists the fences: id, kind, name, speed limit.", 0, 0, { NULL } },
	[SUB_GET] = { "get", "[flags] ID",
	    "Prints one fence as a GeoJSON Feature.", 1, 1, { "ID", NULL } },
	[SUB_RM] = { "rm", "[flags] ID...",
	    "Removes fences (none when one of them does not exist).", 1, -1,
	    { "ID", NULL } },
	[SUB_EXPORT] = { "export", "[flags]",
	    "Prints every fence as one FeatureCollection.", 0, 0, { NULL } },
};

static void
fence_usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: geoalarm fence SUBCOMMAND [flags] [args]\n"
	    "Manages the fences in Redis (P:fences).\n\nsubcommands:\n");
	for (i = 0; i < sizeof subs / sizeof subs[0]; i++)
		fprintf(fp, "  %-8s %s\n", subs[i].name, subs[i].about);
	fprintf(fp, "\n`geoalarm fence SUBCOMMAND --help` for its flags.\n");
}

static int
cmd_fence_exec(int argc, char **argv)
{
	struct fence_ctx c = { 0 };
	struct set_flags fl = { .speed_limit = NAN, .radius = NAN,
	    .width = NAN };
	struct conf_spec spec = { 0 };
	char prog[64];
	size_t k, nsubs = sizeof subs / sizeof subs[0];
	int first, rc;

	if (argc < 2)
		return cmd_usage_error("geoalarm fence", "missing subcommand "
		    "(import, set, ls, get, rm or export; see --help)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fence_usage(stdout);
		return CMD_OK;
	}
	for (k = 0; k < nsubs; k++)
		if (strcmp(argv[1], subs[k].name) == 0)
			break;
	if (k == nsubs)
		return cmd_usage_error("geoalarm fence", "unknown subcommand "
		    "'%s' (import, set, ls, get, rm or export)", argv[1]);

	snprintf(prog, sizeof prog, "geoalarm fence %s", subs[k].name);
	c.prog = prog;
	spec.prog = prog;
	spec.synopsis = subs[k].synopsis;
	spec.about = subs[k].about;
	if (k == SUB_SET) {
		spec.opts = set_opts;
		spec.values = &fl;
	}
	rc = cmd_flags(&spec, &c.common, argc - 1, argv + 1, subs[k].min,
	    subs[k].max, subs[k].operands, &first);
	if (rc >= 0)
		return rc;
	argv += 1 + first;
	argc -= 1 + first;

	switch ((enum fence_sub)k) {
	case SUB_IMPORT:
		rc = fence_import(&c, argc, argv);
		break;
	case SUB_SET:
		rc = fence_set(&c, &fl, argv);
		break;
	case SUB_LS:
		rc = fence_ls(&c);
		break;
	case SUB_GET:
		rc = fence_get(&c, argv);
		break;
	case SUB_RM:
		rc = fence_rm(&c, argc, argv);
		break;
	case SUB_EXPORT:
		rc = fence_export(&c);
		break;
	}
	ctx_free(&c);
	return rc;
}

const struct cmd_entry cmd_fence_entry = {
	.name = "fence",
	.synopsis = "fence import|set|ls|get|rm|export ...",
	.about = "manage the fences in Redis",
	.exec = cmd_fence_exec,
};
