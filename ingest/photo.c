/*
 * photo.c: photo assembly (photo.h).  The JPEG grows by doubling up to the
 * cap; the hex text for the record is made once, at completion.
 */
#include "ingest/photo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/parse.h"
#include "lib/xmalloc.h"

struct photo {
	int packets;		/* N announced */
	size_t cap;		/* JPEG bytes allowed */
	uint8_t *buf;
	size_t len;
	size_t size;		/* allocated bytes of buf */
	char *hex;		/* the record's image text, made at the end */
};

static const char hexdigits[] = "0123456789abcdef";

struct photo *
photo_new(int packets, size_t cap)
{
	struct photo *p = xcalloc(1, sizeof *p);

	p->packets = packets > 0 ? packets : 1;
	p->cap = cap;
	return p;
}

void
photo_free(struct photo *p)
{
	if (p == NULL)
		return;
	free(p->buf);
	free(p->hex);
	free(p);
}

int
photo_add(struct photo *p, unsigned index, const char *hex, size_t hexlen,
    char *err, size_t errlen)
{
	size_t n = hexlen / 2;

	if (hexlen % 2 != 0) {
		snprintf(err, errlen, "photo packet %u: odd number of hex digits",
		    index);
		return -1;
	}
	if (n > p->cap - p->len) {
		snprintf(err, errlen, "photo larger than %zu bytes: dropped",
		    p->cap);
		return -1;
	}
	if (p->len + n > p->size) {
		size_t size = p->size > 0 ? p->size : 4096;

		while (size < p->len + n)
			size *= 2;
		if (size > p->cap)
			size = p->cap;
		p->buf = xrealloc(p->buf, size);
		p->size = size;
	}
	if (parse_hexbytes(hex, hex + hexlen, p->buf + p->len, n) != (long)n) {
		snprintf(err, errlen, "photo packet %u: bad hex digit", index);
		return -1;
	}
	p->len += n;
	return index + 1 >= (unsigned)p->packets ? 1 : 0;
}

size_t
photo_memory(const struct photo *p)
{
	return sizeof *p + p->size + (p->hex != NULL ? 2 * p->len + 1 : 0);
}

const uint8_t *
photo_bytes(const struct photo *p, size_t *len)
{
	*len = p->len;
	return p->buf;
}

void
photo_report(struct photo *p, const char *device, int64_t recv_ms,
    struct report *r)
{
	free(p->hex);
	p->hex = xmalloc(2 * p->len + 1);
	for (size_t i = 0; i < p->len; i++) {
		p->hex[2 * i] = hexdigits[p->buf[i] >> 4];
		p->hex[2 * i + 1] = hexdigits[p->buf[i] & 15];
	}
	p->hex[2 * p->len] = '\0';
	report_init(r, REPORT_PROTO_GPS103, recv_ms);
	report_set_device(r, device, strlen(device));
	report_add_str(r, "image", p->hex, 2 * p->len);
	report_add_int(r, "image_size", (int64_t)p->len);
}
