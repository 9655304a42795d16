/* Unit tests for engine/alert.c: ids, payload JSON, emit commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alert.h"
#include "lib/resp.h"

static void
test_spec_example_payload(void **unused)
{
	struct alert_list list = { 0 };
	struct alert *a;
	char *p;

	(void)unused;
	a = alert_list_add(&list, "overspeed", "overspeed");
	a->time_ms = 1732320000000LL;
	a->has_pos = true;
	a->lat = 51.098;
	a->lon = -114.083;
	a->has_speed = true;
	a->speed = 92.4;
	alert_set_message(a, "%d km/h over limit %d for %d s", 92, 80, 31);
	a->fence = strdup("depot");
	p = alert_payload(a, "1732320000000-0", "359710049095095");
	/* SPEC's example, byte for byte (without its line break). */
	assert_string_equal(p, "{\"id\":\"1732320000000-0:overspeed\","
	    "\"type\":\"overspeed\",\"device\":\"359710049095095\","
	    "\"time\":1732320000000,\"lat\":51.098,\"lon\":-114.083,"
	    "\"speed\":92.4,\"rule\":\"overspeed\","
	    "\"message\":\"92 km/h over limit 80 for 31 s\","
	    "\"fence\":\"depot\",\"position\":\"1732320000000-0\"}");
	free(p);
	alert_list_free(&list);
}

static void
test_ids(void **unused)
{
	struct alert_list list = { 0 };
	struct alert *a;
	char buf[128];

	(void)unused;
	a = alert_list_add(&list, "fence_enter", "fence_enter");
	a->fence = strdup("depot");
	a->fence_in_id = true;
	alert_id(a, "5-1", buf, sizeof buf);
	assert_string_equal(buf, "5-1:fence_enter:depot");

	a = alert_list_add(&list, "after_hours", "curfew");
	a->n = 2;
	alert_id(a, "5-1", buf, sizeof buf);
	assert_string_equal(buf, "5-1:after_hours:2");
	/* A cut buffer still reports the length needed. */
	assert_int_equal(alert_id(a, "5-1", buf, 4), 17);
	assert_string_equal(buf, "5-1");
	alert_list_free(&list);
}

static void
test_fence_alert_without_fix_and_extras(void **unused)
{
	struct alert_list list = { 0 };
	struct alert *a;
	json_t *o;
	char *p;

	(void)unused;
	a = alert_list_add(&list, "sos", "sos");
	a->time_ms = 1000;
	a = alert_list_add(&list, "night", "curfew");
	a->time_ms = 2000;
	a->fence = strdup("yard");
	a->fence_name = strdup("Yard \"B\"");
	a->extra = json_pack("{sisssi}", "level", 3, "id", "forged",
	    "hour", 23);
	/* The first alert: no position, no speed, no message. */
	p = alert_payload(&list.v[0], "7-0", "dev");
	assert_string_equal(p, "{\"id\":\"7-0:sos\",\"type\":\"sos\","
	    "\"device\":\"dev\",\"time\":1000,\"rule\":\"sos\","
	    "\"position\":\"7-0\"}");
	free(p);
	p = alert_payload(&list.v[1], "7-0", "dev");
	o = json_loads(p, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "id")),
	    "7-0:night");
	assert_string_equal(json_string_value(json_object_get(o,
	    "fence_name")), "Yard \"B\"");
	assert_int_equal(json_integer_value(json_object_get(o, "level")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "hour")), 23);
	/* id type device time rule fence fence_name position level hour */
	assert_int_equal(json_object_size(o), 10);
	json_decref(o);
	free(p);

	alert_list_pop(&list);
	assert_int_equal(list.n, 1);
	alert_list_clear(&list);
	assert_int_equal(list.n, 0);
	alert_list_free(&list);
}

static void
test_numbers_and_strings(void **unused)
{
	struct alert_list list = { 0 };
	struct alert *a;
	char *p;

	(void)unused;
	/* Reals print with up to 15 significant digits, ".0" when whole,
	 * and an exponent without '+' or leading zeros. */
	a = alert_list_add(&list, "r", "t");
	a->has_pos = true;
	a->lat = 0.00005;
	a->lon = -0.5;
	a->has_speed = true;
	a->speed = 80;
	p = alert_payload(a, "1-0", "d");
	assert_string_equal(p, "{\"id\":\"1-0:r\",\"type\":\"t\","
	    "\"device\":\"d\",\"time\":0,\"lat\":5e-5,\"lon\":-0.5,"
	    "\"speed\":80.0,\"rule\":\"r\",\"position\":\"1-0\"}");
	free(p);

	a->lat = 123456789.123456;
	a->lon = 1e20;
	a->speed = 12.0000004;
	p = alert_payload(a, "1-0", "d");
	assert_non_null(strstr(p, "\"lat\":123456789.123456,\"lon\":1e20,"
	    "\"speed\":12.0000004,"));
	free(p);

	a->lat = -0.0;
	a->lon = 0.1;
	a->speed = 1.0 / 0.0;	/* no JSON number: left out */
	p = alert_payload(a, "1-0", "d");
	assert_non_null(strstr(p, "\"lat\":-0.0,\"lon\":0.1,\"rule\""));
	free(p);

	/* Control characters escaped; a byte that is no UTF-8 is U+FFFD;
	 * UTF-8 passes. */
	a->has_pos = a->has_speed = false;
	alert_set_message(a, "a\tb\001\"c\" \xff \xc3\xa9");
	p = alert_payload(a, "1-0", "d");
	assert_non_null(strstr(p, "\"message\":\"a\\tb\\u0001\\\"c\\\" "
	    "\\ufffd \xc3\xa9\""));
	free(p);

	/* Extras of every JSON type, nested, in their order. */
	a->extra = json_loads("{\"list\":[1,2.5,true,null,\"x\"],"
	    "\"o\":{\"k\":false},\"type\":\"forged\"}", 0, NULL);
	assert_non_null(a->extra);
	p = alert_payload(a, "1-0", "d");
	assert_non_null(strstr(p, "\"position\":\"1-0\","
	    "\"list\":[1,2.5,true,null,\"x\"],\"o\":{\"k\":false}}"));
	assert_null(strstr(p, "forged"));
	free(p);
	alert_list_free(&list);
}

static void
test_emit_commands_as_resp(void **unused)
{
	struct alert_list list = { 0 };
	struct alert *a = alert_list_add(&list, "power_cut", "power_cut");
	struct resp *out = resp_new(0);
	/* RESP2 arrays of bulk strings, lengths counted by hand. */
	const char want[] =
	    "*9\r\n$4\r\nXADD\r\n$9\r\nga:alerts\r\n$1\r\n*\r\n"
	    "$4\r\ntype\r\n$9\r\npower_cut\r\n$6\r\ndevice\r\n"
	    "$2\r\nd1\r\n$4\r\njson\r\n$7\r\n{\"a\":1}\r\n"
	    "*3\r\n$7\r\nPUBLISH\r\n$9\r\nga:alerts\r\n"
	    "$7\r\n{\"a\":1}\r\n";

	(void)unused;
	/* The payload is taken by length: the byte after it is not sent. */
	alert_xadd_resp(out, "ga:alerts", a, "d1", "{\"a\":1}X", 7);
	alert_publish_resp(out, "ga:alerts", "{\"a\":1}X", 7);
	assert_int_equal(resp_len(out), sizeof want - 1);
	assert_memory_equal(resp_data(out), want, sizeof want - 1);
	resp_free(out);
	alert_list_free(&list);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example_payload),
		cmocka_unit_test(test_numbers_and_strings),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_fence_alert_without_fix_and_extras),
		cmocka_unit_test(test_emit_commands_as_resp),
	};

	return cmocka_run_group_tests_name("engine/alert", tests, NULL, NULL);
}
