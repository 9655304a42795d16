/*
 * harness.h: shared helpers for the rules unit tests (header-only, static
 * functions): load a rules source, build a position from "key=value"
 * text, run rules while threading the device state through like the
 * engine does.
 */
#ifndef GA_TESTS_RULES_HARNESS_H
#define GA_TESTS_RULES_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "rules/rules.h"

#define H_MAXF 24

struct hpos {
	struct rules_field f[H_MAXF];
	char text[1024];
	const char *lists[3][8];
	struct rules_pos pos;
};

/*
 * Fills p from "k=v k=v ... [in=a,b] [enter=a] [exit=b]" (values without
 * spaces).  in/enter/exit fill the fence lists.
 */
static inline const struct rules_pos *
hpos_make(struct hpos *p, const char *spec)
{
	static const char *const lk[3] = { "in", "enter", "exit" };
	size_t nl[3] = { 0, 0, 0 }, i;
	char *save = NULL, *tok, *eq, *id, *s2;

	memset(p, 0, sizeof *p);
	snprintf(p->text, sizeof p->text, "%s", spec);
	for (tok = strtok_r(p->text, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		eq = strchr(tok, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		for (i = 0; i < 3; i++)
			if (strcmp(tok, lk[i]) == 0)
				break;
		if (i < 3) {
			for (id = strtok_r(eq + 1, ",", &s2); id != NULL;
			    id = strtok_r(NULL, ",", &s2))
				p->lists[i][nl[i]++] = id;
			continue;
		}
		p->f[p->pos.nfields].key = tok;
		p->f[p->pos.nfields].value = eq + 1;
		p->f[p->pos.nfields].len = strlen(eq + 1);
		p->pos.nfields++;
	}
	p->pos.fields = p->f;
	p->pos.inside = p->lists[0];
	p->pos.ninside = nl[0];
	p->pos.entered = p->lists[1];
	p->pos.nentered = nl[1];
	p->pos.exited = p->lists[2];
	p->pos.nexited = nl[2];
	return &p->pos;
}

/* Loads src or fails the test with the load error. */
static inline struct rules *
h_load(const char *src)
{
	char err[512];
	struct rules *r = rules_load_string(src, strlen(src), "t.lua", NULL,
	    err, sizeof err);

	if (r == NULL)
		fail_msg("load failed: %s", err);
	return r;
}

/* Loads src without the self-check (for rules meant to fail). */
static inline struct rules *
h_load_nc(const char *src)
{
	struct rules_opts opts = { 0, 0, true };
	char err[512];
	struct rules *r = rules_load_string(src, strlen(src), "t.lua", &opts,
	    err, sizeof err);

	if (r == NULL)
		fail_msg("load failed: %s", err);
	return r;
}

/* Loads src expecting failure; returns the error text (static). */
static inline const char *
h_load_err(const char *src)
{
	static char err[512];
	struct rules *r = rules_load_string(src, strlen(src), "t.lua", NULL,
	    err, sizeof err);

	if (r != NULL) {
		rules_free(r);
		fail_msg("load of a bad file succeeded");
	}
	return err;
}

/*
 * Runs the rules for device on spec, keeping the device's state in
 * *state (heap; updated when the result carries a new one).
 */
static inline const struct rules_result *
h_run(struct rules *r, const char *device, const char *spec, char **state)
{
	struct hpos p;
	const struct rules_result *res;

	res = rules_run(r, device, hpos_make(&p, spec), *state);
	if (res->state != NULL) {
		free(*state);
		*state = xstrdup(res->state);
	}
	return res;
}

/* Concatenation of the alert types of res, separated by spaces (static). */
static inline const char *
h_types(const struct rules_result *res)
{
	static char buf[512];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < res->nalerts && o < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s",
		    i ? " " : "", res->alerts[i].type);
	return buf;
}

#endif
