/*
 * gps103.c: decoder for the Xexun/Coban "imei:" protocol (GPS103,
 * protocols/TK103.md section 3): login, heartbeat, the regular F/L report,
 * OBD records, the `*`-terminated alternative format and photo packets.
 *
 * It turns one frame into a report, a reply and a photo-part description.
 * Framing, protocol detection and photo assembly (which needs state per
 * connection) are the session's.  Numbers are read by parse.h under the
 * limits of the read_* helpers below: the decoder is on the hot path
 * (millions of messages a second), so no sscanf, strtod or regex, and it
 * never reads outside frame[0..len).
 */
#include "ingest/gps103.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ingest/parse.h"
#include "lib/clock.h"
#include "lib/escape.h"

/* A comma-separated field: p[0..n), borrowed from the frame. */
struct fld {
	const char *p;
	size_t n;
};

/* The regular report has 19 fields; a few more leave room for extras. */
#define MAXF 24

#define KNOTS_TO_KMH 1.852
#define MS_PER_HOUR  3600000LL

/* ================================================================
 * Errors
 * ================================================================ */

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return REPORT_ERROR;
}

/* Rejects with "gps103: bad <what> '<value>'", the value escaped and cut. */
static int
bad(char *err, size_t errlen, const char *what, const struct fld *f)
{
	char v[64];

	escape_bytes(v, sizeof v, (const uint8_t *)f->p, f->n);
	return fail(err, errlen, "gps103: bad %s '%s'", what, v);
}

/* ================================================================
 * Small parsers
 * ================================================================ */

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_space(char c)
{
	return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '\0';
}

/* Two digits already known to be digits. */
static inline int
d2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static bool
all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return false;
	}
	return true;
}

static bool
fld_is(const struct fld *f, const char *s, size_t n)
{
	return f->n == n && memcmp(f->p, s, n) == 0;
}

#define FLD_IS(f, lit) fld_is((f), lit, sizeof lit - 1)

/* True for a run of one or more dashes ("---", "absent"). */
static bool
fld_dashes(const struct fld *f)
{
	if (f->n == 0)
		return false;
	for (size_t i = 0; i < f->n; i++) {
		if (f->p[i] != '-')
			return false;
	}
	return true;
}

/*
 * The read_* functions take a whole field p[0..n) and add this protocol's
 * limits to the readers of parse.h: a field longer than 18 decimal or 15
 * hex digits is rejected rather than saturated, and a number needs a digit
 * before its '.'.
 */

/* Parses "d+" (at most 18 digits). */
static bool
read_uint(const char *p, size_t n, uint64_t *v)
{
	return n <= 18 && parse_uint_all(p, p + n, v);
}

/* Parses "[-+]?d+" (at most 18 digits). */
static bool
read_int(const char *p, size_t n, int64_t *v)
{
	size_t sign = n > 0 && (p[0] == '-' || p[0] == '+');

	return n - sign <= 18 && parse_int_all(p, p + n, v);
}

/* Parses "x+" (at most 15 hex digits). */
static bool
read_hex(const char *p, size_t n, uint64_t *v)
{
	return n <= 15 && parse_hex_all(p, p + n, v);
}

#define NUM_SIGN	1	/* a leading '-' or '+' is allowed */
#define NUM_NEEDFRAC	2	/* a '.' and at least one decimal are required */

/*
 * Parses "[-+]?d+(.d*)?" per flags: at most 15 integer digits and 18
 * decimals.  *decimals gets the number of decimals written (for printing).
 */
static bool
read_num(const char *p, size_t n, int flags, double *v, int *decimals)
{
	struct parse_number x;
	size_t sign = 0;
	double d;

	if ((flags & NUM_SIGN) && n > 0 && (p[0] == '-' || p[0] == '+'))
		sign = 1;
	if (n == sign || parse_number_scan(p + sign, p + n, &x) != n - sign ||
	    x.nint == 0 || x.nint > 15 || x.nfrac > 18)
		return false;
	if ((flags & NUM_NEEDFRAC) && x.nfrac == 0)
		return false;
	d = parse_number_value(&x);
	*v = sign == 1 && p[0] == '-' ? -d : d;
	if (decimals != NULL)
		*decimals = x.nfrac > 9 ? 9 : (int)x.nfrac;
	return true;
}

/*
 * Parses a "dddmm.mmmm" coordinate: the last two digits before the point
 * and the decimals are minutes, whatever precedes them degrees (possibly
 * none: "31.50000" is 0 deg 31.5 min).  1 to 6 digits before the point,
 * 1 to 12 after it.
 */
static bool
read_dm(const char *p, size_t n, double *deg)
{
	struct parse_number x;

	if (n == 0 || parse_number_scan(p, p + n, &x) != n || x.nint == 0 ||
	    x.nint > 6 || x.nfrac == 0 || x.nfrac > 12)
		return false;
	*deg = parse_number_ddmm(&x);
	return true;
}

/*
 * Splits s[0..n) on commas into at most max fields; when there are more,
 * the last field holds the whole remainder, commas included.  Returns the
 * number of fields (at least 1).
 */
static int
split(const char *s, size_t n, struct fld *f, int max)
{
	const char *e = s + n, *c;
	int k = 0;

	for (;;) {
		if (k == max - 1) {
			f[k].p = s;
			f[k].n = (size_t)(e - s);
			return max;
		}
		c = memchr(s, ',', (size_t)(e - s));
		f[k].p = s;
		if (c == NULL) {
			f[k].n = (size_t)(e - s);
			return k + 1;
		}
		f[k].n = (size_t)(c - s);
		k++;
		s = c + 1;
	}
}

static void
reply_append(struct reply *reply, const char *s, size_t len)
{
	if (len > REPORT_REPLY_MAX - reply->len)
		len = REPORT_REPLY_MAX - reply->len;
	memcpy(reply->buf + reply->len, s, len);
	reply->len += len;
}

/* ================================================================
 * Time
 * ================================================================ */

struct local_dt {
	int y, mo, d, h, mi;
};

/*
 * Reads the local date-time of field 2: "yymmddhhmm", "yymmddhhmmss" or
 * "yy/mm/dd hh:mm" (each separator optional, local seconds ignored).
 * Returns 1 with *dt filled, 0 when the field holds no usable date (empty,
 * other digit strings, a zero date) and -1 when it is not a date at all.
 */
static int
read_local(const struct fld *f, struct local_dt *dt)
{
	const char *p = f->p, *e = f->p + f->n;
	int v[5];

	if (f->n == 0 || all_digits(f->p, f->n)) {
		if (f->n != 10 && f->n != 12)
			return 0;
	}
	for (int k = 0; k < 5; k++) {
		if (k > 0 && p < e) {
			if ((k == 1 || k == 2) && *p == '/')
				p++;
			else if (k == 3 && *p == ' ')
				p++;
			else if (k == 4 && *p == ':')
				p++;
		}
		if (e - p < 2 || !is_digit(p[0]) || !is_digit(p[1]))
			return -1;
		v[k] = d2(p);
		p += 2;
	}
	if (p < e && *p == ':')
		p++;
	if (e - p == 2 && is_digit(p[0]) && is_digit(p[1]))
		p += 2;
	if (p != e)
		return -1;
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59)
		return 0;
	dt->y = 2000 + v[0];
	dt->mo = v[1];
	dt->d = v[2];
	dt->h = v[3];
	dt->mi = v[4];
	return 1;
}

/*
 * Reads the UTC time of field 5: "hhmmss" with any decimals.  Returns 1
 * with the parts filled, 0 for an empty field or another number ("31.0":
 * no UTC time), -1 for anything else.
 */
static int
read_utc(const struct fld *f, int *h, int *mi, int *s)
{
	double unused;

	if (f->n == 0)
		return 0;
	if (f->n >= 6 && all_digits(f->p, 6) &&
	    (f->n == 6 || (f->p[6] == '.' && f->n > 7 &&
	    all_digits(f->p + 7, f->n - 7)))) {
		*h = d2(f->p);
		*mi = d2(f->p + 2);
		*s = d2(f->p + 4);
		if (*h <= 23 && *mi <= 59 && *s <= 60)
			return 1;
		return 0;
	}
	return read_num(f->p, f->n, 0, &unused, NULL) ? 0 : -1;
}

/*
 * The device sends its local date and time plus the UTC time of day: the
 * offset is the local minus the UTC clock time, folded into (-12 h, +12 h].
 * Offsets beyond that (+13:00, +14:00) land a day off, as in Traccar.
 */
static int64_t
local_to_utc(const struct local_dt *dt, int uh, int um, int us)
{
	int delta = (dt->h - uh) * 60 + (dt->mi - um);

	if (delta <= -720)
		delta += 1440;
	else if (delta > 720)
		delta -= 1440;
	return clock_timegm(dt->y, dt->mo, dt->d, dt->h, dt->mi - delta, us);
}

/* ================================================================
 * Keywords (field 1 of the regular report, section 3.5)
 * ================================================================ */

struct kw_alarm {
	const char *name;
	size_t len;
	uint32_t alarm;
};

#define KW(s, a) { s, sizeof s - 1, a }
static const struct kw_alarm kw_alarms[] = {
	KW("help me", REPORT_ALARM_SOS),
	KW("low battery", REPORT_ALARM_LOW_BATTERY),
	KW("stockade", REPORT_ALARM_GEOFENCE),
	KW("move", REPORT_ALARM_MOVEMENT),
	KW("speed", REPORT_ALARM_OVERSPEED),
	KW("door alarm", REPORT_ALARM_DOOR),
	KW("ac alarm", REPORT_ALARM_POWER_CUT),
	KW("accident alarm", REPORT_ALARM_ACCIDENT),
	KW("sensor alarm", REPORT_ALARM_VIBRATION),
	KW("bonnet alarm", REPORT_ALARM_BONNET),
	KW("footbrake alarm", REPORT_ALARM_FOOT_BRAKE),
	KW("DTC", REPORT_ALARM_FAULT),
};
#undef KW

/* What the keyword and the tail fields decide, written out at the end. */
struct pending {
	int ignition;		/* -1 unknown, else 0/1 */
	bool has_temp;
	double temp;
	int temp_dec;
};

/*
 * Applies keyword kw: alarm bits, the SOS acknowledgement, photo
 * announcement, ignition, temperature, fuel and the generic event.
 */
static void
apply_keyword(const struct fld *kw, const struct fld *imei,
    const struct fld *f3, struct report *r, struct reply *reply,
    struct gps103_photo_part *part, struct pending *pd)
{
	uint64_t n;
	double v;
	int dec;

	for (size_t i = 0; i < sizeof kw_alarms / sizeof kw_alarms[0]; i++) {
		if (fld_is(kw, kw_alarms[i].name, kw_alarms[i].len)) {
			r->alarms |= kw_alarms[i].alarm;
			if (kw_alarms[i].alarm == REPORT_ALARM_SOS) {
				reply_append(reply, "**,imei:", 8);
				reply_append(reply, imei->p, imei->n);
				reply_append(reply, ",E;", 3);
			}
			return;
		}
	}
	if (kw->n == 0 || FLD_IS(kw, "tracker"))
		return;
	if (kw->n >= 2 && memcmp(kw->p, "T:", 2) == 0) {
		r->alarms |= REPORT_ALARM_TEMPERATURE;
		if (read_num(kw->p + 2, kw->n - 2, NUM_SIGN, &v, &dec)) {
			pd->has_temp = true;
			pd->temp = v;
			pd->temp_dec = dec;
		}
		return;
	}
	if (kw->n >= 3 && memcmp(kw->p, "oil", 3) == 0) {
		r->alarms |= REPORT_ALARM_FUEL_LEAK;
		if (kw->n > 4 && kw->p[3] == ' ' &&
		    read_num(kw->p + 4, kw->n - 4, 0, &v, &dec))
			report_add_num(r, "fuel", v, dec);
		return;
	}
	if (FLD_IS(kw, "acc on") || FLD_IS(kw, "acc off")) {
		pd->ignition = kw->n == 6;
		return;
	}
	if (kw->n > 2 && memcmp(kw->p, "vt", 2) == 0 &&
	    read_uint(kw->p + 2, kw->n - 2, &n)) {
		/* The packet index is a u16: more packets cannot be sent. */
		if (n > 0 && n <= 65536)
			part->announce = (int)n;
		return;
	}
	report_add_str(r, "event", kw->p, kw->n);
	if (FLD_IS(kw, "rfid") && f3->n > 0)
		report_add_str(r, "driver_unique_id", f3->p, f3->n);
}

/* ================================================================
 * Regular report (section 3.3)
 * ================================================================ */

/* Field 3 holds the admin phone number when it is "+?digits". */
static void
add_phone(struct report *r, const struct fld *f)
{
	size_t plus = f->n > 0 && f->p[0] == '+';

	if (f->n - plus >= 3 && all_digits(f->p + plus, f->n - plus))
		report_add_str(r, "phone", f->p, f->n);
}

/* "nn.nn%" (fuel levels): the number, or false without the '%'. */
static bool
read_pct(const struct fld *f, double *v, int *dec)
{
	return f->n > 1 && f->p[f->n - 1] == '%' &&
	    read_num(f->p, f->n - 1, 0, v, dec);
}

static int
decode_l(const struct fld *f, int nf, struct report *r)
{
	uint64_t lac, cid;

	/* "L,,,LAC,,CID,,,": LAC and CID in hex, the block may be absent. */
	if (nf > 9 && read_hex(f[7].p, f[7].n, &lac) &&
	    read_hex(f[9].p, f[9].n, &cid)) {
		report_add_int(r, "lac", (int64_t)lac);
		report_add_int(r, "cid", (int64_t)cid);
	}
	return REPORT_OK;
}

/* Fields 13-18: each is read on its own; a value that does not fit is
 * left out without affecting the others. */
static void
decode_tail(const struct fld *f, int nf, bool dtc, struct report *r,
    struct pending *pd)
{
	double v;
	int dec;

	if (nf > 13 && read_num(f[13].p, f[13].n, NUM_SIGN, &v, &dec))
		report_add_num(r, "altitude", v, dec);
	if (nf > 14 && f[14].n == 1 && (f[14].p[0] == '0' || f[14].p[0] == '1'))
		pd->ignition = f[14].p[0] == '1';
	if (pd->ignition >= 0)
		report_add_bool(r, "ignition", pd->ignition == 1);
	if (nf > 15 && f[15].n == 1 && (f[15].p[0] == '0' || f[15].p[0] == '1'))
		report_add_bool(r, "door", f[15].p[0] == '1');
	if (nf > 16 && read_pct(&f[16], &v, &dec))
		report_add_num(r, "fuel1", v, dec);
	if (nf > 17) {
		if (read_pct(&f[17], &v, &dec))
			report_add_num(r, "fuel2", v, dec);
		else if (dtc && f[17].n > 0)
			report_add_str(r, "dtcs", f[17].p, f[17].n);
	}
	if (nf > 18 && read_num(f[18].p, f[18].n, NUM_SIGN, &v, &dec)) {
		pd->has_temp = true;
		pd->temp = v;
		pd->temp_dec = dec;
	}
	if (pd->has_temp)
		report_add_num(r, "temp1", pd->temp, pd->temp_dec);
}

static int
decode_f(const struct fld *f, int nf, struct report *r, struct pending *pd,
    bool dtc, char *err, size_t errlen)
{
	const struct fld *lat, *ns, *lon, *ew;
	struct local_dt dt = { 0, 0, 0, 0, 0 };
	int loc, utc, uh = 0, um = 0, us = 0;
	double v;

	if (nf < 10)
		return fail(err, errlen, "gps103: F report cut short "
		    "(%d fields)", nf);
	if ((loc = read_local(&f[2], &dt)) < 0)
		return bad(err, errlen, "date", &f[2]);
	if ((utc = read_utc(&f[5], &uh, &um, &us)) < 0)
		return bad(err, errlen, "utc time", &f[5]);
	if (f[6].n != 1 || (f[6].p[0] != 'A' && f[6].p[0] != 'V'))
		return bad(err, errlen, "validity", &f[6]);

	/* Hemisphere first ("N,4807.0380,E,01131.0000") or after. */
	if (f[7].n == 1 && (f[7].p[0] == 'N' || f[7].p[0] == 'S')) {
		if (nf < 11)
			return fail(err, errlen, "gps103: F report cut short "
			    "(%d fields)", nf);
		ns = &f[7], lat = &f[8], ew = &f[9], lon = &f[10];
	} else {
		lat = &f[7], ns = &f[8], lon = &f[9];
		ew = nf > 10 ? &f[10] : NULL;
	}
	if (!read_dm(lat->p, lat->n, &r->lat) || r->lat > 90)
		return bad(err, errlen, "latitude", lat);
	if (!read_dm(lon->p, lon->n, &r->lon) || r->lon > 180)
		return bad(err, errlen, "longitude", lon);
	if (ns->n > 1 || (ns->n == 1 && ns->p[0] != 'N' && ns->p[0] != 'S'))
		return bad(err, errlen, "latitude hemisphere", ns);
	if (ew != NULL && (ew->n > 1 ||
	    (ew->n == 1 && ew->p[0] != 'E' && ew->p[0] != 'W')))
		return bad(err, errlen, "longitude hemisphere", ew);
	if (ns->n == 1 && ns->p[0] == 'S')
		r->lat = -r->lat;
	if (ew != NULL && ew->n == 1 && ew->p[0] == 'W')
		r->lon = -r->lon;
	r->has_fix = true;
	r->valid = f[6].p[0] == 'A';

	if (nf > 11 && f[11].n > 0) {
		if (!read_num(f[11].p, f[11].n, 0, &v, NULL))
			return bad(err, errlen, "speed", &f[11]);
		r->has_speed = true;
		r->speed = v * KNOTS_TO_KMH;
	}
	if (nf > 12 && f[12].n > 0) {
		if (!read_num(f[12].p, f[12].n, 0, &v, NULL) || v > 360)
			return bad(err, errlen, "course", &f[12]);
		r->has_course = true;
		r->course = v;
	}
	if (loc == 1) {
		r->has_time = true;
		r->time_ms = utc == 1 ? local_to_utc(&dt, uh, um, us) :
		    clock_timegm(dt.y, dt.mo, dt.d, dt.h, dt.mi, 0);
	}
	decode_tail(f, nf, dtc, r, pd);
	return REPORT_OK;
}

static int
decode_regular(const char *s, size_t n, struct report *r,
    struct reply *reply, struct gps103_photo_part *part, char *err,
    size_t errlen)
{
	struct fld f[MAXF];
	struct pending pd = { -1, false, 0, 0 };
	int nf = split(s, n, f, MAXF);
	bool dtc;

	if (nf < 5)
		return fail(err, errlen, "gps103: report cut short "
		    "(%d fields)", nf);
	if (f[4].n != 1 || (f[4].p[0] != 'F' && f[4].p[0] != 'L'))
		return bad(err, errlen, "report type", &f[4]);
	dtc = FLD_IS(&f[1], "DTC");
	apply_keyword(&f[1], &f[0], &f[3], r, reply, part, &pd);
	if (!FLD_IS(&f[1], "rfid"))
		add_phone(r, &f[3]);
	if (f[4].p[0] == 'L') {
		if (pd.ignition >= 0)
			report_add_bool(r, "ignition", pd.ignition == 1);
		if (pd.has_temp)
			report_add_num(r, "temp1", pd.temp, pd.temp_dec);
		return decode_l(f, nf, r);
	}
	return decode_f(f, nf, r, &pd, dtc, err, errlen);
}

/* ================================================================
 * OBD record (section 3.6)
 * ================================================================ */

/* A required OBD field: absent and malformed get distinct reasons. */
static int
obd_bad(char *err, size_t errlen, const char *what, const struct fld *f)
{
	char w[48];

	if (f->n == 0)
		return fail(err, errlen, "gps103: OBD record without %s", what);
	snprintf(w, sizeof w, "OBD %s", what);
	return bad(err, errlen, w, f);
}

/* Trims blanks around a[0..*q). */
static const char *
trim(const char *a, const char **q)
{
	while (a < *q && is_space(*a))
		a++;
	while (*q > a && is_space((*q)[-1]))
		(*q)--;
	return a;
}

/*
 * Adds "dtcs": the non-empty comma-separated codes of rest joined by one
 * space, composed in the report's arena (two passes: measure, then copy).
 */
static void
obd_dtcs(const struct fld *rest, struct report *r)
{
	const char *e = rest->p + rest->n;
	size_t total = 0, o = 0;
	char *out = NULL;

	for (int pass = 0; pass < 2; pass++) {
		const char *p = rest->p;

		if (pass == 1) {
			if (total == 0 || (out = report_arena(r, total)) == NULL)
				return;
		}
		while (p <= e) {
			const char *c = memchr(p, ',', (size_t)(e - p));
			const char *q = c != NULL ? c : e;
			const char *a = trim(p, &q);
			size_t k = (size_t)(q - a);

			if (k > 0 && pass == 0) {
				total += k + (total > 0);
			} else if (k > 0) {
				if (o > 0)
					out[o++] = ' ';
				memcpy(out + o, a, k);
				o += k;
			}
			if (c == NULL)
				break;
			p = c + 1;
		}
	}
	report_add_str(r, "dtcs", out, o);
}

static int
decode_obd(const char *s, size_t n, struct report *r, char *err,
    size_t errlen)
{
	struct fld f[14];
	int nf = split(s, n, f, 14);
	const char *t;
	uint64_t u;
	int64_t i;
	double v;
	int dec;

	if (nf < 13)
		return fail(err, errlen, "gps103: OBD record cut short "
		    "(%d fields)", nf);
	t = f[2].p;
	if (f[2].n != 12 || !all_digits(t, 12) || d2(t + 2) < 1 ||
	    d2(t + 2) > 12 || d2(t + 4) < 1 || d2(t + 4) > 31 ||
	    d2(t + 6) > 23 || d2(t + 8) > 59 || d2(t + 10) > 60)
		return bad(err, errlen, "OBD time", &f[2]);
	/* Speed, load, throttle, rpm and battery are required (as Traccar). */
	if (!read_uint(f[7].p, f[7].n, &u))
		return obd_bad(err, errlen, "speed", &f[7]);
	if (f[8].n < 2 || f[8].p[f[8].n - 1] != '%' ||
	    !read_num(f[8].p, f[8].n - 1, 0, &v, NULL))
		return obd_bad(err, errlen, "engine load", &f[8]);
	if (f[10].n < 2 || f[10].p[f[10].n - 1] != '%' ||
	    !read_num(f[10].p, f[10].n - 1, 0, &v, NULL))
		return obd_bad(err, errlen, "throttle", &f[10]);
	if (!read_uint(f[11].p, f[11].n, &u))
		return obd_bad(err, errlen, "rpm", &f[11]);
	if (!read_num(f[12].p, f[12].n, NUM_NEEDFRAC, &v, NULL))
		return obd_bad(err, errlen, "battery", &f[12]);

	r->has_time = true;
	r->time_ms = clock_timegm(2000 + d2(t), d2(t + 2), d2(t + 4),
	    d2(t + 6), d2(t + 8), d2(t + 10));
	if (read_uint(f[3].p, f[3].n, &u))
		report_add_int(r, "odometer", (int64_t)u);
	if (read_num(f[5].p, f[5].n, 0, &v, &dec))
		report_add_num(r, "fuel_consumption", v, dec);
	if (read_uint(f[6].p, f[6].n, &u))
		report_add_int(r, "hours", (int64_t)u * MS_PER_HOUR);
	read_uint(f[7].p, f[7].n, &u);
	report_add_int(r, "obd_speed", (int64_t)u);
	read_num(f[8].p, f[8].n - 1, 0, &v, &dec);
	report_add_num(r, "engine_load", v, dec);
	/* Coolant: "+88", "064", "0"; a bare sign or nothing is absent. */
	if (read_int(f[9].p, f[9].n, &i))
		report_add_int(r, "coolant_temp", i);
	else if (f[9].n > 1 || (f[9].n == 1 && f[9].p[0] != '+' &&
	    f[9].p[0] != '-'))
		return bad(err, errlen, "OBD coolant temperature", &f[9]);
	read_num(f[10].p, f[10].n - 1, 0, &v, &dec);
	report_add_num(r, "throttle", v, dec);
	read_uint(f[11].p, f[11].n, &u);
	report_add_int(r, "rpm", (int64_t)u);
	read_num(f[12].p, f[12].n, 0, &v, &dec);
	report_add_num(r, "battery", v, dec);
	if (nf > 13)
		obd_dtcs(&f[13], r);
	return REPORT_OK;
}

/* ================================================================
 * Alternative format, terminated by `*` (section 3.7)
 * ================================================================ */

static bool
hms_ok(const struct fld *f)
{
	return f->n == 6 && all_digits(f->p, 6);
}

static int
decode_alt(const char *s, size_t n, struct report *r, char *err,
    size_t errlen)
{
	struct fld f[MAXF];
	int nf = split(s, n, f, MAXF);
	uint64_t rssi, gps, speed, course, sat;
	int64_t alt;
	double hdop, sv = 0;
	int hdec, svdec = 0;
	const char *t, *d;

	if (nf < 19)
		return fail(err, errlen, "gps103: `*` report cut short "
		    "(%d fields)", nf);
	if (!fld_dashes(&f[4]) && f[4].n > 0 &&
	    !read_num(f[4].p, f[4].n, NUM_SIGN, &sv, &svdec))
		return bad(err, errlen, "sensor voltage", &f[4]);
	t = f[5].p;
	if (!hms_ok(&f[5]) || d2(t) > 23 || d2(t + 2) > 59 || d2(t + 4) > 60)
		return bad(err, errlen, "time", &f[5]);
	d = f[6].p;
	if (!hms_ok(&f[6]) || d2(d) < 1 || d2(d) > 31 || d2(d + 2) < 1 ||
	    d2(d + 2) > 12)
		return bad(err, errlen, "date", &f[6]);
	if (!read_uint(f[7].p, f[7].n, &rssi))
		return bad(err, errlen, "rssi", &f[7]);
	if (f[8].n != 1 || !read_uint(f[8].p, 1, &gps))
		return bad(err, errlen, "gps state", &f[8]);
	if (!read_num(f[9].p, f[9].n, NUM_SIGN | NUM_NEEDFRAC, &r->lat, NULL) ||
	    r->lat < -90 || r->lat > 90)
		return bad(err, errlen, "latitude", &f[9]);
	if (!read_num(f[10].p, f[10].n, NUM_SIGN | NUM_NEEDFRAC, &r->lon,
	    NULL) || r->lon < -180 || r->lon > 180)
		return bad(err, errlen, "longitude", &f[10]);
	if (!read_uint(f[11].p, f[11].n, &speed))
		return bad(err, errlen, "speed", &f[11]);
	if (!read_uint(f[12].p, f[12].n, &course) || course > 360)
		return bad(err, errlen, "course", &f[12]);
	if (!read_int(f[13].p, f[13].n, &alt))
		return bad(err, errlen, "altitude", &f[13]);
	if (!read_num(f[14].p, f[14].n, NUM_NEEDFRAC, &hdop, &hdec))
		return bad(err, errlen, "hdop", &f[14]);
	if (!read_uint(f[15].p, f[15].n, &sat))
		return bad(err, errlen, "satellites", &f[15]);
	if (f[16].n != 1 || (f[16].p[0] != '0' && f[16].p[0] != '1'))
		return bad(err, errlen, "ignition", &f[16]);
	if (f[17].n != 1 || (f[17].p[0] != '0' && f[17].p[0] != '1'))
		return bad(err, errlen, "charge", &f[17]);

	r->has_time = true;
	r->time_ms = clock_timegm(2000 + d2(d + 4), d2(d + 2), d2(d), d2(t),
	    d2(t + 2), d2(t + 4));
	r->has_fix = true;
	r->valid = gps > 0;
	r->has_speed = true;
	r->speed = (double)speed;
	r->has_course = true;
	r->course = (double)course;

	if (f[1].n > 0)
		report_add_str(r, "name", f[1].p, f[1].n);
	if (f[2].n > 0 && !fld_dashes(&f[2]))
		report_add_str(r, "event", f[2].p, f[2].n);
	if (f[3].n > 0 && !fld_dashes(&f[3]))
		report_add_str(r, "sensor_id", f[3].p, f[3].n);
	if (f[4].n > 0 && !fld_dashes(&f[4]))
		report_add_num(r, "sensor_voltage", sv, svdec);
	report_add_int(r, "rssi", (int64_t)rssi);
	report_add_num(r, "hdop", hdop, hdec);
	report_add_int(r, "sat", (int64_t)sat);
	report_add_bool(r, "ignition", f[16].p[0] == '1');
	report_add_bool(r, "charge", f[17].p[0] == '1');
	if (f[18].n > 0 && !fld_dashes(&f[18]))
		report_add_str(r, "error", f[18].p, f[18].n);
	report_add_num(r, "altitude", (double)alt, 0);
	return REPORT_OK;
}

/* ================================================================
 * Photo data packet (section 3.8)
 * ================================================================ */

static int
decode_photo(const char *hex, size_t n, struct gps103_photo_part *part,
    char *err, size_t errlen)
{
	struct fld f = { hex, n };
	uint8_t idx[2];
	uint64_t any;

	/* 2 bytes index, 2 ignored, the JPEG bytes, 2 ignored: 12 hex digits
	 * at least, and whole bytes. */
	if (n < 12 || n % 2 != 0 || parse_hex(hex, hex + n, &any) != n)
		return bad(err, errlen, "photo packet", &f);
	parse_hexbytes(hex, hex + 4, idx, sizeof idx);
	part->data = true;
	part->index = (unsigned)idx[0] | (unsigned)idx[1] << 8;
	part->hex = hex + 8;
	part->hexlen = n - 12;
	return REPORT_NONE;
}

/* ================================================================
 * Entry point
 * ================================================================ */

/*
 * Decodes one frame (contract in gps103.h).  Dispatch follows section 3.2:
 * blank, login, heartbeat (possibly glued to a report), then by the second
 * field: photo packet "vr", "OBD", else `*` alternative or regular report.
 * A heartbeat glued to an SOS report answers both in one reply, "ON" then
 * the "**,imei:<IMEI>,E;" acknowledgement; on REPORT_ERROR *reply still
 * holds the heartbeat's "ON" when the frame began with one.
 */
int
gps103_decode(const uint8_t *frame, size_t len, int64_t recv_ms,
    struct report *r, struct reply *reply, struct gps103_photo_part *part,
    char *err, size_t errlen)
{
	const char *s = (const char *)frame, *end = s + len, *t, *im, *c;
	size_t n;
	struct fld kw;

	report_init(r, REPORT_PROTO_GPS103, recv_ms);
	reply->len = 0;
	memset(part, 0, sizeof *part);
	if (errlen > 0)
		err[0] = '\0';

	while (s < end && is_space(*s))
		s++;
	t = end;
	while (t > s && is_space(t[-1]))
		t--;
	/* A lone CR LF after `;` and other scraps: nothing to say. */
	if (t - s < 5)
		return REPORT_NONE;

	im = memmem(s, (size_t)(end - s), "imei:", 5);

	/* Login: any short frame that mentions an IMEI ("##,imei:<IMEI>,A;",
	 * "imei:<IMEI>,L,*"), terminator included in the length. */
	if (im != NULL && end - s <= 30) {
		const char *p = im + 5;

		while (p < end && is_digit(*p))
			p++;
		if (p > im + 5)
			report_set_device(r, im + 5, (size_t)(p - im - 5));
		reply_set(reply, "LOAD", 4);
		return REPORT_NONE;
	}

	/* Heartbeat: a bare IMEI, or an IMEI glued in front of a report. */
	if (is_digit(*s)) {
		reply_set(reply, "ON", 2);
		if (im == NULL) {
			const char *p = s;

			while (p < t && is_digit(*p))
				p++;
			report_set_device(r, s, (size_t)(p - s));
			return REPORT_NONE;
		}
		s = im;
	}

	if (t - s < 5 || memcmp(s, "imei:", 5) != 0) {
		struct fld f = { s, (size_t)(t - s) > 16 ? 16 : (size_t)(t - s) };

		return bad(err, errlen, "message start", &f);
	}

	/* The terminator: `*` marks the alternative format. */
	if (t[-1] == '*' || t[-1] == ';')
		t--;
	s += 5;
	n = (size_t)(t - s);

	c = memchr(s, ',', n);
	if (c == NULL || c == s || (size_t)(c - s) >= REPORT_ID_MAX ||
	    !all_digits(s, (size_t)(c - s))) {
		struct fld f = { s, c != NULL ? (size_t)(c - s) : n };

		if (f.n > 24)
			f.n = 24;
		return bad(err, errlen, "imei", &f);
	}
	report_set_device(r, s, (size_t)(c - s));

	/* Dispatch on the keyword, not on fixed offsets: the IMEI length
	 * varies. */
	kw.p = c + 1;
	kw.n = (size_t)(t - kw.p);
	{
		const char *c2 = memchr(kw.p, ',', kw.n);

		if (c2 != NULL)
			kw.n = (size_t)(c2 - kw.p);
	}
	if (FLD_IS(&kw, "vr")) {
		if (kw.p + 2 >= t)
			return fail(err, errlen, "gps103: photo packet "
			    "without data");
		return decode_photo(kw.p + 3, (size_t)(t - kw.p - 3), part,
		    err, errlen);
	}
	if (FLD_IS(&kw, "OBD"))
		return decode_obd(s, n, r, err, errlen);
	if (t < end && *t == '*')
		return decode_alt(s, n, r, err, errlen);
	return decode_regular(s, n, r, reply, part, err, errlen);
}
