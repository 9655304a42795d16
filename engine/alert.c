/*
 * alert.c: alert lists, payload JSON and the emit commands.
 */
#include "engine/alert.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* json_string, or the text with invalid UTF-8 bytes replaced by '?'. */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);
	char *c;
	size_t i;

	if (j != NULL)
		return j;
	c = xstrdup(s);
	for (i = 0; c[i] != '\0'; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	j = json_string(c);
	free(c);
	return j;
}

char *
alert_payload(const struct alert *a, const char *entry_id, const char *device)
{
	json_t *o = json_object();
	char *id, *s;
	int len;

	len = alert_id(a, entry_id, NULL, 0);
	id = xmalloc((size_t)len + 1);
	alert_id(a, entry_id, id, (size_t)len + 1);
	/* jansson keeps insertion order, so members come out in SPEC's. */
	json_object_set_new(o, "id", jstr(id));
	json_object_set_new(o, "type", jstr(a->type));
	json_object_set_new(o, "device", jstr(device));
	json_object_set_new(o, "time", json_integer(a->time_ms));
	if (a->has_pos) {
		json_object_set_new(o, "lat", json_real(a->lat));
		json_object_set_new(o, "lon", json_real(a->lon));
	}
	if (a->has_speed)
		json_object_set_new(o, "speed", json_real(a->speed));
	json_object_set_new(o, "rule", jstr(a->rule));
	if (a->message != NULL)
		json_object_set_new(o, "message", jstr(a->message));
	if (a->fence != NULL)
		json_object_set_new(o, "fence", jstr(a->fence));
	if (a->fence_name != NULL)
		json_object_set_new(o, "fence_name", jstr(a->fence_name));
	json_object_set_new(o, "position", jstr(entry_id));
	if (json_is_object(a->extra)) {
		const char *key;
		json_t *v;

		json_object_foreach(a->extra, key, v)
			if (!is_core(key))
				json_object_set(o, key, v);
	}
	/*
	 * 15 significant digits: coordinates arrive with 6 decimals and
	 * speeds with 1, so 15 digits print them as sent (51.098, not
	 * 51.097999999999999) and lose nothing.
	 */
	s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	free(id);
	if (s == NULL) {
		fprintf(stderr, "fatal: cannot serialize an alert\n");
		abort();
	}
	return s;
}

int
alert_xadd_argv(const char *key, const struct alert *a, const char *device,
    const char *payload, const char **argv, size_t *argvlen)
{
	const char *v[] = { "XADD", key, "*", "type", a->type, "device",
	    device, "json", payload };
	int i, n = (int)(sizeof v / sizeof v[0]);

	for (i = 0; i < n; i++) {
		argv[i] = v[i];
		argvlen[i] = strlen(v[i]);
	}
	return n;
}

int
alert_publish_argv(const char *key, const char *payload, const char **argv,
    size_t *argvlen)
{
	argv[0] = "PUBLISH";
	argvlen[0] = 7;
	argv[1] = key;
	argvlen[1] = strlen(key);
	argv[2] = payload;
	argvlen[2] = strlen(payload);
	return 3;
}
