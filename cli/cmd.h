/*
 * cmd.h: what every `geoalarm` subcommand shares: its table entry, flag
 * parsing with SPEC's exit statuses, one-line errors, and small parsers.
 *
 * Each subcommand is one file (cmd_fence.c, cmd_alerts.c, ...) exporting
 * one `const struct cmd_entry`; cli/main.c lists them in its table and
 * dispatches on argv[1].  A subcommand's exec gets argv from its own name
 * on (argv[0] = "fence") and returns the exit status: CMD_OK, CMD_FAIL
 * (the operation failed: Redis unreachable, an invalid fence, ...) or
 * CMD_USAGE (unknown flag, missing or extra argument), having printed one
 * line to stderr for the last two.
 */
#ifndef GA_CLI_CMD_H
#define GA_CLI_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/conf.h"

#define CMD_OK 0
#define CMD_FAIL 1
#define CMD_USAGE 2

#define CMD_ERR_LEN 512

struct cmd_entry {
	const char *name;		/* "fence" */
	const char *synopsis;		/* usage line after "geoalarm" */
	const char *about;		/* one sentence for the command list */
	int (*exec)(int argc, char **argv);
};

/*
 * Parses a subcommand's flags (spec's table plus the common ones) and
 * checks its operand count: between min and max (max < 0: no limit).
 * Returns -1 when the command should run (*first is then the index of
 * the first operand in argv, and the log level is set), else the exit
 * status to return at once: CMD_OK after --help or --version, CMD_USAGE
 * after printing one line naming the bad flag or the missing or extra
 * argument.  names lists the operands for "missing NAME" messages
 * (NULL-terminated; may be NULL).
 */
int cmd_flags(const struct conf_spec *spec, struct conf_common *common,
    int argc, char **argv, int min, int max, const char *const *names,
    int *first);

/* Prints "<prog>: <message>" on stderr, one line, and returns CMD_FAIL. */
int cmd_fail(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "<prog>: <message>" on stderr, one line, and returns CMD_USAGE. */
int cmd_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Parses a duration: a positive integer with a unit s, m, h or d ("30s",
 * "15m", "1h", "2d") into milliseconds.  Returns 0, or -1 with a reason.
 */
int cmd_parse_duration(const char *s, int64_t *ms, char *err, size_t errlen);

/*
 * Formats epoch milliseconds as "2026-11-23T02:10:44Z" (UTC) into dst
 * (size >= 21).  Returns dst.
 */
char *cmd_iso_time(int64_t ms, char *dst, size_t size);

#endif
