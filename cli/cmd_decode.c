/*
 * cmd_decode.c: `geoalarm decode [--udp] [FILE...]`, the same offline
 * decoder as `geoalarm-ingest --decode` (ingest/decode.c does the work).
 */
#include <stddef.h>
#include <stdio.h>

#include "cli/cmd.h"
#include "ingest/decode.h"

struct decode_flags {
	bool udp;
	int64_t max_frame;
};

static const struct conf_opt decode_opts[] = {
	{ .name = "udp", .type = CONF_BOOL,
	  .help = "each FILE is one UDP datagram (default: a TCP stream)",
	  .offset = offsetof(struct decode_flags, udp) },
	{ .name = "max-frame", .type = CONF_INT, .arg = "BYTES", .min = 16,
	  .max = 1 << 20, .def = "2048", .help = "longest frame accepted",
	  .offset = offsetof(struct decode_flags, max_frame) },
	{ .name = NULL },
};

static int
cmd_decode_exec(int argc, char **argv)
{
	struct decode_flags fl = { 0 };
	struct conf_common common;
	struct conf_spec spec = {
		.prog = "geoalarm decode",
		.synopsis = "[--udp] [FILE...]",
		.about = "Decodes raw tracker traffic (stdin, or each FILE as "
		    "one connection) into one JSON object per frame.",
		.opts = decode_opts,
		.values = &fl,
	};
	char err[CMD_ERR_LEN];
	int first, rc;

	if ((rc = cmd_flags(&spec, &common, argc, argv, 0, -1, NULL,
	    &first)) >= 0)
		return rc;
	if (decode_run(argv + first, argc - first, fl.udp,
	    (size_t)fl.max_frame, stdout, err, sizeof err) == -1)
		return cmd_fail(spec.prog, "%s", err);
	if (fflush(stdout) != 0)
		return cmd_fail(spec.prog, "cannot write the output");
	return CMD_OK;
}

const struct cmd_entry cmd_decode_entry = {
	.name = "decode",
	.synopsis = "decode [--udp] [FILE...]",
	.about = "decode raw tracker traffic offline, like geoalarm-ingest "
	    "--decode",
	.exec = cmd_decode_exec,
};
