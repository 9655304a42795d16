/*
 * Unit tests for ingest/command.c: the exact bytes of every command in both
 * dialects (protocols/TK103.md 2.7 and 3.9, written out by hand here) and
 * the commands that must never reach a device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ingest/command.h"
#include "ingest/report.h"

#define TK_ID "076543210987"
#define IMEI "864123456789012"

static char err[COMMAND_ERR_LEN];

/* Builds the command and asserts it succeeded with exactly `want`. */
static void
expect_bytes(enum report_proto proto, const char *id, const char *name,
    const char *param, const char *want)
{
	struct command_bytes out;
	int rc;

	err[0] = '\0';
	rc = command_build(proto, id, name, param,
	    param != NULL ? strlen(param) : 0, &out, err, sizeof err);
	if (rc != 0)
		fail_msg("%s(%s): refused: %s", name, param ? param : "-", err);
	if (out.len != strlen(want) || memcmp(out.buf, want, out.len) != 0)
		fail_msg("%s(%s): got '%.*s', want '%s'", name,
		    param ? param : "-", (int)out.len, out.buf, want);
}

/* Asserts the command is refused with a reason containing `why`. */
static void
expect_refused(enum report_proto proto, const char *id, const char *name,
    const char *param, const char *why)
{
	struct command_bytes out;

	err[0] = '\0';
	if (command_build(proto, id, name, param,
	    param != NULL ? strlen(param) : 0, &out, err, sizeof err) == 0)
		fail_msg("%s(%s) was accepted: '%.*s'", name, param ? param : "-",
		    (int)out.len, out.buf);
	if (strstr(err, why) == NULL)
		fail_msg("%s(%s): reason '%s' lacks '%s'", name,
		    param ? param : "-", err, why);
}

static void
test_tk103_every_name(void **state)
{
	(void)state;
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_single", NULL,
	    "(076543210987AP00)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_periodic", "60",
	    "(076543210987AR00003C0000)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "stop_tracking", NULL,
	    "(076543210987AR0000000000)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "engine_stop", NULL,
	    "(076543210987AV010)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "engine_resume", NULL,
	    "(076543210987AV011)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "custom", "AA00",
	    "(076543210987AA00)");
	/* An id with letters, as some units use, goes in as it is. */
	expect_bytes(REPORT_PROTO_TK103, "TRUCK0000042", "position_single",
	    NULL, "(TRUCK0000042AP00)");
}

static void
test_tk103_has_no_arm_or_disarm(void **state)
{
	(void)state;
	expect_refused(REPORT_PROTO_TK103, TK_ID, "arm", NULL,
	    "tk103 has no standard form");
	expect_refused(REPORT_PROTO_TK103, TK_ID, "disarm", NULL,
	    "tk103 has no standard form");
}

static void
test_tk103_intervals(void **state)
{
	(void)state;
	/* Seconds as 4 uppercase hex digits: 30 = 0x001E, 90 = 0x005A,
	 * 300 = 0x012C, 3600 = 0x0E10, 7200 = 0x1C20, 65535 = 0xFFFF. */
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_periodic", "30",
	    "(076543210987AR00001E0000)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_periodic", "90",
	    "(076543210987AR00005A0000)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_periodic", "300",
	    "(076543210987AR00012C0000)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_periodic", "3600",
	    "(076543210987AR000E100000)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_periodic", "7200",
	    "(076543210987AR001C200000)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_periodic", "65535",
	    "(076543210987AR00FFFF0000)");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_periodic", "1",
	    "(076543210987AR0000010000)");
	/* 65536 needs a fifth hex digit. */
	expect_refused(REPORT_PROTO_TK103, TK_ID, "position_periodic", "65536",
	    "does not fit 4 hex digits");
}

static void
test_gps103_every_name(void **state)
{
	(void)state;
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_single", NULL,
	    "**,imei:864123456789012,B");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "60",
	    "**,imei:864123456789012,C,01m");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "stop_tracking", NULL,
	    "**,imei:864123456789012,D");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "engine_stop", NULL,
	    "**,imei:864123456789012,J");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "engine_resume", NULL,
	    "**,imei:864123456789012,K");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "arm", NULL,
	    "**,imei:864123456789012,L");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "disarm", NULL,
	    "**,imei:864123456789012,M");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "custom", "H,080",
	    "**,imei:864123456789012,H,080");
}

static void
test_gps103_intervals(void **state)
{
	(void)state;
	/* Hours from 3600 s, minutes from 60 s, else seconds; truncated. */
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "30",
	    "**,imei:864123456789012,C,30s");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "5",
	    "**,imei:864123456789012,C,05s");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "59",
	    "**,imei:864123456789012,C,59s");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "90",
	    "**,imei:864123456789012,C,01m");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "300",
	    "**,imei:864123456789012,C,05m");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "3599",
	    "**,imei:864123456789012,C,59m");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "3600",
	    "**,imei:864123456789012,C,01h");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "7200",
	    "**,imei:864123456789012,C,02h");
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "position_periodic", "356400",
	    "**,imei:864123456789012,C,99h");
	expect_refused(REPORT_PROTO_GPS103, IMEI, "position_periodic", "360000",
	    "does not fit 2 digits");
}

static void
test_bad_params_are_refused(void **state)
{
	static const char *const bad[] = { "0", "-5", "abc", "1.5", " 60",
	    "60 ", "", "99999999999" };

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		expect_refused(REPORT_PROTO_TK103, TK_ID, "position_periodic",
		    bad[i], "not a positive number of seconds");
		expect_refused(REPORT_PROTO_GPS103, IMEI, "position_periodic",
		    bad[i], "not a positive number of seconds");
	}
	expect_refused(REPORT_PROTO_TK103, TK_ID, "position_periodic", NULL,
	    "needs an interval");
	expect_refused(REPORT_PROTO_GPS103, IMEI, "custom", NULL,
	    "needs the text");
	expect_refused(REPORT_PROTO_TK103, TK_ID, "custom", "",
	    "needs the text");
	expect_refused(REPORT_PROTO_GPS103, IMEI, "self_destruct", NULL,
	    "unknown command");
	/* Names are case-sensitive, as the stream carries them. */
	expect_refused(REPORT_PROTO_GPS103, IMEI, "ENGINE_STOP", NULL,
	    "unknown command");
	expect_refused(REPORT_PROTO_TK103, "", "engine_stop", NULL,
	    "no device id");
}

static void
test_custom_text_limits(void **state)
{
	char text[COMMAND_PARAM_MAX + 2];
	char want[COMMAND_PARAM_MAX + 64];

	(void)state;
	memset(text, 'x', COMMAND_PARAM_MAX);
	text[COMMAND_PARAM_MAX] = '\0';
	snprintf(want, sizeof want, "**,imei:%s,%s", IMEI, text);
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "custom", text, want);
	snprintf(want, sizeof want, "(%s%s)", TK_ID, text);
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "custom", text, want);
	text[COMMAND_PARAM_MAX] = 'x';
	text[COMMAND_PARAM_MAX + 1] = '\0';
	expect_refused(REPORT_PROTO_GPS103, IMEI, "custom", text, "longer than");
}

static void
test_unused_param_is_ignored(void **state)
{
	(void)state;
	expect_bytes(REPORT_PROTO_GPS103, IMEI, "engine_stop", "whatever",
	    "**,imei:864123456789012,J");
	expect_bytes(REPORT_PROTO_TK103, TK_ID, "position_single", "1",
	    "(076543210987AP00)");
}

static void
test_check_without_a_device(void **state)
{
	(void)state;
	assert_int_equal(command_check("arm", NULL, 0, err, sizeof err), 0);
	assert_int_equal(command_check("position_periodic", "60", 2, err,
	    sizeof err), 0);
	assert_int_equal(command_check("position_periodic", "x", 1, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "position_periodic"));
	assert_non_null(strstr(err, "'x'"));
	/* Control bytes in a name come back escaped in the reason. */
	assert_int_equal(command_check("bad\nname", NULL, 0, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "bad\\x0aname"));
	assert_null(strchr(err, '\n'));
}

static void
test_takes_param(void **state)
{
	(void)state;
	assert_true(command_takes_param("position_periodic"));
	assert_true(command_takes_param("custom"));
	assert_false(command_takes_param("engine_stop"));
	assert_false(command_takes_param("stop_tracking"));
	assert_false(command_takes_param("arm"));
	assert_false(command_takes_param("self_destruct"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_takes_param),
		cmocka_unit_test(test_tk103_every_name),
		cmocka_unit_test(test_tk103_has_no_arm_or_disarm),
		cmocka_unit_test(test_tk103_intervals),
		cmocka_unit_test(test_gps103_every_name),
		cmocka_unit_test(test_gps103_intervals),
		cmocka_unit_test(test_bad_params_are_refused),
		cmocka_unit_test(test_custom_text_limits),
		cmocka_unit_test(test_unused_param_is_ignored),
		cmocka_unit_test(test_check_without_a_device),
	};

	return cmocka_run_group_tests_name("ingest/command", tests, NULL, NULL);
}
