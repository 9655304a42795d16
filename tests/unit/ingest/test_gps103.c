/*
 * Unit tests for ingest/gps103.c: every example of protocols/TK103.md
 * section 3.10 and the variants of section 3, with expected values worked
 * out by hand from the protocol document (epoch seconds from the calendar,
 * coordinates as degrees + minutes / 60, km/h as knots x 1.852).
 *
 * The example messages also live in tests/data/gps103/<name>.raw (exact
 * bytes) for end-to-end use; test_data_files checks they match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/gps103.h"
#include "ingest/report.h"

#define IMEI "864123456789012"
#define FIX  "095612.000,A,4807.0380,N,01131.0000,E"
#define RECV 1700000000000LL

/*
 * Hand-computed times.  2018-01-01T00:00:00Z is day 17532 (1514764800 s);
 * 2018-03-12 is 31 + 28 + 11 = 70 days later: 1520812800 s at midnight.
 */
#define MAR12     1520812800LL
#define T_095612  ((MAR12 + 9 * 3600 + 56 * 60 + 12) * 1000)	/* 1520848572000 */
#define T_105612  ((MAR12 + 10 * 3600 + 56 * 60 + 12) * 1000)

/* 48 deg 07.0380 min and 11 deg 31.0000 min. */
#define LAT_MUC   (48.0 + 7.038 / 60.0)	/* 48.117300 */
#define LON_MUC   (11.0 + 31.0 / 60.0)	/* 11.516667 */

static const struct example {
	const char *name;
	const char *raw;
} examples[] = {
	{ "login", "##,imei:" IMEI ",A;" },
	{ "heartbeat", IMEI ";" },
	{ "tracker", "imei:" IMEI ",tracker,180312105612,,F," FIX ",24.46,87.25;" },
	{ "tracker_next_day", "imei:" IMEI ",tracker,180313003005,,F,223005.000,A,4807.0380,N,01131.0000,E,0.00,0;" },
	{ "tracker_west", "imei:" IMEI ",tracker,1803112130,,F,023000.000,A,4807.0380,N,07400.5000,W,0.00,0;" },
	{ "help_me", "imei:" IMEI ",help me,1803121056,,F," FIX ",0.00,;" },
	{ "low_cell", "imei:" IMEI ",tracker,180312105612,,L,,,1a2b,,3c4d,,,;" },
	{ "acc_on_tail", "imei:" IMEI ",acc on,180312105612,,F," FIX ",0.00,0,520.0,1,0,45.50%,,+21;" },
	{ "ac_alarm_slash_date", "imei:" IMEI ",ac alarm,18/03/12 10:56,+4915112345678,F," FIX ",0.00,;" },
	{ "temperature", "imei:" IMEI ",T:-05,180312105612,,F," FIX ",0.00,0;" },
	{ "rfid", "imei:" IMEI ",rfid,180312105612,00AB12CD,F," FIX ",0.00,0;" },
	{ "stockade_hemisphere_first", "imei:" IMEI ",stockade,180312105612,,F,095612.000,A,N,4807.0380,E,01131.0000,0.00,0;" },
	{ "obd", "imei:" IMEI ",OBD,180312105612,12345,2.50,7.80,120,64,35.5%,+88,12.0%,2150,13.90,P0300,,,;" },
	{ "alternative", "imei:" IMEI ",Truck 7,---,------,----,095612,120318,22,1,48.11730,11.51667,045,087,0520,0.90,09,1,1,---,*" },
	{ "glued_heartbeat", IMEI "imei:" IMEI ",tracker,180312105612,,F," FIX ",24.46,87.25;" },
	{ "login_star", "imei:" IMEI ",L,*" },
	{ "plus1330", "imei:" IMEI ",tracker,1803122000,,F,063000.000,A,4807.0380,N,01131.0000,E,0.00,0;" },
	{ "udp_no_terminator", "imei:" IMEI ",tracker,180312105612,,F," FIX ",24.46,87.25" },
	{ "crlf", "imei:" IMEI ",tracker,180312105612,,F," FIX ",24.46,87.25\r\n" },
	{ "photo_announce", "imei:" IMEI ",vt14,180312105612,,F," FIX ",0.00,0;" },
	{ "photo_packet", "imei:" IMEI ",vr,0c00abcdffd8ffe01234;" },
};
#define NEXAMPLES (sizeof examples / sizeof examples[0])

static const char *
example(const char *name)
{
	for (size_t i = 0; i < NEXAMPLES; i++) {
		if (strcmp(examples[i].name, name) == 0)
			return examples[i].raw;
	}
	fail_msg("no example %s", name);
	return NULL;
}

/* One decode and everything it produced. */
static struct result {
	int rc;
	struct report r;
	struct reply reply;
	struct gps103_photo_part part;
	char err[256];
} res;

/* Decodes len bytes copied into a buffer of exactly that size (asan sees
 * any read past the end). */
static int
decode_n(const char *msg, size_t len)
{
	uint8_t *buf = malloc(len > 0 ? len : 1);

	assert_non_null(buf);
	memcpy(buf, msg, len);
	memset(&res, 0x5a, sizeof res);
	res.rc = gps103_decode(buf, len, RECV, &res.r, &res.reply, &res.part,
	    res.err, sizeof res.err);
	free(buf);
	return res.rc;
}

static int
decode(const char *msg)
{
	return decode_n(msg, strlen(msg));
}

static void
check_reply(const char *want)
{
	assert_int_equal(res.reply.len, strlen(want));
	assert_memory_equal(res.reply.buf, want, strlen(want));
}

static void
check_ok(void)
{
	if (res.rc != REPORT_OK)
		fail_msg("rc %d, err '%s'", res.rc, res.err);
	assert_string_equal(res.r.device, IMEI);
	assert_int_equal(res.r.proto, REPORT_PROTO_GPS103);
	assert_int_equal(res.r.recv_ms, RECV);
}

static void
check_fix(bool valid, double lat, double lon)
{
	assert_true(res.r.has_fix);
	assert_int_equal(res.r.valid, valid);
	assert_true(fabs(res.r.lat - lat) < 1e-6);
	assert_true(fabs(res.r.lon - lon) < 1e-6);
}

static void
check_time(int64_t ms)
{
	assert_true(res.r.has_time);
	assert_int_equal(res.r.time_ms, ms);
}

static void
check_speed(double kmh)
{
	assert_true(res.r.has_speed);
	assert_true(fabs(res.r.speed - kmh) < 1e-9);
}

static void
check_course(double deg)
{
	assert_true(res.r.has_course);
	assert_true(fabs(res.r.course - deg) < 1e-9);
}

static const struct report_attr *
need(const char *key, enum report_attr_type type)
{
	const struct report_attr *a = report_attr(&res.r, key);

	if (a == NULL)
		fail_msg("no attribute %s", key);
	assert_int_equal(a->type, type);
	return a;
}

static void
check_num(const char *key, double v)
{
	assert_true(fabs(need(key, REPORT_ATTR_NUM)->d - v) < 1e-9);
}

static void
check_int(const char *key, int64_t v)
{
	assert_int_equal(need(key, REPORT_ATTR_INT)->i, v);
}

static void
check_bool(const char *key, bool v)
{
	assert_int_equal(need(key, REPORT_ATTR_BOOL)->i, v ? 1 : 0);
}

static void
check_str(const char *key, const char *v)
{
	const struct report_attr *a = need(key, REPORT_ATTR_STR);

	assert_int_equal(a->len, strlen(v));
	assert_memory_equal(a->s, v, a->len);
}

static void
check_no_photo(void)
{
	assert_int_equal(res.part.announce, 0);
	assert_false(res.part.data);
}

/* ---- Section 3.10, one test per example ---- */

static void
test_login(void **state)
{
	(void)state;
	assert_int_equal(decode(example("login")), REPORT_NONE);
	check_reply("LOAD");
	assert_string_equal(res.r.device, IMEI);
	check_no_photo();

	/* Any frame of at most 30 characters with "imei:" is a login. */
	assert_int_equal(decode(example("login_star")), REPORT_NONE);
	check_reply("LOAD");
	assert_string_equal(res.r.device, IMEI);
}

static void
test_heartbeat(void **state)
{
	(void)state;
	assert_int_equal(decode(example("heartbeat")), REPORT_NONE);
	check_reply("ON");
	assert_string_equal(res.r.device, IMEI);
	/* UDP: no terminator. */
	assert_int_equal(decode(IMEI), REPORT_NONE);
	check_reply("ON");
	assert_string_equal(res.r.device, IMEI);
}

static void
test_tracker_utc_plus_one(void **state)
{
	(void)state;
	decode(example("tracker"));
	check_ok();
	/* Local 10:56 against UTC 09:56: UTC+1, 2018-03-12T09:56:12Z. */
	check_time(1520848572000LL);
	assert_int_equal(T_095612, 1520848572000LL);
	check_fix(true, 48.117300, 11.516667);
	check_speed(24.46 * 1.852);
	assert_true(fabs(res.r.speed - 45.29992) < 1e-9);
	check_course(87.25);
	assert_int_equal(res.r.alarms, 0);
	assert_int_equal(res.r.nattrs, 0);
	assert_int_equal(res.reply.len, 0);
	check_no_photo();
}

static void
test_tracker_local_date_ahead(void **state)
{
	(void)state;
	decode(example("tracker_next_day"));
	check_ok();
	/* Local 2018-03-13 00:30, UTC 22:30: delta -1320 -> +120 min, so
	 * 2018-03-12T22:30:05Z. */
	check_time((MAR12 + 22 * 3600 + 30 * 60 + 5) * 1000);
	assert_int_equal(res.r.time_ms, 1520893805000LL);
	check_fix(true, LAT_MUC, LON_MUC);
	check_speed(0);
	check_course(0);
	assert_int_equal(res.r.nattrs, 0);
}

static void
test_tracker_west(void **state)
{
	(void)state;
	decode(example("tracker_west"));
	check_ok();
	/* Local 2018-03-11 21:30, UTC 02:30: delta 1140 -> -300 min (UTC-5),
	 * so 2018-03-12T02:30:00Z. */
	check_time(1520821800000LL);
	check_fix(true, 48.117300, -74.008333);
	check_speed(0);
	check_course(0);
}

static void
test_help_me(void **state)
{
	(void)state;
	decode(example("help_me"));
	check_ok();
	assert_int_equal(res.r.alarms, REPORT_ALARM_SOS);
	check_reply("**,imei:864123456789012,E;");
	/* 10-digit local date, UTC seconds from field 5. */
	check_time(1520848572000LL);
	check_fix(true, LAT_MUC, LON_MUC);
	check_speed(0);
	assert_false(res.r.has_course);
	assert_int_equal(res.r.nattrs, 0);
}

static void
test_low_report_cells(void **state)
{
	(void)state;
	decode(example("low_cell"));
	check_ok();
	assert_false(res.r.has_fix);
	assert_false(res.r.valid);
	assert_false(res.r.has_time);
	assert_int_equal(res.r.time_ms, RECV);
	assert_false(res.r.has_speed);
	assert_false(res.r.has_course);
	/* 0x1a2b = 6699, 0x3c4d = 15437. */
	check_int("lac", 6699);
	check_int("cid", 15437);
	assert_int_equal(res.r.nattrs, 2);
	assert_int_equal(res.reply.len, 0);

	/* The cell block may be absent. */
	decode("imei:" IMEI ",tracker,180312105612,,L,;");
	check_ok();
	assert_false(res.r.has_fix);
	assert_int_equal(res.r.nattrs, 0);
}

static void
test_acc_on_with_tail(void **state)
{
	(void)state;
	decode(example("acc_on_tail"));
	check_ok();
	check_time(1520848572000LL);
	check_fix(true, LAT_MUC, LON_MUC);
	check_speed(0);
	check_course(0);
	check_num("altitude", 520);
	check_bool("ignition", true);
	check_bool("door", false);
	check_num("fuel1", 45.5);
	check_num("temp1", 21);
	assert_null(report_attr(&res.r, "fuel2"));
	assert_null(report_attr(&res.r, "event"));
	assert_int_equal(res.r.nattrs, 5);
	assert_int_equal(res.r.alarms, 0);
}

static void
test_ac_alarm_slash_date(void **state)
{
	(void)state;
	decode(example("ac_alarm_slash_date"));
	check_ok();
	assert_int_equal(res.r.alarms, REPORT_ALARM_POWER_CUT);
	check_time(1520848572000LL);
	check_fix(true, LAT_MUC, LON_MUC);
	check_str("phone", "+4915112345678");
	assert_int_equal(res.r.nattrs, 1);
	assert_int_equal(res.reply.len, 0);
}

static void
test_temperature_keyword(void **state)
{
	(void)state;
	decode(example("temperature"));
	check_ok();
	assert_int_equal(res.r.alarms, REPORT_ALARM_TEMPERATURE);
	check_num("temp1", -5);
	assert_int_equal(res.r.nattrs, 1);
	check_time(1520848572000LL);

	decode("imei:" IMEI ",T:+21.0,180312105612,,F," FIX ",0.00,0;");
	check_ok();
	assert_int_equal(res.r.alarms, REPORT_ALARM_TEMPERATURE);
	check_num("temp1", 21.0);
}

static void
test_rfid(void **state)
{
	(void)state;
	decode(example("rfid"));
	check_ok();
	assert_int_equal(res.r.alarms, 0);
	check_str("event", "rfid");
	check_str("driver_unique_id", "00AB12CD");
	assert_int_equal(res.r.nattrs, 2);
	check_fix(true, LAT_MUC, LON_MUC);
}

static void
test_stockade_hemisphere_first(void **state)
{
	(void)state;
	decode(example("stockade_hemisphere_first"));
	check_ok();
	assert_int_equal(res.r.alarms, REPORT_ALARM_GEOFENCE);
	check_fix(true, 48.117300, 11.516667);
	check_time(1520848572000LL);
	check_speed(0);
	check_course(0);
	assert_int_equal(res.r.nattrs, 0);

	decode("imei:" IMEI ",tracker,180312105612,,F,095612.000,V,S,4807.0380,W,01131.0000,1.00,0;");
	check_ok();
	check_fix(false, -LAT_MUC, -LON_MUC);
	check_speed(1.852);
}

static void
test_obd(void **state)
{
	(void)state;
	decode(example("obd"));
	check_ok();
	/* The 12-digit timestamp taken as UTC: 2018-03-12T10:56:12Z. */
	check_time(1520852172000LL);
	assert_int_equal(T_105612, 1520852172000LL);
	assert_false(res.r.has_fix);
	assert_false(res.r.valid);
	assert_int_equal(res.r.alarms, 0);
	check_int("odometer", 12345);
	check_num("fuel_consumption", 7.8);
	check_int("hours", 120LL * 3600 * 1000);
	check_int("obd_speed", 64);
	check_num("engine_load", 35.5);
	check_int("coolant_temp", 88);
	check_num("throttle", 12.0);
	check_int("rpm", 2150);
	check_num("battery", 13.9);
	check_str("dtcs", "P0300");
	assert_int_equal(res.r.nattrs, 10);
	assert_int_equal(res.reply.len, 0);
}

static void
test_obd_variants(void **state)
{
	(void)state;
	/* Empty odometer, fuel and hours; bare '+' coolant; two codes. */
	decode("imei:" IMEI ",OBD,180312105612,,,,,0,0%,+,0%,800,12.10,P0171,,P0300;");
	check_ok();
	check_time(1520852172000LL);
	assert_null(report_attr(&res.r, "odometer"));
	assert_null(report_attr(&res.r, "fuel_consumption"));
	assert_null(report_attr(&res.r, "hours"));
	assert_null(report_attr(&res.r, "coolant_temp"));
	check_int("obd_speed", 0);
	check_num("engine_load", 0);
	check_num("throttle", 0);
	check_int("rpm", 800);
	check_num("battery", 12.1);
	check_str("dtcs", "P0171 P0300");
	assert_int_equal(res.r.nattrs, 6);

	/* No codes at all: no dtcs. */
	decode("imei:" IMEI ",OBD,180312105612,1,,,,10,5%,064,5%,900,12.00,,,;");
	check_ok();
	check_int("coolant_temp", 64);
	assert_null(report_attr(&res.r, "dtcs"));

	/* Required fields missing or malformed: rejected with a reason. */
	assert_int_equal(decode("imei:" IMEI ",OBD,180312105612,12345,2.50,7.80,120,64,35.5%,+88,12.0%,2150,,P0300;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: OBD record without battery");
	assert_int_equal(decode("imei:" IMEI ",OBD,180312105612,12345,2.50,7.80,120,,35.5%,+88,12.0%,2150,13.90;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: OBD record without speed");
	assert_int_equal(decode("imei:" IMEI ",OBD,180312105612,12345,2.50,7.80,120,64,35.5,+88,12.0%,2150,13.90;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad OBD engine load '35.5'");
	assert_int_equal(decode("imei:" IMEI ",OBD,180312105612,12345,2.50,7.80,120,64,35.5%,+88,,2150,13.90;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: OBD record without throttle");
	assert_int_equal(decode("imei:" IMEI ",OBD,180312105612,12345,2.50,7.80,120,64,35.5%,+88,12%,,13.90;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: OBD record without rpm");
	assert_int_equal(decode("imei:" IMEI ",OBD,1803121056,1,2.50,7.80,120,64,35.5%,+88,12%,1,13.90;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad OBD time '1803121056'");
	assert_int_equal(decode("imei:" IMEI ",OBD,180312105612,1,2.50;"),
	    REPORT_ERROR);
	assert_non_null(strstr(res.err, "OBD record cut short"));
}

static void
test_alternative_format(void **state)
{
	(void)state;
	decode(example("alternative"));
	check_ok();
	/* 095612 on 12/03/18, UTC. */
	check_time(1520848572000LL);
	check_fix(true, 48.11730, 11.51667);
	check_speed(45);	/* km/h already */
	check_course(87);
	check_str("name", "Truck 7");
	check_int("rssi", 22);
	check_num("hdop", 0.9);
	check_int("sat", 9);
	check_bool("ignition", true);
	check_bool("charge", true);
	check_num("altitude", 520);
	assert_null(report_attr(&res.r, "event"));
	assert_null(report_attr(&res.r, "sensor_id"));
	assert_null(report_attr(&res.r, "sensor_voltage"));
	assert_null(report_attr(&res.r, "error"));
	assert_int_equal(res.r.nattrs, 7);
	assert_int_equal(res.r.alarms, 0);
	assert_int_equal(res.reply.len, 0);

	/* Present event, sensor, error; no fix; negative coordinates. */
	decode("imei:" IMEI ",Van,door,S1,3.70,235959,311218,5,0,-33.86880,-151.20930,0,0,-12,1.20,3,0,0,E7,*");
	check_ok();
	/* 2018-12-31T23:59:59Z: 2019-01-01 is day 17897 (1546300800 s). */
	check_time((1546300800LL - 1) * 1000);
	check_fix(false, -33.8688, -151.2093);
	check_str("event", "door");
	check_str("sensor_id", "S1");
	check_num("sensor_voltage", 3.7);
	check_str("error", "E7");
	check_num("altitude", -12);
	check_bool("ignition", false);
	check_bool("charge", false);

	assert_int_equal(decode("imei:" IMEI ",Truck 7,---,------,----,095612,120318,22,1,48.11730,*"),
	    REPORT_ERROR);
	assert_non_null(strstr(res.err, "cut short"));
	assert_int_equal(decode("imei:" IMEI ",Truck 7,---,------,----,095612,120318,22,1,4x.11730,11.51667,045,087,0520,0.90,09,1,1,---,*"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad latitude '4x.11730'");
}

/* ---- Other variants of section 3 ---- */

static void
test_glued_heartbeat(void **state)
{
	(void)state;
	decode(example("glued_heartbeat"));
	check_ok();
	check_reply("ON");
	check_time(1520848572000LL);
	check_fix(true, LAT_MUC, LON_MUC);
	check_speed(24.46 * 1.852);
	check_course(87.25);

	/* The SOS acknowledgement follows the heartbeat's. */
	decode(IMEI "imei:" IMEI ",help me,1803121056,,F," FIX ",0.00,;");
	check_ok();
	assert_int_equal(res.r.alarms, REPORT_ALARM_SOS);
	check_reply("ON**,imei:864123456789012,E;");
}

static void
test_plus_1330_lands_a_day_off(void **state)
{
	(void)state;
	decode(example("plus1330"));
	check_ok();
	/* Local 20:00 with UTC 06:30 is really +13:30, but the delta 810 min
	 * folds to -630: 2018-03-12 20:00 + 10:30 = 2018-03-13T06:30:00Z,
	 * a day after the true 2018-03-12T06:30:00Z (traccar#2997). */
	check_time((MAR12 + 86400 + 6 * 3600 + 30 * 60) * 1000);
	assert_int_equal(res.r.time_ms, 1520922600000LL);

	/* The edges of the fold: -720 min becomes +720 (UTC 12:00 the day
	 * before local midnight), +720 stays (local noon, UTC midnight). */
	decode("imei:" IMEI ",tracker,1803130000,,F,120000.000,A,4807.0380,N,01131.0000,E,0.00,0;");
	check_ok();
	check_time((MAR12 + 12 * 3600) * 1000);
	decode("imei:" IMEI ",tracker,1803121200,,F,000000.000,A,4807.0380,N,01131.0000,E,0.00,0;");
	check_ok();
	check_time(MAR12 * 1000);
}

static void
test_terminators(void **state)
{
	(void)state;
	/* UDP: no terminator; TCP: CR LF kept; UDP: ';' CR LF. */
	const char *forms[] = {
		example("udp_no_terminator"),
		example("crlf"),
		example("tracker"),
		"imei:" IMEI ",tracker,180312105612,,F," FIX ",24.46,87.25;\r\n",
		"imei:" IMEI ",tracker,180312105612,,F," FIX ",24.46,87.25\n",
	};

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		decode(forms[i]);
		check_ok();
		check_time(1520848572000LL);
		check_fix(true, LAT_MUC, LON_MUC);
		check_speed(24.46 * 1.852);
		check_course(87.25);
		assert_int_equal(res.r.nattrs, 0);
		assert_int_equal(res.reply.len, 0);
	}
}

static void
test_blank_frames(void **state)
{
	const char *blanks[] = { "", "\r\n", "\n", ";", "    ", "\r\n\r\n\r\n",
	    "ab;", "\0\0\0\0\0\0" };

	(void)state;
	for (size_t i = 0; i < sizeof blanks / sizeof blanks[0]; i++) {
		size_t n = i == 7 ? 6 : strlen(blanks[i]);

		assert_int_equal(decode_n(blanks[i], n), REPORT_NONE);
		assert_int_equal(res.reply.len, 0);
		assert_string_equal(res.err, "");
		assert_string_equal(res.r.device, "");
	}
}

static void
test_photo(void **state)
{
	(void)state;
	decode(example("photo_announce"));
	check_ok();
	assert_int_equal(res.part.announce, 14);
	assert_false(res.part.data);
	assert_null(report_attr(&res.r, "event"));
	check_fix(true, LAT_MUC, LON_MUC);
	check_time(1520848572000LL);

	/* 0c00 -> index 12 (little-endian), abcd ignored, ffd8ffe0 is the
	 * JPEG, 1234 ignored. */
	assert_int_equal(decode(example("photo_packet")), REPORT_NONE);
	assert_string_equal(res.r.device, IMEI);
	assert_true(res.part.data);
	assert_int_equal(res.part.announce, 0);
	assert_int_equal(res.part.index, 12);
	assert_int_equal(res.part.hexlen, 8);
	assert_memory_equal(res.part.hex, "ffd8ffe0", 8);
	assert_int_equal(res.reply.len, 0);

	/* 0201 -> 0x0102 = 258; no JPEG bytes; UDP without ';'. */
	assert_int_equal(decode("imei:" IMEI ",vr,02010000ffff"), REPORT_NONE);
	assert_int_equal(res.part.index, 258);
	assert_int_equal(res.part.hexlen, 0);

	/* Found by field, whatever the IMEI length. */
	assert_int_equal(decode("imei:12345,vr,0100000041424344ffff;"), REPORT_NONE);
	assert_string_equal(res.r.device, "12345");
	assert_int_equal(res.part.index, 1);
	assert_int_equal(res.part.hexlen, 8);
	assert_memory_equal(res.part.hex, "41424344", 8);

	assert_int_equal(decode("imei:" IMEI ",vr,0c00abcdffd8ffe0123;"), REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad photo packet '0c00abcdffd8ffe0123'");
	assert_int_equal(decode("imei:" IMEI ",vr,0c00zz;"), REPORT_ERROR);
	assert_false(res.part.data);
	/* (A shorter frame would be a login: at most 30 characters.) */
	assert_int_equal(decode("imei:1234567890123456789012345,vr;"), REPORT_ERROR);
	assert_string_equal(res.err, "gps103: photo packet without data");
	assert_false(res.part.data);
}

static void
test_number_formats(void **state)
{
	(void)state;
	/* 5 decimals, fewer degree digits (99 deg 01.5 min, 0 deg 31.5 min). */
	decode("imei:" IMEI ",tracker,180312105612,,F,095612,A,4807.03800,N,9901.50000,E,0.00,0;");
	check_ok();
	check_fix(true, 48.1173, 99.025);
	check_time(1520848572000LL);
	decode("imei:" IMEI ",tracker,180312105612,,F,095612.00,A,31.50000,S,31.50000,W,,;");
	check_ok();
	check_fix(true, -0.525, -0.525);
	check_time(1520848572000LL);
	assert_false(res.r.has_speed);
	assert_false(res.r.has_course);

	/* Empty longitude hemisphere: positive. */
	decode("imei:" IMEI ",tracker,180312105612,,F," "095612.000,A,4807.0380,N,01131.0000,,0.00,0;");
	check_ok();
	check_fix(true, LAT_MUC, LON_MUC);

	/* A non-time UTC field: local date-time (seconds 00) used as UTC. */
	decode("imei:" IMEI ",tracker,180312105612,,F,31.0,A,4807.0380,N,01131.0000,E,0.00,0;");
	check_ok();
	check_time((MAR12 + 10 * 3600 + 56 * 60) * 1000);
	decode("imei:" IMEI ",tracker,1803121056,,F,,A,4807.0380,N,01131.0000,E,0.00,0;");
	check_ok();
	check_time((MAR12 + 10 * 3600 + 56 * 60) * 1000);

	/* A zero or short date: no device time. */
	decode("imei:" IMEI ",tracker,0000000000,,F," FIX ",0.00,0;");
	check_ok();
	assert_false(res.r.has_time);
	assert_int_equal(res.r.time_ms, RECV);
	decode("imei:" IMEI ",tracker,000000000,,F," FIX ",0.00,0;");
	check_ok();
	assert_false(res.r.has_time);
	decode("imei:" IMEI ",tracker,,,F," FIX ",0.00,0;");
	check_ok();
	assert_false(res.r.has_time);
	check_fix(true, LAT_MUC, LON_MUC);

	/* Short IMEI with leading zero. */
	decode("imei:012345678901234,tracker,180312105612,,F," FIX ",1,;");
	assert_int_equal(res.rc, REPORT_OK);
	assert_string_equal(res.r.device, "012345678901234");
	check_speed(1.852);
}

static void
test_alarm_keywords(void **state)
{
	static const struct {
		const char *kw;
		uint32_t alarm;
	} kws[] = {
		{ "help me", REPORT_ALARM_SOS },
		{ "low battery", REPORT_ALARM_LOW_BATTERY },
		{ "stockade", REPORT_ALARM_GEOFENCE },
		{ "move", REPORT_ALARM_MOVEMENT },
		{ "speed", REPORT_ALARM_OVERSPEED },
		{ "door alarm", REPORT_ALARM_DOOR },
		{ "ac alarm", REPORT_ALARM_POWER_CUT },
		{ "accident alarm", REPORT_ALARM_ACCIDENT },
		{ "sensor alarm", REPORT_ALARM_VIBRATION },
		{ "bonnet alarm", REPORT_ALARM_BONNET },
		{ "footbrake alarm", REPORT_ALARM_FOOT_BRAKE },
		{ "DTC", REPORT_ALARM_FAULT },
		{ "oil1", REPORT_ALARM_FUEL_LEAK },
		{ "oil2", REPORT_ALARM_FUEL_LEAK },
		{ "T:+21.0", REPORT_ALARM_TEMPERATURE },
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
		snprintf(msg, sizeof msg, "imei:%s,%s,180312105612,,F,%s,0.00,0;",
		    IMEI, kws[i].kw, FIX);
		decode(msg);
		check_ok();
		assert_int_equal(res.r.alarms, kws[i].alarm);
		assert_null(report_attr(&res.r, "event"));
		if (kws[i].alarm != REPORT_ALARM_SOS)
			assert_int_equal(res.reply.len, 0);
	}

	/* "oil <n>" also gives the fuel level. */
	decode("imei:" IMEI ",oil 42.5,180312105612,,F," FIX ",0.00,0;");
	check_ok();
	assert_int_equal(res.r.alarms, REPORT_ALARM_FUEL_LEAK);
	check_num("fuel", 42.5);
	assert_int_equal(res.r.nattrs, 1);

	/* DTC: the code sits in field 17. */
	decode("imei:" IMEI ",DTC,180312105612,,F," FIX ",0.00,0,,,,,P0171,;");
	check_ok();
	assert_int_equal(res.r.alarms, REPORT_ALARM_FAULT);
	check_str("dtcs", "P0171");

	/* Generic events are not alarms. */
	const char *events[] = { "001", "acc alarm", "lf", "jt", "kt", "ht", "mt", "ot" };
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
		snprintf(msg, sizeof msg, "imei:%s,%s,180312105612,,F,%s,0.00,0;",
		    IMEI, events[i], FIX);
		decode(msg);
		check_ok();
		assert_int_equal(res.r.alarms, 0);
		check_str("event", events[i]);
		assert_int_equal(res.r.nattrs, 1);
	}

	/* An empty keyword: a plain report. */
	decode("imei:" IMEI ",,180312105612,,F," FIX ",0.00,0;");
	check_ok();
	assert_int_equal(res.r.alarms, 0);
	assert_int_equal(res.r.nattrs, 0);
}

static void
test_ignition(void **state)
{
	(void)state;
	decode("imei:" IMEI ",acc off,180312105612,,F," FIX ",0.00,0;");
	check_ok();
	check_bool("ignition", false);
	assert_int_equal(res.r.nattrs, 1);
	assert_int_equal(res.r.alarms, 0);

	decode("imei:" IMEI ",acc on,180312105612,,F," FIX ",0.00,0;");
	check_ok();
	check_bool("ignition", true);

	/* Field 14 overrides the keyword. */
	decode("imei:" IMEI ",acc on,180312105612,,F," FIX ",0.00,0,,0;");
	check_ok();
	check_bool("ignition", false);
	assert_int_equal(res.r.nattrs, 1);
	decode("imei:" IMEI ",acc off,180312105612,,F," FIX ",0.00,0,,1;");
	check_ok();
	check_bool("ignition", true);

	/* In an L report too. */
	decode("imei:" IMEI ",acc on,180312105612,,L,;");
	check_ok();
	check_bool("ignition", true);
}

static void
test_tail_fields(void **state)
{
	(void)state;
	/* Negative altitude, door open, both fuels, temperature "20". */
	decode("imei:" IMEI ",tracker,180312105612,,F," FIX ",0.00,0,-12.5,0,1,10.25%,30.00%,20;");
	check_ok();
	check_num("altitude", -12.5);
	check_bool("ignition", false);
	check_bool("door", true);
	check_num("fuel1", 10.25);
	check_num("fuel2", 30);
	check_num("temp1", 20);
	assert_int_equal(res.r.nattrs, 6);

	/* Fuel without '%' does not count, and does not shift the
	 * temperature (Traccar's pattern would read "0.0" as temp1 = 0). */
	decode("imei:" IMEI ",tracker,180312105612,,F," FIX ",0.00,0,,,,0.0,12,+22;");
	check_ok();
	assert_null(report_attr(&res.r, "fuel1"));
	assert_null(report_attr(&res.r, "fuel2"));
	assert_null(report_attr(&res.r, "altitude"));
	assert_null(report_attr(&res.r, "ignition"));
	assert_null(report_attr(&res.r, "door"));
	check_num("temp1", 22);
	assert_int_equal(res.r.nattrs, 1);

	/* Field 18 wins over the T: keyword. */
	decode("imei:" IMEI ",T:+30,180312105612,,F," FIX ",0.00,0,,,,,,-3;");
	check_ok();
	assert_int_equal(res.r.alarms, REPORT_ALARM_TEMPERATURE);
	check_num("temp1", -3);
	assert_int_equal(res.r.nattrs, 1);
}

static void
test_field3(void **state)
{
	(void)state;
	/* A percentage or two numbers are not a phone number. */
	decode("imei:" IMEI ",tracker,180312105612,45%,F," FIX ",0.00,0;");
	check_ok();
	assert_null(report_attr(&res.r, "phone"));
	decode("imei:" IMEI ",tracker,180312105612,12 34,F," FIX ",0.00,0;");
	check_ok();
	assert_null(report_attr(&res.r, "phone"));
	decode("imei:" IMEI ",tracker,180312105612,13800138000,F," FIX ",0.00,0;");
	check_ok();
	check_str("phone", "13800138000");
}

static void
test_malformed(void **state)
{
	(void)state;
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F,095612.000,A,48x7.0380,N,01131.0000,E,0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad latitude '48x7.0380'");
	assert_string_equal(res.r.device, IMEI);

	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F,095612.000,A,4807.0380,N,011310000,E,0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad longitude '011310000'");
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F,095612.000,A,9107.0380,N,01131.0000,E,0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad latitude '9107.0380'");
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F,095612.000,X,4807.0380,N,01131.0000,E,0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad validity 'X'");
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F,095612.000,A,4807.0380,Q,01131.0000,E,0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad latitude hemisphere 'Q'");
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F,095612.000,A,4807.0380,N,01131.0000,X,0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad longitude hemisphere 'X'");
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F," FIX ",fast,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad speed 'fast'");
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F," FIX ",0.00,north;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad course 'north'");
	assert_int_equal(decode("imei:" IMEI ",tracker,18-03-12,,F," FIX ",0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad date '18-03-12'");
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F,09:56:12,A,4807.0380,N,01131.0000,E,0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad utc time '09:56:12'");
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,G," FIX ",0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad report type 'G'");
	assert_int_equal(decode("imei:86412345678901x,tracker,180312105612,,F," FIX ",0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad imei '86412345678901x'");
	assert_string_equal(res.r.device, "");
	assert_int_equal(decode("hello world, this is not a tracker;"), REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad message start 'hello world, thi'");
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F,095612.000,A,4807.0380;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: F report cut short (8 fields)");
	/* Device bytes in the reason are escaped. */
	assert_int_equal(decode("imei:" IMEI ",tracker,180312105612,,F,095612.000,A,48\x01" "7.0380,N,01131.0000,E,0.00,0;"),
	    REPORT_ERROR);
	assert_string_equal(res.err, "gps103: bad latitude '48\\x017.0380'");
}

/* Every prefix of every example, in a buffer of exactly that size: no
 * crash, no read past the end (asan build), and a reason on each error. */
static void
test_every_prefix(void **state)
{
	(void)state;
	for (size_t i = 0; i < NEXAMPLES; i++) {
		size_t n = strlen(examples[i].raw);

		for (size_t k = 0; k <= n; k++) {
			int rc = decode_n(examples[i].raw, k);

			assert_true(rc == REPORT_OK || rc == REPORT_NONE ||
			    rc == REPORT_ERROR);
			if (rc == REPORT_ERROR)
				assert_true(strncmp(res.err, "gps103: ", 8) == 0);
			else
				assert_true(res.reply.len <= REPORT_REPLY_MAX);
			if (rc == REPORT_OK && res.r.has_fix) {
				assert_true(fabs(res.r.lat) <= 90);
				assert_true(fabs(res.r.lon) <= 180);
			}
		}
	}
	/* A prefix of the F report that still holds the whole fix decodes:
	 * everything up to the longitude hemisphere. */
	const char *t = example("tracker");
	const char *e = strstr(t, ",E,") + 2;

	assert_int_equal(decode_n(t, (size_t)(e - t)), REPORT_OK);
	check_fix(true, LAT_MUC, LON_MUC);
	assert_false(res.r.has_speed);
}

static void
test_data_files(void **state)
{
	char path[256], buf[512];

	(void)state;
	for (size_t i = 0; i < NEXAMPLES; i++) {
		FILE *fp;
		size_t n;

		snprintf(path, sizeof path, "tests/data/gps103/%s.raw",
		    examples[i].name);
		fp = fopen(path, "rb");
		if (fp == NULL)
			fail_msg("cannot open %s (run from the repository top)",
			    path);
		n = fread(buf, 1, sizeof buf, fp);
		fclose(fp);
		assert_int_equal(n, strlen(examples[i].raw));
		assert_memory_equal(buf, examples[i].raw, n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_tracker_utc_plus_one),
		cmocka_unit_test(test_tracker_local_date_ahead),
		cmocka_unit_test(test_tracker_west),
		cmocka_unit_test(test_help_me),
		cmocka_unit_test(test_low_report_cells),
		cmocka_unit_test(test_acc_on_with_tail),
		cmocka_unit_test(test_ac_alarm_slash_date),
		cmocka_unit_test(test_temperature_keyword),
		cmocka_unit_test(test_rfid),
		cmocka_unit_test(test_stockade_hemisphere_first),
		cmocka_unit_test(test_obd),
		cmocka_unit_test(test_obd_variants),
		cmocka_unit_test(test_alternative_format),
		cmocka_unit_test(test_glued_heartbeat),
		cmocka_unit_test(test_plus_1330_lands_a_day_off),
		cmocka_unit_test(test_terminators),
		cmocka_unit_test(test_blank_frames),
		cmocka_unit_test(test_photo),
		cmocka_unit_test(test_number_formats),
		cmocka_unit_test(test_alarm_keywords),
		cmocka_unit_test(test_ignition),
		cmocka_unit_test(test_tail_fields),
		cmocka_unit_test(test_field3),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_data_files),
	};

	return cmocka_run_group_tests_name("ingest/gps103", tests, NULL, NULL);
}
