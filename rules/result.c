/*
 * result.c: storage of what one rules_run produced.  Strings are copied in
 * and freed on the next reset, so the caller reads plain C strings and
 * never touches Lua.
 */
#include "rules/result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/command.h"
#include "lib/xmalloc.h"


struct result {
	struct rules_alert *alerts;
	size_t nalerts, calerts;
	struct rules_command *cmds;
	size_t ncmds, ccmds;
	struct rules_error *errors;
	size_t nerrors, cerrors;
	char *state;
	struct rules_result view;
};

struct result *
result_new(void)
{
	return xcalloc(1, sizeof(struct result));
}

void
result_free(struct result *res)
{
	if (res == NULL)
		return;
	result_reset(res);
	free(res->alerts);
	free(res->cmds);
	free(res->errors);
	free(res);
}

void
result_reset(struct result *res)
{
	size_t i;

	for (i = 0; i < res->nalerts; i++) {
		free((char *)res->alerts[i].type);
		free((char *)res->alerts[i].message);
		free((char *)res->alerts[i].extra);
	}
	result_truncate_commands(res, 0);
	for (i = 0; i < res->nerrors; i++)
		free((char *)res->errors[i].message);
	free(res->state);
	res->state = NULL;
	res->nalerts = res->nerrors = 0;
}

void
result_error(struct result *res, const char *device, const char *rule,
    const char *msg)
{
	if (res->nerrors == res->cerrors) {
		res->cerrors = res->cerrors ? res->cerrors * 2 : 4;
		res->errors = xreallocarray(res->errors, res->cerrors,
		    sizeof *res->errors);
	}
	res->errors[res->nerrors].device = device;
	res->errors[res->nerrors].rule = rule;
	res->errors[res->nerrors].message = xstrdup(msg);
	res->nerrors++;
}

void
result_alert(struct result *res, const char *rule, int index,
    struct alertval *a)
{
	struct rules_alert *out;

	if (res->nalerts == res->calerts) {
		res->calerts = res->calerts ? res->calerts * 2 : 8;
		res->alerts = xreallocarray(res->alerts, res->calerts,
		    sizeof *res->alerts);
	}
	out = &res->alerts[res->nalerts++];
	out->rule = rule;
	out->index = index;
	out->type = a->type;
	out->message = a->message;
	out->extra = a->extra;
	memset(a, 0, sizeof *a);
}

int
result_check_command(const char *name, const char *param, char *err,
    size_t errlen)
{
	size_t len = param != NULL ? strlen(param) : 0;

	/* Names and parameters are ingest's (ingest/command.h): one list. */
	if (command_check(name, param, len, err, errlen) == -1)
		return -1;
	if (!command_takes_param(name)) {
		if (param != NULL) {
			snprintf(err, errlen, "%s takes no parameter", name);
			return -1;
		}
		return 0;
	}
	/* A rule's text comes from Lua strings, which may hold any byte. */
	for (size_t i = 0; i < len; i++) {
		if (param[i] < 0x20 || param[i] >= 0x7f) {
			snprintf(err, errlen, "%s: the text must be printable "
			    "ASCII", name);
			return -1;
		}
	}
	return 0;
}

void
result_command(struct result *res, const char *rule, const char *name,
    const char *param)
{
	if (res->ncmds == res->ccmds) {
		res->ccmds = res->ccmds ? res->ccmds * 2 : 4;
		res->cmds = xreallocarray(res->cmds, res->ccmds,
		    sizeof *res->cmds);
	}
	res->cmds[res->ncmds].rule = rule;
	res->cmds[res->ncmds].name = xstrdup(name);
	res->cmds[res->ncmds].param = param != NULL ? xstrdup(param) : NULL;
	res->ncmds++;
}

size_t
result_ncommands(const struct result *res)
{
	return res->ncmds;
}

void
result_truncate_commands(struct result *res, size_t n)
{
	while (res->ncmds > n) {
		res->ncmds--;
		free((char *)res->cmds[res->ncmds].name);
		free((char *)res->cmds[res->ncmds].param);
	}
}

void
result_set_state(struct result *res, char *json)
{
	free(res->state);
	res->state = json;
}

const struct rules_result *
result_view(struct result *res)
{
	res->view.alerts = res->alerts;
	res->view.nalerts = res->nalerts;
	res->view.commands = res->cmds;
	res->view.ncommands = res->ncmds;
	res->view.errors = res->errors;
	res->view.nerrors = res->nerrors;
	res->view.state = res->state;
	return &res->view;
}
