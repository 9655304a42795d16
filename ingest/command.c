/*
 * command.c: command name + parameter -> protocol bytes (command.h).
 *
 * The names are a table; each row says whether the parameter is an
 * interval, a text or nothing, and gives the TK103 and GPS103 bodies.
 * A NULL body means the protocol has no standard form for the command.
 */
#include "ingest/command.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/escape.h"

/*
 * GPS103 intervals are two digits with a unit; beyond 99 hours the field
 * would grow a digit that no documented firmware reads.
 */
#define GPS103_MAX_INTERVAL (99 * 3600)
/* TK103 intervals are four hex digits. */
#define TK103_MAX_INTERVAL 0xFFFF

enum param_kind { PARAM_NONE, PARAM_INTERVAL, PARAM_TEXT };

struct command_def {
	const char *name;
	enum param_kind param;
	const char *tk103;	/* between "(<ID>" and ")" */
	const char *gps103;	/* after "**,imei:<IMEI>," */
};

/* position_periodic and custom are composed in build_tk103/build_gps103. */
static const struct command_def command_table[] = {
	{ "engine_stop", PARAM_NONE, "AV010", "J" },
	{ "engine_resume", PARAM_NONE, "AV011", "K" },
	{ "position_single", PARAM_NONE, "AP00", "B" },
	{ "position_periodic", PARAM_INTERVAL, "AR00", "C" },
	{ "stop_tracking", PARAM_NONE, "AR0000000000", "D" },
	{ "arm", PARAM_NONE, NULL, "L" },
	{ "disarm", PARAM_NONE, NULL, "M" },
	{ "custom", PARAM_TEXT, "", "" },
};

static const struct command_def *
find(const char *name)
{
	for (size_t i = 0; i < sizeof command_table / sizeof command_table[0]; i++) {
		if (strcmp(command_table[i].name, name) == 0)
			return &command_table[i];
	}
	return NULL;
}

/* Parses a positive decimal integer of digits only; -1 when it is not. */
static int64_t
interval(const char *p, size_t len)
{
	int64_t v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v > 0 ? v : -1;
}

static int
fail(char *err, size_t errlen, const char *name, const char *why,
    const char *param, size_t paramlen)
{
	char n[64], p[64];
	size_t used;

	escape_bytes(n, sizeof n, (const uint8_t *)name, strlen(name));
	if (param == NULL) {
		snprintf(err, errlen, "%s: %s", n, why);
		return -1;
	}
	used = escape_bytes(p, sizeof p, (const uint8_t *)param, paramlen);
	snprintf(err, errlen, "%s: %s: '%s%s'", n, why, p,
	    used < paramlen ? "..." : "");
	return -1;
}

/* The checks of command_check; returns the row, NULL after failing. */
static const struct command_def *
check(const char *name, const char *param, size_t paramlen, int64_t *secs,
    char *err, size_t errlen)
{
	const struct command_def *d = find(name);

	*secs = 0;
	if (d == NULL) {
		fail(err, errlen, name, "unknown command", NULL, 0);
		return NULL;
	}
	switch (d->param) {
	case PARAM_NONE:
		break;
	case PARAM_INTERVAL:
		if (param == NULL) {
			fail(err, errlen, name, "needs an interval in seconds",
			    NULL, 0);
			return NULL;
		}
		if ((*secs = interval(param, paramlen)) < 0) {
			fail(err, errlen, name, "interval is not a positive "
			    "number of seconds", param, paramlen);
			return NULL;
		}
		break;
	case PARAM_TEXT:
		if (param == NULL || paramlen == 0) {
			fail(err, errlen, name, "needs the text to send", NULL, 0);
			return NULL;
		}
		if (paramlen > COMMAND_PARAM_MAX) {
			char why[48];

			snprintf(why, sizeof why, "text longer than %d bytes",
			    COMMAND_PARAM_MAX);
			fail(err, errlen, name, why, NULL, 0);
			return NULL;
		}
		break;
	}
	return d;
}

bool
command_takes_param(const char *name)
{
	const struct command_def *d = find(name);

	return d != NULL && d->param != PARAM_NONE;
}

int
command_check(const char *name, const char *param, size_t paramlen,
    char *err, size_t errlen)
{
	int64_t secs;

	return check(name, param, paramlen, &secs, err, errlen) != NULL ? 0 : -1;
}

/* Appends s[0..len) to out; the sizes are bounded by COMMAND_BYTES_MAX. */
static void
put(struct command_bytes *out, const char *s, size_t len)
{
	if (out->len + len > sizeof out->buf)
		len = sizeof out->buf - out->len;
	memcpy(out->buf + out->len, s, len);
	out->len += len;
}

static void
put_str(struct command_bytes *out, const char *s)
{
	put(out, s, strlen(s));
}

static int
build_tk103(const struct command_def *d, const char *id, const char *param,
    size_t paramlen, int64_t secs, struct command_bytes *out, char *err,
    size_t errlen)
{
	char hex[16];

	if (d->tk103 == NULL)
		return fail(err, errlen, d->name, "tk103 has no standard form",
		    NULL, 0);
	if (d->param == PARAM_INTERVAL && secs > TK103_MAX_INTERVAL)
		return fail(err, errlen, d->name, "tk103 interval does not fit "
		    "4 hex digits (at most 65535 s)", param, paramlen);
	put_str(out, "(");
	put_str(out, id);
	put_str(out, d->tk103);
	if (d->param == PARAM_INTERVAL) {
		snprintf(hex, sizeof hex, "%04X0000", (unsigned)secs);
		put_str(out, hex);
	} else if (d->param == PARAM_TEXT)
		put(out, param, paramlen);
	put_str(out, ")");
	return 0;
}

static int
build_gps103(const struct command_def *d, const char *id, const char *param,
    size_t paramlen, int64_t secs, struct command_bytes *out, char *err,
    size_t errlen)
{
	char iv[16];

	if (d->param == PARAM_INTERVAL && secs > GPS103_MAX_INTERVAL)
		return fail(err, errlen, d->name, "gps103 interval does not fit "
		    "2 digits (at most 99 h)", param, paramlen);
	put_str(out, "**,imei:");
	put_str(out, id);
	put_str(out, ",");
	put_str(out, d->gps103);
	if (d->param == PARAM_INTERVAL) {
		/* Integer division, as Traccar: 90 s is "01m". */
		if (secs >= 3600)
			snprintf(iv, sizeof iv, ",%02dh", (int)(secs / 3600));
		else if (secs >= 60)
			snprintf(iv, sizeof iv, ",%02dm", (int)(secs / 60));
		else
			snprintf(iv, sizeof iv, ",%02ds", (int)secs);
		put_str(out, iv);
	} else if (d->param == PARAM_TEXT)
		put(out, param, paramlen);
	return 0;
}

int
command_build(enum report_proto proto, const char *id, const char *name,
    const char *param, size_t paramlen, struct command_bytes *out,
    char *err, size_t errlen)
{
	const struct command_def *d;
	int64_t secs;

	out->len = 0;
	if ((d = check(name, param, paramlen, &secs, err, errlen)) == NULL)
		return -1;
	if (id == NULL || id[0] == '\0' || strlen(id) >= REPORT_ID_MAX)
		return fail(err, errlen, name, "no device id to address", NULL, 0);
	if (proto == REPORT_PROTO_TK103)
		return build_tk103(d, id, param, paramlen, secs, out, err, errlen);
	return build_gps103(d, id, param, paramlen, secs, out, err, errlen);
}
