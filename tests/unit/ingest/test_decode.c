/*
 * Unit tests for ingest/decode.c: --decode output, one JSON object per
 * frame and line, written out by hand from SPEC and protocols/TK103.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/decode.h"
#include "lib/clock.h"

#define IMEI "864123456789012"

static char tmpdir[64];
static int nfiles;

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_decode.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes data to a new file in tmpdir; returns its path (caller frees). */
static char *
file_with(const void *data, size_t len)
{
	char *path = malloc(128);
	FILE *f;

	snprintf(path, 128, "%s/in%d", tmpdir, nfiles++);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

/* Runs decode_run over the given inputs; returns the output (caller frees). */
static char *
decode(bool udp, size_t max, int n, const char *const *inputs,
    const size_t *lens)
{
	char *paths[8], *out = NULL, err[256] = "";
	size_t outlen = 0;
	FILE *fp = open_memstream(&out, &outlen);

	for (int i = 0; i < n; i++)
		paths[i] = file_with(inputs[i], lens != NULL ? lens[i] :
		    strlen(inputs[i]));
	assert_int_equal(decode_run(paths, n, udp, max, fp, err, sizeof err), 0);
	fclose(fp);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	return out;
}

static char *
decode1(bool udp, const char *input)
{
	return decode(udp, 0, 1, &input, NULL);
}

static void
test_tk103_junk_and_handshake(void **state)
{
	char *out;

	(void)state;
	out = decode1(false, "%@#*^$-+<>?$)))$$--(076543210987BP00HSO)\r\n");
	assert_string_equal(out,
	    "{\"frame\":\"%@#*^$-+<>?$)))$$--\",\"report\":null,\"reply\":null,"
	    "\"error\":\"junk before frame\"}\n"
	    "{\"frame\":\"(076543210987BP00HSO)\",\"report\":null,"
	    "\"reply\":\"(076543210987AP01HSO)\",\"error\":null}\n");
	free(out);
}

/* Login, heartbeat and a report (section 3.10's first example). */
static void
test_gps103_lines(void **state)
{
	char *out;

	(void)state;
	out = decode1(false, "##,imei:" IMEI ",A;\r\n" IMEI ";\r\n"
	    "imei:" IMEI ",tracker,180312105612,,F,095612.000,A,4807.0380,N,"
	    "01131.0000,E,24.46,87.25;\r\n");
	/* 24.46 kn * 1.852 = 45.29992 km/h, 1 decimal; 2018-03-12T09:56:12Z. */
	assert_string_equal(out,
	    "{\"frame\":\"##,imei:" IMEI ",A;\",\"report\":null,"
	    "\"reply\":\"LOAD\",\"error\":null}\n"
	    "{\"frame\":\"" IMEI ";\",\"report\":null,\"reply\":\"ON\","
	    "\"error\":null}\n"
	    "{\"frame\":\"imei:" IMEI ",tracker,180312105612,,F,095612.000,A,"
	    "4807.0380,N,01131.0000,E,24.46,87.25;\",\"report\":{"
	    "\"device\":\"" IMEI "\",\"proto\":\"gps103\","
	    "\"time\":1520848572000,\"valid\":1,\"lat\":48.117300,"
	    "\"lon\":11.516667,\"speed\":45.3,\"course\":87.25},"
	    "\"reply\":null,\"error\":null}\n");
	free(out);
}

/*
 * The framing example at the end of protocols/TK103.md 2.8: junk, a ZC03
 * whose $...$ text holds CR LF and ')' (escaped as \x0d\x0a), a ZC20.
 */
static void
test_spec_framing_example(void **state)
{
	const char *first_two, *third;
	char *out;

	(void)state;
	out = decode1(false, "xx\r\n(864123456789012,ZC03,120318,100500,"
	    "$Status:\r\nGPS ok (fix)$)"
	    "(864123456789012,ZC20,120318,100501,6,410,65535,255)");
	/* 2018-03-12T10:05:00Z and 10:05:01Z; ZC03 text -> result. */
	third = "{\"frame\":\"(864123456789012,ZC20,120318,100501,6,410,65535,"
	    "255)\",\"report\":{\"device\":\"" IMEI "\",\"proto\":\"tk103\","
	    "\"time\":1520849101000,\"valid\":0,";
	first_two =
	    "{\"frame\":\"xx\\\\x0d\\\\x0a\",\"report\":null,\"reply\":null,"
	    "\"error\":\"junk before frame\"}\n"
	    "{\"frame\":\"(864123456789012,ZC03,120318,100500,"
	    "$Status:\\\\x0d\\\\x0aGPS ok (fix)$)\",\"report\":{"
	    "\"device\":\"" IMEI "\",\"proto\":\"tk103\","
	    "\"time\":1520849100000,\"valid\":0,"
	    "\"result\":\"Status:\\\\x0d\\\\x0aGPS ok (fix)\"},"
	    "\"reply\":null,\"error\":null}\n";
	assert_memory_equal(out, first_two, strlen(first_two));
	assert_non_null(strstr(out, third));
	assert_int_equal(out[strlen(out) - 1], '\n');
	free(out);
}

/* HTTP is refused by name and the rest of that connection is skipped;
 * the next file is a new connection. */
static void
test_reject_closes_connection_only(void **state)
{
	const char *in[2] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n(076543210987BP00HSO)",
		"(076543210987BP00HSO)",
	};
	char *out;

	(void)state;
	out = decode(false, 0, 2, in, NULL);
	assert_string_equal(out,
	    "{\"frame\":\"GET / HTTP/1.1\\\\x0d\\\\x0aHost: a\\\\x0d\\\\x0a"
	    "\\\\x0d\\\\x0a(076543210987BP00HSO)\",\"report\":null,"
	    "\"reply\":null,"
	    "\"error\":\"HTTP request (GET), not a tracker protocol\"}\n"
	    "{\"frame\":\"(076543210987BP00HSO)\",\"report\":null,"
	    "\"reply\":\"(076543210987AP01HSO)\",\"error\":null}\n");
	free(out);
}

/* --udp: each file is one datagram, raw as received. */
static void
test_udp_files(void **state)
{
	const char *in[2] = {
		"(076543210987BP00HSO)\r\n",
		IMEI,
	};
	char *out;

	(void)state;
	out = decode(true, 0, 2, in, NULL);
	assert_string_equal(out,
	    "{\"frame\":\"(076543210987BP00HSO)\\\\x0d\\\\x0a\",\"report\":null,"
	    "\"reply\":\"(076543210987AP01HSO)\",\"error\":null}\n"
	    "{\"frame\":\"" IMEI "\",\"report\":null,\"reply\":\"ON\","
	    "\"error\":null}\n");
	free(out);
}

/*
 * A photo of 4000 bytes: its 8000 hex digits are more than a formatted
 * report holds, and must still come out whole.
 */
static void
test_photo_record(void **state)
{
	size_t jpeg = 4000, o = 0;
	char *in = malloc(3 * jpeg + 512), *out, *last;
	json_t *line, *rep;
	json_error_t jerr;
	int64_t before = clock_now_ms(), after;
	const char *img;

	(void)state;
	o += (size_t)sprintf(in + o, "imei:" IMEI ",vt1,180312105612,,F,"
	    "095612.000,A,4807.0380,N,01131.0000,E,0.00,0;");
	o += (size_t)sprintf(in + o, "imei:" IMEI ",vr,00000000");
	for (size_t i = 0; i < jpeg; i++)
		o += (size_t)sprintf(in + o, "%02x", (unsigned)(i & 0xff));
	o += (size_t)sprintf(in + o, "ffff;");
	{
		const char *inputs[1] = { in };

		out = decode(false, 10000, 1, inputs, NULL);
	}
	after = clock_now_ms();
	last = strchr(out, '\n');
	assert_non_null(last);
	last++;
	assert_non_null(strchr(last, '\n'));
	line = json_loads(last, JSON_DISABLE_EOF_CHECK, &jerr);
	assert_non_null(line);
	assert_true(json_is_null(json_object_get(line, "error")));
	rep = json_object_get(line, "report");
	assert_string_equal(json_string_value(json_object_get(rep, "device")),
	    IMEI);
	assert_string_equal(json_string_value(json_object_get(rep, "proto")),
	    "gps103");
	assert_int_equal(json_integer_value(json_object_get(rep, "valid")), 0);
	assert_null(json_object_get(rep, "lat"));
	assert_true(json_integer_value(json_object_get(rep, "time")) >= before);
	assert_true(json_integer_value(json_object_get(rep, "time")) <= after);
	assert_int_equal(json_integer_value(json_object_get(rep, "image_size")),
	    4000);
	img = json_string_value(json_object_get(rep, "image"));
	assert_non_null(img);
	assert_int_equal(strlen(img), 8000);
	assert_memory_equal(img, "000102", 6);
	assert_memory_equal(img + 7994, "9d9e9f", 6);	/* 3999 & 255 = 0x9f */
	json_decref(line);
	free(out);
	free(in);
}

static void
test_missing_file(void **state)
{
	char *files[1] = { (char *)"/nonexistent/geoalarm-input" };
	char err[256] = "";
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	(void)state;
	assert_int_equal(decode_run(files, 1, false, 0, fp, err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/geoalarm-input"));
	assert_non_null(strstr(err, "No such file"));
	fclose(fp);
	free(out);
}

static void
test_decode_stream_from_memory(void **state)
{
	char input[] = IMEI ";";
	FILE *in = fmemopen(input, strlen(input), "rb");
	char *out = NULL, err[128];
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	(void)state;
	assert_int_equal(decode_stream(in, "mem", false, 0, fp, err, sizeof err),
	    0);
	fclose(fp);
	fclose(in);
	assert_string_equal(out, "{\"frame\":\"" IMEI ";\",\"report\":null,"
	    "\"reply\":\"ON\",\"error\":null}\n");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tk103_junk_and_handshake),
		cmocka_unit_test(test_gps103_lines),
		cmocka_unit_test(test_spec_framing_example),
		cmocka_unit_test(test_reject_closes_connection_only),
		cmocka_unit_test(test_udp_files),
		cmocka_unit_test(test_photo_record),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_decode_stream_from_memory),
	};

	return cmocka_run_group_tests_name("ingest/decode", tests, setup,
	    teardown);
}
