/*
 * escape.c: the \xNN escaping used for raw device bytes everywhere.
 */
#include "lib/escape.h"

static const char hexdigits[] = "0123456789abcdef";

size_t
escape_bytes(char *dst, size_t size, const uint8_t *src, size_t len)
{
	size_t i, o = 0;

	if (size == 0)
		return 0;
	for (i = 0; i < len; i++) {
		uint8_t c = src[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= size)
				break;
			dst[o++] = (char)c;
		} else if (c == '\\') {
			if (o + 2 >= size)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (o + 4 >= size)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hexdigits[c >> 4];
			dst[o++] = hexdigits[c & 15];
		}
	}
	dst[o] = '\0';
	return i;
}

long
unescape_bytes(uint8_t *dst, size_t size, const char *src, size_t len)
{
	size_t i = 0, o = 0;

	while (i < len) {
		int hi, lo;

		if (o >= size)
			return -1;
		if (src[i] != '\\') {
			dst[o++] = (uint8_t)src[i++];
			continue;
		}
		if (i + 1 < len && src[i + 1] == '\\') {
			dst[o++] = '\\';
			i += 2;
			continue;
		}
		if (i + 3 >= len || src[i + 1] != 'x')
			return -1;
		hi = escape_hexdigit((unsigned char)src[i + 2]);
		lo = escape_hexdigit((unsigned char)src[i + 3]);
		if (hi < 0 || lo < 0)
			return -1;
		dst[o++] = (uint8_t)(hi << 4 | lo);
		i += 4;
	}
	return (long)o;
}
