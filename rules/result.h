/*
 * result.h: the growing lists behind a struct rules_result (alerts,
 * downlink commands, errors, new state) for one rules_run, and the check
 * of command names and parameters against SPEC.
 */
#ifndef GA_RULES_RESULT_H
#define GA_RULES_RESULT_H

#include <stddef.h>

#include "rules/alertval.h"
#include "rules/rules.h"

struct result;

/* An empty result; free with result_free. */
struct result *result_new(void);

/* Frees everything; NULL does nothing. */
void result_free(struct result *res);

/* Empties the lists (frees their strings) for the next run. */
void result_reset(struct result *res);

/* Adds an error record; device and rule are borrowed, msg copied. */
void result_error(struct result *res, const char *device, const char *rule,
    const char *msg);

/* Adds an alert, taking over a's strings (a is left empty). */
void result_alert(struct result *res, const char *rule, int index,
    struct alertval *a);

/*
 * Checks a downlink command (SPEC names; position_periodic needs seconds,
 * custom needs printable text, the others take no parameter).  Returns 0,
 * or -1 with the reason in err.
 */
int result_check_command(const char *name, const char *param, char *err,
    size_t errlen);

/* Adds a checked command; rule borrowed, name and param copied. */
void result_command(struct result *res, const char *rule, const char *name,
    const char *param);

/* Number of commands so far, and dropping those after the first n. */
size_t result_ncommands(const struct result *res);
void result_truncate_commands(struct result *res, size_t n);

/* Sets the new state JSON (taken over; freed with free()). */
void result_set_state(struct result *res, char *json);

/* The public view of the lists (owned by res, valid until the next reset). */
const struct rules_result *result_view(struct result *res);

#endif
