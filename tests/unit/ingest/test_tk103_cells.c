/*
 * Unit tests for ingest/tk103_cells.c: the braces cell groups, the flat
 * BZ00 cell and the DW5x cell and WiFi list (protocols/TK103.md section
 * 2), called on message bodies as tk103.c hands them over.  Expected
 * lists written by hand (hex LAC/CID converted to decimal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest/report.h"
#include "ingest/tk103_cells.h"

static struct report r;
static char *body;

/* A heap copy of exactly strlen(s) bytes (asan sees overreads). */
static const char *
copy(const char *s)
{
	free(body);
	body = malloc(strlen(s) > 0 ? strlen(s) : 1);
	assert_non_null(body);
	memcpy(body, s, strlen(s));
	report_init(&r, REPORT_PROTO_TK103, 1);
	return body;
}

static const char *
braces(const char *s)
{
	const char *b = copy(s);

	return tk103_cells_braces(b, b + strlen(s), &r);
}

static const char *
bz00(const char *s)
{
	const char *b = copy(s);

	return tk103_cells_bz00(b, b + strlen(s), &r);
}

static const char *
dw5(const char *s, struct tk103_cells_dw5 *d)
{
	const char *b = copy(s);

	return tk103_cells_dw5(b, b + strlen(s), d);
}

static void
check_attr(int i, const char *key, const char *want)
{
	assert_true(i < r.nattrs);
	assert_string_equal(r.attrs[i].key, key);
	assert_int_equal(r.attrs[i].type, REPORT_ATTR_STR);
	assert_int_equal(r.attrs[i].len, strlen(want));
	assert_memory_equal(r.attrs[i].s, want, strlen(want));
}

static void
test_braces(void **state)
{
	(void)state;
	assert_null(braces("{262,1,4660,43981}\n{262,1,4660,43982}\r\n,00000000"));
	assert_int_equal(r.nattrs, 1);
	check_attr(0, "cells", "262,1,4660,43981;262,1,4660,43982");
	/* Leading separators are skipped too. */
	assert_null(braces(", {1,2,3,4}"));
	check_attr(0, "cells", "1,2,3,4");
}

static void
test_braces_rejects(void **state)
{
	(void)state;
	assert_string_equal(braces(""), "no cell");
	assert_string_equal(braces(",00000000"), "no cell");
	assert_string_equal(braces("{262,1,4660"), "unterminated cell");
	assert_string_equal(braces("{262,1,4660}"), "bad cell");
	assert_string_equal(braces("{262,1,4660,1,5}"), "bad cell");
	assert_string_equal(braces("{262,1,x,1}"), "bad cell");
	assert_int_equal(r.nattrs, 0);
}

static void
test_braces_bound(void **state)
{
	char big[70 * 19 + 1];
	size_t n = 0;

	(void)state;
	/*
	 * "262,1,4660,43981" is 16 bytes, 17 with its ';': 16 + 59 * 17 =
	 * 1019 bytes hold 60 entries, a 61st would need 1036 > 1024.
	 */
	for (int i = 0; i < 70; i++) {
		memcpy(big + n, "{262,1,4660,43981}", 18);
		n += 18;
		big[n++] = '\n';
	}
	big[n] = '\0';
	assert_null(braces(big));
	assert_int_equal(r.attrs[0].len, 1019);
	assert_memory_equal(r.attrs[0].s + 1019 - 17, ";262,1,4660,43981",
	    17);
}

static void
test_bz00_flat(void **state)
{
	(void)state;
	/* 0x1234 = 4660, 0xabcd = 43981; the second cell is not read. */
	assert_null(bz00(",262,01,1234,abcd,1234,abce"));
	assert_int_equal(r.nattrs, 1);
	check_attr(0, "cells", "262,1,4660,43981");
	assert_null(bz00("262,1,ff,10"));
	check_attr(0, "cells", "262,1,255,16");
	/* 8 hex digits at most: 0xFFFFFFFF = 4294967295. */
	assert_null(bz00("1,2,FFFFFFFF,0"));
	check_attr(0, "cells", "1,2,4294967295,0");
	assert_string_equal(bz00("1,2,123456789,1"), "bad cell");
	assert_string_equal(bz00("1,2,zz,1"), "bad cell");
	assert_string_equal(bz00("1,2,3"), "bad cell");
	assert_string_equal(bz00(",x,2,3,4"), "bad cell");
}

static void
test_dw5(void **state)
{
	struct tk103_cells_dw5 d;

	(void)state;
	assert_null(dw5("262,1,4660,17185,2,AA:BB:CC:DD:EE:01*-70*6,"
	    "AA:BB:CC:DD:EE:02*-81*11,120318,100000", &d));
	/* 2018-03-12 is 1520812800 s; 10:00:00 adds 36000 s. */
	assert_true(d.time_ms == (1520812800LL + 36000) * 1000);
	tk103_cells_dw5_apply(&d, &r);
	assert_int_equal(r.nattrs, 2);
	check_attr(0, "cells", "262,1,4660,17185");
	check_attr(1, "wifi",
	    "AA:BB:CC:DD:EE:01,-70,6;AA:BB:CC:DD:EE:02,-81,11");
	/* No access point: no "wifi". */
	assert_null(dw5("262,1,4660,17185,0,120318,100000", &d));
	tk103_cells_dw5_apply(&d, &r);
	assert_int_equal(r.nattrs, 1);
	check_attr(0, "cells", "262,1,4660,17185");
}

static void
test_dw5_rejects(void **state)
{
	struct tk103_cells_dw5 d;

	(void)state;
	assert_string_equal(dw5("262,1,4660", &d), "bad cell");
	assert_string_equal(dw5("262,1,4660,17185,x,120318,100000", &d),
	    "bad WiFi count");
	assert_string_equal(dw5("262,1,4660,17185,2,A*-70*6", &d),
	    "truncated WiFi list");
	/* The count says 2: the date is read as the second entry. */
	assert_string_equal(dw5("262,1,4660,17185,2,A*-70*6,120318,100000",
	    &d), "bad WiFi entry");
	assert_string_equal(dw5("262,1,4660,17185,1,*-70*6,120318,100000",
	    &d), "bad WiFi entry");
	assert_string_equal(dw5("262,1,4660,17185,1,A;B*-70*6,120318,100000",
	    &d), "bad WiFi entry");
	assert_string_equal(dw5("262,1,4660,17185,1,A*-70,120318,100000",
	    &d), "bad WiFi entry");
	assert_string_equal(dw5("262,1,4660,17185,1,A*-70*6,1203,100000",
	    &d), "bad date or time");
	assert_string_equal(dw5("262,1,4660,17185,1,A*-70*6,120318", &d),
	    "bad date or time");
}

static int
teardown(void **state)
{
	(void)state;
	free(body);
	body = NULL;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_braces),
		cmocka_unit_test(test_braces_rejects),
		cmocka_unit_test(test_braces_bound),
		cmocka_unit_test(test_bz00_flat),
		cmocka_unit_test(test_dw5),
		cmocka_unit_test(test_dw5_rejects),
	};

	return cmocka_run_group_tests_name("ingest/tk103_cells", tests, NULL,
	    teardown);
}
