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
 * Reverses escape_bytes: decodes "\xNN" and "\\" in src[0..len) into dst
 * (size bytes at most).  Returns the number of bytes written, or -1 when an
 * escape is malformed or dst is too small.
 */
long unescape_bytes(uint8_t *dst, size_t size, const char *src, size_t len);

#endif
