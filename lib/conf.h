/*
 * conf.h: command-line flags declared as data.
 *
 * A binary describes its flags in a `struct conf_opt` table (name, type,
 * bounds, default, help, where the value goes); conf_parse drives
 * getopt_long from the table, fills the values, applies defaults (from an
 * environment variable first, when the entry names one), and generates
 * --help from the same table.  The flags every binary shares (--redis,
 * --prefix, --log-level, --help, --version) are added by conf_parse itself
 * and land in a `struct conf_common`.
 *
 * Nothing here exits: conf_parse returns and the caller decides (SPEC: a bad
 * flag is one line naming it, exit status 2).  Also here: the parser for
 * Redis URLs (redis://[:password@]host[:port][/db], unix:///path[?db=N]).
 */
#ifndef GA_LIB_CONF_H
#define GA_LIB_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_VERSION "0.1.0"
#define CONF_ERR_LEN 256
#define CONF_HOST_MAX 256
#define CONF_PATH_MAX 108	/* sun_path of struct sockaddr_un */

/* What a flag holds, and the C type at its offset. */
enum conf_type {
	CONF_STRING,	/* const char *: borrowed from argv, env or def */
	CONF_INT,	/* int64_t, within [min, max] */
	CONF_DOUBLE,	/* double, within [min, max] */
	CONF_BOOL,	/* bool; the flag takes no argument and sets true */
	CONF_ENUM,	/* int: index of the value in `choices` */
	CONF_HOSTPORT,	/* struct conf_hostport */
};

/* HOST:PORT, "[v6]:PORT" or ":PORT" (host then "0.0.0.0"). */
struct conf_hostport {
	char host[CONF_HOST_MAX];
	int port;
};

/*
 * One flag.  A table is an array of these ended by an entry whose name is
 * NULL.  offset is where the value lives inside the caller's values struct
 * (use offsetof).  def is the default written as on the command line (NULL:
 * none; a string flag then stays NULL, other types stay as the caller
 * initialised them).  env, when set, names an environment variable that
 * overrides def when it is set and non-empty.  check, when set, validates
 * the text after the type's own checks and writes a one-line reason.
 */
struct conf_opt {
	const char *name;		/* long flag, without "--" */
	enum conf_type type;
	const char *arg;		/* placeholder in --help ("URL", "N") */
	double min, max;		/* CONF_INT, CONF_DOUBLE: inclusive bounds,
				   checked only when min < max */
	const char *def;
	const char *env;
	const char *const *choices;	/* CONF_ENUM: NULL-terminated */
	const char *help;
	size_t offset;
	int (*check)(const char *val, char *err, size_t errlen);
};

/* The flags every binary takes. */
struct conf_common {
	const char *redis;	/* URL, validated with conf_redis_url */
	const char *prefix;	/* key prefix, default "geoalarm" */
	int log_level;		/* enum log_level */
};

/* A binary's flags: its own table and where the values go. */
struct conf_spec {
	const char *prog;	/* "geoalarm-ingest" */
	const char *synopsis;	/* after the name in the usage line */
	const char *about;	/* one sentence for --help */
	const struct conf_opt *opts;	/* may be NULL: common flags only */
	void *values;		/* base of the offsets in opts */
};

/* What conf_parse returns. */
enum conf_result {
	CONF_ERROR = -1,	/* bad flag or value: err names the flag */
	CONF_OK = 0,		/* values filled; run */
	CONF_DONE = 1,		/* --help or --version printed on stdout */
};

/*
 * Parses argv (argv[0] is skipped) against spec's table plus the common
 * flags, filling spec->values and *common.  Defaults are applied first,
 * so a value not given on the command line holds its default.  On
 * CONF_OK, *first_arg is the index in argv of the first operand (getopt
 * permutes operands to the end).  On CONF_ERROR, err holds one line such as
 * "--buffer: 0 is below the minimum 1" or "unknown flag --bufer".  Strings
 * are borrowed from argv, the environment or the table.
 */
int conf_parse(const struct conf_spec *spec, struct conf_common *common,
    int argc, char **argv, int *first_arg, char *err, size_t errlen);

/*
 * conf_parse for a program's main(): prints the error line itself, as
 * "<prog>: <reason>" on stderr.  Returns -1 when the program should run,
 * else the exit status: 0 after --help or --version, 2 on a bad flag.
 */
int conf_parse_main(const struct conf_spec *spec, struct conf_common *common,
    int argc, char **argv, int *first_arg);

/* Writes the usage text generated from the tables to fp. */
void conf_usage(const struct conf_spec *spec, FILE *fp);

/*
 * Parses "HOST:PORT" into *hp.  Returns 0, or -1 with a reason in err.
 */
int conf_parse_hostport(const char *s, struct conf_hostport *hp, char *err,
    size_t errlen);

/* ---- Redis URLs ---- */

struct conf_redis {
	bool unix_socket;		/* true: path is set, host/port are not */
	char host[CONF_HOST_MAX];
	int port;
	char path[CONF_PATH_MAX];
	int db;				/* SELECT index, 0 by default */
	char password[128];		/* AUTH, "" when none */
};

/*
 * Parses a Redis URL: "redis://[[user]:password@]host[:port][/db]" (port
 * 6379 by default; an IPv6 host in brackets) or "unix:///path/redis.sock"
 * with an optional "?db=N".  Returns 0, or -1 with a reason in err.
 */
int conf_redis_url(const char *url, struct conf_redis *out, char *err,
    size_t errlen);

/* A conf_opt check for URL flags: conf_redis_url without the result. */
int conf_check_redis_url(const char *val, char *err, size_t errlen);

#endif
