/*
 * check.h: the self-check a rules file must pass before it goes live, and
 * the lint entry point behind `geoalarm-engine --check FILE` and
 * `geoalarm check FILE`.
 */
#ifndef GA_RULES_CHECK_H
#define GA_RULES_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "rules/rules.h"

/*
 * Runs every custom rule once for every listed device and for a device
 * using the defaults ("sample device"), on the sample position with empty
 * state, then clears the failure counters this left.  Each failure is
 * printed to report as one line when report is not NULL, else the first
 * goes to err.  Returns the number of failures.
 */
size_t check_self(struct rules *r, FILE *report, char *err, size_t errlen);

/*
 * Loads the rules file at path and self-checks it, printing to out either
 * "<path>: ok (N devices, M rules)" or one line per problem: the load
 * error (syntax or validation, with file:line, device and key), or each
 * rule that fails the sample (device, rule, file:line).  Returns 0 when
 * the file is good, 1 if not.
 */
int check_file(const char *path, FILE *out);

#endif
