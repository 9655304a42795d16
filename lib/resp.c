/*
 * resp.c: RESP2 command encoding into a growable buffer.
 *
 * Every append reserves its worst case once, then writes with plain stores
 * and memcpy: a header is at most 1 + RESP_INT_MAX + 2 bytes.
 */
#include "lib/resp.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

#define RESP_DEFAULT_SIZE 4096
/* '*' or '$', the digits, "\r\n". */
#define HEADER_MAX (1 + RESP_INT_MAX + 2)

struct resp {
	char *buf;
	size_t len;
	size_t size;
};

struct resp *
resp_new(size_t hint)
{
	struct resp *b = xcalloc(1, sizeof *b);

	b->size = hint > 0 ? hint : RESP_DEFAULT_SIZE;
	b->buf = xmalloc(b->size);
	return b;
}

void
resp_free(struct resp *b)
{
	if (b == NULL)
		return;
	free(b->buf);
	free(b);
}

void
resp_clear(struct resp *b)
{
	b->len = 0;
}

const char *
resp_data(const struct resp *b)
{
	return b->buf;
}

size_t
resp_len(const struct resp *b)
{
	return b->len;
}

void
resp_truncate(struct resp *b, size_t len)
{
	if (len < b->len)
		b->len = len;
}

/* Makes room for need more bytes; returns where they go. */
static char *
reserve(struct resp *b, size_t need)
{
	if (b->size - b->len < need) {
		size_t size = b->size * 2;

		while (size - b->len < need)
			size *= 2;
		b->buf = xrealloc(b->buf, size);
		b->size = size;
	}
	return b->buf + b->len;
}

size_t
resp_int(char *out, int64_t v)
{
	char tmp[RESP_INT_MAX];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, o = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		out[o++] = '-';
	while (n > 0)
		out[o++] = tmp[--n];
	return o;
}

/*
 * Writes "<c><n>\r\n" at p; returns the bytes written.  Nearly every
 * length in a command is below 100: those take no division loop.
 */
static inline size_t
header(char *p, char c, size_t n)
{
	size_t o = 1;

	p[0] = c;
	if (n < 10)
		p[o++] = (char)('0' + n);
	else if (n < 100) {
		p[o++] = (char)('0' + n / 10);
		p[o++] = (char)('0' + n % 10);
	} else
		o += resp_int(p + 1, (int64_t)n);
	p[o++] = '\r';
	p[o++] = '\n';
	return o;
}

void
resp_array(struct resp *b, size_t n)
{
	char *p = reserve(b, HEADER_MAX);

	b->len += header(p, '*', n);
}

void
resp_bulk(struct resp *b, const void *s, size_t len)
{
	char *p = reserve(b, HEADER_MAX + len + 2);
	size_t o = header(p, '$', len);

	if (len > 0)
		memcpy(p + o, s, len);
	o += len;
	p[o++] = '\r';
	p[o++] = '\n';
	b->len += o;
}

void
resp_bulk_str(struct resp *b, const char *s)
{
	resp_bulk(b, s, strlen(s));
}

void
resp_bulk_int(struct resp *b, int64_t v)
{
	char digits[RESP_INT_MAX];

	resp_bulk(b, digits, resp_int(digits, v));
}

void
resp_command(struct resp *b, int argc, const char *const *argv,
    const size_t *lens)
{
	size_t total = HEADER_MAX;

	for (int i = 0; i < argc; i++)
		total += HEADER_MAX + lens[i] + 2;
	reserve(b, total);
	resp_array(b, (size_t)argc);
	for (int i = 0; i < argc; i++)
		resp_bulk(b, argv[i], lens[i]);
}
