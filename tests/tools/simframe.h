/*
 * simframe.h: the bytes a simulated tracker sends, in both dialects, and
 * what the server will read from them.
 *
 * Header-only for the same reason as simgeo.h (one .c per tool).  Numbers
 * are formatted with integer arithmetic: the simulator must outrun the
 * server it loads, and printf's floating point would dominate its profile.
 */
#ifndef GA_TOOLS_SIMFRAME_H
#define GA_TOOLS_SIMFRAME_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SIMFRAME_MAX 256	/* longest frame written here, with room */


static char *
put_u(char *p, unsigned long long v, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n < width)
		tmp[n++] = '0';
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static char *
put_s(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* v >= 0 with `dec` decimals, integer part zero-padded to `iw` digits. */
static char *
put_fix(char *p, double v, int iw, int dec)
{
	static const double pw[] = {1, 10, 100, 1000, 10000};
	unsigned long long s = (unsigned long long)llround(v * pw[dec]);

	p = put_u(p, s / (unsigned long long)pw[dec], iw);
	*p++ = '.';
	return put_u(p, s % (unsigned long long)pw[dec], dec);
}

/* ddmm.mmmm (dw degree digits) and the value the server will see. */
static char *
put_coord(char *p, double v, int dw, double *seen)
{
	long long m4 = llround(fabs(v) * 600000.0);	/* 1e-4 minutes */

	p = put_u(p, (unsigned long long)(m4 / 600000), dw);
	p = put_u(p, (unsigned long long)(m4 % 600000 / 10000), 2);
	*p++ = '.';
	p = put_u(p, (unsigned long long)(m4 % 10000), 4);
	*seen = round(((double)(m4 / 600000) + (double)(m4 % 600000) / 600000.0) * 1e6) / 1e6;
	if (v < 0)
		*seen = -*seen;
	return p;
}

/* Fields of the UTC time ms: y m d (yy mm dd), H M S (hh mm ss). */
static char *
put_tm(char *p, int64_t ms, const char *fields)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	for (; *fields != '\0'; fields++) {
		int v = 0;
		switch (*fields) {
		case 'y': v = tm.tm_year % 100; break;
		case 'm': v = tm.tm_mon + 1; break;
		case 'd': v = tm.tm_mday; break;
		case 'H': v = tm.tm_hour; break;
		case 'M': v = tm.tm_min; break;
		case 'S': v = tm.tm_sec; break;
		}
		p = put_u(p, (unsigned)v, 2);
	}
	return p;
}

/* The report as the server will see it: decoded, rounded as it is stored. */
struct simframe_seen {
	double lat, lon, speed;
	int64_t time_ms;
	bool sos;
};

/* What one report of a simulated device says. */
struct simframe_in {
	const char *id;		/* TK103: the 12-character id */
	const char *imei;	/* TK103 BP05 and every GPS103 frame */
	bool gps103;
	bool login;		/* TK103: the BP05 login (it carries a fix too) */
	bool sos;		/* BO01 code 2, or GPS103 "help me" */
	int tz_min;		/* GPS103: the device clock's offset from UTC */
	int64_t time_ms;	/* fix time, UTC, whole seconds */
	double lat, lon, speed, course, odo;	/* km/h, degrees, metres */
};

/*
 * Writes the frame for `in` into buf (FRAME_MAX bytes): TK103 fixed layout
 * (protocols/TK103.md 2.3, 2.8) or a GPS103 F report (3.3, 3.10), and what
 * the server will read from it into *sn.  Returns the length.
 */
static size_t
simframe_report(const struct simframe_in *in, char *buf, struct simframe_seen *sn)
{
	char *p = buf;
	double kn, lat = in->lat, lon = in->lon;
	int64_t t = in->time_ms;
	bool sos = in->sos;

	if (!in->gps103) {
		*p++ = '(';
		p = put_s(p, in->id);
		if (in->login) {
			p = put_s(p, "BP05");
			p = put_s(p, in->imei);
		} else if (sos)
			p = put_s(p, "BO012");
		else
			p = put_s(p, "BR00");
		p = put_tm(p, t, "ymd");
		*p++ = 'A';
		p = put_coord(p, lat, 2, &sn->lat);
		*p++ = lat < 0 ? 'S' : 'N';
		p = put_coord(p, lon, 3, &sn->lon);
		*p++ = lon < 0 ? 'W' : 'E';
		p = put_fix(p, in->speed, 3, 1);
		sn->speed = round(in->speed * 10) / 10;
		p = put_tm(p, t, "HMS");
		p = put_fix(p, in->course, 3, 2);
		p = put_s(p, in->speed > 0 ? "01000000L" : "00000000L");
		for (int sh = 28; sh >= 0; sh -= 4)
			*p++ = "0123456789ABCDEF"[((unsigned long)in->odo >> sh) & 15];
		*p++ = ')';
	} else {
		p = put_s(p, "imei:");
		p = put_s(p, in->imei);
		p = put_s(p, sos ? ",help me," : ",tracker,");
		/* The device clock's local date and time, then UTC time. */
		p = put_tm(p, t + (int64_t)in->tz_min * 60000, "ymdHMS");
		p = put_s(p, ",,F,");
		p = put_tm(p, t, "HMS");
		p = put_s(p, ".000,A,");
		p = put_coord(p, lat, 2, &sn->lat);
		p = put_s(p, lat < 0 ? ",S," : ",N,");
		p = put_coord(p, lon, 3, &sn->lon);
		p = put_s(p, lon < 0 ? ",W," : ",E,");
		kn = round(in->speed / 1.852 * 100) / 100;
		p = put_fix(p, kn, 1, 2);
		sn->speed = round(kn * 1.852 * 10) / 10;
		*p++ = ',';
		p = put_fix(p, in->course, 1, 2);
		*p++ = ';';
	}
	sn->time_ms = t;
	sn->sos = sos;
	return (size_t)(p - buf);
}

/* The GPS103 login, answered with LOAD. */
static size_t
simframe_login(const char *imei, char *buf)
{
	return (size_t)snprintf(buf, SIMFRAME_MAX, "##,imei:%s,A;", imei);
}

/* A heartbeat: the bare IMEI (GPS103, answered ON) or BP00 (AP01HSO). */
static size_t
simframe_heartbeat(bool gps103, const char *id, const char *imei, char *buf)
{
	if (gps103)
		return (size_t)snprintf(buf, SIMFRAME_MAX, "%s;", imei);
	return (size_t)snprintf(buf, SIMFRAME_MAX, "(%sBP00%sHSO)", id, imei);
}

#endif
