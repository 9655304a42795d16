/*
 * json.c: the JSON writer (json.h).  One growable buffer per writer and a
 * small fixed stack that remembers, per open container, whether a comma
 * is due and whether a key or a value comes next.
 */
#include "lib/json.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/escape.h"
#include "lib/resp.h"
#include "lib/xmalloc.h"

struct level {
	bool object;		/* object (else array) */
	bool has_items;		/* a comma precedes the next key or value */
	bool want_value;	/* object: a key was written, its value is due */
};

struct jsonw {
	char *buf;
	size_t len;
	size_t cap;
	int depth;		/* open containers */
	bool done;		/* a top-level value is complete */
	struct level stack[JSONW_MAX_DEPTH];
};

static const char hexdigits[] = "0123456789abcdef";

struct jsonw *
jsonw_new(void)
{
	struct jsonw *j = xcalloc(1, sizeof *j);

	j->cap = 256;
	j->buf = xmalloc(j->cap);
	j->buf[0] = '\0';
	return j;
}

void
jsonw_free(struct jsonw *j)
{
	if (j == NULL)
		return;
	free(j->buf);
	free(j);
}

void
jsonw_reset(struct jsonw *j)
{
	j->len = 0;
	j->buf[0] = '\0';
	j->depth = 0;
	j->done = false;
}

const char *
jsonw_data(const struct jsonw *j, size_t *len)
{
	if (len != NULL)
		*len = j->len;
	return j->buf;
}

/* Makes room for n more bytes plus the terminating NUL. */
static void
reserve(struct jsonw *j, size_t n)
{
	if (j->cap - j->len > n)
		return;
	while (j->cap - j->len <= n)
		j->cap *= 2;
	j->buf = xrealloc(j->buf, j->cap);
}

static void
put(struct jsonw *j, const char *s, size_t n)
{
	reserve(j, n);
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void
put_char(struct jsonw *j, char c)
{
	reserve(j, 1);
	j->buf[j->len++] = c;
	j->buf[j->len] = '\0';
}

/* Writes the separator due before a value, and records the value. */
static void
before_value(struct jsonw *j)
{
	struct level *l;

	if (j->depth == 0) {
		assert(!j->done && "json: second top-level value");
		return;
	}
	l = &j->stack[j->depth - 1];
	if (l->object) {
		assert(l->want_value && "json: value without a key");
		l->want_value = false;
		return;
	}
	if (l->has_items)
		put_char(j, ',');
	l->has_items = true;
}

/* Marks a scalar or a closed container as complete at its level. */
static void
after_value(struct jsonw *j)
{
	if (j->depth == 0)
		j->done = true;
}

static void
open_container(struct jsonw *j, bool object)
{
	struct level *l;

	before_value(j);
	assert(j->depth < JSONW_MAX_DEPTH && "json: nested too deep");
	l = &j->stack[j->depth++];
	l->object = object;
	l->has_items = false;
	l->want_value = false;
	put_char(j, object ? '{' : '[');
}

static void
close_container(struct jsonw *j, bool object)
{
	struct level *l;

	assert(j->depth > 0 && "json: close without open");
	l = &j->stack[j->depth - 1];
	assert(l->object == object && "json: closing the wrong container");
	assert(!l->want_value && "json: key without a value");
	j->depth--;
	put_char(j, object ? '}' : ']');
	after_value(j);
}

void
jsonw_object_open(struct jsonw *j)
{
	open_container(j, true);
}

void
jsonw_object_close(struct jsonw *j)
{
	close_container(j, true);
}

void
jsonw_array_open(struct jsonw *j)
{
	open_container(j, false);
}

void
jsonw_array_close(struct jsonw *j)
{
	close_container(j, false);
}

/*
 * Length of the valid UTF-8 sequence at s[0..len), or 0 when s does not
 * start one (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF).
 */
static size_t
utf8_len(const uint8_t *s, size_t len)
{
	uint8_t c = s[0];
	size_t n;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; cp = c & 0x07; min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Writes s[0..len) as a quoted, escaped JSON string. */
static void
put_string(struct jsonw *j, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	reserve(j, len + 2);
	put_char(j, '"');
	while (i < len) {
		uint8_t c = p[i];
		size_t n;

		/* A run of ASCII that needs no escape goes out in one copy. */
		for (n = i; n < len && p[n] >= 0x20 && p[n] < 0x80 &&
		    p[n] != '"' && p[n] != '\\'; n++)
			;
		if (n > i) {
			put(j, s + i, n - i);
			i = n;
			continue;
		}
		switch (c) {
		case '"': put(j, "\\\"", 2); i++; continue;
		case '\\': put(j, "\\\\", 2); i++; continue;
		case '\n': put(j, "\\n", 2); i++; continue;
		case '\r': put(j, "\\r", 2); i++; continue;
		case '\t': put(j, "\\t", 2); i++; continue;
		case '\b': put(j, "\\b", 2); i++; continue;
		case '\f': put(j, "\\f", 2); i++; continue;
		default: break;
		}
		if (c < 0x20) {
			char u[6] = { '\\', 'u', '0', '0',
			    hexdigits[c >> 4], hexdigits[c & 15] };

			put(j, u, sizeof u);
			i++;
			continue;
		}
		n = utf8_len(p + i, len - i);
		if (n == 0) {
			put(j, "\\ufffd", 6);
			i++;
			continue;
		}
		put(j, s + i, n);
		i += n;
	}
	put_char(j, '"');
}

void
jsonw_key(struct jsonw *j, const char *key, size_t len)
{
	struct level *l;

	assert(j->depth > 0 && "json: key outside an object");
	l = &j->stack[j->depth - 1];
	assert(l->object && !l->want_value && "json: key where a value is due");
	if (l->has_items)
		put_char(j, ',');
	l->has_items = true;
	put_string(j, key, len);
	put_char(j, ':');
	l->want_value = true;
}

void
jsonw_string(struct jsonw *j, const char *s, size_t len)
{
	before_value(j);
	put_string(j, s, len);
	after_value(j);
}

void
jsonw_escaped(struct jsonw *j, const uint8_t *src, size_t len)
{
	char tmp[1024];
	size_t off = 0;

	before_value(j);
	put_char(j, '"');
	do {
		size_t used = escape_bytes(tmp, sizeof tmp, src + off, len - off);

		/*
		 * escape_bytes emits printable ASCII only; of that, JSON needs
		 * only '"' and '\' escaped.
		 */
		for (const char *t = tmp; *t != '\0'; t++) {
			if (*t == '"' || *t == '\\')
				put_char(j, '\\');
			put_char(j, *t);
		}
		off += used;
	} while (off < len);
	put_char(j, '"');
	after_value(j);
}

bool
jsonw_is_number(const char *t, size_t len)
{
	size_t i = 0;

	if (i < len && t[i] == '-')
		i++;
	if (i >= len)
		return false;
	if (t[i] == '0')
		i++;
	else if (t[i] >= '1' && t[i] <= '9') {
		while (i < len && t[i] >= '0' && t[i] <= '9')
			i++;
	} else
		return false;
	if (i < len && t[i] == '.') {
		size_t d = ++i;

		while (i < len && t[i] >= '0' && t[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	if (i < len && (t[i] == 'e' || t[i] == 'E')) {
		size_t d;

		i++;
		if (i < len && (t[i] == '+' || t[i] == '-'))
			i++;
		d = i;
		while (i < len && t[i] >= '0' && t[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	return i == len;
}

int
jsonw_number(struct jsonw *j, const char *text, size_t len)
{
	if (!jsonw_is_number(text, len)) {
		jsonw_null(j);
		return -1;
	}
	before_value(j);
	put(j, text, len);
	after_value(j);
	return 0;
}

void
jsonw_int(struct jsonw *j, int64_t v)
{
	char tmp[RESP_INT_MAX];
	size_t n = resp_int(tmp, v);

	before_value(j);
	put(j, tmp, n);
	after_value(j);
}

void
jsonw_bool(struct jsonw *j, bool v)
{
	before_value(j);
	if (v)
		put(j, "true", 4);
	else
		put(j, "false", 5);
	after_value(j);
}

void
jsonw_null(struct jsonw *j)
{
	before_value(j);
	put(j, "null", 4);
	after_value(j);
}

size_t
jsonw_real_text(char *buf, double x)
{
	int n = snprintf(buf, JSONW_REAL_MAX - 2, "%.17g", x);
	char *e, *from;

	if ((e = strchr(buf, 'e')) != NULL) {
		e++;
		if (*e == '-')
			e++;
		for (from = e; *from == '+' || *from == '0'; from++)
			;
		if (*from == '\0')
			from--;		/* keep one digit */
		memmove(e, from, strlen(from) + 1);
		return strlen(buf);
	}
	if (strchr(buf, '.') == NULL) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	return (size_t)n;
}
