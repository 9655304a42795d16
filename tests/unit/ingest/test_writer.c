/* Unit tests for ingest/writer.c: the exact Redis commands a frame becomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/outbox.h"
#include "ingest/report.h"
#include "ingest/session.h"
#include "ingest/writer.h"
#include "resptext.h"

/* The commands sent, decoded back from RESP into "arg|arg|…" strings. */
static char cmds[8][8192];
static int ncmds;

/* Decodes one RESP command of len bytes into cmds[ncmds]. */
static void
capture_one(const char *cmd, size_t len)
{
	resp_text(cmd, len, cmds[ncmds]);
	ncmds++;
}

static int
capture(void *arg, const char *buf, const size_t *lens, int n)
{
	(void)arg;
	for (int i = 0; i < n; i++) {
		capture_one(buf, lens[i]);
		buf += lens[i];
	}
	return 0;
}

static struct outbox *ob;
static struct writer *w;

static int
setup(void **state)
{
	(void)state;
	ncmds = 0;
	ob = outbox_new(16, 64, capture, NULL, NULL);
	outbox_connected(ob, true);
	w = writer_new(ob, NULL, "ga", 1000, 0, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	writer_free(w);
	outbox_free(ob);
	return 0;
}

static void
test_report_becomes_xadd_and_hset(void **state)
{
	static const uint8_t raw[] = "(0123\r)";
	struct report r;
	struct session_frame f = { 0 };

	(void)state;
	report_init(&r, REPORT_PROTO_TK103, 1700000000000LL);
	report_set_device(&r, "0123", 4);
	r.has_time = true;
	r.time_ms = 1520848572000LL;
	r.valid = true;
	r.has_fix = true;
	r.lat = 48.1173;
	r.lon = -11.516667;
	r.has_speed = true;
	r.speed = 45.3;
	r.has_course = true;
	r.course = 87.25;
	r.alarms = REPORT_ALARM_SOS;
	report_add_int(&r, "odometer", 123456);
	f.raw = raw;
	f.len = sizeof raw - 1;
	f.proto = SESSION_TK103;
	f.result = REPORT_OK;
	f.report = &r;
	f.device = "0123";
	writer_frame(w, &f, "tcp", "1.2.3.4:5", 1700000000000LL);
	/* Nothing goes out before the batch is handed over. */
	assert_int_equal(ncmds, 0);
	writer_flush(w);
	assert_int_equal(ncmds, 2);
	assert_string_equal(cmds[0],
	    "XADD|ga:positions|MAXLEN|~|1000|*|device|0123|proto|tk103|"
	    "time|1520848572000|valid|1|lat|48.117300|lon|-11.516667|"
	    "speed|45.3|course|87.25|alarm|sos|odometer|123456|"
	    "raw|(0123\\x0d)|recv|1700000000000|transport|tcp|peer|1.2.3.4:5");
	assert_string_equal(cmds[1],
	    "HSET|ga:device:0123|proto|tk103|transport|tcp|peer|1.2.3.4:5|"
	    "last_seen|1700000000000|online|1|time|1520848572000|valid|1|"
	    "lat|48.117300|lon|-11.516667|speed|45.3|course|87.25|alarm|sos|"
	    "odometer|123456");
	/* Both commands are one entry: it leaves when both are answered. */
	assert_int_equal(outbox_len(ob), 1);
}

static void
test_no_alarm_clears_the_device_alarm(void **state)
{
	struct report r;
	struct session_frame f = { 0 };

	(void)state;
	report_init(&r, REPORT_PROTO_GPS103, 1700000000000LL);
	report_set_device(&r, "864123456789012", 15);
	f.raw = (const uint8_t *)"imei:864123456789012,tracker;";
	f.len = strlen((const char *)f.raw);
	f.proto = SESSION_GPS103;
	f.result = REPORT_OK;
	f.report = &r;
	writer_frame(w, &f, "udp", "9.8.7.6:5", 1700000000000LL);
	writer_flush(w);
	assert_int_equal(ncmds, 2);
	assert_string_equal(cmds[1],
	    "HSET|ga:device:864123456789012|proto|gps103|transport|udp|"
	    "peer|9.8.7.6:5|last_seen|1700000000000|online|1|"
	    "time|1700000000000|valid|0|alarm|");
}

static void
test_login_refreshes_the_device_only(void **state)
{
	struct session_frame f = { 0 };
	struct reply rep;

	(void)state;
	reply_set(&rep, "LOAD", 4);
	f.raw = (const uint8_t *)"##,imei:864123456789012,A;";
	f.len = strlen((const char *)f.raw);
	f.proto = SESSION_GPS103;
	f.result = REPORT_NONE;
	f.reply = &rep;
	f.device = "864123456789012";
	writer_frame(w, &f, "tcp", "1.2.3.4:5", 42);
	writer_flush(w);
	assert_int_equal(ncmds, 1);
	assert_string_equal(cmds[0],
	    "HSET|ga:device:864123456789012|proto|gps103|transport|tcp|"
	    "peer|1.2.3.4:5|last_seen|42|online|1");
}

static void
test_reject_is_escaped_and_cut_at_512(void **state)
{
	uint8_t junk[300];
	struct session_frame f = { 0 };
	char want[1024];

	(void)state;
	memset(junk, 0xff, sizeof junk);
	f.raw = junk;
	f.len = sizeof junk;
	f.result = REPORT_ERROR;
	f.error = "bad\nreason";
	f.device = "";
	writer_frame(w, &f, "tcp", "1.2.3.4:5", 42);
	writer_flush(w);
	assert_int_equal(ncmds, 1);
	/* 300 bytes escape to 1200; whole escapes up to 512: 128 of them. */
	strcpy(want, "XADD|ga:rejects|MAXLEN|~|100000|*|peer|1.2.3.4:5|"
	    "transport|tcp|reason|bad\\x0areason|raw|");
	for (int i = 0; i < 128; i++)
		strcat(want, "\\xff");
	assert_string_equal(cmds[0], want);
}

static void
test_offline_and_odd_device_ids(void **state)
{
	(void)state;
	writer_offline(w, "ab\x01 c");
	writer_offline(w, "");
	writer_flush(w);
	assert_int_equal(ncmds, 1);
	assert_string_equal(cmds[0], "HSET|ga:device:ab\\x01 c|online|0");
}

static void
test_command_results(void **state)
{
	static const uint8_t sent[] = "(0123AV010)\r";
	struct writer_result ok = {
		.device = "0123", .command = "engine_stop", .status = "sent",
		.raw = sent, .rawlen = sizeof sent - 1, .id = "1-0",
		.transport = "tcp", .peer = "1.2.3.4:5", .ingest = "h:1:2",
	};
	struct writer_result refused = {
		.device = "0123", .command = "arm", .status = "unsupported",
		.id = "2-0", .reason = "arm: tk103 has no standard form",
		.ingest = "h:1:2",
	};

	(void)state;
	writer_result(w, &ok);
	writer_result(w, &refused);
	writer_flush(w);
	assert_int_equal(ncmds, 2);
	assert_string_equal(cmds[0],
	    "XADD|ga:command-results|MAXLEN|~|100000|*|device|0123|"
	    "command|engine_stop|status|sent|raw|(0123AV010)\\x0d|id|1-0|"
	    "transport|tcp|peer|1.2.3.4:5|ingest|h:1:2");
	assert_string_equal(cmds[1],
	    "XADD|ga:command-results|MAXLEN|~|100000|*|device|0123|"
	    "command|arm|status|unsupported|raw||id|2-0|"
	    "reason|arm: tk103 has no standard form|ingest|h:1:2");
}


/* A TK103 report frame of device id, received at recv_ms (time = recv). */
static void
tk_report(struct report *r, struct session_frame *f, const char *id,
    int64_t recv_ms)
{
	report_init(r, REPORT_PROTO_TK103, recv_ms);
	report_set_device(r, id, strlen(id));
	memset(f, 0, sizeof *f);
	f->raw = (const uint8_t *)"(x)";
	f->len = 3;
	f->proto = SESSION_TK103;
	f->result = REPORT_OK;
	f->report = r;
	f->device = id;
}

static void
test_one_batch_one_hset_per_device(void **state)
{
	struct report a, b, c;
	struct session_frame fa, fb, fc;

	(void)state;
	/* A: a fix, an SOS and an odometer. */
	tk_report(&a, &fa, "0123", 1000);
	a.valid = true;
	a.has_fix = true;
	a.lat = 1;
	a.lon = 2;
	a.alarms = REPORT_ALARM_SOS;
	report_add_int(&a, "odometer", 100);
	/* C: another device in between. */
	tk_report(&c, &fc, "0456", 1500);
	/* B: the first device again, no fix, no alarm. */
	tk_report(&b, &fb, "0123", 2000);
	writer_frame(w, &fa, "tcp", "1.2.3.4:5", 1000);
	writer_frame(w, &fc, "tcp", "1.2.3.4:6", 1500);
	writer_frame(w, &fb, "tcp", "1.2.3.4:5", 2000);
	writer_flush(w);
	assert_int_equal(ncmds, 5);
	assert_true(strncmp(cmds[0], "XADD|ga:positions|MAXLEN|~|1000|*|device|0123|"
	    "proto|tk103|time|1000|", 60) == 0);
	assert_true(strncmp(cmds[1], "XADD|ga:positions|MAXLEN|~|1000|*|device|0456|", 46) == 0);
	assert_string_equal(cmds[2],
	    "HSET|ga:device:0456|proto|tk103|transport|tcp|peer|1.2.3.4:6|"
	    "last_seen|1500|online|1|time|1500|valid|0|alarm|");
	assert_true(strncmp(cmds[3], "XADD|ga:positions|MAXLEN|~|1000|*|device|0123|"
	    "proto|tk103|time|2000|", 60) == 0);
	/*
	 * What HSET A then HSET B leave: B's values where B has the field,
	 * A's lat, lon and odometer where it has not; fields where A put
	 * them.
	 */
	assert_string_equal(cmds[4],
	    "HSET|ga:device:0123|proto|tk103|transport|tcp|peer|1.2.3.4:5|"
	    "last_seen|2000|online|1|time|2000|valid|0|lat|1.000000|"
	    "lon|2.000000|alarm||odometer|100");
	/* One entry per report still. */
	assert_int_equal(outbox_len(ob), 3);
	/* The next batch starts afresh. */
	writer_frame(w, &fb, "tcp", "1.2.3.4:5", 2000);
	writer_flush(w);
	assert_int_equal(ncmds, 7);
	assert_string_equal(cmds[6],
	    "HSET|ga:device:0123|proto|tk103|transport|tcp|peer|1.2.3.4:5|"
	    "last_seen|2000|online|1|time|2000|valid|0|alarm|");
}

static void
test_login_then_report_costs_no_entry(void **state)
{
	struct session_frame login = { 0 };
	struct session_frame f;
	struct report r;

	(void)state;
	login.raw = (const uint8_t *)"##,imei:864123456789012,A;";
	login.len = strlen((const char *)login.raw);
	login.proto = SESSION_GPS103;
	login.result = REPORT_NONE;
	login.device = "864123456789012";
	writer_frame(w, &login, "tcp", "1.2.3.4:5", 41);
	tk_report(&r, &f, "864123456789012", 42);
	r.proto = REPORT_PROTO_GPS103;
	f.proto = SESSION_GPS103;
	writer_frame(w, &f, "tcp", "1.2.3.4:5", 42);
	writer_flush(w);
	assert_int_equal(ncmds, 2);
	assert_string_equal(cmds[1],
	    "HSET|ga:device:864123456789012|proto|gps103|transport|tcp|"
	    "peer|1.2.3.4:5|last_seen|42|online|1|time|42|valid|0|alarm|");
	assert_int_equal(outbox_len(ob), 1);
}

static void
test_offline_after_report_in_one_batch(void **state)
{
	struct session_frame f;
	struct report r;

	(void)state;
	tk_report(&r, &f, "0123", 7);
	writer_frame(w, &f, "tcp", "1.2.3.4:5", 7);
	writer_offline(w, "0123");
	writer_flush(w);
	assert_int_equal(ncmds, 2);
	assert_string_equal(cmds[1],
	    "HSET|ga:device:0123|proto|tk103|transport|tcp|peer|1.2.3.4:5|"
	    "last_seen|7|online|0|time|7|valid|0|alarm|");
	/* The report's entry and the offline one. */
	assert_int_equal(outbox_len(ob), 2);
	/* Back online in the next batch. */
	writer_offline(w, "0123");
	writer_frame(w, &f, "tcp", "1.2.3.4:5", 8);
	writer_flush(w);
	assert_string_equal(cmds[3],
	    "HSET|ga:device:0123|online|1|proto|tk103|transport|tcp|"
	    "peer|1.2.3.4:5|last_seen|8|time|7|valid|0|alarm|");
}

/* A writer whose device hashes are written at most once per 50 ms. */
static int
setup_throttled(void **state)
{
	(void)state;
	ncmds = 0;
	ob = outbox_new(16, 64, capture, NULL, NULL);
	outbox_connected(ob, true);
	w = writer_new(ob, NULL, "ga", 1000, 50, NULL);
	return 0;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void
test_busy_device_hash_waits_and_merges(void **state)
{
	struct report a, b;
	struct session_frame fa, fb;

	(void)state;
	tk_report(&a, &fa, "0123", 1000);
	a.has_speed = true;
	a.speed = 10;
	tk_report(&b, &fb, "0123", 1100);
	b.alarms = REPORT_ALARM_SOS;
	/* First report: the hash is written at once. */
	writer_frame(w, &fa, "tcp", "1.2.3.4:5", 1000);
	writer_flush(w);
	assert_int_equal(ncmds, 2);
	assert_true(strncmp(cmds[1], "HSET|ga:device:0123|", 20) == 0);
	/* The next one within 50 ms: its position goes, the hash waits. */
	writer_frame(w, &fb, "udp", "1.2.3.4:6", 1100);
	writer_flush(w);
	writer_tick(w);
	assert_int_equal(ncmds, 3);
	assert_true(strncmp(cmds[2], "XADD|ga:positions|", 18) == 0);
	assert_int_equal(outbox_len(ob), 2);
	/* Once 50 ms have passed the timer writes what waited: B's fields
	 * only (A's were written already). */
	sleep_ms(60);
	writer_tick(w);
	assert_int_equal(ncmds, 4);
	assert_string_equal(cmds[3],
	    "HSET|ga:device:0123|proto|tk103|transport|udp|peer|1.2.3.4:6|"
	    "last_seen|1100|online|1|time|1100|valid|0|alarm|sos");
	assert_int_equal(outbox_len(ob), 3);
	/* Quiet for 50 ms more: forgotten, so the next report is written at
	 * once again. */
	sleep_ms(60);
	writer_tick(w);
	assert_int_equal(ncmds, 4);
	writer_frame(w, &fa, "tcp", "1.2.3.4:5", 1200);
	writer_flush(w);
	assert_int_equal(ncmds, 6);
	assert_true(strncmp(cmds[5], "HSET|ga:device:0123|", 20) == 0);
}

/* Counts the HSETs handed over (a command is "*N\r\n$4\r\nHSET..."). */
static int hsets;

static int
count_hsets(void *arg, const char *buf, const size_t *lens, int n)
{
	(void)arg;
	for (int i = 0; i < n; i++) {
		const char *p = memchr(buf, '\n', lens[i]);

		if (p != NULL && strncmp(p + 1, "$4\r\nHSET", 8) == 0)
			hsets++;
		buf += lens[i];
	}
	return 0;
}

/*
 * 100 devices whose hashes come due together (they reported together) are
 * written over several timer runs, 32 at most each (the floor, as twice
 * their share of a run, 2, is less), oldest first, and all of them in the
 * end: a burst of HSETs would hold back every report behind it.
 */
static void
test_due_hashes_are_spread_over_ticks(void **state)
{
	struct outbox *box = outbox_new(1000, 1000, count_hsets, NULL, NULL);
	struct writer *wr = writer_new(box, NULL, "ga", 1000, 50, NULL);
	struct report r;
	struct session_frame f;
	char id[16];

	(void)state;
	outbox_connected(box, true);
	hsets = 0;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 100; i++) {
			snprintf(id, sizeof id, "d%03d", i);
			tk_report(&r, &f, id, 1000 + round);
			writer_frame(wr, &f, "tcp", "1.2.3.4:5", 1000 + round);
		}
		writer_flush(wr);
	}
	/* The first reports' hashes went at once; the second ones wait. */
	assert_int_equal(hsets, 100);
	writer_tick(wr);
	assert_int_equal(hsets, 100);
	sleep_ms(60);
	writer_tick(wr);
	assert_int_equal(hsets, 132);
	writer_tick(wr);
	assert_int_equal(hsets, 164);
	writer_tick(wr);
	assert_int_equal(hsets, 196);
	writer_tick(wr);
	assert_int_equal(hsets, 200);
	writer_tick(wr);
	assert_int_equal(hsets, 200);
	writer_free(wr);
	outbox_free(box);
}

static void
test_drain_writes_what_waits(void **state)
{
	struct report a;
	struct session_frame fa;

	(void)state;
	tk_report(&a, &fa, "0123", 1000);
	writer_frame(w, &fa, "tcp", "1.2.3.4:5", 1000);
	writer_flush(w);
	writer_frame(w, &fa, "tcp", "1.2.3.4:5", 1001);
	writer_flush(w);
	assert_int_equal(ncmds, 3);
	/* At shutdown the second report's hash update cannot wait. */
	writer_drain(w);
	assert_int_equal(ncmds, 4);
	assert_true(strncmp(cmds[3], "HSET|ga:device:0123|", 20) == 0);
	assert_non_null(strstr(cmds[3], "|last_seen|1001|"));
}

static void
test_offline_and_heartbeat_do_not_wait(void **state)
{
	struct report a;
	struct session_frame fa, hb = { 0 };

	(void)state;
	tk_report(&a, &fa, "0123", 1000);
	writer_frame(w, &fa, "tcp", "1.2.3.4:5", 1000);
	writer_flush(w);
	/* A position within 50 ms waits... */
	a.has_speed = true;
	a.speed = 5;
	writer_frame(w, &fa, "tcp", "1.2.3.4:5", 1010);
	writer_flush(w);
	assert_int_equal(ncmds, 3);
	/* ...but a heartbeat is written at once, with what waited. */
	hb.raw = (const uint8_t *)"(0123BP00)";
	hb.len = 10;
	hb.proto = SESSION_TK103;
	hb.result = REPORT_NONE;
	hb.device = "0123";
	writer_frame(w, &hb, "tcp", "1.2.3.4:5", 1020);
	writer_flush(w);
	assert_int_equal(ncmds, 4);
	assert_string_equal(cmds[3],
	    "HSET|ga:device:0123|proto|tk103|transport|tcp|peer|1.2.3.4:5|"
	    "last_seen|1020|online|1|time|1000|valid|0|speed|5.0|alarm|");
	/* And so is going offline. */
	writer_offline(w, "0123");
	writer_flush(w);
	assert_int_equal(ncmds, 5);
	assert_string_equal(cmds[4], "HSET|ga:device:0123|online|0");
}

static void
test_pending_counts_the_batch(void **state)
{
	struct report a, b;
	struct session_frame fa, fb;

	(void)state;
	assert_int_equal(writer_pending(w), 0);
	tk_report(&a, &fa, "0123", 1000);
	tk_report(&b, &fb, "0456", 1000);
	writer_frame(w, &fa, "tcp", "1.2.3.4:5", 1000);
	writer_frame(w, &fb, "tcp", "1.2.3.4:6", 1000);
	writer_offline(w, "0456");
	/* Two positions and an offline mark, none in the outbox yet. */
	assert_int_equal(writer_pending(w), 3);
	assert_int_equal(outbox_len(ob), 0);
	writer_flush(w);
	assert_int_equal(writer_pending(w), 0);
	assert_int_equal(outbox_len(ob), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_report_becomes_xadd_and_hset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_alarm_clears_the_device_alarm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_refreshes_the_device_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_is_escaped_and_cut_at_512, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_and_odd_device_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_batch_one_hset_per_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_then_report_costs_no_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_after_report_in_one_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_device_hash_waits_and_merges, setup_throttled, teardown),
		cmocka_unit_test_setup_teardown(test_drain_writes_what_waits, setup_throttled, teardown),
		cmocka_unit_test(test_due_hashes_are_spread_over_ticks),
		cmocka_unit_test_setup_teardown(test_offline_and_heartbeat_do_not_wait, setup_throttled, teardown),
		cmocka_unit_test_setup_teardown(test_pending_counts_the_batch, setup, teardown),
	};

	return cmocka_run_group_tests_name("ingest/writer", tests, NULL, NULL);
}
