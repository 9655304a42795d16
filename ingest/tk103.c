/*
 * tk103.c: the parenthesised TK103 protocol (protocols/TK103.md section 2).
 *
 * One message in, one report out.  The message is split into id, command
 * code and body by the rule of section 2.2; the command code (never a
 * substring search) then picks the body parser: the fixed-width GPS block
 * of 2.3, the comma-separated GPS fields of the ZC/DW firmware, the ZC20
 * battery report, the ZC03 text reply and VIN.  The cell and WiFi lists
 * are tk103_cells.c's, the two battery-management layouts of 2.5.1 and
 * 2.5.2 tk103_bms.c's.
 *
 * Every field is read with an explicit end pointer by the parsers of
 * parse.h: nothing here reads past len, allocates, or calls sscanf or
 * strtod.  Framing ("$" counting) is frame.c's job and the mapping
 * between the ids a unit uses is the session's.
 */
#include "ingest/tk103.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ingest/parse.h"
#include "ingest/tk103_bms.h"
#include "ingest/tk103_cells.h"
#include "ingest/tk103_fields.h"
#include "lib/clock.h"

/* One message split by the rule of section 2.2. */
struct msg {
	const char *id;
	size_t idlen;
	const char *cmd;	/* 4 characters */
	const char *body;	/* after the command code (and its comma) */
	const char *end;	/* closing ')' excluded */
	bool comma;		/* comma layout: dates are ddmmyy */
};

/* What a GPS block (fixed or comma layout) holds. */
struct fix {
	int64_t time_ms;
	bool valid;
	double lat, lon, speed, course;
	const char *status;	/* the 8 status characters, NULL if absent */
	bool has_odometer;
	uint64_t odometer;	/* metres */
};

#define TRUNCATED "truncated GPS block"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return REPORT_ERROR;
}

static bool
is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* A command code: two uppercase letters, then two letters or digits. */
static bool
is_cmd(const char *p, const char *end)
{
	return end - p >= 4 && is_upper(p[0]) && is_upper(p[1]) &&
	    (is_upper(p[2]) || is_digit(p[2])) &&
	    (is_upper(p[3]) || is_digit(p[3]));
}

static bool
cmd_is(const struct msg *m, const char *code)
{
	return memcmp(m->cmd, code, 4) == 0;
}

static const char *
skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

/*
 * Reads an unsigned number that must fill [p, end) exactly, after optional
 * leading spaces: the fixed-width speed (" 45.3", "00000") and the course.
 */
static bool
num_exact(const char *p, const char *end, double *v)
{
	size_t n;

	p = skip_spaces(p, end);
	if (p == end || *p == '-' || *p == '+' ||
	    (n = parse_decimal(p, end, v)) == 0)
		return false;
	return p + n == end;
}

/* ---- Building the report ---- */

/* Status characters (section 2.4); positions 3 to 8 are best-effort. */
static void
add_status(struct report *r, const char *s)
{
	int a, b, c, f0, f1, f2;

	if (s[0] == '0' || s[0] == '1')
		report_add_bool(r, "charge", s[0] == '0');
	if (s[1] == '0' || s[1] == '1')
		report_add_bool(r, "ignition", s[1] == '1');
	if ((a = parse_hexdigit((unsigned char)s[2])) >= 0) {
		report_add_bool(r, "in2", a & 1);
		report_add_bool(r, "panic", a & 2);
		report_add_bool(r, "out2", a & 4);
		if (a & 8)
			report_add_bool(r, "blocked", true);
	}
	if ((b = parse_hexdigit((unsigned char)s[3])) >= 0) {
		if (b & 4)
			report_add_bool(r, "hs1", true);
		if (b & 2)
			report_add_bool(r, "hs2", true);
		if (b & 1)
			report_add_bool(r, "hs3", true);
		if (b & 8)
			report_add_bool(r, "door", true);
	}
	if ((c = parse_hexdigit((unsigned char)s[4])) >= 0) {
		if (c & 8)
			report_add_bool(r, "ls1", true);
		if (c & 4)
			report_add_bool(r, "ls2", true);
		if (c & 2)
			report_add_bool(r, "ls3", true);
	}
	f0 = parse_hexdigit((unsigned char)s[5]);
	f1 = parse_hexdigit((unsigned char)s[6]);
	f2 = parse_hexdigit((unsigned char)s[7]);
	if (f0 >= 0 && f1 >= 0 && f2 >= 0)
		report_add_int(r, "fuel", f0 << 8 | f1 << 4 | f2);
}

static void
apply_fix(struct report *r, const struct fix *f)
{
	r->has_time = true;
	r->time_ms = f->time_ms;
	r->valid = f->valid;
	r->has_fix = true;
	r->lat = f->lat;
	r->lon = f->lon;
	r->has_speed = true;
	r->speed = f->speed;
	r->has_course = true;
	r->course = f->course;
	if (f->status != NULL)
		add_status(r, f->status);
	if (f->has_odometer)
		report_add_int(r, "odometer", (int64_t)f->odometer);
}

/* ---- Event codes (section 4) ---- */

/*
 * Maps a ZC/DW code to an alarm bit or an ignition state (1 on, 0 off,
 * -1 none).  DW3x, DW5x share their last digit's meaning.
 */
static uint32_t
event_map(const char *code, int *ignition)
{
	*ignition = -1;
	if (code[0] == 'Z' && code[1] == 'C') {
		switch ((code[2] - '0') * 10 + (code[3] - '0')) {
		case 11: return REPORT_ALARM_MOVEMENT;
		case 12: return REPORT_ALARM_LOW_BATTERY;
		case 13: return REPORT_ALARM_POWER_CUT;
		case 15: case 29: *ignition = 1; return 0;
		case 16: *ignition = 0; return 0;
		case 17: return REPORT_ALARM_REMOVING;
		case 25: return REPORT_ALARM_SOS;
		case 26: return REPORT_ALARM_TAMPERING;
		case 27: return REPORT_ALARM_LOW_POWER;
		default: return 0;
		}
	}
	if (code[2] == '3' || code[2] == '5') {
		switch (code[3]) {
		case '1': return REPORT_ALARM_MOVEMENT;
		case '2': return REPORT_ALARM_LOW_BATTERY;
		case '3': return REPORT_ALARM_POWER_CUT;
		case '5': *ignition = 1; return 0;
		case '6': *ignition = 0; return 0;
		case '7': return REPORT_ALARM_REMOVING;
		case 'E': return REPORT_ALARM_SOS;
		case 'F': return REPORT_ALARM_TAMPERING;
		default: return 0;
		}
	}
	if (code[2] == '4' || code[2] == '6') {	/* DW40/DW60, DW42/DW62 */
		if (code[3] == '0')
			return REPORT_ALARM_LOW_POWER;
		if (code[3] == '2')
			*ignition = 1;
	}
	return 0;
}

/* Sets the alarm of an event code, or `event` = the code when none. */
static void
add_event(struct report *r, const char *code)
{
	int ignition;
	uint32_t alarm = event_map(code, &ignition);

	if (alarm != 0)
		r->alarms |= alarm;
	else
		report_add_str(r, "event", code, 4);
	if (ignition >= 0)
		report_add_bool(r, "ignition", ignition == 1);
}

/* ---- The fixed-width GPS block (section 2.3) ---- */

/*
 * Parses [s, end) as "[ARG] DATE V LAT LON SPEED TIME COURSE [STATUS L
 * ODOMETER] [extra]".  Sets *arg_end to the end of ARG (ARG starts at s).
 * Returns NULL, or the reason the block is unusable.
 */
static const char *
fixed_parse(const char *s, const char *end, struct fix *f, const char **arg_end)
{
	const char *q, *d = NULL, *l, *cend;
	int yy, mo, dd, hh, mi, ss;
	double v;
	size_t n;

	/* The date is the last 6 digits before the validity letter. */
	for (q = s; q < end; q++) {
		if (*q != 'A' && *q != 'V')
			continue;
		d = q > s && q[-1] == ',' ? q - 1 : q;
		if (d - s >= 6 && parse_digits(d - 6, d, 2, &yy) &&
		    parse_digits(d - 4, d, 2, &mo) && parse_digits(d - 2, d, 2, &dd))
			break;
	}
	if (q == end) {
		for (q = s; q < end && (is_digit(*q) || *q == ','); q++)
			;
		return q == end ? TRUNCATED : "no GPS block";
	}
	*arg_end = d - 6;
	f->valid = *q++ == 'A';
	if (q < end && *q == ',')
		q++;

	q = skip_spaces(q, end);
	if ((n = parse_ddmm(q, end, &v)) == 0)
		return q == end ? TRUNCATED : "bad latitude";
	q += n;
	if (q == end)
		return TRUNCATED;
	if (*q != 'N' && *q != 'S')
		return "bad latitude hemisphere";
	f->lat = *q++ == 'S' ? -v : v;

	q = skip_spaces(q, end);
	if ((n = parse_ddmm(q, end, &v)) == 0)
		return q == end ? TRUNCATED : "bad longitude";
	q += n;
	if (q == end)
		return TRUNCATED;
	if (*q != 'E' && *q != 'W')
		return "bad longitude hemisphere";
	f->lon = *q++ == 'W' ? -v : v;

	if (end - q < 5 + 6)
		return TRUNCATED;
	if (!num_exact(q, q + 5, &f->speed))
		return "bad speed";
	q += 5;
	if (!parse_digits(q, end, 2, &hh) || !parse_digits(q + 2, end, 2, &mi) ||
	    !parse_digits(q + 4, end, 2, &ss))
		return "bad time";
	q += 6;
	f->time_ms = clock_timegm(2000 + yy, mo, dd, hh, mi, ss);

	/* The odometer's 'L' anchors the 8 status characters before it. */
	l = memchr(q, 'L', (size_t)(end - q));
	f->status = NULL;
	f->has_odometer = false;
	if (l == NULL) {
		/*
		 * BQ81 style: a "ddd.dd" course (at most 3 + 4 digits), then
		 * anything.  The limits keep a block cut inside its status
		 * ("087.250100") from passing as a course.
		 */
		struct parse_number course;

		q = skip_spaces(q, end);
		if (q == end)
			return TRUNCATED;
		if (parse_number_scan(q, end, &course) == 0 ||
		    course.nint == 0 || course.nint > 3 || !course.dot ||
		    course.nfrac > 4)
			return "bad course";
		f->course = parse_number_value(&course);
		return NULL;
	}
	if (l - q < 8 + 1)
		return "bad status";
	f->status = l - 8;
	cend = f->status;
	if (cend[-1] == ',')
		cend--;
	if (!num_exact(q, cend, &f->course))
		return "bad course";
	if (parse_hex(l + 1, end, &f->odometer) == 0)
		return l + 1 == end ? TRUNCATED : "bad odometer";
	f->has_odometer = true;
	return NULL;
}

/* ---- The comma-layout GPS fields ---- */

/* A coordinate field, hemisphere glued ("4807.0380N") or in its own field. */
static bool
coord_field(struct tk103_fields *c, char pos, char neg, double *v)
{
	const char *f, *fe, *h, *he;
	size_t n;

	if (!tk103_fields_next(c, &f, &fe))
		return false;
	f = skip_spaces(f, fe);
	if ((n = parse_ddmm(f, fe, v)) == 0)
		return false;
	if (f + n + 1 == fe && (f[n] == pos || f[n] == neg)) {
		h = f + n;
	} else if (f + n == fe) {
		if (!tk103_fields_next(c, &h, &he) || he - h != 1 ||
		    (*h != pos && *h != neg))
			return false;
	} else {
		return false;
	}
	if (*h == neg)
		*v = -*v;
	return true;
}

/*
 * Parses "ddmmyy,A,lat,lon,speed,hhmmss,course" from c.  The cursor is
 * left on the fields after the course.  Returns NULL or the reason.
 */
static const char *
comma_parse(struct tk103_fields *c, struct fix *f)
{
	const char *v, *ve, *s, *se;
	int dd, mo, yy, hh, mi, ss;

	if (!tk103_fields_next(c, &s, &se) || se - s != 6 ||
	    !parse_digits(s, se, 2, &dd) || !parse_digits(s + 2, se, 2, &mo) ||
	    !parse_digits(s + 4, se, 2, &yy))
		return c->done ? TRUNCATED : "bad date";
	if (!tk103_fields_next(c, &v, &ve))
		return TRUNCATED;
	if (ve - v != 1 || (*v != 'A' && *v != 'V'))
		return "bad validity";
	f->valid = *v == 'A';
	if (!coord_field(c, 'N', 'S', &f->lat))
		return c->done ? TRUNCATED : "bad latitude";
	if (!coord_field(c, 'E', 'W', &f->lon))
		return c->done ? TRUNCATED : "bad longitude";
	if (!tk103_fields_next(c, &s, &se))
		return TRUNCATED;
	if (!num_exact(s, se, &f->speed))
		return "bad speed";
	/* hhmmss, possibly with a fraction of a second that is dropped. */
	if (!tk103_fields_next(c, &s, &se))
		return TRUNCATED;
	if (!parse_digits(s, se, 2, &hh) || !parse_digits(s + 2, se, 2, &mi) ||
	    !parse_digits(s + 4, se, 2, &ss) || (se - s > 6 && s[6] != '.'))
		return "bad time";
	f->time_ms = clock_timegm(2000 + yy, mo, dd, hh, mi, ss);
	if (!tk103_fields_next(c, &s, &se))
		return TRUNCATED;
	if (!num_exact(s, se, &f->course))
		return "bad course";
	f->status = NULL;
	f->has_odometer = false;
	return NULL;
}

/*
 * The fields after the course in the comma layout: either the fixed
 * block's status and odometer ("01000000,L0001E240"), or altitude (m) and
 * satellite count ("520.0,9").  Anything else is left alone.
 */
static void
comma_tail(struct tk103_fields *c, struct report *r, struct fix *f)
{
	const char *a, *ae, *b = NULL, *be = NULL;
	double alt;
	uint64_t sat;

	if (!tk103_fields_next(c, &a, &ae)) {
		apply_fix(r, f);
		return;
	}
	if (!tk103_fields_next(c, &b, &be))
		b = be = NULL;
	if (ae - a == 8 && parse_hex_all(a, ae, &(uint64_t){0}) &&
	    b != NULL && be - b >= 2 && *b == 'L' &&
	    parse_hex(b + 1, be, &f->odometer) > 0) {
		f->status = a;
		f->has_odometer = true;
		apply_fix(r, f);
		return;
	}
	apply_fix(r, f);
	if (a == ae || parse_decimal(a, ae, &alt) != (size_t)(ae - a))
		return;
	report_add_num(r, "altitude", alt, 1);
	if (b != NULL && parse_uint_all(b, be, &sat))
		report_add_int(r, "sat", (int64_t)sat);
}

/* ---- Command handlers: each returns NULL or the reason it failed ---- */

/* A GPS report; ARG meaning depends on the command (BP05, BO01, BQ81). */
static const char *
decode_gps(const struct msg *m, struct report *r)
{
	const char *why, *arg_end, *a;
	struct tk103_fields c;
	struct fix f;

	if (m->comma && !cmd_is(m, "BO01") && !cmd_is(m, "BQ81") &&
	    !cmd_is(m, "BP02")) {
		tk103_fields_init(&c, m->body, m->end);
		if ((why = comma_parse(&c, &f)) != NULL)
			return why;
		comma_tail(&c, r, &f);
		return NULL;
	}
	if ((why = fixed_parse(m->body, m->end, &f, &arg_end)) != NULL)
		return why;
	a = m->body;
	if (cmd_is(m, "BP05")) {
		if (parse_uint_all(a, arg_end, &(uint64_t){0}))
			report_add_str(r, "imei", a, (size_t)(arg_end - a));
	} else if (cmd_is(m, "BO01")) {
		if (arg_end - a != 1 || !is_digit(*a))
			return "bad alarm code";
		switch (*a) {
		/*
		 * Code 0 is unmapped in Traccar; vendor tables use it for
		 * "vehicle main power off", hence power_cut.
		 */
		case '0': r->alarms |= REPORT_ALARM_POWER_CUT; break;
		case '1': r->alarms |= REPORT_ALARM_ACCIDENT; break;
		case '2': r->alarms |= REPORT_ALARM_SOS; break;
		case '3': r->alarms |= REPORT_ALARM_VIBRATION; break;
		case '4': r->alarms |= REPORT_ALARM_LOWSPEED; break;
		case '5': r->alarms |= REPORT_ALARM_OVERSPEED; break;
		case '6': r->alarms |= REPORT_ALARM_GEOFENCE_EXIT; break;
		default: report_add_str(r, "event", a, 1); break;
		}
	} else if (cmd_is(m, "BQ81")) {
		/* ",ALARM,<type>,<digits>," in front of the date. */
		const char *t;

		if (a < arg_end && *a == ',')
			a++;
		if (arg_end - a < 8 || memcmp(a, "ALARM,", 6) != 0 ||
		    !is_digit(a[6]) || a[7] != ',')
			return "bad alarm header";
		t = a + 6;
		switch (*t) {
		case '0': r->alarms |= REPORT_ALARM_LOW_BATTERY; break;
		case '1': r->alarms |= REPORT_ALARM_OVERSPEED; break;
		case '2': r->alarms |= REPORT_ALARM_IDLE; break;
		case '3': r->alarms |= REPORT_ALARM_HARD_ACCELERATION; break;
		case '4': r->alarms |= REPORT_ALARM_HARD_BRAKING; break;
		case '5': r->alarms |= REPORT_ALARM_TEMPERATURE; break;
		default: report_add_str(r, "event", t, 1); break;
		}
	}
	apply_fix(r, &f);
	return NULL;
}

/* ZCxx, DW3x, DW4x, DW6x: comma-layout GPS fields plus an event code. */
static const char *
decode_event(const struct msg *m, struct report *r)
{
	const char *why;
	struct tk103_fields c;
	struct fix f;

	tk103_fields_init(&c, m->body, m->end);
	if ((why = comma_parse(&c, &f)) != NULL)
		return why;
	add_event(r, m->cmd);
	comma_tail(&c, r, &f);
	return NULL;
}

/* BZ00 and BP05 cell groups; BP05 carries the IMEI in front of them. */
static const char *
decode_brace_cells(const struct msg *m, struct report *r)
{
	const char *p = m->body;

	if (cmd_is(m, "BP05")) {
		uint64_t imei;
		size_t n = parse_uint(p, m->end, &imei);

		if (n > 0)
			report_add_str(r, "imei", p, n);
		p += n;
	}
	return tk103_cells_braces(p, m->end, r);
}

/* The 17-character VIN right after the command. */
static const char *
decode_bv00(const struct msg *m, struct report *r)
{
	const char *p = m->body;

	if (p < m->end && *p == ',')
		p++;
	if (m->end - p < 17)
		return "VIN too short";
	for (int i = 0; i < 17; i++) {
		if (!is_digit(p[i]) && !is_upper(p[i]) &&
		    !(p[i] >= 'a' && p[i] <= 'z'))
			return "bad VIN";
	}
	report_add_str(r, "vin", p, 17);
	return NULL;
}

/* "ddmmyy,hhmmss,levelCode,battery,power,installed[,...]" */
static const char *
decode_zc20(const struct msg *m, struct report *r)
{
	static const int levels[7] = { -1, -1, 10, 20, 50, 80, 100 };
	uint64_t level, battery, power, installed;
	struct tk103_fields c;
	int64_t t;

	tk103_fields_init(&c, m->body, m->end);
	if (!tk103_fields_date_time(&c, &t))
		return "bad date or time";
	if (!tk103_fields_uint(&c, &level) ||
	    !tk103_fields_uint(&c, &battery) ||
	    !tk103_fields_uint(&c, &power) ||
	    !tk103_fields_uint(&c, &installed))
		return "bad battery fields";
	r->has_time = true;
	r->time_ms = t;
	/* 255 and 65535 mean "not measured". */
	if (level < 7 && levels[level] >= 0)
		report_add_int(r, "battery_level", levels[level]);
	if (battery != 65535)
		report_add_num(r, "battery", (double)battery / 100.0, 2);
	if (power != 65535)
		report_add_num(r, "power", (double)power / 10.0, 1);
	report_add_int(r, "installed", (int64_t)installed);
	return NULL;
}

/* "ddmmyy,hhmmss,$text$": the text may hold CR, LF, ')' and ','. */
static const char *
decode_zc03(const struct msg *m, struct report *r)
{
	const char *p, *q;
	struct tk103_fields c;
	int64_t t;

	tk103_fields_init(&c, m->body, m->end);
	if (!tk103_fields_date_time(&c, &t))
		return "bad date or time";
	if (c.done)
		return "missing text";
	r->has_time = true;
	r->time_ms = t;
	p = c.p;
	q = m->end;
	if (p < q && *p == '$') {
		p++;
		/* The last '$' closes the text; a lone '$' runs to the end. */
		while (q > p && q[-1] != '$')
			q--;
		if (q > p)
			q--;
		else
			q = m->end;
	}
	report_add_str(r, "result", p, (size_t)(q - p));
	return NULL;
}

/* DW5x: a cell and WiFi list, the time and the event of its code. */
static const char *
decode_dw5(const struct msg *m, struct report *r)
{
	struct tk103_cells_dw5 d;
	const char *why;

	if ((why = tk103_cells_dw5(m->body, m->end, &d)) != NULL)
		return why;
	r->has_time = true;
	r->time_ms = d.time_ms;
	add_event(r, m->cmd);
	tk103_cells_dw5_apply(&d, r);
	return NULL;
}

/* ---- Entry point ---- */

/* Splits id, command and body by the rule of section 2.2. */
static bool
split(const char *p, const char *end, struct msg *m)
{
	const char *q;
	size_t d;

	m->end = end;
	/* 1: 12 characters without a comma, then a command code. */
	if (end - p >= 16 && memchr(p, ',', 12) == NULL && is_cmd(p + 12, end)) {
		m->id = p;
		m->idlen = 12;
		m->cmd = p + 12;
		m->body = p + 16;
		m->comma = false;
		return true;
	}
	for (d = 0; p + d < end && is_digit(p[d]); d++)
		;
	/* 2: digits and a comma; 3: digits glued to a command code. */
	if (d > 0 && p + d < end && p[d] == ',') {
		q = p + d;
	} else if (d > 0 && is_cmd(p + d, end)) {
		m->id = p;
		m->idlen = d;
		m->cmd = p + d;
		m->body = p + d + 4;
		m->comma = false;
		return true;
	} else {
		/* 4: anything up to the first comma. */
		if ((q = memchr(p, ',', (size_t)(end - p))) == NULL)
			return false;
	}
	if (q == p || !is_cmd(q + 1, end) || (q + 5 < end && q[5] != ','))
		return false;
	m->id = p;
	m->idlen = (size_t)(q - p);
	m->cmd = q + 1;
	m->body = q + 5 < end ? q + 6 : end;
	m->comma = true;
	return true;
}

/* Commands known to carry a fixed or comma GPS block. */
static bool
is_gps_cmd(const struct msg *m)
{
	return (m->cmd[0] == 'B' && m->cmd[1] == 'R') || cmd_is(m, "BP02") ||
	    cmd_is(m, "BP04") || cmd_is(m, "BP05") || cmd_is(m, "BO01") ||
	    cmd_is(m, "BQ81");
}

int
tk103_decode(const uint8_t *frame, size_t len, int64_t recv_ms,
    struct report *r, struct reply *reply, char *err, size_t errlen)
{
	const char *p = (const char *)frame, *end = p + len, *why;
	struct msg m;
	char buf[REPORT_REPLY_MAX];
	size_t n;

	report_init(r, REPORT_PROTO_TK103, recv_ms);
	reply->len = 0;
	while (p < end && (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\0'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\r' ||
	    end[-1] == '\n' || end[-1] == '\0'))
		end--;
	if (p < end && *p == '(')
		p++;
	if (end > p && end[-1] == ')')
		end--;
	if (p == end)
		return fail(err, errlen, "tk103: empty message");
	if (!split(p, end, &m))
		return fail(err, errlen, "tk103: no device id and command code");
	report_set_device(r, m.id, m.idlen);

	/* Acks use the parsed id, so 11- and 15-digit ids get one too. */
	if (cmd_is(&m, "BP00") || (cmd_is(&m, "BP05") && !m.comma)) {
		n = m.idlen < sizeof buf - 9 ? m.idlen : sizeof buf - 9;
		buf[0] = '(';
		memcpy(buf + 1, m.id, n);
		if (cmd_is(&m, "BP00")) {
			memcpy(buf + 1 + n, "AP01HSO)", 8);
			n += 9;
		} else {
			memcpy(buf + 1 + n, "AP05)", 5);
			n += 6;
		}
		reply_set(reply, buf, n);
	}

	if (cmd_is(&m, "BP00") || cmd_is(&m, "BQ86"))
		return REPORT_NONE;
	if ((cmd_is(&m, "BZ00") || cmd_is(&m, "BP05")) &&
	    memchr(m.body, '{', (size_t)(m.end - m.body)) != NULL)
		why = decode_brace_cells(&m, r);
	else if (cmd_is(&m, "BZ00"))
		why = tk103_cells_bz00(m.body, m.end, r);
	else if (cmd_is(&m, "BV00"))
		why = decode_bv00(&m, r);
	else if (cmd_is(&m, "BS50"))
		why = tk103_bms_bs50(m.body, m.end, r);
	else if (cmd_is(&m, "BS51"))
		why = tk103_bms_bs51(m.body, m.end, r);
	else if ((m.cmd[0] == 'Z' && m.cmd[1] == 'C') ||
	    (m.cmd[0] == 'D' && m.cmd[1] == 'W')) {
		/* The comma firmware's codes; a fixed-layout id leaves a ','. */
		if (!m.comma && m.body < m.end && *m.body == ',')
			m.body++;
		if (cmd_is(&m, "ZC20"))
			why = decode_zc20(&m, r);
		else if (cmd_is(&m, "ZC03"))
			why = decode_zc03(&m, r);
		else if (m.cmd[0] == 'D' && m.cmd[2] == '5')
			why = decode_dw5(&m, r);
		else
			why = decode_event(&m, r);
	} else {
		why = decode_gps(&m, r);
		if (why != NULL && !is_gps_cmd(&m)) {
			report_init(r, REPORT_PROTO_TK103, recv_ms);
			report_set_device(r, m.id, m.idlen);
			return fail(err, errlen, "tk103: unknown command %.4s",
			    m.cmd);
		}
	}
	if (why != NULL)
		return fail(err, errlen, "tk103: %.4s: %s", m.cmd, why);
	return REPORT_OK;
}
