/*
 * Unit tests for ingest/gps103_alt.c: the OBD record (protocols/TK103.md
 * section 3.6) and the `*` format (section 3.7), called on the text after
 * "imei:" as gps103.c hands it over.  Expected values by hand: times from
 * the calendar (2018-03-12 is 1520812800 s at midnight UTC), OBD hours as
 * milliseconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest/gps103_alt.h"
#include "ingest/report.h"

#define IMEI "864123456789012"
#define MAR12 1520812800LL

static struct report r;
static char err[256];

/* Runs fn on a heap copy of exactly strlen(s) bytes (asan sees overreads). */
static int
run(int (*fn)(const char *, size_t, struct report *, char *, size_t),
    const char *s)
{
	size_t n = strlen(s);
	char *buf = malloc(n > 0 ? n : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, s, n);
	report_init(&r, REPORT_PROTO_GPS103, 1);
	err[0] = '\0';
	rc = fn(buf, n, &r, err, sizeof err);
	/* String attributes borrow from the text: check them before free. */
	if (rc == REPORT_OK) {
		const struct report_attr *a = report_attr(&r, "dtcs");

		if (a != NULL) {
			assert_int_equal(a->len, 11);
			assert_memory_equal(a->s, "P0300 P0171", 11);
		}
		a = report_attr(&r, "name");
		if (a != NULL) {
			assert_int_equal(a->len, 7);
			assert_memory_equal(a->s, "Truck 7", 7);
		}
	}
	free(buf);
	return rc;
}

static const struct report_attr *
attr(const char *key)
{
	return report_attr(&r, key);
}

static void
check_int(const char *key, int64_t want)
{
	const struct report_attr *a = attr(key);

	assert_non_null(a);
	assert_int_equal(a->type, REPORT_ATTR_INT);
	assert_true(a->i == want);
}

static void
check_num(const char *key, double want, int decimals)
{
	const struct report_attr *a = attr(key);

	assert_non_null(a);
	assert_int_equal(a->type, REPORT_ATTR_NUM);
	assert_float_equal(a->d, want, 1e-9);
	assert_int_equal(a->decimals, decimals);
}

static void
test_obd_record(void **state)
{
	(void)state;
	/* Fields: time, odometer, (unused), fuel use, hours, speed, load,
	 * coolant, throttle, rpm, battery, DTCs. */
	assert_int_equal(run(gps103_alt_obd, IMEI ",OBD,180312105612,12345,"
	    "2.50,7.80,120,64,35.5%,+88,12.0%,2150,13.90, P0300,,P0171 ,"),
	    REPORT_OK);
	assert_true(r.has_time);
	/* 10:56:12 is 39372 s into the day. */
	assert_true(r.time_ms == (MAR12 + 39372) * 1000);
	check_int("odometer", 12345);
	check_num("fuel_consumption", 7.8, 2);
	check_int("hours", 120LL * 3600 * 1000);
	check_int("obd_speed", 64);
	check_num("engine_load", 35.5, 1);
	check_int("coolant_temp", 88);
	check_num("throttle", 12.0, 1);
	check_int("rpm", 2150);
	check_num("battery", 13.9, 2);
	assert_non_null(attr("dtcs"));
	assert_false(r.has_fix);
}

static void
test_obd_rejects(void **state)
{
	(void)state;
	assert_int_equal(run(gps103_alt_obd, IMEI ",OBD,180312105612,1,2,3,"
	    "4,64,35.5%,+88,12.0%,2150,"), REPORT_ERROR);
	assert_string_equal(err, "gps103: OBD record without battery");
	assert_int_equal(run(gps103_alt_obd, IMEI ",OBD,181312105612,1,2,3,"
	    "4,64,35.5%,+88,12.0%,2150,13.90"), REPORT_ERROR);
	assert_string_equal(err, "gps103: bad OBD time '181312105612'");
	assert_int_equal(run(gps103_alt_obd, IMEI ",OBD,180312105612,1,2,3,"
	    "4,64,35.5%,x,12.0%,2150,13.90"), REPORT_ERROR);
	assert_string_equal(err, "gps103: bad OBD coolant temperature 'x'");
	assert_int_equal(run(gps103_alt_obd, IMEI ",OBD,180312105612"),
	    REPORT_ERROR);
	assert_string_equal(err, "gps103: OBD record cut short (3 fields)");
}

static void
test_star_report(void **state)
{
	(void)state;
	assert_int_equal(run(gps103_alt_star, IMEI ",Truck 7,---,------,----,"
	    "095612,120318,22,1,48.11730,-11.51667,045,087,0520,0.90,09,1,0,"
	    "---"), REPORT_OK);
	/* 09:56:12 is 35772 s into the day. */
	assert_true(r.time_ms == (MAR12 + 35772) * 1000);
	assert_true(r.has_fix && r.valid);
	assert_float_equal(r.lat, 48.1173, 1e-9);
	assert_float_equal(r.lon, -11.51667, 1e-9);
	assert_float_equal(r.speed, 45.0, 1e-9);
	assert_float_equal(r.course, 87.0, 1e-9);
	check_num("altitude", 520.0, 0);
	check_num("hdop", 0.9, 2);
	check_int("sat", 9);
	check_int("rssi", 22);
	assert_int_equal(attr("ignition")->i, 1);
	assert_int_equal(attr("charge")->i, 0);
	/* Dashes mean absent. */
	assert_null(attr("event"));
	assert_null(attr("sensor_id"));
	assert_null(attr("sensor_voltage"));
	assert_null(attr("error"));
}

static void
test_star_rejects(void **state)
{
	(void)state;
	assert_int_equal(run(gps103_alt_star, IMEI ",n,---,------,----,"
	    "095612,320318,22,1,48.11730,11.51667,045,087,0520,0.90,09,1,1,"
	    "---"), REPORT_ERROR);
	assert_string_equal(err, "gps103: bad date '320318'");
	assert_int_equal(run(gps103_alt_star, IMEI ",n,---,------,----,"
	    "245612,120318,22,1,48.11730,11.51667,045,087,0520,0.90,09,1,1,"
	    "---"), REPORT_ERROR);
	assert_string_equal(err, "gps103: bad time '245612'");
	assert_int_equal(run(gps103_alt_star, IMEI ",n,---,------,----,"
	    "095612,120318,22,1,48,11.51667,045,087,0520,0.90,09,1,1,---"),
	    REPORT_ERROR);
	assert_string_equal(err, "gps103: bad latitude '48'");
	assert_int_equal(run(gps103_alt_star, IMEI ",a,b,c,d,e,f,g,h,i,j,k,l,"
	    "m,n,o,p,q"), REPORT_ERROR);
	assert_string_equal(err, "gps103: `*` report cut short (18 fields)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_obd_record),
		cmocka_unit_test(test_obd_rejects),
		cmocka_unit_test(test_star_report),
		cmocka_unit_test(test_star_rejects),
	};

	return cmocka_run_group_tests_name("ingest/gps103_alt", tests, NULL,
	    NULL);
}
