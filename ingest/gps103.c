/*
 * gps103.c: decoder for the Xexun/Coban "imei:" protocol (GPS103,
 * protocols/TK103.md section 3): login, heartbeat, the regular F/L report
 * and photo packets, and the dispatch to the OBD record and the
 * `*`-terminated alternative format, which are gps103_alt.c's.
 *
 * It turns one frame into a report, a reply and a photo-part description.
 * Framing, protocol detection and photo assembly (which needs state per
 * connection) are the session's.  Fields are split and read by
 * gps103_field.h under the protocol's limits: the decoder is on the hot
 * path (millions of messages a second), so no sscanf, strtod or regex, and
 * it never reads outside frame[0..len).
 */
#include "ingest/gps103.h"

#include <string.h>

#include "ingest/gps103_alt.h"
#include "ingest/gps103_field.h"
#include "ingest/parse.h"
#include "lib/clock.h"

#define KNOTS_TO_KMH 1.852

/* ================================================================
 * Replies
 * ================================================================ */

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
read_local(const struct gps103_field *f, struct local_dt *dt)
{
	const char *p = f->p, *e = f->p + f->n;
	int v[5];

	if (f->n == 0 || gps103_field_digits(f->p, f->n)) {
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
		if (e - p < 2 || !gps103_field_digits(p, 2))
			return -1;
		v[k] = gps103_field_d2(p);
		p += 2;
	}
	if (p < e && *p == ':')
		p++;
	if (e - p == 2 && gps103_field_digits(p, 2))
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
read_utc(const struct gps103_field *f, int *h, int *mi, int *s)
{
	double unused;

	if (f->n == 0)
		return 0;
	if (f->n >= 6 && gps103_field_digits(f->p, 6) &&
	    (f->n == 6 || (f->p[6] == '.' && f->n > 7 &&
	    gps103_field_digits(f->p + 7, f->n - 7)))) {
		*h = gps103_field_d2(f->p);
		*mi = gps103_field_d2(f->p + 2);
		*s = gps103_field_d2(f->p + 4);
		if (*h <= 23 && *mi <= 59 && *s <= 60)
			return 1;
		return 0;
	}
	return gps103_field_num(f->p, f->n, 0, &unused, NULL) ? 0 : -1;
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
apply_keyword(const struct gps103_field *kw, const struct gps103_field *imei,
    const struct gps103_field *f3, struct report *r, struct reply *reply,
    struct gps103_photo_part *part, struct pending *pd)
{
	uint64_t n;
	double v;
	int dec;

	for (size_t i = 0; i < sizeof kw_alarms / sizeof kw_alarms[0]; i++) {
		if (gps103_field_is(kw, kw_alarms[i].name, kw_alarms[i].len)) {
			r->alarms |= kw_alarms[i].alarm;
			if (kw_alarms[i].alarm == REPORT_ALARM_SOS) {
				reply_append(reply, "**,imei:", 8);
				reply_append(reply, imei->p, imei->n);
				reply_append(reply, ",E;", 3);
			}
			return;
		}
	}
	if (kw->n == 0 || GPS103_FIELD_IS(kw, "tracker"))
		return;
	if (kw->n >= 2 && memcmp(kw->p, "T:", 2) == 0) {
		r->alarms |= REPORT_ALARM_TEMPERATURE;
		if (gps103_field_num(kw->p + 2, kw->n - 2, GPS103_FIELD_SIGN,
		    &v, &dec)) {
			pd->has_temp = true;
			pd->temp = v;
			pd->temp_dec = dec;
		}
		return;
	}
	if (kw->n >= 3 && memcmp(kw->p, "oil", 3) == 0) {
		r->alarms |= REPORT_ALARM_FUEL_LEAK;
		if (kw->n > 4 && kw->p[3] == ' ' &&
		    gps103_field_num(kw->p + 4, kw->n - 4, 0, &v, &dec))
			report_add_num(r, "fuel", v, dec);
		return;
	}
	if (GPS103_FIELD_IS(kw, "acc on") || GPS103_FIELD_IS(kw, "acc off")) {
		pd->ignition = kw->n == 6;
		return;
	}
	if (kw->n > 2 && memcmp(kw->p, "vt", 2) == 0 &&
	    gps103_field_uint(kw->p + 2, kw->n - 2, &n)) {
		/* The packet index is a u16: more packets cannot be sent. */
		if (n > 0 && n <= 65536)
			part->announce = (int)n;
		return;
	}
	report_add_str(r, "event", kw->p, kw->n);
	if (GPS103_FIELD_IS(kw, "rfid") && f3->n > 0)
		report_add_str(r, "driver_unique_id", f3->p, f3->n);
}

/* ================================================================
 * Regular report (section 3.3)
 * ================================================================ */

/* Field 3 holds the admin phone number when it is "+?digits". */
static void
add_phone(struct report *r, const struct gps103_field *f)
{
	size_t plus = f->n > 0 && f->p[0] == '+';

	if (f->n - plus >= 3 && gps103_field_digits(f->p + plus, f->n - plus))
		report_add_str(r, "phone", f->p, f->n);
}

/* "nn.nn%" (fuel levels): the number, or false without the '%'. */
static bool
read_pct(const struct gps103_field *f, double *v, int *dec)
{
	return f->n > 1 && f->p[f->n - 1] == '%' &&
	    gps103_field_num(f->p, f->n - 1, 0, v, dec);
}

static int
decode_l(const struct gps103_field *f, int nf, struct report *r)
{
	uint64_t lac, cid;

	/* "L,,,LAC,,CID,,,": LAC and CID in hex, the block may be absent. */
	if (nf > 9 && gps103_field_hex(f[7].p, f[7].n, &lac) &&
	    gps103_field_hex(f[9].p, f[9].n, &cid)) {
		report_add_int(r, "lac", (int64_t)lac);
		report_add_int(r, "cid", (int64_t)cid);
	}
	return REPORT_OK;
}

/* Fields 13-18: each is read on its own; a value that does not fit is
 * left out without affecting the others. */
static void
decode_tail(const struct gps103_field *f, int nf, bool dtc, struct report *r,
    struct pending *pd)
{
	double v;
	int dec;

	if (nf > 13 && gps103_field_num(f[13].p, f[13].n, GPS103_FIELD_SIGN,
	    &v, &dec))
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
	if (nf > 18 && gps103_field_num(f[18].p, f[18].n, GPS103_FIELD_SIGN,
	    &v, &dec)) {
		pd->has_temp = true;
		pd->temp = v;
		pd->temp_dec = dec;
	}
	if (pd->has_temp)
		report_add_num(r, "temp1", pd->temp, pd->temp_dec);
}

static int
decode_f(const struct gps103_field *f, int nf, struct report *r,
    struct pending *pd, bool dtc, char *err, size_t errlen)
{
	const struct gps103_field *lat, *ns, *lon, *ew;
	struct local_dt dt = { 0, 0, 0, 0, 0 };
	int loc, utc, uh = 0, um = 0, us = 0;
	double v;

	if (nf < 10)
		return gps103_field_fail(err, errlen, "gps103: F report cut "
		    "short (%d fields)", nf);
	if ((loc = read_local(&f[2], &dt)) < 0)
		return gps103_field_bad(err, errlen, "date", &f[2]);
	if ((utc = read_utc(&f[5], &uh, &um, &us)) < 0)
		return gps103_field_bad(err, errlen, "utc time", &f[5]);
	if (f[6].n != 1 || (f[6].p[0] != 'A' && f[6].p[0] != 'V'))
		return gps103_field_bad(err, errlen, "validity", &f[6]);

	/* Hemisphere first ("N,4807.0380,E,01131.0000") or after. */
	if (f[7].n == 1 && (f[7].p[0] == 'N' || f[7].p[0] == 'S')) {
		if (nf < 11)
			return gps103_field_fail(err, errlen, "gps103: F "
			    "report cut short (%d fields)", nf);
		ns = &f[7], lat = &f[8], ew = &f[9], lon = &f[10];
	} else {
		lat = &f[7], ns = &f[8], lon = &f[9];
		ew = nf > 10 ? &f[10] : NULL;
	}
	if (!gps103_field_dm(lat->p, lat->n, &r->lat) || r->lat > 90)
		return gps103_field_bad(err, errlen, "latitude", lat);
	if (!gps103_field_dm(lon->p, lon->n, &r->lon) || r->lon > 180)
		return gps103_field_bad(err, errlen, "longitude", lon);
	if (ns->n > 1 || (ns->n == 1 && ns->p[0] != 'N' && ns->p[0] != 'S'))
		return gps103_field_bad(err, errlen, "latitude hemisphere", ns);
	if (ew != NULL && (ew->n > 1 ||
	    (ew->n == 1 && ew->p[0] != 'E' && ew->p[0] != 'W')))
		return gps103_field_bad(err, errlen, "longitude hemisphere",
		    ew);
	if (ns->n == 1 && ns->p[0] == 'S')
		r->lat = -r->lat;
	if (ew != NULL && ew->n == 1 && ew->p[0] == 'W')
		r->lon = -r->lon;
	r->has_fix = true;
	r->valid = f[6].p[0] == 'A';

	if (nf > 11 && f[11].n > 0) {
		if (!gps103_field_num(f[11].p, f[11].n, 0, &v, NULL))
			return gps103_field_bad(err, errlen, "speed", &f[11]);
		r->has_speed = true;
		r->speed = v * KNOTS_TO_KMH;
	}
	if (nf > 12 && f[12].n > 0) {
		if (!gps103_field_num(f[12].p, f[12].n, 0, &v, NULL) || v > 360)
			return gps103_field_bad(err, errlen, "course", &f[12]);
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
	struct gps103_field f[GPS103_FIELD_MAX];
	struct pending pd = { -1, false, 0, 0 };
	int nf = gps103_field_split(s, n, f, GPS103_FIELD_MAX);
	bool dtc;

	if (nf < 5)
		return gps103_field_fail(err, errlen, "gps103: report cut "
		    "short (%d fields)", nf);
	if (f[4].n != 1 || (f[4].p[0] != 'F' && f[4].p[0] != 'L'))
		return gps103_field_bad(err, errlen, "report type", &f[4]);
	dtc = GPS103_FIELD_IS(&f[1], "DTC");
	apply_keyword(&f[1], &f[0], &f[3], r, reply, part, &pd);
	if (!GPS103_FIELD_IS(&f[1], "rfid"))
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
 * Photo data packet (section 3.8)
 * ================================================================ */

static int
decode_photo(const char *hex, size_t n, struct gps103_photo_part *part,
    char *err, size_t errlen)
{
	struct gps103_field f = { hex, n };
	uint8_t idx[2];
	uint64_t any;

	/* 2 bytes index, 2 ignored, the JPEG bytes, 2 ignored: 12 hex digits
	 * at least, and whole bytes. */
	if (n < 12 || n % 2 != 0 || parse_hex(hex, hex + n, &any) != n)
		return gps103_field_bad(err, errlen, "photo packet", &f);
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
	struct gps103_field kw;

	report_init(r, REPORT_PROTO_GPS103, recv_ms);
	reply->len = 0;
	memset(part, 0, sizeof *part);
	if (errlen > 0)
		err[0] = '\0';

	while (s < end && gps103_field_is_space(*s))
		s++;
	t = end;
	while (t > s && gps103_field_is_space(t[-1]))
		t--;
	/* A lone CR LF after `;` and other scraps: nothing to say. */
	if (t - s < 5)
		return REPORT_NONE;

	im = memmem(s, (size_t)(end - s), "imei:", 5);

	/* Login: any short frame that mentions an IMEI ("##,imei:<IMEI>,A;",
	 * "imei:<IMEI>,L,*"), terminator included in the length. */
	if (im != NULL && end - s <= 30) {
		const char *p = im + 5;

		while (p < end && gps103_field_is_digit(*p))
			p++;
		if (p > im + 5)
			report_set_device(r, im + 5, (size_t)(p - im - 5));
		reply_set(reply, "LOAD", 4);
		return REPORT_NONE;
	}

	/* Heartbeat: a bare IMEI, or an IMEI glued in front of a report. */
	if (gps103_field_is_digit(*s)) {
		reply_set(reply, "ON", 2);
		if (im == NULL) {
			const char *p = s;

			while (p < t && gps103_field_is_digit(*p))
				p++;
			report_set_device(r, s, (size_t)(p - s));
			return REPORT_NONE;
		}
		s = im;
	}

	if (t - s < 5 || memcmp(s, "imei:", 5) != 0) {
		struct gps103_field f = { s, (size_t)(t - s) > 16 ? 16 :
		    (size_t)(t - s) };

		return gps103_field_bad(err, errlen, "message start", &f);
	}

	/* The terminator: `*` marks the alternative format. */
	if (t[-1] == '*' || t[-1] == ';')
		t--;
	s += 5;
	n = (size_t)(t - s);

	c = memchr(s, ',', n);
	if (c == NULL || c == s || (size_t)(c - s) >= REPORT_ID_MAX ||
	    !gps103_field_digits(s, (size_t)(c - s))) {
		struct gps103_field f = { s, c != NULL ? (size_t)(c - s) : n };

		if (f.n > 24)
			f.n = 24;
		return gps103_field_bad(err, errlen, "imei", &f);
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
	if (GPS103_FIELD_IS(&kw, "vr")) {
		if (kw.p + 2 >= t)
			return gps103_field_fail(err, errlen, "gps103: photo "
			    "packet without data");
		return decode_photo(kw.p + 3, (size_t)(t - kw.p - 3), part,
		    err, errlen);
	}
	if (GPS103_FIELD_IS(&kw, "OBD"))
		return gps103_alt_obd(s, n, r, err, errlen);
	if (t < end && *t == '*')
		return gps103_alt_star(s, n, r, err, errlen);
	return decode_regular(s, n, r, reply, part, err, errlen);
}
