/*
 * main.c: the `geoalarm` command: finds the subcommand in the table and
 * runs it.  Each subcommand lives in its own cmd_<name>.c and exports one
 * `const struct cmd_entry`; adding one is a file and a line here.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "lib/log.h"

extern const struct cmd_entry cmd_alerts_entry;
extern const struct cmd_entry cmd_check_entry;
extern const struct cmd_entry cmd_command_entry;
extern const struct cmd_entry cmd_decode_entry;
extern const struct cmd_entry cmd_devices_entry;
extern const struct cmd_entry cmd_fence_entry;

static const struct cmd_entry *const cmd_table[] = {
	&cmd_fence_entry,
	&cmd_alerts_entry,
	&cmd_decode_entry,
	&cmd_command_entry,
	&cmd_devices_entry,
	&cmd_check_entry,
	NULL,
};

static void
usage(FILE *fp)
{
	const struct cmd_entry *const *e;

	fprintf(fp, "usage: geoalarm COMMAND [flags] [args]\n\ncommands:\n");
	for (e = cmd_table; *e != NULL; e++)
		fprintf(fp, "  %-52s %s\n", (*e)->synopsis, (*e)->about);
	fprintf(fp, "\nEvery command takes --redis URL (default "
	    "$GEOALARM_REDIS, else redis://127.0.0.1:6379;\nunix:///path "
	    "works too), --prefix P (default geoalarm) and --help.\n"
	    "Exit status: 0 ok, 1 the operation failed, 2 bad usage.\n");
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	const struct cmd_entry *const *e;

	log_set_name("geoalarm");
	/* A Redis that goes away must be an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		fprintf(stderr, "geoalarm: missing command (see "
		    "geoalarm --help)\n");
		return CMD_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CMD_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("geoalarm %s\n", CONF_VERSION);
		return CMD_OK;
	}
	for (e = cmd_table; *e != NULL; e++)
		if (strcmp(argv[1], (*e)->name) == 0)
			return (*e)->exec(argc - 1, argv + 1);
	fprintf(stderr, "geoalarm: unknown command '%s' (see geoalarm "
	    "--help)\n", argv[1]);
	return CMD_USAGE;
}
