/*
 * Unit tests for ingest/tk103.c: every example of protocols/TK103.md
 * section 2.8 with each decoded field, the id rule of 2.2, the GPS block
 * quirks of 2.3, event mapping (section 4) and malformed input.
 *
 * Expected times are worked out by hand from the frames: 2018-03-12
 * 00:00:00Z is 1520812800 s, so 09:56:12Z is 1520812800 + 35772 s.
 * Coordinates: 4807.0380 = 48 + 7.038/60 = 48.1173, 01131.0000 = 11 +
 * 31/60 = 11.5166667.  Odometers: 0x1E240 = 123456, 0x1E2F5 = 123637.
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

#include "ingest/report.h"
#include "ingest/tk103.h"

#include "tests/unit/ingest/attrs.h"
#include "tests/unit/support.h"

#define RECV_MS  1700000000000LL
#define LAT      48.1173
#define LON      11.516666667
#define T095612  1520848572000LL
#define T095642  1520848602000LL
#define T095700  1520848620000LL
#define T095800  1520848680000LL
#define T095900  1520848740000LL
#define T100000  1520848800000LL
#define T100500  1520849100000LL
#define T100501  1520849101000LL
#define T101010  1520849410000LL

/* The example frames; tests/data/tk103/<name>.raw hold the same bytes. */
struct frame {
	const char *name;
	const char *bytes;
	size_t len;
};
#define FRAME(name, s) { name, s, sizeof(s) - 1 }

static const struct frame frames[] = {
	FRAME("bp00", "(076543210987BP00HSO)"),
	FRAME("bp05", "(076543210987BP05354321076543210180312A4807.0380N01131.0000E045.3095612087.2501000000L0001E240)"),
	FRAME("br00", "(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)"),
	FRAME("bo01", "(076543210987BO011180312A4807.0380N01131.0000E000.0095700000.0010000000L0001E2F5)"),
	FRAME("br00_invalid", "(076543210987BR00180312V4807.0380S01131.0000W000.0095700000.0001A30123L0001E2F5)"),
	FRAME("br00_spaces", "(076543210987BR00180312A4807.0380N 1131.0000E 45.3095642 87.2501000000L0001E2F5)"),
	FRAME("br00_course2", "(076543210987BR00180312A4807.0380N01131.0000E045.30956428701000000L0001E2F5)"),
	FRAME("br00_comma_status", "(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.25,01000000L0001E2F5)"),
	FRAME("bq81", "(076543210987BQ81,ALARM,3,120,180312A4807.0380N01131.0000E062.0101010000.00,00000000)"),
	FRAME("bp05_comma", "(864123456789012,BP05,120318,A,4807.03800N,01131.00000E,45.30,095612,87.25,520.0,9)"),
	FRAME("bp05_comma_status", "(864123456789012,BP05,120318,A,4807.0380N,01131.0000E,045.3,095612,087.25,01000000,L0001E240)"),
	FRAME("zc25", "(864123456789012,ZC25,120318,A,4807.03800N,01131.00000E,0.00,095800,0.00,520.0,9)"),
	FRAME("zc20", "(864123456789012,ZC20,120318,095900,5,398,125,1)"),
	FRAME("dw53", "(864123456789012,DW53,262,1,4660,17185,1,AA:BB:CC:DD:EE:01*-70*6,120318,100000)"),
	FRAME("bz00_flat", "(076543210987BZ00,262,01,1234,abcd,1234,abce)"),
	FRAME("bz00_braces", "(076543210987BZ00,{262,1,4660,43981}\n{262,1,4660,43982}\n,00000000)"),
	FRAME("bv00", "(076543210987BV001HGCM82633A004352)"),
	FRAME("zc03", "(864123456789012,ZC03,120318,100500,$SOS number set (1)$)"),
	FRAME("bs50", "(076543210987BS5000000004E40CE40CE40CE40C0000000000000000000000000000000000000000000000000000000000000000000000000000000000320028055000000000000C00000000000000000241403F3E0000000000102700040000)"),
	FRAME("bs51", "(076543210987BS5190:0215000075300200,91:0CE4010CDA03,92:41014002,96:01414243)"),
	FRAME("zc03_crlf", "(864123456789012,ZC03,120318,100500,$Status:\r\nGPS ok (fix)$)"),
	FRAME("zc20_absent", "(864123456789012,ZC20,120318,100501,6,410,65535,255)"),
	FRAME("br00_id11", "(07654321098BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)"),
	FRAME("br00_letters", "(TRUCK0000042BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)"),
	FRAME("bp02_imei", "(864123456789012BP02,G,2,170304A4807.0380N01131.0000E045.3095612087.2501000000L0001E240,7)"),
	FRAME("br00_month18", "(076543210987BR00061801A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)"),
	FRAME("br00_month00", "(076543210987BR00000015A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)"),
	FRAME("br00_5dec", "(076543210987BR00180312A4807.03800N01131.00000E045.3095642087.2501000000L0001E2F5)"),
	FRAME("br00_nodeg", "(076543210987BR00180312A31.50000S   31.5000W045.3095642087.2501000000L0001E2F5)"),
	FRAME("bp05_braces", "(076543210987BP05354321076543210,{262,1,4660,43981}\n,00000000)"),
	FRAME("dw3e", "(864123456789012,DW3E,120318,A,4807.0380N,01131.0000E,0.00,095800,0.00,520.0,9)"),
	FRAME("zc15", "(864123456789012,ZC15,120318,V,4807.0380,S,01131.0000,W,12.5,095800,180.5)"),
};
#define NFRAMES (sizeof frames / sizeof frames[0])

static struct report rep;
static struct reply rpl;
static char err[256];

static int
decode_bytes(const char *s, size_t n)
{
	/* Exactly the decoded size (support_hold): string attributes point
	 * into it until the next decode. */
	const uint8_t *held = support_hold(s, n);

	err[0] = '\0';
	return tk103_decode(held, n, RECV_MS, &rep, &rpl, err, sizeof err);
}

static int
decode_str(const char *s)
{
	return decode_bytes(s, strlen(s));
}

static const struct frame *
frame_named(const char *name)
{
	for (size_t i = 0; i < NFRAMES; i++) {
		if (strcmp(frames[i].name, name) == 0)
			return &frames[i];
	}
	fail_msg("no frame %s", name);
	return NULL;
}

/* Decodes a named example and requires a record. */
static void
decode_ok(const char *name)
{
	const struct frame *f = frame_named(name);
	int rc = decode_bytes(f->bytes, f->len);

	if (rc != REPORT_OK)
		fail_msg("%s: result %d (%s)", name, rc, err);
}

static void
reply_is(const char *want)
{
	assert_int_equal(rpl.len, strlen(want));
	assert_memory_equal(rpl.buf, want, rpl.len);
}

/* Device, time, fix, speed and course of a GPS record. */
static void
check_fix(const char *device, int64_t time_ms, bool valid, double lat,
    double lon, double speed, double course)
{
	assert_string_equal(rep.device, device);
	assert_int_equal(rep.proto, REPORT_PROTO_TK103);
	assert_int_equal(rep.recv_ms, RECV_MS);
	assert_true(rep.has_time);
	assert_int_equal(rep.time_ms, time_ms);
	assert_int_equal(rep.valid, valid);
	assert_true(rep.has_fix);
	assert_near(rep.lat, lat, 1e-6);
	assert_near(rep.lon, lon, 1e-6);
	assert_true(rep.has_speed);
	assert_near(rep.speed, speed, 1e-9);
	assert_true(rep.has_course);
	assert_near(rep.course, course, 1e-9);
}

/* A record without coordinates; time_ms < 0: no device time. */
static void
check_nofix(const char *device, int64_t time_ms)
{
	assert_string_equal(rep.device, device);
	assert_int_equal(rep.proto, REPORT_PROTO_TK103);
	assert_false(rep.valid);
	assert_false(rep.has_fix);
	assert_false(rep.has_speed);
	assert_false(rep.has_course);
	if (time_ms < 0) {
		assert_false(rep.has_time);
		assert_int_equal(rep.time_ms, RECV_MS);
	} else {
		assert_true(rep.has_time);
		assert_int_equal(rep.time_ms, time_ms);
	}
}

/* Status "01000000": power connected, ignition on, no input, no fuel. */
static void
check_status_01000000(void)
{
	attr_bool(&rep, "charge", true);
	attr_bool(&rep, "ignition", true);
	attr_bool(&rep, "in2", false);
	attr_bool(&rep, "panic", false);
	attr_bool(&rep, "out2", false);
	attr_int(&rep, "fuel", 0);
	no_attr(&rep, "blocked");
	no_attr(&rep, "door");
	no_attr(&rep, "hs1");
	no_attr(&rep, "ls1");
}

/* ---- Section 2.8, fixed layout ---- */

static void
test_bp00(void **state)
{
	(void)state;
	assert_int_equal(decode_bytes(frame_named("bp00")->bytes,
	    frame_named("bp00")->len), REPORT_NONE);
	assert_string_equal(rep.device, "076543210987");
	reply_is("(076543210987AP01HSO)");
	/* With the IMEI and a hex suffix after HSO. */
	assert_int_equal(decode_str("(076543210987BP00354321076543210HSO3A)"),
	    REPORT_NONE);
	assert_string_equal(rep.device, "076543210987");
	reply_is("(076543210987AP01HSO)");
	/* An 11-digit id is answered with that id. */
	assert_int_equal(decode_str("(07654321098BP00HSO)"), REPORT_NONE);
	assert_string_equal(rep.device, "07654321098");
	reply_is("(07654321098AP01HSO)");
}

static void
test_bp05(void **state)
{
	(void)state;
	decode_ok("bp05");
	check_fix("076543210987", T095612, true, LAT, LON, 45.3, 87.25);
	assert_int_equal(rep.alarms, 0);
	attr_str(&rep, "imei", "354321076543210");
	check_status_01000000();
	attr_int(&rep, "odometer", 123456);
	assert_int_equal(rep.nattrs, 8);
	reply_is("(076543210987AP05)");
}

static void
test_br00(void **state)
{
	(void)state;
	decode_ok("br00");
	check_fix("076543210987", T095642, true, LAT, LON, 45.3, 87.25);
	assert_int_equal(rep.alarms, 0);
	check_status_01000000();
	attr_int(&rep, "odometer", 123637);
	assert_int_equal(rep.nattrs, 7);
	assert_int_equal(rpl.len, 0);
}

static void
test_bo01(void **state)
{
	(void)state;
	decode_ok("bo01");
	check_fix("076543210987", T095700, true, LAT, LON, 0, 0);
	assert_int_equal(rep.alarms, REPORT_ALARM_ACCIDENT);
	/* "10000000": main power cut, ignition off. */
	attr_bool(&rep, "charge", false);
	attr_bool(&rep, "ignition", false);
	attr_bool(&rep, "in2", false);
	attr_bool(&rep, "panic", false);
	attr_bool(&rep, "out2", false);
	attr_int(&rep, "fuel", 0);
	attr_int(&rep, "odometer", 123637);
	assert_int_equal(rep.nattrs, 7);
	assert_int_equal(rpl.len, 0);
}

static void
test_bo01_codes(void **state)
{
	static const uint32_t want[10] = {
		REPORT_ALARM_POWER_CUT, REPORT_ALARM_ACCIDENT, REPORT_ALARM_SOS,
		REPORT_ALARM_VIBRATION, REPORT_ALARM_LOWSPEED,
		REPORT_ALARM_OVERSPEED, REPORT_ALARM_GEOFENCE_EXIT, 0, 0, 0,
	};
	const struct frame *f = frame_named("bo01");
	char buf[128];

	(void)state;
	memcpy(buf, f->bytes, f->len + 1);
	for (int code = 0; code <= 9; code++) {
		buf[17] = (char)('0' + code);	/* the digit after "BO01" */
		assert_int_equal(decode_str(buf), REPORT_OK);
		assert_int_equal(rep.alarms, want[code]);
		if (want[code] == 0) {
			char digit[2] = { (char)('0' + code), '\0' };

			attr_str(&rep, "event", digit);
		} else {
			no_attr(&rep, "event");
		}
	}
}

static void
test_br00_invalid_south_west(void **state)
{
	(void)state;
	decode_ok("br00_invalid");
	check_fix("076543210987", T095700, false, -LAT, -LON, 0, 0);
	assert_int_equal(rep.alarms, 0);
	/* "01A30123": P 0, I 1, a 0xA, b 0x3, c 0, fuel 0x123. */
	attr_bool(&rep, "charge", true);
	attr_bool(&rep, "ignition", true);
	attr_bool(&rep, "in2", false);
	attr_bool(&rep, "panic", true);
	attr_bool(&rep, "out2", false);
	attr_bool(&rep, "blocked", true);
	attr_bool(&rep, "hs3", true);
	attr_bool(&rep, "hs2", true);
	no_attr(&rep, "hs1");
	no_attr(&rep, "door");
	no_attr(&rep, "ls1");
	no_attr(&rep, "ls2");
	no_attr(&rep, "ls3");
	attr_int(&rep, "fuel", 291);
	attr_int(&rep, "odometer", 123637);
	assert_int_equal(rep.nattrs, 10);
}

static void
test_status_low_side_and_door(void **state)
{
	(void)state;
	/* "10CCEFFF": a 0xC: out2, blocked; b 0xC: door, hs1; c 0xE: ls1-3. */
	assert_int_equal(decode_str("(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.2510CCEFFFL00000000)"),
	    REPORT_OK);
	attr_bool(&rep, "charge", false);
	attr_bool(&rep, "ignition", false);
	attr_bool(&rep, "in2", false);
	attr_bool(&rep, "panic", false);
	attr_bool(&rep, "out2", true);
	attr_bool(&rep, "blocked", true);
	attr_bool(&rep, "door", true);
	attr_bool(&rep, "hs1", true);
	no_attr(&rep, "hs2");
	no_attr(&rep, "hs3");
	attr_bool(&rep, "ls1", true);
	attr_bool(&rep, "ls2", true);
	attr_bool(&rep, "ls3", true);
	attr_int(&rep, "fuel", 4095);
	attr_int(&rep, "odometer", 0);
	assert_int_equal(rep.nattrs, 13);
}

static void
test_br00_spaces_course_variants(void **state)
{
	static const struct {
		const char *name;
		double course;
	} cases[] = {
		{ "br00_spaces", 87.25 },
		{ "br00_course2", 87 },
		{ "br00_comma_status", 87.25 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		decode_ok(cases[i].name);
		check_fix("076543210987", T095642, true, LAT, LON, 45.3,
		    cases[i].course);
		assert_int_equal(rep.alarms, 0);
		check_status_01000000();
		attr_int(&rep, "odometer", 123637);
		assert_int_equal(rep.nattrs, 7);
	}
}

static void
test_bq81(void **state)
{
	(void)state;
	decode_ok("bq81");
	check_fix("076543210987", T101010, true, LAT, LON, 62, 0);
	assert_int_equal(rep.alarms, REPORT_ALARM_HARD_ACCELERATION);
	assert_int_equal(rep.nattrs, 0);
	assert_int_equal(rpl.len, 0);
}

static void
test_bq81_types(void **state)
{
	static const uint32_t want[6] = {
		REPORT_ALARM_LOW_BATTERY, REPORT_ALARM_OVERSPEED,
		REPORT_ALARM_IDLE, REPORT_ALARM_HARD_ACCELERATION,
		REPORT_ALARM_HARD_BRAKING, REPORT_ALARM_TEMPERATURE,
	};
	const struct frame *f = frame_named("bq81");
	char buf[128];

	(void)state;
	memcpy(buf, f->bytes, f->len + 1);
	for (int type = 0; type <= 5; type++) {
		buf[24] = (char)('0' + type);	/* ",ALARM,<type>" */
		assert_int_equal(decode_str(buf), REPORT_OK);
		assert_int_equal(rep.alarms, want[type]);
	}
}

static void
test_bz00_flat(void **state)
{
	(void)state;
	decode_ok("bz00_flat");
	check_nofix("076543210987", -1);
	assert_int_equal(rep.alarms, 0);
	attr_str(&rep, "cells", "262,1,4660,43981");
	assert_int_equal(rep.nattrs, 1);
	assert_int_equal(rpl.len, 0);
}

static void
test_bz00_braces(void **state)
{
	(void)state;
	decode_ok("bz00_braces");
	check_nofix("076543210987", -1);
	attr_str(&rep, "cells", "262,1,4660,43981;262,1,4660,43982");
	assert_int_equal(rep.nattrs, 1);
}

static void
test_bp05_braces(void **state)
{
	(void)state;
	decode_ok("bp05_braces");
	check_nofix("076543210987", -1);
	attr_str(&rep, "imei", "354321076543210");
	attr_str(&rep, "cells", "262,1,4660,43981");
	assert_int_equal(rep.nattrs, 2);
	reply_is("(076543210987AP05)");
}

static void
test_bv00(void **state)
{
	(void)state;
	decode_ok("bv00");
	check_nofix("076543210987", -1);
	attr_str(&rep, "vin", "1HGCM82633A004352");
	assert_int_equal(rep.nattrs, 1);
}

static void
test_bq86_no_record(void **state)
{
	(void)state;
	assert_int_equal(decode_str("(076543210987BQ86,0,0A1B2C3D,180312095612,00000000)"),
	    REPORT_NONE);
	assert_string_equal(rep.device, "076543210987");
	assert_int_equal(rpl.len, 0);
}

static void
test_bs50(void **state)
{
	(void)state;
	decode_ok("bs50");
	check_nofix("076543210987", -1);
	/* 4 cells of 0x0CE4 mV. */
	attr_num(&rep, "battery1", 3.3);
	attr_num(&rep, "battery2", 3.3);
	attr_num(&rep, "battery3", 3.3);
	attr_num(&rep, "battery4", 3.3);
	no_attr(&rep, "battery5");
	attr_bool(&rep, "charge", true);
	attr_num(&rep, "current", 5.0);		/* 0x0032 / 10 */
	attr_num(&rep, "battery", 13.2);		/* 0x0528 / 100 */
	attr_int(&rep, "battery_level", 80);		/* 0x50 */
	attr_bool(&rep, "overheat", false);
	attr_bool(&rep, "charge_protection", false);
	attr_bool(&rep, "discharge_protection", false);
	attr_int(&rep, "cycles", 12);
	attr_int(&rep, "fault", 0);
	attr_int(&rep, "power_temp", 25);		/* 0x41 - 40 */
	attr_int(&rep, "equalizer_temp", 24);
	attr_int(&rep, "battery_temp1", 23);
	attr_int(&rep, "battery_temp2", 22);
	no_attr(&rep, "battery_temp3");
	attr_num(&rep, "capacity", 100.0);		/* 0x2710 / 100 */
	attr_int(&rep, "discharged", 1024);		/* 0x00000400 */
	assert_int_equal(rep.nattrs, 19);
}

static void
test_bs51_big_endian(void **state)
{
	(void)state;
	decode_ok("bs51");
	check_nofix("076543210987", -1);
	/* 90: 0x0215 = 533, 0x0000, 0x7530 = 30000, 0x0200 = 512. */
	attr_num(&rep, "battery", 53.3);
	attr_num(&rep, "gather_voltage", 0);
	attr_num(&rep, "current", 0);
	attr_num(&rep, "battery_level", 51.2);
	/* 91: 0x0CE4 = 3300 mV at cell 1, 0x0CDA = 3290 mV at cell 3. */
	attr_num(&rep, "max_cell_voltage", 3.3);
	attr_int(&rep, "max_cell", 1);
	attr_num(&rep, "min_cell_voltage", 3.29);
	attr_int(&rep, "min_cell", 3);
	/* 92 and 96: bytes - 40. */
	attr_int(&rep, "max_temp", 25);
	attr_int(&rep, "max_temp_probe", 1);
	attr_int(&rep, "min_temp", 24);
	attr_int(&rep, "min_temp_probe", 2);
	attr_int(&rep, "cell_temp1", 25);
	attr_int(&rep, "cell_temp2", 26);
	attr_int(&rep, "cell_temp3", 27);
	assert_int_equal(rep.nattrs, 15);
}

/* ---- Section 2.8, comma layout ---- */

static void
test_bp05_comma(void **state)
{
	(void)state;
	decode_ok("bp05_comma");
	check_fix("864123456789012", T095612, true, LAT, LON, 45.3, 87.25);
	assert_int_equal(rep.alarms, 0);
	attr_num(&rep, "altitude", 520);
	attr_int(&rep, "sat", 9);
	assert_int_equal(rep.nattrs, 2);
	assert_int_equal(rpl.len, 0);
}

static void
test_bp05_comma_status(void **state)
{
	(void)state;
	decode_ok("bp05_comma_status");
	check_fix("864123456789012", T095612, true, LAT, LON, 45.3, 87.25);
	check_status_01000000();
	attr_int(&rep, "odometer", 123456);
	no_attr(&rep, "altitude");
	assert_int_equal(rep.nattrs, 7);
	assert_int_equal(rpl.len, 0);
}

static void
test_zc25_and_dw3e_sos(void **state)
{
	(void)state;
	decode_ok("zc25");
	check_fix("864123456789012", T095800, true, LAT, LON, 0, 0);
	assert_int_equal(rep.alarms, REPORT_ALARM_SOS);
	attr_num(&rep, "altitude", 520);
	attr_int(&rep, "sat", 9);
	assert_int_equal(rep.nattrs, 2);
	decode_ok("dw3e");
	check_fix("864123456789012", T095800, true, LAT, LON, 0, 0);
	assert_int_equal(rep.alarms, REPORT_ALARM_SOS);
	attr_num(&rep, "altitude", 520);
	attr_int(&rep, "sat", 9);
	assert_int_equal(rep.nattrs, 2);
}

static void
test_zc15_separate_hemispheres(void **state)
{
	(void)state;
	decode_ok("zc15");
	check_fix("864123456789012", T095800, false, -LAT, -LON, 12.5, 180.5);
	assert_int_equal(rep.alarms, 0);
	attr_str(&rep, "event", "ZC15");
	attr_bool(&rep, "ignition", true);
	assert_int_equal(rep.nattrs, 2);
}

static void
test_zc20(void **state)
{
	(void)state;
	decode_ok("zc20");
	check_nofix("864123456789012", T095900);
	assert_int_equal(rep.alarms, 0);
	attr_int(&rep, "battery_level", 80);
	attr_num(&rep, "battery", 3.98);
	attr_num(&rep, "power", 12.5);
	attr_int(&rep, "installed", 1);
	assert_int_equal(rep.nattrs, 4);
	/* Level code 6 = 100 %; 65535 = no power reading. */
	decode_ok("zc20_absent");
	check_nofix("864123456789012", T100501);
	attr_int(&rep, "battery_level", 100);
	attr_num(&rep, "battery", 4.10);
	no_attr(&rep, "power");
	attr_int(&rep, "installed", 255);
	assert_int_equal(rep.nattrs, 3);
}

static void
test_dw53(void **state)
{
	(void)state;
	decode_ok("dw53");
	check_nofix("864123456789012", T100000);
	assert_int_equal(rep.alarms, REPORT_ALARM_POWER_CUT);
	attr_str(&rep, "cells", "262,1,4660,17185");
	attr_str(&rep, "wifi", "AA:BB:CC:DD:EE:01,-70,6");
	assert_int_equal(rep.nattrs, 2);
	/* Two access points, joined by ';'. */
	assert_int_equal(decode_str("(864123456789012,DW51,262,1,4660,17185,2,AA:BB:CC:DD:EE:01*-70*6,AA:BB:CC:DD:EE:02*-81*11,120318,100000)"),
	    REPORT_OK);
	assert_int_equal(rep.alarms, REPORT_ALARM_MOVEMENT);
	attr_str(&rep, "wifi", "AA:BB:CC:DD:EE:01,-70,6;AA:BB:CC:DD:EE:02,-81,11");
	/* No access point. */
	assert_int_equal(decode_str("(864123456789012,DW50,262,1,4660,17185,0,120318,100000)"),
	    REPORT_OK);
	check_nofix("864123456789012", T100000);
	attr_str(&rep, "event", "DW50");
	no_attr(&rep, "wifi");
}

static void
test_zc03(void **state)
{
	(void)state;
	decode_ok("zc03");
	check_nofix("864123456789012", T100500);
	attr_str(&rep, "result", "SOS number set (1)");
	assert_int_equal(rep.nattrs, 1);
	decode_ok("zc03_crlf");
	check_nofix("864123456789012", T100500);
	attr_str(&rep, "result", "Status:\r\nGPS ok (fix)");
	assert_int_equal(rep.nattrs, 1);
}

/* Section 4: every ZC/DW code with a meaning, and one without. */
static void
test_event_mapping(void **state)
{
	static const struct {
		const char *code;
		uint32_t alarm;
		int ignition;	/* -1: none */
	} cases[] = {
		{ "ZC25", REPORT_ALARM_SOS, -1 }, { "DW3E", REPORT_ALARM_SOS, -1 },
		{ "DW5E", REPORT_ALARM_SOS, -1 },
		{ "ZC13", REPORT_ALARM_POWER_CUT, -1 },
		{ "DW33", REPORT_ALARM_POWER_CUT, -1 },
		{ "DW53", REPORT_ALARM_POWER_CUT, -1 },
		{ "ZC27", REPORT_ALARM_LOW_POWER, -1 },
		{ "DW40", REPORT_ALARM_LOW_POWER, -1 },
		{ "DW60", REPORT_ALARM_LOW_POWER, -1 },
		{ "ZC12", REPORT_ALARM_LOW_BATTERY, -1 },
		{ "DW32", REPORT_ALARM_LOW_BATTERY, -1 },
		{ "DW52", REPORT_ALARM_LOW_BATTERY, -1 },
		{ "ZC11", REPORT_ALARM_MOVEMENT, -1 },
		{ "DW31", REPORT_ALARM_MOVEMENT, -1 },
		{ "DW51", REPORT_ALARM_MOVEMENT, -1 },
		{ "ZC17", REPORT_ALARM_REMOVING, -1 },
		{ "DW37", REPORT_ALARM_REMOVING, -1 },
		{ "DW57", REPORT_ALARM_REMOVING, -1 },
		{ "ZC26", REPORT_ALARM_TAMPERING, -1 },
		{ "DW3F", REPORT_ALARM_TAMPERING, -1 },
		{ "DW5F", REPORT_ALARM_TAMPERING, -1 },
		{ "ZC15", 0, 1 }, { "DW35", 0, 1 }, { "DW55", 0, 1 },
		{ "ZC29", 0, 1 }, { "DW42", 0, 1 }, { "DW62", 0, 1 },
		{ "ZC16", 0, 0 }, { "DW36", 0, 0 }, { "DW56", 0, 0 },
		{ "ZC99", 0, -1 }, { "DW30", 0, -1 }, { "DW5A", 0, -1 },
	};
	char buf[160];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *c = cases[i].code;

		if (c[2] == '5')
			snprintf(buf, sizeof buf, "(864123456789012,%s,262,1,4660,17185,0,120318,100000)", c);
		else
			snprintf(buf, sizeof buf, "(864123456789012,%s,120318,A,4807.0380N,01131.0000E,0.00,095800,0.00)", c);
		if (decode_str(buf) != REPORT_OK)
			fail_msg("%s: %s", c, err);
		if (rep.alarms != cases[i].alarm)
			fail_msg("%s: alarms %#x, want %#x", c,
			    (unsigned)rep.alarms, (unsigned)cases[i].alarm);
		if (cases[i].ignition >= 0)
			attr_bool(&rep, "ignition", cases[i].ignition == 1);
		else
			no_attr(&rep, "ignition");
		if (cases[i].alarm == 0)
			attr_str(&rep, "event", c);
		else
			no_attr(&rep, "event");
	}
}

/* ---- Ids (section 2.2) and GPS block quirks (section 2.3) ---- */

static void
test_id_11_digits_and_letters(void **state)
{
	(void)state;
	decode_ok("br00_id11");
	check_fix("07654321098", T095642, true, LAT, LON, 45.3, 87.25);
	check_status_01000000();
	attr_int(&rep, "odometer", 123637);
	assert_int_equal(rep.nattrs, 7);
	assert_int_equal(rpl.len, 0);
	decode_ok("br00_letters");
	check_fix("TRUCK0000042", T095642, true, LAT, LON, 45.3, 87.25);
	attr_int(&rep, "odometer", 123637);
	assert_int_equal(rep.nattrs, 7);
}

static void
test_bp02_glued_imei(void **state)
{
	(void)state;
	decode_ok("bp02_imei");
	/* Fixed layout, so yymmdd: 2017-03-04T09:56:12Z. */
	check_fix("864123456789012", 1488621372000LL, true, LAT, LON, 45.3,
	    87.25);
	assert_int_equal(rep.alarms, 0);
	check_status_01000000();
	attr_int(&rep, "odometer", 123456);
	assert_int_equal(rep.nattrs, 7);
	assert_int_equal(rpl.len, 0);
}

static void
test_out_of_range_dates(void **state)
{
	(void)state;
	/* Month 18 of 2006 is June 2007: 2007-06-01T09:56:42Z. */
	decode_ok("br00_month18");
	check_fix("076543210987", 1180691802000LL, true, LAT, LON, 45.3, 87.25);
	/* Month 0 of 2000 is December 1999: 1999-12-15T09:56:42Z. */
	decode_ok("br00_month00");
	check_fix("076543210987", 945251802000LL, true, LAT, LON, 45.3, 87.25);
}

static void
test_coordinate_forms(void **state)
{
	(void)state;
	decode_ok("br00_5dec");
	check_fix("076543210987", T095642, true, LAT, LON, 45.3, 87.25);
	/* "31.50000S" = 0 deg 31.5 min = 0.525 deg south. */
	decode_ok("br00_nodeg");
	check_fix("076543210987", T095642, true, -0.525, -0.525, 45.3, 87.25);
}

static void
test_speed_without_point_and_trailing_extra(void **state)
{
	(void)state;
	/* "00000" speed, "000000" course, odometer followed by a temperature. */
	assert_int_equal(decode_str("(076543210987BR00180312A4807.0380N01131.0000E0000009564200000001000000L0001E2F5+021.5)"),
	    REPORT_OK);
	check_fix("076543210987", T095642, true, LAT, LON, 0, 0);
	attr_int(&rep, "odometer", 123637);
	/* Seven odometer digits, then a tag. */
	assert_int_equal(decode_str("(076543210987BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L001E2F5T12)"),
	    REPORT_OK);
	attr_int(&rep, "odometer", 123637);
}

static void
test_udp_without_parentheses(void **state)
{
	const struct frame *f = frame_named("br00");

	(void)state;
	assert_int_equal(decode_bytes(f->bytes + 1, f->len - 2), REPORT_OK);
	check_fix("076543210987", T095642, true, LAT, LON, 45.3, 87.25);
	attr_int(&rep, "odometer", 123637);
}

static void
test_unknown_command_with_gps_block(void **state)
{
	(void)state;
	assert_int_equal(decode_str("(076543210987BR02180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)"),
	    REPORT_OK);
	check_fix("076543210987", T095642, true, LAT, LON, 45.3, 87.25);
	assert_int_equal(rep.alarms, 0);
	assert_int_equal(decode_str("(076543210987BP12180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)"),
	    REPORT_OK);
	check_fix("076543210987", T095642, true, LAT, LON, 45.3, 87.25);
	assert_int_equal(rpl.len, 0);
}

/* ---- Malformed input ---- */

static void
expect_error(const char *frame, const char *reason)
{
	if (decode_str(frame) != REPORT_ERROR)
		fail_msg("accepted: %s", frame);
	if (strcmp(err, reason) != 0)
		fail_msg("%s: reason \"%s\", want \"%s\"", frame, err, reason);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("()", "tk103: empty message");
	expect_error("", "tk103: empty message");
	expect_error("(hello)", "tk103: no device id and command code");
	expect_error("(076543210987BR00180312A4807.0380N01131.0000E045.3)",
	    "tk103: BR00: truncated GPS block");
	assert_string_equal(rep.device, "076543210987");
	expect_error("(076543210987BR00180312A4807.0380X01131.0000E045.3095642087.2501000000L0001E2F5)",
	    "tk103: BR00: bad latitude hemisphere");
	expect_error("(076543210987BR00180312A4807.0380N01131.0000E0x5.3095642087.2501000000L0001E2F5)",
	    "tk103: BR00: bad speed");
	expect_error("(076543210987BR00180312A4807.0380N01131.0000E045.30956x2087.2501000000L0001E2F5)",
	    "tk103: BR00: bad time");
	expect_error("(076543210987BR00hello)", "tk103: BR00: no GPS block");
	expect_error("(076543210987XX99hello)", "tk103: unknown command XX99");
	assert_string_equal(rep.device, "076543210987");
	assert_int_equal(rep.nattrs, 0);
	expect_error("(076543210987BO01180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)",
	    "tk103: BO01: bad alarm code");
	expect_error("(076543210987BV001HGCM8263)", "tk103: BV00: VIN too short");
	expect_error("(076543210987BS50000000)", "tk103: BS50: payload too short");
	expect_error("(076543210987BS5190:0215)", "tk103: BS51: short group 90");
	expect_error("(076543210987BZ00,262,01,zz,abcd)", "tk103: BZ00: bad cell");
	expect_error("(864123456789012,ZC20,120318,095900,5,398)",
	    "tk103: ZC20: bad battery fields");
	expect_error("(864123456789012,ZC25,120318,A,4807.0380N)",
	    "tk103: ZC25: truncated GPS block");
	expect_error("(864123456789012,ZC03,120318,100500)",
	    "tk103: ZC03: missing text");
	expect_error("(864123456789012,DW53,262,1,4660,17185,2,AA:BB:CC:DD:EE:01*-70*6,120318,100000)",
	    "tk103: DW53: bad WiFi entry");
	/* An empty RSSI is not a number: refused, never read uninitialised. */
	expect_error("(864123456789012,DW53,262,1,4660,17185,1,AA:BB:CC:DD:EE:01**6,120318,100000)",
	    "tk103: DW53: bad WiFi entry");
}

/* Checks one decode of arbitrary bytes: a valid result and a tidy reason. */
static void
check_any(const char *s, size_t n)
{
	int rc = decode_bytes(s, n);

	assert_true(rc == REPORT_OK || rc == REPORT_NONE || rc == REPORT_ERROR);
	if (rc == REPORT_ERROR) {
		assert_memory_equal(err, "tk103: ", 7);
		assert_null(strchr(err, '\n'));
	}
	assert_true(rep.nattrs >= 0 && rep.nattrs <= REPORT_MAX_ATTRS);
	assert_true(rpl.len <= REPORT_REPLY_MAX);
}

/* Every prefix of every example, from empty to whole. */
static void
test_every_prefix(void **state)
{
	const struct frame *br00 = frame_named("br00");

	(void)state;
	for (size_t i = 0; i < NFRAMES; i++) {
		for (size_t n = 0; n <= frames[i].len; n++)
			check_any(frames[i].bytes, n);
	}
	/*
	 * A BR00 cut anywhere from its command code to the end of the time
	 * (byte 56) is an error; a cut inside the course or later can still
	 * be a BQ81-style block, which is a record.
	 */
	for (size_t n = 17; n <= 56; n++) {
		if (decode_bytes(br00->bytes, n) != REPORT_ERROR)
			fail_msg("prefix of %zu bytes accepted", n);
		assert_string_equal(rep.device, "076543210987");
	}
}

/* Every byte of every example replaced by each of a few tricky bytes. */
static void
test_every_mutation(void **state)
{
	static const char subst[] = { '\0', ',', 'L', 'A', 'V', '(', ')', '{',
	    '}', '$', '*', '.', ' ', '9', 'F', '\n', (char)0xff };
	char buf[512];

	(void)state;
	for (size_t i = 0; i < NFRAMES; i++) {
		assert_true(frames[i].len <= sizeof buf);
		for (size_t k = 0; k < frames[i].len; k++) {
			for (size_t j = 0; j < sizeof subst; j++) {
				memcpy(buf, frames[i].bytes, frames[i].len);
				buf[k] = subst[j];
				check_any(buf, frames[i].len);
			}
		}
	}
}

/* The largest records still format into SPEC fields. */
static void
test_records_format(void **state)
{
	static struct report_fields fields;

	(void)state;
	decode_ok("bs50");
	assert_int_equal(report_format(&rep, &fields), 0);
	decode_ok("dw53");
	assert_int_equal(report_format(&rep, &fields), 0);
}

/* tests/data/tk103/<name>.raw hold exactly the frames above. */
static void
test_data_files(void **state)
{
	char path[256], buf[1024];

	(void)state;
	for (size_t i = 0; i < NFRAMES; i++) {
		FILE *fp;
		size_t n;

		snprintf(path, sizeof path, "tests/data/tk103/%s.raw",
		    frames[i].name);
		if ((fp = fopen(path, "rb")) == NULL)
			fail_msg("cannot open %s", path);
		n = fread(buf, 1, sizeof buf, fp);
		fclose(fp);
		if (n != frames[i].len || memcmp(buf, frames[i].bytes, n) != 0)
			fail_msg("%s differs from the test's frame", path);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bp00),
		cmocka_unit_test(test_bp05),
		cmocka_unit_test(test_br00),
		cmocka_unit_test(test_bo01),
		cmocka_unit_test(test_bo01_codes),
		cmocka_unit_test(test_br00_invalid_south_west),
		cmocka_unit_test(test_status_low_side_and_door),
		cmocka_unit_test(test_br00_spaces_course_variants),
		cmocka_unit_test(test_bq81),
		cmocka_unit_test(test_bq81_types),
		cmocka_unit_test(test_bz00_flat),
		cmocka_unit_test(test_bz00_braces),
		cmocka_unit_test(test_bp05_braces),
		cmocka_unit_test(test_bv00),
		cmocka_unit_test(test_bq86_no_record),
		cmocka_unit_test(test_bs50),
		cmocka_unit_test(test_bs51_big_endian),
		cmocka_unit_test(test_bp05_comma),
		cmocka_unit_test(test_bp05_comma_status),
		cmocka_unit_test(test_zc25_and_dw3e_sos),
		cmocka_unit_test(test_zc15_separate_hemispheres),
		cmocka_unit_test(test_zc20),
		cmocka_unit_test(test_dw53),
		cmocka_unit_test(test_zc03),
		cmocka_unit_test(test_event_mapping),
		cmocka_unit_test(test_id_11_digits_and_letters),
		cmocka_unit_test(test_bp02_glued_imei),
		cmocka_unit_test(test_out_of_range_dates),
		cmocka_unit_test(test_coordinate_forms),
		cmocka_unit_test(test_speed_without_point_and_trailing_extra),
		cmocka_unit_test(test_udp_without_parentheses),
		cmocka_unit_test(test_unknown_command_with_gps_block),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_every_mutation),
		cmocka_unit_test(test_records_format),
		cmocka_unit_test(test_data_files),
	};

	return cmocka_run_group_tests_name("ingest/tk103", tests, NULL,
	    support_release);
}
