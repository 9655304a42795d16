/*
 * resp.h: Redis commands encoded as RESP2 into a growable byte buffer.
 *
 * A command is an array of bulk strings:
 *
 *   *<argc>\r\n  then, per argument,  $<len>\r\n<bytes>\r\n
 *
 * Arguments are binary safe (explicit lengths, never a format string).
 * Several commands may follow one another in the same buffer: that is a
 * pipeline, which is how the ingest hands a whole event-loop pass of writes
 * to the connection.  The integers in headers are formatted here, without
 * printf: hiredis 0.14's redisFormatCommandArgv spends most of its time in
 * sprintf for them.
 *
 * The buffer grows as needed (xrealloc: out of memory aborts) and never
 * shrinks until resp_free; resp_clear empties it for reuse.
 */
#ifndef GA_LIB_RESP_H
#define GA_LIB_RESP_H

#include <stddef.h>
#include <stdint.h>

struct resp;

/* Longest text resp_int writes: "-9223372036854775808". */
#define RESP_INT_MAX 20

/* Creates an empty buffer with room for about hint bytes (0: a default). */
struct resp *resp_new(size_t hint);

/* Frees b; resp_free(NULL) does nothing. */
void resp_free(struct resp *b);

/* Empties b, keeping its memory. */
void resp_clear(struct resp *b);

/* The bytes encoded so far (borrowed; moved by the next append). */
const char *resp_data(const struct resp *b);
size_t resp_len(const struct resp *b);

/*
 * Cuts b back to its first len bytes (len <= resp_len(b)), to drop what was
 * appended after a resp_len taken earlier.
 */
void resp_truncate(struct resp *b, size_t len);

/* Appends the header of a command of n arguments: "*<n>\r\n". */
void resp_array(struct resp *b, size_t n);

/* Appends one argument: "$<len>\r\n" p[0..len) "\r\n" (p may be NULL when
 * len is 0). */
void resp_bulk(struct resp *b, const void *p, size_t len);

/* resp_bulk of a NUL-terminated string. */
void resp_bulk_str(struct resp *b, const char *s);

/* resp_bulk of v in decimal ("-12", "0", "1700000000000"). */
void resp_bulk_int(struct resp *b, int64_t v);

/*
 * Appends a whole command of argc arguments, argv[i] of lens[i] bytes: the
 * same bytes as hiredis's redisFormatCommandArgv.  argc >= 1.
 */
void resp_command(struct resp *b, int argc, const char *const *argv,
    const size_t *lens);

/*
 * Writes v in decimal into out (at least RESP_INT_MAX bytes; not
 * NUL-terminated) and returns the number of bytes written.
 */
size_t resp_int(char *out, int64_t v);

#endif
