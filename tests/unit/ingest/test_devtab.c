/*
 * Unit tests for ingest/devtab.c: finding devices by id, the two queue
 * bounds and which item they drop, queue order, the UDP peer's ttl, TCP
 * links with the ids they go by and the address commands use, and the
 * sweep.  Connections are stand-in pointers: the table never uses them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ingest/devtab.h"

/* A test item: claimed ones may not be dropped. */
struct titem {
	struct devtab_item item;	/* first: a cast finds the titem */
	int n;
	bool claimed;
	bool evicted;
};

static struct devtab *tab;
static char evicted_why[80];
static int nevicted;
static char conn_a, conn_b;	/* stand-ins for two connections */

static bool
t_evictable(const struct devtab_item *it)
{
	return !((const struct titem *)it)->claimed;
}

static void
t_evict(struct devtab_item *it, const char *why, void *arg)
{
	assert_ptr_equal(arg, &tab);
	((struct titem *)it)->evicted = true;
	snprintf(evicted_why, sizeof evicted_why, "%s", why);
	nevicted++;
	devtab_remove(tab, it);
}

static int
setup(void **state)
{
	struct devtab_opts o = {
		.per_device = 2, .pending_max = 3, .udp_ttl_ms = 5000,
		.evictable = t_evictable, .evict = t_evict, .arg = &tab,
	};

	(void)state;
	tab = devtab_new(&o);
	evicted_why[0] = '\0';
	nevicted = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	/* The items lived in the test's frame: the table does not touch
	 * them when freed. */
	devtab_free(tab);
	tab = NULL;
	return 0;
}

/* The n of each item of a device's queue (dev) or the table, in order. */
static void
check_order(const struct devtab_dev *d, const int *want, int nwant)
{
	const struct devtab_item *it;
	int i = 0;

	it = d != NULL ? devtab_dev_first(d) : devtab_first(tab);
	for (; it != NULL; it = d != NULL ? it->dnext : it->next) {
		assert_true(i < nwant);
		assert_int_equal(((const struct titem *)it)->n, want[i]);
		i++;
	}
	assert_int_equal(i, nwant);
}

static void
test_devices_by_id(void **state)
{
	struct devtab_dev *a, *b;
	char id[16];

	(void)state;
	assert_null(devtab_get(tab, "076543210987", false));
	a = devtab_get(tab, "076543210987", true);
	assert_non_null(a);
	assert_ptr_equal(devtab_get(tab, "076543210987", false), a);
	b = devtab_get(tab, "864123456789012", true);
	assert_ptr_not_equal(a, b);
	assert_int_equal(devtab_ndevs(tab), 2);
	/* Past two a bucket the table grows; every device stays found. */
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "dev%d", i);
		devtab_get(tab, id, true);
	}
	assert_int_equal(devtab_ndevs(tab), 3002);
	assert_ptr_equal(devtab_get(tab, "076543210987", false), a);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "dev%d", i);
		assert_non_null(devtab_get(tab, id, false));
	}
	assert_null(devtab_get(tab, "dev3000", false));
}

static void
test_queue_order(void **state)
{
	struct devtab_dev *a = devtab_get(tab, "a", true);
	struct devtab_dev *b = devtab_get(tab, "b", true);
	struct titem it[3] = { { .n = 1 }, { .n = 2 }, { .n = 3 } };
	char err[80];

	(void)state;
	assert_int_equal(devtab_add(tab, &it[0].item, a, err, sizeof err), 0);
	assert_int_equal(devtab_add(tab, &it[1].item, b, err, sizeof err), 0);
	/* An item for no device is in the table only. */
	assert_int_equal(devtab_add(tab, &it[2].item, NULL, err, sizeof err),
	    0);
	assert_int_equal(devtab_pending(tab), 3);
	check_order(NULL, (int[]){ 1, 2, 3 }, 3);
	check_order(a, (int[]){ 1 }, 1);
	check_order(b, (int[]){ 2 }, 1);
	assert_ptr_equal(it[0].item.dev, a);
	assert_null(it[2].item.dev);
	devtab_remove(tab, &it[1].item);
	assert_null(it[1].item.dev);
	check_order(NULL, (int[]){ 1, 3 }, 2);
	check_order(b, NULL, 0);
	assert_int_equal(devtab_pending(tab), 2);
	assert_int_equal(nevicted, 0);
}

static void
test_device_bound(void **state)
{
	struct devtab_dev *a = devtab_get(tab, "a", true);
	struct titem it[4] = { { .n = 1 }, { .n = 2 }, { .n = 3 },
	    { .n = 4 } };
	char err[80];

	(void)state;
	devtab_add(tab, &it[0].item, a, err, sizeof err);
	devtab_add(tab, &it[1].item, a, err, sizeof err);
	/* A third for a: the oldest droppable goes (1 is claimed: 2). */
	it[0].claimed = true;
	assert_int_equal(devtab_add(tab, &it[2].item, a, err, sizeof err), 0);
	assert_true(it[1].evicted);
	assert_false(it[0].evicted);
	assert_string_equal(evicted_why,
	    "too many commands waiting for the device");
	check_order(a, (int[]){ 1, 3 }, 2);
	/* Nothing droppable: the new one is refused. */
	it[2].claimed = true;
	assert_int_equal(devtab_add(tab, &it[3].item, a, err, sizeof err), -1);
	assert_string_equal(err,
	    "the queue of its device holds only claimed commands");
	assert_int_equal(nevicted, 1);
	check_order(a, (int[]){ 1, 3 }, 2);
	assert_int_equal(devtab_pending(tab), 2);
}

static void
test_table_bound(void **state)
{
	struct devtab_dev *a = devtab_get(tab, "a", true);
	struct devtab_dev *b = devtab_get(tab, "b", true);
	struct titem it[5] = { { .n = 1 }, { .n = 2 }, { .n = 3 },
	    { .n = 4 }, { .n = 5 } };
	char err[80];

	(void)state;
	devtab_add(tab, &it[0].item, a, err, sizeof err);
	devtab_add(tab, &it[1].item, b, err, sizeof err);
	devtab_add(tab, &it[2].item, NULL, err, sizeof err);
	/* A fourth in all: the oldest droppable of the table goes. */
	it[0].claimed = true;
	assert_int_equal(devtab_add(tab, &it[3].item, b, err, sizeof err), 0);
	assert_true(it[1].evicted);
	assert_string_equal(evicted_why, "too many commands waiting");
	check_order(NULL, (int[]){ 1, 3, 4 }, 3);
	check_order(b, (int[]){ 4 }, 1);
	it[2].claimed = true;
	it[3].claimed = true;
	assert_int_equal(devtab_add(tab, &it[4].item, a, err, sizeof err), -1);
	assert_string_equal(err, "3 commands held already");
	assert_int_equal(devtab_pending(tab), 3);
}

static void
test_udp_ttl(void **state)
{
	struct devtab_dev *d = devtab_get(tab, "864123456789012", true);
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(5013) };
	struct devtab_endpoint ep;

	(void)state;
	assert_false(devtab_reach(tab, d, 0, &ep));
	assert_false(devtab_reach(tab, NULL, 0, &ep));
	devtab_udp_seen(d, 1000, 7, (const struct sockaddr *)&sin, sizeof sin,
	    REPORT_PROTO_GPS103, "864123456789012", false, "10.0.0.1:5013");
	/* Reachable through 1000 + 5000 ms, not a millisecond later. */
	assert_true(devtab_reach(tab, d, 6000, &ep));
	assert_string_equal(ep.transport, "udp");
	assert_string_equal(ep.peer, "10.0.0.1:5013");
	assert_string_equal(ep.addr, "864123456789012");
	assert_int_equal(ep.proto, REPORT_PROTO_GPS103);
	assert_null(ep.conn);
	assert_int_equal(ep.fd, 7);
	assert_int_equal(ep.salen, sizeof sin);
	assert_int_equal(((const struct sockaddr_in *)ep.sa)->sin_port,
	    htons(5013));
	assert_false(devtab_reach(tab, d, 6001, &ep));
	/* A new datagram renews it. */
	devtab_udp_seen(d, 6001, 7, (const struct sockaddr *)&sin, sizeof sin,
	    REPORT_PROTO_GPS103, "864123456789012", false, "10.0.0.1:5014");
	assert_true(devtab_reach(tab, d, 11001, &ep));
	assert_string_equal(ep.peer, "10.0.0.1:5014");
}

static void
test_link_ids_and_address(void **state)
{
	struct devtab_dev *fixed = devtab_get(tab, "076543210987", true);
	struct devtab_dev *imei = devtab_get(tab, "864123456789012", true);
	struct devtab_link *l = devtab_link_new((struct conn *)&conn_a,
	    "10.0.0.2:40000");
	struct devtab_endpoint ep;

	(void)state;
	/* A fixed-layout frame with both ids, then a comma-layout one. */
	devtab_link_seen(l, REPORT_PROTO_TK103, "076543210987", true);
	devtab_link_attach(l, fixed);
	devtab_link_attach(l, imei);
	devtab_link_seen(l, REPORT_PROTO_TK103, "864123456789012", false);
	assert_true(devtab_reach(tab, imei, 0, &ep));
	assert_string_equal(ep.transport, "tcp");
	assert_ptr_equal(ep.conn, &conn_a);
	assert_string_equal(ep.peer, "10.0.0.2:40000");
	/* The fixed-layout id stays the address, for either device id. */
	assert_string_equal(ep.addr, "076543210987");
	assert_true(devtab_reach(tab, fixed, 0, &ep));
	assert_string_equal(ep.addr, "076543210987");
	/* Closing the connection: neither is reachable over TCP. */
	devtab_link_free(l);
	assert_false(devtab_reach(tab, fixed, 0, &ep));
	assert_false(devtab_reach(tab, imei, 0, &ep));
}

static void
test_link_comma_address_follows(void **state)
{
	struct devtab_dev *d = devtab_get(tab, "864123456789012", true);
	struct devtab_link *l = devtab_link_new((struct conn *)&conn_a, "p");
	struct devtab_endpoint ep;

	(void)state;
	/* Without a fixed-layout frame the last id is the address. */
	devtab_link_seen(l, REPORT_PROTO_GPS103, "111", false);
	devtab_link_seen(l, REPORT_PROTO_GPS103, "864123456789012", false);
	devtab_link_attach(l, d);
	assert_true(devtab_reach(tab, d, 0, &ep));
	assert_string_equal(ep.addr, "864123456789012");
	assert_int_equal(ep.proto, REPORT_PROTO_GPS103);
	devtab_link_free(l);
	devtab_link_free(NULL);
}

static void
test_link_moves_and_bound(void **state)
{
	struct devtab_link *l1 = devtab_link_new((struct conn *)&conn_a, "a");
	struct devtab_link *l2 = devtab_link_new((struct conn *)&conn_b, "b");
	struct devtab_dev *d[DEVTAB_LINK_IDS + 1];
	struct devtab_endpoint ep;
	char id[16];

	(void)state;
	for (int i = 0; i <= DEVTAB_LINK_IDS; i++) {
		snprintf(id, sizeof id, "id%d", i);
		d[i] = devtab_get(tab, id, true);
	}
	/* The device goes where it last showed up. */
	devtab_link_attach(l1, d[0]);
	devtab_link_attach(l2, d[0]);
	assert_true(devtab_reach(tab, d[0], 0, &ep));
	assert_ptr_equal(ep.conn, &conn_b);
	devtab_link_free(l1);
	assert_true(devtab_reach(tab, d[0], 0, &ep));
	assert_ptr_equal(ep.conn, &conn_b);
	/* One id more than a link keeps: the oldest is let go. */
	for (int i = 1; i <= DEVTAB_LINK_IDS; i++)
		devtab_link_attach(l2, d[i]);
	assert_false(devtab_reach(tab, d[0], 0, &ep));
	for (int i = 1; i <= DEVTAB_LINK_IDS; i++)
		assert_true(devtab_reach(tab, d[i], 0, &ep));
	devtab_link_free(l2);
}

static void
test_sweep(void **state)
{
	struct devtab_dev *idle = devtab_get(tab, "idle", true);
	struct devtab_dev *queued = devtab_get(tab, "queued", true);
	struct devtab_dev *linked = devtab_get(tab, "linked", true);
	struct devtab_dev *udp = devtab_get(tab, "udp", true);
	struct devtab_link *l = devtab_link_new((struct conn *)&conn_a, "a");
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct titem it = { .n = 1 };
	char err[80];

	(void)state;
	(void)idle;
	devtab_add(tab, &it.item, queued, err, sizeof err);
	devtab_link_attach(l, linked);
	devtab_udp_seen(udp, 1000, 3, (const struct sockaddr *)&sin,
	    sizeof sin, REPORT_PROTO_TK103, "udp", false, "x");
	devtab_sweep(tab, 6000);
	assert_int_equal(devtab_ndevs(tab), 3);
	assert_null(devtab_get(tab, "idle", false));
	assert_ptr_equal(devtab_get(tab, "queued", false), queued);
	assert_ptr_equal(devtab_get(tab, "linked", false), linked);
	assert_ptr_equal(devtab_get(tab, "udp", false), udp);
	/* The peer's ttl ran out, the queue emptied, the link closed. */
	devtab_remove(tab, &it.item);
	devtab_link_free(l);
	devtab_sweep(tab, 6001);
	assert_int_equal(devtab_ndevs(tab), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_devices_by_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_queue_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_device_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_table_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_udp_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_ids_and_address,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_comma_address_follows,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_moves_and_bound,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	};

	return cmocka_run_group_tests_name("ingest/devtab", tests, NULL,
	    NULL);
}
