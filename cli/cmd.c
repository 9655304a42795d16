/*
 * cmd.c: the pieces every `geoalarm` subcommand shares: flags with SPEC's
 * exit statuses, one-line errors, durations and times.  The subcommands
 * themselves are in cmd_*.c, the Redis client in client.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmd.h"
#include "lib/log.h"

/* Prints "<prog>: <message>\n" on stderr. */
static void
vsay(const char *prog, const char *fmt, va_list ap)
{
	char msg[CMD_ERR_LEN];
	size_t i;

	vsnprintf(msg, sizeof msg, fmt, ap);
	/* One line, whatever the reason carried (GEOS messages may hold
	 * newlines). */
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	fprintf(stderr, "%s: %s\n", prog, msg);
}

int
cmd_fail(const char *prog, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(prog, fmt, ap);
	va_end(ap);
	return CMD_FAIL;
}

int
cmd_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(prog, fmt, ap);
	va_end(ap);
	return CMD_USAGE;
}

int
cmd_flags(const struct conf_spec *spec, struct conf_common *common, int argc,
    char **argv, int min, int max, const char *const *names, int *first)
{
	char err[CONF_ERR_LEN];
	int rc, n, i;

	rc = conf_parse(spec, common, argc, argv, first, err, sizeof err);
	if (rc == CONF_DONE)
		return CMD_OK;
	if (rc == CONF_ERROR)
		return cmd_usage_error(spec->prog, "%s (see --help)", err);
	n = argc - *first;
	if (n < min) {
		const char *missing = NULL;

		for (i = 0; names != NULL && names[i] != NULL; i++)
			if (i == n) {
				missing = names[i];
				break;
			}
		return cmd_usage_error(spec->prog, "missing argument %s "
		    "(see --help)", missing != NULL ? missing : "");
	}
	if (max >= 0 && n > max)
		return cmd_usage_error(spec->prog, "unexpected argument '%s' "
		    "(see --help)", argv[*first + max]);
	log_set_level((enum log_level)common->log_level);
	return -1;
}

int
cmd_parse_duration(const char *s, int64_t *ms, char *err, size_t errlen)
{
	char *end;
	long long v;
	int64_t unit;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *s == '-' || *s == '+' || errno != 0 || v <= 0) {
		snprintf(err, errlen, "'%s' is not a duration such as 30s, "
		    "15m, 1h or 2d", s);
		return -1;
	}
	if (strcmp(end, "s") == 0)
		unit = 1000;
	else if (strcmp(end, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		unit = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		unit = 86400 * 1000;
	else {
		snprintf(err, errlen, "'%s' is not a duration such as 30s, "
		    "15m, 1h or 2d (unit s, m, h or d)", s);
		return -1;
	}
	/* Ten years is past any stream's history; beyond, the product
	 * could overflow. */
	if (v > 3650LL * 86400 * 1000 / unit) {
		snprintf(err, errlen, "'%s' is too long a duration", s);
		return -1;
	}
	*ms = (int64_t)v * unit;
	return 0;
}

char *
cmd_iso_time(int64_t ms, char *dst, size_t size)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(dst, size, "?");
	return dst;
}
