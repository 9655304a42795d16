/*
 * conf.c: flag tables driving getopt_long, generated --help, defaults from
 * the environment, and the Redis URL parser.  Printing of errors and the
 * exit status are the caller's (lib/ never exits).
 */
#include "lib/conf.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };

/* The common flags; their offsets are into struct conf_common. */
static const struct conf_opt common_opts[] = {
	{ .name = "redis", .type = CONF_STRING, .arg = "URL",
	  .def = "redis://127.0.0.1:6379", .env = "GEOALARM_REDIS",
	  .help = "Redis server: redis://HOST[:PORT][/DB] or unix:///PATH "
	      "(default $GEOALARM_REDIS, else redis://127.0.0.1:6379)",
	  .offset = offsetof(struct conf_common, redis),
	  .check = conf_check_redis_url },
	{ .name = "prefix", .type = CONF_STRING, .arg = "P", .def = "geoalarm",
	  .help = "prefix of every Redis key",
	  .offset = offsetof(struct conf_common, prefix) },
	{ .name = "log-level", .type = CONF_ENUM, .arg = "LEVEL", .def = "info",
	  .choices = log_levels, .help = "lowest level logged",
	  .offset = offsetof(struct conf_common, log_level) },
	{ .name = NULL },
};

/* getopt_long's val for the two flags handled here, beyond table indexes. */
#define VAL_HELP    0x10000
#define VAL_VERSION 0x10001
#define VAL_COMMON  0x20000	/* VAL_COMMON + i: common_opts[i] */
#define VAL_OWN     0x30000	/* VAL_OWN + i: spec->opts[i] (never 0, which
				   getopt uses for an unknown flag) */

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- Values ---- */

static int
parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
parse_double(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static int
parse_port(const char *s, int *port)
{
	int64_t v;

	if (parse_int(s, &v) == -1 || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
conf_parse_hostport(const char *s, struct conf_hostport *hp, char *err,
    size_t errlen)
{
	const char *colon, *host = s;
	size_t hostlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':') {
			seterr(err, errlen, "'%s' is not [IPV6]:PORT", s);
			return -1;
		}
		host = s + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			seterr(err, errlen, "'%s' is not HOST:PORT", s);
			return -1;
		}
		hostlen = (size_t)(colon - s);
	}
	if (hostlen >= sizeof hp->host) {
		seterr(err, errlen, "host name too long");
		return -1;
	}
	if (parse_port(colon + 1, &hp->port) == -1) {
		seterr(err, errlen, "'%s' is not a port (0-65535)", colon + 1);
		return -1;
	}
	if (hostlen == 0)
		strcpy(hp->host, "0.0.0.0");
	else {
		memcpy(hp->host, host, hostlen);
		hp->host[hostlen] = '\0';
	}
	return 0;
}

static int
choice_index(const struct conf_opt *o, const char *val)
{
	for (int i = 0; o->choices != NULL && o->choices[i] != NULL; i++) {
		if (strcmp(o->choices[i], val) == 0)
			return i;
	}
	return -1;
}

/* Writes "a|b|c" for an enum's choices. */
static void
choices_text(const struct conf_opt *o, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; o->choices != NULL && o->choices[i] != NULL; i++) {
		int w = snprintf(buf + n, size - n, "%s%s", i ? "|" : "",
		    o->choices[i]);

		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}

/* Sets option o of the struct at base from text val (NULL for a bool). */
static int
set_value(const struct conf_opt *o, void *base, const char *val, char *err,
    size_t errlen)
{
	char *p = (char *)base + o->offset;
	char why[CONF_ERR_LEN], list[CONF_ERR_LEN];
	bool bounded = o->min < o->max;
	int64_t iv = 0;
	double dv = 0;
	int ix = 0;

	switch (o->type) {
	case CONF_STRING:
		break;
	case CONF_BOOL:
		if (val == NULL || strcmp(val, "1") == 0 || strcmp(val, "true") == 0 ||
		    strcmp(val, "yes") == 0) {
			*(bool *)p = true;
			return 0;
		}
		if (strcmp(val, "0") == 0 || strcmp(val, "false") == 0 ||
		    strcmp(val, "no") == 0) {
			*(bool *)p = false;
			return 0;
		}
		seterr(err, errlen, "--%s: '%s' is not a boolean", o->name, val);
		return -1;
	case CONF_INT:
		if (parse_int(val, &iv) == -1) {
			seterr(err, errlen, "--%s: '%s' is not an integer", o->name, val);
			return -1;
		}
		if (bounded && ((double)iv < o->min || (double)iv > o->max)) {
			seterr(err, errlen, "--%s: %s is out of range %.0f..%.0f",
			    o->name, val, o->min, o->max);
			return -1;
		}
		break;
	case CONF_DOUBLE:
		if (parse_double(val, &dv) == -1) {
			seterr(err, errlen, "--%s: '%s' is not a number", o->name, val);
			return -1;
		}
		if (bounded && (dv < o->min || dv > o->max)) {
			seterr(err, errlen, "--%s: %s is out of range %g..%g",
			    o->name, val, o->min, o->max);
			return -1;
		}
		break;
	case CONF_ENUM:
		if ((ix = choice_index(o, val)) == -1) {
			choices_text(o, list, sizeof list);
			seterr(err, errlen, "--%s: '%s' is not one of %s", o->name,
			    val, list);
			return -1;
		}
		break;
	case CONF_HOSTPORT:
		break;
	}
	if (o->check != NULL && o->check(val, why, sizeof why) == -1) {
		seterr(err, errlen, "--%s: %s", o->name, why);
		return -1;
	}
	switch (o->type) {
	case CONF_STRING:
		*(const char **)p = val;
		break;
	case CONF_INT:
		*(int64_t *)p = iv;
		break;
	case CONF_DOUBLE:
		*(double *)p = dv;
		break;
	case CONF_ENUM:
		*(int *)p = ix;
		break;
	case CONF_HOSTPORT:
		if (conf_parse_hostport(val, (struct conf_hostport *)p, why,
		    sizeof why) == -1) {
			seterr(err, errlen, "--%s: %s", o->name, why);
			return -1;
		}
		break;
	case CONF_BOOL:
		break;
	}
	return 0;
}

/* Applies the defaults of one table; a bad default is reported like a flag. */
static int
set_defaults(const struct conf_opt *opts, void *base, char *err, size_t errlen)
{
	for (const struct conf_opt *o = opts; o != NULL && o->name != NULL; o++) {
		const char *val = o->def;
		const char *env = o->env != NULL ? getenv(o->env) : NULL;

		if (env != NULL && *env != '\0')
			val = env;
		if (val == NULL)
			continue;
		if (set_value(o, base, val, err, errlen) == -1) {
			if (val == env) {
				size_t n = strlen(err);

				snprintf(err + n, errlen - n, " (from $%s)", o->env);
			}
			return -1;
		}
	}
	return 0;
}

/* ---- Parsing ---- */

static size_t
table_len(const struct conf_opt *opts)
{
	size_t n = 0;

	while (opts != NULL && opts[n].name != NULL)
		n++;
	return n;
}

/* The flag a failing getopt_long call was looking at, without "=value". */
static void
bad_flag(char **argv, int ind, char *buf, size_t size)
{
	const char *a = argv[ind];
	size_t n = strcspn(a, "=");

	if (n >= size)
		n = size - 1;
	memcpy(buf, a, n);
	buf[n] = '\0';
}

int
conf_parse(const struct conf_spec *spec, struct conf_common *common,
    int argc, char **argv, int *first_arg, char *err, size_t errlen)
{
	size_t nown = table_len(spec->opts), ncommon = table_len(common_opts);
	struct option *lo;
	char flag[128];
	int rc = CONF_OK, c;

	if (set_defaults(common_opts, common, err, errlen) == -1 ||
	    set_defaults(spec->opts, spec->values, err, errlen) == -1)
		return CONF_ERROR;

	lo = xcalloc(nown + ncommon + 3, sizeof *lo);
	for (size_t i = 0; i < nown; i++) {
		lo[i].name = spec->opts[i].name;
		lo[i].has_arg = spec->opts[i].type == CONF_BOOL ? no_argument :
		    required_argument;
		lo[i].val = VAL_OWN + (int)i;
	}
	for (size_t i = 0; i < ncommon; i++) {
		lo[nown + i].name = common_opts[i].name;
		lo[nown + i].has_arg = required_argument;
		lo[nown + i].val = VAL_COMMON + (int)i;
	}
	lo[nown + ncommon] = (struct option){ "help", no_argument, NULL, VAL_HELP };
	lo[nown + ncommon + 1] = (struct option){ "version", no_argument, NULL,
	    VAL_VERSION };

	/* optind = 0 makes glibc start over, so conf_parse can run twice. */
	optind = 0;
	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, ":h", lo, NULL);
		if (c == -1)
			break;
		if (c == 'h' || c == VAL_HELP) {
			conf_usage(spec, stdout);
			rc = CONF_DONE;
			goto out;
		}
		if (c == VAL_VERSION) {
			printf("%s %s\n", spec->prog, CONF_VERSION);
			rc = CONF_DONE;
			goto out;
		}
		if (c == '?' || c == ':') {
			/* optind has moved past the word that failed. */
			int ind = optind - 1 < 1 ? 1 : optind - 1 >= argc ?
			    argc - 1 : optind - 1;

			bad_flag(argv, ind, flag, sizeof flag);
			if (c == ':')
				seterr(err, errlen, "%s: missing value", flag);
			else if (strchr(argv[ind], '=') != NULL &&
			    optopt >= VAL_OWN && (size_t)(optopt - VAL_OWN) < nown)
				seterr(err, errlen, "%s: takes no value", flag);
			else
				seterr(err, errlen, "unknown flag %s", flag);
			rc = CONF_ERROR;
			goto out;
		}
		if (c >= VAL_COMMON && c < VAL_OWN) {
			if (set_value(&common_opts[c - VAL_COMMON], common, optarg,
			    err, errlen) == -1) {
				rc = CONF_ERROR;
				goto out;
			}
		} else if (c >= VAL_OWN && (size_t)(c - VAL_OWN) < nown) {
			if (set_value(&spec->opts[c - VAL_OWN], spec->values, optarg, err,
			    errlen) == -1) {
				rc = CONF_ERROR;
				goto out;
			}
		}
	}
	if (first_arg != NULL)
		*first_arg = optind;
out:
	free(lo);
	return rc;
}

/* ---- Usage ---- */

static void
usage_table(const struct conf_opt *opts, FILE *fp)
{
	char left[CONF_ERR_LEN + 64], list[CONF_ERR_LEN];

	for (const struct conf_opt *o = opts; o != NULL && o->name != NULL; o++) {
		if (o->type == CONF_BOOL)
			snprintf(left, sizeof left, "--%s", o->name);
		else if (o->type == CONF_ENUM) {
			choices_text(o, list, sizeof list);
			snprintf(left, sizeof left, "--%s %s", o->name, list);
		} else
			snprintf(left, sizeof left, "--%s %s", o->name,
			    o->arg != NULL ? o->arg : "VALUE");
		fprintf(fp, "  %-28s %s", left, o->help != NULL ? o->help : "");
		if (o->def != NULL && o->type != CONF_BOOL && o->env == NULL)
			fprintf(fp, " (default %s)", o->def);
		if (o->min < o->max && o->type == CONF_INT)
			fprintf(fp, " [%.0f..%.0f]", o->min, o->max);
		fputc('\n', fp);
	}
}

void
conf_usage(const struct conf_spec *spec, FILE *fp)
{
	fprintf(fp, "usage: %s %s\n", spec->prog,
	    spec->synopsis != NULL ? spec->synopsis : "[flags]");
	if (spec->about != NULL)
		fprintf(fp, "%s\n", spec->about);
	fprintf(fp, "\nflags:\n");
	usage_table(spec->opts, fp);
	usage_table(common_opts, fp);
	fprintf(fp, "  %-28s %s\n", "--help", "print this help and exit");
	fprintf(fp, "  %-28s %s\n", "--version", "print the version and exit");
}

/* ---- Redis URLs ---- */

static int
parse_db(const char *s, size_t len, int *db)
{
	char buf[16];
	int64_t v;

	if (len == 0 || len >= sizeof buf)
		return len == 0 ? 0 : -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_int(buf, &v) == -1 || v < 0 || v > 1000000)
		return -1;
	*db = (int)v;
	return 0;
}

int
conf_redis_url(const char *url, struct conf_redis *out, char *err, size_t errlen)
{
	const char *p, *at, *slash, *q;
	size_t n;

	memset(out, 0, sizeof *out);
	if (strncmp(url, "unix://", 7) == 0) {
		p = url + 7;
		q = strchr(p, '?');
		n = q != NULL ? (size_t)(q - p) : strlen(p);
		if (n == 0 || p[0] != '/') {
			seterr(err, errlen, "'%s': unix:// needs an absolute path", url);
			return -1;
		}
		if (n >= sizeof out->path) {
			seterr(err, errlen, "'%s': socket path too long", url);
			return -1;
		}
		memcpy(out->path, p, n);
		out->unix_socket = true;
		if (q != NULL) {
			if (strncmp(q, "?db=", 4) != 0 ||
			    parse_db(q + 4, strlen(q + 4), &out->db) == -1) {
				seterr(err, errlen, "'%s': bad query (only ?db=N)", url);
				return -1;
			}
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		seterr(err, errlen, "'%s' is not a redis:// or unix:// URL", url);
		return -1;
	}
	p = url + 8;
	slash = strchr(p, '/');
	at = memchr(p, '@', slash != NULL ? (size_t)(slash - p) : strlen(p));
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		if (colon != NULL) {
			n = (size_t)(at - colon - 1);
			if (n >= sizeof out->password) {
				seterr(err, errlen, "'%s': password too long", url);
				return -1;
			}
			memcpy(out->password, colon + 1, n);
		}
		p = at + 1;
	}
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	{
		char hostport[CONF_HOST_MAX + 16];
		struct conf_hostport hp;
		char why[CONF_ERR_LEN];

		if (n == 0 || n >= sizeof hostport - 6) {
			seterr(err, errlen, "'%s': missing or too long host", url);
			return -1;
		}
		memcpy(hostport, p, n);
		hostport[n] = '\0';
		/* No port: Redis's default. */
		if ((hostport[0] == '[' && hostport[n - 1] == ']') ||
		    (hostport[0] != '[' && strchr(hostport, ':') == NULL))
			memcpy(hostport + n, ":6379", 6);
		if (conf_parse_hostport(hostport, &hp, why, sizeof why) == -1) {
			seterr(err, errlen, "'%s': %s", url, why);
			return -1;
		}
		if (hp.port == 0) {
			seterr(err, errlen, "'%s': port 0", url);
			return -1;
		}
		memcpy(out->host, hp.host, sizeof out->host);
		out->port = hp.port;
	}
	if (slash != NULL && parse_db(slash + 1, strlen(slash + 1), &out->db) == -1) {
		seterr(err, errlen, "'%s': '%s' is not a database number", url,
		    slash + 1);
		return -1;
	}
	return 0;
}

int
conf_check_redis_url(const char *val, char *err, size_t errlen)
{
	struct conf_redis r;

	return conf_redis_url(val, &r, err, errlen);
}

int
conf_parse_main(const struct conf_spec *spec, struct conf_common *common,
    int argc, char **argv, int *first_arg)
{
	char err[CONF_ERR_LEN];

	switch (conf_parse(spec, common, argc, argv, first_arg, err,
	    sizeof err)) {
	case CONF_ERROR:
		fprintf(stderr, "%s: %s\n", spec->prog, err);
		return 2;
	case CONF_DONE:
		return 0;
	default:
		return -1;
	}
}
