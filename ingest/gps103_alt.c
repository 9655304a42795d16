/*
 * gps103_alt.c: the OBD record (protocols/TK103.md section 3.6) and the
 * `*`-terminated alternative format (section 3.7) of GPS103.
 *
 * Each turns the fields after "imei:" into a report, read by the limits
 * of gps103_field.h; dispatching a frame here, the IMEI and the replies
 * are gps103.c's.  Nothing here allocates or reads outside s[0..n).
 */
#include "ingest/gps103_alt.h"

#include <stdio.h>
#include <string.h>

#include "ingest/gps103_field.h"
#include "lib/clock.h"

#define MS_PER_HOUR  3600000LL
/* Signed decimal degrees with a fraction, as the `*` format sends them. */
#define DEGREES (GPS103_FIELD_SIGN | GPS103_FIELD_NEEDFRAC)

/* ================================================================
 * OBD record (section 3.6)
 * ================================================================ */

/* A required OBD field: absent and malformed get distinct reasons. */
static int
obd_bad(char *err, size_t errlen, const char *what,
    const struct gps103_field *f)
{
	char w[48];

	if (f->n == 0)
		return gps103_field_fail(err, errlen, "gps103: OBD record "
		    "without %s", what);
	snprintf(w, sizeof w, "OBD %s", what);
	return gps103_field_bad(err, errlen, w, f);
}

/* Trims blanks around a[0..*q). */
static const char *
trim(const char *a, const char **q)
{
	while (a < *q && gps103_field_is_space(*a))
		a++;
	while (*q > a && gps103_field_is_space((*q)[-1]))
		(*q)--;
	return a;
}

/*
 * Adds "dtcs": the non-empty comma-separated codes of rest joined by one
 * space, composed in the report's arena (two passes: measure, then copy).
 */
static void
obd_dtcs(const struct gps103_field *rest, struct report *r)
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

/* The OBD record of section 3.6 (contract in gps103_alt.h). */
int
gps103_alt_obd(const char *s, size_t n, struct report *r, char *err,
    size_t errlen)
{
	struct gps103_field f[14];
	int nf = gps103_field_split(s, n, f, 14);
	const char *t;
	uint64_t u;
	int64_t i;
	double v;
	int dec;

	if (nf < 13)
		return gps103_field_fail(err, errlen, "gps103: OBD record cut "
		    "short (%d fields)", nf);
	t = f[2].p;
	if (f[2].n != 12 || !gps103_field_digits(t, 12) ||
	    gps103_field_d2(t + 2) < 1 || gps103_field_d2(t + 2) > 12 ||
	    gps103_field_d2(t + 4) < 1 || gps103_field_d2(t + 4) > 31 ||
	    gps103_field_d2(t + 6) > 23 || gps103_field_d2(t + 8) > 59 ||
	    gps103_field_d2(t + 10) > 60)
		return gps103_field_bad(err, errlen, "OBD time", &f[2]);
	/* Speed, load, throttle, rpm and battery are required (as Traccar). */
	if (!gps103_field_uint(f[7].p, f[7].n, &u))
		return obd_bad(err, errlen, "speed", &f[7]);
	if (f[8].n < 2 || f[8].p[f[8].n - 1] != '%' ||
	    !gps103_field_num(f[8].p, f[8].n - 1, 0, &v, NULL))
		return obd_bad(err, errlen, "engine load", &f[8]);
	if (f[10].n < 2 || f[10].p[f[10].n - 1] != '%' ||
	    !gps103_field_num(f[10].p, f[10].n - 1, 0, &v, NULL))
		return obd_bad(err, errlen, "throttle", &f[10]);
	if (!gps103_field_uint(f[11].p, f[11].n, &u))
		return obd_bad(err, errlen, "rpm", &f[11]);
	if (!gps103_field_num(f[12].p, f[12].n, GPS103_FIELD_NEEDFRAC, &v,
	    NULL))
		return obd_bad(err, errlen, "battery", &f[12]);

	r->has_time = true;
	r->time_ms = clock_timegm(2000 + gps103_field_d2(t),
	    gps103_field_d2(t + 2), gps103_field_d2(t + 4),
	    gps103_field_d2(t + 6), gps103_field_d2(t + 8),
	    gps103_field_d2(t + 10));
	if (gps103_field_uint(f[3].p, f[3].n, &u))
		report_add_int(r, "odometer", (int64_t)u);
	if (gps103_field_num(f[5].p, f[5].n, 0, &v, &dec))
		report_add_num(r, "fuel_consumption", v, dec);
	if (gps103_field_uint(f[6].p, f[6].n, &u))
		report_add_int(r, "hours", (int64_t)u * MS_PER_HOUR);
	gps103_field_uint(f[7].p, f[7].n, &u);
	report_add_int(r, "obd_speed", (int64_t)u);
	gps103_field_num(f[8].p, f[8].n - 1, 0, &v, &dec);
	report_add_num(r, "engine_load", v, dec);
	/* Coolant: "+88", "064", "0"; a bare sign or nothing is absent. */
	if (gps103_field_int(f[9].p, f[9].n, &i))
		report_add_int(r, "coolant_temp", i);
	else if (f[9].n > 1 || (f[9].n == 1 && f[9].p[0] != '+' &&
	    f[9].p[0] != '-'))
		return gps103_field_bad(err, errlen, "OBD coolant temperature",
		    &f[9]);
	gps103_field_num(f[10].p, f[10].n - 1, 0, &v, &dec);
	report_add_num(r, "throttle", v, dec);
	gps103_field_uint(f[11].p, f[11].n, &u);
	report_add_int(r, "rpm", (int64_t)u);
	gps103_field_num(f[12].p, f[12].n, 0, &v, &dec);
	report_add_num(r, "battery", v, dec);
	if (nf > 13)
		obd_dtcs(&f[13], r);
	return REPORT_OK;
}

/* ================================================================
 * Alternative format, terminated by `*` (section 3.7)
 * ================================================================ */

/* Reads a field of three 2-digit numbers ("hhmmss", "ddmmyy") into v. */
static bool
read_3x2(const struct gps103_field *f, int v[3])
{
	if (f->n != 6 || !gps103_field_digits(f->p, 6))
		return false;
	for (int k = 0; k < 3; k++)
		v[k] = gps103_field_d2(f->p + 2 * k);
	return true;
}

/* The `*` format of section 3.7 (contract in gps103_alt.h). */
int
gps103_alt_star(const char *s, size_t n, struct report *r, char *err,
    size_t errlen)
{
	struct gps103_field f[GPS103_FIELD_MAX];
	int nf = gps103_field_split(s, n, f, GPS103_FIELD_MAX);
	uint64_t rssi, gps, speed, course, sat;
	int64_t alt;
	double hdop, sv = 0;
	int hdec, svdec = 0;
	int t[3], d[3];	/* hh mm ss, dd mm yy */

	if (nf < 19)
		return gps103_field_fail(err, errlen, "gps103: `*` report cut "
		    "short (%d fields)", nf);
	if (!gps103_field_dashes(&f[4]) && f[4].n > 0 &&
	    !gps103_field_num(f[4].p, f[4].n, GPS103_FIELD_SIGN, &sv, &svdec))
		return gps103_field_bad(err, errlen, "sensor voltage", &f[4]);
	if (!read_3x2(&f[5], t) || t[0] > 23 || t[1] > 59 || t[2] > 60)
		return gps103_field_bad(err, errlen, "time", &f[5]);
	if (!read_3x2(&f[6], d) || d[0] < 1 || d[0] > 31 || d[1] < 1 ||
	    d[1] > 12)
		return gps103_field_bad(err, errlen, "date", &f[6]);
	if (!gps103_field_uint(f[7].p, f[7].n, &rssi))
		return gps103_field_bad(err, errlen, "rssi", &f[7]);
	if (f[8].n != 1 || !gps103_field_uint(f[8].p, 1, &gps))
		return gps103_field_bad(err, errlen, "gps state", &f[8]);
	if (!gps103_field_num(f[9].p, f[9].n, DEGREES, &r->lat, NULL) ||
	    r->lat < -90 || r->lat > 90)
		return gps103_field_bad(err, errlen, "latitude", &f[9]);
	if (!gps103_field_num(f[10].p, f[10].n, DEGREES, &r->lon, NULL) ||
	    r->lon < -180 || r->lon > 180)
		return gps103_field_bad(err, errlen, "longitude", &f[10]);
	if (!gps103_field_uint(f[11].p, f[11].n, &speed))
		return gps103_field_bad(err, errlen, "speed", &f[11]);
	if (!gps103_field_uint(f[12].p, f[12].n, &course) || course > 360)
		return gps103_field_bad(err, errlen, "course", &f[12]);
	if (!gps103_field_int(f[13].p, f[13].n, &alt))
		return gps103_field_bad(err, errlen, "altitude", &f[13]);
	if (!gps103_field_num(f[14].p, f[14].n, GPS103_FIELD_NEEDFRAC, &hdop,
	    &hdec))
		return gps103_field_bad(err, errlen, "hdop", &f[14]);
	if (!gps103_field_uint(f[15].p, f[15].n, &sat))
		return gps103_field_bad(err, errlen, "satellites", &f[15]);
	if (f[16].n != 1 || (f[16].p[0] != '0' && f[16].p[0] != '1'))
		return gps103_field_bad(err, errlen, "ignition", &f[16]);
	if (f[17].n != 1 || (f[17].p[0] != '0' && f[17].p[0] != '1'))
		return gps103_field_bad(err, errlen, "charge", &f[17]);

	r->has_time = true;
	r->time_ms = clock_timegm(2000 + d[2], d[1], d[0], t[0], t[1], t[2]);
	r->has_fix = true;
	r->valid = gps > 0;
	r->has_speed = true;
	r->speed = (double)speed;
	r->has_course = true;
	r->course = (double)course;

	if (f[1].n > 0)
		report_add_str(r, "name", f[1].p, f[1].n);
	if (f[2].n > 0 && !gps103_field_dashes(&f[2]))
		report_add_str(r, "event", f[2].p, f[2].n);
	if (f[3].n > 0 && !gps103_field_dashes(&f[3]))
		report_add_str(r, "sensor_id", f[3].p, f[3].n);
	if (f[4].n > 0 && !gps103_field_dashes(&f[4]))
		report_add_num(r, "sensor_voltage", sv, svdec);
	report_add_int(r, "rssi", (int64_t)rssi);
	report_add_num(r, "hdop", hdop, hdec);
	report_add_int(r, "sat", (int64_t)sat);
	report_add_bool(r, "ignition", f[16].p[0] == '1');
	report_add_bool(r, "charge", f[17].p[0] == '1');
	if (f[18].n > 0 && !gps103_field_dashes(&f[18]))
		report_add_str(r, "error", f[18].p, f[18].n);
	report_add_num(r, "altitude", (double)alt, 0);
	return REPORT_OK;
}
