/*
 * Unit tests for ingest/conn.c: the TCP read path on real loopback sockets
 * (frames across read boundaries, end of stream, resets, a failed reply
 * write, holds), down to the XADDs the outbox is handed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ingest/conn.h"
#include "ingest/outbox.h"
#include "ingest/writer.h"
#include "lib/clock.h"
#include "lib/log.h"

/* What conn.c reads in one go when it keeps nothing: 64 KiB and room for
 * twice --max-frame (2048 here). */
#define READ_SIZE (64 * 1024 + 2 * 2048)
#define MAX_REPORTS 20000

/* The positions handed to the outbox: each XADD's "time", in order. */
static int64_t times[MAX_REPORTS];
static char devices[MAX_REPORTS][24];
static int ntimes;
/* Replies the fake Redis was asked for: none is ever given (the outbox
 * is large enough). */

static struct event_base *base;
static struct outbox *ob;
static struct writer *w;
static struct conn_set *cs;
static int lfd;

/* Decodes RESP command cmd[0..len) into argv (pointers into cmd). */
static int
split(const char *cmd, size_t len, const char **argv, size_t *argl, int max)
{
	const char *p = cmd, *end = cmd + len;
	long n;

	assert_true(*p == '*');
	n = strtol(p + 1, (char **)&p, 10);
	p += 2;
	assert_true(n <= max);
	for (long i = 0; i < n; i++) {
		long l;

		assert_true(*p == '$');
		l = strtol(p + 1, (char **)&p, 10);
		p += 2;
		assert_true(p + l + 2 <= end);
		argv[i] = p;
		argl[i] = (size_t)l;
		p += l + 2;
	}
	return (int)n;
}

static int
capture(void *arg, const char *cmds, const size_t *lens, int n)
{
	(void)arg;
	for (int i = 0; i < n; i++) {
		const char *argv[64];
		size_t argl[64];
		int argc = split(cmds, lens[i], argv, argl, 64);

		cmds += lens[i];
		if (argc < 2 || argl[0] != 4 || memcmp(argv[0], "XADD", 4) != 0 ||
		    argl[1] != 11 || memcmp(argv[1], "t:positions", 11) != 0)
			continue;
		assert_true(ntimes < MAX_REPORTS);
		for (int k = 6; k + 1 < argc; k += 2) {
			if (argl[k] == 4 && memcmp(argv[k], "time", 4) == 0)
				times[ntimes] = strtoll(argv[k + 1], NULL, 10);
			if (argl[k] == 6 && memcmp(argv[k], "device", 6) == 0)
				snprintf(devices[ntimes], sizeof devices[0],
				    "%.*s", (int)argl[k + 1], argv[k + 1]);
		}
		ntimes++;
	}
	return 0;
}

static int
setup(void **state)
{
	struct conn_limits lim = { 2048, 600 };
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int one = 1, big = 1 << 20;

	(void)state;
	/* The outbox says what it never sent at the end: that is all of it
	 * here, on purpose. */
	log_set_level(LOG_ERROR);
	ntimes = 0;
	base = event_base_new();
	ob = outbox_new(100000, 100000, capture, NULL, NULL);
	outbox_connected(ob, true);
	w = writer_new(ob, base, "t", 1000000, 0, NULL);
	cs = conn_set_new(base, w, &lim, NULL);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* Room for everything a test sends before the daemon reads any. */
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	conn_set_free(cs);
	writer_free(w);
	outbox_free(ob);
	event_base_free(base);
	close(lfd);
	return 0;
}

/* A device socket connected to a conn of the set; returns its fd. */
static int
device(void)
{
	struct sockaddr_in sin, peer;
	socklen_t len = sizeof sin, plen = sizeof peer;
	int fd, sfd;

	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	sfd = accept(lfd, (struct sockaddr *)&peer, &plen);
	assert_true(sfd >= 0);
	fcntl(sfd, F_SETFL, fcntl(sfd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	conn_set_accept(cs, sfd, (struct sockaddr *)&peer, (int)plen);
	return fd;
}

static void
nap(void)
{
	struct timespec ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

/* Runs the loop until the set has n connections left and ntimes is at
 * least want (or 5 s went by). */
static void
pump(size_t n, int want)
{
	int64_t deadline = clock_mono_ms() + 5000;

	while (clock_mono_ms() < deadline) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (conn_set_count(cs) == n && ntimes >= want)
			break;
		nap();
	}
	/* And what the last pass queued. */
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Sends buf[0..len) whole from a non-blocking socket, running the loop
 * while the kernel buffers are full. */
static void
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			event_base_loop(base, EVLOOP_NONBLOCK);
			nap();
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Waits until the kernel has handed all fd sent to the other side. */
static void
delivered(int fd)
{
	int64_t deadline = clock_mono_ms() + 5000;
	int queued = 1;

	while (clock_mono_ms() < deadline) {
		assert_int_equal(ioctl(fd, TIOCOUTQ, &queued), 0);
		if (queued == 0)
			return;
		nap();
	}
	fail_msg("bytes not delivered");
}

/* Closes fd with a reset (SO_LINGER 0) rather than a FIN. */
static void
reset_close(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/* The i-th position of device id: 2018-03-12 00:00:00 UTC + i s. */
static size_t
br00(char *buf, const char *id, int i)
{
	return (size_t)sprintf(buf, "(%sBR00180312A4807.0380N01131.0000E045.3"
	    "%02d%02d%02d087.2501000000L0001E2F5)", id, i / 3600 % 24,
	    i / 60 % 60, i % 60);
}

static int64_t
when(int i)
{
	return clock_timegm(2018, 3, 12, 0, 0, 0) + (int64_t)i * 1000;
}

/* Positions 0..n-1 of id, in order, and nothing else. */
static void
assert_positions(const char *id, int n)
{
	int k = 0;

	for (int i = 0; i < ntimes; i++) {
		if (strcmp(devices[i], id) != 0)
			continue;
		assert_int_equal(times[i], when(k));
		k++;
	}
	assert_int_equal(k, n);
}

/* Frames of id 0..n-1, back to back, into a new buffer of *len bytes. */
static char *
frames(const char *id, int n, size_t *len)
{
	char *buf = malloc((size_t)n * 128), *p = buf;

	for (int i = 0; i < n; i++)
		p += br00(p, id, i);
	*len = (size_t)(p - buf);
	return buf;
}

/* ---- Tests ---- */

static void
test_frames_cut_anywhere_arrive_in_order(void **state)
{
	size_t len, off = 0;
	char *buf = frames("076543210987", 3000, &len);
	unsigned seed = 7;
	int fd = device();

	(void)state;
	/* Writes of 1 byte to 70 KiB: frames cut at every kind of place,
	 * reads that end mid-frame and on a frame's last byte. */
	while (off < len) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 8) % 4 == 0 ? 1 + (seed >> 12) % 70000 :
		    1 + (seed >> 12) % 200;
		if (n > len - off)
			n = len - off;
		send_all(fd, buf + off, n);
		off += n;
		if ((seed >> 4) % 3 == 0)
			event_base_loop(base, EVLOOP_NONBLOCK);
	}
	shutdown(fd, SHUT_WR);
	pump(0, 3000);
	assert_int_equal(conn_set_count(cs), 0);
	assert_positions("076543210987", 3000);
	close(fd);
	free(buf);
}

static void
test_frame_ending_on_a_read_boundary(void **state)
{
	char one[128];
	size_t flen = br00(one, "076543210987", 0);

	(void)state;
	/* A frame that ends on the last byte of the first read, one byte
	 * before it and one byte after it. */
	for (int shift = -1; shift <= 1; shift++) {
		size_t len, whole = (READ_SIZE + shift) / flen, pad;
		char *buf = frames("076543210987", (int)whole + 20, &len);
		char *out = malloc(len + READ_SIZE);
		int fd;

		pad = (size_t)(READ_SIZE + shift) - whole * flen;
		/* Blanks between frames are skipped: they only move the
		 * frames' ends. */
		memset(out, ' ', pad);
		memcpy(out + pad, buf, len);
		ntimes = 0;
		fd = device();
		send_all(fd, out, pad + len);
		delivered(fd);
		shutdown(fd, SHUT_WR);
		pump(0, (int)whole + 20);
		assert_positions("076543210987", (int)whole + 20);
		close(fd);
		free(buf);
		free(out);
	}
}

static void
test_last_message_before_end_of_stream(void **state)
{
	static const char login[] = "##,imei:864123456789012,A;";
	static const char tracker[] = "imei:864123456789012,tracker,"
	    "180312105612,,F,095612.000,A,4807.0380,N,01131.0000,E,24.46,87.25";
	int fd = device();

	(void)state;
	/* The last GPS103 message has no terminator: it is decoded at the
	 * end of the stream. */
	send_all(fd, login, sizeof login - 1);
	send_all(fd, tracker, sizeof tracker - 1);
	shutdown(fd, SHUT_WR);
	pump(0, 1);
	assert_int_equal(ntimes, 1);
	assert_string_equal(devices[0], "864123456789012");
	assert_int_equal(times[0], clock_timegm(2018, 3, 12, 9, 56, 12));
	close(fd);
}

static void
test_reset_keeps_what_came_before_it(void **state)
{
	static const char login[] = "##,imei:864123456789012,A;";
	static const char tracker[] = "imei:864123456789012,tracker,"
	    "180312105612,,F,095612.000,A,4807.0380,N,01131.0000,E,24.46,87.25";
	size_t len;
	char *buf = frames("076543210987", 1000, &len);
	int a = device(), b = device();

	(void)state;
	/* Complete frames, then a reset: all of them count. */
	send_all(a, buf, len);
	delivered(a);
	reset_close(a);
	/* An unterminated last message, then a reset: decoded as at the
	 * end of a stream, not lost with the connection. */
	send_all(b, login, sizeof login - 1);
	send_all(b, tracker, sizeof tracker - 1);
	delivered(b);
	reset_close(b);
	pump(0, 1001);
	assert_int_equal(ntimes, 1001);
	assert_positions("076543210987", 1000);
	for (int i = 0; i < ntimes; i++) {
		if (strcmp(devices[i], "864123456789012") == 0)
			assert_int_equal(times[i],
			    clock_timegm(2018, 3, 12, 9, 56, 12));
	}
	free(buf);
}

static void
test_failed_reply_write_keeps_unread_frames(void **state)
{
	static const char hb[] = "(076543210987BP00HSO)";
	size_t len;
	char *buf = frames("076543210987", 2000, &len);
	char *out = malloc(len + sizeof hb);
	int fd = device();

	(void)state;
	/* A heartbeat (answered) and 180 KB of positions, all in the
	 * daemon's socket buffer; one pass reads the first 68 KiB and
	 * queues the reply.  Then the device resets: writing the reply
	 * fails, and the positions it had sent must not go with it. */
	memcpy(out, hb, sizeof hb - 1);
	memcpy(out + sizeof hb - 1, buf, len);
	send_all(fd, out, sizeof hb - 1 + len);
	delivered(fd);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_true(ntimes < 2000);
	reset_close(fd);
	pump(0, 2000);
	assert_int_equal(conn_set_count(cs), 0);
	assert_positions("076543210987", 2000);
	free(buf);
	free(out);
}

static int holds_after;

/* Holds the set after holds_after pieces. */
static void
pace_after(void *arg)
{
	(void)arg;
	if (holds_after > 0 && --holds_after == 0)
		conn_set_hold(cs, true);
}

static void
test_hold_stops_reading_and_resume_goes_on(void **state)
{
	size_t len;
	char *buf = frames("076543210987", 3000, &len);
	char one[128];
	int fd = device(), late, held_at;

	(void)state;
	conn_set_pace(cs, pace_after, NULL);
	holds_after = 1;
	send_all(fd, buf, len);
	delivered(fd);
	for (int i = 0; i < 50; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		nap();
	}
	/* Held after the first piece (1 KiB: about ten frames). */
	assert_true(conn_set_held(cs));
	held_at = ntimes;
	assert_true(held_at > 0 && held_at < 20);
	/* A device connecting meanwhile is not read either. */
	late = device();
	send_all(late, one, br00(one, "076543210900", 0));
	for (int i = 0; i < 50; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		nap();
	}
	assert_int_equal(ntimes, held_at);
	assert_int_equal(conn_set_count(cs), 2);
	/* The device sends nothing more: what was read before the hold
	 * and what waits in the socket are decoded, in order. */
	conn_set_hold(cs, false);
	shutdown(fd, SHUT_WR);
	shutdown(late, SHUT_WR);
	pump(0, 3001);
	assert_positions("076543210987", 3000);
	assert_positions("076543210900", 1);
	assert_true(conn_set_held_seconds(cs) > 0.0);
	close(fd);
	close(late);
	free(buf);
}

static void
test_shutdown_decodes_what_was_read_before_a_hold(void **state)
{
	size_t len;
	char *buf = frames("076543210987", 600, &len);
	int fd = device();

	(void)state;
	conn_set_pace(cs, pace_after, NULL);
	holds_after = 1;
	send_all(fd, buf, len);
	delivered(fd);
	for (int i = 0; i < 20; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		nap();
	}
	assert_true(conn_set_held(cs));
	assert_true(ntimes < 600);
	/* The set goes while held: the bytes it had taken from the socket
	 * (one read: all 600 frames here) are decoded first. */
	conn_set_free(cs);
	cs = NULL;
	writer_flush(w);
	assert_positions("076543210987", 600);
	close(fd);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_frames_cut_anywhere_arrive_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_ending_on_a_read_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_message_before_end_of_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_keeps_what_came_before_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_reply_write_keeps_unread_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_stops_reading_and_resume_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_decodes_what_was_read_before_a_hold, setup, teardown),
	};

	return cmocka_run_group_tests_name("ingest/conn", tests, NULL, NULL);
}
