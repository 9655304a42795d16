/*
 * Unit tests for ingest/tk103_bms.c: the BS50 and BS51 battery-management
 * bodies, decoded on their own.  Expected values are worked out by hand
 * from protocols/TK103.md sections 2.5.1 and 2.5.2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/tk103_bms.h"

#include "tests/unit/ingest/attrs.h"
#include "tests/unit/support.h"

static struct report rep;

static const char *
run(const char *(*fn)(const char *, const char *, struct report *),
    const char *body)
{
	size_t n = strlen(body);
	/* Exactly its length (support_hold): reads past the end show. */
	const char *held = support_hold(body, n);

	report_init(&rep, REPORT_PROTO_TK103, 0);
	return fn(held, held + n, &rep);
}

/* A number within 1e-9 of v, written with that many decimals. */
static void
attr_num_dec(const char *key, double v, int decimals)
{
	assert_int_equal(attr_num(&rep, key, v)->decimals, decimals);
}

/*
 * A BS50 body of 88 bytes, field by field:
 * header 000000, 2 cells, cells 3700 mV (740E) and 3650 mV (420E) then 22
 * unused, charge byte 01 (not charging), current 123 (7B00) = 12.3 A, pack
 * 5120 (0014) = 51.20 V, SOC 0x4B = 75, overheat 01, charge protection 00,
 * discharge protection 02, drop line and balanced 0000, 300 cycles (2C01),
 * fault 07, 6 ignored, 3 probes, power 0x46 = 30 C, equalizer 0x28 = 0 C,
 * probes 0x1E, 0x32, 0x3C = -10, 10, 20 C and 4 unreported FF, capacity
 * 20000 (204E) = 200.00, discharged 0x00012345 (45230100) = 74565.
 */
#define BS50_HEAD  "000000" "02" "740E" "420E"
#define BS50_CELLS "0000000000000000000000000000000000000000" \
		   "0000000000000000000000000000000000000000" "00000000"
#define BS50_TAIL  "01" "7B00" "0014" "4B" "01" "00" "02" "0000" "2C01" \
		   "07" "000000000000" "03" "46" "28" "1E323CFFFFFFFF" \
		   "204E" "45230100"
#define BS50_BODY  BS50_HEAD BS50_CELLS BS50_TAIL

static void
test_bs50_fields(void **state)
{
	(void)state;
	assert_int_equal(strlen(BS50_BODY), 176);
	assert_null(run(tk103_bms_bs50, BS50_BODY));
	attr_num_dec("battery1", 3.7, 3);
	attr_num_dec("battery2", 3.65, 3);
	no_attr(&rep, "battery3");
	attr_bool(&rep, "charge", false);
	attr_num_dec("current", 12.3, 1);
	attr_num_dec("battery", 51.2, 2);
	attr_int(&rep, "battery_level", 75);
	attr_bool(&rep, "overheat", true);
	attr_bool(&rep, "charge_protection", false);
	attr_bool(&rep, "discharge_protection", true);
	attr_int(&rep, "cycles", 300);
	attr_int(&rep, "fault", 7);
	attr_int(&rep, "power_temp", 30);
	attr_int(&rep, "equalizer_temp", 0);
	attr_int(&rep, "battery_temp1", -10);
	attr_int(&rep, "battery_temp2", 10);
	attr_int(&rep, "battery_temp3", 20);
	no_attr(&rep, "battery_temp4");
	attr_num_dec("capacity", 200, 2);
	attr_int(&rep, "discharged", 74565);
	/* Cells, 9 pack fields, 2 board temperatures, probes, capacities. */
	assert_int_equal(rep.nattrs, 2 + 9 + 2 + 3 + 2);
	/* Lower-case hex reads the same. */
	assert_null(run(tk103_bms_bs50, "000000" "02" "740e" "420e"
	    BS50_CELLS BS50_TAIL));
	attr_num_dec("battery1", 3.7, 3);
}

static void
test_bs50_limits(void **state)
{
	char body[200];

	(void)state;
	/* Text past the 88 bytes is not read, even if it is not hex. */
	assert_null(run(tk103_bms_bs50, BS50_BODY "ZZ,1"));
	attr_int(&rep, "discharged", 74565);

	/* 0x30 = 48 cells and 0x09 probes are cut to 24 and 7. */
	memcpy(body, BS50_BODY, 177);
	memcpy(body + 6, "30", 2);
	memcpy(body + 2 * 72, "09", 2);		/* byte 72: probe count */
	assert_null(run(tk103_bms_bs50, body));
	attr_num_dec("battery24", 0, 3);
	no_attr(&rep, "battery25");
	attr_int(&rep, "battery_temp7", 255 - 40);
	no_attr(&rep, "battery_temp8");

	/* One hex digit short, or a bad digit: nothing is added. */
	assert_string_equal(run(tk103_bms_bs50, BS50_HEAD BS50_CELLS),
	    "payload too short");
	assert_int_equal(rep.nattrs, 0);
	memcpy(body, BS50_BODY, 177);
	body[175] = 'G';
	assert_string_equal(run(tk103_bms_bs50, body), "bad hex payload");
	assert_int_equal(rep.nattrs, 0);
	body[175] = '\0';
	assert_string_equal(run(tk103_bms_bs50, body), "payload too short");
	assert_string_equal(run(tk103_bms_bs50, ""), "payload too short");
}

/*
 * 90: 0x01F4 = 500 -> 50.0 V, 0x0064 = 100 -> 10.0 V, 0x74CC = 29900 ->
 *     -10.0 A, 0x03E8 = 1000 -> SOC 100.0 (read big-endian).
 * 93: skipped.
 * 91: 0x0FA0 = 4000 mV at cell 5, 0x0E10 = 3600 mV at cell 12.
 * 92: 0x50 - 40 = 40 C at probe 2, 0x14 - 40 = -20 C at probe 7.
 * 96: frame 1, then 0x28, 0x29: 0 and 1 C.
 */
#define BS51_BODY "90:01F4006474CC03E8,93:FFFF,91:0FA0050e100C," \
		  "92:50021407,96:012829"

static void
test_bs51_groups(void **state)
{
	(void)state;
	assert_null(run(tk103_bms_bs51, BS51_BODY));
	attr_num_dec("battery", 50, 1);
	attr_num_dec("gather_voltage", 10, 1);
	attr_num_dec("current", -10, 1);
	attr_num_dec("battery_level", 100, 1);
	attr_num_dec("max_cell_voltage", 4.0, 3);
	attr_int(&rep, "max_cell", 5);
	attr_num_dec("min_cell_voltage", 3.6, 3);
	attr_int(&rep, "min_cell", 12);
	attr_int(&rep, "max_temp", 40);
	attr_int(&rep, "max_temp_probe", 2);
	attr_int(&rep, "min_temp", -20);
	attr_int(&rep, "min_temp_probe", 7);
	attr_int(&rep, "cell_temp1", 0);
	attr_int(&rep, "cell_temp2", 1);
	no_attr(&rep, "cell_temp3");
	assert_int_equal(rep.nattrs, 14);
	/* Body order is kept: group 90 first. */
	assert_string_equal(rep.attrs[0].key, "battery");
	assert_string_equal(rep.attrs[13].key, "cell_temp2");
}

static void
test_bs51_bad_groups(void **state)
{
	(void)state;
	assert_string_equal(run(tk103_bms_bs51, ""), "bad group");
	assert_string_equal(run(tk103_bms_bs51, "90"), "bad group");
	assert_string_equal(run(tk103_bms_bs51, "9G:00"), "bad group");
	assert_string_equal(run(tk103_bms_bs51, "90-00"), "bad group");
	assert_string_equal(run(tk103_bms_bs51, "93:0"), "bad group");
	assert_string_equal(run(tk103_bms_bs51, "93:0X"), "bad group");
	/* An empty group after a trailing comma is a bad group too, and
	 * the groups before it stay. */
	assert_string_equal(run(tk103_bms_bs51, "92:50021407,"), "bad group");
	attr_int(&rep, "max_temp", 40);
	/* An unknown key with no bytes is fine; a known one is short. */
	assert_null(run(tk103_bms_bs51, "a0:"));
	assert_int_equal(rep.nattrs, 0);
	assert_string_equal(run(tk103_bms_bs51, "92:50021407,90:01F40064"),
	    "short group 90");
	assert_int_equal(rep.nattrs, 4);
	assert_string_equal(run(tk103_bms_bs51, "91:0FA0050E10"),
	    "short group 91");
	assert_string_equal(run(tk103_bms_bs51, "92:500214"),
	    "short group 92");
	assert_string_equal(run(tk103_bms_bs51, "96:"), "short group 96");
	/* Frame number only: no cell temperatures. */
	assert_null(run(tk103_bms_bs51, "96:01"));
	assert_int_equal(rep.nattrs, 0);
}

static void
test_bs51_long_group(void **state)
{
	char body[128];

	(void)state;
	/* 96 with a frame byte and 30 cells: only 24 are reported. */
	strcpy(body, "96:01");
	for (int i = 0; i < 30; i++)
		strcat(body, "2A");		/* 42 - 40 = 2 C */
	assert_null(run(tk103_bms_bs51, body));
	attr_int(&rep, "cell_temp24", 2);
	no_attr(&rep, "cell_temp25");
	assert_int_equal(rep.nattrs, 24);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bs50_fields, support_release),
		cmocka_unit_test_teardown(test_bs50_limits, support_release),
		cmocka_unit_test_teardown(test_bs51_groups, support_release),
		cmocka_unit_test_teardown(test_bs51_bad_groups, support_release),
		cmocka_unit_test_teardown(test_bs51_long_group, support_release),
	};

	return cmocka_run_group_tests_name("ingest/tk103_bms", tests, NULL,
	    NULL);
}
