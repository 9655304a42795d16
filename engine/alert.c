/*
 * alert.c: alert lists, payload JSON and the emit commands.
 */
#include "engine/alert.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/resp.h"
#include "lib/xmalloc.h"

struct alert *
alert_list_add(struct alert_list *list, const char *rule, const char *type)
{
	struct alert *a;

	if (list->n == list->alloc) {
		list->alloc = list->alloc ? list->alloc * 2 : 16;
		list->v = xreallocarray(list->v, list->alloc, sizeof *list->v);
	}
	a = &list->v[list->n++];
	memset(a, 0, sizeof *a);
	a->rule = xstrdup(rule);
	a->type = xstrdup(type);
	return a;
}

static void
alert_clear(struct alert *a)
{
	free(a->rule);
	free(a->type);
	free(a->message);
	free(a->fence);
	free(a->fence_name);
	if (a->extra != NULL)
		json_decref(a->extra);
}

void
alert_list_pop(struct alert_list *list)
{
	if (list->n > 0)
		alert_clear(&list->v[--list->n]);
}

void
alert_list_clear(struct alert_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		alert_clear(&list->v[i]);
	list->n = 0;
}

void
alert_list_free(struct alert_list *list)
{
	alert_list_clear(list);
	free(list->v);
	list->v = NULL;
	list->alloc = 0;
}

void
alert_set_message(struct alert *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1) {
		fprintf(stderr, "fatal: out of memory formatting a message\n");
		abort();
	}
	va_end(ap);
	free(a->message);
	a->message = s;
}

int
alert_id(const struct alert *a, const char *entry_id, char *buf, size_t size)
{
	char n[16] = "";
	bool f = a->fence_in_id && a->fence != NULL;

	if (a->n > 0)
		snprintf(n, sizeof n, ":%d", a->n);
	return snprintf(buf, size, "%s:%s%s%s%s", entry_id, a->rule,
	    f ? ":" : "", f ? a->fence : "", n);
}

/* Members the payload defines; extras may not replace them. */
static const char *const core_members[] = {
	"id", "type", "device", "time", "lat", "lon", "speed", "rule",
	"message", "fence", "fence_name", "position", NULL,
};

static bool
is_core(const char *key)
{
	int i;

	for (i = 0; core_members[i] != NULL; i++)
		if (strcmp(key, core_members[i]) == 0)
			return true;
	return false;
}

/*
 * A real as jansson prints it with JSON_REAL_PRECISION(15), which is what
 * readers of earlier payloads saw: "%.15g", ".0" added when that looks
 * like an integer, and the exponent without '+' or leading zeros (1e20,
 * 5e-5).  15 significant digits: coordinates arrive with 6 decimals and
 * speeds with 1, so 15 digits print them as sent (51.098, not
 * 51.097999999999999) and lose nothing.
 *
 * The common case takes a short cut around printf: a value in [1e-4, 1e9)
 * in magnitude that is the double nearest to k / 10^6 for an integer k
 * prints as k / 10^6 with its trailing zeros dropped.  That is exactly
 * what %.15g gives: such a number has at most 15 significant digits, the
 * double's error (2^-53 relative) is far below half a unit in the 15th,
 * and in that range %g does not use an exponent.
 */
static void
put_real(struct jsonw *j, double x)
{
	char buf[48], *p = buf, *e;
	double ax = fabs(x);
	long long k, fp;
	int n, d;

	if (ax >= 1e-4 && ax < 1e9 &&
	    (double)(k = llround(x * 1e6)) / 1e6 == x) {
		if (k < 0) {
			*p++ = '-';
			k = -k;
		}
		p += resp_int(p, k / 1000000);
		*p++ = '.';
		fp = k % 1000000;
		if (fp == 0)
			*p++ = '0';
		for (d = 100000; fp > 0; d /= 10) {
			*p++ = (char)('0' + fp / d);
			fp %= d;
		}
		jsonw_number(j, buf, (size_t)(p - buf));
		return;
	}
	n = snprintf(buf, sizeof buf - 2, "%.15g", x);
	if ((e = strchr(buf, 'e')) != NULL) {
		char *q = e + 1, *digits;

		if (*q == '-')
			q++;
		digits = q;
		if (*digits == '+')
			digits++;
		while (*digits == '0' && digits[1] != '\0')
			digits++;
		memmove(q, digits, strlen(digits) + 1);
		n = (int)strlen(buf);
	} else if (strspn(buf, "-0123456789") == (size_t)n) {
		buf[n++] = '.';
		buf[n++] = '0';
	}
	/* inf and nan are no JSON numbers: jsonw_number writes null. */
	jsonw_number(j, buf, (size_t)n);
}

static void
put_str(struct jsonw *j, const char *s)
{
	jsonw_string(j, s, strlen(s));
}

static void
put_member(struct jsonw *j, const char *key, const char *s)
{
	jsonw_key(j, key, strlen(key));
	put_str(j, s);
}

/* A jansson value (a Lua rule's extra member) into the writer. */
static void
put_value(struct jsonw *j, const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jsonw_object_open(j);
		json_object_foreach((json_t *)v, key, m) {
			jsonw_key(j, key, strlen(key));
			put_value(j, m);
		}
		jsonw_object_close(j);
		break;
	case JSON_ARRAY:
		jsonw_array_open(j);
		json_array_foreach(v, i, m)
			put_value(j, m);
		jsonw_array_close(j);
		break;
	case JSON_STRING:
		jsonw_string(j, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		jsonw_int(j, json_integer_value(v));
		break;
	case JSON_REAL:
		put_real(j, json_real_value(v));
		break;
	case JSON_TRUE:
		jsonw_bool(j, true);
		break;
	case JSON_FALSE:
		jsonw_bool(j, false);
		break;
	default:
		jsonw_null(j);
		break;
	}
}

void
alert_payload_write(struct jsonw *j, const struct alert *a,
    const char *entry_id, const char *device)
{
	char idbuf[256], *id = idbuf;
	int len;

	len = alert_id(a, entry_id, idbuf, sizeof idbuf);
	if ((size_t)len >= sizeof idbuf) {
		id = xmalloc((size_t)len + 1);
		alert_id(a, entry_id, id, (size_t)len + 1);
	}
	jsonw_reset(j);
	jsonw_object_open(j);
	/* SPEC's member order. */
	jsonw_key(j, "id", 2);
	jsonw_string(j, id, (size_t)len);
	put_member(j, "type", a->type);
	put_member(j, "device", device);
	jsonw_key(j, "time", 4);
	jsonw_int(j, a->time_ms);
	if (a->has_pos && isfinite(a->lat) && isfinite(a->lon)) {
		jsonw_key(j, "lat", 3);
		put_real(j, a->lat);
		jsonw_key(j, "lon", 3);
		put_real(j, a->lon);
	}
	if (a->has_speed && isfinite(a->speed)) {
		jsonw_key(j, "speed", 5);
		put_real(j, a->speed);
	}
	put_member(j, "rule", a->rule);
	if (a->message != NULL)
		put_member(j, "message", a->message);
	if (a->fence != NULL)
		put_member(j, "fence", a->fence);
	if (a->fence_name != NULL)
		put_member(j, "fence_name", a->fence_name);
	put_member(j, "position", entry_id);
	if (json_is_object(a->extra)) {
		const char *key;
		json_t *v;

		json_object_foreach(a->extra, key, v) {
			if (is_core(key))
				continue;
			jsonw_key(j, key, strlen(key));
			put_value(j, v);
		}
	}
	jsonw_object_close(j);
	if (id != idbuf)
		free(id);
}

char *
alert_payload(const struct alert *a, const char *entry_id, const char *device)
{
	struct jsonw *j = jsonw_new();
	const char *text;
	size_t len;
	char *s;

	alert_payload_write(j, a, entry_id, device);
	text = jsonw_data(j, &len);
	s = xmemdup(text, len + 1);
	jsonw_free(j);
	return s;
}

void
alert_xadd_resp(struct resp *out, const char *key, const struct alert *a,
    const char *device, const char *payload, size_t plen)
{
	resp_array(out, 9);
	resp_bulk(out, "XADD", 4);
	resp_bulk_str(out, key);
	resp_bulk(out, "*", 1);
	resp_bulk(out, "type", 4);
	resp_bulk_str(out, a->type);
	resp_bulk(out, "device", 6);
	resp_bulk_str(out, device);
	resp_bulk(out, "json", 4);
	resp_bulk(out, payload, plen);
}

void
alert_publish_resp(struct resp *out, const char *key, const char *payload,
    size_t plen)
{
	resp_array(out, 3);
	resp_bulk(out, "PUBLISH", 7);
	resp_bulk_str(out, key);
	resp_bulk(out, payload, plen);
}
