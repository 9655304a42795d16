/*
 * report.c: building a report (the decoders' side) and turning it into the
 * ordered SPEC fields (the writers' side).  No allocation anywhere: a
 * report and its formatted fields are fixed-size values.
 */
#include "ingest/report.h"

#include <math.h>
#include <string.h>

#include "lib/escape.h"

static const char *const alarm_names[] = {
	"sos", "power_cut", "low_power", "low_battery", "overspeed", "lowspeed",
	"vibration", "movement", "geofence", "geofence_exit", "accident",
	"door", "removing", "tampering", "idle", "hard_acceleration",
	"hard_braking", "temperature", "bonnet", "foot_brake", "fuel_leak",
	"fault",
};
#define NALARMS (sizeof alarm_names / sizeof alarm_names[0])

void
report_init(struct report *r, enum report_proto proto, int64_t recv_ms)
{
	r->device[0] = '\0';
	r->proto = proto;
	r->recv_ms = recv_ms;
	r->has_time = false;
	r->time_ms = recv_ms;
	r->valid = false;
	r->has_fix = false;
	r->lat = r->lon = 0;
	r->has_speed = false;
	r->speed = 0;
	r->has_course = false;
	r->course = 0;
	r->alarms = 0;
	r->nattrs = 0;
	r->arena_used = 0;
}

static struct report_attr *
attr_new(struct report *r, const char *key, enum report_attr_type type)
{
	struct report_attr *a;

	if (r->nattrs >= REPORT_MAX_ATTRS)
		return NULL;
	a = &r->attrs[r->nattrs++];
	a->key = key;
	a->type = type;
	a->decimals = 0;
	a->i = 0;
	a->d = 0;
	a->s = NULL;
	a->len = 0;
	return a;
}

int
report_add_int(struct report *r, const char *key, int64_t v)
{
	struct report_attr *a = attr_new(r, key, REPORT_ATTR_INT);

	if (a == NULL)
		return -1;
	a->i = v;
	return 0;
}

int
report_add_num(struct report *r, const char *key, double v, int decimals)
{
	struct report_attr *a = attr_new(r, key, REPORT_ATTR_NUM);

	if (a == NULL)
		return -1;
	a->d = v;
	a->decimals = decimals < 0 ? 0 : decimals > 9 ? 9 : decimals;
	return 0;
}

int
report_add_bool(struct report *r, const char *key, bool v)
{
	struct report_attr *a = attr_new(r, key, REPORT_ATTR_BOOL);

	if (a == NULL)
		return -1;
	a->i = v ? 1 : 0;
	return 0;
}

int
report_add_str(struct report *r, const char *key, const char *s, size_t len)
{
	struct report_attr *a = attr_new(r, key, REPORT_ATTR_STR);

	if (a == NULL)
		return -1;
	a->s = s;
	a->len = len;
	return 0;
}

char *
report_arena(struct report *r, size_t n)
{
	char *p;

	if (REPORT_ARENA - r->arena_used < n)
		return NULL;
	p = r->arena + r->arena_used;
	r->arena_used += n;
	return p;
}

int
report_add_strcpy(struct report *r, const char *key, const char *s, size_t len)
{
	char *p;

	if (r->nattrs >= REPORT_MAX_ATTRS || (p = report_arena(r, len)) == NULL)
		return -1;
	memcpy(p, s, len);
	return report_add_str(r, key, p, len);
}

const struct report_attr *
report_attr(const struct report *r, const char *key)
{
	for (int i = 0; i < r->nattrs; i++) {
		if (strcmp(r->attrs[i].key, key) == 0)
			return &r->attrs[i];
	}
	return NULL;
}

void
report_set_device(struct report *r, const char *id, size_t len)
{
	if (len >= REPORT_ID_MAX)
		len = REPORT_ID_MAX - 1;
	memcpy(r->device, id, len);
	r->device[len] = '\0';
}

void
reply_set(struct reply *reply, const char *s, size_t len)
{
	if (len > REPORT_REPLY_MAX)
		len = REPORT_REPLY_MAX;
	memcpy(reply->buf, s, len);
	reply->len = len;
}

size_t
report_alarm_names(uint32_t alarms, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return 0;
	for (size_t i = 0; i < NALARMS; i++) {
		size_t n;

		if (!(alarms & (1u << i)))
			continue;
		n = strlen(alarm_names[i]);
		if (o + n + (o > 0) >= size)
			break;
		if (o > 0)
			buf[o++] = ',';
		memcpy(buf + o, alarm_names[i], n);
		o += n;
	}
	buf[o] = '\0';
	return o;
}

uint32_t
report_alarm_bit(const char *name, size_t len)
{
	for (size_t i = 0; i < NALARMS; i++) {
		if (strlen(alarm_names[i]) == len && memcmp(alarm_names[i], name, len) == 0)
			return 1u << i;
	}
	return 0;
}

const char *
report_proto_name(enum report_proto proto)
{
	return proto == REPORT_PROTO_TK103 ? "tk103" : "gps103";
}

/* ---- Formatting ---- */

static const double pow10_table[] = {
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
};

static size_t
fmt_uint(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static size_t
fmt_int(char *buf, int64_t v)
{
	if (v < 0) {
		buf[0] = '-';
		return 1 + fmt_uint(buf + 1, (uint64_t)0 - (uint64_t)v);
	}
	return fmt_uint(buf, (uint64_t)v);
}

size_t
report_fmt_num(char *buf, double v, int decimals, bool trim)
{
	double scaled;
	uint64_t units, ip, fp;
	size_t o = 0;
	char frac[16];

	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	if (!isfinite(v) || fabs(v) >= 9e9) {
		memcpy(buf, "0", 2);
		return 1;
	}
	scaled = fabs(v) * pow10_table[decimals];
	units = (uint64_t)llround(scaled);
	if (v < 0 && units != 0)
		buf[o++] = '-';
	ip = units / (uint64_t)pow10_table[decimals];
	fp = units % (uint64_t)pow10_table[decimals];
	o += fmt_uint(buf + o, ip);
	if (decimals > 0) {
		int d = decimals;

		for (int k = d - 1; k >= 0; k--) {
			frac[k] = (char)('0' + fp % 10);
			fp /= 10;
		}
		if (trim) {
			while (d > 0 && frac[d - 1] == '0')
				d--;
		}
		if (d > 0) {
			buf[o++] = '.';
			memcpy(buf + o, frac, (size_t)d);
			o += (size_t)d;
		}
	}
	buf[o] = '\0';
	return o;
}

int
report_fields_add(struct report_fields *f, const char *key, const char *val,
    size_t len, bool number)
{
	struct report_field *fld;

	if (f->n >= REPORT_MAX_FIELDS || REPORT_FMT_BUF - f->used < len + 1)
		return -1;
	fld = &f->f[f->n++];
	fld->key = key;
	fld->val = f->buf + f->used;
	fld->len = len;
	fld->number = number;
	memcpy(f->buf + f->used, val, len);
	f->buf[f->used + len] = '\0';
	f->used += len + 1;
	return 0;
}

/* Adds a field whose value is formatted in place at the end of the buffer. */
static int
add_num(struct report_fields *f, const char *key, double v, int decimals, bool trim)
{
	char tmp[32];
	size_t n = report_fmt_num(tmp, v, decimals, trim);

	return report_fields_add(f, key, tmp, n, true);
}

static int
add_int(struct report_fields *f, const char *key, int64_t v)
{
	char tmp[32];
	size_t n = fmt_int(tmp, v);

	return report_fields_add(f, key, tmp, n, true);
}

/* True when escape_bytes would copy s unchanged. */
static bool
is_clean(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			return false;
	}
	return true;
}

/*
 * Adds a string field: borrowed from the report when it needs no escaping
 * (the common case, and the only way a photo's 512 KiB of hex fits), else
 * escaped into f's buffer.
 */
static int
add_escaped(struct report_fields *f, const char *key, const char *s, size_t len)
{
	struct report_field *fld;
	size_t room, used;

	if (f->n >= REPORT_MAX_FIELDS)
		return -1;
	if (is_clean(s, len)) {
		fld = &f->f[f->n++];
		fld->key = key;
		fld->val = s;
		fld->len = len;
		fld->number = false;
		return 0;
	}
	if (REPORT_FMT_BUF - f->used < 2)
		return -1;
	room = REPORT_FMT_BUF - f->used;
	used = escape_bytes(f->buf + f->used, room, (const uint8_t *)s, len);
	fld = &f->f[f->n++];
	fld->key = key;
	fld->val = f->buf + f->used;
	fld->len = strlen(fld->val);
	fld->number = false;
	f->used += fld->len + 1;
	return used == len ? 0 : -1;
}

int
report_format(const struct report *r, struct report_fields *f)
{
	char alarms[256];
	size_t n;
	int rc = 0;

	f->n = 0;
	f->used = 0;
	rc |= add_escaped(f, "device", r->device, strlen(r->device));
	rc |= report_fields_add(f, "proto", report_proto_name(r->proto),
	    strlen(report_proto_name(r->proto)), false);
	rc |= add_int(f, "time", r->has_time ? r->time_ms : r->recv_ms);
	rc |= add_int(f, "valid", r->valid ? 1 : 0);
	if (r->has_fix) {
		rc |= add_num(f, "lat", r->lat, 6, false);
		rc |= add_num(f, "lon", r->lon, 6, false);
	}
	if (r->has_speed)
		rc |= add_num(f, "speed", r->speed, 1, false);
	if (r->has_course)
		rc |= add_num(f, "course", r->course, 2, true);
	if ((n = report_alarm_names(r->alarms, alarms, sizeof alarms)) > 0)
		rc |= report_fields_add(f, "alarm", alarms, n, false);
	for (int i = 0; i < r->nattrs; i++) {
		const struct report_attr *a = &r->attrs[i];

		switch (a->type) {
		case REPORT_ATTR_INT:
		case REPORT_ATTR_BOOL:
			rc |= add_int(f, a->key, a->i);
			break;
		case REPORT_ATTR_NUM:
			rc |= add_num(f, a->key, a->d, a->decimals, true);
			break;
		case REPORT_ATTR_STR:
			rc |= add_escaped(f, a->key, a->s, a->len);
			break;
		}
	}
	return rc ? -1 : 0;
}
