/*
 * command.h: downlink commands as bytes on the wire (protocols/TK103.md
 * sections 2.7 and 3.9).
 *
 * Pure: (protocol, device id, command name, parameter) -> the exact bytes
 * to send, or the reason the command cannot be sent.  No I/O, no clock, no
 * allocation; downlink.c decides when and where the bytes go.
 *
 * Names: engine_stop, engine_resume, position_single, position_periodic
 * (parameter: seconds, a positive integer), stop_tracking, arm, disarm,
 * custom (parameter: the exact text to send inside the protocol's
 * wrapping).  The other commands ignore a parameter given to them.
 */
#ifndef GA_INGEST_COMMAND_H
#define GA_INGEST_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "ingest/report.h"

/* Longest parameter accepted (a custom text); longer is refused. */
#define COMMAND_PARAM_MAX 512
/* Room for any command: wrapping + device id + parameter. */
#define COMMAND_BYTES_MAX (COMMAND_PARAM_MAX + REPORT_ID_MAX + 32)
/* Room for a reason written by command_check or command_build. */
#define COMMAND_ERR_LEN 160

struct command_bytes {
	size_t len;
	char buf[COMMAND_BYTES_MAX];	/* not NUL-terminated: use len */
};

/*
 * Checks what does not depend on the device: the name is known and the
 * parameter is what the name needs.  param NULL means absent.  Returns 0,
 * or -1 with a one-line reason in err (the name and parameter in it are
 * escaped).
 */
int command_check(const char *name, const char *param, size_t paramlen,
    char *err, size_t errlen);

/*
 * True when the named command takes a parameter (position_periodic,
 * custom); false for the others and for unknown names.
 */
bool command_takes_param(const char *name);

/*
 * Writes into out the bytes that carry command `name` with `param` (NULL:
 * absent) to a device speaking proto.  id is the identifier to address
 * the device by: for TK103 the id its own frames carry (the fixed-layout
 * 12-character id when it has one), for GPS103 its IMEI.  Returns 0, or
 * -1 with a reason in err when the command cannot be sent: a check of
 * command_check fails, the protocol has no such command (TK103 has no
 * standard arm and disarm), the interval does not fit the protocol's
 * field, or id is empty.
 */
int command_build(enum report_proto proto, const char *id, const char *name,
    const char *param, size_t paramlen, struct command_bytes *out,
    char *err, size_t errlen);

#endif
