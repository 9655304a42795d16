/*
 * escape.h: device bytes made safe for logs, streams and JSON.
 *
 * Printable ASCII other than backslash passes through; backslash becomes
 * "\\"; every other byte (CR, LF, NUL, 8-bit) becomes "\xNN".
 */
#ifndef GA_LIB_ESCAPE_H
#define GA_LIB_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes the escaped form of src[0..len) into dst (always NUL-terminated
 * when size > 0), cutting at whole escapes so that at most size - 1 bytes
 * are written.  Returns the number of input bytes consumed (== len when all
 * fitted).
 */
size_t escape_bytes(char *dst, size_t size, const uint8_t *src, size_t len);

/*
 * Returns the value of the hex digit c ('0'-'9', 'a'-'f' or 'A'-'F'), or
 * -1 for any other value (an 8-bit byte passed as plain char too).  Inline
 * because the decoders call it per character on their hot path.
 */
static inline int
escape_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Reverses escape_bytes: decodes "\xNN" and "\\" in src[0..len) into dst
 * (size bytes at most).  Returns the number of bytes written, or -1 when an
 * escape is malformed or dst is too small.
 */
long unescape_bytes(uint8_t *dst, size_t size, const char *src, size_t len);

#endif
