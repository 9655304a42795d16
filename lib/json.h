/*
 * json.h: a small JSON writer into a growable buffer.
 *
 * Only writing lives here; parsing elsewhere uses jansson.  The writer
 * exists because some output must carry our exact number text: --decode
 * prints "48.117300" as the stream entry holds it, while jansson stores
 * reals as doubles and would print 48.1173.  jsonw_number therefore takes
 * the number as text and writes it unchanged.
 *
 * The writer places commas and colons itself: open an object, then
 * alternate jsonw_key and one value (a scalar or a nested object/array).
 * Misuse (a value where a key is due, closing the wrong container, nesting
 * deeper than JSONW_MAX_DEPTH) is a broken invariant and asserts.
 *
 * The prefix is jsonw_ (json writer) rather than the file's name because
 * jansson owns json_* (json_string, json_null, json_object, ...), and a
 * file may well use both.
 *
 * Ownership: struct jsonw owns its buffer; jsonw_data borrows it until the
 * next write, jsonw_reset or jsonw_free.
 */
#ifndef GA_LIB_JSON_H
#define GA_LIB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Containers open at once; nothing we write nests deeper than 3. */
#define JSONW_MAX_DEPTH 32

struct jsonw;

/* Returns a new empty writer; the caller frees it with jsonw_free. */
struct jsonw *jsonw_new(void);

/* Frees j and its buffer; jsonw_free(NULL) does nothing. */
void jsonw_free(struct jsonw *j);

/* Empties j (keeping its buffer) so that a new document can be written. */
void jsonw_reset(struct jsonw *j);

/*
 * Returns the text written so far, NUL-terminated, and its length in *len
 * (len may be NULL).  Borrowed: valid until the next call on j.
 */
const char *jsonw_data(const struct jsonw *j, size_t *len);

/* Open and close an object or an array. */
void jsonw_object_open(struct jsonw *j);
void jsonw_object_close(struct jsonw *j);
void jsonw_array_open(struct jsonw *j);
void jsonw_array_close(struct jsonw *j);

/* Writes an object key (escaped like a string); a value must follow. */
void jsonw_key(struct jsonw *j, const char *key, size_t len);

/*
 * Writes a string value escaped per RFC 8259: '"' and '\' get a
 * backslash, control characters become \n, \r, \t, \b, \f or \u00XX.
 * Valid UTF-8 passes through; a byte that is not part of a valid UTF-8
 * sequence is written as \ufffd so that the output is always valid JSON.
 */
void jsonw_string(struct jsonw *j, const char *s, size_t len);

/*
 * Writes a string value holding the \xNN-escaped form of src[0..len)
 * (lib/escape.h), the way raw device bytes appear in streams and logs.
 */
void jsonw_escaped(struct jsonw *j, const uint8_t *src, size_t len);

/*
 * Writes text as a number, unchanged.  Returns 0, or -1 when text is not a
 * number in RFC 8259 grammar (then null is written in its place, so the
 * document stays valid).
 */
int jsonw_number(struct jsonw *j, const char *text, size_t len);

/* Write an integer, a boolean, or null. */
void jsonw_int(struct jsonw *j, int64_t v);
void jsonw_bool(struct jsonw *j, bool v);
void jsonw_null(struct jsonw *j);

/*
 * Writes finite x into buf (JSONW_REAL_MAX bytes) exactly as jansson's
 * json_dumps prints a real: "%.17g", ".0" added when that has neither '.'
 * nor an exponent, and the exponent without '+' or leading zeros.  Lets
 * our encoders produce jansson's bytes without building jansson objects.
 * Returns the length (buf is NUL-terminated).
 */
#define JSONW_REAL_MAX 40
size_t jsonw_real_text(char *buf, double x);

/* True when text[0..len) is a number in RFC 8259 grammar. */
bool jsonw_is_number(const char *text, size_t len);

#endif
