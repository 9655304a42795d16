/*
 * cmd_check.c: `geoalarm check rules.lua`, the offline lint of a rules
 * file (no Redis).  The loading and self-check are the rules module's
 * (rules/check.c), the same the engine runs before a file goes live.
 */
#include <stdio.h>

#include "cli/cmd.h"
#include "rules/check.h"

static int
cmd_check_exec(int argc, char **argv)
{
	static const char *const names[] = { "RULES.lua", NULL };
	struct conf_common common;
	struct conf_spec spec = {
		.prog = "geoalarm check",
		.synopsis = "[flags] RULES.lua",
		.about = "Loads a rules file in the sandbox and runs every rule "
		    "once on a sample position, without Redis.",
	};
	int first, rc;

	if ((rc = cmd_flags(&spec, &common, argc, argv, 1, 1, names,
	    &first)) >= 0)
		return rc;
	/* check_file prints "<path>: ok (...)" or one line per problem. */
	rc = check_file(argv[first], stdout);
	if (fflush(stdout) != 0)
		return cmd_fail(spec.prog, "cannot write the output");
	return rc == 0 ? CMD_OK : CMD_FAIL;
}

const struct cmd_entry cmd_check_entry = {
	.name = "check",
	.synopsis = "check RULES.lua",
	.about = "load and lint a rules file without Redis",
	.exec = cmd_check_exec,
};
