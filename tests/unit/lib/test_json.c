/*
 * Unit tests for lib/json.c: the JSON writer.  Expected texts are written
 * by hand from RFC 8259; jansson (our parser) confirms they are valid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

/* Writes one string value and returns the text (owned by j). */
static const char *
str(struct jsonw *j, const char *s, size_t len)
{
	jsonw_reset(j);
	jsonw_string(j, s, len);
	return jsonw_data(j, NULL);
}

static void
test_string_escapes(void **state)
{
	struct jsonw *j = jsonw_new();

	(void)state;
	assert_string_equal(str(j, "plain text", 10), "\"plain text\"");
	assert_string_equal(str(j, "a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	assert_string_equal(str(j, "\n\r\t\b\f", 5), "\"\\n\\r\\t\\b\\f\"");
	assert_string_equal(str(j, "\x01\x1f", 2), "\"\\u0001\\u001f\"");
	assert_string_equal(str(j, "a\0b", 3), "\"a\\u0000b\"");
	/* '/' and DEL need no escape. */
	assert_string_equal(str(j, "/\x7f", 2), "\"/\x7f\"");
	assert_string_equal(str(j, "", 0), "\"\"");
	jsonw_free(j);
}

static void
test_string_utf8(void **state)
{
	struct jsonw *j = jsonw_new();

	(void)state;
	/* Valid UTF-8 passes: é (2 bytes), € (3), U+1F600 (4). */
	assert_string_equal(str(j, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9),
	    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* A stray byte, an overlong '/', a surrogate, a cut sequence. */
	assert_string_equal(str(j, "a\xff" "b", 3), "\"a\\ufffdb\"");
	assert_string_equal(str(j, "\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");
	assert_string_equal(str(j, "\xed\xa0\x80", 3),
	    "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(str(j, "\xe2\x82", 2), "\"\\ufffd\\ufffd\"");
	jsonw_free(j);
}

static void
test_escaped_bytes(void **state)
{
	struct jsonw *j = jsonw_new();
	const uint8_t raw[] = { '(', 'a', '\r', '\n', '\\', '"', 0x00, 0xff, ')' };

	(void)state;
	jsonw_escaped(j, raw, sizeof raw);
	/* Value: (a\x0d\x0a\\"\x00\xff) -- then JSON doubles each backslash. */
	assert_string_equal(jsonw_data(j, NULL),
	    "\"(a\\\\x0d\\\\x0a\\\\\\\\\\\"\\\\x00\\\\xff)\"");
	jsonw_reset(j);
	jsonw_escaped(j, raw, 0);
	assert_string_equal(jsonw_data(j, NULL), "\"\"");
	jsonw_free(j);
}

static void
test_numbers_kept_as_text(void **state)
{
	struct jsonw *j = jsonw_new();
	static const char *const good[] = {
		"48.117300", "0", "-0.5", "11.516667", "1e5", "2E-3", "-12",
		"1520848572000",
	};
	static const char *const bad[] = {
		"", "01", ".5", "1.", "+1", "nan", "1e", "-", "1.2.3", "0x10",
	};

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		jsonw_reset(j);
		assert_int_equal(jsonw_number(j, good[i], strlen(good[i])), 0);
		assert_string_equal(jsonw_data(j, NULL), good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		jsonw_reset(j);
		assert_int_equal(jsonw_number(j, bad[i], strlen(bad[i])), -1);
		assert_string_equal(jsonw_data(j, NULL), "null");
	}
	jsonw_free(j);
}

static void
test_nesting_and_commas(void **state)
{
	struct jsonw *j = jsonw_new();
	json_t *parsed;
	json_error_t jerr;
	size_t len;
	const char *text;

	(void)state;
	jsonw_object_open(j);
	jsonw_key(j, "lat", 3);
	jsonw_number(j, "48.117300", 9);
	jsonw_key(j, "list", 4);
	jsonw_array_open(j);
	jsonw_int(j, 1);
	jsonw_int(j, -2);
	jsonw_object_open(j);
	jsonw_object_close(j);
	jsonw_array_open(j);
	jsonw_array_close(j);
	jsonw_null(j);
	jsonw_array_close(j);
	jsonw_key(j, "ok", 2);
	jsonw_bool(j, true);
	jsonw_key(j, "no", 2);
	jsonw_bool(j, false);
	jsonw_key(j, "k\"ey", 4);
	jsonw_string(j, "v", 1);
	jsonw_object_close(j);
	text = jsonw_data(j, &len);
	assert_string_equal(text, "{\"lat\":48.117300,\"list\":[1,-2,{},[],null],"
	    "\"ok\":true,\"no\":false,\"k\\\"ey\":\"v\"}");
	assert_int_equal(len, strlen(text));
	parsed = json_loads(text, 0, &jerr);
	assert_non_null(parsed);
	assert_true(json_is_true(json_object_get(parsed, "ok")));
	assert_string_equal(json_string_value(json_object_get(parsed, "k\"ey")),
	    "v");
	json_decref(parsed);
	jsonw_free(j);
}

/* The buffer grows past its first size; reset keeps it usable. */
static void
test_growth_and_reset(void **state)
{
	struct jsonw *j = jsonw_new();
	size_t n = 100000, len;
	char *big = malloc(n);
	const char *text;

	(void)state;
	memset(big, 'a', n);
	big[50] = '\n';
	jsonw_string(j, big, n);
	text = jsonw_data(j, &len);
	assert_int_equal(len, n + 2 + 1);	/* quotes, "\n" is 2 for 1 */
	assert_int_equal(text[0], '"');
	assert_memory_equal(text + 51, "\\n", 2);
	assert_int_equal(text[len - 1], '"');
	jsonw_reset(j);
	assert_string_equal(jsonw_data(j, &len), "");
	assert_int_equal(len, 0);
	jsonw_int(j, 7);
	assert_string_equal(jsonw_data(j, NULL), "7");
	free(big);
	jsonw_free(j);
	jsonw_free(NULL);
}

/* Reals come out byte for byte as jansson's own json_dumps prints them. */
static void
test_real_text_matches_jansson(void **state)
{
	static const double xs[] = { 0.0, 1.0, -2.0, 0.5, 0.1, 48.1173,
		-114.083, 92.4, 1e20, 1e21, 1e-5, -1.5e-7, 1e300, 123456789.0,
		1e16, 1e17, 2.2250738585072014e-308, 3.0e-320 };
	char buf[JSONW_REAL_MAX];

	(void)state;
	/* Hand-checked forms first: ".0" added, exponent without '+'/zeros. */
	assert_int_equal(jsonw_real_text(buf, 1.0), 3);
	assert_string_equal(buf, "1.0");
	jsonw_real_text(buf, 1e21);
	assert_string_equal(buf, "1e21");
	jsonw_real_text(buf, -1.5e-7);
	assert_string_equal(buf, "-1.4999999999999999e-7");
	for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
		json_t *v = json_real(xs[k]);
		char *want = json_dumps(v, JSON_ENCODE_ANY);
		size_t n = jsonw_real_text(buf, xs[k]);

		assert_non_null(want);
		assert_string_equal(buf, want);
		assert_int_equal(n, strlen(want));
		free(want);
		json_decref(v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_real_text_matches_jansson),
		cmocka_unit_test(test_string_utf8),
		cmocka_unit_test(test_escaped_bytes),
		cmocka_unit_test(test_numbers_kept_as_text),
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_growth_and_reset),
	};

	return cmocka_run_group_tests_name("lib/json", tests, NULL, NULL);
}
