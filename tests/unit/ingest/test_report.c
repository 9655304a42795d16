/* Unit tests for ingest/report.c: attributes, alarms, SPEC field order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ingest/report.h"

static struct report r;
static struct report_fields f;

static const struct report_field *
field(const char *key)
{
	for (int i = 0; i < f.n; i++) {
		if (strcmp(f.f[i].key, key) == 0)
			return &f.f[i];
	}
	return NULL;
}

static void
assert_field(const char *key, const char *val, bool number)
{
	const struct report_field *x = field(key);

	assert_non_null(x);
	assert_int_equal(x->len, strlen(val));
	assert_memory_equal(x->val, val, x->len);
	assert_int_equal(x->number, number);
}

static void
test_fmt_num(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(report_fmt_num(buf, 48.1173, 6, false), 9);
	assert_string_equal(buf, "48.117300");
	report_fmt_num(buf, -11.5166666667, 6, false);
	assert_string_equal(buf, "-11.516667");
	report_fmt_num(buf, 87.25, 2, true);
	assert_string_equal(buf, "87.25");
	report_fmt_num(buf, 87.0, 2, true);
	assert_string_equal(buf, "87");
	report_fmt_num(buf, 45.3 * 1.852, 1, false);
	assert_string_equal(buf, "83.9");
	/* Rounding never leaves a "-0". */
	report_fmt_num(buf, -0.00000001, 6, false);
	assert_string_equal(buf, "0.000000");
	report_fmt_num(buf, 0.05, 1, false);
	assert_string_equal(buf, "0.1");
}

static void
test_format_order_and_values(void **state)
{
	const char *names[] = { "device", "proto", "time", "valid", "lat",
		"lon", "speed", "course", "alarm", "imei", "odometer", "power" };

	(void)state;
	report_init(&r, REPORT_PROTO_TK103, 1520848600000LL);
	report_set_device(&r, "076543210987", 12);
	r.has_time = true;
	r.time_ms = 1520848572000LL;
	r.valid = true;
	r.has_fix = true;
	r.lat = 48.1173;
	r.lon = 11.516667;
	r.has_speed = true;
	r.speed = 45.3;
	r.has_course = true;
	r.course = 87.25;
	r.alarms = REPORT_ALARM_POWER_CUT | REPORT_ALARM_SOS;
	assert_int_equal(report_add_str(&r, "imei", "354321076543210", 15), 0);
	assert_int_equal(report_add_int(&r, "odometer", 123456), 0);
	assert_int_equal(report_add_num(&r, "power", 12.50, 1), 0);
	assert_int_equal(report_format(&r, &f), 0);

	assert_int_equal(f.n, 12);
	for (int i = 0; i < f.n; i++)
		assert_string_equal(f.f[i].key, names[i]);
	assert_field("device", "076543210987", false);
	assert_field("proto", "tk103", false);
	assert_field("time", "1520848572000", true);
	assert_field("valid", "1", true);
	assert_field("lat", "48.117300", true);
	assert_field("lon", "11.516667", true);
	assert_field("speed", "45.3", true);
	assert_field("course", "87.25", true);
	/* Several alarms join with ',' in the fixed normalized order. */
	assert_field("alarm", "sos,power_cut", false);
	assert_field("imei", "354321076543210", false);
	assert_field("odometer", "123456", true);
	assert_field("power", "12.5", true);
}

static void
test_no_fix_no_time(void **state)
{
	(void)state;
	report_init(&r, REPORT_PROTO_GPS103, 1700000000123LL);
	report_set_device(&r, "864123456789012", 15);
	assert_int_equal(report_format(&r, &f), 0);
	/* No device time: `time` is the receive time; no lat/lon/speed. */
	assert_field("time", "1700000000123", true);
	assert_field("valid", "0", true);
	assert_field("proto", "gps103", false);
	assert_null(field("lat"));
	assert_null(field("lon"));
	assert_null(field("speed"));
	assert_null(field("alarm"));
}

static void
test_escaping_and_borrowing(void **state)
{
	static char big[200000];

	(void)state;
	report_init(&r, REPORT_PROTO_TK103, 0);
	report_set_device(&r, "A", 1);
	assert_int_equal(report_add_str(&r, "result", "ok\r\n(1)\\", 8), 0);
	memset(big, 'f', sizeof big);
	assert_int_equal(report_add_str(&r, "image", big, sizeof big), 0);
	assert_int_equal(report_format(&r, &f), 0);
	assert_field("result", "ok\\x0d\\x0a(1)\\\\", false);
	/* A clean string far larger than the format buffer is borrowed whole. */
	assert_ptr_equal(field("image")->val, big);
	assert_int_equal(field("image")->len, sizeof big);
}

static void
test_limits(void **state)
{
	char s[REPORT_ARENA + 1];

	(void)state;
	report_init(&r, REPORT_PROTO_TK103, 0);
	for (int i = 0; i < REPORT_MAX_ATTRS; i++)
		assert_int_equal(report_add_int(&r, "x", i), 0);
	assert_int_equal(report_add_int(&r, "y", 1), -1);
	assert_int_equal(r.nattrs, REPORT_MAX_ATTRS);

	report_init(&r, REPORT_PROTO_TK103, 0);
	memset(s, 'a', sizeof s);
	assert_int_equal(report_add_strcpy(&r, "s", s, sizeof s), -1);
	assert_int_equal(report_add_strcpy(&r, "s", s, REPORT_ARENA), 0);
	assert_null(report_arena(&r, 1));
	/* A long id is cut, never overflowed. */
	memset(s, '7', sizeof s);
	report_set_device(&r, s, sizeof s);
	assert_int_equal(strlen(r.device), REPORT_ID_MAX - 1);
}

static void
test_alarm_names(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(report_alarm_bit("low_battery", 11), REPORT_ALARM_LOW_BATTERY);
	assert_int_equal(report_alarm_bit("fuel_leak", 9), REPORT_ALARM_FUEL_LEAK);
	assert_int_equal(report_alarm_bit("nope", 4), 0);
	assert_int_equal(report_alarm_names(0, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	report_alarm_names(REPORT_ALARM_GEOFENCE_EXIT | REPORT_ALARM_FAULT, buf, sizeof buf);
	assert_string_equal(buf, "geofence_exit,fault");
	/* Too small a buffer cuts at a whole name. */
	report_alarm_names(REPORT_ALARM_SOS | REPORT_ALARM_POWER_CUT, buf, 8);
	assert_string_equal(buf, "sos");
}

static void
test_reply(void **state)
{
	struct reply rep;
	char s[100];

	(void)state;
	reply_set(&rep, "LOAD", 4);
	assert_int_equal(rep.len, 4);
	assert_memory_equal(rep.buf, "LOAD", 4);
	memset(s, 'x', sizeof s);
	reply_set(&rep, s, sizeof s);
	assert_int_equal(rep.len, REPORT_REPLY_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_num),
		cmocka_unit_test(test_format_order_and_values),
		cmocka_unit_test(test_no_fix_no_time),
		cmocka_unit_test(test_escaping_and_borrowing),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_alarm_names),
		cmocka_unit_test(test_reply),
	};

	return cmocka_run_group_tests_name("ingest/report", tests, NULL, NULL);
}
