/* Unit tests for lib/conf.c: flag tables, defaults, errors, Redis URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conf.h"

struct vals {
	int64_t n;
	double ratio;
	bool flag;
	int color;
	struct conf_hostport addr;
	const char *name;
};

static const char *const colors[] = { "red", "green", "blue", NULL };

static const struct conf_opt opts[] = {
	{ .name = "n", .type = CONF_INT, .arg = "N", .min = 1, .max = 100,
	  .def = "10", .help = "a count", .offset = offsetof(struct vals, n) },
	{ .name = "ratio", .type = CONF_DOUBLE, .min = 0, .max = 1, .def = "0.5",
	  .help = "a ratio", .offset = offsetof(struct vals, ratio) },
	{ .name = "flag", .type = CONF_BOOL, .help = "a switch",
	  .offset = offsetof(struct vals, flag) },
	{ .name = "color", .type = CONF_ENUM, .choices = colors, .def = "green",
	  .help = "a color", .offset = offsetof(struct vals, color) },
	{ .name = "addr", .type = CONF_HOSTPORT, .arg = "HOST:PORT",
	  .def = "0.0.0.0:8888", .help = "an address",
	  .offset = offsetof(struct vals, addr) },
	{ .name = "name", .type = CONF_STRING, .help = "a name",
	  .offset = offsetof(struct vals, name) },
	{ .name = NULL },
};

static struct vals v;
static struct conf_common common;
static char err[CONF_ERR_LEN];

static int
parse(int *first, ...)
{
	struct conf_spec spec = { "prog", "[flags]", "Tests.", opts, &v };
	char *argv[32];
	int argc = 0;
	va_list ap;

	memset(&v, 0, sizeof v);
	memset(&common, 0, sizeof common);
	err[0] = '\0';
	argv[argc++] = (char *)"prog";
	va_start(ap, first);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return conf_parse(&spec, &common, argc, argv, first, err, sizeof err);
}

static int
setup(void **state)
{
	(void)state;
	unsetenv("GEOALARM_REDIS");
	return 0;
}

static void
test_defaults(void **state)
{
	int first;

	(void)state;
	assert_int_equal(parse(&first, NULL), CONF_OK);
	assert_int_equal(first, 1);
	assert_int_equal(v.n, 10);
	assert_true(v.ratio == 0.5);
	assert_false(v.flag);
	assert_int_equal(v.color, 1);
	assert_string_equal(v.addr.host, "0.0.0.0");
	assert_int_equal(v.addr.port, 8888);
	assert_null(v.name);
	assert_string_equal(common.redis, "redis://127.0.0.1:6379");
	assert_string_equal(common.prefix, "geoalarm");
	assert_int_equal(common.log_level, 1);	/* info */
}

static void
test_values_and_operands(void **state)
{
	int first;

	(void)state;
	assert_int_equal(parse(&first, "--n", "42", "file1", "--ratio=0.25",
	    "--flag", "--color", "blue", "--addr", "[::1]:9", "--name", "x",
	    "--prefix", "p", "--log-level", "debug", "--redis",
	    "unix:///tmp/r.sock", "file2", NULL), CONF_OK);
	assert_int_equal(v.n, 42);
	assert_true(v.ratio == 0.25);
	assert_true(v.flag);
	assert_int_equal(v.color, 2);
	assert_string_equal(v.addr.host, "::1");
	assert_int_equal(v.addr.port, 9);
	assert_string_equal(v.name, "x");
	assert_string_equal(common.prefix, "p");
	assert_int_equal(common.log_level, 0);
	assert_string_equal(common.redis, "unix:///tmp/r.sock");
	/* getopt moved the operands to the end, in order. */
	assert_int_equal(first, 17);
}

static void
test_errors_name_the_flag(void **state)
{
	int first;

	(void)state;
	assert_int_equal(parse(&first, "--bogus", NULL), CONF_ERROR);
	assert_string_equal(err, "unknown flag --bogus");
	assert_int_equal(parse(&first, "--bogus=3", NULL), CONF_ERROR);
	assert_string_equal(err, "unknown flag --bogus");
	assert_int_equal(parse(&first, "--n", "0", NULL), CONF_ERROR);
	assert_string_equal(err, "--n: 0 is out of range 1..100");
	assert_int_equal(parse(&first, "--n", "101", NULL), CONF_ERROR);
	assert_int_equal(parse(&first, "--n", "1x", NULL), CONF_ERROR);
	assert_string_equal(err, "--n: '1x' is not an integer");
	assert_int_equal(parse(&first, "--ratio", "2", NULL), CONF_ERROR);
	assert_non_null(strstr(err, "--ratio"));
	assert_int_equal(parse(&first, "--color", "pink", NULL), CONF_ERROR);
	assert_string_equal(err, "--color: 'pink' is not one of red|green|blue");
	assert_int_equal(parse(&first, "--addr", "nowhere", NULL), CONF_ERROR);
	assert_non_null(strstr(err, "--addr"));
	assert_int_equal(parse(&first, "--addr", "h:70000", NULL), CONF_ERROR);
	assert_int_equal(parse(&first, "--n", NULL), CONF_ERROR);
	assert_string_equal(err, "--n: missing value");
	assert_int_equal(parse(&first, "--flag=1", NULL), CONF_ERROR);
	assert_string_equal(err, "--flag: takes no value");
	assert_int_equal(parse(&first, "--redis", "http://x", NULL), CONF_ERROR);
	assert_non_null(strstr(err, "--redis"));
	assert_int_equal(parse(&first, "--log-level", "loud", NULL), CONF_ERROR);
	assert_non_null(strstr(err, "--log-level"));
	assert_int_equal(parse(&first, "-x", NULL), CONF_ERROR);
	assert_string_equal(err, "unknown flag -x");
}

static void
test_environment_default(void **state)
{
	int first;

	(void)state;
	setenv("GEOALARM_REDIS", "redis://db.example:7000/2", 1);
	assert_int_equal(parse(&first, NULL), CONF_OK);
	assert_string_equal(common.redis, "redis://db.example:7000/2");
	/* The flag wins over the environment. */
	assert_int_equal(parse(&first, "--redis", "redis://h", NULL), CONF_OK);
	assert_string_equal(common.redis, "redis://h");
	setenv("GEOALARM_REDIS", "nonsense", 1);
	assert_int_equal(parse(&first, NULL), CONF_ERROR);
	assert_non_null(strstr(err, "$GEOALARM_REDIS"));
	setenv("GEOALARM_REDIS", "", 1);
	assert_int_equal(parse(&first, NULL), CONF_OK);
	assert_string_equal(common.redis, "redis://127.0.0.1:6379");
	unsetenv("GEOALARM_REDIS");
}

static void
test_usage_lists_every_flag(void **state)
{
	struct conf_spec spec = { "prog", "[flags]", "Tests.", opts, &v };
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	(void)state;
	conf_usage(&spec, fp);
	fclose(fp);
	assert_non_null(strstr(text, "usage: prog [flags]\n"));
	assert_non_null(strstr(text, "--n N"));
	assert_non_null(strstr(text, "(default 10) [1..100]"));
	assert_non_null(strstr(text, "--color red|green|blue"));
	assert_non_null(strstr(text, "--addr HOST:PORT"));
	assert_non_null(strstr(text, "--redis URL"));
	assert_non_null(strstr(text, "--prefix P"));
	assert_non_null(strstr(text, "--log-level debug|info|warn|error"));
	assert_non_null(strstr(text, "--help"));
	assert_non_null(strstr(text, "--version"));
	free(text);
}

static void
test_hostport(void **state)
{
	struct conf_hostport hp;

	(void)state;
	assert_int_equal(conf_parse_hostport("127.0.0.1:8888", &hp, err, sizeof err), 0);
	assert_string_equal(hp.host, "127.0.0.1");
	assert_int_equal(hp.port, 8888);
	assert_int_equal(conf_parse_hostport(":0", &hp, err, sizeof err), 0);
	assert_string_equal(hp.host, "0.0.0.0");
	assert_int_equal(hp.port, 0);
	assert_int_equal(conf_parse_hostport("[fe80::1]:65535", &hp, err, sizeof err), 0);
	assert_string_equal(hp.host, "fe80::1");
	assert_int_equal(conf_parse_hostport("host", &hp, err, sizeof err), -1);
	assert_int_equal(conf_parse_hostport("host:", &hp, err, sizeof err), -1);
	assert_int_equal(conf_parse_hostport("host:-1", &hp, err, sizeof err), -1);
	assert_int_equal(conf_parse_hostport("[::1]8", &hp, err, sizeof err), -1);
}

static void
test_redis_urls(void **state)
{
	struct conf_redis r;

	(void)state;
	assert_int_equal(conf_redis_url("redis://127.0.0.1:6379", &r, err, sizeof err), 0);
	assert_false(r.unix_socket);
	assert_string_equal(r.host, "127.0.0.1");
	assert_int_equal(r.port, 6379);
	assert_int_equal(r.db, 0);
	assert_string_equal(r.password, "");
	assert_int_equal(conf_redis_url("redis://cache", &r, err, sizeof err), 0);
	assert_string_equal(r.host, "cache");
	assert_int_equal(r.port, 6379);
	assert_int_equal(conf_redis_url("redis://user:s3cret@cache:7001/4", &r, err,
	    sizeof err), 0);
	assert_string_equal(r.host, "cache");
	assert_int_equal(r.port, 7001);
	assert_int_equal(r.db, 4);
	assert_string_equal(r.password, "s3cret");
	assert_int_equal(conf_redis_url("redis://[::1]", &r, err, sizeof err), 0);
	assert_string_equal(r.host, "::1");
	assert_int_equal(r.port, 6379);
	assert_int_equal(conf_redis_url("unix:///var/run/redis.sock", &r, err,
	    sizeof err), 0);
	assert_true(r.unix_socket);
	assert_string_equal(r.path, "/var/run/redis.sock");
	assert_int_equal(conf_redis_url("unix:///tmp/r.sock?db=3", &r, err, sizeof err), 0);
	assert_string_equal(r.path, "/tmp/r.sock");
	assert_int_equal(r.db, 3);
	assert_int_equal(conf_redis_url("unix://relative.sock", &r, err, sizeof err), -1);
	assert_int_equal(conf_redis_url("http://host", &r, err, sizeof err), -1);
	assert_int_equal(conf_redis_url("redis://", &r, err, sizeof err), -1);
	assert_int_equal(conf_redis_url("redis://h:0", &r, err, sizeof err), -1);
	assert_int_equal(conf_redis_url("redis://h/x", &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "database"));
}

/* conf_parse_main: -1 to run, 0 after --help, 2 on a bad flag. */
static void
test_parse_main(void **state)
{
	struct conf_spec spec = { "prog", "[flags]", "Tests.", opts, &v };
	char *ok[] = { (char *)"prog", (char *)"--prefix", (char *)"x", NULL };
	char *bad[] = { (char *)"prog", (char *)"--no-such-flag", NULL };
	char *help[] = { (char *)"prog", (char *)"--help", NULL };
	FILE *saved = stdout;
	int first;

	(void)state;
	assert_int_equal(conf_parse_main(&spec, &common, 3, ok, &first), -1);
	assert_string_equal(common.prefix, "x");
	assert_int_equal(conf_parse_main(&spec, &common, 2, bad, &first), 2);
	/* --help prints the usage on stdout: keep it out of the test log. */
	stdout = fopen("/dev/null", "w");
	assert_non_null(stdout);
	assert_int_equal(conf_parse_main(&spec, &common, 2, help, &first), 0);
	fclose(stdout);
	stdout = saved;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_main, setup),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values_and_operands),
		cmocka_unit_test(test_errors_name_the_flag),
		cmocka_unit_test(test_environment_default),
		cmocka_unit_test(test_usage_lists_every_flag),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_redis_urls),
	};

	return cmocka_run_group_tests_name("lib/conf", tests, setup, NULL);
}
