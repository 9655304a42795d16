/* Unit tests for ingest/outbox.c: order, acknowledgement, re-send, bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/outbox.h"
#include "lib/log.h"

/* What the fake connection was asked to send, in order, one label per
 * command; and how many calls it took. */
static char sent[64][64];
static int nsent;
static int ncalls;
static bool link_up;
/* push() flushes after each entry unless cleared. */
static bool flush_each;

static int
fake_send(void *arg, const char *cmds, const size_t *lens, int n)
{
	(void)arg;
	if (!link_up)
		return -1;
	ncalls++;
	for (int i = 0; i < n; i++) {
		/* Keep the last argument ("<entry>.<command>") as the label. */
		const char *cmd = cmds, *p = cmd + lens[i] - 2, *q;

		while (p > cmd && p[-1] != '\n')
			p--;
		q = cmd + lens[i] - 2;
		snprintf(sent[nsent++], sizeof sent[0], "%.*s", (int)(q - p), p);
		cmds += lens[i];
	}
	return 0;
}

/* Queues an entry of n commands `SET k <id>.<i>`, written out by hand in
 * RESP. */
static void
push(struct outbox *ob, int id, int n)
{
	char bufs[OUTBOX_MAX_CMDS][64];
	struct outbox_cmd cmds[OUTBOX_MAX_CMDS];

	for (int i = 0; i < n; i++) {
		char label[16];
		int len = snprintf(label, sizeof label, "%d.%d", id, i);

		cmds[i].buf = bufs[i];
		cmds[i].len = (size_t)snprintf(bufs[i], sizeof bufs[i],
		    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n", len, label);
	}
	outbox_push(ob, OUTBOX_REPORT, cmds, n);
	if (flush_each)
		outbox_flush(ob);
}

static enum outbox_verdict
reply_ok(struct outbox *ob)
{
	redisReply r = { .type = REDIS_REPLY_STATUS, .str = (char *)"OK", .len = 2 };

	return outbox_reply(ob, &r);
}

static enum outbox_verdict
reply_err(struct outbox *ob, const char *msg)
{
	redisReply r = { .type = REDIS_REPLY_ERROR, .str = (char *)msg,
	    .len = strlen(msg) };

	return outbox_reply(ob, &r);
}

static int
reset(void **state)
{
	(void)state;
	nsent = 0;
	ncalls = 0;
	link_up = false;
	flush_each = true;
	return 0;
}

static void
test_queued_while_down_sent_in_order_when_up(void **state)
{
	struct outbox *ob = outbox_new(10, 100, fake_send, NULL, NULL);
	struct outbox_stats st;

	(void)state;
	push(ob, 1, 1);
	push(ob, 2, 2);
	push(ob, 3, 1);
	assert_int_equal(nsent, 0);
	assert_int_equal(outbox_len(ob), 3);
	link_up = true;
	outbox_connected(ob, true);
	assert_int_equal(nsent, 4);
	/* Queued one after the other: they go out together, in one call. */
	assert_int_equal(ncalls, 1);
	assert_string_equal(sent[0], "1.0");
	assert_string_equal(sent[1], "2.0");
	assert_string_equal(sent[2], "2.1");
	assert_string_equal(sent[3], "3.0");
	reply_ok(ob);
	reply_ok(ob);
	/* Entry 2 has one of its two commands acknowledged: still queued. */
	assert_int_equal(outbox_len(ob), 2);
	reply_ok(ob);
	reply_ok(ob);
	assert_int_equal(outbox_len(ob), 0);
	outbox_stats(ob, &st);
	assert_int_equal(st.pushed, 3);
	assert_int_equal(st.acked, 3);
	assert_int_equal(st.dropped, 0);
	outbox_free(ob);
}

static void
test_unacknowledged_are_resent_after_reconnect(void **state)
{
	struct outbox *ob = outbox_new(10, 100, fake_send, NULL, NULL);
	struct outbox_stats st;

	(void)state;
	link_up = true;
	outbox_connected(ob, true);
	push(ob, 1, 1);
	push(ob, 2, 2);
	push(ob, 3, 1);
	assert_int_equal(nsent, 4);
	reply_ok(ob);		/* 1.0 */
	reply_ok(ob);		/* 2.0 */
	/* The connection dies: hiredis fails what is pending with NULL. */
	outbox_reply(ob, NULL);
	outbox_reply(ob, NULL);
	link_up = false;
	outbox_connected(ob, false);
	push(ob, 4, 1);
	assert_int_equal(nsent, 4);
	nsent = 0;
	ncalls = 0;
	link_up = true;
	outbox_connected(ob, true);
	/* 2.0 was acknowledged and is not sent twice. */
	assert_int_equal(nsent, 3);
	assert_int_equal(ncalls, 3);
	assert_string_equal(sent[0], "2.1");
	assert_string_equal(sent[1], "3.0");
	assert_string_equal(sent[2], "4.0");
	reply_ok(ob);
	reply_ok(ob);
	reply_ok(ob);
	assert_int_equal(outbox_len(ob), 0);
	outbox_stats(ob, &st);
	assert_int_equal(st.resent, 2);
	outbox_free(ob);
}

static void
test_full_outbox_drops_the_oldest(void **state)
{
	struct outbox *ob = outbox_new(3, 100, fake_send, NULL, NULL);
	struct outbox_stats st;

	(void)state;
	for (int i = 1; i <= 5; i++)
		push(ob, i, 1);
	assert_int_equal(outbox_len(ob), 3);
	outbox_stats(ob, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.dropped_reports, 2);
	link_up = true;
	outbox_connected(ob, true);
	assert_int_equal(nsent, 3);
	assert_string_equal(sent[0], "3.0");
	assert_string_equal(sent[1], "4.0");
	assert_string_equal(sent[2], "5.0");
	outbox_free(ob);
}

static void
test_drop_while_in_flight_keeps_replies_aligned(void **state)
{
	struct outbox *ob = outbox_new(2, 100, fake_send, NULL, NULL);

	(void)state;
	link_up = true;
	outbox_connected(ob, true);
	push(ob, 1, 1);
	push(ob, 2, 1);
	push(ob, 3, 1);		/* drops 1, which is in flight */
	assert_int_equal(nsent, 3);
	reply_ok(ob);		/* belongs to 1: ignored */
	assert_int_equal(outbox_len(ob), 2);
	reply_ok(ob);		/* 2 */
	assert_int_equal(outbox_len(ob), 1);
	reply_ok(ob);		/* 3 */
	assert_int_equal(outbox_len(ob), 0);
	outbox_free(ob);
}

static void
test_window_bounds_commands_in_flight(void **state)
{
	struct outbox *ob = outbox_new(10, 3, fake_send, NULL, NULL);

	(void)state;
	link_up = true;
	outbox_connected(ob, true);
	for (int i = 1; i <= 5; i++)
		push(ob, i, 1);
	assert_int_equal(nsent, 3);
	assert_int_equal(outbox_in_flight(ob), 3);
	reply_ok(ob);
	assert_int_equal(nsent, 4);
	assert_string_equal(sent[3], "4.0");
	reply_ok(ob);
	reply_ok(ob);
	reply_ok(ob);
	reply_ok(ob);
	assert_int_equal(nsent, 5);
	assert_int_equal(outbox_len(ob), 0);
	outbox_free(ob);
}

static void
test_errors_transient_and_permanent(void **state)
{
	struct outbox *ob = outbox_new(10, 100, fake_send, NULL, NULL);
	struct outbox_stats st;

	(void)state;
	link_up = true;
	outbox_connected(ob, true);
	push(ob, 1, 1);
	push(ob, 2, 1);
	assert_int_equal(reply_err(ob, "WRONGTYPE Operation against a key"),
	    OUTBOX_CONTINUE);
	/* Refused for good: it leaves the queue, counted. */
	assert_int_equal(outbox_len(ob), 1);
	assert_int_equal(reply_err(ob, "LOADING Redis is loading the dataset"),
	    OUTBOX_RESET);
	assert_int_equal(outbox_len(ob), 1);
	outbox_connected(ob, false);
	nsent = 0;
	outbox_connected(ob, true);
	assert_int_equal(nsent, 1);
	assert_string_equal(sent[0], "2.0");
	reply_ok(ob);
	assert_int_equal(outbox_len(ob), 0);
	outbox_stats(ob, &st);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.acked, 2);
	outbox_free(ob);
}

/*
 * A model of Redis for the random test: what was sent on the current link
 * (the wire), how much of it the server has executed, how many replies
 * the outbox has been given.  Every command is `SET <pad> <entry>.<cmd>`
 * with a pad whose size depends on the label, some larger than a chunk.
 */
#define M_ENTRIES 6000
#define M_BIG (300 * 1024)

struct mcmd {
	int entry, cmd;
};

static struct mcmd m_wire[M_ENTRIES * OUTBOX_MAX_CMDS * 4];
static size_t m_sent, m_done, m_replied;
static int m_exec[M_ENTRIES][OUTBOX_MAX_CMDS];
static int m_last_entry, m_last_cmd;
static bool m_up;
static uint32_t m_rng;
static char *m_buf;

static uint32_t
m_rand(void)
{
	m_rng = m_rng * 1103515245u + 12345u;
	return m_rng >> 8;
}

static size_t
m_pad(int entry, int cmd)
{
	if ((entry * 3 + cmd) % 1013 == 5)
		return M_BIG;
	return (size_t)((entry * 7919 + cmd * 104729) % 2500);
}

/* Writes command cmd of entry into buf; returns its length. */
static size_t
m_command(int entry, int cmd, char *buf)
{
	char label[32];
	size_t pad = m_pad(entry, cmd), n;
	int ll = snprintf(label, sizeof label, "%d.%d", entry, cmd);

	n = (size_t)sprintf(buf, "*3\r\n$3\r\nSET\r\n$%zu\r\n", pad);
	memset(buf + n, 'a' + (entry + cmd) % 26, pad);
	n += pad;
	n += (size_t)sprintf(buf + n, "\r\n$%d\r\n%s\r\n", ll, label);
	return n;
}

static int
model_send(void *arg, const char *cmds, const size_t *lens, int n)
{
	char *want = m_buf + M_BIG + 4096;

	(void)arg;
	if (!m_up)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *p = cmds + lens[i] - 2;
		int entry, cmd;

		while (p[-1] != '\n')
			p--;
		assert_int_equal(sscanf(p, "%d.%d", &entry, &cmd), 2);
		/* The bytes are those pushed, whole. */
		assert_int_equal(lens[i], m_command(entry, cmd, want));
		assert_memory_equal(cmds, want, lens[i]);
		assert_true(m_sent < sizeof m_wire / sizeof m_wire[0]);
		m_wire[m_sent].entry = entry;
		m_wire[m_sent++].cmd = cmd;
		cmds += lens[i];
	}
	return 0;
}

/* The server runs up to k more commands of the wire. */
static void
m_execute(size_t k)
{
	for (; k > 0 && m_done < m_sent; k--, m_done++) {
		struct mcmd *c = &m_wire[m_done];

		if (m_exec[c->entry][c->cmd]++ == 0) {
			/* First runs come in the order pushed. */
			assert_true(c->entry > m_last_entry || (c->entry ==
			    m_last_entry && c->cmd > m_last_cmd));
			m_last_entry = c->entry;
			m_last_cmd = c->cmd;
		}
	}
}

/* Up to k replies of executed commands reach the outbox. */
static void
m_reply(struct outbox *ob, size_t k)
{
	for (; k > 0 && m_replied < m_done; k--) {
		m_replied++;
		reply_ok(ob);
	}
}

static void
m_disconnect(struct outbox *ob)
{
	/* hiredis fails every command still pending with NULL. */
	assert_int_equal(outbox_in_flight(ob), m_sent - m_replied);
	m_up = false;
	while (m_replied < m_sent) {
		m_replied++;
		outbox_reply(ob, NULL);
	}
	outbox_connected(ob, false);
	m_sent = m_done = m_replied = 0;
}

/* One random run; returns the commands sent again after reconnects. */
static uint64_t
random_run(uint32_t seed)
{
	struct outbox *ob = outbox_new(M_ENTRIES, 64, model_send, NULL, NULL);
	struct outbox_stats st;
	int pushed = 0;

	m_buf = malloc(2 * (M_BIG + 4096));
	memset(m_exec, 0, sizeof m_exec);
	m_last_entry = -1;
	m_last_cmd = 0;
	m_sent = m_done = m_replied = 0;
	m_rng = seed;
	m_up = true;
	outbox_connected(ob, true);
	while (pushed < M_ENTRIES) {
		uint32_t r = m_rand() % 100;

		if (r < 50) {
			/* A pass: a few entries, then the flush at its end. */
			for (int k = (int)(m_rand() % 20); k >= 0 &&
			    pushed < M_ENTRIES; k--, pushed++) {
				struct outbox_cmd cmds[OUTBOX_MAX_CMDS];
				char *b = m_buf;
				int n = 1 + (int)(m_rand() % OUTBOX_MAX_CMDS);

				for (int i = 0; i < n; i++) {
					cmds[i].buf = b;
					cmds[i].len = m_command(pushed, i, b);
					b += cmds[i].len;
				}
				outbox_push(ob, OUTBOX_REPORT, cmds, n);
			}
			outbox_flush(ob);
		} else if (r < 75)
			m_execute(m_rand() % 40);
		else if (r < 98)
			m_reply(ob, m_rand() % 40);
		else if (m_up) {
			m_execute(m_rand() % 10);
			m_disconnect(ob);
		} else {
			m_up = true;
			outbox_connected(ob, true);
		}
	}
	if (!m_up) {
		m_up = true;
		outbox_connected(ob, true);
	}
	while (outbox_len(ob) > 0) {
		size_t before = m_replied;

		m_execute(1000);
		m_reply(ob, 1000);
		assert_true(m_replied > before);
	}
	for (int e = 0; e < M_ENTRIES; e++)
		assert_true(m_exec[e][0] > 0);
	outbox_stats(ob, &st);
	assert_int_equal(st.pushed, M_ENTRIES);
	assert_int_equal(st.acked, M_ENTRIES);
	assert_int_equal(st.dropped, 0);
	outbox_free(ob);
	free(m_buf);
	return st.resent;
}

static void
test_random_traffic_loses_nothing(void **state)
{
	uint64_t resent = 0;
	const char *env = getenv("OUTBOX_RANDOM_RUNS");
	int runs = env != NULL ? atoi(env) : 8;

	(void)state;
	log_set_level(LOG_WARN);	/* "sending N queued entries" */
	/* Entries of 1 to 3 commands of up to 2.5 KiB, some larger than a
	 * chunk, pushed in passes, run and answered in random steps, the
	 * link dropped now and then: every command runs, first runs in
	 * order, none dropped. */
	for (int i = 1; i <= runs; i++)
		resent += random_run((uint32_t)i * 2654435761u);
	/* The runs did go through reconnects. */
	assert_true(resent > 0);
}

static void
test_hold_from_three_quarters_to_half(void **state)
{
	(void)state;
	/* --buffer 100000: held from 75,000 queued until 50,000. */
	assert_false(outbox_hold(74999, 100000, true, false));
	assert_true(outbox_hold(75000, 100000, true, false));
	assert_true(outbox_hold(99999, 100000, true, false));
	assert_true(outbox_hold(60000, 100000, true, true));
	assert_true(outbox_hold(50001, 100000, true, true));
	assert_false(outbox_hold(50000, 100000, true, true));
	assert_false(outbox_hold(0, 100000, true, true));
	/* 200: from 150 to 100. */
	assert_false(outbox_hold(149, 200, true, false));
	assert_true(outbox_hold(150, 200, true, false));
	assert_true(outbox_hold(101, 200, true, true));
	assert_false(outbox_hold(100, 200, true, true));
	/* 5: 3.75 rounds up to 4, 2.5 down to 2. */
	assert_false(outbox_hold(3, 5, true, false));
	assert_true(outbox_hold(4, 5, true, false));
	assert_true(outbox_hold(3, 5, true, true));
	assert_false(outbox_hold(2, 5, true, true));
	/* 1: one entry queued is full. */
	assert_false(outbox_hold(0, 1, true, false));
	assert_true(outbox_hold(1, 1, true, false));
	assert_false(outbox_hold(0, 1, true, true));
}

static void
test_never_held_while_redis_is_down(void **state)
{
	(void)state;
	/* Down: the SPEC's rule (read, and drop the oldest when full). */
	assert_false(outbox_hold(75000, 100000, false, false));
	assert_false(outbox_hold(100000, 100000, false, false));
	assert_false(outbox_hold(99999, 100000, false, true));
	assert_false(outbox_hold(1, 1, false, true));
}

static void
test_one_hold_per_fill_and_drain(void **state)
{
	bool held = false;
	int holds = 0, resumes = 0, held_at = -1, resumed_at = -1;

	(void)state;
	/* 0 up to 100 and back down, capacity 100, one entry at a time:
	 * one hold (at 75) and one resume (at 50), not one per entry. */
	for (int q = 0; q <= 200; q++) {
		int queued = q <= 100 ? q : 200 - q;
		bool h = outbox_hold((size_t)queued, 100, true, held);

		if (h && !held) {
			holds++;
			held_at = queued;
		} else if (!h && held) {
			resumes++;
			resumed_at = queued;
		}
		held = h;
	}
	assert_int_equal(holds, 1);
	assert_int_equal(resumes, 1);
	assert_int_equal(held_at, 75);
	assert_int_equal(resumed_at, 50);
}

static void
test_capacity(void **state)
{
	struct outbox *ob = outbox_new(123, 100, fake_send, NULL, NULL);

	(void)state;
	assert_int_equal(outbox_capacity(ob), 123);
	outbox_free(ob);
}

/* Checks each command sent is `SET k <next>.0`, next counting up. */
static int next_label;

static int
counting_send(void *arg, const char *cmds, const size_t *lens, int n)
{
	(void)arg;
	for (int i = 0; i < n; i++) {
		char want[64], label[16];
		int len = snprintf(label, sizeof label, "%d.0", next_label++);
		int wl = snprintf(want, sizeof want,
		    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n", len, label);

		assert_int_equal(lens[i], (size_t)wl);
		assert_memory_equal(cmds, want, (size_t)wl);
		cmds += lens[i];
	}
	return 0;
}

static void
test_many_entries_keep_their_bytes(void **state)
{
	struct outbox *ob = outbox_new(10000, 20000, counting_send, NULL, NULL);
	struct outbox_stats st;

	(void)state;
	/* 30,000 entries of about 40 bytes through a queue of 10,000: the
	 * oldest 20,000 are dropped, the rest go out intact, in order. */
	for (int i = 0; i < 30000; i++)
		push(ob, i, 1);
	outbox_stats(ob, &st);
	assert_int_equal(st.dropped, 20000);
	next_label = 20000;
	outbox_connected(ob, true);
	assert_int_equal(next_label, 30000);
	for (int i = 0; i < 10000; i++)
		reply_ok(ob);
	assert_int_equal(outbox_len(ob), 0);
	/* And again, the memory of the first round reused. */
	for (int i = 30000; i < 40000; i++)
		push(ob, i, 1);
	assert_int_equal(next_label, 40000);
	for (int i = 0; i < 10000; i++)
		reply_ok(ob);
	outbox_stats(ob, &st);
	assert_int_equal(st.acked, 20000);
	outbox_free(ob);
}

static void
test_entries_pushed_together_go_in_one_call(void **state)
{
	struct outbox *ob = outbox_new(10, 5, fake_send, NULL, NULL);

	(void)state;
	link_up = true;
	outbox_connected(ob, true);
	flush_each = false;
	push(ob, 1, 2);
	push(ob, 2, 1);
	push(ob, 3, 1);
	push(ob, 4, 2);
	/* Nothing goes before the flush. */
	assert_int_equal(nsent, 0);
	outbox_flush(ob);
	/* The window (5) takes entries 1 to 3 whole, in one call; 4 waits. */
	assert_int_equal(ncalls, 1);
	assert_int_equal(nsent, 4);
	assert_string_equal(sent[0], "1.0");
	assert_string_equal(sent[1], "1.1");
	assert_string_equal(sent[2], "2.0");
	assert_string_equal(sent[3], "3.0");
	reply_ok(ob);
	reply_ok(ob);
	assert_int_equal(outbox_len(ob), 3);
	assert_int_equal(nsent, 6);
	assert_string_equal(sent[4], "4.0");
	assert_string_equal(sent[5], "4.1");
	outbox_free(ob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_queued_while_down_sent_in_order_when_up, reset),
		cmocka_unit_test_setup(test_unacknowledged_are_resent_after_reconnect, reset),
		cmocka_unit_test_setup(test_full_outbox_drops_the_oldest, reset),
		cmocka_unit_test_setup(test_drop_while_in_flight_keeps_replies_aligned, reset),
		cmocka_unit_test_setup(test_window_bounds_commands_in_flight, reset),
		cmocka_unit_test_setup(test_errors_transient_and_permanent, reset),
		cmocka_unit_test_setup(test_many_entries_keep_their_bytes, reset),
		cmocka_unit_test_setup(test_entries_pushed_together_go_in_one_call, reset),
		cmocka_unit_test(test_random_traffic_loses_nothing),
		cmocka_unit_test(test_hold_from_three_quarters_to_half),
		cmocka_unit_test(test_never_held_while_redis_is_down),
		cmocka_unit_test(test_one_hold_per_fill_and_drain),
		cmocka_unit_test(test_capacity),
	};

	return cmocka_run_group_tests_name("ingest/outbox", tests, NULL, NULL);
}
